// Command soak runs the real meterd under steady mixed traffic for a long time and fails if
// anything accumulates that should not: heap, goroutines, open files, disk, export lag. At
// the end the vendor's tools must verify the usage database and bill exactly the units the
// clients were told they got.
//
//	make soak                     (go -C bench run ./soak -bin $PWD/bin -duration $(SOAK), SOAK=10m)
//	go -C bench run ./soak -bin ../bin -duration 10m -append RESULTS.md
//	go -C bench run ./soak -bin ../bin -duration 1m -rate 200 -keep
//
// # What it runs
//
// bin/meterctl keygen makes the vendor key; bin/meterd starts on a temporary data directory
// at 127.0.0.1:0 with -usage-write-interval 100 and a short -idempotency-ttl (see below). The
// soak provisions two products, one per tracking mode; big licenses that never run out; two
// small ones (one per mode) that run out within seconds and are replaced every -renew by a new
// pair, for new owners with new externalIds; an expired license and a not-yet-valid one. Then
// -workers clients (16) take -rate steps per second in total (1000; this is about stability,
// not peak: on 2 cores meterd uses a fifth of one at that rate, and Pebble's disk use reaches
// its plateau within 4 minutes), each step about one request:
//
//	55 %  consume on a big caller-count license: 10 % with a fresh Idempotency-Key,
//	      45 % with one of 64 keys per owner whose body never changes (repeats are replays),
//	      45 % with none
//	25 %  a step of a session on a big sessions-mode license: checkout, 1 to 4 calls, checkin
//	10 %  consume on the small caller-count license: granted, or denied "exhausted"
//	 5 %  a session step on the small sessions-mode license: checkouts denied when exhausted
//	 2 %  consume on the expired license, which must be denied "expired"
//	 2 %  consume on the future license, which must be denied "not_yet_valid"
//	 1 %  GET /v1/licenses/{id}
//
// Every answer is checked against what its operation expects. A grant is booked by its WAL seq:
// a keyed repeat returns the first answer with the first seq and is not counted again.
//
// The small licenses are replaced rather than topped up: a second order for the same owner
// adds a credit to its license, and meterd keeps each order's answer (for its externalId)
// with the license and all its credits in it, so n top-ups of one license hold O(n²) bytes.
// That is a property of the design, not a leak, and topping up every few seconds would measure
// it instead (see provision.go).
//
// # What it measures, and why that way
//
// It starts meterd through core/harness and talks to it through core/client, each call sent
// once (no retries, no key the mix did not choose), so that every 5xx and every lost answer is
// counted. Every -sample (5 s) it reads /metrics (on a connection it closes, so that it adds
// nothing to what it measures; parsed by Prometheus's expfmt) and walks the data directory; -keep leaves the readings in readings.csv
// beside meterd.log and the data. Before the traffic it measures the idle baseline (the
// minimum over 12 s: fasthttp stops an idle worker goroutine after 10 s); after it, the clients
// close their keep-alive connections and the soak polls for up to 90 s. Checks:
//
//   - heap: the largest go_memstats_heap_inuse_bytes in the last fifth of the traffic is at
//     most 20 % above the largest in the fifth after the warm-up. Maxima, not means: the heap
//     is a sawtooth between collections, and its top over many collections tracks the live
//     heap while a mean depends on where the samples fell. The warm-up is a fifth of the run,
//     and at least the idempotency TTL plus its expiry period: meterd remembers every key for
//     IDEMPOTENCY_TTL, so with fresh keys arriving at a steady rate the table grows for one
//     TTL and is flat after it. With the default TTL (24 h) a soak would measure that designed
//     growth, not a leak, so the soak runs meterd with -idempotency-ttl of a tenth of the run
//     (5 s to 1 m; -idempotency-ttl sets it).
//   - goroutines and open files return to the baseline: goroutines within 3, descriptors
//     within 2 plus the Pebble tables created since (Pebble keeps every live table open). On a
//     failure the descriptors meterd holds beyond the baseline are listed from /proc.
//   - data directory: a least-squares line over the last third of the traffic may rise across
//     that third by at most 10 % of the mean size or 8 MiB, whichever is more. Pebble's files
//     move in 4 MiB steps (memtable flushes, recycled WAL files, compactions), which a line
//     over a third of the run sees through. usage.db is left out: it grows with every row by
//     design (its growth per answer is printed).
//   - export lag (meterd_usage_export_lag_actions) ≤ 2 × USAGE_WRITE_INTERVAL, plus 0.1 s of the
//     step rate, in every reading: under load meterd keeps its writes 50 ms apart, and the
//     actions of those 50 ms wait for the next one. The alert MeterdExportLagHigh has the same
//     limit.
//   - no 5xx, neither in meterd_requests_total nor seen by a client; no other unexpected answer.
//   - no answer to a request that was never sent: meterd_requests_total{route="other"} stays 0
//     (the soak sends nothing meterd cannot read or route) and Go's client logs no
//     "Unsolicited response received on idle HTTP channel". A server that writes on an idle
//     connection can hand that answer to the next request sent on it.
//   - SIGTERM exits 0; meterctl verify exits 0; meterctl report -format json bills, per item,
//     exactly the units acknowledged.
//
// It prints a PASS/FAIL table with the measured values and exits 1 if any check fails.
package main
