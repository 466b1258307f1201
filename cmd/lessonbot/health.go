package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// healthTimeout bounds one probe: a container HEALTHCHECK or a script must
// get an answer quickly, and a live process answers /livez at once.
const healthTimeout = 2 * time.Second

const healthSummary = "probe the admin listener's /livez (for HEALTHCHECKs and scripts); exit 0 on 200, 1 otherwise, 2 when the admin listener is off"

// runHealth is lessonbot health: one GET of the running process's /livez,
// so that an image without curl or wget can still check itself.
func runHealth(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "health", "[--url URL]", healthSummary)
	rawURL := f.String("url", "", "probe `URL` instead of /livez on admin.listen, such as http://127.0.0.1:9090/readyz")
	positional, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		fmt.Fprintf(env.Stderr, "lessonbot health: takes no arguments, got %q\n", positional)
		return exitUsage
	}
	target := *rawURL
	if target != "" {
		if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(env.Stderr, "lessonbot health: --url %q is not an http or https URL (want such as http://127.0.0.1:9090/readyz)\n", target)
			return exitUsage
		}
	} else {
		cfg, ok := configFor(env, f)
		if !ok {
			return exitFailure
		}
		if cfg.Admin.Listen == "" {
			fmt.Fprintln(env.Stderr, "lessonbot health: the admin listener is off (admin.listen is empty): nothing to probe; set admin.listen or give --url")
			return exitUsage
		}
		var err error
		if target, err = livezURL(cfg.Admin.Listen); err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot health: %v\n", err)
			return exitFailure
		}
	}
	if err := probe(ctx, target); err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot health: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// livezURL is the /livez address of an admin listener that listens on
// listen. A listener on every address (":9090", "0.0.0.0:9090",
// "[::]:9090") is probed on the loopback address of its family, which it
// also listens on.
func livezURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("admin.listen %q is not a host:port address: %w", listen, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/livez"}).String(), nil
}

// probe GETs target and returns nil on 200; otherwise an error that names
// target and says what came back (the status and the first line of the
// body) or why nothing did.
func probe(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	client := &http.Client{
		// Straight to the listener: an HTTP_PROXY meant for the bots'
		// traffic must not answer for this process.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// The probe judges the address it was given, not where it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%s: no answer within %s", target, healthTimeout)
		case errors.As(err, &uerr):
			return fmt.Errorf("%s: %w", target, uerr.Err)
		}
		return fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	line, _, _ := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadLine()
	first := strings.TrimSpace(string(line))
	if r := []rune(first); len(r) > 200 {
		first = string(r[:200]) + "..."
	}
	if first == "" {
		return fmt.Errorf("%s answered %d", target, resp.StatusCode)
	}
	return fmt.Errorf("%s answered %d: %s", target, resp.StatusCode, first)
}
