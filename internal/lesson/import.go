package lesson

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ImportMeta is what the admin adds on the command line to an imported
// article; every field is optional.
type ImportMeta struct {
	Level  string
	Date   string
	Source string
}

// ImportReport tells what Import found and what it left out.
type ImportReport struct {
	Title      string
	Paragraphs int
	Terms      int
	// Notes are one-line remarks for the admin, such as what was dropped.
	Notes []string
}

// chromeMarkers start the website furniture that follows an article on a
// news site, in English and French: comment forms, sharing buttons,
// related-article teasers. A line that equals one of them (case and a
// trailing colon aside) or starts with one of the long ones ends the
// article.
var chromeMarkers = []string{
	"leave a reply", "leave a comment", "post a comment", "comments", "add comment",
	"laisser un commentaire", "laisser une réponse", "commentaires", "ajouter un commentaire",
	"related", "related posts", "related articles", "you may also like", "read more", "read next",
	"articles similaires", "articles liés", "à lire aussi", "vous aimerez aussi", "lire plus", "lire la suite",
	"share this", "share", "like this", "partager", "partager ceci", "j'aime ceci", "j’aime ceci",
	"previous post", "next post", "article précédent", "article suivant", "tags", "étiquettes",
}

var chromePrefixes = []string{
	"your email address will not be published",
	"votre adresse e-mail ne sera pas publiée",
	"votre adresse de messagerie ne sera pas publiée",
}

// glossaryLine matches "Term: translation, translation".
var glossaryLine = regexp.MustCompile(`^([^:"“”«»]{1,60}):\s*(\S.{0,150})$`)

// Import turns a plain-text copy of a news page (the title on its first
// line, the article's paragraphs, a glossary of "Term: translation" lines,
// then the site's comment form and teasers) into a lesson file in
// lessonbot's Markdown format.
func Import(src []byte, meta ImportMeta) ([]byte, ImportReport, error) {
	var rep ImportReport
	if !utf8.Valid(src) {
		return nil, rep, errors.New("the file is not UTF-8 text")
	}
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	for i := range lines {
		lines[i] = strings.Join(strings.Fields(lines[i]), " ")
	}

	first := 0
	for first < len(lines) && lines[first] == "" {
		first++
	}
	if first == len(lines) {
		return nil, rep, errors.New("the file is empty")
	}
	rep.Title = lines[first]
	body := lines[first+1:]

	end := len(body)
	for i, line := range body {
		if isChrome(line) {
			end = i
			dropped := 0
			for _, l := range body[i:] {
				if l != "" {
					dropped++
				}
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("dropped %d lines of page chrome from line %d (%q)", dropped, first+2+i, line))
			break
		}
	}
	body = body[:end]

	// The glossary is the run of "Term: translation" lines that ends the
	// article; a colon inside the article ("The mayor said: ...") is not.
	glossStart := len(body)
	for i := len(body) - 1; i >= 0; i-- {
		if body[i] == "" {
			continue
		}
		if _, ok := parseGlossaryLine(body[i]); !ok {
			break
		}
		glossStart = i
	}
	var terms []Term
	for _, line := range body[glossStart:] {
		if t, ok := parseGlossaryLine(line); ok {
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		rep.Notes = append(rep.Notes, `no glossary found (want lines such as "Rule out: écarter, exclure" after the article)`)
	}

	article := paragraphs(body[:glossStart])
	if len(article) == 0 {
		return nil, rep, errors.New("no article text after the title")
	}
	rep.Paragraphs, rep.Terms = len(article), len(terms)
	for _, t := range terms {
		if !ContainsTerm(article, t.Term) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("glossary term %q is not in the article", t.Term))
		}
	}

	summary := Summarize(article)
	rep.Notes = append(rep.Notes, fmt.Sprintf("summary made from the article's first %d sentences; edit it to taste", len(sentences(summary))))
	if meta.Level == "" {
		rep.Notes = append(rep.Notes, "no level given: add one with --level (A1 to C2)")
	}

	out, err := importedLesson(rep.Title, meta, article, summary, terms)
	return out, rep, err
}

