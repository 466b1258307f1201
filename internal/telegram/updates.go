package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// pressBudget is how long a press may wait for the tutor before its
// callback is answered anyway (without a notice): Telegram's client shows
// a spinner until the answer, and every press must get one within a
// second.
const pressBudget = 750 * time.Millisecond

// topicInfo holds the forum topic fields of a message, which tgbotapi
// v5.5.1 does not decode.
type topicInfo struct {
	ThreadID int64 `json:"message_thread_id"`
	IsTopic  bool  `json:"is_topic_message"`
}

func (t *topicInfo) thread() string {
	if t == nil || !t.IsTopic || t.ThreadID == 0 {
		return ""
	}
	return strconv.FormatInt(t.ThreadID, 10)
}

// updateTopics is the part of an update that says in which forum topic
// its message is.
type updateTopics struct {
	Message       *topicInfo `json:"message"`
	CallbackQuery *struct {
		Message *topicInfo `json:"message"`
	} `json:"callback_query"`
}

// update is the work one update asks of the bot, decoded: a press, or a
// job in a chat's queue, or nothing.
type update struct {
	id int
	// press and thread, when press is set: a button press, answered at
	// once, and its forum topic.
	press  *tgbotapi.CallbackQuery
	thread string
	// key and job, when job is set: the chat whose updates it is ordered
	// with, and its work.
	key string
	job func(context.Context) error
}

// idle tells that the update asks for nothing, such as a message that is
// not a command.
func (u update) idle() bool { return u.press == nil && u.job == nil }

// decode reads an update from getUpdates or the webhook; false means it
// does not decode, which is logged.
func (b *Bot) decode(raw json.RawMessage) (update, bool) {
	var u tgbotapi.Update
	var topics updateTopics
	if err := json.Unmarshal(raw, &u); err != nil {
		b.log.Warn("dropping an update that does not decode", "err", err)
		return update{}, false
	}
	_ = json.Unmarshal(raw, &topics)
	w := update{id: u.UpdateID}
	switch {
	case u.CallbackQuery != nil:
		w.press = u.CallbackQuery
		if topics.CallbackQuery != nil {
			w.thread = topics.CallbackQuery.Message.thread()
		}
	case u.Message != nil:
		w.key, w.job = b.messageJob(u.Message, topics.Message.thread())
	case u.ChannelPost != nil:
		w.key, w.job = b.messageJob(u.ChannelPost, "")
	case u.MyChatMember != nil:
		w.key, w.job = b.memberJob(u.MyChatMember)
	}
	return w, true
}

// handle does an update's work to its end on the calling goroutine. Its
// error means that the work was cut short, or failed in a way that doing
// it again could mend.
func (b *Bot) handle(ctx context.Context, u update) error {
	switch {
	case u.press != nil:
		return b.handlePress(ctx, u.press, u.thread)
	case u.job != nil:
		return u.job(ctx)
	}
	return nil
}

// accept takes one update from getUpdates or the webhook: a repeat is
// dropped; a press is answered at once on its own goroutine; anything
// else for a chat joins that chat's queue.
func (b *Bot) accept(ctx context.Context, raw json.RawMessage) {
	u, ok := b.decode(raw)
	if !ok {
		return
	}
	if !b.seen.add(u.id) {
		b.log.Debug("dropping a repeated update", "update_id", u.id)
		return
	}
	done := b.offsets.received(u.id)
	switch {
	case u.idle():
		done()
		return
	case b.inline:
		b.handle(ctx, u)
		done()
		return
	case u.press != nil:
		select {
		case b.presses <- struct{}{}:
		case <-ctx.Done():
			return
		}
		b.wg.Go(func() {
			defer func() { <-b.presses }()
			b.handle(ctx, u)
			if ctx.Err() == nil {
				done()
			}
		})
		return
	}
	b.queue.submit(u.key, func(ctx context.Context) {
		b.handle(ctx, u)
		if ctx.Err() == nil {
			done()
		}
	})
}

func kindOf(c *tgbotapi.Chat) chat.Kind {
	switch c.Type {
	case "private":
		return chat.Private
	case "channel":
		return chat.Channel
	}
	return chat.Group
}

func chatID(id int64) string { return strconv.FormatInt(id, 10) }

func userOf(u *tgbotapi.User) chat.User {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = u.UserName
	}
	return chat.User{Platform: chat.Telegram, ID: strconv.FormatInt(u.ID, 10), Name: name}
}

