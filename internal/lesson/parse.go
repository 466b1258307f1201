package lesson

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"gopkg.in/yaml.v3"
)

// markdown is the one Markdown parser; it holds no state between parses.
var markdown = goldmark.New(goldmark.WithExtensions(extension.TaskList))

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
	yamlLinePattern = regexp.MustCompile(`line (\d+)`)
	// entityPattern matches a CommonMark entity or numeric character
	// reference at the start of a text.
	entityPattern = regexp.MustCompile(`^&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});`)
)

// The section headings of a lesson body, lower-cased.
const (
	sectionArticle    = ""
	sectionSummary    = "summary"
	sectionVocabulary = "vocabulary"
	sectionQuiz       = "quiz"
)

// MaxIDLength is the longest lesson id: ids travel inside button data,
// which Telegram limits to 64 bytes.
const MaxIDLength = 40

// ValidID reports whether id may name a lesson: 1 to MaxIDLength
// lower-case letters, digits and "-".
func ValidID(id string) bool { return len(id) <= MaxIDLength && idPattern.MatchString(id) }

// Parse reads one lesson file. It returns the lesson, or nil when the file
// has errors, and every problem found, each with its line.
func Parse(path, id string, src []byte) (*Lesson, []Problem) {
	p := &parser{path: path}
	l := p.parse(id, src)
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
	if Errors(p.problems) > 0 {
		return nil, p.problems
	}
	return l, p.problems
}

type parser struct {
	path     string
	problems []Problem
	// body and bodyLine locate the Markdown after the front matter.
	body      []byte
	bodyLine  int
	lineStart []int
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Path: p.path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Path: p.path, Line: line, Message: fmt.Sprintf(format, args...), Warning: true})
}

func (p *parser) parse(id string, src []byte) *Lesson {
	l := &Lesson{ID: id, Path: p.path, Language: "en", Gloss: "fr"}
	if !ValidID(id) {
		p.errorf(1, "bad file name: the id %q must be 1 to %d lower-case letters, digits and -", id, MaxIDLength)
	}
	if !utf8.Valid(src) {
		p.errorf(1, "the file is not UTF-8 text")
		return l
	}
	src = bytes.TrimPrefix(src, []byte("\ufeff"))
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))

	front, frontLine, body, bodyLine, ok := splitFrontMatter(src)
	if !ok {
		p.errorf(1, "missing front matter: the file must start with a line \"---\", then \"title: ...\", then \"---\"")
		return l
	}
	if front == nil {
		p.errorf(1, "front matter not closed: add a line \"---\" after it")
		return l
	}
	p.frontMatter(l, front, frontLine)
	p.body, p.bodyLine = body, bodyLine
	p.lineStart = lineStarts(body)
	p.bodySections(l)
	return l
}

// splitFrontMatter cuts "---\nYAML\n---\nbody". ok is false when the file
// does not start with "---"; front is nil when it is never closed.
func splitFrontMatter(src []byte) (front []byte, frontLine int, body []byte, bodyLine int, ok bool) {
	first, rest, _ := bytes.Cut(src, []byte("\n"))
	if string(bytes.TrimRight(first, " \t")) != "---" {
		return nil, 0, nil, 0, false
	}
	line := 2
	for off := 0; off < len(rest); {
		end := bytes.IndexByte(rest[off:], '\n')
		next := len(rest)
		if end >= 0 {
			next = off + end + 1
		}
		if l := string(bytes.TrimRight(rest[off:next], " \t\n")); l == "---" || l == "..." {
			return rest[:off], 2, rest[next:], line + 1, true
		}
		off, line = next, line+1
	}
	return nil, 0, nil, 0, true
}

