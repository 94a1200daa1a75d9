package deploy_test

import (
	"os/exec"
	"testing"

	"github.com/meterd/meterd/core/harness"
)

// The alert rules load, and promtool's unit tests of them in alerts_test.yml pass (they fail
// when an alert fires early, late, on the wrong series, or with other labels or annotations).
// bench/observability_test.go checks the rules against a live /metrics besides.
func TestAlertRules(t *testing.T) {
	promtool := harness.NeedTool(t, "promtool", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
