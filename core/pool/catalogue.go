package pool

import (
	"context"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Catalogue is every product and license in the pool at one revision.
type Catalogue struct {
	Revision int64
	Products map[string]Product
	Licenses map[string]License
	licRev   map[string]int64
	prodRev  map[string]int64
}

// ByItem finds owner's license for item, or nil.
func (c *Catalogue) ByItem(owner, item string) *License {
	for id, l := range c.Licenses {
		if l.Owner == owner && l.Item == item {
			l := c.Licenses[id]
			return &l
		}
	}
	return nil
}

// Catalogue reads every product and license at one revision.
func (s *Store) Catalogue(ctx context.Context) (*Catalogue, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	pk, lk := s.key("product")+"/", s.key("license")+"/"
	tr, err := s.cli.Txn(c).Then(clientv3.OpGet(pk, clientv3.WithPrefix()), clientv3.OpGet(lk, clientv3.WithPrefix())).Commit()
	if err != nil {
		return nil, unavailable(err)
	}
	cat := &Catalogue{Revision: tr.Header.Revision, Products: map[string]Product{}, Licenses: map[string]License{},
		licRev: map[string]int64{}, prodRev: map[string]int64{}}
	for _, kv := range tr.Responses[0].GetResponseRange().Kvs {
		var p Product
		if err := decode(string(kv.Key), kv.Value, &p); err != nil {
			return nil, err
		}
		cat.Products[p.ID], cat.prodRev[p.ID] = p, kv.ModRevision
	}
	for _, kv := range tr.Responses[1].GetResponseRange().Kvs {
		var l License
		if err := decode(string(kv.Key), kv.Value, &l); err != nil {
			return nil, err
		}
		cat.Licenses[l.ID], cat.licRev[l.ID] = l, kv.ModRevision
	}
	return cat, nil
}

// Change is one product or license written to the pool after a Catalogue's revision.
type Change struct {
	Revision int64
	Product  *Product
	License  *License
}

// Watch calls f with every product and license written after revision from, in order, until
// ctx ends or the watch fails (etcd compacted past from, or the stream broke for good): then
// it returns the error, and the caller reads the Catalogue again and watches from there.
func (s *Store) Watch(ctx context.Context, from int64, f func(Change)) error {
	ctx = clientv3.WithRequireLeader(ctx)
	ch := s.cli.Watch(ctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1))
	pk, lk := s.key("product")+"/", s.key("license")+"/"
	for wr := range ch {
		if err := wr.Err(); err != nil {
			return unavailable(err)
		}
		for _, ev := range wr.Events {
			if ev.Type != clientv3.EventTypePut {
				continue
			}
			key := string(ev.Kv.Key)
			ch := Change{Revision: ev.Kv.ModRevision}
			switch {
			case strings.HasPrefix(key, pk):
				ch.Product = new(Product)
				if err := decode(key, ev.Kv.Value, ch.Product); err != nil {
					return err
				}
			case strings.HasPrefix(key, lk):
				ch.License = new(License)
				if err := decode(key, ev.Kv.Value, ch.License); err != nil {
					return err
				}
			default:
				continue
			}
			f(ch)
		}
	}
	return unavailable(ctx.Err())
}

// PutProduct stores p unless check, given the product stored now (nil: none) and the
// catalogue, refuses; it retries while others write the same product.
func (s *Store) PutProduct(ctx context.Context, p Product, check func(old *Product, cat *Catalogue) error) error {
	key := s.key("product", p.ID)
	for range maxRetries {
		cat, err := s.Catalogue(ctx)
		if err != nil {
			return err
		}
		var old *Product
		if o, ok := cat.Products[p.ID]; ok {
			old = &o
		}
		if err := check(old, cat); err != nil {
			return err
		}
		c, cancel := s.ctx(ctx)
		tr, err := s.cli.Txn(c).If(productsUnchanged(s, cat, p.ID)...).Then(clientv3.OpPut(key, encode(p))).Commit()
		cancel()
		if err != nil {
			return unavailable(err)
		}
		if tr.Succeeded {
			return nil
		}
	}
	return ErrConflict
}

// productsUnchanged compares the product key and the license prefix with the catalogue: no
// license was added or changed since it was read (etcd compares a prefix's highest mod
// revision with WithPrefix).
func productsUnchanged(s *Store, cat *Catalogue, id string) []clientv3.Cmp {
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(s.key("product", id)), "=", cat.prodRev[id]),
		clientv3.Compare(clientv3.ModRevision(s.key("license")+"/").WithPrefix(), "<", cat.Revision+1),
	}
}

