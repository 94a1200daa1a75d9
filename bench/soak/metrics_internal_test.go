package main

import (
	"strings"
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
# TYPE meterd_request_duration_seconds histogram
meterd_request_duration_seconds_bucket{route="consume",le="+Inf"} 1029
meterd_request_duration_seconds_sum{route="consume"} 1.5
meterd_request_duration_seconds_count{route="consume"} 1029
go_memstats_heap_inuse_bytes 6.5536e+06
`

// The soak reads sums of counters and gauges by label, and a family that is missing as
// missing, not as zero.
func TestScrapeSums(t *testing.T) {
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
	f("go_memstats_heap_inuse_bytes", nil, 6553600)
	if _, ok := m.value("process_open_fds"); ok {
		t.Errorf("a missing family must not read as present")
	}
	if _, ok := m.value("meterd_request_duration_seconds"); ok {
		t.Errorf("a histogram has no single value")
	}
}

// A malformed exposition fails the reading.
func TestScrapeRejects(t *testing.T) {
	for _, bad := range []string{"go_goroutines twelve\n", `x{a="1" 2` + "\n", "# TYPE x counter\nx -1 2 3\n"} {
		if _, err := parseMetrics([]byte(bad)); err == nil || !strings.Contains(err.Error(), "/metrics") {
			t.Errorf("parseMetrics(%q) = %v, want an error", bad, err)
		}
	}
}
