package openapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The products and orders every agent of the test starts from.
const (
	meterProduct = `{"licensedItem":"Meter","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`
	seatProduct  = `{"name":"Seat Pro","licensedItem":"Seat","trackingMode":"TRACK_BY_LICENSE_SESSIONS_OPENED","creditAmount":2}`
)

func putProduct(name, id, body string, want int, code string) call {
	return call{name: name, method: "PUT", path: "/products/" + id, body: body, auth: adminToken, want: want, code: code}
}

func order(name, owner, body string, want int, code string) call {
	return call{name: name, method: "POST", path: "/" + owner + "/license-transactions", body: body, auth: adminToken,
		want: want, code: code}
}

func consume(name, body string, want int, code string) call {
	return call{name: name, method: "POST", path: "/v1/consume", body: body, want: want, code: code}
}

func checkin(name, body string, want int, code string) call {
	return call{name: name, method: "POST", path: "/v1/checkin", body: body, want: want, code: code}
}

func batch(name, body string, want int, code string) call {
	return call{name: name, method: "POST", path: "/v1/consume:batch", body: body, want: want, code: code}
}

func get(name, path string, a auth, want int, code string) call {
	return call{name: name, method: "GET", path: path, auth: a, want: want, code: code}
}

func offSpec(c call) call { c.offSpec = true; return c }

