package shard_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/meterd/meterd/shard"
)

// model is the sequential specification of a License: a plain list of
// credits and a greedy take in sorted order.
type model struct {
	credits []modelCredit
}

type modelCredit struct {
	from, until, total, balance int64
}

func (m *model) take(n, now int64) shard.Result {
	order := make([]int, 0, len(m.credits))
	active, future := int64(0), false
	for i, c := range m.credits {
		switch {
		case c.from <= now && now < c.until:
			order = append(order, i)
			active += c.balance
		case c.from > now:
			future = true
		}
	}
	switch {
	case len(order) == 0 && future:
		return shard.Result{Outcome: shard.NotYetValid}
	case len(order) == 0:
		return shard.Result{Outcome: shard.Expired}
	case active < n:
		return shard.Result{Outcome: shard.Exhausted, Remaining: active}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(m.credits[a].until, m.credits[b].until) })
	var parts []shard.Part
	for need, k := n, 0; need > 0; k++ {
		c := &m.credits[order[k]]
		if got := min(c.balance, need); got > 0 {
			c.balance -= got
			need -= got
			parts = append(parts, shard.Part{Credit: int32(order[k]), Units: got})
		}
	}
	return shard.Result{Outcome: shard.Granted, Remaining: active - n, Parts: parts}
}

// FuzzTake runs a sequence of AddCredit, Take and Give decoded from the
// input against a License and the model, comparing every answer and, after
// every step, every credit.
func FuzzTake(f *testing.F) {
	f.Add([]byte{0, 0, 10, 20, 0, 1, 5, 3})
	f.Add([]byte{0, 0, 4, 5, 1, 0, 2, 4, 5, 0, 1, 8, 2, 2, 0, 1, 9, 2})
	f.Add([]byte{0, 8, 4, 9, 0, 1, 3, 2, 1, 20, 7, 0, 0, 2, 9, 3, 1, 12, 4})
	f.Add([]byte{1, 1, 1, 0, 16, 1, 1, 0, 1, 7, 3, 2, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		l := shard.NewLicense("fuzz")
		var m model
		var into shard.Result
		var grants [][]shard.Part
		next := func() int64 {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int64(b)
		}
		for step := 0; len(data) > 0 && step < 500; step++ {
			switch op := next() % 4; op {
			case 0:
				if len(m.credits) == 16 {
					continue
				}
				from, span, total := next()%32, 1+next()%16, next()%32
				used := next() % (total + 1)
				l.AddCredit(from, from+span, total, used)
				m.credits = append(m.credits, modelCredit{from, from + span, total, total - used})
			case 1, 3:
				n, now := 1+next()%40, next()%48
				var got shard.Result
				if op == 1 {
					got = l.Take(n, now, nil)
				} else { // TakeInto, its buffer kept across calls
					l.TakeInto(&into, n, now)
					got = into
					got.Parts = slices.Clone(into.Parts)
				}
				want := m.take(n, now)
				if fmtResult(got) != fmtResult(want) {
					t.Fatalf("step %d: Take(%d, %d) = %s, model says %s", step, n, now, fmtResult(got), fmtResult(want))
				}
				if got.Outcome == shard.Granted {
					grants = append(grants, got.Parts)
				}
			case 2:
				if len(grants) == 0 {
					continue
				}
				k := int(next()) % len(grants)
				l.Give(grants[k])
				for _, p := range grants[k] {
					m.credits[p.Credit].balance += p.Units
				}
				grants = slices.Delete(grants, k, k+1)
			}
			checkModel(t, step, l, &m)
		}
	})
}

func checkModel(t *testing.T, step int, l *shard.License, m *model) {
	if got, want := l.NumCredits(), len(m.credits); got != want {
		t.Fatalf("step %d: NumCredits = %d, want %d", step, got, want)
	}
	var used, total int64
	for i, c := range m.credits {
		want := shard.CreditState{From: c.from, Until: c.until, Total: c.total, Used: c.total - c.balance}
		if got := l.Credit(i); got != want {
			t.Fatalf("step %d: Credit(%d) = %+v, want %+v", step, i, got, want)
		}
		used, total = used+want.Used, total+c.total
	}
	if l.Used() != used || l.Total() != total {
		t.Fatalf("step %d: Used, Total = %d, %d, want %d, %d", step, l.Used(), l.Total(), used, total)
	}
	for now := int64(0); now < 48; now += 7 {
		var want int64
		for _, c := range m.credits {
			if c.from <= now && now < c.until {
				want += c.balance
			}
		}
		if got := l.Remaining(now); got != want {
			t.Fatalf("step %d: Remaining(%d) = %d, want %d", step, now, got, want)
		}
	}
}

