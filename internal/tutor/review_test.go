package tutor

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/review"
	"github.com/lessonbot/lessonbot/internal/store"

	_ "modernc.org/sqlite" // the deletion test reads every table as it is
)

// day is the local day of t in UTC, the harness chats' zone.
func day(t time.Time) store.Day { return store.Day(review.DayOf(t, time.UTC)) }

// items returns the learner's review items by lesson/term.
func (h *harness) items(u chat.User) map[string]store.ReviewItem {
	h.t.Helper()
	id, err := h.st.FindLearner(h.ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	its, err := h.st.Items(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]store.ReviewItem{}
	for _, it := range its {
		out[it.LessonID+"/"+it.Term] = it
	}
	return out
}

// answer presses choice right (or a wrong one) of q as s.
func (h *harness) answerQ(s sender, q quiz.Question, right bool) chat.PressReply {
	h.t.Helper()
	choice := q.Correct
	if !right {
		choice = wrong(q)
	}
	return h.press(s, pressData(q, choice))
}

// reviewQ returns the review question of a word.
func (h *harness) reviewQ(lessonID, term string) quiz.Question {
	h.t.Helper()
	for _, q := range quiz.Reviews(h.lesson(lessonID), h.lessons.Library()) {
		if q.Term == term {
			return q
		}
	}
	h.t.Fatalf("no review question of %q in %s", term, lessonID)
	return quiz.Question{}
}

// reviewPress is the data of choice i (or "k") of a review question.
func reviewPress(prefix string, q quiz.Question, choice string) string {
	return fmt.Sprintf("%s:%s:%s", prefix, q.Key, choice)
}

func right(q quiz.Question) string   { return fmt.Sprint(q.Correct) }
func wrongOf(q quiz.Question) string { return fmt.Sprint((q.Correct + 1) % len(q.Choices)) }
func dayAfter(n int) time.Time       { return monday.AddDate(0, 0, n) }

// TestIntake takes first quiz answers into review: a missed word comes in
// graded Again, due the next day; each lesson answered brings its first
// word not yet an item, new and due the next day; a right answer to a word
// already an item grades it; a second answer to a question changes
// nothing.
func TestIntake(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	river := h.questions(riverID) // wade (meaning), rusty (reverse), bank (meaning)
	h.answerQ(ann, river[0], false)
	got := h.items(ann.user)
	wade, rusty := got[riverID+"/wade"], got[riverID+"/rusty"]
	if len(got) != 2 {
		t.Fatalf("items after a missed word: %v, want wade and rusty", got)
	}
	today := day(monday)
	if wade.Source != "missed" || wade.State != store.ItemReview || wade.Due != today+1 || wade.Graded != today ||
		wade.LastResult != "wrong" || wade.Stability != 0.212 {
		t.Errorf("missed word = %+v, want graded Again today (S 0.212), due tomorrow", wade)
	}
	if rusty.Source != "lesson" || rusty.State != store.ItemNew || rusty.Due != today+1 || rusty.Graded != -1 {
		t.Errorf("lesson word = %+v, want new, due tomorrow", rusty)
	}
	// A right answer to rusty, the lesson word, grades it.
	h.answerQ(ann, river[1], true)
	rusty = h.items(ann.user)[riverID+"/rusty"]
	if rusty.State != store.ItemReview || rusty.Graded != today || rusty.Stability != 2.3065 || rusty.Due <= today+1 {
		t.Errorf("graded lesson word = %+v, want Good (S 2.3065), due later", rusty)
	}
	// Another lesson, answered right on an authored question: only its
	// first word comes in.
	bakery := h.questions(bakeryID)
	h.answerQ(ann, bakery[0], true)
	if knead, ok := h.items(ann.user)[bakeryID+"/knead"]; !ok || knead.Source != "lesson" || len(h.items(ann.user)) != 3 {
		t.Errorf("items after an authored question: %v, want knead added", h.items(ann.user))
	}
	// A second answer to a question counts for nothing.
	h.answerQ(ann, river[2], true)
	before := h.items(ann.user)
	h.answerQ(ann, river[2], false)
	if after := h.items(ann.user); !equalItems(before, after) {
		t.Errorf("a second answer changed the items: %v, then %v", before, after)
	}
}

func equalItems(a, b map[string]store.ReviewItem) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// addItem stores an item for u directly.
func (h *harness) addItem(u chat.User, lessonID, term string, due store.Day, stability float64) {
	h.t.Helper()
	id, err := h.st.Learner(h.ctx, u)
	if err != nil {
		h.t.Fatal(err)
	}
	state := store.ItemReview
	graded := due - 1
	if stability == 0 {
		state, graded = store.ItemNew, -1
	}
	if _, err := h.st.AddItem(h.ctx, store.ReviewItem{LearnerID: id, LessonID: lessonID, Term: term, Source: "missed",
		State: state, Stability: stability, Difficulty: 5, Due: due, Graded: graded}); err != nil {
		h.t.Fatal(err)
	}
}

// composeLesson composes a scheduled delivery of lesson to s's chat at
// slot, as the delivery workers do.
func (h *harness) composeLesson(s sender, lessonID string, slot time.Time) ([]chat.Message, store.Delivery) {
	h.t.Helper()
	sub := h.mustRow(s.addr)
	if _, err := h.st.EnqueueSlot(h.ctx, []int64{sub.ID}, slot); err != nil {
		h.t.Fatal(err)
	}
	ds, err := h.st.Deliveries(h.ctx, sub.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	d := ds[len(ds)-1]
	if err := h.st.AssignLesson(h.ctx, d.ID, lessonID); err != nil {
		h.t.Fatal(err)
	}
	d.LessonID = lessonID
	msgs, ok, err := h.tutor.Compose(h.ctx, d, sub)
	if err != nil || !ok {
		h.t.Fatalf("Compose = %v, %v", ok, err)
	}
	return msgs, d
}

// reviewTerms returns the words of the review questions among msgs.
func reviewTerms(t testing.TB, h *harness, msgs []chat.Message) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		if !strings.HasPrefix(m.Title, "Review ") || len(m.Buttons) == 0 {
			continue
		}
		key := strings.SplitN(m.Buttons[0].Data, ":", 2)[1]
		key = key[:strings.LastIndexByte(key, ':')]
		q, _, ok := h.tutor.reviewByKey(key)
		if !ok {
			t.Fatalf("review button %q names no word", m.Buttons[0].Data)
		}
		out = append(out, q.Term)
	}
	return out
}