// orderBody is a license transaction of one item; from and until are RFC 3339 or "" (absent).
func orderBody(externalID, productID string, quantity int, from, until string) string {
	item := map[string]any{"externalId": externalID + "/1", "productId": productID, "quantity": quantity}
	if from != "" {
		item["licenseValidFrom"] = from
	}
	if until != "" {
		item["licenseValidUntil"] = until
	}
	return jsonOf(map[string]any{"transaction": map[string]any{"type": "Order", "externalId": externalID,
		"items": []any{item}}})
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// licenseID reads the first license of a transaction answer.
func licenseID(t *testing.T, a *answer) string {
	t.Helper()
	var tx struct {
		Transaction struct {
			Items []struct {
				Licenses []struct{ ID string }
			}
		}
	}
	if err := json.Unmarshal(a.body, &tx); err != nil || len(tx.Transaction.Items) == 0 || len(tx.Transaction.Items[0].Licenses) == 0 {
		t.Fatalf("no license in the transaction answer %s (%v)", a.body, err)
	}
	return tx.Transaction.Items[0].Licenses[0].ID
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// provision gives a the products meter (caller counts) and seat (sessions) and the
// organization acme a license of each, and returns their ids.
func (s *spec) provision(t *testing.T, a *agent) (meter, seat string) {
	t.Helper()
	now := time.Now()
	s.sendAll(t, a,
		putProduct("put the meter product", "meter", meterProduct, 200, ""),
		putProduct("put the seat product", "seat", seatProduct, 200, ""))
	meter = licenseID(t, s.send(t, a, order("order meter units for acme", "organizations/acme",
		orderBody("acme-1", "meter", 100, rfc3339(now.Add(-time.Hour)), rfc3339(now.AddDate(1, 0, 0))), 200, "")))
	seat = licenseID(t, s.send(t, a, order("order seats for acme", "organizations/acme",
		orderBody("acme-2", "seat", 5, "", ""), 200, "")))
	return meter, seat
}

// mainCases run on an agent with the default configuration: every route's answers but the
// ones that need a limit reached, a vendor key, a slow client or a failing disk.
func (s *spec) mainCases(t *testing.T, a *agent) {
	meter, seat := s.provision(t, a)
	now := time.Now()
	s.sendAll(t, a,
		get("get a product", "/products/meter", adminToken, 200, ""),
		get("get an unknown product", "/products/none", adminToken, 404, "not_found"),
		offSpec(putProduct("put a product with bad JSON", "bad", `{"licensedItem":`, 400, "invalid_request")),
		offSpec(putProduct("put a product with an unknown field", "bad",
			`{"licensedItem":"X","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","colour":"red"}`, 400, "invalid_request")),
		offSpec(putProduct("put a product with creditAmount 0", "bad",
			`{"licensedItem":"X","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":0}`, 400, "invalid_request")),
		putProduct("put a product whose id is not the path's", "bad",
			`{"id":"other","licensedItem":"X","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`, 400, "invalid_request"),
		putProduct("change the licensed item of a product with licenses", "meter",
			`{"licensedItem":"Other","trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT"}`, 409, "conflict"),
	)

	s.sendAll(t, a,
		order("order open-ended seats for a user", "users/bob", orderBody("bob-1", "seat", 5, "", ""), 200, ""),
		order("order a license that has expired", "organizations/past",
			orderBody("past-1", "meter", 10, "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"), 200, ""),
		order("order a license valid next year", "organizations/future",
			orderBody("future-1", "meter", 10, rfc3339(now.AddDate(1, 0, 0)), rfc3339(now.AddDate(2, 0, 0))), 200, ""),
		order("order a small license", "organizations/small", orderBody("small-1", "meter", 1, "", ""), 200, ""),
		order("replay an order: its first answer", "users/bob", orderBody("bob-1", "seat", 5, "", ""), 200, ""),
		order("reuse an externalId with another body", "organizations/acme",
			orderBody("acme-1", "meter", 101, "", ""), 409, "conflict"),
		order("reuse another owner's externalId", "users/bob", orderBody("acme-2", "seat", 5, "", ""), 409, "conflict"),
		order("order an unknown product", "organizations/acme", orderBody("acme-9", "none", 1, "", ""), 400, "invalid_request"),
		order("order a window that ends before it starts", "users/bob",
			orderBody("bob-9", "seat", 1, "2030-01-01T00:00:00Z", "2029-01-01T00:00:00Z"), 400, "invalid_request"),
		offSpec(order("order quantity 0", "organizations/acme", orderBody("acme-8", "meter", 0, "", ""), 400, "invalid_request")),
		offSpec(order("order with an unknown field", "organizations/acme",
			`{"transaction":{"externalId":"acme-7","items":[{"productId":"meter","quantity":1,"colour":"red"}]}}`, 400, "invalid_request")),
		offSpec(order("order with bad JSON", "users/bob", `{"transaction":`, 400, "invalid_request")),
		offSpec(order("order without items", "users/bob", `{"transaction":{"externalId":"bob-8","items":[]}}`, 400, "invalid_request")),
	)

	long := strings.Repeat("x", 256)
	s.sendAll(t, a,
		get("list an organization's licenses", "/organizations/acme/licenses", adminToken, 200, ""),
		get("list a user's licenses", "/users/bob/licenses", adminToken, 200, ""),
		get("list the licenses of an owner with none", "/users/nobody/licenses", adminToken, 200, ""),
		offSpec(get("list the licenses of an organization id too long", "/organizations/"+long+"/licenses", adminToken, 400, "invalid_request")),
		offSpec(get("list the licenses of a user id too long", "/users/"+long+"/licenses", adminToken, 400, "invalid_request")),
		get("read a license", "/v1/licenses/"+meter, noToken, 200, ""),
		get("read an unknown license", "/v1/licenses/none", noToken, 404, "not_found"),
	)

	key := map[string]string{"Idempotency-Key": "job-7/page-3"}
	withKey := func(c call) call { c.header = key; return c }
	s.sendAll(t, a,
		consume("consume by owner and item", `{"owner":"organizations/acme","item":"Meter","units":3,"user":"alice","host":"ws-17","ip":"10.0.0.5"}`, 200, ""),
		consume("consume by license, null as absent", fmt.Sprintf(`{"license":%q,"units":1,"session":null}`, meter), 200, ""),
		consume("consume more than the license holds", fmt.Sprintf(`{"license":%q,"units":1000}`, meter), 409, ""),
		consume("consume an expired license", `{"owner":"organizations/past","item":"Meter","units":1}`, 409, ""),
		consume("consume a license not yet valid", `{"owner":"organizations/future","item":"Meter","units":1}`, 409, ""),
		consume("consume an unknown license", `{"license":"none","units":1}`, 404, "not_found"),
		consume("consume an unknown item", `{"owner":"organizations/acme","item":"Nothing","units":1}`, 404, "not_found"),
		withKey(consume("consume with an Idempotency-Key", fmt.Sprintf(`{"license":%q,"units":2}`, meter), 200, "")),
		withKey(consume("repeat it: the first answer", fmt.Sprintf(`{ "units": 2, "license": %q }`, meter), 200, "")),
		withKey(consume("reuse the key with another body", fmt.Sprintf(`{"license":%q,"units":3}`, meter), 422, "idempotency_key_reused")),
		offSpec(consume("consume with bad JSON", `{"license":`, 400, "invalid_request")),
		offSpec(consume("consume with an unknown field", `{"license":"x","units":1,"colour":"red"}`, 400, "invalid_request")),
		offSpec(consume("consume 0 units", fmt.Sprintf(`{"license":%q,"units":0}`, meter), 400, "invalid_request")),
		offSpec(consume("consume with units a string", fmt.Sprintf(`{"license":%q,"units":"1"}`, meter), 400, "invalid_request")),
		consume("consume naming a license and an owner", fmt.Sprintf(`{"license":%q,"owner":"organizations/acme","item":"Meter","units":1}`, meter), 400, "invalid_request"),
		consume("check a session out", fmt.Sprintf(`{"license":%q,"session":"s-1","user":"bob"}`, seat), 200, ""),
		consume("consume in the open session: 0 units", fmt.Sprintf(`{"license":%q,"session":"s-1","user":"bob"}`, seat), 200, ""),
		checkin("check the session in", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 200, ""),
		checkin("check in a session that is not open", fmt.Sprintf(`{"license":%q,"session":"s-1"}`, seat), 404, "session_not_open"),
		checkin("check in on an unknown license", `{"license":"none","session":"s-1"}`, 404, "not_found"),
		offSpec(checkin("check in without a session", fmt.Sprintf(`{"license":%q}`, seat), 400, "invalid_request")),
		offSpec(checkin("check in with an unknown field", fmt.Sprintf(`{"license":%q,"session":"s-1","colour":"red"}`, seat), 400, "invalid_request")),
	)

	items := []string{
		fmt.Sprintf(`{"license":%q,"units":1}`, meter),
		`{"owner":"organizations/small","item":"Meter","units":2}`,
		`{"license":"none","units":1}`,
		fmt.Sprintf(`{"license":%q,"units":1,"ip":"not an address"}`, meter),
		fmt.Sprintf(`{"license":%q,"units":5,"idempotencyKey":"job-7/page-3"}`, meter),
		`{"owner":"organizations/past","item":"Meter","units":1}`,
		`{"owner":"organizations/future","item":"Meter","units":1}`,
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = `{"license":"none","units":1}`
	}
	s.sendAll(t, a,
		batch("a batch of every outcome", `{"requests":[`+strings.Join(items, ",")+`]}`, 200, ""),
		batch("an empty batch", `{"requests":[]}`, 200, ""),
		offSpec(batch("a batch whose requests is not an array", `{"requests":{}}`, 400, "invalid_request")),
		offSpec(batch("a batch of 1,001 requests", `{"requests":[`+strings.Join(many, ",")+`]}`, 400, "invalid_request")),
		offSpec(batch("a batch with bad JSON", `{"requests":[`, 400, "invalid_request")),
		offSpec(batch("a batch item with an unknown field", `{"requests":[{"license":"x","units":1,"colour":"red"}]}`, 400, "invalid_request")),
		get("health", "/healthz", noToken, 200, ""),
		get("metrics", "/metrics", noToken, 200, ""),
		get("this document", "/openapi.json", noToken, 200, ""),
	)
}

// anyRequestCases are answered before, or instead of, an operation.
func anyRequestCases() []call {
	any := func(c call) call { c.anyReq = true; return c }
	return []call{
		any(call{name: "a malformed request line", method: "GET", path: "/healthz",
			raw: "G@T /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n", want: 400, code: "bad_request"}),
		any(call{name: "a Content-Length that is not a number", method: "GET", path: "/healthz",
			raw: "GET /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: abc\r\n\r\n", want: 400, code: "bad_request"}),
		any(call{name: "headers over 4 KiB", method: "GET", path: "/healthz",
			header: map[string]string{"X-Pad": strings.Repeat("a", 5000)}, want: 431, code: "header_too_large"}),
		any(call{name: "a preflight", method: "OPTIONS", path: "/v1/consume",
			header: map[string]string{"Origin": "http://localhost", "Access-Control-Request-Method": "POST"}, want: 403, code: "forbidden"}),
		any(call{name: "a foreign Origin on an unknown path", method: "GET", path: "/v1/none",
			header: map[string]string{"Origin": "http://evil.example"}, want: 403, code: "forbidden_origin"}),
		any(call{name: "an unknown path", method: "GET", path: "/v1/none", want: 404, code: "not_found"}),
		any(call{name: "an unknown owner route", method: "GET", path: "/organizations/acme/none", auth: adminToken, want: 404, code: "not_found"}),
		any(call{name: "a foreign Host on an unknown path", method: "GET", path: "/v1/none", host: "evil.example", want: 421, code: "misdirected_request"}),
	}
}

// chunkedGarbage is c's request with a chunked body whose chunk size is not hex.
func chunkedGarbage(c call) string {
	authLine := ""
	if c.auth == adminToken {
		authLine = "Authorization: Bearer {token}\r\n"
	}
	return fmt.Sprintf("%s %s HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n%sContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", c.method, c.path, authLine)
}

// padding is JSON white space past fasthttp's 8 KiB read-ahead: a body the handler itself
// reads, so that its limit and BODY_TIMEOUT apply rather than the parser's.
var padding = strings.Repeat(" ", 16<<10)

// derivedCases are what the document says of every operation, built from the call that
// operation answered 200: a foreign Host or Origin, a missing or wrong token where a token is
// needed, and for a body a wrong content type, too many bytes or a broken encoding.
func (s *spec) derivedCases(t *testing.T) []call {
	t.Helper()
	var cs []call
	for key, op := range s.operations() {
		good, ok := s.goodCall[key]
		if !ok {
			t.Errorf("%s: no call in the test answered 200", key)
			continue
		}
		good.offSpec, good.anyReq = false, false
		derive := func(what string, f func(c *call)) {
			c := good
			c.name = key + ": " + what
			c.header = maps.Clone(good.header)
			if c.header == nil {
				c.header = map[string]string{}
			}
			f(&c)
			cs = append(cs, c)
		}
		derive("a foreign Host", func(c *call) { c.host, c.want, c.code = "evil.example:8787", 421, "misdirected_request" })
		derive("a foreign Origin", func(c *call) {
			c.header["Origin"] = "http://evil.example"
			c.want, c.code = 403, "forbidden_origin"
		})
		if op.Security != nil && len(*op.Security) > 0 {
			derive("no token", func(c *call) { c.auth, c.want, c.code, c.offSpec = noToken, 401, "unauthorized", true })
			derive("a wrong token", func(c *call) { c.auth, c.want, c.code = wrongToken, 401, "unauthorized" })
		}
		if op.RequestBody == nil {
			continue
		}
		derive("a text/plain body", func(c *call) { c.ctype, c.want, c.code, c.offSpec = "text/plain", 415, "unsupported_media_type", true })
		derive("a body over the limit", func(c *call) {
			limit := 64 << 10
			if good.path == "/v1/consume:batch" {
				limit = 4 << 20
			}
			c.body, c.declare, c.want, c.code = good.body+padding, limit+1, 413, "payload_too_large"
		})
		derive("a broken chunked body", func(c *call) { c.raw, c.want, c.code = chunkedGarbage(good), 400, "bad_request" })
	}
	return cs
}

// methodCases send every method a documented path does not take: 405, with Allow listing
// exactly the methods the document gives the path.
func (s *spec) methodCases(t *testing.T) ([]call, map[string]string) {
	t.Helper()
	var cs []call
	allow := map[string]string{} // call name → the Allow header the document implies
	for path, item := range s.doc.Paths.Map() {
		ops := item.Operations()
		var concrete string
		var documented []string
		for method := range ops {
			documented = append(documented, method)
			if c, ok := s.goodCall[opKey(method, path)]; ok {
				concrete = c.path
			}
		}
		if concrete == "" {
			t.Errorf("%s: no call in the test answered 200", path)
			continue
		}
		want := strings.Join(sortedMethods(documented), ", ")
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			if ops[m] != nil {
				continue
			}
			name := fmt.Sprintf("%s %s, a method the document does not give the path", m, concrete)
			cs = append(cs, call{name: name, method: m, path: concrete, auth: adminToken, anyReq: true,
				want: 405, code: "method_not_allowed"})
			allow[name] = want
		}
	}
	return cs, allow
}

// sortedMethods orders methods as the agent's Allow header does.
func sortedMethods(ms []string) []string {
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3, "PATCH": 4}
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b string) int { return rank[a] - rank[b] })
	return out
}
