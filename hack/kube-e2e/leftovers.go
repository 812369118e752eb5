package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// dataClaim is PostgreSQL's volume claim, which helm uninstall keeps.
const dataClaim = "PersistentVolumeClaim/data-" + release + "-postgresql-0"

// expectNothingLeft waits until no object of the release remains but the
// database's volume claim.
func (e *env) expectNothingLeft(ctx context.Context) error {
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var left []string
		c := e.node.client
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
			others, err := labelledObjects(ctx, e.node, "app.kubernetes.io/instance="+release)
			if err != nil {
				return err
			}
			// PostgreSQL's data outlives the release, as StatefulSet PVCs
			// do (the chart README says so): that claim, and nothing else.
			if i := slices.Index(others, dataClaim); i >= 0 {
				left = slices.Delete(others, i, i+1)
				if len(left) == 0 {
					fmt.Printf("no Deployment, ReplicaSet, Pod, Service, Secret, ConfigMap, ServiceAccount, PDB or EndpointSlice left, nor any object of any kind labelled with the release but %s (the data, kept by design)\n", dataClaim)
					return nil
				}
			} else {
				left = append(others, "(missing: "+dataClaim+", which should keep the data)")
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("left after helm uninstall: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// labelledObjects lists the objects of every listable namespaced kind in
// the namespace that carry the label selector sel.
func labelledObjects(ctx context.Context, n *node, sel string) ([]string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		return nil, err
	}
	// Listing every kind includes deprecated ones (v1 Endpoints): no warnings.
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := n.client.Discovery().ServerPreferredNamespacedResources()
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
