// Package chattest holds what the tests of rendered messages share (the
// adapters' renderers, and lessonbot preview, which prints them): the
// messages they render, each text full of characters that mean something
// in one format or another, and the golden-file check.
package chattest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// update makes Golden rewrite the golden files: go test -update.
var update = flag.Bool("update", false, "rewrite golden files")

// Golden compares got with testdata/name.golden, or rewrites the file
// when the test runs with -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// LessonMessage is shaped like a lesson's daily post; every text holds
// characters that mean something in one format or another.
func LessonMessage() chat.Message {
	return chat.Message{
		Title:    `Fish & chips <shop> wins "best *small* business" prize`,
		Meta:     "Level B2 | 5_min read",
		URL:      "https://example.org/news/fish?id=7&page=<2>",
		URLLabel: `Source & "more"`,
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "Profits rose by <10% & costs fell by >3% at the `Harbour` shop, fans said [link](x) was *amazing* and __great__ (score 3|2).\n# not a heading\n> not a quote\n- not a list"},
			{Kind: chat.Text, Text: `"We fry everything twice," the owner said.`},
			{Kind: chat.Vocabulary, Label: "Vocabulary", Terms: []chat.Term{
				{Term: "fish & chips", Translations: []string{"poisson-frites", "fish and chips"}, Note: `served in paper "cones" <always>`},
				{Term: "*star*_dish", Translations: []string{"plat `vedette`"}, Note: "|| not a spoiler ||"},
				{Term: "[menu](x)", Translations: []string{"carte", "menu"}},
				{Term: "fry", Translations: []string{"frire"}},
			}},
		},
		Buttons: []chat.Button{{Label: "Full article", Data: "read:fish-prize"}},
	}
}

// PlainMessage has no title, level or link: paragraphs, a vocabulary and
// a button.
func PlainMessage() chat.Message {
	return chat.Message{
		Blocks: []chat.Block{
			{Kind: chat.Text, Text: "No title, no level, no link: just two paragraphs & a list."},
			{Kind: chat.Text, Text: ""},
			{Kind: chat.Text, Text: "The second one ends here."},
			{Kind: chat.Vocabulary, Label: "Words", Terms: []chat.Term{{Term: "paragraph", Translations: []string{"paragraphe"}}}},
		},
		Buttons: []chat.Button{{Label: "Next", Data: "next"}},
	}
}

// EmptyVocabularyMessage is a post whose vocabulary has no terms.
func EmptyVocabularyMessage() chat.Message {
	return chat.Message{
		Title:  "A post without words to learn",
		Meta:   "Level A2",
		Blocks: []chat.Block{{Kind: chat.Text, Text: "Nothing to translate today."}, {Kind: chat.Vocabulary, Label: "Vocabulary"}},
		URL:    "https://example.org/news/empty",
	}
}
