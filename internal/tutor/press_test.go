package tutor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/quiz"
	"github.com/lessonbot/lessonbot/internal/store"
)

func TestPressAnswer(t *testing.T) {
	tests := []struct {
		name   string
		lang   string
		lesson string
		index  int // the question
		right  bool
		want   func(q quiz.Question) string
	}{
		{"OKRight", "en", bakeryID, 0, true, func(q quiz.Question) string {
			return "✅ Right!\n" + bakeryExplan
		}},
		{"OKWrong", "en", bakeryID, 0, false, func(q quiz.Question) string {
			return "❌ Not quite: the answer is “" + bakeryRight + "”.\n" + bakeryExplan
		}},
		{"OKRightFrench", "fr", bakeryID, 0, true, func(q quiz.Question) string {
			return "✅ Bonne réponse !\n" + bakeryExplan
		}},
		{"OKWrongFrench", "fr", bakeryID, 0, false, func(q quiz.Question) string {
			return "❌ Raté : la réponse est « " + bakeryRight + " ».\n" + bakeryExplan
		}},
		{"OKGeneratedRight", "en", bakeryID, 1, true, func(q quiz.Question) string { return "✅ Right!" }},
		{"OKGeneratedWrong", "en", bakeryID, 2, false, func(q quiz.Question) string {
			return "❌ Not quite: the answer is “dough”."
		}},
		{"OKGeneratedNote", "en", riverID, 2, true, func(q quiz.Question) string {
			return "✅ Right!\n" + riverNote
		}},
		{"OKClipped", "en", trainsID, 0, false, func(q quiz.Question) string {
			full := "❌ Not quite: the answer is “Next spring”.\n" + trainsExplan
			return string([]rune(full)[:chat.MaxNotice-1]) + "…"
		}},
		{"OKClippedFrench", "fr", trainsID, 0, false, func(q quiz.Question) string {
			full := "❌ Raté : la réponse est « Next spring ».\n" + trainsExplan
			return string([]rune(full)[:chat.MaxNotice-1]) + "…"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, "/language "+tt.lang)
			q := h.questions(tt.lesson)[tt.index]
			choice := q.Correct
			if !tt.right {
				choice = wrong(q)
			}
			got := h.press(ann, pressData(q, choice))
			if want := tt.want(q); got.Notice != want {
				t.Errorf("notice:\n got %q\nwant %q", got.Notice, want)
			}
			if n := utf8.RuneCountInString(got.Notice); n > chat.MaxNotice {
				t.Errorf("notice is %d characters, at most %d", n, chat.MaxNotice)
			}
			if len(got.Messages) != 0 {
				t.Errorf("messages %+v", got.Messages)
			}
			correct, answered := h.score(ann.user)
			if wantCorrect := map[bool]int{true: 1}[tt.right]; correct != wantCorrect || answered != 1 {
				t.Errorf("score %d/%d, want %d/1", correct, answered, wantCorrect)
			}
		})
	}
}

func TestPressFirstAnswerCounts(t *testing.T) {
	tests := []struct {
		name          string
		lang          string
		first, second func(q quiz.Question) int
		wantCorrect   int
	}{
		{"OKWrongThenRight", "en", wrong, func(q quiz.Question) int { return q.Correct }, 0},
		{"OKRightThenWrong", "en", func(q quiz.Question) int { return q.Correct }, wrong, 1},
		{"OKSameTwice", "en", wrong, wrong, 0},
		{"OKWrongThenRightFrench", "fr", wrong, func(q quiz.Question) int { return q.Correct }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, "/language "+tt.lang)
			q := h.questions(bakeryID)[0]
			first := tt.first(q)
			h.press(ann, pressData(q, first))
			got := h.press(ann, pressData(q, tt.second(q)))
			want := say(tt.lang, keyAlready, q.Choices[first])
			if got.Notice != want {
				t.Errorf("second press: %q, want %q", got.Notice, want)
			}
			correct, answered := h.score(ann.user)
			if correct != tt.wantCorrect || answered != 1 {
				t.Errorf("score %d/%d, want %d/1", correct, answered, tt.wantCorrect)
			}
			// The same learner in another chat: still the first answer.
			elsewhere := inGroup("-100", "7", "Ann", false)
			if got := h.press(elsewhere, pressData(q, q.Correct)); !strings.Contains(got.Notice, q.Choices[first]) {
				t.Errorf("press in another chat: %q", got.Notice)
			}
			if n := h.answers(); n != 1 {
				t.Errorf("%d answers stored, want 1", n)
			}
		})
	}
}

