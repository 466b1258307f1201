package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// maxPartRetries is how many times a later part of a split message waits
// out a 429 and tries again, rather than failing a message whose first
// parts were posted.
const maxPartRetries = 3

// Send posts a message to a chat for the delivery workers and returns the
// id of its last part, the one that carries the buttons. The message is
// rendered as HTML and, when too long, split at paragraph boundaries. Its
// errors are *chat.SendError values sorted by kind:
//
//   - 429: RateLimited, with Telegram's retry_after;
//   - 403, and 400 "chat not found" and the like: ChatGone;
//   - 400 with migrate_to_chat_id: ChatMoved to the supergroup;
//   - any other 400, such as "can't parse entities": Rejected;
//   - 5xx, a refused connection, a timeout before the request was
//     written: Transient;
//   - a timeout or a broken connection after the request was written:
//     Ambiguous, since the message may have been posted.
//
// When a later part of a split message fails after the first ones were
// posted, the error is Ambiguous (unless the chat is gone), so that the
// message is not posted again in part.
func (b *Bot) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	parts := Split(m)
	if len(parts) == 0 {
		return "", &chat.SendError{Kind: chat.Rejected, Err: errEmpty}
	}
	var id string
	for i, text := range parts {
		var buttons []chat.Button
		if i == len(parts)-1 {
			buttons = m.Buttons
		}
		for attempt := 0; ; attempt++ {
			var err error
			id, err = b.sendText(ctx, to, text, buttons, b.opts.PaidBroadcast)
			if err == nil {
				break
			}
			se := classify(err)
			if i == 0 {
				return "", se
			}
			switch se.Kind {
			case chat.RateLimited:
				if attempt < maxPartRetries && sleep(ctx, se.RetryAfter) {
					continue
				}
			case chat.ChatGone, chat.Ambiguous:
				return "", se
			}
			return "", &chat.SendError{Kind: chat.Ambiguous, Err: fmt.Errorf("part %d of %d, after the first ones were posted: %w", i+1, len(parts), se)}
		}
	}
	return id, nil
}

// replyPatience is how long a reply may keep waiting out 429s, in all,
// before it is given up as failed: a person is waiting for it, and
// Telegram's retry_after is rarely more than a few seconds.
const replyPatience = 60 * time.Second

// replyAll sends the tutor's replies to a chat, in order, each taking its
// turn from the platform's budget (Options.Pacer) before the scheduled
// lessons. A 429 pauses the whole budget for its retry_after and the part
// is sent again, for up to replyPatience in all; a chat found gone or
// moved is handed to the tutor, as the delivery workers do for scheduled
// lessons.
func (b *Bot) replyAll(ctx context.Context, to chat.Address, kind chat.Kind, msgs []chat.Message) {
	moved := false
	for _, m := range msgs {
		parts := Split(m)
		for i := 0; i < len(parts); i++ {
			var buttons []chat.Button
			if i == len(parts)-1 {
				buttons = m.Buttons
			}
			first := time.Now()
			for {
				if b.opts.Pacer != nil {
					if err := b.opts.Pacer.Reply(ctx, to, kind); err != nil {
						return
					}
				}
				_, err := b.sendText(ctx, to, parts[i], buttons, false)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				se := classify(err)
				switch se.Kind {
				case chat.RateLimited:
					if b.opts.Pacer != nil {
						b.opts.Pacer.Pause(se.RetryAfter)
					}
					if time.Since(first)+se.RetryAfter <= replyPatience {
						if b.opts.Pacer == nil && !sleep(ctx, se.RetryAfter) {
							return
						}
						continue
					}
				case chat.ChatGone:
					b.log.Info("a reply found the chat gone", "chat_id", to.Key(), "err", se)
					b.tutor.ChatGone(ctx, to)
					return
				case chat.ChatMoved:
					if !moved {
						moved = true
						b.tutor.ChatMoved(ctx, to, se.MovedTo)
						to.ChatID = se.MovedTo
						continue
					}
				}
				b.log.Warn("sending a reply failed", "chat_id", to.Key(), "err", se, "waited", time.Since(first).Round(time.Second))
				return
			}
		}
	}
}

// sendText posts one message text in HTML parse mode, with one inline
// button per row, and returns Telegram's message id. paid sets
// allow_paid_broadcast.
func (b *Bot) sendText(ctx context.Context, to chat.Address, text string, buttons []chat.Button, paid bool) (string, error) {
	params := tgbotapi.Params{
		"chat_id":    to.ChatID,
		"text":       text,
		"parse_mode": tgbotapi.ModeHTML,
		// A lesson ends with its source link: no preview card under it.
		"disable_web_page_preview": "true",
	}
	params.AddNonEmpty("message_thread_id", to.ThreadID)
	params.AddBool("allow_paid_broadcast", paid)
	if len(buttons) > 0 {
		rows := make([][]tgbotapi.InlineKeyboardButton, len(buttons))
		for i, btn := range buttons {
			rows[i] = tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(btn.Label, btn.Data))
		}
		if err := params.AddInterface("reply_markup", tgbotapi.NewInlineKeyboardMarkup(rows...)); err != nil {
			return "", &chat.SendError{Kind: chat.Rejected, Err: err}
		}
	}
	raw, err := b.makeRequest(ctx, callTimeout, "sendMessage", params)
	if err != nil {
		return "", err
	}
	var sent struct {
		MessageID int `json:"message_id"`
	}
	if err := json.Unmarshal(raw, &sent); err != nil {
		// Posted, as far as Telegram said ok; the id is only for the record.
		b.log.Warn("sendMessage answered an unexpected result", "chat", to.Key(), "err", err)
	}
	return strconv.Itoa(sent.MessageID), nil
}
