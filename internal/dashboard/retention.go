package dashboard

import (
	"html/template"
	"math"
	"net/http"
	"strconv"

	"github.com/lessonbot/lessonbot/internal/chart"
	"github.com/lessonbot/lessonbot/internal/chat"
)

// retentionWeeks is how many weekly cohorts the Retention page shows: a
// quarter of a year.
const retentionWeeks = 12

// retentionData is the content of the Retention page.
type retentionData struct {
	// Table is the shaded table, Weeks its cohorts (rows) and weeks since
	// (columns).
	Table template.HTML
	Weeks int
	// Chats counts the chats of all the cohorts shown.
	Chats int
}

// retention shows the weekly cohorts of the last retentionWeeks UTC
// weeks: of the chats that first subscribed in a week, the share that
// answered in each week since.
func (s *Server) retention(w http.ResponseWriter, r *http.Request, admin chat.User) {
	cohorts, err := s.opts.Store.Retention(r.Context(), s.opts.Now(), retentionWeeks)
	if err != nil {
		s.trouble(w, r, "read the cohorts", err)
		return
	}
	d := retentionData{Weeks: len(cohorts)}
	rows := make([]string, len(cohorts))
	cols := make([]string, len(cohorts))
	percents := make([][]float64, len(cohorts))
	for i, c := range cohorts {
		cols[i] = "week " + strconv.Itoa(i)
		d.Chats += c.Chats
		rows[i] = c.Start.Format("2 Jan 2006") + " · " + plural(c.Chats, "chat", "chats")
		percents[i] = make([]float64, len(c.Active))
		for k, n := range c.Active {
			percents[i][k] = math.NaN()
			if c.Chats > 0 {
				percents[i][k] = 100 * float64(n) / float64(c.Chats)
			}
		}
	}
	d.Table = chart.ShadedTable("Share of each weekly cohort's chats with an answer, by week since the cohort's week", rows, cols, percents)
	s.render(w, http.StatusOK, "retention", page{Title: "Retention", Admin: &admin, Content: d})
}
