package core_test

import (
	"bufio"
	"fmt"
	"strings"
	"testing"

	"github.com/meterd/meterd/core/httpapi"
)

// Bodies are read as they arrive, with Content-Length or chunked, up to the route's limit
// and no further.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	a := startAgent(t, newTestConfig(t), noOpts())
	lic := provisionPdfPro(t, a)
	consume := `{"license":"` + lic.ID + `","units":1}`
	batch := func(pad int) string { // a batch body of 1,000 items, padded to pad bytes
		b := `{"requests":[` + strings.TrimSuffix(strings.Repeat(consume+",", 1000), ",") + `]}`
		return b + strings.Repeat(" ", max(pad-len(b), 0))
	}
	send := func(path, body string, chunk int) (int, string) {
		t.Helper()
		c := a.dial()
		w := bufio.NewWriter(c)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n", path)
		if chunk == 0 {
			fmt.Fprintf(w, "Content-Length: %d\r\n\r\n%s", len(body), body)
		} else {
			w.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			for rest := body; rest != ""; {
				n := min(chunk, len(rest))
				fmt.Fprintf(w, "%x\r\n%s\r\n", n, rest[:n])
				rest = rest[n:]
			}
			w.WriteString("0\r\n\r\n")
		}
		go w.Flush() // the server may answer 413 before it has read everything
		resp, out := readAnswer(t, bufio.NewReader(c))
		return resp.StatusCode, out
	}
	cases := []struct {
		name, path, body string
		chunk, status    int
	}{
		{"consume", "/v1/consume", consume, 0, 200},
		{"consume, chunked", "/v1/consume", consume, 7, 200},
		{"consume of exactly 64 KiB", "/v1/consume", consume + strings.Repeat(" ", httpapi.MaxBodySize-len(consume)), 0, 200},
		{"consume over 64 KiB", "/v1/consume", consume + strings.Repeat(" ", httpapi.MaxBodySize-len(consume)+1), 0, 413},
		{"consume over 64 KiB, chunked", "/v1/consume", consume + strings.Repeat(" ", httpapi.MaxBodySize), 4096, 413},
		{"batch of 1,000", "/v1/consume:batch", batch(0), 0, 200},
		{"batch of 1,000, chunked", "/v1/consume:batch", batch(0), 1000, 200},
		{"batch of exactly 4 MiB", "/v1/consume:batch", batch(httpapi.MaxBatchBodySize), 0, 200},
		{"batch over 4 MiB", "/v1/consume:batch", batch(httpapi.MaxBatchBodySize + 1), 0, 413},
		{"batch over 4 MiB, chunked", "/v1/consume:batch", batch(httpapi.MaxBatchBodySize + 1), 64 << 10, 413},
	}
	granted := 0
	for _, c := range cases {
		st, out := send(c.path, c.body, c.chunk)
		if st != c.status || st == 413 && !strings.Contains(out, `"payload_too_large"`) {
			t.Errorf("%s: %d %.200s, want %d", c.name, st, out, c.status)
		}
		if st == 200 {
			granted += strings.Count(out, `"granted":true`)
		}
	}
	if got := a.license(lic.ID).UseCountConsumed; got != int64(granted) {
		t.Fatalf("consumed %d, granted %d", got, granted)
	}
}
