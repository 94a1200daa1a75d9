package main

import (
	"fmt"
	"time"

	"github.com/meterd/meterd/core"
)

// engineStats reads what explains a meterd row from the engine's own metrics, over the whole
// row (warm-up included):
//   - records per WAL group and the mean time from a group's apply to its fsync;
//   - the mean time the handler took for consume calls, to set against the latency the client
//     saw (the rest is HTTP, the network stack and waiting to be scheduled);
//   - how far the usage database trails the grants when the load stops (the export-lag gauge
//     counts only what the batcher holds, not what the applier has yet to read).
func engineStats(e *core.Engine) string {
	mfs, err := e.Metrics().Gather()
	if err != nil {
		return "metrics: " + err.Error()
	}
	var group, sync, handler [2]float64 // sum, count
	var granted, written float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := [2]float64{m.GetHistogram().GetSampleSum(), float64(m.GetHistogram().GetSampleCount())}
			switch mf.GetName() {
			case "meterd_wal_group_size":
				group = h
			case "meterd_wal_sync_duration_seconds":
				sync = h
			case "meterd_request_duration_seconds":
				if l := m.GetLabel(); len(l) == 1 && (l[0].GetValue() == "consume" || l[0].GetValue() == "consume_batch") {
					handler = [2]float64{handler[0] + h[0], handler[1] + h[1]}
				}
			case "meterd_usage_actions_written_total":
				written = m.GetCounter().GetValue()
			case "meterd_decisions_total":
				if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == "granted" {
					granted = m.GetCounter().GetValue()
				}
			}
		}
	}
	out := fmt.Sprintf("%.1f records per WAL group, %v per group (apply to fsync)", mean(group), seconds(mean(sync)))
	if handler[1] > 0 {
		out += fmt.Sprintf(", handler %v", seconds(mean(handler)))
	}
	if written > 0 {
		out += fmt.Sprintf(", about %.0f grants not yet in the usage database at the end", max(granted-written, 0))
	}
	return out
}

func mean(h [2]float64) float64 { return h[0] / max(h[1], 1) }

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond)
}
