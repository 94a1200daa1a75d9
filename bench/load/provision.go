package main

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/httpapi"
)

// Every bench license holds benchQuantity × benchCreditAmount units (10^12: at a million
// units a second, eleven days), so no row ends in denials by running dry.
const (
	benchQuantity     = 1_000_000_000
	benchCreditAmount = 1000
)

// admin is the provisioning half of the API, over HTTP or on an Engine directly.
type admin interface {
	putProduct(id string, body []byte) error
	order(owner string, body []byte) error
}

// provision creates n caller-count products BenchItem0… and one order giving owner a license
// of each; it returns the licensed items.
func provision(a admin, owner, run string, n int) ([]string, error) {
	items := make([]string, n)
	now := time.Now().UTC()
	order := []byte(`{"transaction":{"type":"Order","externalId":"bench-` + run + `","items":[`)
	for i := range items {
		items[i] = "BenchItem" + strconv.Itoa(i)
		id := "bench-product-" + strconv.Itoa(i)
		body := fmt.Sprintf(`{"name":%q,"licensedItem":%q,"trackingMode":"TRACK_BY_CALLER_CONSUMPTION_COUNT","creditAmount":%d}`,
			items[i], items[i], benchCreditAmount)
		if err := a.putProduct(id, []byte(body)); err != nil {
			return nil, err
		}
		if i > 0 {
			order = append(order, ',')
		}
		order = fmt.Appendf(order, `{"externalId":"item-%d","productId":%q,"quantity":%d,"licenseValidFrom":%q,"licenseValidUntil":%q}`,
			i, id, benchQuantity, now.Add(-time.Hour).Format(time.RFC3339), now.AddDate(1, 0, 0).Format(time.RFC3339))
	}
	if err := a.order(owner, append(order, "]}}"...)); err != nil {
		return nil, err
	}
	return items, nil
}

// httpAdmin provisions over the admin API with the bearer token.
type httpAdmin struct {
	base, token string
}

func (h httpAdmin) putProduct(id string, body []byte) error {
	return h.call(fasthttp.MethodPut, "/products/"+id, body)
}

func (h httpAdmin) order(owner string, body []byte) error {
	return h.call(fasthttp.MethodPost, "/"+owner+"/license-transactions", body)
}

func (h httpAdmin) call(method, path string, body []byte) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(h.base + path)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.SetBody(body)
	if err := fasthttp.DoTimeout(req, resp, 30*time.Second); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode(), bytes.TrimSpace(resp.Body()))
	}
	return nil
}

// engineAdmin provisions an Engine without a network: the admin requests go through the
// agent's own HTTP handler in process, so the JSON is read where meterd reads it.
type engineAdmin struct{ srv *httpapi.Server }

func newEngineAdmin(e *core.Engine) engineAdmin {
	return engineAdmin{httpapi.NewServer(e, engineAdminToken, nil)}
}

const engineAdminToken = "bench-in-process-admin-token-0123456789"

func (a engineAdmin) putProduct(id string, body []byte) error {
	return a.call(fasthttp.MethodPut, "/products/"+id, body)
}

func (a engineAdmin) order(owner string, body []byte) error {
	return a.call(fasthttp.MethodPost, "/"+owner+"/license-transactions", body)
}

func (a engineAdmin) call(method, path string, body []byte) error {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost("127.0.0.1")
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+engineAdminToken)
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	a.srv.Handle(&ctx)
	if st := ctx.Response.StatusCode(); st != fasthttp.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, st, bytes.TrimSpace(ctx.Response.Body()))
	}
	return nil
}