// FuzzTable puts and gets keys decoded from the input against a map.
func FuzzTable(f *testing.F) {
	f.Add("a,b,a,,c", "b")
	f.Add("organizations/x\x00PdfPro,users/y\x00PdfPro", "users/y\x00PdfPro")
	f.Fuzz(func(t *testing.T, puts, get string) {
		var tb shard.Table
		want := map[string]*shard.License{}
		for i, key := range splitComma(puts) {
			l := shard.NewLicense(fmt.Sprint(i))
			tb.Put(key, l)
			want[key] = l
		}
		for key, l := range want {
			if got := tb.Get(key); got != l {
				t.Fatalf("Get(%q) = %p, want %p", key, got, l)
			}
		}
		if got := tb.GetBytes([]byte(get)); got != want[get] {
			t.Fatalf("GetBytes(%q) = %p, want %p", get, got, want[get])
		}
		if got := tb.Len(); got != len(want) {
			t.Fatalf("Len = %d, want %d", got, len(want))
		}
	})
}

func splitComma(s string) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}

// FuzzTableNumbered runs Puts and Gets decoded from the input against a map:
// numbered ids (fresh from NewID, or made up with small numbers so that
// they collide), keys one byte away from them, arbitrary keys, and Puts of
// a key with another key's license.
func FuzzTableNumbered(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 2, 0, 5, 3, 0, 9, 4, 1, 8, 7, 6})
	f.Add([]byte{1, 3, 1, 3, 2, 0, 35, 7, 5, 0, 1, 2, 3})
	f.Add([]byte{4, 'a', 0, 'b', 1, 3, 2, 2, 14, '4', 3, 1, 0, 5, 1})
	f.Add([]byte{0, 0, 3, 0, 1, 3, 0, 0, 2, 0, 19, 'c', 5, 2, 8, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tb shard.Table
		want := map[string]*shard.License{}
		var keys []string
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int(b)
		}
		pick := func() string {
			if len(keys) == 0 {
				return ""
			}
			return keys[next()%len(keys)]
		}
		put := func(key string, l *shard.License) {
			tb.Put(key, l)
			if want[key] == nil {
				keys = append(keys, key)
			}
			want[key] = l
		}
		for step := 0; len(data) > 0 && step < 200; step++ {
			var key string
			switch next() % 6 {
			case 0:
				key = tb.NewID()
			case 1: // a numbered id made up, numbers 0-7, random bits from the input
				key = fmt.Sprintf("%08x-%04x-8%03x-%x%03x-%012x", next()%8, next(), next(), 8+next()%4, next(), next())
			case 2: // an existing key with one byte changed
				b := []byte(pick())
				if len(b) == 0 {
					continue
				}
				b[next()%len(b)] = byte(next())
				key = string(b)
			case 3: // an existing key, now naming another key's license
				if key = pick(); key != "" {
					put(key, want[pick()])
				}
				continue
			case 4:
				n := next() % 40
				for range n {
					key += string(rune('0' + next()%64))
				}
			case 5:
				key = pick()
				if got := tb.Get(key); got != want[key] {
					t.Fatalf("step %d: Get(%q) = %p, want %p", step, key, got, want[key])
				}
				continue
			}
			// A License the table builds (in its dense part when the key is
			// a numbered id with a free block) or one of its own, by turns.
			if step%2 == 0 {
				put(key, tb.NewLicense(key))
			} else {
				put(key, shard.NewLicense(key))
			}
		}
		for key, l := range want {
			if got := tb.Get(key); got != l {
				t.Fatalf("Get(%q) = %p, want %p", key, got, l)
			}
			if got := tb.GetBytes([]byte(key)); got != l {
				t.Fatalf("GetBytes(%q) = %p, want %p", key, got, l)
			}
		}
		if got := tb.Len(); got != len(want) {
			t.Fatalf("Len = %d, want %d", got, len(want))
		}
		// Never Put: a fresh id, and every key with its last byte changed.
		if id := tb.NewID(); tb.Get(id) != nil {
			t.Fatalf("Get(%q) of a fresh id found a license", id)
		}
		for key := range want {
			if key == "" {
				continue
			}
			other := key[:len(key)-1] + string(key[len(key)-1]^0x20)
			if got := tb.Get(other); got != want[other] {
				t.Fatalf("Get(%q) = %p, want %p", other, got, want[other])
			}
		}
	})
}
