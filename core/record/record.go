package record

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"

	"github.com/meterd/meterd/core/licensing"
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
//	            (read only: batches are now written packed, see batch.go)
//	pool      : a pooled license, a block leased or returned, an epoch (pool.go)
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
	recBatchPacked     // see batch.go
	recProvision2      // provision with exact windows and a JSON answer (earlier builds)
	recProvisionSigned // recProvision2 with vendor evidence (earlier builds)
	recProvisionTx     // provision with vendor evidence, empty when unsigned, and a typed answer
)

// recProvisionNS is the provision record of earlier builds, with windows in unix ns.
const recProvisionNS = recProvision

// DecisionKind says what a decision record did.
type DecisionKind uint8

const (
	DecConsume    DecisionKind = iota + 1 // caller-count grant
	DecCheckout                           // first call of a session: took the credit amount
	DecSessionUse                         // call in an open session: took nothing
	DecDeny                               // a denial, recorded only when it carries an idempotency key
)

// ErrBadRecord marks a WAL record that does not decode.
var ErrBadRecord = errors.New("record does not decode")

// Decision is one consume answer as the log keeps it.
type Decision struct {
	Kind      DecisionKind
	Time      int64
	License   string
	Units     int64 // granted units; for DecDeny the units asked for
	Parts     []shard.Part
	Remaining int64
	Outcome   shard.Outcome
	Session   string
	User      string
	Host      string
	IP        string
	IdemKey   string // the client's key, without the owner scope
	IdemHash  [16]byte
	Peer      netip.Addr // written as IP when IP is empty; never decoded back
}

// Checkin closes a session.
type Checkin struct {
	Time    int64
	License string
	Session string
	User    string
	Host    string
	IP      string
	Timeout bool // checked in by SESSION_TIMEOUT, not by the client
}

// Product is a PUT /products: the product as stored from then on.
type Product struct {
	Time    int64
	Product licensing.Product
}

// Provision is a license transaction: the credits it adds and its first answer.
type Provision struct {
	Time       int64
	TxID       string
	ExternalID string
	Type       string
	Owner      string
	Hash       [32]byte
	Items      []ProvisionItem
	Tx         *licensing.Transaction // the first answer, returned again for the same externalId
	// The vendor's signature and the request it covers, when VENDOR_PUBLIC_KEY_FILE is set;
	// else both empty.
	Signature string
	Request   []byte
}

// ProvisionItem is one credit of a Provision, and the license it goes to.
type ProvisionItem struct {
	ID           string
	ExternalID   string
	ProductID    string
	Quantity     int64
	Window       licensing.Window
	LicenseID    string
	NewLicense   bool
	LicensedItem string
	CreditID     string
	UseCount     int64
}

func appendHeader(b []byte, k recordKind, t int64) []byte {
	return binary.AppendVarint(append(b, recordVersion, byte(k)), t)
}

// AppendStr writes s as str. It and AppendBool and AppendInstant are exported because the
// digests core keeps of orders and of consume requests are built from them, and are stored: they
// must not change apart from the records.
func AppendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// AppendBool writes v as one byte, 1 or 0.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendTo writes d with parts for its Parts: the consume path keeps its parts in a stack buffer
// that storing in d would move to the heap. It inlines, so that the consume path makes one call
// to encode, as it did when the encoding was core's.
func (d *Decision) AppendTo(b []byte, parts []shard.Part) []byte {
	return d.appendTimed(append(b, recordVersion, byte(recDecision)), parts)
}

// appendTimed writes the time and the fields after it: a decision record after its version and
// kind, or an item of a batch record of earlier builds.
func (d *Decision) appendTimed(b []byte, parts []shard.Part) []byte {
	b = AppendStr(append(binary.AppendVarint(b, d.Time), byte(d.Kind)), d.License)
	b = d.appendAmounts(b, parts)
	b = AppendStr(AppendStr(AppendStr(b, d.Session), d.User), d.Host)
	if d.IP == "" && d.Peer.IsValid() {
		var ab [64]byte
		ip := d.Peer.AppendTo(ab[:0])
		b = append(binary.AppendUvarint(b, uint64(len(ip))), ip...)
	} else {
		b = AppendStr(b, d.IP)
	}
	return d.appendIdem(b)
}

// appendAmounts writes units, parts, remaining and outcome.
func (d *Decision) appendAmounts(b []byte, parts []shard.Part) []byte {
	b = binary.AppendVarint(b, d.Units)
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(p.Credit))
		b = binary.AppendVarint(b, p.Units)
	}
	b = binary.AppendVarint(b, d.Remaining)
	return append(b, byte(d.Outcome))
}

func (d *Decision) appendIdem(b []byte) []byte {
	b = AppendStr(b, d.IdemKey)
	if d.IdemKey != "" {
		b = append(b, d.IdemHash[:]...)
	}
	return b
}

func (c *Checkin) AppendTo(b []byte) []byte {
	b = appendHeader(b, recCheckin, c.Time)
	b = AppendStr(AppendStr(b, c.License), c.Session)
	b = AppendStr(AppendStr(AppendStr(b, c.User), c.Host), c.IP)
	return AppendBool(b, c.Timeout)
}

func (p *Product) AppendTo(b []byte) []byte {
	b = appendHeader(b, recProduct, p.Time)
	b = AppendStr(AppendStr(AppendStr(b, p.Product.ID), p.Product.Name), p.Product.LicensedItem)
	b = append(b, byte(p.Product.Mode))
	return binary.AppendVarint(b, p.Product.CreditAmount)
}

func (p *Provision) AppendTo(b []byte) []byte {
	b = appendHeader(b, recProvisionTx, p.Time)
	b = AppendStr(AppendStr(AppendStr(AppendStr(b, p.TxID), p.ExternalID), p.Type), p.Owner)
	b = append(b, p.Hash[:]...)
	b = binary.AppendUvarint(b, uint64(len(p.Items)))
	for i := range p.Items {
		b = p.Items[i].appendTo(b)
	}
	b = AppendStr(AppendStr(b, p.Signature), string(p.Request))
	return appendTransaction(b, p.Tx)
}

func (it *ProvisionItem) appendTo(b []byte) []byte {
	b = AppendStr(AppendStr(AppendStr(b, it.ID), it.ExternalID), it.ProductID)
	b = appendWindow(binary.AppendVarint(b, it.Quantity), it.Window)
	b = AppendBool(AppendStr(b, it.LicenseID), it.NewLicense)
	b = AppendStr(AppendStr(b, it.LicensedItem), it.CreditID)
	return binary.AppendVarint(b, it.UseCount)
}

// Record is a decoded WAL record: exactly one of the fields is set.
type Record struct {
	Decision  *Decision
	Checkin   *Checkin
	Product   *Product
	Provision *Provision
	Batch     []*Decision
	Pool      *Pool
}

// Time is the latest time the record was decided at (unix ns).
func (rec *Record) Time() int64 {
	switch {
	case rec.Decision != nil:
		return rec.Decision.Time
	case rec.Checkin != nil:
		return rec.Checkin.Time
	case rec.Product != nil:
		return rec.Product.Time
	case rec.Provision != nil:
		return rec.Provision.Time
	case rec.Pool != nil:
		return rec.Pool.Time
	}
	t := int64(math.MinInt64)
	for _, d := range rec.Batch {
		t = max(t, d.Time)
	}
	return t
}

// Consumed calls f with the units each grant of the record took from its license: what adds
// to the license's all-time consumption.
func (rec *Record) Consumed(f func(license string, units int64)) {
	grant := func(d *Decision) {
		if d.Kind == DecConsume || d.Kind == DecCheckout {
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
