package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Agent is one incarnation of an agent in the pool: its id, the epoch it joined under, and the
// mod revision of agent/<id> that each of its writes compares. Make one with Join.
type Agent struct {
	s     *Store
	id    string
	epoch uint64
	rev   int64 // mod revision of agent/<id> as this incarnation wrote it

	fenced  atomic.Bool
	lastKA  atomic.Int64 // unix ns of the last keep-alive answer
	stop    context.CancelFunc
	done    chan struct{}
	leaseMu sync.Mutex
	lease   clientv3.LeaseID
}

// Joined says what Join found.
type Joined struct {
	Epoch uint64 // the epoch this incarnation writes under
	// Fenced: the epoch the agent knew (from its log) is not current, or was evicted: the blocks
	// its log says it holds were released and must not be spent.
	Fenced bool
}

// Join registers agent id, which its log says last joined under epoch known (0: never). It
// keeps the epoch when it is still current, else takes a new one; then it puts the member key
// under a lease of the store's TTL and keeps that lease alive until Leave.
func (s *Store) Join(ctx context.Context, id string, known uint64) (*Agent, Joined, error) {
	a := &Agent{s: s, id: id, done: make(chan struct{})}
	var j Joined
	key := s.key("agent", id)
	for range maxRetries {
		c, cancel := s.ctx(ctx)
		resp, err := s.cli.Get(c, key)
		cancel()
		if err != nil {
			return nil, j, unavailable(err)
		}
		var doc agentDoc
		cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		if len(resp.Kvs) == 1 {
			kv := resp.Kvs[0]
			if err := decode(key, kv.Value, &doc); err != nil {
				return nil, j, err
			}
			if known != 0 && doc.Epoch == known && !doc.Evicted {
				a.epoch, a.rev = known, kv.ModRevision
				j.Epoch = known
				return a, j, a.startMember(ctx)
			}
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)
		}
		j.Fenced = known != 0
		next := agentDoc{Epoch: max(doc.Epoch, known) + 1}
		c, cancel = s.ctx(ctx)
		tr, err := s.cli.Txn(c).If(cmp).Then(clientv3.OpPut(key, encode(next))).Commit()
		cancel()
		if err != nil {
			return nil, j, unavailable(err)
		}
		if tr.Succeeded {
			a.epoch, a.rev, j.Epoch = next.Epoch, tr.Header.Revision, next.Epoch
			return a, j, a.startMember(ctx)
		}
	}
	return nil, j, ErrConflict
}

// ID and Epoch name this incarnation.
func (a *Agent) ID() string    { return a.id }
func (a *Agent) Epoch() uint64 { return a.epoch }

// Fenced reports whether a write found this incarnation evicted.
func (a *Agent) Fenced() bool { return a.fenced.Load() }

// Alive reports whether the membership lease was confirmed within the TTL.
func (a *Agent) Alive() bool {
	return time.Since(time.Unix(0, a.lastKA.Load())) < a.s.ttl
}

// startMember puts member/<id> under a new lease and keeps it alive in the background, taking
// a new lease whenever the old one is lost (etcd unreachable for longer than the TTL).
func (a *Agent) startMember(ctx context.Context) error {
	if err := a.putMember(ctx); err != nil {
		return err
	}
	bg, stop := context.WithCancel(context.Background())
	a.stop = stop
	go a.keepMember(bg)
	return nil
}

func (a *Agent) putMember(ctx context.Context) error {
	s := a.s
	c, cancel := s.ctx(ctx)
	defer cancel()
	lg, err := s.cli.Grant(c, int64((s.ttl+time.Second-1)/time.Second))
	if err != nil {
		return unavailable(err)
	}
	doc := memberDoc{Epoch: a.epoch, Since: time.Now().UnixNano()}
	tr, err := s.cli.Txn(c).If(a.current()).Then(clientv3.OpPut(s.key("member", a.id), encode(doc), clientv3.WithLease(lg.ID))).Commit()
	if err != nil {
		return unavailable(err)
	}
	if !tr.Succeeded {
		s.cli.Revoke(c, lg.ID)
		a.fenced.Store(true)
		return ErrFenced
	}
	a.leaseMu.Lock()
	a.lease = lg.ID
	a.leaseMu.Unlock()
	a.lastKA.Store(time.Now().UnixNano())
	return nil
}

func (a *Agent) keepMember(ctx context.Context) {
	defer close(a.done)
	for ctx.Err() == nil {
		a.leaseMu.Lock()
		id := a.lease
		a.leaseMu.Unlock()
		ch, err := a.s.cli.KeepAlive(ctx, id)
		if err == nil {
			for ka := range ch {
				if ka.TTL > 0 {
					a.lastKA.Store(time.Now().UnixNano())
				}
			}
		}
		// The lease is gone (expired while etcd was out of reach) or the stream broke: take a
		// new one once etcd answers again.
		for ctx.Err() == nil {
			if err := a.putMember(ctx); err == nil || errors.Is(err, ErrFenced) {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(a.s.ttl / 10):
			}
		}
		if a.fenced.Load() {
			return
		}
	}
}

// Leave stops keeping the membership alive and revokes its lease, so that member/<id> goes at
// once rather than after the TTL.
func (a *Agent) Leave(ctx context.Context) error {
	if a.stop != nil {
		a.stop()
		<-a.done
	}
	a.leaseMu.Lock()
	id := a.lease
	a.leaseMu.Unlock()
	c, cancel := a.s.ctx(ctx)
	defer cancel()
	if _, err := a.s.cli.Revoke(c, id); err != nil {
		return unavailable(err)
	}
	return nil
}

// current is the compare every write of this incarnation carries.
func (a *Agent) current() clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(a.s.key("agent", a.id)), "=", a.rev)
}

// Members lists the agents whose membership lease is held, with the epoch each joined under.
func (s *Store) Members(ctx context.Context) (map[string]uint64, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	prefix := s.key("member") + "/"
	resp, err := s.cli.Get(c, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, unavailable(err)
	}
	out := make(map[string]uint64, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var doc memberDoc
		if err := decode(string(kv.Key), kv.Value, &doc); err != nil {
			return nil, err
		}
		out[string(kv.Key[len(prefix):])] = doc.Epoch
	}
	return out, nil
}
