package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `make install PREFIX=...` puts the binaries, the unit and the shared files where the Makefile
// says, with their modes; the binaries run; the unit starts the installed meterd. With DESTDIR
// the same tree lands under it, while the unit still names PREFIX.
func TestMakeInstall(t *testing.T) {
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "usr")
	makeInstall(t, tmp, "PREFIX="+prefix)
	checkTree(t, prefix, prefix)
	for _, b := range []string{"meterd", "meterctl"} {
		out, err := exec.Command(filepath.Join(prefix, "bin", b), "-h").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "usage: "+b) {
			t.Errorf("installed %s -h: %v\n%s", b, err, out)
		}
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil { // TestSystemdUnitVerifies requires it
		unit := filepath.Join(prefix, "lib/systemd/system", unitFile)
		if out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify on the installed unit: %v\n%s", err, out)
		}
	}

	stage := filepath.Join(tmp, "stage")
	makeInstall(t, tmp, "DESTDIR="+stage, "PREFIX=/opt/meterd")
	checkTree(t, filepath.Join(stage, "opt/meterd"), "/opt/meterd")
}

// makeInstall runs make install from the repository's root, building into tmp (not bin/) with
// cgo off, as TestMain did, so that the build comes from the cache.
func makeInstall(t *testing.T, tmp string, vars ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "install", "BIN=" + filepath.Join(tmp, "build")}, vars...)...)
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install %v: %v\n%s", vars, err, out)
	}
}

// checkTree checks an installed tree at dir, for PREFIX prefix.
func checkTree(t *testing.T, dir, prefix string) {
	t.Helper()
	mode := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
		} else if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	same := func(path, src string) {
		t.Helper()
		if got, want := readFile(t, path), readFile(t, src); got != want {
			t.Errorf("%s differs from %s", path, src)
		}
	}
	mode(filepath.Join(dir, "bin/meterd"), 0o755)
	mode(filepath.Join(dir, "bin/meterctl"), 0o755)
	for _, f := range []string{"meterd.cfg.example", "grafana-dashboard.json", "alerts.yml", "alerts_test.yml"} {
		path := filepath.Join(dir, "share/meterd", f)
		mode(path, 0o644)
		same(path, f)
	}
	unit := filepath.Join(dir, "lib/systemd/system", unitFile)
	mode(unit, 0o644)
	want := strings.Replace(readFile(t, unitFile), "\nExecStart="+installedMeterd+" ", "\nExecStart="+prefix+"/bin/meterd ", 1)
	if got := readFile(t, unit); got != want {
		t.Errorf("%s: want %s with ExecStart=%s/bin/meterd, got:\n%s", unit, unitFile, prefix, got)
	}
}
