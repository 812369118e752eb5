package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Migrations are plain SQL, one folder per dialect, named NNNN_what.sql and
// applied in order, each in its own transaction, recorded in
// schema_migrations. Never edit one that was released: add the next.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", map[string]string{VendorPostgreSQL: "postgres", VendorSQLite: "sqlite"}[s.vendor])
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrationLockKey is the PostgreSQL advisory lock that serialises
// migrations: several replicas' init containers may start at once.
const migrationLockKey = 0x77616c6b // "walk"

// Migrate applies the embedded migrations not yet applied. It is safe to run
// concurrently from several processes.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	// One connection for the lock and the work: advisory locks belong to
	// the session that took them.
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		s.metrics.countError(err)
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()
	if s.vendor == VendorPostgreSQL {
		// Waiting for another replica's migrations may take longer than
		// one statement's timeout.
		if _, err := conn.ExecContext(ctx, "SET statement_timeout = 0"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			s.metrics.countError(err)
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer func() {
			unlockCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn.ExecContext(unlockCtx, "SELECT pg_advisory_unlock($1)", migrationLockKey)
			conn.ExecContext(unlockCtx, "RESET statement_timeout")
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name varchar(255) NOT NULL,
		applied_at timestamp NOT NULL)`); err != nil {
		s.metrics.countError(err)
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			s.metrics.countError(err)
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
		s.logger.Info("migration applied", "migration", m.version, "name", m.name)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	query, args := s.bind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, time.Now().UTC())
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// appliedVersions reads schema_migrations on the migration's connection.
func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// migrationStatus counts applied and pending migrations, for the metrics.
func (s *Store) migrationStatus(ctx context.Context) (applied, pending int, err error) {
	err = s.sqlDB.QueryRowContext(ctx, s.appliedQuery).Scan(&applied)
	switch {
	case err != nil && isMissingTable(err):
		return 0, s.embedded, nil
	case err != nil:
		s.metrics.countError(err)
		return 0, 0, err
	}
	return applied, s.embedded - applied, nil
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "SQLSTATE 42P01")
}

// bind writes query's ? placeholders as the database wants them ($n on
// PostgreSQL), for a statement that does not go through gorm.
func (s *Store) bind(query string, args ...any) (string, []any) {
	st := s.db.Session(&gorm.Session{DryRun: true}).Raw(query, args...).Statement
	return st.SQL.String(), st.Vars
}
