package httpapi

import (
	"encoding/json"
	"testing"
)

// Whatever the string, appendJSONString writes JSON that reads back as encoding/json's own
// encoding of it does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "PdfPro", `a"b\c`, "tab\there\x00", "é✓😀", "\xff\xfeok", "0123456789abcdef\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil || got != want {
			t.Fatalf("%q: got %q, encoding/json %q (%v)", s, got, want, err)
		}
	})
}
