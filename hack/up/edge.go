package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// The sidecar's edge under attack: page latency through nginx while
// wrong-password guesses arrive from several addresses, and what nginx
// spends on one authenticated scrape.
const (
	guessAddresses   = 10
	guessesPerSecond = 2 // per address: what the per-address /metrics limit lets through
	pageClients      = 4
)

// guessFlood sends wrong-password requests to /metrics from
// guessAddresses addresses, each at guessesPerSecond, open loop (a slow
// answer does not slow the attacker), until ctx ends. It returns the
// answers by status ("error" for transport failures).
func guessFlood(ctx context.Context, base string) map[string]int {
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for i := range guessAddresses {
		client := testtool.ClientFrom(fmt.Sprintf("127.0.0.%d", 2+i))
		wg.Go(func() {
			tick := time.NewTicker(time.Second / guessesPerSecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				wg.Go(func() {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
					req.SetBasicAuth("prometheus", fmt.Sprintf("guess-%d-%d", i, n))
					status := "error"
					if resp, err := client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						status = strconv.Itoa(resp.StatusCode)
					} else if ctx.Err() != nil {
						return // cut off by the end of the run, not answered
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				})
			}
		})
	}
	wg.Wait()
	return statuses
}

// benchEdge measures pages with and without a guess flood, then nginx's
// CPU per authenticated scrape and per proxied request.
func (s *stack) benchEdge(ctx context.Context, t target) (errs int, err error) {
	w := s.opts.out
	d := s.opts.benchFor
	fmt.Fprintf(w, "\npages (GET /walks/start/), %d clients, %s, through nginx, no attack:\n", pageClients, d)
	quiet := t.run(ctx, pageClients, d, get(0, "/walks/start/"))
	quiet.print(w, "pages")

	fmt.Fprintf(w, "\npages, same load, while %d loopback addresses each send %d wrong-password guesses/s to /metrics:\n",
		guessAddresses, guessesPerSecond)
	floodCtx, stop := context.WithCancel(ctx)
	guesses := make(chan map[string]int, 1)
	go func() { guesses <- guessFlood(floodCtx, s.appURL()) }()
	flooded := t.run(ctx, pageClients, d, get(0, "/walks/start/"))
	stop()
	flooded.print(w, "pages")
	fmt.Fprintf(w, "  guesses answered: %v\n", <-guesses)
	q, f := quiet.Latencies[0], flooded.Latencies[0]
	fmt.Fprintf(w, "  flood/quiet: p50 x%.1f, p99 x%.1f, throughput x%.2f\n",
		ratio(percentile(f, 0.5), percentile(q, 0.5)), ratio(percentile(f, 0.99), percentile(q, 0.99)),
		flooded.perSecond()/quiet.perSecond())

	// Queued guesses may still be burning nginx's CPU: wait until it idles.
	if err := s.nginxIdle(ctx); err != nil {
		return 0, err
	}
	// Both measured alike: the difference between the two is the scrape's
	// own cost (the password check and the larger body).
	scrape, n, err := s.nginxCPUPer(ctx, 100, "/metrics", true)
	if err != nil {
		return 0, fmt.Errorf("authenticated scrapes: %w", err)
	}
	page, m, err := s.nginxCPUPer(ctx, 100, "/livez", false)
	if err != nil {
		return 0, fmt.Errorf("proxied requests: %w", err)
	}
	fmt.Fprintf(w, "\nnginx CPU per authenticated scrape: %s (%d scrapes); per proxied GET /livez: %s (%d); ratio x%.1f\n",
		scrape, n, page, m, ratio(scrape, page))
	return quiet.Errors + flooded.Errors, nil
}

// nginxIdle waits (up to 60s) until nginx spends under 1% of a CPU. It
// fails at once if nginx exited or its CPU time cannot be read: waiting
// would not change either.
func (s *stack) nginxIdle(ctx context.Context) error {
	const every = 500 * time.Millisecond
	last := time.Duration(-1)
	var fatal error
	err := poll.Wait(ctx, "nginx idle after the guess flood", 60*time.Second, every, func() (bool, error) {
		if s.nginx.Exited() {
			fatal = fmt.Errorf("nginx exited: %v", s.nginx.Err())
			return true, nil
		}
		now, err := processTreeCPU(s.nginx.Pid())
		if err != nil {
			fatal = fmt.Errorf("nginx's CPU time: %w", err)
			return true, nil
		}
		idle := last >= 0 && now-last < every/100
		last = now
		return idle, nil
	})
	if fatal != nil {
		return fatal
	}
	return err
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// nginxCPUPer sends up to n GETs of path (with the metrics credentials when
// auth) one after another, for at most 20s, and returns nginx's CPU time
// per request: master and workers, from the scheduler's nanosecond
// counters. Each request goes on its own connection from one of 25
// addresses, so that no per-address limit answers instead of the password
// check; each answer must be 200.
func (s *stack) nginxCPUPer(ctx context.Context, n int, path string, auth bool) (time.Duration, int, error) {
	before, err := processTreeCPU(s.nginx.Pid())
	if err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(20 * time.Second)
	done := 0
	for ; done < n && time.Now().Before(deadline); done++ {
		client := testtool.ClientFrom(fmt.Sprintf("127.0.1.%d", 1+done/4))
		client.Transport.(*http.Transport).DisableKeepAlives = true
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.appURL()+path, nil)
		if auth {
			req.SetBasicAuth(s.username, s.password)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	after, err := processTreeCPU(s.nginx.Pid())
	if err != nil {
		return 0, 0, err
	}
	return ((after - before) / time.Duration(done)).Round(time.Microsecond), done, nil
}

// processTreeCPU is the CPU time of pid and its children (nginx's
// workers, children of its one thread).
func processTreeCPU(pid int) (time.Duration, error) {
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, p := range append([]string{strconv.Itoa(pid)}, strings.Fields(string(children))...) {
		n, _ := strconv.Atoi(p)
		t, err := processCPU(n)
		if err != nil {
			return 0, err
		}
		total += t
	}
	return total, nil
}
