package quiz

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/lesson"
)

// harbourLesson is the lesson most tests ask about: two authored
// questions and six terms.
const harbourLesson = `---
title: Harbour buys electric cranes
level: B1
date: 2026-05-02
---
The harbour authority bought six electric cranes to unload ships faster
and to cut the fumes that drift along the quay.

Dock workers welcomed the purchase but asked for training before winter.

## Summary
A port switches to electric cranes to cut pollution.

## Vocabulary
- harbour: port — British spelling of "harbor"
- unload: décharger
- fumes: émanations, fumées
- quay: quai
- purchase: achat, acquisition
- training: formation

## Quiz
1. How many cranes did the authority buy?
   - [x] Six
   - [ ] Two
   - [ ] Ten
   > The first sentence says "six electric cranes".
2. What did dock workers ask for?
   - [x] Training
   - [ ] Higher pay
   - [ ] Longer breaks
`

// lessonSrc writes a small lesson file with the given vocabulary lines
// ("term: translation") and Quiz section.
func lessonSrc(language, gloss, date string, vocab []string, quiz string) string {
	var b strings.Builder
	b.WriteString("---\ntitle: A lesson written for the quiz tests\nlevel: A2\n")
	if date != "" {
		fmt.Fprintf(&b, "date: %s\n", date)
	}
	fmt.Fprintf(&b, "language: %s\ngloss: %s\n---\n", language, gloss)
	b.WriteString("A short article that exists only so the file parses.\n\n## Summary\nNothing happens.\n")
	if len(vocab) > 0 {
		b.WriteString("\n## Vocabulary\n")
		for _, v := range vocab {
			fmt.Fprintf(&b, "- %s\n", v)
		}
	}
	if quiz != "" {
		b.WriteString("\n## Quiz\n" + quiz)
	}
	return b.String()
}

var (
	bakerySrc = lessonSrc("en", "fr", "2026-03-01", []string{
		"bakery: boulangerie", "flour: farine", "oven: four", "dough: pâte", "shortage: pénurie, manque",
	}, "")
	// rooftopSrc glosses in Spanish: its translations must never be
	// offered to a French-gloss lesson.
	rooftopSrc = lessonSrc("en", "es", "2026-03-02", []string{
		"rooftop: azotea", "lettuce: lechuga", "harvest: cosecha", "greenhouse: invernadero",
	}, "")
	// bahnhofSrc teaches German to French speakers: its translations suit
	// Meaning questions of a French-gloss lesson, its terms never suit
	// Reverse questions of an English lesson.
	bahnhofSrc = lessonSrc("de", "fr", "2026-03-03", []string{
		"Bahnhof: gare", "Gleis: voie", "Fahrplan: horaire",
	}, "")
)

var (
	spanish = []string{"azotea", "lechuga", "cosecha", "invernadero"}
	german  = []string{"Bahnhof", "Gleis", "Fahrplan"}
)

func mustParse(t testing.TB, id, src string) *lesson.Lesson {
	t.Helper()
	l, problems := lesson.Parse(id+".md", id, []byte(src))
	if l == nil {
		t.Fatalf("parse %s: %v", id, problems)
	}
	return l
}

// library parses sources named "id=source" style by a map.
func library(t testing.TB, srcs map[string]string) *lesson.Library {
	t.Helper()
	var ls []*lesson.Lesson
	for id, src := range srcs {
		ls = append(ls, mustParse(t, id, src))
	}
	return lesson.NewLibrary(ls)
}

func standardLibrary(t testing.TB) (*lesson.Lesson, *lesson.Library) {
	t.Helper()
	l := mustParse(t, "harbour-cranes", harbourLesson)
	lib := library(t, map[string]string{"bakery": bakerySrc, "rooftop": rooftopSrc, "bahnhof": bahnhofSrc})
	return l, lesson.NewLibrary(append(slices.Clone(lib.Lessons()), l))
}

// wantKey computes a key the way the package documents it.
func wantKey(id, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return id + ":" + hex.EncodeToString(sum[:])[:8]
}

