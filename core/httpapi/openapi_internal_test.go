package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
)

// GET /openapi.json answers the document byte for byte as kept in the repository, as JSON and
// without a token, behind the same Host and Origin checks as every route. (bench/openapi
// checks what the document says against the agent's answers.)
func TestOpenAPIServed(t *testing.T) {
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(want, &doc); err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/openapi.json"] == nil {
		t.Fatalf("openapi.json: OpenAPI %q, /openapi.json documented: %v (%v)", doc.OpenAPI, doc.Paths["/openapi.json"] != nil, err)
	}

	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.UsageDatabase = t.TempDir(), "127.0.0.1:0", config.UsageOff
	a, err := Start(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})

	for _, tc := range []struct {
		name, method, host, origin string
		status                     int
		code, allow                string
	}{
		{name: "served", method: "GET", status: 200},
		{name: "a foreign Host", method: "GET", host: "evil.example", status: 421, code: "misdirected_request"},
		{name: "a foreign Origin", method: "GET", origin: "http://evil.example", status: 403, code: "forbidden_origin"},
		{name: "a same-origin page", method: "GET", origin: "http://localhost:8787", status: 200},
		{name: "POST", method: "POST", status: 405, code: "method_not_allowed", allow: "GET"},
	} {
		req, err := http.NewRequest(tc.method, a.Base()+"/openapi.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q, want %d application/json: %.200s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, body)
			continue
		}
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s: Allow %q, want %q", tc.name, got, tc.allow)
		}
		if tc.status == 200 {
			if !bytes.Equal(body, want) {
				t.Errorf("%s: %d bytes that differ from the %d of openapi.json", tc.name, len(body), len(want))
			}
			continue
		}
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error != tc.code {
			t.Errorf("%s: %s, want error %q", tc.name, body, tc.code)
		}
	}
}
