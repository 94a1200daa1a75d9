package core

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// session is one session of a sessions-mode license. Its mutex is held across the WAL append
// of the call that opens or closes it, so that concurrent first calls of the same session
// check out once; calls of other sessions never wait for it.
type session struct {
	mu         sync.Mutex
	open       bool
	dead       bool // removed from the table; whoever holds a stale pointer must look again
	lastActive atomic.Int64
	user       string // who opened it, for a timeout checkin
	host, ip   string
}

// sessionTable holds the sessions of all licenses, keyed by sessionKey(license, session). At
// most max are open or opening at once (recovery may put more: a session the log holds open
// stays open).
type sessionTable struct {
	seed   maphash.Seed
	max    int64
	open   atomic.Int64 // checked out, for meterd_sessions_open
	held   atomic.Int64 // open, plus checkouts in flight
	shards [64]sessionShard
}

type sessionShard struct {
	mu sync.Mutex
	m  map[string]*session
	_  [40]byte // keep neighbouring shards' mutexes off one cache line
}

func newSessionTable(max int) *sessionTable {
	t := &sessionTable{seed: maphash.MakeSeed(), max: int64(max)}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*session)
	}
	return t
}

func (t *sessionTable) shard(key []byte) *sessionShard {
	return &t.shards[maphash.Bytes(t.seed, key)%uint64(len(t.shards))]
}

// acquire returns the session of key, locked, creating a closed one if there is none.
func (t *sessionTable) acquire(key []byte) *session {
	sh := t.shard(key)
	for {
		sh.mu.Lock()
		s := sh.m[string(key)]
		if s == nil {
			s = &session{}
			sh.m[string(key)] = s
		}
		sh.mu.Unlock()
		s.mu.Lock()
		if !s.dead {
			return s
		}
		s.mu.Unlock()
	}
}

// lookup returns the open session of key, locked, or nil.
func (t *sessionTable) lookup(key []byte) *session {
	sh := t.shard(key)
	sh.mu.Lock()
	s := sh.m[string(key)]
	sh.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.dead || !s.open {
		s.mu.Unlock()
		return nil
	}
	return s
}

// reserve takes a place for a checkout before it takes units; false: MAX_SESSIONS are held.
// The place is the caller's until markOpen, or unreserve if the checkout fails.
func (t *sessionTable) reserve() bool {
	if t.held.Add(1) > t.max {
		t.held.Add(-1)
		return false
	}
	return true
}

func (t *sessionTable) unreserve() { t.held.Add(-1) }

// markOpen records a successful checkout, whose place is reserved; s is locked.
func (t *sessionTable) markOpen(s *session, now int64, user, host, ip string) {
	s.open, s.user, s.host, s.ip = true, user, host, ip
	s.lastActive.Store(now)
	t.open.Add(1)
}

// release unlocks s, first dropping it from the table if it is not open (a denied or failed
// checkout, or a checkin), so closed sessions take no memory.
func (t *sessionTable) release(key []byte, s *session) {
	if !s.open {
		t.remove(key, s)
	}
	s.mu.Unlock()
}

// close marks the locked session checked in.
func (t *sessionTable) close(s *session) {
	if s.open {
		s.open = false
		t.open.Add(-1)
		t.held.Add(-1)
	}
}

func (t *sessionTable) remove(key []byte, s *session) {
	s.dead = true
	sh := t.shard(key)
	sh.mu.Lock()
	if sh.m[string(key)] == s {
		delete(sh.m, string(key))
	}
	sh.mu.Unlock()
}

// put installs an open session (recovery).
func (t *sessionTable) put(key string, s *session) {
	s.open = true
	sh := t.shard([]byte(key))
	sh.mu.Lock()
	sh.m[key] = s
	sh.mu.Unlock()
	t.open.Add(1)
	t.held.Add(1)
}

// idle returns the keys of sessions whose last activity is at or before cutoff.
func (t *sessionTable) idle(cutoff int64) []string {
	var keys []string
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, s := range sh.m {
			if s.lastActive.Load() <= cutoff {
				keys = append(keys, k)
			}
		}
		sh.mu.Unlock()
	}
	return keys
}
