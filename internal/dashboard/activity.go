package dashboard

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/lessonbot/lessonbot/internal/chart"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// activityDays is the span of the Activity page's heatmap.
const activityDays = 90

// weekdays name the heatmap's rows, Monday first as store.Heatmap has
// them.
var weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// activityData is the content of the Activity page.
type activityData struct {
	Picker   zonePicker
	From, To string
	Chart    template.HTML
	Total    int
	// Busiest names the hour with the most answers; empty with none.
	Busiest string
	// Hours are the columns of the table of numbers, Rows its rows.
	Hours []string
	Rows  []activityRow
	// HourTotals add up each hour's column.
	HourTotals [24]int
}

// activityRow is a weekday of the table of numbers.
type activityRow struct {
	Day     string
	Answers [24]int
	Total   int
}

// activity shows the answers of the last activityDays days by weekday
// and hour in the zone asked for, as a heatmap, with the numbers below.
func (s *Server) activity(w http.ResponseWriter, r *http.Request, admin chat.User) {
	loc, picker := s.picker(r, "/activity", "Weekdays and hours in the time zone")
	now := s.opts.Now().In(loc)
	from := now.AddDate(0, 0, -activityDays)
	h, err := s.opts.Store.Activity(r.Context(), from, now, loc)
	if err != nil {
		s.trouble(w, r, "count the answers by hour", err)
		return
	}
	d := activityData{Picker: picker, From: from.Format(slotFormat), To: now.Format(slotFormat), Total: h.Total}
	cells := make([][]float64, 7)
	best, bestDay, bestHour := 0, 0, 0
	for day := range 7 {
		row := activityRow{Day: weekdays[day], Answers: h.Answers[day]}
		cells[day] = make([]float64, 24)
		for hour, n := range h.Answers[day] {
			cells[day][hour] = float64(n)
			row.Total += n
			d.HourTotals[hour] += n
			if n > best {
				best, bestDay, bestHour = n, day, hour
			}
		}
		d.Rows = append(d.Rows, row)
	}
	for hour := range 24 {
		d.Hours = append(d.Hours, fmt.Sprintf("%02d", hour))
	}
	if best > 0 {
		d.Busiest = fmt.Sprintf("%s %02d:00–%02d:00, with %s answers", weekdays[bestDay], bestHour, (bestHour+1)%24, thousands(best))
	}
	d.Chart = chart.Heatmap("Answers by weekday and hour ("+picker.Zone+")", weekdays[:], d.Hours, cells)
	s.render(w, http.StatusOK, "activity", page{Title: "Activity", Admin: &admin, Content: d})
}
