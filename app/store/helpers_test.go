package store_test

import (
	"context"
	"strconv"

	"github.com/walkerhq/walker/internal/localpg"
)

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// localpgStart is a server of the test's own, for the outage test (the
// shared one must stay up for the others).
func localpgStart(ctx context.Context) (*localpg.Cluster, error) { return localpg.Start(ctx, "", 0) }
