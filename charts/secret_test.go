package charts_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkerhq/walker/internal/chart"
)

// checkMetricsSecret checks the metrics Secret's derived keys against its
// username and password: an {SSHA} htpasswd line (cheap for nginx to check)
// and the scraper's Authorization header as an exact nginx map entry.
func checkMetricsSecret(t *testing.T, data map[string][]byte) {
	t.Helper()
	user, password := string(data["username"]), string(data["password"])
	line, ok := strings.CutPrefix(string(data["htpasswd"]), user+":{SSHA}")
	if !ok {
		t.Fatalf("htpasswd = %q, want %s:{SSHA}...", data["htpasswd"], user)
	}
	raw, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(raw) <= sha1.Size {
		t.Fatalf("htpasswd {SSHA} value %q: %v", line, err)
	}
	digest, salt := raw[:sha1.Size], raw[sha1.Size:]
	if sum := sha1.Sum(append([]byte(password), salt...)); !bytes.Equal(sum[:], digest) {
		t.Errorf("htpasswd {SSHA} does not match the password (salt %q)", salt)
	}
	header := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	want := fmt.Sprintf("\"~^%s$\" 1;\n", strings.ReplaceAll(header, "+", `\+`))
	if got := string(data["scraper.map"]); got != want {
		t.Errorf("scraper.map = %q, want %q", got, want)
	}
}

func TestMetricsSecretDerivedKeys(t *testing.T) {
	for _, password := range []string{"", "correct-horse-battery", "p>?~>?ü+/ with spaces"} {
		args := []string{}
		if password != "" {
			args = append(args, "--set-string", "metrics.auth.password="+password)
		}
		sec := render(t, args...).Secrets[release+"-metrics"]
		if sec == nil {
			t.Fatal("no metrics Secret")
		}
		if password != "" && string(sec.Data["password"]) != password {
			t.Errorf("password = %q, want %q", sec.Data["password"], password)
		}
		if password == "" && len(sec.Data["password"]) < 20 {
			t.Errorf("generated password %q, want 20 characters or more", sec.Data["password"])
		}
		checkMetricsSecret(t, sec.Data)
	}
}

// fakeAPIServer answers what `helm template --dry-run=server` asks for its
// lookup calls: the core API's discovery and GETs of Secrets in namespace.
// It stands in for a cluster, which these chart tests do not start (real
// upgrades are hack/kube-e2e's). It returns a kubeconfig for it.
func fakeAPIServer(t *testing.T, secrets map[string]map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1" {
			json.NewEncoder(w).Encode(map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
				map[string]any{"name": "secrets", "singularName": "secret", "namespaced": true, "kind": "Secret", "verbs": []string{"get"}},
			}})
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/"+namespace+"/secrets/")
		if data, found := secrets[name]; ok && found {
			json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": name, "namespace": namespace}, "data": data})
			return
		}
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
	}))
	t.Cleanup(srv.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {server: %q}\n"+
		"contexts:\n- name: fake\n  context: {cluster: fake, namespace: %s}\ncurrent-context: fake\n", srv.URL, namespace)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// renderUpgrade renders the chart with helm as `helm upgrade` would over a
// release whose metrics Secret holds data (lookup sees it).
func renderUpgrade(t *testing.T, helm string, data map[string][]byte, args ...string) *chart.Objects {
	t.Helper()
	// Its own HOME: helm and the Kubernetes client cache nothing in ours.
	objs, _, err := chart.RenderEnv(context.Background(), []string{"HOME=" + t.TempDir()}, helm, chartDir, release, append([]string{"--namespace", namespace,
		"--dry-run=server", "--kubeconfig", fakeAPIServer(t, map[string]map[string][]byte{release + "-metrics": data})}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// The metrics Secret across upgrades: the password stays, a bcrypt line
// from an earlier release becomes {SSHA}, an {SSHA} line that matches the
// credentials is kept byte for byte (the pods do not roll), and one that
// does not match them is replaced.
func TestMetricsSecretAcrossUpgrades(t *testing.T) {
	metrics, bin := release+"-metrics", helm(t)
	old := map[string][]byte{
		"username": []byte("prometheus"), "password": []byte("kept-password"),
		"htpasswd": []byte("prometheus:$2a$10$K4T4j2s3M8b0rWzRr0M2Ze2zV4uYb2r0xkQpC7W3d5sN1yq9o0v1e"),
	}
	first := renderUpgrade(t, bin, old).Secrets[metrics]
	if string(first.Data["password"]) != "kept-password" {
		t.Fatalf("the upgrade changed the password to %q", first.Data["password"])
	}
	checkMetricsSecret(t, first.Data)

	a := renderUpgrade(t, bin, first.Data)
	b := renderUpgrade(t, bin, first.Data)
	if got := a.Secrets[metrics].Data["htpasswd"]; !bytes.Equal(got, first.Data["htpasswd"]) {
		t.Errorf("the matching {SSHA} line was not kept: %q, was %q", got, first.Data["htpasswd"])
	}
	if checksum(a, "metrics-secret") != checksum(b, "metrics-secret") {
		t.Error("two upgrades with the same credentials roll the pods (checksum/metrics-secret differs)")
	}

	changed := renderUpgrade(t, bin, first.Data, "--set-string", "metrics.auth.password=new-password")
	if sec := changed.Secrets[metrics]; bytes.Equal(sec.Data["htpasswd"], first.Data["htpasswd"]) {
		t.Error("a new password kept the old htpasswd line")
	} else {
		checkMetricsSecret(t, sec.Data)
	}
	if checksum(changed, "metrics-secret") == checksum(a, "metrics-secret") {
		t.Error("a new password does not roll the pods")
	}
}
