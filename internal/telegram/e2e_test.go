package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/ratelimit"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/telegram"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

const e2eToken = "6660004321:AAE2e-t0ken-for-the-end-to-end-test"

// The fixture lessons: original texts in the shape of the shipped ones.
// The first in delivery order (by date) is the ferry.
var fixtureLessons = map[string]string{
	"harbour-ferry.md": `---
title: The harbour ferry sails again
level: B1
date: 2026-02-02
source: https://example.org/news/harbour-ferry
---
After four months in the repair yard, the little ferry that links the old harbour to Gull Island carried passengers again on Monday morning. Its engine had failed in a storm last autumn, and islanders had to rely on a single fishing boat.

"We missed the ferry more than we expected," said Tom Ellery, who runs the island's bakery. "Flour and milk came late all winter."

The council says the ferry will now sail six times a day, two more crossings than before, and that tickets will cost the same.

## Summary
The Gull Island ferry is back after months of repairs, with more crossings a day and unchanged prices.

## Vocabulary
- repair yard: chantier de réparation
- rely on: compter sur, dépendre de
- crossing: traversée

## Quiz
1. Why did the ferry stop?
   - [ ] The council sold it
   - [x] Its engine failed in a storm
   - [ ] It was too old to sail
   > "Its engine had failed in a storm last autumn."
2. What does Tom Ellery run?
   - [x] The island's bakery
   - [ ] The fishing boat
   - [ ] The repair yard
3. How many crossings a day will the ferry make now?
   - [ ] Four
   - [ ] Five
   - [x] Six
   > Six crossings, two more than before.
`,
	"night-library.md": `---
title: A library that stays open at night
level: A2
date: 2026-02-09
---
The town library will open until midnight on Fridays from next month. Students asked for a quiet place to work late.

## Vocabulary
- quiet: calme
`,
}

// rightAnswers are the right choices of the ferry lesson's questions, by
// a word of the question.
var rightAnswers = map[string]string{
	"stop":      "Its engine failed in a storm",
	"Ellery":    "The island's bakery",
	"crossings": "Six",
}

