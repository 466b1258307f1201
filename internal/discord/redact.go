package discord

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/bwmarrin/discordgo"
)

// Redacted stands in for a token in logs and errors.
const Redacted = "[REDACTED]"

// urlTokens finds the interaction and webhook tokens Discord puts in URL
// paths (/webhooks/<app>/<token>, /interactions/<id>/<token>/callback),
// and tokens in JSON (an identify or resume payload).
var urlTokens = []*regexp.Regexp{
	regexp.MustCompile(`(/(?:webhooks|interactions)/[^/\s"'?]+/)[^/\s"'?]+`),
	regexp.MustCompile(`("token"\s*:\s*")[^"]*`),
}

// redactor removes secrets from text: the bot token, and every
// interaction token by the shapes Discord puts them in.
type redactor struct {
	secrets []string
}

func newRedactor(token string) *redactor {
	r := &redactor{}
	if t := strings.TrimSpace(strings.TrimPrefix(token, "Bot ")); t != "" {
		r.secrets = append(r.secrets, t)
	}
	return r
}

// String returns s with the secrets replaced by Redacted.
func (r *redactor) String(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	for _, re := range urlTokens {
		s = re.ReplaceAllString(s, "${1}"+Redacted)
	}
	return s
}

// Error returns an error that says what err says, redacted, and keeps
// nothing of err: a discordgo.RESTError holds the request with its
// Authorization header.
func (r *redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	if api, ok := err.(*APIError); ok {
		return api
	}
	return redactedError(r.String(err.Error()))
}

// redactedError is an error text with its tokens removed.
type redactedError string

func (e redactedError) Error() string { return string(e) }

// redactHandler is a slog.Handler that redacts the message and every
// attribute before passing the record on, so that no log line carries a
// token, whoever writes it.
type redactHandler struct {
	next slog.Handler
	r    *redactor
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return redactHandler{next: h.next.WithAttrs(red), r: h.r}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{next: h.next.WithGroup(name), r: h.r}
}

func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = h.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.r.String(x.Error()))
		default:
			return slog.String(a.Key, h.r.String(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// discordgo logs through one package-level function, discordgo.Logger,
// for every session in the process. dglog is what it is set to: it sends
// each line, redacted with every running bot's redactor, to the most
// recently started bot's logger. This is the package's only mutable
// package-level state, forced by discordgo's.
var dglog struct {
	once sync.Once
	mu   sync.Mutex
	bots []*Bot
}

// attachLogger routes discordgo's log lines to b until detach is called.
func attachLogger(b *Bot) (detach func()) {
	dglog.once.Do(func() { discordgo.Logger = discordgoLog })
	dglog.mu.Lock()
	dglog.bots = append(dglog.bots, b)
	dglog.mu.Unlock()
	return func() {
		dglog.mu.Lock()
		defer dglog.mu.Unlock()
		for i, x := range dglog.bots {
			if x == b {
				dglog.bots = append(dglog.bots[:i], dglog.bots[i+1:]...)
				break
			}
		}
	}
}

// discordgoLog is discordgo.Logger: it never writes a line unredacted.
func discordgoLog(level, caller int, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	dglog.mu.Lock()
	bots := append([]*Bot(nil), dglog.bots...)
	dglog.mu.Unlock()
	log := slog.Default()
	if len(bots) > 0 {
		log = bots[len(bots)-1].log
	}
	for _, b := range bots {
		msg = b.red.String(msg)
	}
	msg = (&redactor{}).String(msg)
	l := slog.LevelInfo
	switch level {
	case discordgo.LogError:
		l = slog.LevelError
	case discordgo.LogWarning:
		l = slog.LevelWarn
	case discordgo.LogDebug:
		l = slog.LevelDebug
	}
	log.Log(context.Background(), l, "discordgo: "+strings.TrimSpace(msg))
}
