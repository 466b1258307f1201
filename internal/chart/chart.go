// Package chart draws the admin dashboard's charts from typed Go data as
// SVG fragments (and, for cohorts, an HTML table), so that a page rendered
// with html/template needs no JavaScript, no font and no request to another
// host, and so that a chart is text a golden file can pin down.
//
// Every function returns template.HTML that is safe to embed as is: each
// label is escaped (and cleaned of characters XML forbids) before it is
// written, and everything else is a number this package formatted. The same
// data always gives the same bytes. Empty data gives a short "no data"
// paragraph instead of a chart.
//
// Each data mark has a <title> child (the tooltip and accessible name)
// giving its label and value; the cohort table uses a title attribute
// instead, as HTML table cells cannot hold a <title>. Shading uses one hue
// whose lightness rises with the value, and every chart carries text (axis
// ticks, value labels, a legend or the numbers themselves), so that it reads
// without colour.
//
// Browser tests and page stylesheets can rely on these classes:
//
//   - the root of every chart: "chart" and its kind, one of "line", "bars",
//     "heatmap" or "cohorts" (an <svg>, or the <table> for cohorts);
//   - the "no data" placeholder: a <p class="chart nodata KIND">;
//   - "point": one transparent hover column per x label of a line chart,
//     whose title lists every series' value at that x;
//   - "series": the group drawing one line of a line chart;
//   - "bar": each bar's <rect>;
//   - "cell": each heatmap <rect>, rows × cols of them (168 for 7 × 24);
//   - "cohort": each data <td> of the cohort table, rows × cols of them,
//     with "empty" added on cells that hold no value.
package chart

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Lines, text and shades shared by the charts. The shades are ColorBrewer's
// single-hue "Blues": lightness falls steadily with the value, so they read
// in grey scale and for every kind of colour blindness.
const (
	textColour = "#222"
	gridColour = "#ddd"
	axisColour = "#888"
	zeroShade  = "#f0f0f0"
	nShades    = 5
	fontSize   = 11
	charWidth  = 6.5 // a generous average advance of a sans-serif glyph at fontSize, in pixels
	maxPlotted = 1e18
)

// shade returns the fill of shade level i, 0 (zero) to nShades (highest).
func shade(i int) string {
	switch i {
	case 0:
		return zeroShade
	case 1:
		return "#c6dbef"
	case 2:
		return "#9ecae1"
	case 3:
		return "#6baed6"
	case 4:
		return "#3182bd"
	default:
		return "#08519c"
	}
}

// esc returns s escaped for both text and quoted attributes, with every
// character XML 1.0 forbids (and invalid UTF-8) replaced by U+FFFD and line
// breaks and tabs turned into spaces, so that the output stays well-formed
// XML as well as HTML.
func esc(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20, r >= 0x7f && r < 0xa0, r == 0xfffe, r == 0xffff:
			b.WriteRune('\ufffd')
		default:
			b.WriteRune(r) // invalid UTF-8 arrives here as U+FFFD
		}
	}
	return b.String()
}

// wide reports whether r takes about two columns: East Asian wide and
// full-width characters, and emoji.
func wide(r rune) bool {
	return r >= 0x1100 && (r <= 0x115f ||
		(r >= 0x2e80 && r <= 0xa4cf) ||
		(r >= 0xac00 && r <= 0xd7a3) ||
		(r >= 0xf900 && r <= 0xfaff) ||
		(r >= 0xfe30 && r <= 0xfe4f) ||
		(r >= 0xff00 && r <= 0xff60) ||
		(r >= 0xffe0 && r <= 0xffe6) ||
		(r >= 0x1f300 && r <= 0x1faff) ||
		(r >= 0x20000 && r <= 0x3fffd))
}

// width returns the width of s in columns (see wide).
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if wide(r) {
			n++
		}
	}
	return n
}

// truncate shortens s to at most limit columns, ending it with "…" when it
// cut anything, and reports whether it did.
func truncate(s string, limit int) (string, bool) {
	s = strings.TrimSpace(s)
	if width(s) <= limit {
		return s, false
	}
	n := 0
	for i, r := range s {
		w := 1
		if wide(r) {
			w = 2
		}
		if n+w > limit-1 {
			return strings.TrimSpace(s[:i]) + "…", true
		}
		n += w
	}
	return s, false
}

// label writes a text label shortened to limit columns; a shortened label
// carries its full text in a <title> child.
func label(b *strings.Builder, attrs, s string, limit int) {
	shown, cut := truncate(s, limit)
	b.WriteString("<text ")
	b.WriteString(attrs)
	b.WriteByte('>')
	b.WriteString(esc(shown))
	if cut {
		b.WriteString("<title>")
		b.WriteString(esc(s))
		b.WriteString("</title>")
	}
	b.WriteString("</text>")
}

// textWidth estimates the width in pixels of s set at fontSize.
func textWidth(s string) float64 { return float64(width(s)) * charWidth }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// clamp keeps a value drawable: the scales below work in float64 without
// overflow for values up to maxPlotted either side of zero.
func clamp(v float64) float64 { return math.Max(-maxPlotted, math.Min(maxPlotted, v)) }

