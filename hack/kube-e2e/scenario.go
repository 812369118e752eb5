package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const (
	release   = "walker"
	namespace = "walker"
)

type step struct {
	name string
	run  func(context.Context) error
}

// scenario is the user's path, from the README's commands, on the node.
func (e *env) scenario() []step {
	return []step{
		{"build walker's image (make image-tar) and the stand-ins; serve them on loopback", e.buildImages},
		{"start the node: control plane, containerd, kubelet, kube-proxy, CoreDNS, local-path", e.bringUpNode},
		{"namespace walker enforces Pod Security 'restricted'", e.createNamespace},
		{"helm upgrade --install walker charts/walker (the README's command, defaults)", e.install},
		{"every pod Ready: walker + nginx, PostgreSQL on a bound PVC, Prometheus", e.expectPodsReady},
		{"the bundled Prometheus scrapes the walker pod through nginx (port-forward)", e.expectScraped},
		{"helm test walker (through Service DNS)", e.helmTest},
		{"Chromium via port-forward svc/walker: a walk; the counters move in Prometheus", e.browse},
		{"helm upgrade --set replicaCount=2: one target per pod", e.scaleOut},
		{"rolling helm upgrade (nginx value) under load: no failed request", e.rollingUpgrade},
		{"helm rollback under load: the old value is back, the password kept", e.rollback},
		{"delete the PostgreSQL pod: back on the same PVC with every walk", e.restartDatabase},
		{"delete a walker pod: the Deployment replaces it, its target comes back", e.replaceWalkerPod},
		{"every bundled rule evaluated without error", e.rulesHealthy},
		{"helm uninstall leaves nothing of the release; the namespace goes", e.uninstall},
	}
}

// scenarioState is what the steps hand on to later ones.
type scenarioState struct {
	prom     *prometheus
	password string
	walks    int // walks in the database after the browser step
	failed   []string
}

func (e *env) chartDir() string { return filepath.Join(e.root, "charts", "walker") }

// chartAppVersion reads appVersion from a Chart.yaml.
func chartAppVersion(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", err
	}
	return c.AppVersion, nil
}

func (e *env) buildImages(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, filepath.Join(e.root, "hack", "chart-deps")).CombinedOutput(); err != nil {
		return fmt.Errorf("hack/chart-deps: %v\n%s", err, out)
	}
	appVersion, err := chartAppVersion(filepath.Join(e.chartDir(), "Chart.yaml"))
	if err != nil {
		return err
	}
	promVersion, err := chartAppVersion(filepath.Join(e.chartDir(), "charts", "prometheus", "Chart.yaml"))
	if err != nil {
		return err
	}
	// The chart's default image, built the way users build it without Docker.
	walkerRef := "ghcr.io/walkerhq/walker:" + appVersion
	tar := filepath.Join(e.dir, "walker.tar")
	out, err := exec.CommandContext(ctx, "make", "-C", e.root, "-s", "image-tar",
		"BINARY="+filepath.Join(e.dir, "walker"), "IMAGE="+walkerRef, "IMAGE_TAR="+tar).CombinedOutput()
	if err != nil {
		return fmt.Errorf("make image-tar: %v\n%s", err, out)
	}
	if e.registry, err = e.startRegistry(); err != nil {
		return err
	}
	builders, err := e.standIns(tar, walkerRef, promVersion)
	if err != nil {
		return err
	}
	for ref, build := range builders {
		img, err := build()
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		if err := push(ctx, e.registry, ref, img); err != nil {
			return err
		}
	}
	fmt.Printf("registry %s serves %d images\n", e.registry, len(builders))
	return nil
}

func (e *env) bringUpNode(ctx context.Context) error {
	n, err := e.startNode(ctx)
	e.node = n
	return err
}

func (e *env) createNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	_, err := e.node.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	return err
}

// helm runs helm against the node and prints its output.
func (e *env) helm(ctx context.Context, args ...string) (string, error) {
	bin, err := e.tool("helm")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.node.kubeconfig)
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(filterSymlinkNote(string(out)))
	fmt.Println(text)
	if err != nil {
		return text, fmt.Errorf("helm %s: %v%s", strings.Join(args[:2], " "), err, e.podReport(ctx))
	}
	return text, nil
}

// upgrade is the README's install command with --wait, plus extra flags.
func (e *env) upgrade(ctx context.Context, extra ...string) error {
	args := append([]string{"upgrade", "--install", release, "charts/walker", "--namespace", namespace,
		"--create-namespace", "--dependency-update", "--wait", "--timeout", "5m"}, extra...)
	_, err := e.helm(ctx, args...)
	return err
}

