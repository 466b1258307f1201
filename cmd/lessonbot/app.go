package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lessonbot/lessonbot/internal/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Env is what a run of the program sees of the outside world, so tests can
// run it in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, env Env, args []string) int
}

func commands() []command {
	return []command{
		{"chat", "[--now TIME]", "chat with the tutor in this terminal, with no token", runChat},
		{"run", "", "serve the Telegram and Discord bots and deliver the daily lessons", runRun},
		{"check", "[DIR]", "validate a lessons folder; print each problem as path:line: message", runCheck},
		{"preview", "ID [--as telegram|discord|text]", "print a lesson's daily post as each platform gets it", runPreview},
		{"import", "FILE [-o OUT]", "turn a plain-text news article with a glossary into a lesson file", runImport},
		{"db", "check|backup FILE|restore FILE", "check the database, back it up, or restore a backup", runDB},
		{"version", "", "print the version, commit and Go version of this build", runVersion},
		{"health", "[--url URL]", "probe the admin listener's /livez; exit 0 when it answers 200 (for HEALTHCHECKs)", runHealth},
		{"dashboard-link", "[ADMIN]", "print a single-use sign-in link to the admin dashboard", runDashboardLink},
	}
}

const usageHead = `lessonbot delivers a daily reading lesson from the news to Telegram and
Discord chats, with vocabulary and a quiz.

Usage:
  lessonbot COMMAND [flags] [arguments]

Commands:
`

const usageTail = `
Every command takes --config FILE; without it, config.yaml in the current
directory is read when it exists, else the built-in defaults are used.
Run "lessonbot COMMAND --help" for a command's flags.
`

func usage(w io.Writer) {
	fmt.Fprint(w, usageHead)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %-34s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprint(w, usageTail)
}

// Main runs lessonbot with the given arguments (without the program name)
// and returns its exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(env.Stdout)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, env, args[1:])
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "lessonbot: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return exitUsage
}

// flags is a subcommand's flag set with the --config flag every command
// takes.
type flags struct {
	*flag.FlagSet
	configPath *string
}

func newFlags(env Env, name, args, summary string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f := flags{FlagSet: fs, configPath: fs.String("config", "", "read the configuration from `FILE` (default: ./config.yaml when it exists)")}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lessonbot %s %s\n\n%s.\n\nFlags:\n", name, args, strings.ToUpper(summary[:1])+summary[1:])
		fs.PrintDefaults()
	}
	return f
}

// parse reads flags placed before, between or after the positional
// arguments ("preview ID --as text") and returns the positional ones.
// It returns done when the command should exit with code.
func (f flags) parse(env Env, args []string) (positional []string, code int, done bool) {
	f.SetOutput(io.Discard)
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.SetOutput(env.Stdout)
				f.Usage()
				return nil, exitOK, true
			}
			fmt.Fprintf(env.Stderr, "lessonbot %s: %v\n", f.Name(), err)
			f.SetOutput(env.Stderr)
			f.Usage()
			return nil, exitUsage, true
		}
		args = f.Args()
		if len(args) == 0 {
			return positional, 0, false
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), 0, false
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// noArgsConfig parses the flags of a command that takes no arguments and
// loads its configuration; when ok is false the command exits with code.
func (f flags) noArgsConfig(env Env, args []string) (cfg config.Config, code int, ok bool) {
	pos, code, done := f.parse(env, args)
	if done {
		return cfg, code, false
	}
	if len(pos) != 0 {
		fmt.Fprintf(env.Stderr, "lessonbot %s: takes no arguments, got %q\n", f.Name(), pos)
		return cfg, exitUsage, false
	}
	if cfg, ok = configFor(env, f); !ok {
		return cfg, exitFailure, false
	}
	return cfg, exitOK, true
}

// loadConfig reads the configuration named by --config, or ./config.yaml
// when it exists, or the defaults; then applies the environment.
func loadConfig(env Env, path string) (config.Config, error) {
	cfg := config.Default()
	data, err := os.ReadFile(orDefault(path, "config.yaml"))
	switch {
	case err == nil:
		cfg, err = config.Parse(data, orDefault(path, "config.yaml"))
		if err != nil {
			return cfg, err
		}
	case path != "" || !errors.Is(err, os.ErrNotExist):
		return cfg, fmt.Errorf("read config: %w", err)
	}
	cfg.ApplyEnv(env.Getenv)
	return cfg, cfg.Validate()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// configFor loads the configuration for a command, printing the error.
func configFor(env Env, f flags) (config.Config, bool) {
	cfg, err := loadConfig(env, *f.configPath)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lessonbot: %v\n", err)
		return cfg, false
	}
	return cfg, true
}

// plural writes "1 lesson" or "2 lessons".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
