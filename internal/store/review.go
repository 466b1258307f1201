package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Day is a learner's local day as the review package counts it: days since
// 1970-01-01 of the local calendar, a day starting at 04:00.
type Day int32

// The states of a review item.
const (
	// ItemNew has never been graded.
	ItemNew = "new"
	// ItemReview has been graded and falls due again.
	ItemReview = "review"
	// ItemKnown was retired by "I know this" and never falls due again.
	ItemKnown = "known"
)

// ReviewItem is a word a learner is learning: a vocabulary term of a
// lesson, with its FSRS memory and when it is due.
type ReviewItem struct {
	// ID is the row id.
	ID int64
	// LearnerID is the learner (the person, on every chat).
	LearnerID int64
	// LessonID and Term name the word: the lesson and the term as the
	// lesson writes it.
	LessonID, Term string
	// Source is how it came in: "missed" (a missed quiz question) or
	// "lesson" (a lesson's word of the day).
	Source string
	// State is ItemNew, ItemReview or ItemKnown.
	State string
	// Stability and Difficulty are FSRS's; 0 until the first grade.
	Stability, Difficulty float64
	// Due is the day it falls due.
	Due Day
	// Graded is the day of its last grade; -1 when never graded. Only the
	// first graded answer of a day changes an item.
	Graded Day
	// Reps counts its grades, Lapses the wrong ones after the first.
	Reps, Lapses int
	// LastResult is "right", "wrong", "known" or "".
	LastResult string
	// AddedAt is when it came in.
	AddedAt time.Time
}

// reviewColumns are the columns scanReviewItem reads, in order.
const reviewColumns = `id, learner_id, lesson_id, term, source, state, stability, difficulty, due, graded,
	reps, lapses, last_result, added_at`

func scanReviewItem(row interface{ Scan(...any) error }) (ReviewItem, error) {
	var (
		it     ReviewItem
		graded sql.NullInt64
		added  int64
	)
	err := row.Scan(&it.ID, &it.LearnerID, &it.LessonID, &it.Term, &it.Source, &it.State, &it.Stability,
		&it.Difficulty, &it.Due, &graded, &it.Reps, &it.Lapses, &it.LastResult, &added)
	if err != nil {
		return ReviewItem{}, err
	}
	it.Graded = -1
	if graded.Valid {
		it.Graded = Day(graded.Int64)
	}
	it.AddedAt = fromUnix(added)
	return it, nil
}

// ErrGraded is returned, wrapped, by GradeItem when the item was graded
// already that day: the first graded answer of a day counts.
var ErrGraded = errors.New("review item already graded today")

