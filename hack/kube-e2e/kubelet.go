package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/walkerhq/walker/internal/chart"
	"github.com/walkerhq/walker/internal/proc"
)

// kubelet plays the kubelet's part for one node, and only that: it binds
// pending pods to the node, runs their containers as local processes in a
// network namespace per pod, probes them as declared and reports their
// status; the real controllers do the rest (endpoints, rollouts, GC).
type kubelet struct {
	e         *env
	cp        *controlPlane
	namespace string
	node      string
	walkerBin string
	nginxBin  string

	mu   sync.Mutex
	pods map[types.UID]*podRun
	// terminating pods are being stopped (preStop, then the processes);
	// each is terminated once, and shutdown waits for them.
	terminating map[types.UID]chan struct{}
	nextIP      int
	errs        []string
}

type podRun struct {
	n      int
	name   string
	veth   string
	netns  string
	ip     string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	procs  map[string]*proc.Process
	mu     sync.Mutex
}

func (k *kubelet) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Println("kubelet: " + msg)
	k.mu.Lock()
	k.errs = append(k.errs, msg)
	k.mu.Unlock()
}

// registerNode creates the Node the pods are bound to, Ready.
func (k *kubelet) registerNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.node, Labels: map[string]string{"kubernetes.io/hostname": k.node}}}
	created, err := k.cp.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: hostIP}},
		Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("50")},
	}
	created.Status.Allocatable = created.Status.Capacity
	_, err = k.cp.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// run syncs the namespace's pods until ctx ends.
func (k *kubelet) run(ctx context.Context) {
	for {
		k.syncOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (k *kubelet) syncOnce(ctx context.Context) {
	list, err := k.cp.client.CoreV1().Pods(k.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() == nil {
			fmt.Println("kubelet: list pods:", err)
		}
		return
	}
	seen := map[types.UID]bool{}
	for i := range list.Items {
		pod := &list.Items[i]
		seen[pod.UID] = true
		switch {
		case pod.DeletionTimestamp != nil:
			go k.terminate(ctx, pod)
		case pod.Spec.NodeName == "":
			k.bind(ctx, pod)
		case pod.Spec.NodeName == k.node:
			k.mu.Lock()
			_, running := k.pods[pod.UID]
			if !running && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
				k.pods[pod.UID] = k.startPod(ctx, pod)
			}
			k.mu.Unlock()
		}
	}
	// Pods gone from the API server (deleted before they were bound to us
	// for long): stop what runs of them.
	k.mu.Lock()
	for uid, r := range k.pods {
		if !seen[uid] {
			delete(k.pods, uid)
			done := make(chan struct{})
			k.terminating[uid] = done
			go func() { r.stop(0); close(done) }()
		}
	}
	k.mu.Unlock()
}

func (k *kubelet) bind(ctx context.Context, pod *corev1.Pod) {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.node},
	}
	if err := k.cp.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsConflict(err) {
		k.errorf("bind %s: %v", pod.Name, err)
	}
}

// terminate runs the preStop delays, stops the processes and only then
// removes the pod for good (what the kubelet confirms to the API server).
// It runs once per pod, however often the sync loop sees it terminating.
func (k *kubelet) terminate(ctx context.Context, pod *corev1.Pod) {
	k.mu.Lock()
	if _, busy := k.terminating[pod.UID]; busy {
		k.mu.Unlock()
		return
	}
	done := make(chan struct{})
	k.terminating[pod.UID] = done
	r, ok := k.pods[pod.UID]
	delete(k.pods, pod.UID)
	k.mu.Unlock()
	defer close(done)
	if !ok && pod.Spec.NodeName != k.node {
		return // not ours
	}
	if ok {
		preStop := time.Duration(0)
		for _, c := range pod.Spec.Containers {
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
				preStop = max(preStop, time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second)
			}
		}
		r.stop(preStop)
	}
	zero := int64(0)
	err := k.cp.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		k.errorf("delete %s: %v", pod.Name, err)
	}
}

func (r *podRun) stop(preStop time.Duration) {
	if preStop > 0 {
		time.Sleep(preStop)
	}
	r.cancel()
	ip("link", "del", r.veth) // gone with the namespace, unless a process still holds it
	<-r.done
	r.mu.Lock()
	for _, p := range r.procs {
		p.Stop(10 * time.Second)
	}
	r.mu.Unlock()
	removePodNetwork(r.netns)
}

// startPod gives the pod an address and runs it in the background.
func (k *kubelet) startPod(ctx context.Context, pod *corev1.Pod) *podRun {
	k.nextIP++
	n := k.nextIP
	ctx, cancel := context.WithCancel(ctx)
	r := &podRun{
		n: n, name: pod.Name, netns: fmt.Sprintf("walker-e2e-%d", n), veth: fmt.Sprintf("we2e%d", n), ip: fmt.Sprintf("%s%d", podPrefix, n+1),
		dir: filepath.Join(k.e.dir, "pods", pod.Name), cancel: cancel, done: make(chan struct{}), procs: map[string]*proc.Process{},
	}
	go func() {
		defer close(r.done)
		// A pod deleted while it starts is not an error of the pod.
		if err := k.runPod(ctx, pod, r); err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
			k.errorf("pod %s: %v", pod.Name, err)
			k.setFailed(context.Background(), pod, err)
		}
	}()
	return r
}

