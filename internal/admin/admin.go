// Package admin serves the admin listener: Prometheus metrics at /metrics,
// liveness at /livez (and /healthz, the same) and readiness at /readyz.
//
// Liveness asks "should this process be restarted?": it looks only at the
// program's own loops (their heartbeats), never at the database or a
// platform, so that a database blip does not become a restart storm.
// Readiness asks "may this process take work?": the database answers, its
// schema is at head, lessons are loaded and the process is not stopping.
// Both answer 200 "ok", or 503 with one line per failing check.
//
// The admin dashboard, when given, serves every other path; these
// endpoints stay its own and need no sign-in.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Loop is a loop of the program whose heartbeat liveness watches.
type Loop struct {
	// Name names the loop in a failure line, such as "scheduler".
	Name string
	// Last returns the loop's last heartbeat.
	Last func() time.Time
	// Period is how often the loop beats; liveness fails after two
	// periods without a beat.
	Period time.Duration
}

// Check is one readiness check: nil when ready, or an error whose text
// says what is wrong in one line.
type Check struct {
	// Name names the check, such as "database".
	Name string
	// Run runs the check; its context ends after CheckTimeout.
	Run func(ctx context.Context) error
}

// CheckTimeout is how long a readiness check may take before it counts as
// failed.
const CheckTimeout = time.Second

// Options configure a Server.
type Options struct {
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Loops are the heartbeats /livez watches.
	Loops []Loop
	// Ready are the checks /readyz runs, in order.
	Ready []Check
	// Dashboard, when not nil, serves every path the endpoints above do
	// not own: the admin dashboard, which signs its users in itself.
	Dashboard http.Handler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the admin listener's handler.
type Server struct {
	opts     Options
	stopping atomic.Bool
	mux      *http.ServeMux
}

// New returns a server with the given options.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics)
	}
	s.mux.HandleFunc("GET /livez", s.livez)
	s.mux.HandleFunc("GET /healthz", s.livez)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Dashboard != nil {
		s.mux.Handle("/", opts.Dashboard)
	}
	return s
}

// ServeHTTP serves the admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Stopping makes /readyz answer 503 from now on: the process is shutting
// down. Call it before anything else stops.
func (s *Server) Stopping() { s.stopping.Store(true) }

// Live returns the liveness failures at this moment, one line each.
func (s *Server) Live() []string {
	now := s.opts.Now()
	var fails []string
	for _, l := range s.opts.Loops {
		if age := now.Sub(l.Last()); age > 2*l.Period {
			fails = append(fails, fmt.Sprintf("%s: last heartbeat %s ago (want within %s)",
				l.Name, age.Round(time.Second), 2*l.Period))
		}
	}
	return fails
}

// Ready runs the readiness checks and returns their failures, one line
// each.
func (s *Server) Ready(ctx context.Context) []string {
	var fails []string
	if s.stopping.Load() {
		fails = append(fails, "stopping: the process is shutting down")
	}
	for _, c := range s.opts.Ready {
		cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
		err := c.Run(cctx)
		if err == nil && cctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", CheckTimeout)
		}
		cancel()
		if err != nil {
			fails = append(fails, c.Name+": "+oneLine(err.Error()))
		}
	}
	return fails
}

func (s *Server) livez(w http.ResponseWriter, r *http.Request) { answer(w, s.Live()) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) { answer(w, s.Ready(r.Context())) }

// answer writes 200 "ok" or 503 with one failure a line.
func answer(w http.ResponseWriter, fails []string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(fails) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, strings.Join(fails, "\n"))
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Listen opens the admin listener on addr.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	return ln, nil
}

// Serve serves s on ln until ctx is done, then closes the listener and
// waits up to 2 s for the requests under way.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("admin listener: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