func TestQuestionsOrder(t *testing.T) {
	l, lib := standardLibrary(t)
	qs := Questions(l, lib, 100)
	type want struct {
		kind        Kind
		text        string
		answer      string
		explanation string
		note        string
		key         string
	}
	wants := []want{
		{Authored, "How many cranes did the authority buy?", "Six", `The first sentence says "six electric cranes".`, "", wantKey("harbour-cranes", "How many cranes did the authority buy?")},
		{Authored, "What did dock workers ask for?", "Training", "", "", wantKey("harbour-cranes", "What did dock workers ask for?")},
		{Meaning, "harbour", "port", "", `British spelling of "harbor"`, wantKey("harbour-cranes", "meaning\x00harbour")},
		{Reverse, "décharger", "unload", "", "", wantKey("harbour-cranes", "reverse\x00unload")},
		{Meaning, "fumes", "émanations", "", "", wantKey("harbour-cranes", "meaning\x00fumes")},
		{Reverse, "quai", "quay", "", "", wantKey("harbour-cranes", "reverse\x00quay")},
		{Meaning, "purchase", "achat", "", "", wantKey("harbour-cranes", "meaning\x00purchase")},
		{Reverse, "formation", "training", "", "", wantKey("harbour-cranes", "reverse\x00training")},
	}
	if len(qs) != len(wants) {
		t.Fatalf("got %d questions, want %d: %+v", len(qs), len(wants), qs)
	}
	for i, w := range wants {
		q := qs[i]
		if q.Kind != w.kind || q.Text != w.text || q.Explanation != w.explanation || q.Note != w.note || q.Key != w.key || q.LessonID != "harbour-cranes" {
			t.Errorf("question %d = %+v, want %+v", i, q, w)
		}
		if q.Correct < 0 || q.Correct >= len(q.Choices) || q.Choices[q.Correct] != w.answer {
			t.Errorf("question %d: Correct %d in %q, want %q", i, q.Correct, q.Choices, w.answer)
		}
		if q.Kind != Authored && len(q.Choices) != 4 {
			t.Errorf("question %d has %d choices, want 4", i, len(q.Choices))
		}
	}
}

func TestQuestionsCount(t *testing.T) {
	l, lib := standardLibrary(t)
	all := Questions(l, lib, 100)
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"Negative", -1, 0},
		{"Zero", 0, 0},
		{"OneAuthored", 1, 1},
		{"AuthoredOnly", 2, 2},
		{"OneGenerated", 3, 3},
		{"Default", 5, 5},
		{"AllOfThem", 8, 8},
		{"MoreThanThereAre", 50, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Questions(l, lib, tt.n)
			if len(got) != tt.want {
				t.Fatalf("Questions(n=%d) returned %d, want %d", tt.n, len(got), tt.want)
			}
			if !reflect.DeepEqual(got, all[:tt.want]) && tt.want > 0 {
				t.Errorf("Questions(n=%d) is not a prefix of the full list", tt.n)
			}
		})
	}
	if got := Questions(nil, lib, 3); got != nil {
		t.Errorf("Questions(nil) = %v", got)
	}
	if got := Questions(l, nil, 3); len(got) != 3 {
		t.Errorf("Questions with a nil library returned %d, want 3 (the lesson's own terms)", len(got))
	}
}

func TestQuestionsDeterministic(t *testing.T) {
	l, lib := standardLibrary(t)
	base := Questions(l, lib, 100)
	if again := Questions(l, lib, 100); !reflect.DeepEqual(base, again) {
		t.Fatalf("two calls differ:\n%+v\n%+v", base, again)
	}
	// Dates reorder the library; the extra lesson neither shares the gloss
	// nor the article language, so it offers nothing.
	reordered := map[string]string{
		"bakery":         strings.Replace(bakerySrc, "2026-03-01", "2027-01-01", 1),
		"rooftop":        strings.Replace(rooftopSrc, "2026-03-02", "2025-01-01", 1),
		"bahnhof":        strings.Replace(bahnhofSrc, "date: 2026-03-03\n", "", 1),
		"italiano":       lessonSrc("it", "es", "2020-01-01", []string{"stazione: estación", "binario: andén"}, ""),
		"harbour-cranes": harbourLesson,
	}
	tests := []struct {
		name string
		lib  *lesson.Library
	}{
		{"SameLibrary", lib},
		{"FreshCopy", func() *lesson.Library {
			_, lib := standardLibrary(t)
			return lib
		}()},
		{"OtherOrderAndUnrelatedLesson", library(t, reordered)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Questions(l, tt.lib, 100); !reflect.DeepEqual(got, base) {
				t.Errorf("questions differ:\n got %+v\nwant %+v", got, base)
			}
		})
	}
	if got := library(t, reordered).Lessons()[0].ID; got == lib.Lessons()[0].ID {
		t.Fatalf("the reordered library starts with %s too: the test does not reorder", got)
	}
}

