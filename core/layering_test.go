package core_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The direction of dependencies (core/doc.go draws the same map):
//
//	cmd/meterd ──▶ core/httpapi ──▶ core ──▶ core/config, shard, wal, export
//	core ──▶ core/order ──▶ core/record ──▶ core/licensing ──▶ shard
//	core ──▶ core/idem ──▶ core/licensing
//	core ──▶ core/session, core/vendorsig ──▶ export, core/metrics ──▶ shard
//	cmd/meterctl ──▶ export, core/pool
//	cmd/meterd, cmd/meterctl, core, core/metrics ──▶ core/version (which imports nothing of ours)
//	core/harness ──▶ core/httpapi, core/client (which imports nothing of ours)
//	core ──▶ core/pool ──▶ core/licensing (the etcd pool: below the engine, above the values)
//	wal ──▶ wal/datasync (how the log's files reach the disk; imports nothing of ours)
//
// Each package of the module may import of ours only what its row allows; the leaves import
// nothing of ours, not even indirectly. A package with no row fails the test, so a new one
// is placed on the map when it is made. bench is never imported by product code.
var layers = map[string][]string{
	"shard":                  nil,
	"wal":                    {"wal/datasync"},
	"wal/datasync":           nil,
	"export":                 nil,
	"core/config":            {"export"},
	"core/licensing":         {"shard"},
	"core/record":            {"shard", "core/licensing"},
	"core/idem":              {"core/licensing"},
	"core/order":             {"core/licensing", "core/record"},
	"core/session":           nil,
	"core/metrics":           {"shard", "core/version"},
	"core/vendorsig":         {"export"},
	"core/internal/throttle": nil,
	"core/version":           nil,
	"core/pool":              {"core/licensing"},
	"core": {"shard", "wal", "export", "core/config", "core/internal/throttle",
		"core/licensing", "core/record", "core/order", "core/idem", "core/session", "core/vendorsig", "core/metrics", "core/version", "core/pool"},
	"core/httpapi": {"core", "core/config", "core/internal/throttle", "shard", "export"},
	"core/client":  nil,
	"core/harness": {"core", "core/config", "core/httpapi", "core/client", "export"},
	"cmd/meterd":   {"core", "core/config", "core/httpapi", "core/version", "export"}, // export: the test build's rotation hook
	"cmd/meterctl": {"export", "core/version", "core/pool"},

	// The deployment kit: its tests run the built binaries; its healthcheck imports nothing.
	"cmd/meterd/deploy":                    nil,
	"cmd/meterd/deploy/meterd-healthcheck": nil,
}

// leaves may depend, directly or not, on nothing of ours but what their row allows (for wal,
// its own subpackage).
var leaves = []string{"shard", "wal", "wal/datasync", "export", "core/client", "core/version"}

func TestLayering(t *testing.T) {
	t.Parallel()
	const mod = "github.com/meterd/meterd/"
	// With the test build's tag, so that the imports of its hooks are held to the map too.
	out, err := exec.Command("go", "list", "-tags", "meterd_testhooks", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Split(line, "\t")
		pkg := strings.TrimPrefix(fields[0], mod)
		if strings.HasPrefix(pkg, "bench") {
			continue // tooling: may import anything of ours, and nothing imports it
		}
		allowed, ok := layers[pkg]
		if !ok {
			t.Errorf("%s is not on the map: give it a row in layers (and in core/doc.go)", pkg)
			continue
		}
		check := fields[1]
		if slices.Contains(leaves, pkg) {
			check = fields[2] // not even indirectly
		}
		for _, dep := range strings.Fields(check) {
			if ours, found := strings.CutPrefix(dep, mod); found && ours != pkg && !slices.Contains(allowed, ours) {
				t.Errorf("%s imports %s; its row allows %v", pkg, ours, allowed)
			}
		}
	}
}
