package telegram

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// Split renders a message as one or more Telegram message texts of at
// most MaxTextLength characters each, as Telegram counts them. A message
// that fits is RenderHTML's one text. A longer one, such as a lesson's full
// article, is cut between paragraphs; a paragraph longer than a whole
// message is cut at sentence boundaries, then at word boundaries, and a
// vocabulary list between its lines. Every text stays valid HTML.
func Split(m chat.Message) []string {
	return splitUnits(units(m), MaxTextLength)
}

func splitUnits(us []unit, limit int) []string {
	var (
		parts []string
		cur   strings.Builder
		n     int // TextLength of cur
	)
	add := func(html string, length int) {
		if cur.Len() > 0 && n+utf16Len(paragraphSeparator)+length <= limit {
			cur.WriteString(paragraphSeparator)
			cur.WriteString(html)
			n += utf16Len(paragraphSeparator) + length
			return
		}
		if cur.Len() > 0 {
			parts = append(parts, cur.String())
			cur.Reset()
		}
		cur.WriteString(html)
		n = length
	}
	for _, u := range us {
		html := u.html()
		length := TextLength(html)
		switch {
		case length <= limit:
			add(html, length)
		case u.plain:
			for _, chunk := range splitText(u.text, limit) {
				add(Escape(chunk), utf16Len(chunk))
			}
		default:
			// Lines of a vocabulary list, kept whole; a single line longer
			// than a message is sent as it is, and Telegram refuses it.
			var group []string
			groupLen := 0
			for _, line := range u.lines {
				l := TextLength(line)
				if len(group) > 0 && groupLen+1+l > limit {
					add(strings.Join(group, "\n"), groupLen)
					group, groupLen = nil, 0
				}
				if len(group) > 0 {
					groupLen++
				}
				group = append(group, line)
				groupLen += l
			}
			if len(group) > 0 {
				add(strings.Join(group, "\n"), groupLen)
			}
		}
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// splitText cuts plain text into pieces of at most limit UTF-16 units:
// after the last sentence end that fits, else at the last space that fits,
// else (one very long word) at the last character that fits. The white
// space at a cut is dropped.
func splitText(s string, limit int) []string {
	var out []string
	remaining := utf16Len(s)
	for remaining > limit {
		cut := cutPoint(s, limit)
		head := strings.TrimRightFunc(s[:cut], unicode.IsSpace)
		if head == "" {
			head = s[:cut]
		}
		out = append(out, head)
		rest := strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
		remaining -= utf16Len(s[:len(s)-len(rest)])
		s = rest
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// cutPoint returns the byte index at which to cut s so that s[:i] holds
// at most limit UTF-16 units; it is always past the first character.
func cutPoint(s string, limit int) int {
	n, sentence, word, end := 0, 0, 0, 0
	prev := rune(0)
	for i, r := range s {
		w := utf16.RuneLen(r)
		if n+w > limit {
			end = i
			break
		}
		if unicode.IsSpace(r) && i > 0 {
			word = i
			if strings.ContainsRune(".!?…", prev) || r == '\n' {
				sentence = i
			}
		}
		n += w
		prev = r
		end = i + utf8.RuneLen(r)
	}
	switch {
	case sentence > 0:
		return sentence
	case word > 0:
		return word
	case end > 0:
		return end
	}
	// A first character wider than the limit: take it anyway.
	_, size := utf8.DecodeRuneInString(s)
	return size
}

// utf16Len is the length of plain text as Telegram counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
