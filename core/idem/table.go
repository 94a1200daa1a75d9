package idem

import (
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meterd/meterd/core/licensing"
)

var (
	// ErrMismatch: a key reused with a different request.
	ErrMismatch = errors.New("idempotency key reused with a different body")
	// ErrTooManyKeys: the table holds its max keys, so a new key cannot be remembered.
	ErrTooManyKeys = errors.New("too many idempotency keys remembered")
)

// Entry is the remembered answer of one Idempotency-Key. The first request with the key
// creates it pending; duplicates wait on done and then return the same answer.
type Entry struct {
	hash    [16]byte // of the request, to tell "same body" from "different body"
	created int64
	ans     licensing.Answer
	done    chan struct{}
	failed  bool // the first request failed before it decided (WAL down): forget the key
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Answer is the first answer under the key, once the entry is done: when Claim or TryClaim
// return it as not the caller's.
func (e *Entry) Answer() licensing.Answer { return e.ans }

func (e *Entry) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Table is the live table of Idempotency-Keys. It remembers at most max keys taken by requests
// (recovery may put more: a key the log holds is never dropped early).
type Table struct {
	seed     maphash.Seed
	ttl      int64
	max      int64
	count    atomic.Int64 // keys remembered, for meterd_idempotency_keys
	earliest atomic.Int64 // when the oldest key expires, as of the last expire; 0: unknown
	shards   [64]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]*Entry
	_  [40]byte // keep neighbouring shards' mutexes off one cache line
}

// New makes a table that remembers a key for ttl (ns) and at most max keys at once.
func New(ttl int64, max int) *Table {
	t := &Table{seed: maphash.MakeSeed(), ttl: ttl, max: int64(max)}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*Entry)
	}
	return t
}

func (t *Table) shard(key string) *shard {
	return &t.shards[maphash.String(t.seed, key)%uint64(len(t.shards))]
}

// Claim returns the entry of key. mine is true when the caller created it and must finish it
// with Complete or Abandon; otherwise the entry is done and holds the first answer. A key
// whose first request is still in flight makes the caller wait for it.
func (t *Table) Claim(key string, hash [16]byte, now int64) (e *Entry, mine bool, err error) {
	for {
		if e, mine, err = t.lookupOrCreate(key, hash, now); mine || err != nil {
			return e, mine, err
		}
		if e.hash != hash {
			return nil, false, ErrMismatch
		}
		<-e.done
		if !e.failed {
			return e, false, nil
		}
	}
}

// TryClaim is Claim for a caller that holds other locks and so must not wait: busy reports a
// key whose first request is still in flight (the caller decides it later, alone).
func (t *Table) TryClaim(key string, hash [16]byte, now int64) (e *Entry, mine, busy bool, err error) {
	if e, mine, err = t.lookupOrCreate(key, hash, now); mine || err != nil {
		return e, mine, false, err
	}
	switch {
	case e.hash != hash:
		return nil, false, false, ErrMismatch
	case !e.isDone() || e.failed:
		return nil, false, true, nil
	}
	return e, false, false, nil
}

// lookupOrCreate returns key's live entry, or a new one for the caller to finish (created):
// an entry past the TTL whose request is done counts as absent. A new key past max is
// ErrTooManyKeys; a known key still answers, so a client's retry gets its first answer.
func (t *Table) lookupOrCreate(key string, hash [16]byte, now int64) (e *Entry, created bool, err error) {
	sh := t.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.m[key]; e != nil && !(e.created+t.ttl <= now && e.isDone()) {
		return e, false, nil
	}
	if e == nil && t.count.Add(1) > t.max {
		t.count.Add(-1)
		return nil, false, ErrTooManyKeys
	}
	e = &Entry{hash: hash, created: now, done: make(chan struct{})}
	sh.m[key] = e
	return e, true, nil
}

// Complete publishes the answer of a claimed entry.
func (t *Table) Complete(e *Entry, ans licensing.Answer) {
	e.ans = ans
	close(e.done)
}

// Abandon forgets a claimed key whose request failed before deciding; waiters retry.
func (t *Table) Abandon(key string, e *Entry) {
	sh := t.shard(key)
	sh.mu.Lock()
	if sh.m[key] == e {
		delete(sh.m, key)
		t.count.Add(-1)
	}
	sh.mu.Unlock()
	e.failed = true
	close(e.done)
}

// Put installs the answer a request under key was given at created, with the request's hash
// (recovery).
func (t *Table) Put(key string, hash [16]byte, created int64, ans licensing.Answer) {
	e := &Entry{hash: hash, created: created, ans: ans, done: closedChan}
	sh := t.shard(key)
	sh.mu.Lock()
	if sh.m[key] == nil {
		t.count.Add(1)
	}
	sh.m[key] = e
	sh.mu.Unlock()
}

// Expire forgets answers older than the TTL and returns how many it dropped. It notes when
// the oldest key left expires, for the Retry-After of ErrTooManyKeys.
func (t *Table) Expire(now int64) int {
	n := 0
	earliest := int64(0)
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			switch {
			case e.created+t.ttl <= now && e.isDone():
				delete(sh.m, k)
				t.count.Add(-1)
				n++
			case earliest == 0 || e.created+t.ttl < earliest:
				earliest = e.created + t.ttl
			}
		}
		sh.mu.Unlock()
	}
	t.earliest.Store(earliest)
	return n
}

// RetryAfter is how long until a key may be free: when the oldest expires, plus one sweep
// (sweep, the period of Expire), since that is when it is dropped.
func (t *Table) RetryAfter(now int64, sweep time.Duration) time.Duration {
	wait := time.Duration(t.earliest.Load() - now)
	return max(wait, 0) + sweep
}

// Len is the number of keys remembered, for meterd_idempotency_keys.
func (t *Table) Len() int64 { return t.count.Load() }
