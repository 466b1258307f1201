package tutor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/review"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Review press data: "r:<review key>:<choice>" under a review question of
// a lesson (the daily one or /lesson), "v<n>:<review key>:<choice>" under
// one of /review, n the words done before it in that review; choice is a
// digit, or "k" for "I know this". The key names the word (quiz.Reviews);
// the presser's own item is graded, whoever it is.
var reviewData = regexp.MustCompile(`^(r|v([0-9]{1,2})):([a-z0-9][a-z0-9-]{0,39}:[0-9a-f]{8}):([0-9]|k)$`)

// The rules of review that are the product's, not FSRS's.
const (
	// reviewSession is how many words one /review goes through at most.
	reviewSession = 20
	// groupReviews is how many words a group's daily lesson reviews.
	groupReviews = 2
	// groupRestDays is how long a group word rests after the group's
	// review showed it.
	groupRestDays = 3
	// learnedDays is the stability from which a word counts as learned.
	learnedDays = 21
)

// learnerDay is the learner's local day of t in sub's zone (the chat they
// are in), the day starting at review.DayStartHour.
func learnerDay(t time.Time, sub store.Subscription) store.Day {
	return store.Day(review.DayOf(t, location(sub)))
}

// dayTime returns a moment of day d in sub's zone, for showing the day.
func dayTime(d store.Day, sub store.Subscription) time.Time {
	y, m, dd := review.Day(d).Date()
	return time.Date(y, m, dd, 12, 0, 0, 0, location(sub))
}

// whenDay writes day d as "today", "tomorrow" or "Monday 2 March".
func whenDay(lang string, d, today store.Day, sub store.Subscription) string {
	switch d {
	case today:
		return say(lang, keyToday)
	case today + 1:
		return say(lang, keyTomorrow)
	}
	return formatDay(lang, dayTime(d, sub))
}

// reviewQuestions returns the review questions of lesson id in the
// library in service, cached like the quizzes, and the lesson.
func (t *Tutor) reviewQuestions(id string) ([]quiz.Question, *lesson.Lesson, bool) {
	lib := t.lessons.Library()
	l, ok := lib.Lookup(id)
	if !ok {
		return nil, nil, false
	}
	c := &t.quizzes
	c.mu.Lock()
	var qs []quiz.Question
	cached := false
	if c.lib == lib {
		qs, cached = c.reviews[id]
	}
	c.mu.Unlock()
	if cached {
		return qs, l, true
	}
	qs = quiz.Reviews(l, lib)
	c.mu.Lock()
	if c.lib != lib {
		c.lib, c.byLesson, c.reviews = lib, map[string][]quiz.Question{}, map[string][]quiz.Question{}
	}
	c.reviews[id] = qs
	c.mu.Unlock()
	return qs, l, true
}

// reviewQuestion returns the review question of a word.
func (t *Tutor) reviewQuestion(lessonID, term string) (quiz.Question, *lesson.Lesson, bool) {
	qs, l, ok := t.reviewQuestions(lessonID)
	if !ok {
		return quiz.Question{}, nil, false
	}
	for _, q := range qs {
		if q.Term == term {
			return q, l, true
		}
	}
	return quiz.Question{}, nil, false
}

// reviewByKey returns the review question with the given key.
func (t *Tutor) reviewByKey(key string) (quiz.Question, *lesson.Lesson, bool) {
	id, ok := quiz.LessonIDOf(key)
	if !ok {
		return quiz.Question{}, nil, false
	}
	qs, l, ok := t.reviewQuestions(id)
	if !ok {
		return quiz.Question{}, nil, false
	}
	for _, q := range qs {
		if q.Key == key {
			return q, l, true
		}
	}
	return quiz.Question{}, nil, false
}

// word names a word to review: a lesson's term.
type word struct {
	Lesson string `json:"lesson"`
	Term   string `json:"term"`
}

