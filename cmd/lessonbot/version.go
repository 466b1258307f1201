package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// runVersion is lessonbot version (and lessonbot --version): the version,
// commit and Go version of this build.
func runVersion(ctx context.Context, env Env, args []string) int {
	f := newFlags(env, "version", "", "print the version, commit and Go version of this build")
	positional, code, done := f.parse(env, args)
	if done {
		return code
	}
	if len(positional) > 0 {
		fmt.Fprintf(env.Stderr, "lessonbot version: takes no arguments, got %q\n", positional[0])
		return exitUsage
	}
	fmt.Fprintln(env.Stdout, currentBuild())
	return exitOK
}

// build is what the Go toolchain recorded about this binary.
type build struct {
	// Version is the module version, "(devel)" for a build from a work
	// tree.
	Version string
	// Revision is the commit, with "-dirty" when the tree had changes;
	// "unknown" when the build recorded none (go run, go test).
	Revision string
	// GoVersion is the toolchain that built it, such as "go1.26.8".
	GoVersion string
}

// currentBuild reads the build information of the running binary.
func currentBuild() build {
	b := build{Version: "(devel)", Revision: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Revision != "unknown" {
		b.Revision += "-dirty"
	}
	return b
}

// String is the line lessonbot version prints.
func (b build) String() string {
	return fmt.Sprintf("lessonbot %s (commit %s, %s)", b.Version, b.Revision, b.GoVersion)
}