func (e *env) install(ctx context.Context) error {
	out, err := e.helm(ctx, "upgrade", "--install", release, "charts/walker", "--namespace", namespace,
		"--create-namespace", "--dependency-update", "--wait", "--timeout", "5m")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "port-forward svc/walker") {
		return fmt.Errorf("the notes do not tell how to reach the app")
	}
	return nil
}

func (e *env) expectPodsReady(ctx context.Context) error {
	c := e.node.client
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var have []string
	for _, p := range pods.Items {
		if !podReady(&p) {
			return fmt.Errorf("pod %s is not ready", p.Name)
		}
		var cs []string
		for _, s := range p.Status.ContainerStatuses {
			cs = append(cs, s.Name)
		}
		slices.Sort(cs) // the kubelet's order is not the pod spec's
		have = append(have, p.Labels["app.kubernetes.io/component"]+"/"+strings.Join(cs, "+"))
		fmt.Printf("ready: %s (%s) on %s, %s\n", p.Name, strings.Join(cs, ", "), p.Spec.NodeName, p.Status.PodIP)
	}
	slices.Sort(have)
	want := []string{"app/nginx+walker", "database/postgresql", "server/prometheus-server+prometheus-server-configmap-reload"}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return fmt.Errorf("no ready %s among %v", w, have)
		}
	}
	pvcs, err := c.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	bound := map[string]bool{}
	for _, p := range pvcs.Items {
		if p.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("PVC %s is %s", p.Name, p.Status.Phase)
		}
		bound[p.Name] = true
		fmt.Printf("PVC %s bound to %s (%s)\n", p.Name, p.Spec.VolumeName, *p.Spec.StorageClassName)
	}
	for _, want := range []string{"data-" + release + "-postgresql-0", release + "-prometheus-server"} {
		if !bound[want] {
			return fmt.Errorf("no bound PVC %s among %v", want, keys(bound))
		}
	}
	return nil
}

func (e *env) expectScraped(ctx context.Context) error {
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
	if _, err := e.node.client.CoreV1().Services(namespace).Create(ctx, decoy, metav1.CreateOptions{}); err != nil {
		return err
	}
	return e.expectTargets(ctx)
}

// expectTargets checks that Prometheus scrapes exactly the ready walker pods.
func (e *env) expectTargets(ctx context.Context) error {
	pods, err := e.walkerPods(ctx, 0)
	if err != nil {
		return err
	}
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
	return p.expectTargets(ctx, pods)
}

// helmTest runs the README's `helm test`. The chart deletes the test pod
// once it succeeds (so `--logs` would find nothing); a failed one stays, and
// its log says why.
func (e *env) helmTest(ctx context.Context) error {
	_, err := e.helm(ctx, "test", release, "--namespace", namespace, "--timeout", "3m")
	if err != nil {
		out, _ := e.node.kubectlOutput(ctx, nil, "-n", namespace, "logs", release+"-test")
		return fmt.Errorf("%w\ntest pod log:\n%s", err, out)
	}
	return nil
}

func (e *env) browse(ctx context.Context) error {
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
	before, err := p.walkCounts(ctx)
	if err != nil {
		return err
	}
	app, err := e.portForward(ctx, "svc/"+release, 80)
	if err != nil {
		return err
	}
	defer app.close()
	const distance = 1234
	if err := e.browseWalk(ctx, app.url, distance); err != nil {
		return err
	}
	if e.s.walks, err = e.countWalks(ctx); err != nil {
		return err
	}
	return p.expectWalkCounts(ctx, before, walkCounts{started: 1, completed: 1, distanceCount: 1, distanceSum: distance})
}

func (e *env) scaleOut(ctx context.Context) error {
	if err := e.upgrade(ctx, "--reuse-values", "--set", "replicaCount=2"); err != nil {
		return err
	}
	if _, err := e.walkerPods(ctx, 2); err != nil {
		return err
	}
	return e.expectTargets(ctx)
}

// underLoad runs change while pages are requested through the Service, and
// fails if any request failed.
func (e *env) underLoad(ctx context.Context, what string, change func() error) error {
	svc, err := e.node.client.CoreV1().Services(namespace).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%d/walks/start/", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	l := startLoad(ctx, url, 5*time.Minute)
	changeErr := change()
	time.Sleep(2 * time.Second) // the last old pods' endpoints are gone by now
	ok, failed, why := l.finish()
	fmt.Printf("load during %s: %d requests, %d failed %s\n", what, ok+failed, failed, why)
	e.s.failed = append(e.s.failed, fmt.Sprintf("%s: %d of %d", what, failed, ok+failed))
	if changeErr != nil {
		return changeErr
	}
	if ok == 0 || failed > 0 {
		return fmt.Errorf("%d of %d requests failed during %s: %s", failed, ok+failed, what, why)
	}
	return nil
}

