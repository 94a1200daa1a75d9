package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// GoBuild is one `go build` of binaries that tests run (meterd, meterctl), kept from one test
// run to the next: go build leaves an output file that is already up to date as it is, so an
// unchanged binary is linked once rather than by every run's TestMain (linking meterd with
// -race takes about 5 s of CPU).
type GoBuild struct {
	Dir  string   // the directory go runs in; "" is the current one
	Env  []string // added to this process's environment, such as CGO_ENABLED=0
	Args []string // build flags, then packages; not -o
}

// Into builds b's binaries into a directory kept per user, build and place in its module
// (under the user's cache directory, meterd-test-bin/, safe to delete at any time), and links
// or copies them into dir, each under its package's name, as `go build -o dir/` names them.
// Checkouts of one module in other places share the kept directory: a build from another
// checkout's sources links anew, as every build did before, and the disk holds one copy of
// each binary however many checkouts and CI clones come and go. The build holds a lock, so
// that runs sharing the directory build one at a time; the link keeps the file this run
// executes even when a later build replaces the kept one.
func (b GoBuild) Into(dir string) error {
	wd, err := filepath.Abs(b.Dir)
	if err != nil {
		return err
	}
	kept, err := keptDir(wd, b.Env, b.Args)
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(kept, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", kept, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	cmd := exec.Command("go", append([]string{"build", "-o", kept + string(filepath.Separator)}, b.Args...)...)
	cmd.Dir, cmd.Env = wd, append(os.Environ(), b.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(b.Args, " "), err, out)
	}
	names, err := builtNames(kept)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := linkOrCopy(filepath.Join(kept, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// keptDir is the directory that keeps the binaries of one build run in wd, made if need be.
func keptDir(wd string, env, args []string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	module, rel := modulePlace(wd)
	h := sha256.New()
	for _, s := range append(append([]string{module, rel, "\x00env"}, env...), append([]string{"\x00args"}, args...)...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	dir := filepath.Join(base, "meterd-test-bin", hex.EncodeToString(h.Sum(nil))[:24])
	return dir, os.MkdirAll(dir, 0o700)
}

// modulePlace names wd the same way in every checkout: the path of the module that holds it
// and its place under the module's root. Outside a module it is wd itself.
func modulePlace(wd string) (module, rel string) {
	for root := wd; ; root = filepath.Dir(root) {
		if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					rel, _ := filepath.Rel(root, wd)
					return strings.Trim(strings.TrimSpace(m), `"`), rel
				}
			}
		}
		if filepath.Dir(root) == root {
			return "", wd
		}
	}
}

// builtNames are the binaries in kept: its build's, as only that build writes there.
func builtNames(kept string) ([]string, error) {
	entries, err := os.ReadDir(kept)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no binary", kept)
	}
	return names, nil
}

// linkOrCopy puts src at dst: a hard link where both are on one file system, else a copy.
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
