package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

// testQuestions is the quiz length the fixture's dashboard is told of.
const testQuestions = 3

// testLibrary returns the fixture's lessons, in this delivery order:
// port-strike (an authored question and three words), night-train (three
// words, a title with characters HTML escapes) and tool-library, never
// delivered. The seed also has figures of old-lesson, which is no longer
// in service.
func testLibrary() *lesson.Library {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	return lesson.NewLibrary([]*lesson.Lesson{
		{ID: "tool-library", Title: "A library that lends tools", Date: day(3), Language: "en", Gloss: "fr",
			Summary: "A library lends drills and ladders.",
			Terms: []lesson.Term{
				{Term: "borrow", Translations: []string{"emprunter"}},
				{Term: "drill", Translations: []string{"perceuse"}},
			}},
		{ID: "night-train", Title: "The night train comes back <again>", Date: day(2), Language: "en", Gloss: "fr",
			Summary: "Sleeper trains return across Europe.",
			Terms: []lesson.Term{
				{Term: "sleeper", Translations: []string{"couchette"}},
				{Term: "timetable", Translations: []string{"horaire"}},
				{Term: "fare", Translations: []string{"tarif"}},
			}},
		{ID: "port-strike", Title: "Dockers stop work at the port", Date: day(1), Language: "en", Gloss: "fr",
			Summary: "The port is shut while dockers strike for pay.",
			Terms: []lesson.Term{
				{Term: "halt", Translations: []string{"paralyser", "arrêter"}},
				{Term: "rule out", Translations: []string{"écarter", "exclure"}},
				{Term: "wage", Translations: []string{"salaire"}},
			},
			Questions: []lesson.Question{{Text: "Why did the dockers stop work?", Choices: []lesson.Choice{
				{Text: "For higher wages", Correct: true}, {Text: "Because of a storm"}, {Text: "For a day off"},
			}}}},
	})
}

// seeded is what seed stored, for the tests' expectations.
type seeded struct {
	lib *lesson.Library
	// quiz holds the questions of each lesson in service, as asked.
	quiz map[string][]quiz.Question
	// unknownSlot is the slot with messages of unknown fate.
	unknownSlot time.Time
}

// q returns question i (from 0) of lesson id.
func (s seeded) q(id string, i int) quiz.Question { return s.quiz[id][i] }

// right returns the index of q's right choice, and wrong(q, k) that of
// its k-th wrong choice (from 0).
func right(q quiz.Question) int { return q.Correct }

func wrong(q quiz.Question, k int) int {
	for i := range q.Choices {
		if i != q.Correct {
			if k == 0 {
				return i
			}
			k--
		}
	}
	panic(fmt.Sprintf("question %s has no wrong choice %d", q.Key, k))
}

// choiceOf returns the index of the choice of q whose text is text.
func choiceOf(q quiz.Question, text string) int {
	i := slices.Index(q.Choices, text)
	if i < 0 {
		panic(fmt.Sprintf("question %s has no choice %q", q.Key, text))
	}
	return i
}

