package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// client talks to meterd over keep-alive connections, as a licensed application would.
type client struct {
	base, token string
	tr          *http.Transport
	hc          *http.Client
}

func newClient(base, token string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &client{base: base, token: token, tr: tr, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do sends one request with a JSON body (none when body is nil); key sets Idempotency-Key and
// admin the bearer token. An error means no answer arrived.
func (c *client) do(method, path, key string, admin bool, body []byte) (int, []byte, error) {
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

// closeIdle closes the keep-alive connections no request is using, so that meterd's
// connection goroutines and sockets can go back to their idle count.
func (c *client) closeIdle() { c.tr.CloseIdleConnections() }
