package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/meterd/meterd/shard"
)

// The WAL stores opaque bytes; these are core's records. Every record starts with a version
// byte and a kind byte, then the kind's fields in a fixed order:
//
//	varint   signed, zig-zag (encoding/binary.AppendVarint)
//	uvarint  unsigned (encoding/binary.AppendUvarint)
//	str      uvarint length ‖ bytes
//
//	product   : time varint ‖ id str ‖ name str ‖ item str ‖ mode byte ‖ creditAmount varint
//	provision : time ‖ txID str ‖ externalID str ‖ type str ‖ owner str ‖ hash [32]
//	            ‖ n uvarint ‖ n × item ‖ response str (JSON: earlier builds, see txlegacy.go)
//	  item    : id str ‖ externalID str ‖ productID str ‖ quantity varint ‖ Window
//	            ‖ licenseID str ‖ newLicense byte ‖ licensedItem str ‖ creditID str
//	            ‖ useCount varint
//	  window  : from instant ‖ open byte ‖ [until instant, unless open]
//	  instant : unix seconds varint ‖ nanoseconds uvarint
//	            (recProvisionNS, written by earlier builds and still replayed, has
//	            from varint ‖ until varint in unix ns instead of window, which wrapped
//	            dates past 2262)
//	provision (recProvisionTx, today's): the fields above up to the items, then
//	            signature str ‖ request str ‖ transaction (txcodec.go)
//	            (the Meterd-Signature value and the bytes it covers, METHOD SP PATH LF
//	            body, as the agent checked them under VENDOR_PUBLIC_KEY_FILE, both empty
//	            when unsigned; then the first answer, typed, in place of response str)
//	signed provision (recProvisionSigned, earlier builds): a provision ‖ signature str
//	            ‖ request str
//	decision  : time ‖ kind byte ‖ license str ‖ units varint ‖ n uvarint
//	            ‖ n × (credit uvarint ‖ units varint) ‖ remaining varint ‖ outcome byte
//	            ‖ session str ‖ user str ‖ host str ‖ ip str ‖ idemKey str ‖ [hash [16] if idemKey]
//	checkin   : time ‖ license str ‖ session str ‖ user str ‖ host str ‖ ip str ‖ timeout byte
//	batch     : time ‖ n uvarint ‖ n × (time varint ‖ the decision's fields after its time)
//	            (read only: batches are now written packed, see record_batch.go)
//
// A batch record holds the decisions of one POST /v1/consume:batch that needed logging: one
// key, one frame and one apply for up to 1,000 decisions, which all answer with its seq.
//
// Times are unix nanoseconds. A record that does not decode completely and exactly stops
// recovery (ErrBadRecord): guessing would be free units or lost ones.
const recordVersion = 1

type recordKind uint8

const (
	recProduct recordKind = iota + 1
	recProvision
	recDecision
	recCheckin
	recBatch           // written by earlier builds; still replayed
	recBatchPacked     // see record_batch.go
	recProvision2      // provision with exact windows and a JSON answer (earlier builds)
	recProvisionSigned // recProvision2 with vendor evidence (earlier builds)
	recProvisionTx     // provision with vendor evidence, empty when unsigned, and a typed answer
)

// recProvisionNS is the provision record of earlier builds, with windows in unix ns.
const recProvisionNS = recProvision

// decisionKind says what a decision record did.
type decisionKind uint8

const (
	decConsume    decisionKind = iota + 1 // caller-count grant
	decCheckout                           // first call of a session: took the credit amount
	decSessionUse                         // call in an open session: took nothing
	decDeny                               // a denial, recorded only when it carries an idempotency key
)

// ErrBadRecord marks a WAL record that does not decode.
var ErrBadRecord = errors.New("record does not decode")

// decision is one consume answer as the log keeps it.
type decision struct {
	Kind      decisionKind
	Time      int64
	License   string
	Units     int64 // granted units; for decDeny the units asked for
	Parts     []shard.Part
	Remaining int64
	Outcome   shard.Outcome
	Session   string
	User      string
	Host      string
	IP        string
	IdemKey   string // the client's key, without the owner scope
	IdemHash  [16]byte
	peer      netip.Addr // written as IP when IP is empty; never decoded back
}

type checkinRec struct {
	Time    int64
	License string
	Session string
	User    string
	Host    string
	IP      string
	Timeout bool // checked in by SESSION_TIMEOUT, not by the client
}

type productRec struct {
	Time    int64
	Product Product
}

type provisionRec struct {
	Time       int64
	TxID       string
	ExternalID string
	Type       string
	Owner      string
	Hash       [32]byte
	Items      []provisionItem
	Tx         *Transaction // the first answer, returned again for the same externalId
	// The vendor's signature and the request it covers, when VENDOR_PUBLIC_KEY_FILE is set;
	// else both empty.
	Signature string
	Request   []byte
}

