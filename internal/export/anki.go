package export

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// ankiHeader is the file-header block Anki (2.1.55 and later) reads before
// the notes: it fixes the separator, turns HTML on, presets the note type,
// and takes deck and tags from columns 3 and 4. The #columns line is itself
// tab-separated.
const ankiHeader = "#separator:tab\n" +
	"#html:true\n" +
	"#notetype:Basic\n" +
	"#deck column:3\n" +
	"#tags column:4\n" +
	"#columns:Front\tBack\tDeck\tTags\n"

// ankiDeck is the deck every note goes to; a deck column creates it in Anki
// when it is missing, where a #deck header would only preset an existing one.
const ankiDeck = "lessonbot"

// AnkiTSV writes items as an Anki text import: the header block, then one
// note per item, one line each, in the order given. Every field is HTML with
// its content escaped and its tabs and line breaks turned into spaces, so
// no field ever needs quoting and each line has exactly four fields.
//
// Anki treats notes with the same first field (HTML stripped) as the same
// note and updates it on re-import, keeping its scheduling. The Front
// therefore always ends with the lesson id as visible small text: a term is
// unique per learner and lesson, so the Front is unique per learner, and it
// does not change when a later lesson brings the same term again (adding
// the id only on collision would rename the older note and duplicate it).
func AnkiTSV(w io.Writer, items []Item) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(ankiHeader)
	var line strings.Builder
	for _, it := range items {
		line.Reset()
		ankiLine(&line, it)
		bw.WriteString(line.String())
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: write anki file: %w", err)
	}
	return nil
}

// ankiLine appends one note line, ending in LF, to b.
func ankiLine(b *strings.Builder, it Item) {
	// Front. It starts with "<b>" so the line can never start with "#",
	// which Anki would read as a comment.
	b.WriteString("<b>")
	writeHTML(b, it.Term)
	b.WriteString("</b>")
	if it.Sentence != "" {
		b.WriteString("<br>")
		writeHTML(b, it.Sentence)
	}
	if it.LessonID != "" {
		b.WriteString("<br><small>")
		writeHTML(b, it.LessonID)
		b.WriteString("</small>")
	}
	b.WriteByte('\t')

	// Back.
	for i, tr := range it.Translations {
		if i > 0 {
			b.WriteString(", ")
		}
		writeHTML(b, tr)
	}
	if it.LessonTitle != "" {
		if len(it.Translations) > 0 {
			b.WriteString("<br>")
		}
		b.WriteString("<i>")
		writeHTML(b, it.LessonTitle)
		b.WriteString("</i>")
	}
	b.WriteByte('\t')

	b.WriteString(ankiDeck)
	b.WriteByte('\t')

	// Tags: Anki splits them on spaces and does not read them as HTML.
	sep := ""
	for _, t := range []string{it.Level, it.State} {
		if t = ankiTag(t); t != "" {
			b.WriteString(sep)
			b.WriteString(t)
			sep = " "
		}
	}
	b.WriteByte('\n')
}

// writeHTML appends s to b as HTML text: markup characters escaped, and
// control characters (tab, CR, LF among them) replaced with a space so they
// cannot end a field or a line. Ranging over s turns invalid UTF-8 into
// U+FFFD, so the output is always valid UTF-8.
func writeHTML(b *strings.Builder, s string) {
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
}

// ankiTag turns s into one Anki tag: whitespace, control characters and
// double quotes become "_", so the tag neither splits in two nor opens a
// quoted field.
func ankiTag(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' {
			return '_'
		}
		return r
	}, validUTF8(s))
}
