package main

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// roundRobin is the load balancer in front of the instances' webhook
// listeners: each request goes to the next backend in turn, as plain
// HTTP. A backend that refuses the connection (an instance killed or
// starting again) is passed over for the next one, as a load balancer's
// health check would soon take it out; any other failure is answered 502,
// and Telegram posts the update again.
type roundRobin struct {
	backends []string // host:port
	client   *http.Client
	next     atomic.Uint64

	mu sync.Mutex
	// served counts the requests each backend answered; passed counts the
	// requests that a backend refused and another took.
	served []int
	passed int
}

// maxWebhookBody bounds a request the proxy forwards; an update is a few
// KB.
const maxWebhookBody = 1 << 20

func newRoundRobin(backends []string) *roundRobin {
	return &roundRobin{
		backends: backends,
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		},
		served: make([]int, len(backends)),
	}
}

// serveTLS starts the proxy on a local port with a test certificate, so
// that the webhook URL is https as lessonbot requires; the server's Client
// trusts it.
func (p *roundRobin) serveTLS() *httptest.Server {
	srv := httptest.NewUnstartedServer(p)
	// A client that goes away mid-handshake (a test's end) is no news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	n := len(p.backends)
	start := int(p.next.Add(1)-1) % n
	for try := range n {
		i := (start + try) % n
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.backends[i]+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := p.client.Do(req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			p.mu.Lock()
			p.passed++
			p.mu.Unlock()
			continue
		}
		if err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		p.served[i]++
		p.mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no backend", http.StatusBadGateway)
}

// counts returns the requests each backend answered and those passed
// over from a backend that refused them.
func (p *roundRobin) counts() (served []int, passed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.served...), p.passed
}
