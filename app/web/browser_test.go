package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/walkerhq/walker/app/internal/testdb"
	"github.com/walkerhq/walker/internal/poll"
	"github.com/walkerhq/walker/internal/testtool"
)

// TestStartFormSearchesAsYouType runs the start form in headless Chromium
// under the app's Content-Security-Policy: typing in the walker search fills
// the select from the API without reloading the page, and the walk starts
// with the walker found.
func TestStartFormSearchesAsYouType(t *testing.T) {
	chromium := testtool.Require(t, "chromium")
	a := newApp(t, testdb.SQLite(t))
	d := a.createDog(testdb.Rex)
	ws := testdb.CreateWalkers(t, a.store, numbered("Walker", 60)...)

	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser quits; the cleanup retries.
	dir, err := os.MkdirTemp("", "walker-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeAll(t, dir) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		// Chromium's singleton socket folder goes to TMPDIR: keep it ours.
		chromedp.Env("TMPDIR="+dir),
		chromedp.Flag("disable-background-networking", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	// Whatever the console reports (a CSP refusal, a script error) fails
	// the test.
	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			// The browser asks for /favicon.ico on its own; there is none.
			if (ev.Entry.Level == cdplog.LevelError || ev.Entry.Level == cdplog.LevelWarning) && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
				problems = append(problems, ev.Entry.Text)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, ev.ExceptionDetails.Error())
		}
	})

	target := ws[41] // Walker 0042
	var hidden bool
	var search, more, chosen string
	err = chromedp.Run(ctx,
		cdplog.Enable(),
		chromedp.Navigate(a.srv.URL+"/walks/start/"),
		chromedp.WaitVisible("#walker_q", chromedp.ByQuery),
		chromedp.SendKeys("#walker_q", "walker 00", chromedp.ByQuery),
		// 20 matches of 60 and the hint with its link to the next ones,
		// for the whole text typed (a search may start after any key).
		waitFor(`!document.getElementById('walker-more').hidden &&
			document.querySelector('#walker-more a').href.includes('walker_q=walker+00&')`),
		chromedp.AttributeValue("#walker-more a", "href", &more, nil, chromedp.ByQuery),
		chromedp.SendKeys("#walker_q", "42", chromedp.ByQuery),
		waitFor(fmt.Sprintf(`document.querySelectorAll('#walker option').length === 2 &&
			document.querySelector('#walker option[value="%d"]') !== null`, target.ID)),
		chromedp.JavascriptAttribute("#walker-more", "hidden", &hidden, chromedp.ByQuery),
		chromedp.Evaluate(`window.location.search`, &search),
		chromedp.SetValue("#walker", fmt.Sprint(target.ID), chromedp.ByQuery),
		chromedp.SetValue("#dog", fmt.Sprint(d.ID), chromedp.ByQuery),
		chromedp.Click("#start", chromedp.ByQuery),
		chromedp.WaitVisible("#complete-link", chromedp.ByQuery),
		chromedp.Text("#walk", &chosen, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if search != "" {
		t.Errorf("typing reloaded the page (location.search = %q)", search)
	}
	if !hidden {
		t.Error("the more-matches hint still shows with one match")
	}
	if !strings.Contains(more, "walker_q=walker+00") || !strings.Contains(more, "walker_after=") {
		t.Errorf("the next-matches link %q loses the search", more)
	}
	if !strings.Contains(chosen, "Rex with Walker 0042") {
		t.Errorf("the started walk shows %q", chosen)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported: %q", problems)
	}
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(cond string) chromedp.Action {
	return chromedp.Poll(cond, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))
}

// removeAll removes dir, retrying for a few seconds while processes that
// are going away still write into it.
func removeAll(t *testing.T, dir string) {
	var err error
	if !poll.Until(5*time.Second, func() bool { err = os.RemoveAll(dir); return err == nil }) {
		t.Errorf("removing %s: %v", dir, err)
	}
}
