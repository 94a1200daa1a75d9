package wal_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meterd/meterd/wal"
)

// consumeRecordSize is the size of a core consume record.
const consumeRecordSize = 120

// BenchmarkAppend compares Log.Append (Sync mode) with raw Pebble
// group-committed fsyncs, one single-record batch.Commit(pebble.Sync) per
// operation, on fresh databases in b.TempDir(). Each sub-benchmark runs
// exactly `writers` goroutines that share b.N through an atomic counter
// (RunParallel would scale them with GOMAXPROCS). Compare impl=wal against
// impl=pebble at the same writers= within one run:
//
//	go test ./wal -run '^$' -bench Append -benchtime 3s -count 10 | tee new.txt
//	benchstat -col /impl new.txt
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("impl=pebble/writers=%d", writers), func(b *testing.B) {
			benchPebble(b, writers)
		})
		b.Run(fmt.Sprintf("impl=wal/writers=%d", writers), func(b *testing.B) {
			benchWAL(b, writers)
		})
	}
}

func benchPebble(b *testing.B, writers int) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var keys atomic.Uint64
	runWriters(b, writers, func(value []byte) {
		var key [9]byte
		key[0] = 'r'
		binary.BigEndian.PutUint64(key[1:], keys.Add(1))
		batch := db.NewBatch()
		_ = batch.Set(key[:], value, nil)
		if err := batch.Commit(pebble.Sync); err != nil {
			b.Error(err)
		}
		_ = batch.Close()
	})
}

func benchWAL(b *testing.B, writers int) {
	l, err := wal.Open(b.TempDir(), wal.Options{FS: vfs.Default, Durability: wal.Sync})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	runWriters(b, writers, func(value []byte) {
		if _, err := l.Append(value); err != nil {
			b.Error(err)
		}
	})
}

// runWriters runs op b.N times from exactly n goroutines and reports ops/s
// and the 99th percentile latency.
func runWriters(b *testing.B, n int, op func(value []byte)) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Go(func() {
			value := make([]byte, consumeRecordSize)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t := time.Now()
				op(value)
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// BenchmarkPebbleKeysPerGroup is the measurement behind storing a commit group as one Pebble
// key (commit.go, "One key a group"): Pebble alone, 125-byte records applied 8 a batch without
// sync (an async group's size), stored as a key each or as one key a batch, with the memtable
// size of wal's options. cpu-ns/record is the whole process's CPU time a record, the memtable
// insertions, flushes and compactions in Pebble's background goroutines included.
//
//	go test ./wal -run '^$' -bench PebbleKeysPerGroup -benchtime 2000000x -count 3
func BenchmarkPebbleKeysPerGroup(b *testing.B) {
	const perGroup, size = 8, 125
	for _, keys := range []string{"per-record", "per-group"} {
		b.Run("keys="+keys, func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}, MemTableSize: 4 << 20, MemTableStopWritesThreshold: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			rec, group := make([]byte, size), make([]byte, perGroup*(size+1))
			batch := db.NewBatch()
			put := func(seq uint64, v []byte) {
				op := batch.SetDeferred(9, len(v))
				op.Key[0] = 'r'
				binary.BigEndian.PutUint64(op.Key[1:], seq)
				copy(op.Value, v)
				_ = op.Finish()
			}
			cpu := processCPU()
			b.ResetTimer()
			for seq := uint64(0); seq < uint64(b.N); seq += perGroup {
				batch.Reset()
				if keys == "per-group" {
					put(seq+perGroup, group)
				} else {
					for i := range uint64(perGroup) {
						put(seq+i+1, rec)
					}
				}
				if err := db.Apply(batch, pebble.NoSync); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/record")
		})
	}
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
