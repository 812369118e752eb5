package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The lifecycle a browser goes through, one request each.
var steps = []string{"GET start form", "POST start", "GET complete form", "POST complete", "GET status"}

var csrfField = regexp.MustCompile(`name="csrf_token"\s+value="([^"]+)"`)

// loadResult is what one load run measured.
type loadResult struct {
	Duration   time.Duration
	Lifecycles int
	Errors     int
	FirstError error
	Latencies  [][]time.Duration // by step
	// CPU is the app's CPU time (user and system) over the run.
	CPU time.Duration
}

func (r loadResult) perSecond() float64 { return float64(r.Lifecycles) / r.Duration.Seconds() }

// all is every request's latency, whatever its step.
func (r loadResult) all() []time.Duration { return slices.Concat(r.Latencies...) }

// p50p99 is the median and 99th percentile of every request's latency.
func (r loadResult) p50p99() string {
	all := r.all()
	return fmt.Sprintf("%s / %s", round(percentile(all, .5)), round(percentile(all, .99)))
}

// cpuPerRequest is the app's CPU time over the requests answered.
func (r loadResult) cpuPerRequest() time.Duration {
	n := len(r.all())
	if n == 0 {
		return 0
	}
	return (r.CPU / time.Duration(n)).Round(time.Microsecond)
}

// target is where the load goes: the app's base URL (or none: do then
// takes whole URLs), and the dog and walker whose walks the lifecycles
// start.
type target struct {
	base        string
	dog, walker int
}

// lifecycleClient is one browser-like client: its own cookie jar (the CSRF
// cookie) and connection, no redirects followed.
type lifecycleClient struct {
	target
	http     *http.Client
	distance int
	lastWalk int64             // the walk of the last lifecycle
	lats     [][]time.Duration // by step
}

func (t target) client() *lifecycleClient {
	jar, _ := cookiejar.New(nil)
	return &lifecycleClient{
		target: t,
		http: &http.Client{
			Jar:           jar,
			Timeout:       10 * time.Second,
			Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		lats: make([][]time.Duration, len(steps)),
	}
}

// do sends one request, times it as steps[step], and checks the status.
func (c *lifecycleClient) do(ctx context.Context, step int, method, path string, form url.Values, want int) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.lats[step] = append(c.lats[step], time.Since(start))
	if err != nil {
		return resp, b, err
	}
	if resp.StatusCode != want {
		return resp, b, fmt.Errorf("%s %s = %d, want %d: %.200s", method, path, resp.StatusCode, want, b)
	}
	return resp, b, nil
}

// get is the work of one GET of path, timed as steps[step].
func get(step int, path string) func(context.Context, *lifecycleClient) error {
	return func(ctx context.Context, c *lifecycleClient) error {
		_, _, err := c.do(ctx, step, http.MethodGet, path, nil, http.StatusOK)
		return err
	}
}

// lifecycle runs the five requests, each timed as its step.
func (c *lifecycleClient) lifecycle(ctx context.Context) error {
	_, body, err := c.do(ctx, 0, http.MethodGet, "/walks/start/", nil, http.StatusOK)
	if err != nil {
		return err
	}
	token, err := csrfToken(body)
	if err != nil {
		return err
	}
	form := url.Values{"dog": {fmt.Sprint(c.dog)}, "walker": {fmt.Sprint(c.walker)}, "csrf_token": {token}}
	resp, _, err := c.do(ctx, 1, http.MethodPost, "/walks/start/", form, http.StatusFound)
	if err != nil {
		return err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("walk") == "" {
		return fmt.Errorf("start redirected to %q, want /walks/start/?walk=<id>", resp.Header.Get("Location"))
	}
	id := loc.Query().Get("walk")
	if c.lastWalk, err = strconv.ParseInt(id, 10, 64); err != nil {
		return fmt.Errorf("start redirected to walk %q", id)
	}
	if _, body, err = c.do(ctx, 2, http.MethodGet, "/walks/"+id+"/complete/", nil, http.StatusOK); err != nil {
		return err
	}
	if token, err = csrfToken(body); err != nil {
		return err
	}
	c.distance = (c.distance + 137) % 4000
	form = url.Values{"distance": {fmt.Sprint(c.distance)}, "csrf_token": {token}}
	if _, _, err = c.do(ctx, 3, http.MethodPost, "/walks/"+id+"/complete/", form, http.StatusFound); err != nil {
		return err
	}
	if _, body, err = c.do(ctx, 4, http.MethodGet, "/walks/"+id+"/status/", nil, http.StatusOK); err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(`"complete":true`)) {
		return fmt.Errorf("status of completed walk %s: %s", id, body)
	}
	return nil
}

