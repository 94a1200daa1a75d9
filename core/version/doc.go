// Package version is the build's identity: the module version, the commit it was built from
// and the Go version that built it. meterd -version, meterctl version, the meterd_build_info
// series, meterd's start-up log line and the usage database's agent_version row all read it
// here, so they always agree.
//
// Builds run with -buildvcs=false, so the Go toolchain records no commit: the Makefile stamps
// it (and the version, when HEAD is tagged) with
//
//	go build -ldflags "-X github.com/meterd/meterd/core/version.commit=... -X github.com/meterd/meterd/core/version.version=..."
//
// What is not stamped comes from runtime/debug.ReadBuildInfo: `go install ...@v1.2.3` records
// the module version, and a build with VCS stamping on records the commit.
//
// The package imports nothing of the agent's.
package version