func (p *parser) frontMatter(l *Lesson, front []byte, firstLine int) {
	var doc yaml.Node
	if err := yaml.Unmarshal(front, &doc); err != nil {
		line := firstLine
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLinePattern.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line = firstLine + n - 1
			msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
		}
		p.errorf(line, "invalid front matter: %s", msg)
		return
	}
	if len(doc.Content) == 0 {
		p.errorf(firstLine-1, "missing title: add \"title: ...\" to the front matter")
		return
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(firstLine+root.Line-1, "invalid front matter: want \"key: value\" lines such as \"title: ...\"")
		return
	}
	hasTitle := false
	hasLevel := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		line := firstLine + key.Line - 1
		name := key.Value
		if val.Kind != yaml.ScalarNode && name != "tags" {
			p.errorf(line, "front matter %q must be a single value", name)
			continue
		}
		v := strings.TrimSpace(val.Value)
		switch name {
		case "title":
			hasTitle = true
			if v == "" {
				p.errorf(line, "missing title: the title is empty")
			}
			l.Title = v
		case "level":
			hasLevel = true
			lvl := strings.ToUpper(v)
			if !validLevel(lvl) {
				p.errorf(line, "bad level %q (want one of A1, A2, B1, B2, C1, C2)", v)
			}
			l.Level = lvl
		case "date":
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				p.errorf(line, "bad date %q (want YYYY-MM-DD, such as 2026-03-02)", v)
			}
			l.Date = d
		case "source":
			if !validURL(v) {
				p.errorf(line, "bad source URL %q (want an http or https address)", v)
			}
			l.Source = v
		case "tags":
			tags, ok := stringList(val)
			if !ok {
				p.errorf(line, "tags must be a list of words, such as [economy, work]")
			}
			l.Tags = tags
		case "language", "gloss":
			if !languagePattern.MatchString(v) {
				p.errorf(line, "bad %s %q (want a language code such as en or fr)", name, v)
			}
			if name == "language" {
				l.Language = v
			} else {
				l.Gloss = v
			}
		default:
			p.warnf(line, "unknown front matter key %q (known: title, level, date, source, tags, language, gloss)", name)
		}
	}
	if !hasTitle {
		p.errorf(firstLine-1, "missing title: add \"title: ...\" to the front matter")
	}
	if !hasLevel {
		p.warnf(firstLine-1, "no level: add \"level: B1\" (A1 to C2) so chats can choose lessons by level")
	}
}

func validLevel(level string) bool {
	for _, l := range Levels {
		if l == level {
			return true
		}
	}
	return false
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \t\n")
}

func stringList(n *yaml.Node) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || strings.TrimSpace(c.Value) == "" {
			return nil, false
		}
		out = append(out, strings.TrimSpace(c.Value))
	}
	return out, true
}

