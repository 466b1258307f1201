package export

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// wantCell is the CSV rule restated from the brief, independently of
// csvCell: valid UTF-8, CR and CRLF read back as LF, and a leading "'" on a
// cell that started with "=", "+", "-", "@", TAB, CR or NUL.
func wantCell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	guard := s != "" && strings.ContainsRune("=+-@\t\r\x00", rune(s[0]))
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if guard {
		s = "'" + s
	}
	return s
}

func FuzzExport(f *testing.F) {
	f.Add("unload", "décharger", "", "Six cranes unload ships.", "2026-05-02-cranes", "Cranes", "B1", "learning", "good", 3, 1, 4.5, 6.4, int64(1777680000))
	f.Add("=SUM(A1)", "+1", "-ness", "@x", "\tid", "\r\ntitle", "B 1", "to review", "\x00", 0, 0, 0.0, math.NaN(), int64(0))
	f.Add("a,b", `say "hi"`, "x\ny", "line\rbreak", "#id", "<b>&</b>", "", "", "", -1, -2, -3.0, math.Inf(1), int64(-62135596800))
	f.Add("caf\xe9", "\xff", "\r", "\u2028", "", "", "\t", "\"", "'", 1<<40, 0, 1e300, 1e-9, int64(1)<<40)
	f.Fuzz(func(t *testing.T, term, tr1, tr2, sentence, lessonID, title, level, state, last string,
		reviews, lapses int, stability, difficulty float64, added int64) {
		it := Item{
			Term:         term,
			Translations: []string{tr1, tr2},
			Sentence:     sentence,
			LessonID:     lessonID,
			LessonTitle:  title,
			Level:        level,
			State:        state,
			Added:        time.Unix(added, 0),
			Reviews:      reviews,
			Lapses:       lapses,
			Stability:    stability,
			Difficulty:   difficulty,
			LastResult:   last,
		}

		// CSV: every field reads back as written, after the guard.
		var cb bytes.Buffer
		if err := CSV(&cb, []Item{it}, paris); err != nil {
			t.Fatalf("CSV: %v", err)
		}
		recs, err := csv.NewReader(bytes.NewReader(cb.Bytes())).ReadAll()
		if err != nil {
			t.Fatalf("reading CSV back: %v\n%q", err, cb.String())
		}
		if len(recs) != 2 {
			t.Fatalf("read %d records, want 2", len(recs))
		}
		float := func(v float64) string {
			if v > 0 && !math.IsInf(v, 0) {
				return strconv.FormatFloat(v, 'f', 2, 64)
			}
			return ""
		}
		day := ""
		if !it.Added.IsZero() {
			day = it.Added.In(paris).Format("2006-01-02")
		}
		want := []string{
			term, tr1 + ", " + tr2, sentence, lessonID, title, level, state, day, "",
			strconv.Itoa(reviews), strconv.Itoa(lapses), float(stability), float(difficulty), last,
		}
		for i, w := range want {
			got := recs[1][i]
			if w = wantCell(w); got != w {
				t.Errorf("%s = %q, want %q", recs[0][i], got, w)
			}
			if got != "" && strings.ContainsRune("=+-@\t\r\x00", rune(got[0])) {
				t.Errorf("%s = %q starts with a formula character", recs[0][i], got)
			}
		}

		// Anki TSV: header, then one line of exactly four fields.
		var ab bytes.Buffer
		if err := AnkiTSV(&ab, []Item{it, it}); err != nil {
			t.Fatalf("AnkiTSV: %v", err)
		}
		out := ab.String()
		if !strings.HasPrefix(out, wantHeader) {
			t.Fatalf("header changed: %q", out)
		}
		if !utf8.ValidString(out) || strings.ContainsRune(out, '\r') {
			t.Fatalf("output is not LF-only UTF-8: %q", out)
		}
		lines := strings.Split(strings.TrimPrefix(out, wantHeader), "\n")
		if len(lines) != 3 || lines[2] != "" {
			t.Fatalf("want 2 note lines ending in LF, got %q", lines)
		}
		for _, l := range lines[:2] {
			fields := strings.Split(l, "\t")
			if len(fields) != 4 {
				t.Fatalf("note has %d fields, want 4: %q", len(fields), l)
			}
			if strings.HasPrefix(l, "#") {
				t.Errorf("note line reads as a comment: %q", l)
			}
			if strings.Contains(l, `"`) {
				t.Errorf("note line has a raw quote: %q", l)
			}
			if fields[2] != "lessonbot" {
				t.Errorf("deck = %q", fields[2])
			}
			if tags := strings.Fields(fields[3]); strings.Join(tags, " ") != fields[3] || len(tags) > 2 {
				t.Errorf("tags %q are not at most two single-space-separated tags", fields[3])
			}
		}
	})
}
