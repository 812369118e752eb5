// Package testtool finds the external tools that tests run (nginx, helm,
// promtool, PostgreSQL, Chromium...). A missing tool skips the test on a
// developer's machine with a message naming the install command, and fails
// it under CI=true, where hack/tools must have installed everything.
//
// It also holds what the tests and the commands (hack/up, hack/kube-e2e)
// share: processes run for a test, free ports, the clone's root, and
// (walker.go) walker built, started and called as the tests do.
package testtool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/proc"
)

// CI reports whether the tests run in CI (CI=true), where nothing may skip.
func CI() bool { return os.Getenv("CI") == "true" }

// ReadFile returns the file's contents, or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BinDir is the folder hack/tools installs Go-built tools into.
func BinDir() string {
	if d := os.Getenv("WALKER_TOOLS_CACHE"); d != "" {
		return filepath.Join(d, "bin")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "walker-tools", "bin")
}

// Find returns the path of tool: from PATH, then hack/tools' folder, then
// the extra folders given. It returns "" when the tool is nowhere.
func Find(tool string, extraDirs ...string) string {
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	for _, dir := range append([]string{BinDir()}, extraDirs...) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, tool)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Lookup is Find for the commands (hack/up, hack/kube-e2e): it also looks
// in /usr/sbin and /usr/bin, and a missing tool is an error.
func Lookup(tool string) (string, error) {
	if p := Find(tool, "/usr/sbin", "/usr/bin"); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run hack/tools (make tools)", tool)
}

// Require returns the path of tool or stops the test: Fatal under CI=true,
// Skip elsewhere. Use it at the top of a test or in TestMain's helpers.
func Require(t testing.TB, tool string, extraDirs ...string) string {
	t.Helper()
	SkipShort(t, tool)
	if p := Find(tool, extraDirs...); p != "" {
		return p
	}
	Missing(t, tool+" not found (install it with hack/tools)")
	return ""
}

// Missing reports an unavailable dependency: Fatal under CI=true, Skip
// elsewhere.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("required for CI: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// Start runs argv with our environment plus env, its output in
// dir/name.log, until the test ends; a failed test shows the end of the
// log.
func Start(t testing.TB, dir, name string, env []string, argv ...string) *proc.Process {
	t.Helper()
	p, err := proc.Start(dir, name, env, argv...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			var log strings.Builder
			p.Tail(&log, 8000)
			t.Log(log.String())
		}
	})
	return p
}

// Ports returns n different TCP ports on the local address host that
// nobody listens on right now.
func Ports(host string, n int) ([]int, error) {
	var ports []int
	for range n {
		// Each stays open until all are chosen, so that they differ.
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := Ports("127.0.0.1", 1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// SkipShort skips the test in -short mode (make test-short): it needs
// what. Under CI=true nothing may skip, so -short is a failure there.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if !testing.Short() {
		return
	}
	if CI() {
		t.Fatalf("-short under CI=true would skip a test that needs %s", what)
	}
	t.Skipf("short mode: needs %s", what)
}

// ClientFrom is an HTTP client whose connections leave from ip: any
// 127.0.0.0/8 address is loopback on Linux, and the server sees another
// client (nginx's per-address limits).
func ClientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// RandomHex is n random bytes in hex: passwords, tokens, trace ids.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// RepoRoot is the clone's top folder (the one with go.mod), so that the
// commands work from anywhere inside it.
func RepoRoot() (string, error) {
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("run me inside the walker clone")
}

// Grep is the lines of text that contain substr.
func Grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