// TestDailyReview composes a private chat's daily lesson: its post ends
// with the review line, and up to daily_reviews due words follow the quiz,
// oldest due first, then lowest stability, then oldest item; words not
// due yet wait. A second composition of the same delivery keeps its words
// even after they were reviewed. A group's lesson reviews the words its
// members missed most.
func TestDailyReview(t *testing.T) {
	settings := defaultSettings()
	settings.DailyReviews = 3
	h := newHarnessWith(t, settings)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, "/subscribe 08:00 UTC")
	today := day(monday)
	h.addItem(ann.user, riverID, "bank", today, 5)     // due today, stable
	h.addItem(ann.user, riverID, "dump", today-3, 9)   // the oldest due
	h.addItem(ann.user, riverID, "wade", today, 1)     // due today, less stable than bank
	h.addItem(ann.user, bakeryID, "dough", today, 1)   // as wade; a later item
	h.addItem(ann.user, bakeryID, "knead", today+1, 1) // not due
	msgs, d := h.composeLesson(ann, trainsID, monday)
	if got, want := reviewTerms(t, h, msgs), []string{"dump", "wade", "dough"}; !slices.Equal(got, want) {
		t.Errorf("review words %q, want %q", got, want)
	}
	post := msgs[0]
	if last := post.Blocks[len(post.Blocks)-1].Text; last != "Review: 3 words from earlier lessons, after the quiz." {
		t.Errorf("the post ends with %q, want the review line", last)
	}
	q := msgs[len(msgs)-1]
	if !q.Question || len(q.Buttons) != 5 || q.Buttons[4].Label != "I know this" || q.Title != "Review 3/3" {
		t.Errorf("the last review question = %+v, want 4 choices and I know this", q)
	}
	// The cloze: the article's sentence with the word blanked.
	wadeQ := msgs[len(msgs)-2]
	if text := wadeQ.Blocks[0].Text; !strings.Contains(text, "volunteers _____ into the river") {
		t.Errorf("the question of wade = %q, want its sentence with a blank", text)
	}

	// Reviewed meanwhile: a second composition keeps the same words.
	h.press(ann, reviewPress("r", h.reviewQ(riverID, "dump"), "k"))
	sub := h.mustRow(ann.addr)
	ds, _ := h.st.Deliveries(h.ctx, sub.ID)
	again, _, err := h.tutor.Compose(h.ctx, ds[len(ds)-1], sub)
	if err != nil {
		t.Fatal(err)
	}
	if got := reviewTerms(t, h, again); !slices.Equal(got, []string{"dump", "wade", "dough"}) || ds[len(ds)-1].ID != d.ID {
		t.Errorf("recomposed review words %q, want the same three", got)
	}

	t.Run("OKGroup", func(t *testing.T) {
		grp := inGroup("-100", "1", "Mia", true)
		bob, cara := inGroup("-100", "2", "Bob", false), inGroup("-100", "3", "Cara", false)
		h.sendAll(grp, "/subscribe 08:00 UTC")
		river := h.questions(riverID)
		h.answerQ(bob, river[0], false)  // wade
		h.answerQ(cara, river[0], false) // wade
		h.answerQ(cara, river[2], false) // bank
		h.answerQ(bob, river[1], true)
		msgs, _ := h.composeLesson(grp, trainsID, monday)
		if got := reviewTerms(t, h, msgs); !slices.Equal(got, []string{"wade", "bank"}) {
			t.Errorf("group review words %q, want wade (missed twice), bank", got)
		}
		// Shown: they rest for three days.
		next, _ := h.composeLesson(grp, bakeryID, monday.Add(time.Hour))
		if got := reviewTerms(t, h, next); len(got) != 0 {
			t.Errorf("the next lesson reviews %q again, want a rest", got)
		}
	})
}

