package chart

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// ShadedTable draws retention cohorts as an HTML table rather than SVG, so
// that the numbers stay selectable text that wraps with the page: one row
// per cohort (rows), one column per period since it started (cols), and in
// each cell a percentage, 0 to 100, printed and shaded by its value (five
// steps of 20 points, darker for more). percents[r] may be shorter than
// cols: a cohort too young for a column leaves that cell empty, as does a
// non-finite value. Each cell's title attribute names its row and column
// for the tooltip, and the row and column headers are marked with scope, so
// that a screen reader announces them with each value.
func ShadedTable(title string, rows, cols []string, percents [][]float64) template.HTML {
	value := func(r, c int) float64 {
		if r < len(percents) && c < len(percents[r]) {
			return percents[r][c]
		}
		return math.NaN()
	}
	found := false
	for r := range rows {
		for c := range cols {
			found = found || finite(value(r, c))
		}
	}
	if len(rows) == 0 || len(cols) == 0 || !found {
		return noData("cohorts", title)
	}

	var b strings.Builder
	t := esc(title)
	b.WriteString(`<table class="chart cohorts" aria-label="` + t + `" style="border-collapse:collapse;text-align:right"><caption>` + t + "</caption>")
	b.WriteString("<thead><tr><td></td>")
	for _, c := range cols {
		b.WriteString(`<th scope="col">` + esc(strings.TrimSpace(c)) + "</th>")
	}
	b.WriteString("</tr></thead><tbody>")
	for r, row := range rows {
		row = esc(strings.TrimSpace(row))
		b.WriteString(`<tr><th scope="row">` + row + "</th>")
		for c, col := range cols {
			v := value(r, c)
			if !finite(v) {
				b.WriteString(`<td class="cohort empty"></td>`)
				continue
			}
			lv := 0
			if v > 0 {
				lv = min(nShades, int(math.Ceil(math.Min(v, 100)/(100/nShades)-1e-9)))
				lv = max(1, lv)
			}
			style := "background:" + shade(lv)
			if lv == nShades { // black text would fall under 4.5:1 contrast here
				style += ";color:#fff"
			}
			b.WriteString(`<td class="cohort" style="` + style + `" title="` + row + ", " + esc(strings.TrimSpace(col)) +
				": " + percent(v, 1) + `">` + percent(v, 0) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return template.HTML(b.String())
}

// percent formats v with at most the given decimals and a percent sign.
func percent(v float64, decimals int) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 3, 64) + "%"
	}
	p := math.Pow(10, float64(decimals))
	v = math.Round(v*p) / p
	if v == 0 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}
