package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard-bot/switchboard/commands"
	"github.com/switchboard-bot/switchboard/metrics"
)

// The files operators load, from this package's directory.
var (
	rulesFile     = filepath.Join("..", "..", "deploy", "prometheus", "switchboard.rules.yml")
	ruleTestsFile = filepath.Join("..", "..", "deploy", "prometheus", "switchboard.rules.test.yml")
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "switchboard.json")
)

// promtool finds Debian's promtool. Without it the rule tests are skipped,
// saying so, except in CI, which must run them.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("promtool is not on PATH, and CI must run the alert rule tests: .ci/run installs it (Debian package prometheus)")
	}
	t.Skipf("promtool is not on PATH, so the alert rules are not checked: install it (apt-get install prometheus) to run this test")
	return ""
}

// TestAlertRulesPassPromtool runs `promtool check rules` on the rules,
// `promtool test rules` on their unit tests, in which each alert fires on
// series that should trigger it and stays quiet on series that should not,
// and `promtool check config` on the compose file's Prometheus configuration.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", filepath.Base(rulesFile)},
		{"test", "rules", filepath.Base(ruleTestsFile)},
		{"check", "config", "prometheus.yml"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tool, args...)
			cmd.Dir = filepath.Dir(rulesFile)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool %s said no SUCCESS:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}

// promQL is one PromQL expression of an operator file, and where it is.
type promQL struct{ where, expr string }

// alertRule is the part of a Prometheus rule the tests read.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func readRules(path string) ([]alertRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

func ruleExprs(path string) ([]promQL, error) {
	rules, err := readRules(path)
	if err != nil {
		return nil, err
	}
	var out []promQL
	for _, r := range rules {
		out = append(out, promQL{where: "rule " + r.Alert + r.Record, expr: r.Expr})
	}
	return out, nil
}

// dashboardExprs reads the PromQL of every panel's targets (rows' panels
// included) and of the dashboard's query variables.
func dashboardExprs(path string) ([]promQL, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []promQL
	var walk func([]json.RawMessage) error
	walk = func(raw []json.RawMessage) error {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				return err
			}
			for _, tg := range p.Targets {
				out = append(out, promQL{where: "panel " + p.Title, expr: grafanaToPromQL(tg.Expr)})
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		// A query is a string, or an object holding it (Grafana 9 on).
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, fmt.Errorf("%s: variable %s: %w", path, v.Name, err)
			}
			q = obj.Query
		}
		out = append(out, promQL{where: "variable " + v.Name, expr: variableQueryToPromQL(q)})
	}
	return out, nil
}

var grafanaIntervals = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)\}?`)

// grafanaToPromQL replaces Grafana's interval variables, which only Grafana
// understands, with a duration. Other variables ($instance) are inside label
// values, which PromQL reads as text.
func grafanaToPromQL(expr string) string {
	return grafanaIntervals.ReplaceAllString(expr, "5m")
}

var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.+),\s*\w+\s*\)\s*$`)

// variableQueryToPromQL is the series selector of a label_values(series,
// label) variable query; any other query is taken as PromQL.
func variableQueryToPromQL(q string) string {
	if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	return grafanaToPromQL(q)
}

// selector is one series selector of an expression: the metric name, the
// label matchers besides the name, and the labels the aggregation nearest
// around it groups by (which the series must carry).
type selector struct {
	name     string
	matchers []*labels.Matcher
	by       []string
}

// selectors parses expr with Prometheus's own parser and lists its series
// selectors. A selector that names no metric is an error: a file must say
// which metrics it reads.
func selectors(q promQL) ([]selector, error) {
	e, err := parser.ParseExpr(q.expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.where, err)
	}
	var out []selector
	var errs []error
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{name: vs.Name}
		for _, m := range vs.LabelMatchers {
			switch {
			case m.Name != labels.MetricName:
				s.matchers = append(s.matchers, m)
			case m.Type == labels.MatchEqual:
				s.name = m.Value
			}
		}
		if s.name == "" {
			errs = append(errs, fmt.Errorf("%s: %s names no metric", q.where, vs))
			return nil
		}
		for i := len(path) - 1; i >= 0; i-- {
			if agg, ok := path[i].(*parser.AggregateExpr); ok {
				if !agg.Without {
					s.by = agg.Grouping
				}
				break
			}
		}
		out = append(out, s)
		return nil
	})
	return out, errors.Join(errs...)
}

