package core

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/export"
	"github.com/meterd/meterd/shard"
)

// ConsumeRequest is one consume call. Its strings may alias a request buffer: the engine
// copies what it keeps.
type ConsumeRequest struct {
	Owner   string // "organizations/<id>" or "users/<id>"; with Item, instead of License
	Item    string
	License string
	Units   int64 // 0: not given (sessions mode takes the product's credit amount); < 0: invalid
	Session string
	User    string
	Host    string
	IP      string     // the client's own idea of its address
	Peer    netip.Addr // the connection's peer, recorded when IP is empty
	// IdempotencyKey makes a retry return the first answer and take nothing.
	IdempotencyKey string
}

// Consume decides one request and fills ans. A denial is an answer, not an error. Errors:
// ErrInvalid, ErrNotFound, ErrIdempotencyMismatch, ErrUnavailable, ErrClosed.
func (e *Engine) Consume(req *ConsumeRequest, ans *Answer) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	return e.consume(req, ans)
}

func (e *Engine) consume(req *ConsumeRequest, ans *Answer) error {
	l, err := e.resolve(req.Owner, req.Item, req.License)
	if err != nil {
		return err
	}
	p := l.product.p.Load()
	if err := checkConsume(req, p); err != nil {
		return err
	}
	if req.IdempotencyKey == "" {
		return e.decide(l, p, req, nil, ans)
	}
	return e.consumeOnce(l, p, req, ans)
}

// consumeOnce runs the decision at most once per (owner, key).
func (e *Engine) consumeOnce(l *license, p *Product, req *ConsumeRequest, ans *Answer) error {
	if err := checkIdemKey(req.IdempotencyKey); err != nil {
		return err
	}
	key := idemMapKey(l.owner, req.IdempotencyKey)
	hash := requestHash(req)
	ent, mine, err := e.idem.Claim(key, hash, e.nowNS())
	if err != nil {
		return err
	}
	if !mine {
		*ans = ent.Answer()
		return nil
	}
	if err := e.decide(l, p, req, &hash, ans); err != nil {
		e.idem.Abandon(key, ent)
		return err
	}
	e.idem.Complete(ent, *ans)
	return nil
}

func (e *Engine) decide(l *license, p *Product, req *ConsumeRequest, hash *[16]byte, ans *Answer) error {
	d := record.Decision{License: l.id, Session: req.Session, User: req.User, Host: req.Host, IP: req.IP}
	if d.IP == "" && req.Peer.IsValid() && e.cfg.UsageLevel == export.Detailed {
		d.Peer = req.Peer
	}
	if hash != nil {
		d.IdemKey, d.IdemHash = req.IdempotencyKey, *hash
	}
	// The parts live in this frame, beside d, so that neither escapes to the heap.
	var parts [4]shard.Part
	if p.Mode == TrackSessions {
		return e.consumeSession(l, p, &d, ans, parts[:0])
	}
	d.Units = req.Units
	return e.take(l, &d, record.DecConsume, ans, parts[:0])
}

// take decides d.Units for l and logs the decision; on a failed append it gives the units back.
func (e *Engine) take(l *license, d *record.Decision, kind record.DecisionKind, ans *Answer, parts []shard.Part) error {
	d.Time = e.nowNS()
	res := shard.Result{Parts: parts}
	l.ctr.TakeInto(&res, d.Units, d.Time) // not Take: no copy of the result (BenchmarkDecideSteps)
	if l.pool != nil {
		e.takePooled(l, d, &res)
	}
	d.Kind, d.Remaining, d.Outcome = kind, res.Remaining, res.Outcome
	if res.Outcome != shard.Granted {
		d.Kind = record.DecDeny
		*ans = Answer{License: l.id, Remaining: res.Remaining, Outcome: res.Outcome}
		e.metrics.Decision(res.Outcome, 0)
		if d.IdemKey == "" {
			return nil // nothing changed and nothing to remember
		}
		_, err := e.appendDecision(d, nil)
		return err
	}
	seq, err := e.appendDecision(d, res.Parts)
	if err != nil {
		l.ctr.Give(res.Parts)
		return err
	}
	*ans = Answer{Granted: true, License: l.id, Units: d.Units, Remaining: res.Remaining, Seq: seq}
	e.metrics.Decision(shard.Granted, d.Units)
	return nil
}

