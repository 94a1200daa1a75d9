package main

import (
	"bytes"
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one /metrics answer, by family name.
type scrape map[string]*dto.MetricFamily

// parseMetrics reads the Prometheus text format with Prometheus's own parser, which fails on
// a malformed exposition instead of reading it as zero.
func parseMetrics(text []byte) (scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("soak: /metrics: %w", err)
	}
	return m, nil
}

// value is the single sample of a counter, gauge or untyped family, or the sum of its
// samples; ok says it was present.
func (s scrape) value(name string) (v float64, ok bool) {
	return s.sum(name, nil)
}

// sum adds the samples of name whose labels keep accepts (all when keep is nil).
func (s scrape) sum(name string, keep func(labels map[string]string) bool) (v float64, ok bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if keep != nil && !keep(labels(m)) {
			continue
		}
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Untyped != nil:
			v += m.GetUntyped().GetValue()
		default:
			continue
		}
		ok = true
	}
	return v, ok
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// is5xx keeps meterd_requests_total samples whose code is a server error.
func is5xx(labels map[string]string) bool { return strings.HasPrefix(labels["code"], "5") }