// unknownMetrics lists the metric names the rules and the dashboard use that
// are not in known, each with where it is used.
func unknownMetrics(rulesPath, dashboardPath string, known map[string]bool) ([]string, error) {
	rules, err := ruleExprs(rulesPath)
	if err != nil {
		return nil, err
	}
	panels, err := dashboardExprs(dashboardPath)
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, q := range append(rules, panels...) {
		sels, err := selectors(q)
		if err != nil {
			return nil, err
		}
		for _, s := range sels {
			if !known[s.name] {
				unknown = append(unknown, q.where+": "+s.name)
			}
		}
	}
	return unknown, nil
}

// registeredMetrics is every series name the bot's registry serves: the
// registry made as Main makes it, with each of its counting hooks called
// once so that every labelled family has a series, gathered, and each
// histogram and summary expanded into the names Prometheus stores.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	up := func(context.Context) error { return nil }
	count := func(context.Context) (int64, error) { return 1, nil }
	failing := func(context.Context) (int64, error) { return 0, errors.New("redis down") }
	working := metrics.New(metrics.Sources{QueueDepth: count, PendingOperations: count, SocketConnected: func() bool { return true }, RedisPing: up}, commands.Names()...)
	broken := metrics.New(metrics.Sources{QueueDepth: failing}, commands.Names()...)

	m := working
	m.OnCommand("/sim", "ok")
	m.OnAck("/sim", time.Millisecond)
	m.ObserveEnco("m2m", "m2m deactivation", 503, time.Millisecond, errors.New("503"))
	m.OnCallback("m2m", http.StatusOK)
	m.OnPost("post", "ok")
	m.OnExpired("fmu.read")
	m.OnScheduledChange("done", time.Second)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer slack.Close()
	resp, err := (&http.Client{Transport: m.SlackTransport(nil, slack.URL+"/")}).Get(slack.URL + "/chat.postMessage")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	names := map[string]bool{}
	for _, reg := range []*metrics.Metrics{working, broken} {
		fams, err := reg.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			for _, n := range seriesNames(f) {
				names[n] = true
			}
		}
	}
	return names
}

// seriesNames are the names under which Prometheus stores a family's series.
func seriesNames(f *dto.MetricFamily) []string {
	n := f.GetName()
	switch f.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return []string{n + "_bucket", n + "_sum", n + "_count"}
	case dto.MetricType_SUMMARY:
		return []string{n, n + "_sum", n + "_count"}
	}
	return []string{n}
}