// TestReviewPress grades review presses: the presser's own item only, once
// a day, "I know this" retires an item, and forged data changes nothing.
func TestReviewPress(t *testing.T) {
	h := newHarness(t)
	grp := "-100"
	bob, cara, dan := inGroup(grp, "2", "Bob", false), inGroup(grp, "3", "Cara", false), inGroup(grp, "4", "Dan", false)
	river := h.questions(riverID)
	h.answerQ(bob, river[0], false)
	h.answerQ(cara, river[0], false)
	wadeQ := h.reviewQ(riverID, "wade")
	h.setClock(dayAfter(1))
	caraBefore := h.items(cara.user)[riverID+"/wade"]

	reply := h.press(bob, reviewPress("r", wadeQ, right(wadeQ)))
	bobWade := h.items(bob.user)[riverID+"/wade"]
	if !strings.HasPrefix(reply.Notice, "✅ Right! It comes back ") || bobWade.Graded != day(dayAfter(1)) || bobWade.Reps != 2 ||
		bobWade.Due <= day(dayAfter(1)) {
		t.Errorf("Bob's press: %q, item %+v; want right, graded today, due later", reply.Notice, bobWade)
	}
	if got := h.items(cara.user)[riverID+"/wade"]; got != caraBefore {
		t.Errorf("Bob's press changed Cara's item: %+v, was %+v", got, caraBefore)
	}
	// Again the same day: nothing changes, and the presser is told.
	if reply := h.press(bob, reviewPress("r", wadeQ, wrongOf(wadeQ))); reply.Notice != say("en", keyReviewAlready) {
		t.Errorf("a second press the same day: %q", reply.Notice)
	}
	if got := h.items(bob.user)[riverID+"/wade"]; got != bobWade {
		t.Errorf("a second press changed the item: %+v, was %+v", got, bobWade)
	}
	// Cara misses it again: a lapse.
	reply = h.press(cara, reviewPress("r", wadeQ, wrongOf(wadeQ)))
	caraWade := h.items(cara.user)[riverID+"/wade"]
	if !strings.HasPrefix(reply.Notice, "❌ It was “patauger”.") || caraWade.Lapses != 1 || caraWade.LastResult != "wrong" {
		t.Errorf("Cara's wrong press: %q, item %+v; want a lapse", reply.Notice, caraWade)
	}
	// Dan never had the word: pressing makes his own item.
	h.press(dan, reviewPress("r", wadeQ, right(wadeQ)))
	if it, ok := h.items(dan.user)[riverID+"/wade"]; !ok || it.LastResult != "right" {
		t.Errorf("Dan's item = %+v, %v; want one graded right", it, ok)
	}
	// I know this: retired, never due again.
	h.setClock(dayAfter(2))
	if reply := h.press(cara, reviewPress("r", wadeQ, "k")); reply.Notice != say("en", keyReviewKnown) {
		t.Errorf("I know this: %q", reply.Notice)
	}
	id, _ := h.st.FindLearner(h.ctx, cara.user)
	due, _ := h.st.DueItems(h.ctx, id, day(dayAfter(400)), 10)
	for _, it := range due {
		if it.Term == "wade" {
			t.Errorf("a known item is still due: %+v", it)
		}
	}
	// Forged data.
	for _, data := range []string{"r:" + wadeQ.Key + ":9", "r:river-cleanup:00000000:1", "v99x:" + wadeQ.Key + ":1", "r:" + wadeQ.Key} {
		if reply := h.press(bob, data); reply.Notice == "" || strings.HasPrefix(reply.Notice, "✅") {
			t.Errorf("forged %q: %+v", data, reply)
		}
	}
}

