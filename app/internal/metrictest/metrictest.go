// Package metrictest reads metrics from a registry for the app's tests,
// by one rule, the one of a PromQL sum: a name and labels select the
// series of that family whose labels include the given ones (nil selects
// every series); a family or series that does not exist reads as 0. What a
// test checks must be exported, though: Expect and One fail when nothing is
// selected (the zero series created in advance, for rate(), are checked).
package metrictest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Series returns the selected series, for what Value does not read (a
// histogram's buckets and sum, exemplars).
func Series(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if includes(m.GetLabel(), labels) {
				out = append(out, m)
			}
		}
	}
	return out
}

func includes(have []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, lp := range have {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// Value is the sum of the selected series' values: a counter's or gauge's
// value, a histogram's sample count.
func Value(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range Series(t, g, name, labels) {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// Expect fails the test, and goes on, unless series are selected and sum
// to want.
func Expect(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string, want float64) {
	t.Helper()
	if len(Series(t, g, name, labels)) == 0 {
		t.Errorf("no series %s", selector(name, labels))
	} else if got := Value(t, g, name, labels); got != want {
		t.Errorf("sum(%s) = %g, want %g", selector(name, labels), got, want)
	}
}

// One returns the one selected series, or stops the test.
func One(t testing.TB, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	ms := Series(t, g, name, labels)
	if len(ms) != 1 {
		t.Fatalf("%d series %s, want one", len(ms), selector(name, labels))
	}
	return ms[0]
}

// selector writes name and labels as PromQL does: name{k="v",...}.
func selector(name string, labels map[string]string) string {
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}
