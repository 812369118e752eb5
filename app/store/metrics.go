package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/metrics"
)

// Models as the original's ExportModelOperationsMixin named them.
var models = map[string]string{"walkers": "walker", "dogs": "dog", "walks": "walk"}

// Error types of db_errors_total: a fixed set, so the label stays bounded.
var errorTypes = []string{"unique_violation", "foreign_key_violation", "check_violation", "timeout", "connection", "busy", "other"}

// Operations of db_statements_total: gorm's processors.
var operations = []string{"create", "query", "update", "delete", "row", "raw"}

// dbMetrics are the database and model metrics (django_db_*, django_model_*).
type dbMetrics struct {
	vendor              string
	newConnections      prometheus.Counter
	newConnectionErrors prometheus.Counter
	statements          *prometheus.CounterVec
	errors              *prometheus.CounterVec
	duration            *prometheus.HistogramVec
	// written counts rows inserted, updated and deleted, by the gorm
	// operation that wrote them (create, update, delete).
	written map[string]*prometheus.CounterVec
}

func newDBMetrics(vendor string) *dbMetrics {
	labels := prometheus.Labels{"alias": alias, "vendor": vendor}
	m := &dbMetrics{
		vendor: vendor,
		newConnections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "db_new_connections_total", Help: "Connections opened to the database.", ConstLabels: labels}),
		newConnectionErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "db_new_connection_errors_total", Help: "Failed attempts to open a database connection.", ConstLabels: labels}),
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "db_statements_total", Help: "Statements executed, by gorm operation.", ConstLabels: labels}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "db_errors_total", Help: "Statements that failed, by error type.", ConstLabels: labels}, []string{"type"}),
		duration: prometheus.NewHistogramVec(metrics.WithNativeBuckets(prometheus.HistogramOpts{
			Name: "db_query_duration_seconds", Help: "Time of each statement, by gorm operation.", ConstLabels: labels,
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}), []string{"operation"}),
		written: map[string]*prometheus.CounterVec{
			"create": modelCounter("model_inserts_total", "Rows inserted, by model."),
			"update": modelCounter("model_updates_total", "Rows updated, by model."),
			"delete": modelCounter("model_deletes_total", "Rows deleted, by model (cascaded walks are not counted)."),
		},
	}
	// Pre-create every series at zero so rate() works from the first scrape.
	for _, c := range m.written {
		for _, model := range models {
			c.WithLabelValues(model)
		}
	}
	for _, op := range operations {
		m.statements.WithLabelValues(op)
		m.duration.WithLabelValues(op)
	}
	for _, t := range errorTypes {
		m.errors.WithLabelValues(t)
	}
	return m
}

func modelCounter(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"model"})
}

func (m *dbMetrics) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{m.newConnections, m.newConnectionErrors, m.statements, m.errors, m.duration}
	for _, c := range m.written {
		cs = append(cs, c)
	}
	return cs
}

const (
	startKey = "walker:start"
	spanKey  = "walker:span"
)

// slowStatement is logged at warn level.
const slowStatement = 250 * time.Millisecond

