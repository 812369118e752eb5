// Package charts_test checks the walker chart: helm lint and helm template
// over a matrix of values, with every rendered object decoded strictly into
// the Kubernetes API types; the rendered nginx configuration running in a
// real nginx in front of the real app; and the rendered Prometheus scrape
// job checked by promtool and by Prometheus's own relabeling code.
package charts_test

import (
	"context"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/testtool"
)

const (
	chartDir  = "walker"
	release   = "walker"
	namespace = "demo"
)

// chartDeps puts the chart's dependency in place, once.
var chartDeps = sync.OnceValue(func() error {
	if out, err := exec.Command("../hack/chart-deps").CombinedOutput(); err != nil {
		return fmt.Errorf("hack/chart-deps: %v\n%s", err, out)
	}
	return nil
})

// helm returns the helm binary, with the chart's dependency in place.
func helm(t *testing.T) string {
	t.Helper()
	bin := testtool.Require(t, "helm")
	if err := chartDeps(); err != nil {
		t.Fatal(err)
	}
	return bin
}

func render(t *testing.T, args ...string) *chart.Objects {
	t.Helper()
	objs, _, err := chart.Render(context.Background(), helm(t), chartDir, release, append([]string{"--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// matrix is the set of value combinations every check runs over; check,
// where there is one, is what the combination alone should render.
var matrix = []struct {
	name  string
	args  []string
	check func(t *testing.T, objs *chart.Objects)
}{
	{"defaults: a bundled PostgreSQL, no optional object, no tracing", nil, func(t *testing.T, objs *chart.Objects) {
		if _, ok := objs.StatefulSets[release+"-postgresql"]; !ok {
			t.Errorf("no PostgreSQL StatefulSet: %v", chart.Names(objs.StatefulSets))
		}
		if len(objs.HPAs) != 0 || len(objs.Ingresses) != 0 || len(objs.Custom) != 0 {
			t.Errorf("optional objects rendered by default: HPAs %v, Ingresses %v, others %v",
				chart.Names(objs.HPAs), chart.Names(objs.Ingresses), chart.Names(objs.Custom))
		}
		if d := objs.Deployments[release]; d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("replicas = %v", d.Spec.Replicas)
		}
		spec := deployment(t, objs)
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "OTEL_") {
					t.Errorf("%s: %s is set with tracing off", c.Name, e.Name)
				}
			}
		}
	}},
	{"external database", []string{"--set", "postgresql.enabled=false,externalDatabase.host=db.example.com,externalDatabase.password=s3cret,externalDatabase.sslmode=require"}, func(t *testing.T, objs *chart.Objects) {
		if len(objs.StatefulSets) != 0 {
			t.Errorf("StatefulSets rendered with an external database: %v", chart.Names(objs.StatefulSets))
		}
		env := envOf(chart.Container(deployment(t, objs), "walker"))
		if env["DB_HOST"] != "db.example.com" || env["DB_SSLMODE"] != "require" {
			t.Errorf("app env = %v", env)
		}
		if string(objs.Secrets[release+"-database"].Data["password"]) != "s3cret" {
			t.Error("the external password is not in the database Secret")
		}
	}},
	{"existing secrets replace the chart's", []string{"--set", "metrics.auth.existingSecret=my-metrics,app.existingSecret=my-app,postgresql.existingSecret=my-db,prometheus.server.extraSecretMounts[0].name=walker-metrics,prometheus.server.extraSecretMounts[0].mountPath=/etc/walker-metrics,prometheus.server.extraSecretMounts[0].secretName=my-metrics"}, func(t *testing.T, objs *chart.Objects) {
		for _, name := range []string{release + "-metrics", release + "-app", release + "-database"} {
			if _, ok := objs.Secrets[name]; ok {
				t.Errorf("Secret %s rendered although an existing one is given", name)
			}
		}
	}},
	{"external database from an existing secret", []string{"--set", "postgresql.enabled=false,externalDatabase.host=db,externalDatabase.existingSecret=ext-db,externalDatabase.existingSecretUsernameKey=user,externalDatabase.existingSecretPasswordKey=pass"}, checkExternalDatabaseSecret},
	{"ingress on", []string{"--set", "ingress.enabled=true,ingress.className=nginx,ingress.tls[0].hosts[0]=walker.local,ingress.tls[0].secretName=walker-tls"}, func(t *testing.T, objs *chart.Objects) {
		ing, ok := objs.Ingresses[release]
		if !ok || ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
			t.Fatalf("Ingress = %+v", ing)
		}
		b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
		if b.Name != release || b.Port.Name != "http" {
			t.Errorf("Ingress backend = %+v", b)
		}
	}},
	{"HPA on", []string{"--set", "autoscaling.enabled=true"}, func(t *testing.T, objs *chart.Objects) {
		if _, ok := objs.HPAs[release]; !ok {
			t.Error("no HPA")
		}
		if objs.Deployments[release].Spec.Replicas != nil {
			t.Error("the Deployment sets replicas while the HPA owns them")
		}
	}},
	{"Prometheus off", []string{"--set", "prometheus.enabled=false"}, func(t *testing.T, objs *chart.Objects) {
		if _, err := objs.PrometheusConfig(); err == nil {
			t.Error("a Prometheus is rendered with prometheus.enabled=false")
		}
	}},
	{"ServiceMonitor on", []string{"--set", "serviceMonitor.enabled=true,prometheus.enabled=false"}, func(t *testing.T, objs *chart.Objects) {
		sm, ok := objs.Custom["ServiceMonitor/"+release]
		if !ok {
			t.Fatalf("no ServiceMonitor: %v", objs.Custom)
		}
		ep := dig(sm, "spec", "endpoints").([]any)[0].(map[string]any)
		if ep["port"] != "http" || dig(ep, "basicAuth", "password", "name") != release+"-metrics" {
			t.Errorf("ServiceMonitor endpoint = %v", ep)
		}
	}},
	{"NetworkPolicy on: only nginx's port admitted", []string{"--set", "networkPolicy.enabled=true"}, func(t *testing.T, objs *chart.Objects) {
		np, ok := objs.NetworkPolicies[release]
		if !ok || len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.StrVal != "http" {
			t.Errorf("NetworkPolicy = %+v", np)
		}
	}},
	{"PrometheusRule and Grafana dashboard on", []string{"--set", "prometheusRule.enabled=true,grafanaDashboard.enabled=true,runbookURL=" + runbookURL}, checkMonitoring},
	{"tracing on: the standard OTEL variables, of the app only", []string{"--set", "tracing.enabled=true,tracing.endpoint=http://otel-collector.monitoring:4318,tracing.sampler=parentbased_traceidratio,tracing.samplerArg=0.25,tracing.resourceAttributes=deployment.environment.name=test"}, checkTracing},
	{"ids left to the platform (OpenShift)", []string{"--set", platformIDs}, nil},
}

