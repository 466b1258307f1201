package lesson

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Summarize returns the article's first sentences, as many as fit in about
// SummaryLength characters, cut at a sentence boundary. A first sentence
// that is longer on its own is cut at a word and ends with "…".
func Summarize(article []string) string {
	var b strings.Builder
	for _, para := range article {
		for _, s := range sentences(para) {
			n := utf8.RuneCountInString(b.String())
			if n > 0 && n+1+utf8.RuneCountInString(s) > SummaryLength {
				return b.String()
			}
			if n > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
	}
	if utf8.RuneCountInString(b.String()) > SummaryLength {
		return cutAtWord(b.String(), SummaryLength)
	}
	return b.String()
}

// sentences splits a paragraph after ".", "!" or "?" (and any closing
// quotes or brackets) followed by a space and an upper-case letter, a
// digit or an opening quote.
func sentences(para string) []string {
	var out []string
	rs := []rune(strings.Join(strings.Fields(para), " "))
	start := 0
	for i := 0; i < len(rs); i++ {
		if rs[i] != '.' && rs[i] != '!' && rs[i] != '?' {
			continue
		}
		end := i + 1
		for end < len(rs) && strings.ContainsRune("\"'”’)»", rs[end]) {
			end++
		}
		if end+1 < len(rs) && rs[end] == ' ' && startsSentence(rs[end+1]) {
			out = append(out, string(rs[start:end]))
			start = end + 1
			i = end
		}
	}
	if start < len(rs) {
		out = append(out, string(rs[start:]))
	}
	return out
}

func startsSentence(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsDigit(r) || strings.ContainsRune("\"“‘'«(", r)
}

func cutAtWord(s string, max int) string {
	rs := []rune(s)
	if len(rs) <= max {
		return s
	}
	cut := max - 1
	for cut > max/2 && rs[cut] != ' ' {
		cut--
	}
	return strings.TrimRight(string(rs[:cut]), " ,;:") + "…"
}

// ContainsTerm reports whether the article uses the term: its words appear
// in a row, case-insensitively, each as written or with a simple English
// inflection ("rule out" is found in "ruled out", "study" in "studies").
func ContainsTerm(article []string, term string) bool {
	return containsWords(articleWords(article), words(term))
}

// articleWords splits each paragraph into words once, so that a lesson's
// terms are all looked up without splitting the article again.
func articleWords(article []string) [][]string {
	out := make([][]string, len(article))
	for i, para := range article {
		out[i] = words(para)
	}
	return out
}

// containsWords reports whether the words of want appear in a row, each as
// written or inflected, in one of the paragraphs.
func containsWords(paragraphs [][]string, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for _, have := range paragraphs {
		for i := 0; i+len(want) <= len(have); i++ {
			match := true
			for j, w := range want {
				if !inflectionOf(w, have[i+j]) {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

// words splits text into lower-case runs of letters and digits; hyphens
// and apostrophes separate words, the same way in terms and articles.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// inflectionOf reports whether word is base or a regular inflection of it.
func inflectionOf(base, word string) bool {
	if word == base {
		return true
	}
	// Every inflection below keeps all of base but its last letter; most
	// words fail this, and the suffixes need not be tried.
	if len(base) > 1 && !strings.HasPrefix(word, base[:len(base)-1]) {
		return false
	}
	for _, suffix := range []string{"s", "es", "ed", "d", "ing", "er", "ers", "est", "ies", "ied"} {
		stem, ok := strings.CutSuffix(word, suffix)
		if !ok || stem == "" {
			continue
		}
		switch {
		case stem == base:
			return true
		case (suffix == "ies" || suffix == "ied") && stem+"y" == base:
			return true
		case strings.HasPrefix(suffix, "e") || suffix == "ing":
			// ruling → rule; stopped → stop; running → run.
			if stem+"e" == base {
				return true
			}
			if n := len(stem); n >= 2 && stem[n-1] == stem[n-2] && stem[:n-1] == base {
				return true
			}
		}
	}
	return false
}

// Blank is what Cloze puts in place of the term.
const Blank = "_____"

// Cloze returns the first sentence of the article that uses the term (as
// ContainsTerm finds it: the words in a row, each as written or inflected)
// with the words of the term replaced by Blank, and true; or "" and false
// when no sentence uses it. A review asks which translation fills the gap.
func Cloze(article []string, term string) (string, bool) {
	want := words(term)
	if len(want) == 0 {
		return "", false
	}
	for _, para := range article {
		for _, s := range sentences(para) {
			spans := wordSpans(s)
			for i := 0; i+len(want) <= len(spans); i++ {
				match := true
				for j, w := range want {
					if !inflectionOf(w, spans[i+j].word) {
						match = false
						break
					}
				}
				if match {
					rs := []rune(s)
					start, end := spans[i].start, spans[i+len(want)-1].end
					return string(rs[:start]) + Blank + string(rs[end:]), true
				}
			}
		}
	}
	return "", false
}

// wordSpan is a word of a text, lower-case, and where it is in the text's
// runes.
type wordSpan struct {
	word       string
	start, end int
}

// wordSpans splits s into words as words does, keeping their places.
func wordSpans(s string) []wordSpan {
	var out []wordSpan
	start := -1
	rs := []rune(s)
	for i := 0; i <= len(rs); i++ {
		in := i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]))
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			out = append(out, wordSpan{word: strings.ToLower(string(rs[start:i])), start: start, end: i})
			start = -1
		}
	}
	return out
}