// instrument hooks gorm's processors: each statement is counted and timed,
// its error classified, and rows written are counted per model. With a
// tracer, a statement made within a recorded span gets a child span, and
// its duration the trace id as exemplar.
func (m *dbMetrics) instrument(db *gorm.DB, logger *slog.Logger, tracer trace.Tracer) error {
	// The start time and span go into the statement's own settings (gorm's
	// InstanceSet would format the statement's address into the key, a
	// Sprintf per statement).
	before := func(db *gorm.DB) {
		db.Statement.Settings.Store(startKey, time.Now())
		if tracer != nil {
			m.startSpan(db, tracer)
		}
	}
	after := func(op string) func(*gorm.DB) {
		statements, duration, written := m.statements.WithLabelValues(op), m.duration.WithLabelValues(op), m.written[op]
		return func(db *gorm.DB) {
			v, ok := db.Statement.Settings.LoadAndDelete(startKey)
			if !ok {
				return
			}
			took := time.Since(v.(time.Time))
			statements.Inc()
			var ex prometheus.Labels
			if tracer != nil {
				ex = metrics.TraceExemplar(endSpan(db))
			}
			metrics.Observe(duration, took.Seconds(), ex)
			if took > slowStatement {
				logger.Warn("slow statement", "operation", op, "table", db.Statement.Table, "duration", took.String())
			}
			if failed(db) {
				m.errors.WithLabelValues(classify(db.Error)).Inc()
			}
			if model, ok := models[db.Statement.Table]; ok && written != nil && db.Error == nil && db.RowsAffected > 0 {
				written.WithLabelValues(model).Add(float64(db.RowsAffected))
			}
		}
	}
	cb := db.Callback()
	regs := []struct {
		op                string
		beforeFn, afterFn func(name string, fn func(*gorm.DB)) error
	}{
		{"create", cb.Create().Before("gorm:create").Register, cb.Create().After("gorm:create").Register},
		{"query", cb.Query().Before("gorm:query").Register, cb.Query().After("gorm:query").Register},
		{"update", cb.Update().Before("gorm:update").Register, cb.Update().After("gorm:update").Register},
		{"delete", cb.Delete().Before("gorm:delete").Register, cb.Delete().After("gorm:delete").Register},
		{"row", cb.Row().Before("gorm:row").Register, cb.Row().After("gorm:row").Register},
		{"raw", cb.Raw().Before("gorm:raw").Register, cb.Raw().After("gorm:raw").Register},
	}
	for _, r := range regs {
		if err := r.beforeFn("walker:before_"+r.op, before); err != nil {
			return err
		}
		if err := r.afterFn("walker:after_"+r.op, after(r.op)); err != nil {
			return err
		}
	}
	return nil
}

// startSpan opens the statement's span, when the statement belongs to a
// recorded one (a traced request): never a trace of its own.
func (m *dbMetrics) startSpan(db *gorm.DB, tracer trace.Tracer) {
	ctx := db.Statement.Context
	if ctx == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	_, span := tracer.Start(ctx, m.vendor, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNameKey.String(m.vendor)))
	db.Statement.Settings.Store(spanKey, span)
}

// endSpan completes the statement's span, named as the conventions ask
// ("SELECT walks"), with the statement's text (placeholders, no values),
// and returns its context; an empty one when the statement has no span.
func endSpan(db *gorm.DB) trace.SpanContext {
	v, ok := db.Statement.Settings.LoadAndDelete(spanKey)
	if !ok {
		return trace.SpanContext{}
	}
	span := v.(trace.Span)
	query := db.Statement.SQL.String()
	op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	op = strings.ToUpper(op)
	name := op
	t := db.Statement.Table
	if t == "" {
		t = statementTable(op, query) // a raw statement
	}
	if t != "" {
		name += " " + t
		span.SetAttributes(semconv.DBCollectionName(t))
	}
	if name != "" {
		span.SetName(name)
	}
	span.SetAttributes(semconv.DBOperationName(op), semconv.DBQueryText(query))
	if failed(db) {
		span.RecordError(db.Error)
		span.SetStatus(codes.Error, classify(db.Error))
	}
	span.End()
	return span.SpanContext()
}

// statementTable is the table a raw statement of operation op works on:
// the first one after INTO (INSERT), UPDATE, or FROM (SELECT, DELETE); ""
// when it reads from a subquery.
func statementTable(op, query string) string {
	words := strings.Fields(query)
	after := map[string]string{"INSERT": "INTO", "SELECT": "FROM", "DELETE": "FROM", "UPDATE": "UPDATE"}[op]
	for i, w := range words {
		if strings.EqualFold(w, after) && i+1 < len(words) {
			t := strings.Trim(words[i+1], "`\"")
			if strings.HasPrefix(t, "(") {
				return ""
			}
			return t
		}
	}
	return ""
}

// failed reports whether a statement failed. A missing row is an answer,
// and a statement cancelled by its caller (the client went away) did not
// fail either; the store's own statement timeout ends one with
// DeadlineExceeded instead, which is a failure ("timeout").
func failed(db *gorm.DB) bool {
	ctx := db.Statement.Context
	return db.Error != nil && !errors.Is(db.Error, gorm.ErrRecordNotFound) && !(ctx != nil && errors.Is(ctx.Err(), context.Canceled))
}

// countError counts an error of a statement that did not go through gorm
// (migrations, the scrape-time state query).
func (m *dbMetrics) countError(err error) { m.errors.WithLabelValues(classify(err)).Inc() }