func TestLintStrict(t *testing.T) {
	bin := helm(t)
	for _, m := range matrix {
		t.Run(m.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--namespace", namespace}, m.args...)
			if !strings.Contains(strings.Join(m.args, ","), "existingSecret=my-metrics") {
				// helm lint names the release "test-release": point the
				// bundled Prometheus at that release's Secret.
				args = append(args, "--set", "prometheus.server.extraSecretMounts[0].name=m,prometheus.server.extraSecretMounts[0].mountPath=/etc/walker-metrics,prometheus.server.extraSecretMounts[0].secretName=test-release-walker-metrics")
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil || strings.Contains(string(out), "[ERROR]") || strings.Contains(string(out), "[WARNING]") {
				t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

func TestTemplateMatrix(t *testing.T) {
	for _, m := range matrix {
		t.Run(m.name, func(t *testing.T) {
			objs := render(t, m.args...)
			checkPod(t, objs)
			checkService(t, objs)
			checkSecretReferences(t, objs)
			if m.check != nil {
				m.check(t, objs)
			}
		})
	}
}

func deployment(t *testing.T, objs *chart.Objects) *corev1.PodSpec {
	t.Helper()
	d, ok := objs.Deployments[release]
	if !ok {
		t.Fatalf("no Deployment %q: %v", release, chart.Names(objs.Deployments))
	}
	return &d.Spec.Template.Spec
}

func checkPod(t *testing.T, objs *chart.Objects) {
	t.Helper()
	spec := deployment(t, objs)
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod mounts a service-account token it does not need")
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	for _, name := range []string{"nginx", "metrics-secret"} {
		if len(checksum(objs, name)) != 64 {
			t.Errorf("pod annotation checksum/%s = %q, want a sha256", name, checksum(objs, name))
		}
	}
	if len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "migrate" || !slices.Equal(spec.InitContainers[0].Args, []string{"migrate"}) {
		t.Errorf("init containers = %+v, want one running `walker migrate`", spec.InitContainers)
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s: no securityContext", c.Name)
			continue
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s: allowPrivilegeEscalation is not false", c.Name)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s: readOnlyRootFilesystem is not true", c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}):
			t.Errorf("%s: capabilities not all dropped", c.Name)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s: seccomp is not RuntimeDefault", c.Name)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: memory request or limit missing", c.Name)
		}
		for _, e := range c.Env {
			if strings.Contains(e.Name, "PASSWORD") || e.Name == "DB_USER" || e.Name == "WALKER_SECRET_KEY" {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s is not read from a Secret", c.Name, e.Name)
				}
			}
		}
	}
	app := chart.Container(spec, "walker")
	nginx := chart.Container(spec, "nginx")
	if app == nil || nginx == nil {
		t.Fatalf("containers = %v, want walker and nginx", spec.Containers)
	}
	if env := envOf(app); env["WALKER_METRICS_ADDR"] != "127.0.0.1:9000" || env["WALKER_MIGRATE"] != "false" {
		t.Errorf("app env: metrics on %q (want 127.0.0.1:9000), migrate %q (want false)", env["WALKER_METRICS_ADDR"], env["WALKER_MIGRATE"])
	}
	if !slices.Equal(app.Args, []string{"serve"}) {
		t.Errorf("app args = %v", app.Args)
	}
	if len(nginx.Ports) != 1 || nginx.Ports[0].Name != "http" || nginx.Ports[0].ContainerPort != 8080 {
		t.Errorf("nginx ports = %+v, want one named http on 8080", nginx.Ports)
	}
	if slices.ContainsFunc(app.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == 9000 }) {
		t.Error("the metrics port is declared on the pod")
	}
	probes := []struct {
		c     *corev1.Container
		probe *corev1.Probe
		path  string
	}{
		{app, app.ReadinessProbe, "/readyz"}, {app, app.LivenessProbe, "/livez"},
		{nginx, nginx.ReadinessProbe, "/nginx-health"}, {nginx, nginx.LivenessProbe, "/nginx-health"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: probe %+v, want httpGet %s", p.c.Name, p.probe, p.path)
		}
	}
	sleeps := map[string]int64{}
	for _, c := range []*corev1.Container{app, nginx} {
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
			t.Errorf("%s: no preStop delay", c.Name)
			continue
		}
		sleeps[c.Name] = c.Lifecycle.PreStop.Sleep.Seconds
	}
	// nginx must stop first: requests it passes on to an app that has
	// stopped listening are 502s.
	if sleeps[app.Name] <= sleeps[nginx.Name] {
		t.Errorf("preStop sleeps: app %ds, nginx %ds; the app must outlive nginx", sleeps[app.Name], sleeps[nginx.Name])
	}
	for _, want := range []string{"/etc/nginx/walker", "/etc/nginx/htpasswd", "/etc/nginx/metrics-scraper", "/tmp"} {
		if !slices.ContainsFunc(nginx.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == want }) {
			t.Errorf("nginx does not mount %s", want)
		}
	}
}

