package export

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// wantHeader is the Anki header block, spelled out byte for byte.
const wantHeader = "#separator:tab\n#html:true\n#notetype:Basic\n#deck column:3\n#tags column:4\n#columns:Front\tBack\tDeck\tTags\n"

// paris stands in for a learner's zone (UTC+1 in winter) without needing
// the system's tz database.
var paris = time.FixedZone("CET", 3600)

// cranes is an ordinary item with every field set.
func cranes() Item {
	return Item{
		Term:         "unload",
		Translations: []string{"décharger"},
		Sentence:     "Six cranes now unload the ships at night.",
		LessonID:     "2026-05-02-harbour-cranes",
		LessonTitle:  "Harbour buys electric cranes",
		Level:        "B1",
		State:        "learning",
		Added:        time.Date(2026, 5, 1, 23, 30, 0, 0, time.UTC), // 2 May in Paris
		Due:          time.Date(2026, 5, 9, 8, 0, 0, 0, time.UTC),
		Reviews:      3,
		Lapses:       1,
		Stability:    4.567,
		Difficulty:   6.4133,
		LastResult:   "good",
	}
}

// with returns cranes changed by f.
func with(f func(*Item)) Item {
	it := cranes()
	f(&it)
	return it
}

func anki(t *testing.T, items []Item) string {
	t.Helper()
	var b bytes.Buffer
	if err := AnkiTSV(&b, items); err != nil {
		t.Fatalf("AnkiTSV: %v", err)
	}
	return b.String()
}

func csvOut(t *testing.T, items []Item) string {
	t.Helper()
	var b bytes.Buffer
	if err := CSV(&b, items, paris); err != nil {
		t.Fatalf("CSV: %v", err)
	}
	return b.String()
}

// parseTSV reads an Anki export the way its importer does for this file:
// lines split on LF, "#" lines skipped, fields split on TAB. It fails the
// test unless every note line has four fields.
func parseTSV(t *testing.T, s string) [][]string {
	t.Helper()
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("output does not end with LF: %q", s)
	}
	var notes [][]string
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("line has %d fields, want 4: %q", len(f), line)
		}
		notes = append(notes, f)
	}
	return notes
}

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("reading CSV back: %v\n%s", err, s)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvHeader()) {
		t.Fatalf("CSV header = %q, want %q", recs, csvHeader())
	}
	return recs[1:]
}

