package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/internal/localpg"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// forEachBackend runs test on a migrated store of each backend.
func forEachBackend(t *testing.T, test func(t *testing.T, s *store.Store, reg *prometheus.Registry)) {
	testdb.OnEach(t, func(t *testing.T, cfg store.Config) {
		s, reg := testdb.Migrated(t, cfg)
		test(t, s, reg)
	})
}

// concurrently runs f(0) to f(n-1) at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}

func TestWalkersAndDogsValidateAndPersist(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		// The store validates what it is given (the rules: walker_test.go).
		var fe walker.FieldErrors
		if err := s.CreateWalker(ctx, &walker.Walker{Name: "A", Email: "not-an-email"}); !errors.As(err, &fe) || fe["email"] == "" {
			t.Errorf("CreateWalker with a bad email = %v, want an error on email", err)
		}
		if err := s.CreateDog(ctx, &walker.Dog{Name: "Rex", Age: -1}); !errors.As(err, &fe) || fe["age"] == "" {
			t.Errorf("CreateDog with age -1 = %v, want an error on age", err)
		}
		if ws, _ := s.ListWalkers(ctx, walker.ListQuery{}); len(ws.Items) != 0 {
			t.Errorf("invalid input stored walkers: %+v", ws)
		}
		metrictest.Expect(t, reg, "model_inserts_total", map[string]string{"model": "walker"}, 0)

		d := walker.Dog{Name: "  Bella ", Age: 2}
		if err := s.CreateDog(ctx, &d); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetDog(ctx, d.ID)
		if err != nil || got != (walker.Dog{ID: d.ID, Name: "Bella", Age: 2, Size: walker.SizeMD}) {
			t.Errorf("GetDog = %+v, %v; want the trimmed name and the default size", got, err)
		}
		got.Age = 3
		if err := s.UpdateDog(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateDog(ctx, &walker.Dog{ID: got.ID, Name: "Bella", Age: 99}); err == nil {
			t.Error("UpdateDog with age 99 succeeded")
		}
		if again, _ := s.GetDog(ctx, d.ID); again.Age != 3 {
			t.Errorf("age = %d after a valid then an invalid update, want 3", again.Age)
		}
		if err := s.UpdateDog(ctx, &walker.Dog{ID: 999, Name: "Ghost", Age: 1, Size: "md"}); !errors.Is(err, walker.ErrNotFound) {
			t.Errorf("UpdateDog(missing) = %v, want not found", err)
		}
		if err := s.DeleteDog(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetDog(ctx, d.ID); !errors.Is(err, walker.ErrNotFound) {
			t.Errorf("GetDog after delete = %v", err)
		}
		if err := s.DeleteDog(ctx, d.ID); !errors.Is(err, walker.ErrNotFound) {
			t.Errorf("second DeleteDog = %v, want not found", err)
		}
		for model, want := range map[string]float64{"dog": 1, "walker": 0, "walk": 0} {
			for _, name := range []string{"model_inserts_total", "model_updates_total", "model_deletes_total"} {
				metrictest.Expect(t, reg, name, map[string]string{"model": model}, want)
			}
		}
	})
}

func TestWalkLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		dog, w := testdb.Seed(t, s)
		start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

		if _, err := s.StartWalk(ctx, 999, w.ID, start); !isNotFound(err, "dog", 999) {
			t.Errorf("StartWalk(missing dog) = %v", err)
		}
		if _, err := s.StartWalk(ctx, dog.ID, 999, start); !isNotFound(err, "walker", 999) {
			t.Errorf("StartWalk(missing walker) = %v", err)
		}
		metrictest.Expect(t, reg, "db_errors_total", map[string]string{"type": "foreign_key_violation"}, 2)
		walk, err := s.StartWalk(ctx, dog.ID, w.ID, start)
		if err != nil {
			t.Fatal(err)
		}
		if !walk.InProgress() || !walk.StartTime.Equal(start) {
			t.Errorf("started walk = %+v", walk)
		}
		metrictest.Expect(t, reg, "walks_in_progress", nil, 1)
		metrictest.Expect(t, reg, "walks_oldest_in_progress_start_timestamp_seconds", nil, float64(start.Unix()))
		if done, err := s.WalkComplete(ctx, walk.ID); err != nil || done {
			t.Errorf("WalkComplete = %v, %v", done, err)
		}
		full, err := s.GetWalk(ctx, walk.ID)
		if err != nil || full.Dog.Name != "Rex" || full.Walker.Name != "Alice" {
			t.Errorf("GetWalk = %+v, %v", full, err)
		}
		if ws, err := s.ListWalksInProgress(ctx, walker.ListQuery{}); err != nil || len(ws.Items) != 1 || ws.Items[0].ID != walk.ID {
			t.Errorf("ListWalksInProgress = %+v, %v", ws, err)
		}

		for _, bad := range []int{-1, walker.MaxDistance + 1} {
			var fe walker.FieldErrors
			if _, err := s.CompleteWalk(ctx, walk.ID, bad, start); !errors.As(err, &fe) {
				t.Errorf("CompleteWalk(distance %d) = %v, want a field error", bad, err)
			}
		}
		if done, _ := s.WalkComplete(ctx, walk.ID); done {
			t.Error("an invalid distance completed the walk")
		}
		end := start.Add(30 * time.Minute)
		done, err := s.CompleteWalk(ctx, walk.ID, 1200, end)
		if err != nil {
			t.Fatal(err)
		}
		if done.Distance != 1200 || done.EndTime == nil || !done.EndTime.Equal(end) || !done.Complete() {
			t.Errorf("completed walk = %+v", done)
		}
		if _, err := s.CompleteWalk(ctx, walk.ID, 10, end); !errors.Is(err, walker.ErrAlreadyComplete) || err.Error() != fmt.Sprintf("walk %d is already complete", walk.ID) {
			t.Errorf("second CompleteWalk = %v", err)
		}
		if _, err := s.CompleteWalk(ctx, 4242, 10, end); !isNotFound(err, "walk", 4242) || err.Error() != "no walk with ID 4242 found" {
			t.Errorf("CompleteWalk(missing) = %v", err)
		}
		if again, _ := s.GetWalk(ctx, walk.ID); again.Distance != 1200 {
			t.Errorf("distance = %d after a refused second completion", again.Distance)
		}
		// None in progress: both gauges 0.
		metrictest.Expect(t, reg, "walks_in_progress", nil, 0)
		metrictest.Expect(t, reg, "walks_oldest_in_progress_start_timestamp_seconds", nil, 0)
		metrictest.Expect(t, reg, "model_updates_total", map[string]string{"model": "walk"}, 1)

		// Deleting the walker deletes their walks.
		if err := s.DeleteWalker(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWalk(ctx, walk.ID); !errors.Is(err, walker.ErrNotFound) {
			t.Errorf("walk survived its walker: %v", err)
		}
	})
}

func TestConcurrentCompletionsSucceedOnce(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		dog, w := testdb.Seed(t, s)
		walk, err := s.StartWalk(ctx, dog.ID, w.ID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		const n = 20
		ok, already := 0, 0
		for _, err := range concurrently(n, func(i int) error {
			_, err := s.CompleteWalk(ctx, walk.ID, 100+i, time.Now())
			return err
		}) {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, walker.ErrAlreadyComplete):
				already++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || already != n-1 {
			t.Errorf("%d succeeded and %d were already complete, want 1 and %d", ok, already, n-1)
		}
		metrictest.Expect(t, reg, "model_updates_total", map[string]string{"model": "walk"}, 1)
	})
}

func TestMetricsAreWellFormed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		testdb.Seed(t, s)
		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
		vendor := s.Vendor()
		if got := metrictest.Value(t, reg, "db_new_connections_total", map[string]string{"alias": "default", "vendor": vendor}); got < 1 {
			t.Errorf("db_new_connections_total = %g", got)
		}
		metrictest.Expect(t, reg, "db_statements_total", map[string]string{"operation": "create"}, 2)
		metrictest.Expect(t, reg, "db_query_duration_seconds", map[string]string{"operation": "create"}, 2)
		metrictest.Expect(t, reg, "db_migrations_applied", map[string]string{"alias": "default"}, migrationFiles(t, vendor))
		metrictest.Expect(t, reg, "db_migrations_unapplied", nil, 0)
		if got := metrictest.Value(t, reg, "go_sql_open_connections", map[string]string{"db_name": "default"}); got < 1 {
			t.Errorf("go_sql_open_connections = %g", got)
		}
	})
}

