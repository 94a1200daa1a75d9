package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/client"
)

var consume = client.ConsumeRequest{Owner: "organizations/o", Item: "PdfPro", Units: 4}

// A 503 is retried with the key of the first attempt, and the grant that follows is the answer.
func TestConsumeRetries503WithItsKey(t *testing.T) {
	f := newFake(t, answer(503, unavailable), answer(503, unavailable), answer(200, grant))
	d, err := f.client(client.Options{}).Consume(context.Background(), consume)
	if err != nil || !d.Granted || d.Seq != 17 || d.Units != 4 || d.Remaining != 6 || d.License != "L1" {
		t.Fatalf("got %+v, %v; want the grant of the third attempt", d, err)
	}
	sameKeyOnEvery(t, f.requests(), 3)
}

// An answer lost to a broken connection is asked for again with the same key, so that meterd
// answers the repeat with the first answer and takes nothing.
func TestConsumeResendsLostAnswerWithItsKey(t *testing.T) {
	f := newFake(t, hangUp, answer(200, grant))
	d, err := f.client(client.Options{}).Consume(context.Background(), consume)
	if err != nil || !d.Granted {
		t.Fatalf("got %+v, %v; want the grant of the second attempt", d, err)
	}
	sameKeyOnEvery(t, f.requests(), 2)
}

func sameKeyOnEvery(t *testing.T, got []seen, attempts int) {
	t.Helper()
	if len(got) != attempts {
		t.Fatalf("%d attempts, want %d", len(got), attempts)
	}
	for i, r := range got {
		if r.key == "" || r.key != got[0].key {
			t.Fatalf("attempt %d carried Idempotency-Key %q, the first %q: every attempt must carry the first's", i+1, r.key, got[0].key)
		}
		if r.body != got[0].body {
			t.Fatalf("attempt %d sent %s, the first %s", i+1, r.body, got[0].body)
		}
	}
}

