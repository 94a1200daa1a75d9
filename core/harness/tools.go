package harness

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of name, an outside program a test drives (sqlite3, promtool,
// chromium, systemd-analyze). Where it is missing the test is skipped, saying which Debian
// package has it; under METERD_REQUIRE_TOOLS=1, which CI sets after installing them all, it
// fails instead, so that no check CI relies on passes there by skipping.
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not installed (apt-get install %s), and METERD_REQUIRE_TOOLS=1", name, debianPackage)
		}
		t.Skipf("%s not installed (apt-get install %s); CI requires it", name, debianPackage)
	}
	return p
}
