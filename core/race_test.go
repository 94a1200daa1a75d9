//go:build race

package core_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so allocation counts
// mean nothing under it; `make test` runs the *Allocs tests a second time without it.
const raceEnabled = true
