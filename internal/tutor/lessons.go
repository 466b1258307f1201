package tutor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Button data the tutor puts under its messages and parses back strictly,
// since a client can forge it: "read:<lesson id>" and
// "a:<question key>:<choice index>".
var (
	readData   = regexp.MustCompile(`^read:([a-z0-9][a-z0-9-]{0,39})$`)
	answerData = regexp.MustCompile(`^a:([a-z0-9][a-z0-9-]{0,39}:[0-9a-f]{8}):([0-9])$`)
)

// LessonMessages composes what a chat gets for a lesson: the daily post,
// then one message per quiz question. Scheduled delivery sends the same.
func (t *Tutor) LessonMessages(l *lesson.Lesson, lang string) []chat.Message {
	msgs := []chat.Message{LessonPost(l, lang)}
	return append(msgs, t.questionMessages(l, lang)...)
}

func (t *Tutor) questionMessages(l *lesson.Lesson, lang string) []chat.Message {
	qs, _, _ := t.questions(l.ID)
	var msgs []chat.Message
	for i, q := range qs {
		msgs = append(msgs, questionMessage(lang, q, i, len(qs)))
	}
	return msgs
}

func questionMessage(lang string, q quiz.Question, i, n int) chat.Message {
	m := chat.Message{Question: true, Blocks: []chat.Block{{Kind: chat.Text, Text: say(lang, keyQuestion, i+1, n, prompt(lang, q))}}}
	for j, choice := range q.Choices {
		m.Buttons = append(m.Buttons, chat.Button{Label: choice, Data: fmt.Sprintf("a:%s:%d", q.Key, j)})
	}
	return m
}

func prompt(lang string, q quiz.Question) string {
	switch q.Kind {
	case quiz.Meaning:
		return say(lang, keyMeaning, q.Text)
	case quiz.Reverse:
		return say(lang, keyReverse, q.Text)
	}
	return q.Text
}

// NextLessonID returns the id of the subscription's next lesson, or ""
// when none is left: the first in library order that matches its level
// and was never delivered to it.
func (t *Tutor) NextLessonID(ctx context.Context, sub store.Subscription) (string, error) {
	l, err := t.nextLesson(ctx, sub)
	if err != nil || l == nil {
		return "", err
	}
	return l.ID, nil
}

// ArticleMessage is the full article of a lesson, one block per
// paragraph; adapters split it into as many messages as their limits
// need, at paragraph boundaries.
func ArticleMessage(l *lesson.Lesson) chat.Message {
	m := chat.Message{Title: l.Title}
	for _, p := range l.Article {
		m.Blocks = append(m.Blocks, chat.Block{Kind: chat.Text, Text: p})
	}
	return m
}

// current returns the chat's current lesson: the last one delivered that
// is still in the library, or nil.
func (t *Tutor) current(ctx context.Context, sub store.Subscription) (*lesson.Lesson, error) {
	if sub.ID == 0 {
		return nil, nil
	}
	d, err := t.store.LastDelivered(ctx, sub.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lib := t.lessons.Library()
	if l, ok := lib.Lookup(d.LessonID); ok {
		return l, nil
	}
	// The last lesson left the library: the one before it, if any.
	all, err := t.store.Deliveries(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if st := all[i].State; st != store.DeliverySent && st != store.DeliveryUnknown {
			continue
		}
		if l, ok := lib.Lookup(all[i].LessonID); ok {
			return l, nil
		}
	}
	return nil, nil
}

func (t *Tutor) sendLesson(ctx context.Context, c *call) ([]chat.Message, error) {
	l, err := t.lessonNow(ctx, c)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return text(say(c.lang, keyNoLesson)), nil
	}
	return t.reviewOnDemand(ctx, c, t.LessonMessages(l, c.lang))
}

// lessonNow returns the lesson /lesson shows: the chat's current one or,
// when it has none yet, its next one, recorded as delivered; nil when
// none is left.
func (t *Tutor) lessonNow(ctx context.Context, c *call) (*lesson.Lesson, error) {
	l, err := t.current(ctx, c.sub)
	if err != nil || l != nil {
		return l, err
	}
	// Another /lesson may have recorded a lesson for this chat, or made
	// its row, since c.sub was read: look again once it is our turn.
	t.picking.Lock()
	defer t.picking.Unlock()
	if c.sub, err = t.chat(ctx, c.cmd.Chat, c.cmd.Kind); err != nil {
		return nil, err
	}
	if l, err = t.current(ctx, c.sub); err != nil || l != nil {
		return l, err
	}
	if l, err = t.nextLesson(ctx, c.sub); err != nil || l == nil {
		return nil, err
	}
	if c.sub.ID == 0 {
		if err := t.save(ctx, c); err != nil {
			return nil, err
		}
	}
	// A duplicate: the scheduled delivery took that lesson meanwhile; it
	// is the chat's current lesson now.
	if _, err = t.store.RecordSent(ctx, c.sub.ID, l.ID, t.now()); err != nil && !errors.Is(err, store.ErrDuplicate) {
		return nil, err
	}
	return l, nil
}

