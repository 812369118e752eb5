// Tests of the monitoring that ships with the chart: the rules load and pass
// their promtool unit tests, every alert is tested both ways and documented,
// the dashboard's queries parse, and only metrics walker exports are used.
package monitoring_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/testtool"
)

const (
	rulesFile     = "rules/walker.rules.yaml"
	dashboardFile = "dashboards/walker.json"
	runbookFile   = "runbook.md"
)

// walkerMetrics mirrors the metric families the app exports (CONTRACT.md,
// "Metrics"), histograms with their _bucket/_sum/_count series. The lead
// cross-checks this list against the real app's /metrics; a rule or panel
// naming anything else would query nothing.
var walkerMetrics = []string{
	"up",
	"walks_started_total", "walks_completed_total", "invalid_walks_total",
	"walk_distance_bucket", "walk_distance_sum", "walk_distance_count",
	"walks_in_progress", "walks_oldest_in_progress_start_timestamp_seconds",
	"http_requests_total",
	"http_request_duration_seconds_bucket", "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
	"http_request_size_bytes_bucket", "http_request_size_bytes_sum", "http_request_size_bytes_count",
	"http_response_size_bytes_bucket", "http_response_size_bytes_sum", "http_response_size_bytes_count",
	"http_requests_in_flight", "http_panics_total", "http_template_renders_total",
	"model_inserts_total", "model_updates_total", "model_deletes_total",
	"db_new_connections_total", "db_new_connection_errors_total", "db_statements_total", "db_errors_total",
	"db_query_duration_seconds_bucket", "db_query_duration_seconds_sum", "db_query_duration_seconds_count",
	"db_migrations_applied", "db_migrations_unapplied",
	"go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_max_open_connections",
	"go_sql_open_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total",
}

// nativeHistograms are the histograms the app also exports with native
// buckets: a query may name them without _bucket (histogram_quantile on
// the native series). app_metrics_test.go checks them against the app's
// protobuf exposition; walk_distance stays classic.
var nativeHistograms = []string{
	"http_request_duration_seconds", "http_request_size_bytes", "http_response_size_bytes",
	"db_query_duration_seconds",
}

type rule struct {
	Record      string            `json:"record"`
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval"`
			Rules    []rule `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(testtool.ReadFile(t, rulesFile), &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return rules
}

func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("tests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule test files in tests/ (%v)", err)
	}
	return files
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool := testtool.Require(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", "--lint=all", "--lint-fatal", rulesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	promtool := testtool.Require(t, "promtool")
	for _, file := range testFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, err := exec.Command(promtool, "test", "rules", file).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool test rules %s: %v\n%s", file, err, out)
			}
		})
	}
}

// TestEveryAlertTestedBothWays reads the promtool test files and requires,
// for every alert, a case where it fires and one where it stays quiet.
func TestEveryAlertTestedBothWays(t *testing.T) {
	var testFile struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, file := range testFiles(t) {
		if err := yaml.Unmarshal(testtool.ReadFile(t, file), &testFile); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range testFile.Tests {
			for _, c := range tc.AlertRuleTest {
				if len(c.ExpAlerts) > 0 {
					fires[c.Alertname] = true
				} else {
					quiet[c.Alertname] = true
				}
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if !fires[r.Alert] {
			t.Errorf("alert %s has no test case where it fires", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("alert %s has no test case where it stays quiet", r.Alert)
		}
	}
}

// TestAlertsDocumented requires a severity, a summary, a description showing
// the value, and a runbook_url that is the anchor of a section of
// runbook.md (the chart puts its value runbookURL before it).
func TestAlertsDocumented(t *testing.T) {
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (.+)$`).FindAllStringSubmatch(string(testtool.ReadFile(t, runbookFile)), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical (page) or warning (ticket)", r.Alert, s)
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", r.Alert)
		}
		if !strings.Contains(r.Annotations["description"], "$value") {
			t.Errorf("%s: description %q does not show the value", r.Alert, r.Annotations["description"])
		}
		url := r.Annotations["runbook_url"]
		if anchor, ok := strings.CutPrefix(url, "#"); !ok || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q is not the anchor of a section of %s", r.Alert, url, runbookFile)
		}
	}
}

