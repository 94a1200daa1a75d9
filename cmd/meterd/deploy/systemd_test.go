package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/harness"
)

const unitFile = "meterd.service"

// installedMeterd is where meterd.service expects the binary; `make install` rewrites it.
const installedMeterd = "/usr/local/bin/meterd"

// unitWith writes meterd.service into a temporary directory with ExecStart pointing at meterd.
func unitWith(t *testing.T, meterd string) string {
	t.Helper()
	text := readFile(t, unitFile)
	if !strings.Contains(text, "\nExecStart="+installedMeterd+" ") {
		t.Fatalf("%s: no ExecStart=%s", unitFile, installedMeterd)
	}
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(strings.Replace(text, "ExecStart="+installedMeterd+" ", "ExecStart="+meterd+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// systemd-analyze verify loads the unit as systemd would and reports every directive it does
// not know or cannot parse, and an ExecStart that is not an executable: any line of it that
// names the unit fails the test. The sandboxing is scored too (0 is best, 10 worst): dropping
// the system call filter or the empty capability set raises the score past the threshold.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := harness.NeedTool(t, "systemd-analyze", "systemd")
	unit := unitWith(t, bin("meterd"))
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, unitFile) || strings.Contains(line, filepath.Dir(unit)) {
			t.Errorf("systemd-analyze verify: %s", strings.TrimSpace(line))
		}
	}
	const threshold = "25" // an exposure of 2.5; the unit scores 1.4 with systemd 252
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold="+threshold, unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security --threshold=%s: %v\n%s", threshold, err, out)
	}

	// The check is real: a unit whose ExecStart is not there fails it.
	missing := unitWith(t, filepath.Join(t.TempDir(), "meterd"))
	if out, err := exec.Command(analyze, "verify", "--man=no", missing).CombinedOutput(); err == nil {
		t.Errorf("systemd-analyze verify passed a unit whose ExecStart does not exist:\n%s", out)
	}
}

// unitSettings reads the [Service] section of the unit: every value of each key.
func unitSettings(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings, section := map[string][]string{}, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			section = line
		case section == "[Service]":
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not Key=Value", unitFile, line)
			}
			settings[k] = append(settings[k], v)
		}
	}
	return settings
}

// The unit keeps what an operator relies on: a user of its own, the state directory as
// DATA_DIR, a read-only system, a restart after a crash, and time to stop cleanly.
func TestSystemdUnitSettings(t *testing.T) {
	s := unitSettings(t)
	for k, want := range map[string]string{
		"ExecStart":       installedMeterd + " -config /etc/meterd/meterd.cfg",
		"DynamicUser":     "yes",
		"StateDirectory":  "meterd",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
		"NoNewPrivileges": "yes",
		"Restart":         "on-failure",
		"KillSignal":      "SIGTERM",
	} {
		if got := s[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s=%q, want %q", unitFile, k, got, want)
		}
	}
	// DATA_DIR in the sample config, which the unit reads, is the unit's state directory.
	if want := "DATA_DIR = /var/lib/meterd\n"; !strings.Contains(readFile(t, sampleConfig), "\n"+want) {
		t.Errorf("%s does not set %q, the state directory of %s", sampleConfig, want, unitFile)
	}
	// meterd gives requests in flight 30 s after SIGTERM, then writes the usage database: the
	// stop timeout leaves at least as long again for that before systemd sends SIGKILL.
	if got := s["TimeoutStopSec"]; len(got) != 1 {
		t.Errorf("%s: TimeoutStopSec=%q, want one", unitFile, got)
	} else if d, err := time.ParseDuration(got[0] + "s"); err != nil || d < time.Minute {
		t.Errorf("%s: TimeoutStopSec=%s, want a number of seconds of at least 60", unitFile, got[0])
	}
}
