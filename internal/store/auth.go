package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// The rules of signing in to the admin dashboard.
const (
	// LoginTTL is how long a login token stays valid.
	LoginTTL = 10 * time.Minute
	// MaxLinks is how many login tokens an admin may get within
	// LinkWindow: a leaked chat or a script asking again and again gets
	// no more.
	MaxLinks   = 5
	LinkWindow = 10 * time.Minute
	// SessionIdle ends a session not seen for that long; SessionMaxAge
	// ends it that long after it began, however busy.
	SessionIdle   = 12 * time.Hour
	SessionMaxAge = 7 * 24 * time.Hour
	// sessionTouch is how stale a session's last-seen time may get before
	// a look-up writes it again, so that a page view is not always a
	// write; a session may so outlive SessionIdle by up to this much.
	sessionTouch = time.Minute
)

// ErrTooManyLinks is returned, wrapped, by CreateLoginToken when the
// admin already has MaxLinks tokens made within LinkWindow.
var ErrTooManyLinks = errors.New("too many sign-in links")

// ErrTokenUsed and ErrTokenExpired are returned, wrapped, for a login
// token that was used already or is older than LoginTTL. An unknown token
// gives ErrNotFound.
var (
	ErrTokenUsed    = errors.New("sign-in link already used")
	ErrTokenExpired = errors.New("sign-in link expired")
)

// AdminSession is a signed-in admin's dashboard session.
type AdminSession struct {
	// Admin is who signed in: platform, user id and the display name
	// known then.
	Admin chat.User
	// CreatedAt is when the session began, LastSeen when it was last used
	// (to within a minute), and ExpiresAt when it ends however busy.
	CreatedAt, LastSeen, ExpiresAt time.Time
}

// newSecret returns 32 random bytes as 64 hex digits: a login token or a
// session id. Hex, not base64, so that no platform's Markdown needs to
// escape a character of a link.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand crashes the program rather
	return hex.EncodeToString(b)
}

// secretHash is what is stored of a token or a session id.
func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// adminName is the name stored for admin: its display name, or
// "platform:id" when it has none.
func adminName(admin chat.User) string {
	if admin.Name != "" {
		return admin.Name
	}
	return admin.Platform + ":" + admin.ID
}

