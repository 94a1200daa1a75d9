package core

import (
	"fmt"
	"strings"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/export"
	"github.com/meterd/meterd/shard"
)

// durable is the state that the log's records add up to through seq `applied`: what a
// checkpoint stores and what start-up rebuilds the live engine from. One goroutine owns it:
// recovery first, then the applier. It never looks at the live counters, which run ahead.
type durable struct {
	applied  uint64
	level    export.Level // of the usage database: what actions carry
	agentID  string
	agentNew bool // made at this start: the next checkpoint stores it
	products map[string]Product
	licenses map[string]*record.License
	byItem   map[string]string // ownerItemKey → license id
	sessions map[string]record.Session
	idemTTL  int64
	idemFIFO []idemStamp       // creation order, for expiry
	idemSeq  map[string]uint64 // key → seq of the answer stored now
	dirty    dirtySet

	// Pooled licenses (pool_state.go): units held per credit, and the epoch last joined under.
	held      map[string][]int64
	poolEpoch uint64

	// Hooks for what only the live engine keeps in memory (set during recovery only).
	onIdem func(key string, e *record.Idem)
	onTx   func(externalID string, e *record.Tx)
}

// consumed is the license's all-time consumed units.
func consumed(l *record.License) int64 {
	var n int64
	for _, c := range l.Credits {
		n += c.Used
	}
	return n
}

type idemStamp struct {
	created int64
	seq     uint64
	key     string
}

// dirtySet is what changed since the last checkpoint.
type dirtySet struct {
	products map[string]struct{}
	licenses map[string]struct{}
	sessions map[string]struct{} // present in durable.sessions → put, else delete
	ops      []kv                // write-once entries (answers, transactions) in order
	held     map[string]struct{} // pooled licenses whose held units changed
	epoch    bool                // the pool epoch changed
}

// kv is a state write; a nil value deletes the key.
type kv struct{ key, value []byte }

func newDurable(idemTTL int64, level export.Level) *durable {
	d := &durable{
		level:    level,
		products: make(map[string]Product),
		licenses: make(map[string]*record.License),
		byItem:   make(map[string]string),
		sessions: make(map[string]record.Session),
		idemTTL:  idemTTL,
		idemSeq:  make(map[string]uint64),
		held:     make(map[string][]int64),
	}
	d.dirty.reset()
	return d
}

func (s *dirtySet) reset() {
	s.products = make(map[string]struct{})
	s.licenses = make(map[string]struct{})
	s.sessions = make(map[string]struct{})
	s.ops = nil
	s.held = make(map[string]struct{})
	s.epoch = false
}

func (s *dirtySet) empty() bool {
	return len(s.products)+len(s.licenses)+len(s.sessions)+len(s.ops)+len(s.held) == 0 && !s.epoch
}

// apply adds record seq to the state and emits the pay-per-use actions it holds (none with
// a nil emit).
func (d *durable) apply(seq uint64, rec record.Record, emit func(export.Action)) error {
	if seq != d.applied+1 {
		panic(fmt.Sprintf("BUG: durable state at %d given record %d", d.applied, seq))
	}
	var err error
	switch {
	case rec.Product != nil:
		d.applyProduct(rec.Product)
	case rec.Provision != nil:
		err = d.applyProvision(rec.Provision)
	case rec.Decision != nil:
		err = d.applyDecision(seq, rec.Decision)
	case rec.Checkin != nil:
		err = d.applyCheckin(rec.Checkin)
	case rec.Batch != nil:
		for _, r := range rec.Batch {
			if err = d.applyDecision(seq, r); err != nil {
				break
			}
		}
	case rec.Pool != nil:
		err = d.applyPool(rec.Pool)
	}
	if err == nil && emit != nil {
		err = d.actions(seq, rec, emit)
	}
	if err != nil {
		return fmt.Errorf("record %d: %w", seq, err)
	}
	d.applied = seq
	return nil
}

