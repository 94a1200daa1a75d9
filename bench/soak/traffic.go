package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/meterd/meterd/core/client"
)

// The traffic mix: the share of steps each operation takes, cumulative.
const (
	shareMeter      = 0.55 // caller-count consume on a big license (see keyMix)
	shareSeat       = 0.80 // one step of a session on a big sessions-mode license
	shareSmallMeter = 0.90 // caller-count consume on the small license: grants, then denials
	shareSmallSeat  = 0.95 // one step of a session on the small sessions-mode license
	shareExpired    = 0.97 // consume on the expired license: denial "expired"
	shareFuture     = 0.99 // consume on the future license: denial "not_yet_valid"
	// the rest: GET /v1/licenses/{id}
)

// keyMix of big caller-count consumes: 10 % carry a fresh Idempotency-Key, 45 % one of
// keyPool keys per owner (each always with the same body, so repeats are replays), 45 % none.
const (
	shareFreshKey  = 0.10
	sharePooledKey = 0.55
	keyPool        = 64
	maxUnits       = 25
)

// session is a worker's session on a sessions-mode owner: checkout, a few calls, checkin.
type session struct {
	owner  string
	id     string // "" when none is open
	calls  int
	target int
}

// worker runs steps of the mix at a fixed period.
type worker struct {
	id          int
	c           *client.Client
	f           *fleet
	l           *ledger
	rng         *rand.Rand
	n           int // steps so far, for fresh keys and session ids
	seat, small session
}

// runWorkers drives the mix with n workers at rate steps per second in total until ctx ends,
// then checks in the sessions still open. It returns the number of steps taken.
func runWorkers(ctx context.Context, c *client.Client, f *fleet, l *ledger, n int, rate float64) int64 {
	period := time.Duration(float64(time.Second) * float64(n) / rate)
	var wg sync.WaitGroup
	steps := make([]int, n)
	for i := range n {
		w := &worker{id: i, c: c, f: f, l: l, rng: rand.New(rand.NewPCG(uint64(i), 7)),
			seat: session{owner: f.seats[i%len(f.seats)]}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			steps[i] = w.run(ctx, period, period*time.Duration(i)/time.Duration(n))
		}()
	}
	wg.Wait()
	var total int64
	for _, s := range steps {
		total += int64(s)
	}
	return total
}

// run takes one step per period, starting after offset so that the workers interleave.
func (w *worker) run(ctx context.Context, period, offset time.Duration) int {
	select {
	case <-ctx.Done():
		return 0
	case <-time.After(offset):
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.checkin(&w.seat)
			w.checkin(&w.small)
			return w.n
		case <-t.C:
			w.step()
		}
	}
}

func (w *worker) step() {
	w.n++
	switch r := w.rng.Float64(); {
	case r < shareMeter:
		w.meter()
	case r < shareSeat:
		w.sessionStep(&w.seat, false)
	case r < shareSmallMeter:
		w.consume("small-meter", meterItem, "", w.meterBody(*w.f.smallMeter.Load(), 1+w.rng.Int64N(5), w.id), "exhausted")
	case r < shareSmallSeat:
		w.sessionStep(&w.small, true)
	case r < shareExpired:
		w.consume("expired", meterItem, "", w.meterBody(w.f.expired, 1, w.id), "expired")
	case r < shareFuture:
		w.consume("future", meterItem, "", w.meterBody(w.f.future, 1, w.id), "not_yet_valid")
	default:
		w.readLicense()
	}
}

// meter consumes on a big caller-count license with the key mix.
func (w *worker) meter() {
	owner := w.f.meters[w.rng.IntN(len(w.f.meters))]
	switch r := w.rng.Float64(); {
	case r < shareFreshKey:
		key := "fresh-" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.n)
		w.consume("meter fresh-key", meterItem, key, w.meterBody(owner, 1+w.rng.Int64N(maxUnits), w.id), "")
	case r < sharePooledKey:
		// The body depends on the key alone: any worker may send it, and every repeat is a replay.
		i := w.rng.IntN(keyPool)
		w.consume("meter pooled-key", meterItem, "pool-"+strconv.Itoa(i), w.meterBody(owner, int64(1+i%maxUnits), i%8), "")
	default:
		w.consume("meter", meterItem, "", w.meterBody(owner, 1+w.rng.Int64N(maxUnits), w.id), "")
	}
}

