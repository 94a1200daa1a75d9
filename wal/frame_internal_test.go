package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.golden")

// goldenPayloads are the payloads whose frames testdata/frames.golden holds.
func goldenPayloads() []struct {
	name    string
	payload []byte
} {
	consume := make([]byte, 120) // the size of a core consume record
	for i := range consume {
		consume[i] = byte(i)
	}
	return []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"one-byte", []byte{0}},
		{"text", []byte("hello, meterd")},
		{"crc-check-value", []byte("123456789")}, // CRC-32C check value: e3069283
		{"binary", []byte{0xff, 0x00, 0x80, 0x7f}},
		{"consume-120", consume},
	}
}

const goldenPath = "testdata/frames.golden"

// appendFrame appends the version 1 frame of payload to dst. The log no longer writes version
// 1 frames (it stores groups), but reads them: logs written before version 2 hold them.
func appendFrame(dst, payload []byte) []byte {
	dst = append(dst, frameVersion, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// TestFrameGolden pins the frame encoding: a change here is a format change
// and needs a new frame version. go test ./wal -run TestFrameGolden -update
// rewrites the file.
func TestFrameGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# wal record frames: name payload-hex (- if empty) frame-hex (version byte, CRC-32C big-endian, payload)\n")
	for _, c := range goldenPayloads() {
		p := hex.EncodeToString(c.payload)
		if p == "" {
			p = "-"
		}
		fmt.Fprintf(&b, "%s %s %x\n", c.name, p, appendFrame(nil, c.payload))
	}
	for _, line := range checkGolden(t, goldenPath, b.String()) {
		fields := strings.Fields(line)
		payload, _ := hex.DecodeString(strings.TrimPrefix(fields[1], "-"))
		frame, _ := hex.DecodeString(fields[2])
		got, err := decodeFrame(frame)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("%s: decode: got %x, %v; want %x", fields[0], got, err, payload)
		}
	}
}

// checkGolden compares got with the golden file at path (rewriting it first with -update) and
// returns the file's lines after its header.
func checkGolden(t *testing.T, path, got string) []string {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s changed:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
	return strings.Split(strings.TrimSpace(string(want)), "\n")[1:]
}

func TestDecodeFrame(t *testing.T) {
	f := func(frame []byte, want string) {
		t.Helper()
		_, err := decodeFrame(frame)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("decodeFrame(%x): got %v, want an error containing %q", frame, err, want)
		}
	}
	if got := appendFrame(nil, []byte("123456789")); !bytes.Equal(got[:frameHeaderLen], []byte{frameVersion, 0xe3, 0x06, 0x92, 0x83}) {
		t.Fatalf("header of the CRC-32C check value: got %x, want 01e3069283", got[:frameHeaderLen])
	}
	good := appendFrame(nil, []byte("payload"))
	f(nil, "shorter than its header")
	f(good[:4], "shorter than its header")
	f(append([]byte{2}, good[1:]...), "unknown frame version 2")
	f(append(bytes.Clone(good[:len(good)-1]), 'X'), "checksum mismatch")
	f(good[:len(good)-1], "checksum mismatch")
}

func FuzzDecodeRecord(f *testing.F) {
	for _, c := range goldenPayloads() {
		f.Add(appendFrame(nil, c.payload))
		f.Add(c.payload)
	}
	f.Add([]byte{})
	f.Add([]byte{frameVersion, 0, 0, 0})
	f.Add([]byte{frameVersion + 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if payload, err := decodeFrame(data); err == nil {
			if again := appendFrame(nil, payload); !bytes.Equal(again, data) {
				t.Fatalf("decode then encode: got %x, want %x", again, data)
			}
		}
		payload, err := decodeFrame(appendFrame(nil, data))
		if err != nil || !bytes.Equal(payload, data) {
			t.Fatalf("encode then decode: got %x, %v; want %x", payload, err, data)
		}
	})
}

// TestRecordsCorrupt damages a record under an open log: Records reports it when it reads
// Pebble. (Records the tail holds are served from memory, where nothing damaged them; Open
// checks what is on disk.)
func TestRecordsCorrupt(t *testing.T) {
	l, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 5 {
		if _, err := l.Append([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	l.tail = newTail()
	f := func(damage func() error, seq uint64) {
		t.Helper()
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		err := l.Records(1, math.MaxUint64, func(uint64, []byte) error { return nil })
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Seq != seq {
			t.Fatalf("Records: got %v, want *CorruptError for seq %d", err, seq)
		}
	}
	f(func() error { return l.db.Set(recordKey(4), []byte{frameVersion, 1, 2, 3, 4}, pebble.Sync) }, 4)
	f(func() error { return l.db.Delete(recordKey(2), pebble.Sync) }, 2)
	// The first record missing is damage, not truncation.
	f(func() error { return l.db.Delete(recordKey(1), pebble.Sync) }, 1)
	// The last record missing, with nothing after it to show the gap.
	f(func() error {
		for seq := uint64(1); seq <= 5; seq++ {
			if err := l.db.Set(recordKey(seq), appendFrame(nil, []byte("x")), pebble.Sync); err != nil {
				return err
			}
		}
		return l.db.Delete(recordKey(5), pebble.Sync)
	}, 5)
}

// TestOpenVersion refuses a format it does not know, and data without one.
func TestOpenVersion(t *testing.T) {
	f := func(key, value []byte, want string) {
		t.Helper()
		fs := vfs.NewMem()
		db, err := pebble.Open("db", &pebble.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Set(key, value, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := Open("db", Options{FS: fs}); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Open: got %v, want an error containing %q", err, want)
		}
	}
	f(metaVersion, encodeUint64(3), "unsupported format version 3")
	f(recordKey(1), appendFrame(nil, nil), "data without a format version")
}
