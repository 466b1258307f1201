package browsertest_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/browsertest"
)

// page is a page with an SVG chart of three bars, a script that would
// rewrite the heading, a form that posts to the server, and an image from
// another host.
const page = `<!doctype html><html><head><title>Test page</title></head><body>
<h1 id="h">Static</h1>
<script>document.getElementById("h").textContent = "Scripted";</script>
<svg width="200" height="60"><rect x="0" y="0" width="50" height="10"><title>first: 5</title></rect>
<rect x="0" y="20" width="90" height="10"><title>second: 9</title></rect>
<rect x="0" y="40" width="20" height="10"><title>third: 2</title></rect></svg>
<img src="http://elsewhere.invalid/pixel.png" alt="">
<form method="post" action="/done"><input id="q" name="q" value="typed"><button id="go">Go</button></form>
</body></html>`

func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPost {
			fmt.Fprintf(w, `<!doctype html><title>Done</title><p id="result">posted</p><p id="q">%s</p>`, html.EscapeString(r.PostFormValue("q")))
			return
		}
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowser(t *testing.T) {
	srv := server(t)
	b := browsertest.Start(t)
	b.Open(srv.URL)
	if n := b.Count("svg rect"); n != 3 {
		t.Errorf("Count(svg rect) = %d, want 3", n)
	}
	if got := b.Text("svg rect title"); got != "first: 5" {
		t.Errorf("the first bar's title = %q", got)
	}
	if got := b.Text("#h"); got != "Scripted" {
		t.Errorf("with JavaScript on, the heading = %q, want the script's", got)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	foreign := b.ForeignRequests(host)
	if len(foreign) != 1 || !strings.Contains(foreign[0], "elsewhere.invalid") {
		t.Errorf("requests to other hosts = %q, want the one image", foreign)
	}
	shot := filepath.Join(t.TempDir(), "page.png")
	b.Screenshot(shot)
	b.Submit("#go")
	if got := b.Text("#result"); got != "posted" {
		t.Errorf("after the click, #result = %q", got)
	}
	if got := b.Status(); got != http.StatusOK {
		t.Errorf("Status() after the post = %d", got)
	}
	b.Open(srv.URL + "/missing")
	if got := b.Status(); got != http.StatusNotFound {
		t.Errorf("Status() of a missing page = %d, want 404", got)
	}
}

func TestNoJavaScript(t *testing.T) {
	srv := server(t)
	b := browsertest.Start(t, browsertest.NoJavaScript())
	b.Open(srv.URL)
	if got := b.Text("#h"); got != "Static" {
		t.Errorf("with JavaScript off, the heading = %q, want the page's own", got)
	}
	b.SetValue("#q", "set <here>")
	b.Submit("#go")
	if got := b.Text("#result"); got != "posted" {
		t.Errorf("with JavaScript off, a form still posts: #result = %q", got)
	}
	if got := b.Text("#q"); got != "set <here>" {
		t.Errorf("with JavaScript off, SetValue set %q", got)
	}
}

// TestLeavesNoTemporaryFiles: a browser started and stopped leaves nothing
// in the temporary folder (Chromium's own folder for its singleton socket
// stayed behind, one for every browser of every test run).
func TestLeavesNoTemporaryFiles(t *testing.T) {
	// Not t.TempDir: Chromium's socket path within it would be too long.
	tmp, err := os.MkdirTemp("", "lbtmp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	srv := server(t)
	t.Run("Browse", func(t *testing.T) {
		b := browsertest.Start(t)
		b.Open(srv.URL)
		if got := b.Text("#h"); got != "Scripted" {
			t.Errorf("the heading = %q", got)
		}
	})
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("left in the temporary folder after the browser stopped: %s", strings.Join(names, ", "))
	}
}
