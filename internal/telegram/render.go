// Package telegram is lessonbot's Telegram adapter: it renders chat
// messages as Telegram HTML, receives updates from the Bot API by long
// polling or a webhook and hands them to the tutor, and sends messages for
// the delivery workers.
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

// MaxCaptionLength is the longest caption of a document Telegram accepts,
// counted as MaxTextLength is. A message with a file whose text is longer
// is sent as text messages first and the file after them, without a
// caption.
const MaxCaptionLength = 1024

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
	for _, u := range units(m) {
		parts = append(parts, u.html())
	}
	return strings.Join(parts, paragraphSeparator)
}

// paragraphSeparator separates the head, the blocks and the link line of a
// rendered message.
const paragraphSeparator = "\n\n"

// unit is one paragraph of a rendered message: the head, a text block, a
// vocabulary block or the link line. A message too long for one Telegram
// message is split between units, and inside a unit only when it alone is
// too long.
type unit struct {
	// text is the plain text of a text block, escaped when rendered; it
	// may be split at sentence or word boundaries.
	text string
	// lines are the rendered lines of any other unit, joined by newlines;
	// a vocabulary block may be split between its lines.
	lines []string
	plain bool
}

func (u unit) html() string {
	if u.plain {
		return Escape(u.text)
	}
	return strings.Join(u.lines, "\n")
}

// units lays out a message as the paragraphs RenderHTML joins.
func units(m chat.Message) []unit {
	var out []unit
	if m.Title != "" {
		head := []string{"<b>" + Escape(m.Title) + "</b>"}
		if m.Meta != "" {
			head = append(head, "<i>"+Escape(m.Meta)+"</i>")
		}
		out = append(out, unit{lines: head})
	} else if m.Meta != "" {
		out = append(out, unit{lines: []string{"<i>" + Escape(m.Meta) + "</i>"}})
	}
	for _, b := range m.Blocks {
		switch b.Kind {
		case chat.Text:
			if b.Text != "" {
				out = append(out, unit{text: b.Text, plain: true})
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
			out = append(out, unit{lines: lines})
		}
	}
	if m.URL != "" {
		label := m.URLLabel
		if label == "" {
			label = m.URL
		}
		out = append(out, unit{lines: []string{`<a href="` + Escape(m.URL) + `">` + Escape(label) + "</a>"}})
	}
	return out
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
