//go:build linux

package datasync

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// needAIO returns a context, or skips where the kernel refuses AIO fsync (then every flush
// is the plain system call, which the other tests still cover) unless METERD_REQUIRE_TOOLS=1
// says this machine must have it, as CI's does.
func needAIO(t *testing.T) *aioCtx {
	t.Helper()
	c, err := takeCtx()
	if err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("io_setup: %v, and METERD_REQUIRE_TOOLS=1", err)
		}
		t.Skipf("no AIO here (io_setup: %v): flushes are the plain system call", err)
	}
	return c
}

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlushThroughAIO(t *testing.T) {
	c := needAIO(t)
	defer c.destroy()
	f := tempFile(t)
	for _, o := range []op{opFdatasync, opFsync} {
		done, err := c.flush(f.Fd(), o)
		if !done {
			t.Fatalf("op %d: the kernel did not take the flush (refused=%v)", o, refused.Load())
		}
		if err != nil || !c.idle {
			t.Fatalf("op %d: err %v, idle %v; want nil and a context free for the next flush", o, err, c.idle)
		}
	}
}

// A flush the kernel rejects at submission says so, as fdatasync(2) would, and leaves the
// context usable: nothing is in flight on it.
func TestFlushOfABadDescriptor(t *testing.T) {
	c := needAIO(t)
	defer c.destroy()
	f := tempFile(t)
	bad := f.Fd()
	f.Close()
	done, err := c.flush(bad, opFdatasync)
	if !done || !errors.Is(err, unix.EBADF) {
		t.Fatalf("flush of a closed descriptor: done %v, err %v; want done, EBADF", done, err)
	}
	if !c.idle {
		t.Fatal("the context is marked busy after a rejected submission")
	}
	g := tempFile(t)
	if done, err := c.flush(g.Fd(), opFdatasync); !done || err != nil {
		t.Fatalf("next flush on the same context: done %v, err %v", done, err)
	}
}

// spin keeps more goroutines runnable than there are Ps until the returned stop is called.
func spin() (stop func()) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !quit.Load() {
			}
		}()
	}
	return func() { quit.Store(true); wg.Wait() }
}

// With the Ps kept busy and goroutines waiting for one, park takes the AIO path. Busy is
// judged over windows of busyWindow, and the runtime's count of waiting goroutines is
// approximate, so the first calls may decline; within seconds of spinning they cannot all.
func TestParkWhileOthersWait(t *testing.T) {
	needAIO(t).destroy()
	f := tempFile(t)
	stop := spin()
	defer stop()
	for start := time.Now(); time.Since(start) < 10*time.Second; {
		done, err := park(f.Fd(), opFdatasync)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
	}
	t.Fatal("park never took the AIO path with every P busy and goroutines waiting for one")
}

// A process that has had little to do flushes through the plain system call, even with
// goroutines waiting for a P at that moment: parking would only add the detour's latency.
// The window is time, so the test lets time pass.
func TestIdleProcessDoesNotPark(t *testing.T) {
	f := tempFile(t)
	time.Sleep(5 * busyWindow)
	stop := spin() // runnable goroutines now, after a window with the Ps idle
	done, err := park(f.Fd(), opFdatasync)
	stop()
	if done || err != nil {
		t.Fatalf("park after %v idle: done %v, err %v; want the plain call", 5*busyWindow, done, err)
	}
}

// Many files flushed at once, each through a context of its own, with the race detector
// watching the free list: every flush succeeds.
func TestConcurrentFlushes(t *testing.T) {
	needAIO(t).destroy()
	stop := spin()
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		f := tempFile(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := Fdatasync(f.Fd()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