func (w *worker) meterBody(owner string, units int64, user int) client.ConsumeRequest {
	return client.ConsumeRequest{Owner: owner, Item: meterItem, Units: units, User: fmt.Sprintf("user-%d", user),
		Host: fmt.Sprintf("ws-%d", user)}
}

func (w *worker) seatBody(s *session) client.ConsumeRequest {
	return client.ConsumeRequest{Owner: s.owner, Item: seatItem, Session: s.id, User: fmt.Sprintf("user-%d", w.id),
		Host: fmt.Sprintf("ws-%d", w.id)}
}

// consume sends one consume and books its answer: a grant into the ledger, a denial for the
// reason the operation expects (none: denials are unexpected). It reports a grant.
func (w *worker) consume(op, item, key string, req client.ConsumeRequest, denial string) (client.Decision, bool) {
	req.IdempotencyKey = key
	d, err := w.c.Consume(context.Background(), req)
	if err != nil {
		w.failedCall(op, err)
		return d, false
	}
	switch {
	case d.Granted && d.Seq > 0:
		w.l.outcome("consume 200 granted")
		w.l.grant(item, d.Units, d.Seq, key != "")
		return d, true
	case !d.Granted && denial != "" && d.Reason == denial:
		w.l.outcome("consume 409 " + d.Reason)
		return d, false
	}
	status := 200
	if !d.Granted {
		status = 409
	}
	w.l.unexpected(op, status, fmt.Appendf(nil, "%+v", d))
	return d, false
}

// failedCall books a call that got no answer, or an answer outside the contract, or an error.
func (w *worker) failedCall(op string, err error) {
	var api *client.APIError
	switch {
	case errors.As(err, &api):
		w.l.unexpected(op, api.Status, []byte(api.Code+": "+api.Message))
	case errors.Is(err, client.ErrNoAnswer):
		w.l.failed(op, err)
	default: // an answer meterd should never write
		w.l.unexpected(op, 0, []byte(err.Error()))
	}
}

// sessionStep advances s: checkout when none is open, then 1 to 4 calls that take nothing,
// then checkin. On the small license a checkout may be denied.
func (w *worker) sessionStep(s *session, small bool) {
	op, denial := "seat", ""
	if small {
		op, denial = "small-seat", "exhausted"
	}
	switch {
	case s.id == "":
		s.id = "w" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.n)
		if small {
			s.owner = *w.f.smallSeat.Load() // the newest small license
		}
		if _, ok := w.consume(op+" checkout", seatItem, "", w.seatBody(s), denial); !ok {
			s.id = ""
			return
		}
		s.calls, s.target = 0, 1+w.rng.IntN(4)
	case s.calls < s.target:
		s.calls++
		if a, ok := w.consume(op+" call", seatItem, "", w.seatBody(s), ""); ok && a.Units != 0 {
			w.l.unexpected(op+" call in an open session took units", 200, fmt.Appendf(nil, "%+v", a))
		}
	default:
		w.checkin(s)
	}
}

// checkin closes s if it is open.
func (w *worker) checkin(s *session) {
	if s.id == "" {
		return
	}
	b := w.seatBody(s)
	_, err := w.c.Checkin(context.Background(), client.CheckinRequest{Owner: b.Owner, Item: b.Item, Session: b.Session,
		User: b.User, Host: b.Host})
	s.id = ""
	w.expect200("checkin", err)
}

func (w *worker) readLicense() {
	id := w.f.licenseIDs[w.rng.IntN(len(w.f.licenseIDs))]
	_, err := w.c.License(context.Background(), id)
	w.expect200("license", err)
}

// expect200 books the answer to a call that must succeed.
func (w *worker) expect200(op string, err error) {
	if err != nil {
		w.failedCall(op, err)
		return
	}
	w.l.outcome(op + " 200")
}
