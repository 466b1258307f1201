package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// APIError is an error answer of Discord's REST API. Unlike discordgo's
// RESTError it keeps nothing of the request, whose Authorization header
// holds the bot token.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Discord's JSON error code (10003 Unknown Channel, ...), or 0.
	Code int
	// Message is Discord's message, redacted.
	Message string
}

// Error describes the answer with its status and code.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != 0 {
		return fmt.Sprintf("discord: HTTP %d: %s (code %d)", e.Status, msg, e.Code)
	}
	return fmt.Sprintf("discord: HTTP %d: %s", e.Status, msg)
}

// chatGone tells the JSON error codes that mean the bot can no longer post
// to a channel: Unknown Channel, Unknown Guild, Missing Access, Cannot send
// messages to this user (a DM closed to the bot), Missing Permissions.
func chatGone(code int) bool {
	switch code {
	case discordgo.ErrCodeUnknownChannel, discordgo.ErrCodeUnknownGuild, discordgo.ErrCodeMissingAccess,
		discordgo.ErrCodeCannotSendMessagesToThisUser, discordgo.ErrCodeMissingPermissions:
		return true
	}
	return false
}

// Send posts a message to a channel (a server's channel or a DM) for the
// delivery worker, and returns the id of the (first) Discord message; the
// message's file, if any, is attached to the last Discord message. Its
// errors are *chat.SendError values: a 429 is RateLimited with Discord's
// retry_after; the codes of chatGone are ChatGone; other 4xx are Rejected;
// 5xx and failures before the request was written are Transient; a
// request written in full and never answered (a timeout, a dropped
// connection) is Ambiguous.
func (b *Bot) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	if to.ChatID == "" {
		return "", &chat.SendError{Kind: chat.Rejected, Err: errors.New("discord: no channel id")}
	}
	pieces, err := b.render(m, false)
	if err != nil {
		return "", &chat.SendError{Kind: chat.Rejected, Err: err}
	}
	var first string
	for i, p := range pieces {
		id, se := b.post(ctx, to.ChatID, p)
		if se != nil {
			if i > 0 && (se.Kind == chat.Transient || se.Kind == chat.RateLimited) {
				// Part of the message is in the channel: sending it
				// again would repeat that part.
				se = &chat.SendError{Kind: chat.Ambiguous, Err: fmt.Errorf("discord: part %d of %d: %w", i+1, len(pieces), se.Err)}
			}
			return "", se
		}
		if i == 0 {
			first = id
		}
	}
	return first, nil
}

// post sends one message to a channel. discordgo neither waits out a 429
// nor retries a 502 here: the delivery worker decides.
func (b *Bot) post(ctx context.Context, channelID string, p outgoing) (string, *chat.SendError) {
	send := &discordgo.MessageSend{
		Content:         p.Content,
		Embeds:          []*discordgo.MessageEmbed{},
		Components:      p.Components,
		AllowedMentions: noMentions(),
		Files:           p.files(),
	}
	if p.Embed != nil {
		send.Embeds = append(send.Embeds, p.Embed)
	}
	if send.Components == nil {
		send.Components = []discordgo.MessageComponent{}
	}
	rctx, info := withInfo(ctx)
	msg, err := b.s.ChannelMessageSendComplex(channelID, send,
		discordgo.WithContext(rctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err != nil {
		return "", b.sendError(err, info)
	}
	if msg == nil {
		return "", nil
	}
	return msg.ID, nil
}

// sendError sorts a failed request into the chat error kinds, with an
// error that holds no token.
func (b *Bot) sendError(err error, info *requestInfo) *chat.SendError {
	wrote, received, status, header := info.snapshot()
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		var after time.Duration
		if rl.RateLimit != nil && rl.TooManyRequests != nil {
			after = rl.RetryAfter
		}
		return &chat.SendError{Kind: chat.RateLimited, RetryAfter: retryAfter(after, header),
			Err: &APIError{Status: http.StatusTooManyRequests, Message: "rate limited"}}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		api := &APIError{Status: re.Response.StatusCode}
		if re.Message != nil {
			api.Code, api.Message = re.Message.Code, b.red.String(re.Message.Message)
		}
		se := &chat.SendError{Kind: statusKind(api.Status, api.Code), Err: api}
		if se.Kind == chat.RateLimited {
			se.RetryAfter = retryAfter(0, re.Response.Header)
		}
		return se
	}
	red := b.red.Error(err)
	switch {
	case received && status == http.StatusTooManyRequests:
		return &chat.SendError{Kind: chat.RateLimited, RetryAfter: retryAfter(0, header), Err: red}
	case received && status >= 200 && status < 300:
		// Discord took the message but its answer could not be read.
		return &chat.SendError{Kind: chat.Ambiguous, Err: red}
	case received:
		return &chat.SendError{Kind: statusKind(status, 0), Err: red}
	case wrote:
		return &chat.SendError{Kind: chat.Ambiguous, Err: red}
	}
	return &chat.SendError{Kind: chat.Transient, Err: red}
}

// statusKind sorts an error answer by its status and JSON code.
func statusKind(status, code int) chat.ErrorKind {
	switch {
	case chatGone(code):
		return chat.ChatGone
	case status == http.StatusTooManyRequests:
		return chat.RateLimited
	case status >= 500:
		return chat.Transient
	case status >= 400:
		return chat.Rejected
	}
	return chat.Transient
}

// retryAfter is how long a 429 asks to wait: the body's retry_after, else
// the Retry-After header, else a second.
func retryAfter(fromBody time.Duration, header http.Header) time.Duration {
	if fromBody > 0 {
		return fromBody
	}
	if s := header.Get("Retry-After"); s != "" {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
			return time.Duration(f * float64(time.Second))
		}
	}
	return time.Second
}
