package session

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Session is one session of a sessions-mode license. Its mutex is held across the WAL append
// of the call that opens or closes it, so that concurrent first calls of the same session
// check out once; calls of other sessions never wait for it.
type Session struct {
	mu         sync.Mutex
	open       bool
	dead       bool // removed from the table; whoever holds a stale pointer must look again
	lastActive atomic.Int64
	user       string // who opened it, for a timeout checkin
	host, ip   string
}

// IsOpen reports whether the locked session is checked out.
func (s *Session) IsOpen() bool { return s.open }

// Touch records a call in the open, locked session at now.
func (s *Session) Touch(now int64) { s.lastActive.Store(now) }

// LastActive is the time of the session's last call; it may be read without the lock.
func (s *Session) LastActive() int64 { return s.lastActive.Load() }

// Who is who opened the locked session.
func (s *Session) Who() (user, host, ip string) { return s.user, s.host, s.ip }

// Table holds the sessions of all licenses, keyed by license id and session name (core's
// sessionKey). At most max are open or opening at once (recovery may put more: a session the
// log holds open stays open).
type Table struct {
	seed   maphash.Seed
	max    int64
	open   atomic.Int64 // checked out, for meterd_sessions_open
	held   atomic.Int64 // open, plus checkouts in flight
	shards [64]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]*Session
	_  [40]byte // keep neighbouring shards' mutexes off one cache line
}

// New makes a table that holds at most max sessions open.
func New(max int) *Table {
	t := &Table{seed: maphash.MakeSeed(), max: int64(max)}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*Session)
	}
	return t
}

func (t *Table) shard(key []byte) *shard {
	return &t.shards[maphash.Bytes(t.seed, key)%uint64(len(t.shards))]
}

// Acquire returns the session of key, locked, creating a closed one if there is none.
func (t *Table) Acquire(key []byte) *Session {
	sh := t.shard(key)
	for {
		sh.mu.Lock()
		s := sh.m[string(key)]
		if s == nil {
			s = &Session{}
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

// Lookup returns the open session of key, locked, or nil.
func (t *Table) Lookup(key []byte) *Session {
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

// Reserve takes a place for a checkout before it takes units; false: max are held. The place
// is the caller's until MarkOpen, or Unreserve if the checkout fails.
func (t *Table) Reserve() bool {
	if t.held.Add(1) > t.max {
		t.held.Add(-1)
		return false
	}
	return true
}

// Unreserve gives back a place Reserve took for a checkout that failed.
func (t *Table) Unreserve() { t.held.Add(-1) }

// MarkOpen records a successful checkout, whose place is reserved; s is locked. user, host and
// ip are who opened it, kept for a timeout checkin: the caller passes copies.
func (t *Table) MarkOpen(s *Session, now int64, user, host, ip string) {
	s.open, s.user, s.host, s.ip = true, user, host, ip
	s.lastActive.Store(now)
	t.open.Add(1)
}

// Release unlocks s, first dropping it from the table if it is not open (a denied or failed
// checkout, or a checkin), so closed sessions take no memory.
func (t *Table) Release(key []byte, s *Session) {
	if !s.open {
		t.remove(key, s)
	}
	s.mu.Unlock()
}

// Close marks the locked session checked in.
func (t *Table) Close(s *Session) {
	if s.open {
		s.open = false
		t.open.Add(-1)
		t.held.Add(-1)
	}
}

func (t *Table) remove(key []byte, s *Session) {
	s.dead = true
	sh := t.shard(key)
	sh.mu.Lock()
	if sh.m[string(key)] == s {
		delete(sh.m, string(key))
	}
	sh.mu.Unlock()
}

// Put installs an open session last active at lastActive, opened by user, host and ip
// (recovery).
func (t *Table) Put(key string, lastActive int64, user, host, ip string) {
	s := &Session{open: true, user: user, host: host, ip: ip}
	s.lastActive.Store(lastActive)
	sh := t.shard([]byte(key))
	sh.mu.Lock()
	sh.m[key] = s
	sh.mu.Unlock()
	t.open.Add(1)
	t.held.Add(1)
}

// Idle returns the keys of sessions whose last activity is at or before cutoff.
func (t *Table) Idle(cutoff int64) []string {
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

// NumOpen is the number of sessions checked out, for meterd_sessions_open.
func (t *Table) NumOpen() int64 { return t.open.Load() }
