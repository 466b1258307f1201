package lesson

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedLessons returns every shipped lesson and this package's fixtures.
func seedLessons(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "lessons", "*.md"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatal("no lessons in ../../lessons")
	}
	var seeds [][]byte
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, src)
	}
	for _, s := range []string{
		validLesson, brokenLesson, goodLesson("Seed", "2026-01-01"), goodLesson("Undated", ""),
		"---\ntitle: [unclosed\n---\nText.\n",
		"---\n- a\n---\nText.\n",
		"---\ntitle: x\n",
		"no front matter\n",
		"",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range seedLessons(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l, problems := Parse("f.md", "f", src)
		if (l != nil) != (Errors(problems) == 0) {
			t.Fatalf("lesson returned = %v with %d errors: %v", l != nil, Errors(problems), problems)
		}
		for _, p := range problems {
			if p.Line < 0 || p.Message == "" || strings.ContainsAny(p.Message, "\r\n") || p.Path != "f.md" {
				t.Errorf("bad problem %#v", p)
			}
		}
		if l != nil && (l.Title == "" || len(l.Article) == 0) {
			t.Errorf("valid lesson without title or article: %+v", l)
		}
	})
}

func FuzzImport(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "import", "*.txt"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no import fixtures: %v", err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("Title\n\n1. Not a list\n\n- not a list\n\n---\n\nWord: mot\n"))
	f.Add([]byte("Title\n\n&amp; <5% *x* #tag 3|2\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, rep, err := Import(src, ImportMeta{Level: "B1"})
		if err != nil {
			return
		}
		l, problems := Parse("f.md", "f", out)
		if Errors(problems) > 0 || l == nil {
			t.Fatalf("Parse of Import's output: %v\n%s", problems, out)
		}
		if l.Title != rep.Title || len(l.Article) != rep.Paragraphs || len(l.Terms) != rep.Terms {
			t.Errorf("lesson %q with %d paragraphs and %d terms; Import reported %q, %d, %d\n%s",
				l.Title, len(l.Article), len(l.Terms), rep.Title, rep.Paragraphs, rep.Terms, out)
		}
		// Escaping round-trips: every paragraph reads back as a line of
		// the source (spaces aside), or as a quote with the lines under it
		// (its speaker) joined by " — ".
		lines := map[string]bool{}
		for _, line := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
			lines[strings.Join(strings.Fields(strings.TrimPrefix(line, "\ufeff")), " ")] = true
		}
		for _, p := range l.Article {
			if !joinedLines(p, lines) {
				t.Errorf("paragraph %q is not in the source\n%s", p, out)
			}
		}
	})
}

// joinedLines reports whether p is a line, or lines joined by " — ".
func joinedLines(p string, lines map[string]bool) bool {
	if lines[p] {
		return true
	}
	const sep = " — "
	for i := strings.LastIndex(p, sep); i >= 0; i = strings.LastIndex(p[:i], sep) {
		if lines[p[i+len(sep):]] && joinedLines(p[:i], lines) {
			return true
		}
	}
	return false
}