// githubAnchor is how GitHub turns a heading into a fragment.
func githubAnchor(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

type dashboard struct {
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr     string `json:"expr"`
		Exemplar bool   `json:"exemplar"`
	} `json:"targets"`
}

// query is the PromQL expression of a rule or of a dashboard panel.
type query struct {
	name     string // "rule <name>" or "panel <title>#<letter>"
	rule     bool   // a recording or alerting rule, not a panel
	expr     string
	exemplar bool // the panel shows exemplars
}

// dashboardQueries checks the dashboard's variables and that every panel
// queries, and returns the panels' queries.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(testtool.ReadFile(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Type+":"+v.Name)
	}
	for _, want := range []string{"datasource:datasource", "query:namespace", "query:job"} {
		if !slices.Contains(vars, want) {
			t.Errorf("dashboard variables %v lack %s", vars, want)
		}
	}
	var queries []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for i, tg := range p.Targets {
				name := "panel " + p.Title + "#" + string(rune('A'+i))
				queries = append(queries, query{name: name, expr: tg.Expr, exemplar: tg.Exemplar})
			}
		}
	}
	walk(d.Panels)
	if len(queries) == 0 {
		t.Fatal("dashboard has no queries")
	}
	return queries
}

// rulesAndPanels is every query of the rules and of the dashboard.
func rulesAndPanels(t *testing.T) []query {
	t.Helper()
	var queries []query
	for _, r := range loadRules(t) {
		queries = append(queries, query{name: "rule " + r.Record + r.Alert, rule: true, expr: r.Expr})
	}
	return append(queries, dashboardQueries(t)...)
}

// grafanaVariables replaces the dashboard's variables with values PromQL
// accepts, the way Grafana interpolates them before querying.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h",
	"$namespace", "default", "$job", "walker",
)

// selectors parses q, with Grafana's variables interpolated, and calls f
// on each of its metric selectors with the nodes above it. A query that
// does not parse is an error.
func (q query) selectors(t *testing.T, f func(vs *parser.VectorSelector, path []parser.Node)) {
	t.Helper()
	node, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(q.expr))
	if err != nil {
		t.Errorf("%s: %q: %v", q.name, q.expr, err)
		return
	}
	parser.Inspect(node, func(n parser.Node, path []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			f(vs, path)
		}
		return nil
	})
}

func TestDashboardQueriesParse(t *testing.T) {
	for _, q := range dashboardQueries(t) {
		if !strings.Contains(q.expr, `namespace="$namespace", job="$job"`) {
			t.Errorf("%s: query %q ignores the namespace/job variables", q.name, q.expr)
		}
		q.selectors(t, func(*parser.VectorSelector, []parser.Node) {})
	}
}

// TestNativeLatencyPanels: each classic latency panel (a quantile of a
// _duration_seconds_bucket series) has a native-histogram twin that reads
// the native series (no le), both showing exemplars (trace ids); and the
// rules stay on the classic series, so a Prometheus without native
// histograms loses no alert.
func TestNativeLatencyPanels(t *testing.T) {
	classic, native := map[string]bool{}, map[string]bool{}
	for _, q := range rulesAndPanels(t) {
		q.selectors(t, func(vs *parser.VectorSelector, _ []parser.Node) {
			if q.rule {
				if slices.Contains(nativeHistograms, vs.Name) {
					t.Errorf("%s reads the native %s: the rules stay on the classic series", q.name, vs.Name)
				}
				return
			}
			if !strings.Contains(vs.Name, "_duration_seconds") || !strings.Contains(q.expr, "histogram_quantile") {
				return
			}
			if !q.exemplar {
				t.Errorf("%s: latency query without exemplars (the way from a slow request to its trace)", q.name)
			}
			if base, ok := strings.CutSuffix(vs.Name, "_bucket"); ok {
				classic[base] = true
			} else if slices.Contains(nativeHistograms, vs.Name) {
				native[vs.Name] = true
				if strings.Contains(q.expr, "le)") || strings.Contains(q.expr, "le,") {
					t.Errorf("%s reads a native histogram by le: %s", q.name, q.expr)
				}
			}
		})
	}
	if len(classic) == 0 {
		t.Fatal("no classic latency panel found")
	}
	for h := range classic {
		if !native[h] {
			t.Errorf("the classic latency panel of %s has no native-histogram version", h)
		}
	}
}

