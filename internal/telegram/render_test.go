package telegram

import (
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/chat/chattest"
)

// The shared fixtures, under the names the tests here use.
var (
	golden                 = chattest.Golden
	lessonMessage          = chattest.LessonMessage
	emptyVocabularyMessage = chattest.EmptyVocabularyMessage
	plainMessage           = chattest.PlainMessage
)

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
