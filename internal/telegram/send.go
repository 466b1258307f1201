package telegram

import (
	"context"
	"encoding/json"
	"errors"
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
// rendered as HTML and, when too long, split at paragraph boundaries. A
// message with a File is posted as a document whose caption is the text;
// a text too long for a caption is posted first, as messages of its own,
// and the document after it, without a caption. Its errors are
// *chat.SendError values sorted by kind:
//
//   - 429: RateLimited, with Telegram's retry_after;
//   - 403, and 400 "chat not found" and the like: ChatGone;
//   - 400 with migrate_to_chat_id: ChatMoved to the supergroup;
//   - any other 400, such as "can't parse entities": Rejected;
//   - a message that cannot be posted as it is (an empty or oversized
//     file, a bad Start payload): Rejected, before anything is sent;
//   - 5xx, a refused connection, a timeout before the request was
//     written: Transient;
//   - a timeout or a broken connection after the request was written:
//     Ambiguous, since the message may have been posted.
//
// When a later part of a split message fails after the first ones were
// posted, the error is Ambiguous (unless the chat is gone), so that the
// message is not posted again in part.
func (b *Bot) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	parts, err := b.parts(m)
	if err != nil {
		return "", err
	}
	if len(parts) == 0 {
		return "", &chat.SendError{Kind: chat.Rejected, Err: errEmpty}
	}
	var id string
	for i, p := range parts {
		for attempt := 0; ; attempt++ {
			var err error
			id, err = b.sendPart(ctx, to, p, b.opts.PaidBroadcast)
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

// replyAll sends the tutor's replies to a chat, in order, each Bot API
// message (a part of a split text, a document) taking its turn from the
// platform's budget (Options.Pacer) before the scheduled lessons. A 429
// pauses the whole budget for its retry_after and the part is sent again,
// for up to replyPatience in all; a chat found gone or moved is handed to
// the tutor, as the delivery workers do for scheduled lessons.
//
// It returns an error when the replies were cut short by ctx, or when
// none of them was posted and the failure is one that the same replies
// sent again could get past (a server error, a refused connection, a
// 429 beyond replyPatience): the update may then be handled again
// without posting anything twice. Any other failure is only logged.
func (b *Bot) replyAll(ctx context.Context, to chat.Address, kind chat.Kind, msgs []chat.Message) error {
	moved := false
	posted := false
	for _, m := range msgs {
		parts, err := b.parts(m)
		if err != nil {
			b.log.Warn("sending a reply failed", "platform", to.Platform, "chat_id", to.ChatID, "err", err)
			return nil
		}
		for i := 0; i < len(parts); i++ {
			first := time.Now()
			for {
				if b.opts.Pacer != nil {
					if err := b.opts.Pacer.Reply(ctx, to, kind); err != nil {
						return fmt.Errorf("telegram: reply to %s: %w", to.ChatID, err)
					}
				}
				_, err := b.sendPart(ctx, to, parts[i], false)
				if err == nil {
					posted = true
					break
				}
				if ctx.Err() != nil {
					return fmt.Errorf("telegram: reply to %s: %w", to.ChatID, ctx.Err())
				}
				se := classify(err)
				switch se.Kind {
				case chat.RateLimited:
					if b.opts.Pacer != nil {
						b.opts.Pacer.Pause(se.RetryAfter)
					}
					if time.Since(first)+se.RetryAfter <= replyPatience {
						if b.opts.Pacer == nil && !sleep(ctx, se.RetryAfter) {
							return fmt.Errorf("telegram: reply to %s: %w", to.ChatID, ctx.Err())
						}
						continue
					}
				case chat.ChatGone:
					b.log.Info("a reply found the chat gone", "platform", to.Platform, "chat_id", to.ChatID, "err", se)
					b.tutor.ChatGone(ctx, to)
					return nil
				case chat.ChatMoved:
					if !moved {
						moved = true
						b.tutor.ChatMoved(ctx, to, se.MovedTo)
						to.ChatID = se.MovedTo
						continue
					}
				}
				b.log.Warn("sending a reply failed", "platform", to.Platform, "chat_id", to.ChatID, "err", se, "waited", time.Since(first).Round(time.Second))
				if !posted && (se.Kind == chat.Transient || se.Kind == chat.RateLimited) {
					return fmt.Errorf("telegram: reply to %s: %w", to.ChatID, se)
				}
				return nil
			}
		}
	}
	return nil
}

// part is one Bot API message of a chat.Message: a part of its text, or
// its file as a document whose caption is the text (or nothing).
type part struct {
	// html is the text, or the document's caption, in HTML parse mode.
	html string
	// file, when set, makes the part a document.
	file *chat.File
	// markup is the inline keyboard, on the last part only.
	markup *tgbotapi.InlineKeyboardMarkup
}

// defaultFileName names a file sent without a name: a multipart part
// without a file name is not a file.
const defaultFileName = "document"

// parts lays out a message as the Bot API messages that post it, in
// order, the buttons under the last. A message with a file ends with the
// document: the text is its caption when it fits one, and otherwise goes
// before it as messages of its own. An empty message has no parts. A
// message that cannot be posted as it is gives a Rejected error, so that
// nothing of it is sent.
func (b *Bot) parts(m chat.Message) ([]part, error) {
	markup, err := b.keyboard(m.Buttons)
	if err != nil {
		return nil, &chat.SendError{Kind: chat.Rejected, Err: fmt.Errorf("telegram: %w", err)}
	}
	var out []part
	if f := m.File; f != nil {
		switch {
		case len(f.Data) == 0:
			return nil, &chat.SendError{Kind: chat.Rejected, Err: fmt.Errorf("telegram: the file %q is empty", f.Name)}
		case len(f.Data) > chat.MaxFileSize:
			return nil, &chat.SendError{Kind: chat.Rejected, Err: fmt.Errorf("telegram: the file %q is %d bytes (at most %d)", f.Name, len(f.Data), chat.MaxFileSize)}
		}
		doc := part{file: f, markup: markup}
		if html := RenderHTML(m); TextLength(html) <= MaxCaptionLength {
			doc.html = html
		} else {
			for _, text := range Split(m) {
				out = append(out, part{html: text})
			}
		}
		return append(out, doc), nil
	}
	for _, text := range Split(m) {
		out = append(out, part{html: text})
	}
	if len(out) > 0 {
		out[len(out)-1].markup = markup
	}
	return out, nil
}

// sendPart sends one part and returns Telegram's message id. paid sets
// allow_paid_broadcast.
func (b *Bot) sendPart(ctx context.Context, to chat.Address, p part, paid bool) (string, error) {
	if p.file != nil {
		return b.sendDocument(ctx, to, p, paid)
	}
	return b.sendText(ctx, to, p, paid)
}

// sendText posts one message text in HTML parse mode, with its inline
// keyboard, and returns Telegram's message id.
func (b *Bot) sendText(ctx context.Context, to chat.Address, p part, paid bool) (string, error) {
	params := tgbotapi.Params{
		"chat_id":    to.ChatID,
		"text":       p.html,
		"parse_mode": tgbotapi.ModeHTML,
		// A lesson ends with its source link: no preview card under it.
		"disable_web_page_preview": "true",
	}
	params.AddNonEmpty("message_thread_id", to.ThreadID)
	params.AddBool("allow_paid_broadcast", paid)
	if err := params.AddInterface("reply_markup", p.markup); err != nil {
		return "", &chat.SendError{Kind: chat.Rejected, Err: err}
	}
	raw, err := b.makeRequest(ctx, callTimeout, "sendMessage", params)
	if err != nil {
		return "", err
	}
	return b.messageID(raw, "sendMessage", to), nil
}

// sendDocument uploads a part's file as a document (multipart/form-data),
// with the part's text as its HTML caption when there is one, and returns
// Telegram's message id. The file's MIME type is not sent: tgbotapi labels
// every upload application/octet-stream, and Telegram goes by the name.
func (b *Bot) sendDocument(ctx context.Context, to chat.Address, p part, paid bool) (string, error) {
	params := tgbotapi.Params{
		"chat_id":    to.ChatID,
		"parse_mode": tgbotapi.ModeHTML,
	}
	params.AddNonEmpty("caption", p.html)
	params.AddNonEmpty("message_thread_id", to.ThreadID)
	params.AddBool("allow_paid_broadcast", paid)
	if err := params.AddInterface("reply_markup", p.markup); err != nil {
		return "", &chat.SendError{Kind: chat.Rejected, Err: err}
	}
	name := p.file.Name
	if name == "" {
		name = defaultFileName
	}
	files := []tgbotapi.RequestFile{{Name: "document", Data: tgbotapi.FileBytes{Name: name, Bytes: p.file.Data}}}
	raw, err := b.upload(ctx, callTimeout, "sendDocument", params, files)
	if err != nil {
		return "", err
	}
	return b.messageID(raw, "sendDocument", to), nil
}

// messageID reads the id of the Message a send answered.
func (b *Bot) messageID(raw json.RawMessage, method string, to chat.Address) string {
	var sent struct {
		MessageID int `json:"message_id"`
	}
	if err := json.Unmarshal(raw, &sent); err != nil {
		// Posted, as far as Telegram said ok; the id is only for the record.
		b.log.Warn(method+" answered an unexpected result", "platform", to.Platform, "chat_id", to.ChatID, "err", err)
	}
	return strconv.Itoa(sent.MessageID)
}

// keyboard lays out buttons as an inline keyboard, one per row: a
// callback button for Data, a link for URL, and for Start a link that
// opens the bot's private chat with "/start PAYLOAD". It returns nil for
// no buttons, and an error for a button Telegram could not carry as
// meant.
func (b *Bot) keyboard(buttons []chat.Button) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(buttons) == 0 {
		return nil, nil
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, len(buttons))
	for i, btn := range buttons {
		var kb tgbotapi.InlineKeyboardButton
		switch {
		case countSet(btn.Data, btn.URL, btn.Start) > 1:
			return nil, fmt.Errorf("button %q has more than one of data, url and start", btn.Label)
		case btn.URL != "":
			kb = tgbotapi.NewInlineKeyboardButtonURL(btn.Label, btn.URL)
		case btn.Start != "":
			if !validStartPayload(btn.Start) {
				return nil, fmt.Errorf("button %q: the start payload %q is not 1 to 64 characters of A-Z, a-z, 0-9, _ and -", btn.Label, btn.Start)
			}
			if b.self.UserName == "" {
				return nil, errNoUsername
			}
			kb = tgbotapi.NewInlineKeyboardButtonURL(btn.Label, startLink(b.self.UserName, btn.Start))
		default:
			// Telegram checks the data's 1 to 64 bytes, as it always has.
			kb = tgbotapi.NewInlineKeyboardButtonData(btn.Label, btn.Data)
		}
		rows[i] = tgbotapi.NewInlineKeyboardRow(kb)
	}
	markup := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &markup, nil
}

var errNoUsername = errors.New("a start button needs the bot's username, and getMe gave none")

// startLink is the deep link that opens a bot's private chat and sends
// "/start payload" when the person presses Start: Telegram's way to take
// someone from a group to a private chat with the bot.
func startLink(username, payload string) string {
	return "https://t.me/" + username + "?start=" + payload
}

// validStartPayload tells whether Telegram carries s as a deep link's
// start parameter: 1 to 64 characters of A-Z, a-z, 0-9, _ and -.
func validStartPayload(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// countSet counts the non-empty strings.
func countSet(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}
