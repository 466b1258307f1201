package telegram

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// secretHeader carries the secret_token given to setWebhook on every
// webhook call.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateSize bounds a webhook request body; an update is a few KB.
const maxUpdateSize = 1 << 20

// serveWebhook listens on Options.WebhookListen, registers the webhook
// with a new random secret and serves updates until ctx is done. The
// webhook stays registered after a stop, so Telegram keeps the updates
// until the next start.
func (b *Bot) serveWebhook(ctx context.Context) error {
	secret := rand.Text()
	ln, err := net.Listen("tcp", b.opts.WebhookListen)
	if err != nil {
		return fmt.Errorf("telegram: webhook: %w", err)
	}
	srv := &http.Server{
		Handler:           b.webhookHandler(ctx, secret),
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
	b.log.Info("receiving updates by webhook", "listen", ln.Addr().String())

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
// right secret is refused before its body is read; an update is queued
// and answered 200 at once, so that Telegram does not send it again.
func (b *Bot) webhookHandler(ctx context.Context, secret string) http.Handler {
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
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateSize))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if !json.Valid(body) {
			http.Error(w, "bad request", http.StatusBadRequest)
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
