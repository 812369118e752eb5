package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// uninstall is the last step: helm uninstall, then nothing of the release
// may be left, and the namespace and its volumes go.
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
		switch {
		case err == nil:
			return false, fmt.Errorf("namespace %s still there", namespace)
		case !apierrors.IsNotFound(err):
			return false, err
		}
		pvs, err := e.node.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(pvs.Items) == 0, fmt.Errorf("%d PersistentVolumes left", len(pvs.Items))
	})
}

// dataClaim is PostgreSQL's volume claim, which helm uninstall keeps.
const dataClaim = "PersistentVolumeClaim/data-" + release + "-postgresql-0"

// anyLabelKinds are the kinds of which no object may be left in the
// namespace, whatever its labels (the chart's and those Kubernetes makes
// for them); every other kind, by the release's label.
var anyLabelKinds = []struct {
	kind string
	gvr  schema.GroupVersionResource
}{
	{"Pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
	{"Service", schema.GroupVersionResource{Version: "v1", Resource: "services"}},
	{"Secret", schema.GroupVersionResource{Version: "v1", Resource: "secrets"}},
	{"EndpointSlice", schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}},
}

// expectNothingLeft waits until no object of the release remains but the
// database's volume claim.
func (e *env) expectNothingLeft(ctx context.Context) error {
	dyn, err := e.node.dynamicClient()
	if err != nil {
		return err
	}
	const sel = "app.kubernetes.io/instance=" + release
	return poll(ctx, "nothing of the release left", 90*time.Second, func() (bool, error) {
		var left []string
		for _, k := range anyLabelKinds {
			names, err := listObjects(ctx, dyn, k.gvr, k.kind, "")
			if err != nil {
				return false, err // not "none left": poll tries again
			}
			left = append(left, names...)
		}
		if len(left) > 0 {
			return false, fmt.Errorf("left after helm uninstall: %v", left)
		}
		// Every namespaced kind the API server serves, by the release's
		// label (once the pods are gone: it takes a list call per kind).
		others, err := e.labelledObjects(ctx, dyn, sel)
		if err != nil {
			return false, err
		}
		// PostgreSQL's data outlives the release, as StatefulSet PVCs
		// do (the chart README says so): that claim, and nothing else.
		if !slices.Contains(others, dataClaim) {
			return false, fmt.Errorf("left after helm uninstall: %v (missing: %s, which should keep the data)", others, dataClaim)
		}
		if left = slices.DeleteFunc(others, func(o string) bool { return o == dataClaim }); len(left) > 0 {
			return false, fmt.Errorf("left after helm uninstall: %v", left)
		}
		fmt.Printf("no Pod, Service, Secret or EndpointSlice left in the namespace (whatever its labels), nor any object of any listable namespaced kind labelled %s but %s (the data, kept by design)\n", sel, dataClaim)
		return true, nil
	})
}

// dynamicClient is a client for any kind, without the deprecation warnings
// that listing every kind (v1 Endpoints) brings.
func (n *node) dynamicClient() (*dynamic.DynamicClient, error) {
	cfg := rest.CopyConfig(n.config)
	cfg.WarningHandler = rest.NoWarnings{}
	return dynamic.NewForConfig(cfg)
}

// listObjects names the objects of one kind in the namespace as Kind/name.
func listObjects(ctx context.Context, dyn *dynamic.DynamicClient, gvr schema.GroupVersionResource, kind, sel string) ([]string, error) {
	objs, err := dyn.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", gvr.Resource, err)
	}
	var names []string
	for _, o := range objs.Items {
		names = append(names, kind+"/"+o.GetName())
	}
	return names, nil
}

// labelledObjects lists the objects of every listable namespaced kind in
// the namespace that carry the label selector sel.
func (e *env) labelledObjects(ctx context.Context, dyn *dynamic.DynamicClient, sel string) ([]string, error) {
	lists, err := e.node.client.Discovery().ServerPreferredNamespacedResources()
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
			names, err := listObjects(ctx, dyn, gv.WithResource(r.Name), r.Kind, sel)
			if err != nil {
				return nil, err
			}
			left = append(left, names...)
		}
	}
	return left, nil
}
