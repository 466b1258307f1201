package lesson

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// sourceParagraphs returns the fixture's non-empty lines after its title
// and before the line that starts with end: the article as written, one
// paragraph a line. A speaker's line is joined to the quote above it.
func sourceParagraphs(t *testing.T, src []byte, end, speaker string) []string {
	t.Helper()
	lines := strings.Split(string(src), "\n")
	var out []string
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, end) {
			return out
		}
		switch {
		case line == "":
		case line == speaker:
			out[len(out)-1] += " — " + speaker
		default:
			out = append(out, line)
		}
	}
	t.Fatalf("no line starts with %q", end)
	return nil
}

func TestImportFixtures(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		title      string
		articleEnd string // the first line after the article
		speaker    string
		terms      []Term
		chrome     []string // page text that must not reach the lesson
		notes      []string // fragments the notes must contain
		escaped    []string // text that must read back as itself
	}{
		{
			name:       "OKEnglishChrome",
			file:       "en-chrome.txt",
			title:      "Swimmers return to the River Dunn after a ten-year ban",
			articleEnd: "Lift a ban:",
			speaker:    "Margaret Olsen",
			terms: []Term{
				{Term: "lift a ban", Translations: []string{"lever une interdiction", "autoriser de nouveau"}},
				{Term: "sewage", Translations: []string{"eaux usées", "eaux d'égout"}},
				{Term: "upstream", Translations: []string{"en amont", "plus haut sur la rivière"}},
				{Term: "turn up", Translations: []string{"venir", "se présenter"}},
			},
			chrome: []string{"Leave a Reply", "email address", "Related Posts", "Read more", "Town market moves indoors", "farmers' market", "Cycling club", "puncture"},
			notes:  []string{`dropped 9 lines of page chrome from line 25 ("Leave a Reply")`, "no level given"},
		},
		{
			name:       "OKFrenchChrome",
			file:       "fr-chrome.txt",
			title:      "Mountain farmers turn barn roofs into a village power station",
			articleEnd: "Barn:",
			speaker:    "Luca Brenna",
			terms: []Term{
				{Term: "barn", Translations: []string{"grange", "étable"}},
				{Term: "roof", Translations: []string{"toit", "toiture"}},
				{Term: "pay off", Translations: []string{"être rentable", "porter ses fruits"}},
				{Term: "power cut", Translations: []string{"coupure de courant", "panne d'électricité"}},
			},
			chrome: []string{"Laisser un commentaire", "adresse e-mail", "Articles similaires", "Lire plus", "Ski resort tests snow", "snow cannons", "Cheese makers share", "dairy"},
			notes:  []string{`dropped 9 lines of page chrome from line 25 ("Laisser un commentaire")`},
		},
		{
			name:       "OKNoGlossary",
			file:       "no-glossary.txt",
			title:      "Town library starts lending drills and sewing machines",
			articleEnd: "Share this:",
			chrome:     []string{"Share this", "Like this", "Related", "Leave a comment"},
			notes:      []string{`("Share this:")`, "no glossary found"},
		},
		{
			name:       "OKSpecialCharacters",
			file:       "special-chars.txt",
			title:      "Brenner & Cole doubles its R&D budget after a strong year",
			articleEnd: "Spending:",
			terms: []Term{
				{Term: "spending", Translations: []string{"dépenses", "frais"}},
				{Term: "sold out", Translations: []string{"épuisé", "en rupture de stock"}},
			},
			chrome:  []string{"Leave a Reply", "Related Posts", "Read more", "weather stations", "ink made from algae"},
			notes:   []string{`("Leave a Reply")`},
			escaped: []string{"<5%", ">10%", "R&D", "*Fieldnote*", "#climate_week", `"won 3|2"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := readFixture(t, tt.file)
			out, rep, err := Import(src, ImportMeta{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			want := sourceParagraphs(t, src, tt.articleEnd, tt.speaker)
			if rep.Title != tt.title || rep.Paragraphs != len(want) || rep.Terms != len(tt.terms) {
				t.Errorf("report = %q, %d paragraphs, %d terms; want %q, %d, %d", rep.Title, rep.Paragraphs, rep.Terms, tt.title, len(want), len(tt.terms))
			}
			notes := strings.Join(rep.Notes, "\n")
			for _, n := range tt.notes {
				if !strings.Contains(notes, n) {
					t.Errorf("notes lack %q:\n%s", n, notes)
				}
			}
			if strings.Contains(notes, "is not in the article") {
				t.Errorf("a glossary term was not found:\n%s", notes)
			}
			for _, c := range tt.chrome {
				if strings.Contains(string(out), c) {
					t.Errorf("output contains page chrome %q", c)
				}
			}

			l, problems := Parse("imported.md", "imported", out)
			if Errors(problems) > 0 || l == nil {
				t.Fatalf("Parse of the output: %v\n%s", problems, out)
			}
			for _, p := range problems {
				// Only the level, which the test does not give, may be missing.
				if !strings.HasPrefix(p.Message, "no level") {
					t.Errorf("unexpected warning: %v", p)
				}
			}
			if l.Title != tt.title {
				t.Errorf("title = %q, want %q", l.Title, tt.title)
			}
			if !reflect.DeepEqual(l.Article, want) {
				t.Errorf("article does not round-trip:\n got %q\nwant %q", l.Article, want)
			}
			if tt.speaker != "" && !strings.Contains(strings.Join(l.Article, "\n"), `" — `+tt.speaker) {
				t.Errorf("speaker %q not joined to the quote: %q", tt.speaker, l.Article)
			}
			var terms []Term
			for _, term := range l.Terms {
				term.Line = 0
				terms = append(terms, term)
			}
			if !reflect.DeepEqual(terms, tt.terms) {
				t.Errorf("terms = %+v, want %+v", terms, tt.terms)
			}
			if l.Summary == "" || l.SummaryMade {
				t.Errorf("the lesson has no Summary section: %q", l.Summary)
			}
			if !strings.HasPrefix(want[0], strings.TrimSuffix(l.Summary, "…")[:40]) {
				t.Errorf("summary %q is not the article's beginning", l.Summary)
			}
			for _, s := range tt.escaped {
				if !strings.Contains(strings.Join(l.Article, "\n"), s) {
					t.Errorf("article lost %q", s)
				}
			}
		})
	}
}

