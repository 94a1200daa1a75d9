package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/client"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/harness"
)

// The files this test keeps honest: Prometheus alert rules and a Grafana dashboard over
// meterd's /metrics, in the deployment kit beside the systemd unit.
const (
	alertsFile    = "../cmd/meterd/deploy/alerts.yml"
	dashboardFile = "../cmd/meterd/deploy/grafana-dashboard.json"
)

// TestMetricsPassPromtool feeds the live /metrics, with a sample in every family, to
// `promtool check metrics`, which lints names, units, HELP and TYPE.
func TestMetricsPassPromtool(t *testing.T) {
	text := liveMetrics(t)
	names := exposedNames(t, text)
	for line := range strings.Lines(string(text)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && !names[f[2]] {
			t.Errorf("family %s has no sample: the test's requests do not reach it", f[2])
		}
	}
	for _, f := range []string{"meterd_requests_total", "meterd_decisions_total", "meterd_units_consumed_total",
		"meterd_request_duration_seconds", "meterd_wal_sync_duration_seconds", "meterd_wal_group_size",
		"meterd_wal_errors_total", "meterd_usage_rows_written_total", "meterd_usage_actions_written_total",
		"meterd_usage_export_lag_actions", "meterd_sessions_open", "go_goroutines", "process_open_fds"} {
		if !names[f] {
			t.Errorf("/metrics has no %s (OPERATIONS.md lists it)", f)
		}
	}
	cmd := exec.Command(harness.NeedTool(t, "promtool", "prometheus"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestAlertRules checks alerts.yml with promtool, checks that its expressions query only
// metrics meterd exposes, and runs promtool's rule unit tests: each alert fires on the failure
// it is named after and stays quiet on a healthy agent.
func TestAlertRules(t *testing.T) {
	promtool := harness.NeedTool(t, "promtool", "prometheus")
	if out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertsFile, err, out)
	}
	rules := readAlerts(t)
	if len(rules) == 0 {
		t.Fatalf("%s: no alert rules read", alertsFile)
	}
	names := exposedNames(t, liveMetrics(t))
	for _, r := range rules {
		if r.severity == "" || r.summary == "" || r.description == "" {
			t.Errorf("%s: alert %s needs a severity label, a summary and a description", alertsFile, r.name)
		}
		for _, m := range unknownMetrics(r.expr, names) {
			t.Errorf("%s: alert %s queries %s, which meterd does not expose", alertsFile, r.name, m)
		}
	}
	runRuleTests(t, promtool, rules)
}

// TestDashboard parses the dashboard, checks that it shows what it is for (requests, grants
// and denials, request latency, WAL fsync latency and group size, export lag, licenses low on
// units), that every
// panel query is valid PromQL (promtool checks it as a recording rule) and that it queries
// only metrics meterd exposes: a panel over a metric that does not exist draws nothing and
// says nothing.
func TestDashboard(t *testing.T) {
	exprs := dashboardExprs(t)
	names := exposedNames(t, liveMetrics(t))
	for _, e := range exprs {
		for _, m := range unknownMetrics(e.expr, names) {
			t.Errorf("%s: panel %q queries %s, which meterd does not expose", dashboardFile, e.panel, m)
		}
	}
	for _, want := range []string{"meterd_requests_total", "meterd_decisions_total", "meterd_request_duration_seconds_bucket",
		"meterd_wal_sync_duration_seconds_bucket", "meterd_wal_group_size_bucket", "meterd_usage_export_lag_actions",
		"meterd_licenses_below_ratio", "meterd_licenses_active"} {
		if !slices.ContainsFunc(exprs, func(e panelExpr) bool { return strings.Contains(e.expr, want) }) {
			t.Errorf("%s: no panel shows %s", dashboardFile, want)
		}
	}
	promtool := harness.NeedTool(t, "promtool", "prometheus")
	var rules []map[string]string
	var legend strings.Builder
	for i, e := range exprs {
		name := fmt.Sprintf("dashboard:expr%d", i)
		rules = append(rules, map[string]string{"record": name, "expr": grafanaToPromQL(e.expr)})
		fmt.Fprintf(&legend, "%s: panel %q\n", name, e.panel)
	}
	path := writeJSON(t, "dashboard-rules.yml", map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("dashboard queries are not valid PromQL: %v\n%s\n%s", err, out, legend.String())
	}
}

// liveMetrics runs an engine and server in-process, makes requests that give every metric
// family a sample (grants, each kind of denial, a session, errors, a usage database write),
// and returns /metrics.
func liveMetrics(t *testing.T) []byte {
	t.Helper()
	c := &agentClient{t, startAgent(t)}
	c.exercise()
	deadline := time.Now().Add(20 * time.Second)
	for {
		text := c.metrics()
		if bytes.Contains(text, []byte("\nmeterd_usage_rows_written_total ")) &&
			!bytes.Contains(text, []byte("\nmeterd_usage_rows_written_total 0\n")) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage row written within 20s:\n%s", text)
		}
		time.Sleep(20 * time.Millisecond) // the export runs on its own goroutine; /metrics is all there is to watch
	}
}

