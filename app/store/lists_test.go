package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/store"
)

// names in insertion order; their list order ignores case, then uses ids.
var names = []string{"bob", "Alice", "carmen", "alice", "ALBERT", "Álvaro", "Bea", "al", "Zoë", "Albert"}

func createWalkers(t *testing.T, s *store.Store, names ...string) []walker.Walker {
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

// allPages follows the cursors from the first page to the last.
func allPages(t *testing.T, s *store.Store, q walker.ListQuery) (pages [][]string) {
	t.Helper()
	for range 100 {
		p, err := s.ListWalkers(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, w := range p.Items {
			page = append(page, w.Name)
		}
		pages = append(pages, page)
		if p.Next.IsZero() {
			return pages
		}
		q.After = p.Next
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestWalkersPageByNameIgnoringCase(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		createWalkers(t, s, names...)
		// Bytewise order of the lower-cased names, then ids: "al" < "albert"
		// (ALBERT before Albert: it was created first) < "alice" (Alice,
		// then alice) < "bea" < "bob" < "carmen" < "zoë" < "álvaro" (é is
		// past z in code point order; SQLite lowers ASCII only: "Álvaro").
		got := allPages(t, s, walker.ListQuery{Limit: 3})
		want := [][]string{{"al", "ALBERT", "Albert"}, {"Alice", "alice", "Bea"}, {"bob", "carmen", "Zoë"}, {"Álvaro"}}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("pages = %q, want %q", got, want)
		}
		// One page exactly full: no next page, not an empty one after it.
		if got := allPages(t, s, walker.ListQuery{Limit: len(names)}); len(got) != 1 {
			t.Errorf("a full single page gave %d pages", len(got))
		}

		search := map[string][][]string{
			"al":     {{"al", "ALBERT"}, {"Albert", "Alice"}, {"alice"}},
			"ALI":    {{"Alice", "alice"}},
			" bo ":   {{"bob"}},
			"alicex": {nil},
			"ÁLV":    {{"Álvaro"}},
		}
		for q, want := range search {
			if got := allPages(t, s, walker.ListQuery{Search: q, Limit: 2}); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("search %q: pages = %q, want %q", q, got, want)
			}
		}
	})
}

func TestPagingSurvivesTheCursorRowsDeletion(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		ws := createWalkers(t, s, "a1", "a2", "a3", "a4", "a5")
		first, err := s.ListWalkers(ctx, walker.ListQuery{Limit: 2})
		if err != nil || first.Next.IsZero() {
			t.Fatalf("first page = %+v, %v", first, err)
		}
		// The cursor is the last row shown: delete it, and the one after.
		if err := s.DeleteWalker(ctx, ws[1].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWalker(ctx, ws[2].ID); err != nil {
			t.Fatal(err)
		}
		next, err := s.ListWalkers(ctx, walker.ListQuery{Limit: 2, After: first.Next})
		if err != nil || len(next.Items) != 2 || next.Items[0].Name != "a4" || next.Items[1].Name != "a5" || !next.Next.IsZero() {
			t.Errorf("page after the deleted cursor row = %+v, %v; want a4, a5 and no next page", next, err)
		}
	})
}

func TestBadListQueriesChangeNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		createWalkers(t, s, "a", "b")
		statements := metrictest.Value(t, reg, "db_statements_total", nil)
		bad := []struct {
			q     walker.ListQuery
			field string
		}{
			// The rules are walker_test.go's; the store applies them first.
			{walker.ListQuery{After: walker.Cursor{Key: strings.Repeat("x", 600), ID: 1}}, "after"},
			{walker.ListQuery{Search: "\xffa"}, "q"},
			{walker.ListQuery{Limit: -1}, "limit"},
		}
		for _, tt := range bad {
			var fe walker.FieldErrors
			if _, err := s.ListWalkers(ctx, tt.q); !errors.As(err, &fe) || fe[tt.field] == "" {
				t.Errorf("ListWalkers(%+v) = %v, want an error on %s", tt.q, err, tt.field)
			}
		}
		for _, q := range []walker.ListQuery{
			{After: walker.Cursor{Key: "yesterday", ID: 1}},
			{Search: "x"},
		} {
			var fe walker.FieldErrors
			if _, err := s.ListWalksInProgress(ctx, q); !errors.As(err, &fe) {
				t.Errorf("ListWalksInProgress(%+v) = %v, want a field error", q, err)
			}
		}
		if got := metrictest.Value(t, reg, "db_statements_total", nil); got != statements {
			t.Errorf("bad queries reached the database: %g statements, want %g", got, statements)
		}
	})
}