// reviewMessage is the question of one word: the term blanked in its
// sentence from the article (the term itself when the article does not
// use it), its translation among others, and "I know this". prefix is
// the press data's ("r" or "v<n>"); i and n number it among the others.
func (t *Tutor) reviewMessage(lang string, w word, prefix string, i, n int) chat.Message {
	title := say(lang, keyReviewTitle, i+1, n)
	q, l, ok := t.reviewQuestion(w.Lesson, w.Term)
	if !ok {
		// Kept in its place, so that a resumed delivery's messages keep
		// theirs.
		return chat.Message{Title: title, Blocks: []chat.Block{{Kind: chat.Text, Text: say(lang, keyWordGone)}}}
	}
	text := say(lang, keyReviewTerm, q.Term)
	if cloze, found := lesson.Cloze(l.Article, q.Term); found {
		text = say(lang, keyReviewCloze, cloze)
	}
	m := chat.Message{Title: title, Question: true, Blocks: []chat.Block{{Kind: chat.Text, Text: text}}}
	for j, choice := range q.Choices {
		m.Buttons = append(m.Buttons, chat.Button{Label: choice, Data: fmt.Sprintf("%s:%s:%d", prefix, q.Key, j)})
	}
	m.Buttons = append(m.Buttons, chat.Button{Label: say(lang, keyKnowThis), Data: fmt.Sprintf("%s:%s:k", prefix, q.Key)})
	return m
}

// learnerOf returns the learner of a private chat: whoever opened it
// (on Telegram, the chat's id is theirs too), or ok false when that
// person has never answered anything.
func (t *Tutor) learnerOf(ctx context.Context, sub store.Subscription) (int64, bool, error) {
	id := sub.CreatedBy
	if id == "" {
		id = sub.Address.ChatID
	}
	learner, err := t.store.FindLearner(ctx, chat.User{Platform: sub.Address.Platform, ID: id})
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	return learner, err == nil, err
}

// pickWords chooses the review of a lesson in sub's chat on day: in a
// private chat, up to daily_reviews of its learner's due words in review
// order; elsewhere, up to groupReviews of the words its members missed
// most that the group has not seen lately.
func (t *Tutor) pickWords(ctx context.Context, sub store.Subscription, day store.Day) ([]word, error) {
	if sub.Kind != chat.Private {
		cws, err := t.store.GroupWords(ctx, sub.Address.Key(), day, groupRestDays, groupReviews)
		if err != nil || len(cws) == 0 {
			return nil, err
		}
		if err := t.store.WordsShown(ctx, sub.Address.Key(), cws, day); err != nil {
			return nil, err
		}
		words := make([]word, len(cws))
		for i, cw := range cws {
			words[i] = word{cw.LessonID, cw.Term}
		}
		return words, nil
	}
	if t.settings.DailyReviews <= 0 {
		return nil, nil
	}
	learner, ok, err := t.learnerOf(ctx, sub)
	if err != nil || !ok {
		return nil, err
	}
	items, err := t.store.DueItems(ctx, learner, day, t.settings.DailyReviews)
	if err != nil {
		return nil, err
	}
	return pickItems(items, t.settings.DailyReviews), nil
}

// pickItems orders items as the review package's Pick does, keeps the
// first n, and names their words.
func pickItems(items []store.ReviewItem, n int) []word {
	cands := make([]review.Candidate, len(items))
	byID := make(map[int64]store.ReviewItem, len(items))
	for i, it := range items {
		cands[i] = review.Candidate{ID: it.ID, Due: review.Day(it.Due), Stability: it.Stability}
		byID[it.ID] = it
	}
	var words []word
	for _, c := range review.Pick(cands, n) {
		it := byID[c.ID]
		words = append(words, word{it.LessonID, it.Term})
	}
	return words
}

// reviewBlock is the messages of a lesson's review: a line at the end of
// the post, and a question per word.
func (t *Tutor) reviewBlock(lang string, words []word, post *chat.Message) []chat.Message {
	if len(words) == 0 {
		return nil
	}
	post.Blocks = append(post.Blocks, chat.Block{Kind: chat.Text, Text: say(lang, keyReviewBlock, wordCount(lang, len(words)))})
	msgs := make([]chat.Message, len(words))
	for i, w := range words {
		msgs[i] = t.reviewMessage(lang, w, "r", i, len(words))
	}
	return msgs
}