// startAgent serves an engine on a temporary directory at 127.0.0.1, writing the usage
// database after every action, and returns a client of it that sends each call once.
func startAgent(t *testing.T) *client.Client {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 1
	a, err := harness.StartInProcess(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Client(client.Options{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdle()
		if err := a.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// agentClient fails the test on what it does not expect.
type agentClient struct {
	t *testing.T
	*client.Client
}

func (c *agentClient) metrics() []byte {
	c.t.Helper()
	text, err := c.Metrics(context.Background())
	if err != nil {
		c.t.Fatalf("GET /metrics: %v", err)
	}
	return text
}

// consume sends req and fails the test unless it is granted (want 200), denied (409) or
// refused with the status want.
func (c *agentClient) consume(req client.ConsumeRequest, want int) {
	c.t.Helper()
	d, err := c.Consume(context.Background(), req)
	var api *client.APIError
	switch {
	case err == nil && d.Granted && want == 200, err == nil && !d.Granted && want == 409:
	case errors.As(err, &api) && api.Status == want:
	default:
		c.t.Fatalf("consume %+v: got %+v, %v; want %d", req, d, err, want)
	}
}

func (c *agentClient) must(what string, err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// exercise provisions a caller-count and a sessions-mode product and makes one request of
// each kind the dashboard and the alerts look at.
func (c *agentClient) exercise() {
	ctx := context.Background()
	_, err := c.PutProduct(ctx, "meter", client.Product{LicensedItem: "Meter", TrackingMode: client.TrackCallerCount})
	c.must("PUT /products/meter", err)
	_, err = c.PutProduct(ctx, "seat", client.Product{LicensedItem: "Seat", TrackingMode: client.TrackSessions})
	c.must("PUT /products/seat", err)
	now := time.Now().UTC().Truncate(time.Second)
	order := func(owner, product string, from, until time.Time) {
		_, err := c.Provision(ctx, owner, client.Order{Type: "Order", ExternalID: owner + product, Items: []client.OrderItem{{
			ExternalID: owner + product + "-1", ProductID: product, Quantity: 10, LicenseValidFrom: from, LicenseValidUntil: until}}})
		c.must("order "+owner+" "+product, err)
	}
	year := now.AddDate(1, 0, 0)
	order("organizations/live", "meter", now.Add(-time.Minute), year)
	order("organizations/old", "meter", now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	order("organizations/later", "meter", year, year.AddDate(1, 0, 0))
	order("users/alice", "seat", now.Add(-time.Minute), year)
	c.consume(client.ConsumeRequest{Owner: "organizations/live", Item: "Meter", Units: 4}, 200)
	c.consume(client.ConsumeRequest{Owner: "organizations/live", Item: "Meter", Units: 100}, 409)
	c.consume(client.ConsumeRequest{Owner: "organizations/old", Item: "Meter", Units: 1}, 409)
	c.consume(client.ConsumeRequest{Owner: "organizations/later", Item: "Meter", Units: 1}, 409)
	c.consume(client.ConsumeRequest{Owner: "organizations/nobody", Item: "Meter", Units: 1}, 404)
	seat := client.ConsumeRequest{Owner: "users/alice", Item: "Seat", Session: "s-1"}
	c.consume(seat, 200)
	c.consume(seat, 200)
	_, err = c.Checkin(ctx, client.CheckinRequest{Owner: seat.Owner, Item: seat.Item, Session: seat.Session})
	c.must("checkin", err)
	c.must("GET /healthz", c.Health(ctx))
}

// exposedNames is the set of metric names in a /metrics text, histogram and summary series
// (_bucket, _sum, _count) under their family's name as well as their own.
func exposedNames(t *testing.T, text []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for line := range strings.Lines(string(text)) {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
		names[baseName(name)] = true
	}
	if len(names) < 20 {
		t.Fatalf("only %d metric names in /metrics:\n%s", len(names), text)
	}
	return names
}

// metricRef finds meterd's, Go's and the process collector's metric names in PromQL.
var metricRef = regexp.MustCompile(`\b(?:meterd|go|process)_[a-zA-Z0-9_]+`)

func baseName(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, s); ok {
			return b
		}
	}
	return name
}

// unknownMetrics lists the metric names expr uses that are not in names.
func unknownMetrics(expr string, names map[string]bool) []string {
	var out []string
	for _, m := range metricRef.FindAllString(expr, -1) {
		if !names[m] && !names[baseName(m)] && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

type panelExpr struct{ panel, expr string }

// dashboardExprs reads every query of every panel, rows' nested panels included.
func dashboardExprs(t *testing.T) []panelExpr {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []panel `json:"panels"` // of a collapsed row
	}
	var d struct {
		Title  string  `json:"title"`
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.Title == "" || d.UID == "" {
		t.Fatalf("%s: want a title and a uid", dashboardFile)
	}
	var out []panelExpr
	ids := map[int]bool{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", dashboardFile, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q has an empty query", dashboardFile, p.Title)
				}
				out = append(out, panelExpr{p.Title, tg.Expr})
			}
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		t.Fatalf("%s: no queries", dashboardFile)
	}
	return out
}

// grafanaToPromQL replaces the dashboard's variables with values Prometheus accepts.
func grafanaToPromQL(expr string) string {
	return strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$instance", ".+", "$job", ".+").Replace(expr)
}

func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ") // JSON is YAML, which promtool reads
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// alertRule is what readAlerts takes from one rule of alerts.yml.
type alertRule struct {
	name, expr, severity, summary, description string
}

// readAlerts reads the alert rules of alerts.yml.
func readAlerts(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var rules []alertRule
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue // a recording rule
			}
			if strings.TrimSpace(r.Expr) == "" {
				t.Fatalf("%s: alert %s: no expr", alertsFile, r.Alert)
			}
			rules = append(rules, alertRule{name: r.Alert, expr: strings.TrimSpace(r.Expr), severity: r.Labels["severity"],
				summary: r.Annotations["summary"], description: r.Annotations["description"]})
		}
	}
	return rules
}

