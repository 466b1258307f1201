package dashboard

import (
	"net/http"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// maxProblems is how many lesson problems the reload result lists.
const maxProblems = 50

// actionsData is the content of the Actions page.
type actionsData struct {
	// CanReload tells that the reload action is offered.
	CanReload bool
	// Reloaded is the result of the reload just done, or nil.
	Reloaded *reloadResult
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

func (s *Server) actions(w http.ResponseWriter, r *http.Request, admin chat.User) {
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin,
		Content: actionsData{CanReload: s.opts.Reload != nil}})
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
	s.render(w, http.StatusOK, "actions", page{Title: "Actions", Admin: &admin,
		Content: actionsData{CanReload: true, Reloaded: out}})
}
