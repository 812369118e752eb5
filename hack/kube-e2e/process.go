package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is a child process with its output in a log file, in its own
// process group so that it can be stopped with everything it started.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start runs a tool with our environment plus env.
func (e *env) start(name string, env []string, argv ...string) (*proc, error) {
	p, err := e.startWithEnv(name, append(os.Environ(), env...), argv...)
	if err == nil {
		e.defer_(func() { p.stop(5 * time.Second) })
	}
	return p, err
}

// startWithEnv runs argv with exactly env (a pod's containers get only
// their own environment). The caller stops it (the kubelet stops its pods).
func (e *env) startWithEnv(name string, env []string, argv ...string) (*proc, error) {
	log, err := e.logFile(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}
