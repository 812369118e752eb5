package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/walkerhq/walker/internal/promapi"
)

// prometheus is the bundled Prometheus server, read as a user reads it:
// through `kubectl port-forward svc/walker-prometheus-server`.
type prometheus struct {
	fwd *forward
	api promv1.API
}

func (e *env) prometheus(ctx context.Context) (*prometheus, error) {
	if e.s.prom != nil && e.s.prom.fwd.alive() {
		return e.s.prom, nil
	}
	fwd, err := e.portForward(ctx, "svc/"+release+"-prometheus-server", 80)
	if err != nil {
		return nil, err
	}
	api, err := promapi.New(fwd.url)
	if err != nil {
		return nil, err
	}
	e.s.prom = &prometheus{fwd: fwd, api: api}
	return e.s.prom, nil
}

// expectTargets waits until the walker job has exactly one healthy target
// per ready walker pod, with the labels the chart's relabeling promises,
// and no other job scrapes anything in the release's namespace.
func (p *prometheus) expectTargets(ctx context.Context, pods []string) error {
	var last string
	return poll(ctx, fmt.Sprintf("walker targets %v up", pods), 2*time.Minute, func() (bool, error) {
		ts, err := p.api.Targets(ctx)
		if err != nil {
			return false, err
		}
		var up, others []string
		for _, t := range ts.Active {
			switch {
			case t.ScrapePool == release:
				want := model.LabelSet{"namespace": namespace, "service": release, "job": release, "endpoint": "http"}
				if t.Health == promv1.HealthGood && labelsMatch(t.Labels, want) {
					up = append(up, string(t.Labels["pod"]))
				}
			case t.DiscoveredLabels["__meta_kubernetes_namespace"] == namespace:
				others = append(others, t.ScrapePool+" "+t.ScrapeURL)
			}
		}
		sort.Strings(up)
		last = fmt.Sprintf("walker job: %v up; other jobs in the namespace: %v", up, others)
		if len(others) > 0 {
			return false, fmt.Errorf("scraped besides the walker job: %v", others)
		}
		if !slices.Equal(up, pods) {
			return false, fmt.Errorf("%s", last)
		}
		dropped := map[string]bool{}
		for _, d := range ts.Dropped {
			if d.DiscoveredLabels["__meta_kubernetes_namespace"] == namespace {
				dropped[d.DiscoveredLabels["__meta_kubernetes_service_name"]] = true
			}
		}
		if !dropped["walker-decoy"] {
			return false, fmt.Errorf("the decoy Service is not among the dropped targets")
		}
		fmt.Printf("Prometheus: %s; dropped the endpoints of %v\n", last, keys(dropped))
		return true, nil
	})
}

func labelsMatch(have, want model.LabelSet) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (e *env) rulesHealthy(ctx context.Context) error {
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
	return p.expectRulesHealthy(ctx)
}

// expectRulesHealthy checks that every bundled rule loaded and was
// evaluated against the real series without error.
func (p *prometheus) expectRulesHealthy(ctx context.Context) error {
	return poll(ctx, "every rule evaluated", 3*time.Minute, func() (bool, error) {
		rules, err := p.api.Rules(ctx, nil)
		if err != nil {
			return false, err
		}
		n, unknown, bad := 0, 0, []string{}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				var name, lastErr string
				var health promv1.RuleHealth
				switch r := r.(type) {
				case promv1.AlertingRule:
					name, health, lastErr = r.Name, r.Health, r.LastError
				case promv1.RecordingRule:
					name, health, lastErr = r.Name, r.Health, r.LastError
				}
				n++
				switch health {
				case promv1.RuleHealthBad:
					bad = append(bad, name+": "+lastErr)
				case promv1.RuleHealthUnknown:
					unknown++
				}
			}
		}
		if len(bad) > 0 {
			return false, fmt.Errorf("rules failing: %v", bad)
		}
		if n == 0 || unknown > 0 {
			return false, fmt.Errorf("%d rules, %d not evaluated yet", n, unknown)
		}
		fmt.Printf("Prometheus: %d rules in %d groups evaluated without error\n", n, len(rules.Groups))
		return true, nil
	})
}

type walkCounts struct {
	started, completed, distanceCount, distanceSum float64
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
		v, err := promapi.Value(ctx, p.api, q.expr)
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
	return poll(ctx, "walk counters in Prometheus", 2*time.Minute, func() (bool, error) {
		have, err := p.walkCounts(ctx)
		if err != nil {
			return false, err
		}
		if !countsEqual(have, want) {
			return false, fmt.Errorf("have %+v, want %+v", have, want)
		}
		fmt.Printf("Prometheus: walks_started_total %g -> %g, walks_completed_total %g -> %g, walk_distance count %g -> %g, sum %g -> %g\n",
			before.started, have.started, before.completed, have.completed, before.distanceCount, have.distanceCount, before.distanceSum, have.distanceSum)
		return true, nil
	})
}

func countsEqual(a, b walkCounts) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return eq(a.started, b.started) && eq(a.completed, b.completed) && eq(a.distanceCount, b.distanceCount) && eq(a.distanceSum, b.distanceSum)
}
