package discord

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
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

func TestRenderEmbedGolden(t *testing.T) {
	tests := []struct {
		name string
		msg  chat.Message
	}{
		{"lesson", lessonMessage()},
		{"plain", plainMessage()},
		{"empty-vocabulary", emptyVocabularyMessage()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := RenderEmbed(tt.msg)
			out, err := json.MarshalIndent(e, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, string(out)+"\n")
			if err := CheckEmbed(e); err != nil {
				t.Errorf("CheckEmbed: %v", err)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "plain text, 3.5% & more", "plain text, 3.5% & more"},
		{"Emphasis", "*a* _b_ __c__ ~~d~~", `\*a\* \_b\_ \_\_c\_\_ \~\~d\~\~`},
		{"Code", "`code`", "\\`code\\`"},
		{"Spoiler", "||hidden||", `\|\|hidden\|\|`},
		{"MaskedLink", "[link](x)", `\[link\](x)`},
		{"Mention", "<@123> <#456>", `\<@123> \<#456>`},
		{"Backslash", `a\b`, `a\\b`},
		{"HeadingAtStart", "# title", `\# title`},
		{"HashInside", "the #1 hit", "the #1 hit"},
		{"QuoteAtStart", "> quote", `\> quote`},
		{"GreaterInside", "a > b", "a > b"},
		{"ListAtStart", "- item\n+ item", "\\- item\n\\+ item"},
		{"DashInside", "well-known - yes", "well-known - yes"},
		{"AfterNewline", "line\n# h\n> q", "line\n\\# h\n\\> q"},
		{"AfterIndent", "  > q\n\t# h", "  \\> q\n\t\\# h"},
		{"SubtextAtStart", "-# small", `\-# small`},
		{"Quotes", `"quoted" 'single'`, `"quoted" 'single'`},
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

// termLine is how vocabularyFields lays out a term with one translation
// and no note; its length is 12 plus that of the translation.
func termLine(term, tr string) string { return "**" + term + "** — ||" + tr + "||" }

func TestVocabularyFields(t *testing.T) {
	vocab := func(trs ...string) chat.Block {
		b := chat.Block{Kind: chat.Vocabulary, Label: "Vocabulary"}
		for _, tr := range trs {
			b.Terms = append(b.Terms, chat.Term{Term: "a", Translations: []string{tr}})
		}
		return b
	}
	many := make([]string, 60)
	for i := range many {
		many[i] = strings.Repeat("é", 30+i%7)
	}
	tests := []struct {
		name       string
		block      chat.Block
		wantFields int
	}{
		{"OneTerm", vocab("b"), 1},
		// Two lines and the newline between them: 12+500 + 1 + 12+499 = 1024.
		{"OKExactlyFull", vocab(strings.Repeat("x", 500), strings.Repeat("x", 499)), 1},
		{"SplitsOneOver", vocab(strings.Repeat("x", 500), strings.Repeat("x", 500)), 2},
		// An emoji counts two, as Discord counts.
		{"SplitsOnUTF16", vocab(strings.Repeat("🚢", 250), strings.Repeat("x", 500)), 2},
		{"SplitsMany", vocab(many...), 3},
		{"Empty", vocab(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := vocabularyFields(tt.block)
			if len(fields) != tt.wantFields {
				t.Fatalf("%d fields, want %d", len(fields), tt.wantFields)
			}
			var lines []string
			for i, f := range fields {
				if n := length(f.Value); n > MaxFieldValue {
					t.Errorf("field %d is %d characters (at most %d)", i, n, MaxFieldValue)
				}
				if f.Name != "Vocabulary" {
					t.Errorf("field %d name = %q", i, f.Name)
				}
				lines = append(lines, strings.Split(f.Value, "\n")...)
			}
			// Every term, whole and in order, across the fields.
			if len(lines) != len(tt.block.Terms) {
				t.Fatalf("%d lines, want %d", len(lines), len(tt.block.Terms))
			}
			for i, term := range tt.block.Terms {
				if want := termLine(term.Term, term.Translations[0]); lines[i] != want {
					t.Errorf("line %d = %q, want %q", i, lines[i], want)
				}
			}
		})
	}
}

func TestCheckEmbed(t *testing.T) {
	fields := func(n, size int) []*discordgo.MessageEmbedField {
		var fs []*discordgo.MessageEmbedField
		for range n {
			fs = append(fs, &discordgo.MessageEmbedField{Name: "V", Value: strings.Repeat("v", size)})
		}
		return fs
	}
	tests := []struct {
		name    string
		embed   *discordgo.MessageEmbed
		wantErr string
	}{
		{"OK", &discordgo.MessageEmbed{Title: "t", Description: "d", Fields: fields(1, 10), Footer: &discordgo.MessageEmbedFooter{Text: "f"}}, ""},
		{"OKTitleAtLimit", &discordgo.MessageEmbed{Title: strings.Repeat("t", 256)}, ""},
		{"ErrTitle", &discordgo.MessageEmbed{Title: strings.Repeat("t", 257)}, "title is 257 characters (at most 256)"},
		{"ErrTitleEmoji", &discordgo.MessageEmbed{Title: strings.Repeat("🚢", 129)}, "title is 258 characters"},
		{"OKDescriptionAtLimit", &discordgo.MessageEmbed{Description: strings.Repeat("d", 4096)}, ""},
		{"ErrDescription", &discordgo.MessageEmbed{Description: strings.Repeat("d", 4097)}, "description (the summary) is 4097 characters (at most 4096)"},
		{"OKFieldsAtLimit", &discordgo.MessageEmbed{Fields: fields(25, 10)}, ""},
		{"ErrFields", &discordgo.MessageEmbed{Fields: fields(26, 10)}, "has 26 fields (at most 25)"},
		{"OKFieldValueAtLimit", &discordgo.MessageEmbed{Fields: fields(1, 1024)}, ""},
		{"ErrFieldValue", &discordgo.MessageEmbed{Fields: fields(1, 1025)}, "field V is 1025 characters (at most 1024)"},
		{"ErrFieldName", &discordgo.MessageEmbed{Fields: []*discordgo.MessageEmbedField{{Name: strings.Repeat("n", 257), Value: "v"}}}, "field name is 257 characters (at most 256)"},
		{"ErrFooter", &discordgo.MessageEmbed{Footer: &discordgo.MessageEmbedFooter{Text: strings.Repeat("f", 2049)}}, "footer is 2049 characters (at most 2048)"},
		// 4000 + 2×(1+999) = 6000.
		{"OKTotalAtLimit", &discordgo.MessageEmbed{Description: strings.Repeat("d", 4000), Fields: fields(2, 999)}, ""},
		{"ErrTotal", &discordgo.MessageEmbed{Title: "t", Description: strings.Repeat("d", 4000), Fields: fields(2, 999)}, "text in all is 6001 characters (at most 6000)"},
		{"ErrTotalWithFooter", &discordgo.MessageEmbed{Description: strings.Repeat("d", 4000), Fields: fields(2, 999), Footer: &discordgo.MessageEmbedFooter{Text: "f"}}, "text in all is 6001 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEmbed(tt.embed)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckEmbed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckEmbed = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckPost(t *testing.T) {
	long := chat.Message{Title: "T", Blocks: []chat.Block{{Kind: chat.Text, Text: strings.Repeat("*", 2049)}}}
	tests := []struct {
		name    string
		msg     chat.Message
		wantErr string
	}{
		{"OK", lessonMessage(), ""},
		// Escaping doubles the stars: 4098 characters are sent.
		{"ErrDescriptionAfterEscaping", long, "description (the summary) is 4098 characters"},
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

func TestEscapeNumberedListStart(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1. first", `1\. first`},
		{"12) twelfth", `12\) twelfth`},
		{"In 2026. Then", "In 2026. Then"},
		{"line\n3. three", "line\n3\\. three"},
		{"3.5 million", `3\.5 million`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
