package client

import (
	"context"
	"fmt"
	"net/http"
)

// ConsumeRequest asks for units of a license, named by Owner and Item or by License.
type ConsumeRequest struct {
	Owner   string `json:"owner,omitempty"` // "organizations/<id>" or "users/<id>"
	Item    string `json:"item,omitempty"`  // the licensed item's name
	License string `json:"license,omitempty"`
	// Units to take (caller-count mode, 1 to 10^9); 0 in sessions mode, where a checkout takes
	// the product's credit amount.
	Units   int64  `json:"units,omitempty"`
	Session string `json:"session,omitempty"`
	User    string `json:"user,omitempty"`
	Host    string `json:"host,omitempty"`
	IP      string `json:"ip,omitempty"`
	// IdempotencyKey makes a repeat of this request return the first answer and take nothing
	// (1 to 255 printable characters). Give one to resend a call that failed with ErrNoAnswer;
	// without one the client makes one for its own retries.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// Decision is meterd's answer to a consume: a grant, or a denial with its reason.
type Decision struct {
	Granted   bool   `json:"granted"`
	License   string `json:"license"`
	Units     int64  `json:"units"`     // taken; 0 for a call in an open session and for a denial
	Remaining int64  `json:"remaining"` // in the license's active credits after the decision
	Seq       uint64 `json:"seq"`       // the decision's place in the log; 0 for a denial
	// Reason of a denial: "exhausted", "expired", "not_yet_valid" (and "pool_unavailable" with
	// shared pools).
	Reason string `json:"reason,omitempty"`
}

// Consume asks meterd for req's units. A denial is a Decision with Granted false, not an
// error.
func (c *Client) Consume(ctx context.Context, req ConsumeRequest) (Decision, error) {
	key := c.keyFor(req.IdempotencyKey)
	req.IdempotencyKey = "" // a header on this endpoint, not a field
	body, err := jsonBody(req)
	if err != nil {
		return Decision{}, err
	}
	cl := &call{method: http.MethodPost, path: "/v1/consume", body: body, key: key, replayable: key != ""}
	r, err := c.roundTrip(ctx, cl)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	switch r.status {
	case http.StatusOK:
		err = decode(cl, r, &d)
	case http.StatusConflict:
		if err = decode(cl, r, &d); err == nil && d.Granted {
			err = fmt.Errorf("client: %s %s: a 409 that grants: %.200q", cl.method, cl.path, r.body)
		}
	default:
		return Decision{}, apiError(cl, r)
	}
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// BatchResult is one request's outcome in a batch: a Decision, or Err (an *APIError) when
// meterd refused that request alone.
type BatchResult struct {
	Decision
	Err error
}

// batchResult is a result as meterd writes it: the status beside the decision's fields, or
// the error's.
type batchResult struct {
	Status int `json:"status"`
	Decision
	Error   string `json:"error"`
	Message string `json:"message"`
}

// ConsumeBatch sends up to 1,000 consumes in one request (POST /v1/consume:batch) and returns
// their results in order. Each request is decided on its own, as if sent alone. When the
// client may retry, every request without a key gets one, so that a repeated batch takes
// nothing twice.
func (c *Client) ConsumeBatch(ctx context.Context, reqs []ConsumeRequest) ([]BatchResult, error) {
	in := struct {
		Requests []ConsumeRequest `json:"requests"`
	}{make([]ConsumeRequest, len(reqs))}
	keyed := true
	for i, r := range reqs {
		r.IdempotencyKey = c.keyFor(r.IdempotencyKey)
		keyed = keyed && r.IdempotencyKey != ""
		in.Requests[i] = r
	}
	body, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	cl := &call{method: http.MethodPost, path: "/v1/consume:batch", body: body, replayable: keyed}
	var out struct {
		Results []batchResult `json:"results"`
	}
	r, err := c.roundTrip(ctx, cl)
	if err == nil && r.status != http.StatusOK {
		err = apiError(cl, r)
	}
	if err == nil {
		err = decode(cl, r, &out)
	}
	if err != nil {
		return nil, err
	}
	if len(out.Results) != len(reqs) {
		return nil, fmt.Errorf("client: %s %s: %d results for %d requests", cl.method, cl.path, len(out.Results), len(reqs))
	}
	res := make([]BatchResult, len(reqs))
	for i, br := range out.Results {
		res[i].Decision = br.Decision
		if br.Status != http.StatusOK && br.Status != http.StatusConflict {
			res[i] = BatchResult{Err: &APIError{Status: br.Status, Code: br.Error, Message: br.Message,
				Method: cl.method, Path: cl.path, RetryAfter: retryAfter(r.header)}}
		}
	}
	return res, nil
}

// CheckinRequest closes an open session, addressed as in ConsumeRequest.
type CheckinRequest struct {
	Owner   string `json:"owner,omitempty"`
	Item    string `json:"item,omitempty"`
	License string `json:"license,omitempty"`
	Session string `json:"session"`
	User    string `json:"user,omitempty"`
	Host    string `json:"host,omitempty"`
	IP      string `json:"ip,omitempty"`
}

// CheckinAnswer is the license's balance once the session is closed.
type CheckinAnswer struct {
	CheckedIn bool   `json:"checkedIn"`
	License   string `json:"license"`
	Session   string `json:"session"`
	Remaining int64  `json:"remaining"`
	Seq       uint64 `json:"seq"`
}

// Checkin closes the session; ErrSessionNotOpen when it is not open. A checkin that got no
// answer is not retried (see the package documentation).
func (c *Client) Checkin(ctx context.Context, req CheckinRequest) (CheckinAnswer, error) {
	body, err := jsonBody(req)
	if err != nil {
		return CheckinAnswer{}, err
	}
	var out CheckinAnswer
	err = c.do(ctx, &call{method: http.MethodPost, path: "/v1/checkin", body: body}, &out)
	return out, err
}
