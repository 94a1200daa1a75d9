package wal

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Durability says when Append returns.
type Durability uint8

const (
	// Sync: Append returns after the record is fsynced (group commit).
	Sync Durability = iota
	// Async: Append returns once the record has its seq in the log's memory;
	// its group goes to Pebble at once, Pebble's WAL flusher writes it to the
	// OS as soon as it is free and fsyncs it within SyncInterval. See doc.go
	// for the loss bound.
	Async
)

func (d Durability) String() string {
	switch d {
	case Sync:
		return "sync"
	case Async:
		return "async"
	}
	return fmt.Sprintf("Durability(%d)", uint8(d))
}

// DefaultSyncInterval is the longest an Async record waits for its fsync.
const DefaultSyncInterval = 10 * time.Millisecond

// Options configures a Log. The zero value is a Sync log on the OS file system.
type Options struct {
	FS           vfs.FS // nil: DefaultFS(Durability); tests pass vfs.NewCrashableMem() or an errorfs wrapper
	Durability   Durability
	SyncInterval time.Duration // Async only: max delay before the fsync; 0: DefaultSyncInterval

	// Observer hooks for metrics; nil is fine. They run inside the pipeline,
	// on an appending goroutine (a group's leader) or the Async syncer, and
	// may run concurrently with each other: keep them cheap and safe for
	// concurrent use (Prometheus metrics are).
	//
	// OnCommit is called once per group: in Sync mode after its fsync, with d
	// the write+fsync time; in Async mode after its write, with d the write
	// time.
	OnCommit func(records int, d time.Duration)
	// Logger receives Pebble's messages and the log's own; nil: silent.
	Logger func(format string, args ...any)
}

// Pebble tuning for this workload: small opaque values appended in seq order,
// read back once (replay, export) and deleted soon after by Truncate.
const (
	// memTableSize and memTableStopWrites bound the disk the log uses when
	// truncation keeps up: a WAL file becomes obsolete once its memtable is
	// flushed (flushing records a range tombstone already covers writes
	// almost nothing), and Pebble keeps up to memTableStopWrites+1 obsolete
	// WAL files for reuse (a reused file makes each fdatasync cheaper). So
	// the floor is about (memTableStopWrites+2) × 1.1 × memTableSize ≈ 18
	// MiB, however much is appended. These are Pebble's defaults; 8 MiB/4
	// measured the same fsync rate and a 42 MiB floor.
	memTableSize       = 4 << 20
	memTableStopWrites = 2
	// cacheSize: reads are replay at start-up and export of recent records,
	// which mostly hit the memtable; the block cache barely matters.
	cacheSize = 4 << 20
	// maxGroupBytes seals a group so that one Pebble batch stays far below
	// Pebble's large-batch threshold (half a memtable) and below the size a
	// reset batch keeps its buffer at (batchRetainBytes).
	maxGroupBytes    = 512 << 10
	batchRetainBytes = 2 << 20
)

func (o *Options) ensureDefaults() error {
	if o.FS == nil {
		o.FS = DefaultFS(o.Durability)
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Durability > Async {
		return fmt.Errorf("wal: unknown durability %d", o.Durability)
	}
	return nil
}

// pebbleOptions builds Pebble's options. fs is already wrapped by watchFS.
func (l *Log) pebbleOptions(fs vfs.FS) *pebble.Options {
	po := &pebble.Options{
		FS:                          fs,
		Logger:                      pebbleLogger{l},
		FormatMajorVersion:          pebble.FormatNewest, // WAL sync chunks: torn tail vs corruption
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: memTableStopWrites,
		CacheSize:                   cacheSize,
		// No background WAL syncs: every WAL fsync is one we asked for.
		WALBytesPerSync: 0,
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) { l.logf("pebble: background error: %v", err) },
			// Logged, not fatal: the read that found it returns the error too.
			DataCorruption: func(info pebble.DataCorruptionInfo) { l.logf("pebble: %s", info) },
		},
	}
	// Compression stays at Pebble's default (Snappy): it is cheap on
	// incompressible values and shrinks the flushes of compressible ones,
	// whose writes compete with WAL fsyncs for the disk.
	if l.opts.Durability == Async {
		// Every group asks for a sync, so Pebble's flusher writes it to the
		// OS at once, but fsyncs at most once per SyncInterval.
		interval := l.opts.SyncInterval
		po.WALMinSyncInterval = func() time.Duration { return interval }
	}
	return po
}
