package core

// balances yields each license's units left and units held in its credits valid now (0 and 0
// when none is), for meterd_licenses_below_ratio. It runs when /metrics is scraped: it reads
// the live counters with atomic loads and takes provMu for reading only, which no decision
// takes.
func (e *Engine) balances(yield func(remaining, total int64) bool) {
	now := e.nowNS()
	e.provMu.RLock()
	defer e.provMu.RUnlock()
	for _, ls := range e.byOwner {
		for _, l := range ls {
			if l.pool != nil {
				continue // what this agent holds of a pooled license says nothing of the pool's balance
			}
			var remaining, total int64
			for i, n := 0, l.ctr.NumCredits(); i < n; i++ {
				if c := l.ctr.Credit(i); c.From <= now && now < c.Until {
					remaining += c.Total - c.Used
					total += c.Total
				}
			}
			if !yield(remaining, total) {
				return
			}
		}
	}
}
