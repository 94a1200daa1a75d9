package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// An application links this package without the agent: it depends on the standard library
// alone, so on nothing of ours, not even indirectly.
func TestImportsNothingOfOurs(t *testing.T) {
	const self = "github.com/meterd/meterd/core/client"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", self).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != self {
			t.Errorf("%s depends on %s", self, dep)
		}
	}
}
