package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/internal/metrictest"
	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/app/store"
	"github.com/walkerhq/walker/internal/testtool"
)

// names in insertion order; their list order ignores case, then uses ids.
var names = []string{"bob", "Alice", "carmen", "alice", "ALBERT", "Álvaro", "Bea", "al", "Zoë", "Albert"}

// pages follows a list's cursors from the first page to the last.
func pages[T any](t *testing.T, list func(context.Context, walker.ListQuery) (walker.Page[T], error), q walker.ListQuery) (items [][]T) {
	t.Helper()
	for range 100 {
		p, err := list(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, p.Items)
		if p.Next.IsZero() {
			return items
		}
		q.After = p.Next
	}
	t.Fatal("more than 100 pages")
	return nil
}

// walkerPages is pages of walkers, by name.
func walkerPages(t *testing.T, s *store.Store, q walker.ListQuery) (names [][]string) {
	t.Helper()
	for _, p := range pages(t, s.ListWalkers, q) {
		var page []string
		for _, w := range p {
			page = append(page, w.Name)
		}
		names = append(names, page)
	}
	return names
}

func TestWalkersPageByNameIgnoringCase(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		testdb.CreateWalkers(t, s, names...)
		// Bytewise order of the lower-cased names, then ids: "al" < "albert"
		// (ALBERT before Albert: it was created first) < "alice" (Alice,
		// then alice) < "bea" < "bob" < "carmen" < "zoë" < "álvaro" (é is
		// past z in code point order; SQLite lowers ASCII only: "Álvaro").
		got := walkerPages(t, s, walker.ListQuery{Limit: 3})
		want := [][]string{{"al", "ALBERT", "Albert"}, {"Alice", "alice", "Bea"}, {"bob", "carmen", "Zoë"}, {"Álvaro"}}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("pages = %q, want %q", got, want)
		}
		// One page exactly full: no next page, not an empty one after it.
		if got := walkerPages(t, s, walker.ListQuery{Limit: len(names)}); len(got) != 1 {
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
			if got := walkerPages(t, s, walker.ListQuery{Search: q, Limit: 2}); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("search %q: pages = %q, want %q", q, got, want)
			}
		}
	})
}

func TestBadListQueriesChangeNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, reg *prometheus.Registry) {
		ctx := context.Background()
		testdb.CreateWalkers(t, s, "a", "b")
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
		metrictest.Expect(t, reg, "db_statements_total", nil, statements) // none reached the database
	})
}

func TestWalksInProgressPageOldestFirst(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		dog, w := testdb.Seed(t, s)
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
		for _, walk := range slices.Concat(pages(t, s.ListWalksInProgress, walker.ListQuery{Limit: 2})...) {
			if walk.Dog.Name != "Rex" || walk.Walker.Name != "Alice" || !walk.InProgress() {
				t.Errorf("walk in progress = %+v", walk)
			}
			got = append(got, walk.ID)
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
		dog, w := testdb.Seed(t, s)
		doomed := testdb.CreateWalkers(t, s, "Doomed")[0]
		base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		const workers, each = 8, 15
		// Workers start and complete walks while the last one scrapes.
		for _, err := range concurrently(workers+1, func(i int) error {
			if i == workers {
				for range 20 {
					if _, err := reg.Gather(); err != nil {
						return fmt.Errorf("scrape during the load: %w", err)
					}
				}
				return nil
			}
			r := rand.New(rand.NewPCG(uint64(i), 1))
			var errs []error
			for j := range each {
				who := w.ID
				if j%5 == 0 {
					who = doomed.ID
				}
				walk, err := s.StartWalk(ctx, dog.ID, who, base.Add(time.Duration(i*each+j)*time.Second))
				if err == nil && r.IntN(2) == 0 {
					_, err = s.CompleteWalk(ctx, walk.ID, 10, base.Add(time.Hour))
				}
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		}) {
			if err != nil {
				t.Errorf("under load: %v", err)
			}
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
	walks := slices.Concat(pages(t, s.ListWalksInProgress, walker.ListQuery{Limit: walker.MaxPageSize})...)
	if len(walks) == 0 {
		t.Fatal("no walk in progress to count: the test proves nothing")
	}
	metrictest.Expect(t, reg, "walks_in_progress", nil, float64(len(walks)))
	metrictest.Expect(t, reg, "walks_oldest_in_progress_start_timestamp_seconds", nil, float64(walks[0].StartTime.Unix()))
}

// TestReplicasExportTheSameInProgressCount: two stores on one database (two
// replicas) both export the database-wide value, whichever wrote.
func TestReplicasExportTheSameInProgressCount(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	s0, reg0 := testdb.Migrated(t, store.Config{DatabaseURL: url})
	s1, reg1 := testdb.Migrated(t, store.Config{DatabaseURL: url})
	replicas := []*store.Store{s0, s1}
	dog, w := testdb.Seed(t, s0)
	for i := range 6 {
		if _, err := replicas[i%2].StartWalk(context.Background(), dog.ID, w.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	metrictest.Expect(t, reg0, "walks_in_progress", nil, 6)
	metrictest.Expect(t, reg1, "walks_in_progress", nil, 6)
}

// TestMigrationCountsWalksAlreadyInProgress upgrades a database of the
// first release, with walks in progress, to the counted gauges.
func TestMigrationCountsWalksAlreadyInProgress(t *testing.T) {
	t.Parallel()
	testdb.OnEach(t, func(t *testing.T, cfg store.Config) {
		s, reg := testdb.Open(t, cfg)
		db := testdb.Raw(t, cfg)
		init := testtool.ReadFile(t, migrationDir(s.Vendor())+"/0001_init.sql")
		for _, q := range []string{
			string(init),
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
		metrictest.Expect(t, reg, "walks_in_progress", nil, 2)
	})
}

// TestStartChoicesAreBothLists: the start form's one statement gives what
// ListDogs and ListWalkers give, pages and cursors alike.
func TestStartChoicesAreBothLists(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *store.Store, _ *prometheus.Registry) {
		ctx := context.Background()
		testdb.CreateWalkers(t, s, names...)
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
