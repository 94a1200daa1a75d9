package metrics_test

import (
	"testing"

	"github.com/meterd/meterd/core/metrics"
	"github.com/meterd/meterd/core/version"
)

// meterd_build_info is one gauge at 1 with the build's version, commit and Go version as labels.
func TestBuildInfo(t *testing.T) {
	m := metrics.New(func() float64 { return 0 }, func() float64 { return 0 })
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	v := version.Get()
	want := map[string]string{"version": v.Version, "commit": v.Commit, "goversion": v.GoVersion}
	for _, mf := range mfs {
		if mf.GetName() != "meterd_build_info" {
			continue
		}
		if len(mf.GetMetric()) != 1 {
			t.Fatalf("got %d series, want 1", len(mf.GetMetric()))
		}
		s := mf.GetMetric()[0]
		got := map[string]string{}
		for _, l := range s.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) || got["version"] != want["version"] || got["commit"] != want["commit"] ||
			got["goversion"] != want["goversion"] || s.GetGauge().GetValue() != 1 {
			t.Fatalf("got labels %v value %v, want %v and 1", got, s.GetGauge().GetValue(), want)
		}
		return
	}
	t.Fatal("no meterd_build_info series")
}
