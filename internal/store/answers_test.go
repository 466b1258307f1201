package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// learnerForTest creates a Telegram learner named name.
func learnerForTest(t testing.TB, s *Store, name string) int64 {
	t.Helper()
	id, err := s.Learner(context.Background(), chat.User{Platform: chat.Telegram, ID: "id-" + name, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// record stores an answer and fails the test unless it was the first.
func record(t testing.TB, s *Store, a Answer) {
	t.Helper()
	if _, first, err := s.RecordAnswer(context.Background(), a); err != nil || !first {
		t.Fatalf("RecordAnswer(%+v) = first %v, %v", a, first, err)
	}
}

func TestRecordAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ada := learnerForTest(t, s, "Ada")
	at := time.Date(2025, 3, 1, 8, 0, 0, 123_456_789, time.UTC)
	original := Answer{LearnerID: ada, Chat: "telegram:-100", LessonID: "l1", QuestionKey: "l1/abc", Choice: 2, Correct: true, At: at}
	stored := original
	stored.At = at.Truncate(time.Millisecond)
	stored.Week = WeekOf(at, time.UTC) // no week given: the UTC one

	tests := []struct {
		name      string
		answer    Answer
		want      Answer
		wantFirst bool
	}{
		{"OKFirst", original, stored, true},
		{"OKSecondKeepsFirst", Answer{LearnerID: ada, Chat: "telegram:-200", LessonID: "l1", QuestionKey: "l1/abc",
			Choice: 0, Correct: false, At: at.Add(time.Minute)}, stored, false},
		{"OKOtherQuestion", Answer{LearnerID: ada, Chat: "telegram:-100", LessonID: "l1", QuestionKey: "l1/def",
			Choice: 1, At: at, Week: 7}, Answer{LearnerID: ada, Chat: "telegram:-100", LessonID: "l1", QuestionKey: "l1/def",
			Choice: 1, At: stored.At, Week: 7}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, first, err := s.RecordAnswer(ctx, tt.answer)
			if err != nil {
				t.Fatal(err)
			}
			if first != tt.wantFirst || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RecordAnswer = %+v, first %v; want %+v, first %v", got, first, tt.want, tt.wantFirst)
			}
		})
	}

	errTests := []struct {
		name   string
		ctx    func() context.Context
		answer Answer
		want   error
	}{
		{"ErrUnknownLearner", context.Background, Answer{LearnerID: 9999, QuestionKey: "q", At: at}, nil},
		{"ErrEmptyQuestionKey", context.Background, Answer{LearnerID: ada, At: at}, nil},
		{"ErrCanceled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, Answer{LearnerID: ada, QuestionKey: "never", At: at}, context.Canceled},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.RecordAnswer(tt.ctx(), tt.answer)
			if err == nil {
				t.Fatal("RecordAnswer succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}

	if _, answered, err := s.Score(ctx, ada); err != nil || answered != 2 {
		t.Errorf("Score answered = %d, %v; want 2", answered, err)
	}
}

// TestRecordAnswerBadInBatch checks that one failing answer in a batch
// fails only its own caller.
func TestRecordAnswerBadInBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ada := learnerForTest(t, s, "Ada")
	const n = 300
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a := Answer{LearnerID: ada, Chat: "c", LessonID: "l", QuestionKey: strconv.Itoa(i), At: time.Now()}
			if i%50 == 7 {
				a.LearnerID = 9999 // no such learner: foreign key violation
			}
			_, _, errs[i] = s.RecordAnswer(ctx, a)
		})
	}
	wg.Wait()
	bad := 0
	for i, err := range errs {
		if (err != nil) != (i%50 == 7) {
			t.Errorf("answer %d: error %v", i, err)
		}
		if err != nil {
			bad++
		}
	}
	if _, answered, err := s.Score(ctx, ada); err != nil || answered != n-bad {
		t.Errorf("Score answered = %d, %v; want %d", answered, err, n-bad)
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ada := learnerForTest(t, s, "Ada")
	bob := learnerForTest(t, s, "Bob")
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, correct := range []bool{true, false, true, true} {
		record(t, s, Answer{LearnerID: ada, Chat: "c", LessonID: "l", QuestionKey: strconv.Itoa(i), Correct: correct,
			At: base.Add(time.Duration(i) * 24 * time.Hour)})
	}

	tests := []struct {
		name                   string
		learner                int64
		wantCorrect, wantTotal int
	}{
		{"OK", ada, 3, 4},
		{"OKNoAnswers", bob, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, n, err := s.Score(ctx, tt.learner)
			if err != nil || c != tt.wantCorrect || n != tt.wantTotal {
				t.Errorf("Score = %d/%d, %v; want %d/%d", c, n, err, tt.wantCorrect, tt.wantTotal)
			}
		})
	}
}

