// Command load is meterd's load generator: it drives the consume API with a keep-alive
// fasthttp client and measures meterd side by side with the baselines a user would compare it
// with, in one process, one after the other, on the same machine.
//
//	go -C bench run ./load -scenario compare -rounds 3 (make bench appends it to bench/RESULTS.md)
//	go -C bench run ./load -scenario compare -only c,e
//	go -C bench run ./load -scenario batch -batch 1000
//	go -C bench run ./load -scenario memory
//	go -C bench run ./load -scenario single -url http://127.0.0.1:8787 -token-file ../meterd-data/admin.token
//
// # Scenarios
//
// compare runs these rows, each for -duration after -warmup, with -conns connections (or
// writers) unless the row says otherwise; -only picks some (-only a,c,c256):
//
//	(a) a bare fasthttp handler answering a grant-sized JSON body: the HTTP ceiling
//	(b) meterd, DURABILITY = async          (c) meterd, DURABILITY = sync
//	(d) raw Pebble: 1-key batches committed with pebble.Sync, one per writer
//	(e) redis-server with appendfsync always running a consume Lua script (GET, compare,
//	    DECRBY) over EVALSHA; skipped when redis-server is not on PATH
//	(f) meterd, DURABILITY = sync, USAGE_DATABASE = off
//	(g) meterd, DURABILITY = sync, Engine.Consume called in-process (no HTTP)
//	(h) the handler of (a) writing a 120-byte record and waiting for an fdatasync covering it,
//	    group-committed to one preallocated file: the least a durable answer costs on this
//	    HTTP stack and disk, so that (h)/(e) says how far (c)/(e) can go here
//	(i) the handler of (a) appending a 120-byte record through meterd's own wal package,
//	    async: what the HTTP stack and the log cost together, so that (i)/(a) says how far
//	    (b)/(a) can go with a Pebble log, and (b)/(i) what the rest of meterd costs
//	(j) (i) in sync mode           (k) (j) with Pebble's WAL file recycling off
//	(l) meterd sync as a process of its own (cmd/meterd, built once a run), placed as Redis
//	    is: the in-process rows share this process's threads between agent and load, and
//	    (l)/(e) says what that placement costs the sync-against-Redis targets
//	(b256) (b) with 256 connections, whatever -conns says
//	(c256) (c) with 256 connections: how much of async's rate sync keeps when many clients
//	    share each fsync
//
// Every row on a Pebble log ((b), (c), (f), (g), (i), (j), (k), (b256), (c256)) times each
// fdatasync of its WAL and prints their p50 and p99 under the row's load ((h) does the same
// for its own file), so that a slow disk shows as such rather than as a slow agent.
//
// It prints requests/s, p50/p99/p999, CPU, grant/deny/error counts and judges the targets
// the project commits to:
//
//	(c)/(e)         meterd sync / Redis appendfsync always  ≥ 1.2
//	(c256)/(b256)   meterd sync / async at 256 connections  ≥ 0.85
//	(b)/(a)         meterd async / bare fasthttp            ≥ 0.75
//	p99(c)/p99(e)   meterd sync / Redis, p99 latency        ≤ 1
//	(c)/(a) ≥ 0.6, (c)/(d) ≥ 0.8, (g)/(d) ≥ 0.8, (c)/(f) ≥ 0.9
//	(h)/(e)         the ceiling: can any durable fasthttp answer reach 1.2× Redis here?
//	(j)/(e)         the same with meterd's log, throughput and p99: how far sync can go
//	                with a Pebble WAL, doing nothing else
//	(i)/(a)         the ceiling: can any answer logged in Pebble first reach 0.75× bare?
//
// With -rounds N, compare runs the selected rows N times, odd rounds in the listed order and
// even rounds reversed (ABBA), so that the drift of a shared machine falls on every row
// alike (make bench runs 3 rounds of every row: about eight minutes). It prints a table per
// round, then each row's medians over the rounds (req/s, p50/p99/p999, CPU, CPU per
// request), and judges every target on the median of its per-round ratios, printed with
// their range: "0.88 (0.81–0.93)". A round in which a row of a target did not run does not
// count; a target with no such round is skipped.
//
// With -turn D, compare starts every selected row's server at once and drives them in turns
// of D, the rows of each cycle in ABBA order, until each row has had -duration: the cycles
// are the rounds, and only the medians table is printed. A ratio then compares rows measured
// within a second of each other instead of minutes apart, when the machine may have changed
// (bare fasthttp alone swings 15 % between 10 s rows of one run). Only HTTP rows take turns:
//
//	go -C bench run ./load -only a,b,i -turn 500ms -duration 30s
//
// A turn's CPU column is the process's, and so holds the background work the turns before it
// left behind (an agent's applier, Pebble's flushes): compare CPU between rows in ordinary
// rounds, or trace a row alone and read its idle time with bench/traceidle. One A/B read 1.09
// and then 0.98 on the rows' medians in two runs of 40 cycles; to resolve an effect of 2–5 %,
// run 120 cycles (-duration 60s) with a control row (the same server twice).
//
// batch drives POST /v1/consume:batch (target ≥ 1,000,000 decisions/s durable).
// memory runs -decisions decisions through an in-process Engine and samples RSS and the size
// of DATA_DIR/wal every million (the log must plateau once truncation runs). single drives an
// agent that is already running at -url.
//
// meterd runs in-process (core/harness: core.Open on a temporary DATA_DIR, httpapi.NewServer on
// a 127.0.0.1 listener), provisioned through core/client with the admin token with -licenses
// licenses (items BenchItem0…) of 10^12 units each, so that nothing runs out. Redis is driven
// with github.com/redis/go-redis/v9, one pooled connection per worker.
//
// The consume requests themselves do not go through core/client: the load loop is a
// fasthttp client that builds bodies into reused buffers and allocates nothing per request
// (TestHTTPWorkerAllocs), so that a row measures the agent, not its client. The bare fasthttp
// baseline (a) is driven by the same loop, which keeps the ratios comparable.
//
// # Measuring
//
// Each connection is one goroutine sending a request and waiting for its answer; bodies are
// built into reused buffers, so the loop does not allocate. Latencies go into a log-linear
// histogram per worker (buckets 1.6 % wide), merged at the end. Only requests that start after
// the warm-up and before the end of -duration count. Because the machine is shared and
// noisy, ratios within one run are what to compare, and medians over ABBA rounds better than
// one round; -append writes the command, the machine facts and all the tables to a file.
package main