// TestReviewCommand runs /review: due words one at a time, then when the
// next review is; none due says so; 20 words at most; a Telegram group
// gets a button to the private chat; a channel is told to ask in private.
func TestReviewCommand(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	if got := allText(h.send(ann, "/review")); got != say("en", keyReviewEmpty) {
		t.Errorf("no items: %q", got)
	}
	today := day(monday)
	h.addItem(ann.user, riverID, "wade", today, 1)
	h.addItem(ann.user, riverID, "bank", today-1, 1)
	h.addItem(ann.user, bakeryID, "knead", today+1, 1)
	msgs := h.send(ann, "/review")
	if got := reviewTerms(t, h, msgs); !slices.Equal(got, []string{"bank"}) || msgs[0].Title != "Review 1/2" {
		t.Fatalf("/review = %q (%q), want bank first", got, msgs[0].Title)
	}
	reply := h.press(ann, msgs[0].Buttons[h.reviewQ(riverID, "bank").Correct].Data)
	if got := reviewTerms(t, h, reply.Messages); !slices.Equal(got, []string{"wade"}) || reply.Messages[0].Title != "Review 2/2" {
		t.Fatalf("after the first word: %q, want wade", allText(reply.Messages))
	}
	reply = h.press(ann, reply.Messages[0].Buttons[h.reviewQ(riverID, "wade").Correct].Data)
	if got, want := allText(reply.Messages), "Review done: 2 words. Next review: tomorrow, 1 word."; got != want {
		t.Errorf("end of the review: %q, want %q", got, want)
	}
	if got, want := allText(h.send(ann, "/review")), "Nothing to review today. Next review: tomorrow, 1 word."; got != want {
		t.Errorf("nothing due: %q, want %q", got, want)
	}
	// /start review (Telegram's deep link) is /review.
	if got := allText(h.send(ann, "/start review")); !strings.HasPrefix(got, "Nothing to review today") {
		t.Errorf("/start review: %q", got)
	}

	t.Run("OKTwentyAtMost", func(t *testing.T) {
		h := newHarness(t)
		bob := inPrivate("8", "Bob")
		// A lesson of 25 words, all due.
		var article, vocab strings.Builder
		for i := range 25 {
			fmt.Fprintf(&article, "Here is word%02d. ", i)
			fmt.Fprintf(&vocab, "- word%02d: mot%02d\n", i, i)
		}
		var src strings.Builder
		src.WriteString("---\ntitle: Many words\nlevel: A1\n---\n" + article.String() + "\n\n## Summary\nWords.\n\n## Vocabulary\n" + vocab.String())
		many := parseLesson(t, "many-words", src.String())
		h.lessons.set(lesson.NewLibrary(append(slices.Clone(h.lessons.Library().Lessons()), many)))
		for _, term := range many.Terms {
			h.addItem(bob.user, many.ID, term.Term, today, 1)
		}
		msgs := h.send(bob, "/review")
		done := 0
		for len(msgs) == 1 && msgs[0].Question {
			done++
			msgs = h.press(bob, msgs[0].Buttons[0].Data).Messages
		}
		if done != reviewSession {
			t.Errorf("reviewed %d words, want %d", done, reviewSession)
		}
		if got, want := allText(msgs), "Review done: 20 words. Next review: today, 5 words."; got != want {
			t.Errorf("after 20 words: %q, want %q", got, want)
		}
	})
	t.Run("OKGroupDeepLink", func(t *testing.T) {
		msgs := h.send(inGroup("-100", "7", "Ann", false), "/review")
		if len(msgs) != 1 || len(msgs[0].Buttons) != 1 || msgs[0].Buttons[0].Start != "review" {
			t.Errorf("/review in a group: %+v, want a button to the private chat", msgs)
		}
	})
	t.Run("OKChannel", func(t *testing.T) {
		ch := sender{addr: chat.Address{Platform: chat.Telegram, ChatID: "-1009"}, kind: chat.Channel,
			user: chat.User{Platform: chat.Telegram, Name: "News"}}
		if got := allText(h.send(ch, "/review")); got != say("en", keyReviewChannel) {
			t.Errorf("/review in a channel: %q", got)
		}
	})
	t.Run("OKDiscordServer", func(t *testing.T) {
		// A Discord server's reply is the asker's alone: the review itself.
		ds := sender{addr: chat.Address{Platform: chat.Discord, ChatID: "c1"}, kind: chat.Group,
			user: chat.User{Platform: chat.Discord, ID: "d7", Name: "Dee"}}
		h.addItem(ds.user, riverID, "dump", today, 1)
		if got := reviewTerms(t, h, h.send(ds, "/review")); !slices.Equal(got, []string{"dump"}) {
			t.Errorf("/review on Discord: %q, want the review", got)
		}
	})
}

