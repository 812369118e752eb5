package charts_test

import (
	"cmp"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// platformIDs unsets every user and group id the chart sets, as on
// OpenShift, which assigns them from the namespace's range.
const platformIDs = "app.runAsUser=null,app.runAsGroup=null,nginx.runAsUser=null,nginx.runAsGroup=null,fsGroup=null," +
	"postgresql.runAsUser=null,postgresql.runAsGroup=null,postgresql.fsGroup=null,tests.runAsUser=null"

// ids is what a pod or container sets: user, group, fsGroup (-1: unset).
type ids [3]int64

func orUnset(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestUserIDsFromValues: by default the ids are the images' own users
// (today's numbers); with the values null, the chart sets none and the
// pods still refuse to run as root.
func TestUserIDsFromValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want map[string]ids
	}{
		{"defaults", nil, map[string]ids{
			"app pod": {-1, -1, 101}, "migrate": {65532, 65532, -1}, "walker": {65532, 65532, -1}, "nginx": {101, 101, -1},
			"postgresql pod": {70, 70, 70}, "postgresql": {-1, -1, -1}, "test pod": {100, -1, -1}, "check": {-1, -1, -1},
		}},
		{"null", []string{"--set", platformIDs}, map[string]ids{
			"app pod": {-1, -1, -1}, "migrate": {-1, -1, -1}, "walker": {-1, -1, -1}, "nginx": {-1, -1, -1},
			"postgresql pod": {-1, -1, -1}, "postgresql": {-1, -1, -1}, "test pod": {-1, -1, -1}, "check": {-1, -1, -1},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := render(t, tt.args...)
			pods := map[string]*corev1.PodSpec{
				"app":        &objs.Deployments[release].Spec.Template.Spec,
				"postgresql": &objs.StatefulSets[release+"-postgresql"].Spec.Template.Spec,
				"test":       &objs.Pods[release+"-test"].Spec,
			}
			got := map[string]ids{}
			for name, spec := range pods {
				sc := cmp.Or(spec.SecurityContext, &corev1.PodSecurityContext{})
				got[name+" pod"] = ids{orUnset(sc.RunAsUser), orUnset(sc.RunAsGroup), orUnset(sc.FSGroup)}
				if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Errorf("%s pod: runAsNonRoot is not true", name)
				}
				for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
					sc := cmp.Or(c.SecurityContext, &corev1.SecurityContext{})
					got[c.Name] = ids{orUnset(sc.RunAsUser), orUnset(sc.RunAsGroup), -1}
				}
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s: runAsUser, runAsGroup, fsGroup = %v, want %v (-1: unset)", name, got[name], want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("pods and containers %v, want those of %v", got, tt.want)
			}
		})
	}
}