// seed stores a month of history, each write at its time on the
// fixture's clock (which the store shares), ending at t0 (Monday 2 March
// 2026, 09:00 UTC, 10:00 in Paris):
//
//   - Mon 9 Feb 12:00 UTC telegram:4 (Eve) subscribes; 12:30 its slot
//     sends old-lesson (1 s late), which Eve answers at 12:40 (right),
//     on Wed 18 Feb 18:15 (wrong) and on Mon 2 Mar 08:45 (right).
//   - Thu 26 Feb 10:00 discord:500 subscribes, 11:00 telegram:6; telegram:6
//     unsubscribes on Fri 27 Feb 11:00; discord:500 is lost on Sun 1 Mar
//     10:00 (the bot was removed).
//   - Sat 28 Feb 09:00, 08:00, 07:00, 06:00 UTC telegram:1 (Ann),
//     telegram:2 (Bob), telegram:-100 and discord:400 (Cy and Dan)
//     subscribe; at 05:00 telegram:3 starts unsubscribed.
//   - Sun 1 Mar 07:00 UTC (the unknown slot): Bob's chat gets night-train,
//     its post 2 min late, its last question of unknown fate; discord:400
//     gets port-strike, its post of unknown fate. Bob answers at 07:10-12
//     (wrong, wrong, right); Cy at 08:00-01 and Dan at 08:05-06 answer
//     port-strike's first two questions wrong.
//   - Sun 1 Mar 12:00 a 429 on Discord (2 s); 13:00 Ann's chat gets
//     port-strike (5 s late); Ann answers at 13:02-04 (right, wrong, right).
//   - Mon 2 Mar 08:00 UTC (09:00 in Paris): Ann's chat gets night-train
//     (20 s late), Bob's port-strike fails, telegram:-100's waits; 429s on
//     Telegram at 08:00:30 (3 s) and 08:01 (7 s); Ann answers night-train
//     at 08:30 (right) and 08:31 (wrong).
//   - Review items: halt for Ann and Cy (missed) and Bob (a lesson's
//     word), timetable for Ann and Bob, sleeper for Bob (missed).
func seed(t *testing.T, f *fixture) seeded {
	t.Helper()
	ctx := context.Background()
	st := f.st
	lib := testLibrary()
	s := seeded{lib: lib, quiz: map[string][]quiz.Question{}}
	for _, l := range lib.Lessons() {
		s.quiz[l.ID] = quiz.Questions(l, lib, testQuestions)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Set(v)
		return v
	}
	subs := map[string]int64{}
	save := func(key string, kind chat.Kind, active bool) {
		t.Helper()
		var a chat.Address
		a.Platform, a.ChatID, _ = strings.Cut(key, ":")
		id, err := st.SaveChat(ctx, store.Subscription{Address: a, Kind: kind, Hour: 9, Zone: "Europe/Paris",
			Weekdays: store.EveryDay, Language: "en", Active: active, CreatedAt: f.clock.Now()})
		must(err)
		subs[key] = id
	}
	learners := map[string]int64{}
	learner := func(platform, id, name string) {
		t.Helper()
		n, err := st.Learner(ctx, chat.User{Platform: platform, ID: id, Name: name})
		must(err)
		learners[name] = n
	}
	// deliver enqueues a delivery of lesson to the chat key at slot and
	// carries it out late after it as out says: sent (a post and three
	// questions), unknown-last (the last question of unknown fate),
	// unknown-post (the post of unknown fate), failed, or pending.
	deliver := func(key, lessonID string, slot time.Time, late time.Duration, out string) {
		t.Helper()
		f.clock.Set(slot)
		if n, err := st.EnqueueSlot(ctx, []int64{subs[key]}, slot); err != nil || n != 1 {
			t.Fatalf("enqueue %s: %d, %v", key, n, err)
		}
		if out == "pending" {
			return
		}
		f.clock.Set(slot.Add(late))
		platform, _, _ := strings.Cut(key, ":")
		claims, _, err := st.ClaimDue(ctx, slot.Add(late), "test", time.Hour, 1, false, platform)
		if err != nil || len(claims) != 1 || claims[0].Delivery.SubscriptionID != subs[key] {
			t.Fatalf("claim %s: %+v, %v", key, claims, err)
		}
		id := claims[0].Delivery.ID
		must(st.AssignLesson(ctx, id, lessonID))
		send := func(i int) {
			must(st.StartMessage(ctx, id, "test", i))
			must(st.MessageSent(ctx, id, i, fmt.Sprint("m", i)))
		}
		switch out {
		case "sent":
			for i := range 4 {
				send(i)
			}
			must(st.FinishDelivery(ctx, id, "test", store.DeliverySent, ""))
		case "unknown-last":
			for i := range 3 {
				send(i)
			}
			must(st.StartMessage(ctx, id, "test", 3))
			must(st.MessageUnknown(ctx, id, "test", 3, "timeout"))
			must(st.FinishDelivery(ctx, id, "test", store.DeliverySent, ""))
		case "unknown-post":
			must(st.StartMessage(ctx, id, "test", 0))
			must(st.MessageUnknown(ctx, id, "test", 0, "timeout"))
		case "failed":
			must(st.FinishDelivery(ctx, id, "test", store.DeliveryFailed, "refused"))
		default:
			t.Fatalf("no outcome %q", out)
		}
	}
	answer := func(who, chatKey string, q quiz.Question, choice int, when string) {
		t.Helper()
		id, _ := quiz.LessonIDOf(q.Key)
		_, first, err := st.RecordAnswer(ctx, store.Answer{LearnerID: learners[who], Chat: chatKey, LessonID: id,
			QuestionKey: q.Key, Choice: choice, Correct: choice == q.Correct, At: at(when)})
		must(err)
		if !first {
			t.Fatalf("%s's answer to %s is not a first try", who, q.Key)
		}
	}
	old := func(hash string, correct bool) quiz.Question {
		return quiz.Question{Key: "old-lesson:" + hash, Choices: []string{"a", "b"}, Correct: map[bool]int{true: 0, false: 1}[correct]}
	}
	learner(chat.Telegram, "4", "Eve")
	learner(chat.Telegram, "1", "Ann")
	learner(chat.Telegram, "2", "Bob")
	learner(chat.Discord, "401", "Cy")
	learner(chat.Discord, "402", "Dan")

	at("2026-02-09 12:00:00")
	save("telegram:4", chat.Private, true)
	deliver("telegram:4", "old-lesson", at("2026-02-09 12:30:00"), time.Second, "sent")
	answer("Eve", "telegram:4", old("0123abcd", true), 0, "2026-02-09 12:40:00")
	answer("Eve", "telegram:4", old("89abcdef", false), 0, "2026-02-18 18:15:00")

	at("2026-02-26 10:00:00")
	save("discord:500", chat.Group, true)
	at("2026-02-26 11:00:00")
	save("telegram:6", chat.Private, true)
	at("2026-02-27 11:00:00")
	save("telegram:6", chat.Private, false)

	for i, c := range []struct {
		key    string
		kind   chat.Kind
		active bool
	}{
		{"telegram:1", chat.Private, true},
		{"telegram:2", chat.Private, true},
		{"telegram:-100", chat.Group, true},
		{"discord:400", chat.Group, true},
		{"telegram:3", chat.Private, false},
	} {
		f.clock.Set(t0.Add(-time.Duration(48+i) * time.Hour))
		save(c.key, c.kind, c.active)
	}

	s.unknownSlot = at("2026-03-01 07:00:00")
	deliver("telegram:2", "night-train", s.unknownSlot, 2*time.Minute, "unknown-last")
	deliver("discord:400", "port-strike", s.unknownSlot, 30*time.Second, "unknown-post")
	n1, n2, n3 := s.q("night-train", 0), s.q("night-train", 1), s.q("night-train", 2)
	p1, p2, p3 := s.q("port-strike", 0), s.q("port-strike", 1), s.q("port-strike", 2)
	answer("Bob", "telegram:2", n1, wrong(n1, 0), "2026-03-01 07:10:00")
	answer("Bob", "telegram:2", n2, wrong(n2, 0), "2026-03-01 07:11:00")
	answer("Bob", "telegram:2", n3, right(n3), "2026-03-01 07:12:00")
	answer("Cy", "discord:400", p1, choiceOf(p1, "Because of a storm"), "2026-03-01 08:00:00")
	answer("Cy", "discord:400", p2, wrong(p2, 0), "2026-03-01 08:01:00")
	answer("Dan", "discord:400", p1, choiceOf(p1, "Because of a storm"), "2026-03-01 08:05:00")
	answer("Dan", "discord:400", p2, wrong(p2, 1), "2026-03-01 08:06:00")

	at("2026-03-01 10:00:00")
	if _, err := st.TurnOff(ctx, chat.Address{Platform: chat.Discord, ChatID: "500"}); err != nil {
		t.Fatal(err)
	}
	must(st.RecordRateLimited(ctx, chat.Discord, at("2026-03-01 12:00:00"), 2*time.Second))
	deliver("telegram:1", "port-strike", at("2026-03-01 13:00:00"), 5*time.Second, "sent")
	answer("Ann", "telegram:1", p1, right(p1), "2026-03-01 13:02:00")
	answer("Ann", "telegram:1", p2, wrong(p2, 0), "2026-03-01 13:03:00")
	answer("Ann", "telegram:1", p3, right(p3), "2026-03-01 13:04:00")

	slot := at("2026-03-02 08:00:00")
	deliver("telegram:1", "night-train", slot, 20*time.Second, "sent")
	deliver("telegram:2", "port-strike", slot, 25*time.Second, "failed")
	deliver("telegram:-100", "", slot, 0, "pending")
	must(st.RecordRateLimited(ctx, chat.Telegram, at("2026-03-02 08:00:30"), 3*time.Second))
	must(st.RecordRateLimited(ctx, chat.Telegram, at("2026-03-02 08:01:00"), 7*time.Second))
	answer("Ann", "telegram:1", n1, right(n1), "2026-03-02 08:30:00")
	answer("Ann", "telegram:1", n2, wrong(n2, 0), "2026-03-02 08:31:00")
	answer("Eve", "telegram:4", old("fedcba98", true), 0, "2026-03-02 08:45:00")

	for _, it := range []struct {
		who, lesson, term, source string
	}{
		{"Ann", "port-strike", "halt", "missed"},
		{"Cy", "port-strike", "halt", "missed"},
		{"Bob", "port-strike", "halt", "lesson"},
		{"Ann", "night-train", "timetable", "missed"},
		{"Bob", "night-train", "timetable", "missed"},
		{"Bob", "night-train", "sleeper", "missed"},
	} {
		if _, err := st.AddItem(ctx, store.ReviewItem{LearnerID: learners[it.who], LessonID: it.lesson, Term: it.term,
			Source: it.source, State: store.ItemNew, Graded: -1, AddedAt: f.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(t0)
	return s
}

// Words and headlines the generated libraries draw from.
var (
	benchWords = [][2]string{
		{"harbour", "port"}, {"strike", "grève"}, {"wage", "salaire"}, {"halt", "arrêter"}, {"sleeper", "couchette"},
		{"timetable", "horaire"}, {"fare", "tarif"}, {"borrow", "emprunter"}, {"drill", "perceuse"}, {"ladder", "échelle"},
		{"harvest", "récolte"}, {"drought", "sécheresse"}, {"loyal", "fidèle"}, {"budget", "budget"}, {"rent", "loyer"},
		{"flood", "inondation"}, {"coast", "côte"}, {"insurer", "assureur"}, {"lander", "atterrisseur"}, {"crater", "cratère"},
		{"marathon", "marathon"}, {"finish line", "ligne d'arrivée"}, {"pharmacy", "pharmacie"}, {"blood pressure", "tension artérielle"},
		{"bacteria", "bactéries"}, {"landfill", "décharge"}, {"canteen", "cantine"}, {"seedling", "semis"}, {"streetlight", "réverbère"},
		{"dim", "baisser"}, {"cinema", "cinéma"}, {"volunteer", "bénévole"}, {"ticket", "billet"}, {"bus stop", "arrêt de bus"},
		{"night shift", "équipe de nuit"}, {"council", "conseil municipal"}, {"grant", "subvention"}, {"shortage", "pénurie"},
		{"queue", "file d'attente"}, {"bridge", "pont"},
	}
	benchHeadlines = []string{
		"Harbour town's night market returns after a decade",
		"Dockers walk out over pay as the port falls silent",
		"A library that lends drills, ladders and sewing machines",
		"Why the night train is coming back across Europe",
		"Coffee prices force small cafés to rethink their menus",
		"Insurers retreat from the flood-prone coast",
		"The lunar lander that went quiet, and the team that waits",
		"A grandmother finishes her first marathon at 81",
		"Pharmacies start checking blood pressure for free",
		"Bacteria that eat plastic, and the landfill that feeds them",
		"A school garden now fills the canteen's plates",
		"Streetlights that dim when nobody walks by",
		"Villagers save their cinema with a crowdfunded roof",
		"The last night bus and the people who ride it",
	}
)

// benchLibrary returns n lessons "lesson-00".."lesson-NN" with headline
// titles, three words each and, for every third lesson, an authored
// question: the library of the browser test and the page benchmark.
func benchLibrary(n int) *lesson.Library {
	var lessons []*lesson.Lesson
	for i := range n {
		l := &lesson.Lesson{ID: fmt.Sprintf("lesson-%02d", i), Title: benchHeadlines[i%len(benchHeadlines)],
			Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i), Language: "en", Gloss: "fr",
			Summary: "A short summary of the article."}
		if i >= len(benchHeadlines) {
			l.Title += fmt.Sprintf(" (part %d)", i/len(benchHeadlines)+1)
		}
		for k := range 3 {
			w := benchWords[(3*i+k)%len(benchWords)]
			l.Terms = append(l.Terms, lesson.Term{Term: w[0], Translations: []string{w[1]}})
		}
		if i%3 == 0 {
			l.Questions = []lesson.Question{{Text: "What is the article mostly about?", Choices: []lesson.Choice{
				{Text: "A change in a town", Correct: true}, {Text: "A football match"}, {Text: "A new phone"},
			}}}
		}
		lessons = append(lessons, l)
	}
	return lesson.NewLibrary(lessons)
}

// seedLessons returns the lessons of lib as store.SeedDashboard takes
// them: each question of its quiz by key, with its choices, its right one
// and its word, so that the seeded answers name questions the library
// has.
func seedLessons(lib *lesson.Library) []store.SeedLesson {
	var out []store.SeedLesson
	for _, l := range lib.Lessons() {
		sl := store.SeedLesson{ID: l.ID}
		for _, q := range quiz.Questions(l, lib, testQuestions) {
			sl.Questions = append(sl.Questions, store.SeedQuestion{Key: q.Key, Choices: len(q.Choices), Right: q.Correct, Term: q.Term})
		}
		out = append(out, sl)
	}
	return out
}
