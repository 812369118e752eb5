package charts_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/walkerhq/walker/internal/testtool"
)

// TestChartLockMatchesChartYAML runs `helm dependency build`, which refuses
// a Chart.lock out of sync with Chart.yaml's dependencies, against a stand-in
// for the prometheus-community repository on loopback: the repository's URL
// as Chart.yaml names it, its index cached, the chart served from the
// prometheus chart that hack/chart-deps assembled. To regenerate Chart.lock
// after changing the dependency, run `helm dependency update --skip-refresh`
// the same way.
func TestChartLockMatchesChartYAML(t *testing.T) {
	bin := helm(t)
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	run := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helm %v: %v\n%s", args, err, out)
		}
	}
	run(nil, "package", filepath.Join(chartDir, "charts", "prometheus"), "--destination", repo)
	srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
	defer srv.Close()
	run(nil, "repo", "index", repo, "--url", srv.URL)

	cache := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	index := testtool.ReadFile(t, filepath.Join(repo, "index.yaml"))
	repos := "apiVersion: \"\"\nrepositories:\n- name: prometheus-community\n  url: https://prometheus-community.github.io/helm-charts\n"
	for path, body := range map[string][]byte{
		filepath.Join(cache, "prometheus-community-index.yaml"): index,
		filepath.Join(dir, "repositories.yaml"):                 []byte(repos),
	} {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyDir := filepath.Join(dir, "walker")
	if out, err := exec.Command("cp", "-rL", chartDir, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("copy chart: %v\n%s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(copyDir, "charts")); err != nil {
		t.Fatal(err)
	}
	run([]string{"HELM_REPOSITORY_CONFIG=" + filepath.Join(dir, "repositories.yaml"), "HELM_REPOSITORY_CACHE=" + cache,
		"HELM_CACHE_HOME=" + filepath.Join(dir, "home"), "HELM_CONFIG_HOME=" + filepath.Join(dir, "home"), "HELM_DATA_HOME=" + filepath.Join(dir, "home")},
		"dependency", "build", "--skip-refresh", copyDir)
	if _, err := os.Stat(filepath.Join(copyDir, "charts", "prometheus-29.27.0.tgz")); err != nil {
		t.Errorf("helm dependency build did not fetch the locked prometheus chart: %v", err)
	}
}
