package console

import (
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/chat/chattest"
)

func plainMessage() chat.Message {
	return chat.Message{
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "No title, no level, no link: just two paragraphs & a list."},
			{Kind: chat.Text, Text: ""},
			{Kind: chat.Text, Text: "The second one ends here."},
			{Kind: chat.Vocabulary, Label: "Words", Terms: []chat.Term{{Term: "paragraph", Translations: []string{"paragraphe"}}}},
		},
		Buttons: []chat.Button{{Label: "Next", Data: "next"}, {Label: "Stop", Data: "stop"}},
	}
}

// The shared fixtures, under the names the tests here use.
var (
	golden                 = chattest.Golden
	lessonMessage          = chattest.LessonMessage
	emptyVocabularyMessage = chattest.EmptyVocabularyMessage
)

func TestRenderTextGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  chat.Message
	}{
		{"lesson", lessonMessage()},
		{"plain", plainMessage()},
		{"empty-vocabulary", emptyVocabularyMessage()},
		{"meta-only", chat.Message{Meta: "Level C1", Blocks: []chat.Block{{Kind: chat.Text, Text: "Body."}}}},
		{"question", chat.Message{
			Title:    "Question 1 of 3",
			Blocks:   []chat.Block{{Kind: chat.Text, Text: "Why did the shop win <the> prize?"}},
			Buttons:  []chat.Button{{Label: "Its *crispy* chips", Data: "q:1:0"}, {Label: "Its low prices & long hours", Data: "q:1:1"}},
			Question: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, RenderText(tt.msg)+"\n")
		})
	}
}

func TestRenderTextEscapesEveryPart(t *testing.T) {
	const esc = "\x1b]0;owned\x07\x1b[2J"
	m := chat.Message{
		Title:    "title" + esc,
		Meta:     "meta" + esc,
		URL:      "https://example.org/" + esc,
		URLLabel: "label" + esc,
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "text" + esc},
			{Kind: chat.Vocabulary, Label: "vocab" + esc, Terms: []chat.Term{{Term: "term" + esc, Translations: []string{"tr" + esc}, Note: "note" + esc}}},
		},
		Buttons: []chat.Button{{Label: "button" + esc, Data: "x"}},
	}
	got := RenderText(m)
	for _, r := range got {
		if r != '\n' && r != '\t' && (r < 0x20 || (r >= 0x7f && r < 0xa0)) {
			t.Fatalf("control character %U in %q", r, got)
		}
	}
	// Three control characters in each of the ten texts.
	if n := strings.Count(got, "\uFFFD"); n != 10*3 {
		t.Errorf("%d replacement characters, want %d: %q", n, 10*3, got)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "plain <text> & *more*", "plain <text> & *more*"},
		{"KeepsNewlineAndTab", "a\n\tb\n", "a\n\tb\n"},
		{"ESC", "\x1b[31mred\x1b[0m", "\uFFFD[31mred\uFFFD[0m"},
		{"OSCTitle", "\x1b]0;title\x07", "\uFFFD]0;title\uFFFD"},
		{"CarriageReturn", "safe\rfake", "safe\uFFFDfake"},
		{"Backspace", "ab\bc", "ab\uFFFDc"},
		{"NUL", "a\x00b", "a\uFFFDb"},
		{"DEL", "a\x7fb", "a\uFFFDb"},
		{"C1CSI", "a\u009b2Jb", "a\uFFFD2Jb"},
		{"LineSeparators", "a\u2028b\u2029c", "a\uFFFDb\uFFFDc"},
		{"Unicode", "café — 🚢", "café — 🚢"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeBidiControls(t *testing.T) {
	in := "price \u202e01$\u202c and \u2066x\u2069"
	want := "price \ufffd01$\ufffd and \ufffdx\ufffd"
	if got := Escape(in); got != want {
		t.Errorf("Escape(%q) = %q, want %q", in, got, want)
	}
}