// ruleCase makes one alert fire: input series one minute apart (promtool's expanding notation)
// and a time at which the alert must be firing, after one at which it must not yet be.
type ruleCase struct {
	alert         string
	series        map[string]string
	quiet, firing string
}

const lbl = `job="meterd",instance="a"`

var ruleCases = []ruleCase{
	{"MeterdDown", map[string]string{`up{` + lbl + `}`: "1 1 0+0x10"}, "2m", "5m"},
	{"MeterdWALErrors", map[string]string{`meterd_wal_errors_total{` + lbl + `}`: "0 0 0 1+0x10"}, "2m", "4m"},
	{"MeterdConsumeUnavailable", map[string]string{
		`meterd_requests_total{` + lbl + `,route="consume",code="200"}`: "0+600x2 1200+0x10",
		`meterd_requests_total{` + lbl + `,route="consume",code="503"}`: "0 0 0+60x10"}, "4m", "8m"},
	// The usage database stops taking writes at minute 2: no action is written after it.
	{"MeterdExportLagHigh", map[string]string{`meterd_usage_export_lag_actions{` + lbl + `}`: "50 90 500+0x10",
		`meterd_usage_actions_written_total{` + lbl + `}`: "0+600x2 1200+0x10"}, "5m", "9m"},
	{"MeterdLicenseLow", map[string]string{`meterd_licenses_below_ratio{` + lbl + `,ratio="0.1"}`: "0 0 1+0x30"}, "10m", "20m"},
	{"MeterdLicensesExhausted", map[string]string{
		`meterd_decisions_total{` + lbl + `,result="granted"}`:   "0+100x60",
		`meterd_decisions_total{` + lbl + `,result="exhausted"}`: "0+0x10 0+20x50"}, "20m", "50m"},
	{"MeterdLicensesNotValid", map[string]string{
		`meterd_decisions_total{` + lbl + `,result="granted"}`: "0+100x60",
		`meterd_decisions_total{` + lbl + `,result="expired"}`: "0+1x60"}, "20m", "50m"},
}

