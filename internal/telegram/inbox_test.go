package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// memInbox is an Inbox in memory with the store's semantics, shared by
// instances that each see it through as(holder).
type memInbox struct {
	mu     sync.Mutex
	claims map[int64]*memClaim
	calls  int
}

type memClaim struct {
	holder string
	until  time.Time
	done   bool
}

func newMemInbox() *memInbox { return &memInbox{claims: map[int64]*memClaim{}} }

// as is the inbox as the instance holder uses it.
func (m *memInbox) as(holder string) Inbox { return memHolder{m, holder} }

// Calls counts the ClaimUpdate calls.
func (m *memInbox) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

type memHolder struct {
	m      *memInbox
	holder string
}

func (h memHolder) ClaimUpdate(ctx context.Context, id int64, now, until time.Time) (InboxClaim, error) {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	h.m.calls++
	c := h.m.claims[id]
	switch {
	case c == nil:
		h.m.claims[id] = &memClaim{holder: h.holder, until: until}
		return InboxNew, nil
	case c.done:
		return InboxDone, nil
	case c.until.Before(now):
		c.holder, c.until = h.holder, until
		return InboxNew, nil
	}
	return InboxBusy, nil
}

func (h memHolder) FinishUpdate(ctx context.Context, id int64, now time.Time) error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if c := h.m.claims[id]; c != nil && c.holder == h.holder {
		c.done = true
	}
	return nil
}

// instance is one lessonbot instance serving the webhook with an Inbox.
type instance struct {
	bot   *Bot
	tutor *fakeTutor
	state *memState
	logs  *logtest.Buffer
	// hook is the local URL of its webhook.
	hook string
}

// startInstance runs a bot in webhook mode on the fake Bot API at apiURL,
// registering webhookURL, with inbox; deadline 0 keeps webhookDeadline.
// It stops with the test, and fails it if the token or the secret is in
// its logs.
func startInstance(t *testing.T, apiURL, webhookURL string, inbox Inbox, tutor *fakeTutor, deadline time.Duration) *instance {
	t.Helper()
	in := &instance{tutor: tutor, state: newMemState(), logs: &logtest.Buffer{}}
	opts := Options{
		Token: testToken, APIURL: apiURL, NotFound: errNoValue,
		Logger:     slog.New(slog.NewTextHandler(in.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTPClient: &http.Client{Timeout: time.Minute},
		WebhookURL: webhookURL, WebhookListen: "127.0.0.1:0",
		Inbox: inbox, handleDeadline: deadline,
	}
	b, err := New(context.Background(), opts, tutor, in.state)
	if err != nil {
		t.Fatal(err)
	}
	in.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15 s of its context's end")
		}
		logs := in.logs.String()
		if strings.Contains(logs, testToken) || strings.Contains(logs, deriveSecret(testToken)) {
			t.Errorf("the token or the webhook secret is in the logs:\n%s", logs)
		}
		if t.Failed() {
			t.Logf("logs of the instance at %s:\n%s", in.hook, logs)
		}
	})
	select {
	case <-b.webhookReady:
	case err := <-done:
		t.Fatalf("Run ended before the webhook was set: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the webhook did not start")
	}
	in.hook = "http://" + b.webhookAddr.String() + "/telegram/hook"
	return in
}

