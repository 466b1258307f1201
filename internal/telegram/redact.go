package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// redacted is what a token is replaced with in errors and logs.
const redacted = "REDACTED"

// redactor removes a bot token from text. The Bot API puts the token in
// the URL path, so every error of net/http names it.
type redactor struct {
	r *strings.Replacer
}

// newRedactor returns a redactor of token and of the other secrets given
// (the webhook's).
func newRedactor(token string, secrets ...string) redactor {
	var pairs []string
	for _, s := range append([]string{token}, secrets...) {
		if s == "" {
			continue // an empty old string would match everywhere
		}
		pairs = append(pairs, s, redacted)
		for _, escaped := range []string{url.PathEscape(s), url.QueryEscape(s)} {
			if escaped != s {
				pairs = append(pairs, escaped, redacted)
			}
		}
	}
	return redactor{strings.NewReplacer(pairs...)}
}

func (r redactor) string(s string) string { return r.r.Replace(s) }

// error returns err with the token removed from its message and from the
// errors it wraps that may hold it (the URL of a *url.Error, the
// description of a *tgbotapi.Error), so that neither printing it nor
// unwrapping it shows the token. errors.As still finds those types.
func (r redactor) error(err error) error {
	if err == nil {
		return nil
	}
	var clean error
	switch e := err.(type) {
	case *url.Error:
		c := *e
		c.URL = r.string(c.URL)
		clean = &c
	case *tgbotapi.Error:
		c := *e
		c.Message = r.string(c.Message)
		clean = &c
	default:
		clean = err
	}
	return &redactedError{msg: r.string(err.Error()), err: clean}
}

// redactedError is an error whose message has had the token removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactHandler is a slog.Handler that removes the token from every
// message and attribute before passing the record on: a last line of
// defence should an error that was not redacted reach a log.
type redactHandler struct {
	inner slog.Handler
	r     redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.string(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &redactHandler{inner: h.inner.WithAttrs(clean), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{inner: h.inner.WithGroup(name), r: h.r}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.string(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(h.r.string(a.Key), clean...)
	case slog.KindAny:
		var s string
		if err, ok := v.Any().(error); ok {
			s = err.Error()
		} else {
			s = fmt.Sprint(v.Any())
		}
		if clean := h.r.string(s); clean != s {
			return slog.String(a.Key, clean)
		}
		if err, ok := v.Any().(error); ok && errors.Unwrap(err) != nil {
			// Keep the message, drop the chain a handler might print.
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
