package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin is an admin listener that answers every path with code and
// body and remembers the paths it was asked for.
type fakeAdmin struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newFakeAdmin(t *testing.T, code int, body string) *fakeAdmin {
	t.Helper()
	a := &fakeAdmin{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.paths = append(a.paths, r.URL.Path)
		a.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(a.Close)
	return a
}

// asked returns the paths the listener was asked for, in order.
func (a *fakeAdmin) asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.paths...)
}

// addr is the listener's host:port.
func (a *fakeAdmin) addr() string { return a.Listener.Addr().String() }

// adminConfig writes a config file whose admin.listen is listen.
func adminConfig(t *testing.T, listen string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config.yaml": fmt.Sprintf("admin:\n  listen: %q\n", listen)})
	return filepath.Join(dir, "config.yaml")
}

// closedAddr is a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHealth(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		a := newFakeAdmin(t, http.StatusOK, "ok\n")
		r := run(t, "health", "--config", adminConfig(t, a.addr()))
		if r.code != exitOK || r.stdout != "" || r.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and no output", r.code, r.stdout, r.stderr)
		}
		if got := a.asked(); len(got) != 1 || got[0] != "/livez" {
			t.Errorf("asked for %q, want [/livez]", got)
		}
	})
	t.Run("OKUnspecifiedHost", func(t *testing.T) {
		// A listener on every address is probed on 127.0.0.1, where the
		// fake listens.
		a := newFakeAdmin(t, http.StatusOK, "ok\n")
		_, port, _ := net.SplitHostPort(a.addr())
		for _, listen := range []string{":" + port, "0.0.0.0:" + port} {
			if r := run(t, "health", "--config", adminConfig(t, listen)); r.code != exitOK || r.stderr != "" {
				t.Errorf("admin.listen %q: exit %d, stderr %q", listen, r.code, r.stderr)
			}
		}
	})
	t.Run("OKUnspecifiedIPv6", func(t *testing.T) {
		l, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		a := &fakeAdmin{}
		a.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		a.Listener.Close()
		a.Listener = l
		a.Start()
		defer a.Close()
		_, port, _ := net.SplitHostPort(a.addr())
		if r := run(t, "health", "--config", adminConfig(t, "[::]:"+port)); r.code != exitOK || r.stderr != "" {
			t.Errorf("admin.listen [::]:%s: exit %d, stderr %q", port, r.code, r.stderr)
		}
	})
	t.Run("ErrStatus", func(t *testing.T) {
		a := newFakeAdmin(t, http.StatusServiceUnavailable, "scheduler: last tick 3m ago\nsender: ok\n")
		r := run(t, "health", "--config", adminConfig(t, a.addr()))
		want := "lessonbot health: http://" + a.addr() + "/livez answered 503: scheduler: last tick 3m ago\n"
		if r.code != exitFailure || r.stdout != "" || r.stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", r.code, r.stdout, r.stderr, want)
		}
	})
	t.Run("ErrStatusNoBody", func(t *testing.T) {
		a := newFakeAdmin(t, http.StatusNotFound, "")
		r := run(t, "health", "--config", adminConfig(t, a.addr()))
		want := "lessonbot health: http://" + a.addr() + "/livez answered 404\n"
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want exit 1 and stderr %q", r.code, r.stderr, want)
		}
	})
	t.Run("ErrConnectionRefused", func(t *testing.T) {
		addr := closedAddr(t)
		r := run(t, "health", "--config", adminConfig(t, addr))
		prefix := "lessonbot health: http://" + addr + "/livez: dial tcp " + addr + ": "
		if r.code != exitFailure || !strings.HasPrefix(r.stderr, prefix) || !strings.Contains(r.stderr, "refused") ||
			strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line starting %q, saying refused", r.code, r.stderr, prefix)
		}
	})
	t.Run("ErrTimeout", func(t *testing.T) {
		// A process too stuck to answer is not alive; the probe gives up
		// after healthTimeout instead of hanging the HEALTHCHECK.
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		defer stuck.Close()
		r := run(t, "health", "--url", stuck.URL+"/livez")
		want := "lessonbot health: " + stuck.URL + "/livez: no answer within 2s\n"
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want exit 1 and stderr %q", r.code, r.stderr, want)
		}
	})
	t.Run("ErrListenerOff", func(t *testing.T) {
		r := run(t, "health", "--config", adminConfig(t, ""))
		if r.code != exitUsage || !strings.Contains(r.stderr, "admin listener is off") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want exit 2 and one line saying the admin listener is off", r.code, r.stderr)
		}
	})
	t.Run("OKURL", func(t *testing.T) {
		// --url wins over admin.listen, even when the listener is off in
		// the config.
		a := newFakeAdmin(t, http.StatusOK, "ok\n")
		r := run(t, "health", "--config", adminConfig(t, ""), "--url", a.URL+"/readyz")
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if got := a.asked(); len(got) != 1 || got[0] != "/readyz" {
			t.Errorf("asked for %q, want [/readyz]", got)
		}
	})
	t.Run("ErrURLStatus", func(t *testing.T) {
		a := newFakeAdmin(t, http.StatusServiceUnavailable, "database: no answer to ping within 1s")
		r := run(t, "health", "--url", a.URL+"/readyz")
		want := "lessonbot health: " + a.URL + "/readyz answered 503: database: no answer to ping within 1s\n"
		if r.code != exitFailure || r.stderr != want {
			t.Errorf("exit %d, stderr %q; want exit 1 and stderr %q", r.code, r.stderr, want)
		}
	})
	t.Run("ErrRedirect", func(t *testing.T) {
		// The probe judges the address it was given: a redirect to a
		// healthy page is not health.
		a := newFakeAdmin(t, http.StatusOK, "ok\n")
		redirect := httptest.NewServer(http.RedirectHandler(a.URL+"/livez", http.StatusFound))
		defer redirect.Close()
		r := run(t, "health", "--url", redirect.URL+"/livez")
		if r.code != exitFailure || !strings.Contains(r.stderr, "answered 302") {
			t.Errorf("exit %d, stderr %q; want exit 1, answered 302", r.code, r.stderr)
		}
	})
	t.Run("ErrBadURL", func(t *testing.T) {
		for _, u := range []string{"127.0.0.1:9090/livez", "ftp://127.0.0.1/livez", "http://"} {
			if r := run(t, "health", "--url", u); r.code != exitUsage || !strings.Contains(r.stderr, "not an http or https URL") {
				t.Errorf("--url %q: exit %d, stderr %q; want exit 2", u, r.code, r.stderr)
			}
		}
	})
	t.Run("ErrArgument", func(t *testing.T) {
		if r := run(t, "health", "extra"); r.code != exitUsage || !strings.Contains(r.stderr, "takes no arguments") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("OKHelp", func(t *testing.T) {
		r := run(t, "health", "--help")
		if r.code != exitOK || !strings.Contains(r.stdout, "-url URL") || !strings.Contains(r.stdout, "-config FILE") {
			t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
}

// TestLivezURL covers the addresses an admin listener may be given.
func TestLivezURL(t *testing.T) {
	tests := []struct {
		listen, want string
	}{
		{"127.0.0.1:9090", "http://127.0.0.1:9090/livez"},
		{":9090", "http://127.0.0.1:9090/livez"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/livez"},
		{"[::]:9090", "http://[::1]:9090/livez"},
		{"[::1]:9090", "http://[::1]:9090/livez"},
		{"10.0.0.5:9090", "http://10.0.0.5:9090/livez"},
		{"localhost:9090", "http://localhost:9090/livez"},
	}
	for _, tt := range tests {
		got, err := livezURL(tt.listen)
		if err != nil || got != tt.want {
			t.Errorf("livezURL(%q) = %q, %v; want %q", tt.listen, got, err, tt.want)
		}
	}
	if _, err := livezURL("9090"); err == nil {
		t.Errorf("livezURL(%q) succeeded, want an error", "9090")
	}
}
