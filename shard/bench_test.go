package shard_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meterd/meterd/shard"
)

// BenchmarkDecide measures the hot-path decision "take 1 unit of the license
// named by key if 1 remains" against two baselines in the same run:
//
//   - impl=cas: a bare CAS on a pre-resolved padded counter picked by key
//     number: no lookup, no windows, the floor.
//   - impl=mutexmap: map[string]int64 under one sync.Mutex, looked up by key.
//     The map owns copies of the keys, as a server's map would: lookup keys
//     come from requests, so comparing them reads the map's copy.
//   - impl=shard: Table.Get(id) + License.Take(1, now, buf), ids made by
//     Table.NewID, as core makes license ids: the dense path.
//   - impl=shard-alias: the same by "users/<uuid>\x00PdfPro" keys Put as
//     aliases of such licenses, as core resolves owner and item: the hash
//     path.
//
// Keys are 36-character UUIDs (random version 4 ones for the baselines);
// each goroutine walks them in its own pseudo-random order. parallel=p runs
// p goroutines per GOMAXPROCS. The impls run back to back at each setting,
// so that their ratios see the same machine. On a shared machine, run the
// binary once per round rather than with -count, so that a burst of someone
// else's load falls on one round of every impl, not on every round of one:
//
//	go test -c -o /tmp/shard.test ./shard && cd shard &&
//	for i in $(seq 10); do /tmp/shard.test -test.run '^$' -test.bench 'BenchmarkDecide$' \
//		-test.benchmem -test.cpu 2; done | tee /tmp/shard.txt
//	benchstat -col /impl /tmp/shard.txt
func BenchmarkDecide(b *testing.B) {
	impls := []struct {
		name string
		run  func(b *testing.B, keys keySet)
	}{
		{"cas", benchCAS},
		{"mutexmap", benchMutexMap},
		{"shard", benchShard},
		{"shard-alias", benchShardAlias},
	}
	for _, n := range []int{1000, 100000} {
		keys := newKeySet(n)
		for _, p := range []int{1, 4} {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("impl=%s/keys=%d/parallel=%d", impl.name, n, p), func(b *testing.B) {
					b.SetParallelism(p)
					impl.run(b, keys)
				})
			}
		}
	}
}

// plenty is a balance no benchmark run can exhaust.
const plenty = 1 << 62

type paddedCounter struct {
	v atomic.Int64
	_ [120]byte
}