func TestKeysStable(t *testing.T) {
	const id = "harbour-cranes"
	_, lib := standardLibrary(t)
	keys := func(src string) map[string]string {
		l := mustParse(t, id, src)
		out := map[string]string{}
		for _, q := range Questions(l, lib, 100) {
			out[q.Kind.String()+"/"+q.Text] = q.Key
		}
		return out
	}
	base := keys(harbourLesson)
	q1 := "authored/How many cranes did the authority buy?"
	q2 := "authored/What did dock workers ask for?"
	tests := []struct {
		name string
		edit func(string) string
		kept []string
	}{
		{"OtherQuestionEdited", func(s string) string {
			return strings.Replace(s, "What did dock workers ask for?", "What did the dock workers want?", 1)
		}, []string{q1, "meaning/harbour", "reverse/quai"}},
		{"ChoiceEdited", func(s string) string {
			return strings.Replace(s, "- [ ] Ten", "- [ ] Twelve", 1)
		}, []string{q1, q2}},
		{"ExplanationEdited", func(s string) string {
			return strings.Replace(s, `says "six electric cranes".`, "counts six cranes.", 1)
		}, []string{q1, q2}},
		{"SummaryEdited", func(s string) string {
			return strings.Replace(s, "to cut pollution.", "and cleaner air.", 1)
		}, []string{q1, q2, "meaning/harbour", "reverse/décharger", "meaning/fumes", "reverse/quai", "meaning/purchase", "reverse/formation"}},
		{"ArticleEdited", func(s string) string {
			return strings.Replace(s, "before winter", "before the cold season", 1)
		}, []string{q1, q2, "meaning/harbour", "reverse/quai"}},
		{"QuestionsReordered", func(s string) string {
			quiz := s[strings.Index(s, "## Quiz\n"):]
			first := quiz[strings.Index(quiz, "1. "):strings.Index(quiz, "2. ")]
			second := quiz[strings.Index(quiz, "2. "):]
			return strings.Replace(s, quiz, "## Quiz\n"+strings.Replace(second, "2. ", "1. ", 1)+strings.Replace(first, "1. ", "2. ", 1), 1)
		}, []string{q1, q2, "meaning/harbour"}},
		{"NoteAndSecondTranslationEdited", func(s string) string {
			s = strings.Replace(s, `British spelling of "harbor"`, "also a verb", 1)
			return strings.Replace(s, "émanations, fumées", "émanations, vapeurs", 1)
		}, []string{"meaning/harbour", "meaning/fumes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.edit(harbourLesson)
			if src == harbourLesson {
				t.Fatal("the edit changed nothing")
			}
			got := keys(src)
			for _, k := range tt.kept {
				if base[k] == "" || got[k] != base[k] {
					t.Errorf("key of %s = %q, was %q", k, got[k], base[k])
				}
			}
		})
	}
	if reordered := mustParse(t, id, tests[5].edit(harbourLesson)); reordered.Questions[0].Text != "What did dock workers ask for?" {
		t.Fatalf("reordering did not reorder: first question %q", reordered.Questions[0].Text)
	}
}

