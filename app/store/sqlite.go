package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
)

// openSQLite makes the pool of connections to the SQLite file (the
// pure-Go driver glebarez/sqlite registers).
func openSQLite(cfg Config, m *dbMetrics) (*sql.DB, gorm.Dialector, error) {
	path := cfg.SQLitePath
	if path == "" {
		path = "walker.db"
	}
	dsn := "file:" + path + "?" + url.Values{"_pragma": {
		"foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)",
		fmt.Sprintf("busy_timeout(%d)", cfg.StatementTimeout.Milliseconds()),
	}}.Encode()
	// The driver only has Open(dsn): get it from a throwaway handle.
	probe, err := sql.Open(sqlite.DriverName, ":memory:")
	if err != nil {
		return nil, nil, err
	}
	drv := probe.Driver()
	probe.Close()
	db := sql.OpenDB(&countingConnector{Connector: dsnConnector{dsn: dsn, driver: drv}, metrics: m})
	db.SetMaxOpenConns(4)
	return db, &sqlite.Dialector{Conn: db}, nil
}

// dsnConnector adapts a driver that only has Open(dsn) to driver.Connector.
type dsnConnector struct {
	dsn    string
	driver driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.driver }

// sqliteErrorType is classify for SQLite's errors, which only their
// messages tell apart; "" for other errors.
func sqliteErrorType(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return "unique_violation"
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return "foreign_key_violation"
	case strings.Contains(msg, "CHECK constraint failed"):
		return "check_violation"
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "SQLITE_BUSY"):
		return "busy"
	}
	return ""
}
