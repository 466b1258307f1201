package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/lessonbot/lessonbot/internal/backup"
	"github.com/lessonbot/lessonbot/internal/config"
	"github.com/lessonbot/lessonbot/internal/store"
)

// dbCommand is one of lessonbot db's commands.
type dbCommand struct {
	name, args, summary string
	run                 func(ctx context.Context, env Env, args []string) int
}

// dbCommands lists lessonbot db's commands, in the order help shows them.
func dbCommands() []dbCommand {
	return []dbCommand{
		{"migrate", "", "bring the database's schema up to date (instances started together migrate once)", runDBMigrate},
		{"check", "", "check the database's integrity, schema version and aggregates; exit 1 on any problem", runDBCheck},
		{"backup", "FILE [--force]", "write a consistent copy of the database to FILE, also while lessonbot run serves", runDBBackup},
		{"restore", "FILE", "replace the database with the backup FILE, keeping the old one as DATABASE.before-restore", runDBRestore},
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
			fmt.Fprintf(env.Stdout, "  %-8s %-15s %s\n", c.name, c.args, c.summary)
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

// runDBMigrate is lessonbot db migrate: the schema brought up to date, as
// lessonbot run does at start. On PostgreSQL the migrations run in one
// transaction under an advisory lock, so that of several instances started
// together one migrates and the others find the schema at head.
func runDBMigrate(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "db migrate", "", "bring the database's schema up to date, as lessonbot run does at start, and print its version: on PostgreSQL under a lock, so that instances started together migrate once. It creates a SQLite database that does not exist")
	cfg, code, ok := f.noArgsConfig(env, args)
	if !ok {
		return code
	}
	name := databaseName(cfg)
	before := 0
	if ro, err := store.OpenReadOnly(ctx, cfg.Database); err == nil {
		before, _, err = ro.SchemaVersion(ctx)
		ro.Close()
		if err != nil {
			fmt.Fprintf(env.Stderr, "lessonbot db migrate: %v\n", err)
			return exitFailure
		}
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db migrate: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	have, _, err := st.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db migrate: %v\n", err)
		return exitFailure
	}
	if have == before {
		fmt.Fprintf(env.Stdout, "%s: schema version %d, up to date\n", name, have)
	} else {
		fmt.Fprintf(env.Stdout, "%s: schema version %d, migrated from %d\n", name, have, before)
	}
	return exitOK
}

// databaseName names the database in messages: its path, or its
// PostgreSQL URL without the password.
func databaseName(cfg config.Config) string { return cfg.Redacted().Database }

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
	name := databaseName(cfg)
	problem := func(format string, args ...any) {
		failed = true
		fmt.Fprintf(env.Stdout, "%s: "+format+"\n", append([]any{name}, args...)...)
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
		name, have, plural(c.Chats, "chat"), plural(c.Learners, "learner"), plural(c.Answers, "answer"))
	return exitOK
}

// runDBBackup is lessonbot db backup: a copy of the database, made while
// a lessonbot run may go on reading and writing it. It opens the database
// read-only, without its lock, as db check does.
func runDBBackup(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "db backup", "FILE [--force]", "write a consistent copy of the database to FILE, also while lessonbot run serves and writes; check the copy with SQLite's integrity check and print its size and its counts of chats, learners and answers. The copy is written to a temporary file beside FILE and renamed when it is checked")
	force := f.Bool("force", false, "overwrite FILE when it exists")
	file, cfg, code, ok := f.fileAndConfig(env, args)
	if !ok {
		return code
	}
	st, err := store.OpenReadOnly(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db backup: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	info, err := st.Backup(ctx, file, *force)
	if errors.Is(err, fs.ErrExist) {
		fmt.Fprintf(env.Stderr, "lessonbot db backup: %s exists; use --force to overwrite it\n", file)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db backup: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(env.Stdout, "%s: %s, integrity ok, schema version %d; %s, %s, %s\n", info.Path, byteSize(info.Size), info.Version,
		plural(info.Counts.Chats, "chat"), plural(info.Counts.Learners, "learner"), plural(info.Counts.Answers, "answer"))
	return exitOK
}

// runDBRestore is lessonbot db restore: the backup FILE becomes the
// database. It holds the database's lock throughout, so that no lessonbot
// run starts in the middle, and refuses while one runs.
func runDBRestore(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "db restore", "FILE", "replace the database with the backup FILE: check that FILE is a lessonbot database this lessonbot knows and that it passes SQLite's integrity check, copy it in, and bring its schema up to date. The database it replaces is kept beside it as DATABASE.before-restore (with .2, .3... when that name is taken), together with its -wal and -shm. FILE is only read. It refuses while a lessonbot run uses the database")
	file, cfg, code, ok := f.fileAndConfig(env, args)
	if !ok {
		return code
	}
	res, err := store.Restore(ctx, cfg.Database, file)
	var locked *store.LockedError
	if errors.As(err, &locked) {
		pid := ""
		if locked.PID > 0 {
			pid = fmt.Sprintf(" (pid %d)", locked.PID)
		}
		fmt.Fprintf(env.Stderr, "lessonbot db restore: a lessonbot run%s is using the database %s: stop it first\n", pid, databaseName(cfg))
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot db restore: %v\n", err)
		return exitFailure
	}
	if res.Before != "" {
		fmt.Fprintf(env.Stdout, "kept the replaced database as %s\n", res.Before)
	} else {
		fmt.Fprintf(env.Stdout, "no database at %s: restoring creates it\n", cfg.Database)
	}
	r := res.Restored
	version := fmt.Sprintf("schema version %d", r.Version)
	if res.FromVersion != r.Version {
		version = fmt.Sprintf("schema version %d, upgraded from %d", r.Version, res.FromVersion)
	}
	fmt.Fprintf(env.Stdout, "restored %s into %s: %s, integrity ok, %s; %s, %s, %s\n", file, r.Path, byteSize(r.Size), version,
		plural(r.Counts.Chats, "chat"), plural(r.Counts.Learners, "learner"), plural(r.Counts.Answers, "answer"))
	return exitOK
}

// byteSize writes a file size for people: bytes below 1 KiB, else KiB,
// MiB or GiB with one decimal.
func byteSize(n int64) string {
	if n < 1024 {
		return plural(int(n), "byte")
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// backupOptions are the settings of run's periodic backups (db.backup_every,
// db.backup_keep, db.backup_dir).
func backupOptions(cfg config.Config, log *slog.Logger) backup.Options {
	return backup.Options{Dir: cfg.BackupFolder(), Every: cfg.BackupInterval(), Keep: cfg.DB.BackupKeep, Log: log}
}

// fileAndConfig parses the flags of a db command that takes one FILE
// (backup, restore) and loads the configuration; when ok is false the
// command exits with code.
func (f flags) fileAndConfig(env Env, args []string) (file string, cfg config.Config, code int, ok bool) {
	pos, code, done := f.parse(env, args)
	if done {
		return "", cfg, code, false
	}
	if len(pos) != 1 {
		fmt.Fprintf(env.Stderr, "lessonbot %s: want one file, such as: lessonbot %s /var/backups/lessonbot.db\n", f.Name(), f.Name())
		return "", cfg, exitUsage, false
	}
	if cfg, ok = configFor(env, f); !ok {
		return "", cfg, exitFailure, false
	}
	return pos[0], cfg, exitOK, true
}