func TestShuffle(t *testing.T) {
	var quiz strings.Builder
	const count = 8
	for i := 1; i <= count; i++ {
		fmt.Fprintf(&quiz, "%d. Which answer is right, number %d?\n", i, i)
		fmt.Fprintf(&quiz, "   - [x] right %d\n   - [ ] wrong %da\n   - [ ] wrong %db\n   - [ ] wrong %dc\n", i, i, i, i)
	}
	l := mustParse(t, "shuffled", lessonSrc("en", "fr", "", nil, quiz.String()))
	qs := Questions(l, nil, 100)
	if len(qs) != count {
		t.Fatalf("got %d questions, want %d", len(qs), count)
	}
	positions := map[int]bool{}
	for i, q := range qs {
		n := i + 1
		if got, want := q.Choices[q.Correct], fmt.Sprintf("right %d", n); got != want {
			t.Errorf("question %d: Choices[Correct] = %q, want %q", n, got, want)
		}
		sorted := slices.Sorted(slices.Values(q.Choices))
		want := []string{fmt.Sprintf("right %d", n), fmt.Sprintf("wrong %da", n), fmt.Sprintf("wrong %db", n), fmt.Sprintf("wrong %dc", n)}
		if !slices.Equal(sorted, want) {
			t.Errorf("question %d: choices %q are not a permutation of %q", n, q.Choices, want)
		}
		positions[q.Correct] = true
	}
	if len(positions) < 2 {
		t.Errorf("the right answer is always at index %v: the order leaks the [x]", positions)
	}

	// Generated questions put the answer first before shuffling.
	gl, lib := standardLibrary(t)
	positions = map[int]bool{}
	for _, q := range Questions(gl, lib, 100)[2:] {
		positions[q.Correct] = true
	}
	if len(positions) < 2 {
		t.Errorf("generated answers always at index %v", positions)
	}
}

func TestShuffleIsFixed(t *testing.T) {
	// The order is part of what chats see and what stored answers index:
	// a change of algorithm must fail here, not reorder live questions.
	tests := []struct {
		key     string
		want    []string
		correct int
	}{
		{"harbour-cranes:0123abcd", []string{"b", "e", "c", "d", "a"}, 4},
		{"harbour-cranes:89abcdef", []string{"b", "a", "e", "d", "c"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			in := []string{"a", "b", "c", "d", "e"}
			got, correct := shuffle(tt.key, in, 0)
			if !slices.Equal(got, tt.want) || correct != tt.correct {
				t.Errorf("shuffle = %q, %d; want %q, %d", got, correct, tt.want, tt.correct)
			}
			if in[0] != "a" {
				t.Errorf("shuffle changed its input: %q", in)
			}
		})
	}
}

func TestDistractors(t *testing.T) {
	l, lib := standardLibrary(t)
	frFirst := map[string]bool{}
	enTerms := map[string]bool{}
	for _, o := range lib.Lessons() {
		for _, term := range o.Terms {
			if o.Gloss == "fr" {
				frFirst[term.Translations[0]] = true
			}
			if o.Language == "en" {
				enTerms[term.Term] = true
			}
		}
	}
	for _, q := range Questions(l, lib, 100) {
		if q.Kind == Authored {
			continue
		}
		term := termOf(t, l, q)
		seen := map[string]bool{}
		for i, c := range q.Choices {
			if seen[strings.ToLower(c)] {
				t.Errorf("%s %q: choice %q twice in %q", q.Kind, q.Text, c, q.Choices)
			}
			seen[strings.ToLower(c)] = true
			if i == q.Correct {
				continue
			}
			switch q.Kind {
			case Meaning:
				for _, tr := range term.Translations {
					if strings.EqualFold(c, tr) {
						t.Errorf("meaning %q: distractor %q is a right answer", q.Text, c)
					}
				}
				if !frFirst[c] || slices.Contains(spanish, c) {
					t.Errorf("meaning %q: distractor %q is not a French first translation", q.Text, c)
				}
			case Reverse:
				if strings.EqualFold(c, term.Term) {
					t.Errorf("reverse %q: distractor %q is the answer", q.Text, c)
				}
				if !enTerms[c] || slices.Contains(german, c) {
					t.Errorf("reverse %q: distractor %q is not an English term", q.Text, c)
				}
			}
		}
	}
}

// termOf finds the term a generated question asks about.
func termOf(t *testing.T, l *lesson.Lesson, q Question) lesson.Term {
	t.Helper()
	for _, term := range l.Terms {
		if q.Kind == Meaning && term.Term == q.Text || q.Kind == Reverse && term.Translations[0] == q.Text {
			return term
		}
	}
	t.Fatalf("no term for %+v", q)
	return lesson.Term{}
}

