package deploy_test

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No container engine runs the tests, so the image is not built here. What the recipe
// promises is checked without one: that the binaries it builds are static, that it copies
// every package of the module, and that its health check asks the port meterd listens on.

// The binaries, built as the Containerfile builds them (cgo off), are static: no program
// interpreter, no shared library. SQLite is Go code here (modernc.org/sqlite under
// zombiezen.com/go/sqlite), so a distroless or scratch image runs them.
func TestContainerBinariesAreStatic(t *testing.T) {
	for _, name := range []string{"meterd", "meterctl", "meterd-healthcheck"} {
		f, err := elf.Open(bin(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter: it is linked dynamically", name)
			}
		}
		if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v (%v)", name, libs, err)
		}
		f.Close()
	}
}

// instructions reads a Containerfile's instructions, continuation lines joined, comments left out.
func instructions(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(readFile(t, path)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if l, cont := strings.CutSuffix(line, `\`); cont {
			cur.WriteString(l)
			continue
		}
		cur.WriteString(line)
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	return out
}

func TestContainerfile(t *testing.T) {
	ins := instructions(t, "Containerfile")
	has := func(prefix string) string {
		t.Helper()
		for _, in := range ins {
			if strings.HasPrefix(in, prefix) {
				return in
			}
		}
		t.Errorf("Containerfile: no %s…", prefix)
		return ""
	}
	// The build copies every top-level directory that holds a package of the module, and the
	// build context (Containerfile.dockerignore) lets each through.
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", root+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	ignore := readFile(t, "Containerfile.dockerignore")
	var dirs []string
	for dir := range strings.Lines(string(out)) {
		rel, err := filepath.Rel(abs, strings.TrimSpace(dir))
		if err != nil {
			t.Fatal(err)
		}
		if top := strings.Split(rel, string(filepath.Separator))[0]; !slices.Contains(dirs, top) {
			dirs = append(dirs, top)
		}
	}
	for _, d := range append(dirs, "go.mod") {
		if !slices.ContainsFunc(ins, func(in string) bool { return strings.HasPrefix(in, "COPY "+d+" ") }) {
			t.Errorf("Containerfile does not COPY %s", d)
		}
		if !strings.Contains(ignore, "\n!"+d+"\n") {
			t.Errorf("Containerfile.dockerignore keeps %s out of the build context", d)
		}
	}
	if b := has("RUN CGO_ENABLED=0 go build "); b != "" {
		for _, pkg := range []string{"./cmd/meterd", "./cmd/meterctl", "./cmd/meterd/deploy/meterd-healthcheck"} {
			if !slices.Contains(strings.Fields(b), pkg) {
				t.Errorf("Containerfile: the build does not build %s: %s", pkg, b)
			}
		}
	}
	if u := has("USER "); u != "" && (strings.HasPrefix(u, "USER 0") || strings.HasPrefix(u, "USER root")) {
		t.Errorf("Containerfile: %s, want a user other than root", u)
	}
	has(`VOLUME ["/data"]`)
	// meterd listens where the health check asks, on the state volume.
	cmd := has("CMD [")
	listen := regexp.MustCompile(`"-listen", "[^"]*:(\d+)"`).FindStringSubmatch(cmd)
	if listen == nil || !strings.Contains(cmd, `"-data-dir", "/data"`) {
		t.Fatalf("Containerfile: %s, want -data-dir /data and -listen host:port", cmd)
	}
	if hc := has("HEALTHCHECK "); !strings.Contains(hc, `"/usr/local/bin/meterd-healthcheck", "-url", "http://127.0.0.1:`+listen[1]+`/healthz"`) {
		t.Errorf("Containerfile: %s does not ask http://127.0.0.1:%s/healthz with meterd-healthcheck", hc, listen[1])
	}
	has("ENTRYPOINT [\"/usr/local/bin/meterd\"]")
}
