package main_test

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meterd/meterd/core/harness"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/meterd/meterd/core/client"
)

// output is what one run of meterd printed, and how it exited.
type output struct {
	stdout, stderr string
	code           int
}

// runMeterd runs meterd to its exit (which a start-up failure or -h makes quick).
func runMeterd(t *testing.T, args ...string) output {
	t.Helper()
	out, err := harness.RunToExit(nil, meterdBin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return output{out.Stdout, out.Stderr, out.Code}
}

func (o output) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if o.code != code || o.stdout != stdout || o.stderr != stderr {
		t.Fatalf("got exit %d\nstdout: %q\nstderr: %q\nwant exit %d\nstdout: %q\nstderr: %q", o.code, o.stdout, o.stderr, code, stdout, stderr)
	}
}

// logTime is the part of a text log line that changes from run to run.
var logTime = regexp.MustCompile(`(?m)^time=\S+ `)

// withoutTimes is a text log with the time of each line taken out.
func withoutTimes(log string) string { return logTime.ReplaceAllString(log, "") }

var startingLine = `level=INFO msg="meterd starting" version=` + stampVersion + " commit=" + stampCommit +
	" goversion=" + runtime.Version() + "\n"

func TestVersion(t *testing.T) {
	t.Parallel()
	runMeterd(t, "-version").want(t, 0, "meterd version="+stampVersion+" commit="+stampCommit+" goversion="+runtime.Version()+"\n", "")
	// -version wins over the rest: nothing is read or checked.
	runMeterd(t, "-version", "-config", "/nonexistent.cfg").want(t, 0,
		"meterd version="+stampVersion+" commit="+stampCommit+" goversion="+runtime.Version()+"\n", "")
}

// -h goes to standard output with exit 0 and shows each flag with its type and default.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"-h", "-help", "--help"} {
		o := runMeterd(t, h)
		if o.code != 0 || o.stderr != "" || !strings.HasPrefix(o.stdout, "usage: meterd [-config FILE] [flags]\n       meterd -version\n") {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", h, o.code, o.stdout, o.stderr)
		}
		for _, want := range []string{
			"  -idle-timeout duration\n    \tIDLE_TIMEOUT: a connection with no request for this long is closed, without an answer (default 2m0s)\n",
			"  -max-conns int\n    \tMAX_CONNS: open connections at once; past it new connections are closed at once (default 4096)\n",
			"  -listen string\n    \tLISTEN: address of the HTTP API, /metrics and /healthz (default \"127.0.0.1:8787\")\n",
			"  -log-format string\n    \tLOG_FORMAT: text (key=value) or json, one record a line on standard error (default \"text\")\n",
			"  -log-level string\n    \tLOG_LEVEL: the least severe level logged: debug, info, warn or error (default \"info\")\n",
			"  -config file\n    \tread the configuration from file: one KEY = value a line\n",
			"  -version\n    \tprint the version, commit and Go version, and exit\n",
		} {
			if !strings.Contains(o.stdout, want) {
				t.Fatalf("%s: usage lacks %q:\n%s", h, want, o.stdout)
			}
		}
	}
}

// A mistake on the command line is said once, with the way to the usage, and exits 2.
func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	const hint = "Run 'meterd -h' for usage.\n"
	runMeterd(t, "-bogus").want(t, 2, "", "meterd: unknown flag -bogus\n"+hint)
	runMeterd(t, "-listen").want(t, 2, "", "meterd: flag needs an argument: -listen\n"+hint)
	runMeterd(t, "serve").want(t, 2, "", "meterd: unexpected argument \"serve\": meterd takes flags only\n"+hint)
	runMeterd(t, "-config", "/nonexistent/meterd.cfg").want(t, 2, "", "meterd: -config /nonexistent/meterd.cfg: no such file or directory\n")
}

