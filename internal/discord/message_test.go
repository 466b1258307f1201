package discord

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

func TestRenderMessage(t *testing.T) {
	t.Run("TitledIsEmbed", func(t *testing.T) {
		out, err := renderMessage(lessonMessage(), false)
		if err != nil || len(out) != 1 || out[0].Embed == nil || out[0].Content != "" {
			t.Fatalf("render = %+v, %v; want one embed", out, err)
		}
		if len(out[0].Components) != 1 {
			t.Errorf("%d rows of buttons, want 1", len(out[0].Components))
		}
	})
	t.Run("TitledAsText", func(t *testing.T) {
		out, err := renderMessage(lessonMessage(), true)
		if err != nil || len(out) != 1 || out[0].Embed != nil {
			t.Fatalf("render = %+v, %v; want text", out, err)
		}
		want := "**" + Escape(lessonMessage().Title) + "**\n*Level B2 \\| 5\\_min read*\n\n"
		if !strings.HasPrefix(out[0].Content, want) {
			t.Errorf("text starts %q, want %q", out[0].Content[:min(len(out[0].Content), 120)], want)
		}
		for _, part := range []string{
			"\n\n**Vocabulary**\n**fish & chips** — ||poisson-frites, fish and chips||",
			// A URL that would break the <...> form is shown escaped.
			"\n\n" + `Source & "more": https://example.org/news/fish?id=7&page=\<2>`,
		} {
			if !strings.Contains(out[0].Content, part) {
				t.Errorf("text lacks %q:\n%s", part, out[0].Content)
			}
		}
	})
	t.Run("LinkInAngleBrackets", func(t *testing.T) {
		m := chat.Message{Title: "T", URL: "https://example.org/a_b", URLLabel: "Source", Blocks: []chat.Block{{Kind: chat.Text, Text: "x"}}}
		out, err := renderMessage(m, true)
		if err != nil || !strings.HasSuffix(out[0].Content, "\n\nSource: <https://example.org/a_b>") {
			t.Errorf("render = %+v, %v", out, err)
		}
	})
	t.Run("EmbedTooBigFallsBackToText", func(t *testing.T) {
		m := chat.Message{Title: "Long", Blocks: []chat.Block{{Kind: chat.Text, Text: strings.Repeat("word ", 600)}, {Kind: chat.Text, Text: strings.Repeat("more ", 300)}}}
		out, err := renderMessage(m, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 3 || out[0].Embed != nil {
			t.Fatalf("render = %d messages (embed %v), want 3 text messages", len(out), out[0].Embed != nil)
		}
		// The long paragraph fills the first message after the title; the
		// next paragraph, which fits one message, starts its own.
		if !strings.HasPrefix(out[0].Content, "**Long**\n\nword word") || length(out[0].Content) < MaxContent-5 {
			t.Errorf("first message = %d characters starting %q", length(out[0].Content), out[0].Content[:20])
		}
		if !strings.HasPrefix(out[2].Content, "more more") || strings.Contains(out[1].Content, "more") {
			t.Errorf("the second paragraph is not whole in the third message")
		}
		for i, o := range out {
			if length(o.Content) > MaxContent {
				t.Errorf("message %d is %d characters", i, length(o.Content))
			}
		}
	})
	t.Run("PlainIsText", func(t *testing.T) {
		out, err := renderMessage(plainMessage(), false)
		if err != nil || len(out) != 1 || out[0].Embed != nil {
			t.Fatalf("render = %+v, %v", out, err)
		}
		want := "No title, no level, no link: just two paragraphs & a list.\n\nThe second one ends here.\n\n**Words**\n**paragraph** — ||paragraphe||"
		if out[0].Content != want {
			t.Errorf("content\n%q\nwant\n%q", out[0].Content, want)
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		if _, err := renderMessage(chat.Message{Buttons: []chat.Button{{Label: "a", Data: "b"}}}, false); err == nil {
			t.Errorf("an empty message rendered")
		}
	})
}

func TestComponents(t *testing.T) {
	rows := func(c []discordgo.MessageComponent) []int {
		var n []int
		for _, r := range c {
			n = append(n, len(r.(discordgo.ActionsRow).Components))
		}
		return n
	}
	tests := []struct {
		name     string
		buttons  []chat.Button
		wantRows []int
		wantErr  string
	}{
		{"None", nil, nil, ""},
		{"OneRow", manyButtons(3), []int{3}, ""},
		{"FullRow", manyButtons(5), []int{5}, ""},
		{"TwoRows", manyButtons(6), []int{5, 1}, ""},
		{"Max", manyButtons(25), []int{5, 5, 5, 5, 5}, ""},
		{"ErrTooMany", manyButtons(26), nil, "26 buttons"},
		{"ErrLongData", []chat.Button{{Label: "x", Data: strings.Repeat("d", 101)}}, nil, "101 bytes"},
		{"OKDataAtLimit", []chat.Button{{Label: "x", Data: strings.Repeat("d", 100)}}, []int{1}, ""},
		{"ErrNoData", []chat.Button{{Label: "x"}}, nil, "0 bytes"},
		{"ErrDuplicate", []chat.Button{{Label: "x", Data: "a"}, {Label: "y", Data: "a"}}, nil, "two buttons"},
		{"Link", []chat.Button{{Label: "Source", URL: "https://example.org/a"}}, []int{1}, ""},
		{"LinksBesideData", append(manyButtons(4), link("https://example.org/a"), link("https://example.org/a")), []int{5, 1}, ""},
		{"OKDiscordLink", []chat.Button{link("discord://-/channels/1/2")}, []int{1}, ""},
		{"StartDropped", []chat.Button{{Label: "x", Data: "a"}, {Label: "Continue alone", Start: "review"}}, []int{1}, ""},
		{"OnlyStartDropped", []chat.Button{{Label: "Continue alone", Start: "review"}}, nil, ""},
		{"StartNotCounted", append(manyButtons(25), chat.Button{Label: "s", Start: "s"}), []int{5, 5, 5, 5, 5}, ""},
		{"ErrTooManyWithLinks", append(manyButtons(24), link("https://a.test"), link("https://b.test")), nil, "26 buttons"},
		{"ErrLinkScheme", []chat.Button{link("javascript:alert(1)")}, nil, "not http(s) or discord"},
		{"ErrLinkNoHost", []chat.Button{link("https:///path")}, nil, "no host"},
		{"ErrLinkLong", []chat.Button{link("https://example.org/" + strings.Repeat("a", 493))}, nil, "button URL of 513 characters"},
		{"OKLinkAtLimit", []chat.Button{link("https://example.org/" + strings.Repeat("a", 492))}, []int{1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := components(tt.buttons)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("components: %v", err)
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("components = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if got := rows(c); !slices.Equal(got, tt.wantRows) {
				t.Errorf("rows = %v, want %v", got, tt.wantRows)
			}
		})
	}
}

func link(url string) chat.Button { return chat.Button{Label: "link", URL: url} }

func TestButtonLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Twenty minutes", "Twenty minutes"},
		{strings.Repeat("a", 80), strings.Repeat("a", 80)},
		{strings.Repeat("a", 81), strings.Repeat("a", 79) + "…"},
		// An emoji counts two, as Discord counts.
		{strings.Repeat("🚢", 41), strings.Repeat("🚢", 39) + "…"},
		{"  ", "…"},
		// Labels are not Markdown: nothing is escaped.
		{"*bold* <@1>", "*bold* <@1>"},
	}
	for _, tt := range tests {
		c, err := components([]chat.Button{{Label: tt.in, Data: "d"}})
		if err != nil {
			t.Fatal(err)
		}
		got := c[0].(discordgo.ActionsRow).Components[0].(discordgo.Button).Label
		if got != tt.want {
			t.Errorf("label of %q = %q, want %q", tt.in, got, tt.want)
		}
		if length(got) > MaxButtonLabel {
			t.Errorf("label of %d characters", length(got))
		}
	}
}

