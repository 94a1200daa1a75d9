package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	info := func(main string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/meterd/meterd", Version: main}, Settings: settings}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	clean := debug.BuildSetting{Key: "vcs.modified", Value: "false"}
	f := func(name, stampedVersion, stampedCommit string, read func() (*debug.BuildInfo, bool), want Info) {
		t.Helper()
		want.GoVersion = runtime.Version()
		if got := resolve(stampedVersion, stampedCommit, read); got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	f("stamps win", "v1.2.3", "abc", info("v9.9.9", rev, dirty), Info{Version: "v1.2.3", Commit: "abc"})
	f("go install @version", "", "", info("v1.4.0"), Info{Version: "v1.4.0", Commit: Unknown})
	f("vcs stamping on, dirty tree", "", "", info("(devel)", rev, dirty), Info{Version: Devel, Commit: rev.Value + "-dirty"})
	f("vcs stamping on, clean tree", "", "", info("(devel)", clean, rev), Info{Version: Devel, Commit: rev.Value})
	f("a commit stamp alone", "", "abc-dirty", info("(devel)", rev), Info{Version: Devel, Commit: "abc-dirty"})
	f("nothing recorded", "", "", info("(devel)"), Info{Version: Devel, Commit: Unknown})
	f("test binary", "", "", info(""), Info{Version: Devel, Commit: Unknown})
	f("no build info", "", "", none, Info{Version: Devel, Commit: Unknown})
	f("no build info, stamped", "v2.0.0", "def", none, Info{Version: "v2.0.0", Commit: "def"})
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.2.3", Commit: "abc", GoVersion: "go1.26.8"}.String()
	if want := "version=v1.2.3 commit=abc goversion=go1.26.8"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A test binary is neither stamped nor VCS-stamped: Get falls all the way back.
func TestGetInTestBinary(t *testing.T) {
	if got, want := Get(), (Info{Version: Devel, Commit: Unknown, GoVersion: runtime.Version()}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
