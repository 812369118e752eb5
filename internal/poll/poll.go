// Package poll waits until a condition holds, for tests and tools that wait
// on servers, clusters and metrics.
package poll

import (
	"context"
	"fmt"
	"time"
)

// Until calls cond every interval until it returns true, the timeout
// passes or ctx ends. An error from cond does not stop the wait (the thing
// awaited may not be up yet); the last one is in the error returned when
// time runs out.
func Until(ctx context.Context, what string, timeout, interval time.Duration, cond func() (done bool, err error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := cond()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s: not after %s: %w", what, timeout, err)
			}
			return fmt.Errorf("%s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}
