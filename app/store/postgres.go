package store

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// PostgresURL builds a connection URL from the Django-style settings
// (DB_NAME, DB_USER, ...), escaping what needs it.
func PostgresURL(name, user, password, host, port, sslmode string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(host, port), Path: "/" + name}
	switch {
	case user != "" && password != "":
		u.User = url.UserPassword(user, password)
	case user != "":
		u.User = url.User(user)
	}
	if sslmode != "" {
		u.RawQuery = url.Values{"sslmode": {sslmode}}.Encode()
	}
	return u.String()
}

// openPostgres makes the pool of PostgreSQL connections.
func openPostgres(cfg Config, m *dbMetrics) (*sql.DB, gorm.Dialector, error) {
	pgc, err := pgx.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_URL: %w", redact(err, cfg.DatabaseURL))
	}
	// The server enforces the timeout too, so a statement whose client
	// went away does not keep running.
	pgc.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	if pgc.RuntimeParams["application_name"] == "" {
		pgc.RuntimeParams["application_name"] = "walker"
	}
	if pgc.ConnectTimeout == 0 {
		pgc.ConnectTimeout = cfg.StatementTimeout
	}
	// walker runs a few dozen distinct statements: pgx's default cache of
	// 512 prepared statements per connection (unless the URL sets
	// statement_cache_capacity) only costs memory, its map being allocated
	// at that size on every connection.
	if pgc.StatementCacheCapacity == 512 {
		pgc.StatementCacheCapacity = 64
	}
	if pgc.DescriptionCacheCapacity == 512 {
		pgc.DescriptionCacheCapacity = 64
	}
	db := sql.OpenDB(&countingConnector{Connector: stdlib.GetConnector(*pgc), metrics: m})
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, postgres.New(postgres.Config{Conn: db}), nil
}

// redact keeps a password out of an error message that quotes the URL.
func redact(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return errors.New("cannot parse the database URL")
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// postgresErrorType is classify for PostgreSQL's own errors (SQLSTATE
// codes); "" for other errors.
func postgresErrorType(err error) string {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return ""
	}
	switch {
	case pg.Code == "23505":
		return "unique_violation"
	case pg.Code == "23503":
		return "foreign_key_violation"
	case pg.Code == "23514":
		return "check_violation"
	case pg.Code == "57014": // query_canceled: statement_timeout
		return "timeout"
	case strings.HasPrefix(pg.Code, "08"), strings.HasPrefix(pg.Code, "57P"):
		return "connection"
	}
	return "other"
}

// postgresConnectionError reports pgx's errors of a connection that failed
// before the statement reached the server.
func postgresConnectionError(err error) bool {
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "failed to connect")
}
