package core

import (
	"bytes"
	"strconv"
	"time"

	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/wal"
)

// The durable state in the wal state store: core/record encodes each entry (state.go there
// lists the keys); what is stored, and what loading it rebuilds, is decided here.

// The keys of the live tables. The state store keys open sessions and remembered answers by
// the same strings (record.SessionKey, record.IdemKey), so their shape is as fixed as a record's.
func ownerItemKey(owner, item string) string { return owner + "\x00" + item }
func sessionKey(license, session string) string {
	return license + "\x00" + session
}
func idemMapKey(owner, key string) string { return owner + "\x00" + key }

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// writeCheckpoint puts everything dirty into cp.
func (d *durable) writeCheckpoint(cp *wal.Checkpoint) {
	for id := range d.dirty.products {
		cp.Set(record.ProductKey(id), record.AppendProduct(nil, d.products[id]))
	}
	for id := range d.dirty.licenses {
		cp.Set(record.LicenseKey(id), d.licenses[id].AppendTo(nil))
	}
	for sk := range d.dirty.sessions {
		if s, open := d.sessions[sk]; open {
			cp.Set(record.SessionKey(sk), s.AppendTo(nil))
		} else {
			cp.Delete(record.SessionKey(sk))
		}
	}
	for id := range d.dirty.held {
		cp.Set(record.HeldKey(id), record.AppendHeld(nil, d.held[id]))
	}
	if d.dirty.epoch {
		cp.Set(keyPoolEpoch, strconv.AppendUint(nil, d.poolEpoch, 10))
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
	if bytes.Equal(key, record.AgentKey) {
		d.agentID = string(value)
		return nil
	}
	if bytes.Equal(key, keyPoolEpoch) {
		var err error
		d.poolEpoch, err = parseEpoch(value)
		return err
	}
	st, err := record.DecodeState(key, value)
	if err != nil {
		return err
	}
	switch {
	case st.Product != nil:
		d.products[st.Product.ID] = *st.Product
	case st.License != nil:
		l := st.License
		d.licenses[l.ID] = l
		d.byItem[ownerItemKey(l.Owner, l.Item)] = l.ID
	case st.Session != nil:
		d.sessions[st.Key] = *st.Session
	case st.Idem != nil:
		d.loadIdem(st.Key, st.Idem)
	case st.Tx != nil:
		if d.onTx != nil {
			d.onTx(st.Key, st.Tx)
		}
	case st.Held != nil:
		d.held[st.Key] = st.Held
	}
	return nil
}

func (d *durable) loadIdem(key string, e *record.Idem) {
	d.idemFIFO = append(d.idemFIFO, idemStamp{e.Created, e.Seq, key})
	d.idemSeq[key] = e.Seq
	if d.onIdem != nil {
		d.onIdem(key, e)
	}
}
