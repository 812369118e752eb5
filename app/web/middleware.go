package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/walkerhq/walker/app/metrics"
	"github.com/walkerhq/walker/app/tracing"
)

const requestIDKey = "request_id"

// routeLabel hands the matched route template to the HTTP instrumentation
// and the request's span (gin matched the route before this first
// middleware runs).
func (s *server) routeLabel(c *gin.Context) {
	metrics.SetRoute(c.Request.Context(), c.FullPath())
	tracing.SetRoute(c.Request, c.FullPath())
	c.Next()
}

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID keeps the X-Request-ID nginx sends (so both access logs share
// it) or makes one, and echoes it.
func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !saneRequestID.MatchString(id) {
		b := make([]byte, 16)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

// accessLog writes one JSON line per request, with the trace id when the
// request is traced; health checks at debug level so that probes do not
// drown the log.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	level := slog.LevelInfo
	switch p := c.Request.URL.Path; {
	case c.Writer.Status() >= 500:
		level = slog.LevelError
	case p == "/livez" || p == "/readyz" || p == "/ht/":
		level = slog.LevelDebug
	}
	if !s.Logger.Enabled(c.Request.Context(), level) {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = metrics.Unmatched
	}
	attrs := [...]slog.Attr{
		slog.String("request_id", c.GetString(requestIDKey)),
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.String("route", route),
		slog.Int("status", c.Writer.Status()),
		slog.Int("bytes", c.Writer.Size()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("remote", c.ClientIP()),
		{},
	}
	n := len(attrs) - 1
	if id := tracing.TraceID(c.Request.Context()); id != "" {
		attrs[n] = slog.String("trace_id", id)
		n++
	}
	s.Logger.LogAttrs(c.Request.Context(), level, "request", attrs[:n]...)
}

// recoverPanic turns a handler panic into a plain 500, logs it with the
// request id and counts it; the client never sees a stack trace.
func (s *server) recoverPanic(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(v) // the client went away; net/http handles it
		}
		route := c.FullPath()
		if s.HTTP != nil {
			s.HTTP.Panicked(route)
		}
		s.Logger.Error("panic", "request_id", c.GetString(requestIDKey), "route", route, "panic", v)
		if !c.Writer.Written() {
			c.Header("Content-Type", "text/plain; charset=utf-8")
			c.String(http.StatusInternalServerError, "internal server error (request %s)\n", c.GetString(requestIDKey))
		}
		c.Abort()
	}()
	c.Next()
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if !strings.HasPrefix(c.Request.URL.Path, "/static/") {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// limitBody refuses bodies over the limit: declared ones at once, streamed
// ones when reading passes it.
func (s *server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.MaxBodyBytes {
		c.Header("Connection", "close")
		s.fail(c, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes)
	}
	c.Next()
}

// requireJSON: the API takes JSON only. A browser cannot send that
// cross-site without a CORS preflight (which we never grant), so the API
// needs no CSRF token.
func requireJSON(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if c.Request.Method == http.MethodDelete && c.Request.ContentLength <= 0 {
			// A body-less DELETE still must not come from a form.
			if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
				c.AbortWithStatusJSON(http.StatusForbidden, apiError{Error: "cross-site request refused"})
				return
			}
			break
		}
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || mt != "application/json" {
			c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, apiError{Error: "Content-Type must be application/json"})
			return
		}
	}
	c.Next()
}

// signer makes and checks HMAC-signed tokens for cookies.
type signer struct{ key []byte }

func newSigner(key []byte) *signer { return &signer{key: key} }

func (s *signer) sign(value string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(value))
	return value + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *signer) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i <= 0 {
		return "", false
	}
	value := signed[:i]
	if !hmac.Equal([]byte(s.sign(value)), []byte(signed)) {
		return "", false
	}
	return value, true
}

const (
	csrfCookie = "csrf_token"
	csrfField  = "csrf_token"
	flashKey   = "flash"
)

// csrfProtect is the double-submit check (what Django's middleware did for
// the original): unsafe requests must carry, in the form, the same signed
// token as in the cookie. Safe requests get a token if they have none.
func (s *server) csrfProtect(c *gin.Context) {
	cookie, _ := c.Cookie(csrfCookie)
	_, valid := s.csrf.verify(cookie)
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if !valid {
			b := make([]byte, 18)
			rand.Read(b)
			cookie = s.csrf.sign(base64.RawURLEncoding.EncodeToString(b))
			s.setCookie(c, csrfCookie, cookie, 0)
		}
		c.Set(csrfCookie, cookie)
		c.Next()
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.fail(c, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		s.fail(c, http.StatusBadRequest, "malformed form")
		return
	}
	form := c.Request.PostForm.Get(csrfField)
	if !valid || !hmac.Equal([]byte(form), []byte(cookie)) {
		s.errorPage(c, http.StatusForbidden, "CSRF verification failed: reload the form and submit it again")
		c.Abort()
		return
	}
	c.Set(csrfCookie, cookie)
	c.Next()
}

func (s *server) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https",
	})
}

// flash leaves a one-time message for the next page (after a redirect).
func (s *server) flash(c *gin.Context, msg string) {
	s.setCookie(c, flashKey, s.csrf.sign(base64.RawURLEncoding.EncodeToString([]byte(msg))), 60)
}

// takeFlash reads and clears the message.
func (s *server) takeFlash(c *gin.Context) string {
	v, err := c.Cookie(flashKey)
	if err != nil {
		return ""
	}
	s.setCookie(c, flashKey, "", -1)
	enc, ok := s.csrf.verify(v)
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return string(b)
}
