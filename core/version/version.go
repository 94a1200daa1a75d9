package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped by the linker (-ldflags "-X ..."); empty in a plain go build.
var (
	version string
	commit  string
)

// What a field says when the build recorded nothing for it.
const (
	Devel   = "devel"   // Version of a build from a working tree that no one stamped
	Unknown = "unknown" // Commit of a build with no stamp and no VCS information
)

// Info is what a build knows about itself.
type Info struct {
	Version   string // module version: v1.2.3, or Devel
	Commit    string // full commit hash, "-dirty" appended when the tree had changes; or Unknown
	GoVersion string // the toolchain's: go1.26.8
}

// String is Info as key=value pairs, the form meterd -version and meterctl version print and
// the usage database keeps in agent_version.
func (i Info) String() string {
	return fmt.Sprintf("version=%s commit=%s goversion=%s", i.Version, i.Commit, i.GoVersion)
}

// Get returns this build's Info.
func Get() Info { return resolve(version, commit, debug.ReadBuildInfo) }

// resolve prefers the linker's stamps, then the build info, then Devel and Unknown.
func resolve(stampedVersion, stampedCommit string, read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: stampedVersion, Commit: stampedCommit, GoVersion: runtime.Version()}
	bi, ok := read()
	if ok && i.Version == "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version // "" in test binaries
	}
	if ok && i.Commit == "" {
		i.Commit = vcsCommit(bi.Settings)
	}
	if i.Version == "" {
		i.Version = Devel
	}
	if i.Commit == "" {
		i.Commit = Unknown
	}
	return i
}

// vcsCommit is the revision the toolchain recorded, marked -dirty as the Makefile marks it.
func vcsCommit(settings []debug.BuildSetting) string {
	var rev, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}
