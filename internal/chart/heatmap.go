package chart

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Heatmap layout, in pixels.
const (
	heatCellMax   = 22 // the side of a cell, when the columns fit
	heatGridMax   = 560
	heatRowLimit  = 12 // columns of a row label
	heatColLimit  = 8  // columns of a column label
	heatTop       = 18
	heatMissing   = "#fff"
	heatLegendBox = 10
)

// Heatmap draws a grid of counts, rows × cols cells (weekday × hour gives
// 168), shaded by value, so that the busy hours of a week stand out. The
// caller passes the row and column names, so that it can localise them;
// cells[r][c] is the count for rows[r] and cols[c], and a missing or
// non-finite count leaves its cell white with "–" in its tooltip. Counts
// fall into zero and five equal steps up to the largest, each a darker
// shade of one hue, and a legend under the grid gives each step's range,
// so that the map reads in grey scale. Negative counts are shaded as zero.
// Labels are thinned when the cells get too small for every one of them.
func Heatmap(title string, rows, cols []string, cells [][]float64) template.HTML {
	nr, nc := len(rows), len(cols)
	value := func(r, c int) float64 {
		if r < len(cells) && c < len(cells[r]) {
			return cells[r][c]
		}
		return math.NaN()
	}
	top, found, missing, whole := 0.0, false, false, true
	for r := 0; r < nr; r++ {
		for c := 0; c < nc; c++ {
			if v := value(r, c); finite(v) {
				top, found = math.Max(top, clamp(v)), true
				whole = whole && v == math.Trunc(v)
			} else {
				missing = true
			}
		}
	}
	if nr == 0 || nc == 0 || !found {
		return noData("heatmap", title)
	}
	// Shade lv stands for the counts above bound(lv-1) up to bound(lv).
	bound := func(lv int) float64 { return top * float64(lv) / nShades }
	level := func(v float64) int {
		switch {
		case !finite(v):
			return -1
		case v <= 0:
			return 0
		}
		lv := 1
		for lv < nShades && clamp(v) > bound(lv) {
			lv++
		}
		return lv
	}
	// The legend names each shade by its range: whole counts as "3–5",
	// anything else by its upper bound.
	type entry struct{ fill, text string }
	legend := []entry{{shade(0), "0"}}
	for lv := 1; top > 0 && lv <= nShades; lv++ {
		if !whole {
			legend = append(legend, entry{shade(lv), "≤ " + short(bound(lv))})
			continue
		}
		from, to := math.Floor(bound(lv-1))+1, math.Floor(bound(lv))
		switch {
		case from == to:
			legend = append(legend, entry{shade(lv), short(to)})
		case from < to:
			legend = append(legend, entry{shade(lv), short(from) + "–" + short(to)})
		}
	}
	if missing {
		legend = append(legend, entry{heatMissing, "–"})
	}

	cell := math.Max(4, math.Min(heatCellMax, math.Floor(heatGridMax/float64(nc))))
	longest := 0
	for _, r := range rows {
		shown, _ := truncate(r, heatRowLimit)
		longest = max(longest, width(shown))
	}
	left := math.Ceil(float64(longest)*charWidth + 12)
	gridW, gridH := cell*float64(nc), cell*float64(nr)
	legendY := heatTop + gridH + 10
	w := left + gridW + 8
	legendW := left
	for _, e := range legend {
		legendW += heatLegendBox + 4 + textWidth(e.text) + 12
	}
	w = math.Ceil(math.Max(w, legendW))

	var b strings.Builder
	openSVG(&b, "heatmap", title, w, legendY+heatLegendBox+4)

	// Column labels, thinned so that they do not overlap.
	longest = 0
	for _, c := range cols {
		shown, _ := truncate(c, heatColLimit)
		longest = max(longest, width(shown))
	}
	every := max(1, int(math.Ceil((float64(longest)*charWidth+4)/cell)))
	b.WriteString(`<g text-anchor="middle">`)
	for c := 0; c < nc; c += every {
		label(&b, `x="`+num(left+cell*(float64(c)+0.5))+`" y="`+itoa(heatTop-5)+`"`, cols[c], heatColLimit)
	}
	b.WriteString(`</g><g text-anchor="end">`)
	for r := 0; r < nr; r += max(1, int(math.Ceil(14/cell))) {
		label(&b, `x="`+num(left-6)+`" y="`+num(heatTop+cell*(float64(r)+0.5)+4)+`"`, rows[r], heatRowLimit)
	}
	b.WriteString("</g>")

	// Cells, in a group scaled to one unit per cell and grouped by shade,
	// which keeps each of the 168 <rect>s near 80 bytes with its tooltip.
	b.WriteString(`<g transform="translate(` + num(left) + " " + itoa(heatTop) + ") scale(" + num(cell) + `)">`)
	for lv := -1; lv <= nShades; lv++ {
		opened := false
		for r := 0; r < nr; r++ {
			for c := 0; c < nc; c++ {
				v := value(r, c)
				if level(v) != lv {
					continue
				}
				if !opened {
					if lv < 0 { // white, outlined so that it shows
						b.WriteString(`<g fill="` + heatMissing + `" stroke="#bbb" stroke-width="` + strconv.FormatFloat(1/cell, 'f', 3, 64) + `">`)
					} else {
						b.WriteString(`<g fill="` + shade(lv) + `">`)
					}
					opened = true
				}
				b.WriteString(`<rect class="cell" x="` + itoa(c) + `" y="` + itoa(r) + `" width="1" height="1"><title>` +
					esc(strings.TrimSpace(rows[r])) + " " + esc(strings.TrimSpace(cols[c])) + ": " + exact(v) + "</title></rect>")
			}
		}
		if opened {
			b.WriteString("</g>")
		}
	}
	// White lines between the cells; they let the tooltips through.
	b.WriteString(`<path stroke="#fff" stroke-width="` + strconv.FormatFloat(1.5/cell, 'f', 3, 64) + `" pointer-events="none" d="`)
	for c := 1; c < nc; c++ {
		b.WriteString("M" + itoa(c) + " 0V" + itoa(nr))
	}
	for r := 1; r < nr; r++ {
		b.WriteString("M0 " + itoa(r) + "H" + itoa(nc))
	}
	b.WriteString(`"/></g>`)

	// Legend: each shade with the counts it stands for.
	b.WriteString(`<g stroke="#bbb">`)
	x := left
	for _, e := range legend {
		b.WriteString(`<rect x="` + num(x) + `" y="` + num(legendY) + `" width="` + itoa(heatLegendBox) +
			`" height="` + itoa(heatLegendBox) + `" fill="` + e.fill + `"/><text x="` + num(x+heatLegendBox+4) +
			`" y="` + num(legendY+9) + `" stroke="none">` + esc(e.text) + "</text>")
		x += heatLegendBox + 4 + textWidth(e.text) + 12
	}
	b.WriteString("</g></svg>")
	return template.HTML(b.String())
}
