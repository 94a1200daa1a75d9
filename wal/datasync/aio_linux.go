package datasync

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's AIO ABI (include/uapi/linux/aio_abi.h). Every field has a fixed width, and
// the only pair whose order depends on the byte order (aio_key, aio_rw_flags) is left zero.
type iocb struct {
	data     uint64
	key      uint32
	rwFlags  int32
	opcode   uint16
	reqprio  int16
	fildes   uint32
	buf      uint64
	nbytes   uint64
	offset   int64
	reserved uint64
	flags    uint32
	resfd    uint32
}

type ioEvent struct {
	data, obj uint64
	res, res2 int64
}

type op uint16

const (
	opFsync     op = 2 // IOCB_CMD_FSYNC
	opFdatasync op = 3 // IOCB_CMD_FDSYNC

	iocbFlagResfd = 1 << 0 // IOCB_FLAG_RESFD: signal aio_resfd on completion
)

// refused is set once the kernel has said AIO fsync cannot be had here: no AIO (ENOSYS), a
// seccomp profile (EPERM), or a kernel older than 4.18 (EINVAL from io_submit). From then
// on every flush is the plain system call.
var refused atomic.Bool

// park flushes fd as op through AIO when worthParking says the P is wanted elsewhere, and
// reports whether it did (done false: the caller runs the plain call). err is the flush's
// result.
func park(fd uintptr, o op) (done bool, err error) {
	if fd == ^uintptr(0) || refused.Load() || !worthParking() {
		return false, nil
	}
	c, err := takeCtx()
	if err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			refused.Store(true)
		}
		return false, nil
	}
	done, err = c.flush(fd, o)
	if done && err != nil && !c.idle {
		c.destroy() // the flush may still be in flight: the context cannot serve another
		return true, err
	}
	giveCtx(c)
	return done, err
}

// aioCtx is one AIO context and the eventfd its completions signal. It carries at most one
// flush at a time, so a completion needs no matching.
type aioCtx struct {
	id   uintptr
	efd  int      // the eventfd, for the kernel
	ev   *os.File // the same, non-blocking, so reads park in the netpoller; never call its Fd, which would make it blocking
	cb   iocb
	cbs  [1]*iocb
	idle bool // no flush in flight
}

// free keeps contexts between flushes. Creating one is two system calls, but destroying
// one waits for an RCU grace period (tens of milliseconds): closing a context with each
// WAL file stalled Pebble's commit pipeline at every WAL rotation (p99.9 40-55 ms against
// 13 ms), so contexts live for the process and only a surplus is destroyed, off the path.
var free = make(chan *aioCtx, 8)

func takeCtx() (*aioCtx, error) {
	select {
	case c := <-free:
		return c, nil
	default:
	}
	var id uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&id)), 0); e != 0 {
		return nil, e
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Syscall(unix.SYS_IO_DESTROY, id, 0, 0)
		return nil, err
	}
	c := &aioCtx{id: id, efd: fd, ev: os.NewFile(uintptr(fd), "datasync-eventfd"), idle: true}
	c.cbs[0] = &c.cb
	return c, nil
}

func giveCtx(c *aioCtx) {
	select {
	case free <- c:
	default:
		go c.destroy()
	}
}

func (c *aioCtx) destroy() {
	unix.Syscall(unix.SYS_IO_DESTROY, c.id, 0, 0) // waits for a flush in flight
	c.ev.Close()
}

// flush submits one flush of fd and waits for it; done is false when the kernel would not
// take it (nothing was submitted).
func (c *aioCtx) flush(fd uintptr, o op) (done bool, err error) {
	c.cb = iocb{opcode: uint16(o), fildes: uint32(fd), flags: iocbFlagResfd, resfd: uint32(c.efd)}
	for {
		_, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, c.id, 1, uintptr(unsafe.Pointer(&c.cbs[0])))
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EINVAL:
			refused.Store(true)
			return false, nil
		case unix.EAGAIN:
			return false, nil // out of AIO resources for now
		default:
			return true, e // what fdatasync would say of fd (EBADF, ...)
		}
		break
	}
	c.idle = false
	var count [8]byte
	if _, err := c.ev.Read(count[:]); err != nil {
		return true, err
	}
	// The kernel puts the event in the ring before it signals the eventfd, so this does
	// not block.
	var ev ioEvent
	for {
		n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, c.id, 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return true, e
		}
		if n != 1 {
			return true, fmt.Errorf("datasync: io_getevents returned %d events, want 1", n)
		}
		break
	}
	c.idle = true
	if ev.res < 0 {
		return true, unix.Errno(-ev.res)
	}
	return true, nil
}

// Fdatasync is fdatasync(2) on fd, parked as the package doc says when that pays, for
// files outside a vfs.FS (the benchmarks' baseline group commit).
func Fdatasync(fd uintptr) error {
	if done, err := park(fd, opFdatasync); done {
		return err
	}
	return unix.Fdatasync(int(fd))
}
