package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

var (
	authT0   = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rootUser = chat.User{Platform: chat.Telegram, ID: "42", Name: "Root"}
)

func TestLoginToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	token, err := s.CreateLoginToken(ctx, rootUser, authT0)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 64 {
		t.Errorf("token %q: want 64 hex digits (32 bytes)", token)
	}

	t.Run("OKOnlyHashStored", func(t *testing.T) {
		var hash []byte
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT hash, (SELECT count(*) FROM dashboard_logins WHERE
			hash = ? OR user_id = ? AND (name = ? OR platform = ?)) FROM dashboard_logins`,
			token, token, token, token).Scan(&hash, &n); err != nil {
			t.Fatal(err)
		}
		if want := sha256.Sum256([]byte(token)); !bytes.Equal(hash, want[:]) || n != 0 {
			t.Errorf("stored hash %x (rows holding the token: %d), want only sha256 %x", hash, n, want)
		}
	})
	t.Run("OKPeekDoesNotUse", func(t *testing.T) {
		for range 3 {
			admin, err := s.LoginToken(ctx, token, authT0.Add(time.Minute))
			if err != nil || admin != rootUser {
				t.Fatalf("LoginToken = %+v, %v; want %+v", admin, err, rootUser)
			}
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		// Another token of the same length: its first byte changed (one
		// token in 256 begins with 00, which "00" would not change).
		unknown := "00" + token[2:]
		if unknown == token {
			unknown = "ff" + token[2:]
		}
		for _, f := range []func(context.Context, string, time.Time) (chat.User, error){s.LoginToken, s.ConsumeLoginToken} {
			if _, err := f(ctx, unknown, authT0); err != ErrNotFound {
				t.Errorf("error %v, want ErrNotFound", err)
			}
		}
	})
	t.Run("OKConsume", func(t *testing.T) {
		admin, err := s.ConsumeLoginToken(ctx, token, authT0.Add(time.Minute))
		if err != nil || admin != rootUser {
			t.Fatalf("ConsumeLoginToken = %+v, %v; want %+v", admin, err, rootUser)
		}
	})
	t.Run("ErrSecondUse", func(t *testing.T) {
		if _, err := s.ConsumeLoginToken(ctx, token, authT0.Add(2*time.Minute)); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("second use: %v, want ErrTokenUsed", err)
		}
		if _, err := s.LoginToken(ctx, token, authT0.Add(2*time.Minute)); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("peek after use: %v, want ErrTokenUsed", err)
		}
		// Used, and expired since: still "used", the more useful reason.
		if _, err := s.ConsumeLoginToken(ctx, token, authT0.Add(time.Hour)); !errors.Is(err, ErrTokenUsed) {
			t.Errorf("use after expiry: %v, want ErrTokenUsed", err)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		fresh, err := s.CreateLoginToken(ctx, rootUser, authT0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoginToken(ctx, fresh, authT0.Add(LoginTTL-time.Second)); err != nil {
			t.Errorf("a second before expiry: %v", err)
		}
		for _, at := range []time.Time{authT0.Add(LoginTTL), authT0.Add(LoginTTL + time.Hour)} {
			if _, err := s.LoginToken(ctx, fresh, at); !errors.Is(err, ErrTokenExpired) {
				t.Errorf("peek at +%s: %v, want ErrTokenExpired", at.Sub(authT0), err)
			}
			if _, err := s.ConsumeLoginToken(ctx, fresh, at); !errors.Is(err, ErrTokenExpired) {
				t.Errorf("use at +%s: %v, want ErrTokenExpired", at.Sub(authT0), err)
			}
		}
		if _, err := s.ConsumeLoginToken(ctx, fresh, authT0.Add(LoginTTL-time.Second)); err != nil {
			t.Errorf("use a second before expiry: %v", err)
		}
	})
	t.Run("ErrNoUser", func(t *testing.T) {
		if _, err := s.CreateLoginToken(ctx, chat.User{Platform: chat.Telegram}, authT0); err == nil {
			t.Error("made a token for no user")
		}
	})
	t.Run("OKNameless", func(t *testing.T) {
		tok, err := s.CreateLoginToken(ctx, chat.User{Platform: chat.Discord, ID: "7"}, authT0)
		if err != nil {
			t.Fatal(err)
		}
		if admin, err := s.LoginToken(ctx, tok, authT0); err != nil || admin.Name != "discord:7" {
			t.Errorf("LoginToken = %+v, %v; want the name discord:7", admin, err)
		}
	})
}

func TestLoginTokenLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	for i := range MaxLinks {
		if _, err := s.CreateLoginToken(ctx, rootUser, authT0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("link %d: %v", i+1, err)
		}
	}
	t.Run("ErrSixthWithinWindow", func(t *testing.T) {
		for _, at := range []time.Time{authT0.Add(5 * time.Minute), authT0.Add(LinkWindow - time.Second)} {
			if _, err := s.CreateLoginToken(ctx, rootUser, at); !errors.Is(err, ErrTooManyLinks) {
				t.Errorf("6th link at +%s: %v, want ErrTooManyLinks", at.Sub(authT0), err)
			}
		}
	})
	t.Run("OKOtherAdmins", func(t *testing.T) {
		for _, u := range []chat.User{{Platform: chat.Telegram, ID: "43"}, {Platform: chat.Discord, ID: "42"}} {
			if _, err := s.CreateLoginToken(ctx, u, authT0.Add(5*time.Minute)); err != nil {
				t.Errorf("%s:%s: %v", u.Platform, u.ID, err)
			}
		}
	})
	t.Run("OKOnceTheFirstIsOld", func(t *testing.T) {
		if _, err := s.CreateLoginToken(ctx, rootUser, authT0.Add(LinkWindow)); err != nil {
			t.Errorf("at +10m, when the first has left the window: %v", err)
		}
		if _, err := s.CreateLoginToken(ctx, rootUser, authT0.Add(LinkWindow)); !errors.Is(err, ErrTooManyLinks) {
			t.Errorf("7th: %v, want ErrTooManyLinks", err)
		}
	})
	t.Run("ErrConcurrent", func(t *testing.T) {
		u := chat.User{Platform: chat.Telegram, ID: "44"}
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, refused := 0, 0
		for range 20 {
			wg.Go(func() {
				_, err := s.CreateLoginToken(ctx, u, authT0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case errors.Is(err, ErrTooManyLinks):
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if made != MaxLinks || refused != 20-MaxLinks {
			t.Errorf("%d made, %d refused; want %d and %d", made, refused, MaxLinks, 20-MaxLinks)
		}
	})
}

func TestConsumeLoginTokenConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	token, err := s.CreateLoginToken(ctx, rootUser, authT0)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.ConsumeLoginToken(ctx, token, authT0.Add(time.Minute))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrTokenUsed):
			t.Errorf("a loser got %v, want ErrTokenUsed", err)
		}
	}
	if won != 1 {
		t.Errorf("%d requests signed in with one token, want exactly 1", won)
	}
}

func TestSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	newSession := func(t *testing.T) string {
		t.Helper()
		id, err := s.CreateSession(ctx, rootUser, authT0)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	t.Run("OKOnlyHashStored", func(t *testing.T) {
		id := newSession(t)
		want := sha256.Sum256([]byte(id))
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM dashboard_sessions WHERE hash = ?`, want[:]).Scan(&n); err != nil || n != 1 {
			t.Errorf("rows with the id's sha256: %d, %v", n, err)
		}
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM dashboard_sessions WHERE hash = ? OR name = ?`, id, id).Scan(&n); err != nil || n != 0 {
			t.Errorf("rows holding the id itself: %d, %v", n, err)
		}
	})
	t.Run("OKLookUp", func(t *testing.T) {
		id := newSession(t)
		ses, err := s.Session(ctx, id, authT0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if ses.Admin != rootUser || !ses.CreatedAt.Equal(authT0) || !ses.LastSeen.Equal(authT0.Add(time.Hour)) ||
			!ses.ExpiresAt.Equal(authT0.Add(SessionMaxAge)) {
			t.Errorf("session %+v", ses)
		}
	})
	t.Run("ErrIdle", func(t *testing.T) {
		id := newSession(t)
		if _, err := s.Session(ctx, id, authT0.Add(SessionIdle-time.Second)); err != nil {
			t.Fatalf("a second before 12 h idle: %v", err)
		}
		// Seen at 11:59:59: idle again 12 h from then.
		seen := authT0.Add(SessionIdle - time.Second)
		if _, err := s.Session(ctx, id, seen.Add(SessionIdle-time.Second)); err != nil {
			t.Fatalf("12 h after it began but seen since: %v", err)
		}
		seen = seen.Add(SessionIdle - time.Second)
		if _, err := s.Session(ctx, id, seen.Add(SessionIdle)); err != ErrNotFound {
			t.Errorf("after 12 h idle: %v, want ErrNotFound", err)
		}
		if _, err := s.Session(ctx, id, seen.Add(time.Minute)); err != ErrNotFound {
			t.Errorf("an ended session came back: %v", err)
		}
	})
	t.Run("ErrAbsolute", func(t *testing.T) {
		id := newSession(t)
		at := authT0
		for at.Add(10 * time.Hour).Before(authT0.Add(SessionMaxAge)) {
			at = at.Add(10 * time.Hour)
			if _, err := s.Session(ctx, id, at); err != nil {
				t.Fatalf("busy session at +%s: %v", at.Sub(authT0), err)
			}
		}
		if _, err := s.Session(ctx, id, authT0.Add(SessionMaxAge)); err != ErrNotFound {
			t.Errorf("after 7 days, seen %s before: %v, want ErrNotFound", authT0.Add(SessionMaxAge).Sub(at), err)
		}
	})
	t.Run("OKTouchAtMostEveryMinute", func(t *testing.T) {
		id := newSession(t)
		ses, err := s.Session(ctx, id, authT0.Add(30*time.Second))
		if err != nil || !ses.LastSeen.Equal(authT0) {
			t.Errorf("30 s later: last seen %v, %v; want unchanged %v", ses.LastSeen, err, authT0)
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		id := newSession(t)
		other := newSession(t)
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, id, authT0); err != ErrNotFound {
			t.Errorf("after logout: %v, want ErrNotFound", err)
		}
		if _, err := s.Session(ctx, other, authT0); err != nil {
			t.Errorf("another session ended too: %v", err)
		}
		if err := s.DeleteSession(ctx, id); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if _, err := s.Session(ctx, "nonsense", authT0); err != ErrNotFound {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteExpiredAuth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustToken := func(at time.Time) string {
		tok, err := s.CreateLoginToken(ctx, rootUser, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	mustSession := func(at time.Time) string {
		id, err := s.CreateSession(ctx, rootUser, at)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	now := authT0.Add(SessionMaxAge)
	oldToken := mustToken(now.Add(-LoginTTL))
	newToken := mustToken(now.Add(-LoginTTL + time.Second))
	idle := mustSession(now.Add(-SessionIdle))
	old := mustSession(authT0) // seen an hour ago, but 7 days old
	if _, err := s.db.ExecContext(ctx, `UPDATE dashboard_sessions SET last_seen_at = ? WHERE hash = ?`,
		now.Add(-time.Hour).Unix(), secretHash(old)); err != nil {
		t.Fatal(err)
	}
	live := mustSession(now.Add(-time.Hour))

	n, err := s.DeleteExpiredAuth(ctx, now)
	if err != nil || n != 3 {
		t.Fatalf("DeleteExpiredAuth = %d, %v; want 3 rows", n, err)
	}
	if _, err := s.LoginToken(ctx, oldToken, now); err != ErrNotFound {
		t.Errorf("expired token kept: %v", err)
	}
	if _, err := s.LoginToken(ctx, newToken, now); err != nil {
		t.Errorf("live token: %v", err)
	}
	for _, id := range []string{idle, old} {
		var rows int
		h := secretHash(id)
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM dashboard_sessions WHERE hash = ?`, h).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("ended session kept: %d, %v", rows, err)
		}
	}
	if _, err := s.Session(ctx, live, now); err != nil {
		t.Errorf("live session: %v", err)
	}
}

