package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	walker "github.com/walkerhq/walker/app"
)

// StatusClientClosedRequest is nginx's status for a request whose client
// went away before the answer: what the access log and http_requests_total
// record then. It is no server error (not 5xx) and nobody reads the body.
const StatusClientClosedRequest = 499

// apiError is the body of an error answered in JSON.
type apiError struct {
	Error  string             `json:"error"`
	Fields walker.FieldErrors `json:"fields,omitempty"`
}

// statusError is an error the HTTP layer finds itself (a URL that names
// nothing, a malformed body, a missing CSRF token), with its status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

// jsonRoute is set, at routing time, on the routes whose clients read
// JSON (the API and the walk status): fail answers their errors in JSON,
// those of every other route with an HTML page.
const jsonRoute = "json_route"

func answerJSON(c *gin.Context) {
	c.Set(jsonRoute, true)
	c.Next()
}

// apiPrefix is where the API group is mounted.
const apiPrefix = "/api"

// unmatched answers a request that no route took. It belongs to no route
// group, so the group's mount point decides: under the API's prefix the
// client reads JSON.
func (s *server) unmatched(status int, msg string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, apiPrefix+"/") {
			c.Set(jsonRoute, true)
		}
		s.fail(c, errorf(status, "%s", msg))
	}
}

// fail answers err, whatever handler or middleware met it, with the status
// its kind says (as wtf's http.Error does): the domain's not found (404),
// invalid input and already complete (400), a client that went away (499,
// no body, not logged), a database that cannot answer now (503), and
// anything else, a bug, 500 logged at ERROR.
func (s *server) fail(c *gin.Context, err error) {
	var se *statusError
	var nf *walker.NotFoundError
	var done *walker.AlreadyCompleteError
	var fe walker.FieldErrors
	status, msg := http.StatusInternalServerError, "internal server error (request "+c.GetString(requestIDKey)+")"
	switch {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case errors.As(err, &nf):
		status, msg = http.StatusNotFound, nf.Error()
	case errors.As(err, &fe):
		status, msg = http.StatusBadRequest, fe.Error()
	case errors.As(err, &done):
		status, msg = http.StatusBadRequest, done.Error()
	case clientGone(c):
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	case errors.Is(err, walker.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "the database is unavailable, please retry"
		s.Logger.Warn("database unavailable", "error", err.Error(), "request_id", c.GetString(requestIDKey), "route", c.FullPath())
	default:
		s.Logger.Error("request failed", "error", err.Error(), "request_id", c.GetString(requestIDKey), "route", c.FullPath())
	}
	if c.GetBool(jsonRoute) {
		c.AbortWithStatusJSON(status, apiError{Error: msg, Fields: fe})
		return
	}
	s.render(c, status, "error.html", http.StatusText(status), nil, msg)
	c.Abort()
}

// clientGone reports whether the client cancelled the request (closed the
// connection), which makes the statements it was waiting for fail.
func clientGone(c *gin.Context) bool {
	return errors.Is(c.Request.Context().Err(), context.Canceled)
}

// handler is a route's handler that leaves its error to fail.
type handler func(c *gin.Context) error

func (s *server) h(fn handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			s.fail(c, err)
		}
	}
}
