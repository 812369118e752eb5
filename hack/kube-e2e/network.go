package main

import (
	"fmt"
	"os/exec"
	"strings"
)

// Pods get addresses on a bridge of their own; the host is 10.244.0.1 on it.
// The API server refuses loopback pod IPs, and a network namespace per pod
// gives its containers a shared localhost, as in a real pod.
const (
	bridgeName = "walker-e2e0"
	hostIP     = "10.244.0.1"
	podPrefix  = "10.244.0."
)

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (e *env) setupBridge() error {
	ip("link", "del", bridgeName) // left over by a killed run
	if err := ip("link", "add", bridgeName, "type", "bridge"); err != nil {
		return err
	}
	e.defer_(func() { ip("link", "del", bridgeName) })
	if err := ip("addr", "add", hostIP+"/24", "dev", bridgeName); err != nil {
		return err
	}
	return ip("link", "set", bridgeName, "up")
}

// podNetwork creates the namespace ns with address addr, wired to the bridge.
func podNetwork(ns, veth, addr string) error {
	// Left over by a killed run.
	ip("netns", "del", ns)
	ip("link", "del", veth)
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", veth, "master", bridgeName},
		{"link", "set", veth, "up"},
		{"-n", ns, "addr", "add", addr + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "route", "add", "default", "via", hostIP},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			ip("netns", "del", ns)
			return err
		}
	}
	return nil
}

// removePodNetwork deletes the namespace; its veth pair goes with it.
func removePodNetwork(ns string) { ip("netns", "del", ns) }
