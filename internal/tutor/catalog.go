package tutor

import "fmt"

// key names one user-facing text of the message catalog.
type key string

// The catalog's keys. Every key has a text in every language of catalog;
// a test keeps it so.
const (
	keyLevel       key = "level"
	keyVocabulary  key = "vocabulary"
	keySource      key = "source"
	keyFullArticle key = "full_article"
)

// catalog holds every user-facing text, by language then key. Texts are
// fmt formats; they are plain text, escaped by the adapters.
var catalog = map[string]map[key]string{
	"en": {
		keyLevel:       "Level %s",
		keyVocabulary:  "Vocabulary",
		keySource:      "Source",
		keyFullArticle: "Full article",
	},
	"fr": {
		keyLevel:       "Niveau %s",
		keyVocabulary:  "Vocabulaire",
		keySource:      "Source",
		keyFullArticle: "Article complet",
	},
}

// Languages are the UI languages the catalog has, the first the default.
var Languages = []string{"en", "fr"}

// say returns the text of k in lang (English when lang is unknown), with
// args formatted into it.
func say(lang string, k key, args ...any) string {
	texts, ok := catalog[lang]
	if !ok {
		texts = catalog["en"]
	}
	if len(args) == 0 {
		return texts[k]
	}
	return fmt.Sprintf(texts[k], args...)
}
