package tutor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

// The fixture lessons: original texts in the shape of the model lesson (an
// English news article, a French glossary, a quiz). In library order:
// bakery (A2), river (B1, no authored quiz: generated questions only),
// trains (B2, a long explanation) and choir (undated, no level, no
// vocabulary and no quiz at all).
const (
	bakeryID     = "bakery-robot"
	bakeryTitle  = "A village bakery gets a robot helper"
	bakeryPara1  = "A small bakery in the hills bought a robot arm to knead the dough before sunrise."
	bakeryPara2  = "The baker says the machine saves her two hours a day, so she can open the shop earlier."
	bakeryQText  = "What does the robot arm do?"
	bakeryRight  = "It kneads the dough"
	bakeryExplan = `The robot arm kneads "the dough before sunrise".`

	riverID    = "river-cleanup"
	riverTitle = "Volunteers pull old bikes out of the river"
	riverNote  = "the side of a river, not a place for money"

	trainsID    = "night-trains"
	trainsTitle = "Night trains return to the northern line"
	// trainsExplan is long enough that a wrong answer's notice needs
	// clipping to chat.MaxNotice.
	trainsExplan = "The operator said the trains will run again from next spring, after ten years without any night service on the line; the article gives no other date for the return of the sleeper cars."

	choirID    = "town-choir"
	choirTitle = "The town choir sings at the station"
)

const bakerySrc = `---
title: ` + bakeryTitle + `
level: A2
date: 2026-01-05
source: https://example.org/news/bakery-robot
tags: [work, technology]
---
` + bakeryPara1 + `

` + bakeryPara2 + `

## Summary
A village baker now uses a robot arm to knead the dough and opens earlier.

## Vocabulary
- knead: pétrir
- dough: pâte
- sunrise: lever du soleil
- earlier: plus tôt

## Quiz
1. ` + bakeryQText + `
   - [ ] It sells the bread
   - [x] ` + bakeryRight + `
   - [ ] It cleans the oven
   > ` + bakeryExplan + `
`

const riverSrc = `---
title: ` + riverTitle + `
level: B1
date: 2026-01-12
---
More than two hundred volunteers waded into the river on Saturday and pulled out forty rusty bikes.

The council promised new fences along the bank to stop people who dump rubbish there.

## Summary
Volunteers removed forty old bikes from the river, and the council will build fences.

## Vocabulary
- wade: patauger
- rusty: rouillé
- bank: rive, berge — ` + riverNote + `
- dump: jeter, déverser
`

const trainsSrc = `---
title: ` + trainsTitle + `
level: B2
date: 2026-01-19
source: https://example.org/news/night-trains
---
After ten years without them, night trains will run again on the northern line from next spring, the rail operator announced.

Fares will be cheaper than a hotel room, and the sleeper cars have been refurbished with wider berths.

## Summary
Night trains come back on the northern line next spring, with refurbished sleeper cars.

## Vocabulary
- fare: tarif, prix du billet
- sleeper car: voiture-lit
- refurbished: rénové, remis à neuf
- berth: couchette

## Quiz
1. When will the night trains run again?
   - [x] Next spring
   - [ ] Next week
   - [ ] In ten years
   > ` + trainsExplan + `
2. What is cheaper than a hotel room?
   - [ ] A sleeper car
   - [x] The fare
   > The article says fares "will be cheaper than a hotel room".
`

const choirSrc = `---
title: ` + choirTitle + `
---
Commuters stopped on the platform on Friday evening when the town choir began to sing under the station clock.

The conductor said the singers wanted to cheer up people on their way home.

## Summary
The town choir gave a surprise concert at the station for commuters.
`

// fixtureSources are the fixture lessons by id.
var fixtureSources = map[string]string{
	bakeryID: bakerySrc,
	riverID:  riverSrc,
	trainsID: trainsSrc,
	choirID:  choirSrc,
}

// parseLesson parses one fixture, failing on any problem but the
// warning an unlevelled lesson gets, so that a fixture cannot drift into
// testing something else.
func parseLesson(t testing.TB, id, src string) *lesson.Lesson {
	t.Helper()
	l, problems := lesson.Parse("lessons/"+id+".md", id, []byte(src))
	for _, p := range problems {
		if !p.Warning || !strings.Contains(p.Message, "no level") {
			t.Fatalf("fixture %s: %v", id, p)
		}
	}
	if l == nil {
		t.Fatalf("fixture %s did not parse", id)
	}
	return l
}