func checkService(t *testing.T, objs *chart.Objects) {
	t.Helper()
	svc, ok := objs.Services[release]
	if !ok {
		t.Fatalf("no Service %q", release)
	}
	want := map[string]string{"app.kubernetes.io/name": "walker", "app.kubernetes.io/instance": release, "app.kubernetes.io/component": "app"}
	for k, v := range want {
		if svc.Labels[k] != v || svc.Spec.Selector[k] != v {
			t.Errorf("Service label/selector %s = %q/%q, want %q (the scrape job keeps on it)", k, svc.Labels[k], svc.Spec.Selector[k], v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("Service ports = %+v, want only http -> http", svc.Spec.Ports)
	}
	if _, ok := svc.Annotations["prometheus.io/scrape"]; ok {
		t.Error("the Service asks the generic annotation-based job to scrape it (without credentials)")
	}
}

// checkSecretReferences: every Secret the pods read exists in the release,
// unless the values name an existing one.
func checkSecretReferences(t *testing.T, objs *chart.Objects) {
	t.Helper()
	external := map[string]bool{"my-metrics": true, "my-app": true, "my-db": true, "ext-db": true}
	var specs []*corev1.PodSpec
	for _, d := range objs.Deployments {
		specs = append(specs, &d.Spec.Template.Spec)
	}
	for _, s := range objs.StatefulSets {
		specs = append(specs, &s.Spec.Template.Spec)
	}
	for _, spec := range specs {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				sec, ok := objs.Secrets[ref.Name]
				if !ok && !external[ref.Name] {
					t.Errorf("%s reads %s from Secret %s, which the release does not create", c.Name, e.Name, ref.Name)
				}
				if ok {
					if _, has := sec.Data[ref.Key]; !has {
						t.Errorf("%s reads key %s of Secret %s, which has %v", c.Name, ref.Key, ref.Name, chart.Names(sec.Data))
					}
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil && !external[v.Secret.SecretName] {
				if _, ok := objs.Secrets[v.Secret.SecretName]; !ok {
					t.Errorf("volume %s mounts Secret %s, which the release does not create", v.Name, v.Secret.SecretName)
				}
			}
		}
	}
}

func envOf(c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// checkExternalDatabaseSecret: with externalDatabase.existingSecret=ext-db
// (keys user and pass), the migrate and serve containers read the
// credentials from that Secret, and the chart renders no database Secret.
func checkExternalDatabaseSecret(t *testing.T, objs *chart.Objects) {
	if _, ok := objs.Secrets[release+"-database"]; ok {
		t.Errorf("Secret %s rendered although externalDatabase.existingSecret is given", release+"-database")
	}
	want := map[string]corev1.SecretKeySelector{
		"DB_USER":     {LocalObjectReference: corev1.LocalObjectReference{Name: "ext-db"}, Key: "user"},
		"DB_PASSWORD": {LocalObjectReference: corev1.LocalObjectReference{Name: "ext-db"}, Key: "pass"},
	}
	spec := deployment(t, objs)
	for _, name := range []string{"migrate", "walker"} {
		c := chart.Container(spec, name)
		if c == nil {
			t.Fatalf("no %s container", name)
		}
		if env := envOf(c); env["DB_HOST"] != "db" {
			t.Errorf("%s: DB_HOST = %q, want db", name, env["DB_HOST"])
		}
		for variable, ref := range want {
			i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == variable })
			if i < 0 {
				t.Errorf("%s: no %s", name, variable)
				continue
			}
			if from := c.Env[i].ValueFrom; c.Env[i].Value != "" || from == nil || from.SecretKeyRef == nil || *from.SecretKeyRef != ref {
				t.Errorf("%s: %s = %+v, want from Secret %s key %s", name, variable, c.Env[i], ref.Name, ref.Key)
			}
		}
	}
}

const runbookURL = "https://wiki.example/walker/runbook"

// checkMonitoring: the PrometheusRule carries exactly the rules of
// monitoring/, with runbookURL before each runbook anchor; the dashboard
// ConfigMap, exactly its dashboard; and the bundled Prometheus, walker's
// alerts.
func checkMonitoring(t *testing.T, objs *chart.Objects) {
	var want map[string]any
	if err := yaml.Unmarshal(testtool.ReadFile(t, "../monitoring/rules/walker.rules.yaml"), &want); err != nil {
		t.Fatal(err)
	}
	for _, g := range want["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if a, ok := r.(map[string]any)["annotations"].(map[string]any); ok {
				a["runbook_url"] = runbookURL + a["runbook_url"].(string)
			}
		}
	}
	rule, ok := objs.Custom["PrometheusRule/"+release]
	if !ok {
		t.Fatalf("no PrometheusRule: %v", chart.Names(objs.Custom))
	}
	if !reflect.DeepEqual(rule["spec"], want) || dig(rule, "metadata", "namespace") != namespace {
		t.Errorf("PrometheusRule %s (namespace %v) differs from monitoring/rules/walker.rules.yaml", release, dig(rule, "metadata", "namespace"))
	}
	dashboard, ok := objs.ConfigMaps[release+"-dashboard"]
	if !ok || dashboard.Labels["grafana_dashboard"] != "1" {
		t.Fatalf("dashboard ConfigMap %+v, want one labelled grafana_dashboard=1 (Grafana's sidecar default)", dashboard)
	}
	if strings.TrimSpace(dashboard.Data["walker.json"]) != strings.TrimSpace(string(testtool.ReadFile(t, "../monitoring/dashboards/walker.json"))) {
		t.Error("the dashboard ConfigMap differs from monitoring/dashboards/walker.json")
	}
	found := false
	for _, cm := range objs.ConfigMaps {
		if rules, ok := cm.Data["alerting_rules.yml"]; ok {
			found = true
			if !strings.Contains(rules, "WalkerTargetDown") {
				t.Errorf("the bundled Prometheus has no walker alerts in alerting_rules.yml (ConfigMap %s)", cm.Name)
			}
		}
	}
	if !found {
		t.Errorf("no ConfigMap has alerting_rules.yml, the bundled Prometheus's rules: %v", chart.Names(objs.ConfigMaps))
	}
}