func TestWalksInProgressPageOldestFirst(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		dog, w := seed(t, s)
		base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		// Starts out of order, two at the same instant, one with a fraction.
		offsets := []time.Duration{3 * time.Minute, time.Minute, 3 * time.Minute, 0, 90*time.Second + 250*time.Millisecond, 2 * time.Minute}
		var ids []int64
		for _, off := range offsets {
			walk, err := s.StartWalk(ctx, dog.ID, w.ID, base.Add(off))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, walk.ID)
		}
		if _, err := s.CompleteWalk(ctx, ids[5], 100, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		want := []int64{ids[3], ids[1], ids[4], ids[0], ids[2]}
		var got []int64
		q := walker.ListQuery{Limit: 2}
		for range 10 {
			p, err := s.ListWalksInProgress(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, walk := range p.Items {
				if walk.Dog.Name != "Rex" || walk.Walker.Name != "Alice" || !walk.InProgress() {
					t.Errorf("walk in progress = %+v", walk)
				}
				got = append(got, walk.ID)
			}
			if p.Next.IsZero() {
				break
			}
			q.After = p.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("walks in progress = %v, want %v (oldest first, then by id)", got, want)
		}
	})
}

// TestInProgressGaugesUnderConcurrency starts and completes walks from many
// goroutines (PostgreSQL: many connections, so many counter slots) and
// deletes a walker with walks in progress (a cascade), then compares the
// gauges with the walks themselves.
func TestInProgressGaugesUnderConcurrency(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		dog, w := seed(t, s)
		doomed := createWalkers(t, s, "Doomed")[0]
		base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		const workers, each = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(i), 1))
				for j := range each {
					who := w.ID
					if j%5 == 0 {
						who = doomed.ID
					}
					walk, err := s.StartWalk(ctx, dog.ID, who, base.Add(time.Duration(i*each+j)*time.Second))
					if err != nil {
						errs <- err
						continue
					}
					if r.IntN(2) == 0 {
						if _, err := s.CompleteWalk(ctx, walk.ID, 10, base.Add(time.Hour)); err != nil {
							errs <- err
						}
					}
				}
			}()
		}
		// Meanwhile scrapes read the gauges.
		scrapes := make(chan error, 1)
		go func() {
			var err error
			for range 20 {
				if _, err = reg.Gather(); err != nil {
					break
				}
			}
			scrapes <- err
		}()
		wg.Wait()
		if err := <-scrapes; err != nil {
			t.Errorf("scrape during the load: %v", err)
		}
		close(errs)
		for err := range errs {
			t.Errorf("start or complete: %v", err)
		}
		checkGauges(t, s, reg)
		if err := s.DeleteWalker(ctx, doomed.ID); err != nil {
			t.Fatal(err)
		}
		checkGauges(t, s, reg)
	})
}