// lineStarts returns the byte offset at which each line of b starts.
func lineStarts(b []byte) []int {
	starts := []int{0}
	for i, c := range b {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineAt returns the file line of a byte offset in the body.
func (p *parser) lineAt(offset int) int {
	i := sort.Search(len(p.lineStart), func(i int) bool { return p.lineStart[i] > offset })
	return p.bodyLine + i - 1
}

// lineOf returns the file line where a block node starts: its own first
// line, or that of its first descendant that has lines.
func (p *parser) lineOf(n ast.Node) int {
	for c := n; c != nil; c = c.FirstChild() {
		if c.Type() == ast.TypeBlock && c.Lines().Len() > 0 {
			return p.lineAt(c.Lines().At(0).Start)
		}
		if t, ok := c.(*ast.Text); ok {
			return p.lineAt(t.Segment.Start)
		}
	}
	return p.bodyLine
}

func (p *parser) bodySections(l *Lesson) {
	doc := markdown.Parser().Parse(text.NewReader(p.body))
	section := sectionArticle
	seen := map[string]int{}
	var summary []string
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok && h.Level == 2 {
			name := strings.ToLower(strings.TrimSpace(inlineText(h, p.body)))
			switch name {
			case sectionSummary, sectionVocabulary, sectionQuiz:
				if first, dup := seen[name]; dup {
					p.errorf(p.lineOf(h), "a second %q section (the first is on line %d)", h2(name), first)
				}
				seen[name] = p.lineOf(h)
				section = name
				continue
			}
			if section != sectionArticle {
				p.errorf(p.lineOf(h), "unknown section %q (want Summary, Vocabulary or Quiz)", inlineText(h, p.body))
				continue
			}
		}
		switch section {
		case sectionArticle:
			l.Article = append(l.Article, blockParagraphs(n, p.body)...)
		case sectionSummary:
			summary = append(summary, blockParagraphs(n, p.body)...)
		case sectionVocabulary:
			p.vocabulary(l, n)
		case sectionQuiz:
			p.quiz(l, n)
		}
	}
	if len(l.Article) == 0 {
		p.errorf(p.bodyLine, "empty article: write the article's paragraphs after the front matter")
	}
	l.Summary = strings.Join(summary, "\n\n")
	if l.Summary == "" {
		l.Summary, l.SummaryMade = Summarize(l.Article), true
		p.warnf(p.bodyLine, "no summary: add a \"## Summary\" section (the post will use the article's first sentences)")
	}
	article := articleWords(l.Article)
	for _, t := range l.Terms {
		if !containsWords(article, words(t.Term)) {
			p.warnf(t.Line, "vocabulary term %q not found in the article", t.Term)
		}
	}
}

func h2(name string) string { return strings.ToUpper(name[:1]) + name[1:] }

func (p *parser) vocabulary(l *Lesson, n ast.Node) {
	list, ok := n.(*ast.List)
	if !ok {
		p.errorf(p.lineOf(n), "the Vocabulary section takes only lines such as \"- strike: grève, débrayage\"")
		return
	}
	for item := list.FirstChild(); item != nil; item = item.NextSibling() {
		line := p.lineOf(item)
		entry := ""
		if first := item.FirstChild(); first != nil {
			entry = strings.TrimSpace(inlineText(first, p.body))
		}
		term, ok := p.parseTerm(line, entry)
		if ok {
			l.Terms = append(l.Terms, term)
		}
	}
}

// parseTerm reads "term: translation, translation — note".
func (p *parser) parseTerm(line int, entry string) (Term, bool) {
	head, rest, found := strings.Cut(entry, ":")
	if !found {
		p.errorf(line, "vocabulary line without \":\" (want \"- term: translation, translation\")")
		return Term{}, false
	}
	t := Term{Term: strings.TrimSpace(head), Line: line}
	if t.Term == "" {
		p.errorf(line, "vocabulary line with no term before \":\"")
		return Term{}, false
	}
	for _, sep := range []string{"—", " -- "} {
		if before, note, ok := strings.Cut(rest, sep); ok {
			rest, t.Note = before, strings.TrimSpace(note)
			break
		}
	}
	for _, tr := range strings.Split(rest, ",") {
		tr = strings.TrimSpace(tr)
		if tr == "" {
			p.errorf(line, "vocabulary term %q has an empty translation", t.Term)
			return Term{}, false
		}
		t.Translations = append(t.Translations, tr)
	}
	return t, true
}

func (p *parser) quiz(l *Lesson, n ast.Node) {
	list, ok := n.(*ast.List)
	if !ok {
		p.errorf(p.lineOf(n), "the Quiz section takes only numbered questions such as \"1. Why …?\" with choices \"- [ ] …\" under them")
		return
	}
	for item := list.FirstChild(); item != nil; item = item.NextSibling() {
		if q, ok := p.question(item); ok {
			l.Questions = append(l.Questions, q)
		}
	}
}

func (p *parser) question(item ast.Node) (Question, bool) {
	q := Question{Line: p.lineOf(item)}
	ok := true
	for c := item.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.TextBlock, *ast.Paragraph:
			if q.Text == "" {
				q.Text = strings.TrimSpace(inlineText(c, p.body))
			}
		case *ast.List:
			for ch := c.FirstChild(); ch != nil; ch = ch.NextSibling() {
				choice, good := p.choice(ch)
				ok = ok && good
				q.Choices = append(q.Choices, choice)
			}
		case *ast.Blockquote:
			q.Explanation = strings.Join(blockParagraphs(c, p.body), " ")
			if n := utf8.RuneCountInString(q.Explanation); n > MaxExplanation {
				p.errorf(p.lineOf(c), "explanation is %d characters (at most %d)", n, MaxExplanation)
				ok = false
			}
		default:
			p.errorf(p.lineOf(c), "unexpected text in a question: want choices \"- [ ] …\" and an optional \"> explanation\"")
			ok = false
		}
	}
	if q.Text == "" {
		p.errorf(q.Line, "question without text")
		return q, false
	}
	if n := len(q.Choices); n < MinChoices || n > MaxChoices {
		p.errorf(q.Line, "question has %d choices (want %d to %d)", n, MinChoices, MaxChoices)
		ok = false
	}
	correct := 0
	seen := map[string]bool{}
	for _, c := range q.Choices {
		if c.Correct {
			correct++
		}
		if seen[c.Text] && c.Text != "" {
			p.errorf(c.Line, "two choices read %q", c.Text)
			ok = false
		}
		seen[c.Text] = true
	}
	if correct != 1 && len(q.Choices) > 0 {
		p.errorf(q.Line, "question has %d correct choices (want exactly one \"- [x]\")", correct)
		ok = false
	}
	return q, ok
}

