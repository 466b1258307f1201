package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat/chattest"
)

// testToken stands for a bot token; no output may ever contain it.
const testToken = "123456:SECRET-token-never-printed"

// result is what one in-process run of the program printed.
type result struct {
	code           int
	stdout, stderr string
}

// run calls Main with the given arguments and an environment whose only
// variable is the Telegram token.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(name string) string {
			if name == "TELEGRAM_BOT_TOKEN" {
				return testToken
			}
			return ""
		},
	}
	code := Main(context.Background(), args, env)
	r := result{code, stdout.String(), stderr.String()}
	if strings.Contains(r.stdout+r.stderr, testToken) || strings.Contains(r.stdout+r.stderr, "SECRET") {
		t.Errorf("lessonbot %q printed the bot token:\n%s%s", args, r.stdout, r.stderr)
	}
	return r
}

// writeFiles writes files (by slash-separated name) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeConfig writes a config file naming the lessons folder and returns
// its path.
func writeConfig(t *testing.T, lessons string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFiles(t, filepath.Dir(path), map[string]string{"config.yaml": "# test configuration\nlessons: " + lessons + "\n"})
	return path
}

// markupLesson is a valid lesson whose texts need escaping in every format.
const markupLesson = `---
title: Fish & chips <shop> wins the "best *small* business" prize
level: B2
date: 2026-05-04
source: https://example.org/news/fish?id=7&page=2
---
The Harbour Fry in Wexley won a national prize on Friday. Its owner said
profits rose by <10% & costs fell, and fans tagged photos of the shop
with #best_chips and "5|5" scores.

## Summary
The Harbour Fry won a prize: profits rose by <10% & fans rated it "5|5"
under #best_chips, with \*crispy\* chips and __fresh__ fish.

## Vocabulary
- prize: prix, récompense — also "award" <formal>
- profit: bénéfice
- rise: augmenter — past tense *rose*, not _raised_
- tag: identifier | étiqueter

## Quiz
1. What did the shop win?
   - [x] A national prize
   - [ ] A football match
`

func goodLesson(title string) string {
	return `---
title: ` + title + `
level: A2
---
A new footbridge opened over the river on Monday.

## Summary
The town opened a footbridge.

## Vocabulary
- footbridge: passerelle
`
}

