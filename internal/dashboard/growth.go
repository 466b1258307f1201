package dashboard

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"

	"github.com/lessonbot/lessonbot/internal/chart"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// growthSpans are the spans of days the Growth page offers, the first
// the default.
var growthSpans = [...]int{30, 90}

// growthData is the content of the Growth page.
type growthData struct {
	Picker zonePicker
	// Days is the span shown; Spans link to each span offered.
	Days   int
	Spans  []spanLink
	Notice string
	Chart  template.HTML
	// Rows are the days, the latest first; Total adds them up.
	Rows  []growthRow
	Total growthRow
	From  string
}

// spanLink links to a page over another span of days.
type spanLink struct {
	Label, Href string
	Current     bool
}

// growthRow is a day of chats coming and going, or a sum of days.
type growthRow struct {
	Day                                 string
	Subscribed, Unsubscribed, Gone, Net int
}

// add adds a day to a sum.
func (g *growthRow) add(d store.GrowthDay) {
	g.Subscribed += d.Subscribed
	g.Unsubscribed += d.Unsubscribed
	g.Gone += d.Gone
	g.Net += d.Net
}

// growth shows the chats that subscribed, unsubscribed and were lost by
// the bot each day of the last 30 or 90 (?days=), in the zone asked for.
func (s *Server) growth(w http.ResponseWriter, r *http.Request, admin chat.User) {
	days, notice := growthSpans[0], ""
	if asked := r.FormValue("days"); asked != "" {
		if n, err := strconv.Atoi(asked); err == nil && slices.Contains(growthSpans[:], n) {
			days = n
		} else {
			notice = "The page shows 30 or 90 days; it shows 30."
		}
	}
	loc, picker := s.picker(r, "/growth", "Days in the time zone", param{"days", strconv.Itoa(days)})
	now := s.opts.Now().In(loc)
	from := midnight(now).AddDate(0, 0, 1-days)
	list, err := s.opts.Store.Growth(r.Context(), from, now, loc)
	if err != nil {
		s.trouble(w, r, "count the chats that came and went", err)
		return
	}
	d := growthData{Picker: picker, Days: days, Notice: notice, From: from.Format(dayFormat)}
	for _, n := range growthSpans {
		d.Spans = append(d.Spans, spanLink{Label: strconv.Itoa(n) + " days", Current: n == days,
			Href: link("/growth", param{"days", strconv.Itoa(n)}, param{"tz", r.FormValue("tz")})})
	}
	labels := make([]string, len(list))
	series := []chart.Series{{Name: "subscribed"}, {Name: "unsubscribed"}, {Name: "chats gone"}, {Name: "net"}}
	for i, g := range list {
		labels[i] = g.Day.Format(shortDay)
		for k, v := range []int{g.Subscribed, g.Unsubscribed, g.Gone, g.Net} {
			series[k].Values = append(series[k].Values, float64(v))
		}
		d.Total.add(g)
	}
	for _, g := range slices.Backward(list) {
		row := growthRow{Day: g.Day.Format(rowDay)}
		row.add(g)
		d.Rows = append(d.Rows, row)
	}
	d.Chart = chart.Line("Chats per day: subscribed, unsubscribed, gone and net", labels, series)
	s.render(w, http.StatusOK, "growth", page{Title: "Growth", Admin: &admin, Content: d})
}
