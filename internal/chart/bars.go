package chart

import (
	"html/template"
	"math"
	"strings"
)

// Bar is one labelled value of a bar chart. Note adds context to the
// tooltip only (the count behind a percentage, say), so that the bar's
// visible text stays short.
type Bar struct {
	Label string
	Value float64
	Note  string
}

// Bars layout, in pixels.
const (
	barsWidth   = 640
	barLabelMax = 28 // columns of a label before it is cut with "…"
	barLabelX   = 180
	barRow      = 20
	barHeight   = 14
	barsTop     = 6
	barColour   = "#2171b5"
)

// Bars draws one horizontal bar per item, in the order given, so that ~30
// lessons with long titles stay readable: each label sits on its own row
// to the left, cut with "…" past 28 columns (the full text is in
// its tooltip), and each bar ends in its value followed by unit, which is
// appended as is ("%", " answers"). A negative value extends left of a
// visible zero line; a non-finite one draws no bar and reads "–".
func Bars(title string, bars []Bar, unit string) template.HTML {
	if len(bars) == 0 {
		return noData("bars", title)
	}
	lo, hi := 0.0, 0.0
	valueW := 24.0
	for _, bar := range bars {
		if finite(bar.Value) {
			lo, hi = math.Min(lo, bar.Value), math.Max(hi, bar.Value)
		}
		valueW = math.Max(valueW, textWidth(short(bar.Value)+unit)+6)
	}
	valueW = math.Min(valueW, 160)
	ax := newAxis(lo, hi, 5)
	left, right := float64(barLabelX+8), float64(barsWidth-8)
	if ax.lo < 0 {
		left += valueW
	}
	if ax.hi > 0 {
		right -= valueW
	}
	xAt := func(v float64) float64 { return left + ax.frac(v)*(right-left) }
	rowsEnd := float64(barsTop + len(bars)*barRow)

	var b strings.Builder
	openSVG(&b, "bars", title, barsWidth, rowsEnd+18)

	// Grid, zero line and tick labels below the bars.
	vals, labels := ax.ticks()
	b.WriteString(`<path stroke="` + gridColour + `" d="`)
	for _, v := range vals {
		if v != 0 {
			b.WriteString("M" + num(xAt(v)) + " " + px(barsTop) + "V" + px(rowsEnd))
		}
	}
	b.WriteString(`"/><path stroke="` + axisColour + `" d="M` + num(xAt(0)) + " " + px(barsTop) + "V" + px(rowsEnd) + `"/>`)
	b.WriteString(`<g text-anchor="middle">`)
	for i, v := range vals {
		b.WriteString(`<text x="` + num(xAt(v)) + `" y="` + px(rowsEnd+13) + `">` + labels[i] + "</text>")
	}
	b.WriteString("</g>")

	// Labels, right-aligned against the bars.
	b.WriteString(`<g text-anchor="end">`)
	for i, bar := range bars {
		label(&b, `x="`+itoa(barLabelX)+`" y="`+itoa(barsTop+i*barRow+14)+`"`, bar.Label, barLabelMax)
	}
	b.WriteString("</g>")

	// Bars, each with its tooltip.
	b.WriteString(`<g fill="` + barColour + `">`)
	for i, bar := range bars {
		x0, x1 := xAt(0), xAt(0)
		if finite(bar.Value) {
			x0, x1 = math.Min(xAt(0), xAt(bar.Value)), math.Max(xAt(0), xAt(bar.Value))
		}
		b.WriteString(`<rect class="bar" x="` + num(x0) + `" y="` + itoa(barsTop+i*barRow+3) +
			`" width="` + num(x1-x0) + `" height="` + itoa(barHeight) + `"><title>` +
			esc(strings.TrimSpace(bar.Label)) + ": " + withUnit(exact(bar.Value), bar.Value, unit))
		if note := strings.TrimSpace(bar.Note); note != "" {
			b.WriteString(" (" + esc(note) + ")")
		}
		b.WriteString("</title></rect>")
	}
	b.WriteString("</g>")

	// Values at the end of each bar, so that the chart reads without
	// colour and without the axis.
	b.WriteString("<g>")
	for i, bar := range bars {
		y := itoa(barsTop + i*barRow + 14)
		text := withUnit(short(bar.Value), bar.Value, unit)
		if finite(bar.Value) && bar.Value < 0 {
			b.WriteString(`<text x="` + num(xAt(bar.Value)-4) + `" y="` + y + `" text-anchor="end">` + text + "</text>")
		} else {
			b.WriteString(`<text x="` + num(xAt(math.Max(0, finiteOr0(bar.Value)))+4) + `" y="` + y + `">` + text + "</text>")
		}
	}
	b.WriteString("</g></svg>")
	return template.HTML(b.String())
}

func finiteOr0(v float64) float64 {
	if finite(v) {
		return v
	}
	return 0
}

// withUnit escapes a formatted value followed by its unit; a missing value
// reads "–" alone.
func withUnit(text string, v float64, unit string) string {
	if !finite(v) {
		return text
	}
	return esc(text + unit)
}
