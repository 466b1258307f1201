package chart

import (
	"html/template"
	"math"
	"strings"
)

// Series is one named line of a line chart. Values pair with the chart's x
// labels by index; a missing or non-finite value leaves a gap in the line,
// because a day without data is not a day with zero.
type Series struct {
	Name   string
	Values []float64
}

// Line layout, in pixels.
const (
	lineWidth    = 640
	lineLeft     = 48 // room for y tick labels
	lineRight    = lineWidth - 32
	lineHeight   = 180
	legendRow    = 16
	xLabelLimit  = 12 // columns
	legendLimit  = 24 // columns
	legendSample = 18
)

// lineColour and lineDash give series i a colour from the Okabe–Ito
// palette, which stays distinct for colour-blind readers, and a dash
// pattern, so that series also differ in grey scale and in print.
func lineColour(i int) string {
	switch i % 7 {
	case 0:
		return "#0072b2"
	case 1:
		return "#d55e00"
	case 2:
		return "#009e73"
	case 3:
		return "#cc79a7"
	case 4:
		return "#e69f00"
	case 5:
		return "#56b4e9"
	default:
		return "#000"
	}
}

func lineDash(i int) string {
	switch i % 4 {
	case 1:
		return ` stroke-dasharray="6 3"`
	case 2:
		return ` stroke-dasharray="2 3"`
	case 3:
		return ` stroke-dasharray="8 3 2 3"`
	}
	return ""
}

// Line draws series over shared x labels (days, say) so that an admin
// sees growth and its direction at a glance. The y axis always includes
// zero, so a negative net reads below a visible zero line. Each x label
// gets one "point" mark: a transparent column whose tooltip gives the
// label and every series' value there, which keeps 90 days of 4 series
// small enough to inline. A series value with no neighbour is drawn as a
// dot, since a line needs two points.
func Line(title string, xLabels []string, series []Series) template.HTML {
	n := len(xLabels)
	lo, hi, found := 0.0, 0.0, false
	for _, s := range series {
		for i, v := range s.Values {
			if i >= n {
				break
			}
			if finite(v) {
				lo, hi, found = math.Min(lo, v), math.Max(hi, v), true
			}
		}
	}
	if n == 0 || !found {
		return noData("line", title)
	}
	ax := newAxis(lo, hi, 5)

	// The legend wraps onto as many rows as it needs above the plot.
	type item struct {
		x, y float64
		name string
	}
	var legend []item
	if len(series) > 1 || strings.TrimSpace(series[0].Name) != "" {
		x, row := float64(lineLeft), 0
		for _, s := range series {
			shown, _ := truncate(s.Name, legendLimit)
			w := legendSample + 4 + textWidth(shown) + 14
			if x+w > lineWidth && x > lineLeft {
				x, row = lineLeft, row+1
			}
			legend = append(legend, item{x, float64(14 + row*legendRow), s.Name})
			x += w
		}
	}
	top := 10.0
	if len(legend) > 0 {
		top = legend[len(legend)-1].y + 10
	}
	bottom := top + lineHeight
	step := float64(lineRight-lineLeft) / float64(n)
	xAt := func(i int) float64 { return lineLeft + step*(float64(i)+0.5) }
	yAt := func(v float64) float64 { return bottom - ax.frac(v)*lineHeight }

	var b strings.Builder
	openSVG(&b, "line", title, lineWidth, bottom+24)

	// Grid, zero line and y tick labels.
	vals, labels := ax.ticks()
	b.WriteString(`<path stroke="` + gridColour + `" d="`)
	for _, v := range vals {
		if v != 0 {
			b.WriteString("M" + px(lineLeft) + " " + px(yAt(v)) + "H" + px(lineRight))
		}
	}
	b.WriteString(`"/><path stroke="` + axisColour + `" d="M` + px(lineLeft) + " " + px(yAt(0)) + "H" + px(lineRight) + `"/>`)
	b.WriteString(`<g text-anchor="end">`)
	for i, v := range vals {
		b.WriteString(`<text x="` + px(lineLeft-4) + `" y="` + px(yAt(v)+4) + `">` + labels[i] + "</text>")
	}
	b.WriteString("</g>")

	// X labels, thinned so that they do not overlap.
	longest := 0
	for _, l := range xLabels {
		shown, _ := truncate(l, xLabelLimit)
		longest = max(longest, width(shown))
	}
	every := max(1, int(math.Ceil((float64(longest)*charWidth+8)/step)))
	b.WriteString(`<g text-anchor="middle">`)
	for i := 0; i < n; i += every {
		label(&b, `x="`+px(xAt(i))+`" y="`+px(bottom+17)+`"`, xLabels[i], xLabelLimit)
	}
	b.WriteString("</g>")

	// Legend: a sample of each line's colour and dash, and its name.
	for i, it := range legend {
		b.WriteString(`<path stroke="` + lineColour(i) + `" stroke-width="2"` + lineDash(i) +
			` d="M` + px(it.x) + " " + px(it.y-4) + "h" + px(legendSample) + `"/>`)
		label(&b, `x="`+px(it.x+legendSample+4)+`" y="`+px(it.y)+`"`, it.name, legendLimit)
	}

	// The lines: one path per run of finite values, as whole pixels
	// relative to the previous point, which keeps 90 points near 400 bytes.
	for si, s := range series {
		b.WriteString(`<g class="series" fill="none" stroke="` + lineColour(si) + `" stroke-width="2"` + lineDash(si) + ` stroke-linejoin="round">`)
		at := func(i int) bool { return i < n && i < len(s.Values) && finite(s.Values[i]) }
		for i := 0; i < n; i++ {
			if !at(i) {
				continue
			}
			j := i
			for at(j + 1) {
				j++
			}
			x0, y0 := int(math.Round(xAt(i))), int(math.Round(yAt(s.Values[i])))
			if j == i {
				b.WriteString(`<circle cx="` + itoa(x0) + `" cy="` + itoa(y0) + `" r="3" fill="` + lineColour(si) + `" stroke="none"/>`)
				continue
			}
			b.WriteString(`<path d="M` + itoa(x0) + " " + itoa(y0) + "l")
			for k := i + 1; k <= j; k++ {
				x, y := int(math.Round(xAt(k))), int(math.Round(yAt(s.Values[k])))
				if k > i+1 {
					b.WriteByte(' ')
				}
				b.WriteString(itoa(x - x0))
				if y-y0 >= 0 {
					b.WriteByte(' ')
				}
				b.WriteString(itoa(y - y0))
				x0, y0 = x, y
			}
			b.WriteString(`"/>`)
			i = j
		}
		b.WriteString("</g>")
	}

	// The marks, drawn last so that their tooltips win anywhere in the plot.
	b.WriteString(`<g stroke="#000" stroke-opacity="0" stroke-width="` + num(step) + `" pointer-events="stroke">`)
	for i, l := range xLabels {
		b.WriteString(`<path class="point" d="M` + px(xAt(i)) + " " + px(top) + "V" + px(bottom) + `"><title>`)
		b.WriteString(esc(strings.TrimSpace(l)) + ":")
		for si, s := range series {
			v := math.NaN()
			if i < len(s.Values) {
				v = s.Values[i]
			}
			if si > 0 {
				b.WriteByte(',')
			}
			if name := strings.TrimSpace(s.Name); name != "" {
				b.WriteString(" " + esc(name))
			}
			b.WriteString(" " + exact(v))
		}
		b.WriteString("</title></path>")
	}
	b.WriteString("</g></svg>")
	return template.HTML(b.String())
}