// TestEndToEnd runs the program's parts as main wires them — the store on
// SQLite, the lessons from a folder, the tutor, the scheduler, the
// delivery workers with this bot as their Telegram sender — against the
// fake Bot API, in virtual time: a user subscribes for 07:30 in Paris,
// the lesson arrives then, the user answers, and /score counts it.
func TestEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logtest.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		defer func() {
			if t.Failed() {
				t.Logf("logs:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), e2eToken) {
				t.Error("the token is in the logs")
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		dir := t.TempDir()
		for name, text := range fixtureLessons {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		lessons := lesson.NewSource(func() lesson.Result { return lesson.LoadDir(dir) })
		if p := lessons.Problems(); lesson.Errors(p) > 0 {
			t.Fatalf("fixture problems: %v", p)
		}
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tut := tutor.New(st, lessons, tutor.Settings{Hour: 8, Zone: "UTC", Language: "en", Questions: 3}, time.Now, log)

		api := telegramtest.NewFakeAPI(e2eToken)
		api.SetLatency(50 * time.Millisecond) // every call, as over a network
		bot, err := telegram.New(ctx, telegram.Options{
			Token: e2eToken, APIURL: telegram.DefaultAPIURL, Commands: tut.Commands(), Logger: log,
			HTTPClient: &http.Client{Transport: api.Transport(), Timeout: 2 * time.Minute},
			NotFound:   store.ErrNotFound,
		}, tut, st)
		if err != nil {
			t.Fatal(err)
		}
		pool := delivery.New(st, tut, map[string]delivery.Platform{chat.Telegram: {
			Sender: bot, Limits: ratelimit.Limits{PerSecond: 25, PerChatPerSecond: 1, PerGroupPerMinute: 20},
		}}, delivery.Options{}, log)
		sched := schedule.New(st, schedule.DefaultCatchUp, time.Now, log, pool.Wake)
		tut.OnChange(sched.Update)
		var wg sync.WaitGroup
		wg.Go(func() { sched.Run(ctx) })
		wg.Go(func() { pool.Run(ctx) })
		wg.Go(func() {
			if err := bot.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		defer wg.Wait()
		defer cancel()

		user := telegramtest.FakeUser{ID: 424242, FirstName: "Nadia", LastName: "Roux"}
		dm := telegramtest.FakeChat{ID: 424242, Type: "private"}
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}

		// settle lets the bot finish what it is doing: each call takes 50 ms.
		settle := func() {
			time.Sleep(5 * time.Second)
			synctest.Wait()
		}

		// Saturday 1 January 2000, midnight UTC: the bubble's start.
		api.SendText(dm, &user, "/subscribe 07:30 Europe/Paris")
		settle()
		sent := api.SentTo(dm.ID)
		if len(sent) != 1 || !strings.Contains(sent[0].Plain, "07:30") || !strings.Contains(sent[0].Plain, "Europe/Paris") {
			t.Fatalf("the reply to /subscribe: %+v", sent)
		}

		// 07:29 in Paris: nothing yet.
		time.Sleep(time.Until(time.Date(2000, 1, 1, 7, 29, 0, 0, paris)))
		synctest.Wait()
		if n := len(api.SentTo(dm.ID)); n != 1 {
			t.Fatalf("%d messages before 07:30, want only the reply", n)
		}
		// 07:35 in Paris: the post and three questions.
		time.Sleep(time.Until(time.Date(2000, 1, 1, 7, 35, 0, 0, paris)))
		synctest.Wait()
		lessonMsgs := api.SentTo(dm.ID)[1:]
		if len(lessonMsgs) != 4 {
			t.Fatalf("%d lesson messages, want the post and 3 questions: %+v", len(lessonMsgs), lessonMsgs)
		}
		post := lessonMsgs[0]
		if at := post.At.In(paris); at.Hour() != 7 || at.Minute() != 30 || at.Second() != 0 {
			t.Errorf("the post arrived at %s, want 07:30 Paris time", at.Format(time.TimeOnly))
		}
		for _, want := range []string{"<b>The harbour ferry sails again</b>", "<i>Level B1</i>", "<tg-spoiler>chantier de réparation</tg-spoiler>", `<a href="https://example.org/news/harbour-ferry">Source</a>`} {
			if !strings.Contains(post.Text, want) {
				t.Errorf("the post lacks %q:\n%s", want, post.Text)
			}
		}
		if len(post.Buttons) != 1 || post.Buttons[0][0].Text != "Full article" {
			t.Errorf("the post's keyboard = %+v, want a Full article button", post.Buttons)
		}

		// Answer: the first two right, the third wrong, then the first again.
		var presses []string
		choose := func(q telegramtest.SentMessage, right bool) string {
			t.Helper()
			var want string
			for word, answer := range rightAnswers {
				if strings.Contains(q.Plain, word) {
					want = answer
				}
			}
			if want == "" {
				t.Fatalf("a question the fixture does not have: %q", q.Plain)
			}
			for _, row := range q.Buttons {
				if (row[0].Text == want) == right {
					return row[0].CallbackData
				}
			}
			t.Fatalf("no such choice in %+v", q.Buttons)
			return ""
		}
		presses = append(presses,
			choose(lessonMsgs[1], true), choose(lessonMsgs[2], true), choose(lessonMsgs[3], false), choose(lessonMsgs[1], false))
		for _, data := range presses {
			api.Press(dm, user, 0, data)
			settle()
		}
		answers := api.Answers()
		if len(answers) != 4 {
			t.Fatalf("%d callback answers, want 4: %+v", len(answers), answers)
		}
		for i, prefix := range []string{"✅", "✅", "❌", "You already answered"} {
			if !strings.HasPrefix(answers[i].Text, prefix) {
				t.Errorf("answer %d = %q, want it to start with %q", i+1, answers[i].Text, prefix)
			}
			if answers[i].Since > time.Second {
				t.Errorf("answer %d came %v after the press", i+1, answers[i].Since)
			}
		}

		// The Full article button sends the article.
		api.Press(dm, user, 0, post.Buttons[0][0].CallbackData)
		settle()
		all := api.SentTo(dm.ID)
		if last := all[len(all)-1]; !strings.Contains(last.Plain, "Tom Ellery") {
			t.Errorf("after Full article the last message is %q, want the article", last.Plain)
		}

		api.SendText(dm, &user, "/score")
		settle()
		all = api.SentTo(dm.ID)
		if score := all[len(all)-1].Plain; !strings.Contains(score, "2/3") {
			t.Errorf("/score says %q, want 2/3", score)
		}
	})
}

// TestRepliesShareTheBudget sends 2,000 commands from 2,000 chats at once
// while a scheduled lesson goes out to 600 chats, against a Bot API that
// answers 429 above 200 messages a second: replies and lessons take their
// turns from one budget, so the API answers no 429, every chat gets its
// reply, and the replies go first, ahead of the lesson messages still
// waiting. In virtual time.
func TestRepliesShareTheBudget(t *testing.T) {
	const (
		subscribed = 600
		commands   = 2000
		perSecond  = 200
	)
	synctest.Test(t, func(t *testing.T) {
		logs := &logtest.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		defer func() {
			if t.Failed() {
				t.Logf("logs:\n%s", logs.String())
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dir := t.TempDir()
		for name, text := range fixtureLessons {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		lessons := lesson.NewSource(func() lesson.Result { return lesson.LoadDir(dir) })
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for i := range subscribed {
			if _, err := st.SaveChat(ctx, store.Subscription{
				Address: chat.Address{Platform: chat.Telegram, ChatID: fmt.Sprint(1000 + i)}, Kind: chat.Private,
				Hour: 8, Zone: "UTC", Weekdays: store.EveryDay, Language: "en", Active: true,
			}); err != nil {
				t.Fatal(err)
			}
		}
		tut := tutor.New(st, lessons, tutor.Settings{Hour: 8, Zone: "UTC", Language: "en", Questions: 3}, time.Now, log)

		api := telegramtest.NewFakeAPI(e2eToken)
		api.SetLatency(50 * time.Millisecond)
		api.LimitSends(perSecond, 5, 1)
		limits := ratelimit.Limits{PerSecond: perSecond, PerChatPerSecond: 1, PerGroupPerMinute: 20}
		budget := ratelimit.New(limits)
		bot, err := telegram.New(ctx, telegram.Options{
			Token: e2eToken, APIURL: telegram.DefaultAPIURL, Commands: tut.Commands(), Logger: log,
			HTTPClient: &http.Client{Transport: api.Transport(), Timeout: 2 * time.Minute},
			NotFound:   store.ErrNotFound, Pacer: budget,
		}, tut, st)
		if err != nil {
			t.Fatal(err)
		}
		pool := delivery.New(st, tut, map[string]delivery.Platform{chat.Telegram: {Sender: bot, Budget: budget, Limits: limits}},
			delivery.Options{}, log)
		sched := schedule.New(st, schedule.DefaultCatchUp, time.Now, log, pool.Wake)
		tut.OnChange(sched.Update)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { sched.Run(ctx) })
		wg.Go(func() { pool.Run(ctx) })
		wg.Go(func() { bot.Run(ctx) })

		// The lesson goes out at 08:00 UTC; two seconds into it, the
		// commands arrive.
		time.Sleep(time.Until(time.Date(2000, 1, 1, 8, 0, 2, 0, time.UTC)))
		for i := range commands {
			id := int64(100_000 + i)
			api.SendText(telegramtest.FakeChat{ID: id, Type: "private"}, &telegramtest.FakeUser{ID: id, FirstName: "Learner"}, "/subscribe 09:00")
		}
		time.Sleep(time.Until(time.Date(2000, 1, 1, 8, 2, 0, 0, time.UTC)))
		synctest.Wait()

		if n := api.RateLimited(); n != 0 {
			t.Errorf("the API answered %d sends with 429, want none", n)
		}
		var firstReply, lastReply time.Time
		replies := map[string]int{}
		var lessonTimes []time.Time
		for _, m := range api.Sent() {
			if id, _ := strconv.Atoi(m.ChatID); id >= 100_000 {
				replies[m.ChatID]++
				if firstReply.IsZero() || m.At.Before(firstReply) {
					firstReply = m.At
				}
				if m.At.After(lastReply) {
					lastReply = m.At
				}
				if !strings.Contains(m.Plain, "09:00") {
					t.Errorf("chat %s got %q, want the reply to /subscribe", m.ChatID, m.Plain)
				}
				continue
			}
			lessonTimes = append(lessonTimes, m.At)
		}
		if len(replies) != commands {
			t.Errorf("%d chats got a reply, want %d", len(replies), commands)
		}
		for id, n := range replies {
			if n != 1 {
				t.Errorf("chat %s got %d replies, want 1", id, n)
			}
		}
		if want := subscribed * 4; len(lessonTimes) != want {
			t.Errorf("%d lesson messages sent, want %d", len(lessonTimes), want)
		}
		// The lesson messages sent while replies went out: only those
		// whose turn had come before the first reply queued.
		during := 0
		for _, at := range lessonTimes {
			if at.After(firstReply) && at.Before(lastReply) {
				during++
			}
		}
		if during > 20 {
			t.Errorf("%d lesson messages went out between the first reply (%v) and the last (%v), want replies first", during, firstReply, lastReply)
		}
		t.Logf("%d replies from %v to %v (%.1f/s); %d lesson messages meanwhile", commands, firstReply.Format(time.TimeOnly),
			lastReply.Format("15:04:05.000"), float64(commands-1)/lastReply.Sub(firstReply).Seconds(), during)
	})
}

// TestReviewThroughTelegram runs the learning features through the bot
// and the fake Bot API, in virtual time: a word missed on day 1 comes back
// at the end of day 2's lesson, as a question with "I know this"; /review
// in a group links to the private chat; /export arrives as a document.
func TestReviewThroughTelegram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logtest.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		defer func() {
			if t.Failed() {
				t.Logf("logs:\n%s", logs.String())
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dir := t.TempDir()
		for name, text := range fixtureLessons {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		lessons := lesson.NewSource(func() lesson.Result { return lesson.LoadDir(dir) })
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "lessonbot.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		// Six questions: the ferry's three and three about its words.
		tut := tutor.New(st, lessons, tutor.Settings{Hour: 8, Zone: "UTC", Language: "en", Questions: 6, DailyReviews: 3},
			time.Now, log)
		api := telegramtest.NewFakeAPI(e2eToken)
		api.SetLatency(50 * time.Millisecond)
		bot, err := telegram.New(ctx, telegram.Options{
			Token: e2eToken, APIURL: telegram.DefaultAPIURL, Commands: tut.Commands(), Logger: log,
			HTTPClient: &http.Client{Transport: api.Transport(), Timeout: 2 * time.Minute}, NotFound: store.ErrNotFound,
		}, tut, st)
		if err != nil {
			t.Fatal(err)
		}
		pool := delivery.New(st, tut, map[string]delivery.Platform{chat.Telegram: {Sender: bot,
			Limits: ratelimit.Limits{PerSecond: 25, PerChatPerSecond: 1}}}, delivery.Options{}, log)
		sched := schedule.New(st, schedule.DefaultCatchUp, time.Now, log, pool.Wake)
		tut.OnChange(sched.Update)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() { sched.Run(ctx) })
		wg.Go(func() { pool.Run(ctx) })
		wg.Go(func() { bot.Run(ctx) })
		settle := func() { time.Sleep(10 * time.Second); synctest.Wait() }

		user := telegramtest.FakeUser{ID: 515151, FirstName: "Ines"}
		dm := telegramtest.FakeChat{ID: 515151, Type: "private"}
		api.SendText(dm, &user, "/subscribe 07:30 UTC")
		settle()
		time.Sleep(time.Until(time.Date(2000, 1, 1, 7, 35, 0, 0, time.UTC)))
		synctest.Wait()
		day1 := api.SentTo(dm.ID)[1:]
		if len(day1) != 7 {
			t.Fatalf("day 1: %d messages, want the post and 6 questions", len(day1))
		}
		// Miss the question about "crossing".
		for _, q := range day1 {
			if strings.Contains(q.Plain, "“crossing”") {
				for _, row := range q.Buttons {
					if row[0].Text != "traversée" {
						api.Press(dm, user, q.MessageID, row[0].CallbackData)
						break
					}
				}
			}
		}
		settle()
		if a := api.Answers(); len(a) != 1 || !strings.HasPrefix(a[0].Text, "❌") {
			t.Fatalf("the press was answered %+v, want a wrong answer", a)
		}

		// Day 2: the next lesson ends with the review.
		before := len(api.SentTo(dm.ID))
		time.Sleep(time.Until(time.Date(2000, 1, 2, 7, 35, 0, 0, time.UTC)))
		synctest.Wait()
		day2 := api.SentTo(dm.ID)[before:]
		if len(day2) < 3 || !strings.Contains(day2[0].Plain, "Review: 2 words from earlier lessons, after the quiz.") {
			t.Fatalf("day 2's post lacks the review line: %+v", day2)
		}
		var reviews []telegramtest.SentMessage
		for _, m := range day2 {
			if strings.HasPrefix(m.Plain, "Review ") {
				reviews = append(reviews, m)
			}
		}
		if len(reviews) != 2 {
			t.Fatalf("day 2 has %d review questions, want 2 (crossing, and the ferry's word of the day)", len(reviews))
		}
		for _, r := range reviews {
			last := r.Buttons[len(r.Buttons)-1][0]
			if len(r.Buttons) != 5 || last.Text != "I know this" || !strings.HasPrefix(last.CallbackData, "r:") {
				t.Errorf("a review question's keyboard: %+v", r.Buttons)
			}
		}

		// In a group, /review links to the private chat.
		group := telegramtest.FakeChat{ID: -100777, Type: "supergroup", Title: "Readers"}
		api.SendText(group, &user, "/review")
		settle()
		g := api.SentTo(group.ID)
		if len(g) != 1 || len(g[0].Buttons) != 1 || g[0].Buttons[0][0].URL != "https://t.me/"+api.BotName+"?start=review" {
			t.Errorf("/review in a group: %+v, want a link to the private chat", g)
		}

		// /export sends the words as a document.
		api.SendText(dm, &user, "/export")
		settle()
		docs := api.Documents()
		if len(docs) != 1 || docs[0].Name != "lessonbot-anki.txt" || docs[0].ChatID != "515151" ||
			!strings.HasPrefix(string(docs[0].Data), "#separator:tab\n#html:true\n#notetype:Basic\n") ||
			!strings.Contains(docs[0].CaptionPlain, "2 words") {
			t.Errorf("/export sent %+v, want the Anki file with its caption", docs)
		}
	})
}
