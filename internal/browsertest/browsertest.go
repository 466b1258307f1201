// Package browsertest drives the distribution's headless Chromium through
// chromedp for the admin pages' browser tests: it opens pages, counts
// elements, reads text, clicks, takes PNG screenshots and records the host
// of every request the page makes, so that a test can assert that a page
// asks nothing of any other host.
//
// A test that calls Start is skipped, with a message saying how to install
// Chromium, when none is installed; under CI (CI=true) it fails instead,
// because .ci/run installs one.
package browsertest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Option changes how Start runs the browser.
type Option func(*settings)

type settings struct {
	noScript bool
}

// NoJavaScript runs the browser with JavaScript turned off for pages
// (DevTools' own evaluation still works, which the counting methods use).
func NoJavaScript() Option { return func(s *settings) { s.noScript = true } }

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string // every URL the tab asked for, in order
	status   int64    // the HTTP status of the last page (document) loaded
}

// ExecPath returns the Chromium found on this machine, or "".
func ExecPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start starts a headless Chromium for t, stopped when t ends.
func Start(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	path := ExecPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium installed; .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("no Chromium installed: the browser tests need one (Debian: apt-get install chromium)")
	}
	var s settings
	for _, o := range opts {
		o(&s)
	}
	// Chromium makes a folder of its own in the temporary folder (for its
	// singleton socket) and leaves it behind when it is stopped: give it a
	// temporary folder that goes with the test. Not t.TempDir, whose path
	// (named after the test) can pass the 108 bytes of a socket's path.
	tmp, err := os.MkdirTemp("", "lbchrome-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.Env("TMPDIR="+tmp),
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	if s.noScript {
		flags = append(flags, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), flags...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		case *network.EventResponseReceived:
			if e.Type == network.ResourceTypeDocument {
				b.mu.Lock()
				b.status = e.Response.Status
				b.mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	})); err != nil {
		t.Fatalf("enable the network events: %v", err)
	}
	return b
}

// run runs a valued action with a 20 s limit.
func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// Open loads url and waits for the page's load event.
func (b *Browser) Open(url string) {
	b.t.Helper()
	if _, err := run(b, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

// Eval evaluates a JavaScript expression through DevTools (it works with
// the page's JavaScript turned off) and returns its value.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	v, err := run(b, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Count returns how many elements match the CSS selector.
func (b *Browser) Count(selector string) int {
	b.t.Helper()
	return Eval[int](b, fmt.Sprintf("document.querySelectorAll(%q).length", selector))
}

// Text returns the text content of the first element that matches the CSS
// selector, or "" when none does; SVG <title> text counts.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return Eval[string](b, fmt.Sprintf("(document.querySelector(%q) || {textContent: ''}).textContent", selector))
}

// Location returns the address of the page shown.
func (b *Browser) Location() string {
	b.t.Helper()
	return Eval[string](b, "location.href")
}

// Submit clicks the button that matches the CSS selector and waits for the
// page it leads to.
func (b *Browser) Submit(selector string) {
	b.t.Helper()
	_, err := run(b, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(selector))))
	if err != nil {
		b.t.Fatalf("click %s: %v", selector, err)
	}
}

// SetValue sets the value of the form field that matches the CSS
// selector, as typing into it would (it works with the page's JavaScript
// turned off).
func (b *Browser) SetValue(selector, value string) {
	b.t.Helper()
	if _, err := run(b, chromedp.SetValue(chromedp.CSS(selector), value)); err != nil {
		b.t.Fatalf("set %s: %v", selector, err)
	}
}

// Screenshot writes a PNG of the whole page to path, making its folder.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	png, err := run(b, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Status returns the HTTP status of the last page loaded.
func (b *Browser) Status() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.status)
}

// Requests returns every URL the tab asked for so far.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// ForeignRequests returns the requests to any host other than host
// (host:port), ignoring data: and about: addresses.
func (b *Browser) ForeignRequests(host string) []string {
	var out []string
	for _, r := range b.Requests() {
		if strings.HasPrefix(r, "data:") || strings.HasPrefix(r, "about:") {
			continue
		}
		u, err := url.Parse(r)
		if err != nil || u.Host != host {
			out = append(out, r)
		}
	}
	return out
}
