// Package console is lessonbot's terminal adapter: a private chat on
// standard input and output, rendered as plain text.
package console

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// RenderText renders a message as plain text for a terminal. The choices
// of a question are numbered from 1 so that a reader can answer with the
// number; other buttons are shown in brackets.
func RenderText(m chat.Message) string {
	var parts []string
	if m.Title != "" {
		head := m.Title
		if m.Meta != "" {
			head += "\n" + m.Meta
		}
		parts = append(parts, head)
	} else if m.Meta != "" {
		parts = append(parts, m.Meta)
	}
	for _, b := range m.Blocks {
		switch b.Kind {
		case chat.Text:
			if b.Text != "" {
				parts = append(parts, b.Text)
			}
		case chat.Vocabulary:
			if len(b.Terms) == 0 {
				// A heading over nothing; Discord shows no field either.
				continue
			}
			lines := []string{b.Label}
			for _, t := range b.Terms {
				line := "  • " + t.Term + " — " + strings.Join(t.Translations, ", ")
				if t.Note != "" {
					line += " (" + t.Note + ")"
				}
				lines = append(lines, line)
			}
			parts = append(parts, strings.Join(lines, "\n"))
		}
	}
	if m.URL != "" {
		line := m.URL
		if m.URLLabel != "" {
			line = m.URLLabel + ": " + m.URL
		}
		parts = append(parts, line)
	}
	return Escape(strings.Join(parts, "\n\n") + buttons(m))
}

// Escape makes text safe to print on a terminal: control characters, such
// as the escape that starts a terminal command sequence, and the invisible
// marks that reverse the direction of text become U+FFFD.
// Line breaks and tabs stay.
func Escape(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

func buttons(m chat.Message) string {
	if len(m.Buttons) == 0 {
		return ""
	}
	var b strings.Builder
	if !m.Question {
		b.WriteString("\n")
		for _, btn := range m.Buttons {
			switch {
			case btn.URL != "":
				b.WriteString("\n[" + btn.Label + "] " + btn.URL)
			case btn.Start != "":
				// This chat is the private one already.
				b.WriteString("\n[" + btn.Label + "] /start " + btn.Start)
			default:
				b.WriteString("\n[" + btn.Label + "]")
			}
		}
		return b.String()
	}
	for i, btn := range m.Buttons {
		fmt.Fprintf(&b, "\n  %d) %s", i+1, btn.Label)
	}
	return b.String()
}