// actions emits the pay-per-use actions of a record the state already holds. Start-up also
// calls it alone, for records that are checkpointed but not yet in the usage database.
func (d *durable) actions(seq uint64, rec record.Record, emit func(export.Action)) error {
	switch {
	case rec.Provision != nil:
		p := rec.Provision
		for i, it := range p.Items {
			l, err := d.license(it.LicenseID)
			if err != nil {
				return err
			}
			a := export.Action{WALSeq: seq, Time: unixTime(p.Time), Kind: export.Provision,
				Owner: l.Owner, Item: l.Item, LicenseID: l.ID, Units: it.UseCount, ExternalID: p.ExternalID}
			if i == 0 { // the evidence once per transaction, on its first item's row
				a.VendorSignature, a.VendorRequest = p.Signature, string(p.Request)
			}
			emit(a)
		}
	case rec.Decision != nil:
		return d.decisionActions(seq, rec.Decision, emit)
	case rec.Batch != nil:
		for _, r := range rec.Batch {
			if err := d.decisionActions(seq, r, emit); err != nil {
				return err
			}
		}
	case rec.Checkin != nil:
		c := rec.Checkin
		l, err := d.license(c.License)
		if err != nil {
			return err
		}
		a := export.Action{WALSeq: seq, Time: unixTime(c.Time), Kind: export.Checkin,
			Owner: l.Owner, Item: l.Item, LicenseID: l.ID}
		d.who(&a, c.Session, c.User, c.Host, c.IP)
		emit(a)
	}
	return nil
}

// decisionActions emits the consume or checkout a decision holds; other decisions hold none.
func (d *durable) decisionActions(seq uint64, r *record.Decision, emit func(export.Action)) error {
	k := export.Consume
	switch r.Kind {
	case record.DecConsume:
	case record.DecCheckout:
		k = export.Checkout
	default:
		return nil
	}
	l, err := d.license(r.License)
	if err != nil {
		return err
	}
	a := export.Action{WALSeq: seq, Time: unixTime(r.Time), Kind: k, Owner: l.Owner,
		Item: l.Item, LicenseID: l.ID, Units: r.Units}
	d.who(&a, r.Session, r.User, r.Host, r.IP)
	emit(a)
	return nil
}

// who fills the user columns of an action: copies, because the record's strings may alias
// the log's buffer, and only at the detailed level, which is the only one that writes them.
func (d *durable) who(a *export.Action, session, user, host, ip string) {
	if d.level != export.Detailed {
		return
	}
	a.Session, a.Username = strings.Clone(session), strings.Clone(user)
	a.Hostname, a.IPAddress = strings.Clone(host), strings.Clone(ip)
}

func (d *durable) license(id string) (*record.License, error) {
	if l := d.licenses[id]; l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("%w: unknown license %s", ErrBadRecord, id)
}

func (d *durable) applyProduct(p *record.Product) {
	d.products[p.Product.ID] = p.Product
	d.dirty.products[p.Product.ID] = struct{}{}
}

func (d *durable) applyProvision(p *record.Provision) error {
	for i := range p.Items {
		it := &p.Items[i]
		l := d.licenses[it.LicenseID]
		switch {
		case it.NewLicense && l != nil:
			return fmt.Errorf("%w: license %s created twice", ErrBadRecord, it.LicenseID)
		case it.NewLicense:
			l = &record.License{ID: it.LicenseID, Owner: p.Owner, Item: it.LicensedItem,
				ProductID: it.ProductID, Created: p.Time}
			d.licenses[l.ID] = l
			d.byItem[ownerItemKey(p.Owner, it.LicensedItem)] = l.ID
		case l == nil:
			return fmt.Errorf("%w: credit for unknown license %s", ErrBadRecord, it.LicenseID)
		}
		l.Credits = append(l.Credits, record.Credit{ID: it.CreditID, TxItemID: it.ID,
			Window: it.Window, UseCount: it.UseCount})
		d.dirty.licenses[l.ID] = struct{}{}
	}
	e := &record.Tx{Owner: p.Owner, Hash: p.Hash, Tx: p.Tx}
	d.dirty.ops = append(d.dirty.ops, kv{record.TxKey(p.ExternalID), e.AppendTo(nil)})
	if p.Signature != "" {
		d.dirty.ops = append(d.dirty.ops, kv{record.VendorKey(p.ExternalID), record.AppendVendor(nil, p)})
	}
	if d.onTx != nil {
		d.onTx(p.ExternalID, e)
	}
	return nil
}