// A bad value names where it came from, the key, the value and what the key takes.
func TestBadValues(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "meterd.cfg")
	if err := os.WriteFile(cfg, []byte("USAGE_LEVEL = chatty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runMeterd(t, "-config", cfg).want(t, 2, "", "meterd: "+cfg+`:1: USAGE_LEVEL: want standard or detailed, got "chatty"`+"\n")
	runMeterd(t, "-usage-level", "chatty").want(t, 2, "", `meterd: flag -usage-level: USAGE_LEVEL: want standard or detailed, got "chatty"`+"\n")
	runMeterd(t, "-log-format", "yaml").want(t, 2, "", `meterd: flag -log-format: LOG_FORMAT: want text or json, got "yaml"`+"\n")
	runMeterd(t, "-log-level", "trace").want(t, 2, "", `meterd: flag -log-level: LOG_LEVEL: want debug, info, warn or error, got "trace"`+"\n")
	runMeterd(t, "-idle-timeout", "10").want(t, 2, "",
		`meterd: flag -idle-timeout: IDLE_TIMEOUT: want a positive duration such as 30s, 15m or 1h, got "10"`+"\n")
	runMeterd(t, "-max-conns", "many").want(t, 2, "", `meterd: flag -max-conns: MAX_CONNS: want a whole number from 1 to 1000000, got "many"`+"\n")
}

// A port in use stops start-up before the data directory gets a file, and says so.
func TestListenBusy(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := busy.Addr().String()
	o := runMeterd(t, "-data-dir", data, "-listen", addr)
	want := startingLine + `level=ERROR msg="cannot start" err="LISTEN ` + addr +
		` is in use by another process (another meterd?); stop that process, or set LISTEN (-listen) to a free port"` + "\n"
	if got := withoutTimes(o.stderr); o.code != 1 || got != want || o.stdout != "" {
		t.Fatalf("exit %d, stdout %q, log:\n%s\nwant exit 1 and:\n%s", o.code, o.stdout, got, want)
	}
	if entries, err := os.ReadDir(data); err != nil || len(entries) != 0 {
		t.Fatalf("the data directory holds %v (%v), want nothing", entries, err)
	}
	// LOG_LEVEL: at warn, the start-up line is not logged and the error is.
	o = runMeterd(t, "-data-dir", data, "-listen", addr, "-log-level", "warn")
	if got := withoutTimes(o.stderr); o.code != 1 || got != strings.TrimPrefix(want, startingLine) {
		t.Fatalf("-log-level warn: exit %d, log:\n%s", o.code, got)
	}
}

// A second meterd on the data directory of a running one is told which, and exits 1; the
// first keeps answering.
func TestSecondAgentOnOneDataDir(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	first := startMeterd(t, data)
	o := runMeterd(t, "-data-dir", data, "-listen", "127.0.0.1:0")
	want := `level=ERROR msg="cannot start" err="another meterd is running on DATA_DIR ` + data + ` (it holds the lock ` +
		filepath.Join(data, "wal", "LOCK") + `); stop it first, or give this one its own DATA_DIR (-data-dir)"` + "\n"
	if got := withoutTimes(o.stderr); o.code != 1 || got != startingLine+want {
		t.Fatalf("exit %d, log:\n%s\nwant exit 1 and:\n%s", o.code, got, startingLine+want)
	}
	if err := first.c.Health(t.Context()); err != nil {
		t.Fatalf("the first meterd: %v", err)
	}
	first.stop(syscall.SIGTERM)
}

// The first start logs the build, then the usage key it made, with what to do with it.
func TestStartupLog(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	p := startMeterd(t, data)
	p.stop(syscall.SIGTERM)
	log := withoutTimes(p.log.String())
	if !strings.HasPrefix(log, startingLine) {
		t.Fatalf("the log does not start with %q:\n%s", startingLine, log)
	}
	keyLine := `level=WARN msg="created usage key; send it to the vendor, who verifies the usage database with it" path=` +
		filepath.Join(data, "usage.key") + "\n"
	if !strings.Contains(log, keyLine) {
		t.Fatalf("the log lacks %q:\n%s", keyLine, log)
	}
	p = startMeterd(t, data)
	p.stop(syscall.SIGTERM)
	if strings.Contains(p.log.String(), "created usage key") {
		t.Fatalf("the second start logged a new usage key:\n%s", p.log.String())
	}
}

// SIGHUP is logged and ignored, each time: meterd keeps answering, and SIGTERM still stops it
// cleanly.
func TestSIGHUPIgnored(t *testing.T) {
	t.Parallel()
	p := startMeterd(t, filepath.Join(t.TempDir(), "data"))
	const line = `msg="SIGHUP ignored: the configuration is read only at start-up; restart meterd to change it"` + "\n"
	for i := 1; i <= 2; i++ {
		if err := syscall.Kill(p.Pid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if !p.log.waitUntil(func(log string) bool { return strings.Count(log, line) == i }, time.Minute) {
			t.Fatalf("SIGHUP %d: the log does not hold %q %d times:\n%s", i, line, i, p.log.String())
		}
		if err := p.c.Health(t.Context()); err != nil {
			t.Fatalf("after SIGHUP %d: %v", i, err)
		}
	}
	p.stop(syscall.SIGTERM)
}

// LOG_FORMAT = json writes every line as one JSON object, the start-up line with the build.
func TestJSONLog(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(meterdBin, "-data-dir", filepath.Join(t.TempDir(), "data"), "-listen", "127.0.0.1:0", "-log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var records []map[string]any
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		records = append(records, rec)
		if rec["msg"] != "listening" {
			continue
		}
		c, err := client.New("http://"+rec["addr"].(string), once)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.CloseIdle()
		cmd.Process.Signal(syscall.SIGTERM)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("meterd: %v", err)
	}
	if len(records) < 5 {
		t.Fatalf("got %d log records, want the start-up and shutdown lines: %v", len(records), records)
	}
	first := records[0]
	if first["msg"] != "meterd starting" || first["level"] != "INFO" || first["version"] != stampVersion ||
		first["commit"] != stampCommit || first["goversion"] != runtime.Version() {
		t.Fatalf("first record %v, want the start-up line with the build", first)
	}
	if last := records[len(records)-1]; last["msg"] != "engine closed: usage database flushed, log synced" {
		t.Fatalf("last record %v, want the engine's close", last)
	}
}

// The stamped build reaches /metrics and the usage database's signed meta.
func TestBuildReported(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	p := startMeterd(t, data)
	body, err := p.c.Metrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	series := `meterd_build_info{commit="` + stampCommit + `",goversion="` + runtime.Version() + `",version="` + stampVersion + `"} 1` + "\n"
	if !strings.Contains(string(body), series) {
		t.Fatalf("/metrics lacks %q", series)
	}
	p.stop(syscall.SIGTERM)
	conn, err := sqlite.OpenConn(filepath.Join(data, "usage.db"), sqlite.OpenReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got string
	err = sqlitex.ExecuteTransient(conn, "SELECT value FROM meta WHERE key = 'agent_version'", &sqlitex.ExecOptions{
		ResultFunc: func(stmt *sqlite.Stmt) error { got = stmt.ColumnText(0); return nil }})
	if want := "version=" + stampVersion + " commit=" + stampCommit + " goversion=" + runtime.Version(); err != nil || got != want {
		t.Fatalf("agent_version %q (%v), want %q", got, err, want)
	}
	if _, err := meterctl.Run("verify", "-key", filepath.Join(data, "usage.key"), filepath.Join(data, "usage.db")); err != nil {
		t.Fatal(err)
	}
}