func TestImportMeta(t *testing.T) {
	src := []byte("Bakers protest against flour prices\n\nBakers closed their shops for a day to protest against the price of flour.\n\nFlour: farine\n")
	tests := []struct {
		name    string
		meta    ImportMeta
		front   []string // lines the front matter must hold
		wantErr string
	}{
		{name: "OK", front: []string{"title: Bakers protest against flour prices"}},
		{name: "OKAll", meta: ImportMeta{Level: "b2", Date: "2026-03-02", Source: "https://example.org/news/bakers?id=1&x=2"},
			front: []string{"level: B2", "date: \"2026-03-02\"", "source: https://example.org/news/bakers?id=1&x=2"}},
		{name: "ErrBadLevel", meta: ImportMeta{Level: "B3"}, wantErr: `bad level "B3"`},
		{name: "ErrBadDate", meta: ImportMeta{Date: "2026-02-30"}, wantErr: `bad date "2026-02-30"`},
		{name: "ErrBadDateFormat", meta: ImportMeta{Date: "02/03/2026"}, wantErr: `bad date "02/03/2026"`},
		{name: "ErrBadSourceScheme", meta: ImportMeta{Source: "ftp://example.org/x"}, wantErr: `bad source URL "ftp://example.org/x"`},
		{name: "ErrBadSourceNotURL", meta: ImportMeta{Source: "example.org/news"}, wantErr: `bad source URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := Import(src, tt.meta)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Import error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			front, _, _ := strings.Cut(strings.TrimPrefix(string(out), "---\n"), "---\n")
			for _, line := range tt.front {
				if !strings.Contains(front, line+"\n") {
					t.Errorf("front matter lacks %q:\n%s", line, front)
				}
			}
			l, problems := Parse("x.md", "x", out)
			if l == nil {
				t.Fatalf("Parse: %v", problems)
			}
			if tt.meta.Level != "" && l.Level != strings.ToUpper(tt.meta.Level) {
				t.Errorf("level = %q", l.Level)
			}
			if tt.meta.Date != "" && l.Date.Format(time.DateOnly) != tt.meta.Date {
				t.Errorf("date = %v", l.Date)
			}
			if l.Source != tt.meta.Source {
				t.Errorf("source = %q", l.Source)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"ErrEmpty", "", "the file is empty"},
		{"ErrBlank", "\n  \n\t\n", "the file is empty"},
		{"ErrTitleOnly", "Just a headline\n", "no article text after the title"},
		{"ErrTitleAndBlankLines", "\n\nJust a headline\n\n\n", "no article text after the title"},
		{"ErrOnlyGlossary", "Headline\n\nWord: mot\n", "no article text after the title"},
		{"ErrOnlyChrome", "Headline\n\nLeave a Reply\nYour text here.\n", "no article text after the title"},
		{"ErrNotUTF8", "Headline\n\nCaf\xe9 au lait.\n", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := Import([]byte(tt.src), ImportMeta{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Import = %q, %v; want an error with %q", out, err, tt.wantErr)
			}
		})
	}
}

// TestImportRoundTrip imports an article made of one tricky paragraph and
// checks that the lesson reads back exactly that paragraph.
func TestImportRoundTrip(t *testing.T) {
	tests := []struct{ name, para string }{
		{"OrderedListDot", "1. Not a list"},
		{"OrderedListParen", "2) Not a list either"},
		{"BigNumberDot", "2026. A year to remember."},
		{"BulletDash", "- not a list"},
		{"BulletPlus", "+ not a list"},
		{"BulletStar", "* not a list"},
		{"ThematicBreak", "---"},
		{"ThematicBreakStars", "***"},
		{"ThematicBreakSpaced", "- - -"},
		{"SetextUnderline", "==="},
		{"Heading", "# not a heading"},
		{"HeadingLevelTwo", "## Summary"},
		{"Blockquote", "> not a quote"},
		{"HTMLBlock", "<div>not html</div>"},
		{"HTMLComment", "<!-- not a comment -->"},
		{"Autolink", "<https://example.org>"},
		{"LinkReference", "[ref]: https://example.org"},
		{"Link", "see [link](x) and ![image](y)"},
		{"Emphasis", "*one* **two** _three_ __four__ ~~five~~"},
		{"Code", "`code` and ``more``"},
		{"Pipes", "| a | b | 3|2"},
		{"Ampersand", "R&D & more"},
		{"EntityLiteral", "write &amp; or &copy; or &#65; to see them"},
		{"Comparison", "costs <5% and >10%"},
		{"Backslash", `a \ b \\ c \* d`},
		{"TrailingBackslash", `ends with a backslash \`},
		{"Hashtag", "#climate_week and #1"},
		{"TaskBox", "[x] not a task"},
		{"Quotes", `"quoted" and 'single' and “curly”`},
		{"Colon", "The mayor said: we will see."},
		{"Unicode", "Café, naïve, 日本語, 🚢."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "A headline\n\nThe first paragraph is plain.\n\n" + tt.para + "\n\nThe last paragraph is plain too.\n"
			out, _, err := Import([]byte(src), ImportMeta{Level: "B1"})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			l, problems := Parse("x.md", "x", out)
			if l == nil {
				t.Fatalf("Parse: %v\n%s", problems, out)
			}
			want := []string{"The first paragraph is plain.", tt.para, "The last paragraph is plain too."}
			if !reflect.DeepEqual(l.Article, want) {
				t.Errorf("article = %q, want %q\n%s", l.Article, want, out)
			}
		})
	}
}

func TestEscapeMarkdownRoundTrip(t *testing.T) {
	// Text that reads back as itself in a vocabulary line and a summary.
	tests := []struct{ name, term, tr, note string }{
		{"OK", "rule out", "écarter, exclure", ""},
		{"Markup", "*star*_dish", "plat `vedette`", "|| a [note](x) <b> ||"},
		{"Entities", "R&D", "&amp; reste", "&copy; 2026"},
		{"LeadingDigit", "24-hour clock", "horloge", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := "- " + EscapeMarkdown(tt.term) + ": " + EscapeMarkdown(tt.tr)
			if tt.note != "" {
				line += " — " + EscapeMarkdown(tt.note)
			}
			src := "---\ntitle: T\nlevel: B1\n---\nText " + tt.term + ".\n\n## Summary\n" + EscapeMarkdown(tt.note+" "+tt.tr) + "\n\n## Vocabulary\n" + line + "\n"
			l, problems := Parse("x.md", "x", []byte(src))
			if l == nil {
				t.Fatalf("Parse: %v\n%s", problems, src)
			}
			want := Term{Term: tt.term, Translations: strings.Split(tt.tr, ", "), Note: tt.note, Line: 11}
			if !reflect.DeepEqual(l.Terms, []Term{want}) {
				t.Errorf("terms = %+v, want %+v", l.Terms, want)
			}
			if l.Summary != strings.TrimSpace(tt.note+" "+tt.tr) {
				t.Errorf("summary = %q", l.Summary)
			}
		})
	}
}
