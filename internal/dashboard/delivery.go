package dashboard

import (
	"html/template"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/lessonbot/lessonbot/internal/chart"
	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// deliveryDays is the span of the Delivery page.
const deliveryDays = 30

// deliveryData is the content of the Delivery page.
type deliveryData struct {
	Picker zonePicker
	From   string
	// Counts, Lateness and Limits are the charts: deliveries by state,
	// the lateness of the first message, and the platforms' 429s.
	Counts, Lateness, Limits template.HTML
	// Rows are the days, the latest first; Total adds them up (but for
	// lateness, which does not add up).
	Rows  []deliveryRow
	Total deliveryRow
	// Pending, Sending and Waiting are the outbox now, as on the
	// Overview.
	Pending, Sending int
	Waiting          string
}

// deliveryRow is one day of deliveries, or their sum.
type deliveryRow struct {
	Day                                                          string
	Sent, Failed, Unknown, UnknownMessages, Exhausted, ChatsGone int
	RateLimited                                                  int
	// RetryAfter is the waits the platforms asked for, added up.
	RetryAfter string
	// Measured counts the deliveries whose lateness is known; P50 and
	// P95 are its median and 95th percentile, "–" with none.
	Measured int
	P50, P95 string
}

// add adds a day's counts to a sum.
func (row *deliveryRow) add(d store.DeliveryDay) {
	row.Sent += d.Sent
	row.Failed += d.Failed
	row.Unknown += d.Unknown
	row.UnknownMessages += d.UnknownMessages
	row.Exhausted += d.Exhausted
	row.ChatsGone += d.ChatsGone
	row.RateLimited += d.RateLimited
	row.Measured += d.Measured
}

// delivery shows how the deliveries fared each day of the last
// deliveryDays in the zone asked for: by final state, the chats lost, the
// platforms' rate limits and the lateness against the slot.
func (s *Server) delivery(w http.ResponseWriter, r *http.Request, admin chat.User) {
	loc, picker := s.picker(r, "/delivery", "Days in the time zone")
	now := s.opts.Now().In(loc)
	from := midnight(now).AddDate(0, 0, 1-deliveryDays)
	ctx := r.Context()
	days, err := s.opts.Store.DeliveryHealth(ctx, from, now, loc)
	if err != nil {
		s.trouble(w, r, "read the deliveries' health", err)
		return
	}
	queue, err := s.opts.Store.Queue(ctx)
	if err != nil {
		s.trouble(w, r, "read the outbox", err)
		return
	}
	d := deliveryData{Picker: picker, From: from.Format(dayFormat), Pending: queue.Pending, Sending: queue.Sending}
	if !queue.OldestDue.IsZero() && !queue.OldestDue.After(now) {
		d.Waiting = age(now.Sub(queue.OldestDue))
	}
	labels := make([]string, len(days))
	counts := []chart.Series{{Name: "sent"}, {Name: "failed"}, {Name: "unknown"}, {Name: "no lesson left"}}
	late := []chart.Series{{Name: "median"}, {Name: "95th percentile"}}
	limits := []chart.Series{{Name: "429 answers"}, {Name: "seconds asked to wait"}}
	var retry time.Duration
	for i, day := range days {
		labels[i] = day.Day.Format(shortDay)
		for k, v := range []int{day.Sent, day.Failed, day.Unknown, day.Exhausted} {
			counts[k].Values = append(counts[k].Values, float64(v))
		}
		p50, p95 := math.NaN(), math.NaN()
		if day.Measured > 0 {
			p50, p95 = day.LatenessP50.Seconds(), day.LatenessP95.Seconds()
		}
		late[0].Values = append(late[0].Values, p50)
		late[1].Values = append(late[1].Values, p95)
		limits[0].Values = append(limits[0].Values, float64(day.RateLimited))
		limits[1].Values = append(limits[1].Values, math.Round(day.RetryAfter.Seconds()))
		d.Total.add(day)
		retry += day.RetryAfter
	}
	for _, day := range slices.Backward(days) {
		row := deliveryRow{Day: day.Day.Format(rowDay), RetryAfter: span(day.RetryAfter), P50: "–", P95: "–"}
		row.add(day)
		if day.Measured > 0 {
			row.P50, row.P95 = span(day.LatenessP50), span(day.LatenessP95)
		}
		d.Rows = append(d.Rows, row)
	}
	d.Total.RetryAfter = span(retry)
	d.Counts = chart.Line("Deliveries per day, by the state they ended in", labels, counts)
	d.Lateness = chart.Line("Lateness of each delivery's first message against its slot, in seconds", labels, late)
	d.Limits = chart.Line("The platforms' 429 answers (too many requests) per day, and the seconds they asked to wait", labels, limits)
	s.render(w, http.StatusOK, "delivery", page{Title: "Delivery", Admin: &admin, Content: d})
}
