package main

import (
	"math/rand/v2"
	"strconv"
)

// mix is what the requests ask for: which licenses, how many units, how often with a key.
type mix struct {
	owner string
	items []string
	units unitsRange
	keys  float64
	run   string // makes keys unique across runs against the same agent
}

// bodyGen builds request bodies for one worker into buffers the caller reuses. The body of
// every item is precomputed up to its units, so a request costs a few appends.
type bodyGen struct {
	m      *mix
	rng    *rand.Rand
	heads  [][]byte // `{"owner":…,"item":…,"units":` per item
	worker int
	n      uint64 // keys made so far
}

// bodyTail gives the requests the user and host a real application sends, so that bodies
// have a realistic size and the detailed usage level would have something to write.
const bodyTail = `,"user":"alice","host":"ws-17"`

func newBodyGen(m *mix, worker int) *bodyGen {
	g := &bodyGen{m: m, worker: worker, rng: rand.New(rand.NewPCG(uint64(worker)+1, 0x6d65746572))}
	for _, item := range m.items {
		h := strconv.AppendQuote([]byte(`{"owner":`), m.owner)
		h = strconv.AppendQuote(append(h, `,"item":`...), item)
		g.heads = append(g.heads, append(h, `,"units":`...))
	}
	return g
}

// item picks a license of the mix and a unit count.
func (g *bodyGen) item() (int, int64) {
	i := 0
	if len(g.heads) > 1 {
		i = g.rng.IntN(len(g.heads))
	}
	u := g.m.units.lo
	if g.m.units.hi > u {
		u += g.rng.Int64N(g.m.units.hi - u + 1)
	}
	return i, u
}

// keyed draws whether the next request carries a fresh Idempotency-Key.
func (g *bodyGen) keyed() bool {
	return g.m.keys > 0 && (g.m.keys >= 1 || g.rng.Float64() < g.m.keys)
}

// appendKey appends a key never used before by this run.
func (g *bodyGen) appendKey(b []byte) []byte {
	g.n++
	b = append(b, g.m.run...)
	b = strconv.AppendInt(append(b, '-'), int64(g.worker), 10)
	return strconv.AppendUint(append(b, '-'), g.n, 10)
}

// appendConsume appends one POST /v1/consume body.
func (g *bodyGen) appendConsume(b []byte) []byte {
	i, u := g.item()
	b = strconv.AppendInt(append(b, g.heads[i]...), u, 10)
	return append(b, bodyTail+"}"...)
}

// appendBatch appends a POST /v1/consume:batch body of n items; a keyed item carries its key
// in the body.
func (g *bodyGen) appendBatch(b []byte, n int) []byte {
	b = append(b, `{"requests":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		i, u := g.item()
		b = strconv.AppendInt(append(b, g.heads[i]...), u, 10)
		b = append(b, bodyTail...)
		if g.keyed() {
			b = append(g.appendKey(append(b, `,"idempotencyKey":"`...)), '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
