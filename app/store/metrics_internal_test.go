package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	walker "github.com/walkerhq/walker/app"
)

func TestStatementTable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ op, query, want string }{
		{"INSERT", "INSERT INTO walks (dog_id, walker_id) VALUES (?, ?) RETURNING id", "walks"},
		{"UPDATE", "UPDATE walks SET distance = ? WHERE id = ?", "walks"},
		{"DELETE", `DELETE FROM "dogs" WHERE id = ?`, "dogs"},
		{"SELECT", "SELECT walks.id, dogs.name FROM walks JOIN dogs ON dogs.id = walks.dog_id", "walks"},
		{"SELECT", "SELECT * FROM (SELECT id FROM walks) w", ""},
		{"WITH", "WITH x AS (SELECT 1) SELECT * FROM x", ""},
	} {
		if got := statementTable(c.op, c.query); got != c.want {
			t.Errorf("statementTable(%q, %q) = %q, want %q", c.op, c.query, got, c.want)
		}
	}
}

// Only an error that says the database cannot answer now is unavailable:
// the web answers it 503, and anything else 500.
func TestUnavailableErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		typ  string
		down bool
	}{
		{fmt.Errorf("query: %w", context.DeadlineExceeded), "timeout", true},
		{&pgconn.PgError{Code: "57014"}, "timeout", true},
		{&pgconn.PgError{Code: "08006"}, "connection", true},
		{&pgconn.PgError{Code: "57P01"}, "connection", true},
		{driver.ErrBadConn, "connection", true},
		{errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"), "connection", true},
		{errors.New("database is locked (5) (SQLITE_BUSY)"), "busy", true},
		{&pgconn.PgError{Code: "23505"}, "unique_violation", false},
		{&pgconn.PgError{Code: "42601"}, "other", false}, // a syntax error: a bug
		{errors.New("FOREIGN KEY constraint failed (787)"), "foreign_key_violation", false},
		{errors.New("sql: Scan error on column index 0"), "other", false},
	} {
		err := unavailable(c.err)
		if typ := classify(c.err); typ != c.typ || errors.Is(err, walker.ErrUnavailable) != c.down || !errors.Is(err, c.err) {
			t.Errorf("%v: type %q, unavailable %v; want %q, %v", c.err, typ, errors.Is(err, walker.ErrUnavailable), c.typ, c.down)
		}
	}
}