// library builds a library of the fixtures with the given ids (all four
// when none are given).
func library(t testing.TB, ids ...string) *lesson.Library {
	t.Helper()
	if len(ids) == 0 {
		ids = []string{bakeryID, riverID, trainsID, choirID}
	}
	var ls []*lesson.Lesson
	for _, id := range ids {
		ls = append(ls, parseLesson(t, id, fixtureSources[id]))
	}
	return lesson.NewLibrary(ls)
}

// testLessons is the tutor's Lessons: a library the test swaps at will.
// Reload puts the result set by reloadTo in service, or reports the
// library in service when there is none.
type testLessons struct {
	mu       sync.Mutex
	lib      *lesson.Library
	problems []lesson.Problem
	next     *lesson.Result
	reloads  int
}

func (s *testLessons) Library() *lesson.Library {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lib
}

func (s *testLessons) Problems() []lesson.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.problems
}

func (s *testLessons) Reload() lesson.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloads++
	if s.next == nil {
		return lesson.Result{Library: s.lib, Problems: s.problems, Files: s.lib.Len()}
	}
	res := *s.next
	s.next = nil
	s.lib, s.problems = res.Library, res.Problems
	return res
}

// set puts lib in service now, as a reload would.
func (s *testLessons) set(lib *lesson.Library, problems ...lesson.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lib, s.problems = lib, problems
}

// reloadTo makes the next Reload put res in service.
func (s *testLessons) reloadTo(res lesson.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = &res
}

func (s *testLessons) reloadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloads
}

// monday is the harness's starting clock: Monday 2 March 2026, 10:00 UTC
// (11:00 in Paris, 05:00 in New York, 19:00 in Tokyo).
var monday = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// adminID is the Telegram user id of the configured admin.
const adminID = "42"

// defaultSettings are the tutor's settings in the harness.
func defaultSettings() Settings {
	return Settings{
		Hour: 8, Minute: 0, Zone: "UTC", Language: "en", Questions: 3,
		Admins: map[string][]string{chat.Telegram: {adminID}},
	}
}

// harness is a tutor on a real SQLite store in a temporary directory, the
// fixture library and a clock the test moves.
type harness struct {
	t       testing.TB
	ctx     context.Context
	st      *store.Store
	lessons *testLessons
	tutor   *Tutor
	logs    *logtest.Buffer

	mu  sync.Mutex
	now time.Time
}

func newHarness(t testing.TB) *harness {
	return newHarnessWith(t, defaultSettings())
}

func newHarnessWith(t testing.TB, settings Settings) *harness {
	t.Helper()
	return newHarnessAt(t, settings, filepath.Join(t.TempDir(), "t.db"))
}

// newHarnessAt is newHarnessWith on the database at path.
func newHarnessAt(t testing.TB, settings Settings, path string) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	h := &harness{t: t, ctx: ctx, st: st, lessons: &testLessons{lib: library(t)}, logs: &logtest.Buffer{}, now: monday}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	h.tutor = New(st, h.lessons, settings, h.clock, log)
	// Every test here expects the tutor to run without failing on its
	// side: a "Something went wrong" must not hide behind a passing test.
	t.Cleanup(func() {
		if logs := h.logs.String(); strings.Contains(logs, "level=ERROR") {
			t.Errorf("the tutor logged errors:\n%s", logs)
		}
	})
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// setClock moves the clock to at.
func (h *harness) setClock(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = at
}

// sender is someone in a chat: the chat, its kind, the user, and whether
// the platform says they may manage the chat.
type sender struct {
	addr      chat.Address
	kind      chat.Kind
	user      chat.User
	canManage bool
}

// inPrivate is a private Telegram chat with user id.
func inPrivate(id, name string) sender {
	return sender{
		addr: chat.Address{Platform: chat.Telegram, ChatID: id},
		kind: chat.Private,
		user: chat.User{Platform: chat.Telegram, ID: id, Name: name},
	}
}

// inGroup is user id in the Telegram group group.
func inGroup(group, id, name string, canManage bool) sender {
	return sender{
		addr:      chat.Address{Platform: chat.Telegram, ChatID: group},
		kind:      chat.Group,
		user:      chat.User{Platform: chat.Telegram, ID: id, Name: name},
		canManage: canManage,
	}
}

// send runs one command line such as "/time 07:30".
func (h *harness) send(s sender, line string) []chat.Message {
	h.t.Helper()
	name, _, args, ok := chat.ParseCommand(line)
	if !ok {
		h.t.Fatalf("not a command: %q", line)
	}
	return h.tutor.Handle(h.ctx, chat.Command{Chat: s.addr, Kind: s.kind, From: s.user, Name: name, Args: args, CanManage: s.canManage})
}