func TestGeneratedChoices(t *testing.T) {
	asked := lessonSrc("en", "fr", "2026-06-01", []string{
		"fumes: émanations, fumées", "quay: quai", "purchase: achat",
	}, "")
	synonyms := lessonSrc("en", "fr", "2026-06-02", []string{
		"wharf: quai", "smoke: fumées", "buying: Achat",
	}, "")
	spanishGloss := lessonSrc("en", "es", "2026-06-03", []string{
		"smoke: humo", "pier: muelle", "sale: venta",
	}, "")
	germanArticle := lessonSrc("de", "fr", "2026-06-04", []string{"Rauch: fumée", "Kai: quai"}, "")
	staleCopy := lessonSrc("en", "fr", "2026-06-01", []string{"soot: suie", "ash: cendre"}, "")
	tests := []struct {
		name   string
		lesson string
		others map[string]string
		kind   Kind
		text   string
		want   []string // the exact choices, in any order; nil: not checked
		absent []string
		count  int // number of choices; 0: the question is skipped
	}{
		{"SynonymsAndCaseDuplicatesExcluded", asked, map[string]string{"synonyms": synonyms},
			Meaning, "fumes", []string{"émanations", "quai", "Achat"}, []string{"fumées", "achat"}, 3},
		{"OtherGlossNotUsed", asked, map[string]string{"synonyms": synonyms, "spanish": spanishGloss},
			Meaning, "fumes", []string{"émanations", "quai", "Achat"}, []string{"humo", "muelle", "venta"}, 3},
		{"AnswerCaseVariantExcluded", asked, map[string]string{"synonyms": synonyms},
			Meaning, "purchase", []string{"achat", "émanations", "quai", "fumées"}, []string{"Achat"}, 4},
		{"SameGlossOtherArticleLanguageUsedForMeaning", asked, map[string]string{"german": germanArticle},
			Meaning, "fumes", []string{"émanations", "quai", "achat", "fumée"}, nil, 4},
		{"ReverseExcludesTermsWithTheAskedTranslation", asked, map[string]string{"synonyms": synonyms},
			Reverse, "quai", nil, []string{"wharf"}, 4},
		{"ReverseOtherArticleLanguageNotUsed", asked, map[string]string{"german": germanArticle},
			Reverse, "quai", []string{"quay", "fumes", "purchase"}, []string{"Kai", "Rauch"}, 3},
		{"ReverseOtherGlossSameLanguageUsed", asked, map[string]string{"spanish": spanishGloss},
			Reverse, "quai", nil, nil, 4},
		{"StaleCopyOfTheLessonIgnored", asked, map[string]string{"asked": staleCopy},
			Meaning, "fumes", []string{"émanations", "quai", "achat"}, []string{"suie", "cendre"}, 3},
		{"TwoTermsGiveTwoChoices", lessonSrc("en", "fr", "", []string{"ferry: traversier", "crew: équipage"}, ""), nil,
			Meaning, "ferry", []string{"traversier", "équipage"}, nil, 2},
		{"TwoTermsReverse", lessonSrc("en", "fr", "", []string{"ferry: traversier", "crew: équipage"}, ""), nil,
			Reverse, "équipage", []string{"crew", "ferry"}, nil, 2},
		{"LoneTermSkipped", lessonSrc("en", "fr", "", []string{"ferry: traversier"}, ""), nil,
			Meaning, "ferry", nil, nil, 0},
		{"LoneTermWithOnlySpanishNeighboursSkipped", lessonSrc("en", "fr", "", []string{"ferry: traversier"}, ""), map[string]string{"spanish": spanishGloss},
			Meaning, "ferry", nil, nil, 0},
		{"OnlySynonymsLeftSkipped", lessonSrc("en", "fr", "", []string{"wharf: quai"}, ""), map[string]string{"other": lessonSrc("en", "fr", "", []string{"quay: Quai ", "Wharf: embarcadère"}, "")},
			Meaning, "wharf", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustParse(t, "asked", tt.lesson)
			others := map[string]string{}
			for id, src := range tt.others {
				others[id] = src
			}
			lib := library(t, others)
			if _, ok := tt.others["asked"]; !ok {
				lib = lesson.NewLibrary(append(slices.Clone(lib.Lessons()), l))
			}
			var found *Question
			for _, q := range Questions(l, lib, 100) {
				if q.Kind == tt.kind && q.Text == tt.text {
					found = &q
				}
			}
			if tt.count == 0 {
				if found != nil {
					t.Fatalf("got %+v, want the question skipped", *found)
				}
				return
			}
			if found == nil {
				t.Fatalf("no %s question %q", tt.kind, tt.text)
			}
			if len(found.Choices) != tt.count {
				t.Errorf("choices %q, want %d", found.Choices, tt.count)
			}
			if tt.want != nil && !slices.Equal(slices.Sorted(slices.Values(found.Choices)), slices.Sorted(slices.Values(tt.want))) {
				t.Errorf("choices %q, want %q in some order", found.Choices, tt.want)
			}
			for _, a := range tt.absent {
				if slices.Contains(found.Choices, a) {
					t.Errorf("choices %q contain %q", found.Choices, a)
				}
			}
		})
	}
}