// AddItem stores a new review item unless the learner has that word
// already, and returns whether it stored it. Its ID is ignored.
func (s *Store) AddItem(ctx context.Context, it ReviewItem) (bool, error) {
	if it.AddedAt.IsZero() {
		it.AddedAt = s.now()
	}
	res, err := s.exec(ctx, fmt.Sprintf("add review item %q of %s for learner %d", it.Term, it.LessonID, it.LearnerID),
		`INSERT INTO review_items (learner_id, lesson_id, term, source, state, stability, difficulty, due, graded,
			reps, lapses, last_result, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (learner_id, lesson_id, term) DO NOTHING`,
		it.LearnerID, it.LessonID, it.Term, it.Source, it.State, it.Stability, it.Difficulty, int64(it.Due),
		gradedOrNull(it.Graded), it.Reps, it.Lapses, it.LastResult, it.AddedAt.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AddItems stores many new items at once, in transactions of a few
// thousand, skipping words a learner has already; it returns how many it
// stored.
func (s *Store) AddItems(ctx context.Context, items []ReviewItem) (int, error) {
	const chunk = 2000
	added := 0
	for start := 0; start < len(items); start += chunk {
		n, err := s.addItems(ctx, items[start:min(start+chunk, len(items))])
		added += n
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

func (s *Store) addItems(ctx context.Context, items []ReviewItem) (int, error) {
	if err := s.lockWrite(ctx); err != nil {
		return 0, fmt.Errorf("store: add review items: %w", err)
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: add review items: %w", err)
	}
	defer tx.Rollback()
	st, err := s.txStmt(ctx, tx, `INSERT INTO review_items (learner_id, lesson_id, term, source, state, stability,
			difficulty, due, graded, reps, lapses, last_result, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (learner_id, lesson_id, term) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store: add review items: %w", err)
	}
	added := 0
	for _, it := range items {
		if it.AddedAt.IsZero() {
			it.AddedAt = s.now()
		}
		res, err := st.ExecContext(ctx, it.LearnerID, it.LessonID, it.Term, it.Source, it.State, it.Stability,
			it.Difficulty, int64(it.Due), gradedOrNull(it.Graded), it.Reps, it.Lapses, it.LastResult, it.AddedAt.Unix())
		if err != nil {
			return 0, fmt.Errorf("store: add review items: %w", err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: add review items: %w", err)
	}
	return added, nil
}

func gradedOrNull(d Day) any {
	if d < 0 {
		return nil
	}
	return int64(d)
}

// GradeItem writes an item's new state after a grade on day it.Graded:
// state, memory, due day, reps, lapses and result. It changes nothing and
// returns an error wrapping ErrGraded when the item was graded on that day
// or later already, and ErrNotFound when there is no such item.
func (s *Store) GradeItem(ctx context.Context, it ReviewItem) error {
	what := fmt.Sprintf("grade review item %d", it.ID)
	res, err := s.exec(ctx, what,
		`UPDATE review_items SET state = ?, stability = ?, difficulty = ?, due = ?, graded = ?, reps = ?,
			lapses = ?, last_result = ?
		WHERE id = ? AND (graded IS NULL OR graded < ?)`,
		it.State, it.Stability, it.Difficulty, int64(it.Due), int64(it.Graded), it.Reps, it.Lapses, it.LastResult,
		it.ID, int64(it.Graded))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		if _, err := s.Item(ctx, it.ID); err != nil {
			return err
		}
		return fmt.Errorf("store: %s: %w", what, ErrGraded)
	}
	return nil
}

// Item returns the review item id, or ErrNotFound.
func (s *Store) Item(ctx context.Context, id int64) (ReviewItem, error) {
	it, err := scanReviewItem(s.db.QueryRowContext(ctx, `SELECT `+reviewColumns+` FROM review_items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewItem{}, ErrNotFound
	}
	if err != nil {
		return ReviewItem{}, fmt.Errorf("store: review item %d: %w", id, err)
	}
	return it, nil
}

// ItemOf returns the learner's item of a word, or ErrNotFound.
func (s *Store) ItemOf(ctx context.Context, learnerID int64, lessonID, term string) (ReviewItem, error) {
	it, err := scanReviewItem(s.db.QueryRowContext(ctx, `SELECT `+reviewColumns+` FROM review_items
		WHERE learner_id = ? AND lesson_id = ? AND term = ?`, learnerID, lessonID, term))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewItem{}, ErrNotFound
	}
	if err != nil {
		return ReviewItem{}, fmt.Errorf("store: review item %q of %s for learner %d: %w", term, lessonID, learnerID, err)
	}
	return it, nil
}

// DueItems returns up to limit of the learner's items due on or before
// day, oldest due first, then lowest stability, then id: the order the
// review package's Pick keeps, read from an index that holds it.
func (s *Store) DueItems(ctx context.Context, learnerID int64, day Day, limit int) ([]ReviewItem, error) {
	return s.items(ctx, fmt.Sprintf("due review items of learner %d", learnerID), `SELECT `+reviewColumns+`
		FROM review_items WHERE learner_id = ? AND state != 'known' AND due <= ?
		ORDER BY due, stability, id LIMIT ?`, learnerID, int64(day), limit)
}

// Items returns every item of the learner, by id: their words, for
// /export.
func (s *Store) Items(ctx context.Context, learnerID int64) ([]ReviewItem, error) {
	return s.items(ctx, fmt.Sprintf("review items of learner %d", learnerID), `SELECT `+reviewColumns+`
		FROM review_items WHERE learner_id = ? ORDER BY id`, learnerID)
}

// LessonTerms returns the terms of a lesson the learner has items of, with
// the source of each ("missed" or "lesson").
func (s *Store) LessonTerms(ctx context.Context, learnerID int64, lessonID string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT term, source FROM review_items WHERE learner_id = ? AND lesson_id = ?`,
		learnerID, lessonID)
	if err != nil {
		return nil, fmt.Errorf("store: review terms of learner %d in %s: %w", learnerID, lessonID, err)
	}
	defer rows.Close()
	terms := map[string]string{}
	for rows.Next() {
		var term, source string
		if err := rows.Scan(&term, &source); err != nil {
			return nil, fmt.Errorf("store: review terms of learner %d in %s: %w", learnerID, lessonID, err)
		}
		terms[term] = source
	}
	return terms, rows.Err()
}

func (s *Store) items(ctx context.Context, what, query string, args ...any) ([]ReviewItem, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []ReviewItem
	for rows.Next() {
		it, err := scanReviewItem(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// ReviewSummary is where a learner's review stands.
type ReviewSummary struct {
	// Due is how many items are due on or before the day asked about.
	Due int
	// Next is the first day after it with items due, and NextCount how
	// many fall due then; Next is -1 when none does.
	Next      Day
	NextCount int
	// Learned counts the items whose stability reaches the learned
	// threshold asked about, and Known those retired by "I know this".
	Learned, Known int
	// Total counts every item.
	Total int
}

// ReviewStatus counts the learner's items: due on or before day, the next
// day with items due and how many, and those learned (stability of at
// least learnedDays days) or known.
func (s *Store) ReviewStatus(ctx context.Context, learnerID int64, day Day, learnedDays float64) (ReviewSummary, error) {
	var sum ReviewSummary
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE state != 'known' AND due <= ?),
			min(due) FILTER (WHERE state != 'known' AND due > ?),
			count(*) FILTER (WHERE state != 'known' AND stability >= ?),
			count(*) FILTER (WHERE state = 'known'),
			count(*)
		FROM review_items WHERE learner_id = ?`,
		int64(day), int64(day), learnedDays, learnerID).Scan(&sum.Due, &next, &sum.Learned, &sum.Known, &sum.Total)
	if err != nil {
		return ReviewSummary{}, fmt.Errorf("store: review status of learner %d: %w", learnerID, err)
	}
	sum.Next = -1
	if next.Valid {
		sum.Next = Day(next.Int64)
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM review_items
			WHERE learner_id = ? AND state != 'known' AND due = ?`, learnerID, next.Int64).Scan(&sum.NextCount); err != nil {
			return ReviewSummary{}, fmt.Errorf("store: review status of learner %d: %w", learnerID, err)
		}
	}
	return sum, nil
}

// ChatWord is a word a group's members missed.
type ChatWord struct {
	LessonID, Term string
	// Misses counts the wrong answers to it in the chat.
	Misses int
}

// WordMissed counts a wrong answer to a word in a chat, on day.
func (s *Store) WordMissed(ctx context.Context, chat, lessonID, term string, day Day) error {
	_, err := s.exec(ctx, fmt.Sprintf("count a miss of %q in %s", term, chat),
		`INSERT INTO chat_words (chat, lesson_id, term, misses, last_missed) VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (chat, lesson_id, term) DO UPDATE SET misses = chat_words.misses + 1, last_missed = excluded.last_missed`,
		chat, lessonID, term, int64(day))
	return err
}

// GroupWords returns up to limit of the words the chat's members missed
// most that its review has not shown since restDays days before day: the
// group's review of that day.
func (s *Store) GroupWords(ctx context.Context, chat string, day Day, restDays int, limit int) ([]ChatWord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lesson_id, term, misses FROM chat_words
		WHERE chat = ? AND (shown IS NULL OR shown <= ?)
		ORDER BY misses DESC, last_missed DESC, lesson_id, term LIMIT ?`, chat, int64(day)-int64(restDays), limit)
	if err != nil {
		return nil, fmt.Errorf("store: group words of %s: %w", chat, err)
	}
	defer rows.Close()
	var out []ChatWord
	for rows.Next() {
		var w ChatWord
		if err := rows.Scan(&w.LessonID, &w.Term, &w.Misses); err != nil {
			return nil, fmt.Errorf("store: group words of %s: %w", chat, err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// MostMissed returns the word the chat's members missed most since day
// since, or ok false when they missed none.
func (s *Store) MostMissed(ctx context.Context, chat string, since Day) (w ChatWord, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT lesson_id, term, misses FROM chat_words
		WHERE chat = ? AND last_missed >= ? ORDER BY misses DESC, last_missed DESC, lesson_id, term LIMIT 1`,
		chat, int64(since)).Scan(&w.LessonID, &w.Term, &w.Misses)
	if errors.Is(err, sql.ErrNoRows) {
		return ChatWord{}, false, nil
	}
	if err != nil {
		return ChatWord{}, false, fmt.Errorf("store: most missed word of %s: %w", chat, err)
	}
	return w, true, nil
}

// WordsShown records that the chat's review showed words on day.
func (s *Store) WordsShown(ctx context.Context, chat string, words []ChatWord, day Day) error {
	for _, w := range words {
		if _, err := s.exec(ctx, fmt.Sprintf("mark %q shown in %s", w.Term, chat),
			`UPDATE chat_words SET shown = ? WHERE chat = ? AND lesson_id = ? AND term = ?`,
			int64(day), chat, w.LessonID, w.Term); err != nil {
			return err
		}
	}
	return nil
}

// MissedAnswers calls f with every wrong first answer stored, by learner
// and question, oldest first; for making review items of a history that
// predates them.
func (s *Store) MissedAnswers(ctx context.Context, f func(learnerID int64, chat, questionKey string, at time.Time) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT learner_id, chat, question_key, answered_at FROM answers
		WHERE correct = 0 ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: missed answers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			learner   int64
			chat, key string
			at        int64
		)
		if err := rows.Scan(&learner, &chat, &key, &at); err != nil {
			return fmt.Errorf("store: missed answers: %w", err)
		}
		if err := f(learner, chat, key, time.UnixMilli(at).UTC()); err != nil {
			return err
		}
	}
	return rows.Err()
}