// postRaw posts body to a webhook with secret and returns the answer.
func postRaw(t *testing.T, hook, secret string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(secretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func postUpdate(t *testing.T, hook, secret string, update map[string]any) *http.Response {
	t.Helper()
	body, err := json.Marshal(update)
	if err != nil {
		t.Fatal(err)
	}
	return postRaw(t, hook, secret, body)
}

// redeliver posts an update until it is answered 200, as Telegram sends
// again an update answered otherwise, and returns the statuses of the
// answers before.
func redeliver(t *testing.T, hook, secret string, update map[string]any) []int {
	t.Helper()
	var refused []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := postUpdate(t, hook, secret, update)
		if resp.StatusCode == http.StatusOK {
			return refused
		}
		refused = append(refused, resp.StatusCode)
		if time.Now().After(deadline) {
			t.Fatalf("not answered 200 within 10 s: %v", refused)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const hookURL = "https://bot.example.org/telegram/hook"

func TestWebhookSecretDerived(t *testing.T) {
	secret := deriveSecret(testToken)
	t.Run("Stable", func(t *testing.T) {
		// openssl dgst -sha256 -hmac "$token" <<< "lessonbot webhook secret" (without the newline)
		const want = "c5b3179993ff6cb4fd690f5385ff698b2638d64b02489600a3d7b608513dbd76"
		if secret != want || deriveSecret(testToken) != want {
			t.Errorf("derived %q, want %q", secret, want)
		}
	})
	t.Run("PerToken", func(t *testing.T) {
		for _, other := range []string{"5550001235:AAHs3cr3t-T0ken_value_for_tests_only", testToken + "x", e2eTokenLike} {
			if deriveSecret(other) == secret {
				t.Errorf("token %q derives the same secret", other)
			}
		}
	})
	t.Run("NotTheToken", func(t *testing.T) {
		_, key, _ := strings.Cut(testToken, ":")
		if secret == testToken || strings.Contains(secret, testToken) || strings.Contains(secret, key) {
			t.Errorf("the secret %q holds the token", secret)
		}
	})
	t.Run("TelegramTakesIt", func(t *testing.T) {
		if len(secret) != 64 || !validSecret(secret) {
			t.Errorf("secret %q: want 64 characters of [A-Za-z0-9_-]", secret)
		}
	})
}

// e2eTokenLike is another bot's token.
const e2eTokenLike = "6660004321:AAE2e-t0ken-for-another-bot"

func TestWebhookSecretOption(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		h.opts.WebhookSecret = "shared_Secret-of-3-instances"
		hook, secret := startWebhook(t, h)
		if got := post(t, hook, deriveSecret(testToken), telegramtest.MessageUpdate(h.api.NextUpdateID(), private, &alice, "/score")); got != http.StatusUnauthorized {
			t.Errorf("the derived secret when another is set: status %d, want 401", got)
		}
		if got := post(t, hook, secret, telegramtest.MessageUpdate(h.api.NextUpdateID(), private, &alice, "/score")); got != http.StatusOK {
			t.Errorf("the secret set: status %d, want 200", got)
		}
	})
	for name, bad := range map[string]string{
		"ErrSpace":   "two words",
		"ErrTooLong": strings.Repeat("a", 257),
		"ErrColon":   "abc:def",
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.opts.WebhookSecret = bad
			_, err := New(context.Background(), h.opts, h.tutor, h.state)
			if err == nil {
				t.Fatal("New took a secret Telegram refuses")
			}
			if strings.Contains(err.Error(), bad) {
				t.Errorf("the error names the secret: %v", err)
			}
		})
	}
}