func checkTracing(t *testing.T, objs *chart.Objects) {
	spec := deployment(t, objs)
	env := envOf(chart.Container(spec, "walker"))
	want := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.monitoring:4318",
		"OTEL_TRACES_SAMPLER":         "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":     "0.25",
		"OTEL_SERVICE_NAME":           "walker",
		"OTEL_RESOURCE_ATTRIBUTES":    "k8s.namespace.name=" + namespace + ",k8s.pod.name=$(WALKER_POD_NAME),deployment.environment.name=test",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	// $(WALKER_POD_NAME) expands only if that variable comes first.
	var names []string
	for _, e := range chart.Container(spec, "walker").Env {
		names = append(names, e.Name)
		if e.Name == "WALKER_POD_NAME" && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name") {
			t.Errorf("WALKER_POD_NAME = %+v, want the downward API's metadata.name", e)
		}
	}
	if i, j := slices.Index(names, "WALKER_POD_NAME"), slices.Index(names, "OTEL_RESOURCE_ATTRIBUTES"); i < 0 || i > j {
		t.Errorf("env order %v: WALKER_POD_NAME must precede OTEL_RESOURCE_ATTRIBUTES", names)
	}
	if migrate := envOf(chart.Container(spec, "migrate")); migrate["OTEL_EXPORTER_OTLP_ENDPOINT"] != "" {
		t.Error("the migrate init container gets the tracing variables; only serve traces")
	}
}

