package core

import (
	"net/netip"
	"strings"

	"github.com/meterd/meterd/core/licensing"
	"github.com/meterd/meterd/core/record"
	"github.com/meterd/meterd/core/session"
)

// CheckinRequest closes an open session. Addressing is as in ConsumeRequest.
type CheckinRequest struct {
	Owner, Item, License string
	Session              string
	User, Host, IP       string
	Peer                 netip.Addr
}

// CheckinAnswer is the license balance after a checkin.
type CheckinAnswer struct {
	License   string
	Session   string
	Remaining int64
	Seq       uint64
}

// Checkin closes an open session. Errors: ErrInvalid, ErrNotFound, ErrSessionNotOpen,
// ErrUnavailable, ErrClosed.
func (e *Engine) Checkin(req *CheckinRequest, ans *CheckinAnswer) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.exit()
	l, err := e.resolve(req.Owner, req.Item, req.License)
	if err != nil {
		return err
	}
	if req.Session == "" {
		return invalidf("session is required")
	}
	if err := licensing.CheckWho(req.Session, req.User, req.Host, req.IP); err != nil {
		return err
	}
	c := record.Checkin{License: l.id, Session: req.Session, User: req.User, Host: req.Host, IP: req.IP}
	if c.IP == "" && req.Peer.IsValid() {
		c.IP = req.Peer.String()
	}
	seq, err := e.checkin(l.id, &c)
	if err != nil {
		return err
	}
	*ans = CheckinAnswer{License: l.id, Session: strings.Clone(req.Session),
		Remaining: l.ctr.Remaining(e.nowNS()), Seq: seq}
	return nil
}

// checkin logs c and closes its session, unless another checkin got there first.
func (e *Engine) checkin(licenseID string, c *record.Checkin) (uint64, error) {
	key := []byte(sessionKey(licenseID, c.Session))
	s := e.sessions.Lookup(key)
	if s == nil {
		return 0, ErrSessionNotOpen
	}
	return e.closeSession(key, s, c)
}

// closeSession logs the checkin of the locked, open session s and unlocks it. If the log
// cannot persist, the session stays open: nothing was recorded.
func (e *Engine) closeSession(key []byte, s *session.Session, c *record.Checkin) (uint64, error) {
	defer e.sessions.Release(key, s)
	c.Time = e.nowNS()
	var room [scratchRoom]byte
	seq, err := e.appendRecord(c.AppendTo(room[:0]))
	if err != nil {
		return 0, err
	}
	e.sessions.Close(s)
	return seq, nil
}

// reapSessions checks in every session idle since before now - SESSION_TIMEOUT, naming the
// user who opened it, so that the usage database shows when the session ended.
func (e *Engine) reapSessions(now int64) {
	cutoff := now - int64(e.cfg.SessionTimeout)
	for _, k := range e.sessions.Idle(cutoff) {
		key := []byte(k)
		s := e.sessions.Lookup(key)
		if s == nil {
			continue
		}
		if s.LastActive() > cutoff {
			e.sessions.Release(key, s) // used again since Idle() looked; still open, so only unlocked
			continue
		}
		lic, sess, _ := strings.Cut(k, "\x00")
		c := record.Checkin{License: lic, Session: sess, Timeout: true}
		c.User, c.Host, c.IP = s.Who()
		if _, err := e.closeSession(key, s, &c); err != nil {
			e.logger.Warn("session timeout checkin failed", "err", err)
			return
		}
	}
}
