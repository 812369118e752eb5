// Package proc runs the long-lived helper processes of the local stack and
// the end-to-end test (servers, nginx, Prometheus, pods' containers): each
// in its own process group, its output in a log file, stoppable with
// everything it started; and (Run) the commands they run to completion.
package proc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/walkerhq/walker/internal/poll"
)

// Process is a running child.
type Process struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs argv with our environment plus env, its output in
// dir/name.log.
func Start(dir, name string, env []string, argv ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a Ctrl-C meant for us does not reach it, and Stop
	// ends what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Run runs argv in dir to completion with our environment plus env, like an
// init container; the error names the command as name and holds its output.
func Run(ctx context.Context, dir, name string, env []string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Err is the exit error, valid once Exited.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the group, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
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

// Tail writes the end of the log.
func (p *Process) Tail(w io.Writer, max int) {
	b, _ := os.ReadFile(p.Log)
	if len(b) > max {
		b = b[len(b)-max:]
	}
	fmt.Fprintf(w, "--- %s (%s) ---\n%s\n", p.Name, p.Log, b)
}

// WaitHTTP waits until GET url is answered with status (0: any) while the
// process runs. When it exits or time runs out, the error ends with the
// end of its log.
func (p *Process) WaitHTTP(ctx context.Context, url string, timeout time.Duration, status int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := poll.HTTP(ctx, url, timeout, status)
	if err == nil {
		return nil
	}
	if p.Exited() {
		err = fmt.Errorf("%s exited (%v) before answering: %w", p.Name, p.Err(), err)
	}
	var log strings.Builder
	p.Tail(&log, 4000)
	return fmt.Errorf("%w\n%s", err, log.String())
}
