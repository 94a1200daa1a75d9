package deploy_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

const sampleConfig = "meterd.cfg.example"

// In the sample config each key has a block: a header with its default, lines saying what it
// means, then the key set (KEY = value) or shown commented out (#KEY = value).
var (
	headerLine  = regexp.MustCompile(`^# ---- ([A-Z0-9_]+) \(default: (.+)\)$`)
	settingLine = regexp.MustCompile(`^(#?)([A-Za-z0-9_]+) = (.*)$`)
)

// sampleKey is one key's block.
type sampleKey struct {
	name, def     string // def as the header gives it
	value         string // the setting line's value
	commented     bool
	line, meaning int // the setting's line number; lines of meaning
}

func readSample(t *testing.T) ([]byte, map[string]*sampleKey) {
	t.Helper()
	data := []byte(readFile(t, sampleConfig))
	keys := map[string]*sampleKey{}
	var cur *sampleKey
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := headerLine.FindStringSubmatch(line); m != nil {
			if keys[m[1]] != nil {
				t.Errorf("%s:%d: %s has a second block", sampleConfig, n, m[1])
			}
			cur = &sampleKey{name: m[1], def: m[2]}
			keys[m[1]] = cur
			continue
		}
		if m := settingLine.FindStringSubmatch(line); m != nil {
			switch {
			case cur == nil || m[2] != cur.name:
				t.Errorf("%s:%d: %s outside its block", sampleConfig, n, m[2])
			case cur.line != 0:
				t.Errorf("%s:%d: %s shown twice", sampleConfig, n, m[2])
			default:
				cur.value, cur.commented, cur.line = m[3], m[1] == "#", n
			}
			continue
		}
		if cur != nil && cur.line == 0 && strings.HasPrefix(line, "# ") {
			cur.meaning++
		}
	}
	return data, keys
}

// effective is what a configuration does, whether a path was set or derived from DATA_DIR.
func effective(c config.Config) config.Config {
	c.UsageDatabase = filepath.Clean(c.UsageDatabasePath())
	c.UsageKeyFile = filepath.Clean(c.UsageKeyPath())
	c.AdminTokenFile = filepath.Clean(c.AdminTokenPath())
	c.AllowedHosts = strings.Join(c.AllowedHostList(), ",")
	c.DataDir = filepath.Clean(c.DataDir)
	return c
}

// parse reads a config file's text over the defaults, as meterd -config does.
func parse(t *testing.T, text []byte) config.Config {
	t.Helper()
	cfg := config.Default()
	if err := config.Parse(sampleConfig, text, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s: %v", sampleConfig, err)
	}
	return cfg
}

// The sample config and core/config's key table agree both ways: every key has a block, every
// block is a key; each header's default is the real one; each key is shown with a value meterd
// takes; a commented-out key shows its default, so removing its '#' changes nothing; and the
// file as it is parses and validates.
func TestSampleConfigKeys(t *testing.T) {
	data, keys := readSample(t)
	cfg := parse(t, data)
	known := map[string]bool{}
	defaults := config.Default().String() // a derived or empty default is a comment there
	for _, k := range config.Keys() {
		known[k.Key] = true
		s := keys[k.Key]
		if s == nil {
			t.Errorf("%s: no block for %s", sampleConfig, k.Key)
			continue
		}
		if s.line == 0 || s.meaning == 0 {
			t.Errorf("%s: %s: want lines saying what it means, then %s = value or #%s = value", sampleConfig, k.Key, k.Key, k.Key)
			continue
		}
		// The default in the header.
		if s.def == "none" {
			if !strings.Contains(defaults, "\n# "+k.Key+" = (default: ") {
				t.Errorf("%s: %s: default none, but it has one", sampleConfig, k.Key)
			}
		} else {
			d := config.Default()
			v := strings.ReplaceAll(s.def, "<DATA_DIR>", d.DataDir)
			if err := d.Set(k.Key, v); err != nil {
				t.Errorf("%s: %s: default %q: %v", sampleConfig, k.Key, s.def, err)
			} else if effective(d) != effective(config.Default()) {
				t.Errorf("%s: %s: default %q is not the default", sampleConfig, k.Key, s.def)
			}
		}
		// The value shown.
		with := cfg
		if err := with.Set(k.Key, s.value); err != nil {
			t.Errorf("%s:%d: %s = %s: %v", sampleConfig, s.line, k.Key, s.value, err)
			continue
		}
		if s.commented && s.def != "none" && effective(with) != effective(cfg) {
			t.Errorf("%s:%d: #%s = %s is not what the file gives without it (%q)", sampleConfig, s.line, k.Key, s.value, s.def)
		}
	}
	for name, s := range keys {
		if !known[name] {
			t.Errorf("%s:%d: %s is not a configuration key", sampleConfig, s.line, name)
		}
	}
}

// The sample config starts the real binary as it is, with only DATA_DIR and LISTEN moved by
// flags to a temporary directory and a free port of 127.0.0.1: /healthz answers 200 (asked by
// meterd-healthcheck too, as the container's HEALTHCHECK asks it) and SIGTERM stops it with
// exit code 0.
func TestSampleConfigStarts(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "meterd.cfg")
	if err := os.WriteFile(cfgPath, []byte(readFile(t, sampleConfig)), 0o644); err != nil {
		t.Fatal(err)
	}
	var log harness.LogBuffer
	p, err := harness.StartProcess(bin("meterd"), filepath.Join(dir, "data"), &log, "-config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
	probe := func() (string, error) {
		out, err := exec.Command(bin("meterd-healthcheck"), "-url", p.Base+"/healthz").CombinedOutput()
		return string(out), err
	}
	if out, err := probe(); err != nil || !strings.Contains(out, `"ok"`) {
		t.Fatalf("meterd-healthcheck on a running meterd: %v\n%s", err, out)
	}
	code, err := p.Stop(syscall.SIGTERM, 2*time.Minute)
	if err != nil || code != 0 {
		t.Fatalf("SIGTERM: exit code %d, %v; want 0\n%s", code, err, log.String())
	}
	if out, err := probe(); err == nil {
		t.Fatalf("meterd-healthcheck on a stopped meterd succeeded:\n%s", out)
	}
	if !strings.Contains(log.String(), "engine closed") {
		t.Errorf("no clean shutdown in the log:\n%s", log.String())
	}
}
