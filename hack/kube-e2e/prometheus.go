package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/chart"
)

type prometheus struct {
	url string
}

// startPrometheus runs a real Prometheus with the walker job exactly as the
// bundled prometheus chart renders it (through its tpl), pointed at our API
// server by a kubeconfig (there is no in-cluster service account here), with
// the metrics Secret materialised where the chart mounts it.
func (e *env) startPrometheus(ctx context.Context, cp *controlPlane, helm, values string) (*prometheus, error) {
	bin, err := e.tool("prometheus")
	if err != nil {
		return nil, err
	}
	objs, _, err := chart.Render(ctx, helm, filepath.Join(e.root, "charts", "walker"), release,
		"--namespace", namespace, "-f", values, "--set", "prometheus.enabled=true")
	if err != nil {
		return nil, err
	}
	promYAML, err := objs.PrometheusConfig()
	if err != nil {
		return nil, err
	}
	job, err := chart.ScrapeJob(promYAML, "walker")
	if err != nil {
		return nil, err
	}
	sds, _ := job["kubernetes_sd_configs"].([]any)
	if len(sds) == 0 {
		return nil, fmt.Errorf("the chart's walker job has no kubernetes_sd_configs")
	}
	for _, sd := range sds {
		sd.(map[string]any)["kubeconfig_file"] = cp.kubeconfig
	}
	// The Secret, from the API server, where the chart's server mounts it.
	secret, err := cp.client.CoreV1().Secrets(namespace).Get(ctx, release+"-metrics", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.dir, "prometheus")
	secretDir := filepath.Join(dir, "walker-metrics")
	if err := os.MkdirAll(secretDir, 0o700); err != nil {
		return nil, err
	}
	for k, v := range secret.Data {
		if err := os.WriteFile(filepath.Join(secretDir, k), v, 0o600); err != nil {
			return nil, err
		}
	}
	auth, _ := job["basic_auth"].(map[string]any)
	for _, f := range []string{"username_file", "password_file"} {
		p, _ := auth[f].(string)
		if !strings.HasPrefix(p, "/etc/walker-metrics/") {
			return nil, fmt.Errorf("basic_auth.%s = %q, not in the mounted metrics Secret", f, p)
		}
		auth[f] = filepath.Join(secretDir, strings.TrimPrefix(p, "/etc/walker-metrics/"))
	}
	cfg := map[string]any{
		"global":         map[string]any{"scrape_interval": "2s", "evaluation_interval": "2s"},
		"scrape_configs": []any{job},
	}
	// The rules as the bundled Prometheus gets them: the rule files of its
	// rendered ConfigMap (serverFiles), generated from monitoring/.
	var rules []string
	for _, cm := range objs.ConfigMaps {
		if _, ok := cm.Data["prometheus.yml"]; !ok {
			continue
		}
		for _, name := range []string{"alerting_rules.yml", "recording_rules.yml"} {
			if data, ok := cm.Data[name]; ok && strings.Contains(data, "groups") {
				fast, err := evaluateEvery(data, "2s")
				if err != nil {
					return nil, fmt.Errorf("%s of the bundled Prometheus: %w", name, err)
				}
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, fast, 0o644); err != nil {
					return nil, err
				}
				rules = append(rules, path)
			}
		}
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("the bundled Prometheus's ConfigMap carries no rules")
	}
	cfg["rule_files"] = rules
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return nil, err
	}
	if promtool, err := e.tool("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "config", cfgPath).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("promtool check config: %v\n%s", err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if _, err := e.start("prometheus", nil, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--log.level=warn"); err != nil {
		return nil, err
	}
	p := &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("Prometheus not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (p *prometheus) get(ctx context.Context, path string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

type target struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Labels           map[string]string `json:"labels"`
	ScrapePool       string            `json:"scrapePool"`
	Health           string            `json:"health"`
	LastError        string            `json:"lastError"`
}

