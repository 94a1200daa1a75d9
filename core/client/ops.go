package client

import (
	"context"
	"net/http"
)

// Metrics returns GET /metrics, the Prometheus text format, as meterd wrote it.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	cl := &call{method: http.MethodGet, path: "/metrics", replayable: true}
	r, err := c.roundTrip(ctx, cl)
	if err == nil && r.status != http.StatusOK {
		err = apiError(cl, r)
	}
	if err != nil {
		return nil, err
	}
	return r.body, nil
}

// Health is nil when meterd answers GET /healthz with 200 (the log and the usage database
// take writes), else an error saying why: a 503 here is the answer, not retried.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, &call{method: http.MethodGet, path: "/healthz", replayable: true, answer503: true}, nil)
}
