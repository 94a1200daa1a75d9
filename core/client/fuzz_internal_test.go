package client

import (
	"encoding/json"
	"net/http"
	"testing"
)

// A licensedItem either fails to read or reads as what it writes back.
func FuzzLicensedItem(f *testing.F) {
	for _, s := range []string{`"PdfPro"`, `{"id":"b4fe8835","name":"PdfPro","displayName":"PdfPro"}`, `{"name":""}`,
		`""`, `null`, `7`, `{"name":7}`, `"\u00e9\n"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var it LicensedItem
		if json.Unmarshal(b, &it) != nil {
			return
		}
		out, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		var again LicensedItem
		if err := json.Unmarshal(out, &again); err != nil || again != it {
			t.Fatalf("%q read as %+v, written as %s, read back as %+v (%v)", b, it, out, again, err)
		}
	})
}

// Any error answer becomes an *APIError with its status; a body that is not meterd's shape is
// kept as at most 200 bytes of message.
func FuzzAPIError(f *testing.F) {
	f.Add(503, []byte(`{"error":"wal_unavailable","message":"write-ahead log unavailable"}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(404, []byte(`{"error":""}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := apiError(&call{method: "GET", path: "/x"}, reply{status: status, header: http.Header{}, body: body})
		if e.Status != status || (e.Code == "" && len(e.Message) > 200) {
			t.Fatalf("%d %q read as %+v", status, body, e)
		}
		_ = e.Error() // must not panic
	})
}
