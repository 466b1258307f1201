package tutor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fmtVerb matches one fmt verb with its flags, width and precision; "%%"
// is removed before matching.
var fmtVerb = regexp.MustCompile(`%[-+# 0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?([a-zA-Z])`)

// verbClasses returns, in order, what each fmt verb of s takes: "int" for
// %d, "string" for %s, %q and %v.
func verbClasses(s string) []string {
	var out []string
	for _, m := range fmtVerb.FindAllStringSubmatch(strings.ReplaceAll(s, "%%", ""), -1) {
		switch m[1] {
		case "d":
			out = append(out, "int")
		case "s", "q", "v":
			out = append(out, "string")
		default:
			out = append(out, "%"+m[1])
		}
	}
	return out
}

// declaredKeys returns the values of the key constants declared in
// catalog.go, read from its source so that a key declared but given no
// text in any language is caught too.
func declaredKeys(t *testing.T) []key {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "catalog.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []key
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "key" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("key constant with a value that is not a string literal: %T", v)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, key(s))
			}
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d key constants in catalog.go", len(keys))
	}
	return keys
}

// TestCatalogBothLanguages checks that the catalog has exactly the
// languages of Languages, the same keys in each, every declared key, no
// empty text, and texts that take the same arguments in every language.
func TestCatalogBothLanguages(t *testing.T) {
	var langs []string
	for lang := range catalog {
		langs = append(langs, lang)
	}
	slices.Sort(langs)
	if want := slices.Sorted(slices.Values(Languages)); !slices.Equal(langs, want) {
		t.Fatalf("catalog languages %v, Languages %v", langs, want)
	}
	for _, k := range declaredKeys(t) {
		for _, lang := range langs {
			if _, ok := catalog[lang][k]; !ok {
				t.Errorf("%s: declared key %q has no text", lang, k)
			}
		}
	}
	en := catalog["en"]
	for _, lang := range langs {
		texts := catalog[lang]
		t.Run(lang, func(t *testing.T) {
			if len(texts) != len(en) {
				t.Errorf("%d keys, English has %d", len(texts), len(en))
			}
			for k, text := range texts {
				if _, ok := en[k]; !ok {
					t.Errorf("key %q is not in English", k)
				}
				if strings.TrimSpace(text) == "" {
					t.Errorf("key %q: empty text", k)
				}
				if !utf8.ValidString(text) || text != strings.TrimSpace(text) {
					t.Errorf("key %q: invalid UTF-8 or surrounding space: %q", k, text)
				}
				got, want := verbClasses(text), verbClasses(en[k])
				if len(got) != len(want) {
					t.Errorf("key %q: %d fmt verbs, English has %d: %q", k, len(got), len(want), text)
				} else if !slices.Equal(got, want) {
					t.Errorf("key %q: verbs take %v, English's take %v", k, got, want)
				}
				for _, c := range got {
					if strings.HasPrefix(c, "%") {
						t.Errorf("key %q: unexpected verb %s", k, c)
					}
				}
			}
			for k := range en {
				if _, ok := texts[k]; !ok {
					t.Errorf("key %q is missing", k)
				}
			}
		})
	}
}

// TestCommandsDescribed checks that every command offered to the platforms
// has a description in every language, fit for Telegram's setMyCommands
// and Discord's slash commands (at most 100 characters).
func TestCommandsDescribed(t *testing.T) {
	h := newHarness(t)
	want := []string{"help", "subscribe", "unsubscribe", "pause", "resume", "settings", "time", "timezone", "days",
		"level", "language", "lesson", "read", "quiz", "score", "leaderboard", "review", "summary", "export",
		"deletemydata", "stats", "reload", "preview", "dashboard"}
	manage := map[string]bool{"subscribe": true, "unsubscribe": true, "pause": true, "resume": true, "time": true,
		"timezone": true, "days": true, "level": true, "language": true, "summary": true}
	admin := map[string]bool{"stats": true, "reload": true, "preview": true, "dashboard": true}
	private := map[string]bool{"review": true, "export": true, "deletemydata": true}
	var names []string
	for _, c := range h.tutor.Commands() {
		names = append(names, c.Name)
		t.Run(c.Name, func(t *testing.T) {
			if c.Manage != manage[c.Name] || c.Admin != admin[c.Name] || c.Private != private[c.Name] {
				t.Errorf("manage %v admin %v private %v, want %v %v %v", c.Manage, c.Admin, c.Private,
					manage[c.Name], admin[c.Name], private[c.Name])
			}
			if len(c.Description) != len(Languages) {
				t.Errorf("descriptions %v, want one per language %v", c.Description, Languages)
			}
			for _, lang := range Languages {
				d := c.Description[lang]
				switch n := utf8.RuneCountInString(d); {
				case strings.TrimSpace(d) == "":
					t.Errorf("%s: no description", lang)
				case n > 100:
					t.Errorf("%s: description of %d characters: %q", lang, n, d)
				case strings.HasPrefix(d, "/") || d != strings.TrimSpace(d):
					t.Errorf("%s: description %q still holds the usage", lang, d)
				}
			}
			if c.Description["en"] == c.Description["fr"] {
				t.Errorf("the same description in English and French: %q", c.Description["en"])
			}
		})
	}
	if !slices.Equal(names, want) {
		t.Errorf("commands %v, want %v", names, want)
	}
	// Every command the tutor answers is offered, /start aside.
	for _, spec := range h.tutor.commands() {
		if spec.name != "start" && !slices.Contains(names, spec.name) {
			t.Errorf("command %s is not offered", spec.name)
		}
		for _, lang := range Languages {
			if help := say(lang, spec.help); !strings.HasPrefix(help, "/"+spec.name) && !(spec.name == "start" && strings.HasPrefix(help, "/help")) {
				t.Errorf("%s: help of /%s reads %q", lang, spec.name, help)
			}
		}
	}
}
