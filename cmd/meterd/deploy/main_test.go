package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/meterd/meterd/core/harness"
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
	// Kept from one run to the next while the sources stay the same (harness.GoBuild).
	build := harness.GoBuild{Dir: root, Env: []string{"CGO_ENABLED=0"},
		Args: []string{"./cmd/meterd", "./cmd/meterctl", "./cmd/meterd/deploy/meterd-healthcheck"}}
	if err := build.Into(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
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
