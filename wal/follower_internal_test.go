package wal

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// An Async follower is answered once its record has its seq, without waiting for its leader
// to hand the group to Pebble; the leader still does, in seq order, and a Sync afterwards
// covers both records, whoever applies them. A Sync follower waits for the fsync. The test holds applyMu, so that no
// group can be applied while it looks.
func TestFollowerAnswer(t *testing.T) {
	t.Parallel()
	for _, d := range []Durability{Async, Sync} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			l, err := Open("db", Options{FS: vfs.NewMem(), Durability: d})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			l.applyMu.Lock()
			unlock := sync.OnceFunc(l.applyMu.Unlock)
			defer unlock() // before Close, which waits for the groups to be applied
			leader := appendAsync(l, "leader")
			waitGroupOf(l, 1) // the leader has opened a group, and waits for applyMu
			follower := appendAsync(l, "follower")
			if d == Async {
				select {
				case r := <-follower:
					if r.err != nil || r.seq != 2 || l.LastSeq() != 0 {
						t.Fatalf("follower: seq %d, %v, LastSeq %d; want seq 2, nil, 0 (not yet applied)", r.seq, r.err, l.LastSeq())
					}
				case <-time.After(10 * time.Second): // a hang guard: the answer needs no other goroutine
					t.Fatal("an Async follower was still waiting for its leader's apply after 10 s")
				}
			} else {
				waitGroupOf(l, 2)
				select {
				case r := <-follower:
					t.Fatalf("a Sync follower was answered (%+v) before its group was applied", r)
				case <-time.After(100 * time.Millisecond): // what a wrong answer would need, many times over
				}
			}
			unlock()
			// At once, likely before the leader has the apply lock: Sync covers every record
			// whose Append returned, applied or not.
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if d == Async && l.DurableSeq() != 2 {
				t.Fatalf("DurableSeq %d after Sync, want 2: the answered follower's record is not covered", l.DurableSeq())
			}
			if r := <-leader; r.err != nil || r.seq != 1 {
				t.Fatalf("leader: seq %d, %v; want 1, nil", r.seq, r.err)
			}
			if d == Sync {
				if r := <-follower; r.err != nil || r.seq != 2 {
					t.Fatalf("follower: seq %d, %v; want 2, nil", r.seq, r.err)
				}
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := l.Records(1, 2, func(seq uint64, b []byte) error {
				got = append(got, fmt.Sprintf("%d %s", seq, b))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[1 leader 2 follower]" || l.DurableSeq() != 2 {
				t.Fatalf("records %q, DurableSeq %d; want [1 leader 2 follower], 2", got, l.DurableSeq())
			}
		})
	}
}

// waitGroupOf returns once the group being filled holds n records.
func waitGroupOf(l *Log, n int) {
	for {
		l.mu.Lock()
		ok := l.mu.cur != nil && l.mu.cur.n == n
		l.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

type appended struct {
	seq uint64
	err error
}

func appendAsync(l *Log, rec string) <-chan appended {
	c := make(chan appended, 1)
	go func() {
		seq, err := l.Append([]byte(rec))
		c <- appended{seq, err}
	}()
	return c
}
