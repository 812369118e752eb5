// Package testdb gives tests real databases: one PostgreSQL server per test
// package (started on first use, stopped by Main), a fresh database per
// test, and SQLite files for the same behavioural suites.
package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/internal/localpg"
	"github.com/walkerhq/walker/internal/testtool"
)

var (
	once     sync.Once
	cluster  *localpg.Cluster
	startErr error
	counter  atomic.Int64
)

// Main runs the package's tests and stops the server afterwards. Call it
// from TestMain: os.Exit(testdb.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
		}
	}
	return code
}

// Server returns the package's PostgreSQL server, starting it on first use.
// Without PostgreSQL the test skips (fails under CI=true).
func Server(t testing.TB) *localpg.Cluster {
	t.Helper()
	testtool.SkipShort(t, "PostgreSQL")
	if localpg.BinDir() == "" {
		testtool.Missing(t, "PostgreSQL server binaries not found (apt-get install postgresql-15)")
	}
	once.Do(func() { cluster, startErr = localpg.Start(context.Background(), "", 0) })
	if startErr != nil {
		t.Fatalf("starting PostgreSQL: %v", startErr)
	}
	return cluster
}

// PostgresURL creates a fresh, empty database for the test and returns its
// URL; the database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	c := Server(t)
	name := fmt.Sprintf("walker_test_%d_%d", os.Getpid(), counter.Add(1))
	admin := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return c.URL(name)
}

// SQLitePath is a fresh SQLite file in the test's temp folder.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "walker.db")
}

// Backend is a database the behavioural suites run on.
type Backend struct {
	Name string
	// Config gives a store configuration on a fresh, empty database.
	Config func(t *testing.T) store.Config
}

// Backends: PostgreSQL (production) and SQLite (local use), so that every
// behavioural test runs on both.
var Backends = []Backend{
	{"postgresql", func(t *testing.T) store.Config { return store.Config{DatabaseURL: PostgresURL(t)} }},
	{"sqlite", func(t *testing.T) store.Config { return store.Config{SQLitePath: SQLitePath(t)} }},
}