func TestDuplicateAuthoredSkipped(t *testing.T) {
	quiz := `1. Is the harbour open?
   - [x] Yes
   - [ ] No
2. Is the harbour open?
   - [ ] Yes
   - [x] No
3. Is the quay long?
   - [x] Yes
   - [ ] No
`
	l := mustParse(t, "twice", lessonSrc("en", "fr", "", []string{"quay: quai", "Quay: quai"}, quiz))
	qs := Questions(l, nil, 100)
	var texts []string
	for _, q := range qs {
		texts = append(texts, q.Kind.String()+"/"+q.Text)
	}
	want := []string{"authored/Is the harbour open?", "authored/Is the quay long?"}
	if !slices.Equal(texts, want) {
		t.Errorf("questions %q, want %q", texts, want)
	}
	if qs[0].Choices[qs[0].Correct] != "Yes" {
		t.Errorf("the first of two same questions should be kept, got answer %q", qs[0].Choices[qs[0].Correct])
	}
}

func TestFind(t *testing.T) {
	l, lib := standardLibrary(t)
	qs := Questions(l, lib, 5)
	for _, q := range qs {
		got, ok := Find(l, lib, 5, q.Key)
		if !ok || !reflect.DeepEqual(got, q) {
			t.Errorf("Find(%q) = %+v, %v; want %+v", q.Key, got, ok, q)
		}
	}
	bakery, _ := lib.Lookup("bakery")
	tests := []struct {
		name string
		l    *lesson.Lesson
		n    int
		key  string
	}{
		{"UnknownKey", l, 5, "harbour-cranes:00000000"},
		{"Empty", l, 5, ""},
		{"BeyondN", l, 2, qs[4].Key},
		{"OtherLesson", bakery, 5, qs[0].Key},
		{"NilLesson", nil, 5, qs[0].Key},
		{"NoQuestions", l, 0, qs[0].Key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Find(tt.l, lib, tt.n, tt.key); ok {
				t.Errorf("Find = %+v, want not found", got)
			}
		})
	}
}

