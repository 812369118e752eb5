package chart

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// PrometheusConfig returns prometheus.yml as the bundled prometheus chart
// renders it (its server ConfigMap), with the walker job filled in by that
// chart's own `tpl`.
func (o *Objects) PrometheusConfig() (string, error) {
	for _, cm := range o.ConfigMaps {
		if cfg, ok := cm.Data["prometheus.yml"]; ok {
			return cfg, nil
		}
	}
	return "", fmt.Errorf("no ConfigMap with prometheus.yml (is prometheus.enabled true and hack/chart-deps run?); ConfigMaps: %v", Names(o.ConfigMaps))
}

// ScrapeJob returns one job of the bundled Prometheus's prometheus.yml, as
// a generic map.
func (o *Objects) ScrapeJob(job string) (map[string]any, error) {
	promYAML, err := o.PrometheusConfig()
	if err != nil {
		return nil, err
	}
	var cfg struct {
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(promYAML), &cfg); err != nil {
		return nil, err
	}
	for _, j := range cfg.ScrapeConfigs {
		if j["job_name"] == job {
			return j, nil
		}
	}
	return nil, fmt.Errorf("no scrape job %q", job)
}