// sendAll runs command lines in order, failing when one is refused or
// goes wrong.
func (h *harness) sendAll(s sender, lines ...string) {
	h.t.Helper()
	for _, line := range lines {
		if got := allText(h.send(s, line)); isRefusal(got) {
			h.t.Fatalf("%s: %q", line, got)
		}
	}
}

// refusals match, in every language, the replies that refuse a command or
// report a failure.
var refusals = func() []*regexp.Regexp {
	verb := regexp.MustCompile(`%[a-z]`)
	var out []*regexp.Regexp
	for _, texts := range catalog {
		for _, k := range []key{keyUnknownCommand, keyTooLong, keyBadTime, keyBadZone, keyBadDays, keyBadLevel,
			keyBadLanguage, keyBadPause, keyBadSubscribe, keyNoArgs, keyNotAllowed, keyAdminOnly, keyTrouble,
			keyNotSubscribed} {
			parts := verb.Split(texts[k], -1)
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			out = append(out, regexp.MustCompile(`(?s)^`+strings.Join(parts, ".*")+`$`))
		}
	}
	return out
}()

func isRefusal(text string) bool {
	for _, re := range refusals {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

// reply runs one command and returns the text of its reply, which must be
// one message of one text block.
func (h *harness) reply(s sender, line string) string {
	h.t.Helper()
	return oneText(h.t, h.send(s, line))
}

func (h *harness) press(s sender, data string) chat.PressReply {
	return h.tutor.Press(h.ctx, chat.Press{Chat: s.addr, Kind: s.kind, From: s.user, Data: data})
}

// row returns the stored row of a chat; ok is false when there is none.
func (h *harness) row(addr chat.Address) (store.Subscription, bool) {
	h.t.Helper()
	sub, err := h.st.Chat(h.ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return store.Subscription{}, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return sub, true
}

// mustRow returns the stored row of a chat, failing when there is none.
func (h *harness) mustRow(addr chat.Address) store.Subscription {
	h.t.Helper()
	sub, ok := h.row(addr)
	if !ok {
		h.t.Fatalf("chat %s has no row", addr.Key())
	}
	return sub
}

// lesson returns a lesson of the library in service.
func (h *harness) lesson(id string) *lesson.Lesson {
	h.t.Helper()
	l, ok := h.lessons.Library().Lookup(id)
	if !ok {
		h.t.Fatalf("no lesson %q in service", id)
	}
	return l
}

// questions returns a lesson's quiz as the quiz package makes it from the
// library in service, independently of the tutor's cache.
func (h *harness) questions(id string) []quiz.Question {
	h.t.Helper()
	qs := quiz.Questions(h.lesson(id), h.lessons.Library(), 3)
	if len(qs) == 0 {
		h.t.Fatalf("lesson %s has no questions", id)
	}
	return qs
}

// score returns a learner's stored score.
func (h *harness) score(u chat.User) (correct, answered int) {
	h.t.Helper()
	id, err := h.st.Learner(h.ctx, u)
	if err != nil {
		h.t.Fatal(err)
	}
	correct, answered, err = h.st.Score(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return correct, answered
}

// answers counts every stored answer.
func (h *harness) answers() int {
	h.t.Helper()
	n, err := h.st.AnswerCount(h.ctx, time.Time{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// delivered returns the ids of the lessons delivered to a chat.
func (h *harness) delivered(addr chat.Address) map[string]bool {
	h.t.Helper()
	sub, ok := h.row(addr)
	if !ok {
		return map[string]bool{}
	}
	ids, err := h.st.DeliveredLessons(h.ctx, sub.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// pressData is the button data of choice i of q.
func pressData(q quiz.Question, i int) string { return fmt.Sprintf("a:%s:%d", q.Key, i) }

// wrong returns the index of a wrong choice of q.
func wrong(q quiz.Question) int { return (q.Correct + 1) % len(q.Choices) }

// oneText returns the text of a reply that must be one message of one
// text block.
func oneText(t testing.TB, msgs []chat.Message) string {
	t.Helper()
	if len(msgs) != 1 || len(msgs[0].Blocks) != 1 || msgs[0].Blocks[0].Kind != chat.Text {
		t.Fatalf("want one message of one text block, got %+v", msgs)
	}
	return msgs[0].Blocks[0].Text
}

// allText joins the titles and text blocks of messages, one per line.
func allText(msgs []chat.Message) string {
	var lines []string
	for _, m := range msgs {
		if m.Title != "" {
			lines = append(lines, m.Title)
		}
		for _, b := range m.Blocks {
			if b.Kind == chat.Text {
				lines = append(lines, b.Text)
			}
		}
	}
	return strings.Join(lines, "\n")
}