// TestExport sends the asker's words as an Anki file with the exact
// headers, or as a CSV that reads back with a quoted comma and guarded
// formula cells; in a Telegram group it asks for the private chat.
func TestExport(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	if got := allText(h.send(ann, "/export")); got != say("en", keyExportNone) {
		t.Errorf("no words: %q", got)
	}
	h.addItem(ann.user, riverID, "bank", day(monday), 3)
	h.addItem(ann.user, riverID, "wade", day(monday), 0)
	msgs := h.send(ann, "/export")
	if len(msgs) != 1 || msgs[0].File == nil {
		t.Fatalf("/export = %+v, want a file", msgs)
	}
	tsv := string(msgs[0].File.Data)
	headers := "#separator:tab\n#html:true\n#notetype:Basic\n#deck column:3\n#tags column:4\n#columns:Front\tBack\tDeck\tTags\n"
	if !strings.HasPrefix(tsv, headers) || msgs[0].File.Name != "lessonbot-anki.txt" {
		t.Errorf("the Anki file %q starts %q, want the headers %q", msgs[0].File.Name, tsv, headers)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(tsv, headers), "\n"), "\n")
	if len(lines) != 2 || len(strings.Split(lines[0], "\t")) != 4 || !strings.Contains(lines[0], "rive, berge") ||
		!strings.Contains(lines[0], "\tlessonbot\t") || !strings.Contains(lines[0], "B1") {
		t.Errorf("the Anki lines %q, want 2 of 4 fields", lines)
	}
	if !strings.Contains(allText(msgs), "2 words") {
		t.Errorf("the caption %q, want the count", allText(msgs))
	}

	msgs = h.send(ann, "/export csv")
	if len(msgs) != 1 || msgs[0].File == nil || msgs[0].File.Name != "lessonbot-words.csv" {
		t.Fatalf("/export csv = %+v", msgs)
	}
	records, err := csv.NewReader(strings.NewReader(string(msgs[0].File.Data))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read back: %v", err)
	}
	if len(records) != 3 || records[0][0] != "word" || records[1][0] != "bank" || records[1][1] != "rive, berge" {
		t.Errorf("CSV records %q", records)
	}
	if got := allText(h.send(inGroup("-100", "7", "Ann", false), "/export")); got != say("en", keyExportPrivate) {
		t.Errorf("/export in a group: %q", got)
	}
	if got := allText(h.send(ann, "/export pdf")); got != say("en", keyBadExport) {
		t.Errorf("/export pdf: %q", got)
	}
}