// checkGauges compares walks_in_progress and the oldest start with the
// walks in progress listed page by page.
func checkGauges(t *testing.T, s *store.Store, reg *prometheus.Registry) {
	t.Helper()
	var n int
	var oldest *time.Time
	q := walker.ListQuery{Limit: walker.MaxPageSize}
	for {
		p, err := s.ListWalksInProgress(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > 0 && oldest == nil {
			oldest = p.Items[0].StartTime
		}
		n += len(p.Items)
		if p.Next.IsZero() {
			break
		}
		q.After = p.Next
	}
	if n == 0 {
		t.Fatal("no walk in progress to count: the test proves nothing")
	}
	if got := metrictest.Value(t, reg, "walks_in_progress", nil); got != float64(n) {
		t.Errorf("walks_in_progress = %g, want %d", got, n)
	}
	if got := metrictest.Value(t, reg, "walks_oldest_in_progress_start_timestamp_seconds", nil); got != float64(oldest.Unix()) {
		t.Errorf("oldest in progress = %g, want %d", got, oldest.Unix())
	}
}

// TestReplicasExportTheSameInProgressCount: two stores on one database (two
// replicas) both export the database-wide value, whichever wrote.
func TestReplicasExportTheSameInProgressCount(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	var stores []*store.Store
	var regs []*prometheus.Registry
	for range 2 {
		reg := prometheus.NewRegistry()
		s, err := store.Open(context.Background(), store.Config{DatabaseURL: url}, reg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		stores, regs = append(stores, s), append(regs, reg)
	}
	dog, w := seed(t, stores[0])
	for i := range 6 {
		if _, err := stores[i%2].StartWalk(context.Background(), dog.ID, w.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i, reg := range regs {
		if got := metrictest.Value(t, reg, "walks_in_progress", nil); got != 6 {
			t.Errorf("replica %d: walks_in_progress = %g, want 6", i, got)
		}
	}
}

// TestMigrationCountsWalksAlreadyInProgress upgrades a database of the
// first release, with walks in progress, to the counted gauges.
func TestMigrationCountsWalksAlreadyInProgress(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			cfg := b.Config(t)
			reg := prometheus.NewRegistry()
			s, err := store.Open(context.Background(), cfg, reg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			db := rawDB(t, cfg)
			dir := map[string]string{store.VendorPostgreSQL: "postgres", store.VendorSQLite: "sqlite"}[s.Vendor()]
			for _, q := range []string{
				readFile(t, "migrations/"+dir+"/0001_init.sql"),
				`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name varchar(255) NOT NULL, applied_at timestamp NOT NULL)`,
				`INSERT INTO schema_migrations VALUES (1, 'init', CURRENT_TIMESTAMP)`,
				`INSERT INTO dogs (name, age, size) VALUES ('Rex', 2, 'md')`,
				`INSERT INTO walkers (name, email) VALUES ('Ann', 'ann@example.com')`,
				`INSERT INTO walks (dog_id, walker_id, distance, start_time, end_time) VALUES
					(1, 1, 0, CURRENT_TIMESTAMP, NULL), (1, 1, 0, CURRENT_TIMESTAMP, NULL), (1, 1, 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := metrictest.Value(t, reg, "walks_in_progress", nil); got != 2 {
				t.Errorf("walks_in_progress after the upgrade = %g, want 2", got)
			}
		})
	}
}

// rawDB opens the test's database without the store, as another program
// (an older release) would.
func rawDB(t *testing.T, cfg store.Config) *sql.DB {
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

// TestStartChoicesAreBothLists: the start form's one statement gives what
// ListDogs and ListWalkers give, pages and cursors alike.
func TestStartChoicesAreBothLists(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		createWalkers(t, s, names...)
		for i, n := range []string{"rex", "Bella", "max", "Ace", "bo", "REX", "al"} {
			d := walker.Dog{Name: n, Age: i, Size: walker.Sizes[i%len(walker.Sizes)]}
			if err := s.CreateDog(ctx, &d); err != nil {
				t.Fatal(err)
			}
		}
		queries := []struct{ dogs, walkers walker.ListQuery }{
			{walker.ListQuery{Limit: 3}, walker.ListQuery{Limit: 4}},
			{walker.ListQuery{Limit: 2, Search: "b"}, walker.ListQuery{Limit: 2, Search: "AL"}},
			{walker.ListQuery{Limit: 2, Search: "zz"}, walker.ListQuery{Limit: 20}},
			{walker.ListQuery{Limit: 1, After: walker.Cursor{Key: "bella", ID: 2}}, walker.ListQuery{Limit: 3, Search: "a", After: walker.Cursor{Key: "albert", ID: 5}}},
		}
		for _, q := range queries {
			dogs, walkers, err := s.StartChoices(ctx, q.dogs, q.walkers)
			if err != nil {
				t.Fatal(err)
			}
			wantDogs, err1 := s.ListDogs(ctx, q.dogs)
			wantWalkers, err2 := s.ListWalkers(ctx, q.walkers)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(dogs, wantDogs) || !reflect.DeepEqual(walkers, wantWalkers) {
				t.Errorf("StartChoices(%+v) = %+v and %+v, want %+v and %+v", q, dogs, walkers, wantDogs, wantWalkers)
			}
		}
		var fe walker.FieldErrors
		if _, _, err := s.StartChoices(ctx, walker.ListQuery{}, walker.ListQuery{Search: "\x00"}); !errors.As(err, &fe) {
			t.Errorf("StartChoices with a NUL search = %v, want a field error", err)
		}
	})
}
