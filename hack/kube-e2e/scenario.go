package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/testtool"
)

const (
	release   = "walker"
	namespace = "walker"
	// appPods selects the release's walker pods.
	appPods = "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/component=app"
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
}

func (e *env) chartDir() string { return filepath.Join(e.root, "charts", "walker") }

// helm runs helm against the node and prints its output.
func (e *env) helm(ctx context.Context, args ...string) (string, error) {
	bin, err := testtool.Lookup("helm")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.node.kubeconfig)
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(chart.FilterHelmNoise(string(out)))
	fmt.Println(text)
	if err != nil {
		return text, fmt.Errorf("helm %s: %v%s", strings.Join(args[:2], " "), err, e.podReport(ctx))
	}
	return text, nil
}

// upgrade is the README's install command with --wait, plus extra flags;
// it returns helm's output.
func (e *env) upgrade(ctx context.Context, extra ...string) (string, error) {
	args := append([]string{"upgrade", "--install", release, "charts/walker", "--namespace", namespace,
		"--create-namespace", "--dependency-update", "--wait", "--timeout", "5m"}, extra...)
	return e.helm(ctx, args...)
}

// walkerPods waits until the release has want ready walker pods (want 0:
// any number, at least one) and no others, and returns their names sorted.
func (e *env) walkerPods(ctx context.Context, want int) ([]string, error) {
	var names []string
	err := poll(ctx, fmt.Sprintf("%d ready walker pods", want), 3*time.Minute, func() (bool, error) {
		pods, err := e.node.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
			LabelSelector: appPods})
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