// Transaction returns the stored first answer of externalID, or nil.
func (s *Store) Transaction(ctx context.Context, externalID string) ([]byte, error) {
	c, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(c, s.key("tx", externalID))
	if err != nil {
		return nil, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0].Value, nil
}

// Provision is one provisioning transaction, planned by the caller from a Catalogue: the
// licenses it creates or adds credits to, as they will be, and its first answer.
type Provision struct {
	ExternalID string
	Answer     []byte    // stored under tx/<externalId>, opaque to the pool
	Licenses   []License // each whole, with every credit, old ones first and unchanged
}

// Commit writes p if the catalogue it was planned from still holds for what it touches: no
// transaction of the same externalId, each changed license unchanged since (a new one still
// absent, and no other license for its owner and item), every product it names unchanged.
// false: something changed; plan again from a new Catalogue. Each new credit's units become
// free.
func (s *Store) Commit(ctx context.Context, cat *Catalogue, p Provision) (bool, error) {
	txk := s.key("tx", p.ExternalID)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(txk), "=", 0)}
	var ops []clientv3.Op
	var reads []clientv3.Op
	for _, l := range p.Licenses {
		lk, fk := s.key("license", l.ID), s.key("free", l.ID)
		_, existed := cat.Licenses[l.ID]
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(lk), "=", cat.licRev[l.ID]),
			clientv3.Compare(clientv3.ModRevision(s.key("product", l.ProductID)), "=", cat.prodRev[l.ProductID]))
		if !existed {
			ik := s.key("item", l.Owner, l.Item)
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(ik), "=", 0))
			ops = append(ops, clientv3.OpPut(ik, l.ID))
		}
		reads = append(reads, clientv3.OpGet(fk))
		ops = append(ops, clientv3.OpPut(lk, encode(l)))
	}
	// The free counters grow by the new credits: read them in the same revision as the
	// compares, so that a lease between this read and the commit fails the commit.
	c, cancel := s.ctx(ctx)
	defer cancel()
	rt, err := s.cli.Txn(c).Then(reads...).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	for i, l := range p.Licenses {
		fk := s.key("free", l.ID)
		var f free
		var rev int64
		if kvs := rt.Responses[i].GetResponseRange().Kvs; len(kvs) == 1 {
			if err := decode(fk, kvs[0].Value, &f); err != nil {
				return false, err
			}
			rev = kvs[0].ModRevision
		}
		known := len(cat.Licenses[l.ID].Credits)
		f.Free = grown(f.Free, known)
		for _, cr := range l.Credits[known:] {
			f.Free = append(f.Free, cr.UseCount)
		}
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(fk), "=", rev))
		ops = append(ops, clientv3.OpPut(fk, encode(f)))
	}
	ops = append(ops, clientv3.OpPut(txk, string(p.Answer)))
	tr, err := s.cli.Txn(c).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	return tr.Succeeded, nil
}

// Totals is the pool's view of one license.
type Totals struct {
	License License
	Free    []int64
	// Agents' holdings by agent id, as each last reported.
	Holdings map[string]Holding
	At       time.Time // when etcd answered
}

// Totals reads license with every agent's holding.
func (s *Store) Totals(ctx context.Context, license string) (Totals, error) {
	lk, fk, hk := s.key("license", license), s.key("free", license), s.key("held", license)+"/"
	c, cancel := s.ctx(ctx)
	defer cancel()
	tr, err := s.cli.Txn(c).Then(clientv3.OpGet(lk), clientv3.OpGet(fk), clientv3.OpGet(hk, clientv3.WithPrefix())).Commit()
	if err != nil {
		return Totals{}, unavailable(err)
	}
	t := Totals{Holdings: map[string]Holding{}, At: time.Now()}
	lr, fr := tr.Responses[0].GetResponseRange(), tr.Responses[1].GetResponseRange()
	if len(lr.Kvs) == 0 || len(fr.Kvs) == 0 {
		return Totals{}, ErrNotFound
	}
	if err := decode(lk, lr.Kvs[0].Value, &t.License); err != nil {
		return Totals{}, err
	}
	var f free
	if err := decode(fk, fr.Kvs[0].Value, &f); err != nil {
		return Totals{}, err
	}
	n := len(t.License.Credits)
	t.Free = grown(f.Free, n)
	for _, kv := range tr.Responses[2].GetResponseRange().Kvs {
		var h Holding
		if err := decode(string(kv.Key), kv.Value, &h); err != nil {
			return Totals{}, err
		}
		h.Held, h.Used = grown(h.Held, n), grown(h.Used, n)
		t.Holdings[string(kv.Key[len(hk):])] = h
	}
	return t, nil
}
