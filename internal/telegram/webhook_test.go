package telegram

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

// startWebhook runs a bot in webhook mode on a local port and returns the
// URL its webhook listens on, and the secret it gave setWebhook.
func startWebhook(t *testing.T, h *harness) (string, string) {
	t.Helper()
	h.opts.WebhookURL = "https://bot.example.org/telegram/hook"
	h.opts.WebhookListen = "127.0.0.1:0"
	b := h.start()
	select {
	case <-b.webhookReady:
	case <-time.After(5 * time.Second):
		t.Fatal("the webhook did not start")
	}
	u, secret, sets, _ := h.api.Webhook()
	if u != h.opts.WebhookURL || sets != 1 {
		t.Fatalf("setWebhook: url %q, %d calls; want %q once", u, sets, h.opts.WebhookURL)
	}
	want := h.opts.WebhookSecret
	if want == "" {
		want = deriveSecret(testToken)
	}
	if secret != want {
		t.Fatalf("setWebhook got secret %q, want %q", secret, want)
	}
	return "http://" + b.webhookAddr.String() + "/telegram/hook", secret
}

func post(t *testing.T, url, secret string, update map[string]any) int {
	t.Helper()
	return postUpdate(t, url, secret, update).StatusCode
}

func TestWebhookSecret(t *testing.T) {
	h := newHarness(t)
	url, secret := startWebhook(t, h)
	tests := []struct {
		name   string
		secret string
		want   int
	}{
		{"Missing", "", http.StatusUnauthorized},
		{"Wrong", "not-the-secret", http.StatusUnauthorized},
		{"Prefix", secret[:len(secret)-1], http.StatusUnauthorized},
		{"Longer", secret + "x", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := h.api.NextUpdateID()
			if got := post(t, url, tt.secret, telegramtest.MessageUpdate(id, private, &alice, "/score")); got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
	// The right secret is processed; by then the refused ones would have
	// been too, had they been accepted.
	id := h.api.NextUpdateID()
	if got := post(t, url, secret, telegramtest.MessageUpdate(id, private, &alice, "/settings")); got != http.StatusOK {
		t.Fatalf("status = %d, want 200", got)
	}
	eventually(t, "the reply", func() bool { return len(h.api.Sent()) == 1 })
	time.Sleep(50 * time.Millisecond)
	cmds := h.tutor.Commands()
	if len(cmds) != 1 || cmds[0].Name != "settings" {
		t.Errorf("the tutor got %+v, want only /settings", cmds)
	}
	if offsets := h.api.Offsets(); len(offsets) != 0 {
		t.Errorf("getUpdates called %d times in webhook mode", len(offsets))
	}
}

func TestWebhookRepeatedUpdateOnce(t *testing.T) {
	h := newHarness(t)
	url, secret := startWebhook(t, h)
	id := h.api.NextUpdateID()
	u := telegramtest.MessageUpdate(id, group, &bob, "/score")
	for range 3 {
		if got := post(t, url, secret, u); got != http.StatusOK {
			t.Fatalf("status = %d, want 200 (a repeat is acknowledged, not refused)", got)
		}
	}
	cb := h.api.NextUpdateID()
	press := telegramtest.CallbackUpdate(cb, "cb-w", group, bob, 4, "a:x:00000000:1")
	post(t, url, secret, press)
	post(t, url, secret, press)
	eventually(t, "the offset stored", func() bool { return h.state.get(OffsetKey) == strconvI(cb) })
	time.Sleep(50 * time.Millisecond)
	if n := len(h.tutor.Commands()); n != 1 {
		t.Errorf("the tutor got %d commands, want 1", n)
	}
	if n := len(h.tutor.Presses()); n != 1 {
		t.Errorf("the tutor got %d presses, want 1", n)
	}
	if n := len(h.api.Answers()); n != 1 {
		t.Errorf("%d callback answers, want 1", n)
	}
}

func TestWebhookBadRequests(t *testing.T) {
	h := newHarness(t)
	url, secret := startWebhook(t, h)
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set(secretHeader, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, url, strings.NewReader("{not json"))
	req.Header.Set(secretHeader, secret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad JSON: status %d, want 400", resp.StatusCode)
	}
}

// TestWebhookThenPolling removes the webhook when the bot goes back to
// long polling, which getUpdates needs.
func TestWebhookThenPolling(t *testing.T) {
	h := newHarness(t)
	startWebhook(t, h)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if u, _, _, _ := h.api.Webhook(); u == "" {
		t.Fatal("the webhook was removed at stop; Telegram should keep the updates for the next start")
	}
	h.opts.WebhookURL, h.opts.WebhookListen = "", ""
	h.start()
	h.api.SendText(private, &alice, "/score")
	eventually(t, "the reply by polling", func() bool { return len(h.api.Sent()) == 1 })
	if _, _, _, deletes := h.api.Webhook(); deletes == 0 {
		t.Error("deleteWebhook never called")
	}
	if logs := h.logs.String(); strings.Contains(logs, "webhook is set") {
		t.Errorf("getUpdates ran into the webhook:\n%s", logs)
	}
}
