package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/walkerhq/walker/internal/proc"
)

// start runs a tool with our environment plus env, stopped at cleanup.
func (e *env) start(name string, env []string, argv ...string) (*proc.Process, error) {
	p, err := e.startWithEnv(name, append(os.Environ(), env...), argv...)
	if err == nil {
		e.defer_(func() { p.Stop(5 * time.Second) })
	}
	return p, err
}

// startWithEnv runs argv with exactly env (a pod's containers get only
// their own environment). The caller stops it (the kubelet stops its pods).
func (e *env) startWithEnv(name string, env []string, argv ...string) (*proc.Process, error) {
	return proc.Start(name, filepath.Join(e.dir, name+".log"), env, argv...)
}
