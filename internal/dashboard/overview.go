package dashboard

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/timezone"
)

// overviewData is the content of the Overview page.
type overviewData struct {
	Picker zonePicker
	// Since says when today began, such as "00:00 on Monday 2 March 2026".
	Since string
	// Chats counts the subscribed chats by platform and kind.
	Chats chatTable
	// Lessons counts today's deliveries by the state they ended in, in a
	// fixed order.
	Lessons []figure
	// UnknownMessages counts today's messages that may or may not have
	// arrived.
	UnknownMessages int
	// Pending and Sending count the deliveries in the outbox now.
	Pending, Sending int
	// Answers counts today's quiz answers; Active the learners who
	// answered in the last 24 hours.
	Answers, Active int
	// Growth adds up the chats that came and went over the last 7 days,
	// today included, from WeekFrom.
	Growth   growthRow
	WeekFrom string
	// Waiting says how long the oldest due delivery has waited; empty
	// when none waits.
	Waiting string
}

// figure is a labelled number.
type figure struct {
	Label string
	N     int
}

// chatTable is a table of chats: a row per platform, a column per kind.
type chatTable struct {
	Kinds  []chat.Kind
	Rows   []chatRow
	Totals []int
	Total  int
}

// chatRow is a platform's row of a chatTable.
type chatRow struct {
	Platform string
	Counts   []int
	Total    int
}

// platformOrder ranks the platforms for display; others follow by name.
func platformOrder(p string) int {
	switch p {
	case chat.Telegram:
		return 0
	case chat.Discord:
		return 1
	case chat.Console:
		return 2
	}
	return 3
}

// newChatTable lays out the counts of store.ChatCounts.
func newChatTable(counts map[store.ChatKind]int) chatTable {
	t := chatTable{Kinds: []chat.Kind{chat.Private, chat.Group, chat.Channel}}
	var platforms []string
	for k, n := range counts {
		if n == 0 {
			continue
		}
		if !slices.Contains(t.Kinds, k.Kind) {
			t.Kinds = append(t.Kinds, k.Kind)
		}
		if !slices.Contains(platforms, k.Platform) {
			platforms = append(platforms, k.Platform)
		}
	}
	slices.SortFunc(platforms, func(a, b string) int {
		return cmp.Or(cmp.Compare(platformOrder(a), platformOrder(b)), cmp.Compare(a, b))
	})
	slices.Sort(t.Kinds[3:])
	t.Totals = make([]int, len(t.Kinds))
	for _, p := range platforms {
		row := chatRow{Platform: p, Counts: make([]int, len(t.Kinds))}
		for i, k := range t.Kinds {
			n := counts[store.ChatKind{Platform: p, Kind: k}]
			row.Counts[i] = n
			row.Total += n
			t.Totals[i] += n
		}
		t.Total += row.Total
		t.Rows = append(t.Rows, row)
	}
	return t
}

// zone returns the zone the page asks for with ?tz= (or a form's tz),
// or the default one, and a notice when the one asked for does not exist.
func (s *Server) zone(r *http.Request) (loc *time.Location, name, notice string) {
	if asked := r.FormValue("tz"); asked != "" {
		if loc, name, ok := timezone.Lookup(asked); ok {
			return loc, name, ""
		}
		notice = fmt.Sprintf("There is no time zone %q; the page uses the default one.", asked)
	}
	if loc, name, ok := timezone.Lookup(s.opts.Zone); ok {
		return loc, name, notice
	}
	return time.UTC, "UTC", notice
}

// picker returns the zone the page asks for, with the form that picks
// it, labelled label, for the page at path.
func (s *Server) picker(r *http.Request, path, label string, keep ...param) (*time.Location, zonePicker) {
	loc, name, notice := s.zone(r)
	return loc, zonePicker{Path: path, Label: label, Zone: name, Notice: notice, Keep: keep}
}

// overview shows today's figures, today beginning at midnight in the zone
// asked for. Every figure is a read of an aggregate or of an index range
// that holds only what is counted (store.BenchmarkDashboardReads): the
// outbox's pending rows, the last 24 hours of learners.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, admin chat.User) {
	ctx := r.Context()
	loc, picker := s.picker(r, "/", "Today in the time zone")
	now := s.opts.Now().In(loc)
	today := midnight(now)
	d := overviewData{Picker: picker, Since: today.Format("15:04") + " on " + today.Format(sinceFormat)}

	counts, err := s.opts.Store.ChatCounts(ctx)
	if err != nil {
		s.trouble(w, r, "count the chats", err)
		return
	}
	d.Chats = newChatTable(counts)
	days, err := s.opts.Store.DeliveryHealth(ctx, today, now, loc)
	if err != nil {
		s.trouble(w, r, "count today's lessons", err)
		return
	}
	day := days[len(days)-1]
	d.Lessons = []figure{{"sent", day.Sent}, {"unknown", day.Unknown}, {"failed", day.Failed}}
	if day.Exhausted > 0 {
		d.Lessons = append(d.Lessons, figure{"no lesson left", day.Exhausted})
	}
	d.UnknownMessages = day.UnknownMessages
	queue, err := s.opts.Store.Queue(ctx)
	if err != nil {
		s.trouble(w, r, "read the outbox", err)
		return
	}
	d.Pending, d.Sending = queue.Pending, queue.Sending
	if !queue.OldestDue.IsZero() && !queue.OldestDue.After(now) {
		d.Waiting = age(now.Sub(queue.OldestDue))
	}
	if d.Answers, err = s.opts.Store.AnswerCount(ctx, today); err != nil {
		s.trouble(w, r, "count today's answers", err)
		return
	}
	if d.Active, err = s.opts.Store.ActiveLearners(ctx, now.Add(-24*time.Hour)); err != nil {
		s.trouble(w, r, "count the active learners", err)
		return
	}
	weekFrom := today.AddDate(0, 0, -6)
	growth, err := s.opts.Store.Growth(ctx, weekFrom, now, loc)
	if err != nil {
		s.trouble(w, r, "count the chats that came and went", err)
		return
	}
	for _, g := range growth {
		d.Growth.add(g)
	}
	d.WeekFrom = weekFrom.Format(sinceFormat)
	s.render(w, http.StatusOK, "overview", page{Title: "Overview", Admin: &admin, Content: d})
}

// age writes a wait as people say it: "under a minute", "12 min",
// "3 h 5 min", "2 d 4 h".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
