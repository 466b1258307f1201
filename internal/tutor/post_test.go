package tutor

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
)

// verbPattern matches a fmt verb, "%%" aside.
var verbPattern = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[a-zA-Z]`)

func TestCatalogComplete(t *testing.T) {
	var langs []string
	all := map[key]bool{}
	for lang, texts := range catalog {
		langs = append(langs, lang)
		for k := range texts {
			all[k] = true
		}
	}
	slices.Sort(langs)
	want := slices.Clone(Languages)
	slices.Sort(want)
	if !slices.Equal(langs, want) {
		t.Errorf("catalog languages %v, Languages %v", langs, Languages)
	}
	if len(Languages) == 0 || Languages[0] != "en" {
		t.Errorf("Languages = %v, want English first (the default)", Languages)
	}
	// The keys used in this file, so the test means something even if
	// every language lost the same key.
	for _, k := range []key{keyLevel, keyVocabulary, keySource, keyFullArticle} {
		all[k] = true
	}
	for lang, texts := range catalog {
		t.Run(lang, func(t *testing.T) {
			for k := range all {
				text, ok := texts[k]
				if !ok {
					t.Errorf("missing key %q", k)
					continue
				}
				if strings.TrimSpace(text) == "" {
					t.Errorf("key %q has an empty text", k)
				}
				// A translation takes the same arguments as English.
				got := len(verbPattern.FindAllString(strings.ReplaceAll(text, "%%", ""), -1))
				want := len(verbPattern.FindAllString(strings.ReplaceAll(catalog["en"][k], "%%", ""), -1))
				if got != want {
					t.Errorf("key %q has %d fmt verbs, English has %d", k, got, want)
				}
			}
			// No extra key: every key of this language is in every other.
			for k := range texts {
				for other, otherTexts := range catalog {
					if _, ok := otherTexts[k]; !ok {
						t.Errorf("extra key %q: not in %q", k, other)
					}
				}
			}
		})
	}
}

func TestSay(t *testing.T) {
	tests := []struct {
		name, lang string
		k          key
		args       []any
		want       string
	}{
		{"English", "en", keyVocabulary, nil, "Vocabulary"},
		{"French", "fr", keyVocabulary, nil, "Vocabulaire"},
		{"WithArgs", "fr", keyLevel, []any{"B1"}, "Niveau B1"},
		{"UnknownLanguageIsEnglish", "de", keyLevel, []any{"C2"}, "Level C2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := say(tt.lang, tt.k, tt.args...); got != tt.want {
				t.Errorf("say = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLessonPost(t *testing.T) {
	full := &lesson.Lesson{
		ID: "harbour-fish", Title: "Harbour café wins a prize", Level: "B2",
		Source:  "https://example.org/news/harbour",
		Summary: "A small café by the harbour won a national prize for its fish soup.",
		Terms: []lesson.Term{
			{Term: "harbour", Translations: []string{"port"}, Line: 12},
			{Term: "prize", Translations: []string{"prix", "récompense"}, Note: "also 'award'", Line: 13},
		},
		Article: []string{"Unused by the post."},
	}
	bare := &lesson.Lesson{ID: "bare", Title: "Bare lesson", Summary: "Only a summary."}
	tests := []struct {
		name   string
		lesson *lesson.Lesson
		lang   string
		want   chat.Message
	}{
		{"English", full, "en", chat.Message{
			Title: "Harbour café wins a prize", URL: "https://example.org/news/harbour", URLLabel: "Source", Meta: "Level B2",
			Blocks: []chat.Block{
				{Kind: chat.Text, Text: "A small café by the harbour won a national prize for its fish soup."},
				{Kind: chat.Vocabulary, Label: "Vocabulary", Terms: []chat.Term{
					{Term: "harbour", Translations: []string{"port"}},
					{Term: "prize", Translations: []string{"prix", "récompense"}, Note: "also 'award'"},
				}},
			},
			Buttons: []chat.Button{{Label: "Full article", Data: "read:harbour-fish"}},
		}},
		{"French", full, "fr", chat.Message{
			Title: "Harbour café wins a prize", URL: "https://example.org/news/harbour", URLLabel: "Source", Meta: "Niveau B2",
			Blocks: []chat.Block{
				{Kind: chat.Text, Text: "A small café by the harbour won a national prize for its fish soup."},
				{Kind: chat.Vocabulary, Label: "Vocabulaire", Terms: []chat.Term{
					{Term: "harbour", Translations: []string{"port"}},
					{Term: "prize", Translations: []string{"prix", "récompense"}, Note: "also 'award'"},
				}},
			},
			Buttons: []chat.Button{{Label: "Article complet", Data: "read:harbour-fish"}},
		}},
		{"NoSourceLevelOrTerms", bare, "fr", chat.Message{
			Title:   "Bare lesson",
			Blocks:  []chat.Block{{Kind: chat.Text, Text: "Only a summary."}},
			Buttons: []chat.Button{{Label: "Article complet", Data: "read:bare"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LessonPost(tt.lesson, tt.lang)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LessonPost:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLessonPostButtonDataFits(t *testing.T) {
	id := strings.Repeat("a", lesson.MaxIDLength)
	m := LessonPost(&lesson.Lesson{ID: id, Title: "T", Summary: "S"}, "en")
	if len(m.Buttons) != 1 {
		t.Fatalf("buttons = %+v", m.Buttons)
	}
	if d := m.Buttons[0].Data; d != ReadButtonPrefix+id || len(d) > chat.MaxButtonData {
		t.Errorf("button data %q (%d bytes, at most %d)", d, len(d), chat.MaxButtonData)
	}
}
