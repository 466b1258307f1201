package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// secretHeader carries the secret_token given to setWebhook on every
// webhook call.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateSize bounds a webhook request body; an update is a few KB.
const maxUpdateSize = 1 << 20

// serveWebhook listens on Options.WebhookListen, registers the webhook
// with Options.WebhookSecret (every instance of the bot registers the
// same URL and secret) and serves updates until ctx is done. The webhook
// stays registered after a stop, so Telegram keeps the updates until the
// next start.
func (b *Bot) serveWebhook(ctx context.Context) error {
	secret := b.opts.WebhookSecret
	ln, err := net.Listen("tcp", b.opts.WebhookListen)
	if err != nil {
		return fmt.Errorf("telegram: webhook: %w", err)
	}
	var inflight gate
	defer inflight.close()
	srv := &http.Server{
		Handler:           b.webhookHandler(ctx, secret, &inflight),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			srv.Close()
		}
		<-served
	}

	params := tgbotapi.Params{"url": b.opts.WebhookURL, "secret_token": secret}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		stop()
		return err
	}
	if _, err := b.makeRequest(ctx, callTimeout, "setWebhook", params); err != nil {
		stop()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("telegram: setting the webhook: %w", err)
	}
	b.webhookAddr = ln.Addr()
	close(b.webhookReady)
	b.log.Info("receiving updates by webhook", "listen", ln.Addr().String(), "inbox", b.inbox())

	select {
	case <-ctx.Done():
	case err = <-served:
		served <- err
	}
	stop()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("telegram: webhook: %w", err)
	}
	return nil
}

// webhookHandler serves Telegram's webhook calls: a call without the
// right secret is refused before its body is read. Without an Inbox, an
// update is saved in the journal, queued, and answered 200 at once, so
// that Telegram does not send it again; with one, it is handled before
// the answer (see serveClaimed). Calls still running when the server
// stops are waited for through inflight.
func (b *Bot) webhookHandler(ctx context.Context, secret string, inflight *gate) http.Handler {
	want := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(secretHeader)), want) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !inflight.enter() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		defer inflight.leave()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateSize))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if !json.Valid(body) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if b.inbox() {
			b.serveClaimed(ctx, w, body, inflight)
			return
		}
		// Saved before the 200 tells Telegram it arrived; then handled
		// with the bot's context, not the request's, which ends with
		// this answer.
		b.record(ctx, []json.RawMessage{body})
		b.accept(ctx, body)
		w.WriteHeader(http.StatusOK)
	})
}

// gate counts the webhook calls under way, and the handlings they
// started, so that the bot's stop waits for them: the http.Server stops
// waiting for its handlers after its shutdown timeout, and they may start
// goroutines on the Bot's WaitGroup, which must not happen once Run waits
// for it.
type gate struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// enter counts one more call; false means the gate is closed and the
// call is to be refused.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *gate) leave() { g.wg.Done() }

// close refuses new calls and waits for those under way.
func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