// Each call gets a key of its own; a key the caller gives is sent as given.
func TestConsumeKeysPerCall(t *testing.T) {
	f := newFake(t, answer(200, grant))
	c := f.client(client.Options{})
	for range 2 {
		if _, err := c.Consume(context.Background(), consume); err != nil {
			t.Fatal(err)
		}
	}
	mine := consume
	mine.IdempotencyKey = "job-42"
	if _, err := c.Consume(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	got := f.requests()
	if got[0].key == "" || got[0].key == got[1].key {
		t.Fatalf("two calls sent keys %q and %q; want two different keys", got[0].key, got[1].key)
	}
	if got[2].key != "job-42" || strings.Contains(got[2].body, "job-42") {
		t.Fatalf("the caller's key went out as header %q, body %s; want the header only", got[2].key, got[2].body)
	}
}

// No 4xx is retried: meterd changed nothing, and the same request would get the same answer.
func TestNever4xx(t *testing.T) {
	f := func(status int, body string, want error) {
		t.Helper()
		fk := newFake(t, answer(status, body), answer(200, grant))
		_, err := fk.client(client.Options{}).Consume(context.Background(), consume)
		if !errors.Is(err, want) {
			t.Fatalf("%d: got %v, want %v", status, err, want)
		}
		if n := len(fk.requests()); n != 1 {
			t.Fatalf("%d %s: %d attempts, want 1", status, body, n)
		}
	}
	f(400, `{"error":"invalid_request","message":"units must be 1 to 1000000000"}`, client.ErrInvalid)
	f(404, `{"error":"not_found","message":"no license"}`, client.ErrNotFound)
	f(408, `{"error":"request_timeout","message":"slow"}`, client.ErrRequestTimeout)
	f(413, `{"error":"payload_too_large","message":"big"}`, client.ErrTooLarge)
	f(422, `{"error":"idempotency_key_reused","message":"other body"}`, client.ErrIdempotencyKeyReused)
	f(429, `{"error":"too_many_keys","message":"full"}`, client.ErrTooManyKeys)
	f(429, `{"error":"too_many_sessions","message":"full"}`, client.ErrTooManySessions)
}

// A denial is an answer: no error, no retry.
func TestDenialIsAnAnswer(t *testing.T) {
	f := newFake(t, answer(409, denial), answer(200, grant))
	d, err := f.client(client.Options{}).Consume(context.Background(), consume)
	if err != nil || d.Granted || d.Reason != "exhausted" || d.Remaining != 3 || d.License != "L1" {
		t.Fatalf("got %+v, %v; want the denial", d, err)
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d attempts for a denial, want 1", n)
	}
}

// With Attempts = 1 a call is one request, and a consume carries no key unless given one.
func TestOneAttempt(t *testing.T) {
	f := newFake(t, answer(503, unavailable), answer(200, grant))
	_, err := f.client(client.Options{Attempts: 1}).Consume(context.Background(), consume)
	var api *client.APIError
	if !errors.As(err, &api) || api.Status != 503 || api.Code != "wal_unavailable" || api.RetryAfter != time.Second {
		t.Fatalf("got %v; want the 503 as an *APIError with its Retry-After", err)
	}
	if got := f.requests(); len(got) != 1 || got[0].key != "" {
		t.Fatalf("requests %+v; want one, without a key", got)
	}
}

// Attempts run out: the last answer is the error.
func TestAttemptsRunOut(t *testing.T) {
	f := newFake(t, answer(503, unavailable))
	_, err := f.client(client.Options{Attempts: 3}).Consume(context.Background(), consume)
	if !errors.Is(err, client.ErrUnavailable) || len(f.requests()) != 3 {
		t.Fatalf("got %v after %d attempts; want ErrUnavailable after 3", err, len(f.requests()))
	}
}

// A checkin whose answer was lost may have closed the session: it is not sent again. A 503
// changed nothing, so it is.
func TestCheckin(t *testing.T) {
	in := client.CheckinRequest{Owner: "users/alice", Item: "Viewer", Session: "s-1"}
	f := newFake(t, hangUp, answer(200, `{"checkedIn":true}`))
	if _, err := f.client(client.Options{}).Checkin(context.Background(), in); !errors.Is(err, client.ErrNoAnswer) || len(f.requests()) != 1 {
		t.Fatalf("lost answer: %v after %d attempts; want ErrNoAnswer after 1", err, len(f.requests()))
	}
	f = newFake(t, answer(503, unavailable), answer(200, `{"checkedIn":true,"license":"L1","session":"s-1","remaining":9,"seq":3}`))
	a, err := f.client(client.Options{}).Checkin(context.Background(), in)
	if err != nil || !a.CheckedIn || a.Remaining != 9 || a.Seq != 3 || len(f.requests()) != 2 {
		t.Fatalf("503 then 200: %+v, %v after %d attempts; want the checkin after 2", a, err, len(f.requests()))
	}
	f = newFake(t, answer(404, `{"error":"session_not_open","message":"no session s-1"}`))
	_, err = f.client(client.Options{}).Checkin(context.Background(), in)
	if !errors.Is(err, client.ErrSessionNotOpen) || !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("got %v; want ErrSessionNotOpen, a 404", err)
	}
}

// A connection refused sent nothing: even a checkin is tried again. (The port is one a
// listener just let go of.)
func TestRefusedConnectionRetried(t *testing.T) {
	f := newFake(t, answer(200, `{}`))
	base := f.srv.URL
	f.srv.Close()
	// Each wait is 10 to 20 ms: two of them show that the call was tried three times.
	c, err := client.New(base, client.Options{Attempts: 3, Backoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Checkin(context.Background(), client.CheckinRequest{License: "L1", Session: "s"})
	if !errors.Is(err, client.ErrNoAnswer) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("got %v; want ErrNoAnswer for a refused connection", err)
	}
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Fatalf("gave up after %v: fewer than 3 attempts", took)
	}
}

