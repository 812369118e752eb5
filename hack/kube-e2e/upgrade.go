package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The upgrade steps: scale out, a rolling upgrade and a rollback, each
// under load.

func (e *env) scaleOut(ctx context.Context) error {
	if _, err := e.upgrade(ctx, "--reuse-values", "--set", "replicaCount=2"); err != nil {
		return err
	}
	if _, err := e.walkerPods(ctx, 2); err != nil {
		return err
	}
	return e.expectTargets(ctx)
}

// rollUnderLoad runs change, which replaces the two walker pods, while
// pages are requested through the Service, and keeps the load on until no
// walker pod is terminating (the old pods and their endpoints are gone).
// It fails if any request failed, then checks the new pods (expectRolled).
func (e *env) rollUnderLoad(ctx context.Context, what string, nginxRefuses bool, change func() error) error {
	old, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	svc, err := e.node.client.CoreV1().Services(namespace).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:%d/walks/start/", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	// Bounded, but above what change may take: helm's 5m timeout, then
	// walkerPods' own wait (3 min).
	l := startLoad(ctx, url, 10*time.Minute)
	changeErr := change()
	if changeErr == nil {
		_, changeErr = e.walkerPods(ctx, 0)
	}
	ok, failed, why, timedOut := l.finish()
	fmt.Printf("load during %s: %d requests, %d failed %s\n", what, ok+failed, failed, why)
	if changeErr != nil {
		return changeErr
	}
	if timedOut {
		return fmt.Errorf("the load stopped before the roll ended (%s)", what)
	}
	if ok == 0 || failed > 0 {
		return fmt.Errorf("%d of %d requests failed during %s: %s", failed, ok+failed, what, why)
	}
	return e.expectRolled(ctx, old, nginxRefuses)
}

func (e *env) rollingUpgrade(ctx context.Context) error {
	var err error
	if e.s.password, err = e.metricsPassword(ctx); err != nil {
		return err
	}
	if err := e.expectBodyLimit(ctx, true); err != nil {
		return err
	}
	return e.rollUnderLoad(ctx, "the rolling upgrade", false, func() error {
		_, err := e.upgrade(ctx, "--reuse-values", "--set", "nginx.clientMaxBodySize=2m")
		return err
	})
}

func (e *env) rollback(ctx context.Context) error {
	return e.rollUnderLoad(ctx, "the rollback", true, func() error {
		_, err := e.helm(ctx, "rollback", release, "2", "--namespace", namespace, "--wait", "--timeout", "5m")
		return err
	})
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

// expectBodyLimit sends a 1.5 MB body through each walker pod's nginx: the
// chart's default client_max_body_size (1m) makes nginx refuse it itself,
// the upgraded 2m passes it on to the app. The app refuses it too (its own
// limit is far smaller), so what tells them apart is who answered: only the
// app's responses carry the X-Request-ID header.
func (e *env) expectBodyLimit(ctx context.Context, nginxRefuses bool) error {
	pods, err := e.node.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: appPods})
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
