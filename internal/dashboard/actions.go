package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
)

// maxProblems is how many lesson problems the reload result lists.
const maxProblems = 50

// The Actions page lists the slots with unknown messages of the last
// resendWindow, the latest first, at most maxSlots of them.
const (
	resendWindow = 48 * time.Hour
	maxSlots     = 100
)

// actionsData is the content of the Actions page.
type actionsData struct {
	Picker zonePicker
	// CanReload and CanPreview tell that those actions are offered.
	CanReload, CanPreview bool
	// Reloaded is the result of the reload just done, or nil.
	Reloaded *reloadResult
	// PreviewID is the lesson id asked for; Previewed its preview, or
	// nil; PreviewNotice says why there is none.
	PreviewID     string
	Previewed     *previewResult
	PreviewNotice string
	// Resent is the result of the resend just done, or nil.
	Resent *resentResult
	// Slots are the slots with unknown messages since SlotsSince; More
	// counts those left out.
	Slots      []slotRow
	More       int
	SlotsSince string
}

// reloadResult is what a reload found.
type reloadResult struct {
	// Summary counts the files, errors and warnings; InService the
	// lessons now in service.
	Summary   string
	InService int
	// Problems lists up to maxProblems problems; More counts the rest.
	Problems []string
	More     int
}

// previewResult is a lesson's messages as the bot sends them.
type previewResult struct {
	ID, Title string
	Messages  []string
}

// resentResult is what a resend put back in the queue.
type resentResult struct {
	Slot       string
	Deliveries int
	Woken      bool
}

// slotRow is a slot with messages that may or may not have arrived.
type slotRow struct {
	// Slot is the slot's time in the page's zone, Unix its value for the
	// form.
	Slot string
	Unix int64
	// Deliveries counts the slot's deliveries, Open those not ended yet;
	// Sent and Failed those that ended so; Unknown the messages of
	// unknown fate.
	Deliveries, Open, Sent, Failed, Unknown int
}

// actionsPage reads what the Actions page shows besides the result of an
// action.
func (s *Server) actionsPage(w http.ResponseWriter, r *http.Request) (actionsData, bool) {
	loc, picker := s.picker(r, "/actions", "Slot times in the time zone")
	d := actionsData{Picker: picker, CanReload: s.opts.Reload != nil, CanPreview: s.opts.Preview != nil}
	since := s.opts.Now().Add(-resendWindow)
	d.SlotsSince = since.In(loc).Format(slotFormat)
	outcomes, err := s.opts.Store.SlotOutcomes(r.Context(), since)
	if err != nil {
		s.trouble(w, r, "read the slots", err)
		return d, false
	}
	for _, o := range slices.Backward(outcomes) {
		if o.Unknown == 0 {
			continue
		}
		if len(d.Slots) == maxSlots {
			d.More++
			continue
		}
		d.Slots = append(d.Slots, slotRow{Slot: o.Slot.In(loc).Format(slotFormat), Unix: o.Slot.Unix(),
			Deliveries: o.Deliveries, Open: o.Open, Sent: o.Sent, Failed: o.Failed, Unknown: o.Unknown})
	}
	return d, true
}

func (s *Server) actions(w http.ResponseWriter, r *http.Request, admin chat.User) {
	d, ok := s.actionsPage(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin, Content: d})
}

// reload reads the lessons folder again, as /reload and SIGHUP do, and
// shows what it found.
func (s *Server) reload(w http.ResponseWriter, r *http.Request, admin chat.User) {
	if s.opts.Reload == nil {
		s.notFound(w, r)
		return
	}
	res := s.opts.Reload()
	out := &reloadResult{Summary: res.Summary()}
	if res.Library != nil {
		out.InService = res.Library.Len()
	}
	s.opts.Log.Info("lessons reloaded from the dashboard", "platform", admin.Platform, "user_id", admin.ID,
		"summary", out.Summary, "in_service", out.InService)
	for i, p := range res.Problems {
		if i == maxProblems {
			out.More = len(res.Problems) - i
			break
		}
		out.Problems = append(out.Problems, p.String())
	}
	d, ok := s.actionsPage(w, r)
	if !ok {
		return
	}
	d.Reloaded = out
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin, Content: d})
}

