package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The failure steps: pods deleted under the release, and back.

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
		out, err := e.node.kubectl(ctx, nil, "-n", namespace, "exec", release+"-postgresql-0", "--",
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
	// walkerPods waits itself until two pods are ready and none is
	// terminating, which the deleted one is from the Delete on.
	now, err := e.walkerPods(ctx, 2)
	if err != nil {
		return err
	}
	if slices.Contains(now, pods[0]) {
		return fmt.Errorf("walker pod %s was not replaced: %v", pods[0], now)
	}
	return e.expectTargets(ctx)
}