func (t *Tutor) read(ctx context.Context, c *call) ([]chat.Message, error) {
	l, err := t.current(ctx, c.sub)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return text(say(c.lang, keyNoCurrent)), nil
	}
	return []chat.Message{ArticleMessage(l)}, nil
}

func (t *Tutor) quiz(ctx context.Context, c *call) ([]chat.Message, error) {
	l, err := t.current(ctx, c.sub)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return text(say(c.lang, keyNoCurrent)), nil
	}
	msgs := t.questionMessages(l, c.lang)
	if len(msgs) == 0 {
		return text(say(c.lang, keyNoQuiz)), nil
	}
	return msgs, nil
}

// Press handles a button press: a quiz answer or a "Full article"
// request. Forged or stale data changes nothing and is told so.
func (t *Tutor) Press(ctx context.Context, p chat.Press) chat.PressReply {
	sub, err := t.chat(ctx, p.Chat, p.Kind)
	if err != nil {
		t.log.Error("press failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "err", err)
		return chat.PressReply{Notice: say(t.settings.Language, keyTrouble)}
	}
	lang := t.language(sub)
	if m := reviewData.FindStringSubmatch(p.Data); m != nil {
		reply, err := t.pressReview(ctx, p, sub, lang, m)
		if err != nil {
			t.log.Error("review press failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "err", err)
			return chat.PressReply{Notice: say(lang, keyTrouble)}
		}
		return reply
	}
	if p.Data == deleteData {
		msgs, err := t.deleteUser(ctx, p.From, lang)
		if err != nil {
			t.log.Error("deleting a learner's data failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "err", err)
			return chat.PressReply{Notice: say(lang, keyTrouble)}
		}
		return chat.PressReply{Messages: msgs}
	}
	if m := readData.FindStringSubmatch(p.Data); m != nil {
		l, ok := t.lessons.Library().Lookup(m[1])
		if !ok {
			return chat.PressReply{Notice: say(lang, keyUnavailable)}
		}
		return chat.PressReply{Messages: []chat.Message{ArticleMessage(l)}}
	}
	m := answerData.FindStringSubmatch(p.Data)
	if m == nil {
		return chat.PressReply{Notice: say(lang, keyUnavailable)}
	}
	key := m[1]
	choice, _ := strconv.Atoi(m[2])
	q, ok := t.question(key)
	if !ok || choice >= len(q.Choices) {
		return chat.PressReply{Notice: say(lang, keyUnavailable)}
	}
	reply, err := t.answer(ctx, p, sub, lang, q, choice)
	if err != nil {
		t.log.Error("answer failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "question", key, "err", err)
		return chat.PressReply{Notice: say(lang, keyTrouble)}
	}
	return reply
}

func (t *Tutor) answer(ctx context.Context, p chat.Press, sub store.Subscription, lang string, q quiz.Question, choice int) (chat.PressReply, error) {
	learner, err := t.store.Learner(ctx, p.From)
	if err != nil {
		return chat.PressReply{}, err
	}
	now := t.now()
	stored, first, err := t.store.RecordAnswer(ctx, store.Answer{
		LearnerID: learner, Chat: p.Chat.Key(), LessonID: q.LessonID, QuestionKey: q.Key,
		Choice: choice, Correct: choice == q.Correct, At: now, Week: store.WeekOf(now, weekZone(sub)),
	})
	if err != nil {
		return chat.PressReply{}, err
	}
	if first && t.settings.Answered != nil {
		t.settings.Answered(p.Chat.Platform, stored.Correct)
	}
	if first {
		if err := t.learn(ctx, learner, p.Chat, sub, q, choice == q.Correct, now); err != nil {
			// The answer counts; its review comes with the next one.
			t.log.Error("taking an answer into the review failed", "platform", p.Chat.Platform, "chat_id", p.Chat.ChatID, "question", q.Key, "err", err)
		}
	}
	if !first {
		earlier := ""
		if stored.Choice >= 0 && stored.Choice < len(q.Choices) {
			earlier = q.Choices[stored.Choice]
		}
		return chat.PressReply{Notice: clip(say(lang, keyAlready, earlier))}, nil
	}
	notice := say(lang, keyRight)
	if choice != q.Correct {
		notice = say(lang, keyWrong, q.Choices[q.Correct])
	}
	explanation := q.Explanation
	if explanation == "" {
		explanation = q.Note
	}
	if explanation != "" {
		notice += "\n" + explanation
	}
	return chat.PressReply{Notice: clip(notice)}, nil
}

// clip shortens a notice to chat.MaxNotice characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= chat.MaxNotice {
		return s
	}
	return string([]rune(s)[:chat.MaxNotice-1]) + "…"
}