// healthy is an agent at work: everything scraped, no WAL error, a graceful restart's blip of
// 503 at minute 31, an export lag that saws up to what 50 ms between writes hold at 50,000
// actions a second (over 2 × USAGE_WRITE_INTERVAL in every sample), 0.5 % of decisions
// exhausted, licenses under 25 % of their units but none under 10 %. No alert may fire on it.
var healthy = map[string]string{
	`up{` + lbl + `}`:                                               "1+0x60",
	`meterd_wal_errors_total{` + lbl + `}`:                          "0+0x60",
	`meterd_requests_total{` + lbl + `,route="consume",code="200"}`: "0+600x60",
	`meterd_requests_total{` + lbl + `,route="consume",code="503"}`: "0+0x30 5+0x29",
	`meterd_usage_export_lag_actions{` + lbl + `}`:                  strings.Repeat("2400 900 2500 300 1700 ", 12),
	`meterd_usage_actions_written_total{` + lbl + `}`:               "0+3000000x60",
	`meterd_decisions_total{` + lbl + `,result="granted"}`:          "0+1000x60",
	`meterd_decisions_total{` + lbl + `,result="exhausted"}`:        "0+5x60",
	`meterd_decisions_total{` + lbl + `,result="expired"}`:          "0+0x60",
	`meterd_licenses_below_ratio{` + lbl + `,ratio="0.1"}`:          "0+0x60",
	`meterd_licenses_below_ratio{` + lbl + `,ratio="0.25"}`:         "2+0x60",
}

// runRuleTests writes promtool's rule unit tests for ruleCases and healthy and runs them.
func runRuleTests(t *testing.T, promtool string, rules []alertRule) {
	t.Helper()
	abs, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]alertRule{}
	for _, r := range rules {
		byName[r.name] = r
	}
	var tests []any
	for _, c := range ruleCases {
		r, ok := byName[c.alert]
		if !ok {
			t.Fatalf("%s has no alert %s", alertsFile, c.alert)
		}
		want := map[string]any{"exp_labels": map[string]string{"severity": r.severity, "job": "meterd", "instance": "a"},
			"exp_annotations": map[string]string{"summary": r.summary, "description": r.description}}
		tests = append(tests, ruleTest(c.series, []any{
			map[string]any{"eval_time": c.quiet, "alertname": c.alert, "exp_alerts": []any{}},
			map[string]any{"eval_time": c.firing, "alertname": c.alert, "exp_alerts": []any{want}}}))
	}
	for _, r := range rules {
		if !slices.ContainsFunc(ruleCases, func(c ruleCase) bool { return c.alert == r.name }) {
			t.Errorf("alert %s has no case in ruleCases", r.name)
		}
	}
	var quiet []any
	for _, r := range rules {
		for _, at := range []string{"10m", "32m", "34m", "59m"} {
			quiet = append(quiet, map[string]any{"eval_time": at, "alertname": r.name, "exp_alerts": []any{}})
		}
	}
	tests = append(tests, ruleTest(healthy, quiet))
	path := writeJSON(t, "alerts_test.yml", map[string]any{"rule_files": []string{abs}, "evaluation_interval": "1m", "tests": tests})
	if out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func ruleTest(series map[string]string, evals []any) map[string]any {
	var in []any
	for _, s := range slices.Sorted(maps.Keys(series)) {
		in = append(in, map[string]string{"series": s, "values": series[s]})
	}
	return map[string]any{"interval": "1m", "input_series": in, "alert_rule_test": evals}
}
