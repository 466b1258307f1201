package lesson

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// validLesson is a complete lesson; the table below breaks it one way at a
// time. Line numbers matter: tests assert them.
const validLesson = `---
title: Ferry crews call off a weekend walkout
level: B1
date: 2026-04-11
source: https://example.org/news/ferry-walkout
tags: [transport, work]
---
Ferry crews on the northern routes called off a walkout planned for the
weekend after the operator agreed to hire forty more sailors.

The union said the deal ruled out any cuts to night crossings until 2028.

## Summary
Ferry crews cancelled a weekend strike once the operator promised new hires.

## Vocabulary
- call off: annuler
- walkout: grève, débrayage — informal, used in headlines
- rule out: écarter, exclure
- hire: embaucher, recruter

## Quiz
1. Why was the strike called off?
   - [ ] The union lost a vote
   - [x] The operator agreed to hire more sailors
   - [ ] The weather was too bad
   > The operator "agreed to hire forty more sailors".
2. Until when are cuts to night crossings ruled out?
   - [x] 2028
   - [ ] 2026
`

func TestParseValid(t *testing.T) {
	l, problems := Parse("lessons/ferry.md", "ferry", []byte(validLesson))
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := &Lesson{
		ID: "ferry", Path: "lessons/ferry.md",
		Title:  "Ferry crews call off a weekend walkout",
		Level:  "B1",
		Date:   time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC),
		Source: "https://example.org/news/ferry-walkout",
		Tags:   []string{"transport", "work"}, Language: "en", Gloss: "fr",
		Article: []string{
			"Ferry crews on the northern routes called off a walkout planned for the weekend after the operator agreed to hire forty more sailors.",
			"The union said the deal ruled out any cuts to night crossings until 2028.",
		},
		Summary: "Ferry crews cancelled a weekend strike once the operator promised new hires.",
		Terms: []Term{
			{Term: "call off", Translations: []string{"annuler"}, Line: 17},
			{Term: "walkout", Translations: []string{"grève", "débrayage"}, Note: "informal, used in headlines", Line: 18},
			{Term: "rule out", Translations: []string{"écarter", "exclure"}, Line: 19},
			{Term: "hire", Translations: []string{"embaucher", "recruter"}, Line: 20},
		},
		Questions: []Question{
			{Text: "Why was the strike called off?", Line: 23, Explanation: `The operator "agreed to hire forty more sailors".`, Choices: []Choice{
				{Text: "The union lost a vote", Line: 24},
				{Text: "The operator agreed to hire more sailors", Correct: true, Line: 25},
				{Text: "The weather was too bad", Line: 26},
			}},
			{Text: "Until when are cuts to night crossings ruled out?", Line: 28, Choices: []Choice{
				{Text: "2028", Correct: true, Line: 29},
				{Text: "2026", Line: 30},
			}},
		},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", l, want)
	}
	if got := l.Questions[0].Correct(); got != 1 {
		t.Errorf("Correct() = %d, want 1", got)
	}
}

