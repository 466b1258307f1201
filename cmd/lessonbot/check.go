package main

import (
	"context"
	"fmt"

	"github.com/lessonbot/lessonbot/internal/lesson"
)

func runCheck(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "check", "[DIR]", "validate a lessons folder (default: the configured one); print each problem as path:line: message, and exit 1 if any is an error")
	pos, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(env.Stderr, "lessonbot check: want at most one folder, got %d arguments\n", len(pos))
		return exitUsage
	}
	cfg, ok := configFor(env, f)
	if !ok {
		return exitFailure
	}
	dir := cfg.Lessons
	if len(pos) == 1 {
		dir = pos[0]
	}
	res := loadLessons(dir)
	for _, p := range res.Problems {
		fmt.Fprintln(env.Stdout, p)
	}
	fmt.Fprintln(env.Stdout, res.Summary())
	if lesson.Errors(res.Problems) > 0 {
		return exitFailure
	}
	return exitOK
}
