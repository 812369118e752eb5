package charts_test

import (
	"context"
	"maps"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/chart"
)

// everything turns on every optional object of the chart.
var everything = []string{"--set", "networkPolicy.enabled=true,serviceMonitor.enabled=true,prometheusRule.enabled=true," +
	"grafanaDashboard.enabled=true,autoscaling.enabled=true,ingress.enabled=true"}

// walkerDocuments renders the chart and returns the walker chart's own
// objects (not the prometheus dependency's) by "Kind/name", with the
// template each comes from.
func walkerDocuments(t *testing.T, args ...string) map[string]map[string]any {
	t.Helper()
	_, raw, err := chart.Render(context.Background(), helm(t), chartDir, release, append([]string{"--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	source := regexp.MustCompile(`(?m)^# Source: (\S+)$`)
	docs := map[string]map[string]any{}
	for _, doc := range strings.Split(raw, "\n---\n") {
		m := source.FindStringSubmatch(doc)
		if m == nil || !strings.HasPrefix(m[1], "walker/templates/") {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		if obj == nil {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		obj["source"] = m[1]
		docs[obj["kind"].(string)+"/"+meta["name"].(string)] = obj
	}
	return docs
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

func dig(obj map[string]any, path ...string) any {
	var v any = obj
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// TestStandardLabels: every object of the chart carries the standard labels
// with the right component, and the selectors are what they have always
// been (a Deployment's or StatefulSet's selector cannot change on upgrade).
func TestStandardLabels(t *testing.T) {
	docs := walkerDocuments(t, everything...)
	app := map[string]string{"app.kubernetes.io/name": "walker", "app.kubernetes.io/instance": release, "app.kubernetes.io/component": "app"}
	database := maps.Clone(app)
	database["app.kubernetes.io/component"] = "database"
	component := map[string]string{
		"Secret/" + release + "-database": "database", "Service/" + release + "-postgresql": "database",
		"StatefulSet/" + release + "-postgresql": "database", "NetworkPolicy/" + release + "-postgresql": "database",
		"Secret/" + release + "-metrics": "monitoring", "ServiceMonitor/" + release: "monitoring",
		"PrometheusRule/" + release: "monitoring", "ConfigMap/" + release + "-dashboard": "monitoring",
		"Pod/" + release + "-test": "test",
	}
	for _, name := range []string{"Deployment/", "Service/", "ConfigMap/-nginx", "Secret/-app", "ServiceAccount/",
		"HorizontalPodAutoscaler/", "Ingress/", "PodDisruptionBudget/", "NetworkPolicy/"} {
		kind, suffix, _ := strings.Cut(name, "/")
		component[kind+"/"+release+suffix] = "app"
	}
	for name, want := range component {
		obj, ok := docs[name]
		if !ok {
			t.Errorf("%s is not rendered (rendered: %v)", name, chart.Names(docs))
			continue
		}
		labels := stringMap(dig(obj, "metadata", "labels"))
		wantLabels := map[string]string{
			"helm.sh/chart": "walker-0.1.0", "app.kubernetes.io/name": "walker", "app.kubernetes.io/instance": release,
			"app.kubernetes.io/version": "0.1.0", "app.kubernetes.io/component": want,
			"app.kubernetes.io/part-of": "walker", "app.kubernetes.io/managed-by": "Helm",
		}
		for k, v := range wantLabels {
			if labels[k] != v {
				t.Errorf("%s (%s): label %s = %q, want %q", name, obj["source"], k, labels[k], v)
			}
		}
	}
	if extra := len(docs) - len(component); extra != 0 {
		t.Errorf("%d objects rendered that this test does not know: %v", extra, chart.Names(docs))
	}

	selectors := []struct {
		name string
		path []string
		want map[string]string
	}{
		{"Deployment/" + release, []string{"spec", "selector", "matchLabels"}, app},
		{"Service/" + release, []string{"spec", "selector"}, app},
		{"PodDisruptionBudget/" + release, []string{"spec", "selector", "matchLabels"}, app},
		{"NetworkPolicy/" + release, []string{"spec", "podSelector", "matchLabels"}, app},
		{"ServiceMonitor/" + release, []string{"spec", "selector", "matchLabels"}, app},
		{"StatefulSet/" + release + "-postgresql", []string{"spec", "selector", "matchLabels"}, database},
		{"Service/" + release + "-postgresql", []string{"spec", "selector"}, database},
		{"NetworkPolicy/" + release + "-postgresql", []string{"spec", "podSelector", "matchLabels"}, database},
		// The database's pods carry the selector labels only: a chart or
		// version label would restart PostgreSQL on every chart upgrade.
		{"StatefulSet/" + release + "-postgresql", []string{"spec", "template", "metadata", "labels"}, database},
	}
	for _, s := range selectors {
		if got := stringMap(dig(docs[s.name], s.path...)); !maps.Equal(got, s.want) {
			t.Errorf("%s %s = %v, want %v", s.name, strings.Join(s.path, "."), got, s.want)
		}
	}
	pod := stringMap(dig(docs["Deployment/"+release], "spec", "template", "metadata", "labels"))
	for k, v := range app {
		if pod[k] != v {
			t.Errorf("the app's pods: label %s = %q, want %q (the Deployment's selector)", k, pod[k], v)
		}
	}
}
