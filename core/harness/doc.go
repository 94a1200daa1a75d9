// Package harness starts meterd for the tools and tests that need one and hands back a
// client of it: the real binary as a customer runs it (StartProcess: a free loopback port,
// its log copied where the caller says, stopped with a signal or killed), or the agent in this
// process (StartInProcess: core.Open and httpapi.NewServer on 127.0.0.1, wired as cmd/meterd
// wires them, with the Engine at hand for in-process measurements). Meterctl runs the
// vendor's tool from outside and reads what its JSON report bills. For tests it also holds
// the one way to find an outside program or skip (NeedTool), to run a binary to its exit
// (RunToExit), a log an agent writes while a test reads it (LogBuffer), and the builds of the
// binaries that tests run, linked once while their sources stay the same (GoBuild).
//
// Its users are the demo, the soak, the load generator and the observability test in bench/,
// and cmd/meterd's process tests; applications use package client alone. The harness may
// import core and core/client and the export package (for the report's row type); it must not
// import cmd or bench.
package harness
