package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A kept binary is linked once while its sources stay the same; a change of source, flags or
// environment builds anew; and a run's binary stays as it was built when a later run
// rebuilds the kept one. Another checkout of the module keeps its build in the same place.
func TestGoBuildKeepsBinaries(t *testing.T) {
	mod := t.TempDir()
	// A module of its own, so that a run of this test elsewhere shares nothing with this one.
	goMod := []byte("module example.com/" + filepath.Base(mod) + "/hello\n")
	write := func(word string) {
		t.Helper()
		src := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Print(\"" + word + "\") }\n"
		if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), goMod, 0o644); err != nil {
		t.Fatal(err)
	}
	write("one")
	b := GoBuild{Dir: mod, Args: []string{"."}}
	kept, err := keptDir(mod, b.Env, b.Args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(kept) })
	into := func(b GoBuild) string {
		t.Helper()
		dir := t.TempDir()
		if err := b.Into(dir); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "hello")
	}
	says := func(bin, want string) {
		t.Helper()
		out, err := exec.Command(bin).Output()
		if err != nil || string(out) != want {
			t.Fatalf("%s printed %q (%v), want %q", bin, out, err, want)
		}
	}
	same := func(a, b string) bool {
		t.Helper()
		fa, err := os.Stat(a)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := os.Stat(b)
		if err != nil {
			t.Fatal(err)
		}
		return os.SameFile(fa, fb)
	}

	first := into(b)
	says(first, "one")
	if again := into(b); !same(first, again) {
		t.Fatal("unchanged sources: the binary was linked again")
	}
	checkout := t.TempDir()
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), goMod, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(checkout, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if k, err := keptDir(checkout, b.Env, b.Args); err != nil || k != kept {
		t.Fatalf("another checkout keeps its build in %s (%v), not in %s", k, err, kept)
	}
	if k, err := keptDir(filepath.Join(checkout, "sub"), b.Env, b.Args); err != nil || k == kept {
		t.Fatalf("another package directory keeps its build in %s (%v), the same as the module root's", k, err)
	} else {
		os.RemoveAll(k)
	}
	cgoOff := GoBuild{Dir: mod, Env: []string{"CGO_ENABLED=0"}, Args: b.Args}
	other, err := keptDir(mod, cgoOff.Env, cgoOff.Args)
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(other)
	if other == kept {
		t.Fatalf("another environment is kept in %s, the same directory as without it", other)
	}

	write("two")
	changed := into(b)
	says(changed, "two")
	if same(first, changed) {
		t.Fatal("changed sources: the kept binary was not rebuilt")
	}
	says(first, "one") // the first run's binary is still the one it built
}
