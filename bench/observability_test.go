package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/bench/agent"
	"github.com/meterd/meterd/core"
	"github.com/meterd/meterd/core/config"
	"github.com/meterd/meterd/core/httpapi"
)

// The files this test keeps honest: Prometheus alert rules and a Grafana dashboard over
// meterd's /metrics.
const (
	alertsFile    = "alerts.yml"
	dashboardFile = "grafana-dashboard.json"
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
			t.Errorf("/metrics has no %s (DESIGN.md lists it)", f)
		}
	}
	cmd := exec.Command(needPromtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestAlertRules checks alerts.yml with promtool, checks that its expressions query only
// metrics meterd exposes, and runs promtool's rule unit tests: each alert fires on the failure
// it is named after and stays quiet on a healthy agent.
func TestAlertRules(t *testing.T) {
	promtool := needPromtool(t)
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
// and denials, request latency, WAL fsync latency and group size, export lag), that every
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
		"meterd_wal_sync_duration_seconds_bucket", "meterd_wal_group_size_bucket", "meterd_usage_export_lag_actions"} {
		if !slices.ContainsFunc(exprs, func(e panelExpr) bool { return strings.Contains(e.expr, want) }) {
			t.Errorf("%s: no panel shows %s", dashboardFile, want)
		}
	}
	promtool := needPromtool(t)
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

// needPromtool returns promtool's path, or skips (fails under METERD_REQUIRE_TOOLS=1, as CI
// sets it) when it is not installed.
func needPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("METERD_REQUIRE_TOOLS") == "1" {
			t.Fatal("promtool not installed (apt-get install prometheus)")
		}
		t.Skip("promtool not installed (apt-get install prometheus); CI requires it")
	}
	return p
}

// liveMetrics runs an engine and server in-process, makes requests that give every metric
// family a sample (grants, each kind of denial, a session, errors, a usage database write),
// and returns /metrics.
func liveMetrics(t *testing.T) []byte {
	t.Helper()
	base, token := startAgent(t)
	c := &agentClient{t, agent.NewClient(base, token, 2)}
	exercise(c)
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
		time.Sleep(20 * time.Millisecond)
	}
}

// startAgent serves an engine on a temporary directory at 127.0.0.1:0, writing the usage
// database after every action.
func startAgent(t *testing.T) (base, token string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.UsageWriteInterval = t.TempDir(), 1
	eng, err := core.Open(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	token = "observability-test-token"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		eng.Close()
		t.Fatal(err)
	}
	srv := httpapi.NewServer(eng, token, nil)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), token
}

// agentClient is the bench's agent client, failing the test on what it does not expect.
type agentClient struct {
	t *testing.T
	*agent.Client
}

// call sends one JSON admin request and fails the test unless the status is want.
func (c *agentClient) call(method, path string, body any, want int) {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	st, raw, err := c.Do(method, path, "", true, b)
	if err != nil || st != want {
		c.t.Fatalf("%s %s: got %d %s (%v), want %d", method, path, st, raw, err, want)
	}
}

func (c *agentClient) metrics() []byte {
	c.t.Helper()
	st, raw, err := c.Do("GET", "/metrics", "", false, nil)
	if err != nil || st != 200 {
		c.t.Fatalf("GET /metrics: %d %v", st, err)
	}
	return raw
}

