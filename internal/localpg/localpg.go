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
	"sort"
	"strconv"
	"strings"
	"syscall"
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
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// Start creates a cluster in a new folder under parent ("" for the system's
// temp dir) and starts it on a free loopback port (or on port if not 0).
func Start(ctx context.Context, parent string, port int) (*Cluster, error) {
	bindir := BinDir()
	if bindir == "" {
		return nil, errors.New("PostgreSQL server binaries not found (pg_config --bindir, /usr/lib/postgresql/*/bin)")
	}
	dir, err := os.MkdirTemp(parent, "walker-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bindir: bindir, Port: port}
	if os.Geteuid() == 0 {
		c.asUser = "postgres"
		u, err := user.Lookup(c.asUser)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		// The temp folder's parents must be traversable by postgres.
		if err := os.Chmod(dir, 0o755); err == nil {
			err = os.Chown(dir, uid, gid)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if c.Port == 0 {
		ports, err := testtool.Ports("127.0.0.1", 1)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.Port = ports[0]
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command(ctx, "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := c.Resume(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// Pause stops the server but keeps its data, to test an outage.
func (c *Cluster) Pause(ctx context.Context) error {
	out, err := c.command(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// Resume starts the (paused or new) server on its port.
func (c *Cluster) Resume(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.Port, c.dir)
	if out, err := c.command(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		logs, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, logs)
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
		if out, err := c.command(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres",
			"-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql).CombinedOutput(); err != nil {
			return "", fmt.Errorf("psql %q: %v\n%s", sql, err, out)
		}
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", role, password, c.Port, name), nil
}

// Stop shuts the server down fast and removes its folder.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
	if rerr := os.RemoveAll(c.dir); err == nil && rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
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
	return cmd
}

// Dir is the cluster's folder (data, socket, log).
func (c *Cluster) Dir() string { return c.dir }