func TestAnkiTSV(t *testing.T) {
	tests := []struct {
		name  string
		items []Item
		want  []string // note lines after the header, without LF
	}{
		{
			name:  "OK",
			items: []Item{cranes()},
			want: []string{
				"<b>unload</b><br>Six cranes now unload the ships at night.<br><small>2026-05-02-harbour-cranes</small>\t" +
					"décharger<br><i>Harbour buys electric cranes</i>\tlessonbot\tB1 learning",
			},
		},
		{
			name: "TranslationsJoinedWithComma",
			items: []Item{with(func(it *Item) {
				it.Term, it.Translations = "rule out", []string{"écarter", "exclure"}
			})},
			want: []string{
				"<b>rule out</b><br>Six cranes now unload the ships at night.<br><small>2026-05-02-harbour-cranes</small>\t" +
					"écarter, exclure<br><i>Harbour buys electric cranes</i>\tlessonbot\tB1 learning",
			},
		},
		{
			name: "HTMLEscaped",
			items: []Item{{
				Term:         `<i>&`,
				Translations: []string{`"guillemets"`, "a<b"},
				Sentence:     `He wrote "<script>" & left.`,
				LessonID:     "x>y",
				LessonTitle:  "Tom & Jerry",
				State:        "new",
			}},
			want: []string{
				"<b>&lt;i&gt;&amp;</b><br>He wrote &quot;&lt;script&gt;&quot; &amp; left.<br><small>x&gt;y</small>\t" +
					"&quot;guillemets&quot;, a&lt;b<br><i>Tom &amp; Jerry</i>\tlessonbot\tnew",
			},
		},
		{
			name: "TabsAndLineBreaksBecomeSpaces",
			items: []Item{{
				Term:         "a\tb",
				Translations: []string{"un\ndeux"},
				Sentence:     "one\r\ntwo\rthree\nfour",
				LessonID:     "l1",
				LessonTitle:  "T\title",
				State:        "new",
			}},
			want: []string{
				"<b>a b</b><br>one  two three four<br><small>l1</small>\tun deux<br><i>T itle</i>\tlessonbot\tnew",
			},
		},
		{
			name:  "EmptyLevelOmittedFromTags",
			items: []Item{with(func(it *Item) { it.Level, it.State = "", "known" })},
			want: []string{
				"<b>unload</b><br>Six cranes now unload the ships at night.<br><small>2026-05-02-harbour-cranes</small>\t" +
					"décharger<br><i>Harbour buys electric cranes</i>\tlessonbot\tknown",
			},
		},
		{
			name:  "SpacesInTagsBecomeUnderscores",
			items: []Item{with(func(it *Item) { it.Level, it.State = "B1 plus", "to\treview\"" })},
			want: []string{
				"<b>unload</b><br>Six cranes now unload the ships at night.<br><small>2026-05-02-harbour-cranes</small>\t" +
					"décharger<br><i>Harbour buys electric cranes</i>\tlessonbot\tB1_plus to_review_",
			},
		},
		{
			name: "FormulaLikeTermsKeptAsIs",
			items: []Item{
				{Term: "-ness", Translations: []string{"-ité"}, LessonID: "l1", State: "new"},
				{Term: "=SUM(A1)", Translations: []string{"+1"}, LessonID: "l1", State: "new"},
			},
			want: []string{
				"<b>-ness</b><br><small>l1</small>\t-ité\tlessonbot\tnew",
				"<b>=SUM(A1)</b><br><small>l1</small>\t+1\tlessonbot\tnew",
			},
		},
		{
			name: "MissingPartsLeaveNoDanglingBreaks",
			items: []Item{
				{Term: "bare"},
				{Term: "titled", LessonTitle: "Only a title"},
			},
			want: []string{
				"<b>bare</b>\t\tlessonbot\t",
				"<b>titled</b>\t<i>Only a title</i>\tlessonbot\t",
			},
		},
		{
			name:  "NoItemsGivesHeaderOnly",
			items: nil,
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := anki(t, tt.items)
			want := wantHeader
			for _, l := range tt.want {
				want += l + "\n"
			}
			if got != want {
				t.Errorf("AnkiTSV =\n%q\nwant\n%q", got, want)
			}
			if n := len(parseTSV(t, got)); n != len(tt.items) {
				t.Errorf("parsed %d notes, want %d", n, len(tt.items))
			}
		})
	}
}

func TestAnkiTSVHeader(t *testing.T) {
	t.Run("ExactBytes", func(t *testing.T) {
		got := anki(t, []Item{cranes()})
		if !strings.HasPrefix(got, wantHeader) {
			t.Fatalf("header =\n%q\nwant\n%q", got[:min(len(got), len(wantHeader))], wantHeader)
		}
	})
	t.Run("UTF8WithoutBOMOrCR", func(t *testing.T) {
		got := anki(t, []Item{cranes()})
		if strings.HasPrefix(got, "\uFEFF") {
			t.Error("output starts with a BOM")
		}
		if strings.Contains(got, "\r") {
			t.Error("output contains CR")
		}
		if !utf8.ValidString(got) {
			t.Error("output is not valid UTF-8")
		}
	})
	t.Run("InvalidUTF8Replaced", func(t *testing.T) {
		got := anki(t, []Item{{Term: "caf\xe9", LessonID: "l\xff", State: "n\xfe"}})
		if !utf8.ValidString(got) {
			t.Errorf("output is not valid UTF-8: %q", got)
		}
	})
}

