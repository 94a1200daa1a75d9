package core

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// idemEntry is the remembered answer of one Idempotency-Key. The first request with the key
// creates it pending; duplicates wait on done and then return the same answer.
type idemEntry struct {
	hash    [16]byte // of the request, to tell "same body" from "different body"
	created int64
	seq     uint64 // WAL seq of the record holding the answer
	ans     Answer
	done    chan struct{}
	failed  bool // the first request failed before it decided (WAL down): forget the key
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (e *idemEntry) isDone() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// idemTable is the live table of Idempotency-Keys, scoped per owner. It remembers at most max
// keys taken by requests (recovery may put more: a key the log holds is never dropped early).
type idemTable struct {
	seed     maphash.Seed
	ttl      int64
	max      int64
	count    atomic.Int64 // keys remembered, for meterd_idempotency_keys
	earliest atomic.Int64 // when the oldest key expires, as of the last expire; 0: unknown
	shards   [64]idemShard
}

type idemShard struct {
	mu sync.Mutex
	m  map[string]*idemEntry
	_  [40]byte // keep neighbouring shards' mutexes off one cache line
}

func newIdemTable(ttl int64, max int) *idemTable {
	t := &idemTable{seed: maphash.MakeSeed(), ttl: ttl, max: int64(max)}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*idemEntry)
	}
	return t
}

func (t *idemTable) shard(key string) *idemShard {
	return &t.shards[maphash.String(t.seed, key)%uint64(len(t.shards))]
}

// claim returns the entry of key. mine is true when the caller created it and must finish it
// with complete or abandon; otherwise the entry is done and holds the first answer. A key
// whose first request is still in flight makes the caller wait for it.
func (t *idemTable) claim(key string, hash [16]byte, now int64) (e *idemEntry, mine bool, err error) {
	for {
		if e, mine, err = t.lookupOrCreate(key, hash, now); mine || err != nil {
			return e, mine, err
		}
		if e.hash != hash {
			return nil, false, ErrIdempotencyMismatch
		}
		<-e.done
		if !e.failed {
			return e, false, nil
		}
	}
}

// tryClaim is claim for a caller that holds other locks and so must not wait: busy reports a
// key whose first request is still in flight (the caller decides it later, alone).
func (t *idemTable) tryClaim(key string, hash [16]byte, now int64) (e *idemEntry, mine, busy bool, err error) {
	if e, mine, err = t.lookupOrCreate(key, hash, now); mine || err != nil {
		return e, mine, false, err
	}
	switch {
	case e.hash != hash:
		return nil, false, false, ErrIdempotencyMismatch
	case !e.isDone() || e.failed:
		return nil, false, true, nil
	}
	return e, false, false, nil
}

// lookupOrCreate returns key's live entry, or a new one for the caller to finish (created):
// an entry past the TTL whose request is done counts as absent. A new key past max is
// ErrTooManyKeys; a known key still answers, so a client's retry gets its first answer.
func (t *idemTable) lookupOrCreate(key string, hash [16]byte, now int64) (e *idemEntry, created bool, err error) {
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
	e = &idemEntry{hash: hash, created: now, done: make(chan struct{})}
	sh.m[key] = e
	return e, true, nil
}

// complete publishes the answer of a claimed entry.
func (t *idemTable) complete(e *idemEntry, seq uint64, ans Answer) {
	e.seq, e.ans = seq, ans
	close(e.done)
}

// abandon forgets a claimed key whose request failed before deciding; waiters retry.
func (t *idemTable) abandon(key string, e *idemEntry) {
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

// put installs a finished entry (recovery).
func (t *idemTable) put(key string, e *idemEntry) {
	sh := t.shard(key)
	sh.mu.Lock()
	if sh.m[key] == nil {
		t.count.Add(1)
	}
	sh.m[key] = e
	sh.mu.Unlock()
}

// expire forgets answers older than the TTL and returns how many it dropped. It notes when
// the oldest key left expires, for the Retry-After of ErrTooManyKeys.
func (t *idemTable) expire(now int64) int {
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

// retryAfter is how long until a key may be free: when the oldest expires, plus one sweep
// (sweep, the period of expire), since that is when it is dropped.
func (t *idemTable) retryAfter(now int64, sweep time.Duration) time.Duration {
	wait := time.Duration(t.earliest.Load() - now)
	return max(wait, 0) + sweep
}
