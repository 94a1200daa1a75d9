package export_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNothingOfOurs keeps export a leaf: core imports it, not the
// other way round.
func TestImportsNothingOfOurs(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/meterd/meterd/") && pkg != "github.com/meterd/meterd/export" {
			t.Errorf("export imports %s", pkg)
		}
	}
}
