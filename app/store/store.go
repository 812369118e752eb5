// Package store keeps walkers, dogs and walks in PostgreSQL (production) or
// an embedded SQLite file (local use), through gorm. It implements
// walker.Store, applies the embedded migrations, and exports the database,
// model and migration metrics the Django original had.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	walker "github.com/walkerhq/walker/app"
)

// Vendors, as the metrics' vendor label and Vendor() report them.
const (
	VendorPostgreSQL = "postgresql"
	VendorSQLite     = "sqlite"
)

// alias is the label the Django original gave its one database connection.
const alias = "default"

// Config says which database to use and how.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty means SQLite at SQLitePath.
	DatabaseURL string
	SQLitePath  string
	// StatementTimeout bounds every statement (default 5s).
	StatementTimeout time.Duration
	// MaxOpenConns bounds the pool (default 20 on PostgreSQL).
	MaxOpenConns int
	Logger       *slog.Logger
	// Tracer, when set, gives the statements of traced requests a span.
	Tracer trace.Tracer
}

// Store is the gorm implementation of walker.Store.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	vendor  string
	timeout time.Duration
	logger  *slog.Logger
	metrics *dbMetrics
	// stateQuery is the scrape's one statement (stateSQL); embedded is the
	// number of migrations this binary carries.
	stateQuery string
	embedded   int
}

var _ walker.Store = (*Store)(nil)

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

// Open connects (lazily: a database that is down now does not stop the app
// from starting and reporting not ready) and registers the metrics on reg.
func Open(ctx context.Context, cfg Config, reg prometheus.Registerer) (*Store, error) {
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{timeout: cfg.StatementTimeout, logger: cfg.Logger}

	var dialector gorm.Dialector
	if cfg.DatabaseURL != "" {
		s.vendor = VendorPostgreSQL
		s.metrics = newDBMetrics(s.vendor)
		pgc, err := pgx.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", redact(err, cfg.DatabaseURL))
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
		// statement_cache_capacity) only costs memory, its map being
		// allocated at that size on every connection.
		if pgc.StatementCacheCapacity == 512 {
			pgc.StatementCacheCapacity = 64
		}
		if pgc.DescriptionCacheCapacity == 512 {
			pgc.DescriptionCacheCapacity = 64
		}
		s.sqlDB = sql.OpenDB(&countingConnector{Connector: stdlib.GetConnector(*pgc), metrics: s.metrics})
		max := cfg.MaxOpenConns
		if max <= 0 {
			max = 20
		}
		s.sqlDB.SetMaxOpenConns(max)
		s.sqlDB.SetMaxIdleConns(max)
		s.sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		dialector = postgres.New(postgres.Config{Conn: s.sqlDB})
	} else {
		s.vendor = VendorSQLite
		s.metrics = newDBMetrics(s.vendor)
		path := cfg.SQLitePath
		if path == "" {
			path = "walker.db"
		}
		dsn := "file:" + path + "?" + url.Values{"_pragma": {
			"foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)",
			fmt.Sprintf("busy_timeout(%d)", cfg.StatementTimeout.Milliseconds()),
		}}.Encode()
		drv, err := sqliteDriver()
		if err != nil {
			return nil, err
		}
		s.sqlDB = sql.OpenDB(&countingConnector{Connector: dsnConnector{dsn: dsn, driver: drv}, metrics: s.metrics})
		max := cfg.MaxOpenConns
		if max <= 0 {
			max = 4
		}
		s.sqlDB.SetMaxOpenConns(max)
		dialector = &sqlite.Dialector{Conn: s.sqlDB}
	}

	var err error
	if s.stateQuery, s.embedded, err = s.stateSQL(); err != nil {
		s.sqlDB.Close()
		return nil, err
	}

	db, err := gorm.Open(dialector, &gorm.Config{
		// Every write here is one statement; gorm's implicit transaction
		// around it would double the round trips.
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		// Conditional updates with no WHERE would be a bug, never intended.
		AllowGlobalUpdate: false,
		// Lazily, as Open promises: gorm would ping, and a database that is
		// down for now would stop the app instead of making it not ready.
		DisableAutomaticPing: true,
	})
	if err != nil {
		s.sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", s.vendor, err)
	}
	s.db = db
	if err := s.metrics.instrument(db, s.logger, cfg.Tracer); err != nil {
		s.sqlDB.Close()
		return nil, err
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{
			s.metrics,
			collectors.NewDBStatsCollector(s.sqlDB, alias),
			&stateCollector{store: s},
		} {
			if err := reg.Register(c); err != nil {
				s.sqlDB.Close()
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return s, nil
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

// Vendor is "postgresql" or "sqlite".
func (s *Store) Vendor() string { return s.vendor }

// Close closes the pool.
func (s *Store) Close() error { return s.sqlDB.Close() }

// Ping checks that the database answers, for readiness.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.sqlDB.PingContext(ctx)
}

// ctx bounds one statement.
func (s *Store) ctx(ctx context.Context) (*gorm.DB, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	return s.db.WithContext(ctx), cancel
}

// countingConnector counts new connections and failed attempts, exactly
// (django_db_new_connections_total and _errors_total).
type countingConnector struct {
	driver.Connector
	metrics *dbMetrics
}

func (c *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		c.metrics.newConnectionErrors.Inc()
		return nil, err
	}
	c.metrics.newConnections.Inc()
	return conn, nil
}

// dsnConnector adapts a driver that only has Open(dsn) to driver.Connector.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// sqliteDriver returns the pure-Go SQLite driver that glebarez/sqlite
// registers as "sqlite".
func sqliteDriver() (driver.Driver, error) {
	db, err := sql.Open(sqlite.DriverName, ":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Driver(), nil
}
