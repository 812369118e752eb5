// Package hack_test checks the packaging: the Dockerfile's build command,
// run here exactly as the image build runs it (no Docker engine needed),
// gives a static binary that starts and answers.
package hack_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/walkerhq/walker/internal/image"
	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/testtool"
)

// dockerfile returns the Dockerfile's lines without comments and blank
// lines, with continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	b := testtool.ReadFile(t, "../Dockerfile")
	var lines []string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	// A line ending in \ continues on the next one.
	joined := strings.ReplaceAll(strings.Join(lines, "\n"), "\\\n", " ")
	return strings.Split(joined, "\n")
}

// buildCommand finds the build stage's `RUN make build ...` and expands its
// ${ARG}s with the given values.
func buildCommand(t *testing.T, args map[string]string) []string {
	t.Helper()
	for _, l := range dockerfile(t) {
		if !strings.HasPrefix(l, "RUN make build") {
			continue
		}
		cmd := os.Expand(strings.TrimPrefix(l, "RUN "), func(k string) string {
			v, ok := args[k]
			if !ok {
				t.Fatalf("Dockerfile build command uses ${%s}, which the test does not set", k)
			}
			return v
		})
		return strings.Fields(cmd)
	}
	t.Fatal("no `RUN make build` line in the Dockerfile")
	return nil
}

func TestDockerfileFinalStage(t *testing.T) {
	lines := dockerfile(t)
	want := []*regexp.Regexp{
		regexp.MustCompile(`^FROM gcr\.io/distroless/static-debian12:nonroot$`),
		regexp.MustCompile(`^USER nonroot`),
		regexp.MustCompile(`^EXPOSE 8000 9000$`),
		regexp.MustCompile(`^CMD \["serve"\]$`),
		regexp.MustCompile(`^COPY --from=build /out/walker /walker$`),
	}
	for _, re := range want {
		if !slices.ContainsFunc(lines, re.MatchString) {
			t.Errorf("Dockerfile has no line matching %s", re)
		}
	}
}

func TestDockerfileBuildGivesStaticBinaryThatServes(t *testing.T) {
	testtool.Require(t, "make")
	out := filepath.Join(t.TempDir(), "out")
	argv := buildCommand(t, map[string]string{"VERSION": "v9.9.9-test", "COMMIT": "abc1234"})
	for i, a := range argv { // BINARY=/out/walker -> a temp path
		if strings.HasPrefix(a, "BINARY=") {
			argv[i] = "BINARY=" + filepath.Join(out, "walker")
		}
	}
	if err := proc.Run(context.Background(), "..", strings.Join(argv, " "), nil, argv...); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(out, "walker")

	t.Run("static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("binary has an ELF interpreter: it is dynamically linked")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("binary needs shared libraries %v", libs)
		}
	})

	t.Run("version stamped", func(t *testing.T) {
		b, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("walker version: %v\n%s", err, b)
		}
		for _, want := range []string{"v9.9.9-test", "abc1234"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("walker version printed %q, want it to contain %q", b, want)
			}
		}
	})

	t.Run("serves", func(t *testing.T) {
		// The image's default environment has no secret key: the binary
		// must serve without one (StartWalker sets one; env overrides it).
		w := testtool.StartWalker(t, bin, t.TempDir(), "WALKER_SECRET_KEY=")
		for _, c := range []struct {
			url  string
			want int
		}{
			{"http://" + w.Public + "/readyz", 200},
			{"http://" + w.Public + "/livez", 200},
			{"http://" + w.Public + "/walks/start/", 200},
			{"http://" + w.Public + "/metrics", 404},
			{"http://" + w.Metrics + "/metrics", 200},
		} {
			if got, _ := get(c.url); got != c.want {
				t.Errorf("GET %s = %d, want %d", c.url, got, c.want)
			}
		}
		if w.Stop(30 * time.Second); w.Err() != nil {
			t.Errorf("walker serve exited with %v after SIGTERM", w.Err())
		}
		if log, _ := os.ReadFile(w.Log); !bytes.Contains(log, []byte("WALKER_SECRET_KEY is not set")) {
			t.Errorf("walker serve ran with a secret key, want none; log:\n%s", log)
		}
	})
}

