// Package poll waits for a condition that another process or goroutine
// brings about, for the tests and tools: a bounded wait, never a bare loop.
package poll

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Every is the pause between two checks of Until.
const Every = 20 * time.Millisecond

// Until checks ok every Every until it holds or d has passed, and reports
// whether it held (checked once more at the deadline).
func Until(d time.Duration, ok func() bool) bool {
	return Wait(context.Background(), "", d, Every, func() (bool, error) { return ok(), nil }) == nil
}

// Wait calls cond every interval until it returns true, the timeout passes
// or ctx ends. An error from cond does not stop the wait (the thing awaited
// may not be up yet); the last one is in the error returned when time runs
// out, which names what was awaited.
func Wait(ctx context.Context, what string, timeout, interval time.Duration, cond func() (done bool, err error)) error {
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

// HTTP waits until GET url is answered with status (0: with any status),
// checking every 50ms. The timeout bounds each request too: a server that
// accepts and never answers does not hold the wait.
func HTTP(ctx context.Context, url string, timeout time.Duration, status int) error {
	deadline := time.Now().Add(timeout)
	return Wait(ctx, "GET "+url, timeout, 50*time.Millisecond, func() (bool, error) {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if status != 0 && resp.StatusCode != status {
			return false, fmt.Errorf("answered %s", resp.Status)
		}
		return true, nil
	})
}
