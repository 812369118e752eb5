// Package web is walker's HTTP surface: the browser pages and forms (with
// CSRF protection and flash messages), the JSON API and the health checks,
// on a gin engine built with explicit middleware.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/metrics"
)

// Config is what the HTTP layer needs; main builds it.
type Config struct {
	Store walker.Store
	// Walks counts the walk events (required).
	Walks *metrics.Walks
	// HTTP instruments every request; nil turns the instrumentation off.
	HTTP   *metrics.HTTP
	Logger *slog.Logger
	// SecretKey signs the CSRF and flash cookies (at least 16 bytes).
	SecretKey []byte
	// Ready reports whether the app can serve (the database answers).
	Ready func(context.Context) error
	// MaxBodyBytes bounds request bodies (default 64 KiB).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// gin keeps its mode in a package variable: set once, not per New (the
// tests build servers in parallel). Release mode only silences its debug
// route listing.
func init() { gin.SetMode(gin.ReleaseMode) }

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

type server struct {
	Config
	pages map[string]*template.Template
	csrf  *signer
}

// New builds the handler. It panics only on a programming error (templates
// that do not parse, a short key), which the tests catch.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ready == nil {
		cfg.Ready = cfg.Store.Ping
	}
	if len(cfg.SecretKey) < 16 {
		panic("web: SecretKey must be at least 16 bytes")
	}
	s := &server{Config: cfg, pages: parsePages(), csrf: newSigner(cfg.SecretKey)}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Only the nginx sidecar, on the pod's localhost, may say who the client
	// is (X-Forwarded-For); anyone else would forge the logged address.
	if err := r.SetTrustedProxies([]string{"127.0.0.1", "::1"}); err != nil {
		panic(err)
	}
	r.ContextWithFallback = true
	r.Use(s.routeLabel, s.requestID, s.accessLog, s.recoverPanic, securityHeaders)
	r.NoRoute(s.unmatched(http.StatusNotFound, "page not found"))
	r.NoMethod(s.unmatched(http.StatusMethodNotAllowed, "method not allowed"))

	r.GET("/livez", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	r.GET("/readyz", s.ready)
	r.GET("/ht/", s.ready) // the Django original's health check path

	static, _ := fs.Sub(staticFiles, "static")
	r.StaticFS("/static", http.FS(static))

	// Each group says at routing time how its errors are answered (fail):
	// pages in HTML, the API and the walk status in JSON.
	pages := r.Group("/", s.limitBody, s.csrfProtect)
	pages.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/walks/start/") })
	pages.GET("/walks/start/", s.h(s.startForm))
	pages.POST("/walks/start/", s.h(s.startWalk))
	pages.GET("/walks/", s.h(s.walksInProgress))
	pages.GET("/walks/:id/complete/", s.h(s.completeForm))
	pages.POST("/walks/:id/complete/", s.h(s.completeWalk))

	r.GET("/walks/:id/status/", answerJSON, s.limitBody, s.h(s.walkStatus))
	api := r.Group(apiPrefix, answerJSON, s.limitBody, s.requireJSON)
	api.GET("/walks", s.h(s.apiListWalks))
	api.POST("/walks", s.h(s.apiStartWalk))
	api.GET("/walks/:id", s.h(s.apiGetWalk))
	api.POST("/walks/:id/complete", s.h(s.apiCompleteWalk))
	newWalkers(s).routes(pages, api)
	newDogs(s).routes(pages, api)

	if cfg.HTTP != nil {
		var routes []string
		for _, ri := range r.Routes() {
			routes = append(routes, ri.Path)
		}
		cfg.HTTP.Routes(routes)
		return cfg.HTTP.Wrap(r)
	}
	return r
}

func (s *server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		if clientGone(c) {
			c.AbortWithStatus(StatusClientClosedRequest)
			return
		}
		s.Logger.Warn("not ready", "error", err.Error(), "request_id", c.GetString(requestIDKey))
		c.String(http.StatusServiceUnavailable, "database unavailable\n")
		return
	}
	c.String(http.StatusOK, "ok\n")
}