// exercise provisions a caller-count and a sessions-mode product and makes one request of
// each kind the dashboard and the alerts look at.
func exercise(c *agentClient) {
	c.call("PUT", "/products/meter", map[string]any{"licensedItem": "Meter", "trackingMode": "TRACK_BY_CALLER_CONSUMPTION_COUNT"}, 200)
	c.call("PUT", "/products/seat", map[string]any{"licensedItem": "Seat", "trackingMode": "TRACK_BY_LICENSE_SESSIONS_OPENED"}, 200)
	now := time.Now().UTC()
	order := func(owner, product string, from, until time.Time) {
		c.call("POST", "/"+owner+"/license-transactions", map[string]any{"transaction": map[string]any{
			"type": "Order", "externalId": owner + product, "items": []map[string]any{{"externalId": owner + product + "-1",
				"productId": product, "quantity": 10, "licenseValidFrom": from.Format(time.RFC3339),
				"licenseValidUntil": until.Format(time.RFC3339)}}}}, 200)
	}
	year := now.AddDate(1, 0, 0)
	order("organizations/live", "meter", now.Add(-time.Minute), year)
	order("organizations/old", "meter", now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	order("organizations/later", "meter", year, year.AddDate(1, 0, 0))
	order("users/alice", "seat", now.Add(-time.Minute), year)
	c.call("POST", "/v1/consume", map[string]any{"owner": "organizations/live", "item": "Meter", "units": 4}, 200)
	c.call("POST", "/v1/consume", map[string]any{"owner": "organizations/live", "item": "Meter", "units": 100}, 409)
	c.call("POST", "/v1/consume", map[string]any{"owner": "organizations/old", "item": "Meter", "units": 1}, 409)
	c.call("POST", "/v1/consume", map[string]any{"owner": "organizations/later", "item": "Meter", "units": 1}, 409)
	c.call("POST", "/v1/consume", map[string]any{"owner": "organizations/nobody", "item": "Meter", "units": 1}, 404)
	seat := map[string]any{"owner": "users/alice", "item": "Seat", "session": "s-1"}
	c.call("POST", "/v1/consume", seat, 200)
	c.call("POST", "/v1/consume", seat, 200)
	c.call("POST", "/v1/checkin", seat, 200)
	c.call("GET", "/healthz", nil, 200)
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

// readAlerts reads the alert rules of alerts.yml. The module has no YAML parser, so this reads
// the subset the file is written in: one "- alert:" per rule, "expr:" on one line or as a
// block scalar (| or >), and single-line labels and annotations (plain or double-quoted).
func readAlerts(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var rules []alertRule
	for i := 0; i < len(lines); i++ {
		key, val, ind := yamlLine(lines[i])
		if key == "- alert" {
			rules = append(rules, alertRule{name: val})
			continue
		}
		if len(rules) == 0 {
			continue
		}
		r := &rules[len(rules)-1]
		if key == "expr" && (val == "|" || val == ">" || val == "|-" || val == ">-") {
			var block []string
			for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indent(lines[i+1]) > ind) {
				i++
				block = append(block, strings.TrimSpace(lines[i]))
			}
			val = strings.TrimSpace(strings.Join(block, "\n"))
		}
		val = unquoteYAML(t, val)
		switch key {
		case "expr":
			r.expr = val
		case "severity":
			r.severity = val
		case "summary":
			r.summary = val
		case "description":
			r.description = val
		}
	}
	for _, r := range rules {
		if r.expr == "" {
			t.Fatalf("%s: alert %s: no expr read", alertsFile, r.name)
		}
	}
	return rules
}

// yamlLine splits "  key: value" into key, value and indentation; comments are not stripped
// (the file keeps them on lines of their own).
func yamlLine(line string) (key, val string, ind int) {
	k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
		return "", "", 0
	}
	return k, strings.TrimSpace(v), indent(line)
}

func indent(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

func unquoteYAML(t *testing.T, s string) string {
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("%s: cannot read %s: %v", alertsFile, s, err)
	}
	return u
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
	{"MeterdExportLagHigh", map[string]string{`meterd_usage_export_lag_actions{` + lbl + `}`: "50 90 500+0x10"}, "5m", "9m"},
	{"MeterdLicensesExhausted", map[string]string{
		`meterd_decisions_total{` + lbl + `,result="granted"}`:   "0+100x60",
		`meterd_decisions_total{` + lbl + `,result="exhausted"}`: "0+0x10 0+20x50"}, "20m", "50m"},
	{"MeterdLicensesNotValid", map[string]string{
		`meterd_decisions_total{` + lbl + `,result="granted"}`: "0+100x60",
		`meterd_decisions_total{` + lbl + `,result="expired"}`: "0+1x60"}, "20m", "50m"},
}

// healthy is an agent at work: everything scraped, no WAL error, a graceful restart's blip of
// 503 at minute 31, an export lag that saws below USAGE_WRITE_INTERVAL, 0.5 % of decisions
// exhausted. No alert may fire on it.
var healthy = map[string]string{
	`up{` + lbl + `}`:                                               "1+0x60",
	`meterd_wal_errors_total{` + lbl + `}`:                          "0+0x60",
	`meterd_requests_total{` + lbl + `,route="consume",code="200"}`: "0+600x60",
	`meterd_requests_total{` + lbl + `,route="consume",code="503"}`: "0+0x30 5+0x29",
	`meterd_usage_export_lag_actions{` + lbl + `}`:                  strings.Repeat("10 60 99 0 50 ", 12),
	`meterd_decisions_total{` + lbl + `,result="granted"}`:          "0+1000x60",
	`meterd_decisions_total{` + lbl + `,result="exhausted"}`:        "0+5x60",
	`meterd_decisions_total{` + lbl + `,result="expired"}`:          "0+0x60",
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
