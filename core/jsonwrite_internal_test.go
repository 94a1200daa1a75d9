package core

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// safeEnd finds the same byte as a byte-at-a-time loop: every byte that needs care at every
// offset of a 24-byte run, over backgrounds that provoke SWAR borrows.
func TestSafeEnd(t *testing.T) {
	naive := func(s string, i int) int {
		for i < len(s) && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && s[i] < utf8.RuneSelf {
			i++
		}
		return i
	}
	for _, bg := range []byte{'a', 0x21, 0x23, 0x5d, 0x7f, ' '} {
		for _, special := range []byte{'"', '\\', 0x00, 0x1f, 0x01, 0x80, 0xc3, 0xff, 0x20} {
			for n := range 24 {
				for at := -1; at < n; at++ {
					b := []byte(strings.Repeat(string(bg), n))
					if at >= 0 {
						b[at] = special
					}
					for from := range min(n, 9) + 1 {
						if got, want := safeEnd(string(b), from), naive(string(b), from); got != want {
							t.Fatalf("%x from %d: got %d, want %d", b, from, got, want)
						}
					}
				}
			}
		}
	}
}

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
