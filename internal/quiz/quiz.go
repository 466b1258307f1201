// Package quiz makes the questions of a lesson: the authored ones and
// questions generated from its vocabulary, each with a stable key and a
// choice order that is the same for every chat, so an answer pressed in
// one chat today can be graded against the same question tomorrow.
package quiz

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lessonbot/lessonbot/internal/lesson"
)

// Kind says where a question comes from; the tutor words generated
// prompts in the chat's language.
type Kind int

const (
	// Authored questions are written in the lesson's Quiz section; Text is
	// the prompt.
	Authored Kind = iota
	// Meaning asks "What does <Term> mean?": choices are translations, in
	// the lesson's gloss language.
	Meaning
	// Reverse asks "Which word means <Translation>?": choices are terms, in
	// the lesson's article language.
	Reverse
	// Recall asks which translation fits a term in its sentence from the
	// article (see Reviews): choices are translations.
	Recall
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Authored:
		return "authored"
	case Meaning:
		return "meaning"
	case Reverse:
		return "reverse"
	case Recall:
		return "recall"
	}
	return "unknown"
}

// Question is one question as every chat sees it.
type Question struct {
	// Key identifies the question across edits of the rest of its lesson:
	// the lesson id, ":", and HashLen lower-case hex characters of a
	// SHA-256 of what identifies the question (its text when authored,
	// its kind and term when generated).
	Key string
	// LessonID is the id of the question's lesson.
	LessonID string
	// Kind says where the question comes from.
	Kind Kind
	// Text is the question when Authored, the term when Meaning, and the
	// translation asked about when Reverse.
	Text string
	// Choices are shown in this order, which is already shuffled. They are
	// plain text: adapters escape them.
	Choices []string
	// Correct is the index of the right answer in Choices.
	Correct int
	// Explanation is the lesson's explanation of an authored question; ""
	// for generated ones.
	Explanation string
	// Note is the term's note for a generated question, if any.
	Note string
	// Term is the vocabulary term a generated question is about, as the
	// lesson writes it; "" for an authored question. A learner who misses
	// the question gets that term to review.
	Term string
}

// HashLen is the number of hex characters after the ":" of a key. With
// ids of at most lesson.MaxIDLength bytes a key is at most 49 bytes, so
// button data such as "a:<key>:<choice>" fits Telegram's 64.
const HashLen = 8

// MaxKeyLength is the longest key of a lesson with a valid id.
const MaxKeyLength = lesson.MaxIDLength + 1 + HashLen

// generatedChoices is the most choices a generated question has: the
// answer and three distractors.
const generatedChoices = 4

// Questions returns up to n questions for l: its authored questions first
// (in file order), then generated ones alternating Meaning and Reverse
// over the lesson's terms in file order (the first term Meaning, the
// second Reverse, ...). The kind goes by the term's position, so a term
// skipped for want of distractors does not change the kind of the others.
// lib supplies distractors and may be nil. A question whose key another
// question of the lesson already has is skipped, as is a generated one
// with no distractor.
func Questions(l *lesson.Lesson, lib *lesson.Library, n int) []Question {
	if l == nil || n <= 0 {
		return nil
	}
	var out []Question
	seen := map[string]bool{}
	add := func(q Question) bool {
		if seen[q.Key] {
			return false
		}
		seen[q.Key] = true
		out = append(out, q)
		return len(out) >= n
	}
	for _, aq := range l.Questions {
		q, ok := authored(l.ID, aq)
		if ok && add(q) {
			return out
		}
	}
	if len(l.Terms) == 0 {
		return out
	}
	p := newPools(l, lib)
	for i, t := range l.Terms {
		var q Question
		var ok bool
		if i%2 == 0 {
			q, ok = p.meaning(l.ID, t)
		} else {
			q, ok = p.reverse(l.ID, t)
		}
		if ok && add(q) {
			return out
		}
	}
	return out
}

// Reviews returns the review question of each of the lesson's terms, in
// file order: which of four translations is the term's (the first it
// has), the others drawn from the lesson and the library as for Meaning
// questions. Its key is its own ("review" and the term), so a review and a
// quiz question never share an answer. Like every question here, it is the
// same for every learner and every day, so a press is graded against the
// choices shown. A term with no translation, or no distractor, has none.
func Reviews(l *lesson.Lesson, lib *lesson.Library) []Question {
	if l == nil || len(l.Terms) == 0 {
		return nil
	}
	p := newPools(l, lib)
	var out []Question
	seen := map[string]bool{}
	for _, t := range l.Terms {
		if len(t.Translations) == 0 {
			continue
		}
		answer := strings.TrimSpace(t.Translations[0])
		key := makeKey(l.ID, "review\x00"+norm(t.Term))
		if seen[key] {
			continue
		}
		exclude := map[string]bool{}
		for _, tr := range t.Translations {
			exclude[norm(tr)] = true
		}
		for _, tr := range p.meanings[norm(t.Term)] {
			exclude[tr] = true
		}
		if q, ok := generated(key, l.ID, Recall, t.Term, answer, t.Note, p.translations, exclude); ok {
			q.Term = t.Term
			seen[key] = true
			out = append(out, q)
		}
	}
	return out
}

