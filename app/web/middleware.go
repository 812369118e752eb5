package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
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

// saneRequestID accepts what nginx's $request_id and most tracers send:
// 1 to 64 of A-Z a-z 0-9 . _ : - (a loop: a regexp match costs more than
// the rest of the middleware on every request).
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID keeps the X-Request-ID nginx sends (so both access logs share
// it) or makes one, and echoes it.
func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !saneRequestID(id) {
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

// The security headers, with canonical names and values made once: the
// same slices go into every response (net/http only reads them).
var (
	securityHeaderValues = map[string][]string{
		"Content-Security-Policy":    {"default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"},
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Referrer-Policy":            {"same-origin"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
		"Permissions-Policy":         {"camera=(), microphone=(), geolocation=()"},
	}
	noStore = []string{"no-store"}
)

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	for k, v := range securityHeaderValues {
		h[k] = v
	}
	if !strings.HasPrefix(c.Request.URL.Path, "/static/") {
		h["Cache-Control"] = noStore
	}
	c.Next()
}

// limitBody refuses bodies over the limit: declared ones at once, streamed
// ones when reading passes it.
func (s *server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.MaxBodyBytes {
		c.Header("Connection", "close")
		s.fail(c, errTooLarge)
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
func (s *server) requireJSON(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if c.Request.Method == http.MethodDelete && c.Request.ContentLength <= 0 {
			// A body-less DELETE still must not come from a form.
			if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
				s.fail(c, errorf(http.StatusForbidden, "cross-site request refused"))
				return
			}
			break
		}
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || mt != "application/json" {
			s.fail(c, errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json"))
			return
		}
	}
	c.Next()
}

// signer makes and checks HMAC-signed tokens for cookies. Every request
// checks one, so the keyed hashes are pooled (hmac.New costs two SHA-256
// states and the key schedule).
type signer struct{ macs sync.Pool }

func newSigner(key []byte) *signer {
	s := &signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s
}

// mac is the value's HMAC-SHA256, in sum.
func (s *signer) mac(value string, sum *[sha256.Size]byte) {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, value)
	m.Sum(sum[:0])
	s.macs.Put(m)
}

func (s *signer) sign(value string) string {
	var sum [sha256.Size]byte
	s.mac(value, &sum)
	return value + "." + base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *signer) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i <= 0 {
		return "", false
	}
	value, sig := signed[:i], signed[i+1:]
	var got, want [sha256.Size]byte
	if len(sig) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return "", false
	}
	if n, err := base64.RawURLEncoding.Decode(got[:], []byte(sig)); err != nil || n != sha256.Size {
		return "", false
	}
	s.mac(value, &want)
	if !hmac.Equal(got[:], want[:]) {
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
	default:
		if err := c.Request.ParseForm(); err != nil {
			s.fail(c, bodyError(err, "malformed form"))
			return
		}
		form := c.Request.PostForm.Get(csrfField)
		if !valid || !hmac.Equal([]byte(form), []byte(cookie)) {
			s.fail(c, errorf(http.StatusForbidden, "CSRF verification failed: reload the form and submit it again"))
			return
		}
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
