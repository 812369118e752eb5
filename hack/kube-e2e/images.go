package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/walkerhq/walker/internal/image"
	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/testtool"
)

// The images this test serves. No registry is reachable from our machines,
// so the upstream images the chart names are rebuilt here, under their exact
// references, from Debian's packages or from the pinned sources hack/tools
// builds, honouring each image's contract (entrypoint, user, paths,
// environment). containerd is told to pull every registry host from the
// loopback registry, so nothing resolves a public registry name.
const (
	pauseImage    = "registry.k8s.io/pause:3.10"
	corednsImage  = "registry.k8s.io/coredns/coredns:v1.15.0"
	busyboxImage  = "docker.io/library/busybox:1.35" // Debian's busybox-static 1.35, for local-path's helper pods
	reloaderImage = "quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"
)

// registryHosts are the hosts containerd sends to the loopback registry:
// every registry the chart and the node's own pods name.
var registryHosts = []string{"docker.io", "ghcr.io", "quay.io", "registry.k8s.io"}

// postgresEntrypoint stands in for the official image's docker-entrypoint.sh.
//
//go:embed postgres-entrypoint.sh
var postgresEntrypoint []byte

// startRegistry serves an in-memory registry on loopback until cleanup.
func (e *env) startRegistry() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	e.defer_(func() { srv.Close() })
	return ln.Addr().String(), nil
}