func TestCheck(t *testing.T) {
	t.Run("OKShippedLessons", func(t *testing.T) {
		r := run(t, "check", "--config", writeConfig(t, "nowhere"), filepath.Join("..", "..", "lessons"))
		if r.code != exitOK || !strings.HasSuffix(r.stdout, " lessons, 0 errors, 0 warnings\n") || r.stdout != lastLine(r.stdout)+"\n" {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("OKConfiguredFolder", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"bridge.md": goodLesson("Bridge")})
		r := run(t, "check", "--config", writeConfig(t, dir))
		if r.code != exitOK || r.stdout != "1 lesson, 0 errors, 0 warnings\n" {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ErrBrokenLessons", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"good.md": goodLesson("Good"),
			"broken.md": `---
title: Broken
level: Z9
---
Some text about a harbour.

## Vocabulary
- harbour without a colon
`,
			"sub/good.md": goodLesson("Good again"),
			// A summary too long for Telegram and, in two ways, for Discord.
			"long.md": strings.Replace(goodLesson("Long"), "The town opened a footbridge.", strings.Repeat("The town opened a footbridge. ", 210), 1),
		})
		r := run(t, "check", "--config", writeConfig(t, "nowhere"), dir)
		if r.code != exitFailure {
			t.Errorf("exit %d, want %d", r.code, exitFailure)
		}
		p := func(name string) string { return regexp.QuoteMeta(filepath.Join(dir, filepath.FromSlash(name))) }
		want := []string{
			p("broken.md") + `:3: bad level "Z9"`,
			p("broken.md") + `:5: warning: no summary`,
			p("broken.md") + `:8: vocabulary line without ":"`,
			// Each platform's problems once, for the first language that breaks them.
			p("long.md") + `:1: the Telegram post is 6\d{3} characters \(at most 4096\).*\(with the en interface\)$`,
			p("long.md") + `:1: the Discord embed's description \(the summary\) is 6\d{3} characters \(at most 4096\) \(with the en interface\)$`,
			p("long.md") + `:1: the Discord embed's text in all is 6\d{3} characters \(at most 6000\) \(with the en interface\)$`,
			p("sub/good.md") + `:1: duplicate id "good": ` + p("good.md") + ` has the same file name$`,
			`^4 lessons, 6 errors, 1 warning$`,
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != len(want) {
			t.Fatalf("stdout has %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
		}
		for i, w := range want {
			if !regexp.MustCompile("^" + strings.TrimPrefix(w, "^")).MatchString(lines[i]) {
				t.Errorf("line %d = %q\nwant match %q", i+1, lines[i], w)
			}
		}
	})
	t.Run("ErrMissingFolder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "missing")
		r := run(t, "check", "--config", writeConfig(t, "nowhere"), dir)
		if r.code != exitFailure || !strings.HasPrefix(r.stdout, dir+": cannot read the lessons folder") || lastLine(r.stdout) != "0 lessons, 1 error, 0 warnings" {
			t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
	t.Run("ErrTwoFolders", func(t *testing.T) {
		r := run(t, "check", "--config", writeConfig(t, "nowhere"), "a", "b")
		if r.code != exitUsage {
			t.Errorf("exit %d, want %d", r.code, exitUsage)
		}
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"ErrUnknownCommand", []string{"frobnicate"}, exitUsage},
		{"ErrNoCommand", nil, exitUsage},
		{"ErrUnknownFlag", []string{"check", "--no-such-flag"}, exitUsage},
		{"ErrUnknownFormat", []string{"preview", "x", "--as", "pdf"}, exitUsage},
		{"ErrPreviewWithoutID", []string{"preview"}, exitUsage},
		{"ErrImportWithoutFile", []string{"import"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args...)
			if r.code != tt.code || r.stderr == "" {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	// flagsOf lists every flag of each command; a command missing here is
	// still asked for --help and must name --config.
	flagsOf := map[string][]string{
		"check":   {"-config"},
		"preview": {"-config", "-as", "-language"},
		"import":  {"-config", "-o", "-force", "-level", "-date", "-source"},
	}
	t.Run("OKTopLevel", func(t *testing.T) {
		for _, arg := range []string{"--help", "-h", "help"} {
			r := run(t, arg)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("%s: exit %d, stderr:\n%s", arg, r.code, r.stderr)
			}
			for _, c := range commands() {
				if !strings.Contains(r.stdout, "  "+c.name+" ") {
					t.Errorf("%s does not list command %q:\n%s", arg, c.name, r.stdout)
				}
			}
			for _, f := range []string{"--config", "--help"} {
				if !strings.Contains(r.stdout, f) {
					t.Errorf("%s does not mention %s:\n%s", arg, f, r.stdout)
				}
			}
		}
	})
	for _, c := range commands() {
		t.Run("OK"+strings.ToUpper(c.name[:1])+c.name[1:], func(t *testing.T) {
			want, known := flagsOf[c.name]
			if !known {
				want = []string{"-config"}
			}
			for _, arg := range []string{"--help", "-h"} {
				r := run(t, c.name, arg)
				// Help is asked for: it goes to stdout, once.
				if r.code != exitOK || r.stderr != "" {
					t.Errorf("%s %s: exit %d, stderr:\n%s", c.name, arg, r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, "lessonbot "+c.name) {
					t.Errorf("%s %s: no usage line:\n%s", c.name, arg, r.stdout)
				}
				for _, f := range want {
					if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(f) + `\b`).MatchString(r.stdout) {
						t.Errorf("%s %s does not describe %s:\n%s", c.name, arg, f, r.stdout)
					}
				}
			}
		})
	}
}

func TestPreview(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"units/fish-prize.md": markupLesson, "bridge.md": goodLesson("Bridge"), "broken.md": "no front matter\n"})
	cfg := writeConfig(t, dir)
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"OKTelegram", []string{"preview", "fish-prize", "--as", "telegram"}, "preview-telegram"},
		{"OKDiscord", []string{"preview", "--as", "discord", "fish-prize"}, "preview-discord"},
		{"OKText", []string{"preview", "fish-prize", "--as", "text"}, "preview-text"},
		{"OKAllFrench", []string{"preview", "fish-prize", "--language", "fr"}, "preview-all-fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, append(tt.args, "--config", cfg)...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			chattest.Golden(t, tt.golden, r.stdout)
		})
	}
	t.Run("ErrUnknownID", func(t *testing.T) {
		r := run(t, "preview", "no-such-lesson", "--config", cfg)
		if r.code != exitFailure || !strings.Contains(r.stderr, `no valid lesson "no-such-lesson"`) || r.stdout != "" {
			t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ErrBrokenID", func(t *testing.T) {
		r := run(t, "preview", "broken", "--config", cfg)
		if r.code != exitFailure || !strings.Contains(r.stderr, filepath.Join(dir, "broken.md")+":1: missing front matter") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("ErrUnknownLanguage", func(t *testing.T) {
		r := run(t, "preview", "bridge", "--language", "de", "--config", cfg)
		if r.code != exitUsage {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
}

func TestImport(t *testing.T) {
	fixture := filepath.Join("..", "..", "internal", "lesson", "testdata", "import", "special-chars.txt")
	lessons := t.TempDir()
	cfg := writeConfig(t, lessons)
	out := filepath.Join(lessons, "rd-budget.md")

	r := run(t, "import", fixture, "-o", out, "--level", "B2", "--date", "2026-03-02", "--source", "https://example.org/news/rd", "--config", cfg)
	if r.code != exitOK || r.stdout != "" {
		t.Fatalf("import: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{`import: title "Brenner & Cole doubles its R&D budget after a strong year"; 3 paragraphs; 2 terms`, "import: dropped", "import: wrote " + out} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OKCheckAccepts", func(t *testing.T) {
		r := run(t, "check", "--config", cfg)
		if r.code != exitOK || r.stdout != "1 lesson, 0 errors, 0 warnings\n" {
			t.Errorf("check: exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		r := run(t, "import", fixture, "-o", out, "--config", cfg)
		if r.code != exitFailure || !strings.Contains(r.stderr, "exists; use --force") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if now, _ := os.ReadFile(out); !bytes.Equal(now, first) {
			t.Error("the file changed without --force")
		}
	})
	t.Run("OKForce", func(t *testing.T) {
		r := run(t, "import", fixture, "-o", out, "--force", "--config", cfg)
		if r.code != exitOK {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if now, _ := os.ReadFile(out); bytes.Equal(now, first) || !bytes.Contains(now, []byte("title: Brenner & Cole")) {
			t.Errorf("the file was not rewritten without level and date:\n%s", now)
		}
	})
	t.Run("OKStdout", func(t *testing.T) {
		r := run(t, "import", fixture, "--config", cfg)
		if r.code != exitOK || !strings.HasPrefix(r.stdout, "---\ntitle: Brenner & Cole") {
			t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
	t.Run("ErrBadLevel", func(t *testing.T) {
		r := run(t, "import", fixture, "--level", "Z1", "--config", cfg)
		if r.code != exitFailure || !strings.Contains(r.stderr, `bad level "Z1"`) || r.stdout != "" {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("ErrBadOutputName", func(t *testing.T) {
		r := run(t, "import", fixture, "-o", filepath.Join(lessons, "Bad Name.md"), "--config", cfg)
		if r.code != exitUsage {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		r := run(t, "import", filepath.Join(lessons, "missing.txt"), "--config", cfg)
		if r.code != exitFailure {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		writeFiles(t, dir, map[string]string{name: src})
		return filepath.Join(dir, name)
	}
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"ErrUnknownKey", write("unknown.yaml", "lessons: "+dir+"\nlessonz_folder: x\n"), `unknown key "lessonz_folder"`},
		{"ErrUnknownNestedKey", write("nested.yaml", "telegram:\n  tokn: abc\n"), `unknown key "telegram.tokn"`},
		{"ErrBadValue", write("bad.yaml", "timezone: Mars/Olympus\n"), "timezone"},
		{"ErrBadAPIURLWithToken", write("url.yaml", "telegram:\n  token: "+testToken+"\n  api_url: \"not a url "+testToken+"\"\n"), "telegram.api_url"},
		{"ErrMissingFile", filepath.Join(dir, "missing.yaml"), "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{{"check", dir}, {"preview", "x"}} {
				r := run(t, append(args, "--config", tt.config)...)
				if r.code != exitFailure || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, want %d and %q in stderr:\n%s", args[0], r.code, exitFailure, tt.want, r.stderr)
				}
			}
		})
	}
}