type provisionItem struct {
	ID           string
	ExternalID   string
	ProductID    string
	Quantity     int64
	Window       Window
	LicenseID    string
	NewLicense   bool
	LicensedItem string
	CreditID     string
	UseCount     int64
}

func appendHeader(b []byte, k recordKind, t int64) []byte {
	return binary.AppendVarint(append(b, recordVersion, byte(k)), t)
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func (d *decision) appendTo(b []byte) []byte {
	return d.appendBody(appendHeader(b, recDecision, d.Time), d.Parts)
}

// appendBody writes the fields after the time, with parts for d.Parts: the hot path keeps its
// parts in a stack buffer that storing in d would move to the heap.
func (d *decision) appendBody(b []byte, parts []shard.Part) []byte {
	b = appendStr(append(b, byte(d.Kind)), d.License)
	b = d.appendAmounts(b, parts)
	b = appendStr(appendStr(appendStr(b, d.Session), d.User), d.Host)
	if d.IP == "" && d.peer.IsValid() {
		var ab [64]byte
		ip := d.peer.AppendTo(ab[:0])
		b = append(binary.AppendUvarint(b, uint64(len(ip))), ip...)
	} else {
		b = appendStr(b, d.IP)
	}
	return d.appendIdem(b)
}

// appendAmounts writes units, parts, remaining and outcome.
func (d *decision) appendAmounts(b []byte, parts []shard.Part) []byte {
	b = binary.AppendVarint(b, d.Units)
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(p.Credit))
		b = binary.AppendVarint(b, p.Units)
	}
	b = binary.AppendVarint(b, d.Remaining)
	return append(b, byte(d.Outcome))
}

func (d *decision) appendIdem(b []byte) []byte {
	b = appendStr(b, d.IdemKey)
	if d.IdemKey != "" {
		b = append(b, d.IdemHash[:]...)
	}
	return b
}

func (c *checkinRec) appendTo(b []byte) []byte {
	b = appendHeader(b, recCheckin, c.Time)
	b = appendStr(appendStr(b, c.License), c.Session)
	b = appendStr(appendStr(appendStr(b, c.User), c.Host), c.IP)
	return appendBool(b, c.Timeout)
}

func (p *productRec) appendTo(b []byte) []byte {
	b = appendHeader(b, recProduct, p.Time)
	b = appendStr(appendStr(appendStr(b, p.Product.ID), p.Product.Name), p.Product.LicensedItem)
	b = append(b, byte(p.Product.Mode))
	return binary.AppendVarint(b, p.Product.CreditAmount)
}

func (p *provisionRec) appendTo(b []byte) []byte {
	b = appendHeader(b, recProvisionTx, p.Time)
	b = appendStr(appendStr(appendStr(appendStr(b, p.TxID), p.ExternalID), p.Type), p.Owner)
	b = append(b, p.Hash[:]...)
	b = binary.AppendUvarint(b, uint64(len(p.Items)))
	for i := range p.Items {
		b = p.Items[i].appendTo(b)
	}
	b = appendStr(appendStr(b, p.Signature), string(p.Request))
	return appendTransaction(b, p.Tx)
}

func (it *provisionItem) appendTo(b []byte) []byte {
	b = appendStr(appendStr(appendStr(b, it.ID), it.ExternalID), it.ProductID)
	b = it.Window.appendTo(binary.AppendVarint(b, it.Quantity))
	b = appendBool(appendStr(b, it.LicenseID), it.NewLicense)
	b = appendStr(appendStr(b, it.LicensedItem), it.CreditID)
	return binary.AppendVarint(b, it.UseCount)
}

// record is a decoded WAL record: exactly one of the fields is set.
type record struct {
	Decision  *decision
	Checkin   *checkinRec
	Product   *productRec
	Provision *provisionRec
	Batch     []*decision
}

// time is the latest time the record was decided at (unix ns).
func (rec *record) time() int64 {
	switch {
	case rec.Decision != nil:
		return rec.Decision.Time
	case rec.Checkin != nil:
		return rec.Checkin.Time
	case rec.Product != nil:
		return rec.Product.Time
	case rec.Provision != nil:
		return rec.Provision.Time
	}
	t := int64(math.MinInt64)
	for _, d := range rec.Batch {
		t = max(t, d.Time)
	}
	return t
}

// consumed calls f with the units each grant of the record took from its license: what adds
// to the license's all-time consumption.
func (rec *record) consumed(f func(license string, units int64)) {
	grant := func(d *decision) {
		if d.Kind == decConsume || d.Kind == decCheckout {
			f(d.License, d.Units)
		}
	}
	if rec.Decision != nil {
		grant(rec.Decision)
	}
	for _, d := range rec.Batch {
		grant(d)
	}
}