func (k *kubelet) runPod(ctx context.Context, pod *corev1.Pod, r *podRun) error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	if err := podNetwork(r.netns, r.veth, r.ip); err != nil {
		return err
	}
	started := metav1.Now()
	if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.HostIP, s.PodIP = hostIP, r.ip
		s.HostIPs, s.PodIPs = []corev1.HostIP{{IP: hostIP}}, []corev1.PodIP{{IP: r.ip}}
		s.StartTime = &started
		setCondition(s, corev1.PodScheduled, true)
		setCondition(s, corev1.PodInitialized, false)
	}); err != nil {
		return err
	}
	// Init containers, in order, each to completion.
	for _, c := range pod.Spec.InitContainers {
		p, err := k.startContainer(ctx, pod, r, c)
		if err != nil {
			return err
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.Err() != nil {
			return fmt.Errorf("init container %s: %v (log %s)", c.Name, p.Err(), p.Log)
		}
	}
	for _, c := range pod.Spec.Containers {
		if _, err := k.startContainer(ctx, pod, r, c); err != nil {
			return err
		}
	}
	// Probe and report until the pod is stopped; a pod that must not
	// restart ends when its containers have.
	lastReady := map[string]bool{}
	first := true
	for {
		ready := map[string]bool{}
		exited, failed := 0, false
		for _, c := range pod.Spec.Containers {
			r.mu.Lock()
			p := r.procs[c.Name]
			r.mu.Unlock()
			if p.Exited() {
				exited++
				failed = failed || p.Err() != nil
				if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
					return fmt.Errorf("container %s exited: %v (log %s)", c.Name, p.Err(), p.Log)
				}
				continue
			}
			ready[c.Name] = probe(ctx, c, r.ip)
		}
		if exited == len(pod.Spec.Containers) {
			phase := corev1.PodSucceeded
			if failed {
				phase = corev1.PodFailed
			}
			return k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
				s.Phase = phase
				setCondition(s, corev1.PodReady, false)
				setCondition(s, corev1.ContainersReady, false)
			})
		}
		if first || !equalReady(ready, lastReady) {
			all := len(ready) == len(pod.Spec.Containers)
			for _, v := range ready {
				all = all && v
			}
			if err := k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
				s.Phase = corev1.PodRunning
				setCondition(s, corev1.PodInitialized, true)
				setCondition(s, corev1.ContainersReady, all)
				setCondition(s, corev1.PodReady, all)
				s.ContainerStatuses = nil
				for _, c := range pod.Spec.Containers {
					s.ContainerStatuses = append(s.ContainerStatuses, corev1.ContainerStatus{
						Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: "local://" + r.name + "/" + c.Name,
						Ready: ready[c.Name], Started: ptr(true),
						State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
					})
				}
				s.InitContainerStatuses = nil
				for _, c := range pod.Spec.InitContainers {
					s.InitContainerStatuses = append(s.InitContainerStatuses, corev1.ContainerStatus{
						Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true,
						State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
					})
				}
			}); err != nil && ctx.Err() == nil {
				return err
			}
			lastReady, first = ready, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func equalReady(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func setCondition(s *corev1.PodStatus, t corev1.PodConditionType, ok bool) {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != status {
				s.Conditions[i].Status = status
				s.Conditions[i].LastTransitionTime = metav1.Now()
			}
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, LastTransitionTime: metav1.Now()})
}

func (k *kubelet) updateStatus(ctx context.Context, pod *corev1.Pod, change func(*corev1.PodStatus)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.cp.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return fmt.Errorf("pod %s was replaced", pod.Name)
		}
		change(&cur.Status)
		_, err = k.cp.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func (k *kubelet) setFailed(ctx context.Context, pod *corev1.Pod, cause error) {
	k.updateStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodFailed
		s.Message = cause.Error()
		setCondition(s, corev1.PodReady, false)
	})
}

