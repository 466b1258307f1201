package discord

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
)

// rewriter sends every request of the session's HTTP client to the
// configured API base (discord.api_url) instead of https://discord.com:
// discordgo computes its endpoint URLs once, from constants, so the
// client is the one place to redirect REST calls and the gateway
// discovery alike.
type rewriter struct {
	base *url.URL
	next http.RoundTripper
	// observe, when set, is told of each request's outcome.
	observe func(req *http.Request, resp *http.Response, err error)
}

func (t *rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host, u.User = t.base.Scheme, t.base.Host, t.base.User
	prefix := strings.TrimSuffix(t.base.Path, "/")
	u.Path = prefix + req.URL.Path
	if req.URL.RawPath != "" {
		u.RawPath = strings.TrimSuffix(t.base.EscapedPath(), "/") + req.URL.RawPath
	}
	r.URL, r.Host = &u, ""
	info := infoFrom(req.Context())
	resp, err := t.next.RoundTrip(r)
	if info != nil && resp != nil {
		info.got(resp)
	}
	if t.observe != nil {
		t.observe(req, resp, err)
	}
	return resp, err
}

// parseBase checks an api_url such as "https://discord.com" or
// "http://proxy:8080/discord".
func parseBase(s string) (*url.URL, error) {
	if s == "" {
		s = "https://discord.com"
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("discord: api_url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: api_url %q is not an http(s) URL", s)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// requestInfo is what happened to one REST request on the wire: whether
// the request was written in full, and the response's status and headers
// when one came. It sorts a failed send into the chat error kinds.
type requestInfo struct {
	mu       sync.Mutex
	wrote    bool
	status   int
	header   http.Header
	received bool
}

type infoKey struct{}

// withInfo returns a context that records, into a new requestInfo, what
// happens to the request made with it.
func withInfo(ctx context.Context) (context.Context, *requestInfo) {
	info := &requestInfo{}
	ctx = context.WithValue(ctx, infoKey{}, info)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(w httptrace.WroteRequestInfo) {
			if w.Err == nil {
				info.mu.Lock()
				info.wrote = true
				info.mu.Unlock()
			}
		},
	})
	return ctx, info
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

func (i *requestInfo) got(resp *http.Response) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.received, i.wrote = true, true
	i.status, i.header = resp.StatusCode, resp.Header.Clone()
}

func (i *requestInfo) snapshot() (wrote, received bool, status int, header http.Header) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.wrote, i.received, i.status, i.header
}
