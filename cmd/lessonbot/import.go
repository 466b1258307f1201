package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lessonbot/lessonbot/internal/lesson"
)

func runImport(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "import", "FILE [-o OUT]", "turn a plain-text news article (title on the first line, paragraphs, a glossary of \"Term: translation\" lines, then any page chrome) into a lesson file, and tell on stderr what was found and dropped")
	out := f.String("o", "", "write the lesson to `OUT` (a .md file in the lessons folder) instead of standard output")
	force := f.Bool("force", false, "overwrite OUT when it exists")
	var meta lesson.ImportMeta
	f.StringVar(&meta.Level, "level", "", "the lesson's `level`: A1, A2, B1, B2, C1 or C2")
	f.StringVar(&meta.Date, "date", "", "the lesson's `date`, YYYY-MM-DD, which orders delivery")
	f.StringVar(&meta.Source, "source", "", "the `URL` of the original article")
	pos, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "lessonbot import: want one file, such as: lessonbot import article.txt -o lessons/port-strike.md")
		return exitUsage
	}
	id := "imported"
	if *out != "" {
		id = strings.TrimSuffix(filepath.Base(*out), ".md")
		if filepath.Ext(*out) != ".md" || !lesson.ValidID(id) {
			fmt.Fprintf(env.Stderr, "lessonbot import: %s: want a file name of lower-case letters, digits and - ending in .md, such as port-strike.md\n", *out)
			return exitUsage
		}
	}
	src, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot import: %v\n", err)
		return exitFailure
	}
	lessonFile, rep, err := lesson.Import(src, meta)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot import: %s: %v\n", pos[0], err)
		return exitFailure
	}
	fmt.Fprintf(env.Stderr, "import: title %q; %s; %s\n", rep.Title, plural(rep.Paragraphs, "paragraph"), plural(rep.Terms, "term"))
	for _, n := range rep.Notes {
		fmt.Fprintf(env.Stderr, "import: %s\n", n)
	}
	name := orDefault(*out, id+".md")
	_, problems := lesson.Parse(name, id, lessonFile)
	for _, p := range problems {
		fmt.Fprintln(env.Stderr, p)
	}
	if *out == "" {
		env.Stdout.Write(lessonFile)
		return exitOK
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	file, err := os.OpenFile(*out, flag, 0o644)
	if errors.Is(err, os.ErrExist) {
		fmt.Fprintf(env.Stderr, "lessonbot import: %s exists; use --force to overwrite it\n", *out)
		return exitFailure
	}
	if err == nil {
		_, err = file.Write(lessonFile)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot import: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.Stderr, "import: wrote %s\n", *out)
	return exitOK
}
