// Package chart renders the walker Helm chart with the helm binary and
// decodes what it renders strictly into Kubernetes API types (an unknown
// field is an error). The chart tests, the local stack (hack/up) and the
// end-to-end test all read the chart's output through it, so they run the
// configuration the chart really produces.
package chart

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// Objects is a rendered release, by kind and name.
type Objects struct {
	Deployments     map[string]*appsv1.Deployment
	StatefulSets    map[string]*appsv1.StatefulSet
	Services        map[string]*corev1.Service
	ConfigMaps      map[string]*corev1.ConfigMap
	Secrets         map[string]*corev1.Secret
	ServiceAccounts map[string]*corev1.ServiceAccount
	PVCs            map[string]*corev1.PersistentVolumeClaim
	Pods            map[string]*corev1.Pod
	Ingresses       map[string]*networkingv1.Ingress
	NetworkPolicies map[string]*networkingv1.NetworkPolicy
	HPAs            map[string]*autoscalingv2.HorizontalPodAutoscaler
	PDBs            map[string]*policyv1.PodDisruptionBudget
	ClusterRoles    map[string]*rbacv1.ClusterRole
	ClusterBindings map[string]*rbacv1.ClusterRoleBinding
	// Custom resources (ServiceMonitor, PrometheusRule) have no Go types
	// here; they are kept as generic maps.
	Custom map[string]map[string]any // "Kind/name"
}

// Render runs `helm template` and decodes the output. args are extra helm
// arguments (--set, -f, --namespace ...).
func Render(ctx context.Context, helm, chartDir, release string, args ...string) (*Objects, string, error) {
	return RenderEnv(ctx, nil, helm, chartDir, release, args...)
}

// RenderEnv is Render with env (KEY=value entries) added to helm's
// environment, over this process's own (an entry replaces a variable of
// the same name), which is left as it is.
func RenderEnv(ctx context.Context, env []string, helm, chartDir, release string, args ...string) (*Objects, string, error) {
	cmd := exec.CommandContext(ctx, helm, append([]string{"template", release, chartDir}, args...)...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("helm template: %v\n%s", err, FilterHelmNoise(stderr.String()))
	}
	objs, err := decodeManifest(out.Bytes())
	return objs, out.String(), err
}

// FilterHelmNoise drops every "found symbolic link in path" line: helm
// notes each symlinked file of the chart (the nginx configuration and the
// monitoring files), not only one.
func FilterHelmNoise(s string) string {
	noise := func(line string) bool { return strings.Contains(line, "found symbolic link in path") }
	return strings.Join(slices.DeleteFunc(strings.Split(s, "\n"), noise), "\n")
}

// decodeManifest splits a multi-document manifest and decodes each object strictly.
func decodeManifest(manifest []byte) (*Objects, error) {
	o := &Objects{Custom: map[string]map[string]any{}}
	decoders := map[string]func(doc []byte, name string) error{
		"Deployment":              decodeInto(&o.Deployments),
		"StatefulSet":             decodeInto(&o.StatefulSets),
		"Service":                 decodeInto(&o.Services),
		"ConfigMap":               decodeInto(&o.ConfigMaps),
		"Secret":                  decodeInto(&o.Secrets),
		"ServiceAccount":          decodeInto(&o.ServiceAccounts),
		"PersistentVolumeClaim":   decodeInto(&o.PVCs),
		"Pod":                     decodeInto(&o.Pods),
		"Ingress":                 decodeInto(&o.Ingresses),
		"NetworkPolicy":           decodeInto(&o.NetworkPolicies),
		"HorizontalPodAutoscaler": decodeInto(&o.HPAs),
		"PodDisruptionBudget":     decodeInto(&o.PDBs),
		"ClusterRole":             decodeInto(&o.ClusterRoles),
		"ClusterRoleBinding":      decodeInto(&o.ClusterBindings),
	}
	for _, doc := range splitDocuments(manifest) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("decode: %v\n%s", err, doc)
		}
		if head.Kind == "" {
			continue
		}
		name := head.Metadata.Name
		var err error
		if decode, ok := decoders[head.Kind]; ok {
			err = decode(doc, name)
		} else {
			var m map[string]any
			err = yaml.Unmarshal(doc, &m)
			o.Custom[head.Kind+"/"+name] = m
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", head.Kind, name, err)
		}
	}
	return o, nil
}

// decodeInto makes *into a new map and returns the decoder that files
// each document under its name there, decoded strictly (an unknown field
// is an error) into a new T.
func decodeInto[T any](into *map[string]*T) func(doc []byte, name string) error {
	m := map[string]*T{}
	*into = m
	return func(doc []byte, name string) error {
		v := new(T)
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			return err
		}
		if _, dup := m[name]; dup {
			return fmt.Errorf("rendered twice")
		}
		m[name] = v
		return nil
	}
}

func splitDocuments(manifest []byte) [][]byte {
	empty := func(doc []byte) bool { return len(bytes.TrimSpace(doc)) == 0 }
	return slices.DeleteFunc(bytes.Split(manifest, []byte("\n---")), empty)
}

// Container returns the named container of a pod spec (init containers too).
func Container(spec *corev1.PodSpec, name string) *corev1.Container {
	named := func(c corev1.Container) bool { return c.Name == name }
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		if i := slices.IndexFunc(list, named); i >= 0 {
			return &list[i]
		}
	}
	return nil
}

// Names lists a map's keys in order, for messages.
func Names[T any](m map[string]T) []string {
	return slices.Sorted(maps.Keys(m))
}