// TestDeleteMyData asks for confirmation, then deletes in one go every row
// that holds the presser's id, in any table of the schema, and leaves
// another learner's rows alone; the next /start begins afresh.
func TestDeleteMyData(t *testing.T) {
	dir := t.TempDir()
	h := newHarnessAt(t, defaultSettings(), filepath.Join(dir, "t.db"))
	ann, bob := inPrivate("7", "Ann"), inPrivate("8", "Bob")
	annGrp, bobGrp := inGroup("-100", "7", "Ann", false), inGroup("-100", "8", "Bob", false)
	h.sendAll(inGroup("-100", "1", "Mia", true), "/subscribe")
	river := h.questions(riverID)
	for _, s := range []sender{ann, bob} {
		h.sendAll(s, "/subscribe", "/lesson")
		h.answerQ(s, river[0], false)
		h.answerQ(s, river[1], true)
	}
	h.answerQ(annGrp, river[2], false)
	h.answerQ(bobGrp, river[2], false)
	bobRows := rowsOf(t, filepath.Join(dir, "t.db"), "8")

	msgs := h.send(ann, "/deletemydata")
	if len(msgs) != 1 || len(msgs[0].Buttons) != 1 || msgs[0].Buttons[0].Data != deleteData {
		t.Fatalf("/deletemydata = %+v, want a confirmation button", msgs)
	}
	if n := len(rowsOf(t, filepath.Join(dir, "t.db"), "7")); n == 0 {
		t.Fatal("nothing of Ann's before the confirmation: the test finds nothing")
	}
	reply := h.press(ann, deleteData)
	got := allText(reply.Messages)
	if !strings.HasPrefix(got, "Deleted: 3 answers, ") || !strings.Contains(got, "1 subscription") {
		t.Errorf("the confirmation said %q", got)
	}
	if rows := rowsOf(t, filepath.Join(dir, "t.db"), "7"); len(rows) != 0 {
		t.Errorf("rows still holding Ann's id: %q", rows)
	}
	if after := rowsOf(t, filepath.Join(dir, "t.db"), "8"); !slices.Equal(after, bobRows) {
		t.Errorf("Bob's rows changed:\n%q\nwant\n%q", after, bobRows)
	}
	if got := allText(h.send(ann, "/deletemydata confirm")); got != say("en", keyDeletedNothing) {
		t.Errorf("a second deletion: %q", got)
	}
	// /start begins afresh.
	h.sendAll(ann, "/start")
	if _, ok := h.row(ann.addr); ok {
		t.Error("/start after the deletion kept a subscription")
	}
}

