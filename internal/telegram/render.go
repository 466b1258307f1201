// Package telegram is lessonbot's Telegram adapter: it renders chat
// messages as Telegram HTML and, in later parts, connects to the Bot API.
package telegram

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf16"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// MaxTextLength is the longest message text Telegram accepts, counted in
// UTF-16 code units after entity parsing.
const MaxTextLength = 4096

// htmlEscaper escapes the three characters Telegram's HTML parse mode
// needs escaped, and the double quote for attribute values.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// Escape makes plain text safe in Telegram's HTML parse mode.
func Escape(s string) string { return htmlEscaper.Replace(s) }

// RenderHTML renders a message as the text of a Telegram message in HTML
// parse mode. Every piece of text is escaped; translations are hidden in
// spoilers. Buttons are not part of the text.
func RenderHTML(m chat.Message) string {
	var parts []string
	if m.Title != "" {
		head := "<b>" + Escape(m.Title) + "</b>"
		if m.Meta != "" {
			head += "\n<i>" + Escape(m.Meta) + "</i>"
		}
		parts = append(parts, head)
	} else if m.Meta != "" {
		parts = append(parts, "<i>"+Escape(m.Meta)+"</i>")
	}
	for _, b := range m.Blocks {
		switch b.Kind {
		case chat.Text:
			if b.Text != "" {
				parts = append(parts, Escape(b.Text))
			}
		case chat.Vocabulary:
			if len(b.Terms) == 0 {
				// A heading over nothing; Discord shows no field either.
				continue
			}
			lines := []string{"<b>" + Escape(b.Label) + "</b>"}
			for _, t := range b.Terms {
				line := "• <b>" + Escape(t.Term) + "</b> — <tg-spoiler>" + Escape(strings.Join(t.Translations, ", ")) + "</tg-spoiler>"
				if t.Note != "" {
					line += " <i>(" + Escape(t.Note) + ")</i>"
				}
				lines = append(lines, line)
			}
			parts = append(parts, strings.Join(lines, "\n"))
		}
	}
	if m.URL != "" {
		label := m.URLLabel
		if label == "" {
			label = m.URL
		}
		parts = append(parts, `<a href="`+Escape(m.URL)+`">`+Escape(label)+"</a>")
	}
	return strings.Join(parts, "\n\n")
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

// TextLength returns the length Telegram counts for an HTML message text:
// UTF-16 code units of the text once tags are removed and entities are
// decoded.
func TextLength(htmlText string) int {
	return len(utf16.Encode([]rune(html.UnescapeString(tagPattern.ReplaceAllString(htmlText, "")))))
}

// CheckPost returns an error when the message would not fit one Telegram
// message.
func CheckPost(m chat.Message) error {
	if n := TextLength(RenderHTML(m)); n > MaxTextLength {
		return fmt.Errorf("the Telegram post is %d characters (at most %d): shorten the summary or the vocabulary", n, MaxTextLength)
	}
	return nil
}
