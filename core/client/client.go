package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswer bounds what one answer may hold; an owner's license list is the largest.
const maxAnswer = 64 << 20

// Client talks to one meterd. Its methods are safe for concurrent use.
type Client struct {
	base string
	opt  Options
	tr   *http.Transport
	hc   *http.Client
	keys *keySource
}

// New returns a client of the meterd at base, an http://host:port URL.
func New(base string, o Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("client: want an http://host:port URL, got %q", base)
	}
	o = o.withDefaults()
	tr := &http.Transport{MaxIdleConns: o.MaxConns, MaxIdleConnsPerHost: o.MaxConns, MaxConnsPerHost: o.MaxConns,
		DisableKeepAlives: o.DisableKeepAlives}
	return &Client{base: strings.TrimSuffix(base, "/"), opt: o, tr: tr,
		hc: &http.Client{Transport: tr, Timeout: o.Timeout}, keys: newKeySource()}, nil
}

// Base is the URL the client talks to.
func (c *Client) Base() string { return c.base }

// CloseIdle closes the keep-alive connections no call is using, so that meterd's connection
// count can fall back to what the application uses.
func (c *Client) CloseIdle() { c.tr.CloseIdleConnections() }

// call is one API call as the retry loop sees it.
type call struct {
	method, path string
	body         []byte // nil: no body
	key          string // Idempotency-Key
	admin        bool   // send the bearer token
	signature    string // Meterd-Signature
	// replayable: sending it again after a lost answer cannot change more than the first did.
	replayable bool
	// answer503: a 503 is this call's answer (GET /healthz), not a reason to retry.
	answer503 bool
}

// reply is meterd's answer to one attempt.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// send makes one attempt. An error means no complete answer arrived.
func (c *Client) send(ctx context.Context, cl *call) (reply, error) {
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, rd)
	if err != nil {
		return reply{}, err
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	if cl.admin && c.opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opt.Token)
	}
	if cl.signature != "" {
		req.Header.Set("Meterd-Signature", cl.signature)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err == nil && len(body) > maxAnswer {
		err = fmt.Errorf("answer larger than %d bytes", maxAnswer)
	}
	if err != nil {
		return reply{}, fmt.Errorf("read answer: %w", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// do runs cl with retries and decodes a 200 answer into out (when not nil). Any other status
// is an *APIError.
func (c *Client) do(ctx context.Context, cl *call, out any) error {
	r, err := c.roundTrip(ctx, cl)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return apiError(cl, r)
	}
	return decode(cl, r, out)
}

func decode(cl *call, r reply, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("client: %s %s: %d answer is not what meterd sends: %w: %.200q", cl.method, cl.path, r.status, err, r.body)
	}
	return nil
}

// jsonBody encodes v as a request body.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	return b, nil
}
