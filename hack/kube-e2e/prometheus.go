package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
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
func (e *env) expectTargets(ctx context.Context) error {
	pods, err := e.walkerPods(ctx, 0)
	if err != nil {
		return err
	}
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
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
		fmt.Printf("Prometheus: %s; dropped the endpoints of %v\n", last, slices.Sorted(maps.Keys(dropped)))
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

// rulesHealthy checks that every bundled rule loaded and was evaluated
// against the real series without error.
func (e *env) rulesHealthy(ctx context.Context) error {
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
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

// walkSeries are the walk counters the browser step moves.
var walkSeries = [...]string{"walks_started_total", "walks_completed_total", "walk_distance_count", "walk_distance_sum"}

// walkCounts are the walkSeries' sums over the walker job, in that order;
// 0 for a series not exported yet.
type walkCounts [len(walkSeries)]float64

func (p *prometheus) walkCounts(ctx context.Context) (walkCounts, error) {
	var c walkCounts
	for i, series := range walkSeries {
		v, err := promapi.Value(ctx, p.api, fmt.Sprintf(`sum(%s{job="walker"}) or vector(0)`, series))
		if err != nil {
			return c, err
		}
		c[i] = v
	}
	return c, nil
}

// expectWalkCounts waits until the counters moved by exactly delta.
func (p *prometheus) expectWalkCounts(ctx context.Context, before, delta walkCounts) error {
	return poll(ctx, "walk counters in Prometheus", 2*time.Minute, func() (bool, error) {
		have, err := p.walkCounts(ctx)
		if err != nil {
			return false, err
		}
		var moved []string
		for i, series := range walkSeries {
			if math.Abs(have[i]-before[i]-delta[i]) > 1e-9 {
				return false, fmt.Errorf("%s moved %g -> %g, want +%g", series, before[i], have[i], delta[i])
			}
			moved = append(moved, fmt.Sprintf("%s %g -> %g", series, before[i], have[i]))
		}
		fmt.Printf("Prometheus: %s\n", strings.Join(moved, ", "))
		return true, nil
	})
}