func (e *env) rollingUpgrade(ctx context.Context) error {
	var err error
	if e.s.password, err = e.metricsPassword(ctx); err != nil {
		return err
	}
	old, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	if err := e.expectBodyLimit(ctx, true); err != nil {
		return err
	}
	err = e.underLoad(ctx, "the rolling upgrade", func() error {
		return e.upgrade(ctx, "--reuse-values", "--set", "nginx.clientMaxBodySize=2m")
	})
	if err != nil {
		return err
	}
	return e.expectRolled(ctx, old, false)
}

func (e *env) rollback(ctx context.Context) error {
	old, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	err = e.underLoad(ctx, "the rollback", func() error {
		_, err := e.helm(ctx, "rollback", release, "2", "--namespace", namespace, "--wait", "--timeout", "5m")
		return err
	})
	if err != nil {
		return err
	}
	return e.expectRolled(ctx, old, true)
}

// expectRolled checks that the pods were replaced, the password kept, the
// body limit is the one wanted, and Prometheus scrapes the new pods.
func (e *env) expectRolled(ctx context.Context, old []string, nginxRefuses bool) error {
	pods, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	for _, p := range pods {
		if slices.Contains(old, p) {
			return fmt.Errorf("pod %s was not replaced", p)
		}
	}
	if pw, err := e.metricsPassword(ctx); err != nil || pw != e.s.password {
		return fmt.Errorf("the metrics password changed (%v)", err)
	}
	fmt.Printf("pods %v replaced by %v; metrics password unchanged\n", old, pods)
	if err := e.expectBodyLimit(ctx, nginxRefuses); err != nil {
		return err
	}
	return e.expectTargets(ctx)
}

