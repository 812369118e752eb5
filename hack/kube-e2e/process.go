package main

import (
	"time"

	"github.com/walkerhq/walker/internal/proc"
)

// start runs a program with our environment plus env, its output in the
// state folder, stopped at cleanup.
func (e *env) start(name string, env []string, argv ...string) (*proc.Process, error) {
	p, err := proc.Start(e.dir, name, env, argv...)
	if err == nil {
		e.defer_(func() { p.Stop(10 * time.Second) })
	}
	return p, err
}
