package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/walkerhq/walker/internal/proc"
)

// forward is a running `kubectl port-forward`, the way users reach the app
// and Prometheus.
type forward struct {
	p   *proc.Process
	url string
}

// portForward runs `kubectl -n walker port-forward TARGET LOCAL:PORT` and
// waits until it forwards.
func (e *env) portForward(ctx context.Context, target string, port int) (*forward, error) {
	local, err := freePort()
	if err != nil {
		return nil, err
	}
	name := "port-forward-" + strings.NewReplacer("/", "-").Replace(target)
	name = fmt.Sprintf("%s-%d", name, local)
	logPath := filepath.Join(e.dir, name+".log")
	p, err := proc.Start(e.dir, name, []string{"KUBECONFIG=" + e.node.kubeconfig},
		"kubectl", "-n", namespace, "port-forward", target, fmt.Sprintf("%d:%d", local, port))
	if err != nil {
		return nil, err
	}
	e.defer_(func() { p.Stop(2 * time.Second) })
	f := &forward{p: p, url: fmt.Sprintf("http://127.0.0.1:%d", local)}
	err = poll(ctx, "kubectl port-forward "+target, 30*time.Second, func() (bool, error) {
		if p.Exited() {
			b, _ := os.ReadFile(logPath)
			return false, fmt.Errorf("kubectl port-forward exited: %s", b)
		}
		resp, err := http.Get(f.url + "/")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return true, nil
	})
	if err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return f, nil
}

func (f *forward) alive() bool { return !f.p.Exited() }

func (f *forward) close() { f.p.Stop(2 * time.Second) }