// CreateLoginToken makes a login token for admin, valid LoginTTL from
// now, and returns it; only its SHA-256 is stored. It refuses, with
// ErrTooManyLinks, an admin who got MaxLinks tokens within the last
// LinkWindow. The caller checks that admin is an admin.
func (s *Store) CreateLoginToken(ctx context.Context, admin chat.User, now time.Time) (string, error) {
	what := "create a login token for " + admin.Platform + ":" + admin.ID
	if admin.Platform == "" || admin.ID == "" {
		return "", fmt.Errorf("store: %s: no platform or user id", what)
	}
	token := newSecret()
	if err := s.lockWrite(ctx); err != nil {
		return "", fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	// One statement counts and inserts, so that concurrent requests
	// cannot both see room for one more.
	res, err := s.db.ExecContext(ctx, `INSERT INTO dashboard_logins (hash, platform, user_id, name, created_at, expires_at)
		SELECT ?, ?, ?, ?, ?, ?
		WHERE (SELECT count(*) FROM dashboard_logins WHERE platform = ? AND user_id = ? AND created_at > ?) < ?`,
		secretHash(token), admin.Platform, admin.ID, adminName(admin), now.Unix(), now.Add(LoginTTL).Unix(),
		admin.Platform, admin.ID, now.Add(-LinkWindow).Unix(), MaxLinks)
	if err != nil {
		return "", fmt.Errorf("store: %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return "", fmt.Errorf("store: %s: %w (at most %d in %s)", what, ErrTooManyLinks, MaxLinks, LinkWindow)
	}
	return token, nil
}

// LoginToken returns the admin a login token was made for, without using
// it up: ErrNotFound for an unknown token, ErrTokenUsed or
// ErrTokenExpired for one that can no longer sign in.
func (s *Store) LoginToken(ctx context.Context, token string, now time.Time) (chat.User, error) {
	var (
		admin   chat.User
		expires int64
		used    sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT platform, user_id, name, expires_at, used_at FROM dashboard_logins WHERE hash = ?`,
		secretHash(token)).Scan(&admin.Platform, &admin.ID, &admin.Name, &expires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chat.User{}, ErrNotFound
	case err != nil:
		return chat.User{}, fmt.Errorf("store: login token: %w", err)
	case used.Valid:
		return admin, fmt.Errorf("store: login token: %w", ErrTokenUsed)
	case expires <= now.Unix():
		return admin, fmt.Errorf("store: login token: %w", ErrTokenExpired)
	}
	return admin, nil
}

// ConsumeLoginToken uses up a login token and returns the admin it was
// made for. One statement marks it used only while it is unused and
// unexpired, so of concurrent requests with the same token exactly one
// gets the admin; the others, and every later one, get ErrTokenUsed (or
// ErrTokenExpired, or ErrNotFound for a token never made).
func (s *Store) ConsumeLoginToken(ctx context.Context, token string, now time.Time) (chat.User, error) {
	var admin chat.User
	if err := s.lockWrite(ctx); err != nil {
		return admin, fmt.Errorf("store: use a login token: %w", err)
	}
	err := s.db.QueryRowContext(ctx, `UPDATE dashboard_logins SET used_at = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING platform, user_id, name`,
		now.Unix(), secretHash(token), now.Unix()).Scan(&admin.Platform, &admin.ID, &admin.Name)
	s.unlockWrite()
	switch {
	case err == nil:
		return admin, nil
	case !errors.Is(err, sql.ErrNoRows):
		return chat.User{}, fmt.Errorf("store: use a login token: %w", err)
	}
	// Say why: LoginToken tells used from expired from unknown.
	if _, err := s.LoginToken(ctx, token, now); err != nil {
		return chat.User{}, err
	}
	// Unused and unexpired a moment later: only a clock gone backwards.
	return chat.User{}, fmt.Errorf("store: use a login token: %w", ErrTokenExpired)
}

// CreateSession begins a dashboard session for admin and returns its id,
// 32 random bytes in hex; only its SHA-256 is stored.
func (s *Store) CreateSession(ctx context.Context, admin chat.User, now time.Time) (string, error) {
	what := "create a session for " + admin.Platform + ":" + admin.ID
	if admin.Platform == "" || admin.ID == "" {
		return "", fmt.Errorf("store: %s: no platform or user id", what)
	}
	id := newSecret()
	if err := s.lockWrite(ctx); err != nil {
		return "", fmt.Errorf("store: %s: %w", what, err)
	}
	defer s.unlockWrite()
	_, err := s.db.ExecContext(ctx, `INSERT INTO dashboard_sessions (hash, platform, user_id, name, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		secretHash(id), admin.Platform, admin.ID, adminName(admin), now.Unix(), now.Unix(), now.Add(SessionMaxAge).Unix())
	if err != nil {
		return "", fmt.Errorf("store: %s: %w", what, err)
	}
	return id, nil
}

// Session returns the live session with the given id and marks it seen
// at now. A session unknown, idle for SessionIdle or older than
// SessionMaxAge gives ErrNotFound (an ended one is deleted).
func (s *Store) Session(ctx context.Context, id string, now time.Time) (AdminSession, error) {
	var (
		ses                    AdminSession
		created, seen, expires int64
	)
	hash := secretHash(id)
	err := s.db.QueryRowContext(ctx, `SELECT platform, user_id, name, created_at, last_seen_at, expires_at
		FROM dashboard_sessions WHERE hash = ?`, hash).Scan(&ses.Admin.Platform, &ses.Admin.ID, &ses.Admin.Name, &created, &seen, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return AdminSession{}, ErrNotFound
	case err != nil:
		return AdminSession{}, fmt.Errorf("store: session: %w", err)
	}
	ses.CreatedAt, ses.LastSeen, ses.ExpiresAt = fromUnix(created), fromUnix(seen), fromUnix(expires)
	if expires <= now.Unix() || seen+int64(SessionIdle/time.Second) <= now.Unix() {
		if err := s.DeleteSession(ctx, id); err != nil {
			return AdminSession{}, err
		}
		return AdminSession{}, ErrNotFound
	}
	if now.Unix()-seen >= int64(sessionTouch/time.Second) {
		if err := s.lockWrite(ctx); err != nil {
			return AdminSession{}, fmt.Errorf("store: session: %w", err)
		}
		_, err := s.db.ExecContext(ctx, `UPDATE dashboard_sessions SET last_seen_at = max(last_seen_at, ?) WHERE hash = ?`, now.Unix(), hash)
		s.unlockWrite()
		if err != nil {
			return AdminSession{}, fmt.Errorf("store: session: %w", err)
		}
		ses.LastSeen = fromUnix(now.Unix())
	}
	return ses, nil
}

// DeleteSession ends a session (signing out); an unknown id is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.lockWrite(ctx); err != nil {
		return fmt.Errorf("store: delete a session: %w", err)
	}
	defer s.unlockWrite()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE hash = ?`, secretHash(id)); err != nil {
		return fmt.Errorf("store: delete a session: %w", err)
	}
	return nil
}

// DeleteExpiredAuth deletes the login tokens that can neither sign in nor
// count toward MaxLinks any more, and the sessions that ended, as of now;
// it returns how many rows it deleted. Call it now and then.
func (s *Store) DeleteExpiredAuth(ctx context.Context, now time.Time) (int, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: delete expired sign-ins: %w", err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sign-ins: %w", err)
	}
	defer tx.Rollback()
	total := 0
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`DELETE FROM dashboard_logins WHERE expires_at <= ? AND created_at <= ?`,
			[]any{now.Unix(), now.Add(-LinkWindow).Unix()}},
		{`DELETE FROM dashboard_sessions WHERE expires_at <= ?`, []any{now.Unix()}},
		{`DELETE FROM dashboard_sessions WHERE last_seen_at <= ?`, []any{now.Add(-SessionIdle).Unix()}},
	} {
		res, err := tx.ExecContext(ctx, q.query, q.args...)
		if err != nil {
			return 0, fmt.Errorf("store: delete expired sign-ins: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: delete expired sign-ins: %w", err)
		}
		total += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: delete expired sign-ins: %w", err)
	}
	return total, nil
}

// AdminName returns the best display name known for admin: the latest
// one a sign-in link from the bot carried, else the name the learner
// answered under, else "" (lessonbot dashboard-link knows only an id).
func (s *Store) AdminName(ctx context.Context, admin chat.User) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT name FROM dashboard_logins
		WHERE platform = ? AND user_id = ? AND name != ? ORDER BY created_at DESC LIMIT 1`,
		admin.Platform, admin.ID, admin.Platform+":"+admin.ID).Scan(&name)
	if err == nil {
		return name, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: name of %s:%s: %w", admin.Platform, admin.ID, err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT name FROM learners WHERE platform = ? AND user_id = ?`,
		admin.Platform, admin.ID).Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: name of %s:%s: %w", admin.Platform, admin.ID, err)
	}
	return name, nil
}
