package shard

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

type pwalk struct{ x, n uint64 }

var pseed atomic.Uint64

func (w *pwalk) next() int {
	w.x ^= w.x << 13
	w.x ^= w.x >> 7
	w.x ^= w.x << 17
	return int((w.x >> 32) * w.n >> 32)
}

var sinkN atomic.Uint64

func BenchmarkProbe(b *testing.B) {
	const now = 1_700_000_000_000_000_000
	for _, n := range []int{1000, 100000} {
		var t Table
		ids := make([]string, n)
		ls := make([]*License, n)
		for i := range ids {
			ids[i] = t.NewID()
			ls[i] = NewLicense(ids[i])
			ls[i].AddCredit(now-1e15, now+1e15, 1<<62, 0)
			t.Put(ids[i], ls[i])
		}
		all := strings.Join(ids, "")
		at := func(i int) string { return all[i*36 : i*36+36] }
		run := func(name string, op func(i int) uint64) {
			b.Run(fmt.Sprintf("op=%s/keys=%d", name, n), func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					w := &pwalk{x: 0x9e3779b97f4a7c15 * (pseed.Add(1) | 1), n: uint64(n)}
					var s uint64
					for pb.Next() {
						s += op(w.next())
					}
					sinkN.Add(s)
				})
			})
		}
		run("walk", func(i int) uint64 { return uint64(i) })
		run("key", func(i int) uint64 { k := at(i); return uint64(k[0]) + uint64(k[35]) })
		run("parse", func(i int) uint64 { x, _ := idNumber(at(i)); return x })
		run("slot", func(i int) uint64 {
			x, _ := idNumber(at(i))
			if t.denseLicense(x) != nil {
				return 1
			}
			return 0
		})
		run("get", func(i int) uint64 {
			if t.Get(at(i)) != nil {
				return 1
			}
			return 0
		})
		buf := make([]Part, 0, 1)
		run("take", func(i int) uint64 { return uint64(ls[i].Take(1, now, buf).Remaining) })
		run("loadc0", func(i int) uint64 { return uint64(ls[i].c0.balance.Load()) })
		run("get+take", func(i int) uint64 { return uint64(t.Get(at(i)).Take(1, now, buf).Remaining) })
		arena := make([]License, n)
		for i := range arena {
			a := &arena[i]
			a.self.lic = a
			copy(a.idBuf[:], ids[i])
			a.self.key = string(a.idBuf[:])
			f := new(firstSet)
			f.creditSet.lk = &f.lk
			a.set.Store(&f.creditSet)
			a.AddCredit(now-1e15, now+1e15, 1<<62, 0)
		}
		arenaGet := func(key string) *License {
			x, ok := idNumber(key)
			if !ok || x >= uint64(len(arena)) {
				return nil
			}
			l := &arena[x]
			if !l.hasID(key) {
				return nil
			}
			return l
		}
		run("arena-get+take", func(i int) uint64 { return uint64(arenaGet(at(i)).Take(1, now, buf).Remaining) })
		run("arena-get", func(i int) uint64 {
			if arenaGet(at(i)) != nil {
				return 1
			}
			return 0
		})
		run("load2", func(i int) uint64 { l := ls[i]; return uint64(l.c0.balance.Load()) + uint64(l.idBuf[35]) })
		run("parse+loadc0", func(i int) uint64 { x, _ := idNumber(at(i)); return uint64(ls[x].c0.balance.Load()) })
		run("parse+load2", func(i int) uint64 { x, _ := idNumber(at(i)); l := ls[x]; return uint64(l.c0.balance.Load()) + uint64(l.idBuf[35]) })
		run("parse+cas", func(i int) uint64 {
			x, _ := idNumber(at(i))
			c := &ls[x].c0.balance
			v := c.Load()
			c.CompareAndSwap(v, v-1)
			return uint64(v)
		})
		run("get+cas", func(i int) uint64 {
			c := &t.Get(at(i)).c0.balance
			v := c.Load()
			c.CompareAndSwap(v, v-1)
			return uint64(v)
		})
		run("cas", func(i int) uint64 {
			c := &ls[i].c0.balance
			v := c.Load()
			c.CompareAndSwap(v, v-1)
			return uint64(v)
		})
		b.Run(fmt.Sprintf("op=get+take-keyahead/keys=%d", n), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				w := &pwalk{x: 0x9e3779b97f4a7c15 * (pseed.Add(1) | 1), n: uint64(n)}
				var s uint64
				cur := at(w.next())
				for pb.Next() {
					nxt := at(w.next())
					s += uint64(nxt[0]) + uint64(nxt[35]) // the next request's key arrives meanwhile
					s += uint64(t.Get(cur).Take(1, now, buf).Remaining)
					cur = nxt
				}
				sinkN.Add(s)
			})
		})
		run("take2", func(i int) uint64 { return uint64(take2(ls[i], 1, now, buf).Remaining) })
		run("get+take2", func(i int) uint64 { return uint64(take2(t.Get(at(i)), 1, now, buf).Remaining) })
		run("take3", func(i int) uint64 { return uint64(take3(ls[i], 1, now, buf).Remaining) })
		run("take4", func(i int) uint64 { r := take4(ls[i], 1, now, buf); return uint64(r) })
		run("take-ign", func(i int) uint64 { ls[i].Take(1, now, buf); return 0 })
		run("take-outcome", func(i int) uint64 {
			if ls[i].Take(1, now, buf).Outcome != Granted {
				return 1
			}
			return 0
		})
		run("take-var", func(i int) uint64 {
			if r := ls[i].Take(1, now, buf); r.Outcome != Granted {
				return 1
			}
			return 0
		})
		run("take5-outcome", func(i int) uint64 {
			if take5(ls[i], 1, now, buf).Outcome != Granted {
				return 1
			}
			return 0
		})
		run("take5-var", func(i int) uint64 {
			r := take5(ls[i], 1, now, buf)
			if r.Outcome != Granted {
				return 1
			}
			return uint64(r.Remaining)
		})
		run("take6-var", func(i int) uint64 {
			var r Result
			r.Parts = buf
			takeTo(ls[i], &r, 1, now)
			if r.Outcome != Granted {
				return 1
			}
			return uint64(r.Remaining)
		})
		run("get+take-var", func(i int) uint64 {
			r := t.Get(at(i)).Take(1, now, buf)
			if r.Outcome != Granted {
				return 1
			}
			return uint64(r.Remaining)
		})
		run("get+takeinto", func(i int) uint64 {
			var r Result
			r.Parts = buf
			t.Get(at(i)).TakeInto(&r, 1, now)
			if r.Outcome != Granted {
				return 1
			}
			return uint64(r.Remaining)
		})
		run("get+load", func(i int) uint64 { return uint64(t.Get(at(i)).c0.balance.Load()) })
	}
}

