package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	pollpkg "github.com/walkerhq/walker/internal/poll"
)

// machineState is what a node changes on the host and must give back:
// mounts, network interfaces, packet filter rules, cgroups, sysctls, the
// folders the node's programs write outside the run's own folder, and
// processes. It is taken before the node starts and again after the
// teardown; anything that differs then is put back or removed, and what
// cannot be is a failure of the run.
type machineState struct {
	lists    map[string][]string // by hostLists' what
	iptables map[string]string   // iptables-save / ip6tables-save, normalised
	sysctls  map[string]string
}

// hostLists are the node's traces on the host that are lists of names,
// each with the way to list them and to remove one, in the order of their
// removal (mounts hold the rest).
var hostLists = []struct {
	what   string
	list   func() ([]string, error)
	remove func(string) error
}{
	{"mount", mountPoints, func(m string) error { return syscall.Unmount(m, syscall.MNT_DETACH) }},
	{"network interface", links, func(l string) error { return ip("link", "del", l) }},
	{"nft table", nftTables, func(t string) error {
		f := strings.Fields(t)
		return exec.Command("nft", "delete", "table", f[0], f[1]).Run()
	}},
	{"cgroup", cgroupDirs, removeCgroup},
	{"path", presentNodePaths, os.RemoveAll},
}

// Folders the kubelet, containerd and the CNI plugins may create whatever
// their configuration says.
var nodePaths = []string{"/run/containerd", "/var/lib/containerd", "/var/lib/cni", "/var/log/containers",
	"/var/log/pods", "/var/lib/kubelet", "/run/netns", "/etc/cni", "/opt/cni", "/var/run/kubernetes"}

// Programs of the node; one still running after the teardown is a leak.
var nodePrograms = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
	"kube-proxy", "containerd", "containerd-shim-runc-v2", "runc", "coredns", "local-path-provisioner"}

// isNodeProgram compares with the kernel's process name, cut at 15 bytes.
func isNodeProgram(comm string) bool {
	return slices.ContainsFunc(nodePrograms, func(p string) bool { return p[:min(len(p), 15)] == comm })
}

func takeMachineState() (*machineState, error) {
	s := &machineState{lists: map[string][]string{}, iptables: map[string]string{}, sysctls: sysctls()}
	for _, l := range hostLists {
		var err error
		if s.lists[l.what], err = l.list(); err != nil {
			return nil, err
		}
	}
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		s.iptables[save] = iptablesRules(save)
	}
	return s, nil
}

// presentNodePaths is the nodePaths that exist.
func presentNodePaths() ([]string, error) {
	var present []string
	for _, p := range nodePaths {
		if _, err := os.Lstat(p); err == nil {
			present = append(present, p)
		}
	}
	return present, nil
}

