package core_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
)

// A page rebound to 127.0.0.1, or calling it from another origin, is refused on every route,
// admin and operations included, before anything else is looked at; nothing changes.
func TestHostAndOrigin(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	consume := `{"license":"` + lic.ID + `","units":1}`
	routes := []struct {
		method, path, body string
		admin              bool
	}{
		{"POST", "/v1/consume", consume, false},
		{"POST", "/v1/consume:batch", `{"requests":[` + consume + `]}`, false},
		{"POST", "/v1/checkin", `{"license":"` + lic.ID + `","session":"s"}`, false},
		{"GET", "/v1/licenses/" + lic.ID, "", false},
		{"GET", "/metrics", "", false},
		{"GET", "/healthz", "", false},
		{"PUT", "/products/p2", `{"licensedItem":"P2","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`, true},
		{"POST", "/" + orgOwner + "/license-transactions", orderBody("x-1", pdfProID, 5, testNow(), testNow().AddDate(0, 1, 0)), true},
		{"GET", "/" + orgOwner + "/licenses", "", true},
		{"GET", "/nowhere", "", false},
	}
	// send writes one request by hand, so that Host can be anything, and reads the answer.
	send := func(method, target, host, origin, body string, admin bool) (int, string, string) {
		t.Helper()
		var b strings.Builder
		if host == "-" { // HTTP/1.0, which may leave Host out
			fmt.Fprintf(&b, "%s %s HTTP/1.0\r\n", method, target)
		} else {
			fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
		}
		if origin != "" {
			fmt.Fprintf(&b, "Origin: %s\r\n", origin)
		}
		if admin {
			fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", a.token)
		}
		if body != "" {
			fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
		}
		b.WriteString("Connection: close\r\n\r\n" + body)
		c := a.dial()
		io.WriteString(c, b.String())
		resp, out := readAnswer(t, bufio.NewReader(c))
		var cors []string
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				cors = append(cors, k)
			}
		}
		return resp.StatusCode, out, strings.Join(cors, ",")
	}
	addr := strings.TrimPrefix(a.base, "http://")
	_, port, _ := strings.Cut(addr, ":")
	refusals := []struct {
		name, method, target, host, origin string
		status                             int
		code                               string
	}{
		{"rebound Host", "", "", "evil.example:" + port, "", 421, "misdirected_request"},
		{"rebound Host without a port", "", "", "evil.example", "", 421, "misdirected_request"},
		{"a name under an allowed one", "", "", "localhost.evil.example", "", 421, "misdirected_request"},
		{"no Host", "", "", "-", "", 421, "misdirected_request"},
		// fasthttp's parser refuses these two itself.
		{"IPv6 without brackets", "", "", "::1", "", 400, "bad_request"},
		{"empty Host", "", "", "", "", 400, "bad_request"},
		{"absolute target naming another host", "", "http://evil.example", addr, "", 421, "misdirected_request"},
		{"another origin", "", "", addr, "http://evil.example", 403, "forbidden_origin"},
		{"another origin on our port", "", "", addr, "http://evil.example:" + port, 403, "forbidden_origin"},
		{"an opaque origin", "", "", addr, "null", 403, "forbidden_origin"},
		{"a preflight", "OPTIONS", "", addr, "", 403, "forbidden"},
		{"a preflight from an allowed origin", "OPTIONS", "", addr, "http://localhost:3000", 403, "forbidden"},
	}
	for _, r := range routes {
		for _, x := range refusals {
			method := r.method
			if x.method != "" {
				method = x.method
			}
			st, out, cors := send(method, x.target+r.path, x.host, x.origin, r.body, r.admin)
			if st != x.status || !strings.Contains(out, `"error":"`+x.code+`"`) || cors != "" {
				t.Errorf("%s %s, %s: %d %s (CORS headers %q), want %d %s", method, r.path, x.name, st, out, cors, x.status, x.code)
			}
		}
	}
	if got := a.license(lic.ID); got.UseCountConsumed != 0 || got.UseCountTotal != 15000 {
		t.Fatalf("refused requests changed the license: %+v", got)
	}
	if st := a.do(call{method: "GET", path: "/products/p2", admin: true}, nil); st != 404 {
		t.Fatalf("a refused product was stored: %d", st)
	}

	for _, host := range []string{addr, "localhost:" + port, "LOCALHOST", "[::1]:" + port} {
		for _, origin := range []string{"", "http://localhost:3000", "http://127.0.0.1:" + port} {
			if st, out, _ := send("POST", "/v1/consume", host, origin, consume, false); st != 200 {
				t.Errorf("Host %q Origin %q: %d %s, want 200", host, origin, st, out)
			}
		}
	}
}
