package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/meterd/meterd/wal"
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
//	m/agent                        agent id of this data directory
const stateVersion = 1

// licenseVersion is the version of license values: 2 holds credit windows exactly (window.go),
// 1, written by earlier builds and still read, in unix ns.
const licenseVersion = 2

var (
	prefixProduct = []byte("p/")
	prefixLicense = []byte("l/")
	prefixSession = []byte("s/")
	prefixIdem    = []byte("i/")
	prefixTx      = []byte("x/")
	prefixVendor  = []byte("v/")
	keyAgent      = []byte("m/agent")
)

func stateKey(prefix []byte, id string) []byte {
	return append(append(make([]byte, 0, len(prefix)+len(id)), prefix...), id...)
}

func idemStateKey(key string) []byte { return stateKey(prefixIdem, key) }
func txStateKey(ext string) []byte   { return stateKey(prefixTx, ext) }

func ownerItemKey(owner, item string) string { return owner + "\x00" + item }
func sessionKey(license, session string) string {
	return license + "\x00" + session
}
func idemMapKey(owner, key string) string { return owner + "\x00" + key }

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func appendProduct(b []byte, p Product) []byte {
	b = appendStr(appendStr(appendStr(append(b, stateVersion), p.ID), p.Name), p.LicensedItem)
	return binary.AppendVarint(append(b, byte(p.Mode)), p.CreditAmount)
}

func (r *reader) productValue() Product {
	r.version()
	p := Product{ID: r.str(), Name: r.str(), LicensedItem: r.str()}
	p.Mode, p.CreditAmount = TrackingMode(r.byte()), r.varint()
	return p
}

func (l *dLicense) appendTo(b []byte) []byte {
	b = appendStr(appendStr(append(b, licenseVersion), l.ID), l.Owner)
	b = appendStr(appendStr(b, l.Item), l.ProductID)
	b = binary.AppendUvarint(binary.AppendVarint(b, l.Created), uint64(len(l.Credits)))
	for _, c := range l.Credits {
		b = c.Window.appendTo(appendStr(appendStr(b, c.ID), c.TxItemID))
		b = binary.AppendVarint(binary.AppendVarint(b, c.UseCount), c.Used)
	}
	return b
}

func (r *reader) licenseValue() *dLicense {
	window := (*reader).window
	switch v := r.byte(); v {
	case licenseVersion:
	case 1:
		window = (*reader).windowNS
	default:
		r.fail(fmt.Sprintf("license state version %d", v))
	}
	l := &dLicense{ID: r.str(), Owner: r.str(), Item: r.str(), ProductID: r.str(), Created: r.varint()}
	l.Credits = make([]dCredit, r.count(6))
	for i := range l.Credits {
		l.Credits[i] = dCredit{ID: r.str(), TxItemID: r.str(), Window: window(r),
			UseCount: r.varint(), Used: r.varint()}
	}
	return l
}

func (s dSession) appendTo(b []byte) []byte {
	b = binary.AppendVarint(append(b, stateVersion), s.LastActive)
	return appendStr(appendStr(appendStr(b, s.User), s.Host), s.IP)
}

func (r *reader) sessionValue() dSession {
	r.version()
	return dSession{LastActive: r.varint(), User: r.str(), Host: r.str(), IP: r.str()}
}

func (r *reader) version() {
	if v := r.byte(); v != stateVersion {
		r.fail(fmt.Sprintf("state version %d", v))
	}
}

// writeCheckpoint puts everything dirty into cp.
func (d *durable) writeCheckpoint(cp *wal.Checkpoint) {
	for id := range d.dirty.products {
		cp.Set(stateKey(prefixProduct, id), appendProduct(nil, d.products[id]))
	}
	for id := range d.dirty.licenses {
		cp.Set(stateKey(prefixLicense, id), d.licenses[id].appendTo(nil))
	}
	for sk := range d.dirty.sessions {
		if s, open := d.sessions[sk]; open {
			cp.Set(stateKey(prefixSession, sk), s.appendTo(nil))
		} else {
			cp.Delete(stateKey(prefixSession, sk))
		}
	}
	for _, op := range d.dirty.ops {
		if op.value == nil {
			cp.Delete(op.key)
		} else {
			cp.Set(op.key, op.value)
		}
	}
}

// load reads one state-store entry back; entries arrive in key order.
func (d *durable) load(key, value []byte) error {
	r := reader{b: value}
	switch {
	case bytes.HasPrefix(key, prefixProduct):
		p := r.productValue()
		d.products[p.ID] = p
	case bytes.HasPrefix(key, prefixLicense):
		l := r.licenseValue()
		d.licenses[l.ID] = l
		d.byItem[ownerItemKey(l.Owner, l.Item)] = l.ID
	case bytes.HasPrefix(key, prefixSession):
		d.sessions[string(key[len(prefixSession):])] = r.sessionValue()
	case bytes.HasPrefix(key, prefixIdem):
		d.loadIdem(string(key[len(prefixIdem):]), r.idemValue())
	case bytes.HasPrefix(key, prefixTx):
		if e := r.txValue(); d.onTx != nil && r.err == nil {
			d.onTx(string(key[len(prefixTx):]), e)
		}
	case bytes.HasPrefix(key, prefixVendor):
		r.vendorValue() // evidence kept for the vendor; the live engine needs none of it
	case bytes.Equal(key, keyAgent):
		d.agentID = string(value)
		return nil
	default:
		return fmt.Errorf("%w: unknown state key %q", ErrBadRecord, key)
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return fmt.Errorf("state key %q: %w", key, r.err)
	}
	return nil
}

func (d *durable) loadIdem(key string, e *idemEntry) {
	d.idemFIFO = append(d.idemFIFO, idemStamp{e.created, e.seq, key})
	d.idemSeq[key] = e.seq
	if d.onIdem != nil {
		d.onIdem(key, e)
	}
}

// appendVendorValue encodes a signed transaction's evidence for the state store.
func appendVendorValue(b []byte, p *provisionRec) []byte {
	return appendStr(appendStr(append(b, stateVersion), p.Signature), string(p.Request))
}

// vendorValue reads what appendVendorValue wrote; only that it decodes matters at start-up.
func (r *reader) vendorValue() (signature string, request []byte) {
	r.version()
	return r.str(), r.bytes()
}