// decodeRecord decodes one WAL record. It never panics on arbitrary bytes.
func decodeRecord(b []byte) (record, error) {
	r := reader{b: b}
	if v := r.byte(); v != recordVersion {
		return record{}, fmt.Errorf("%w: version %d", ErrBadRecord, v)
	}
	kind, t := recordKind(r.byte()), r.varint()
	var rec record
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
		rec.Batch = new(decoder).decodePacked(&r, t)
	default:
		return record{}, fmt.Errorf("%w: kind %d", ErrBadRecord, kind)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return record{}, r.err
	}
	return rec, nil
}

// reader decodes fields in order; the first problem sticks and later reads return zeros.
// With alias set, strings alias b instead of copying it.
type reader struct {
	b     []byte
	off   int
	err   error
	alias bool
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrBadRecord, what, r.off)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail("short")
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail("bad bool")
	return false
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

// count reads a length that must fit in what is left, each element taking at least min bytes.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64((len(r.b)-r.off)/min) {
		r.fail("count beyond the record")
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	if r.alias {
		b := r.bytes()
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(r.bytes())
}

func (r *reader) bytes() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) fixed(dst []byte) {
	if r.err != nil || len(r.b)-r.off < len(dst) {
		r.fail("short")
		return
	}
	r.off += copy(dst, r.b[r.off:])
}

func (r *reader) decision(t int64) *decision {
	d := new(decision)
	r.decisionInto(d, t, nil)
	return d
}

// decisionInto decodes a decision's fields into d, its parts appended to parts[:0].
func (r *reader) decisionInto(d *decision, t int64, parts []shard.Part) {
	*d = decision{Time: t, Kind: decisionKind(r.byte()), License: r.str()}
	r.amountsInto(d, parts)
	d.Session, d.User, d.Host, d.IP = r.str(), r.str(), r.str(), r.str()
	r.idemInto(d)
}

// amountsInto reads what appendAmounts wrote, d.Kind already set; parts as for decisionInto.
func (r *reader) amountsInto(d *decision, parts []shard.Part) {
	d.Units = r.varint()
	if d.Kind < decConsume || d.Kind > decDeny {
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

func (r *reader) idemInto(d *decision) {
	if d.IdemKey = r.str(); d.IdemKey != "" {
		r.fixed(d.IdemHash[:])
	}
}

// decoder decodes the records the applier sees most, decisions and batches of them, without
// allocating: decision structs and their parts are reused and their strings alias the record,
// so they are valid only until the next decode and only while the WAL callback runs. What the
// durable state keeps, it copies.
type decoder struct {
	d     decision
	parts []shard.Part
	batch []decision // items of a batch record, reused like d
	bpart [][]shard.Part
	ptrs  []*decision
	table []string // a packed batch's strings
}

func (dc *decoder) decode(b []byte) (record, error) {
	if len(b) < 2 || b[0] != recordVersion {
		return decodeRecord(b)
	}
	r := reader{b: b, off: 2, alias: true}
	var rec record
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
		return decodeRecord(b)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return record{}, r.err
	}
	return rec, nil
}

func (r *reader) batch() []*decision {
	ds := make([]*decision, r.count(8))
	for i := range ds {
		ds[i] = r.decision(r.varint())
	}
	return ds
}

func (r *reader) checkin(t int64) *checkinRec {
	return &checkinRec{Time: t, License: r.str(), Session: r.str(), User: r.str(),
		Host: r.str(), IP: r.str(), Timeout: r.bool()}
}

func (r *reader) product(t int64) *productRec {
	p := &productRec{Time: t}
	p.Product.ID, p.Product.Name, p.Product.LicensedItem = r.str(), r.str(), r.str()
	p.Product.Mode, p.Product.CreditAmount = TrackingMode(r.byte()), r.varint()
	return p
}

// provision decodes the fields every provision record starts with, its items' windows read
// by window.
func (r *reader) provision(t int64, window func(*reader) Window) *provisionRec {
	p := &provisionRec{Time: t, TxID: r.str(), ExternalID: r.str(), Type: r.str(), Owner: r.str()}
	r.fixed(p.Hash[:])
	p.Items = make([]provisionItem, r.count(11))
	for i := range p.Items {
		p.Items[i] = provisionItem{ID: r.str(), ExternalID: r.str(), ProductID: r.str(),
			Quantity: r.varint(), Window: window(r), LicenseID: r.str(),
			NewLicense: r.bool(), LicensedItem: r.str(), CreditID: r.str(), UseCount: r.varint()}
	}
	return p
}

// provisionTx decodes a provision record of today: vendor evidence (empty when unsigned) and
// the first answer, typed.
func (r *reader) provisionTx(t int64) *provisionRec {
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
func (r *reader) provisionJSON(t int64, window func(*reader) Window) *provisionRec {
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
func (r *reader) vendorEvidence(p *provisionRec) {
	p.Signature = r.str()
	p.Request = append([]byte(nil), r.bytes()...)
	if r.err == nil && (p.Signature == "" || len(p.Request) == 0) {
		r.fail("signed provision without its signature")
	}
}
