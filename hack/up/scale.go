package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// scaleSizes are the sizes of issue 10's real-sized database.
type scaleSizes struct {
	walkers, dogs, walks, inProgress int
	// lastDog and lastWalker are seeded rows far beyond any first page,
	// for the lifecycles at scale.
	lastDog, lastWalker int
}

func (z scaleSizes) String() string {
	return fmt.Sprintf("%s walkers, %s dogs, %s walks, %s in progress",
		thousands(z.walkers), thousands(z.dogs), thousands(z.walks), thousands(z.inProgress))
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The seeded names: first and last names and a number, so that a name
// prefix matches many rows and every name is distinct.
const (
	firstNames = `ARRAY['Alice','Bob','Carmen','David','Emma','Farid','Grace','Hugo','Ines','Jonas','Kim','Lea','Malik','Nora','Oscar','Paula','Quentin','Rosa','Sami','Tess']`
	lastNames  = `ARRAY['Smith','Jones','Diaz','Martin','Rossi','Kowalski','Nguyen','Schmidt','Dubois','Silva','Tanaka','Haddad','Novak','Larsen','Moreau','Costa','Ivanova','Murphy','Berg','Okafor']`
	dogNames   = `ARRAY['Rex','Bella','Max','Tiny','Luna','Rocky','Daisy','Buddy','Coco','Milo','Nala','Oscar','Pepper','Ruby','Scout','Toby','Willow','Ziggy','Bruno','Lola']`
)

// seedScale fills the database to the sizes with generate_series in
// a few statements (not through the API: minutes instead of hours), then
// vacuums and analyzes as autovacuum would on a live database. Walks get
// start times over the last weeks; the newest inProgress are not complete.
func (s *stack) seedScale(ctx context.Context) (scaleSizes, error) {
	z := scaleSizes{walkers: 100_000, dogs: 100_000, walks: 2_000_000, inProgress: 200_000}
	w := s.opts.out
	fmt.Fprintf(w, "\nseeding %s (generate_series) ...", z)
	start := time.Now()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		return z, err
	}
	defer conn.Close(context.Background())
	// Each INSERT gives its first id: the walks go to the seeded rows only.
	var firstWalker, firstDog int
	if err := conn.QueryRow(ctx, `WITH w AS (INSERT INTO walkers (name, email)
		  SELECT (`+firstNames+`)[1 + i % 20] || ' ' || (`+lastNames+`)[1 + (i / 20) % 20] || ' ' || i,
		         'walker' || i || '@example.com'
		  FROM generate_series(1, $1::int) i RETURNING id) SELECT min(id) FROM w`, z.walkers).Scan(&firstWalker); err != nil {
		return z, fmt.Errorf("seed walkers: %w", err)
	}
	if err := conn.QueryRow(ctx, `WITH d AS (INSERT INTO dogs (name, age, size)
		  SELECT (`+dogNames+`)[1 + i % 20] || ' ' || i, i % 16, (ARRAY['xs','sm','md','lg','xl'])[1 + i % 5]
		  FROM generate_series(1, $1::int) i RETURNING id) SELECT min(id) FROM d`, z.dogs).Scan(&firstDog); err != nil {
		return z, fmt.Errorf("seed dogs: %w", err)
	}
	// One walk every 20 s back from now; the newest inProgress are open.
	_, err = conn.Exec(ctx, `INSERT INTO walks (dog_id, walker_id, distance, start_time, end_time)
		SELECT $1::bigint + (i * 7919) % $2::int, $3::bigint + (i * 104729) % $4::int,
		       CASE WHEN i <= $5::int - $6::int THEN 100 + i % 3900 ELSE 0 END,
		       t, CASE WHEN i <= $5::int - $6::int THEN t + interval '35 minutes' END
		FROM generate_series(1::bigint, $5::int) i, LATERAL (SELECT now() - ($5::int - i) * interval '20 seconds' AS t) s`,
		firstDog, z.dogs, firstWalker, z.walkers, z.walks, z.inProgress)
	if err != nil {
		return z, fmt.Errorf("seed walks: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE walkers, dogs, walks"); err != nil {
		return z, fmt.Errorf("seed: vacuum: %w", err)
	}
	z.lastDog, z.lastWalker = firstDog+z.dogs-1, firstWalker+z.walkers-1
	fmt.Fprintf(w, " %s\n", time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(w, "the lifecycles at scale use dog %d and walker %d (the last seeded)\n", z.lastDog, z.lastWalker)
	return z, nil
}

// printPages times the pages whose size used to grow with the tables, and
// /metrics on the metrics listener.
func (s *stack) printPages(ctx context.Context) error {
	w := s.opts.out
	fmt.Fprintf(w, "\npages at scale (through nginx except /metrics; median and slowest of 20):\n")
	for _, p := range []struct{ name, url string }{
		{"/walks/start/", s.appURL() + "/walks/start/"},
		{"/walkers/", s.appURL() + "/walkers/"},
		{"/dogs/", s.appURL() + "/dogs/"},
		{"/walks/", s.appURL() + "/walks/"},
		{"/metrics (direct)", s.metricsURL()},
	} {
		t, err := timeGet(ctx, p.url, 20)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-18s %8.1f KB  median %8s  slowest %8s\n", p.name, float64(t.size)/1000, t.median, t.max)
	}
	return nil
}