// edit returns validLesson with old replaced by new, failing when old is
// missing so that a changed fixture cannot silently test nothing.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(validLesson, old) {
		t.Fatalf("fixture has no %q", old)
	}
	return strings.Replace(validLesson, old, new, 1)
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		src     func(t *testing.T) string
		want    string // "line: message fragment", or "line: warning: fragment"
		loads   bool   // the lesson still loads (only warnings)
		summary string // when set, the summary the lesson ends up with
	}{
		{name: "ErrNoFrontMatter", src: func(t *testing.T) string { return "Just an article.\n" }, want: "1: missing front matter"},
		{name: "ErrFrontMatterNotClosed", src: func(t *testing.T) string { return "---\ntitle: x\nArticle.\n" }, want: "1: front matter not closed"},
		{name: "ErrInvalidYAML", src: func(t *testing.T) string { return edit(t, "level: B1", "level: B1: B2") }, want: "3: invalid front matter: mapping values are not allowed"},
		{name: "ErrFrontMatterNotMapping", src: func(t *testing.T) string { return "---\n- a\n- b\n---\nText.\n" }, want: "2: invalid front matter"},
		{name: "ErrMissingTitle", src: func(t *testing.T) string { return edit(t, "title: Ferry crews call off a weekend walkout\n", "") }, want: "1: missing title"},
		{name: "ErrEmptyTitle", src: func(t *testing.T) string {
			return edit(t, "title: Ferry crews call off a weekend walkout", "title: \"\"")
		}, want: "2: missing title"},
		{name: "ErrBadLevel", src: func(t *testing.T) string { return edit(t, "level: B1", "level: B3") }, want: `3: bad level "B3"`},
		{name: "ErrBadDate", src: func(t *testing.T) string { return edit(t, "date: 2026-04-11", "date: 2026-13-01") }, want: `4: bad date "2026-13-01"`},
		{name: "ErrBadSource", src: func(t *testing.T) string {
			return edit(t, "source: https://example.org/news/ferry-walkout", "source: example.org/news")
		}, want: `5: bad source URL "example.org/news"`},
		{name: "ErrBadTags", src: func(t *testing.T) string { return edit(t, "tags: [transport, work]", "tags: transport") }, want: "6: tags must be a list"},
		{name: "ErrBadGloss", src: func(t *testing.T) string { return edit(t, "tags:", "gloss: French\ntags:") }, want: `6: bad gloss "French"`},
		{name: "ErrBadID", id: "Ferry_Walkout", src: func(t *testing.T) string { return validLesson }, want: `1: bad file name: the id "Ferry_Walkout"`},
		{name: "ErrEmptyArticle", src: func(t *testing.T) string {
			return edit(t, "Ferry crews on the northern routes called off a walkout planned for the\nweekend after the operator agreed to hire forty more sailors.\n\nThe union said the deal ruled out any cuts to night crossings until 2028.\n\n", "")
		}, want: "8: empty article"},
		{name: "ErrVocabularyWithoutColon", src: func(t *testing.T) string { return edit(t, "- hire: embaucher, recruter", "- hire embaucher") }, want: `20: vocabulary line without ":"`},
		{name: "ErrVocabularyEmptyTranslation", src: func(t *testing.T) string { return edit(t, "- hire: embaucher, recruter", "- hire:") }, want: `20: vocabulary term "hire" has an empty translation`},
		{name: "ErrVocabularyEmptyTranslationInList", src: func(t *testing.T) string {
			return edit(t, "- hire: embaucher, recruter", "- hire: embaucher, , recruter")
		}, want: `20: vocabulary term "hire" has an empty translation`},
		{name: "ErrVocabularyNotAList", src: func(t *testing.T) string { return edit(t, "## Vocabulary\n", "## Vocabulary\nSome words:\n\n") }, want: "17: the Vocabulary section takes only lines"},
		{name: "ErrNoCorrectChoice", src: func(t *testing.T) string { return edit(t, "   - [x] 2028", "   - [ ] 2028") }, want: "28: question has 0 correct choices"},
		{name: "ErrTwoCorrectChoices", src: func(t *testing.T) string { return edit(t, "   - [ ] 2026", "   - [x] 2026") }, want: "28: question has 2 correct choices"},
		{name: "ErrOneChoice", src: func(t *testing.T) string { return edit(t, "   - [ ] 2026\n", "") }, want: "28: question has 1 choices (want 2 to 6)"},
		{name: "ErrSevenChoices", src: func(t *testing.T) string {
			return edit(t, "   - [ ] 2026\n", "   - [ ] 2026\n   - [ ] 2027\n   - [ ] 2029\n   - [ ] 2030\n   - [ ] 2031\n   - [ ] 2032\n")
		}, want: "28: question has 7 choices (want 2 to 6)"},
		{name: "ErrChoiceWithoutBox", src: func(t *testing.T) string { return edit(t, "   - [ ] 2026", "   - 2026") }, want: "30: choice without a box"},
		{name: "ErrDuplicateChoice", src: func(t *testing.T) string { return edit(t, "   - [ ] 2026", "   - [ ] 2028") }, want: `30: two choices read "2028"`},
		{name: "ErrLongChoice", src: func(t *testing.T) string { return edit(t, "   - [ ] 2026", "   - [ ] "+strings.Repeat("x", 81)) }, want: "30: choice is 81 characters (at most 80"},
		{name: "ErrLongExplanation", src: func(t *testing.T) string {
			return edit(t, `   > The operator "agreed to hire forty more sailors".`, "   > "+strings.Repeat("é", 201))
		}, want: "27: explanation is 201 characters (at most 200)"},
		{name: "ErrQuizNotAList", src: func(t *testing.T) string { return edit(t, "## Quiz\n", "## Quiz\nAnswer these.\n\n") }, want: "23: the Quiz section takes only numbered questions"},
		{name: "ErrUnknownSection", src: func(t *testing.T) string { return edit(t, "## Quiz", "## Notes\nSee you.\n\n## Quiz") }, want: `22: unknown section "Notes"`},
		{name: "ErrDuplicateSection", src: func(t *testing.T) string { return validLesson + "\n## Summary\nAgain.\n" }, want: `32: a second "Summary" section (the first is on line 13)`},
		{name: "WarnNoLevel", loads: true, src: func(t *testing.T) string { return edit(t, "level: B1\n", "") }, want: "1: warning: no level"},
		{name: "WarnUnknownKey", loads: true, src: func(t *testing.T) string { return edit(t, "tags:", "author: Ann\ntags:") }, want: `6: warning: unknown front matter key "author"`},
		{name: "WarnTermNotInArticle", loads: true, src: func(t *testing.T) string { return edit(t, "- hire: embaucher, recruter", "- fire: licencier") }, want: `20: warning: vocabulary term "fire" not found in the article`},
		{name: "WarnNoSummary", loads: true, src: func(t *testing.T) string {
			return edit(t, "## Summary\nFerry crews cancelled a weekend strike once the operator promised new hires.\n\n", "")
		}, want: "8: warning: no summary", summary: "Ferry crews on the northern routes called off a walkout planned for the weekend after the operator agreed to hire forty more sailors. The union said the deal ruled out any cuts to night crossings until 2028."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			if id == "" {
				id = "ferry"
			}
			l, problems := Parse("lessons/x.md", id, []byte(tt.src(t)))
			if (l != nil) != tt.loads {
				t.Errorf("lesson loaded = %v, want %v (problems %v)", l != nil, tt.loads, problems)
			}
			var got []string
			found := false
			for _, p := range problems {
				s := strings.TrimPrefix(p.String(), "lessons/x.md:")
				got = append(got, s)
				if strings.HasPrefix(s, tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a problem %q, got %q", tt.want, got)
			}
			if tt.summary != "" && l != nil && l.Summary != tt.summary {
				t.Errorf("summary = %q, want %q", l.Summary, tt.summary)
			}
		})
	}
}

