package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/localpg"
)

const (
	release   = "walker"
	namespace = "walker-e2e"
)

// scenario is the user's path: install, discovery and scrape, the forms,
// an upgrade, a rollback, an uninstall.
func (e *env) scenario(ctx context.Context) error {
	var (
		cp      *controlPlane
		k       *kubelet
		values  string
		prom    *prometheus
		podName string
	)
	helm, err := e.tool("helm")
	if err != nil {
		return err
	}
	err = e.step("build walker with the Dockerfile's command; find the tools", func() error {
		for _, t := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "prometheus", "nginx", "chromium"} {
			if _, err := e.tool(t); err != nil {
				return err
			}
		}
		bin := filepath.Join(e.dir, "walker")
		out, err := exec.Command("make", "-C", e.root, "-s", "build", "BINARY="+bin, "VERSION=e2e").CombinedOutput()
		if err != nil {
			return fmt.Errorf("make build: %v\n%s", err, out)
		}
		out, err = exec.Command(filepath.Join(e.root, "hack", "chart-deps")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("hack/chart-deps: %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		return err
	}

	err = e.step("start etcd, kube-apiserver, kube-controller-manager; node; PostgreSQL", func() error {
		if cp, err = e.startControlPlane(ctx); err != nil {
			return err
		}
		if err := e.setupBridge(); err != nil {
			return err
		}
		nginx, _ := e.tool("nginx")
		k = &kubelet{e: e, cp: cp, namespace: namespace, node: "e2e-node", walkerBin: filepath.Join(e.dir, "walker"), nginxBin: nginx, pods: map[types.UID]*podRun{}, terminating: map[types.UID]chan struct{}{}}
		if err := k.registerNode(ctx); err != nil {
			return err
		}
		kctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { k.run(kctx); close(done) }()
		e.defer_(func() { k.shutdown(stop, done) })

		// The chart's bundled PostgreSQL image cannot run without a
		// container runtime: a local server on the pods' bridge is the
		// chart's external database instead.
		pg, err := localpg.StartWith(ctx, "", 0, localpg.Options{ListenAddresses: []string{hostIP}, AllowNetworks: []string{podPrefix + "0/24"}})
		if err != nil {
			return err
		}
		e.defer_(func() { pg.Stop() })
		password := randomHex(12)
		if _, err := pg.CreateDatabase(ctx, "walker", "walker", password); err != nil {
			return err
		}
		values = filepath.Join(e.dir, "values.yaml")
		v := map[string]any{
			"image":            map[string]any{"repository": "walker", "tag": "e2e", "pullPolicy": "Never"},
			"postgresql":       map[string]any{"enabled": false},
			"externalDatabase": map[string]any{"host": hostIP, "port": pg.Port, "database": "walker", "username": "walker", "password": password, "sslmode": "disable"},
			// The prometheus chart's pods cannot run here; Prometheus runs
			// locally below with the job that chart would render.
			"prometheus": map[string]any{"enabled": false},
		}
		b, _ := yaml.Marshal(v)
		return os.WriteFile(values, b, 0o600)
	})
	if err != nil {
		return err
	}

	helmCmd := func(args ...string) error {
		args = append(args, "--kubeconfig", cp.kubeconfig)
		cmd := exec.CommandContext(ctx, helm, args...)
		out, err := cmd.CombinedOutput()
		fmt.Printf("%s\n", strings.TrimSpace(filterSymlinkNote(string(out))))
		if err != nil {
			return fmt.Errorf("helm %s: %v%s", strings.Join(args[:2], " "), err, k.report())
		}
		return nil
	}

	err = e.step("helm upgrade --install walker charts/walker --wait", func() error {
		return helmCmd("upgrade", "--install", release, filepath.Join(e.root, "charts", "walker"),
			"--namespace", namespace, "--create-namespace", "-f", values, "--wait", "--timeout", "4m")
	})
	if err != nil {
		return err
	}

	err = e.step("Prometheus discovers the walker target (and nothing else) and scrapes it", func() error {
		// A Service that must not be scraped: another release's name on the
		// same pods and port.
		decoy := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "walker-decoy", Labels: map[string]string{
				"app.kubernetes.io/name": "walker", "app.kubernetes.io/instance": "other", "app.kubernetes.io/component": "app"}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app.kubernetes.io/name": "walker", "app.kubernetes.io/instance": release},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
			},
		}
		if _, err := cp.client.CoreV1().Services(namespace).Create(ctx, decoy, metav1.CreateOptions{}); err != nil {
			return err
		}
		if prom, err = e.startPrometheus(ctx, cp, helm, values); err != nil {
			return err
		}
		if podName, err = e.walkerPod(ctx, cp); err != nil {
			return err
		}
		if err := prom.expectOnlyTarget(ctx, podName); err != nil {
			return err
		}
		return prom.expectRulesLoaded(ctx)
	})
	if err != nil {
		return err
	}

	err = e.step("Chromium: create walker and dog, start and complete a walk; Prometheus counts it", func() error {
		pod, err := cp.client.CoreV1().Pods(namespace).Get(ctx, podName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		before, err := prom.walkCounts(ctx)
		if err != nil {
			return err
		}
		const distance = 1234
		if err := e.browseWalk(ctx, fmt.Sprintf("http://%s:8080", pod.Status.PodIP), distance); err != nil {
			return err
		}
		return prom.expectWalkCounts(ctx, before, walkCounts{started: 1, completed: 1, distanceCount: 1, distanceSum: distance})
	})
	if err != nil {
		return err
	}

	var password string
	err = e.step("helm upgrade (nginx value) rolls the pods, keeps the password, scraping goes on", func() error {
		if password, err = metricsPassword(ctx, cp); err != nil {
			return err
		}
		if err := e.expectBodyLimit(ctx, cp, podName, true); err != nil {
			return err
		}
		if err := helmCmd("upgrade", "--install", release, filepath.Join(e.root, "charts", "walker"),
			"--namespace", namespace, "-f", values, "--set", "nginx.clientMaxBodySize=2m", "--wait", "--timeout", "4m"); err != nil {
			return err
		}
		newPod, err := e.waitRollout(ctx, cp, podName)
		if err != nil {
			return err
		}
		after, err := metricsPassword(ctx, cp)
		if err != nil {
			return err
		}
		if after != password {
			return fmt.Errorf("the metrics password changed on upgrade")
		}
		fmt.Printf("pod %s replaced by %s; metrics password unchanged\n", podName, newPod)
		podName = newPod
		if err := e.expectBodyLimit(ctx, cp, podName, false); err != nil {
			return err
		}
		return prom.expectOnlyTarget(ctx, podName)
	})
	if err != nil {
		return err
	}

	err = e.step("helm rollback to revision 1 rolls back; scraping goes on", func() error {
		if err := helmCmd("rollback", release, "1", "--namespace", namespace, "--wait", "--timeout", "4m"); err != nil {
			return err
		}
		newPod, err := e.waitRollout(ctx, cp, podName)
		if err != nil {
			return err
		}
		podName = newPod
		if after, err := metricsPassword(ctx, cp); err != nil || after != password {
			return fmt.Errorf("the metrics password changed on rollback (%v)", err)
		}
		if err := e.expectBodyLimit(ctx, cp, podName, true); err != nil {
			return err
		}
		return prom.expectOnlyTarget(ctx, podName)
	})
	if err != nil {
		return err
	}

	// `helm test` is not run here: its pod reaches the app by the Service's
	// DNS name, and resolving and proxying Services is CoreDNS's and
	// kube-proxy's work, which this test does not stand in for. The chart
	// tests run the hook's script against the rendered nginx and the app.
	return e.step("helm uninstall leaves nothing of the release behind", func() error {
		if err := cp.client.CoreV1().Services(namespace).Delete(ctx, "walker-decoy", metav1.DeleteOptions{}); err != nil {
			return err
		}
		if err := helmCmd("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "2m"); err != nil {
			return err
		}
		return e.expectNothingLeft(ctx, cp)
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func filterSymlinkNote(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "found symbolic link in path") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// walkerPod is the one running, ready walker pod.
func (e *env) walkerPod(ctx context.Context, cp *controlPlane) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pods, err := cp.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=app"})
		if err != nil {
			return "", err
		}
		var ready []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				ready = append(ready, p.Name)
			}
		}
		if len(ready) == 1 && len(pods.Items) == 1 {
			return ready[0], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("want one ready walker pod, have %d pods, %d ready", len(pods.Items), len(ready))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitRollout waits until the old pod is gone and one new pod is ready.
func (e *env) waitRollout(ctx context.Context, cp *controlPlane, old string) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		name, err := e.walkerPod(ctx, cp)
		if err == nil && name != old {
			return name, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("pod %s was not replaced (%v)", old, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func metricsPassword(ctx context.Context, cp *controlPlane) (string, error) {
	s, err := cp.client.CoreV1().Secrets(namespace).Get(ctx, release+"-metrics", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

// expectNothingLeft waits until no object of the release remains.
func (e *env) expectNothingLeft(ctx context.Context, cp *controlPlane) error {
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var left []string
		c := cp.client
		if l, err := c.AppsV1().Deployments(namespace).List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "Deployment/"+o.Name)
			}
		}
		if l, err := c.AppsV1().ReplicaSets(namespace).List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "ReplicaSet/"+o.Name)
			}
		}
		if l, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{}); err == nil {
			for _, o := range l.Items {
				left = append(left, "Pod/"+o.Name)
			}
		}
		if l, err := c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{}); err == nil {
			for _, o := range l.Items {
				left = append(left, "Service/"+o.Name)
			}
		}
		if l, err := c.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{}); err == nil {
			for _, o := range l.Items {
				left = append(left, "Secret/"+o.Name)
			}
		}
		if l, err := c.CoreV1().ConfigMaps(namespace).List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "ConfigMap/"+o.Name)
			}
		}
		if l, err := c.CoreV1().ServiceAccounts(namespace).List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "ServiceAccount/"+o.Name)
			}
		}
		if l, err := c.PolicyV1().PodDisruptionBudgets(namespace).List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "PodDisruptionBudget/"+o.Name)
			}
		}
		if l, err := c.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{}); err == nil {
			for _, o := range l.Items {
				left = append(left, "EndpointSlice/"+o.Name)
			}
		}
		if len(left) == 0 {
			// Whatever else the chart may create one day: every namespaced
			// kind the API server serves, by the release's label (once the
			// usual kinds are gone: it takes a list call per kind).
			others, err := labelledObjects(ctx, cp, "app.kubernetes.io/instance="+release)
			if err != nil {
				return err
			}
			left = others
		}
		if len(left) == 0 {
			fmt.Println("no Deployment, ReplicaSet, Pod, Service, Secret, ConfigMap, ServiceAccount, PDB or EndpointSlice left, nor any object of any kind labelled with the release")
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("left after helm uninstall: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// expectBodyLimit sends a 1.5 MB body through the pod's nginx: the chart's
// default client_max_body_size (1m) makes nginx refuse it itself, the
// upgraded 2m passes it on to the app. The app refuses it too (its own
// limit is far smaller), so what tells them apart is who answered: only the
// app's responses carry the X-Request-ID header. This proves the upgrade's
// value reached the rolled pods, and the rollback took it away again, as a
// client sees it.
func (e *env) expectBodyLimit(ctx context.Context, cp *controlPlane, podName string, nginxRefuses bool) error {
	pod, err := cp.client.CoreV1().Pods(namespace).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	body := bytes.Repeat([]byte("x"), 1536*1024)
	url := fmt.Sprintf("http://%s:8080/e2e-body-limit", pod.Status.PodIP)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("POST 1.5 MB to %s: %w", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	byApp := resp.Header.Get("X-Request-ID") != ""
	switch {
	case nginxRefuses && (byApp || resp.StatusCode != http.StatusRequestEntityTooLarge):
		return fmt.Errorf("POST 1.5 MB to pod %s: status %d (app answered: %v); want nginx's own 413 (client_max_body_size 1m)", podName, resp.StatusCode, byApp)
	case !nginxRefuses && !byApp:
		return fmt.Errorf("POST 1.5 MB to pod %s: status %d from nginx itself; want it passed on to the app (client_max_body_size 2m)", podName, resp.StatusCode)
	}
	who := "nginx"
	if byApp {
		who = "the app"
	}
	fmt.Printf("pod %s: a 1.5 MB body is answered by %s (%d)\n", podName, who, resp.StatusCode)
	return nil
}

// labelledObjects lists the objects of every listable namespaced kind in
// the namespace that carry the label selector sel.
func labelledObjects(ctx context.Context, cp *controlPlane, sel string) ([]string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.kubeconfig)
	if err != nil {
		return nil, err
	}
	// Listing every kind includes deprecated ones (v1 Endpoints): no warnings.
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := cp.client.Discovery().ServerPreferredNamespacedResources()
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var left []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		for _, r := range l.APIResources {
			if !slices.Contains(r.Verbs, "list") {
				continue
			}
			objs, err := dyn.Resource(gv.WithResource(r.Name)).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", r.Name, err)
			}
			for _, o := range objs.Items {
				left = append(left, r.Kind+"/"+o.GetName())
			}
		}
	}
	return left, nil
}
