package openapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// auth is what a call sends as its bearer token.
type auth int

const (
	noToken    auth = iota
	adminToken      // the agent's admin token
	wrongToken      // a token of the right form that is not the agent's
)

// call is one request and what the agent must answer to it. Requests go over loopback as raw
// HTTP/1.1 bytes, so that the test controls every header and sees the answer exactly.
type call struct {
	name   string
	method string
	path   string            // the request target
	body   string            // sent with Content-Length
	ctype  string            // Content-Type; "" means application/json when there is a body
	auth   auth              // the Authorization header
	header map[string]string // any other header
	host   string            // the Host header; "" is the agent's address
	// declare, when set, is the Content-Length sent, larger than body: the rest never comes
	// (413 once declared, 408 once BODY_TIMEOUT passes).
	declare int
	// raw, when set, is sent instead of a request built from the fields above; "{host}" and
	// "{token}" in it become the agent's address and admin token. method and path still say
	// which operation it addresses; the validator does not judge its body.
	raw string

	want    int    // the status the agent must answer
	code    string // the error code it must carry; "" for an answer that is not an error
	offSpec bool   // the document refuses the request too (a missing token, a schema violation)
	anyReq  bool   // answered before, or instead of, an operation: see x-meterd-any-request
}

// answer is what the agent sent back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// ioLimit bounds one exchange, so that a server that never answers fails the test rather
// than hanging it; the test asserts nothing about how long anything takes.
const ioLimit = time.Minute

// bytes renders c as the agent at addr receives it.
func (c *call) bytes(addr, token string) string {
	if c.raw != "" {
		return strings.NewReplacer("{host}", addr, "{token}", token).Replace(c.raw)
	}
	var b strings.Builder
	host := c.host
	if host == "" {
		host = addr
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", c.method, c.path, host)
	switch c.auth {
	case adminToken:
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	case wrongToken:
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", strings.Repeat("0", 64))
	}
	if c.body != "" || c.declare > 0 {
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", c.contentType(), max(len(c.body), c.declare))
	}
	names := make([]string, 0, len(c.header))
	for k := range c.header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\r\n", k, c.header[k])
	}
	b.WriteString("\r\n")
	b.WriteString(c.body)
	return b.String()
}

func (c *call) contentType() string {
	if c.ctype == "" {
		return "application/json"
	}
	return c.ctype
}

// roundTrip sends req on a new connection to addr and reads one answer. The connection stays
// open for writing while the answer is read: a request whose body never completes is
// answered while the agent still waits for it.
func roundTrip(addr, req string) (*answer, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(ioLimit)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the answer's body: %w", err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}