func TestPressForged(t *testing.T) {
	h0 := newHarness(t)
	q := h0.questions(bakeryID)[0]        // three choices
	gen := h0.questions(bakeryID)[1]      // four choices
	_, hash, _ := strings.Cut(q.Key, ":") // a real hash, under other ids
	random := rand.New(rand.NewChaCha8([32]byte{1, 2, 3}))
	randomBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(random.UintN(256))
		}
		return string(b)
	}
	tests := []struct{ name, data string }{
		{"ErrEmpty", ""},
		{"ErrGarbageKey", "a:zzz"},
		{"ErrNoChoice", "a:" + q.Key},
		{"ErrEmptyChoice", "a:" + q.Key + ":"},
		{"ErrMissingLesson", "a:no-such-lesson:" + hash + ":0"},
		{"ErrMissingLessonOtherHash", "a:no-such-lesson:0123abcd:0"},
		{"ErrUnknownHash", "a:" + bakeryID + ":0123abcd:0"},
		{"ErrHashOfAnotherLesson", "a:" + riverID + ":" + hash + ":0"},
		{"ErrUpperCaseHash", "a:" + strings.ToUpper(q.Key) + ":0"},
		{"ErrChoiceOutOfRange", fmt.Sprintf("a:%s:%d", q.Key, len(q.Choices))},
		{"ErrChoiceNine", "a:" + gen.Key + ":9"},
		{"ErrChoiceTwoDigits", "a:" + q.Key + ":10"},
		{"ErrChoiceNegative", "a:" + q.Key + ":-1"},
		{"ErrChoiceNotANumber", "a:" + q.Key + ":x"},
		{"ErrTrailingNewline", pressData(q, q.Correct) + "\n"},
		{"ErrLeadingSpace", " " + pressData(q, q.Correct)},
		{"ErrOtherPrefix", "b:" + q.Key + ":0"},
		{"ErrReadUnknown", "read:nope"},
		{"ErrReadEmpty", "read:"},
		{"ErrReadUpperCase", "read:BAKERY-ROBOT"},
		{"ErrReadPath", "read:../bakery-robot"},
		{"Err65Bytes", "read:" + strings.Repeat("a", 60)},
		{"Err65BytesAnswer", "a:" + strings.Repeat("b", 52) + ":" + hash + ":0"},
		{"ErrRandomBytes", randomBytes(64)},
		{"ErrRandomBytesShort", randomBytes(7)},
		{"ErrInvalidUTF8", "a:\xff\xfe:0"},
		{"ErrNUL", "read:bakery-robot\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range Languages {
				s := defaultSettings()
				s.Language = lang
				h := newHarnessWith(t, s)
				ann := inPrivate("7", "Ann")
				got := h.press(ann, tt.data)
				if want := (chat.PressReply{Notice: say(lang, keyUnavailable)}); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: press %q: %+v, want %+v", lang, tt.data, got, want)
				}
				if n := h.answers(); n != 0 {
					t.Errorf("%s: %d answers stored", lang, n)
				}
				if sub, ok := h.row(ann.addr); ok {
					t.Errorf("%s: a press stored the chat %+v", lang, sub)
				}
			}
		})
	}
	t.Run("ErrInChatLanguage", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/language fr")
		if got, want := h.press(ann, "a:zzz").Notice, "Cette question n'est plus disponible."; got != want {
			t.Errorf("%q, want %q", got, want)
		}
	})
}