// consumeSession checks a session out on its first call and grants 0 units while it is open.
func (e *Engine) consumeSession(l *license, p *Product, d *record.Decision, ans *Answer, parts []shard.Part) error {
	var room [scratchRoom]byte // the session table copies the key it keeps
	key := append(append(append(room[:0], l.id...), 0), d.Session...)
	s := e.sessions.Acquire(key)
	defer e.sessions.Release(key, s)
	if !s.IsOpen() {
		if !e.sessions.Reserve() {
			return ErrTooManySessions
		}
		d.Units = p.CreditAmount
		if err := e.take(l, d, record.DecCheckout, ans, parts); err != nil || !ans.Granted {
			e.sessions.Unreserve()
			return err
		}
		e.sessions.MarkOpen(s, d.Time, strings.Clone(d.User), strings.Clone(d.Host), strings.Clone(d.IP))
		return nil
	}
	d.Kind, d.Time, d.Outcome = record.DecSessionUse, e.nowNS(), shard.Granted
	d.Remaining = l.ctr.Remaining(d.Time)
	seq, err := e.appendDecision(d, nil)
	if err != nil {
		return err
	}
	s.Touch(d.Time)
	*ans = Answer{Granted: true, License: l.id, Remaining: d.Remaining, Seq: seq}
	e.metrics.Decision(shard.Granted, 0)
	return nil
}

// resolve finds the license a request addresses, by id or by owner and item.
func (e *Engine) resolve(owner, item, id string) (*license, error) {
	if id != "" {
		if owner != "" || item != "" {
			return nil, invalidf("give either license or owner and item, not both")
		}
		if c := e.table.Get(id); c != nil && c.ID() == id { // not an alias that happens to match
			return c.Value().(*license), nil
		}
		return nil, notFoundf("no license %q", id)
	}
	if owner == "" || item == "" {
		return nil, invalidf("owner and item (or license) are required")
	}
	if err := licensing.CheckOwner(owner); err != nil {
		return nil, err
	}
	var room [scratchRoom]byte // the table does not keep the key
	if c := e.table.GetBytes(append(append(append(room[:0], owner...), 0), item...)); c != nil {
		return c.Value().(*license), nil
	}
	return nil, notFoundf("%s holds no license for item %q", owner, item)
}

// checkConsume validates the fields the license model needs.
func checkConsume(req *ConsumeRequest, p *Product) error {
	switch {
	case req.Units < 0 || req.Units > MaxUnits:
		return invalidf("units must be from 1 to %d", MaxUnits)
	case p.Mode == TrackCallerCount && req.Units == 0:
		return invalidf("units is required: the license tracks caller consumption counts")
	case p.Mode == TrackSessions && req.Session == "":
		return invalidf("session is required: the license tracks sessions opened")
	}
	return licensing.CheckWho(req.Session, req.User, req.Host, req.IP)
}

// checkIdemKey accepts 1 to 255 printable ASCII characters.
func checkIdemKey(k string) error {
	if len(k) > licensing.MaxIDLen {
		return invalidf("Idempotency-Key must be 1 to %d characters", licensing.MaxIDLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < ' ' || k[i] > '~' {
			return invalidf("Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// requestHash identifies a request's content for Idempotency-Key reuse: the fields as the
// client sent them, each length-prefixed so that no two requests collide by concatenation.
func requestHash(req *ConsumeRequest) [16]byte {
	var stack [2048]byte // the longest request fits: no allocation
	b := stack[:0]
	for _, s := range [...]string{req.Owner, req.Item, req.License, req.Session, req.User, req.Host, req.IP} {
		b = record.AppendStr(b, s)
	}
	b = binary.AppendVarint(b, req.Units)
	sum := sha256.Sum256(b)
	var h [16]byte
	copy(h[:], sum[:])
	return h
}
