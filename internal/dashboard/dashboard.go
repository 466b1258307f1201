// Package dashboard serves lessonbot's admin dashboard on the admin
// listener: server-rendered pages about the learners and the deliveries,
// and a few actions, for lessonbot's admins only.
//
// An admin signs in with a single-use link the bot sends (/dashboard) or
// lessonbot dashboard-link prints: GET /login?t=TOKEN only shows a "Sign
// in as NAME" button, and the POST uses the token up, so that a link
// preview or a mail scanner fetching the link can neither burn nor use it.
// The POST opens a session kept in a cookie (HttpOnly, SameSite=Strict,
// Secure over TLS). There is no password.
//
// Every page is plain HTML with a stylesheet from the same origin: no
// script, no font, no request to another host, which the
// Content-Security-Policy header enforces. Every state change is a POST,
// and [http.CrossOriginProtection] refuses a POST that a browser says
// comes from another site.
package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/style.css
var styleSheet []byte

// ContentSecurityPolicy is sent with every response: nothing runs as a
// script, and nothing loads from another origin. Style attributes are
// allowed (not <style> elements): the charts' shaded cohort table colours
// its cells with them.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; " +
	"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Cookie names: the __Host- prefix makes a browser refuse the cookie
// unless it is Secure, for this host only and for every path, and so it
// is used only when the cookie is Secure.
const (
	cookieName       = "lessonbot_session"
	secureCookieName = "__Host-lessonbot_session"
)

// SweepEvery is how often Run deletes the ended sign-ins.
const SweepEvery = time.Hour

// Options configure a Server.
type Options struct {
	// Store holds the sign-ins and the figures shown.
	Store *store.Store
	// BaseURL is the address the dashboard is opened at, without a
	// trailing slash (config.Config.DashboardURL): its origin is trusted
	// for POSTs, and an https one makes the session cookie Secure.
	BaseURL string
	// Zone is the IANA zone whose midnight starts "today" unless the page
	// asks for another (?tz=); empty means UTC.
	Zone string
	// IsAdmin tells whether a user is still one of lessonbot's admins:
	// a sign-in or a session of someone who no longer is, is refused.
	// Nil accepts everyone a token was made for.
	IsAdmin func(chat.User) bool
	// Reload reloads the lessons for the Actions page; nil leaves the
	// action out.
	Reload func() lesson.Result
	// Lessons returns the lessons in service: their titles, questions and
	// words name what the figures count, by lesson id and question key.
	// Nil, or a lesson no longer in it, shows ids and keys only.
	Lessons func() *lesson.Library
	// Questions is how many questions a quiz has (config
	// quiz.questions), so that a lesson's report lists those asked now,
	// answered or not; 0 means 3, the default.
	Questions int
	// Preview renders a lesson's messages as the bot sends them, as plain
	// text, for the Actions page; nil leaves the action out.
	Preview func(*lesson.Lesson) []string
	// Wake tells the delivery pool to look at the outbox now, after the
	// Actions page put deliveries back in it; nil leaves them for the
	// pool's next look.
	Wake func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives what the dashboard does; nil discards it.
	Log *slog.Logger
}

// Server is the dashboard's http.Handler.
type Server struct {
	opts    Options
	handler http.Handler
	pages   map[string]*template.Template
	css     string // the stylesheet's path, named by its content
	secure  bool   // BaseURL is https
}

// New returns the dashboard for opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("dashboard: base URL %q is not an absolute http or https URL", opts.BaseURL)
	}
	sum := sha256.Sum256(styleSheet)
	s := &Server{
		opts:   opts,
		pages:  map[string]*template.Template{},
		css:    "/static/style." + hex.EncodeToString(sum[:6]) + ".css",
		secure: base.Scheme == "https",
	}
	layout, err := template.New("layout.html").Funcs(templateFuncs()).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	for _, name := range []string{"login", "message", "overview", "growth", "retention", "activity",
		"lessons", "report", "words", "delivery", "actions", "resend"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		s.pages[name] = t
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+s.css, s.styleSheet)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /{$}", s.signedIn(s.overview))
	mux.HandleFunc("GET /growth", s.signedIn(s.growth))
	mux.HandleFunc("GET /retention", s.signedIn(s.retention))
	mux.HandleFunc("GET /activity", s.signedIn(s.activity))
	mux.HandleFunc("GET /lessons", s.signedIn(s.lessons))
	mux.HandleFunc("GET /lessons/{id}", s.signedIn(s.report))
	mux.HandleFunc("GET /words", s.signedIn(s.words))
	mux.HandleFunc("GET /delivery", s.signedIn(s.delivery))
	mux.HandleFunc("GET /actions", s.signedIn(s.actions))
	mux.HandleFunc("POST /actions/reload", s.signedIn(s.reload))
	mux.HandleFunc("POST /actions/preview", s.signedIn(s.preview))
	mux.HandleFunc("POST /actions/resend", s.signedIn(s.confirmResend))
	mux.HandleFunc("POST /actions/resend/confirm", s.signedIn(s.resend))
	mux.HandleFunc("/", s.notFound)

	cop := http.NewCrossOriginProtection()
	// Behind a proxy that rewrites Host, a browser without Sec-Fetch-Site
	// would otherwise look cross-origin on the dashboard's own address.
	if err := cop.AddTrustedOrigin(base.Scheme + "://" + base.Host); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	cop.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	s.handler = cop.Handler(mux)
	return s, nil
}

