package main

import (
	"encoding/json"
	"testing"
)

type consumeBody struct {
	Owner          string `json:"owner"`
	Item           string `json:"item"`
	Units          int64  `json:"units"`
	User           string `json:"user"`
	Host           string `json:"host"`
	IdempotencyKey string `json:"idempotencyKey"`
}

func testMix(units unitsRange, keys float64) *mix {
	return &mix{owner: "organizations/o-1", items: []string{"A", "B", "C"}, units: units, keys: keys, run: "r1"}
}

func TestAppendConsume(t *testing.T) {
	g := newBodyGen(testMix(unitsRange{3, 7}, 0), 5)
	seen := map[string]bool{}
	for range 1000 {
		b := g.appendConsume(nil)
		var got consumeBody
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got.Owner != "organizations/o-1" || got.Units < 3 || got.Units > 7 || got.User != "alice" {
			t.Fatalf("body %s: wrong owner, units or user", b)
		}
		seen[got.Item] = true
	}
	if len(seen) != 3 {
		t.Fatalf("items used %v, want all of A, B, C", seen)
	}
}

func TestAppendBatch(t *testing.T) {
	g := newBodyGen(testMix(unitsRange{1, 1}, 0.5), 2)
	var got struct{ Requests []consumeBody }
	if err := json.Unmarshal(g.appendBatch(nil, 1000), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Requests) != 1000 {
		t.Fatalf("%d requests, want 1000", len(got.Requests))
	}
	keys := map[string]bool{}
	for _, r := range got.Requests {
		if r.IdempotencyKey != "" {
			keys[r.IdempotencyKey] = true
		}
	}
	// Half the items keyed, give or take: a binomial(1000, 0.5) stays within 400–600.
	if len(keys) < 400 || len(keys) > 600 {
		t.Fatalf("%d distinct keys in 1000 items with -keys 0.5, want about 500", len(keys))
	}
}

// Keys never repeat: not within a worker, not across workers, not across runs.
func TestKeysFresh(t *testing.T) {
	seen := map[string]bool{}
	for _, run := range []string{"r1", "r2"} {
		for w := range 12 {
			m := testMix(unitsRange{1, 1}, 1)
			m.run = run
			g := newBodyGen(m, w)
			for range 100 {
				k := string(g.appendKey(nil))
				if seen[k] {
					t.Fatalf("key %q made twice", k)
				}
				seen[k] = true
			}
		}
	}
}

func TestBodyAllocs(t *testing.T) {
	g := newBodyGen(testMix(unitsRange{1, 100}, 0.5), 1)
	buf := make([]byte, 0, 1<<20)
	if n := testing.AllocsPerRun(100, func() { buf = g.appendConsume(buf[:0]) }); n != 0 {
		t.Fatalf("%v allocations per consume body, want 0", n)
	}
	if n := testing.AllocsPerRun(10, func() { buf = g.appendBatch(buf[:0], 1000) }); n != 0 {
		t.Fatalf("%v allocations per batch body, want 0", n)
	}
}