// push writes img to the loopback registry under ref's repository and tag.
func push(ctx context.Context, registryAddr, ref string, img v1.Image) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	local, err := name.NewTag(registryAddr+"/"+r.Context().RepositoryStr()+":"+r.Identifier(), name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(local, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// standIns builds the images the chart and the node need, by reference.
func (e *env) standIns(walkerTar, walkerRef, promVersion string) (map[string]func() (v1.Image, error), error) {
	tool := func(n string) string { p, _ := testtool.Lookup(n); return p }
	walkerTag, err := name.NewTag(walkerRef)
	if err != nil {
		return nil, err
	}
	return map[string]func() (v1.Image, error){
		walkerRef:    func() (v1.Image, error) { return image.ReadArchive(walkerTar, walkerTag) },
		pauseImage:   e.pauseImage,
		corednsImage: func() (v1.Image, error) { return staticImage("/coredns", tool("coredns"), "0") },
		busyboxImage: busybox,
		reloaderImage: func() (v1.Image, error) {
			return staticImage("/bin/prometheus-config-reloader", tool("prometheus-config-reloader"), "65534")
		},
		"quay.io/prometheus/prometheus:" + promVersion:      func() (v1.Image, error) { return prometheusImage(tool("prometheus"), tool("promtool")) },
		"docker.io/nginxinc/nginx-unprivileged:1.29-alpine": nginxImage,
		"docker.io/library/postgres:15-alpine":              postgresImage,
		"docker.io/curlimages/curl:8.11.1":                  curlImage,
	}, nil
}

// tmpDir is the world-writable /tmp of the images.
var tmpDir = image.Dir("/tmp", 0o777|fs.ModeSticky, 0, 0)

// debianPath is the images' usual PATH.
const debianPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// staticImage is a static binary as the entrypoint, run as user.
func staticImage(at, bin, user string) (v1.Image, error) {
	if bin == "" {
		return nil, fmt.Errorf("%s: binary not found (run hack/tools)", at)
	}
	return image.Build(image.Config{Entrypoint: []string{at}, User: user},
		[]image.File{{Path: at, Src: bin, Mode: 0o755}, tmpDir})
}

// pauseImage is the sandbox image: our own pause (hack/kube-e2e/pause).
func (e *env) pauseImage() (v1.Image, error) {
	bin := filepath.Join(e.dir, "pause")
	err := proc.Run(context.Background(), e.root, "build pause", []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", bin, "./hack/kube-e2e/pause")
	if err != nil {
		return nil, err
	}
	return staticImage("/pause", bin, "65535")
}

// prometheusImage honours quay.io/prometheus/prometheus: /bin/prometheus as
// the entrypoint, user nobody, /prometheus as the working directory. The
// binary is the one hack/tools builds at the chart's appVersion; built from
// the Go module it serves the API but not the web UI's assets.
func prometheusImage(prom, promtool string) (v1.Image, error) {
	if prom == "" || promtool == "" {
		return nil, fmt.Errorf("prometheus/promtool not found (run hack/tools)")
	}
	return image.Build(image.Config{
		Entrypoint:   []string{"/bin/prometheus"},
		Cmd:          []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"},
		User:         "nobody",
		WorkingDir:   "/prometheus",
		ExposedPorts: []string{"9090/tcp"},
	}, append(passwd("nobody:x:65534:65534:nobody:/home:/bin/false"),
		image.File{Path: "/bin/prometheus", Src: prom, Mode: 0o755},
		image.File{Path: "/bin/promtool", Src: promtool, Mode: 0o755},
		image.File{Path: "/etc/prometheus/prometheus.yml", Mode: 0o644, Data: []byte("scrape_configs:\n- job_name: prometheus\n  static_configs:\n  - targets: [localhost:9090]\n")},
		image.Dir("/prometheus", 0o755, 65534, 65534),
	))
}

// nginxImage honours nginxinc/nginx-unprivileged: nginx on PATH, user 101,
// port 8080, /etc/nginx, writable state only under /tmp and
// /var/cache/nginx, logs to the container's output. The chart runs nginx
// with its own command and configuration.
func nginxImage() (v1.Image, error) {
	return debianImage(image.Config{
		Cmd:          []string{"nginx", "-g", "daemon off;"},
		User:         "101",
		Env:          []string{debianPath},
		ExposedPorts: []string{"8080/tcp"},
		StopSignal:   "SIGQUIT",
	}, []string{"/usr/sbin/nginx"}, false, "nginx:x:101:101:nginx:/nonexistent:/bin/false",
		image.File{Path: "/etc/nginx/mime.types", Src: "/etc/nginx/mime.types", Mode: 0o644},
		image.Dir("/var/cache/nginx", 0o755, 101, 0),
		image.File{Path: "/var/log/nginx/error.log", Link: "/dev/stderr"},
		image.File{Path: "/var/log/nginx/access.log", Link: "/dev/stdout"},
	)
}

// postgresImage honours the official postgres image: its entrypoint
// initialises PGDATA from POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB
// (and POSTGRES_INITDB_ARGS) on first start, listens on every address with
// password authentication, runs as the alpine variant's uid 70 and stops on
// SIGINT. Debian's PostgreSQL 15 binaries stand in for alpine's.
func postgresImage() (v1.Image, error) {
	const bin = "/usr/lib/postgresql/15/bin"
	var bins []string
	for _, b := range []string{"postgres", "initdb", "pg_ctl", "pg_isready", "psql"} {
		bins = append(bins, filepath.Join(bin, b))
	}
	shared, err := tree("/usr/lib/postgresql/15/lib", "/usr/share/postgresql/15", "/usr/share/zoneinfo", "/usr/lib/locale/C.utf8")
	if err != nil {
		return nil, err
	}
	return debianImage(image.Config{
		Entrypoint:   []string{"docker-entrypoint.sh"},
		Cmd:          []string{"postgres"},
		User:         "70",
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:" + bin + ":/usr/sbin:/usr/bin:/sbin:/bin", "PG_MAJOR=15", "PGDATA=/var/lib/postgresql/data", "LANG=C.UTF-8"},
		ExposedPorts: []string{"5432/tcp"},
		StopSignal:   "SIGINT",
	}, bins, true, "postgres:x:70:70:postgres:/var/lib/postgresql:/bin/sh", append(shared,
		image.File{Path: "/usr/local/bin/docker-entrypoint.sh", Mode: 0o755, Data: postgresEntrypoint},
		image.Dir("/var/lib/postgresql/data", 0o777, 70, 70),
		image.Dir("/var/run/postgresql", 0o3777, 70, 70),
	)...)
}

// curlImage honours curlimages/curl: curl and a POSIX shell with the usual
// utilities, user curl_user (100). Debian's curl stands in for the tag's.
func curlImage() (v1.Image, error) {
	return debianImage(image.Config{
		Cmd:        []string{"curl"},
		User:       "100",
		WorkingDir: "/home/curl_user",
		Env:        []string{debianPath},
	}, []string{"/usr/bin/curl"}, true, "curl_user:x:100:101:curl:/home/curl_user:/bin/sh",
		image.File{Path: "/etc/ssl/certs/ca-certificates.crt", Src: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644},
		image.Dir("/home/curl_user", 0o755, 100, 101),
	)
}

// busybox is busybox with its applets, run as root (local-path's helper).
func busybox() (v1.Image, error) {
	return debianImage(image.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}, nil, true, "")
}

// debianImage is the host's (Debian's) bins with their libraries, busybox
// as the shell when shell is set, user's line in /etc/passwd (none when
// ""), /tmp, and the extra files.
func debianImage(cfg image.Config, bins []string, shell bool, user string, extra ...image.File) (v1.Image, error) {
	files, err := withLibraries(bins...)
	if err != nil {
		return nil, err
	}
	if shell {
		bb, err := busyboxFiles()
		if err != nil {
			return nil, err
		}
		files = append(files, bb...)
	}
	if user != "" {
		files = append(files, passwd(user)...)
	}
	return image.Build(cfg, append(append(files, extra...), tmpDir))
}

// busyboxFiles is Debian's static busybox at /bin/busybox with a link per
// applet in /bin.
func busyboxFiles() ([]image.File, error) {
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list (apt-get install busybox-static): %w", err)
	}
	files := []image.File{{Path: "/bin/busybox", Src: "/bin/busybox", Mode: 0o755}}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			files = append(files, image.File{Path: "/bin/" + applet, Link: "busybox"})
		}
	}
	return files, nil
}

// withLibraries is the binaries with the shared libraries ldd lists for
// them, at the same paths (a library two binaries need is listed twice:
// the image has it once).
func withLibraries(bins ...string) ([]image.File, error) {
	var files []image.File
	for _, b := range bins {
		files = append(files, image.File{Path: b, Src: b})
		out, err := exec.Command("ldd", b).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", b, err)
		}
		// Lines "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"; vdso has no file.
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				files = append(files, image.File{Path: f, Src: f})
			}
		}
	}
	return files, nil
}

// tree is every regular file and symlink below the folders, as on the host.
func tree(roots ...string) ([]image.File, error) {
	var files []image.File
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case strings.Contains(p, "llvmjit") || strings.HasSuffix(p, "/bitcode"):
				// JIT (LLVM, 100 MB) stays out: PostgreSQL runs without it.
				if d.IsDir() {
					return filepath.SkipDir
				}
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				files = append(files, image.File{Path: p, Link: target})
			case d.Type().IsRegular():
				files = append(files, image.File{Path: p, Src: p})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// passwd is /etc/passwd and /etc/group with root and the given user line.
func passwd(user string) []image.File {
	f := strings.Split(user, ":")
	return []image.File{
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\n" + user + "\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\n" + f[0] + ":x:" + f[3] + ":\n")},
	}
}