// ServeHTTP serves the dashboard, with its security headers on every
// response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	s.handler.ServeHTTP(w, r)
}

// Run deletes the ended sign-ins (expired tokens and sessions) at once
// and then every SweepEvery, until ctx ends.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		if n, err := s.opts.Store.DeleteExpiredAuth(ctx, s.opts.Now()); err != nil && ctx.Err() == nil {
			s.opts.Log.Warn("deleting the dashboard's ended sign-ins failed", "err", err)
		} else if n > 0 {
			s.opts.Log.Debug("deleted the dashboard's ended sign-ins", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// page is what the layout shows around a page's content.
type page struct {
	Title string
	// Section is the label of the navigation's link to mark as current,
	// when it is not Title (a lesson's report is in Lessons).
	Section string
	CSS     string
	// Admin is who is signed in; nil on the sign-in pages, which then
	// have no navigation.
	Admin *chat.User
	Nav   []navItem
	// Content is the page's own data.
	Content any
}

// navItem is a link of the navigation.
type navItem struct {
	Path, Label string
	Current     bool
}

// navigation lists the pages, path and label, in the order of the
// navigation.
func navigation() []navItem {
	return []navItem{
		{Path: "/", Label: "Overview"},
		{Path: "/growth", Label: "Growth"},
		{Path: "/retention", Label: "Retention"},
		{Path: "/activity", Label: "Activity"},
		{Path: "/lessons", Label: "Lessons"},
		{Path: "/words", Label: "Hardest words"},
		{Path: "/delivery", Label: "Delivery"},
		{Path: "/actions", Label: "Actions"},
	}
}

// render writes the page name with status. The page is rendered into a
// buffer first, so that a template error becomes a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p page) {
	p.CSS = s.css
	if p.Admin != nil {
		for _, n := range navigation() {
			n.Current = n.Label == cmp.Or(p.Section, p.Title)
			p.Nav = append(p.Nav, n)
		}
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.opts.Log.Error("rendering a dashboard page failed", "where", name, "err", err)
		http.Error(w, "The page could not be rendered; the log says why.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message is the content of a page that says one thing.
type message struct {
	// Text is the one line said; Hint a second, such as how to get a new
	// link.
	Text, Hint string
}

// howToSignIn says where a sign-in link comes from.
const howToSignIn = "Send /dashboard to the bot in a private chat (on Discord, anywhere: only you see the reply), " +
	"or run lessonbot dashboard-link on the server. The link signs you in once, within 10 minutes."

// say renders a one-message page.
func (s *Server) say(w http.ResponseWriter, status int, title, text, hint string, admin *chat.User) {
	s.render(w, status, "message", page{Title: title, Admin: admin, Content: message{Text: text, Hint: hint}})
}

// trouble tells of a failure on the server's side, logged for the
// operator.
func (s *Server) trouble(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.opts.Log.Error("dashboard: "+what+" failed", "where", r.URL.Path, "err", err)
	s.say(w, http.StatusInternalServerError, "Something went wrong",
		"The dashboard could not "+what+"; the log says why.", "", nil)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.say(w, http.StatusNotFound, "Not found", "There is no such page.", "", nil)
}

// crossOrigin refuses a state change a browser says comes from another
// site.
func (s *Server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	s.say(w, http.StatusForbidden, "Refused",
		"This request came from another site, so it was refused; use the dashboard's own buttons.", "", nil)
}

func (s *Server) styleSheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	// The path changes with the content, so the file may be kept.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(styleSheet)
}
