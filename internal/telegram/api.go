package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Timeouts of the calls to the Bot API. A long poll waits pollTimeout on
// the server, so its call gets that much more.
const (
	pollTimeout = 50 * time.Second
	pollSlack   = 15 * time.Second
	callTimeout = 30 * time.Second
	// answerTimeout bounds answerCallbackQuery: an answer later than a few
	// seconds is useless, since the client stops waiting.
	answerTimeout = 5 * time.Second
)

// defaultClient is the HTTP client used when Options.HTTPClient is nil:
// tgbotapi's default has no timeout at all. Each call also gets its own
// deadline (see Bot.do), so this timeout is a backstop above the longest
// call, a long poll.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = pollTimeout + pollSlack
	tr.IdleConnTimeout = 90 * time.Second
	// Sends to many chats and callback answers run concurrently: keep their
	// connections rather than dial again for each (the default keeps 2).
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tr, Timeout: pollTimeout + 2*pollSlack}
}

// tracedClient is the tgbotapi.HTTPClient of one call: it gives the request
// the call's context (tgbotapi makes requests without one) and notes how
// far the request got, to tell a send that surely failed from one that
// may have reached Telegram.
type tracedClient struct {
	ctx  context.Context
	base tgbotapi.HTTPClient

	gotConn atomic.Bool
	wrote   atomic.Bool
	status  atomic.Int32
}

func (c *tracedClient) Do(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { c.gotConn.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				c.wrote.Store(true)
			}
		},
	}
	resp, err := c.base.Do(req.WithContext(httptrace.WithClientTrace(c.ctx, trace)))
	if resp != nil {
		c.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// callError is the error of one Bot API call, with the token redacted and
// what is known of how far the request got.
type callError struct {
	method string
	err    error // redacted
	// gotConn and wrote tell that a connection was obtained and that the
	// whole request was written on it (from net/http's trace; both are
	// false with a transport that does not report them).
	gotConn, wrote bool
	// status is the HTTP status of the answer, 0 without one.
	status int
}

func (e *callError) Error() string { return "telegram: " + e.method + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// do runs one Bot API call through the tgbotapi client with ctx and a
// deadline of timeout. tgbotapi builds its requests without a context, so
// each call runs on a shallow copy of the client whose HTTPClient carries
// the call's context.
func (b *Bot) do(ctx context.Context, method string, timeout time.Duration, run func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error)) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tc := &tracedClient{ctx: ctx, base: b.client}
	api := *b.api
	api.Client = tc
	resp, err := run(&api)
	if err != nil {
		return nil, &callError{method: method, err: b.redact.error(err),
			gotConn: tc.gotConn.Load(), wrote: tc.wrote.Load(), status: int(tc.status.Load())}
	}
	return resp.Result, nil
}

// request makes a call with the library's config for it.
func (b *Bot) request(ctx context.Context, timeout time.Duration, c tgbotapi.Chattable, method string) (json.RawMessage, error) {
	return b.do(ctx, method, timeout, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) { return api.Request(c) })
}

// makeRequest makes a call with hand-made parameters, for what tgbotapi
// v5.5.1 has no field for (message_thread_id, secret_token).
func (b *Bot) makeRequest(ctx context.Context, timeout time.Duration, method string, params tgbotapi.Params) (json.RawMessage, error) {
	return b.do(ctx, method, timeout, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) { return api.MakeRequest(method, params) })
}

// upload makes a call that sends files as multipart/form-data, with
// hand-made parameters as makeRequest. tgbotapi's UploadFiles leaves the
// error code out of the errors it returns; it is put back from the
// answer, so that classify sorts an upload's errors as any other call's.
func (b *Bot) upload(ctx context.Context, timeout time.Duration, method string, params tgbotapi.Params, files []tgbotapi.RequestFile) (json.RawMessage, error) {
	return b.do(ctx, method, timeout, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		resp, err := api.UploadFiles(method, params, files)
		var tg *tgbotapi.Error
		if errors.As(err, &tg) && tg.Code == 0 && resp != nil {
			tg.Code = resp.ErrorCode
		}
		return resp, err
	})
}

// goneDescriptions are the words of Telegram's 400 and 403 descriptions
// that mean the bot can no longer post in a chat. Telegram gives no other
// code for them.
var goneDescriptions = []string{
	"chat not found",
	"bot was kicked",
	"bot was blocked",
	"user is deactivated",
	"bot is not a member",
	"group chat was deleted",
}

// classify sorts the error of a call into the kinds the delivery workers
// act on. err is a *callError; any other error is transient.
func classify(err error) *chat.SendError {
	if se, ok := err.(*chat.SendError); ok {
		return se
	}
	se := &chat.SendError{Kind: chat.Transient, Err: err}
	var tg *tgbotapi.Error
	if errors.As(err, &tg) {
		desc := strings.ToLower(tg.Message)
		switch {
		case tg.Code == http.StatusTooManyRequests || tg.RetryAfter > 0:
			se.Kind = chat.RateLimited
			se.RetryAfter = time.Duration(max(tg.RetryAfter, 1)) * time.Second
		case tg.MigrateToChatID != 0:
			se.Kind = chat.ChatMoved
			se.MovedTo = strconv.FormatInt(tg.MigrateToChatID, 10)
		case tg.Code == http.StatusForbidden:
			se.Kind = chat.ChatGone
		case containsAny(desc, goneDescriptions):
			se.Kind = chat.ChatGone
		case tg.Code == http.StatusBadRequest:
			// "can't parse entities", a message too long, bad button
			// data: the same message would fail the same way.
			se.Kind = chat.Rejected
		}
		// 401, 404, 409 and 5xx are transient: the token or the server
		// may come back.
		return se
	}
	var ce *callError
	if !errors.As(err, &ce) {
		return se
	}
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case ce.status != 0 && ce.status != http.StatusOK:
		// An answer that is not the Bot API's JSON, such as a proxy's 502:
		// the request did not get through.
	case ce.wrote:
		// Sent in full, then no usable answer (a timeout awaiting the
		// headers, a reset connection, a garbled 200): Telegram may have
		// posted the message.
		se.Kind = chat.Ambiguous
	case ce.gotConn:
		// A connection, but the request was not written in full.
	case errors.As(err, &op) && op.Op == "dial", errors.As(err, &dns):
		// Never sent.
	case isTimeout(err):
		// A transport that does not report its progress timed out: the
		// request may have been sent.
		se.Kind = chat.Ambiguous
	}
	return se
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// apiErrorCode returns the Bot API's error code of err, or 0.
func apiErrorCode(err error) int {
	var tg *tgbotapi.Error
	if errors.As(err, &tg) {
		return tg.Code
	}
	return 0
}

// endpoint makes tgbotapi's endpoint format, "<api_url>/bot%s/%s", from
// a base URL that may itself hold a '%'.
func endpoint(apiURL string) string {
	return strings.ReplaceAll(strings.TrimRight(apiURL, "/"), "%", "%%") + "/bot%s/%s"
}

// sleep waits d or until ctx is done, and tells which.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

var errEmpty = errors.New("telegram: empty message")