func TestAnkiTSVParsesBack(t *testing.T) {
	items := []Item{
		cranes(),
		with(func(it *Item) {
			it.LessonID, it.LessonTitle, it.Level = "2026-06-10-river-ferry", "A ferry & its crew", ""
			it.Sentence, it.State = "Workers unload\tthe ferry.", "known"
		}),
		{Term: "fumes", Translations: []string{"émanations", "fumées"}, LessonID: "2026-05-02-harbour-cranes", State: "new"},
	}
	want := [][]string{
		{
			"<b>unload</b><br>Six cranes now unload the ships at night.<br><small>2026-05-02-harbour-cranes</small>",
			"décharger<br><i>Harbour buys electric cranes</i>", "lessonbot", "B1 learning",
		},
		{
			"<b>unload</b><br>Workers unload the ferry.<br><small>2026-06-10-river-ferry</small>",
			"décharger<br><i>A ferry &amp; its crew</i>", "lessonbot", "known",
		},
		{
			"<b>fumes</b><br><small>2026-05-02-harbour-cranes</small>",
			"émanations, fumées", "lessonbot", "new",
		},
	}
	got := parseTSV(t, anki(t, items))
	t.Run("FieldsAsExpected", func(t *testing.T) {
		if len(got) != len(want) {
			t.Fatalf("parsed %d notes, want %d", len(got), len(want))
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("note %d =\n%q\nwant\n%q", i, got[i], want[i])
			}
		}
	})
	t.Run("SameTermFromTwoLessonsHasUniqueFront", func(t *testing.T) {
		seen := map[string]bool{}
		for _, n := range got {
			if seen[n[0]] {
				t.Errorf("Front %q appears twice", n[0])
			}
			seen[n[0]] = true
		}
	})
	t.Run("FrontUniqueEvenWithSameSentence", func(t *testing.T) {
		a := cranes()
		b := with(func(it *Item) { it.LessonID = "2026-07-01-cranes-again" })
		notes := parseTSV(t, anki(t, []Item{a, b}))
		if notes[0][0] == notes[1][0] {
			t.Errorf("both notes have Front %q", notes[0][0])
		}
	})
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name   string
		item   Item
		column int    // index in the header
		want   string // the value read back
		raw    string // a substring the file must contain, if set
	}{
		{name: "QuotedComma", item: with(func(it *Item) { it.Translations = []string{"écarter", "exclure"} }),
			column: 1, want: "écarter, exclure", raw: `,"écarter, exclure",`},
		{name: "EmbeddedNewline", item: with(func(it *Item) { it.Sentence = "First line.\nSecond line." }),
			column: 2, want: "First line.\nSecond line.", raw: "\"First line.\r\nSecond line.\""},
		{name: "EmbeddedCRLFReadAsLF", item: with(func(it *Item) { it.Sentence = "a\r\nb\rc" }),
			column: 2, want: "a\nb\nc"},
		{name: "Quote", item: with(func(it *Item) { it.LessonTitle = `Mayor says "no" to cranes` }),
			column: 4, want: `Mayor says "no" to cranes`, raw: `"Mayor says ""no"" to cranes"`},
		{name: "FormulaEqualsGuarded", item: with(func(it *Item) { it.Term = "=SUM(A1)" }),
			column: 0, want: "'=SUM(A1)"},
		{name: "FormulaPlusGuarded", item: with(func(it *Item) { it.Translations = []string{"+1"} }),
			column: 1, want: "'+1"},
		{name: "FormulaMinusGuarded", item: with(func(it *Item) { it.Term = "-ness" }),
			column: 0, want: "'-ness"},
		{name: "FormulaAtGuarded", item: with(func(it *Item) { it.Sentence = "@x" }),
			column: 2, want: "'@x"},
		{name: "LeadingTabGuarded", item: with(func(it *Item) { it.LastResult = "\tgood" }),
			column: 13, want: "'\tgood"},
		{name: "LeadingCRGuarded", item: with(func(it *Item) { it.State = "\r=1" }),
			column: 6, want: "'\n=1"},
		{name: "LeadingNULGuarded", item: with(func(it *Item) { it.Level = "\x00B1" }),
			column: 5, want: "'\x00B1"},
		{name: "InnerFormulaCharsKept", item: with(func(it *Item) { it.Term = "e-mail" }),
			column: 0, want: "e-mail"},
		{name: "AddedDayInLearnerZone", item: cranes(), column: 7, want: "2026-05-02"},
		{name: "DueDay", item: cranes(), column: 8, want: "2026-05-09"},
		{name: "ZeroDueEmpty", item: with(func(it *Item) { it.Due = time.Time{} }), column: 8, want: ""},
		{name: "Reviews", item: cranes(), column: 9, want: "3"},
		{name: "Lapses", item: cranes(), column: 10, want: "1"},
		{name: "StabilityTwoDecimals", item: cranes(), column: 11, want: "4.57"},
		{name: "DifficultyTwoDecimals", item: cranes(), column: 12, want: "6.41"},
		{name: "UnknownStabilityEmpty", item: with(func(it *Item) { it.Stability = 0 }), column: 11, want: ""},
		{name: "NaNDifficultyEmpty", item: with(func(it *Item) { it.Difficulty = math.NaN() }), column: 12, want: ""},
		{name: "InfStabilityEmpty", item: with(func(it *Item) { it.Stability = math.Inf(1) }), column: 11, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := csvOut(t, []Item{tt.item})
			recs := parseCSV(t, out)
			if len(recs) != 1 {
				t.Fatalf("read %d records, want 1", len(recs))
			}
			if got := recs[0][tt.column]; got != tt.want {
				t.Errorf("%s = %q, want %q", csvHeader()[tt.column], got, tt.want)
			}
			if tt.raw != "" && !strings.Contains(out, tt.raw) {
				t.Errorf("file lacks %q:\n%q", tt.raw, out)
			}
		})
	}
}