// rowsOf lists, for every table of the schema, the rows with the person's
// id in any column named for a person or a chat (learner_id by the
// learner's own id, user_id, chat_id, created_by, chat): a table added
// later is walked too.
func rowsOf(t *testing.T, path, userID string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var learnerID sql.NullInt64
	db.QueryRow(`SELECT id FROM learners WHERE user_id = ?`, userID).Scan(&learnerID)
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	var out []string
	for _, table := range names {
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var conds []string
		var args []any
		for cols.Next() {
			var c string
			cols.Scan(&c)
			switch {
			case c == "learner_id" && learnerID.Valid:
				conds, args = append(conds, c+" = ?"), append(args, learnerID.Int64)
			case c == "id" && table == "learners" && learnerID.Valid:
				conds, args = append(conds, c+" = ?"), append(args, learnerID.Int64)
			case c == "user_id" || c == "chat_id" || c == "created_by":
				conds, args = append(conds, c+" = ?"), append(args, userID)
			case c == "chat":
				conds, args = append(conds, c+" = ?"), append(args, chat.Address{Platform: chat.Telegram, ChatID: userID}.Key())
			}
		}
		cols.Close()
		if len(conds) == 0 {
			continue
		}
		rows, err := db.Query(`SELECT * FROM `+table+` WHERE `+strings.Join(conds, " OR "), args...)
		if err != nil {
			t.Fatal(err)
		}
		cols2, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols2))
			ptrs := make([]any, len(cols2))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			data, _ := json.Marshal(vals)
			out = append(out, table+" "+string(data))
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

// TestWeeklySummary composes the summary of a private chat and of a group,
// and /summary turns it on and off.
func TestWeeklySummary(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, "/subscribe 08:00 UTC", "/lesson")
	river := h.questions(riverID)
	h.answerQ(ann, river[0], false)
	h.answerQ(ann, river[1], true)
	h.answerQ(ann, river[2], true)
	slot := dayAfter(5)
	sub := h.mustRow(ann.addr)
	msgs, ok, err := h.tutor.Compose(h.ctx, store.Delivery{Kind: store.SummaryDelivery, Slot: slot}, sub)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	want := "Your week\nLessons: 1\nAnswers: 3, 67% right\nWords learned: 0; due for review: 2\nStreak: 0 days (0 freezes held)"
	if got := allText(msgs); got != want {
		t.Errorf("private summary:\n%s\nwant\n%s", got, want)
	}
	grp := inGroup("-100", "1", "Mia", true)
	h.sendAll(grp, "/subscribe 08:00 UTC")
	h.answerQ(inGroup("-100", "2", "Bob", false), river[0], false)
	h.answerQ(inGroup("-100", "3", "Cara", false), river[0], true)
	msgs, _, err = h.tutor.Compose(h.ctx, store.Delivery{Kind: store.SummaryDelivery, Slot: slot}, h.mustRow(grp.addr))
	if err != nil {
		t.Fatal(err)
	}
	want = "This week in the chat\nTop 3:\n1. Cara: 1/1\n2. Bob: 0/1\nMost missed word: wade\nLessons delivered: 0"
	if got := allText(msgs); got != want {
		t.Errorf("group summary:\n%s\nwant\n%s", got, want)
	}

	if got := h.reply(ann, "/summary"); got != "Weekly summary: on, every Sunday at 08:00." {
		t.Errorf("/summary in private: %q", got)
	}
	if got := h.reply(grp, "/summary"); got != "Weekly summary: off." {
		t.Errorf("/summary in a group: %q", got)
	}
	if got := h.reply(grp, "/summary on"); got != "Weekly summary: on, every Sunday at 08:00." || !h.mustRow(grp.addr).SummaryOn() {
		t.Errorf("/summary on: %q", got)
	}
	if got := h.reply(inGroup("-100", "2", "Bob", false), "/summary off"); got != say("en", keyNotAllowed) {
		t.Errorf("/summary off by a member: %q", got)
	}
	if got := h.reply(ann, "/summary maybe"); got != say("en", keyBadSummary) {
		t.Errorf("/summary maybe: %q", got)
	}
}

