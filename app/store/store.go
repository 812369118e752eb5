// Package store keeps walkers, dogs and walks in PostgreSQL (production) or
// an embedded SQLite file (local use), through gorm. It implements
// walker.Store, applies the embedded migrations, and exports the database,
// model and migration metrics the Django original had.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
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
	Logger           *slog.Logger
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
	// The scrape's statements (scrapeSQL); embedded is the number of
	// migrations this binary carries.
	stateQuery, appliedQuery string
	embedded                 int
}

var _ walker.Store = (*Store)(nil)

// Open connects (lazily: a database that is down now does not stop the app
// from starting and reporting not ready) and registers the metrics on reg.
func Open(ctx context.Context, cfg Config, reg prometheus.Registerer) (*Store, error) {
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{timeout: cfg.StatementTimeout, logger: cfg.Logger, vendor: VendorSQLite}
	open := openSQLite
	if cfg.DatabaseURL != "" {
		s.vendor, open = VendorPostgreSQL, openPostgres
	}
	s.metrics = newDBMetrics(s.vendor)
	var dialector gorm.Dialector
	var err error
	if s.sqlDB, dialector, err = open(cfg, s.metrics); err != nil {
		return nil, err
	}
	if err := s.init(dialector, cfg.Tracer, reg); err != nil {
		s.sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// init puts gorm and the metrics on the pool.
func (s *Store) init(dialector gorm.Dialector, tracer trace.Tracer, reg prometheus.Registerer) error {
	if err := s.scrapeSQL(); err != nil {
		return err
	}
	var err error
	s.db, err = gorm.Open(dialector, &gorm.Config{
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
		return fmt.Errorf("open %s: %w", s.vendor, err)
	}
	if err := s.metrics.instrument(s.db, s.logger, tracer); err != nil {
		return err
	}
	if reg == nil {
		return nil
	}
	for _, c := range append(s.metrics.collectors(), collectors.NewDBStatsCollector(s.sqlDB, alias), &stateCollector{store: s}) {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
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