// Find returns the question with the given key among Questions(l, lib,
// n): a pressed answer is graded against it. n must be the number the
// questions were asked with.
func Find(l *lesson.Lesson, lib *lesson.Library, n int, key string) (Question, bool) {
	if l == nil || !strings.HasPrefix(key, l.ID+":") {
		return Question{}, false
	}
	for _, q := range Questions(l, lib, n) {
		if q.Key == key {
			return q, true
		}
	}
	return Question{}, false
}

// LessonIDOf returns the lesson id part of a key (before the last ":"),
// and whether the key is well-formed: a valid lesson id, ":", and HashLen
// lower-case hex characters. Keys come back in button data, which clients
// can forge.
func LessonIDOf(key string) (string, bool) {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return "", false
	}
	id, hash := key[:i], key[i+1:]
	if !lesson.ValidID(id) || len(hash) != HashLen {
		return "", false
	}
	for j := 0; j < len(hash); j++ {
		if c := hash[j]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return id, true
}

// makeKey hashes what identifies a question.
func makeKey(lessonID, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return lessonID + ":" + hex.EncodeToString(sum[:HashLen/2])
}

// norm is the form in which two answers count as the same.
func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func authored(lessonID string, aq lesson.Question) (Question, bool) {
	correct := aq.Correct()
	if aq.Text == "" || correct < 0 || len(aq.Choices) < 2 {
		return Question{}, false
	}
	choices := make([]string, len(aq.Choices))
	for i, c := range aq.Choices {
		choices[i] = c.Text
	}
	q := Question{
		Key:         makeKey(lessonID, aq.Text),
		LessonID:    lessonID,
		Kind:        Authored,
		Text:        aq.Text,
		Explanation: aq.Explanation,
	}
	q.Choices, q.Correct = shuffle(q.Key, choices, correct)
	return q, true
}

// pools are the distractors the library offers one lesson, gathered once
// per call. An answer may appear several times, from several terms or in
// several cases; pick shows one of them once.
type pools struct {
	// translations: first translations of terms whose lesson has the
	// lesson's gloss language.
	translations []candidate
	// terms: terms of lessons in the lesson's article language.
	terms []candidate
	// meanings: every translation (normal form) of those terms of
	// same-gloss lessons that are also terms of the lesson, so a
	// distractor is never another right answer.
	meanings map[string][]string
	// wordsFor: the terms (normal form) of same-language lessons that
	// translate as one of the lesson's first translations (normal form).
	wordsFor map[string][]string
	// askedTerms and askedFirst are the normal forms of the lesson's terms
	// and first translations: only those need meanings and wordsFor.
	askedTerms, askedFirst map[string]bool
}

// candidate is a possible distractor: its text and its normal form.
type candidate struct{ form, text string }

// newPools gathers distractors from l and the other lessons of lib. l is
// used rather than lib's lesson with its id, which may be older.
func newPools(l *lesson.Lesson, lib *lesson.Library) *pools {
	p := &pools{
		meanings:   map[string][]string{},
		wordsFor:   map[string][]string{},
		askedTerms: map[string]bool{},
		askedFirst: map[string]bool{},
	}
	for _, t := range l.Terms {
		p.askedTerms[norm(t.Term)] = true
		if len(t.Translations) > 0 {
			p.askedFirst[norm(t.Translations[0])] = true
		}
	}
	p.addLesson(l, l)
	if lib != nil {
		for _, o := range lib.Lessons() {
			if o.ID != l.ID {
				p.addLesson(l, o)
			}
		}
	}
	return p
}

func (p *pools) addLesson(l, o *lesson.Lesson) {
	sameGloss, sameLanguage := o.Gloss == l.Gloss, o.Language == l.Language
	if !sameGloss && !sameLanguage {
		return
	}
	for _, t := range o.Terms {
		term := norm(t.Term)
		if term == "" || len(t.Translations) == 0 {
			continue
		}
		if sameGloss {
			p.translations = appendCandidate(p.translations, t.Translations[0])
			if p.askedTerms[term] {
				for _, tr := range t.Translations {
					p.meanings[term] = append(p.meanings[term], norm(tr))
				}
			}
		}
		if sameLanguage {
			p.terms = appendCandidate(p.terms, t.Term)
			for _, tr := range t.Translations {
				if tr := norm(tr); p.askedFirst[tr] {
					p.wordsFor[tr] = append(p.wordsFor[tr], term)
				}
			}
		}
	}
}