// TestOperatorFilesUseOnlyMetricsTheBotServes reads every PromQL
// expression of the alert rules and the dashboard with Prometheus's parser
// and checks each metric it names is one the bot's registry serves.
func TestOperatorFilesUseOnlyMetricsTheBotServes(t *testing.T) {
	known := registeredMetrics(t)
	for _, sure := range []string{"switchboard_commands_total", "switchboard_ack_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes", "switchboard_metrics_source_errors_total"} {
		if !known[sure] {
			t.Fatalf("the registry's names lack %s; the list the files are checked against is wrong: %v", sure, known)
		}
	}
	unknown, err := unknownMetrics(rulesFile, dashboardFile, known)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unknown {
		t.Errorf("%s is not a metric the bot serves", u)
	}

	// Not vacuous: the files hold what an operator needs.
	rules, err := readRules(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, r := range rules {
		alerts = append(alerts, r.Alert)
		if len(r.Annotations["summary"]) < 80 {
			t.Errorf("alert %s: summary %q is too short to act on", r.Alert, r.Annotations["summary"])
		}
	}
	for _, want := range []string{
		"SwitchboardSocketDisconnected", "SwitchboardRedisUnreachable", "SwitchboardDeliveryQueueGrowing",
		"SwitchboardEncoErrors", "SwitchboardEncoSlow", "SwitchboardCallbacksRefused", "SwitchboardOperationsExpiring",
		"SwitchboardScheduledChangesLate", "SwitchboardScheduledChangesSkipped", "SwitchboardSlackRateLimited",
		"SwitchboardNoReplicaReady",
	} {
		if !slices.Contains(alerts, want) {
			t.Errorf("the rules have no alert %s", want)
		}
	}
	panels, err := dashboardExprs(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, q := range panels {
		sels, err := selectors(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sels {
			used[s.name] = true
		}
	}
	for _, want := range []string{
		"switchboard_commands_total", "switchboard_ack_duration_seconds_bucket",
		"switchboard_enco_request_duration_seconds_bucket", "switchboard_enco_errors_total",
		"switchboard_callbacks_total", "switchboard_queue_depth", "switchboard_slack_api_requests_total",
		"switchboard_pending_operations", "switchboard_operations_expired_total",
		"switchboard_fmu_schedule_lateness_seconds_bucket", "process_resident_memory_bytes", "go_goroutines",
	} {
		if !used[want] {
			t.Errorf("no dashboard panel shows %s", want)
		}
	}
}

// TestUnknownMetricCheckCatchesADoctoredFile makes copies of the rules and
// the dashboard with one metric name misspelt in each, and checks that the
// check names both, where they are.
func TestUnknownMetricCheckCatchesADoctoredFile(t *testing.T) {
	known := registeredMetrics(t)
	dir := t.TempDir()
	doctor := func(src, old, new string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s does not use %s any more; pick another name to doctor", src, old)
		}
		dst := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(dst, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	rules := doctor(rulesFile, "switchboard_redis_up == 0", "switchboard_redis_upp == 0")
	dashboard := doctor(dashboardFile, "go_goroutines{", "go_goroutine{")

	got, err := unknownMetrics(rules, dashboard, known)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"rule SwitchboardRedisUnreachable: switchboard_redis_upp",
		"panel Goroutines per replica: go_goroutine",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unknown metrics = %q, want %q", got, want)
	}

	// A selector without a metric name cannot be checked: it is refused.
	if _, err := selectors(promQL{where: "rule X", expr: `{__name__=~"switchboard_.+"} > 0`}); err == nil {
		t.Errorf("a selector naming no metric was accepted")
	}
}

// TestREADMEHasARunbookLineForEveryAlert checks the operations section
// names every alert of the rules, and links the rules and the dashboard.
func TestREADMEHasARunbookLineForEveryAlert(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	start := strings.Index(readme, "\n## Operate it")
	if start < 0 {
		t.Fatal("README has no Operate it section")
	}
	ops := readme[start:]
	if end := strings.Index(ops[1:], "\n## "); end >= 0 {
		ops = ops[:end+1]
	}
	rules, err := readRules(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !strings.Contains(ops, "| `"+r.Alert+"` |") {
			t.Errorf("README's Operate it section has no runbook line for %s", r.Alert)
		}
	}
	for _, link := range []string{"(deploy/prometheus/switchboard.rules.yml)", "(deploy/grafana/switchboard.json)"} {
		if !strings.Contains(ops, link) {
			t.Errorf("README's Operate it section does not link %s", link)
		}
	}
}

// TestComposePrometheusLoadsTheRules checks that the compose file's
// Prometheus gets its configuration and every rule file that configuration
// names, side by side as promtool checked them, and scrapes the bot where
// METRICS_ADDR has it listen.
func TestComposePrometheusLoadsTheRules(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &compose); err != nil {
		t.Fatal(err)
	}
	prom, ok := compose.Services["prometheus"]
	if !ok {
		t.Fatal("docker-compose.yml has no prometheus service")
	}
	mounted := map[string]string{} // path in the container -> file in the repository
	for _, v := range prom.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			mounted[parts[1]] = parts[0]
		}
	}
	config := "/etc/prometheus/prometheus.yml"
	if mounted[config] != "./deploy/prometheus/prometheus.yml" {
		t.Fatalf("prometheus mounts %q at %s, want ./deploy/prometheus/prometheus.yml", mounted[config], config)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "deploy/prometheus/prometheus.yml")), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.RuleFiles) == 0 {
		t.Fatal("prometheus.yml loads no rule file")
	}
	for _, f := range cfg.RuleFiles {
		want := "./deploy/prometheus/" + f
		if got := mounted["/etc/prometheus/"+f]; got != want {
			t.Errorf("rule file %s: mounted from %q, want %q", f, got, want)
		}
		if _, err := os.Stat(filepath.Join("..", "..", want)); err != nil {
			t.Errorf("rule file %s: %v", f, err)
		}
	}
	addr := compose.Services["bot"].Environment["METRICS_ADDR"]
	var targets []string
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if addr == "" || !slices.Contains(targets, "bot"+addr) {
		t.Errorf("prometheus scrapes %v, want bot%s (the bot's METRICS_ADDR)", targets, addr)
	}
}