func isChrome(line string) bool {
	l := strings.ToLower(strings.TrimRight(line, " :"))
	for _, m := range chromeMarkers {
		if l == m {
			return true
		}
	}
	for _, p := range chromePrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func parseGlossaryLine(line string) (Term, bool) {
	m := glossaryLine.FindStringSubmatch(line)
	if m == nil {
		return Term{}, false
	}
	term := strings.TrimSpace(m[1])
	rest := strings.TrimSpace(m[2])
	if len(strings.Fields(term)) > 5 || strings.HasSuffix(rest, ".") || !unicode.IsLetter([]rune(term)[0]) {
		return Term{}, false
	}
	t := Term{Term: lowerFirst(term)}
	if before, note, ok := strings.Cut(rest, "—"); ok {
		rest, t.Note = before, strings.TrimSpace(note)
	}
	for _, tr := range strings.Split(rest, ",") {
		if tr = strings.TrimSpace(tr); tr != "" {
			t.Translations = append(t.Translations, tr)
		}
	}
	return t, len(t.Translations) > 0
}

// lowerFirst lower-cases a capital that only starts the line ("Rule out"
// → "rule out") and keeps acronyms ("NATO").
func lowerFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	next, _ := utf8.DecodeRuneInString(s[size:])
	if unicode.IsUpper(r) && !unicode.IsUpper(next) {
		return string(unicode.ToLower(r)) + s[size:]
	}
	return s
}

// paragraphs makes one paragraph of each line; a short line right under a
// quotation is its speaker and joins it.
func paragraphs(lines []string) []string {
	var out []string
	for i, line := range lines {
		if line == "" {
			continue
		}
		if i > 0 && lines[i-1] != "" && len(out) > 0 && isQuote(out[len(out)-1]) && len(strings.Fields(line)) <= 4 && !strings.ContainsAny(line, ".!?\"“”") {
			out[len(out)-1] += " — " + line
			continue
		}
		out = append(out, line)
	}
	return out
}

func isQuote(s string) bool {
	return strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "“") || strings.HasPrefix(s, "«")
}

// importedLesson writes the lesson file.
func importedLesson(title string, meta ImportMeta, article []string, summary string, terms []Term) ([]byte, error) {
	front := struct {
		Title  string `yaml:"title"`
		Level  string `yaml:"level,omitempty"`
		Date   string `yaml:"date,omitempty"`
		Source string `yaml:"source,omitempty"`
	}{title, strings.ToUpper(meta.Level), meta.Date, meta.Source}
	if front.Level != "" && !validLevel(front.Level) {
		return nil, fmt.Errorf("bad level %q (want one of A1, A2, B1, B2, C1, C2)", meta.Level)
	}
	if front.Date != "" {
		if _, err := time.Parse(time.DateOnly, front.Date); err != nil {
			return nil, fmt.Errorf("bad date %q (want YYYY-MM-DD, such as 2026-03-02)", meta.Date)
		}
	}
	if front.Source != "" && !validURL(front.Source) {
		return nil, fmt.Errorf("bad source URL %q (want an http or https address)", meta.Source)
	}
	yml, err := yaml.Marshal(front)
	if err != nil {
		return nil, fmt.Errorf("write front matter: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(yml)
	b.WriteString("---\n")
	for _, p := range article {
		b.WriteString(EscapeMarkdown(p) + "\n\n")
	}
	b.WriteString("## Summary\n" + EscapeMarkdown(summary) + "\n")
	if len(terms) > 0 {
		b.WriteString("\n## Vocabulary\n")
		for _, t := range terms {
			line := "- " + EscapeMarkdown(t.Term) + ": " + EscapeMarkdown(strings.Join(t.Translations, ", "))
			if t.Note != "" {
				line += " — " + EscapeMarkdown(t.Note)
			}
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes(), nil
}

// EscapeMarkdown makes a line of plain text read back as itself when
// parsed as Markdown: inline markers get a backslash everywhere, block
// markers only where they start the line.
func EscapeMarkdown(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>&~!|", r):
			b.WriteByte('\\')
		case i == 0 && strings.ContainsRune("#-+=", r):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	out := b.String()
	// "1. " or "1)" at the start would make an ordered list.
	if m := orderedListStart.FindStringIndex(out); m != nil {
		out = out[:m[1]-1] + "\\" + out[m[1]-1:]
	}
	return out
}

var orderedListStart = regexp.MustCompile(`^[0-9]{1,9}[.)]`)