func TestAdminName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	u := chat.User{Platform: chat.Telegram, ID: "42"}
	name := func() string {
		t.Helper()
		n, err := s.AdminName(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := name(); got != "" {
		t.Errorf("unknown admin: %q, want none", got)
	}
	if _, err := s.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "42", Name: "Ada L."}); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Ada L." {
		t.Errorf("from the learners: %q", got)
	}
	// A link lessonbot dashboard-link made knows only the id.
	if _, err := s.CreateLoginToken(ctx, u, authT0); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Ada L." {
		t.Errorf("after an id-only link: %q", got)
	}
	if _, err := s.CreateLoginToken(ctx, chat.User{Platform: chat.Telegram, ID: "42", Name: "Ada"}, authT0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Ada" {
		t.Errorf("from the bot's link: %q", got)
	}
}

func TestDeleteLearnerSignsOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.CreateLoginToken(ctx, rootUser, authT0); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateSession(ctx, rootUser, authT0)
	if err != nil {
		t.Fatal(err)
	}
	other := chat.User{Platform: chat.Discord, ID: "42"}
	otherID, err := s.CreateSession(ctx, other, authT0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteLearner(ctx, rootUser); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, id, authT0); err != ErrNotFound {
		t.Errorf("session after /deletemydata: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM dashboard_logins`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d login rows left, %v", n, err)
	}
	if _, err := s.Session(ctx, otherID, authT0); err != nil {
		t.Errorf("another admin's session: %v", err)
	}
}
