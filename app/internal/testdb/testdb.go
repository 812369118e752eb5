// Package testdb gives tests real databases: one PostgreSQL server per test
// package (started on first use, stopped by Main), a fresh database per
// test, SQLite files for the same behavioural suites, stores on them and
// the rows most tests start from.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/metrics"
	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/internal/localpg"
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

// server returns the package's PostgreSQL server, starting it on first use.
func server(t testing.TB) *localpg.Cluster {
	t.Helper()
	localpg.Require(t)
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
	c := server(t)
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

// SQLite is a store configuration on a fresh SQLite file in the test's
// temp folder.
func SQLite(t testing.TB) store.Config {
	return store.Config{SQLitePath: filepath.Join(t.TempDir(), "walker.db")}
}

// OnEach runs test on a fresh, empty database of each backend, PostgreSQL
// (production) and SQLite (local use), so that every behavioural test runs
// on both.
func OnEach(t *testing.T, test func(t *testing.T, cfg store.Config)) {
	t.Run("postgresql", func(t *testing.T) { test(t, store.Config{DatabaseURL: PostgresURL(t)}) })
	t.Run("sqlite", func(t *testing.T) { test(t, SQLite(t)) })
}

// Open opens a store on cfg, its metrics on a registry as main's, closed
// when the test ends. It does not migrate; Migrated does.
func Open(t testing.TB, cfg store.Config) (*store.Store, *prometheus.Registry) {
	t.Helper()
	reg := metrics.NewRegistry()
	s, err := store.Open(context.Background(), cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

// Migrated is Open, then Migrate.
func Migrated(t testing.TB, cfg store.Config) (*store.Store, *prometheus.Registry) {
	t.Helper()
	s, reg := Open(t, cfg)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, reg
}

// Raw opens the test's database without the store, as another program (an
// older release, a second session) would; closed when the test ends.
func Raw(t testing.TB, cfg store.Config) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", cfg.DatabaseURL
	if dsn == "" {
		driver, dsn = "sqlite", cfg.SQLitePath
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Rex is the dog of most tests.
var Rex = walker.Dog{Name: "Rex", Age: 3, Size: walker.SizeLG}

// Seed stores Rex and Alice, the dog and the walker of most tests.
func Seed(t testing.TB, s *store.Store) (walker.Dog, walker.Walker) {
	t.Helper()
	ctx := context.Background()
	d := Rex
	w := walker.Walker{Name: "Alice", Email: "alice@example.com"}
	if err := s.CreateDog(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWalker(ctx, &w); err != nil {
		t.Fatal(err)
	}
	return d, w
}

// CreateWalkers stores walkers of these names in this order, the i-th with
// the email wi@example.com.
func CreateWalkers(t testing.TB, s *store.Store, names ...string) []walker.Walker {
	t.Helper()
	var out []walker.Walker
	for i, n := range names {
		w := walker.Walker{Name: n, Email: fmt.Sprintf("w%d@example.com", i)}
		if err := s.CreateWalker(context.Background(), &w); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}