// expectOnlyTarget waits until the walker job has exactly one active
// target, the pod's, up, with the labels the chart's relabeling promises,
// and checks that the other endpoints in the namespace were dropped.
func (p *prometheus) expectOnlyTarget(ctx context.Context, pod string) error {
	want := map[string]string{"namespace": namespace, "pod": pod, "service": release, "job": release, "endpoint": "http"}
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for {
		var body struct {
			Data struct {
				Active  []target `json:"activeTargets"`
				Dropped []target `json:"droppedTargets"`
			} `json:"data"`
		}
		err := p.get(ctx, "/api/v1/targets?state=any", &body)
		if err == nil {
			last = describeTargets(body.Data.Active)
			if len(body.Data.Active) == 1 && body.Data.Active[0].Health == "up" && labelsMatch(body.Data.Active[0].Labels, want) {
				droppedServices := map[string]bool{}
				for _, d := range body.Data.Dropped {
					droppedServices[d.DiscoveredLabels["__meta_kubernetes_service_name"]] = true
				}
				if !droppedServices["walker-decoy"] {
					return fmt.Errorf("the decoy Service was not among the dropped targets: %v", droppedServices)
				}
				fmt.Printf("target up: %v; dropped endpoints of %v\n", body.Data.Active[0].Labels, keys(droppedServices))
				return nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("want one walker target up with labels %v; have %s", want, last)
		}
		time.Sleep(time.Second)
	}
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func describeTargets(ts []target) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%v %s %s", t.Labels, t.Health, t.LastError))
	}
	return fmt.Sprintf("%d active: %s", len(ts), strings.Join(parts, "; "))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expectRulesLoaded checks that monitoring's rules load and evaluate.
func (p *prometheus) expectRulesLoaded(ctx context.Context) error {
	var body struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				File  string `json:"file"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := p.get(ctx, "/api/v1/rules", &body); err != nil {
			return err
		}
		n, bad, unknown := 0, []string{}, 0
		for _, g := range body.Data.Groups {
			for _, r := range g.Rules {
				n++
				switch r.Health {
				case "err":
					bad = append(bad, r.Name+": "+r.LastError)
				case "unknown":
					unknown++
				}
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("rules failing in Prometheus: %v", bad)
		}
		if n == 0 {
			return fmt.Errorf("Prometheus loaded no rules")
		}
		if unknown == 0 {
			fmt.Printf("%d rules in %d groups loaded and evaluated without errors\n", n, len(body.Data.Groups))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d rules never evaluated", unknown, n)
		}
		time.Sleep(time.Second)
	}
}

type walkCounts struct {
	started, completed, distanceCount, distanceSum float64
}

func (p *prometheus) query(ctx context.Context, expr string) (float64, error) {
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &body); err != nil {
		return 0, err
	}
	if len(body.Data.Result) == 0 {
		return 0, nil // no series yet: nothing counted
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

func (p *prometheus) walkCounts(ctx context.Context) (walkCounts, error) {
	var c walkCounts
	for _, q := range []struct {
		expr string
		into *float64
	}{
		{`sum(walks_started_total{job="walker"})`, &c.started},
		{`sum(walks_completed_total{job="walker"})`, &c.completed},
		{`sum(walk_distance_count{job="walker"})`, &c.distanceCount},
		{`sum(walk_distance_sum{job="walker"})`, &c.distanceSum},
	} {
		v, err := p.query(ctx, q.expr)
		if err != nil {
			return c, err
		}
		*q.into = v
	}
	return c, nil
}

// expectWalkCounts waits until the counters moved by exactly delta.
func (p *prometheus) expectWalkCounts(ctx context.Context, before, delta walkCounts) error {
	want := walkCounts{before.started + delta.started, before.completed + delta.completed,
		before.distanceCount + delta.distanceCount, before.distanceSum + delta.distanceSum}
	deadline := time.Now().Add(60 * time.Second)
	var have walkCounts
	var err error
	for {
		have, err = p.walkCounts(ctx)
		if err == nil && countsEqual(have, want) {
			fmt.Printf("Prometheus: walks_started_total %g -> %g, walks_completed_total %g -> %g, walk_distance count %g -> %g, sum %g -> %g\n",
				before.started, have.started, before.completed, have.completed, before.distanceCount, have.distanceCount, before.distanceSum, have.distanceSum)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("walk metrics in Prometheus %+v, want %+v (%v)", have, want, err)
		}
		time.Sleep(time.Second)
	}
}

func countsEqual(a, b walkCounts) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return eq(a.started, b.started) && eq(a.completed, b.completed) && eq(a.distanceCount, b.distanceCount) && eq(a.distanceSum, b.distanceSum)
}

// evaluateEvery sets every rule group's interval to d. The bundled rules
// evaluate their recording groups once a minute, so within the test some
// would never run and their errors (a bad expression against the real
// series) would go unseen; the rules themselves are left as they are.
func evaluateEvery(rules, d string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(rules), &doc); err != nil {
		return nil, err
	}
	groups, _ := doc["groups"].([]any)
	if len(groups) == 0 {
		return nil, fmt.Errorf("no rule groups")
	}
	for _, g := range groups {
		group, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("rule group is %T, not a mapping", g)
		}
		group["interval"] = d
	}
	return yaml.Marshal(doc)
}