// The context bounds the waits: a wait the deadline would cut short is not started, and the
// last answer comes back with the reason it was not tried again.
func TestContextBoundsBackoff(t *testing.T) {
	f := newFake(t, answer(503, unavailable))
	c, err := client.New(f.srv.URL, client.Options{Backoff: time.Second, MaxBackoff: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Consume(ctx, consume)
	if !errors.Is(err, client.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the 503 and the deadline", err)
	}
	if took := time.Since(start); took > 250*time.Millisecond || len(f.requests()) != 1 {
		t.Fatalf("returned after %v and %d attempts; want at once after 1", took, len(f.requests()))
	}
	// A context that ends during a wait ends it.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err = c.Consume(ctx, consume); !errors.Is(err, context.Canceled) || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("got %v after %v; want context.Canceled within the wait", err, time.Since(start))
	}
}

// A batch that is retried is the same batch: every request keyed once, the same keys on every
// attempt. Requests refused one by one come back as their *APIError.
func TestConsumeBatch(t *testing.T) {
	f := newFake(t, hangUp, answer(200, `{"results":[`+
		`{"status":200,"granted":true,"license":"L1","units":1,"remaining":9,"seq":5},`+
		`{"status":409,"granted":false,"reason":"expired","license":"L2","remaining":0},`+
		`{"status":429,"error":"too_many_keys","message":"full"}]}`))
	reqs := []client.ConsumeRequest{{License: "L1", Units: 1}, {License: "L2", Units: 1}, {License: "L3", Units: 1, IdempotencyKey: "mine"}}
	res, err := f.client(client.Options{}).ConsumeBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Granted || res[0].Seq != 5 || res[0].Err != nil || res[1].Granted || res[1].Reason != "expired" || res[1].Err != nil {
		t.Fatalf("results %+v", res)
	}
	var api *client.APIError
	if !errors.As(res[2].Err, &api) || !errors.Is(res[2].Err, client.ErrTooManyKeys) || api.Status != 429 {
		t.Fatalf("third result %+v; want its 429 too_many_keys", res[2])
	}
	got := f.requests()
	if len(got) != 2 || got[0].body != got[1].body || got[0].path != "/v1/consume:batch" {
		t.Fatalf("attempts %+v; want the same batch twice", got)
	}
	var sent struct {
		Requests []struct {
			Key string `json:"idempotencyKey"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(got[0].body), &sent); err != nil {
		t.Fatal(err)
	}
	k := sent.Requests
	if len(k) != 3 || k[0].Key == "" || k[1].Key == "" || k[0].Key == k[1].Key || k[2].Key != "mine" {
		t.Fatalf("keys %+v; want one of its own per request, the caller's kept", k)
	}
}

// Only admin calls carry the token; a signature goes out as Meterd-Signature over exactly the
// bytes Body returns.
func TestHeaders(t *testing.T) {
	f := newFake(t, answer(200, `{"transaction":{"id":"t1","items":[]}}`))
	c := f.client(client.Options{Token: "secret-token"})
	o := client.Order{Type: "Order", ExternalID: "x-1", Items: []client.OrderItem{{ProductID: "p", Quantity: 3}}}
	if _, err := c.ProvisionSigned(context.Background(), "organizations/o", o, "ed25519=abc"); err != nil {
		t.Fatal(err)
	}
	f.steps = []step{answer(200, grant)}
	if _, err := c.Consume(context.Background(), consume); err != nil {
		t.Fatal(err)
	}
	got := f.requests()
	body, _ := o.Body()
	if got[0].auth != "Bearer secret-token" || got[0].sig != "ed25519=abc" || got[0].body != string(body) ||
		got[0].path != "/organizations/o/license-transactions" {
		t.Fatalf("order sent as %+v; want the token, the signature and o.Body()", got[0])
	}
	if want := `{"transaction":{"type":"Order","externalId":"x-1","items":[{"productId":"p","quantity":3}]}}`; string(body) != want {
		t.Fatalf("order body %s, want %s", body, want)
	}
	if got[1].auth != "" || got[1].sig != "" {
		t.Fatalf("consume sent Authorization %q, signature %q; the application API takes neither", got[1].auth, got[1].sig)
	}
}