// FuzzPress checks that no button data, however forged, makes the tutor
// fail, and that data it refuses stores nothing.
func FuzzPress(f *testing.F) {
	for _, seed := range []string{"", "a:zzz", "read:bakery-robot", "a:bakery-robot:0123abcd:0", "read:nope", "a:bakery-robot:e3b0c442:3"} {
		f.Add(seed)
	}
	h := newHarness(f)
	ann := inPrivate("7", "Ann")
	f.Fuzz(func(t *testing.T, data string) {
		before, err := h.st.AnswerCount(h.ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := h.tutor.Press(h.ctx, chat.Press{Chat: ann.addr, Kind: ann.kind, From: ann.user, Data: data})
		if got.Notice == say("en", keyTrouble) {
			t.Fatalf("press %q: %q", data, got.Notice)
		}
		if utf8.RuneCountInString(got.Notice) > chat.MaxNotice {
			t.Fatalf("press %q: notice of %d characters", data, utf8.RuneCountInString(got.Notice))
		}
		after, err := h.st.AnswerCount(h.ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Notice == say("en", keyUnavailable) && after != before {
			t.Fatalf("press %q: refused but stored", data)
		}
	})
}

func TestPressRead(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want chat.Message
	}{
		{"OK", bakeryID, chat.Message{Title: bakeryTitle, Blocks: []chat.Block{
			{Kind: chat.Text, Text: bakeryPara1},
			{Kind: chat.Text, Text: bakeryPara2},
		}}},
		{"OKNotDeliveredYet", choirID, chat.Message{Title: choirTitle, Blocks: []chat.Block{
			{Kind: chat.Text, Text: "Commuters stopped on the platform on Friday evening when the town choir began to sing under the station clock."},
			{Kind: chat.Text, Text: "The conductor said the singers wanted to cheer up people on their way home."},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inGroup("-100", "7", "Ann", false)
			got := h.press(ann, ReadButtonPrefix+tt.id)
			if want := (chat.PressReply{Messages: []chat.Message{tt.want}}); !reflect.DeepEqual(got, want) {
				t.Errorf("press:\n got %+v\nwant %+v", got, want)
			}
			if n := h.answers(); n != 0 {
				t.Errorf("%d answers stored", n)
			}
		})
	}
	t.Run("OKButtonOfThePost", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		post := h.send(ann, "/lesson")[0]
		if len(post.Buttons) != 1 {
			t.Fatalf("post buttons %+v", post.Buttons)
		}
		got := h.press(ann, post.Buttons[0].Data)
		if !reflect.DeepEqual(got.Messages, h.send(ann, "/read")) {
			t.Errorf("the post's button gives %+v, /read another", got.Messages)
		}
	})
}

// TestPressAfterEdit checks that a question keeps its key, and its
// answers, when the rest of its lesson changes, and that a press on a
// question whose text changed is refused.
func TestPressAfterEdit(t *testing.T) {
	// The bakery lesson with its article, summary, choices' order in the
	// file and explanation rewritten, and the question text kept.
	edited := strings.NewReplacer(
		bakeryPara2, "Her customers say the bread tastes the same, and the shop now opens earlier.",
		"A village baker now uses", "A baker in a village now uses",
		bakeryExplan, "The article says the arm kneads the dough.",
	).Replace(bakerySrc)
	renamed := strings.Replace(bakerySrc, bakeryQText, "What job does the robot arm do?", 1)
	if edited == bakerySrc || renamed == bakerySrc {
		t.Fatal("fixture drift: the edits changed nothing")
	}
	reload := func(h *harness, src string) {
		h.t.Helper()
		l := parseLesson(h.t, bakeryID, src)
		h.lessons.reloadTo(lesson.Result{Library: lesson.NewLibrary([]*lesson.Lesson{l, h.lesson(riverID), h.lesson(trainsID), h.lesson(choirID)}), Files: 4})
		h.sendAll(inPrivate(adminID, "Root"), "/reload")
	}
	t.Run("OKCountsAfterEdit", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		old := h.send(ann, "/lesson")[1] // the authored question as sent
		reload(h, edited)
		var data string
		for i, b := range old.Buttons {
			if b.Label == bakeryRight {
				data = old.Buttons[i].Data
			}
		}
		got := h.press(ann, data)
		if want := "✅ Right!\nThe article says the arm kneads the dough."; got.Notice != want {
			t.Errorf("notice %q, want %q", got.Notice, want)
		}
		if c, n := h.score(ann.user); c != 1 || n != 1 {
			t.Errorf("score %d/%d, want 1/1", c, n)
		}
		// The current lesson is the edited one.
		if got := h.send(ann, "/read"); got[0].Blocks[1].Text != "Her customers say the bread tastes the same, and the shop now opens earlier." {
			t.Errorf("/read after edit: %+v", got)
		}
	})
	t.Run("OKAnsweredBeforeEdit", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		q := h.questions(bakeryID)[0]
		h.press(ann, pressData(q, wrong(q)))
		reload(h, edited)
		got := h.press(ann, pressData(q, q.Correct))
		if want := say("en", keyAlready, q.Choices[wrong(q)]); got.Notice != want {
			t.Errorf("notice %q, want %q", got.Notice, want)
		}
		if c, n := h.score(ann.user); c != 0 || n != 1 {
			t.Errorf("score %d/%d, want 0/1", c, n)
		}
	})
	t.Run("ErrQuestionTextChanged", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		q := h.questions(bakeryID)[0]
		reload(h, renamed)
		if got := h.press(ann, pressData(q, q.Correct)); got.Notice != say("en", keyUnavailable) {
			t.Errorf("notice %q", got.Notice)
		}
		if n := h.answers(); n != 0 {
			t.Errorf("%d answers stored", n)
		}
	})
}