// preview shows a lesson in service as the bot sends it, as text. It is a
// POST, as every action is, though it changes nothing.
func (s *Server) preview(w http.ResponseWriter, r *http.Request, admin chat.User) {
	if s.opts.Preview == nil {
		s.notFound(w, r)
		return
	}
	d, ok := s.actionsPage(w, r)
	if !ok {
		return
	}
	id := strings.TrimSpace(r.PostFormValue("id"))
	d.PreviewID = id
	var l *lesson.Lesson
	if lesson.ValidID(id) {
		l, _ = s.library().Lookup(id)
	}
	switch {
	case id == "":
		d.PreviewNotice = "Type the id of a lesson: its file name without .md."
	case l == nil:
		d.PreviewNotice = fmt.Sprintf("There is no lesson %q in service; the Lessons page lists them.", id)
	default:
		d.Previewed = &previewResult{ID: l.ID, Title: l.Title, Messages: s.opts.Preview(l)}
	}
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin, Content: d})
}

// resendData is the content of the page that asks to confirm a resend.
type resendData struct {
	Zone string
	Slot string
	Unix int64
	// Deliveries and Messages count what the resend would put back and
	// send again.
	Deliveries, Messages int
}

// slotOf reads the slot of a resend form, in unix seconds.
func slotOf(r *http.Request) (time.Time, bool) {
	v, err := strconv.ParseInt(r.PostFormValue("slot"), 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}, false
	}
	return time.Unix(v, 0), true
}

// confirmResend asks before resending the unknown messages of a slot:
// how many deliveries it would try again, and that a message that did
// arrive would arrive twice. It changes nothing.
func (s *Server) confirmResend(w http.ResponseWriter, r *http.Request, admin chat.User) {
	slot, ok := slotOf(r)
	if !ok {
		s.say(w, http.StatusBadRequest, "Resend unknown messages", "The form named no slot; go back to Actions and pick one.", "", &admin)
		return
	}
	loc, name, _ := s.zone(r)
	n, msgs, err := s.opts.Store.Resendable(r.Context(), slot)
	if err != nil {
		s.trouble(w, r, "count what the slot would resend", err)
		return
	}
	d := resendData{Zone: name, Slot: slot.In(loc).Format(slotFormat), Unix: slot.Unix(), Deliveries: n, Messages: msgs}
	s.render(w, http.StatusOK, "resend", page{Title: "Resend unknown messages", Section: "Actions", Admin: &admin, Content: d})
}

// resend puts the deliveries of a slot whose last messages may or may
// not have arrived back in the queue, and wakes the delivery pool.
func (s *Server) resend(w http.ResponseWriter, r *http.Request, admin chat.User) {
	slot, ok := slotOf(r)
	if !ok {
		s.say(w, http.StatusBadRequest, "Resend unknown messages", "The form named no slot; go back to Actions and pick one.", "", &admin)
		return
	}
	n, err := s.opts.Store.ResendUnknown(r.Context(), slot)
	if err != nil {
		s.trouble(w, r, "put the slot's deliveries back in the queue", err)
		return
	}
	woken := n > 0 && s.opts.Wake != nil
	if woken {
		s.opts.Wake()
	}
	s.opts.Log.Info("unknown messages resent from the dashboard", "platform", admin.Platform, "user_id", admin.ID,
		"slot", slot.UTC().Format(time.RFC3339), "deliveries", n)
	d, ok := s.actionsPage(w, r)
	if !ok {
		return
	}
	loc, _, _ := s.zone(r)
	d.Resent = &resentResult{Slot: slot.In(loc).Format(slotFormat), Deliveries: n, Woken: woken}
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin, Content: d})
}
