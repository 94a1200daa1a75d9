package record

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/shard"
)

// State keys in the wal state store. Values use the record encoding's primitives.
//
//	p/<productId>                  product
//	l/<licenseId>                  license with its credits and used counts
//	s/<licenseId>\x00<session>     open session
//	i/<owner>\x00<key>             remembered answer of an Idempotency-Key
//	x/<externalId>                 first answer of a provisioning transaction
//	v/<externalId>                 the vendor's signature of that transaction and the request
//	                               it covers (VENDOR_PUBLIC_KEY_FILE set)
//	q/<licenseId>                  units of a pooled license this agent holds, per credit
//	m/agent                        agent id of this data directory
const stateVersion = 1

// licenseVersion is the version of license values: 2 holds credit windows exactly (window.go),
// 1, written by earlier builds and still read, in unix ns.
const licenseVersion = 2

// txVersion is the version of a transaction's state value: 2 keeps the answer typed
// (txcodec.go); 1, written by earlier builds and still read, kept it as JSON.
const txVersion = 2

var (
	prefixProduct = []byte("p/")
	prefixLicense = []byte("l/")
	prefixSession = []byte("s/")
	prefixIdem    = []byte("i/")
	prefixTx      = []byte("x/")
	prefixVendor  = []byte("v/")
)

// AgentKey is the key of the agent id, whose value is the id itself, not encoded.
var AgentKey = []byte("m/agent")

func stateKey(prefix []byte, id string) []byte {
	return append(append(make([]byte, 0, len(prefix)+len(id)), prefix...), id...)
}

// ProductKey, LicenseKey, SessionKey, IdemKey, TxKey and VendorKey are the keys above.
func ProductKey(id string) []byte { return stateKey(prefixProduct, id) }
func LicenseKey(id string) []byte { return stateKey(prefixLicense, id) }

// SessionKey is the key of an open session; key is <licenseId>\x00<session>.
func SessionKey(key string) []byte { return stateKey(prefixSession, key) }

// IdemKey is the key of a remembered answer; key is <owner>\x00<Idempotency-Key>.
func IdemKey(key string) []byte { return stateKey(prefixIdem, key) }

func TxKey(externalID string) []byte     { return stateKey(prefixTx, externalID) }
func VendorKey(externalID string) []byte { return stateKey(prefixVendor, externalID) }

// License is a license as the durable state holds it: its credits with their used counts.
type License struct {
	ID, Owner, Item, ProductID string
	Created                    int64
	Credits                    []Credit
}

// Credit is one credit of a License.
type Credit struct {
	ID, TxItemID   string
	Window         licensing.Window
	UseCount, Used int64
}

// Session is an open session; who opened it is kept so that a timeout checkin can say so.
type Session struct {
	LastActive     int64
	User, Host, IP string
}

// Idem is the remembered answer of one Idempotency-Key.
type Idem struct {
	Hash    [16]byte // of the request, to tell "same body" from "different body"
	Created int64
	Seq     uint64 // WAL seq of the record holding the answer
	Answer  licensing.Answer
}

// Tx is the first answer of a provisioning transaction, by externalId.
type Tx struct {
	Owner string
	Hash  [32]byte
	Tx    *licensing.Transaction
}

// AppendProduct, and the AppendTo methods of the values below, write a state value: a version
// byte, then the fields in the order of the type.
func AppendProduct(b []byte, p licensing.Product) []byte {
	b = AppendStr(AppendStr(AppendStr(append(b, stateVersion), p.ID), p.Name), p.LicensedItem)
	return binary.AppendVarint(append(b, byte(p.Mode)), p.CreditAmount)
}

func (l *License) AppendTo(b []byte) []byte {
	b = AppendStr(AppendStr(append(b, licenseVersion), l.ID), l.Owner)
	b = AppendStr(AppendStr(b, l.Item), l.ProductID)
	b = binary.AppendUvarint(binary.AppendVarint(b, l.Created), uint64(len(l.Credits)))
	for _, c := range l.Credits {
		b = appendWindow(AppendStr(AppendStr(b, c.ID), c.TxItemID), c.Window)
		b = binary.AppendVarint(binary.AppendVarint(b, c.UseCount), c.Used)
	}
	return b
}

func (s Session) AppendTo(b []byte) []byte {
	b = binary.AppendVarint(append(b, stateVersion), s.LastActive)
	return AppendStr(AppendStr(AppendStr(b, s.User), s.Host), s.IP)
}

func (e *Idem) AppendTo(b []byte) []byte {
	b = append(append(b, stateVersion), e.Hash[:]...)
	b = binary.AppendUvarint(binary.AppendVarint(b, e.Created), e.Seq)
	b = AppendStr(AppendBool(b, e.Answer.Granted), e.Answer.License)
	b = binary.AppendVarint(binary.AppendVarint(b, e.Answer.Units), e.Answer.Remaining)
	return append(binary.AppendUvarint(b, e.Answer.Seq), byte(e.Answer.Outcome))
}