func (e *env) restartDatabase(ctx context.Context) error {
	c := e.node.client
	pvcName := "data-" + release + "-postgresql-0"
	pvc, err := c.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, pvcName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	pod, err := c.CoreV1().Pods(namespace).Get(ctx, release+"-postgresql-0", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := c.CoreV1().Pods(namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	err = poll(ctx, "PostgreSQL pod back", 3*time.Minute, func() (bool, error) {
		p, err := c.CoreV1().Pods(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.UID != pod.UID && podReady(p), err
	})
	if err != nil {
		return err
	}
	after, err := c.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, pvcName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if after.UID != pvc.UID || after.Spec.VolumeName != pvc.Spec.VolumeName {
		return fmt.Errorf("PVC %s changed: volume %s, was %s", pvcName, after.Spec.VolumeName, pvc.Spec.VolumeName)
	}
	walks, err := e.countWalks(ctx)
	if err != nil {
		return err
	}
	if walks != e.s.walks || walks == 0 {
		return fmt.Errorf("%d walks after the restart, %d before", walks, e.s.walks)
	}
	fmt.Printf("PostgreSQL pod replaced, same PVC %s (%s), %d walks kept\n", pvcName, after.Spec.VolumeName, walks)
	// The app serves from the database again.
	_, err = e.walkerPods(ctx, 2)
	return err
}

// countWalks counts the walks in the database with psql in its pod
// (kubectl exec).
func (e *env) countWalks(ctx context.Context) (int, error) {
	var n int
	err := poll(ctx, "count the walks", time.Minute, func() (bool, error) {
		out, err := e.node.kubectlOutput(ctx, nil, "-n", namespace, "exec", release+"-postgresql-0", "--",
			"psql", "-U", "walker", "-d", "walker", "-Atc", "SELECT count(*) FROM walks")
		if err != nil {
			return false, err
		}
		n, err = strconv.Atoi(strings.TrimSpace(out))
		return err == nil, err
	})
	return n, err
}

func (e *env) replaceWalkerPod(ctx context.Context) error {
	pods, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	if err := e.node.client.CoreV1().Pods(namespace).Delete(ctx, pods[0], metav1.DeleteOptions{}); err != nil {
		return err
	}
	err = poll(ctx, "walker pod "+pods[0]+" replaced", 3*time.Minute, func() (bool, error) {
		now, err := e.walkerPods(ctx, 2)
		return err == nil && !slices.Contains(now, pods[0]), err
	})
	if err != nil {
		return err
	}
	return e.expectTargets(ctx)
}

func (e *env) rulesHealthy(ctx context.Context) error {
	p, err := e.prometheus(ctx)
	if err != nil {
		return err
	}
	return p.expectRulesHealthy(ctx)
}

func (e *env) uninstall(ctx context.Context) error {
	if e.s.prom != nil {
		e.s.prom.fwd.close()
	}
	if err := e.node.client.CoreV1().Services(namespace).Delete(ctx, "walker-decoy", metav1.DeleteOptions{}); err != nil {
		return err
	}
	if _, err := e.helm(ctx, "uninstall", release, "--namespace", namespace, "--wait", "--timeout", "3m"); err != nil {
		return err
	}
	if err := e.expectNothingLeft(ctx); err != nil {
		return err
	}
	// The StatefulSet's PVC outlives the release by design (the data stays
	// unless the user deletes it); deleting the namespace removes it, and
	// local-path deletes the volume.
	if err := e.node.client.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{}); err != nil {
		return err
	}
	return poll(ctx, "namespace and volumes gone", 3*time.Minute, func() (bool, error) {
		_, err := e.node.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		pvs, lerr := e.node.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if lerr != nil {
			return false, lerr
		}
		return err != nil && len(pvs.Items) == 0, fmt.Errorf("%d PersistentVolumes left", len(pvs.Items))
	})
}

// walkerPods waits until the release has want ready walker pods (want 0:
// any number, at least one) and no others, and returns their names sorted.
func (e *env) walkerPods(ctx context.Context, want int) ([]string, error) {
	var names []string
	err := poll(ctx, fmt.Sprintf("%d ready walker pods", want), 3*time.Minute, func() (bool, error) {
		pods, err := e.node.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
			LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=app"})
		if err != nil {
			return false, err
		}
		names = nil
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || !podReady(&p) {
				return false, fmt.Errorf("pod %s not ready or terminating", p.Name)
			}
			names = append(names, p.Name)
		}
		slices.Sort(names)
		return len(names) > 0 && (want == 0 || len(names) == want), fmt.Errorf("%d ready pods", len(names))
	})
	return names, err
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (e *env) metricsPassword(ctx context.Context) (string, error) {
	s, err := e.node.client.CoreV1().Secrets(namespace).Get(ctx, release+"-metrics", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return string(s.Data["password"]), nil
}

// expectBodyLimit sends a 1.5 MB body through each walker pod's nginx: the
// chart's default client_max_body_size (1m) makes nginx refuse it itself,
// the upgraded 2m passes it on to the app. The app refuses it too (its own
// limit is far smaller), so what tells them apart is who answered: only the
// app's responses carry the X-Request-ID header.
func (e *env) expectBodyLimit(ctx context.Context, nginxRefuses bool) error {
	pods, err := e.node.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=app"})
	if err != nil {
		return err
	}
	for _, pod := range pods.Items {
		url := fmt.Sprintf("http://%s:8080/e2e-body-limit", pod.Status.PodIP)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bytes.Repeat([]byte("x"), 1536*1024)))
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
			return fmt.Errorf("pod %s: status %d (app answered: %v); want nginx's own 413 (client_max_body_size 1m)", pod.Name, resp.StatusCode, byApp)
		case !nginxRefuses && !byApp:
			return fmt.Errorf("pod %s: status %d from nginx itself; want it passed on to the app (client_max_body_size 2m)", pod.Name, resp.StatusCode)
		}
		fmt.Printf("pod %s: a 1.5 MB body is answered by %s (%d)\n", pod.Name, map[bool]string{true: "the app", false: "nginx"}[byApp], resp.StatusCode)
	}
	return nil
}

// podReport describes the pods that are not ready, for a failed --wait.
func (e *env) podReport(ctx context.Context) string {
	pods, err := e.node.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range pods.Items {
		if podReady(&p) {
			continue
		}
		fmt.Fprintf(&b, "\n  pod %s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue && c.Message != "" {
				fmt.Fprintf(&b, "; %s: %s", c.Type, c.Message)
			}
		}
		for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if w := s.State.Waiting; w != nil {
				fmt.Fprintf(&b, "; %s waiting: %s %s", s.Name, w.Reason, w.Message)
			}
			if t := s.LastTerminationState.Terminated; t != nil {
				fmt.Fprintf(&b, "; %s exited %d: %s", s.Name, t.ExitCode, lastLines(t.Message, 3))
			}
		}
	}
	return b.String()
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