// Compose returns the messages of a delivery for its subscription: a
// lesson's post, its questions and its review, or the weekly summary. A
// lesson's review is chosen the first time it is composed and kept with
// the delivery, so that a delivery resumed after a crash sends the same
// words in the same places. ok is false when the library no longer has
// the lesson.
func (t *Tutor) Compose(ctx context.Context, d store.Delivery, sub store.Subscription) ([]chat.Message, bool, error) {
	lang := t.language(sub)
	if d.Kind == store.SummaryDelivery {
		msgs, err := t.summary(ctx, sub, d.Slot)
		return msgs, err == nil, err
	}
	l, ok := t.lessons.Library().Lookup(d.LessonID)
	if !ok {
		return nil, false, nil
	}
	plan := d.Review
	if plan == "" {
		words, err := t.pickWords(ctx, sub, learnerDay(d.Slot, sub))
		if err != nil {
			return nil, false, err
		}
		data, err := json.Marshal(words)
		if err != nil {
			return nil, false, err
		}
		if words == nil {
			data = []byte("[]")
		}
		if plan, err = t.store.SetReview(ctx, d.ID, string(data)); err != nil {
			return nil, false, err
		}
	}
	var words []word
	if err := json.Unmarshal([]byte(plan), &words); err != nil {
		return nil, false, fmt.Errorf("the review of delivery %d: %w", d.ID, err)
	}
	msgs := t.LessonMessages(l, lang)
	return append(msgs, t.reviewBlock(lang, words, &msgs[0])...), true, nil
}

// reviewOnDemand adds the review of the day to a lesson sent on demand
// (/lesson): the asker's due words in a private chat, the group's words
// elsewhere.
func (t *Tutor) reviewOnDemand(ctx context.Context, c *call, msgs []chat.Message) ([]chat.Message, error) {
	day := learnerDay(t.now(), c.sub)
	var words []word
	if c.cmd.Kind == chat.Private {
		if c.cmd.From.ID == "" || t.settings.DailyReviews <= 0 {
			return msgs, nil
		}
		learner, err := t.store.FindLearner(ctx, c.cmd.From)
		if errors.Is(err, store.ErrNotFound) {
			return msgs, nil
		}
		if err != nil {
			return nil, err
		}
		items, err := t.store.DueItems(ctx, learner, day, t.settings.DailyReviews)
		if err != nil {
			return nil, err
		}
		words = pickItems(items, t.settings.DailyReviews)
	} else {
		cws, err := t.store.GroupWords(ctx, c.cmd.Chat.Key(), day, groupRestDays, groupReviews)
		if err != nil {
			return nil, err
		}
		for _, cw := range cws {
			words = append(words, word{cw.LessonID, cw.Term})
		}
	}
	return append(msgs, t.reviewBlock(c.lang, words, &msgs[0])...), nil
}