func TestLeaderboard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const here, elsewhere = "telegram:-100", "telegram:-200"
	week := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	recent, old := week.Add(time.Hour), week.Add(-time.Hour)
	learners := map[string]int64{}
	for _, n := range []string{"Ada", "Bob", "Cy", "Dee", "Eve"} {
		learners[n] = learnerForTest(t, s, n)
	}
	answers := []struct {
		learner string
		chat    string
		correct []bool
		at      time.Time
	}{
		{"Ada", here, []bool{true, true, false}, recent},
		{"Cy", here, []bool{true, true}, recent},
		{"Bob", here, []bool{true, true}, week}, // exactly at since: counts
		{"Dee", here, []bool{true}, recent},
		{"Dee", here, []bool{true, true, true}, old},
		{"Eve", elsewhere, []bool{true, true, true, true, true}, recent},
	}
	for i, a := range answers {
		for j, c := range a.correct {
			record(t, s, Answer{LearnerID: learners[a.learner], Chat: a.chat, LessonID: "l",
				QuestionKey: fmt.Sprintf("%d-%d", i, j), Correct: c, At: a.at})
		}
	}
	rank := func(name string, correct, answered int) Rank {
		return Rank{LearnerID: learners[name], Name: name, Correct: correct, Answered: answered}
	}

	// Bob and Cy tie at 2/2: Bob got there first.
	thisWeek := WeekOf(week, time.UTC)
	tests := []struct {
		name  string
		chat  string
		week  int64
		limit int
		want  []Rank
	}{
		{"OKThisWeek", here, thisWeek, 10,
			[]Rank{rank("Bob", 2, 2), rank("Cy", 2, 2), rank("Ada", 2, 3), rank("Dee", 1, 1)}},
		{"OKAllTime", here, AllTime, 10,
			[]Rank{rank("Dee", 4, 4), rank("Bob", 2, 2), rank("Cy", 2, 2), rank("Ada", 2, 3)}},
		{"OKLimit", here, AllTime, 2, []Rank{rank("Dee", 4, 4), rank("Bob", 2, 2)}},
		{"OKNoLimit", here, thisWeek, 0,
			[]Rank{rank("Bob", 2, 2), rank("Cy", 2, 2), rank("Ada", 2, 3), rank("Dee", 1, 1)}},
		{"OKLastWeek", here, thisWeek - 1, 10, []Rank{rank("Dee", 3, 3)}},
		{"OKOtherChat", elsewhere, thisWeek, 10, []Rank{rank("Eve", 5, 5)}},
		{"OKEmpty", "discord:1", AllTime, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Leaderboard(ctx, tt.chat, tt.week, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Leaderboard = %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("OKAnswerCount", func(t *testing.T) {
		for _, c := range []struct {
			since time.Time
			want  int
		}{{time.Time{}, 16}, {week, 13}, {recent.Add(15 * time.Minute), 0}} {
			if got, err := s.AnswerCount(ctx, c.since); err != nil || got != c.want {
				t.Errorf("AnswerCount(%v) = %d, %v; want %d", c.since, got, err, c.want)
			}
		}
	})
}

func TestQuestionStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)

	t.Run("OKEmpty", func(t *testing.T) {
		got, err := s.QuestionStats(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("QuestionStats = %v, %v; want none", got, err)
		}
	})

	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, name := range []string{"Ada", "Bob", "Cy"} {
		id := learnerForTest(t, s, name)
		record(t, s, Answer{LearnerID: id, Chat: "c", LessonID: "l2", QuestionKey: "l2/x", Correct: i == 0, At: at})
		record(t, s, Answer{LearnerID: id, Chat: "c", LessonID: "l1", QuestionKey: "l1/y", Correct: true, At: at})
	}

	t.Run("OK", func(t *testing.T) {
		got, err := s.QuestionStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []QuestionStat{
			{LessonID: "l1", QuestionKey: "l1/y", Correct: 3, Answered: 3},
			{LessonID: "l2", QuestionKey: "l2/x", Correct: 1, Answered: 3},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("QuestionStats = %+v, want %+v", got, want)
		}
	})
}

