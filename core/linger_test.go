package core_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A client still sending a body the server has refused reads the refusal, not a reset: the
// server answers 413 at once, and its close lingers until the client is done sending.
func TestOversizedBodyAnsweredNotReset(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	addr := strings.TrimPrefix(a.base, "http://")
	body := bytes.Repeat([]byte{'x'}, 2<<20) // far past 64 KiB and the socket buffers
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		if _, err := c.Write(body); err != nil {
			t.Fatalf("round %d: sending the body: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("round %d: reading the answer: %v", i, err)
		}
		var e struct{ Error, Message string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != 413 || err != nil || e.Error != "payload_too_large" {
			t.Fatalf("round %d: %d %+v %v, want 413 payload_too_large", i, resp.StatusCode, e, err)
		}
	}
}
