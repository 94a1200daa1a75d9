package core

import (
	"sync"

	"github.com/meterd/meterd/core/idem"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/shard"
)

// MaxBatch is the most requests one ConsumeBatch (POST /v1/consume:batch) takes.
const MaxBatch = 1000

// BatchItem is one request of a batch and, once ConsumeBatch returns, its answer or its error.
type BatchItem struct {
	Req ConsumeRequest
	Ans Answer
	Err error
}

// ConsumeBatch decides every item on its own — all or nothing per item, not per batch — and
// logs the decisions that need it as one record with one group commit, so that a busy
// application is not bound by one round trip and one fsync share per decision.
//
// A batch holds no lock while it waits, so items that would have to wait are decided after
// the group commit, one by one, on the ordinary path: sessions-mode items (their session lock
// may be held by a request that is itself waiting) and items whose Idempotency-Key is in
// flight elsewhere. Two items of one batch with the same key and body get the same answer;
// with different bodies the later one gets ErrIdempotencyMismatch.
func (e *Engine) ConsumeBatch(items []BatchItem) error {
	if len(items) > MaxBatch {
		return invalidf("a batch takes at most %d requests, got %d", MaxBatch, len(items))
	}
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	b := batchPool.Get().(*batchState)
	defer b.release()
	b.e, b.items, b.now = e, items, e.nowNS()
	for i := range items {
		b.decide(i)
	}
	b.commit()
	for _, i := range b.deferred {
		it := &items[i]
		it.Err = e.consume(&it.Req, &it.Ans)
	}
	return nil
}

// batchState is the scratch of one ConsumeBatch, pooled: a batch of 1,000 allocates little.
type batchState struct {
	e     *Engine
	items []BatchItem
	now   int64

	decs   []record.Decision // to log, in item order
	logged []int             // item index of each decision
	lics   []*license        // license of each decision, for giving back
	parts  [MaxBatch][4]shard.Part
	claims map[string]batchClaim
	dups   [][2]int // item [0] repeats item [1]
	rec    []byte
	enc    record.BatchEncoder

	deferred []int
}

type batchClaim struct {
	item int
	hash [16]byte
	ent  *idem.Entry // nil when the key's answer was already known
}

var batchPool = sync.Pool{New: func() any {
	return &batchState{claims: make(map[string]batchClaim)}
}}

func (b *batchState) release() {
	clear(b.decs)
	b.e, b.items = nil, nil
	b.decs, b.logged, b.lics = b.decs[:0], b.logged[:0], b.lics[:0]
	clear(b.lics[:cap(b.lics)])
	clear(b.claims)
	b.dups, b.deferred, b.rec = b.dups[:0], b.deferred[:0], b.rec[:0]
	batchPool.Put(b)
}

// decide takes item i's units, or records why not.
func (b *batchState) decide(i int) {
	it := &b.items[i]
	req := &it.Req
	l, err := b.e.resolve(req.Owner, req.Item, req.License)
	if err == nil {
		err = checkConsume(req, l.product.p.Load())
	}
	if err != nil {
		it.Err = err
		return
	}
	if l.product.p.Load().Mode == TrackSessions {
		b.deferred = append(b.deferred, i)
		return
	}
	d := record.Decision{Kind: record.DecConsume, Time: b.now, License: l.id, Units: req.Units, Session: req.Session,
		User: req.User, Host: req.Host, IP: req.IP}
	if req.IdempotencyKey != "" && !b.claim(i, l, &d) {
		return
	}
	res := shard.Result{Parts: b.parts[len(b.decs)][:0]}
	l.ctr.TakeInto(&res, req.Units, b.now)
	d.Parts, d.Remaining, d.Outcome = res.Parts, res.Remaining, res.Outcome
	if res.Outcome != shard.Granted {
		it.Ans = Answer{License: l.id, Remaining: res.Remaining, Outcome: res.Outcome}
		b.e.metrics.Decision(res.Outcome, 0)
		if d.IdemKey == "" {
			return // nothing changed and nothing to remember
		}
		d.Kind, d.Parts = record.DecDeny, nil
	} else {
		it.Ans = Answer{Granted: true, License: l.id, Units: req.Units, Remaining: res.Remaining}
	}
	b.decs = append(b.decs, d)
	b.logged = append(b.logged, i)
	b.lics = append(b.lics, l)
}

// claim takes item i's Idempotency-Key for this batch. It returns false when the item is
// settled without a decision: a known answer, a repeat within the batch, a mismatch, or a key
// in flight elsewhere (deferred).
func (b *batchState) claim(i int, l *license, d *record.Decision) bool {
	it := &b.items[i]
	if it.Err = checkIdemKey(it.Req.IdempotencyKey); it.Err != nil {
		return false
	}
	key := idemMapKey(l.owner, it.Req.IdempotencyKey)
	hash := requestHash(&it.Req)
	if c, ok := b.claims[key]; ok {
		if c.hash != hash {
			it.Err = ErrIdempotencyMismatch
		} else {
			b.dups = append(b.dups, [2]int{i, c.item})
		}
		return false
	}
	ent, mine, busy, err := b.e.idem.TryClaim(key, hash, b.now)
	switch {
	case err != nil:
		it.Err = err
		return false
	case busy:
		b.deferred = append(b.deferred, i)
		return false
	case !mine:
		it.Ans = ent.Answer()
		b.claims[key] = batchClaim{item: i, hash: hash}
		return false
	}
	b.claims[key] = batchClaim{item: i, hash: hash, ent: ent}
	d.IdemKey, d.IdemHash = it.Req.IdempotencyKey, hash
	return true
}

// commit logs every decision as one record and publishes the answers; if the log cannot
// persist, it gives every unit back and fails exactly the items it logged.
func (b *batchState) commit() {
	var err error
	var seq uint64
	if len(b.decs) > 0 {
		b.rec = b.enc.Append(b.rec[:0], b.now, b.decs)
		seq, err = b.e.appendRecord(b.rec)
	}
	for k, i := range b.logged {
		it := &b.items[i]
		switch {
		case err != nil:
			if b.decs[k].Kind != record.DecDeny {
				b.lics[k].ctr.Give(b.decs[k].Parts)
			}
			it.Ans, it.Err = Answer{}, err
		case it.Ans.Granted:
			it.Ans.Seq = seq
			b.e.metrics.Decision(shard.Granted, it.Ans.Units)
		}
	}
	for key, c := range b.claims {
		switch {
		case c.ent == nil:
		case err != nil:
			b.e.idem.Abandon(key, c.ent)
		default:
			b.e.idem.Complete(c.ent, b.items[c.item].Ans)
		}
	}
	for _, d := range b.dups {
		b.items[d[0]].Ans, b.items[d[0]].Err = b.items[d[1]].Ans, b.items[d[1]].Err
	}
}