func take2(l *License, n, now int64, buf []Part) Result {
	c := &l.c0
	if b := c.balance.Load(); n >= 1 && b >= n && c.alone.Load() && c.from <= now && now < c.until && c.balance.CompareAndSwap(b, b-n) {
		return Result{Outcome: Granted, Remaining: b - n, Parts: append(buf[:0], Part{Units: n})}
	}
	return l.take(n, now, buf)
}

func take3(l *License, n, now int64, buf []Part) Result {
	c := &l.c0
	if b := c.balance.Load(); n >= 1 && b >= n && c.alone.Load() && c.from <= now && now < c.until && c.balance.CompareAndSwap(b, b-n) {
		return Result{Outcome: Granted, Remaining: b - n}
	}
	return l.take(n, now, buf)
}

//go:noinline
func take4(l *License, n, now int64, buf []Part) int64 {
	c := &l.c0
	if b := c.balance.Load(); n >= 1 && b >= n && c.alone.Load() && c.from <= now && now < c.until && c.balance.CompareAndSwap(b, b-n) {
		return b - n
	}
	return l.take(n, now, buf).Remaining
}

func take5(l *License, n, now int64, buf []Part) (r Result) {
	r.Parts = buf
	takeTo(l, &r, n, now)
	return
}

//go:noinline
func takeTo(l *License, r *Result, n, now int64) {
	c := &l.c0
	if b := c.balance.Load(); n >= 1 && b >= n && c.alone.Load() && c.from <= now && now < c.until && c.balance.CompareAndSwap(b, b-n) {
		r.Outcome, r.Remaining, r.Parts = Granted, b-n, append(r.Parts[:0], Part{Units: n})
		return
	}
	*r = l.take(n, now, r.Parts)
}
