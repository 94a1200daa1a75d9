package core_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Every malformed request gets its documented status with {"error","message"} and changes no
// balance.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	a.putProduct("viewer", "Viewer", "sessions", 1)
	now := time.Now()
	a.order(orgOwner, "viewer-order", "viewer", 10, now.Add(-time.Hour), now.Add(time.Hour))
	consume := func(body string) call { return call{method: "POST", path: "/v1/consume", body: body} }
	byID := func(rest string) call { return consume(`{"license":"` + lic.ID + `"` + rest + `}`) }
	order := func(item string) call {
		return call{method: "POST", path: "/" + orgOwner + "/license-transactions", admin: true,
			body: `{"transaction":{"type":"Order","externalId":"bad-1","items":[` + item + `]}}`}
	}
	okItem := fmt.Sprintf(`{"productId":%q,"quantity":5,"licenseValidFrom":"2026-01-01T00:00:00Z","licenseValidUntil":"2027-01-01T00:00:00Z"}`, pdfProID)

	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"bad JSON", consume(`{"license":`), 400, "invalid_request"},
		{"not an object", consume(`[1,2]`), 400, "invalid_request"},
		{"trailing data", byID(`,"units":1} {`), 400, "invalid_request"},
		{"units 0", byID(`,"units":0`), 400, "invalid_request"},
		{"negative units", byID(`,"units":-4`), 400, "invalid_request"},
		{"fractional units", byID(`,"units":1.5`), 400, "invalid_request"},
		{"exponent units", byID(`,"units":1e3`), 400, "invalid_request"},
		{"units over 10^9", byID(`,"units":1000000001`), 400, "invalid_request"},
		{"units as a string", byID(`,"units":"4"`), 400, "invalid_request"},
		{"units missing in caller-count mode", byID(``), 400, "invalid_request"},
		{"unknown field", byID(`,"units":1,"unit":2`), 400, "invalid_request"},
		{"duplicate field", byID(`,"units":1,"units":2`), 400, "invalid_request"},
		{"missing owner", consume(`{"item":"PdfPro","units":1}`), 400, "invalid_request"},
		{"malformed owner", consume(`{"owner":"orgs/x","item":"PdfPro","units":1}`), 400, "invalid_request"},
		{"license and owner both", consume(`{"license":"` + lic.ID + `","owner":"` + orgOwner + `","item":"PdfPro","units":1}`), 400, "invalid_request"},
		{"bad ip", byID(`,"units":1,"ip":"10.0.0.300"`), 400, "invalid_request"},
		{"control character in user", byID(`,"units":1,"user":"a\u0001b"`), 400, "invalid_request"},
		{"session missing in sessions mode", consume(`{"owner":"` + orgOwner + `","item":"Viewer"}`), 400, "invalid_request"},
		{"unknown license", consume(`{"license":"nope","units":1}`), 404, "not_found"},
		{"unknown owner", consume(`{"owner":"organizations/nobody","item":"PdfPro","units":1}`), 404, "not_found"},
		{"unknown item", consume(`{"owner":"` + orgOwner + `","item":"Nope","units":1}`), 404, "not_found"},
		{"wrong method", call{method: "GET", path: "/v1/consume"}, 405, "method_not_allowed"},
		{"wrong method on checkin", call{method: "PUT", path: "/v1/checkin", body: `{}`}, 405, "method_not_allowed"},
		{"unknown path", call{method: "GET", path: "/v2/consume"}, 404, "not_found"},
		{"65 KiB body", byID(`,"units":1,"user":"` + strings.Repeat("x", 65<<10) + `"`), 413, "payload_too_large"},
		{"wrong content type", call{method: "POST", path: "/v1/consume", body: `{"license":"` + lic.ID + `","units":1}`, contentType: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"text/plain", call{method: "POST", path: "/v1/consume", body: `{"license":"` + lic.ID + `","units":1}`, contentType: "text/plain"}, 415, "unsupported_media_type"},
		{"checkin of a session never opened", call{method: "POST", path: "/v1/checkin", body: `{"owner":"` + orgOwner + `","item":"Viewer","session":"never"}`}, 404, "session_not_open"},
		{"bad idempotency key", call{method: "POST", path: "/v1/consume", body: `{"license":"` + lic.ID + `","units":1}`, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "invalid_request"},
		{"provision: bad from date", order(strings.Replace(okItem, "2026-01-01T00:00:00Z", "2026-01-01", 1)), 400, "invalid_request"},
		{"provision: until before from", order(strings.Replace(okItem, "2027-01-01", "2025-01-01", 1)), 400, "invalid_request"},
		{"provision: until equal to from", order(strings.Replace(okItem, "2027-01-01", "2026-01-01", 1)), 400, "invalid_request"},
		{"provision: unknown productId", order(strings.Replace(okItem, pdfProID, "nope", 1)), 400, "invalid_request"},
		{"provision: quantity 0", order(strings.Replace(okItem, `"quantity":5`, `"quantity":0`, 1)), 400, "invalid_request"},
		{"provision: quantity fractional", order(strings.Replace(okItem, `"quantity":5`, `"quantity":2.5`, 1)), 400, "invalid_request"},
		{"provision: a valid item beside a bad one", order(okItem + `,` + strings.Replace(okItem, pdfProID, "nope", 1)), 400, "invalid_request"},
		{"provision: no items", order(``), 400, "invalid_request"},
		{"provision: wrong content type", call{method: "POST", path: "/" + orgOwner + "/license-transactions", admin: true, body: `{}`, contentType: "text/plain"}, 415, "unsupported_media_type"},
		{"product: bad tracking mode", call{method: "PUT", path: "/products/x", admin: true, body: `{"licensedItem":"X","trackingMode":"TRACK_BY_MAGIC"}`}, 400, "invalid_request"},
		{"product: creditAmount 0", call{method: "PUT", path: "/products/x", admin: true, body: `{"licensedItem":"X","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":0}`}, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e answer
			if st := a.do(tc.c, &e); st != tc.status || e.Error != tc.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d %q with a message", st, e, tc.status, tc.code)
			}
		})
	}
	l := a.license(lic.ID)
	if l.UseCountConsumed != 0 || l.UseCountTotal != 15000 || len(l.UseCountCredits) != 1 {
		t.Fatalf("bad input changed state: %+v", l)
	}
	var tx answer
	if st := a.do(call{method: "GET", path: "/products/x", admin: true}, &tx); st != 404 {
		t.Fatalf("a rejected product was stored: %d", st)
	}
}

// A request fasthttp itself cannot parse, or refuses before the handler, still gets a JSON
// error.
func TestMalformedHTTP(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	f := func(name, req, status, code string) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(a.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, req)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, _ := io.ReadAll(conn) // each of these closes the connection after its answer
		if !strings.HasPrefix(string(resp), "HTTP/1.1 "+status) || !strings.Contains(string(resp), `"error":"`+code+`"`) {
			t.Errorf("%s: got %q, want %s %s", name, resp, status, code)
		}
	}
	head := "POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	f("unparsable Content-Length", head+"Content-Length: abc\r\n\r\n{}", "400", "bad_request")
	f("declared body over 64 KiB", head+fmt.Sprintf("Content-Length: %d\r\n\r\n", 1<<20)+strings.Repeat("x", 8<<10),
		"413", "payload_too_large")
	f("headers over the read buffer", head+"X-Pad: "+strings.Repeat("x", 8<<10)+"\r\n\r\n", "431", "header_too_large")
}