func benchCAS(b *testing.B, keys keySet) {
	counters := make([]paddedCounter, keys.n)
	for i := range counters {
		counters[i].v.Store(plenty)
	}
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		for pb.Next() {
			c := &counters[w.next()].v
			for {
				v := c.Load()
				if v < 1 {
					d++
					break
				}
				if c.CompareAndSwap(v, v-1) {
					break
				}
			}
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

func benchMutexMap(b *testing.B, keys keySet) {
	var mu sync.Mutex
	m := make(map[string]int64, keys.n)
	for i := range keys.n {
		m[strings.Clone(keys.at(i))] = plenty
	}
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		for pb.Next() {
			key := keys.at(w.next())
			mu.Lock()
			if v := m[key]; v >= 1 {
				m[key] = v - 1
			} else {
				d++
			}
			mu.Unlock()
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

func benchShard(b *testing.B, keys keySet) {
	var t shard.Table
	ids := make([]string, keys.n)
	for i := range ids {
		ids[i] = t.NewID()
		t.Put(ids[i], newBenchLicense(ids[i]))
	}
	runShard(b, &t, keySetOf(ids))
}

func benchShardAlias(b *testing.B, keys keySet) {
	var t shard.Table
	aliases := make([]string, keys.n)
	for i := range aliases {
		l := newBenchLicense(t.NewID())
		t.Put(l.ID(), l)
		aliases[i] = "users/" + keys.at(i) + "\x00PdfPro"
		t.Put(aliases[i], l)
	}
	runShard(b, &t, keySetOf(aliases))
}

const benchNow = 1_700_000_000_000_000_000

func newBenchLicense(id string) *shard.License {
	l := shard.NewLicense(id)
	l.AddCredit(benchNow-1e15, benchNow+1e15, plenty, 0)
	return l
}

func runShard(b *testing.B, t *shard.Table, keys keySet) {
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		buf := make([]shard.Part, 0, 1)
		for pb.Next() {
			if r := t.Get(keys.at(w.next())).Take(1, benchNow, buf); r.Outcome != shard.Granted {
				d++
			}
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

// settle collects the set-up's garbage before the clock starts, so that no
// GC cycle started by one sub-benchmark's set-up runs in another's loop.
func settle(b *testing.B) {
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
}

func checkNoDenial(b *testing.B, denied *atomic.Int64) {
	if d := denied.Load(); d != 0 {
		b.Fatalf("%d takes denied, want 0: the benchmark measured the wrong path", d)
	}
}

// walk is a cheap per-goroutine pseudo-random key order (xorshift64).
type walk struct {
	x uint64
	n uint64
}

var walkSeed atomic.Uint64

func newWalk(n int) *walk {
	return &walk{x: 0x9e3779b97f4a7c15 * (walkSeed.Add(1) | 1), n: uint64(n)}
}

func (w *walk) next() int {
	w.x ^= w.x << 13
	w.x ^= w.x >> 7
	w.x ^= w.x << 17
	return int((w.x >> 32) * w.n >> 32) // multiply-shift: no division
}

// keySet holds n distinct keys of one length in one string: densely, as
// keys parsed into request buffers would be, and cut out by arithmetic, so
// that fetching a key costs no load of a string header.
type keySet struct {
	all    string
	n, len int
}

// newKeySet returns n random version 4 UUIDs, deterministically.
func newKeySet(n int) keySet {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, n)
	for i := range ids {
		hi, lo := r.Uint64(), r.Uint64()
		hi = hi&^0xf000 | 0x4000
		lo = lo&^(3<<62) | 2<<62
		ids[i] = fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
	}
	return keySetOf(ids)
}

// keySetOf copies keys, all of one length, into a keySet.
func keySetOf(keys []string) keySet {
	return keySet{all: strings.Join(keys, ""), n: len(keys), len: len(keys[0])}
}

func (k keySet) at(i int) string { return k.all[i*k.len : (i+1)*k.len] }

// uuids returns the keys of newKeySet(n) as a slice.
func uuids(n int) []string {
	k, ids := newKeySet(n), make([]string, n)
	for i := range ids {
		ids[i] = k.at(i)
	}
	return ids
}

// BenchmarkDecideSteps takes impl=shard apart, next to impl=cas in the same
// run: Take alone on licenses resolved beforehand, Get alone, Get+Take,
// Get+TakeInto, and Get+Take with the key fetched one decision ahead, as a
// server has a request's key in cache when it decides.
//
//	go test ./shard -run '^$' -bench 'BenchmarkDecideSteps$' -benchmem -count 10 -cpu 2 | tee /tmp/steps.txt
//	benchstat -col /step /tmp/steps.txt
func BenchmarkDecideSteps(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		var t shard.Table
		ids, ls := make([]string, n), make([]*shard.License, n)
		for i := range ids {
			ids[i] = t.NewID()
			ls[i] = newBenchLicense(ids[i])
			t.Put(ids[i], ls[i])
		}
		keys := keySetOf(ids)
		steps := []struct {
			name string
			run  func(b *testing.B)
		}{
			{"cas", func(b *testing.B) { benchCAS(b, keys) }},
			{"take", func(b *testing.B) { benchTake(b, ls) }},
			{"get", func(b *testing.B) { benchGet(b, &t, keys) }},
			{"get+take", func(b *testing.B) { runShard(b, &t, keys) }},
			{"get+takeinto", func(b *testing.B) { benchGetTakeInto(b, &t, keys) }},
			{"get+take-keyahead", func(b *testing.B) { benchKeyAhead(b, &t, keys) }},
		}
		for _, s := range steps {
			b.Run(fmt.Sprintf("step=%s/keys=%d", s.name, n), s.run)
		}
	}
}

// The loops below are written out one by one, like those of BenchmarkDecide:
// one shared loop calling a func per decision would add an indirect call to
// every step it measures.

func benchTake(b *testing.B, ls []*shard.License) {
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(len(ls)), int64(0)
		buf := make([]shard.Part, 0, 1)
		for pb.Next() {
			if r := ls[w.next()].Take(1, benchNow, buf); r.Outcome != shard.Granted {
				d++
			}
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

func benchGet(b *testing.B, t *shard.Table, keys keySet) {
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		for pb.Next() {
			if t.Get(keys.at(w.next())) == nil {
				d++
			}
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

func benchGetTakeInto(b *testing.B, t *shard.Table, keys keySet) {
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		r := shard.Result{Parts: make([]shard.Part, 0, 1)}
		for pb.Next() {
			if t.Get(keys.at(w.next())).TakeInto(&r, 1, benchNow); r.Outcome != shard.Granted {
				d++
			}
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

func benchKeyAhead(b *testing.B, t *shard.Table, keys keySet) {
	var denied atomic.Int64
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		w, d := newWalk(keys.n), int64(0)
		buf := make([]shard.Part, 0, 1)
		key := keys.at(w.next())
		for pb.Next() {
			next := keys.at(w.next())
			if next[0] == 0 || next[len(next)-1] == 0 { // fetch it now; never true
				d++
			}
			if r := t.Get(key).Take(1, benchNow, buf); r.Outcome != shard.Granted {
				d++
			}
			key = next
		}
		denied.Add(d)
	})
	checkNoDenial(b, &denied)
}

// BenchmarkTablePut inserts keys one by one into an empty table, as start-up
// does; ns/op is per key. ids=numbered are made by NewID (the dense part),
// ids=random are version 4 UUIDs (the hash table).
//
//	go test ./shard -run '^$' -bench BenchmarkTablePut -benchmem -count 10 | benchstat -
func BenchmarkTablePut(b *testing.B) {
	for _, kind := range []string{"numbered", "random"} {
		for _, n := range []int{1000, 100000} {
			var ids []string
			if kind == "random" {
				ids = uuids(n)
			} else {
				var t shard.Table
				for range n {
					ids = append(ids, t.NewID())
				}
			}
			ls := make([]*shard.License, n)
			for i := range ls {
				ls[i] = shard.NewLicense(ids[i])
			}
			b.Run(fmt.Sprintf("ids=%s/keys=%d", kind, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var t shard.Table
					for _, l := range ls {
						t.Put(l.ID(), l)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
			})
		}
	}
}
