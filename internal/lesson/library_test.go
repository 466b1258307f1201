package lesson

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// goodLesson returns a valid lesson file with no warnings; date may be "".
// Its lines: 1 "---", 2 title, 3 level, [4 date,] then "---".
func goodLesson(title, date string) string {
	s := "---\ntitle: " + title + "\nlevel: A2\n"
	if date != "" {
		s += "date: " + date + "\n"
	}
	return s + `---
A new footbridge opened over the river on Monday, and the first cyclists
crossed it at dawn.

## Summary
The town opened a footbridge for walkers and cyclists.

## Vocabulary
- footbridge: passerelle
- cyclist: cycliste — someone who rides a bike
- dawn: aube, point du jour

## Quiz
1. Who crossed the footbridge first?
   - [x] Cyclists
   - [ ] Bus drivers
`
}

// brokenLesson has an error on line 3 and one on line 8, and a warning
// (no summary) on line 5.
const brokenLesson = `---
title: A broken lesson
level: Z9
---
Some text about a harbour.

## Vocabulary
- harbour without a colon
`

func TestLoad(t *testing.T) {
	type check struct {
		id  string
		err string
	}
	tests := []struct {
		name  string
		files map[string]string
		// checks fail for the lesson whose id is given.
		checks []check
		// ids are the lessons in the library, in delivery order.
		ids []string
		// problems are prefixes of the problems' text with the folder's
		// name removed, in order.
		problems []string
		files_   int
	}{
		{
			name: "OK",
			files: map[string]string{
				"bridge.md":     goodLesson("Bridge", "2026-01-05"),
				"sub/market.md": goodLesson("Market", "2026-01-06"),
			},
			ids:    []string{"bridge", "market"},
			files_: 2,
		},
		{
			name: "ErrBrokenFileKeepsOthers",
			files: map[string]string{
				"a-first.md":      goodLesson("First", "2026-01-01"),
				"b-broken.md":     brokenLesson,
				"c-third.md":      goodLesson("Third", "2026-01-03"),
				"d/e-bad-yaml.md": "---\ntitle: [unclosed\n---\nText.\n",
			},
			ids: []string{"a-first", "c-third"},
			problems: []string{
				`b-broken.md:3: bad level "Z9"`,
				`b-broken.md:5: warning: no summary`,
				`b-broken.md:8: vocabulary line without ":"`,
				`d/e-bad-yaml.md:2: invalid front matter`,
				`d/e-bad-yaml.md:4: warning: no summary`,
			},
			files_: 4,
		},
		{
			name: "ErrDuplicateID",
			files: map[string]string{
				"2026/strike.md": goodLesson("First strike", "2026-02-01"),
				"2027/strike.md": goodLesson("Second strike", "2027-02-01"),
				"other.md":       goodLesson("Other", "2026-03-01"),
			},
			ids:      []string{"strike", "other"},
			problems: []string{`2027/strike.md:1: duplicate id "strike": ` + filepath.Join("DIR", "2026", "strike.md") + " has the same file name"},
			files_:   3,
		},
		{
			name: "ErrDuplicateIDOfBrokenFile",
			files: map[string]string{
				"a/strike.md": brokenLesson,
				"b/strike.md": goodLesson("Strike", "2026-02-01"),
			},
			problems: []string{
				`a/strike.md:3: bad level`,
				`a/strike.md:5: warning: no summary`,
				`a/strike.md:8: vocabulary line without ":"`,
				`b/strike.md:1: duplicate id "strike": ` + filepath.Join("DIR", "a", "strike.md") + " has the same file name",
			},
			files_: 2,
		},
		{
			name: "OKSkipsNonLessons",
			files: map[string]string{
				"lesson.md":           goodLesson("Lesson", ""),
				"README.md":           "# About these lessons\n",
				"sub/readme.md":       "not a lesson",
				".hidden/secret.md":   brokenLesson,
				".draft.md":           brokenLesson,
				"_drafts/wip.md":      brokenLesson,
				"_wip.md":             brokenLesson,
				"notes.txt":           brokenLesson,
				"picture.png":         "\x89PNG",
				"sub/deeper/more.md":  goodLesson("More", ""),
				"sub/lesson.markdown": brokenLesson,
			},
			ids:    []string{"lesson", "more"},
			files_: 2,
		},
		{
			name: "OKDeliveryOrder",
			files: map[string]string{
				"z-early.md":       goodLesson("Early", "2025-12-31"),
				"b-same-day.md":    goodLesson("Same day B", "2026-01-10"),
				"a-same-day.md":    goodLesson("Same day A", "2026-01-10"),
				"m-later.md":       goodLesson("Later", "2026-06-01"),
				"undated-b.md":     goodLesson("Undated B", ""),
				"sub/undated-a.md": goodLesson("Undated A", ""),
				"0-undated.md":     goodLesson("Undated 0", ""),
			},
			ids:    []string{"z-early", "a-same-day", "b-same-day", "m-later", "0-undated", "undated-a", "undated-b"},
			files_: 7,
		},
		{
			name: "ErrCheck",
			files: map[string]string{
				"long.md":  goodLesson("Long", "2026-01-01"),
				"short.md": goodLesson("Short", "2026-01-02"),
			},
			checks:   []check{{"long", "the post is too long"}, {"long", "the title is too long"}},
			ids:      []string{"short"},
			problems: []string{"long.md:1: the post is too long", "long.md:1: the title is too long"},
			files_:   2,
		},
		{
			name: "ErrCheckJoinedErrorsOnOneLine",
			files: map[string]string{
				"long.md": goodLesson("Long", "2026-01-01"),
			},
			checks:   []check{{"long", "first limit\nsecond limit"}},
			problems: []string{"long.md:1: first limit; second limit"},
			files_:   1,
		},
		{
			name: "ErrCheckAfterWarnings",
			files: map[string]string{
				"warned.md": strings.Replace(goodLesson("Warned", ""), "level: A2\n", "", 1),
			},
			checks: []check{{"warned", "does not fit"}},
			// The check's problem on line 1 sorts with the file's others.
			problems: []string{"warned.md:1: warning: no level", "warned.md:1: does not fit"},
			files_:   1,
		},
		{
			name:   "OKEmptyFolder",
			files:  map[string]string{},
			files_: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []Check
			for _, c := range tt.checks {
				checks = append(checks, func(l *Lesson) []error {
					if l.ID != c.id {
						return nil
					}
					var errs []error
					for _, msg := range strings.Split(c.err, "\x00") {
						errs = append(errs, errors.New(msg))
					}
					return errs
				})
			}
			assert := func(t *testing.T, dir string, res Result) {
				t.Helper()
				if res.Files != tt.files_ {
					t.Errorf("Files = %d, want %d", res.Files, tt.files_)
				}
				var ids []string
				for _, l := range res.Library.Lessons() {
					ids = append(ids, l.ID)
					if got, ok := res.Library.Lookup(l.ID); !ok || got != l {
						t.Errorf("Lookup(%q) = %v, %v", l.ID, got, ok)
					}
				}
				if fmt.Sprint(ids) != fmt.Sprint(tt.ids) || res.Library.Len() != len(tt.ids) {
					t.Errorf("library = %v, want %v", ids, tt.ids)
				}
				var got []string
				for _, p := range res.Problems {
					s := p.String()
					rest, ok := strings.CutPrefix(s, dir+string(filepath.Separator))
					if !ok {
						t.Errorf("problem %q does not start with the folder %q", s, dir)
					}
					got = append(got, strings.ReplaceAll(rest, dir, "DIR"))
				}
				if len(got) != len(tt.problems) {
					t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.problems, "\n"))
				}
				for i := range got {
					if !strings.HasPrefix(got[i], filepath.FromSlash(tt.problems[i])) {
						t.Errorf("problem %d = %q, want %q…", i, got[i], tt.problems[i])
					}
					if strings.Contains(res.Problems[i].Message, "\n") {
						t.Errorf("problem %d has a newline: %q", i, res.Problems[i].Message)
					}
				}
			}
			t.Run("Load", func(t *testing.T) {
				fsys := fstest.MapFS{}
				for name, src := range tt.files {
					fsys[name] = &fstest.MapFile{Data: []byte(src)}
				}
				assert(t, "DIR", Load(fsys, "DIR", checks...))
			})
			t.Run("LoadDir", func(t *testing.T) {
				dir := t.TempDir()
				for name, src := range tt.files {
					path := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				assert(t, dir, LoadDir(dir, checks...))
			})
		})
	}
}

func TestLoadDirMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-folder")
	res := LoadDir(dir)
	if len(res.Problems) != 1 {
		t.Fatalf("problems = %v, want one", res.Problems)
	}
	p := res.Problems[0]
	if p.Path != dir || p.Line != 0 || p.Warning || !strings.Contains(p.Message, "cannot read the lessons folder") {
		t.Errorf("problem = %+v", p)
	}
	if res.Library == nil || res.Library.Len() != 0 || res.Files != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestLoadDirUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"ok.md": goodLesson("OK", ""), "locked.md": goodLesson("Locked", "")} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "locked.md"), 0); err != nil {
		t.Fatal(err)
	}
	res := LoadDir(dir)
	if res.Library.Len() != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), "locked.md: cannot read") {
		t.Errorf("library %d lessons, problems %v", res.Library.Len(), res.Problems)
	}
}

func TestLoadedLessonFields(t *testing.T) {
	fsys := fstest.MapFS{"sub/bridge.md": {Data: []byte(goodLesson("Bridge", "2026-01-05"))}}
	res := Load(fsys, "lessons")
	l, ok := res.Library.Lookup("bridge")
	if !ok {
		t.Fatalf("problems: %v", res.Problems)
	}
	if l.Path != filepath.Join("lessons", "sub", "bridge.md") || l.Title != "Bridge" || !l.Date.Equal(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("lesson = %+v", l)
	}
	if _, ok := res.Library.Lookup("nope"); ok {
		t.Error("Lookup of a missing id succeeded")
	}
}

func TestCloze(t *testing.T) {
	article := []string{
		"Dock workers voted on Sunday. The strike had halted most container traffic for three weeks.",
		"Officials ruled out new talks. \"We will return on Monday,\" a worker said.",
	}
	tests := []struct {
		name, term, want string
		found            bool
	}{
		{"OKInflected", "halt", "The strike had " + Blank + " most container traffic for three weeks.", true},
		{"OKPhrase", "rule out", "Officials " + Blank + " new talks.", true},
		{"OKCase", "dock workers", Blank + " voted on Sunday.", true},
		{"NotFound", "pay offer", "", false},
		{"Empty", "  ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := Cloze(article, tt.term)
			if got != tt.want || found != tt.found {
				t.Errorf("Cloze(%q) = %q, %v; want %q, %v", tt.term, got, found, tt.want, tt.found)
			}
		})
	}
}
