package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/walkerhq/walker/internal/testtool"
)

// browseWalk clicks through the app in headless Chromium as a person would:
// create a walker and a dog, start a walk with them, complete it with a
// distance, and read the result on the page.
func (e *env) browseWalk(ctx context.Context, base string, distance int) error {
	bctx, cancel, err := e.browser(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var flash, status string
	for _, s := range walkThrough(base, distance, &flash, &status) {
		if err := chromedp.Run(bctx, s.actions...); err != nil {
			return fmt.Errorf("browser: %s: %w", s.what, err)
		}
		fmt.Printf("browser: %s\n", s.what)
	}
	if !strings.Contains(flash, "Walker Chromium Walker added.") {
		return fmt.Errorf("browser: no confirmation after creating the walker: %q", flash)
	}
	if !strings.Contains(status, fmt.Sprintf("Complete: %d m", distance)) {
		return fmt.Errorf("browser: the walk page says %q after completing", status)
	}
	return nil
}

type browserStep struct {
	what    string
	actions []chromedp.Action
}

// walkThrough is a person's clicks, step by step; it reads the walker's
// confirmation into flash and the completed walk's status into status.
func walkThrough(base string, distance int, flash, status *string) []browserStep {
	return []browserStep{
		{"create a walker", []chromedp.Action{
			chromedp.Navigate(base + "/walkers/new/"),
			chromedp.SendKeys("#name", "Chromium Walker", chromedp.ByQuery),
			chromedp.SendKeys("#email", "chromium@example.com", chromedp.ByQuery),
			chromedp.Click("#save", chromedp.ByQuery),
			chromedp.WaitVisible(".flash", chromedp.ByQuery),
			chromedp.Text(".flash", flash, chromedp.ByQuery),
		}},
		{"create a dog", []chromedp.Action{
			chromedp.Navigate(base + "/dogs/new/"),
			chromedp.SendKeys("#name", "Chromium Dog", chromedp.ByQuery),
			chromedp.SendKeys("#age", "3", chromedp.ByQuery),
			chromedp.SetValue("#size", "lg", chromedp.ByQuery),
			chromedp.Click("#save", chromedp.ByQuery),
			chromedp.WaitVisible(".flash", chromedp.ByQuery),
		}},
		{"start a walk", []chromedp.Action{
			// Found by name, as with a real table: start.js (under the
			// page's Content-Security-Policy) fills the selects as one types.
			chromedp.Navigate(base + "/walks/start/"),
			chromedp.WaitVisible("#dog_q", chromedp.ByQuery),
			chromedp.SendKeys("#dog_q", "Chromium", chromedp.ByQuery),
			selectOption("#dog", "Chromium Dog"),
			chromedp.SendKeys("#walker_q", "Chromium", chromedp.ByQuery),
			selectOption("#walker", "Chromium Walker"),
			chromedp.Click("#start", chromedp.ByQuery),
			chromedp.WaitVisible("#complete-link", chromedp.ByQuery),
		}},
		{"complete the walk", []chromedp.Action{
			chromedp.Click("#complete-link", chromedp.ByQuery),
			chromedp.WaitVisible("#distance", chromedp.ByQuery),
			chromedp.SendKeys("#distance", fmt.Sprint(distance), chromedp.ByQuery),
			chromedp.Click("#complete", chromedp.ByQuery),
			chromedp.WaitVisible("#walk-status", chromedp.ByQuery),
			chromedp.Text("#walk-status", status, chromedp.ByQuery),
		}},
	}
}

// browser starts headless Chromium, its profile in the state folder; the
// cancel function ends it.
func (e *env) browser(ctx context.Context) (context.Context, context.CancelFunc, error) {
	chromium, err := testtool.Lookup("chromium")
	if err != nil {
		return nil, nil, err
	}
	profile := filepath.Join(e.dir, "chromium")
	// Chromium puts its singleton socket folder in TMPDIR and leaves it
	// behind when chromedp kills it at the end: keep it in our state folder.
	tmp := filepath.Join(e.dir, "chromium-tmp")
	for _, d := range []string{profile, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.Flag("disable-background-networking", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	bctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	return bctx, func() { cancelTimeout(); cancelBrowser(); cancelAlloc() }, nil
}

// selectOption waits (up to 10 s) until the select has an option whose
// text starts with label, and picks it.
func selectOption(sel, label string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var ok bool
		js := fmt.Sprintf(`(() => { const s = document.querySelector(%q);
			for (const o of s.options) { if (o.text.startsWith(%q)) { s.value = o.value; return true; } }
			return false; })()`, sel, label)
		err := chromedp.Poll(js, &ok, chromedp.WithPollingTimeout(10*time.Second)).Do(ctx)
		if err != nil {
			return fmt.Errorf("no option %q in %s: %w", label, sel, err)
		}
		return nil
	})
}