func (d *durable) applyDecision(seq uint64, r *record.Decision) error {
	l, err := d.license(r.License)
	if err != nil {
		return err
	}
	if err := addUsed(l, r.Parts); err != nil {
		return err
	}
	if err := d.takeHeld(l, r.Parts); err != nil {
		return err
	}
	d.dirty.licenses[l.ID] = struct{}{}
	if r.IdemKey != "" {
		d.rememberAnswer(seq, l, r)
	}
	switch r.Kind {
	case record.DecCheckout:
		sk := sessionKey(l.ID, r.Session)
		d.sessions[sk] = record.Session{LastActive: r.Time, User: strings.Clone(r.User),
			Host: strings.Clone(r.Host), IP: strings.Clone(r.IP)}
		d.dirty.sessions[sk] = struct{}{}
	case record.DecSessionUse:
		sk := sessionKey(l.ID, r.Session)
		s := d.sessions[sk]
		s.LastActive = r.Time
		d.sessions[sk] = s
		d.dirty.sessions[sk] = struct{}{}
	}
	return nil
}

// addUsed adds the units of a granted decision to the credits' used counts.
func addUsed(l *record.License, parts []shard.Part) error {
	for _, p := range parts {
		if p.Credit < 0 || int(p.Credit) >= len(l.Credits) {
			return fmt.Errorf("%w: license %s has no credit %d", ErrBadRecord, l.ID, p.Credit)
		}
		c := &l.Credits[p.Credit]
		if p.Units < 0 || c.Used+p.Units > c.UseCount {
			return fmt.Errorf("%w: credit %s would hold %d of %d used", ErrBadRecord, c.ID, c.Used+p.Units, c.UseCount)
		}
		c.Used += p.Units
	}
	return nil
}

func (d *durable) rememberAnswer(seq uint64, l *record.License, r *record.Decision) {
	key := idemMapKey(l.Owner, r.IdemKey)
	e := idemFromDecision(seq, l.ID, r)
	d.dirty.ops = append(d.dirty.ops, kv{record.IdemKey(key), e.AppendTo(nil)})
	d.idemFIFO = append(d.idemFIFO, idemStamp{r.Time, seq, key})
	d.idemSeq[key] = seq
	if d.onIdem != nil {
		d.onIdem(key, e)
	}
}

// idemFromDecision rebuilds the answer a logged decision gave; license is the durable copy of
// its id (r's strings may alias the log's buffer).
func idemFromDecision(seq uint64, license string, r *record.Decision) *record.Idem {
	ans := Answer{Granted: r.Kind != record.DecDeny, License: license, Remaining: r.Remaining, Outcome: r.Outcome}
	if ans.Granted {
		ans.Units, ans.Seq = r.Units, seq
	}
	return &record.Idem{Hash: r.IdemHash, Created: r.Time, Seq: seq, Answer: ans}
}

func (d *durable) applyCheckin(c *record.Checkin) error {
	l, err := d.license(c.License)
	if err != nil {
		return err
	}
	sk := sessionKey(l.ID, c.Session)
	delete(d.sessions, sk)
	d.dirty.sessions[sk] = struct{}{}
	return nil
}

// expireIdem drops remembered answers older than the TTL from the stored state; the live
// table forgets them on its own clock. A key reused after it expired has a newer seq, and its
// new answer must survive the old one's expiry.
func (d *durable) expireIdem(now int64) {
	n := 0
	for ; n < len(d.idemFIFO) && d.idemFIFO[n].created+d.idemTTL <= now; n++ {
		st := d.idemFIFO[n]
		if d.idemSeq[st.key] == st.seq {
			delete(d.idemSeq, st.key)
			d.dirty.ops = append(d.dirty.ops, kv{record.IdemKey(st.key), nil})
		}
	}
	d.idemFIFO = d.idemFIFO[n:]
}
