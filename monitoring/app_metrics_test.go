package monitoring_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/walkerhq/walker/internal/testtool"
)

func TestMain(m *testing.M) { testtool.Main(m) }

// TestKnownMetricsAreTheAppsMetrics checks walkerMetrics, the names the
// rules and the dashboard may use, against what the real app exports.
func TestKnownMetricsAreTheAppsMetrics(t *testing.T) {
	w := testtool.StartWalker(t, testtool.WalkerBinary(t), t.TempDir(), "WALKER_LOG_LEVEL=error")
	addr, metricsAddr := w.Public, w.Metrics

	// One request of each kind, so that every labelled family has a series.
	if resp, err := http.Get("http://" + addr + "/walks/start/"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("the app did not serve /metrics: %v", err)
	}
	exposition, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	exported := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			name, _, _ := strings.Cut(line, " ")
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}
	// Every name the app exports follows the conventions promtool checks.
	check := exec.Command(testtool.Require(t, "promtool"), "check", "metrics")
	check.Stdin = bytes.NewReader(exposition)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the app's /metrics: %v\n%s", err, out)
	}
	for _, m := range walkerMetrics {
		if m == "up" {
			continue // Prometheus's own
		}
		if !exported[m] {
			t.Errorf("%s is not exported by the app, yet rules or panels may use it", m)
		}
	}

	// Native histograms only show in the protobuf exposition, which a
	// Prometheus that scrapes them negotiates.
	req, _ := http.NewRequest(http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	schemas := map[string]*int32{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("protobuf exposition: %v", err)
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM && len(mf.GetMetric()) > 0 {
			schemas[mf.GetName()] = mf.GetMetric()[0].GetHistogram().Schema
		}
	}
	for _, h := range nativeHistograms {
		if schemas[h] == nil {
			t.Errorf("%s has no native buckets in the protobuf exposition, yet panels query it as a native histogram", h)
		}
	}
	if _, ok := schemas["walk_distance"]; !ok || schemas["walk_distance"] != nil {
		t.Errorf("walk_distance: schema %v, want a classic histogram (the original's buckets)", schemas["walk_distance"])
	}
}
