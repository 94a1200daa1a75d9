package shard_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterd/meterd/shard"
)

// BenchmarkDecideTurns measures what BenchmarkDecide is read for, the ratios
// shard/cas and mutexmap/shard, with the impls taking turns instead of
// running one after the other: each round gives every impl a turn of about
// turnLen, all goroutines deciding with that impl alone, so that the impls of
// one round share the machine's moment to within milliseconds rather than
// seconds. Run one after the other for 0.3 s each (BenchmarkDecide), the
// impls gave per-round ratios from 2.2 to 8.8 at 100,000 keys on this shared
// machine (bench/RESULTS.md): the bare CAS's speed swings with what the
// host's other tenants do to the memory system, and a ratio between moments
// seconds apart measures that.
//
// A turn is timed from handing the goroutines their work to the last one
// finishing, and counts only decisions: before it, an untimed warm-up turn
// with the same impl brings its data back into the caches the previous
// impl's turn filled, as far as they hold it (all of it at 1,000 keys, next
// to none at 100,000). Each impl's loop is written out, as in
// BenchmarkDecide, with one indirect call per turn and none per decision.
//
// The ns/op the testing package prints is per round; the metrics are
// cas-ns, mutexmap-ns and shard-ns per decision and the two ratios, over the
// whole run:
//
//	go test ./shard -run '^$' -bench 'BenchmarkDecideTurns' -cpu 2 -count 5
func BenchmarkDecideTurns(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		impls := turnImpls(n)
		for _, p := range []int{1, 4} {
			b.Run(fmt.Sprintf("keys=%d/parallel=%d", n, p), func(b *testing.B) {
				runTurns(b, impls, n, p*runtime.GOMAXPROCS(0))
			})
		}
	}
}

// turnLen is about how long a timed turn lasts: long next to the few
// microseconds of handing out work, short next to the host's swings.
const turnLen = 20 * time.Millisecond

type turnImpl struct {
	name string
	// run makes m decisions in the goroutine's lane s and returns how many
	// were denied.
	run func(s *lane, m int) int64

	m       int // decisions per goroutine in a turn, from calibration
	elapsed time.Duration
	ops     int
}

func turnImpls(n int) []*turnImpl {
	counters := make([]paddedCounter, n)
	for i := range counters {
		counters[i].v.Store(plenty)
	}
	var mu sync.Mutex
	balances := make(map[string]*int64, n)
	for i := range n {
		v := int64(plenty)
		balances[benchIDs.key(i)] = &v
	}
	t := newBenchTable(n, benchIDs)
	return []*turnImpl{
		{name: "cas", run: func(s *lane, k int) (d int64) {
			w := &s.w
			for range k {
				if !takeOne(&counters[w.next()].v) {
					d++
				}
			}
			return d
		}},
		{name: "mutexmap", run: func(s *lane, k int) (d int64) {
			w, buf := &s.w, s.buf()
			for range k {
				benchIDs.set(buf, w.next())
				mu.Lock()
				if v := balances[string(buf)]; *v >= 1 {
					*v--
				} else {
					d++
				}
				mu.Unlock()
			}
			return d
		}},
		{name: "shard", run: func(s *lane, k int) (d int64) {
			w, buf, r := &s.w, s.buf(), &s.r
			for range k {
				benchIDs.set(buf, w.next())
				if t.GetBytes(buf).TakeInto(r, 1, benchNow); r.Outcome != shard.Granted {
					d++
				}
			}
			return d
		}},
	}
}

// turnCrew runs turns on workers goroutines, which wait for their work on
// channels. Rejected: workers spinning on an atomic turn counter, which made
// some whole runs 2 to 3.7 times slower for every impl when they yielded
// with runtime.Gosched, and up to 33 times when they did not (as if two of
// them shared one P and took turns only at async preemption's 10 ms); why
// the yielding version was slow, I did not find out. On channels, no run
// was.
type turnCrew struct {
	jobs   []chan turnJob
	done   sync.WaitGroup
	denied atomic.Int64
}

type turnJob struct {
	impl *turnImpl
	m    int
}

func startCrew(n, workers int) *turnCrew {
	c := &turnCrew{jobs: make([]chan turnJob, workers)}
	for i := range c.jobs {
		c.jobs[i] = make(chan turnJob)
		s := newLane(n, benchIDs)
		go func() {
			for j := range c.jobs[i] {
				c.denied.Add(j.impl.run(s, j.m))
				c.done.Done()
			}
		}()
	}
	return c
}

// turn has every worker make m decisions with im and returns the time from
// handing out the work to the last one finishing.
func (c *turnCrew) turn(im *turnImpl, m int) time.Duration {
	c.done.Add(len(c.jobs))
	start := time.Now()
	for _, j := range c.jobs {
		j <- turnJob{im, m}
	}
	c.done.Wait()
	return time.Since(start)
}

func (c *turnCrew) close() {
	for _, j := range c.jobs {
		close(j)
	}
}

func runTurns(b *testing.B, impls []*turnImpl, n, workers int) {
	c := startCrew(n, workers)
	defer c.close()
	// Calibrate: double m until a turn takes half of turnLen, then scale.
	for _, im := range impls {
		m, d := 1000, time.Duration(0)
		for d = c.turn(im, m); d < turnLen/2; d = c.turn(im, m) {
			m *= 2
		}
		im.m, im.elapsed, im.ops = int(int64(m)*int64(turnLen)/int64(d))+1, 0, 0
	}
	runtime.GC()
	b.ResetTimer()
	for round := 0; b.Loop(); round++ {
		// Rotate the order, so that no impl always follows the same one.
		for k := range impls {
			im := impls[(k+round)%len(impls)]
			c.turn(im, min(im.m, 3*n))
			im.elapsed += c.turn(im, im.m)
			im.ops += im.m * workers
		}
	}
	b.StopTimer()
	checkNoDenial(b, &c.denied)
	ns := map[string]float64{}
	for _, im := range impls {
		ns[im.name] = float64(im.elapsed.Nanoseconds()) / float64(im.ops)
		b.ReportMetric(ns[im.name], im.name+"-ns")
	}
	b.ReportMetric(ns["shard"]/ns["cas"], "shard/cas")
	b.ReportMetric(ns["mutexmap"]/ns["shard"], "mutexmap/shard")
}
