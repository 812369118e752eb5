package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestRunRewritesTheMarkedBlock: the rules land under prometheus.serverFiles
// in a values file, the rest of the file stays, and a second run changes nothing.
func TestRunRewritesTheMarkedBlock(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	src := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n          summary: '{{ $labels.job }} down'\n"
	values := filepath.Join(dir, "values.yaml")
	before := "image: x\nprometheus:\n  enabled: true\n  " + beginMarker + "\n  stale: true\n  " + endMarker + "\n  server:\n    name: s\n"
	for _, f := range []struct{ path, body string }{{rules, src}, {values, before}} {
		if err := os.WriteFile(f.path, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.yaml")
	if err := run(rules, out, values); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(values)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(first, &got); err != nil {
		t.Fatalf("rewritten values do not parse: %v\n%s", err, first)
	}
	var want any
	if err := yaml.Unmarshal([]byte(src), &want); err != nil {
		t.Fatal(err)
	}
	prom := got["prometheus"].(map[string]any)
	if rules := prom["serverFiles"].(map[string]any)["alerting_rules.yml"]; !reflect.DeepEqual(rules, want) {
		t.Errorf("rules in values = %v, want %v", rules, want)
	}
	if prom["stale"] != nil || prom["enabled"] != true || got["image"] != "x" || prom["server"] == nil {
		t.Errorf("the block replaced more or less than the marked part:\n%s", first)
	}
	if err := run(rules, out, values); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(values); string(second) != string(first) {
		t.Errorf("second run changed the file:\n%s", second)
	}
	if err := os.WriteFile(values, []byte("no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(rules, out, values); err == nil || !strings.Contains(err.Error(), "BEGIN walker rules") {
		t.Errorf("values without markers: err = %v, want one naming the marker", err)
	}
}