func TestCSVWhole(t *testing.T) {
	t.Run("NoItemsGivesHeaderOnly", func(t *testing.T) {
		got := csvOut(t, nil)
		want := "word,translations,sentence,lesson_id,lesson_title,level,state,added_on,due_on," +
			"reviews,lapses,stability_days,difficulty,last_result\r\n"
		if got != want {
			t.Errorf("CSV = %q, want %q", got, want)
		}
	})
	t.Run("OK", func(t *testing.T) {
		got := csvOut(t, []Item{cranes()})
		want := "word,translations,sentence,lesson_id,lesson_title,level,state,added_on,due_on," +
			"reviews,lapses,stability_days,difficulty,last_result\r\n" +
			"unload,décharger,Six cranes now unload the ships at night.,2026-05-02-harbour-cranes," +
			"Harbour buys electric cranes,B1,learning,2026-05-02,2026-05-09,3,1,4.57,6.41,good\r\n"
		if got != want {
			t.Errorf("CSV =\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("EveryLineEndsWithCRLF", func(t *testing.T) {
		got := csvOut(t, []Item{cranes(), cranes()})
		if strings.Count(got, "\r\n") != 3 || strings.Count(got, "\n") != 3 {
			t.Errorf("want 3 CRLF line ends and no bare LF: %q", got)
		}
	})
	t.Run("ErrNilLocation", func(t *testing.T) {
		var b bytes.Buffer
		if err := CSV(&b, []Item{cranes()}, nil); err == nil {
			t.Error("CSV with a nil location succeeded")
		}
		if b.Len() != 0 {
			t.Errorf("wrote %q before failing", b.String())
		}
	})
}

func TestDeterministic(t *testing.T) {
	items := []Item{cranes(), with(func(it *Item) { it.LessonID = "other" }), {Term: "=x", State: "new"}}
	t.Run("AnkiTSVSameBytes", func(t *testing.T) {
		if a, b := anki(t, items), anki(t, items); a != b {
			t.Errorf("two runs differ:\n%q\n%q", a, b)
		}
	})
	t.Run("CSVSameBytes", func(t *testing.T) {
		if a, b := csvOut(t, items), csvOut(t, items); a != b {
			t.Errorf("two runs differ:\n%q\n%q", a, b)
		}
	})
	t.Run("InputUnchanged", func(t *testing.T) {
		before := slices.Clone(items[0].Translations)
		anki(t, items)
		csvOut(t, items)
		if !slices.Equal(items[0].Translations, before) {
			t.Errorf("translations changed to %q", items[0].Translations)
		}
	})
}

// failWriter fails every write, like a closed connection.
type failWriter struct{}

var errWrite = errors.New("connection closed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteError(t *testing.T) {
	t.Run("ErrAnkiTSV", func(t *testing.T) {
		if err := AnkiTSV(failWriter{}, []Item{cranes()}); !errors.Is(err, errWrite) {
			t.Errorf("AnkiTSV error = %v, want %v", err, errWrite)
		}
	})
	t.Run("ErrCSV", func(t *testing.T) {
		if err := CSV(failWriter{}, []Item{cranes()}, paris); !errors.Is(err, errWrite) {
			t.Errorf("CSV error = %v, want %v", err, errWrite)
		}
	})
}
