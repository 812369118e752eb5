package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/walkerhq/walker/internal/proc"
)

// startProcess starts argv with env (added to ours) and logs into dir.
func startProcess(dir, name string, env []string, argv ...string) (*proc.Process, error) {
	return proc.Start(name, filepath.Join(dir, name+".log"), append(os.Environ(), env...), argv...)
}

// runOnce runs a command to completion, like an init container.
func runOnce(dir, name string, env []string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}