// appendCandidate adds s unless it is empty or too long for a button.
func appendCandidate(cs []candidate, s string) []candidate {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > lesson.MaxChoiceText && utf8.RuneCountInString(s) > lesson.MaxChoiceText {
		return cs
	}
	return append(cs, candidate{norm(s), s})
}

// meaning asks for the translation of t among other terms' translations.
func (p *pools) meaning(lessonID string, t lesson.Term) (Question, bool) {
	if len(t.Translations) == 0 {
		return Question{}, false
	}
	answer := strings.TrimSpace(t.Translations[0])
	key := makeKey(lessonID, "meaning\x00"+norm(t.Term))
	exclude := map[string]bool{}
	for _, tr := range t.Translations {
		exclude[norm(tr)] = true
	}
	for _, tr := range p.meanings[norm(t.Term)] {
		exclude[tr] = true
	}
	q, ok := generated(key, lessonID, Meaning, t.Term, answer, t.Note, p.translations, exclude)
	q.Term = t.Term
	return q, ok
}

// reverse asks which term translates as t's first translation.
func (p *pools) reverse(lessonID string, t lesson.Term) (Question, bool) {
	if len(t.Translations) == 0 {
		return Question{}, false
	}
	asked := strings.TrimSpace(t.Translations[0])
	key := makeKey(lessonID, "reverse\x00"+norm(t.Term))
	exclude := map[string]bool{norm(t.Term): true}
	for _, w := range p.wordsFor[norm(asked)] {
		exclude[w] = true
	}
	q, ok := generated(key, lessonID, Reverse, asked, strings.TrimSpace(t.Term), t.Note, p.terms, exclude)
	q.Term = t.Term
	return q, ok
}

// generated makes a question whose answer is joined by up to three
// distractors from pool, none of them in exclude.
func generated(key, lessonID string, kind Kind, text, answer, note string, pool []candidate, exclude map[string]bool) (Question, bool) {
	if answer == "" || utf8.RuneCountInString(answer) > lesson.MaxChoiceText {
		return Question{}, false
	}
	distractors := pick(key, pool, exclude)
	if len(distractors) == 0 {
		return Question{}, false
	}
	q := Question{Key: key, LessonID: lessonID, Kind: kind, Text: text, Note: note}
	q.Choices, q.Correct = shuffle(key, append([]string{answer}, distractors...), 0)
	return q, true
}

// pick chooses up to three distinct answers of pool that are not
// excluded, by rendezvous hashing: each is scored by a hash of the key and
// its normal form, and the lowest scores win; of the texts of one form,
// the smallest is shown. So the choice does not depend on the order of the
// library, and a lesson added to it changes a question's distractors only
// when one of its words scores lower.
func pick(key string, pool []candidate, exclude map[string]bool) []string {
	type scored struct {
		score uint64
		candidate
	}
	less := func(a, b scored) bool {
		return a.score < b.score || a.score == b.score && a.form < b.form
	}
	seed := hashString(fnvOffset, key)
	var best [generatedChoices - 1]scored
	n := 0
next:
	for _, c := range pool {
		if exclude[c.form] {
			continue
		}
		s := scored{mix(hashString(seed, c.form)), c}
		for i := range n {
			if best[i].form == c.form {
				best[i].text = min(best[i].text, c.text)
				continue next
			}
		}
		if n == len(best) {
			if !less(s, best[n-1]) {
				continue
			}
			n--
		}
		i := n
		for ; i > 0 && less(s, best[i-1]); i-- {
			best[i] = best[i-1]
		}
		best[i] = s
		n++
	}
	out := make([]string, n)
	for i := range n {
		out[i] = best[i].text
	}
	return out
}

// FNV-1a, written out so scoring allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashString continues an FNV-1a hash h with s and a 0 byte, so that
// "ab"+"c" and "a"+"bc" differ.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h * fnvPrime
}

// mix is splitmix64's finalizer: FNV's low bits mix poorly.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// shuffle returns choices in an order seeded from the key and the new
// index of the correct one. It is a Fisher–Yates shuffle over PCG, whose
// output is fixed by its algorithm, rather than rand.Shuffle, so the order
// stays the same across Go releases and answers stored by index keep
// their meaning.
func shuffle(key string, choices []string, correct int) ([]string, int) {
	sum := sha256.Sum256([]byte(key))
	r := rand.NewPCG(binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16]))
	out := slices.Clone(choices)
	for i := len(out) - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		out[i], out[j] = out[j], out[i]
		switch correct {
		case i:
			correct = j
		case j:
			correct = i
		}
	}
	return out, correct
}