func TestParseAcceptsVariants(t *testing.T) {
	src := "\ufeff" + strings.ReplaceAll(edit(t, "walkout: grève, débrayage — informal", "walkout: grève, débrayage -- informal"), "\n", "\r\n")
	src = strings.Replace(src, "level: B1", "level: b1", 1)
	l, problems := Parse("x.md", "x", []byte(src))
	if l == nil {
		t.Fatalf("problems: %v", problems)
	}
	if l.Level != "B1" {
		t.Errorf("level = %q, want B1", l.Level)
	}
	if got := l.Terms[1]; got.Note != "informal, used in headlines" || len(got.Translations) != 2 {
		t.Errorf("term with -- note = %+v", got)
	}
}

func TestParseInlineMarkdown(t *testing.T) {
	src := edit(t, "The union said the deal ruled out", "The *union* said [the deal](https://example.org) `ruled out` R&amp;D &lt;b&gt; \\*not\\* ruled out")
	l, problems := Parse("x.md", "x", []byte(src))
	if l == nil {
		t.Fatalf("problems: %v", problems)
	}
	want := "The union said the deal ruled out R&D <b> *not* ruled out any cuts to night crossings until 2028."
	if l.Article[1] != want {
		t.Errorf("article = %q, want %q", l.Article[1], want)
	}
}

func TestContainsTerm(t *testing.T) {
	article := []string{"NATO's chief ruled out sending troops; studies were halted.", "The de-escalated crisis kept running and stopped."}
	tests := []struct {
		term string
		want bool
	}{
		{"rule out", true},
		{"Rule Out", true},
		{"send", true},
		{"troop", true},
		{"study", true},
		{"halt", true},
		{"de-escalate", true},
		{"run", true},
		{"stop", true},
		{"NATO", true},
		{"rule in", false},
		{"rise", false},
		{"out sending troops", true},
		{"crisis kept running and stopped", true},
		{"stopped crisis", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ContainsTerm(article, tt.term); got != tt.want {
			t.Errorf("ContainsTerm(%q) = %v, want %v", tt.term, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	long := strings.Repeat("word ", 120) + "end."
	tests := []struct {
		name    string
		article []string
		want    string
	}{
		{"OneSentence", []string{"Only one."}, "Only one."},
		{"CutsAtSentence", []string{strings.Repeat("a", 250) + ". B" + strings.Repeat("b", 200) + "."}, strings.Repeat("a", 250) + "."},
		{"SpansParagraphs", []string{"First one.", "Second one!"}, "First one. Second one!"},
		{"KeepsAbbreviations", []string{"Mr. smith left at 5 p.m. today. Then rain."}, "Mr. smith left at 5 p.m. today. Then rain."},
		{"QuoteEndsSentence", []string{`He said "no." Then he left.`}, `He said "no." Then he left.`},
		{"LongFirstSentence", []string{long}, strings.TrimSpace(strings.Repeat("word ", 80)) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.article); got != tt.want {
				t.Errorf("Summarize = %q, want %q", got, tt.want)
			}
		})
	}
}
