// Command kube-e2e is walker's end-to-end test on a real Kubernetes control
// plane, without a container runtime: etcd, kube-apiserver and
// kube-controller-manager run on loopback; `helm upgrade --install` installs
// the chart as a user would; this program plays the kubelet (binds pods,
// gives each a network namespace and IP, runs its containers as local
// processes from the pod spec, probes them, reports their status); a real
// Prometheus discovers and scrapes the app with the chart's scrape job; a
// real Chromium clicks through the walk forms. See `issues show 5`.
//
//	go run ./hack/kube-e2e          (needs root: network namespaces)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type env struct {
	root     string // the clone
	dir      string // this run's state
	toolsBin string
	keep     bool
	cleanups []func()
	steps    []stepTiming
}

type stepTiming struct {
	name string
	took time.Duration
	err  error
}

func main() {
	keep := flag.Bool("keep", false, "keep the state folder for debugging")
	flag.Parse()
	// If our output goes away (the terminal, `go run` killed), keep going
	// to the cleanup instead of dying on the first write.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, *keep)
	os.Exit(code)
}

func run(ctx context.Context, keep bool) int {
	start := time.Now()
	e := &env{keep: keep}
	err := e.setup()
	if err == nil {
		err = e.scenario(ctx)
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", err)
	}
	if err != nil {
		e.keep = true // the logs explain the failure
	}
	if cerr := e.cleanup(); err == nil {
		err = cerr
	}
	fmt.Println("\nend-to-end report:")
	for _, s := range e.steps {
		status := "ok  "
		if s.err != nil {
			status = "FAIL"
		}
		fmt.Printf("  %s %-62s %8s\n", status, s.name, s.took.Round(100*time.Millisecond))
	}
	fmt.Printf("  total %s\n", time.Since(start).Round(time.Second))
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nkube-e2e: FAILED: %v\n", err)
		if e.dir != "" {
			fmt.Fprintf(os.Stderr, "logs are in %s\n", e.dir)
		}
		return 1
	}
	fmt.Println("kube-e2e: PASSED")
	return 0
}

func (e *env) setup() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces and veths for the pods)")
	}
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return fmt.Errorf("run me inside the walker clone: %w", err)
	}
	e.root = strings.TrimSpace(string(out))
	if out, err := exec.Command(filepath.Join(e.root, "hack", "tools"), "--bin-dir").Output(); err == nil {
		e.toolsBin = strings.TrimSpace(string(out))
	}
	e.dir, err = os.MkdirTemp("", "walker-e2e-")
	if err != nil {
		return err
	}
	// nginx's unprivileged workers read the pods' files from here.
	os.Chmod(e.dir, 0o755)
	e.defer_(func() {
		if !e.keep {
			os.RemoveAll(e.dir)
		}
	})
	return nil
}

// step runs one named step and records its time.
func (e *env) step(name string, fn func() error) error {
	fmt.Printf("--- %s\n", name)
	t := time.Now()
	err := fn()
	e.steps = append(e.steps, stepTiming{name: name, took: time.Since(t), err: err})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// defer_ registers a cleanup; they run in reverse order, also on failure.
func (e *env) defer_(fn func()) { e.cleanups = append(e.cleanups, fn) }

// cleanup runs the cleanups and checks that no pod network is left.
func (e *env) cleanup() error {
	t := time.Now()
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
	var left []string
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "walker-e2e-") {
				left = append(left, "netns "+strings.Fields(l)[0])
			}
		}
	}
	if out, err := exec.Command("ip", "-o", "link").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 1 && (strings.HasPrefix(f[1], "we2e") || strings.HasPrefix(f[1], bridgeName)) {
				left = append(left, "link "+strings.TrimSuffix(f[1], ":"))
			}
		}
	}
	fmt.Printf("cleanup: %s\n", time.Since(t).Round(100*time.Millisecond))
	if len(left) > 0 {
		return fmt.Errorf("cleanup left %v behind", left)
	}
	return nil
}

// tool finds a binary: PATH, hack/tools' folder, /usr/sbin.
func (e *env) tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{e.toolsBin, "/usr/sbin", "/usr/bin"} {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: run hack/tools", name)
}

func (e *env) logFile(name string) (*os.File, error) {
	return os.Create(filepath.Join(e.dir, name+".log"))
}
