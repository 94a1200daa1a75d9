package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// root is the repository's root, from this package's directory.
const root = "../../.."

// binDir holds meterd, meterctl and meterd-healthcheck, built once for every test here the way
// the Containerfile builds them: with cgo off. The Makefile's build shares the cache.
var binDir string

func bin(name string) string { return filepath.Join(binDir, name) }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterd-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "./cmd/meterd", "./cmd/meterctl", "./cmd/meterd/deploy/meterd-healthcheck")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
