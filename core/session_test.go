package core_test

import (
	"sync"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A session idle for SESSION_TIMEOUT is checked in: its next call is a new checkout. A session
// in use is not.
func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	a, clock := sessionAgent(t, 2)
	for _, s := range []string{"idle", "busy"} {
		if st, ans := a.consume(sessionBody(s), nil); st != 200 || ans.Units != 2 {
			t.Fatalf("checkout %s: %d %+v", s, st, ans)
		}
	}
	clock.Add(40 * time.Minute)
	if _, ans := a.consume(sessionBody("busy"), nil); ans.Units != 0 {
		t.Fatalf("busy session: %+v, want 0 units in the open session", ans)
	}
	clock.Add(30 * time.Minute) // idle: 70 min; busy: 30 min
	core.ReapSessions(a.eng)
	if _, ans := a.consume(sessionBody("busy"), nil); ans.Units != 0 {
		t.Fatalf("busy session was checked in: %+v", ans)
	}
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: sessionBody("idle")}, nil); st != 404 {
		t.Fatalf("idle session still open: checkin got %d, want 404", st)
	}
	if _, ans := a.consume(sessionBody("idle"), nil); ans.Units != 2 {
		t.Fatalf("idle session after timeout: %+v, want a new checkout of 2", ans)
	}
}

// SESSION_TIMEOUT is how long a session may stay idle: one idle for exactly that long is
// checked in, one nanosecond less is not.
func TestSessionIdleExactlyTheTimeout(t *testing.T) {
	t.Parallel()
	a, clock := sessionAgent(t, 1)
	body := sessionBody("s")
	if st, ans := a.consume(body, nil); st != 200 || ans.Units != 1 {
		t.Fatalf("checkout: %d %+v", st, ans)
	}
	clock.Add(time.Hour - time.Nanosecond)
	core.ReapSessions(a.eng)
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: body}, nil); st != 200 {
		t.Fatalf("idle a nanosecond short of the timeout: checkin got %d, want 200 (still open)", st)
	}
	if st, ans := a.consume(body, nil); st != 200 || ans.Units != 1 {
		t.Fatalf("second checkout: %d %+v", st, ans)
	}
	clock.Add(time.Hour)
	core.ReapSessions(a.eng)
	if st := a.do(call{method: "POST", path: "/v1/checkin", body: body}, nil); st != 404 {
		t.Fatalf("idle exactly the timeout: checkin got %d, want 404 (checked in by the sweep)", st)
	}
}

// One sweep checks in every idle session, not only the first it finds.
func TestSessionSweepTakesEveryIdleSession(t *testing.T) {
	t.Parallel()
	a, clock := sessionAgent(t, 1)
	sessions := []string{"s1", "s2", "s3"}
	for _, s := range sessions {
		if st, ans := a.consume(sessionBody(s), nil); st != 200 || ans.Units != 1 {
			t.Fatalf("checkout %s: %d %+v", s, st, ans)
		}
	}
	clock.Add(2 * time.Hour)
	core.ReapSessions(a.eng)
	for _, s := range sessions {
		if st := a.do(call{method: "POST", path: "/v1/checkin", body: sessionBody(s)}, nil); st != 404 {
			t.Fatalf("session %s still open after one sweep: checkin got %d, want 404", s, st)
		}
	}
}

// sessionAgent serves users/u a sessions-mode Viewer license of 10 units, each checkout costing
// units, with SESSION_TIMEOUT an hour and a clock the test moves.
func sessionAgent(t *testing.T, units int64) (*agent, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Now()}
	cfg := newTestConfig(t)
	cfg.SessionTimeout = time.Hour
	a := startAgent(t, cfg, core.Options{Clock: clock.Now})
	a.putProduct("viewer", "Viewer", "sessions", units)
	a.order("users/u", "o", "viewer", 10, clock.Now().Add(-time.Hour), clock.Now().Add(24*time.Hour))
	return a, clock
}

// sessionBody is a consume of session s of users/u's Viewer license.
func sessionBody(s string) string {
	return `{"owner":"users/u","item":"Viewer","session":"` + s + `"}`
}
