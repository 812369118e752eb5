package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

//go:embed manifests/addons.yaml
var addonsYAML string

// startAddons applies CoreDNS and the local-path StorageClass, runs the
// provisioner on the node (like kube-proxy, a host process here; its
// helper pods run in the cluster) and waits for DNS.
func (e *env) startAddons(ctx context.Context, n *node) error {
	localPath := filepath.Join(n.dir, "local-path")
	if err := os.MkdirAll(localPath, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	err := template.Must(template.New("addons").Parse(addonsYAML)).Execute(&buf, map[string]string{
		"DNSIP": dnsIP, "CoreDNSImage": corednsImage, "BusyboxImage": busyboxImage, "LocalPathDir": localPath,
	})
	if err != nil {
		return err
	}
	if _, err := n.kubectl(ctx, &buf, "apply", "-f", "-"); err != nil {
		return err
	}
	if err := e.run(n, "local-path-provisioner", "--debug", "start", "--kubeconfig", n.kubeconfig,
		"--namespace", "local-path-storage", "--helper-image", busyboxImage,
		"--service-account-name", "local-path-provisioner-service-account"); err != nil {
		return err
	}
	return poll(ctx, "CoreDNS ready", 2*time.Minute, func() (bool, error) {
		d, err := n.client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		return err == nil && available(d), err
	})
}

func available(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil &&
		d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas &&
		d.Status.Replicas == *d.Spec.Replicas
}

// kubectl runs kubectl against the node with stdin (may be nil) and
// returns its output.
func (n *node) kubectl(ctx context.Context, stdin *bytes.Buffer, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", n.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %v: %v\n%s", args, err, out)
	}
	return string(out), nil
}
