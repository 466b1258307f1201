package lesson

import (
	"fmt"
	"html"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// benchWords are the vocabulary of generated articles.
var benchWords = strings.Fields(`harbour council river bridge market farmer teacher village station
library engineer volunteer museum festival weather storm flood island factory worker union
doctor nurse patient hospital school student garden bakery bicycle train ferry airport
mayor budget energy solar wind battery sensor street lamp tunnel mountain valley forest
coast beach fisherman harvest wheat coffee price report survey study record scientist
planet telescope satellite rocket engine museum painting concert theatre cinema audience`)

var benchLinks = strings.Fields(`the a its their this every one new old local small large
and but because while after before when as with from into over near`)

// genLesson writes a valid lesson of about 250 words with 6 terms and 3
// questions; r makes each one different.
func genLesson(r *rand.Rand, i int) string {
	word := func() string { return benchWords[r.IntN(len(benchWords))] }
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: The %s and the %s, part %d\nlevel: %s\n", word(), word(), i, Levels[r.IntN(len(Levels))])
	if r.IntN(10) > 0 {
		fmt.Fprintf(&b, "date: 2026-%02d-%02d\n", 1+r.IntN(12), 1+r.IntN(28))
	}
	fmt.Fprintf(&b, "source: https://example.org/news/%d\ntags: [%s, %s]\n---\n", i, word(), word())
	var used []string
	for p := 0; p < 4; p++ {
		for s := 0; s < 5; s++ {
			n := 9 + r.IntN(7)
			for w := 0; w < n; w++ {
				var t string
				if w%2 == 0 {
					t = word()
					used = append(used, t)
				} else {
					t = benchLinks[r.IntN(len(benchLinks))]
				}
				if w == 0 {
					t = strings.ToUpper(t[:1]) + t[1:]
				}
				if w == 3 && r.IntN(4) == 0 {
					t = "*" + t + "*"
				}
				b.WriteString(t)
				if w < n-1 {
					b.WriteByte(' ')
				}
			}
			b.WriteString(". ")
			if s == 2 {
				b.WriteByte('\n')
			}
		}
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "## Summary\nA story about the %s and the %s, told in %d short paragraphs.\n\n## Vocabulary\n", used[0], used[1], 4)
	seen := map[string]bool{}
	for n := 0; n < 6; {
		t := used[r.IntN(len(used))]
		if seen[t] {
			continue
		}
		seen[t] = true
		n++
		fmt.Fprintf(&b, "- %s: traduction %d, sens %d", t, r.IntN(100), r.IntN(100))
		if n%2 == 0 {
			b.WriteString(" — a note on usage")
		}
		b.WriteByte('\n')
	}
	b.WriteString("\n## Quiz\n")
	for q := 1; q <= 3; q++ {
		fmt.Fprintf(&b, "%d. What is question %d about?\n", q, q)
		right := r.IntN(3)
		for c := 0; c < 3; c++ {
			box := " "
			if c == right {
				box = "x"
			}
			fmt.Fprintf(&b, "   - [%s] Answer %d about the %s\n", box, c, word())
		}
		if q != 2 {
			fmt.Fprintf(&b, "   > Because of the %s.\n", word())
		}
	}
	return b.String()
}

func writeLibrary(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("unit-%02d", i/100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("lesson-%04d.md", i)), []byte(genLesson(r, i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// postLength is a check with the cost of the post-length check without
// its adapters: for two interface languages, it escapes and lays out the
// post twice (as HTML, as Markdown) and counts UTF-16 code units.
func postLength(l *Lesson) []error {
	var errs []error
	for range 2 {
		var h, m strings.Builder
		h.WriteString("<b>" + html.EscapeString(l.Title) + "</b>\n<i>Level " + l.Level + "</i>\n\n" + html.EscapeString(l.Summary) + "\n\n<b>Vocabulary</b>")
		m.WriteString(strings.NewReplacer("*", `\*`, "_", `\_`, "|", `\|`).Replace(l.Summary))
		for _, t := range l.Terms {
			tr := strings.Join(t.Translations, ", ")
			h.WriteString("\n• <b>" + html.EscapeString(t.Term) + "</b> — <tg-spoiler>" + html.EscapeString(tr) + "</tg-spoiler>")
			m.WriteString("\n**" + t.Term + "** — ||" + tr + "||")
		}
		text := html.UnescapeString(h.String())
		if n := len(utf16.Encode([]rune(text))); n > 4096 {
			errs = append(errs, fmt.Errorf("post is %d characters", n))
		}
		if n := len(utf16.Encode([]rune(m.String()))); n > 6000 {
			errs = append(errs, fmt.Errorf("embed is %d characters", n))
		}
	}
	return errs
}

func BenchmarkLoadLibrary(b *testing.B) {
	const lessons = 1000
	dir := writeLibrary(b, lessons)
	for _, bc := range []struct {
		name   string
		checks []Check
	}{
		{"NoChecks", nil},
		{"PostLengthCheck", []Check{postLength}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := LoadDir(dir, bc.checks...)
				if res.Library.Len() != lessons || Errors(res.Problems) > 0 || len(res.Problems) > 0 {
					b.Fatalf("%d lessons, problems %v", res.Library.Len(), res.Problems[:min(5, len(res.Problems))])
				}
			}
		})
	}
}

func TestGeneratedLessonsAreValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		src := genLesson(r, i)
		l, problems := Parse("g.md", "g", []byte(src))
		if l == nil || len(problems) > 0 {
			t.Fatalf("lesson %d: %v\n%s", i, problems, src)
		}
		words := len(strings.Fields(strings.Join(l.Article, " ")))
		if words < 200 || words > 320 || len(l.Terms) != 6 || len(l.Questions) != 3 {
			t.Errorf("lesson %d: %d words, %d terms, %d questions", i, words, len(l.Terms), len(l.Questions))
		}
	}
}
