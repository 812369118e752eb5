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
	"reflect"
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

type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
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
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
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
	type alertCase struct {
		Alertname string            `json:"alertname"`
		ExpAlerts []json.RawMessage `json:"exp_alerts"`
	}
	var testFile struct {
		Tests []struct {
			AlertRuleTest []alertCase `json:"alert_rule_test"`
		} `json:"tests"`
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, file := range testFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &testFile); err != nil {
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
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (.+)$`).FindAllStringSubmatch(string(runbook), -1) {
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

// grafanaVariables replaces the dashboard's variables with values PromQL
// accepts, the way Grafana interpolates them before querying.
var grafanaVariables = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h",
	"$namespace", "default", "$job", "walker",
)

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

func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
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
	exprs := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for i, tg := range p.Targets {
				exprs[p.Title+"#"+string(rune('A'+i))] = tg.Expr
			}
		}
	}
	walk(d.Panels)
	if len(exprs) == 0 {
		t.Fatal("dashboard has no queries")
	}
	return exprs
}

func TestDashboardQueriesParse(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for name, expr := range dashboardExprs(t) {
		if !strings.Contains(expr, `namespace="$namespace", job="$job"`) {
			t.Errorf("panel %s: query %q ignores the namespace/job variables", name, expr)
		}
		if _, err := p.ParseExpr(grafanaVariables.Replace(expr)); err != nil {
			t.Errorf("panel %s: %q: %v", name, expr, err)
		}
	}
}

// TestNativeLatencyPanels: each classic latency panel (a quantile of a
// _duration_seconds_bucket series) has a native-histogram twin that reads
// the native series (no le), both showing exemplars (trace ids); and the
// rules stay on the classic series, so a Prometheus without native
// histograms loses no alert.
func TestNativeLatencyPanels(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	classic, native := map[string]bool{}, map[string]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, pn := range ps {
			walk(pn.Panels)
			for _, tg := range pn.Targets {
				node, err := p.ParseExpr(grafanaVariables.Replace(tg.Expr))
				if err != nil {
					continue // TestDashboardQueriesParse reports it
				}
				parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
					vs, ok := n.(*parser.VectorSelector)
					if !ok || !strings.Contains(vs.Name, "_duration_seconds") || !strings.Contains(tg.Expr, "histogram_quantile") {
						return nil
					}
					if !tg.Exemplar {
						t.Errorf("panel %q: latency query without exemplars (the way from a slow request to its trace)", pn.Title)
					}
					if base, ok := strings.CutSuffix(vs.Name, "_bucket"); ok {
						classic[base] = true
					} else if slices.Contains(nativeHistograms, vs.Name) {
						native[vs.Name] = true
						if strings.Contains(tg.Expr, "le)") || strings.Contains(tg.Expr, "le,") {
							t.Errorf("panel %q reads a native histogram by le: %s", pn.Title, tg.Expr)
						}
					}
					return nil
				})
			}
		}
	}
	walk(d.Panels)
	if len(classic) == 0 {
		t.Fatal("no classic latency panel found")
	}
	for h := range classic {
		if !native[h] {
			t.Errorf("the classic latency panel of %s has no native-histogram version", h)
		}
	}
	for _, r := range loadRules(t) {
		node, err := p.ParseExpr(r.Expr)
		if err != nil {
			continue // promtool check rules reports it
		}
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && slices.Contains(nativeHistograms, vs.Name) {
				t.Errorf("rule %s%s reads the native %s: the rules stay on the classic series", r.Record, r.Alert, vs.Name)
			}
			return nil
		})
	}
}

// TestOnlyKnownMetrics: every selector in the rules and the dashboard names
// a walker metric or one of the rules' own recorded series.
func TestOnlyKnownMetrics(t *testing.T) {
	rules := loadRules(t)
	known := map[string]bool{}
	for _, m := range append(append([]string{}, walkerMetrics...), nativeHistograms...) {
		known[m] = true
	}
	for _, r := range rules {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	exprs := map[string]string{}
	for _, r := range rules {
		exprs["rule "+r.Record+r.Alert] = r.Expr
	}
	for name, expr := range dashboardExprs(t) {
		exprs["panel "+name] = grafanaVariables.Replace(expr)
	}
	p := parser.NewParser(parser.Options{})
	var unknown []string
	for name, expr := range exprs {
		node, err := p.ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && !known[vs.Name] {
				unknown = append(unknown, name+": "+vs.Name)
			}
			return nil
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
	exprs := map[string]string{}
	for _, r := range loadRules(t) {
		exprs["rule "+r.Record+r.Alert] = r.Expr
	}
	for name, expr := range dashboardExprs(t) {
		exprs["panel "+name] = grafanaVariables.Replace(expr)
	}
	p := parser.NewParser(parser.Options{})
	uses := 0
	for name, expr := range exprs {
		node, err := p.ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		parser.Inspect(node, func(n parser.Node, path []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok || !slices.Contains(databaseWide, vs.Name) {
				return nil
			}
			uses++
			for _, above := range path {
				if agg, ok := above.(*parser.AggregateExpr); ok && agg.Op == parser.SUM {
					t.Errorf("%s: %s of %s, a database-wide gauge every replica exports: use max or min", name, agg.Op, vs.Name)
				}
			}
			return nil
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
		got, err := filepath.EvalSymlinks(link)
		if err != nil {
			t.Errorf("%s: %v", link, err)
			continue
		}
		want, err := filepath.Abs(target)
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink (a copy drifts)", link)
		}
		if gotAbs, _ := filepath.Abs(got); gotAbs != want {
			t.Errorf("%s resolves to %s, want %s", link, gotAbs, want)
		}
	}
}

// TestDefaultRunbookURLIsTheShippedRunbook: by default the chart's runbook
// links name the runbook's path inside the chart, where it is packaged.
func TestDefaultRunbookURLIsTheShippedRunbook(t *testing.T) {
	data, err := os.ReadFile("../charts/walker/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		RunbookURL string `json:"runbookURL"`
	}
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join("../charts/walker", values.RunbookURL))
	if err != nil {
		t.Fatalf("runbookURL %q is not a file of the chart: %v", values.RunbookURL, err)
	}
	if source, _ := os.ReadFile(runbookFile); !bytes.Equal(shipped, source) {
		t.Errorf("runbookURL %q is not %s", values.RunbookURL, runbookFile)
	}
}

// TestChartRendersTheSource renders the chart (a copy without the remote
// prometheus dependency, which helm cannot fetch offline) and checks that the
// PrometheusRule carries exactly the source rules, with runbookURL before
// each runbook anchor, and the dashboard ConfigMap exactly the source JSON,
// with the sidecar label.
func TestChartRendersTheSource(t *testing.T) {
	helm := testtool.Require(t, "helm")
	const runbookURL = "https://wiki.example/walker/runbook"
	chart := filepath.Join(t.TempDir(), "walker")
	if out, err := exec.Command("cp", "-rL", "../charts/walker", chart).CombinedOutput(); err != nil {
		t.Fatalf("copy chart: %v\n%s", err, out)
	}
	meta, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chartYAML map[string]any
	if err := yaml.Unmarshal(meta, &chartYAML); err != nil {
		t.Fatal(err)
	}
	delete(chartYAML, "dependencies")
	if meta, err = yaml.Marshal(chartYAML); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chart, "Chart.yaml"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(chart, "charts")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, "template", "walker", chart, "--namespace", "shop",
		"--set", "prometheus.enabled=false,prometheusRule.enabled=true,grafanaDashboard.enabled=true,runbookURL="+runbookURL)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var sourceRules ruleFile
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &sourceRules); err != nil {
		t.Fatal(err)
	}
	for _, g := range sourceRules.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				r.Annotations["runbook_url"] = runbookURL + r.Annotations["runbook_url"]
			}
		}
	}
	dashboardJSON, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var sawRule, sawDashboard bool
	for _, doc := range strings.Split(string(out), "\n---") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string            `json:"name"`
				Namespace string            `json:"namespace"`
				Labels    map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec ruleFile          `json:"spec"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("rendered document: %v\n%s", err, doc)
		}
		switch {
		case obj.Kind == "PrometheusRule":
			sawRule = true
			if !reflect.DeepEqual(obj.Spec, sourceRules) {
				t.Errorf("PrometheusRule %s differs from %s", obj.Metadata.Name, rulesFile)
			}
			if obj.Metadata.Namespace != "shop" || obj.Metadata.Labels["app.kubernetes.io/instance"] != "walker" {
				t.Errorf("PrometheusRule metadata %+v", obj.Metadata)
			}
		case obj.Kind == "ConfigMap" && obj.Data["walker.json"] != "":
			sawDashboard = true
			if strings.TrimSpace(obj.Data["walker.json"]) != strings.TrimSpace(string(dashboardJSON)) {
				t.Errorf("dashboard ConfigMap %s differs from %s", obj.Metadata.Name, dashboardFile)
			}
			if obj.Metadata.Labels["grafana_dashboard"] != "1" {
				t.Errorf("dashboard ConfigMap labels %v lack grafana_dashboard=1 (Grafana's sidecar default)", obj.Metadata.Labels)
			}
		}
	}
	if !sawRule || !sawDashboard {
		t.Errorf("rendered PrometheusRule: %v, dashboard ConfigMap: %v; want both", sawRule, sawDashboard)
	}
}
