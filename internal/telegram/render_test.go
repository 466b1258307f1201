package telegram

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name.golden, or rewrites the file
// when the test runs with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// lessonMessage is shaped like a lesson's daily post; every text holds
// characters that mean something in one format or another.
func lessonMessage() chat.Message {
	return chat.Message{
		Title:    `Fish & chips <shop> wins "best *small* business" prize`,
		Meta:     "Level B2 | 5_min read",
		URL:      "https://example.org/news/fish?id=7&page=<2>",
		URLLabel: `Source & "more"`,
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "Profits rose by <10% & costs fell by >3% at the `Harbour` shop, fans said [link](x) was *amazing* and __great__ (score 3|2).\n# not a heading\n> not a quote\n- not a list"},
			{Kind: chat.Text, Text: `"We fry everything twice," the owner said.`},
			{Kind: chat.Vocabulary, Label: "Vocabulary", Terms: []chat.Term{
				{Term: "fish & chips", Translations: []string{"poisson-frites", "fish and chips"}, Note: `served in paper "cones" <always>`},
				{Term: "*star*_dish", Translations: []string{"plat `vedette`"}, Note: "|| not a spoiler ||"},
				{Term: "[menu](x)", Translations: []string{"carte", "menu"}},
				{Term: "fry", Translations: []string{"frire"}},
			}},
		},
		Buttons: []chat.Button{{Label: "Full article", Data: "read:fish-prize"}},
	}
}

func plainMessage() chat.Message {
	return chat.Message{
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "No title, no level, no link: just two paragraphs & a list."},
			{Kind: chat.Text, Text: ""},
			{Kind: chat.Text, Text: "The second one ends here."},
			{Kind: chat.Vocabulary, Label: "Words", Terms: []chat.Term{{Term: "paragraph", Translations: []string{"paragraphe"}}}},
		},
		Buttons: []chat.Button{{Label: "Next", Data: "next"}},
	}
}

func emptyVocabularyMessage() chat.Message {
	return chat.Message{
		Title:  "A post without words to learn",
		Meta:   "Level A2",
		Blocks: []chat.Block{{Kind: chat.Text, Text: "Nothing to translate today."}, {Kind: chat.Vocabulary, Label: "Vocabulary"}},
		URL:    "https://example.org/news/empty",
	}
}

func TestRenderHTMLGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  chat.Message
	}{
		{"lesson", lessonMessage()},
		{"plain", plainMessage()},
		{"empty-vocabulary", emptyVocabularyMessage()},
		{"meta-only", chat.Message{Meta: "Level C1", Blocks: []chat.Block{{Kind: chat.Text, Text: "Body."}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RenderHTML(tt.msg)
			golden(t, tt.name, got)
			// Whatever the text, the only markup is the renderer's own.
			stripped := tagPattern.ReplaceAllString(got, "")
			if strings.ContainsAny(stripped, "<>") {
				t.Errorf("unescaped < or > outside tags in %q", stripped)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "plain text", "plain text"},
		{"Ampersand", "R&D", "R&amp;D"},
		{"Tags", "<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"},
		{"Quote", `say "hi"`, "say &quot;hi&quot;"},
		{"EntityStaysText", "&amp;", "&amp;amp;"},
		{"MarkdownUntouched", "*a* _b_ `c` [d](e) |f| #g", "*a* _b_ `c` [d](e) |f| #g"},
		{"Unicode", "café 🚢", "café 🚢"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTextLength(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"Empty", "", 0},
		{"ASCII", "hello", 5},
		{"Accents", "café", 4},
		{"EmojiCountsTwo", "🚢", 2},
		{"EntityCountsOne", "&amp;", 1},
		{"EscapedTextCountsAsText", Escape(`<a> & "b"`), 9},
		{"TagsCountZero", "<b>bold</b> <i>x</i>", 6},
		{"SpoilerTag", "<tg-spoiler>secret</tg-spoiler>", 6},
		{"LinkTag", `<a href="https://example.org/?a=1&amp;b=2">Source</a>`, 6},
		{"Newlines", "a\n\nb", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TextLength(tt.in); got != tt.want {
				t.Errorf("TextLength(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckPost(t *testing.T) {
	text := func(s string) chat.Message {
		return chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: s}}}
	}
	tests := []struct {
		name    string
		msg     chat.Message
		wantErr string
	}{
		{"OK", lessonMessage(), ""},
		{"OKAtLimit", text(strings.Repeat("a", MaxTextLength)), ""},
		{"ErrOverLimit", text(strings.Repeat("a", MaxTextLength+1)), "4097 characters (at most 4096)"},
		{"OKEscapedAtLimit", text(strings.Repeat("&", MaxTextLength)), ""},
		{"ErrEscapedOverLimit", text(strings.Repeat("<", MaxTextLength+1)), "4097 characters"},
		{"OKEmojiAtLimit", text(strings.Repeat("🚢", MaxTextLength/2)), ""},
		{"ErrEmojiOverLimit", text(strings.Repeat("🚢", MaxTextLength/2) + "a"), "4097 characters"},
		{"OKWithTitle", chat.Message{Title: "T", Blocks: text(strings.Repeat("a", MaxTextLength-3)).Blocks}, ""},
		{"ErrWithTitle", chat.Message{Title: "T", Blocks: text(strings.Repeat("a", MaxTextLength-2)).Blocks}, "4097 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPost(tt.msg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckPost: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckPost = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}