// TestUpgradeBackfill opens a database as the previous version's
// migrations leave it, with answers in it, and makes review items of the
// missed words: due at once, for each learner.
func TestUpgradeBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_outbox_progress.sql", "0003_claim_holders.sql"} {
		migration, err := os.ReadFile(filepath.Join("..", "store", "migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(migration)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 3`); err != nil {
		t.Fatal(err)
	}
	river := quiz.Questions(library(t).Lessons()[1], library(t), 3)
	bakery := quiz.Questions(library(t).Lessons()[0], library(t), 3)
	_, err = db.Exec(`INSERT INTO learners (id, platform, user_id, name, created_at) VALUES
			(1, 'telegram', '7', 'Ann', 0), (2, 'telegram', '8', 'Bob', 0);
		INSERT INTO answers (learner_id, chat, lesson_id, question_key, choice, correct, answered_at) VALUES
			(1, 'telegram:7', 'river-cleanup', ?, 0, 0, 1000),
			(1, 'telegram:7', 'river-cleanup', ?, 0, 1, 2000),
			(1, 'telegram:7', 'bakery-robot', ?, 0, 0, 3000),
			(2, 'telegram:-100', 'river-cleanup', ?, 0, 0, 4000),
			(2, 'telegram:-100', 'bakery-robot', ?, 1, 0, 5000)`,
		river[0].Key, river[1].Key, bakery[1].Key, river[0].Key, bakery[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	h := newHarnessAt(t, defaultSettings(), path)
	n, err := h.tutor.Upgrade(h.ctx)
	if err != nil || n != 3 {
		t.Fatalf("Upgrade = %d, %v; want 3 items (bakery's authored question has no word)", n, err)
	}
	ann, bob := h.items(chat.User{Platform: chat.Telegram, ID: "7"}), h.items(chat.User{Platform: chat.Telegram, ID: "8"})
	if len(ann) != 2 || ann[riverID+"/wade"].Due != 0 || ann[bakeryID+"/knead"].Source != "missed" || len(bob) != 1 {
		t.Errorf("items of Ann %v and Bob %v; want wade and knead for Ann, wade for Bob, due at once", ann, bob)
	}
	if n, err := h.tutor.Upgrade(h.ctx); err != nil || n != 0 {
		t.Errorf("a second Upgrade = %d, %v; want nothing to do", n, err)
	}
	// Due at once: the first /review shows them.
	if got := reviewTerms(t, h, h.send(inPrivate("7", "Ann"), "/review")); len(got) != 1 {
		t.Errorf("/review after the upgrade: %q", got)
	}
}

// TestConsoleYouInFrench names the person at the terminal "vous" in
// French.
func TestConsoleYouInFrench(t *testing.T) {
	h := newHarness(t)
	me := sender{addr: chat.Address{Platform: chat.Console, ChatID: "local"}, kind: chat.Private,
		user: chat.User{Platform: chat.Console, ID: "local", Name: "you"}}
	h.sendAll(me, "/language fr")
	h.answerQ(me, h.questions(riverID)[0], true)
	if got := h.reply(me, "/score"); !strings.HasPrefix(got, "vous : 1/1") {
		t.Errorf("/score at the terminal in French: %q", got)
	}
}