// learn takes a first answer to a quiz question into the learner's
// review: a missed word becomes an item (graded Again, due the next local
// day), an item the learner has already is graded, the lesson's first
// word the learner does not have comes in as new, and the day counts for
// the streak. In a group, a missed word counts toward the group's review.
func (t *Tutor) learn(ctx context.Context, learner int64, where chat.Address, sub store.Subscription, q quiz.Question, correct bool, at time.Time) error {
	day := learnerDay(at, sub)
	if q.Term != "" {
		if !correct && sub.Kind != chat.Private {
			if err := t.store.WordMissed(ctx, where.Key(), q.LessonID, q.Term, day); err != nil {
				return err
			}
		}
		it, err := t.store.ItemOf(ctx, learner, q.LessonID, q.Term)
		switch {
		case err == nil && it.State != store.ItemKnown:
			if _, err := t.grade(ctx, it, correct, day); err != nil && !errors.Is(err, store.ErrGraded) {
				return err
			}
		case errors.Is(err, store.ErrNotFound) && !correct:
			mem, interval := t.scheduler.Next(review.Memory{}, 0, review.Again)
			if _, err := t.store.AddItem(ctx, store.ReviewItem{
				LearnerID: learner, LessonID: q.LessonID, Term: q.Term, Source: "missed", State: store.ItemReview,
				Stability: mem.Stability, Difficulty: mem.Difficulty, Due: day + store.Day(interval), Graded: day,
				Reps: 1, LastResult: "wrong", AddedAt: at,
			}); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if err := t.lessonWord(ctx, learner, q.LessonID, day, at); err != nil {
		return err
	}
	return t.active(ctx, learner, sub, at)
}

// lessonWord gives the learner the lesson's word of the day: the first
// of its terms they have no item of, unless the lesson gave them one
// already. It is new, due the next local day.
func (t *Tutor) lessonWord(ctx context.Context, learner int64, lessonID string, day store.Day, at time.Time) error {
	qs, _, ok := t.reviewQuestions(lessonID)
	if !ok || len(qs) == 0 {
		return nil
	}
	have, err := t.store.LessonTerms(ctx, learner, lessonID)
	if err != nil {
		return err
	}
	for _, source := range have {
		if source == "lesson" {
			return nil
		}
	}
	for _, q := range qs {
		if _, ok := have[q.Term]; ok {
			continue
		}
		_, err := t.store.AddItem(ctx, store.ReviewItem{
			LearnerID: learner, LessonID: lessonID, Term: q.Term, Source: "lesson", State: store.ItemNew,
			Due: day + 1, Graded: -1, AddedAt: at,
		})
		return err
	}
	return nil
}

// grade applies a graded answer on day to an item, with FSRS, and stores
// it; it returns the item as stored. An item graded that day already
// changes nothing: the error wraps store.ErrGraded.
func (t *Tutor) grade(ctx context.Context, it store.ReviewItem, correct bool, day store.Day) (store.ReviewItem, error) {
	if it.Graded >= day {
		return it, fmt.Errorf("grade item %d: %w", it.ID, store.ErrGraded)
	}
	elapsed := 0
	if it.Graded >= 0 {
		elapsed = int(day - it.Graded)
	}
	mem := review.Memory{Stability: it.Stability, Difficulty: it.Difficulty}
	next, interval := t.scheduler.Next(mem, elapsed, review.GradeOf(correct))
	it.Stability, it.Difficulty = next.Stability, next.Difficulty
	it.State, it.Due, it.Graded = store.ItemReview, day+store.Day(interval), day
	it.Reps++
	it.LastResult = "right"
	if !correct {
		it.LastResult = "wrong"
		if mem.Reviewed() {
			it.Lapses++
		}
	}
	return it, t.store.GradeItem(ctx, it)
}

// active counts a graded answer at t for the learner's streak, in the
// zone of sub's chat. The first graded answer of a local day writes; the
// others find the day counted already.
func (t *Tutor) active(ctx context.Context, learner int64, sub store.Subscription, at time.Time) error {
	defer t.learners.lock(strconv.FormatInt(learner, 10))()
	stored, err := t.store.LearnerStreak(ctx, learner)
	if err != nil {
		return err
	}
	before := fromStoreStreak(stored)
	after, frozen := before.Record(at, location(sub))
	if after == before {
		return nil
	}
	days := make([]store.Day, len(frozen))
	for i, d := range frozen {
		days[i] = store.Day(d)
	}
	return t.store.SaveStreak(ctx, learner, toStoreStreak(after), store.Day(review.DayOf(at, location(sub))), days)
}

func fromStoreStreak(s store.Streak) review.Streak {
	return review.Streak{
		Current: s.Current, Best: s.Best, Last: review.Day(s.Last), Freezes: s.Freezes, Progress: s.Progress,
		EverHeldFreeze: s.EverHeldFreeze, Zone: s.Zone, ZoneOffset: s.ZoneOffset, ZoneChangedAt: s.ZoneChangedAt,
	}
}

func toStoreStreak(s review.Streak) store.Streak {
	return store.Streak{
		Current: s.Current, Best: s.Best, Last: store.Day(s.Last), Freezes: s.Freezes, Progress: s.Progress,
		EverHeldFreeze: s.EverHeldFreeze, Zone: s.Zone, ZoneOffset: s.ZoneOffset, ZoneChangedAt: s.ZoneChangedAt,
	}
}

// pressReview grades a press on a review question: the presser's own item
// of the word, made when they have none (a group's word they never had).
func (t *Tutor) pressReview(ctx context.Context, p chat.Press, sub store.Subscription, lang string, m []string) (chat.PressReply, error) {
	q, _, ok := t.reviewByKey(m[3])
	if !ok {
		return chat.PressReply{Notice: say(lang, keyReviewGone)}, nil
	}
	known := m[4] == "k"
	choice, _ := strconv.Atoi(m[4])
	if !known && choice >= len(q.Choices) {
		return chat.PressReply{Notice: say(lang, keyUnavailable)}, nil
	}
	if p.From.ID == "" {
		return chat.PressReply{Notice: say(lang, keyScoreNobody)}, nil
	}
	learner, err := t.store.Learner(ctx, p.From)
	if err != nil {
		return chat.PressReply{}, err
	}
	now := t.now()
	day := learnerDay(now, sub)
	it, err := t.store.ItemOf(ctx, learner, q.LessonID, q.Term)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := t.store.AddItem(ctx, store.ReviewItem{
			LearnerID: learner, LessonID: q.LessonID, Term: q.Term, Source: "lesson", State: store.ItemNew,
			Due: day, Graded: -1, AddedAt: now,
		}); err != nil {
			return chat.PressReply{}, err
		}
		it, err = t.store.ItemOf(ctx, learner, q.LessonID, q.Term)
	}
	if err != nil {
		return chat.PressReply{}, err
	}
	if it.Graded >= day || it.State == store.ItemKnown {
		return chat.PressReply{Notice: say(lang, keyReviewAlready)}, nil
	}
	var notice string
	if known {
		it.State, it.Graded, it.LastResult = store.ItemKnown, day, "known"
		err = t.store.GradeItem(ctx, it)
		notice = say(lang, keyReviewKnown)
	} else {
		correct := choice == q.Correct
		it, err = t.grade(ctx, it, correct, day)
		when := whenDay(lang, it.Due, day, sub)
		notice = say(lang, keyReviewRight, when)
		if !correct {
			notice = say(lang, keyReviewWrong, q.Choices[q.Correct], when)
		}
	}
	if errors.Is(err, store.ErrGraded) {
		return chat.PressReply{Notice: say(lang, keyReviewAlready)}, nil
	}
	if err != nil {
		return chat.PressReply{}, err
	}
	if err := t.active(ctx, learner, sub, now); err != nil {
		return chat.PressReply{}, err
	}
	reply := chat.PressReply{Notice: clip(notice)}
	if m[1] == "r" {
		return reply, nil
	}
	// A press under /review: the next word, or the end of the review.
	done, _ := strconv.Atoi(m[2])
	done++
	next, err := t.nextReview(ctx, learner, sub, lang, day, done)
	if err != nil {
		return chat.PressReply{}, err
	}
	reply.Messages = next
	return reply, nil
}

// nextReview is what /review shows after done words: the next due word,
// or, when none is due or the review is long enough, how it ended and
// when the next one is.
func (t *Tutor) nextReview(ctx context.Context, learner int64, sub store.Subscription, lang string, day store.Day, done int) ([]chat.Message, error) {
	status, err := t.store.ReviewStatus(ctx, learner, day, learnedDays)
	if err != nil {
		return nil, err
	}
	if done < reviewSession && status.Due > 0 {
		items, err := t.store.DueItems(ctx, learner, day, 1)
		if err != nil {
			return nil, err
		}
		if words := pickItems(items, 1); len(words) > 0 {
			total := min(reviewSession, done+status.Due)
			return []chat.Message{t.reviewMessage(lang, words[0], "v"+strconv.Itoa(done), done, total)}, nil
		}
	}
	next, count := status.Next, status.NextCount
	if status.Due > 0 {
		// Stopped at the session's length: the rest is due now.
		next, count = day, status.Due
	}
	switch {
	case done == 0 && status.Total == 0:
		return text(say(lang, keyReviewEmpty)), nil
	case done == 0 && next < 0:
		return text(say(lang, keyReviewNext, wordCount(lang, 0))), nil
	case done == 0:
		return text(say(lang, keyReviewNone, whenDay(lang, next, day, sub), wordCount(lang, count))), nil
	case next < 0:
		return text(say(lang, keyReviewNext, wordCount(lang, done))), nil
	}
	return text(say(lang, keyReviewDone, wordCount(lang, done), whenDay(lang, next, day, sub), wordCount(lang, count))), nil
}

// reviewCommand is /review: in a private chat (or, on Discord, a reply
// only the asker sees), the asker's due words one at a time; in a Telegram
// group, a button that opens the private chat on the review.
func (t *Tutor) reviewCommand(ctx context.Context, c *call) ([]chat.Message, error) {
	if c.cmd.From.ID == "" {
		return text(say(c.lang, keyReviewChannel)), nil
	}
	if c.cmd.Kind != chat.Private && c.cmd.Chat.Platform == chat.Telegram {
		return []chat.Message{{
			Blocks:  []chat.Block{{Kind: chat.Text, Text: say(c.lang, keyReviewPrivate)}},
			Buttons: []chat.Button{{Label: say(c.lang, keyReviewButton), Start: "review"}},
		}}, nil
	}
	learner, err := t.store.Learner(ctx, c.cmd.From)
	if err != nil {
		return nil, err
	}
	return t.nextReview(ctx, learner, c.sub, c.lang, learnerDay(t.now(), c.sub), 0)
}
