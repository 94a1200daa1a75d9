// Package datasync owns how the log's files reach the disk: fdatasync(2) and fsync(2)
// that, when other goroutines are waiting to run, leave the calling goroutine parked
// rather than pinning one of the Go scheduler's Ps for the length of the disk's flush.
//
// Why: a goroutine in a blocking system call keeps its P until sysmon has seen it there on
// two of its ticks (20 µs apart at the shortest, longer once sysmon has been idle) and
// hands the P to another thread. A group fsync on these machines' disks takes
// 150-300 µs, so on two cores one of the two Ps sat idle for about half of every fsync
// while the HTTP handlers it could have run waited: under sync load at 256 connections
// the agent used 164 % CPU with 8-13 % of the machine in iowait, and the same build with
// GOMAXPROCS=3 answered 11-32 % more requests a second (three alternating pairs).
//
// How: on Linux the flush is submitted through the kernel's AIO interface
// (io_submit with IOCB_CMD_FDSYNC or IOCB_CMD_FSYNC, kernel 4.18 and later), which runs
// it on a kernel worker and signals an eventfd when it is done; the goroutine waits for
// that eventfd in the runtime's netpoller, like any socket read, so its P runs other
// goroutines meanwhile. The result is the flush's own: the same vfs_fsync_range the
// system call runs.
//
// When: only while the process has lately kept most of its Ps busy and a goroutine is
// ready to run without one (waiting_linux.go). The detour costs 35-45 µs more than the
// system call (a worker thread's wake-up, then the netpoller's), which is all loss when
// the processor has time to spare: one client at a time, or the engine driven without
// HTTP, where parking cost 12 % of the consumes a second.
//
// Elsewhere (not Linux, a kernel without AIO fsync, a seccomp profile that refuses the
// calls, a file with no descriptor) the file's own Sync or SyncData runs, as before.
package datasync
