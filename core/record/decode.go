package record

import (
	"fmt"
	"math"
	"slices"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/shard"
)

// Decode decodes one WAL record. It never panics on arbitrary bytes.
func Decode(b []byte) (Record, error) {
	r := reader{b: b}
	if v := r.byte(); v != recordVersion {
		return Record{}, fmt.Errorf("%w: version %d", ErrBadRecord, v)
	}
	kind, t := recordKind(r.byte()), r.varint()
	var rec Record
	switch kind {
	case recDecision:
		rec.Decision = r.decision(t)
	case recCheckin:
		rec.Checkin = r.checkin(t)
	case recProduct:
		rec.Product = r.product(t)
	case recProvisionTx:
		rec.Provision = r.provisionTx(t)
	case recProvision2:
		rec.Provision = r.provisionJSON(t, (*reader).window)
	case recProvisionNS:
		rec.Provision = r.provisionJSON(t, (*reader).windowNS)
	case recProvisionSigned:
		rec.Provision = r.provisionJSON(t, (*reader).window)
		r.vendorEvidence(rec.Provision)
	case recBatch:
		rec.Batch = r.batch()
	case recBatchPacked:
		rec.Batch = new(Decoder).decodePacked(&r, t)
	case recPool:
		rec.Pool = r.pool(t)
	default:
		return Record{}, fmt.Errorf("%w: kind %d", ErrBadRecord, kind)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return Record{}, r.err
	}
	return rec, nil
}

func (r *reader) decision(t int64) *Decision {
	d := new(Decision)
	r.decisionInto(d, t, nil)
	return d
}

// decisionInto decodes a decision's fields into d, its parts appended to parts[:0].
func (r *reader) decisionInto(d *Decision, t int64, parts []shard.Part) {
	*d = Decision{Time: t, Kind: DecisionKind(r.byte()), License: r.str()}
	r.amountsInto(d, parts)
	d.Session, d.User, d.Host, d.IP = r.str(), r.str(), r.str(), r.str()
	r.idemInto(d)
}

// amountsInto reads what appendAmounts wrote, d.Kind already set; parts as for decisionInto.
func (r *reader) amountsInto(d *Decision, parts []shard.Part) {
	d.Units = r.varint()
	if d.Kind < DecConsume || d.Kind > DecDeny {
		r.fail("bad decision kind")
	}
	n := r.count(2)
	if n > 0 {
		d.Parts = slices.Grow(parts[:0], n)[:n]
	}
	for i := range d.Parts {
		c := r.uvarint()
		if c > math.MaxInt32 {
			r.fail("credit index out of range")
		}
		d.Parts[i] = shard.Part{Credit: int32(c), Units: r.varint()}
	}
	d.Remaining, d.Outcome = r.varint(), shard.Outcome(r.byte())
}

func (r *reader) idemInto(d *Decision) {
	if d.IdemKey = r.str(); d.IdemKey != "" {
		r.fixed(d.IdemHash[:])
	}
}

// Decoder decodes the records the applier sees most, decisions and batches of them, without
// allocating: decision structs and their parts are reused and their strings alias the record,
// so they are valid only until the next decode and only while the WAL callback runs. What the
// durable state keeps, it copies.
type Decoder struct {
	d     Decision
	parts []shard.Part
	batch []Decision // items of a batch record, reused like d
	bpart [][]shard.Part
	ptrs  []*Decision
	table []string // a packed batch's strings
}

// Decode is Decode for the applier: what it returns is valid until the next call.
func (dc *Decoder) Decode(b []byte) (Record, error) {
	if len(b) < 2 || b[0] != recordVersion {
		return Decode(b)
	}
	r := reader{b: b, off: 2, alias: true}
	var rec Record
	switch recordKind(b[1]) {
	case recDecision:
		r.decisionInto(&dc.d, r.varint(), dc.parts)
		if cap(dc.d.Parts) > cap(dc.parts) {
			dc.parts = dc.d.Parts
		}
		rec.Decision = &dc.d
	case recBatchPacked:
		rec.Batch = dc.decodePacked(&r, r.varint())
	default:
		return Decode(b)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return Record{}, r.err
	}
	return rec, nil
}

func (r *reader) batch() []*Decision {
	ds := make([]*Decision, r.count(8))
	for i := range ds {
		ds[i] = r.decision(r.varint())
	}
	return ds
}

func (r *reader) checkin(t int64) *Checkin {
	return &Checkin{Time: t, License: r.str(), Session: r.str(), User: r.str(),
		Host: r.str(), IP: r.str(), Timeout: r.bool()}
}

func (r *reader) product(t int64) *Product {
	p := &Product{Time: t}
	p.Product.ID, p.Product.Name, p.Product.LicensedItem = r.str(), r.str(), r.str()
	p.Product.Mode, p.Product.CreditAmount = licensing.TrackingMode(r.byte()), r.varint()
	return p
}

// provision decodes the fields every provision record starts with, its items' windows read
// by window.
func (r *reader) provision(t int64, window func(*reader) licensing.Window) *Provision {
	p := &Provision{Time: t, TxID: r.str(), ExternalID: r.str(), Type: r.str(), Owner: r.str()}
	r.fixed(p.Hash[:])
	p.Items = make([]ProvisionItem, r.count(11))
	for i := range p.Items {
		p.Items[i] = ProvisionItem{ID: r.str(), ExternalID: r.str(), ProductID: r.str(),
			Quantity: r.varint(), Window: window(r), LicenseID: r.str(),
			NewLicense: r.bool(), LicensedItem: r.str(), CreditID: r.str(), UseCount: r.varint()}
	}
	return p
}

// provisionTx decodes a provision record of today: vendor evidence (empty when unsigned) and
// the first answer, typed.
func (r *reader) provisionTx(t int64) *Provision {
	p := r.provision(t, (*reader).window)
	p.Signature = r.str()
	p.Request = append([]byte(nil), r.bytes()...) // rec is only valid during the WAL callback
	if r.err == nil && (p.Signature == "") != (len(p.Request) == 0) {
		r.fail("a vendor signature without its request, or a request without its signature")
	}
	p.Tx = r.transaction()
	return p
}

// provisionJSON decodes a provision record of an earlier build, whose first answer is JSON.
func (r *reader) provisionJSON(t int64, window func(*reader) licensing.Window) *Provision {
	p := r.provision(t, window)
	answer := r.bytes()
	if r.err == nil {
		tx, err := legacyTransaction(answer)
		if err != nil {
			r.fail(err.Error())
		}
		p.Tx = tx
	}
	return p
}

// vendorEvidence reads what a signed provision adds; a signed record without a signature is
// not one the agent writes.
func (r *reader) vendorEvidence(p *Provision) {
	p.Signature = r.str()
	p.Request = append([]byte(nil), r.bytes()...)
	if r.err == nil && (p.Signature == "" || len(p.Request) == 0) {
		r.fail("signed provision without its signature")
	}
}
