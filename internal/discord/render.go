// Package discord is lessonbot's Discord adapter: it connects to the
// gateway with discordgo, registers the tutor's commands as slash
// commands, turns interactions (commands, button presses, autocomplete)
// into tutor calls, renders chat messages as embeds or text with buttons,
// and offers the delivery worker a Sender.
package discord

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// Discord's embed limits, in characters.
const (
	MaxEmbedTitle       = 256
	MaxEmbedDescription = 4096
	MaxEmbedFields      = 25
	MaxFieldName        = 256
	MaxFieldValue       = 1024
	MaxFooter           = 2048
	MaxEmbedTotal       = 6000
)

// Escape makes plain text show as itself in Discord Markdown: characters
// that format (* _ ~ ` | \), start a masked link ([ ]) or a mention (<),
// and those that start a quote, heading or list at a line start ("> ",
// "# ", "- ", "1. "), get a backslash.
func Escape(s string) string {
	var b strings.Builder
	lineStart := true
	digitsOnly := false // the line so far is digits: "1." would start a list
	for _, r := range s {
		switch {
		case strings.ContainsRune("\\*_~`|[]<", r):
			b.WriteByte('\\')
		case lineStart && strings.ContainsRune(">#-+", r):
			b.WriteByte('\\')
		case digitsOnly && (r == '.' || r == ')'):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		digitsOnly = (lineStart || digitsOnly) && r >= '0' && r <= '9'
		lineStart = r == '\n' || (lineStart && (r == ' ' || r == '\t'))
	}
	return b.String()
}

// RenderEmbed renders a message as a Discord embed: the title linked to the
// URL, the text as the description, the vocabulary as fields with the
// translations in spoilers, and the meta line as the footer. Every piece
// of text is escaped.
func RenderEmbed(m chat.Message) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Title: Escape(m.Title), URL: m.URL}
	var text []string
	for _, b := range m.Blocks {
		switch b.Kind {
		case chat.Text:
			if b.Text != "" {
				text = append(text, Escape(b.Text))
			}
		case chat.Vocabulary:
			e.Fields = append(e.Fields, vocabularyFields(b)...)
		}
	}
	e.Description = strings.Join(text, "\n\n")
	if m.Meta != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: m.Meta}
	}
	return e
}

// vocabularyFields lays out terms one per line, in as many fields as the
// field value limit needs.
func vocabularyFields(b chat.Block) []*discordgo.MessageEmbedField {
	var fields []*discordgo.MessageEmbedField
	var value strings.Builder
	flush := func() {
		if value.Len() > 0 {
			fields = append(fields, &discordgo.MessageEmbedField{Name: Escape(b.Label), Value: value.String()})
			value.Reset()
		}
	}
	for _, t := range b.Terms {
		line := vocabLine(t)
		if value.Len() > 0 && length(value.String())+1+length(line) > MaxFieldValue {
			flush()
		}
		if value.Len() > 0 {
			value.WriteByte('\n')
		}
		value.WriteString(line)
	}
	flush()
	return fields
}

// vocabLine lays out one term: the term in bold, its translations in a
// spoiler, and its note in italics.
func vocabLine(t chat.Term) string {
	line := "**" + Escape(t.Term) + "** — ||" + Escape(strings.Join(t.Translations, ", ")) + "||"
	if t.Note != "" {
		line += " *(" + Escape(t.Note) + ")*"
	}
	return line
}

// length counts characters as Discord's limits do, in UTF-16 code units
// (never fewer than the code points).
func length(s string) int { return len(utf16.Encode([]rune(s))) }

// CheckEmbed returns an error for each Discord limit the embed breaks.
func CheckEmbed(e *discordgo.MessageEmbed) error {
	var errs []error
	over := func(what string, n, max int) {
		if n > max {
			errs = append(errs, fmt.Errorf("the Discord embed's %s is %d characters (at most %d)", what, n, max))
		}
	}
	total := length(e.Title) + length(e.Description)
	over("title", length(e.Title), MaxEmbedTitle)
	over("description (the summary)", length(e.Description), MaxEmbedDescription)
	if len(e.Fields) > MaxEmbedFields {
		errs = append(errs, fmt.Errorf("the Discord embed has %d fields (at most %d)", len(e.Fields), MaxEmbedFields))
	}
	for _, f := range e.Fields {
		over("field name", length(f.Name), MaxFieldName)
		over("field "+f.Name, length(f.Value), MaxFieldValue)
		total += length(f.Name) + length(f.Value)
	}
	if e.Footer != nil {
		over("footer", length(e.Footer.Text), MaxFooter)
		total += length(e.Footer.Text)
	}
	over("text in all", total, MaxEmbedTotal)
	return errors.Join(errs...)
}

// CheckPost returns an error when the message would not fit one Discord
// embed.
func CheckPost(m chat.Message) error { return CheckEmbed(RenderEmbed(m)) }
