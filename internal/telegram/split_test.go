package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/telegram/telegramtest"
)

func TestSplitFitsInOne(t *testing.T) {
	for _, m := range []chat.Message{lessonMessage(), plainMessage(), emptyVocabularyMessage()} {
		parts := Split(m)
		if len(parts) != 1 || parts[0] != RenderHTML(m) {
			t.Errorf("Split = %q, want RenderHTML's one text", parts)
		}
	}
	if parts := Split(chat.Message{}); len(parts) != 0 {
		t.Errorf("Split(empty) = %q, want nothing", parts)
	}
}

func TestSplit(t *testing.T) {
	para := func(n int, unit string) string { return strings.Repeat(unit, n) }
	tests := []struct {
		name  string
		msg   chat.Message
		parts int
	}{
		{"AtLimit", chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: para(MaxTextLength, "a")}}}, 1},
		{"TwoParagraphsOverLimit", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(2048, "b")}, {Kind: chat.Text, Text: para(2047, "c")}}}, 2},
		{"TwoParagraphsAtLimit", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(2047, "b")}, {Kind: chat.Text, Text: para(2047, "c")}}}, 1},
		{"EscapesCountOnce", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(2047, "&")}, {Kind: chat.Text, Text: para(2047, "<")}}}, 1},
		{"EmojiCountTwice", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(1024, "🚢")}, {Kind: chat.Text, Text: para(1024, "🚢")}}}, 2},
		{"LongParagraphAtSentences", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(300, "The tide came in early. ")}}}, 2},
		{"LongWordlessParagraph", chat.Message{Blocks: []chat.Block{
			{Kind: chat.Text, Text: para(9000, "x")}}}, 3},
		{"LongVocabulary", chat.Message{Title: "Words", Blocks: []chat.Block{{Kind: chat.Vocabulary, Label: "Vocabulary", Terms: manyTerms(200)}}}, 5},
		{"ManyParagraphs", articleMessage(20, 700), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := Split(tt.msg)
			if len(parts) != tt.parts {
				t.Errorf("%d parts, want %d", len(parts), tt.parts)
			}
			checkParts(t, tt.msg, parts)
		})
	}
}

// TestSplitLongParagraphAtSentence cuts after a sentence, not inside one.
func TestSplitLongParagraphAtSentence(t *testing.T) {
	text := strings.Repeat("Boats wait for the tide. ", 200) + strings.Repeat("word ", 10)
	parts := splitText(strings.TrimSpace(text), 1000)
	for i, p := range parts[:len(parts)-1] {
		if !strings.HasSuffix(p, ".") {
			t.Errorf("part %d ends %q, want a sentence end", i, p[len(p)-10:])
		}
		if n := utf16Len(p); n > 1000 || n < 900 {
			t.Errorf("part %d has %d units, want just under 1000", i, n)
		}
	}
}

func manyTerms(n int) []chat.Term {
	var terms []chat.Term
	for i := range n {
		terms = append(terms, chat.Term{Term: "tide & current " + strings.Repeat("x", i%7), Translations: []string{"marée", "courant <fort>"}, Note: "a note about the sea, the harbour and the weather"})
	}
	return terms
}

// checkParts checks that each part is within the limit as the fake counts
// it, is valid Telegram HTML, and that the parts hold the message's text.
func checkParts(t *testing.T, m chat.Message, parts []string) {
	t.Helper()
	var all []string
	for i, p := range parts {
		plain, err := telegramtest.ParseHTML(p)
		if err != nil {
			t.Fatalf("part %d is not valid HTML: %v", i, err)
		}
		if n := utf16Len(plain); n > MaxTextLength {
			t.Errorf("part %d is %d characters", i, n)
		}
		if n := TextLength(p); n != utf16Len(plain) {
			t.Errorf("part %d: TextLength %d, the fake counts %d", i, n, utf16Len(plain))
		}
		all = append(all, plain)
	}
	whole, err := telegramtest.ParseHTML(RenderHTML(m))
	if err != nil {
		t.Fatal(err)
	}
	if squash(strings.Join(all, "")) != squash(whole) {
		t.Errorf("the parts do not hold the message's text")
	}
}

// squash drops white space, which cuts may remove.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

func FuzzSplitText(f *testing.F) {
	f.Add("The tide came in. It went out again! Did it? Yes…", 10)
	f.Add(strings.Repeat("🚢 ", 20), 3)
	f.Add("a\n\nb", 1)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if !utf8.ValidString(s) || limit < 2 || limit > 5000 {
			return
		}
		parts := splitText(s, limit)
		for _, p := range parts {
			if utf16Len(p) > limit {
				t.Fatalf("part of %d units over the limit %d: %q", utf16Len(p), limit, p)
			}
			if p == "" {
				t.Fatalf("an empty part in %q", parts)
			}
		}
		if squash(strings.Join(parts, "")) != squash(s) {
			t.Fatalf("the parts %q do not hold %q", parts, s)
		}
	})
}
