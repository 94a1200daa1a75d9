package record

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The records of a pooled license (core/pool): an agent with POOL_ENDPOINTS set logs what it
// learns of the pool's licenses, and every block it leases or gives back, so that recovery
// knows exactly how many units it holds. Earlier builds wrote none of these.
//
//	pool      : time ‖ op byte ‖ epoch uvarint ‖ the op's fields:
//	  license : id str ‖ owner str ‖ item str ‖ productID str ‖ created varint
//	            ‖ first uvarint ‖ n uvarint ‖ n × (creditID str ‖ txItemID str ‖ window
//	            ‖ useCount varint)      (credits first to first+n-1 of the license)
//	  lease   : license str ‖ credit uvarint ‖ units varint
//	  return  : license str ‖ credit uvarint ‖ units varint ‖ reason byte
//	  epoch   : nothing (the agent joined the pool under epoch)
const recPool recordKind = 10

// PoolOp says what a pool record does.
type PoolOp uint8

const (
	PoolLicense PoolOp = iota + 1 // a pooled license, or credits added to one
	PoolLease                     // units moved from the pool to this agent
	PoolReturn                    // units this agent no longer holds
	PoolEpoch                     // this agent joined the pool under Epoch
)

// ReturnReason says why units were given back.
type ReturnReason uint8

const (
	ReturnShutdown  ReturnReason = iota + 1 // returned to the pool at shutdown
	ReturnReconcile                         // the pool did not hold them for this agent: never usable
	ReturnFenced                            // released by an eviction: dropped unspent
)

// Pool is one pool record.
type Pool struct {
	Op      PoolOp
	Time    int64
	Epoch   uint64
	License string // the license id, for every op
	// PoolLicense: the license's metadata and its credits from index First on.
	Meta *PoolMeta
	// PoolLease and PoolReturn: the credit and the units.
	Credit int32
	Units  int64
	Reason ReturnReason
}

// PoolMeta is what a PoolLicense record says of a license.
type PoolMeta struct {
	Owner, Item, ProductID string
	Created                int64
	First                  int
	Credits                []Credit // Used is not written
}

func (p *Pool) AppendTo(b []byte) []byte {
	b = binary.AppendUvarint(append(appendHeader(b, recPool, p.Time), byte(p.Op)), p.Epoch)
	switch p.Op {
	case PoolLicense:
		m := p.Meta
		b = AppendStr(AppendStr(AppendStr(AppendStr(b, p.License), m.Owner), m.Item), m.ProductID)
		b = binary.AppendUvarint(binary.AppendVarint(b, m.Created), uint64(m.First))
		b = binary.AppendUvarint(b, uint64(len(m.Credits)))
		for _, c := range m.Credits {
			b = appendWindow(AppendStr(AppendStr(b, c.ID), c.TxItemID), c.Window)
			b = binary.AppendVarint(b, c.UseCount)
		}
	case PoolLease, PoolReturn:
		b = binary.AppendVarint(binary.AppendUvarint(AppendStr(b, p.License), uint64(p.Credit)), p.Units)
		if p.Op == PoolReturn {
			b = append(b, byte(p.Reason))
		}
	}
	return b
}

func (r *reader) pool(t int64) *Pool {
	p := &Pool{Time: t, Op: PoolOp(r.byte()), Epoch: r.uvarint()}
	switch p.Op {
	case PoolLicense:
		p.License = r.str()
		m := &PoolMeta{Owner: r.str(), Item: r.str(), ProductID: r.str(), Created: r.varint()}
		first := r.uvarint()
		if first > math.MaxInt32 {
			r.fail("first credit out of range")
		}
		m.First = int(first)
		m.Credits = make([]Credit, r.count(5))
		for i := range m.Credits {
			m.Credits[i] = Credit{ID: r.str(), TxItemID: r.str(), Window: r.window(), UseCount: r.varint()}
		}
		p.Meta = m
	case PoolLease, PoolReturn:
		p.License = r.str()
		c := r.uvarint()
		if c > math.MaxInt32 {
			r.fail("credit index out of range")
		}
		p.Credit, p.Units = int32(c), r.varint()
		if p.Units < 0 {
			r.fail("negative units")
		}
		if p.Op == PoolReturn {
			if p.Reason = ReturnReason(r.byte()); p.Reason < ReturnShutdown || p.Reason > ReturnFenced {
				r.fail("bad return reason")
			}
		}
	case PoolEpoch:
	default:
		r.fail(fmt.Sprintf("pool op %d", p.Op))
	}
	return p
}

// prefixHeld keys a pooled license's units held by this agent, per credit: q/<licenseId>.
var prefixHeld = []byte("q/")

// HeldKey is the state key of a pooled license's held units.
func HeldKey(license string) []byte { return stateKey(prefixHeld, license) }

// AppendHeld writes the units held per credit: version ‖ n uvarint ‖ n × varint.
func AppendHeld(b []byte, held []int64) []byte {
	b = binary.AppendUvarint(append(b, stateVersion), uint64(len(held)))
	for _, h := range held {
		b = binary.AppendVarint(b, h)
	}
	return b
}

func (r *reader) heldValue() []int64 {
	r.version()
	held := make([]int64, r.count(1))
	for i := range held {
		if held[i] = r.varint(); held[i] < 0 {
			r.fail("negative held units")
		}
	}
	return held
}