func TestLessonIDOf(t *testing.T) {
	long := strings.Repeat("k", lesson.MaxIDLength)
	tests := []struct {
		key    string
		wantID string
		wantOK bool
	}{
		{"harbour-cranes:0a1b2c3d", "harbour-cranes", true},
		{long + ":ffffffff", long, true},
		{"a:00000000", "a", true},
		{long + "k:ffffffff", "", false},
		{"harbour-cranes:0A1B2C3D", "", false},
		{"harbour-cranes:0a1b2c3", "", false},
		{"harbour-cranes:0a1b2c3d4", "", false},
		{"harbour-cranes:0a1b2c3g", "", false},
		{"harbour-cranes", "", false},
		{":0a1b2c3d", "", false},
		{"Harbour:0a1b2c3d", "", false},
		{"a:b:0a1b2c3d", "", false},
		{"", "", false},
		{"harbour-cranes:", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			id, ok := LessonIDOf(tt.key)
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("LessonIDOf(%q) = %q, %v; want %q, %v", tt.key, id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
	l, lib := standardLibrary(t)
	for _, q := range Questions(l, lib, 100) {
		if id, ok := LessonIDOf(q.Key); !ok || id != l.ID {
			t.Errorf("LessonIDOf(%q) = %q, %v", q.Key, id, ok)
		}
	}
}

func TestKeyLength(t *testing.T) {
	id := strings.Repeat("k", lesson.MaxIDLength)
	l := mustParse(t, id, harbourLesson)
	_, lib := standardLibrary(t)
	qs := Questions(l, lib, 100)
	if len(qs) != 8 {
		t.Fatalf("got %d questions, want 8", len(qs))
	}
	for _, q := range qs {
		if len(q.Key) != 49 || len(q.Key) > MaxKeyLength {
			t.Errorf("key %q is %d bytes, want 49", q.Key, len(q.Key))
		}
		if data := "a:" + q.Key + ":5"; len(data) > 64 {
			t.Errorf("callback data %q is %d bytes", data, len(data))
		}
		if got, ok := LessonIDOf(q.Key); !ok || got != id {
			t.Errorf("LessonIDOf(%q) = %q, %v", q.Key, got, ok)
		}
	}
}

func FuzzLessonIDOf(f *testing.F) {
	for _, s := range []string{"harbour-cranes:0a1b2c3d", "a:00000000", "", ":", "x:y:z", "harbour:ZZZZZZZZ", strings.Repeat("k", 41) + ":00000000", "a:\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, ok := LessonIDOf(key)
		if !ok {
			if id != "" {
				t.Errorf("LessonIDOf(%q) = %q with ok false", key, id)
			}
			return
		}
		if !lesson.ValidID(id) || len(key) != len(id)+1+HashLen || len(key) > MaxKeyLength || !strings.HasPrefix(key, id+":") {
			t.Errorf("LessonIDOf(%q) accepted a malformed key as %q", key, id)
		}
	})
}

// BenchmarkFind grades a press against a library of 500 lessons of 8
// terms each: Find rebuilds the lesson's questions on every press.
func BenchmarkFind(b *testing.B) {
	var ls []*lesson.Lesson
	for i := range 500 {
		var vocab []string
		for j := range 8 {
			vocab = append(vocab, fmt.Sprintf("word%d-%d: mot%d-%d, terme%d-%d", i, j, i, j, i, j))
		}
		ls = append(ls, mustParse(b, fmt.Sprintf("lesson-%03d", i), lessonSrc("en", "fr", "", vocab, "")))
	}
	lib := lesson.NewLibrary(ls)
	l := ls[250]
	qs := Questions(l, lib, 3)
	key := qs[len(qs)-1].Key
	for b.Loop() {
		if _, ok := Find(l, lib, 3, key); !ok {
			b.Fatal("not found")
		}
	}
}

// TestReview makes the review question of a term: its translation among
// distractors, the same every time, with a key of its own; and the term of
// each generated quiz question is the lesson's term.
func TestReview(t *testing.T) {
	l, lib := standardLibrary(t)
	term := l.Terms[1] // unload
	reviews := Reviews(l, lib)
	if len(reviews) != len(l.Terms) {
		t.Fatalf("%d review questions, want one per term (%d)", len(reviews), len(l.Terms))
	}
	q := reviews[1]
	if q.Kind != Recall || q.Term != term.Term || q.Text != term.Term || q.Choices[q.Correct] != term.Translations[0] || len(q.Choices) < 2 {
		t.Errorf("review question = %+v, want %q asked with %q right", q, term.Term, term.Translations[0])
	}
	again := Reviews(l, lib)[1]
	if !reflect.DeepEqual(q, again) {
		t.Errorf("a second call gave %+v, want the same %+v", again, q)
	}
	for _, other := range Questions(l, lib, 10) {
		if other.Key == q.Key {
			t.Errorf("the review question shares its key with quiz question %+v", other)
		}
		if other.Kind != Authored && other.Term == "" {
			t.Errorf("generated question %+v has no term", other)
		}
	}
}
