package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/walkerhq/walker/internal/proc"
)

// The first steps: the images, the node, the README's install, and the
// user's first look at the app and at Prometheus.

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
	if err := proc.Run(ctx, e.root, "hack/chart-deps", nil, filepath.Join(e.root, "hack", "chart-deps")); err != nil {
		return err
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
	err = proc.Run(ctx, e.root, "make image-tar", nil, "make", "-s", "image-tar",
		"BINARY="+filepath.Join(e.dir, "walker"), "IMAGE="+walkerRef, "IMAGE_TAR="+tar)
	if err != nil {
		return err
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
	if _, err := e.node.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return err
	}
	return e.expectPrivilegedRefused(ctx)
}

// expectPrivilegedRefused checks that the API server refuses a privileged
// pod in the namespace (a server-side dry run: nothing is created). It
// waits for the refusal to be Pod Security's: until the namespace's
// default ServiceAccount exists, that admission plugin refuses the pod
// first, with a Forbidden of its own.
func (e *env) expectPrivilegedRefused(ctx context.Context) error {
	privileged := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-privileged"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "registry.invalid/pause",
			SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
		}}},
	}
	return poll(ctx, "a privileged pod refused by Pod Security", time.Minute, func() (bool, error) {
		_, err := e.node.client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		switch {
		case err == nil:
			return false, errors.New("a privileged pod was admitted")
		case !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "violates PodSecurity"):
			return false, err
		}
		fmt.Printf("a privileged pod is refused: %v\n", err)
		return true, nil
	})
}

func (e *env) install(ctx context.Context) error {
	out, err := e.upgrade(ctx)
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
		if p.Spec.StorageClassName == nil {
			return fmt.Errorf("PVC %s has no storage class", p.Name)
		}
		bound[p.Name] = true
		fmt.Printf("PVC %s bound to %s (%s)\n", p.Name, p.Spec.VolumeName, *p.Spec.StorageClassName)
	}
	for _, want := range []string{"data-" + release + "-postgresql-0", release + "-prometheus-server"} {
		if !bound[want] {
			return fmt.Errorf("no bound PVC %s among %v", want, slices.Sorted(maps.Keys(bound)))
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

// helmTest runs the README's `helm test`. The chart deletes the test pod
// once it succeeds (so `--logs` would find nothing); a failed one stays, and
// its log says why.
func (e *env) helmTest(ctx context.Context) error {
	_, err := e.helm(ctx, "test", release, "--namespace", namespace, "--timeout", "3m")
	if err != nil {
		out, _ := e.node.kubectl(ctx, nil, "-n", namespace, "logs", release+"-test")
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
	// One walk started and completed, one distance observed: distance.
	return p.expectWalkCounts(ctx, before, walkCounts{1, 1, 1, distance})
}
