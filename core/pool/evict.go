package pool

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Evicted says what Evict did.
type Evicted struct {
	Epoch    uint64           // the epoch the agent was fenced at: its writes fail from now on
	Released map[string]int64 // units moved back to free, by license id
}

// Evict fences agent id and releases its blocks: the units it held beyond what it last
// reported consumed go back to free. It refuses (ErrAlive) while the agent's member key
// exists, and fails with ErrNotFound for an agent that never joined. Running it again is
// harmless: what was released is not released twice.
func (s *Store) Evict(ctx context.Context, id string) (Evicted, error) {
	ak, mk := s.key("agent", id), s.key("member", id)
	var ev Evicted
	for i := 0; ; i++ {
		if i == maxRetries {
			return ev, ErrConflict
		}
		c, cancel := s.ctx(ctx)
		resp, err := s.cli.Get(c, ak)
		cancel()
		if err != nil {
			return ev, unavailable(err)
		}
		if len(resp.Kvs) == 0 {
			return ev, fmt.Errorf("%w: agent %s", ErrNotFound, id)
		}
		var doc agentDoc
		if err := decode(ak, resp.Kvs[0].Value, &doc); err != nil {
			return ev, err
		}
		next := agentDoc{Epoch: doc.Epoch, Evicted: true}
		if !doc.Evicted {
			next.Epoch++
		}
		c, cancel = s.ctx(ctx)
		tr, err := s.cli.Txn(c).If(clientv3.Compare(clientv3.ModRevision(ak), "=", resp.Kvs[0].ModRevision),
			clientv3.Compare(clientv3.CreateRevision(mk), "=", 0)).
			Then(clientv3.OpPut(ak, encode(next))).Else(clientv3.OpGet(mk)).Commit()
		cancel()
		if err != nil {
			return ev, unavailable(err)
		}
		if tr.Succeeded {
			ev.Epoch = next.Epoch
			break
		}
		if len(tr.Responses[0].GetResponseRange().Kvs) > 0 {
			return ev, fmt.Errorf("%w: %s holds its membership lease; stop it, or wait out its POOL_LEASE_TTL, first", ErrAlive, id)
		}
	}
	ev.Released = map[string]int64{}
	c, cancel := s.ctx(ctx)
	hp := s.key("held") + "/"
	resp, err := s.cli.Get(c, hp, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	cancel()
	if err != nil {
		return ev, unavailable(err)
	}
	for _, kv := range resp.Kvs {
		license, agent, ok := strings.Cut(string(kv.Key[len(hp):]), "/")
		if !ok || agent != id {
			continue
		}
		n, err := s.release(ctx, license, id)
		if err != nil {
			return ev, err
		}
		ev.Released[license] = n
	}
	return ev, nil
}

// release moves what agent holds of license beyond its reported use back to free.
func (s *Store) release(ctx context.Context, license, agent string) (int64, error) {
	fk, hk := s.key("free", license), s.key("held", license, agent)
	for range maxRetries {
		c, cancel := s.ctx(ctx)
		tr, err := s.cli.Txn(c).Then(clientv3.OpGet(fk), clientv3.OpGet(hk)).Commit()
		cancel()
		if err != nil {
			return 0, unavailable(err)
		}
		fr, hr := tr.Responses[0].GetResponseRange().Kvs, tr.Responses[1].GetResponseRange().Kvs
		if len(fr) == 0 || len(hr) == 0 {
			return 0, nil
		}
		var f free
		var h Holding
		if err := decode(fk, fr[0].Value, &f); err != nil {
			return 0, err
		}
		if err := decode(hk, hr[0].Value, &h); err != nil {
			return 0, err
		}
		n := max(len(h.Held), len(f.Free))
		f.Free, h.Held, h.Used = grown(f.Free, n), grown(h.Held, n), grown(h.Used, n)
		var released int64
		for i := range n {
			if d := h.Held[i] - h.Used[i]; d > 0 {
				f.Free[i] += d
				h.Held[i] = h.Used[i]
				released += d
			}
		}
		c, cancel = s.ctx(ctx)
		tr, err = s.cli.Txn(c).If(clientv3.Compare(clientv3.ModRevision(fk), "=", fr[0].ModRevision),
			clientv3.Compare(clientv3.ModRevision(hk), "=", hr[0].ModRevision)).
			Then(clientv3.OpPut(fk, encode(f)), clientv3.OpPut(hk, encode(h))).Commit()
		cancel()
		if err != nil {
			return 0, unavailable(err)
		}
		if tr.Succeeded {
			return released, nil
		}
	}
	return 0, ErrConflict
}
