package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// load is a steady stream of page requests to the walker Service's
// ClusterIP (through kube-proxy, as other pods reach it) while something
// happens; it counts the requests that did not get a 200.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   map[string]int
	ctx        context.Context // ends at the limit, or when stopped
	stop       context.CancelFunc
	done       sync.WaitGroup
}

const loadWorkers = 4

// startLoad sends GET url from a few workers until stopped, or for at most
// limit (finish tells whether the limit ended it).
func startLoad(ctx context.Context, url string, limit time.Duration) *load {
	ctx, cancel := context.WithTimeout(ctx, limit)
	l := &load{ctx: ctx, stop: cancel, failures: map[string]int{}}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers}}
	for range loadWorkers {
		l.done.Go(func() {
			for ctx.Err() == nil {
				l.request(ctx, client, url)
				time.Sleep(20 * time.Millisecond) // steady, not a flood
			}
		})
	}
	return l
}

func (l *load) request(ctx context.Context, client *http.Client, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		if err == nil {
			resp.Body.Close()
		}
		return // stopped mid-request: not the server's failure
	}
	why := ""
	if err != nil {
		why = err.Error()
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			why = resp.Status
		}
	}
	if why == "" {
		l.ok.Add(1)
		return
	}
	l.failed.Add(1)
	l.mu.Lock()
	l.failures[why]++
	l.mu.Unlock()
}

// finish stops the load and reports its counts, and whether it had
// already stopped at its limit (then it did not cover all it was meant to).
func (l *load) finish() (ok, failed int64, summary string, timedOut bool) {
	timedOut = errors.Is(context.Cause(l.ctx), context.DeadlineExceeded)
	l.stop()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok.Load(), l.failed.Load(), fmt.Sprint(l.failures), timedOut
}
