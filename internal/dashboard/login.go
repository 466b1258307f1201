package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Links makes the dashboard's sign-in links: the bot's /dashboard and
// lessonbot dashboard-link use it.
type Links struct {
	store *store.Store
	base  string
	now   func() time.Time
}

// NewLinks returns links that start with baseURL (without a trailing
// slash), made at the times now gives.
func NewLinks(st *store.Store, baseURL string, now func() time.Time) *Links {
	return &Links{store: st, base: baseURL, now: now}
}

// LoginLink makes a single-use sign-in link for admin, valid
// store.LoginTTL; the caller has checked that admin is an admin. It
// fails, wrapping store.ErrTooManyLinks, for an admin who got
// store.MaxLinks links within store.LinkWindow.
func (l *Links) LoginLink(ctx context.Context, admin chat.User) (string, error) {
	token, err := l.store.CreateLoginToken(ctx, admin, l.now())
	if err != nil {
		return "", err
	}
	return l.base + "/login?t=" + token, nil
}

// signedInHandler serves a page to a signed-in admin.
type signedInHandler func(w http.ResponseWriter, r *http.Request, admin chat.User)

// signedIn serves h to a request with a live session, and sends any
// other to the page that says how to sign in.
func (s *Server) signedIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := sessionID(r)
		if !ok {
			s.toSignIn(w, r)
			return
		}
		ses, err := s.opts.Store.Session(r.Context(), id, s.opts.Now())
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.clearCookies(w, r)
			s.toSignIn(w, r)
			return
		case err != nil:
			s.trouble(w, r, "check the session", err)
			return
		case !s.isAdmin(ses.Admin):
			s.opts.Log.Info("dashboard session of someone no longer an admin ended",
				"platform", ses.Admin.Platform, "user_id", ses.Admin.ID)
			if err := s.opts.Store.DeleteSession(r.Context(), id); err != nil {
				s.trouble(w, r, "end the session", err)
				return
			}
			s.clearCookies(w, r)
			s.toSignIn(w, r)
			return
		}
		h(w, r, ses.Admin)
	}
}

// toSignIn redirects to the page that says how to get a sign-in link.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) isAdmin(u chat.User) bool { return s.opts.IsAdmin == nil || s.opts.IsAdmin(u) }

// loginForm is the content of the "Sign in as NAME" page.
type loginForm struct {
	Name, Who, Token string
}

// loginPage shows, for a valid token, a button that signs in with it; it
// never uses the token up. Without a token it says how to get one.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if token == "" {
		s.say(w, http.StatusOK, "Sign in", "The dashboard opens with a sign-in link from the bot; it has no password.", howToSignIn, nil)
		return
	}
	if !wellFormed(token) {
		s.refuseToken(w, r, store.ErrNotFound)
		return
	}
	admin, err := s.opts.Store.LoginToken(r.Context(), token, s.opts.Now())
	if err != nil {
		s.refuseToken(w, r, err)
		return
	}
	if !s.isAdmin(admin) {
		s.notAdmin(w, admin)
		return
	}
	s.render(w, http.StatusOK, "login", page{Title: "Sign in", Content: loginForm{
		Name: admin.Name, Who: admin.Platform + ":" + admin.ID, Token: token,
	}})
}

// login uses the token up and opens a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	token := r.PostFormValue("t")
	if !wellFormed(token) {
		s.refuseToken(w, r, store.ErrNotFound)
		return
	}
	now := s.opts.Now()
	admin, err := s.opts.Store.ConsumeLoginToken(r.Context(), token, now)
	if err != nil {
		s.refuseToken(w, r, err)
		return
	}
	if !s.isAdmin(admin) {
		s.notAdmin(w, admin)
		return
	}
	if old, ok := sessionID(r); ok {
		if err := s.opts.Store.DeleteSession(r.Context(), old); err != nil {
			s.trouble(w, r, "end the previous session", err)
			return
		}
	}
	id, err := s.opts.Store.CreateSession(r.Context(), admin, now)
	if err != nil {
		s.trouble(w, r, "open a session", err)
		return
	}
	s.opts.Log.Info("admin signed in to the dashboard", "platform", admin.Platform, "user_id", admin.ID)
	c := s.cookie(r, id, int(store.SessionMaxAge/time.Second))
	s.clearCookies(w, r, c.Name)
	http.SetCookie(w, c)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session, if any, and forgets its cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if id, ok := sessionID(r); ok {
		ses, err := s.opts.Store.Session(r.Context(), id, s.opts.Now())
		if err == nil {
			err = s.opts.Store.DeleteSession(r.Context(), id)
		}
		switch {
		case err == nil:
			s.opts.Log.Info("admin signed out of the dashboard", "platform", ses.Admin.Platform, "user_id", ses.Admin.ID)
		case !errors.Is(err, store.ErrNotFound):
			s.trouble(w, r, "end the session", err)
			return
		}
	}
	s.clearCookies(w, r)
	s.toSignIn(w, r)
}

// refuseToken explains, in one line, why a token cannot sign in.
func (s *Server) refuseToken(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrTokenUsed):
		s.say(w, http.StatusGone, "Link already used", "This sign-in link was used already: each link signs in once.", howToSignIn, nil)
	case errors.Is(err, store.ErrTokenExpired):
		s.say(w, http.StatusGone, "Link expired", "This sign-in link has expired: a link works for 10 minutes.", howToSignIn, nil)
	case errors.Is(err, store.ErrNotFound):
		s.say(w, http.StatusNotFound, "Unknown link", "This sign-in link is not valid: it is incomplete, or it expired long ago.", howToSignIn, nil)
	default:
		s.trouble(w, r, "check the sign-in link", err)
	}
}

// notAdmin refuses a token made for someone who is no longer an admin.
func (s *Server) notAdmin(w http.ResponseWriter, admin chat.User) {
	s.say(w, http.StatusForbidden, "Not an admin",
		admin.Platform+":"+admin.ID+" is no longer one of lessonbot's admins (telegram.admins, discord.admins).", "", nil)
}

// wellFormed reports whether s looks like a token or a session id: 64
// hex digits. Anything else is refused without a look-up.
func wellFormed(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// sessionID returns the session id the request's cookie carries.
func sessionID(r *http.Request) (string, bool) {
	for _, name := range []string{secureCookieName, cookieName} {
		if c, err := r.Cookie(name); err == nil && wellFormed(c.Value) {
			return c.Value, true
		}
	}
	return "", false
}

// cookie is the session cookie with value id, kept maxAge seconds (a
// negative maxAge deletes it). It is Secure when the request came over
// TLS or the dashboard's address is https (a proxy ends TLS), and only
// then has the __Host- prefix, which browsers refuse without Secure.
func (s *Server) cookie(r *http.Request, id string, maxAge int) *http.Cookie {
	secure := r.TLS != nil || s.secure
	name := cookieName
	if secure {
		name = secureCookieName
	}
	return &http.Cookie{
		Name: name, Value: id, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// clearCookies deletes the session cookies the request carries, but for
// the one named keep.
func (s *Server) clearCookies(w http.ResponseWriter, r *http.Request, keep ...string) {
	for _, name := range []string{secureCookieName, cookieName} {
		if _, err := r.Cookie(name); err != nil || slices.Contains(keep, name) {
			continue
		}
		c := &http.Cookie{Name: name, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: name == secureCookieName}
		http.SetCookie(w, c)
	}
}