func csrfToken(page []byte) (string, error) {
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return "", errors.New("no csrf_token field in the form")
	}
	return string(m[1]), nil
}

// run runs clients concurrent loops of work, each with a client of its
// own, for d and merges what they measured.
func (t target) run(ctx context.Context, clients int, d time.Duration, work func(context.Context, *lifecycleClient) error) loadResult {
	// The requests get ctx, not the loops' deadline: one in flight when
	// d is up finishes, rather than counting as an error.
	reqCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	res := loadResult{Latencies: make([][]time.Duration, len(steps))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		c := t.client()
		wg.Go(func() {
			n, errs := 0, 0
			var first error
			for ctx.Err() == nil {
				if err := work(reqCtx, c); err != nil {
					errs++
					first = cmp.Or(first, err)
					continue
				}
				n++
			}
			mu.Lock()
			defer mu.Unlock()
			res.Lifecycles += n
			res.Errors += errs
			res.FirstError = cmp.Or(res.FirstError, first)
			for s, l := range c.lats {
				res.Latencies[s] = append(res.Latencies[s], l...)
			}
		})
	}
	wg.Wait()
	res.Duration = time.Since(start)
	return res
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

func (r loadResult) print(w io.Writer, unit string) {
	fmt.Fprintf(w, "  %d %s in %s: %.0f/s, %d errors\n", r.Lifecycles, unit, r.Duration.Round(time.Millisecond), r.perSecond(), r.Errors)
	if r.FirstError != nil {
		fmt.Fprintf(w, "  first error: %v\n", r.FirstError)
	}
	for i, s := range steps {
		if l := r.Latencies[i]; len(l) > 0 {
			fmt.Fprintf(w, "  %-18s p50 %7s  p99 %7s  (%d requests)\n", s, round(percentile(l, 0.50)), round(percentile(l, 0.99)), len(l))
		}
	}
	all := r.all()
	fmt.Fprintf(w, "  %-18s p50 %7s  p99 %7s  (%d requests, %.0f/s)\n", "all requests",
		round(percentile(all, 0.50)), round(percentile(all, 0.99)), len(all), float64(len(all))/r.Duration.Seconds())
	if r.CPU > 0 {
		fmt.Fprintf(w, "  app CPU: %s per request (%.2f s of CPU for %d requests: %.2f cores)\n",
			r.cpuPerRequest(), r.CPU.Seconds(), len(all), r.CPU.Seconds()/r.Duration.Seconds())
	}
}

// timing is what timeGet measured.
type timing struct {
	median, max time.Duration
	size        int
}

// timeGet GETs url n times and returns the median and slowest time and the
// body size of the last answer, which must be a 200.
func timeGet(ctx context.Context, url string, n int) (timing, error) {
	c := target{}.client()
	var body []byte
	for range n {
		var err error
		if _, body, err = c.do(ctx, 0, http.MethodGet, url, nil, http.StatusOK); err != nil {
			return timing{}, err
		}
	}
	ds := c.lats[0]
	return timing{median: round(percentile(ds, .5)), max: round(percentile(ds, 1)), size: len(body)}, nil
}