func (p *parser) choice(item ast.Node) (Choice, bool) {
	c := Choice{Line: p.lineOf(item)}
	first := item.FirstChild()
	var box *extast.TaskCheckBox
	if first != nil {
		box, _ = first.FirstChild().(*extast.TaskCheckBox)
	}
	if box == nil {
		p.errorf(c.Line, "choice without a box: write \"- [ ] wrong answer\" or \"- [x] right answer\"")
		return c, false
	}
	c.Correct = box.IsChecked
	c.Text = strings.TrimSpace(inlineText(first, p.body))
	switch n := utf8.RuneCountInString(c.Text); {
	case n == 0:
		p.errorf(c.Line, "empty choice")
		return c, false
	case n > MaxChoiceText:
		p.errorf(c.Line, "choice is %d characters (at most %d, the longest button label Discord shows)", n, MaxChoiceText)
		return c, false
	}
	return c, true
}

// blockParagraphs returns the plain text of a block node as paragraphs.
func blockParagraphs(n ast.Node, src []byte) []string {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock, *ast.Heading:
		if t := strings.TrimSpace(inlineText(n, src)); t != "" {
			return []string{t}
		}
		return nil
	case *ast.List:
		var items []string
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			var parts []string
			for c := item.FirstChild(); c != nil; c = c.NextSibling() {
				parts = append(parts, blockParagraphs(c, src)...)
			}
			items = append(items, "• "+strings.Join(parts, " "))
		}
		return []string{strings.Join(items, "\n")}
	case *ast.FencedCodeBlock, *ast.CodeBlock, *ast.HTMLBlock:
		var b strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(src))
		}
		if t := strings.TrimRight(b.String(), "\n"); strings.TrimSpace(t) != "" {
			return []string{t}
		}
		return nil
	case *ast.ThematicBreak:
		return nil
	}
	var out []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, blockParagraphs(c, src)...)
	}
	return out
}

// inlineText returns the plain text of a node's inline children: Markdown
// emphasis and links are reduced to their text.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	var walk func(ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				v := c.Value(src)
				if c.IsRaw() {
					b.Write(v)
				} else {
					unescapeText(&b, v)
				}
				switch {
				case c.HardLineBreak():
					b.WriteByte('\n')
				case c.SoftLineBreak():
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.CodeSpan:
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					if s, ok := t.(*ast.Text); ok {
						b.Write(s.Value(src))
					}
				}
			case *ast.AutoLink:
				b.Write(c.URL(src))
			case *ast.RawHTML:
				for i := 0; i < c.Segments.Len(); i++ {
					seg := c.Segments.At(i)
					b.Write(seg.Value(src))
				}
			case *extast.TaskCheckBox:
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// unescapeText writes Markdown text as the reader sees it: a backslash
// before punctuation keeps the punctuation, and entity references are
// decoded. Both happen in one pass, so that an escaped "\&amp;" stays
// "&amp;" as written rather than becoming "&".
func unescapeText(b *strings.Builder, v []byte) {
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v) && util.IsPunct(v[i+1]):
			b.WriteByte(v[i+1])
			i++
			continue
		case c == '&':
			if m := entityPattern.Find(v[i:]); m != nil {
				b.WriteString(html.UnescapeString(string(m)))
				i += len(m) - 1
				continue
			}
		}
		b.WriteByte(c)
	}
}
