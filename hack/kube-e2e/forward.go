package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/walkerhq/walker/internal/proc"
	"github.com/walkerhq/walker/internal/testtool"
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
	local, err := testtool.Ports("127.0.0.1", 1)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("port-forward-%s-%d", strings.ReplaceAll(target, "/", "-"), local[0])
	p, err := proc.Start(e.dir, name, []string{"KUBECONFIG=" + e.node.kubeconfig},
		"kubectl", "-n", namespace, "port-forward", target, fmt.Sprintf("%d:%d", local[0], port))
	if err != nil {
		return nil, err
	}
	e.defer_(func() { p.Stop(2 * time.Second) })
	f := &forward{p: p, url: fmt.Sprintf("http://127.0.0.1:%d", local[0])}
	if err := p.WaitHTTP(ctx, f.url+"/", 30*time.Second, 0); err != nil {
		p.Stop(time.Second)
		return nil, err
	}
	return f, nil
}

func (f *forward) alive() bool { return !f.p.Exited() }

func (f *forward) close() { f.p.Stop(2 * time.Second) }