// checksum is the app pods' checksum/<name> annotation, which rolls them
// when it changes.
func checksum(objs *chart.Objects, name string) string {
	return objs.Deployments[release].Spec.Template.Annotations["checksum/"+name]
}

func TestTemplateRollsPodsOnNginxChange(t *testing.T) {
	if checksum(render(t), "nginx") == checksum(render(t, "--set", "nginx.clientMaxBodySize=2m"), "nginx") {
		t.Error("changing the nginx configuration does not change checksum/nginx")
	}
}

func TestTemplateRefusesBrokenValues(t *testing.T) {
	bin := helm(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"Prometheus mount not the metrics Secret", []string{"--set", "metrics.auth.existingSecret=other"}, "prometheus.server.extraSecretMounts[0].secretName=other"},
		{"release name other than walker", nil, "extraSecretMounts[0].secretName=shop-walker-metrics"},
		{"only the secret name set (--set replaces the list item)", []string{"--set", "prometheus.server.extraSecretMounts[0].secretName=walker-metrics"}, "give all four fields"},
		{"external database without host", []string{"--set", "postgresql.enabled=false"}, "externalDatabase.host is required"},
		{"unknown value", []string{"--set", "nginx.colour=blue"}, "additional properties 'colour' not allowed"},
		{"negative replicas", []string{"--set", "replicaCount=-1"}, "minimum"},
		{"bad log level", []string{"--set", "app.logLevel=loud"}, "logLevel"},
		{"username with a colon", []string{"--set", "metrics.auth.username=a:b"}, "username"},
		{"tracing without an endpoint", []string{"--set", "tracing.enabled=true"}, "tracing.endpoint is required"},
		{"tracing endpoint that is not a URL", []string{"--set", "tracing.enabled=true,tracing.endpoint=collector:4318"}, "tracing/endpoint"},
		{"unknown sampler", []string{"--set", "tracing.sampler=sometimes"}, "tracing/sampler"},
		{"sampler ratio over 1", []string{"--set-string", "tracing.samplerArg=2"}, "tracing/samplerArg"},
		{"root user id", []string{"--set", "nginx.runAsUser=0"}, "nginx/runAsUser"},
		{"runbook URL with its own anchor", []string{"--set", "runbookURL=https://wiki.example/rb#top"}, "runbookURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := release
			if strings.Contains(tt.name, "release name") {
				rel = "shop"
			}
			out, err := exec.Command(bin, append([]string{"template", rel, chartDir}, tt.args...)...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("helm template %v: err %v, output lacks %q:\n%s", tt.args, err, tt.want, out)
			}
		})
	}
}

func TestMain(m *testing.M) { testtool.Main(m) }