func TestUnmigratedDatabaseReportsPendingMigrations(t *testing.T) {
	t.Parallel()
	testdb.OnEach(t, func(t *testing.T, cfg store.Config) {
		s, reg := testdb.Open(t, cfg)
		metrictest.Expect(t, reg, "db_migrations_unapplied", nil, migrationFiles(t, s.Vendor()))
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		metrictest.Expect(t, reg, "db_migrations_unapplied", nil, 0)
	})
}

func TestConcurrentMigrationsOnPostgreSQL(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	const replicas = 5
	for _, err := range concurrently(replicas, func(int) error {
		s, err := store.Open(context.Background(), store.Config{DatabaseURL: url}, nil)
		if err == nil {
			err = s.Migrate(context.Background())
			s.Close()
		}
		return err
	}) {
		if err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}
	_, reg := testdb.Open(t, store.Config{DatabaseURL: url})
	metrictest.Expect(t, reg, "db_migrations_applied", nil, migrationFiles(t, store.VendorPostgreSQL))
}

func TestPostgreSQLOutage(t *testing.T) {
	localpg.Require(t)
	ctx := context.Background()
	c, err := localpg.Start(ctx, "", 0) // a server of the test's own: the shared one must stay up
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	s, reg := testdb.Migrated(t, store.Config{DatabaseURL: c.URL("postgres"), StatementTimeout: 2 * time.Second})
	dog, w := testdb.Seed(t, s)
	walk, err := s.StartWalk(ctx, dog.ID, w.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded with the database down")
	}
	if _, err := s.CompleteWalk(ctx, walk.ID, 500, time.Now()); !errors.Is(err, walker.ErrUnavailable) {
		t.Errorf("CompleteWalk during the outage = %v, want walker.ErrUnavailable", err)
	}
	if got := metrictest.Value(t, reg, "db_new_connection_errors_total", nil); got < 1 {
		t.Errorf("db_new_connection_errors_total = %g during the outage", got)
	}

	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the outage: %v", err)
	}
	// The failed completion changed nothing; it can be done now.
	done, err := s.CompleteWalk(ctx, walk.ID, 500, time.Now())
	if err != nil || done.Distance != 500 {
		t.Errorf("CompleteWalk after the outage = %+v, %v", done, err)
	}
}

func TestPostgresURLEscapesCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, user, pass, host, port, ssl, want string
	}{
		{"walker", "app", "s3cret", "db", "5432", "require", "postgres://app:s3cret@db:5432/walker?sslmode=require"},
		{"walker", "app", "p@ss/w:rd?", "db", "5432", "", "postgres://app:p%40ss%2Fw%3Ard%3F@db:5432/walker"},
		{"walker", "app", "", "::1", "5433", "disable", "postgres://app@[::1]:5433/walker?sslmode=disable"},
	}
	for _, tt := range tests {
		if got := store.PostgresURL(tt.name, tt.user, tt.pass, tt.host, tt.port, tt.ssl); got != tt.want {
			t.Errorf("PostgresURL = %q, want %q", got, tt.want)
		}
	}
}

func TestLoadDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		first, err := s.LoadDemo(ctx)
		if err != nil || first == 0 {
			t.Fatalf("LoadDemo = %d, %v", first, err)
		}
		second, err := s.LoadDemo(ctx)
		if err != nil || second != 0 {
			t.Errorf("second LoadDemo = %d, %v; want 0 created", second, err)
		}
	})
}

func isNotFound(err error, entity string, id int64) bool {
	var nf *walker.NotFoundError
	return errors.As(err, &nf) && nf.Entity == entity && nf.ID == id
}

// migrationDir is the folder of a vendor's migrations, as embedded.
func migrationDir(vendor string) string {
	return "migrations/" + map[string]string{store.VendorPostgreSQL: "postgres", store.VendorSQLite: "sqlite"}[vendor]
}

// migrationFiles counts the migrations of a vendor.
func migrationFiles(t *testing.T, vendor string) float64 {
	t.Helper()
	entries, err := os.ReadDir(migrationDir(vendor))
	if err != nil || len(entries) == 0 {
		t.Fatalf("migrations of %s: %d files, %v", vendor, len(entries), err)
	}
	return float64(len(entries))
}
