package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
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

// answer is the part of a consume or checkin answer the soak reads.
type answer struct {
	Granted bool   `json:"granted"`
	Units   int64  `json:"units"`
	Seq     uint64 `json:"seq"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
}

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
	c           *client
	f           *fleet
	l           *ledger
	rng         *rand.Rand
	n           int // steps so far, for fresh keys and session ids
	seat, small session
}

// runWorkers drives the mix with n workers at rate steps per second in total until ctx ends,
// then checks in the sessions still open. It returns the number of steps taken.
func runWorkers(ctx context.Context, c *client, f *fleet, l *ledger, n int, rate float64) int64 {
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

func (w *worker) meterBody(owner string, units int64, user int) []byte {
	return fmt.Appendf(nil, `{"owner":%q,"item":%q,"units":%d,"user":"user-%d","host":"ws-%d"}`,
		owner, meterItem, units, user, user)
}

func (w *worker) seatBody(s *session) []byte {
	return fmt.Appendf(nil, `{"owner":%q,"item":%q,"session":%q,"user":"user-%d","host":"ws-%d"}`,
		s.owner, seatItem, s.id, w.id, w.id)
}

// consume sends one consume and books its answer: a grant into the ledger, a denial for the
// reason the operation expects (none: denials are unexpected). It reports a grant.
func (w *worker) consume(op, item, key string, body []byte, denial string) (answer, bool) {
	st, raw, err := w.c.Do("POST", "/v1/consume", key, false, body)
	if err != nil {
		w.l.failed(op, err)
		return answer{}, false
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		w.l.unexpected(op, st, raw)
		return a, false
	}
	switch {
	case st == 200 && a.Granted && a.Seq > 0:
		w.l.outcome("consume 200 granted")
		w.l.grant(item, a.Units, a.Seq, key != "")
		return a, true
	case st == 409 && !a.Granted && denial != "" && a.Reason == denial:
		w.l.outcome("consume 409 " + a.Reason)
		return a, false
	}
	w.l.unexpected(op, st, raw)
	return a, false
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
	st, raw, err := w.c.Do("POST", "/v1/checkin", "", false, w.seatBody(s))
	s.id = ""
	w.expect200("checkin", st, raw, err)
}

func (w *worker) readLicense() {
	id := w.f.licenseIDs[w.rng.IntN(len(w.f.licenseIDs))]
	st, raw, err := w.c.Do("GET", "/v1/licenses/"+id, "", false, nil)
	w.expect200("license", st, raw, err)
}

// expect200 books the answer to a call that must succeed.
func (w *worker) expect200(op string, st int, raw []byte, err error) {
	switch {
	case err != nil:
		w.l.failed(op, err)
	case st != 200:
		w.l.unexpected(op, st, raw)
	default:
		w.l.outcome(op + " 200")
	}
}
