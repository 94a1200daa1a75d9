package core_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// user, host and session are at most 256 bytes of printable UTF-8 and ip an address with a
// short printable zone, on every endpoint that takes them; anything else is a 400 that takes
// nothing.
func TestWhoFields(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	a.putProduct("viewer", "Viewer", "sessions", 1)
	now := time.Now()
	a.order(orgOwner, "viewer-order", "viewer", 10, now.Add(-time.Hour), now.Add(time.Hour))
	field := func(name, v string) string {
		b, _ := json.Marshal(v)
		return `,"` + name + `":` + string(b)
	}

	ok := []string{
		field("user", strings.Repeat("é", 128)), // 256 bytes
		field("host", strings.Repeat("h", 256)),
		field("user", "Zoë 李 ✓ 😀"),
		field("ip", "10.0.0.5"),
		field("ip", "fe80::1%eth0"),
		field("ip", "fe80::1%"+strings.Repeat("z", 15)),
	}
	bad := []string{
		field("user", strings.Repeat("u", 257)),
		field("host", strings.Repeat("é", 128)+"x"), // 257 bytes
		field("session", strings.Repeat("s", 257)),
		field("user", "a\u0007b"), // control
		field("user", "a\u202eb"), // bidi override: hides text in a report
		field("host", "a\u00a0b"), // no-break space is not printable
		field("user", "a\ufffdb"), // what invalid UTF-8 decodes to
		`,"user":"\udc00"`,        // a lone surrogate
		field("ip", "fe80::1%"+strings.Repeat("z", 16)),
		field("ip", "fe80::1%eth\u00010"),
		field("ip", "fe80::1%eth 0"),
		field("ip", "::1%"+strings.Repeat("\u0001", 10_000)), // 60 KB of escapes
		field("ip", "10.0.0.5%eth0"),
		field("ip", "10.0.0.300"),
		field("ip", "localhost"),
	}
	consumed := func() int64 { return a.license(lic.ID).UseCountConsumed }
	for _, f := range ok {
		if st, ans := a.consume(`{"license":"`+lic.ID+`","units":1`+f+`}`, nil); st != 200 || !ans.Granted {
			t.Errorf("consume with %.60s: %d %+v, want 200", f, st, ans)
		}
	}
	before := consumed()
	for _, f := range bad {
		if st, ans := a.consume(`{"license":"`+lic.ID+`","units":1`+f+`}`, nil); st != 400 || ans.Error != "invalid_request" {
			t.Errorf("consume with %.60s: %d %+v, want 400 invalid_request", f, st, ans)
		}
		if st, ans := a.consume(`{"owner":"`+orgOwner+`","item":"Viewer","session":"s"`+f+`}`, nil); st != 400 {
			t.Errorf("checkout with %.60s: %d %+v, want 400", f, st, ans)
		}
		var e answer
		if st := a.do(call{method: "POST", path: "/v1/checkin", body: `{"owner":"` + orgOwner + `","item":"Viewer","session":"s"` + f + `}`}, &e); st != 400 {
			t.Errorf("checkin with %.60s: %d %+v, want 400", f, st, e)
		}
		if st, res := a.batch(`{"license":"`+lic.ID+`","units":1`+f+`}`, `{"license":"`+lic.ID+`","units":1}`); st != 200 ||
			len(res) != 2 || res[0].Status != 400 || res[0].Error != "invalid_request" || res[1].Status != 200 {
			t.Errorf("batch with %.60s: %d %+v, want the item 400 and its neighbour 200", f, st, res)
		}
	}
	if got := consumed(); got != before+int64(len(bad)) { // the batches' valid neighbours
		t.Errorf("consumed %d after the bad requests, want %d", got, before+int64(len(bad)))
	}
}
