package tutor

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
)

// answer presses choice right or wrong on q and fails unless it counted.
func (h *harness) answer(s sender, q quiz.Question, right bool) {
	h.t.Helper()
	choice := q.Correct
	if !right {
		choice = wrong(q)
	}
	reply := h.press(s, pressData(q, choice))
	ok := strings.HasPrefix(reply.Notice, "✅") || strings.HasPrefix(reply.Notice, "❌")
	if !ok || strings.HasPrefix(reply.Notice, "✅") != right {
		h.t.Fatalf("press %s (right %v): %q", q.Key, right, reply.Notice)
	}
}

// allQuestions returns the questions of the three lessons that have any,
// nine in all.
func (h *harness) allQuestions() []quiz.Question {
	h.t.Helper()
	var qs []quiz.Question
	for _, id := range []string{bakeryID, riverID, trainsID} {
		qs = append(qs, h.questions(id)...)
	}
	if len(qs) != 9 {
		h.t.Fatalf("want 9 questions, got %d", len(qs))
	}
	return qs
}

func TestScore(t *testing.T) {
	type step struct {
		at     time.Time
		answer int // -1: none; else press right (even) or wrong (odd)
		want   string
	}
	utc := func(day, hour, minute int) time.Time { return time.Date(2026, 3, day, hour, minute, 0, 0, time.UTC) }
	// The chat is in Paris (UTC+1), and a learner's day starts at 04:00:
	// 22:30 UTC Monday is Monday there, and 23:30 UTC Tuesday (00:30
	// Wednesday in Paris) still counts for Tuesday. After the third day in
	// a row comes the free freeze, which covers Saturday 7; seven active
	// days earn another.
	steps := []step{
		{utc(2, 22, 30), 0, "Ann: 1/1 correct (100%). Streak: 1 day (0 freezes held)."},
		{utc(3, 23, 30), 1, "Ann: 1/2 correct (50%). Streak: 2 days (0 freezes held)."},
		{utc(4, 20, 0), 2, "Ann: 2/3 correct (67%). Streak: 3 days (1 freeze held)."},
		{utc(5, 9, 0), -1, "Ann: 2/3 correct (67%). Streak: 3 days (1 freeze held)."},
		{utc(5, 10, 0), 4, "Ann: 3/4 correct (75%). Streak: 4 days (1 freeze held)."},
		{utc(6, 10, 0), 6, "Ann: 4/5 correct (80%). Streak: 5 days (1 freeze held)."},
		// No answer on Saturday 7: the freeze covers it.
		{utc(8, 10, 0), -1, "Ann: 4/5 correct (80%). Streak: 6 days (0 freezes held)."},
		{utc(8, 11, 0), 7, "Ann: 4/6 correct (67%). Streak: 7 days (0 freezes held)."},
		{utc(9, 8, 0), 8, "Ann: 5/7 correct (71%). Streak: 8 days (1 freeze held)."},
	}
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, "/timezone Europe/Paris")
	qs := h.allQuestions()
	if got, want := h.reply(ann, "/score"), "Ann: no answers yet. Send /lesson and answer the quiz!"; got != want {
		t.Errorf("before any answer: %q, want %q", got, want)
	}
	for i, s := range steps {
		h.setClock(s.at)
		if s.answer >= 0 {
			h.answer(ann, qs[s.answer], s.answer%2 == 0)
		}
		if got := h.reply(ann, "/score"); got != s.want {
			t.Errorf("step %d at %v: %q, want %q", i, s.at, got, s.want)
		}
	}
	// A pressed answer that does not count leaves the score alone.
	h.press(ann, pressData(qs[0], wrong(qs[0])))
	if got, want := h.reply(ann, "/score"), steps[len(steps)-1].want; got != want {
		t.Errorf("after a repeated press: %q, want %q", got, want)
	}

	t.Run("OKFrench", func(t *testing.T) {
		h.sendAll(ann, "/language fr")
		if got, want := h.reply(ann, "/score"), "Ann : 5/7 bonnes réponses (71 %). Série : 8 jours (1 joker en réserve)."; got != want {
			t.Errorf("%q, want %q", got, want)
		}
		// Two days missed with one freeze: the streak is broken.
		h.setClock(utc(12, 8, 0))
		if got, want := h.reply(ann, "/score"), "Ann : 5/7 bonnes réponses (71 %). Série : 0 jour (0 joker en réserve)."; got != want {
			t.Errorf("%q, want %q", got, want)
		}
	})
	t.Run("OKScoreFollowsTheLearnerAcrossChats", func(t *testing.T) {
		// The same user's score in a group counts the private answers.
		g := inGroup("-100", "7", "Ann", false)
		text := allText(h.send(g, "/score"))
		if !strings.HasPrefix(text, "Ann : 5/7 ") && !strings.HasPrefix(text, "Ann: 5/7 ") {
			t.Errorf("group /score: %q", text)
		}
	})
	t.Run("OKNoAuthor", func(t *testing.T) {
		// A channel post has no author: no score to show, and no failure.
		h2 := newHarness(t)
		ch := sender{addr: chat.Address{Platform: chat.Telegram, ChatID: "-200"}, kind: chat.Channel}
		got := allText(h2.send(ch, "/score"))
		if isRefusal(got) || got != say("en", keyScoreNobody) {
			t.Errorf("channel /score: %q", got)
		}
	})
}