// messageJob returns the work a message needs in its chat's queue: a
// command for the tutor, or a group's move to a supergroup; nil for
// anything else.
func (b *Bot) messageJob(m *tgbotapi.Message, thread string) (string, func(context.Context) error) {
	key := chatID(m.Chat.ID)
	switch {
	case m.MigrateToChatID != 0:
		// The old group's last message: its subscription moves.
		from := chat.Address{Platform: chat.Telegram, ChatID: key}
		to := chatID(m.MigrateToChatID)
		return key, func(ctx context.Context) error {
			b.tutor.ChatMoved(ctx, from, to)
			return ctx.Err()
		}
	case m.MigrateFromChatID != 0:
		// The new supergroup's first message: the same move, whichever of
		// the two arrives first (the second finds nothing to move).
		from := chat.Address{Platform: chat.Telegram, ChatID: chatID(m.MigrateFromChatID)}
		return key, func(ctx context.Context) error {
			b.tutor.ChatMoved(ctx, from, key)
			return ctx.Err()
		}
	}
	name, bot, args, ok := chat.ParseCommand(m.Text)
	if !ok {
		return "", nil
	}
	kind := kindOf(m.Chat)
	if bot != "" && !strings.EqualFold(bot, b.self.UserName) && kind != chat.Private {
		return "", nil // addressed to another bot in the group
	}
	cmd := chat.Command{
		Chat: chat.Address{Platform: chat.Telegram, ChatID: key, ThreadID: thread},
		Kind: kind, Name: name, Args: args,
	}
	switch {
	case m.SenderChat != nil:
		// A channel post, an anonymous group administrator (who posts as
		// the group itself) or someone posting as a channel.
		cmd.From = chat.User{Platform: chat.Telegram, Name: m.SenderChat.Title}
	case m.From != nil:
		cmd.From = userOf(m.From)
	}
	return key, func(ctx context.Context) error {
		cmd.CanManage = b.canManage(ctx, m, cmd)
		return b.replyAll(ctx, cmd.Chat, cmd.Kind, b.tutor.Handle(ctx, cmd))
	}
}

// canManage tells whether Telegram says the sender of a command may change
// the chat's settings: anyone in a private chat, the channel itself in a
// channel, and in a group its creator and administrators.
func (b *Bot) canManage(ctx context.Context, m *tgbotapi.Message, cmd chat.Command) bool {
	switch {
	case cmd.Kind == chat.Private, cmd.Kind == chat.Channel:
		return true
	case m.SenderChat != nil:
		// Only administrators may post as the group itself.
		return m.SenderChat.ID == m.Chat.ID
	case m.From == nil:
		return false
	case b.admins[cmd.From.ID]:
		return false // the tutor lets lessonbot's admins manage any chat
	}
	if manage, known := b.manage[cmd.Name]; known && !manage {
		return false // a command that changes nothing needs no check
	}
	k := memberKey{chat: m.Chat.ID, user: m.From.ID}
	now := time.Now()
	if admin, ok := b.members.get(k, now); ok {
		return admin
	}
	raw, err := b.request(ctx, callTimeout, tgbotapi.GetChatMemberConfig{
		ChatConfigWithUser: tgbotapi.ChatConfigWithUser{ChatID: m.Chat.ID, UserID: m.From.ID},
	}, "getChatMember")
	if err != nil {
		if ctx.Err() == nil {
			b.log.Warn("checking a chat administrator failed; treating them as a member", "platform", cmd.Chat.Platform, "chat_id", cmd.Chat.ChatID, "user_id", cmd.From.ID, "err", err)
		}
		return false
	}
	var member tgbotapi.ChatMember
	if err := json.Unmarshal(raw, &member); err != nil {
		b.log.Warn("getChatMember answered something unexpected", "platform", cmd.Chat.Platform, "chat_id", cmd.Chat.ChatID, "err", err)
		return false
	}
	admin := member.Status == "creator" || member.Status == "administrator"
	b.members.put(k, admin, now)
	return admin
}

// memberJob handles a change of the bot's own membership: removed from a
// group or channel, or blocked in a private chat, its chat is gone.
func (b *Bot) memberJob(u *tgbotapi.ChatMemberUpdated) (string, func(context.Context) error) {
	switch u.NewChatMember.Status {
	case "left", "kicked":
	default:
		return "", nil
	}
	key := chatID(u.Chat.ID)
	addr := chat.Address{Platform: chat.Telegram, ChatID: key}
	return key, func(ctx context.Context) error {
		b.tutor.ChatGone(ctx, addr)
		return ctx.Err()
	}
}

// handlePress hands a press to the tutor, answers the callback with its
// notice and sends the messages it returns (such as the full article).
// The callback is answered within pressBudget even if the tutor is slow:
// then without a notice. Its error is replyAll's.
func (b *Bot) handlePress(ctx context.Context, q *tgbotapi.CallbackQuery, thread string) error {
	if q.Message == nil || q.From == nil {
		// A button under an inline message, which the bot never sends.
		b.answer(ctx, q.ID, "")
		return nil
	}
	p := chat.Press{
		Chat: chat.Address{Platform: chat.Telegram, ChatID: chatID(q.Message.Chat.ID), ThreadID: thread},
		Kind: kindOf(q.Message.Chat), From: userOf(q.From), Data: q.Data,
	}
	replies := make(chan chat.PressReply, 1)
	b.wg.Go(func() { replies <- b.tutor.Press(ctx, p) })
	timer := time.NewTimer(pressBudget)
	var r chat.PressReply
	select {
	case r = <-replies:
		timer.Stop()
		b.answer(ctx, q.ID, r.Notice)
	case <-timer.C:
		b.log.Warn("the tutor took too long over a press; answered without a notice", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "budget", pressBudget)
		b.answer(ctx, q.ID, "")
		r = <-replies
	}
	return b.replyAll(ctx, p.Chat, p.Kind, r.Messages)
}

// answer answers a callback query; a notice is shown as a toast, not an
// alert.
func (b *Bot) answer(ctx context.Context, id, notice string) {
	cfg := tgbotapi.NewCallback(id, truncate(notice, chat.MaxNotice))
	if _, err := b.request(ctx, answerTimeout, cfg, "answerCallbackQuery"); err != nil && ctx.Err() == nil {
		b.log.Warn("answering a button press failed", "err", err)
	}
}
