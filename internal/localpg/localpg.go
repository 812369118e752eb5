// Package localpg runs a throwaway PostgreSQL cluster from the system's
// binaries, for the local stack and tests: initdb into a folder, listen on
// 127.0.0.1 only, trust authentication, remove everything on Stop.
//
// PostgreSQL refuses to run as root, so when we are root the server runs as
// the postgres user (Debian's packages create it).
package localpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/testtool"
)

// Cluster is a running PostgreSQL server.
type Cluster struct {
	dir    string
	bindir string
	Port   int
	asUser string // "" when we may run it ourselves
}

// BinDir finds the folder of initdb and pg_ctl: pg_config's, then the newest
// /usr/lib/postgresql/*/bin. It returns "" when PostgreSQL is not installed.
func BinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		return ""
	}
	return filepath.Dir(slices.MaxFunc(initdbs, func(a, b string) int { return major(a) - major(b) }))
}

// Require stops a test that needs PostgreSQL when its binaries are
// missing: Skip on a laptop, Fatal under CI=true (testtool.Missing).
func Require(t testing.TB) {
	t.Helper()
	testtool.SkipShort(t, "PostgreSQL")
	if BinDir() == "" {
		testtool.Missing(t, "PostgreSQL server binaries not found (apt-get install postgresql-15)")
	}
}

// major is the PostgreSQL major version in the path of its initdb.
func major(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// Start creates a cluster in a new folder under parent ("" for the system's
// temp dir) and starts it on a free loopback port (or on port if not 0).
func Start(ctx context.Context, parent string, port int) (_ *Cluster, err error) {
	bindir := BinDir()
	if bindir == "" {
		return nil, errors.New("PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)")
	}
	dir, err := os.MkdirTemp(parent, "walker-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	c := &Cluster{dir: dir, bindir: bindir, Port: port}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		u, err := user.Lookup(c.asUser)
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// The temp folder's parents must be traversable by postgres.
		if err := os.Chmod(dir, 0o755); err == nil {
			err = os.Chown(dir, uid, gid)
		}
		if err != nil {
			return nil, err
		}
	}
	if c.Port == 0 {
		ports, err := testtool.Ports("127.0.0.1", 1)
		if err != nil {
			return nil, err
		}
		c.Port = ports[0]
	}
	if err := c.run(ctx, "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", c.data()); err != nil {
		return nil, err
	}
	if err := c.Resume(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Pause stops the server but keeps its data, to test an outage.
func (c *Cluster) Pause(ctx context.Context) error {
	return c.run(ctx, "pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop")
}

// Resume starts the (paused or new) server on its port.
func (c *Cluster) Resume(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.Port, c.dir)
	if err := c.run(ctx, "pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		logs, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%w\n%s", err, logs)
	}
	return nil
}

// URL is the connection URL of database name (the "postgres" database
// always exists).
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// CreateDatabase creates a database owned by a new role with a password, as
// an application would get it, and returns the role's URL.
func (c *Cluster) CreateDatabase(ctx context.Context, name, role, password string) (string, error) {
	for _, sql := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, strings.ReplaceAll(password, "'", "''")),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, role),
	} {
		if err := c.run(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres",
			"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", role, password, c.Port, name), nil
}

// Stop shuts the server down fast and removes its folder.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.run(ctx, "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	if rerr := os.RemoveAll(c.dir); err == nil {
		err = rerr
	}
	return err
}

// run runs one of the server's tools to completion; the error names it by
// its last argument and holds its output.
func (c *Cluster) run(ctx context.Context, tool string, args ...string) error {
	path := filepath.Join(c.bindir, tool)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	// Own process group: a Ctrl-C meant for the caller must not kill the
	// server before Stop runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", tool, args[len(args)-1], err, out)
	}
	return nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// Dir is the cluster's folder (data, socket, log).
func (c *Cluster) Dir() string { return c.dir }
