package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The exit code is 0 for a 200 only; what meterd says on 503 reaches the log.
func TestHealthcheck(t *testing.T) {
	status, body := http.StatusOK, `{"status":"ok"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body + "\n"))
	}))
	defer srv.Close()
	f := func(name string, args []string, wantCode int, wantOut, wantErr string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		if code != wantCode || !strings.Contains(stdout.String(), wantOut) || !strings.Contains(stderr.String(), wantErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", name, code, stdout.String(), stderr.String(),
				wantCode, wantOut, wantErr)
		}
		if wantErr == "" && stderr.Len() > 0 {
			t.Errorf("%s: stderr %q, want nothing", name, stderr.String())
		}
	}
	f("healthy", []string{"-url", srv.URL + "/healthz"}, 0, `{"status":"ok"}`, "")
	status, body = http.StatusServiceUnavailable, `{"error":"unavailable","message":"usage database: removed or replaced"}`
	f("unavailable", []string{"-url", srv.URL + "/healthz"}, 1, "", "503 Service Unavailable "+body)
	f("not meterd", []string{"-url", srv.URL + "/other"}, 1, "", "404 Not Found")
	srv.Close()
	f("down", []string{"-url", srv.URL + "/healthz"}, 1, "", "connection refused")
	f("bad flag", []string{"-interval", "1s"}, 2, "", "flag provided but not defined")
	f("argument", []string{"extra"}, 2, "", `unexpected argument "extra"`)
}
