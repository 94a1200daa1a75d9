package httpapi

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/meterd/meterd/core"
)

func TestParseFlatBody(t *testing.T) {
	f := func(in string, want flatBody) {
		t.Helper()
		var got flatBody
		if err := parseFlatBody([]byte(in), &got, &consumeFields); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got.seen, want.seen = [numFields]bool{}, [numFields]bool{}
		if got != want {
			t.Fatalf("%s:\ngot  %+v\nwant %+v", in, got, want)
		}
	}
	body := func(units int64, kv ...string) flatBody {
		var b flatBody
		b.units = units
		for i := 0; i < len(kv); i += 2 {
			b.str[lookupField(kv[i])] = kv[i+1]
		}
		return b
	}
	f(`{}`, body(0))
	f(` { "units" : 4 , "license":"L" } `, body(4, "license", "L"))
	f(`{"owner":"organizations/o","item":"PdfPro","units":1000000000}`, body(1e9, "owner", "organizations/o", "item", "PdfPro"))
	f(`{"user":"a\"b\\c\/d\n\t"}`, body(0, "user", "a\"b\\c/d\n\t"))
	f(`{"user":"\u00e9\u2713"}`, body(0, "user", "é✓"))
	f(`{"user":"\ud83d\ude00"}`, body(0, "user", "😀"))
	f(`{"user":"\ud83d"}`, body(0, "user", "\ufffd"))
	f(`{"user":"\ude00x"}`, body(0, "user", "\ufffdx"))
	f(`{"session":null,"units":null}`, body(0))
	f(`{"host":"é"}`, body(0, "host", "é"))
	// Numbers that are not whole units parse, and fail their request's validation alone.
	for _, u := range []string{"0", "-0", "-4", "1.0", "2e1", "1E+2", "1000000001", "99999999999999999999999"} {
		f(`{"units":`+u+`}`, body(badUnits))
	}
}

func TestParseFlatBodyErrors(t *testing.T) {
	f := func(in string) {
		t.Helper()
		var fb flatBody
		if err := parseFlatBody([]byte(in), &fb, &consumeFields); !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("%s: got %v, want ErrInvalid", in, err)
		}
	}
	f(``)
	f(`[]`)
	f(`{`)
	f(`{"units":1`)
	f(`{"units":1,}`)
	f(`{"units":}`)
	f(`{"units":01}`)
	f(`{"units":1.}`)
	f(`{"units":1e}`)
	f(`{"units":-}`)
	f(`{"units":"1"}`)
	f(`{"units":true}`)
	f(`{"license":1}`)
	f(`{"license":"a" "item":"b"}`)
	f(`{"nope":"x"}`)
	f(`{"license":"a","license":"a"}`)
	f(`{"user":"a` + "\x01" + `"}`)
	f(`{"user":"\x"}`)
	f(`{"user":"\u12"}`)
	f(`{"user":"abc`)
	f(`{} {}`)
	f(`{"units":1}x`)
	f(`{'units':1}`)
}

// The scanner agrees with encoding/json on every body encoding/json accepts, and never panics.
func FuzzParseFlatBody(f *testing.F) {
	f.Add([]byte(`{"owner":"organizations/o","item":"PdfPro","units":4,"session":"s-1","user":"alice","host":"ws-17","ip":"10.0.0.5"}`))
	f.Add([]byte(`{"license":"7a195f0b","units":1}`))
	f.Add([]byte(`{"user":"\ud83d\ude00\u0041\n"}`))
	f.Add([]byte(`{"units":1e3}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var ref map[string]any
		refErr := json.Unmarshal(in, &ref)
		var fb flatBody
		err := parseFlatBody(append([]byte(nil), in...), &fb, &consumeFields)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if refErr != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", in, refErr)
		}
		for f, name := range fieldNames {
			v, ok := ref[name]
			switch {
			case bodyField(f) == fieldUnits && ok && v != nil && fb.units != badUnits && float64(fb.units) != v:
				t.Fatalf("%q: units %d, encoding/json %v", in, fb.units, v)
			case bodyField(f) != fieldUnits && ok && v != nil && utf8.ValidString(fb.str[f]) && fb.str[f] != v:
				t.Fatalf("%q: %s %q, encoding/json %q", in, name, fb.str[f], v)
			}
		}
	})
}

// Parsing a consume body allocates nothing: it runs for every decision.
func TestParseFlatBodyAllocs(t *testing.T) {
	src := []byte(`{"owner":"organizations/cce56388","item":"PdfPro","units":4,"session":"s-\u0031","user":"alice"}`)
	buf := make([]byte, len(src))
	allocs := testing.AllocsPerRun(100, func() {
		copy(buf, src)
		var fb flatBody
		if err := parseFlatBody(buf, &fb, &consumeFields); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per parse, want 0", allocs)
	}
}
