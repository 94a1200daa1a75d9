package core_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The direction of dependencies (DESIGN.md, "Layout"): cmd → core → {shard, wal, export}. The
// leaves import nothing of ours, not even indirectly; the others import only what the table
// lets them import directly.
func TestLayering(t *testing.T) {
	const mod = "github.com/meterd/meterd/"
	f := func(pkg, format string, allowed ...string) {
		t.Helper()
		out, err := exec.Command("go", "list", "-f", format, mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if ours, found := strings.CutPrefix(dep, mod); found && ours != pkg && !slices.Contains(allowed, ours) {
				t.Errorf("%s depends on %s; allowed: %v", pkg, ours, allowed)
			}
		}
	}
	const deps, imports = `{{join .Deps " "}}`, `{{join .Imports " "}}`
	f("shard", deps)
	f("wal", deps)
	f("export", deps)
	f("core", imports, "shard", "wal", "export")
	f("cmd/meterd", imports, "core")
	f("cmd/meterctl", imports, "export", "bench/load")
}
