package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/lessonbot/lessonbot/internal/store"
)

// dbCommand is one of lessonbot db's commands.
type dbCommand struct {
	name, summary string
	run           func(ctx context.Context, env Env, args []string) int
}

// dbCommands lists lessonbot db's commands, in the order help shows them.
func dbCommands() []dbCommand {
	return []dbCommand{
		{"check", "check the database's integrity, schema version and aggregates; exit 1 on any problem", runDBCheck},
	}
}

// runDB is lessonbot db: the database's own commands.
func runDB(ctx context.Context, env Env, args []string) int {
	cmds := dbCommands()
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	want := strings.Join(names, ", ")
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, "lessonbot db: want a command: %s\n", want)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(env.Stdout, "Usage: lessonbot db COMMAND [flags]\n\nThe database's own commands:")
		for _, c := range cmds {
			fmt.Fprintf(env.Stdout, "  %-8s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(env.Stdout, "\nFlags of every command:\n  -config FILE\n    \tread the configuration from FILE (default: ./config.yaml when it exists)\n\nlessonbot db COMMAND --help describes one command.")
		return exitOK
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "lessonbot db: unknown command %q (want %s)\n", args[0], want)
	return exitUsage
}

// runDBCheck is lessonbot db check: the database's integrity, its schema
// version, and its aggregates against a recount. It opens the database
// read-only, so it runs beside a lessonbot run.
func runDBCheck(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "db check", "", "check the database: SQLite's integrity check, the schema version, and every aggregate (scores, leaderboards, statistics) against a recount of the answers; exit 1 on any problem. It only reads, beside a running lessonbot")
	cfg, code, ok := f.noArgsConfig(env, args)
	if !ok {
		return code
	}
	st, err := store.OpenReadOnly(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db check: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	failed := false
	problem := func(format string, args ...any) {
		failed = true
		fmt.Fprintf(env.Stdout, "%s: "+format+"\n", append([]any{cfg.Database}, args...)...)
	}
	if err := st.IntegrityCheck(ctx); err != nil {
		problem("%v", err)
	}
	have, head, err := st.SchemaVersion(ctx)
	switch {
	case err != nil:
		problem("%v", err)
	case have > head:
		problem("schema version %d is newer than this lessonbot's %d: upgrade lessonbot", have, head)
	case have < head:
		problem("schema version %d, this lessonbot's is %d: lessonbot run upgrades it", have, head)
	}
	if err == nil && have == head {
		diffs, err := st.CheckAggregates(ctx)
		if err != nil {
			problem("%v", err)
		}
		for _, d := range diffs {
			problem("%s", d)
		}
	}
	if failed {
		return exitFailure
	}
	c, err := st.Count(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db check: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.Stdout, "%s: ok: integrity, schema version %d, aggregates agree with a recount; %s, %s, %s\n",
		cfg.Database, have, plural(c.Chats, "chat"), plural(c.Learners, "learner"), plural(c.Answers, "answer"))
	return exitOK
}
