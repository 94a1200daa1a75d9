package main

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
)

// TestGroupFileKeepsEveryRecord: concurrent appends all return, each record is in the file
// exactly once, and no record was counted durable twice.
func TestGroupFileKeepsEveryRecord(t *testing.T) {
	g, err := openGroupFile()
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec := bytes.Repeat([]byte{' '}, recordSize)
				copy(rec, fmt.Sprintf("<w%d-i%d>", w, i))
				if err := g.append(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(g.f.Name())
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
	if g.durable != writers*each || g.syncs == 0 || g.syncs > g.durable {
		t.Fatalf("%d records durable in %d fdatasyncs", g.durable, g.syncs)
	}
}