// restore puts back what the node changed and reports what is still
// different afterwards.
func (before *machineState) restore() (restored, left []string) {
	// Processes first: they hold mounts, cgroups and interfaces.
	if procs := nodeProcesses(); len(procs) > 0 {
		for _, p := range procs {
			left = append(left, "process "+p.String())
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		pollpkg.Until(5*time.Second, func() bool { return len(nodeProcesses()) == 0 })
	}
	for _, l := range hostLists {
		now, _ := l.list()
		added := without(now, before.lists[l.what])
		sort.Sort(sort.Reverse(sort.StringSlice(added))) // deepest first
		for _, x := range added {
			if l.remove(x) == nil {
				restored = append(restored, "removed "+l.what+" "+x)
			}
		}
	}
	for save, rules := range before.iptables {
		if iptablesRules(save) != rules {
			cmd := exec.Command(strings.Replace(save, "-save", "-restore", 1))
			cmd.Stdin = strings.NewReader(rules)
			if err := cmd.Run(); err == nil {
				restored = append(restored, "restored the "+strings.TrimSuffix(save, "-save")+" rules")
			}
		}
	}
	for k, v := range sysctls() {
		if old, ok := before.sysctls[k]; ok && old != v {
			if os.WriteFile(filepath.Join("/proc/sys", k), []byte(old), 0o644) == nil {
				restored = append(restored, fmt.Sprintf("sysctl %s: %s back to %s", k, v, old))
			}
		}
	}
	return restored, append(left, before.diff()...)
}

// diff lists what still differs from the state before.
func (before *machineState) diff() []string {
	after, err := takeMachineState()
	if err != nil {
		return []string{err.Error()}
	}
	var d []string
	for _, l := range hostLists {
		for _, x := range without(after.lists[l.what], before.lists[l.what]) {
			d = append(d, l.what+" "+x)
		}
	}
	for save, rules := range before.iptables {
		if after.iptables[save] != rules {
			d = append(d, save+" rules differ")
		}
	}
	for k, v := range after.sysctls {
		if old, ok := before.sysctls[k]; ok && old != v {
			d = append(d, fmt.Sprintf("sysctl %s = %s (was %s)", k, v, old))
		}
	}
	for _, p := range nodeProcesses() {
		d = append(d, "process "+p.String())
	}
	return d
}

func links() ([]string, error) {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip link: %w", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	return names, nil
}

func mountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var mps []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			mps = append(mps, f[4])
		}
	}
	return mps, nil
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// iptablesRules is the rules of every table, without comments and counters.
func iptablesRules(save string) string {
	out, err := exec.Command(save).Output()
	if err != nil {
		return ""
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, counters.ReplaceAllString(l, "[0:0]"))
		}
	}
	return strings.Join(keep, "\n")
}

// nftTables is "family name" of every nftables table (none when nft
// fails).
func nftTables() ([]string, error) {
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return nil, nil
	}
	var ts []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "table" {
			ts = append(ts, f[1]+" "+f[2])
		}
	}
	return ts, nil
}

// cgroupDirs is the first two levels of every cgroup hierarchy.
func cgroupDirs() ([]string, error) {
	var dirs []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, r := range roots {
		for _, pattern := range []string{"/*", "/*/*"} {
			m, _ := filepath.Glob(r + pattern)
			for _, d := range m {
				if fi, err := os.Stat(d); err == nil && fi.IsDir() {
					dirs = append(dirs, d)
				}
			}
		}
	}
	return dirs, nil
}

// removeCgroup removes a cgroup and its children, deepest first.
func removeCgroup(root string) error {
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var last error
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !os.IsNotExist(err) {
			last = err
		}
	}
	return last
}

// sysctls is every writable kernel parameter but the per-interface ones
// (interfaces are compared themselves) and those the kernel changes itself.
func sysctls() map[string]string {
	vals := map[string]string{}
	perInterface := regexp.MustCompile(`^net/ipv[46]/(conf|neigh)/[^/]+/`)
	filepath.WalkDir("/proc/sys", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		k := strings.TrimPrefix(p, "/proc/sys/")
		if perInterface.MatchString(k) && !regexp.MustCompile(`/(all|default)/`).MatchString(k) {
			return nil
		}
		if strings.HasPrefix(k, "kernel/random/") || strings.HasPrefix(k, "fs/") || k == "kernel/ns_last_pid" || k == "vm/drop_caches" || k == "kernel/sched_domain" {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Mode().Perm()&0o200 == 0 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			vals[k] = string(bytes.TrimSpace(b))
		}
		return nil
	})
	return vals
}

type process struct {
	pid  int
	name string
}

func (p process) String() string { return fmt.Sprintf("%s (pid %d)", p.name, p.pid) }

// nodeProcesses lists running processes of the node's programs, and any
// process in a pod's cgroup.
func nodeProcesses() []process {
	var found []process
	pids, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range pids {
		comm, err := os.ReadFile(p + "/comm")
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		cg, _ := os.ReadFile(p + "/cgroup")
		if isNodeProgram(name) || strings.Contains(string(cg), "kubepods") {
			pid, _ := strconv.Atoi(filepath.Base(p))
			found = append(found, process{pid, name})
		}
	}
	return found
}

// without is the elements of a that b lacks.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
