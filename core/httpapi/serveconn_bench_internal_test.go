package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
)

// BenchmarkServeConn runs pipelined consume requests through the whole server, fasthttp's
// parsing and body reading included, on one in-memory connection: what the HTTP front costs
// per request without the network and the scheduler, which make bench/load's rows swing.
// DURABILITY = async, so the fsync is not what is measured.
//
//	go test ./core -run '^$' -bench ServeConn -benchtime 200000x -count 8 | tee new.txt
func BenchmarkServeConn(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir, cfg.Durability, cfg.UsageDatabase = b.TempDir(), config.DurabilityAsync, config.UsageOff
	e, err := core.Open(cfg, core.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if _, err := e.PutProduct("p", core.ProductSpec{LicensedItem: "Item", Mode: core.TrackCallerCount}, core.Signed{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	order := fmt.Sprintf(`{"transaction":{"type":"Order","externalId":"x","items":[{"productId":"p","quantity":1000000000,"licenseValidFrom":%q,"licenseValidUntil":%q}]}}`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339))
	if _, err := e.Provision("organizations/o", mustDecodeOrder(b, order), core.Signed{}); err != nil {
		b.Fatal(err)
	}
	srv := NewServer(e, "t", nil)
	body := `{"owner":"organizations/o","item":"Item","units":1,"user":"alice","host":"ws-17"}`
	const per = 1000 // requests per connection
	input := bytes.Repeat([]byte(fmt.Sprintf("POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1:8787\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)), per)
	var out countingWriter
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += per {
		if err := srv.srv.ServeConn(&benchConn{r: bytes.NewReader(input), w: &out}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if want := int64(b.N+per-1) / per * per; out.ok != want {
		b.Fatalf("%d answers were 200, want %d", out.ok, want)
	}
}

// countingWriter counts the 200 answers written to it.
type countingWriter struct{ ok int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.ok += int64(bytes.Count(p, []byte("HTTP/1.1 200 ")))
	return len(p), nil
}

// benchConn reads a fixed input, then end of stream, and writes to w.
type benchConn struct {
	r io.Reader
	w io.Writer
}

func (c *benchConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *benchConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *benchConn) Close() error                     { return nil }
func (c *benchConn) LocalAddr() net.Addr              { return benchAddr }
func (c *benchConn) RemoteAddr() net.Addr             { return benchAddr }
func (c *benchConn) SetDeadline(time.Time) error      { return nil }
func (c *benchConn) SetReadDeadline(time.Time) error  { return nil }
func (c *benchConn) SetWriteDeadline(time.Time) error { return nil }

var benchAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func mustDecodeOrder(t testing.TB, body string) core.Order {
	t.Helper()
	o, err := decodeOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return o
}