func (e *Tx) AppendTo(b []byte) []byte {
	b = AppendStr(append(b, txVersion), e.Owner)
	return appendTransaction(append(b, e.Hash[:]...), e.Tx)
}

// AppendVendor encodes a signed transaction's evidence.
func AppendVendor(b []byte, p *Provision) []byte {
	return AppendStr(AppendStr(append(b, stateVersion), p.Signature), string(p.Request))
}

// State is one decoded entry of the state store, other than AgentKey's: at most one of the
// pointers is set, none for vendor evidence, which is kept for the vendor and which the engine
// needs none of (only that it decodes matters at start-up).
type State struct {
	Key     string // what follows the prefix: an id, <licenseId>\x00<session>, <owner>\x00<key>
	Product *licensing.Product
	License *License
	Session *Session
	Idem    *Idem
	Tx      *Tx
	Held    []int64 // a pooled license's held units (Key: its id)
}

// DecodeState decodes one state-store entry completely and exactly, like a record.
func DecodeState(key, value []byte) (State, error) {
	r := reader{b: value}
	var st State
	switch {
	case bytes.HasPrefix(key, prefixProduct):
		p := r.productValue()
		st.Product = &p
	case bytes.HasPrefix(key, prefixLicense):
		st.License = r.licenseValue()
	case bytes.HasPrefix(key, prefixSession):
		s := r.sessionValue()
		st.Key, st.Session = string(key[len(prefixSession):]), &s
	case bytes.HasPrefix(key, prefixIdem):
		st.Key, st.Idem = string(key[len(prefixIdem):]), r.idemValue()
	case bytes.HasPrefix(key, prefixTx):
		st.Key, st.Tx = string(key[len(prefixTx):]), r.txValue()
	case bytes.HasPrefix(key, prefixVendor):
		r.vendorValue()
	case bytes.HasPrefix(key, prefixHeld):
		st.Key, st.Held = string(key[len(prefixHeld):]), r.heldValue()
	default:
		return State{}, fmt.Errorf("%w: unknown state key %q", ErrBadRecord, key)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return State{}, fmt.Errorf("state key %q: %w", key, r.err)
	}
	return st, nil
}

func (r *reader) productValue() licensing.Product {
	r.version()
	p := licensing.Product{ID: r.str(), Name: r.str(), LicensedItem: r.str()}
	p.Mode, p.CreditAmount = licensing.TrackingMode(r.byte()), r.varint()
	return p
}

func (r *reader) licenseValue() *License {
	window := (*reader).window
	switch v := r.byte(); v {
	case licenseVersion:
	case 1:
		window = (*reader).windowNS
	default:
		r.fail(fmt.Sprintf("license state version %d", v))
	}
	l := &License{ID: r.str(), Owner: r.str(), Item: r.str(), ProductID: r.str(), Created: r.varint()}
	l.Credits = make([]Credit, r.count(6))
	for i := range l.Credits {
		l.Credits[i] = Credit{ID: r.str(), TxItemID: r.str(), Window: window(r),
			UseCount: r.varint(), Used: r.varint()}
	}
	return l
}

func (r *reader) sessionValue() Session {
	r.version()
	return Session{LastActive: r.varint(), User: r.str(), Host: r.str(), IP: r.str()}
}

func (r *reader) idemValue() *Idem {
	r.version()
	e := new(Idem)
	r.fixed(e.Hash[:])
	e.Created, e.Seq = r.varint(), r.uvarint()
	e.Answer = licensing.Answer{Granted: r.bool(), License: r.str(), Units: r.varint(), Remaining: r.varint(),
		Seq: r.uvarint(), Outcome: shard.Outcome(r.byte())}
	return e
}

func (r *reader) txValue() *Tx {
	v := r.byte()
	e := &Tx{Owner: r.str()}
	r.fixed(e.Hash[:])
	switch v {
	case txVersion:
		e.Tx = r.transaction()
	case 1:
		answer := r.bytes()
		if r.err == nil {
			tx, err := legacyTransaction(answer)
			if err != nil {
				r.fail(err.Error())
			}
			e.Tx = tx
		}
	default:
		r.fail(fmt.Sprintf("transaction state version %d", v))
	}
	return e
}

// vendorValue reads what AppendVendor wrote.
func (r *reader) vendorValue() (signature string, request []byte) {
	r.version()
	return r.str(), r.bytes()
}

func (r *reader) version() {
	if v := r.byte(); v != stateVersion {
		r.fail(fmt.Sprintf("state version %d", v))
	}
}
