package export

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// UpdateGolden lends the flag to the external tests of this binary.
var UpdateGolden = update

// goldenRows cover every tag; the first is a row as the writer makes it.
var goldenRows = map[string]row{
	"detailed": {
		intValue(7), intValue(2), textValue("2026-12-01T10:00:00.5Z"), textValue("consume"),
		textValue("organizations/acme"), textValue("PdfPro"), textValue("lic-1"), intValue(4), intValue(1),
		intValue(1504), textValue("s-1"), textValue("alice"), textValue("ws-17"), textValue("10.0.0.5"),
		{tag: tagNull}, {tag: tagNull}, {tag: tagNull},
	},
	"provision": {
		intValue(1), intValue(1), textValue("2026-12-01T09:00:00Z"), textValue("provision"),
		textValue("organizations/acme"), textValue("PdfPro"), textValue("lic-1"), intValue(15000), intValue(1),
		intValue(0), {tag: tagNull}, {tag: tagNull}, {tag: tagNull}, {tag: tagNull},
		textValue("0000004556786"), textValue("ed25519=" + strings.Repeat("A", 86) + "=="),
		textValue("POST /organizations/acme/license-transactions\n{}"),
	},
	"types": {
		intValue(-1), {tag: tagFloat, i: int64(math.Float64bits(0.5))}, {tag: tagBlob, s: "\x00\xff"}, textValue(""),
		{tag: tagNull}, textValue("ü"), intValue(math.MaxInt64), intValue(math.MinInt64), intValue(0),
		intValue(1 << 53), {tag: tagNull}, {tag: tagNull}, {tag: tagNull}, {tag: tagNull},
		textValue("\x00"), {tag: tagBlob}, intValue(0),
	},
}

// TestCanonGolden pins the canonical encoding: if it changes, no database
// written before verifies.
func TestCanonGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, name := range []string{"detailed", "types", "provision"} {
		r := goldenRows[name]
		fmt.Fprintf(&b, "%s: %s\n", name, hex.EncodeToString(appendCanon(nil, &r)))
	}
	if *update {
		os.WriteFile("testdata/canon.golden", []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile("testdata/canon.golden")
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCanonRoundTrip(t *testing.T) {
	t.Parallel()
	for name, r := range goldenRows {
		enc := appendCanon(nil, &r)
		got, err := decodeCanon(enc)
		if err != nil || got != r {
			t.Fatalf("%s: got %v, %v; want %v", name, got, err, r)
		}
		for i := range enc { // every strict prefix is malformed
			if _, err := decodeCanon(enc[:i]); err == nil {
				t.Fatalf("%s: prefix of %d bytes decoded", name, i)
			}
		}
		if _, err := decodeCanon(append(enc, 0)); err == nil {
			t.Fatalf("%s: trailing byte decoded", name)
		}
	}
}

// An empty text or blob as the last value is 5 bytes and nothing after it:
// it must decode, or the encoding is not the bijection the spec claims.
func TestCanonEmptyLastValue(t *testing.T) {
	t.Parallel()
	for _, tag := range []byte{tagText, tagBlob} {
		r := goldenRows["provision"]
		r[colVendorRequest] = value{tag: tag}
		enc := appendCanon(nil, &r)
		if got, err := decodeCanon(enc); err != nil || got != r {
			t.Fatalf("tag %d: got %v, %v; want %v", tag, got, err, r)
		}
		if v, n, err := decodeValue([]byte{tag, 0, 0, 0, 0}); err != nil || n != 5 || v != (value{tag: tag}) {
			t.Fatalf("tag %d: decodeValue of an empty value: %v, %d, %v", tag, v, n, err)
		}
	}
}

func FuzzCanon(f *testing.F) {
	for _, r := range goldenRows {
		f.Add(appendCanon(nil, &r))
	}
	f.Add([]byte{tagNull})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeCanon(b)
		if err != nil {
			return
		}
		if enc := appendCanon(nil, &r); !bytes.Equal(enc, b) {
			t.Fatalf("%x decodes to %v, which encodes to %x", b, r, enc)
		}
	})
}

func freshHMAC(key []byte, parts ...[]byte) mac {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	var m mac
	h.Sum(m[:0])
	return m
}

// TestSignerReuse checks the reused HMAC against a fresh one per MAC, with
// the uses interleaved.
func TestSignerReuse(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, KeySize)
	s := newSigner(key)
	prev := s.start("agent-1")
	if want := freshHMAC(key, []byte("agent-1")); prev != want {
		t.Fatalf("start: got %x, want %x", prev, want)
	}
	for i := 0; i < 3; i++ {
		r := goldenRows["detailed"]
		r[colSeq] = intValue(int64(i + 1))
		got := s.row(&prev, &r)
		if want := freshHMAC(key, prev[:], appendCanon(nil, &r)); got != want {
			t.Fatalf("row %d: got %x, want %x", i+1, got, want)
		}
		entries := metaText("b", "2", "a", "1", metaMAC, "ignored")
		wantMeta := freshHMAC(key, []byte(metaDomain), appendValue(appendValue(nil, textValue("a")), textValue("1")),
			appendValue(appendValue(nil, textValue("b")), textValue("2")))
		if got := s.meta(entries); got != wantMeta {
			t.Fatalf("meta: got %x, want %x", got, wantMeta)
		}
		prev = got
	}
}

// Not parallel: AllocsPerRun counts the whole process's allocations.
func TestSignerAllocs(t *testing.T) {
	s := newSigner(bytes.Repeat([]byte{7}, KeySize))
	r := goldenRows["detailed"]
	var prev mac
	if n := testing.AllocsPerRun(100, func() { prev = s.row(&prev, &r) }); n != 0 {
		t.Fatalf("signing a row allocates %v times", n)
	}
}

func TestAppendTime(t *testing.T) {
	t.Parallel()
	f := func(tm time.Time) {
		t.Helper()
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	f(time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC))
	f(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
	f(time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC))
	f(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)))
	f(time.Date(2026, 6, 1, 0, 0, 0, 120000000, time.FixedZone("y", 5*3600+1800)))
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1796083200), int64(5))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec).UTC()
		if tm.Year() < 0 || tm.Year() > 9999 {
			return
		}
		if got, want := string(appendTime(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}
