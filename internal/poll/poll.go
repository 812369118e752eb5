// Package poll waits for a condition that another process or goroutine
// brings about, for the tests and tools: a bounded wait, never a bare loop.
package poll

import "time"

// Every is the pause between two checks.
const Every = 20 * time.Millisecond

// Until checks ok every Every until it holds or d has passed, and reports
// whether it held (checked once more at the deadline).
func Until(d time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(Every) {
		if ok() {
			return true
		}
	}
	return ok()
}
