package main

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// ledger is what the clients were told: units acknowledged per item, and a tally of every
// answer. A keyed repeat returns the first answer, with the first answer's WAL seq, so a grant
// is counted once per seq: keyed repeats are not billed twice, and a key that expired
// (IDEMPOTENCY_TTL) and was granted afresh gets a new seq and is billed again, as meterd does.
type ledger struct {
	mu       sync.Mutex
	units    map[string]int64    // item → units acknowledged
	seen     map[uint64]struct{} // seqs of keyed grants already counted
	replays  int64               // keyed answers that repeated a counted grant
	outcomes map[string]int64    // "consume 200", "consume 409 exhausted", ...
	bad      int64               // answers the traffic did not expect
	fivexx   int64               // 5xx answers
	failures int64               // requests that got no answer
	examples []string            // the first few bad answers and failures
}

func newLedger() *ledger {
	return &ledger{units: map[string]int64{}, seen: map[uint64]struct{}{}, outcomes: map[string]int64{}}
}

// grant records an acknowledged grant. keyed grants are counted once per seq.
func (l *ledger) grant(item string, units int64, seq uint64, keyed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if keyed {
		if _, dup := l.seen[seq]; dup {
			l.replays++
			return
		}
		l.seen[seq] = struct{}{}
	}
	l.units[item] += units
}

// outcome tallies one answer under a short label.
func (l *ledger) outcome(label string) {
	l.mu.Lock()
	l.outcomes[label]++
	l.mu.Unlock()
}

// unexpected records an answer the traffic did not expect; 5xx are also counted apart.
func (l *ledger) unexpected(op string, status int, body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bad++
	if status >= 500 {
		l.fivexx++
	}
	l.example(fmt.Sprintf("%s: %d %.200s", op, status, body))
}

// failed records a request that got no answer.
func (l *ledger) failed(op string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	l.example(fmt.Sprintf("%s: %v", op, err))
}

func (l *ledger) example(s string) {
	if len(l.examples) < 10 {
		l.examples = append(l.examples, s)
	}
}

// snapshot copies the ledger's totals for the report.
func (l *ledger) snapshot() ledgerTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ledgerTotals{units: maps.Clone(l.units), replays: l.replays, outcomes: maps.Clone(l.outcomes),
		bad: l.bad, fivexx: l.fivexx, failures: l.failures, examples: slices.Clone(l.examples)}
}

type ledgerTotals struct {
	units                 map[string]int64
	replays               int64
	outcomes              map[string]int64
	bad, fivexx, failures int64
	examples              []string
}

// requests is the number of answers tallied.
func (t ledgerTotals) requests() int64 {
	var n int64
	for _, v := range t.outcomes {
		n += v
	}
	return n
}
