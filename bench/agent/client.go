package agent

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client talks to meterd over keep-alive connections, as a licensed application would.
type Client struct {
	base, token string
	tr          *http.Transport
	hc          *http.Client
}

// NewClient returns a client of the meterd at base keeping up to conns connections open;
// token is the admin bearer token.
func NewClient(base, token string, conns int) *Client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &Client{base: base, token: token, tr: tr, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Do sends one request with a JSON body (none when body is nil); key sets Idempotency-Key and
// admin the bearer token. An error means no answer arrived.
func (c *Client) Do(method, path, key string, admin bool, body []byte) (int, []byte, error) {
	return c.do(method, path, key, admin, "", body)
}

// DoSigned sends an admin request carrying the vendor's signature, a Meterd-Signature value
// (meterctl sign), over body exactly as given.
func (c *Client) DoSigned(method, path, signature string, body []byte) (int, []byte, error) {
	return c.do(method, path, "", true, signature, body)
}

func (c *Client) do(method, path, key string, admin bool, signature string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if signature != "" {
		req.Header.Set("Meterd-Signature", signature)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, raw, nil
}

// CloseIdle closes the keep-alive connections no request is using, so that meterd's
// connection goroutines and sockets can go back to their idle count.
func (c *Client) CloseIdle() { c.tr.CloseIdleConnections() }
