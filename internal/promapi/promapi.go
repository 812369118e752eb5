// Package promapi reads a Prometheus server the way the harness checks it:
// client_golang's HTTP API client, and the one sample of an instant query.
package promapi

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// New is the API of the server at url (http://host:port).
func New(url string) (promv1.API, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, err
	}
	return promv1.NewAPI(c), nil
}

// Value is the value of an instant query that gives exactly one sample.
// An empty result is an error, not 0: where nothing counted yet means 0,
// the query says so (`sum(...) or vector(0)`).
func Value(ctx context.Context, p promv1.API, expr string) (float64, error) {
	v, _, _, err := p.Query(ctx, expr, time.Now())
	if err != nil {
		return 0, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return 0, fmt.Errorf("%s: a %s, not a vector", expr, v.Type())
	}
	if len(vec) != 1 {
		return 0, fmt.Errorf("%s: %d series, want 1", expr, len(vec))
	}
	return float64(vec[0].Value), nil
}
