package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// logKeys are the attribute keys lessonbot's log lines may use. The first
// eight name the things an operator searches by, and every package uses
// them for those things (never "chat", "chatID" or "error"); the rest
// describe one event each. A new key belongs here after a look at whether
// one of these already says it.
var logKeys = []string{
	"platform", "chat_id", "update_id", "delivery_id", "lesson", "attempt", "retry_after", "err",
	"addr", "alert", "application_id", "budget", "channels", "claim", "command", "commit", "count", "deadline", "deliveries", "dir", "file", "gateway", "go", "guild",
	"handler", "holder", "in_service", "inbox", "items", "kind", "language", "lessons", "listen", "lease_ttl", "new_chat_id", "panic", "part",
	"platforms", "question", "role", "rows", "servers", "slot", "spec", "stack", "start", "subscription",
	"subscriptions", "summaries", "summary", "type", "unknown_messages", "user_id", "username", "value",
	"version", "waited", "where",
}

// TestLogKeys reads every log call in the program's source and checks that
// its keys come from logKeys, so that one thing has one name in the logs.
func TestLogKeys(t *testing.T) {
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, root := range []string{".", "../../internal"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				for _, key := range logCallKeys(call) {
					seen[key.Value] = true
					name, _ := strconv.Unquote(key.Value)
					if !slices.Contains(logKeys, name) {
						t.Errorf("%s: log key %s is not in logKeys", fset.Position(key.Pos()), key.Value)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 8 {
		t.Fatalf("found only %d log keys; is the source walk broken?", len(seen))
	}
}

// logCallKeys returns the string-literal keys of a call that looks like
// a slog call: log.Info(msg, k, v, ...) and its siblings, or
// log.With(k, v, ...).
func logCallKeys(call *ast.CallExpr) []*ast.BasicLit {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	first := 1
	switch sel.Sel.Name {
	case "Debug", "Info", "Warn", "Error":
	case "With":
		first = 0
	default:
		return nil
	}
	if first == 1 {
		if len(call.Args) == 0 {
			return nil
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); !ok || lit.Kind != token.STRING {
			if _, ok := call.Args[0].(*ast.BinaryExpr); !ok {
				return nil // not a log call: its message is not a string
			}
		}
	}
	var keys []*ast.BasicLit
	for i := first; i < len(call.Args); i += 2 {
		lit, ok := call.Args[i].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return keys
		}
		keys = append(keys, lit)
	}
	return keys
}