// get is the status and body of GET url, 0 without an answer.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLocalStackComesUp runs `make up`'s program in its checking mode: the
// pod's topology on loopback from the chart's rendered configuration, with
// Prometheus scraping the app through nginx with the generated password,
// native histograms beside the classic buckets, and a walk traced (into an
// OTLP receiver) to its exemplars in Prometheus.
func TestLocalStackComesUp(t *testing.T) {
	for _, tool := range []string{"helm", "nginx", "prometheus"} {
		testtool.Require(t, tool, "/usr/sbin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./hack/up", "--check",
		"--port", fmt.Sprint(testtool.FreePort(t)), "--prometheus-port", fmt.Sprint(testtool.FreePort(t)),
		"--app-port", fmt.Sprint(testtool.FreePort(t)), "--metrics-port", fmt.Sprint(testtool.FreePort(t)))
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PATH="+testtool.BinDir()+":/usr/sbin:"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/up --check: %v\n%s", err, out)
	}
	for _, want := range []string{
		"metrics without credentials: 401",
		"metrics with a wrong password: 401",
		"metrics with the generated password: 200",
		"Prometheus scraped the new walk through nginx: walks_started_total 0 -> 1",
		"ok  native histograms: histogram_quantile(0.99, sum(rate(http_request_duration_seconds[1m])))",
		"ok  classic buckets still scraped",
		`span "POST /api/walks" in the OTLP receiver`,
		"ok  the app's access log line of the walk carries its trace_id",
		"ok  /metrics (OpenMetrics, through nginx) has the trace id as exemplar on walks_started_total and http_request_duration_seconds",
		"ok  Prometheus stored the exemplars: query_exemplars finds the trace id on walks_started_total and http_request_duration_seconds",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hack/up --check did not report %q:\n%s", want, out)
		}
	}
}

// TestMakeRunServesTheFormsAndMetrics runs `make run` as a newcomer would
// (listeners moved to free ports): the app on SQLite with the demo data.
func TestMakeRunServesTheFormsAndMetrics(t *testing.T) {
	testtool.SkipShort(t, "the walker binary")
	addr, metricsAddr := testtool.FreeAddr(t), testtool.FreeAddr(t)
	dir := t.TempDir()
	run := testtool.Start(t, dir, "make-run", []string{"WALKER_ADDR=" + addr, "WALKER_METRICS_ADDR=" + metricsAddr},
		"make", "-C", "..", "-s", "run", "RUN_DIR="+dir, "BINARY="+filepath.Join(dir, "walker"))
	if err := run.WaitHTTP(context.Background(), "http://"+addr+"/walks/start/", 2*time.Minute, 0); err != nil {
		t.Fatalf("make run did not serve %s: %v", addr, err)
	}
	_, page := get("http://" + addr + "/walks/start/")
	for _, want := range []string{"Rex (large)", "Alice Smith", `name="csrf_token"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the start form lacks the demo data %q:\n%s", want, page)
		}
	}
	if _, b := get("http://" + metricsAddr + "/metrics"); !strings.Contains(b, `model_inserts_total{model="walk"} 0`) {
		t.Errorf("metrics listener:\n%.500s", b)
	}
	if out, _ := os.ReadFile(run.Log); !strings.Contains(string(out), "open http://"+addr+"/walks/start/") {
		t.Errorf("make run does not print the URL:\n%s", out)
	}
}

// TestImageTarIsTheDockerfilesImage builds the image without a daemon
// (`make image-tar`) and reads the archive both ways tools read it: as a
// `docker save` archive (docker load, kind) and as an OCI layout (ctr,
// skopeo). The config must be the Dockerfile's final stage and /walker the
// binary `make build` made.
func TestImageTarIsTheDockerfilesImage(t *testing.T) {
	testtool.Require(t, "make")
	dir := t.TempDir()
	bin, tarPath, ref := filepath.Join(dir, "walker"), filepath.Join(dir, "walker.tar"), "registry.example/walker:test"
	if err := proc.Run(context.Background(), "..", "make image-tar", nil, "make", "-s", "image-tar", "BINARY="+bin, "IMAGE="+ref, "IMAGE_TAR="+tarPath); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	img, err := image.ReadArchive(tarPath, tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/walker"}) || !slices.Equal(c.Cmd, []string{"serve"}) || c.User != "65532:65532" {
		t.Errorf("entrypoint %q cmd %q user %q; want the Dockerfile's [/walker] [serve] nonroot (65532)", c.Entrypoint, c.Cmd, c.User)
	}
	for _, p := range []string{"8000/tcp", "9000/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, c.ExposedPorts)
		}
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	want := testtool.ReadFile(t, bin)
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "walker" {
			got, _ := io.ReadAll(tr)
			found = bytes.Equal(got, want) && h.Mode&0o111 != 0
		}
	}
	if !found {
		t.Error("the image has no executable /walker equal to the built binary")
	}

	// The OCI layout in the same file names the same image.
	layoutDir := t.TempDir()
	if err := proc.Run(context.Background(), "", "untar", nil, "tar", "-xf", tarPath, "-C", layoutDir); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["io.containerd.image.name"] != ref {
		t.Fatalf("index.json %+v does not name one image %s", im.Manifests, ref)
	}
	fromLayout, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := img.ConfigName()
	c2, _ := fromLayout.ConfigName()
	l1, _ := img.LayerByDiffID(cf.RootFS.DiffIDs[0])
	d1, _ := l1.Digest()
	l2, _ := fromLayout.Layers()
	if c1 != c2 || len(l2) != 1 {
		t.Fatalf("the layout's image (config %s, %d layers) is not the archive's (config %s)", c2, len(l2), c1)
	}
	if d2, _ := l2[0].Digest(); d2 != d1 {
		t.Errorf("layer %s in the layout, %s in manifest.json", d2, d1)
	}
	if err := validate.Image(fromLayout); err != nil {
		t.Errorf("the OCI layout's image is not valid: %v", err)
	}
}
