package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/console"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/review"
	"github.com/lessonbot/lessonbot/internal/store"
)

// writeChatConfig writes a config file in dir with a database there and
// the given lessons folder, and returns its path.
func writeChatConfig(t *testing.T, dir, lessons string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\n", filepath.Join(dir, "lessonbot.db"), lessons)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runChatOnce(t *testing.T, configPath, input string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"chat", "--config", configPath}, Env{
		Stdin: strings.NewReader(input), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
	})
	if code != exitOK {
		t.Fatalf("chat exited %d; stderr:\n%s", code, errOut.String())
	}
	return out.String()
}

// TestChatPipedScoreSurvivesRestart answers the first lesson's three
// questions, two right, and sees 2/3 in /score, then again after a
// restart of the program on the same database.
func TestChatPipedScoreSurvivesRestart(t *testing.T) {
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeChatConfig(t, t.TempDir(), lessonsDir)

	res := lesson.LoadDir(lessonsDir)
	first := res.Library.Lessons()[0]
	qs := quiz.Questions(first, res.Library, 3)
	if len(qs) != 3 {
		t.Fatalf("the first lesson has %d questions, want 3", len(qs))
	}
	right := func(q quiz.Question) int { return q.Correct + 1 }
	wrong := func(q quiz.Question) int { return (q.Correct+1)%len(q.Choices) + 1 }
	input := fmt.Sprintf("/subscribe 07:30 Europe/Paris\n/lesson\n%d\n%d\n%d\n/score\n", right(qs[0]), wrong(qs[1]), right(qs[2]))

	out := runChatOnce(t, cfg, input)
	for _, want := range []string{
		"Subscribed: a lesson at 07:30 (Europe/Paris)",
		first.Title,
		"Question 1/3",
		"Question 3/3",
		"✅",
		"❌",
		"you: 2/3 correct (67%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out = runChatOnce(t, cfg, "/score\n/settings\n")
	if !strings.Contains(out, "you: 2/3 correct") {
		t.Errorf("after a restart, /score lacks 2/3:\n%s", out)
	}
	if !strings.Contains(out, "Daily lessons: on") || !strings.Contains(out, "07:30") {
		t.Errorf("after a restart, the subscription is gone:\n%s", out)
	}
}

func TestChatNumberWithoutQuestion(t *testing.T) {
	lessonsDir, _ := filepath.Abs("../../lessons")
	out := runChatOnce(t, writeChatConfig(t, t.TempDir(), lessonsDir), "1\nhello\n/lesson\n9\n")
	if !strings.Contains(out, "Type a command such as /lesson or /help.") {
		t.Errorf("a number with no question waiting got no hint:\n%s", out)
	}
	if !strings.Contains(out, "Type a number from 1 to") {
		t.Errorf("an out-of-range choice got no hint:\n%s", out)
	}
}

const watchedLesson = `---
title: %s
level: B1
---
The harbour ferry now leaves every twenty minutes.

## Summary
More ferries.
`

// TestChatServesLessonChanges edits, breaks and removes lesson files while
// the program runs, and sees each change (or the last good copy) served.
func TestChatServesLessonChanges(t *testing.T) {
	dir := t.TempDir()
	lessons := filepath.Join(dir, "lessons")
	if err := os.Mkdir(lessons, 0o755); err != nil {
		t.Fatal(err)
	}
	writeLesson := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(lessons, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeLesson("alpha.md", fmt.Sprintf(watchedLesson, "Ferries every twenty minutes"))
	cfg := writeChatConfig(t, dir, lessons)

	in, inWriter := io.Pipe()
	out := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"chat", "--config", cfg}, Env{Stdin: in, Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		inWriter.Close()
		if code := <-done; code != exitOK {
			t.Errorf("chat exited %d", code)
		}
	}()

	// eventually sends cmd until the output after it contains want.
	eventually := func(cmd, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mark := len(out.String())
			if _, err := io.WriteString(inWriter, cmd+"\n"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			if strings.Contains(out.String()[mark:], want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %q, no %q in:\n%s", cmd, want, out.String()[mark:])
			}
		}
	}

	eventually("/preview alpha", "Ferries every twenty minutes")

	writeLesson("alpha.md", fmt.Sprintf(watchedLesson, "Ferries every ten minutes"))
	eventually("/preview alpha", "Ferries every ten minutes")

	writeLesson("alpha.md", "---\nlevel: B1\n---\nNo title now.\n")
	eventually("/stats", "missing title")
	eventually("/preview alpha", "Ferries every ten minutes")

	writeLesson("beta.md", fmt.Sprintf(watchedLesson, "A second ferry line opens"))
	eventually("/preview beta", "A second ferry line opens")

	if err := os.Remove(filepath.Join(lessons, "beta.md")); err != nil {
		t.Fatal(err)
	}
	eventually("/preview beta", `There is no lesson "beta"`)
}

func TestRunWithoutPlatform(t *testing.T) {
	var out, errOut bytes.Buffer
	cfg := writeChatConfig(t, t.TempDir(), "lessons")
	code := Main(context.Background(), []string{"run", "--config", cfg}, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	if code != exitUsage {
		t.Errorf("run exited %d, want %d", code, exitUsage)
	}
	for _, want := range []string{"TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "lessonbot chat"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("run's message lacks %q: %s", want, errOut.String())
		}
	}
}

// TestChatScheduledLessonArrives subscribes a piped session at the next
// minute and waits, in real time, for the scheduler to deliver the lesson
// and ask its first question.
func TestChatScheduledLessonArrives(t *testing.T) {
	if testing.Short() {
		t.Skip("waits up to a minute of real time")
	}
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	first := lesson.LoadDir(lessonsDir).Library.Lessons()[0]
	cfg := writeChatConfig(t, t.TempDir(), lessonsDir)

	slot := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if time.Until(slot) < 5*time.Second {
		slot = slot.Add(time.Minute)
	}
	in, inWriter := io.Pipe()
	out := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"chat", "--config", cfg}, Env{Stdin: in, Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	}()
	defer func() {
		cancel()
		inWriter.Close()
		if code := <-done; code != exitOK {
			t.Errorf("chat exited %d", code)
		}
	}()
	if _, err := io.WriteString(inWriter, "/subscribe "+slot.Format("15:04")+" UTC\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Until(slot) + 30*time.Second)
	for !strings.Contains(out.String(), "Question 1/3") {
		if time.Now().After(deadline) {
			t.Fatalf("no lesson by %v:\n%s", deadline, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := out.String()
	if !strings.Contains(got, first.Title) {
		t.Errorf("the delivered lesson is not %q:\n%s", first.Title, got)
	}
	if strings.Index(got, first.Title) < strings.Index(got, "Subscribed") {
		t.Errorf("the lesson came before the subscription:\n%s", got)
	}
}

func runChatAt(t *testing.T, configPath, now, input string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"chat", "--config", configPath, "--now", now}, Env{
		Stdin: strings.NewReader(input), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
	})
	if code != exitOK {
		t.Fatalf("chat --now %s exited %d; stderr:\n%s", now, code, errOut.String())
	}
	return out.String()
}

// TestChatReviewAcrossDays misses a word on day 1 and finds it, on day 2,
// in /lesson's review block and in /review, as a cloze of its sentence;
// answered right, it moves to a later day.
func TestChatReviewAcrossDays(t *testing.T) {
	lessonsDir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	// Quizzes of up to 6 questions: past the shipped lessons' own, some
	// are about their words.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("database: %q\nlessons: %q\nquiz:\n  questions: 6\n", filepath.Join(dir, "lessonbot.db"), lessonsDir)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	res := lesson.LoadDir(lessonsDir)
	first := res.Library.Lessons()[0]
	qs := quiz.Questions(first, res.Library, 6)
	missed := -1
	var input strings.Builder
	input.WriteString("/lesson\n")
	for i, q := range qs {
		choice := q.Correct + 1
		if missed < 0 && q.Term != "" {
			missed, choice = i, (q.Correct+1)%len(q.Choices)+1
		}
		fmt.Fprintf(&input, "%d\n", choice)
	}
	if missed < 0 {
		t.Fatalf("the first lesson, %s, has no question about a word", first.ID)
	}
	term := qs[missed].Term
	day1 := runChatAt(t, cfg, "2026-03-02T09:00:00Z", input.String())
	if !strings.Contains(day1, "❌") {
		t.Fatalf("day 1 has no wrong answer:\n%s", day1)
	}

	// Day 2: the missed word is due, with the lesson's word of the day
	// unless that was the word missed; in review order, as the store reads
	// them.
	st, err := store.Open(context.Background(), filepath.Join(dir, "lessonbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	learner, err := st.FindLearner(context.Background(), console.User)
	if err != nil {
		t.Fatal(err)
	}
	day2 := store.Day(review.DayOf(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), time.UTC))
	due, err := st.DueItems(context.Background(), learner, day2, 10)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range due {
		order = append(order, it.Term)
	}
	if !slices.Contains(order, term) {
		t.Fatalf("due on day 2: %q, want the missed %q among them", order, term)
	}
	reviews := map[string]quiz.Question{}
	for _, q := range quiz.Reviews(first, res.Library) {
		reviews[q.Term] = q
	}
	prompt := term
	if cloze, ok := lesson.Cloze(first.Article, term); ok {
		prompt = cloze
	}
	out := runChatAt(t, cfg, "2026-03-03T09:00:00Z", "/lesson\n/review\n")
	n := len(order)
	block := fmt.Sprintf("Review: %d word from earlier lessons, after the quiz.", n)
	if n > 1 {
		block = fmt.Sprintf("Review: %d words from earlier lessons, after the quiz.", n)
	}
	for _, want := range []string{block, fmt.Sprintf("Review 1/%d", n), prompt} {
		if !strings.Contains(out, want) {
			t.Errorf("day 2 lacks %q:\n%s", want, out)
		}
	}
	var answers strings.Builder
	answers.WriteString("/review\n")
	for _, w := range order {
		fmt.Fprintf(&answers, "%d\n", reviews[w].Correct+1)
	}
	answers.WriteString("/review\n")
	out = runChatAt(t, cfg, "2026-03-03T09:05:00Z", answers.String())
	if got := strings.Count(out, "✅ Right! It comes back "); got != n {
		t.Errorf("%d right reviews, want %d:\n%s", got, n, out)
	}
	if strings.Contains(out, "It comes back today") || !strings.Contains(out, "Nothing to review today. Next review: ") {
		t.Errorf("the words did not move to a later day:\n%s", out)
	}
}