// num formats a coordinate with at most one decimal.
func num(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// px formats a coordinate rounded to a whole pixel.
func px(v float64) string { return strconv.Itoa(int(math.Round(v))) }

// exact formats a value for a tooltip: at most two decimals, "–" for a
// missing value, and an exponent beyond what anyone counts.
func exact(v float64) string {
	switch {
	case !finite(v):
		return "–"
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// magnitude returns the unit and suffix that keep m under a thousand units.
func magnitude(m float64) (float64, string) {
	switch {
	case m >= 1e12:
		return 1e12, "T"
	case m >= 1e9:
		return 1e9, "G"
	case m >= 1e6:
		return 1e6, "M"
	case m >= 1e3:
		return 1e3, "k"
	}
	return 1, ""
}

// short formats a value for a label in at most about five characters:
// one decimal, and k, M, G or T from a thousand up (1.2k, 3.4M).
func short(v float64) string {
	if !finite(v) {
		return "–"
	}
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	unit, suffix := magnitude(math.Abs(v))
	r := math.Round(v/unit*10) / 10
	if math.Abs(r) >= 1000 && unit < 1e12 {
		unit *= 1000
		_, suffix = magnitude(unit)
		r = math.Round(v/unit*10) / 10
	}
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + suffix
}

// axis is a value scale with round ends and a round step between ticks.
type axis struct {
	lo, hi, step float64
	kLo, kHi     int64 // the ticks are k*step for k in [kLo, kHi]
}

// newAxis returns a scale that covers lo..hi and zero, with about target
// steps of 1, 2 or 5 times a power of ten, so that tick labels are round.
func newAxis(lo, hi float64, target int) axis {
	lo, hi = math.Min(clamp(lo), 0), math.Max(clamp(hi), 0)
	if hi-lo < 1e-9 { // all zero: whole ticks to 5 read as counts
		hi = lo + 5
	}
	raw := (hi - lo) / float64(target)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * p
	switch f := raw / p; {
	case f <= 1:
		step = p
	case f <= 2:
		step = 2 * p
	case f <= 5:
		step = 5 * p
	}
	a := axis{step: step, kLo: int64(math.Floor(lo/step + 1e-9)), kHi: int64(math.Ceil(hi/step - 1e-9))}
	if a.kHi <= a.kLo {
		a.kHi = a.kLo + 1
	}
	a.lo, a.hi = float64(a.kLo)*step, float64(a.kHi)*step
	return a
}

// frac returns where v falls between the ends of the scale, 0 to 1.
func (a axis) frac(v float64) float64 {
	f := (clamp(v) - a.lo) / (a.hi - a.lo)
	return math.Max(0, math.Min(1, f))
}

// ticks returns the tick values with their labels, which share one unit
// and as many decimals as the step needs (0, 500, 1k, 1.5k).
func (a axis) ticks() ([]float64, []string) {
	unit, suffix := magnitude(math.Max(math.Abs(a.lo), math.Abs(a.hi)))
	// Beyond what anyone counts, or below what a step of 1, 2 or 5
	// thousandths shows, the labels take an exponent.
	big := math.Max(math.Abs(a.lo), math.Abs(a.hi)) >= 1e15 || a.step < 1e-3
	decimals := 0
	for s := a.step / unit; decimals < 6; decimals++ {
		scaled := s * math.Pow(10, float64(decimals))
		if math.Abs(scaled-math.Round(scaled)) < 1e-6*math.Max(1, scaled) {
			break
		}
	}
	var vals []float64
	var labels []string
	for k := a.kLo; k <= a.kHi; k++ {
		v := float64(k) * a.step
		vals = append(vals, v)
		switch {
		case k == 0:
			labels = append(labels, "0")
		case big:
			labels = append(labels, strconv.FormatFloat(v, 'g', 3, 64))
		default:
			labels = append(labels, strconv.FormatFloat(v/unit, 'f', decimals, 64)+suffix)
		}
	}
	return vals, labels
}

// openSVG starts an <svg> root of the given kind and size, named by title
// for assistive technology and as its tooltip.
func openSVG(b *strings.Builder, kind, title string, w, h float64) {
	t := esc(title)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="chart `)
	b.WriteString(kind)
	b.WriteString(`" viewBox="0 0 ` + num(w) + " " + num(h) + `" width="` + num(w) + `" height="` + num(h))
	b.WriteString(`" role="graphics-document" aria-label="` + t)
	b.WriteString(`" font-family="sans-serif" font-size="` + strconv.Itoa(fontSize) + `" fill="` + textColour + `">`)
	b.WriteString("<title>" + t + "</title>")
}

// noData is the placeholder for a chart without data: one short line
// rather than empty axes.
func noData(kind, title string) template.HTML {
	text := "no data"
	if strings.TrimSpace(title) != "" {
		text = esc(title) + ": no data"
	}
	return template.HTML(`<p class="chart nodata ` + kind + `">` + text + "</p>")
}

func itoa(i int) string { return strconv.Itoa(i) }