// classify maps a driver error onto the bounded error types: the
// dialects' own codes and messages (postgres.go, sqlite.go) and what
// database/sql and the network say.
func classify(err error) string {
	if t := postgresErrorType(err); t != "" {
		return t
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.As(err, &netErr),
		postgresConnectionError(err), strings.Contains(err.Error(), "connection refused"):
		return "connection"
	}
	if t := sqliteErrorType(err); t != "" {
		return t
	}
	return "other"
}

// unavailable wraps in walker.ErrUnavailable an error that says the
// database cannot answer now, so that the edges can tell it from a bug.
func unavailable(err error) error {
	switch classify(err) {
	case "connection", "timeout", "busy":
		return fmt.Errorf("%w: %w", walker.ErrUnavailable, err)
	}
	return err
}

// stateCollector reads, at scrape time, what only the database knows: walks
// in progress (for the "walk stuck" alert) and the migrations applied. One
// statement reading a few rows whatever the table sizes: the count is kept
// by the database (walk_counts, migration 0003) and the oldest walk in
// progress is the first entry of its index. Every replica reads the same
// database-wide values.
type stateCollector struct{ store *Store }

var (
	inProgressDesc = prometheus.NewDesc("walks_in_progress", "Walks started and not completed.", nil, nil)
	oldestDesc     = prometheus.NewDesc("walks_oldest_in_progress_start_timestamp_seconds",
		"Start time of the oldest walk in progress, in Unix seconds; 0 when none is in progress.", nil, nil)
	appliedDesc   = prometheus.NewDesc("db_migrations_applied", "Migrations applied to the database.", nil, prometheus.Labels{"alias": alias})
	unappliedDesc = prometheus.NewDesc("db_migrations_unapplied", "Embedded migrations not yet applied to the database.", nil, prometheus.Labels{"alias": alias})
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inProgressDesc
	ch <- oldestDesc
	ch <- appliedDesc
	ch <- unappliedDesc
}

// Collect reads the state with the one statement of scrapeSQL.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s := c.store
	var inProgress int64
	var oldest sql.NullFloat64 // Unix seconds; none (0) when no walk is in progress
	var applied, pending int
	err := s.sqlDB.QueryRowContext(ctx, s.stateQuery).Scan(&inProgress, &oldest, &applied)
	if err != nil {
		if !isMissingTable(err) {
			s.metrics.countError(err)
		}
		s.logger.Warn("metrics: reading walks in progress", "error", err.Error())
		// An unmigrated database still tells which migrations it lacks.
		if applied, pending, err = s.migrationStatus(ctx); err != nil {
			s.logger.Warn("metrics: reading migrations", "error", err.Error())
			return
		}
	} else {
		pending = s.embedded - applied
		ch <- prometheus.MustNewConstMetric(inProgressDesc, prometheus.GaugeValue, float64(inProgress))
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest.Float64)
	}
	ch <- prometheus.MustNewConstMetric(appliedDesc, prometheus.GaugeValue, float64(applied))
	ch <- prometheus.MustNewConstMetric(unappliedDesc, prometheus.GaugeValue, float64(pending))
}

// scrapeSQL makes the scrape's statements. stateQuery reads the state in
// one statement, one round trip: the slots of the count, the first entry
// of the partial index of walks in progress (its start in Unix seconds, to
// the millisecond on SQLite), and how many of the embedded migrations are
// applied, which appliedQuery alone reads from a database not migrated yet.
func (s *Store) scrapeSQL() error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	versions := make([]string, len(ms))
	for i, m := range ms {
		versions[i] = strconv.Itoa(m.version)
	}
	epoch := "EXTRACT(EPOCH FROM start_time)::float8"
	if s.vendor == VendorSQLite {
		epoch = "ROUND((julianday(start_time) - 2440587.5) * 86400.0, 3)"
	}
	s.embedded = len(ms)
	s.appliedQuery = "SELECT count(*) FROM schema_migrations WHERE version IN (" + strings.Join(versions, ", ") + ")"
	s.stateQuery = "SELECT (SELECT COALESCE(SUM(in_progress), 0) FROM walk_counts), " +
		"(SELECT " + epoch + " FROM walks WHERE end_time IS NULL AND start_time IS NOT NULL ORDER BY start_time LIMIT 1), " +
		"(" + s.appliedQuery + ")"
	return nil
}