func TestWebhookInboxWrongSecret(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	inbox := newMemInbox()
	in := startInstance(t, srv.URL, hookURL, inbox.as("a"), &fakeTutor{}, 0)
	secret := deriveSecret(testToken)
	for name, s := range map[string]string{"Missing": "", "Wrong": "not-the-secret", "Prefix": secret[:63], "Longer": secret + "x", "Token": testToken} {
		t.Run(name, func(t *testing.T) {
			resp := postUpdate(t, in.hook, s, telegramtest.MessageUpdate(api.NextUpdateID(), private, &alice, "/score"))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	if n := inbox.Calls(); n != 0 {
		t.Errorf("%d claims for refused calls, want 0", n)
	}
	if cmds, sent := in.tutor.Commands(), api.SentCount(); len(cmds) != 0 || sent != 0 {
		t.Errorf("refused calls handled: %d commands, %d messages sent", len(cmds), sent)
	}
	// The right secret works (the replies are sent before the answer).
	if resp := postUpdate(t, in.hook, secret, telegramtest.MessageUpdate(api.NextUpdateID(), private, &alice, "/score")); resp.StatusCode != http.StatusOK {
		t.Fatalf("the right secret: status %d, want 200", resp.StatusCode)
	}
	if n := api.SentCount(); n != 1 {
		t.Errorf("%d messages sent, want the one reply", n)
	}
}

// TestWebhookInboxHandlesBeforeAnswering checks that with an Inbox the
// 200 comes after the update is handled to its end (reply sent, press
// answered), that a repeat is answered 200 and does nothing, and that
// the journal is not used.
func TestWebhookInboxHandlesBeforeAnswering(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	api.SetLatency(20 * time.Millisecond)
	inbox := newMemInbox()
	tut := &fakeTutor{press: func(ctx context.Context, p chat.Press) chat.PressReply {
		return chat.PressReply{Notice: "right", Messages: textMessages("the full article")}
	}}
	in := startInstance(t, srv.URL, hookURL, inbox.as("a"), tut, 0)
	secret := deriveSecret(testToken)

	msg := telegramtest.MessageUpdate(api.NextUpdateID(), group, &bob, "/score")
	press := telegramtest.CallbackUpdate(api.NextUpdateID(), "cb-sync", group, bob, 4, "a:x:00000000:1")
	for round := range 2 {
		for _, u := range []map[string]any{msg, press} {
			if resp := postUpdate(t, in.hook, secret, u); resp.StatusCode != http.StatusOK {
				t.Fatalf("round %d: status %d, want 200", round, resp.StatusCode)
			}
		}
		// No waiting: all of it was done before the answers.
		if sent, answers := api.Sent(), api.Answers(); len(sent) != 2 || len(answers) != 1 {
			t.Fatalf("round %d: %d messages sent and %d callback answers, want 2 and 1", round, len(sent), len(answers))
		}
	}
	if n, p := len(tut.Commands()), len(tut.Presses()); n != 1 || p != 1 {
		t.Errorf("the tutor got %d commands and %d presses, want 1 and 1", n, p)
	}
	if a := api.Answers(); a[0].Text != "right" {
		t.Errorf("the callback answer %q, want the tutor's notice", a[0].Text)
	}
	calls := inbox.Calls()
	if resp := postUpdate(t, in.hook, secret, telegramtest.MessageUpdate(api.NextUpdateID(), group, &bob, "just chatting")); resp.StatusCode != http.StatusOK {
		t.Errorf("a message for no one: status %d, want 200", resp.StatusCode)
	}
	if inbox.Calls() != calls {
		t.Error("a message that asks nothing was claimed")
	}
	if resp := postRaw(t, in.hook, secret, []byte(`{"message":{"text":"/score"}}`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an update without update_id: status %d, want 400", resp.StatusCode)
	}
	if v := in.state.get(JournalKey); v != "" {
		t.Errorf("the journal was written with an Inbox: %s", v)
	}
}

func TestWebhookInboxBusy(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	inbox := newMemInbox()
	in := startInstance(t, srv.URL, hookURL, inbox.as("a"), &fakeTutor{}, 0)
	secret := deriveSecret(testToken)
	id := api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, private, &alice, "/score")
	now := time.Now()
	other := inbox.as("b")
	if c, _ := other.ClaimUpdate(context.Background(), int64(id), now, now.Add(time.Minute)); c != InboxNew {
		t.Fatalf("claim = %d", c)
	}
	resp := postUpdate(t, in.hook, secret, u)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("status %d, Retry-After %q; want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n, sent := len(in.tutor.Commands()), api.SentCount(); n != 0 || sent != 0 {
		t.Errorf("busy update handled: %d commands, %d messages sent", n, sent)
	}
	// The other instance finishes: the update is done, and stays undone here.
	other.FinishUpdate(context.Background(), int64(id), time.Now())
	if resp := postUpdate(t, in.hook, secret, u); resp.StatusCode != http.StatusOK {
		t.Errorf("after the other finished: status %d, want 200", resp.StatusCode)
	}
	if n, sent := len(in.tutor.Commands()), api.SentCount(); n != 0 || sent != 0 {
		t.Errorf("done update handled again: %d commands, %d messages sent", n, sent)
	}
}

// TestWebhookInboxDeadline runs two instances on one inbox: the first
// one's tutor takes longer than the deadline (and does not heed its
// context), so it answers 500 at the deadline and posts nothing; Telegram
// sends the update again, to the second, which handles it once the claim
// ran out, exactly once.
func TestWebhookInboxDeadline(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	inbox := newMemInbox()
	const deadline = 300 * time.Millisecond
	const slowFor = 1500 * time.Millisecond
	slowDone := make(chan struct{})
	slow := &fakeTutor{handle: func(ctx context.Context, cmd chat.Command) []chat.Message {
		defer close(slowDone)
		time.Sleep(slowFor)
		return textMessages("late reply")
	}}
	a := startInstance(t, srv.URL, hookURL, inbox.as("a"), slow, deadline)
	b := startInstance(t, srv.URL, hookURL, inbox.as("b"), &fakeTutor{}, deadline)
	secret := deriveSecret(testToken)
	u := telegramtest.MessageUpdate(api.NextUpdateID(), private, &alice, "/score")

	start := time.Now()
	body, _ := json.Marshal(u)
	answered := make(chan *http.Response, 1)
	go func() {
		// Not postUpdate: t.Fatal is for the test's goroutine.
		req, _ := http.NewRequest(http.MethodPost, a.hook, bytes.NewReader(body))
		req.Header.Set(secretHeader, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			resp = &http.Response{}
		} else {
			resp.Body.Close()
		}
		answered <- resp
	}()
	// While the first holds it, Telegram sending it again to the second
	// (say, after a timeout of its own) finds it busy.
	time.Sleep(deadline / 3)
	if resp := postUpdate(t, b.hook, secret, u); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("the second instance, while the first handles the update: status %d, want 503", resp.StatusCode)
	}
	resp := <-answered
	took := time.Since(start)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("the slow instance answered %d, want 500", resp.StatusCode)
	}
	if took < deadline || took >= slowFor {
		t.Errorf("the slow instance answered after %v; want at its deadline, %v, before its tutor's %v", took, deadline, slowFor)
	}
	refused := redeliver(t, b.hook, secret, u)
	for _, s := range refused {
		if s != http.StatusServiceUnavailable {
			t.Errorf("the second instance answered %d before 200; want only 503 while the claim runs", s)
		}
	}
	<-slowDone
	time.Sleep(100 * time.Millisecond) // the slow handling's late reply, were it sent
	for _, in := range []*instance{a, b} {
		if resp := postUpdate(t, in.hook, secret, u); resp.StatusCode != http.StatusOK {
			t.Errorf("a repeat: status %d, want 200", resp.StatusCode)
		}
	}
	if n := len(b.tutor.Commands()); n != 1 {
		t.Errorf("the second instance's tutor ran %d times, want 1", n)
	}
	if n := len(a.tutor.Commands()); n != 1 {
		t.Errorf("the slow instance's tutor ran %d times, want 1 (cut short)", n)
	}
	sent := api.Sent()
	if len(sent) != 1 || strings.Contains(sent[0].Plain, "late") {
		t.Errorf("messages sent %+v; want only the second instance's reply", sent)
	}
	t.Logf("slow instance answered 500 after %v; the redelivery was refused %d times (503) before the claim ran out", took.Round(time.Millisecond), len(refused))
}

// TestWebhookInboxFailedReplyIsRetried answers 500 when the reply could not
// be posted for a reason that may pass (a 5xx of the Bot API), so that
// Telegram sends the update again; the second try posts it, once.
func TestWebhookInboxFailedReplyIsRetried(t *testing.T) {
	api := telegramtest.NewFakeAPI(testToken)
	srv := api.Server(t)
	var failed atomic.Int32
	api.Fail("sendMessage", func(url.Values) *telegramtest.APIError {
		if failed.Add(1) == 1 {
			return telegramtest.ErrServer()
		}
		return nil
	})
	inbox := newMemInbox()
	in := startInstance(t, srv.URL, hookURL, inbox.as("a"), &fakeTutor{}, 300*time.Millisecond)
	secret := deriveSecret(testToken)
	u := telegramtest.MessageUpdate(api.NextUpdateID(), private, &alice, "/score")
	if resp := postUpdate(t, in.hook, secret, u); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 when the reply failed", resp.StatusCode)
	}
	redeliver(t, in.hook, secret, u)
	if n, sent := len(in.tutor.Commands()), api.SentCount(); n != 2 || sent != 1 {
		t.Errorf("%d tutor runs and %d messages sent; want 2 and 1", n, sent)
	}
}
