package groupfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestKeepsEveryRecord: concurrent appends all return, each record is in the file exactly
// once, no record was counted durable twice, and every fdatasync was timed; for a growing file
// and a prefilled one.
func TestKeepsEveryRecord(t *testing.T) {
	for _, size := range []int64{0, 2 * MaxWrite} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			var timed int
			g, err := Create(filepath.Join(t.TempDir(), "log"), size, func(time.Duration) { timed++ })
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			const writers, each = 8, 100
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						rec := bytes.Repeat([]byte{' '}, 120)
						copy(rec, fmt.Sprintf("<w%d-i%d>", w, i))
						if err := g.Append(rec); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			data, err := os.ReadFile(g.Name())
			if err != nil {
				t.Fatal(err)
			}
			for w := range writers {
				for i := range each {
					if n := bytes.Count(data, fmt.Appendf(nil, "<w%d-i%d>", w, i)); n != 1 {
						t.Fatalf("record w%d-i%d is in the file %d times", w, i, n)
					}
				}
			}
			durable, syncs := g.Counts()
			if durable != writers*each || syncs == 0 || syncs > durable || uint64(timed) != syncs {
				t.Fatalf("%d records durable in %d fdatasyncs, %d timed", durable, syncs, timed)
			}
			if want := int64(writers * each * 120); size == 0 && int64(len(data)) != want {
				t.Fatalf("growing file of %d bytes, want %d", len(data), want)
			}
		})
	}
}

func TestCreateRefusesASmallPrefill(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "log"), MaxWrite, nil); err == nil {
		t.Fatal("a prefilled file of MaxWrite bytes: got nil error")
	}
}