// TestOnlyKnownMetrics: every selector in the rules and the dashboard names
// a walker metric or one of the rules' own recorded series.
func TestOnlyKnownMetrics(t *testing.T) {
	known := map[string]bool{}
	for _, m := range slices.Concat(walkerMetrics, nativeHistograms) {
		known[m] = true
	}
	for _, r := range loadRules(t) {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	var unknown []string
	for _, q := range rulesAndPanels(t) {
		q.selectors(t, func(vs *parser.VectorSelector, _ []parser.Node) {
			if !known[vs.Name] {
				unknown = append(unknown, q.name+": "+vs.Name)
			}
		})
	}
	sort.Strings(unknown)
	for _, u := range unknown {
		t.Errorf("unknown metric in %s", u)
	}
}

// databaseWide are read from the database at scrape time: every replica
// exports the same value.
var databaseWide = []string{"walks_in_progress", "walks_oldest_in_progress_start_timestamp_seconds", "db_migrations_applied", "db_migrations_unapplied"}

// TestDatabaseWideGaugesAreNeverSummed: a sum over pods of a database-wide
// gauge multiplies it by the number of replicas; rules and panels take the
// max or min.
func TestDatabaseWideGaugesAreNeverSummed(t *testing.T) {
	uses := 0
	for _, q := range rulesAndPanels(t) {
		q.selectors(t, func(vs *parser.VectorSelector, path []parser.Node) {
			if !slices.Contains(databaseWide, vs.Name) {
				return
			}
			uses++
			for _, above := range path {
				if agg, ok := above.(*parser.AggregateExpr); ok && agg.Op == parser.SUM {
					t.Errorf("%s: %s of %s, a database-wide gauge every replica exports: use max or min", q.name, agg.Op, vs.Name)
				}
			}
		})
	}
	if uses == 0 {
		t.Fatal("no rule or panel uses a database-wide gauge: the test checks nothing")
	}
}

// TestChartUsesTheSingleSource: the chart reads the rules and the dashboard
// through symlinks into this folder, so there is no copy to drift.
func TestChartUsesTheSingleSource(t *testing.T) {
	for link, target := range map[string]string{
		"../charts/walker/files/monitoring/walker.rules.yaml": rulesFile,
		"../charts/walker/files/monitoring/walker.json":       dashboardFile,
		"../charts/walker/files/monitoring/runbook.md":        runbookFile,
	} {
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink (a copy drifts): %v", link, err)
		}
		got, err := os.Stat(link)
		want, _ := os.Stat(target)
		if err != nil || !os.SameFile(got, want) {
			t.Errorf("%s does not resolve to %s: %v", link, target, err)
		}
	}
}

// TestDefaultRunbookURLIsTheShippedRunbook: by default the chart's runbook
// links name the runbook's path inside the chart, where it is packaged.
func TestDefaultRunbookURLIsTheShippedRunbook(t *testing.T) {
	var values struct {
		RunbookURL string `json:"runbookURL"`
	}
	if err := yaml.Unmarshal(testtool.ReadFile(t, "../charts/walker/values.yaml"), &values); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join("../charts/walker", values.RunbookURL))
	if err != nil {
		t.Fatalf("runbookURL %q is not a file of the chart: %v", values.RunbookURL, err)
	}
	if !bytes.Equal(shipped, testtool.ReadFile(t, runbookFile)) {
		t.Errorf("runbookURL %q is not %s", values.RunbookURL, runbookFile)
	}
}
