// Command kube-e2e is walker's end-to-end test on a real single-node
// Kubernetes cluster it starts and tears down itself: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, the kubelet on Debian's
// containerd and runc, a bridge CNI, kube-proxy, CoreDNS and a local-path
// provisioner. The images come from a loopback registry: walker's is built
// without a daemon (make image-tar); the upstream ones the chart names are
// rebuilt (images.go). Then it walks the user's path with the README's
// commands: the table at the top of scenario.go names the steps, and
// install.go, upgrade.go, failures.go and uninstall.go hold them, in that
// order. See `issues show 9`.
//
//	go run ./hack/kube-e2e          (needs root)
//	go run ./hack/kube-e2e -keep    (keep the state folder and its logs)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/walkerhq/walker/internal/testtool"
)

type env struct {
	root     string // the clone
	dir      string // this run's state
	keep     bool   // keep the whole state folder (-keep)
	keepLogs bool   // keep its logs only (a failed run)
	cleanups []func()
	steps    []stepTiming
	machine  *machineState
	registry string // host:port of the loopback registry
	node     *node
	s        scenarioState
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
	os.Exit(run(ctx, *keep))
}

func run(ctx context.Context, keep bool) int {
	start := time.Now()
	e := &env{keep: keep}
	err := e.setup()
	if err == nil {
		for _, s := range e.scenario() {
			if err = e.step(ctx, s.name, s.run); err != nil {
				break
			}
		}
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", err)
	}
	e.keepLogs = err != nil // they explain the failure
	if cerr := e.cleanup(); err == nil {
		err = cerr
	}
	fmt.Println("\nend-to-end report:")
	for _, s := range e.steps {
		status := "ok  "
		if s.err != nil {
			status = "FAIL"
		}
		fmt.Printf("  %s %-78s %8s\n", status, s.name, s.took.Round(100*time.Millisecond))
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
		return errors.New("needs root (a kubelet, containerd, network namespaces)")
	}
	var err error
	if e.root, err = testtool.RepoRoot(); err != nil {
		return err
	}
	// The machine as it was, to give it back that way.
	if e.machine, err = takeMachineState(); err != nil {
		return err
	}
	e.dir, err = os.MkdirTemp("", "walker-e2e-")
	if err != nil {
		return err
	}
	// Pods' unprivileged users read their volumes below this folder.
	os.Chmod(e.dir, 0o755)
	return nil
}

// step runs one named step and records its time. A panic in the step is
// its error (with the stack), so that the run still reaches the cleanup
// and the node does not stay up on the host.
func (e *env) step(ctx context.Context, name string, fn func(context.Context) error) error {
	fmt.Printf("--- %s\n", name)
	t := time.Now()
	err := runRecovered(ctx, fn)
	e.steps = append(e.steps, stepTiming{name: name, took: time.Since(t), err: err})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// runRecovered is fn(ctx), with a panic turned into an error.
func runRecovered(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx)
}

// defer_ registers a cleanup; they run in reverse order, also on failure.
func (e *env) defer_(fn func()) { e.cleanups = append(e.cleanups, fn) }

// cleanup stops the node, then checks that the machine is as it was:
// whatever the node left (mounts, interfaces, rules, cgroups, sysctls,
// processes) is put back and named; what cannot be put back fails the run.
func (e *env) cleanup() error {
	t := time.Now()
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
	var left []string
	if e.machine != nil {
		var restored []string
		restored, left = e.machine.restore()
		for _, r := range restored {
			fmt.Printf("cleanup: %s\n", r)
		}
	}
	if e.dir != "" && !e.keep {
		if err := removeState(e.dir, e.keepLogs); err != nil {
			left = append(left, fmt.Sprintf("state folder %s: %v", e.dir, err))
		}
	}
	fmt.Printf("cleanup: %s\n", time.Since(t).Round(100*time.Millisecond))
	if len(left) > 0 {
		return fmt.Errorf("the teardown left %s", strings.Join(left, "; "))
	}
	return nil
}

// removeState removes the run's folder, or all of it but the logs (the
// node's data, images and volumes are most of a gigabyte).
func removeState(dir string, keepLogs bool) error {
	if !keepLogs {
		return os.RemoveAll(dir)
	}
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			dirs = append(dirs, p)
		case !strings.HasSuffix(p, ".log"):
			return os.Remove(p)
		}
		return nil
	})
	for i := len(dirs) - 1; i > 0; i-- {
		os.Remove(dirs[i]) // only the empty ones go
	}
	return err
}