func TestLeaderboard(t *testing.T) {
	h := newHarness(t)
	group := "-100"
	ann := inGroup(group, "1", "Ann", false)
	bob := inGroup(group, "2", "Bob", false)
	cara := inGroup(group, "3", "Cara", false)
	dan := inGroup("-999", "4", "Dan", false) // another group
	bakery, river := h.questions(bakeryID), h.questions(riverID)

	empty := "This week\nNo answers yet.\nAll time\nNo answers yet."
	if got := allText(h.send(ann, "/leaderboard")); got != empty {
		t.Errorf("empty board: %q, want %q", got, empty)
	}

	// Week of Monday 2 March.
	h.answer(ann, bakery[0], true)
	h.answer(ann, bakery[1], true)
	h.answer(ann, bakery[2], false)
	for _, q := range bakery {
		h.answer(bob, q, true)
		h.answer(dan, q, true)
	}
	// Sunday 8 March, 23:30 UTC: still last week in this UTC chat.
	h.setClock(time.Date(2026, 3, 8, 23, 30, 0, 0, time.UTC))
	h.answer(bob, river[0], false)
	want := "This week\n1. Bob: 3/4\n2. Ann: 2/3\nAll time\n1. Bob: 3/4\n2. Ann: 2/3"
	if got := allText(h.send(cara, "/leaderboard")); got != want {
		t.Errorf("first week:\n got %q\nwant %q", got, want)
	}

	// The next week.
	h.setClock(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
	h.answer(cara, river[0], true)
	h.answer(ann, river[1], true)
	// Ann and Bob tie on 3/4: Bob got there first, on Sunday.
	want = "This week\n1. Ann: 1/1\n2. Cara: 1/1\nAll time\n1. Bob: 3/4\n2. Ann: 3/4\n3. Cara: 1/1"
	msgs := h.send(bob, "/leaderboard")
	if got := allText(msgs); got != want {
		t.Errorf("next week:\n got %q\nwant %q", got, want)
	}
	if len(msgs) != 1 || len(msgs[0].Blocks) != 2 {
		t.Errorf("want one message of two blocks, got %+v", msgs)
	}

	t.Run("OKFrench", func(t *testing.T) {
		mgr := inGroup(group, "5", "Eve", true)
		h.sendAll(mgr, "/language fr")
		want := "Cette semaine\n1. Ann : 1/1\n2. Cara : 1/1\nDepuis le début\n1. Bob : 3/4\n2. Ann : 3/4\n3. Cara : 1/1"
		if got := allText(h.send(bob, "/leaderboard")); got != want {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
		h.sendAll(mgr, "/language en")
	})
	t.Run("OKWeekInChatZone", func(t *testing.T) {
		// A change of zone moves no answer to another week: Bob's
		// Sunday answer stays in last week.
		mgr := inGroup(group, "5", "Eve", true)
		h.sendAll(mgr, "/timezone Asia/Tokyo")
		want := "This week\n1. Ann: 1/1\n2. Cara: 1/1\nAll time"
		if got := allText(h.send(bob, "/leaderboard")); !strings.HasPrefix(got, want) {
			t.Errorf("after /timezone:\n got %q\nwant it to start %q", got, want)
		}
		// Sunday 15 March, 23:30 UTC is Monday morning in Tokyo: a new
		// week there, with no answers yet.
		h.setClock(time.Date(2026, 3, 15, 23, 30, 0, 0, time.UTC))
		want = "This week\nNo answers yet.\nAll time"
		if got := allText(h.send(bob, "/leaderboard")); !strings.HasPrefix(got, want) {
			t.Errorf("on Monday in Tokyo:\n got %q\nwant it to start %q", got, want)
		}
		h.setClock(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
		h.sendAll(mgr, "/timezone UTC")
	})
	t.Run("OKScoreShowsTop5InGroup", func(t *testing.T) {
		want := "Ann: 3/4 correct (75%). Streak: 1 day (0 freezes held).\nTop 5 in this chat\n1. Bob: 3/4\n2. Ann: 3/4\n3. Cara: 1/1"
		if got := allText(h.send(ann, "/score")); got != want {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
		// A private chat has no top 5.
		if got, want := allText(h.send(inPrivate("1", "Ann"), "/score")), "Ann: 3/4 correct (75%). Streak: 1 day (0 freezes held)."; got != want {
			t.Errorf("private: %q, want %q", got, want)
		}
	})
	t.Run("OKTopTen", func(t *testing.T) {
		h := newHarness(t)
		q := h.questions(bakeryID)[0]
		for i := range 12 {
			h.answer(inGroup("-300", fmt.Sprint(100+i), fmt.Sprintf("L%02d", i), false), q, true)
		}
		text := allText(h.send(inGroup("-300", "1", "Ann", false), "/leaderboard"))
		weekLines := strings.Split(strings.Split(text, "\nAll time\n")[0], "\n")
		if len(weekLines) != 11 || weekLines[10] != "10. L09: 1/1" {
			t.Errorf("want a title and 10 lines ending with L09, got %q", weekLines)
		}
		top := allText(h.send(inGroup("-300", "100", "L00", false), "/score"))
		if lines := strings.Split(top, "\n"); len(lines) != 7 || lines[6] != "5. L04: 1/1" {
			t.Errorf("want the score, a title and 5 lines, got %q", lines)
		}
	})
}

func TestStats(t *testing.T) {
	h := newHarness(t)
	root := inPrivate(adminID, "Root")
	mgr := inGroup("-100", "5", "Eve", true)
	h.sendAll(mgr, "/subscribe 07:30 Europe/Paris", "/lesson")
	disc := sender{addr: chat.Address{Platform: chat.Discord, ChatID: "c1"}, kind: chat.Group, user: chat.User{Platform: chat.Discord, ID: "d1", Name: "Dee"}, canManage: true}
	h.sendAll(disc, "/subscribe")
	gone := inPrivate("8", "Gus")
	h.sendAll(gone, "/subscribe", "/unsubscribe")
	bakery := h.questions(bakeryID)
	h.answer(mgr, bakery[0], true)
	h.answer(mgr, bakery[1], false)
	h.answer(disc, bakery[1], false)
	h.answer(disc, bakery[2], true)

	msgs := h.send(root, "/stats")
	if len(msgs) != 1 || msgs[0].Title != "Statistics" {
		t.Fatalf("want one message titled Statistics, got %+v", msgs)
	}
	hardest := fmt.Sprintf("Hardest question: What does “knead” mean? (%s) (0/2 right)", bakeryID)
	want := []string{
		"Subscriptions: discord 1, telegram 1\nDeliveries today: sent 1\nAnswers today: 4",
		bakeryID + ": 50% right (4 answers)",
		hardest,
	}
	if got := blockTexts(msgs[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("/stats:\n got %q\nwant %q", got, want)
	}
	if q := bakery[1]; q.Kind != quiz.Meaning || q.Text != "knead" {
		t.Fatalf("fixture drift: question 2 is %+v", q)
	}

	t.Run("OKNextDay", func(t *testing.T) {
		h.setClock(monday.Add(24 * time.Hour))
		got := blockTexts(h.send(root, "/stats")[0])
		if got[0] != "Subscriptions: discord 1, telegram 1\nDeliveries today: 0\nAnswers today: 0" {
			t.Errorf("next day: %q", got[0])
		}
		h.setClock(monday)
	})
	t.Run("OKProblems", func(t *testing.T) {
		h.lessons.set(h.lessons.Library(), lesson.Problem{Path: "lessons/broken.md", Line: 3, Message: `bad level "Z9"`})
		got := blockTexts(h.send(root, "/stats")[0])
		if last := got[len(got)-1]; last != "Lesson problems:\nlessons/broken.md:3: bad level \"Z9\"" {
			t.Errorf("problems block: %q", last)
		}
	})
	t.Run("OKUnknownMessages", func(t *testing.T) {
		// The group's next slot has its question 1 cut short.
		sub, err := h.st.Chat(h.ctx, mgr.addr)
		if err != nil {
			t.Fatal(err)
		}
		slot := monday.Add(time.Hour)
		if _, err := h.st.EnqueueSlot(h.ctx, []int64{sub.ID}, slot); err != nil {
			t.Fatal(err)
		}
		claims, _, err := h.st.ClaimDue(h.ctx, slot, "test", time.Minute, 10, false, chat.Telegram)
		if err != nil || len(claims) != 1 {
			t.Fatalf("ClaimDue = %v, %v", claims, err)
		}
		id := claims[0].Delivery.ID
		for _, err := range []error{
			h.st.StartMessage(h.ctx, id, "test", 0), h.st.MessageSent(h.ctx, id, 0, "m0"),
			h.st.StartMessage(h.ctx, id, "test", 1), h.st.MessageUnknown(h.ctx, id, "test", 1, "timeout"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := blockTexts(h.send(root, "/stats")[0])
		if want := "Messages that may or may not have arrived today (a send cut short, not sent again): 1"; !slices.Contains(got, want) {
			t.Errorf("/stats = %q, want a block %q", got, want)
		}
	})
	t.Run("OKFrench", func(t *testing.T) {
		h.sendAll(root, "/language fr")
		got := blockTexts(h.send(root, "/stats")[0])
		if got[0] != "Abonnements : discord 1, telegram 1\nEnvois aujourd'hui : en cours d'envoi 1, envoyés 1\nRéponses aujourd'hui : 4" {
			t.Errorf("French: %q", got[0])
		}
	})
	t.Run("OKEmpty", func(t *testing.T) {
		h := newHarness(t)
		got := blockTexts(h.send(root, "/stats")[0])
		if want := []string{"Subscriptions: 0\nDeliveries today: 0\nAnswers today: 0"}; !reflect.DeepEqual(got, want) {
			t.Errorf("empty: %q, want %q", got, want)
		}
	})
}

func blockTexts(m chat.Message) []string {
	var out []string
	for _, b := range m.Blocks {
		out = append(out, b.Text)
	}
	return out
}

func TestReload(t *testing.T) {
	root := inPrivate(adminID, "Root")
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		problems := []lesson.Problem{
			{Path: "lessons/broken.md", Line: 3, Message: `bad level "Z9"`},
			{Path: "lessons/town-choir.md", Line: 1, Message: "no level", Warning: true},
		}
		h.lessons.reloadTo(lesson.Result{Library: library(t, bakeryID, trainsID, choirID), Problems: problems, Files: 4})
		got := h.send(root, "/reload")
		want := []chat.Message{{Blocks: []chat.Block{
			{Kind: chat.Text, Text: "Reloaded: 4 lessons, 1 error, 1 warning."},
			{Kind: chat.Text, Text: "lessons/broken.md:3: bad level \"Z9\"\nlessons/town-choir.md:1: warning: no level"},
		}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("/reload:\n got %+v\nwant %+v", got, want)
		}
		if n := h.lessons.reloadCount(); n != 1 {
			t.Errorf("reloaded %d times, want 1", n)
		}
		// The new library is in service.
		if got, want := h.reply(root, "/preview river-cleanup"), `There is no lesson "river-cleanup". Send /reload to see the lessons' problems.`; got != want {
			t.Errorf("removed lesson: %q", got)
		}
		if got := h.send(inPrivate("7", "Ann"), "/lesson"); got[0].Title != bakeryTitle {
			t.Errorf("/lesson after reload: %q", got[0].Title)
		}
	})
	t.Run("OKClean", func(t *testing.T) {
		h := newHarness(t)
		h.sendAll(root, "/language fr")
		if got, want := h.send(root, "/reload"), textReply("Rechargé : 4 lessons, 0 errors, 0 warnings."); !reflect.DeepEqual(got, want) {
			t.Errorf("/reload:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("OKManyProblems", func(t *testing.T) {
		h := newHarness(t)
		var problems []lesson.Problem
		for i := range 25 {
			problems = append(problems, lesson.Problem{Path: fmt.Sprintf("lessons/l%02d.md", i), Line: 1, Message: "missing title"})
		}
		h.lessons.reloadTo(lesson.Result{Library: library(t), Problems: problems, Files: 29})
		got := h.send(root, "/reload")
		lines := strings.Split(got[0].Blocks[1].Text, "\n")
		if len(lines) != maxProblemLines+1 || lines[maxProblemLines] != "… (5 more: run lessonbot check)" {
			t.Errorf("want %d problems and a last line, got %q", maxProblemLines, lines)
		}
	})
	t.Run("OKQuestionsFollowTheLibrary", func(t *testing.T) {
		// A lesson's quiz is cached per library: after a reload that
		// removes a lesson, its questions are gone too.
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		q := h.questions(riverID)[0]
		h.tutor.questionMessages(h.lesson(riverID), "en")
		h.lessons.reloadTo(lesson.Result{Library: library(t, bakeryID), Files: 1})
		h.sendAll(root, "/reload")
		if got := h.press(ann, pressData(q, q.Correct)); got.Notice != say("en", keyUnavailable) {
			t.Errorf("press on a removed lesson: %q", got.Notice)
		}
		if n := h.answers(); n != 0 {
			t.Errorf("%d answers stored", n)
		}
	})
}
