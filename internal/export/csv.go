package export

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the columns of the CSV export; spreadsheet users see these
// names, and their order is part of the file format. It is a function so
// no caller can change the header for the next export.
func csvHeader() []string {
	return []string{
		"word", "translations", "sentence", "lesson_id", "lesson_title", "level",
		"state", "added_on", "due_on", "reviews", "lapses", "stability_days",
		"difficulty", "last_result",
	}
}

// CSV writes items as RFC 4180 CSV for spreadsheets: a header row, then one
// record per item in the order given, CRLF line ends, fields quoted where
// needed. Dates are the calendar day (YYYY-MM-DD) in loc, the learner's
// zone, because a learner thinks of "due tomorrow" in local days.
//
// A spreadsheet runs a cell that starts with "=", "+", "-", "@", TAB, CR or
// NUL as a formula, so such cells get a leading "'" (OWASP ASVS 1.2.10);
// lesson text comes from admins and could otherwise carry a formula into a
// learner's spreadsheet. Line breaks inside a field are written as CRLF and
// read back as LF; a lone CR is written as a line break too, since
// encoding/csv would otherwise drop it.
func CSV(w io.Writer, items []Item, loc *time.Location) error {
	if loc == nil {
		return errors.New("export: write csv: nil location")
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	rec := csvHeader()
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("export: write csv: %w", err)
	}
	for _, it := range items {
		rec = append(rec[:0],
			it.Term,
			strings.Join(it.Translations, ", "),
			it.Sentence,
			it.LessonID,
			it.LessonTitle,
			it.Level,
			it.State,
			csvDay(it.Added, loc),
			csvDay(it.Due, loc),
			strconv.Itoa(it.Reviews),
			strconv.Itoa(it.Lapses),
			csvFloat(it.Stability),
			csvFloat(it.Difficulty),
			it.LastResult,
		)
		for i, f := range rec {
			rec[i] = csvCell(f)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("export: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: write csv: %w", err)
	}
	return nil
}

// csvCell makes s safe for a spreadsheet cell: valid UTF-8, line breaks as
// LF (so they survive the round trip through encoding/csv), and the formula
// guard.
func csvCell(s string) string {
	s = validUTF8(s)
	// Decide the guard before line breaks are rewritten, so a cell that
	// starts with CR is guarded even though it is written starting with LF.
	guard := false
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r', 0:
			guard = true
		}
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	if guard {
		return "'" + s
	}
	return s
}

// csvDay is t's calendar day in loc, or "" for the zero time.
func csvDay(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.DateOnly)
}

// csvFloat prints v with two decimals and a dot whatever the locale, or ""
// when v is not a known positive value.
func csvFloat(v float64) string {
	if !(v > 0) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