// TestPressConcurrent has 20 members of one group answer the same three
// questions at once, each also pressing a second choice of each question,
// which must not count.
func TestPressConcurrent(t *testing.T) {
	const users = 20
	h := newHarness(t)
	qs := h.questions(bakeryID)
	start := make(chan struct{})
	type result struct {
		user    int
		notices []string
	}
	results := make(chan result, users)
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := inGroup("-100", fmt.Sprint(1000+u), fmt.Sprintf("U%02d", u), false)
			<-start
			var notices []string
			for i, q := range qs {
				choice := q.Correct
				if (u+i)%2 == 1 {
					choice = wrong(q)
				}
				notices = append(notices, h.press(s, pressData(q, choice)).Notice)
				notices = append(notices, h.press(s, pressData(q, (choice+1)%len(q.Choices))).Notice)
			}
			results <- result{u, notices}
		}()
	}
	close(start)
	wg.Wait()
	close(results)

	rights := 0
	for r := range results {
		for i, q := range qs {
			first, second := r.notices[2*i], r.notices[2*i+1]
			wantRight := (r.user+i)%2 == 0
			if !strings.HasPrefix(first, map[bool]string{true: "✅", false: "❌"}[wantRight]) {
				t.Errorf("user %d question %d: %q", r.user, i, first)
			}
			if wantRight {
				rights++
			}
			choice := q.Correct
			if !wantRight {
				choice = wrong(q)
			}
			if want := say("en", keyAlready, q.Choices[choice]); second != want {
				t.Errorf("user %d question %d second press: %q, want %q", r.user, i, second, want)
			}
		}
	}
	if n := h.answers(); n != users*len(qs) {
		t.Errorf("%d answers stored, want %d", n, users*len(qs))
	}
	stats, err := h.st.QuestionStats(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, s := range stats {
		if s.Answered != users {
			t.Errorf("question %s: %d answers, want %d", s.QuestionKey, s.Answered, users)
		}
		total += s.Correct
	}
	if total != rights {
		t.Errorf("%d right answers stored, want %d", total, rights)
	}
	ranks, err := h.st.Leaderboard(h.ctx, chat.Address{Platform: chat.Telegram, ChatID: "-100"}.Key(), store.WeekOf(monday, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranks) != users {
		t.Errorf("%d learners on the board, want %d", len(ranks), users)
	}
	for _, r := range ranks {
		var u int
		fmt.Sscanf(r.Name, "U%d", &u)
		want := 2 // questions 0 and 2 for even users, question 1 for odd ones
		if u%2 == 1 {
			want = 1
		}
		if r.Answered != len(qs) || r.Correct != want {
			t.Errorf("%s: %d/%d, want %d/%d", r.Name, r.Correct, r.Answered, want, len(qs))
		}
	}
}

// TestLessonConcurrent has several members of a new group ask for the
// lesson at once: each gets it, and it is recorded once.
func TestLessonConcurrent(t *testing.T) {
	const users = 8
	h := newHarness(t)
	start := make(chan struct{})
	replies := make([][]chat.Message, users)
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[u] = h.send(inGroup("-100", fmt.Sprint(1000+u), fmt.Sprintf("U%02d", u), false), "/lesson")
		}()
	}
	close(start)
	wg.Wait()
	want := h.tutor.LessonMessages(h.lesson(bakeryID), "en")
	for u, got := range replies {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("user %d got %q", u, allText(got))
		}
	}
	if got := h.delivered(chat.Address{Platform: chat.Telegram, ChatID: "-100"}); !reflect.DeepEqual(got, map[string]bool{bakeryID: true}) {
		t.Errorf("delivered %v", got)
	}
}
