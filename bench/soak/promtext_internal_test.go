package main

import (
	"errors"
	"math"
	"testing"
)

const exposition = `# HELP meterd_requests_total HTTP requests by route and status code.
# TYPE meterd_requests_total counter
meterd_requests_total{code="200",route="consume"} 1027
meterd_requests_total{code="503",route="consume"} 2
meterd_requests_total{code="500",route="license"} 1
meterd_requests_total{code="400",route="other"} 3
# TYPE go_goroutines gauge
go_goroutines 23
meterd_request_duration_seconds_bucket{route="consume",le="+Inf"} 1029
go_memstats_heap_inuse_bytes 6.5536e+06
odd_labels{a="x\"y",b="back\\slash",c="line\nbreak"} NaN 1700000000000
`

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics([]byte(exposition))
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, keep func(map[string]string) bool, want float64) {
		t.Helper()
		got, ok := m.sum(name, keep)
		if !ok || got != want {
			t.Errorf("sum(%s) = %v, %v; want %v, true", name, got, ok, want)
		}
	}
	f("meterd_requests_total", nil, 1033)
	f("meterd_requests_total", is5xx, 3)
	f("meterd_requests_total", func(l map[string]string) bool { return l["route"] == "other" }, 3)
	f("go_goroutines", nil, 23)
	f("meterd_request_duration_seconds_bucket", nil, 1029)
	f("go_memstats_heap_inuse_bytes", nil, 6553600)
	if _, ok := m.value("process_open_fds"); ok {
		t.Errorf("a missing family must not read as present")
	}
	odd := m["odd_labels"]
	if len(odd) != 1 || !math.IsNaN(odd[0].value) {
		t.Fatalf("odd_labels = %+v, want one NaN sample", odd)
	}
	want := map[string]string{"a": `x"y`, "b": `back\slash`, "c": "line\nbreak"}
	for k, v := range want {
		if odd[0].labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, odd[0].labels[k], v)
		}
	}
}

func TestParseMetricsRejects(t *testing.T) {
	f := func(line string) {
		t.Helper()
		if _, err := parseMetrics([]byte(line + "\n")); !errors.Is(err, errMetricLine) {
			t.Errorf("parseMetrics(%q) = %v, want errMetricLine", line, err)
		}
	}
	f("go_goroutines")
	f("go_goroutines twelve")
	f("go_goroutines 1 2 3")
	f(`x{a="1" 2`)
	f(`x{a="1} 2`)
	f(`x{a=1} 2`)
	f(`x{a="1",a="2"} 2`)
	f(`x{a="\q"} 2`)
	f(`x{="1"} 2`)
	f(`9x 2`)
	f(`{a="1"} 2`)
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(exposition))
	f.Add([]byte("go_goroutines 1\n"))
	f.Add([]byte(`x{a="\\"} 1` + "\n"))
	f.Add([]byte(`x{a="1",} 1 2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMetrics(b)
		if err != nil {
			return
		}
		for name, ss := range m {
			if !validName(name) {
				t.Fatalf("accepted metric name %q", name)
			}
			for _, s := range ss {
				if s.name != name {
					t.Fatalf("series %q filed under %q", s.name, name)
				}
			}
		}
	})
}
