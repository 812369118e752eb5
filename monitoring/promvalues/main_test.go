package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestGeneratedFilesUpToDate is the one drift test of the generated values:
// the committed files are exactly what the generator writes from the
// sources.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		have, err := os.ReadFile(filepath.Join("../..", path))
		if err != nil || !bytes.Equal(have, want) {
			t.Errorf("%s is out of date with its sources (%v): run go run ./monitoring/promvalues", path, err)
		}
	}
}

// TestGenerate: the rules land under prometheus.serverFiles in the chart's
// values with the runbook base before each anchor, the rest of the file
// stays, the scrape job names the walker release, and values without the
// markers are refused.
func TestGenerate(t *testing.T) {
	root := t.TempDir()
	rules := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n" +
		"          summary: '{{ $labels.job }} down'\n          runbook_url: '#a'\n"
	values := "image: x\nrunbookURL: https://wiki.example/rb\nprometheus:\n  enabled: true\n  " + beginMarker + "\n  stale: true\n  " + endMarker +
		"\n  server:\n    extraArgs: {enable-feature: exemplar-storage}\n  extraScrapeConfigs: |\n    - job_name: walker\n      regex: walker;{{ .Release.Name }}\n"
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(rulesPath, rules)
	write(chartValuesPath, values)
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(files[chartValuesPath], &got); err != nil {
		t.Fatalf("generated values do not parse: %v\n%s", err, files[chartValuesPath])
	}
	var want map[string]any
	if err := yaml.Unmarshal([]byte(strings.Replace(rules, "'#a'", "'https://wiki.example/rb#a'", 1)), &want); err != nil {
		t.Fatal(err)
	}
	prom := got["prometheus"].(map[string]any)
	if rules := prom["serverFiles"].(map[string]any)["alerting_rules.yml"]; !reflect.DeepEqual(rules, want) {
		t.Errorf("rules in values = %v, want %v", rules, want)
	}
	if prom["stale"] != nil || prom["enabled"] != true || got["image"] != "x" || prom["server"] == nil {
		t.Errorf("the block replaced more or less than the marked part:\n%s", files[chartValuesPath])
	}
	if !bytes.Contains(files[rulesValuesPath], []byte("https://wiki.example/rb#a")) {
		t.Errorf("%s lacks the runbook link:\n%s", rulesValuesPath, files[rulesValuesPath])
	}
	if s := string(files[scrapeValuesPath]); !strings.Contains(s, "regex: walker;walker\n") || !strings.Contains(s, "enable-feature: exemplar-storage") {
		t.Errorf("%s does not carry the job for the walker release and the server's flags:\n%s", scrapeValuesPath, s)
	}

	write(chartValuesPath, string(files[chartValuesPath]))
	again, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again[chartValuesPath], files[chartValuesPath]) {
		t.Errorf("a second run changes the values:\n%s", again[chartValuesPath])
	}
	write(chartValuesPath, "image: x\n")
	if _, err := generate(root); err == nil || !strings.Contains(err.Error(), "BEGIN walker rules") {
		t.Errorf("values without markers: err = %v, want one naming the marker", err)
	}
}