// TestConcurrentAnswers has 50 goroutines answer for 5 s (1 s with -short),
// some answers repeating earlier questions, while others read scores and
// leaderboards and write other rows. No call may fail, SQLITE_BUSY
// included, and every distinct answer must be stored once.
func TestConcurrentAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const (
		writers   = 50
		readers   = 4
		chatKey   = "telegram:-100"
		dupEveryN = 10
	)
	run := 5 * time.Second
	if testing.Short() {
		run = time.Second
	}
	ids := make([]int64, writers)
	for w := range ids {
		ids[w] = learnerForTest(t, s, "w"+strconv.Itoa(w))
	}

	var (
		distinct, dups atomic.Int64
		writing        sync.WaitGroup
		others         sync.WaitGroup
		failures       = make(chan error, writers+readers+2)
	)
	fail := func(err error) {
		select {
		case failures <- err:
		default:
		}
	}
	deadline := time.Now().Add(run)
	for w := range writers {
		writing.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				a := Answer{LearnerID: ids[w], Chat: chatKey, LessonID: "l" + strconv.Itoa(i%7),
					QuestionKey: "q" + strconv.Itoa(i), Choice: i % 4, Correct: i%3 == 0, At: time.UnixMilli(int64(i))}
				dup := i%dupEveryN == dupEveryN-1
				if dup { // answer again the question of 5 iterations ago
					a.QuestionKey, a.Choice = "q"+strconv.Itoa(i-5), 99
				}
				stored, first, err := s.RecordAnswer(ctx, a)
				switch {
				case err != nil:
					fail(fmt.Errorf("writer %d, answer %d: %w", w, i, err))
					return
				case first == dup:
					fail(fmt.Errorf("writer %d, answer %d: first = %v for a repeat = %v", w, i, first, dup))
					return
				case dup && stored.Choice == 99:
					fail(fmt.Errorf("writer %d, answer %d: a repeat replaced the first answer", w, i))
					return
				}
				if first {
					distinct.Add(1)
				} else {
					dups.Add(1)
				}
			}
		})
	}
	stop := make(chan struct{})
	for r := range readers {
		others.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.Score(ctx, ids[(r+n)%writers]); err != nil {
					fail(fmt.Errorf("reader %d: %w", r, err))
					return
				}
				if _, err := s.Leaderboard(ctx, chatKey, AllTime, 10); err != nil {
					fail(fmt.Errorf("reader %d: %w", r, err))
					return
				}
			}
		})
	}
	// Other writes through the pool must get their turn too.
	others.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if err := s.SetValue(ctx, "offset", strconv.Itoa(n)); err != nil {
				fail(err)
				return
			}
			if _, err := s.Learner(ctx, chat.User{Platform: chat.Telegram, ID: "id-w0", Name: "w0 " + strconv.Itoa(n)}); err != nil {
				fail(err)
				return
			}
		}
	})
	writing.Wait()
	close(stop)
	others.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}

	got, err := s.AnswerCount(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(got) != distinct.Load() {
		t.Errorf("%d answers stored, %d distinct answers written", got, distinct.Load())
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	if diffs, err := s.CheckAggregates(ctx); err != nil || len(diffs) > 0 {
		t.Errorf("the aggregates after concurrent writers differ from a recount (%v):\n%s", err, strings.Join(diffs, "\n"))
	}
	t.Logf("%d distinct answers and %d repeats in %v", distinct.Load(), dups.Load(), run)
}

// BenchmarkRecordAnswer measures answers per second with 32 concurrent
// answerers (32 learners) and synchronous FULL: with group commit, and with
// one transaction per answer. A third case, one goroutine writing batches of
// 32 answers back to back with no callers to wake, is the ceiling group
// commit can reach with 32 answerers on this disk: each answer waits for one
// commit, and a commit of 32 answers cannot be faster than this.
func BenchmarkRecordAnswer(b *testing.B) {
	const answerers = 32
	ctx := context.Background()
	// Learner w's n-th answer (the i-th of all) is to question n%3 of
	// lesson n/3: a group working through the same quizzes, as the
	// aggregates see them in a live chat (a few questions per batch, each
	// learner's score and week, the quarter of an hour).
	answer := func(ids []int64, w int, n, i int64) Answer {
		lesson := fmt.Sprintf("l%06d", n/3)
		at := time.UnixMilli(1_780_000_000_000 + i)
		return Answer{LearnerID: ids[w], Chat: "telegram:-100", LessonID: lesson,
			QuestionKey: fmt.Sprintf("%s:%d", lesson, n%3), Choice: int(i % 4), Correct: i%2 == 0, At: at,
			Week: WeekOf(at, time.UTC)}
	}
	setup := func(b *testing.B) (*Store, []int64) {
		s := openTest(b)
		ids := make([]int64, answerers)
		for w := range ids {
			ids[w] = learnerForTest(b, s, "a"+strconv.Itoa(w))
		}
		return s, ids
	}
	modes := []struct {
		name   string
		record func(*Store, Answer) error
	}{
		{"group-commit", func(s *Store, a Answer) error {
			_, _, err := s.RecordAnswer(ctx, a)
			return err
		}},
		{"one-tx-per-answer", func(s *Store, a Answer) error {
			_, _, err := s.recordAnswerTx(ctx, s.db, a)
			return err
		}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s, ids := setup(b)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range answerers {
				wg.Go(func() {
					for n := int64(0); ; n++ {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if err := m.record(s, answer(ids, w, n, i)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
		})
	}
	b.Run("ceiling-sequential-batches-of-32", func(b *testing.B) {
		s, ids := setup(b)
		batch := make([]*answerRequest, 0, answerers)
		b.ResetTimer()
		for i := int64(1); i <= int64(b.N); {
			batch = batch[:0]
			for w := 0; w < answerers && i <= int64(b.N); w, i = w+1, i+1 {
				batch = append(batch, &answerRequest{ctx: ctx, answer: answer(ids, w, (i-1)/answerers, i)})
			}
			if _, err := s.writeBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
	})
	// Two more ceilings, of tables laid out otherwise than answers, written
	// the same way (batches of 32 in one multi-row INSERT OR IGNORE, one
	// transaction each, synchronous FULL, no aggregates): they show what
	// the layout costs. Until migration 0005 answers kept its uniqueness by
	// learner first, so the 32 learners of a batch touched 32 leaf pages of
	// that index, and every page is a WAL frame written and synced; keyed
	// by question first, as now, the batch's rows sit together. A table
	// with no index at all is the ceiling of 32 answers per commit on this
	// machine whatever the layout.
	layouts := []struct{ name, ddl string }{
		{"ceiling-layout-learner-first-key-before-0005", `CREATE TABLE other_answers (
			id INTEGER PRIMARY KEY, learner_id INTEGER NOT NULL, chat TEXT NOT NULL, lesson_id TEXT NOT NULL,
			question_key TEXT NOT NULL, choice INTEGER NOT NULL, correct INTEGER NOT NULL, answered_at INTEGER NOT NULL,
			week INTEGER NOT NULL, UNIQUE (learner_id, question_key)) STRICT;
			CREATE INDEX other_answers_chat_time ON other_answers (chat, answered_at);
			CREATE INDEX other_answers_time ON other_answers (answered_at)`},
		{"ceiling-layout-no-index", `CREATE TABLE other_answers (
			id INTEGER PRIMARY KEY, learner_id INTEGER NOT NULL, chat TEXT NOT NULL, lesson_id TEXT NOT NULL,
			question_key TEXT NOT NULL, choice INTEGER NOT NULL, correct INTEGER NOT NULL, answered_at INTEGER NOT NULL,
			week INTEGER NOT NULL) STRICT`},
	}
	for _, layout := range layouts {
		b.Run(layout.name, func(b *testing.B) {
			s, ids := setup(b)
			if _, err := s.db.ExecContext(ctx, layout.ddl); err != nil {
				b.Fatal(err)
			}
			insert, err := s.db.PrepareContext(ctx, strings.Replace(insertAnswersSQL(answerers), "INTO answers", "INTO other_answers", 1))
			if err != nil {
				b.Fatal(err)
			}
			defer insert.Close()
			args := make([]any, 0, 8*answerers)
			b.ResetTimer()
			for i := int64(1); i <= int64(b.N); {
				args = args[:0]
				for w := 0; w < answerers; w, i = w+1, i+1 {
					a := answer(ids, w, (i-1)/answerers, i)
					args = append(args, a.LearnerID, a.Chat, a.LessonID, a.QuestionKey, a.Choice, boolInt(a.Correct), a.At.UnixMilli(), a.Week)
				}
				tx, err := s.db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.StmtContext(ctx, insert).ExecContext(ctx, args...); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
		})
	}
	// The hardware floor: one 4 KiB write and fsync of a file on the same
	// file system as the databases above (both under the test's temporary
	// directory). Every commit pays at least one, so with 32 answerers each
	// waiting for its own commit, 32 answers per fsync bounds group commit
	// from above whatever the CPU does; that bound is reported too.
	b.Run("fsync-4KiB-floor", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		b.ResetTimer()
		for i := range b.N {
			if _, err := f.WriteAt(page, int64(i%256)*int64(len(page))); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		perSec := float64(b.N) / b.Elapsed().Seconds()
		b.ReportMetric(perSec, "fsyncs/s")
		b.ReportMetric(answerers*perSec, "answers/s-bound")
	})
}

// batchOf makes committer requests of answers, in that order, each with a
// reply channel.
func batchOf(ctx context.Context, answers ...Answer) []*answerRequest {
	batch := make([]*answerRequest, len(answers))
	for i, a := range answers {
		batch[i] = &answerRequest{ctx: ctx, answer: a, reply: make(chan answerResult, 1)}
	}
	return batch
}

// TestWriteBatch checks the multi-row statements of a batch against the
// rule one answer at a time would give: the first answer to a question
// counts, whether it came in an earlier batch or earlier in the same one.
func TestWriteBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ada := learnerForTest(t, s, "Ada")
	bob := learnerForTest(t, s, "Bob")
	at := time.Date(2025, 3, 1, 8, 0, 0, 123_456_789, time.UTC)
	stored := func(a Answer) Answer {
		a.At = a.At.Truncate(time.Millisecond)
		a.Week = WeekOf(a.At, time.UTC) // an unset week is stored as the UTC one
		return a
	}
	answer := func(learner int64, key string, choice int) Answer {
		return Answer{LearnerID: learner, Chat: "telegram:-100", LessonID: "l1", QuestionKey: key, Choice: choice,
			Correct: choice == 1, At: at.Add(time.Duration(choice) * time.Second)}
	}
	earlier := answer(ada, "before", 3)
	record(t, s, earlier)

	tests := []struct {
		name      string
		batch     []Answer
		want      []Answer
		wantFirst []bool
	}{
		{"OKNew",
			[]Answer{answer(ada, "a", 0), answer(bob, "a", 1)},
			[]Answer{stored(answer(ada, "a", 0)), stored(answer(bob, "a", 1))},
			[]bool{true, true}},
		{"OKDuplicateInBatchFirstWins",
			[]Answer{answer(ada, "b", 2), answer(bob, "b", 0), answer(ada, "b", 1), answer(ada, "b", 0)},
			[]Answer{stored(answer(ada, "b", 2)), stored(answer(bob, "b", 0)), stored(answer(ada, "b", 2)), stored(answer(ada, "b", 2))},
			[]bool{true, true, false, false}},
		{"OKAnsweredInEarlierBatch",
			[]Answer{answer(ada, "before", 0), answer(bob, "c", 1)},
			[]Answer{stored(earlier), stored(answer(bob, "c", 1))},
			[]bool{false, true}},
		{"OKAnsweredEarlierAndDuplicateInBatch",
			[]Answer{answer(ada, "before", 1), answer(ada, "d", 0), answer(ada, "before", 2)},
			[]Answer{stored(earlier), stored(answer(ada, "d", 0)), stored(earlier)},
			[]bool{false, true, false}},
		{"OKAllAnsweredBefore",
			[]Answer{answer(ada, "a", 3), answer(bob, "a", 3)},
			[]Answer{stored(answer(ada, "a", 0)), stored(answer(bob, "a", 1))},
			[]bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := s.writeBatch(ctx, batchOf(ctx, tt.batch...))
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(tt.batch) {
				t.Fatalf("%d results for %d answers", len(results), len(tt.batch))
			}
			for i, r := range results {
				if r.err != nil || r.first != tt.wantFirst[i] || !reflect.DeepEqual(r.stored, tt.want[i]) {
					t.Errorf("answer %d: got %+v, first %v, %v; want %+v, first %v", i, r.stored, r.first, r.err, tt.want[i], tt.wantFirst[i])
				}
			}
		})
	}
	if _, answered, err := s.Score(ctx, ada); err != nil || answered != 4 { // before, a, b, d
		t.Errorf("Score answered = %d, %v; want 4", answered, err)
	}
}

// TestWriteBatchMatchesOneByOne writes random batches, larger than one
// statement's rows and full of repeats, and checks every result against the
// same answers recorded one by one, each in its own transaction, on a
// second database.
func TestWriteBatchMatchesOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	batched, single := openTest(t), openTest(t)
	const learners = 5
	ids := make([]int64, learners)
	for i := range ids {
		ids[i] = learnerForTest(t, batched, "l"+strconv.Itoa(i))
		if id := learnerForTest(t, single, "l"+strconv.Itoa(i)); id != ids[i] {
			t.Fatalf("learner ids differ: %d and %d", ids[i], id)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	sizes := []int{1, 2, 7, maxRowsPerStatement - 1, maxRowsPerStatement, maxRowsPerStatement + 1, 3*maxRowsPerStatement + 5, maxAnswerBatch}
	for round, size := range sizes {
		answers := make([]Answer, size)
		for i := range answers {
			// 60 questions for 5 learners: later rounds mostly repeat.
			answers[i] = Answer{LearnerID: ids[rng.IntN(learners)], Chat: "c" + strconv.Itoa(round), LessonID: "l",
				QuestionKey: "q" + strconv.Itoa(rng.IntN(60)), Choice: i, Correct: rng.IntN(2) == 0,
				At: at.Add(time.Duration(rng.Int64N(1e12)))}
		}
		results, err := batched.writeBatch(ctx, batchOf(ctx, answers...))
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		firsts := 0
		for i, a := range answers {
			want, wantFirst, err := single.recordAnswerTx(ctx, single.db, a)
			if err != nil {
				t.Fatal(err)
			}
			if r := results[i]; r.err != nil || r.first != wantFirst || !reflect.DeepEqual(r.stored, want) {
				t.Errorf("round %d (%d answers), answer %d: got %+v, first %v, %v; want %+v, first %v",
					round, size, i, r.stored, r.first, r.err, want, wantFirst)
			}
			if wantFirst {
				firsts++
			}
		}
		t.Logf("round %d: %d answers, %d first", round, size, firsts)
	}
	for _, id := range ids {
		c1, n1, err1 := batched.Score(ctx, id)
		c2, n2, err2 := single.Score(ctx, id)
		if err1 != nil || err2 != nil || c1 != c2 || n1 != n2 {
			t.Errorf("learner %d: score %d/%d (%v) batched, %d/%d (%v) one by one", id, c1, n1, err1, c2, n2, err2)
		}
	}
}

// TestCommitBatchBadRow checks that an answer that fails in a multi-row
// statement (an unknown learner breaks the foreign key) makes the batch fall
// back to one answer at a time, so that only its own caller fails; the
// others, repeats within the batch included, get what they would have got.
func TestCommitBatchBadRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	ada := learnerForTest(t, s, "Ada")
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	answers := make([]Answer, 0, 2*maxRowsPerStatement)
	for i := range 2 * maxRowsPerStatement {
		answers = append(answers, Answer{LearnerID: ada, Chat: "c", LessonID: "l", QuestionKey: "q" + strconv.Itoa(i/2),
			Choice: i, At: at})
	}
	const bad = maxRowsPerStatement + 2 // the first of a pair, in the second statement
	answers[bad].LearnerID = 9999
	batch := batchOf(ctx, answers...)
	s.commitBatch(batch)
	for i, req := range batch {
		r := <-req.reply
		switch {
		case i == bad:
			if r.err == nil {
				t.Errorf("answer %d (unknown learner): no error", i)
			}
		case r.err != nil:
			t.Errorf("answer %d: %v", i, r.err)
		case i%2 == 0 || i == bad+1:
			// The first of its pair, or the second when the first failed.
			if !r.first || r.stored.Choice != i {
				t.Errorf("answer %d: first %v, choice %d; want first, choice %d", i, r.first, r.stored.Choice, i)
			}
		default:
			if r.first || r.stored.Choice != i-1 {
				t.Errorf("answer %d: first %v, choice %d; want a repeat of choice %d", i, r.first, r.stored.Choice, i-1)
			}
		}
	}
	if _, answered, err := s.Score(ctx, ada); err != nil || answered != maxRowsPerStatement {
		t.Errorf("Score answered = %d, %v; want %d", answered, err, maxRowsPerStatement)
	}
}

// TestGatherAnswers checks how the committer fills a batch: it takes all
// that is queued, waits for the rest of the batch it wants until the answer
// that completes it wakes it, and gives up when the linger ends.
func TestGatherAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A store with no committer running: the test plays its part.
	bare := func(linger time.Duration) *Store {
		return &Store{answers: make(chan *answerRequest, maxAnswerBatch), filled: make(chan struct{}, 1), linger: linger}
	}
	send := func(s *Store, n int) {
		for range n {
			s.answers <- &answerRequest{ctx: ctx}
			s.answerQueued()
		}
	}
	stopped := func() *time.Timer {
		tm := time.NewTimer(time.Hour)
		tm.Stop()
		return tm
	}

	t.Run("OKTakesAllQueued", func(t *testing.T) {
		s := bare(time.Hour)
		send(s, 5)
		if got := s.gatherAnswers(nil, 3, stopped()); len(got) != 5 {
			t.Errorf("gathered %d answers, want the 5 queued", len(got))
		}
	})

	t.Run("OKUpToMaxBatch", func(t *testing.T) {
		s := bare(time.Hour)
		send(s, maxAnswerBatch)
		if got := s.gatherAnswers(make([]*answerRequest, 0, 1), maxAnswerBatch, stopped()); len(got) != maxAnswerBatch {
			t.Errorf("gathered %d answers, want %d", len(got), maxAnswerBatch)
		}
	})

	t.Run("OKNoWaitWhenWantMet", func(t *testing.T) {
		s := bare(time.Hour)
		if got := s.gatherAnswers(nil, 0, stopped()); len(got) != 0 { // as on Close
			t.Errorf("gathered %d answers from an empty queue", len(got))
		}
	})

	t.Run("OKWokenWhenFilled", func(t *testing.T) {
		s := bare(time.Hour) // only the wakeup can end the wait
		send(s, 1)
		done := make(chan []*answerRequest, 1)
		go func() { done <- s.gatherAnswers(nil, 4, stopped()) }()
		deadline := time.Now().Add(10 * time.Second)
		for s.gathering.Load() != 3 { // it took the first and waits for 3 more
			if time.Now().After(deadline) {
				t.Fatal("the committer never waited for 3 answers")
			}
			time.Sleep(time.Millisecond)
		}
		send(s, 3)
		select {
		case got := <-done:
			if len(got) != 4 {
				t.Errorf("gathered %d answers, want 4", len(got))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the answer that filled the batch did not wake the committer")
		}
	})

	t.Run("OKLingerEnds", func(t *testing.T) {
		const linger = 20 * time.Millisecond
		s := bare(linger)
		send(s, 2)
		s.filled <- struct{}{} // a wakeup left over from an earlier wait
		start := time.Now()
		got := s.gatherAnswers(nil, 10, stopped())
		if len(got) != 2 {
			t.Errorf("gathered %d answers, want the 2 queued", len(got))
		}
		if waited := time.Since(start); waited < linger {
			t.Errorf("waited %v, want the whole linger of %v", waited, linger)
		}
	})
}