func TestSplitText(t *testing.T) {
	para := func(texts ...string) []line {
		var p []line
		for _, s := range texts {
			p = append(p, plainLine(s))
		}
		return p
	}
	tests := []struct {
		name  string
		paras [][]line
		max   int
		want  []string
	}{
		{"OneMessage", [][]line{para("ab"), para("cd")}, 10, []string{"ab\n\ncd"}},
		{"ExactlyFull", [][]line{para("abc"), para("def")}, 8, []string{"abc\n\ndef"}},
		{"AtParagraphBoundary", [][]line{para("abc"), para("def")}, 7, []string{"abc", "def"}},
		{"AtLineBoundary", [][]line{para("abc", "def", "ghi")}, 8, []string{"abc\ndef", "ghi"}},
		{"BetweenWords", [][]line{para("one two three four")}, 9, []string{"one two", "three", "four"}},
		{"EscapedCounts", [][]line{para("a*b c*d")}, 5, []string{`a\*b`, `c\*d`}},
		// A part that lands at a message start gets the escape a line
		// start needs.
		{"EscapedWhereItLands", [][]line{para("see # and - signs")}, 7, []string{"see #", "and -", "signs"}},
		{"EscapedAtStartOfPart", [][]line{para("xx # yy")}, 4, []string{"xx", `\#`, "yy"}},
		{"LongWord", [][]line{para(strings.Repeat("x", 12))}, 5, []string{"xxxxx", "xxxxx", "xx"}},
		{"LongWordNotSplitInEscape", [][]line{para("ab**cd")}, 4, []string{`ab\*`, `\*cd`}},
		{"UTF16", [][]line{para("🚢🚢🚢")}, 4, []string{"🚢🚢", "🚢"}},
		{"FormattedLineCut", [][]line{{{text: "**abcdef**"}}}, 5, []string{"**abc", "def**"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.paras, tt.max)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("split = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzSplitText checks, for any text, that every message fits, none is
// empty, and no character is lost or invented but the escapes and the
// spaces and newlines where it was cut.
func FuzzSplitText(f *testing.F) {
	f.Add("plain words and more words", "second paragraph", 20)
	f.Add("*bold* _it_ `code` ||spoiler|| <@1>", "# heading\n> quote\n- item\n1. first", 9)
	f.Add(strings.Repeat("🚢 ", 30), strings.Repeat("x", 50), 7)
	f.Fuzz(func(t *testing.T, a, b string, max int) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || max < 4 || max > 3000 {
			t.Skip()
		}
		m := chat.Message{Blocks: []chat.Block{{Kind: chat.Text, Text: a}, {Kind: chat.Text, Text: b}}}
		parts := splitText(paragraphs(m), max)
		var kept strings.Builder
		for i, p := range parts {
			if length(p) > max {
				t.Fatalf("part %d is %d characters (max %d): %q", i, length(p), max, p)
			}
			if strings.TrimSpace(p) == "" {
				t.Fatalf("part %d is blank: %q", i, p)
			}
			kept.WriteString(p)
		}
		strip := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r == '\\' || unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
		}
		if got, want := strip(kept.String()), strip(a+b); got != want {
			t.Fatalf("text changed:\n%q\nwant\n%q", got, want)
		}
	})
}

func TestCommandArgs(t *testing.T) {
	opt := func(name string, typ discordgo.ApplicationCommandOptionType, v any) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v}
	}
	str, num := discordgo.ApplicationCommandOptionString, discordgo.ApplicationCommandOptionInteger
	tests := []struct {
		name string
		info chat.CommandInfo
		opts []*discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{"None", chat.CommandInfo{Name: "lesson"}, nil, ""},
		{"TutorOrder", chat.CommandInfo{Name: "subscribe"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("timezone", str, "Europe/Paris"), opt("time", str, "07:30")}, "07:30 Europe/Paris"},
		{"Trimmed", chat.CommandInfo{Name: "time"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("time", str, "  07:30 ")}, "07:30"},
		{"Integer", chat.CommandInfo{Name: "pause"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("days", num, float64(14))}, "14"},
		{"Fraction", chat.CommandInfo{Name: "pause"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("days", num, 1.5)}, "1.5"},
		{"UnknownLast", chat.CommandInfo{Name: "subscribe"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("extra", str, "x"), opt("time", str, "07:30")}, "07:30 x"},
		{"UnknownCommand", chat.CommandInfo{Name: "future", Args: "[thing]"}, []*discordgo.ApplicationCommandInteractionDataOption{opt("args", str, "a b")}, "a b"},
		{"NilOption", chat.CommandInfo{Name: "time"}, []*discordgo.ApplicationCommandInteractionDataOption{nil, opt("time", str, "08:00")}, "08:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commandArgs(tt.info, tt.opts); got != tt.want {
				t.Errorf("args = %q, want %q", got, tt.want)
			}
		})
	}
}
