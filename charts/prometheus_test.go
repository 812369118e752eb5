package charts_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/testtool"
)

// TestScrapeConfigPassesPromtool materialises the bundled Prometheus's
// rendered files (its ConfigMap and the mounted metrics Secret) and runs
// `promtool check config` on them.
func TestScrapeConfigPassesPromtool(t *testing.T) {
	promtool := testtool.Require(t, "promtool")
	objs := render(t)
	// The walker job in it: walkerJob, in the tests below, checks it is there.
	server, ok := objs.ConfigMaps[release+"-prometheus-server"]
	if !ok || server.Data["prometheus.yml"] == "" {
		t.Fatalf("no prometheus.yml in ConfigMap %s-prometheus-server: %v", release, chart.Names(objs.ConfigMaps))
	}
	// The server's files by container path. The chart's default jobs read
	// the pod's service-account files; promtool only checks that they exist.
	const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"
	files := map[string]string{
		serviceAccount + "/token":  "promtool checks only that this file exists",
		serviceAccount + "/ca.crt": "promtool checks only that this file exists",
	}
	for name, data := range server.Data {
		files["/etc/config/"+name] = data
	}
	for k, v := range objs.Secrets[release+"-metrics"].Data {
		files["/etc/walker-metrics/"+k] = string(v)
	}
	// Container paths become folders of the test.
	dir := t.TempDir()
	local := strings.NewReplacer("/etc/config", dir+"/etc/config", "/etc/walker-metrics", dir+"/etc/walker-metrics",
		serviceAccount, dir+serviceAccount)
	for path, data := range files {
		os.MkdirAll(filepath.Dir(dir+path), 0o755)
		if err := os.WriteFile(dir+path, []byte(local.Replace(data)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(promtool, "check", "config", dir+"/etc/config/prometheus.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// walkerJob is the walker scrape job of objs's prometheus.yml.
func walkerJob(t *testing.T, objs *chart.Objects) map[string]any {
	t.Helper()
	job, err := objs.ScrapeJob("walker")
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// relabelConfigs parses the walker job's relabel rules with Prometheus's own
// code.
func relabelConfigs(t *testing.T, job map[string]any) []*relabel.Config {
	t.Helper()
	raw, _ := yaml.Marshal(job["relabel_configs"])
	var cfgs []*relabel.Config
	if err := yamlv2.UnmarshalStrict(raw, &cfgs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cfgs {
		if err := c.Validate(model.UTF8Validation); err != nil {
			t.Fatal(err)
		}
	}
	return cfgs
}

// endpoint is the discovery labels Kubernetes SD (role endpointslice) gives
// one address of a Service.
func endpoint(service, instance, component, port, pod string) map[string]string {
	return map[string]string{
		"__address__":                                                 "10.244.0.7:8080",
		"__meta_kubernetes_namespace":                                 namespace,
		"__meta_kubernetes_service_name":                              service,
		"__meta_kubernetes_pod_name":                                  pod,
		"__meta_kubernetes_endpointslice_name":                        service + "-abcde",
		"__meta_kubernetes_endpointslice_port_name":                   port,
		"__meta_kubernetes_endpointslice_endpoint_conditions_ready":   "true",
		"__meta_kubernetes_service_label_app_kubernetes_io_name":      "walker",
		"__meta_kubernetes_service_label_app_kubernetes_io_instance":  instance,
		"__meta_kubernetes_service_label_app_kubernetes_io_component": component,
		"__metrics_path__":                                            "/metrics",
		"__scheme__":                                                  "http",
		"job":                                                         "walker",
	}
}

func TestScrapeJobRelabeling(t *testing.T) {
	objs := render(t)
	job := walkerJob(t, objs)
	sds, _ := job["kubernetes_sd_configs"].([]any)
	if len(sds) != 1 || sds[0].(map[string]any)["role"] != "endpointslice" {
		t.Fatalf("kubernetes_sd_configs = %v, want one with role endpointslice (v1 Endpoints are deprecated)", sds)
	}
	cfgs := relabelConfigs(t, job)

	svc := objs.Services[release]
	podName := release + "-7d4b9c-x2x9q"
	match := endpoint(svc.Name, svc.Labels["app.kubernetes.io/instance"], svc.Labels["app.kubernetes.io/component"], svc.Spec.Ports[0].Name, podName)
	lb := labels.NewBuilder(labels.FromMap(match))
	if !relabel.ProcessBuilder(lb, cfgs...) {
		t.Fatalf("the release's own walker endpoint is dropped")
	}
	got := lb.Labels().Map()
	want := map[string]string{"namespace": namespace, "pod": podName, "service": release, "job": release, "endpoint": "http"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	pg := objs.Services[release+"-postgresql"]
	dropped := []struct {
		name   string
		labels map[string]string
	}{
		{"another release's walker", endpoint("shop-walker", "shop", "app", "http", "shop-walker-1")},
		{"the app's own port, past nginx", endpoint(release, release, "app", "app", podName)},
		{"a port without a name", endpoint(release, release, "app", "", podName)},
		{"the bundled PostgreSQL", endpoint(pg.Name, release, pg.Labels["app.kubernetes.io/component"], pg.Spec.Ports[0].Name, release+"-postgresql-0")},
		{"an unlabelled service", func() map[string]string {
			m := endpoint("kubernetes", "", "", "https", "")
			delete(m, "__meta_kubernetes_service_label_app_kubernetes_io_name")
			return m
		}()},
	}
	for _, d := range dropped {
		if relabel.ProcessBuilder(labels.NewBuilder(labels.FromMap(d.labels)), cfgs...) {
			t.Errorf("%s is kept by the walker job", d.name)
		}
	}
}

// TestStandalonePrometheusValues: installed on its own with
// charts/walker/prometheus-values.yaml (generated by monitoring/promvalues,
// whose test keeps it up to date), the real prometheus chart renders the
// same walker job as the bundled one.
func TestStandalonePrometheusValues(t *testing.T) {
	standalone, _, err := chart.Render(context.Background(), helm(t), "walker/charts/prometheus", "prometheus",
		"--namespace", namespace, "-f", "walker/prometheus-values.yaml",
		"--set", "alertmanager.enabled=false,kube-state-metrics.enabled=false,prometheus-node-exporter.enabled=false,prometheus-pushgateway.enabled=false")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := yaml.Marshal(walkerJob(t, standalone))
	b, _ := yaml.Marshal(walkerJob(t, render(t)))
	if !bytes.Equal(a, b) {
		t.Errorf("the standalone job differs from the bundled one:\n%s\n---\n%s", a, b)
	}
	if bytes.Contains(a, []byte("{{")) {
		t.Errorf("unrendered template in the standalone job:\n%s", a)
	}
}

// TestBundledPrometheusKeepsNativeHistogramsAndExemplars: the walker job
// scrapes native histograms and still the classic buckets (the rules read
// _bucket series), and the server stores exemplars.
func TestBundledPrometheusKeepsNativeHistogramsAndExemplars(t *testing.T) {
	objs := render(t)
	job := walkerJob(t, objs)
	if job["scrape_native_histograms"] != true || job["always_scrape_classic_histograms"] != true {
		t.Errorf("walker job: scrape_native_histograms %v, always_scrape_classic_histograms %v; want both true",
			job["scrape_native_histograms"], job["always_scrape_classic_histograms"])
	}
	var args []string
	for _, d := range objs.Deployments {
		if c := chart.Container(&d.Spec.Template.Spec, "prometheus-server"); c != nil {
			args = c.Args
		}
	}
	// The chart's own flags stay (the config reloader needs the lifecycle API).
	for _, flag := range []string{"--enable-feature=exemplar-storage", "--web.enable-lifecycle"} {
		if !slices.Contains(args, flag) {
			t.Errorf("prometheus-server args %v lack %s", args, flag)
		}
	}
}
