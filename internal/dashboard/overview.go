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
	// Zone is the zone "today" is counted in, ZoneNotice a line about a
	// zone asked for that does not exist.
	Zone, ZoneNotice string
	// Since says when today began, such as "00:00 on Monday 2 March 2026".
	Since string
	// Chats counts the subscribed chats by platform and kind.
	Chats chatTable
	// Lessons counts today's deliveries by state, in a fixed order.
	Lessons []figure
	// UnknownMessages counts today's messages that may or may not have
	// arrived.
	UnknownMessages int
	// Answers counts today's quiz answers.
	Answers int
	// Waiting says how long the oldest due delivery has waited, and on
	// which platform; empty when none waits.
	Waiting, WaitingPlatform string
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

// zone returns the zone the page asks for with ?tz=, or the default one,
// and a notice when the one asked for does not exist.
func (s *Server) zone(r *http.Request) (loc *time.Location, name, notice string) {
	if asked := r.URL.Query().Get("tz"); asked != "" {
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

// overview shows today's figures, today beginning at midnight in the zone
// asked for.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, admin chat.User) {
	ctx := r.Context()
	loc, zone, notice := s.zone(r)
	now := s.opts.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	d := overviewData{Zone: zone, ZoneNotice: notice,
		Since: midnight.Format("15:04") + " on " + midnight.Format("Monday 2 January 2006")}

	counts, err := s.opts.Store.ChatCounts(ctx)
	if err != nil {
		s.trouble(w, r, "count the chats", err)
		return
	}
	d.Chats = newChatTable(counts)
	states, err := s.opts.Store.DeliveryCounts(ctx, midnight)
	if err != nil {
		s.trouble(w, r, "count today's lessons", err)
		return
	}
	d.Lessons = []figure{
		{"sent", states[store.DeliverySent]},
		{"pending", states[store.DeliveryPending]},
		{"sending", states[store.DeliverySending]},
		{"unknown", states[store.DeliveryUnknown]},
		{"failed", states[store.DeliveryFailed]},
	}
	if n := states[store.DeliveryExhausted]; n > 0 {
		d.Lessons = append(d.Lessons, figure{"no lesson left", n})
	}
	if d.UnknownMessages, err = s.opts.Store.UnknownMessages(ctx, midnight); err != nil {
		s.trouble(w, r, "count today's messages of unknown fate", err)
		return
	}
	if d.Answers, err = s.opts.Store.AnswerCount(ctx, midnight); err != nil {
		s.trouble(w, r, "count today's answers", err)
		return
	}
	outbox, err := s.opts.Store.Outbox(ctx, now)
	if err != nil {
		s.trouble(w, r, "read the outbox", err)
		return
	}
	if !outbox.OldestDue.IsZero() {
		d.Waiting, d.WaitingPlatform = age(now.Sub(outbox.OldestDue)), outbox.OldestPlatform
	}
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
