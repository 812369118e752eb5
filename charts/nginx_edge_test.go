package charts_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// tally counts answers by status, safe for concurrent use.
type tally struct {
	mu sync.Mutex
	n  map[int]int
}

func (t *tally) add(status int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[int]int{}
	}
	t.n[status]++
}

func (t *tally) get() map[int]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.n)
}

// status sends req and returns the answer's status (0: no answer).
func status(c *http.Client, req *http.Request) int {
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(ctx context.Context, url string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	return req
}

func (p *pod) metricsRequest(ctx context.Context, password string) *http.Request {
	req := get(ctx, p.base+"/metrics")
	req.SetBasicAuth("prometheus", password)
	return req
}

// Wrong passwords from many addresses meet a limit that holds across them
// all, before the password is checked; meanwhile pages are served, and the
// scraper is answered 200 although its own address floods wrong passwords
// (its requests never share a bucket with the guesses).
func TestRenderedNginxUnderPasswordGuessing(t *testing.T) {
	p := startPod(t, nil, nil)
	ctx := context.Background()

	t.Run("the total limit holds across addresses", func(t *testing.T) {
		// 10 addresses, 4 guesses each: each address stays far within its
		// own burst, together they pass the total one.
		var answers tally
		var wg sync.WaitGroup
		for i := range 10 {
			c := testtool.ClientFrom(fmt.Sprintf("127.0.0.%d", 2+i))
			for n := range 4 {
				wg.Go(func() { answers.add(status(c, p.metricsRequest(ctx, fmt.Sprintf("guess-%d-%d", i, n)))) })
			}
		}
		wg.Wait()
		got := answers.get()
		if got[http.StatusTooManyRequests] == 0 || got[http.StatusUnauthorized] == 0 || got[401]+got[429] != 40 {
			t.Errorf("40 guesses from 10 addresses answered %v; want some 401 and the rest 429", got)
		}
	})

	t.Run("pages and scrapes are served during a flood", func(t *testing.T) {
		flood, stop := context.WithTimeout(ctx, 3*time.Second)
		defer stop()
		var guesses, scraperAddrGuesses, scrapes, pages tally
		var wg sync.WaitGroup
		// Guessers on 10 addresses and on the scraper's own (127.0.0.1).
		for i := range 11 {
			ip := fmt.Sprintf("127.0.0.%d", 1+i)
			c, into := testtool.ClientFrom(ip), &guesses
			if i == 0 {
				into = &scraperAddrGuesses
			}
			wg.Go(func() {
				for n := 0; flood.Err() == nil; n++ {
					if s := status(c, p.metricsRequest(flood, fmt.Sprintf("guess-%s-%d", ip, n))); s != 0 {
						into.add(s)
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		// The scraper and a browser, also on 127.0.0.1, until the flood ends.
		loop := func(into *tally, every time.Duration, req func() *http.Request) {
			c := testtool.ClientFrom("127.0.0.1")
			for flood.Err() == nil {
				into.add(status(c, req()))
				time.Sleep(every)
			}
		}
		wg.Go(func() {
			loop(&scrapes, 100*time.Millisecond, func() *http.Request { return p.metricsRequest(ctx, podPassword) })
		})
		wg.Go(func() {
			loop(&pages, 20*time.Millisecond, func() *http.Request { return get(ctx, p.base+"/walks/start/") })
		})
		wg.Wait()

		if got := scrapes.get(); len(got) != 1 || got[200] < 5 {
			t.Errorf("scrapes with the password during the flood answered %v; want only 200", got)
		}
		if got := pages.get(); len(got) != 1 || got[200] < 5 {
			t.Errorf("pages during the flood answered %v; want only 200", got)
		}
		if got := scraperAddrGuesses.get(); got[429] == 0 || got[401]+got[429] != sum(got) {
			t.Errorf("guesses from the scraper's address answered %v; want 401 and 429 (limited)", got)
		}
		if got := guesses.get(); got[429] == 0 || got[401]+got[429] != sum(got) {
			t.Errorf("guesses from 10 addresses answered %v; want 401 and 429", got)
		}
	})
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Clients sending their bodies a byte at a time (the body timeout restarts
// on every byte) hold connections; one address gets only its share, the
// rest are answered 429 at once, and pages are served while they are held.
// The worker's connections are few here so that the reproduction is small:
// 200 slow sockets would take all 128 without the per-address limit.
func TestRenderedNginxUnderSlowBodies(t *testing.T) {
	const perAddress, sockets = 40, 200
	p := startPod(t, nil, nil, "--set", fmt.Sprintf("nginx.workerProcesses=1,nginx.workerConnections=128,nginx.connectionsPerAddress=%d", perAddress))
	ctx, stop := context.WithTimeout(context.Background(), 40*time.Second)
	defer stop()

	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.50")}, Timeout: 10 * time.Second}
	var conns []net.Conn
	var answered []chan struct{} // closed when the socket's answer is read
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	var answers tally
	for i := range sockets {
		c, err := dialer.DialContext(ctx, "tcp", p.addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		done := make(chan struct{})
		conns, answered = append(conns, c), append(answered, done)
		fmt.Fprintf(c, "POST /api/walkers HTTP/1.1\r\nHost: walker\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		go func() {
			// Bounded by ctx: the cleanup closes the socket.
			line, err := bufio.NewReader(c).ReadString('\n')
			close(done)
			c.Close()
			code := 0 // no answer
			if f := strings.Fields(line); err == nil && len(f) > 1 {
				fmt.Sscan(f[1], &code)
			}
			answers.add(code)
		}()
		// One more body byte every 2s keeps an unanswered socket held.
		go func() {
			tick := time.NewTicker(2 * time.Second)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					c.Write([]byte(" ")) // fails harmlessly if just answered
				case <-done:
					return
				case <-ctx.Done():
					return
				}
			}
		}()
		// Each socket past the address's share is answered before the next
		// is opened (whichever of them nginx refuses): a burst of them,
		// lingering until this client reads its 429, could take the
		// worker's 128 connections on a loaded machine.
		if extra := i + 1 - perAddress; extra > 0 &&
			!poll.Until(10*time.Second, func() bool { return sum(answers.get()) >= extra }) {
			t.Fatalf("slow socket %d was not answered within 10s (answers %v)", i+1, answers.get())
		}
	}
	if got := answers.get(); got[http.StatusTooManyRequests] != sockets-perAddress {
		t.Errorf("slow sockets answered %v; want %d of them 429", got, sockets-perAddress)
	}
	browser := testtool.ClientFrom("127.0.0.1")
	for i := range 20 {
		if s := status(browser, get(ctx, p.base+"/walks/start/")); s != http.StatusOK {
			t.Fatalf("page %d while slow sockets are held: %d, want 200", i, s)
		}
	}
	held := 0
	for _, done := range answered {
		select {
		case <-done:
		default:
			held++
		}
	}
	if held != perAddress {
		t.Errorf("%d slow sockets held while the pages were served, want %d", held, perAddress)
	}
}

// An existingSecret made before scraper.map existed (the chart's metrics
// Secret without it: username, password, htpasswd): the optional mount is
// empty, nginx starts, and /metrics works; scrapes then share the guessers'
// limits.
func TestRenderedNginxWithAnExistingSecret(t *testing.T) {
	existing := render(t, "--set-string", "metrics.auth.password="+podPassword).Secrets[release+"-metrics"]
	delete(existing.Data, "scraper.map")
	p := startPod(t, map[string]*corev1.Secret{"my-metrics": existing}, nil,
		"--set", "metrics.auth.existingSecret=my-metrics,prometheus.enabled=false")
	ctx := context.Background()
	for _, c := range []struct {
		password string
		want     int
	}{{podPassword, 200}, {"wrong", 401}} {
		if got := status(http.DefaultClient, p.metricsRequest(ctx, c.password)); got != c.want {
			t.Errorf("/metrics with password %q = %d, want %d", c.password, got, c.want)
		}
	}
}