// startContainer maps the container's image to a local program and starts
// it in the pod's network namespace with the spec's command, args and env.
func (k *kubelet) startContainer(ctx context.Context, pod *corev1.Pod, r *podRun, c corev1.Container) (*proc.Process, error) {
	env, err := k.resolveEnv(ctx, pod, r, c)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	var argv []string
	image := c.Image
	switch {
	case imageIs(image, "walker"):
		// The image's ENTRYPOINT is /walker: command replaces it, args follow.
		argv = append([]string{k.walkerBin}, c.Args...)
		if len(c.Command) > 0 {
			return nil, fmt.Errorf("container %s overrides the walker image's entrypoint: %v", c.Name, c.Command)
		}
	case imageIs(image, "nginx-unprivileged") || imageIs(image, "nginx"):
		src, err := k.sources(ctx, pod)
		if err != nil {
			return nil, err
		}
		port := int32(8080)
		if len(c.Ports) > 0 {
			port = c.Ports[0].ContainerPort
		}
		args, err := chart.LocalNginx(&pod.Spec, src, filepath.Join(r.dir, c.Name), fmt.Sprintf("%d", port))
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.Name, err)
		}
		argv = append([]string{k.nginxBin}, args...)
	default:
		// Other images (the helm test's curl) run their command from the
		// host, when the host has it.
		cmd := append(append([]string{}, c.Command...), c.Args...)
		if len(cmd) == 0 {
			return nil, fmt.Errorf("container %s: image %s has no command to run locally", c.Name, image)
		}
		if _, err := exec.LookPath(cmd[0]); err != nil {
			return nil, fmt.Errorf("container %s: image %s needs %s, which this machine lacks", c.Name, image, cmd[0])
		}
		argv = cmd
	}
	full := append([]string{"ip", "netns", "exec", r.netns}, argv...)
	p, err := k.e.startWithEnv(r.name+"-"+c.Name, env, full...)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.procs[c.Name] = p
	r.mu.Unlock()
	return p, nil
}

func imageIs(image, repo string) bool {
	name := image
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return name == repo || strings.HasSuffix(name, "/"+repo)
}

// sources fetches the ConfigMaps and Secrets the pod's volumes name.
func (k *kubelet) sources(ctx context.Context, pod *corev1.Pod) (chart.Sources, error) {
	src := chart.Sources{ConfigMaps: map[string]*corev1.ConfigMap{}, Secrets: map[string]*corev1.Secret{}}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm, err := k.cp.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				return src, err
			}
			src.ConfigMaps[cm.Name] = cm
		case v.Secret != nil:
			s, err := k.cp.client.CoreV1().Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				return src, err
			}
			src.Secrets[s.Name] = s
		}
	}
	return src, nil
}

// resolveEnv turns the container's env into KEY=value, reading Secrets and
// ConfigMaps from the API server as the kubelet does.
func (k *kubelet) resolveEnv(ctx context.Context, pod *corev1.Pod, r *podRun, c corev1.Container) ([]string, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + r.dir}
	for _, e := range c.Env {
		v := e.Value
		if f := e.ValueFrom; f != nil {
			switch {
			case f.SecretKeyRef != nil:
				s, err := k.cp.client.CoreV1().Secrets(pod.Namespace).Get(ctx, f.SecretKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
				b, ok := s.Data[f.SecretKeyRef.Key]
				if !ok {
					return nil, fmt.Errorf("env %s: Secret %s has no key %s", e.Name, s.Name, f.SecretKeyRef.Key)
				}
				v = string(b)
			case f.ConfigMapKeyRef != nil:
				cm, err := k.cp.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, f.ConfigMapKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
				v = cm.Data[f.ConfigMapKeyRef.Key]
			case f.FieldRef != nil:
				switch f.FieldRef.FieldPath {
				case "metadata.name":
					v = pod.Name
				case "metadata.namespace":
					v = pod.Namespace
				case "status.podIP":
					v = r.ip
				default:
					return nil, fmt.Errorf("env %s: unsupported fieldRef %s", e.Name, f.FieldRef.FieldPath)
				}
			default:
				return nil, fmt.Errorf("env %s: unsupported valueFrom", e.Name)
			}
		}
		env = append(env, e.Name+"="+v)
	}
	return env, nil
}

// probe runs the container's readiness probe (httpGet) against the pod IP.
func probe(ctx context.Context, c corev1.Container, podIP string) bool {
	p := c.ReadinessProbe
	if p == nil {
		return true
	}
	if p.HTTPGet == nil {
		return false // exec/tcp probes are not used by walker's pods
	}
	port := p.HTTPGet.Port
	if port.Type == intstr.String {
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				port = intstr.FromInt32(cp.ContainerPort)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s:%d%s", podIP, port.IntValue(), p.HTTPGet.Path), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// report describes the pods for a failure message.
func (k *kubelet) report() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b strings.Builder
	for _, r := range k.pods {
		fmt.Fprintf(&b, "\n  pod %s at %s (logs: %s/%s-*.log)", r.name, r.ip, k.e.dir, r.name)
	}
	for _, e := range k.errs {
		fmt.Fprintf(&b, "\n  kubelet: %s", e)
	}
	return b.String()
}

// shutdown stops syncing and then every pod it runs.
func (k *kubelet) shutdown(stop context.CancelFunc, done chan struct{}) {
	stop()
	<-done
	k.mu.Lock()
	pods := k.pods
	k.pods = map[types.UID]*podRun{}
	k.mu.Unlock()
	for _, r := range pods {
		r.stop(0)
	}
	// Terminations in flight finish their preStop wait and stop their pod.
	k.mu.Lock()
	var pending []chan struct{}
	for _, d := range k.terminating {
		pending = append(pending, d)
	}
	k.mu.Unlock()
	for _, d := range pending {
		<-d
	}
}
