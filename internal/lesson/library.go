package lesson

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Library is a set of valid lessons in delivery order. It is never changed
// after it is made, so it may be shared between goroutines.
type Library struct {
	lessons []*Lesson
	byID    map[string]*Lesson
}

// NewLibrary orders lessons for delivery: dated lessons by date, then by
// id; undated lessons after them, by id.
func NewLibrary(lessons []*Lesson) *Library {
	sorted := append([]*Lesson(nil), lessons...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Date.IsZero() != b.Date.IsZero() {
			return !a.Date.IsZero()
		}
		if !a.Date.Equal(b.Date) {
			return a.Date.Before(b.Date)
		}
		return a.ID < b.ID
	})
	lib := &Library{lessons: sorted, byID: make(map[string]*Lesson, len(sorted))}
	for _, l := range sorted {
		lib.byID[l.ID] = l
	}
	return lib
}

// Lessons returns the lessons in delivery order. The caller must not
// change the slice.
func (lib *Library) Lessons() []*Lesson { return lib.lessons }

// Len returns the number of lessons.
func (lib *Library) Len() int { return len(lib.lessons) }

// Lookup returns the lesson with the given id.
func (lib *Library) Lookup(id string) (*Lesson, bool) {
	l, ok := lib.byID[id]
	return l, ok
}

// A Check is an extra rule run on every lesson that parsed without
// errors, such as "the daily post fits a Telegram message". Each returned
// error becomes a Problem on the lesson's first line.
type Check func(*Lesson) []error

// Result is what loading a folder found.
type Result struct {
	// Library holds every lesson that has no error.
	Library *Library
	// Problems are every error and warning, by file then line.
	Problems []Problem
	// Files is the number of lesson files read.
	Files int
	// Rejected maps the id of each file that has errors to its path.
	Rejected map[string]string
}

// Summary counts the result as "12 lessons, 0 errors, 2 warnings".
func (r Result) Summary() string {
	errs := Errors(r.Problems)
	return fmt.Sprintf("%s, %s, %s", plural(r.Files, "lesson"), plural(errs, "error"), plural(len(r.Problems)-errs, "warning"))
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// LoadDir loads every lesson under dir; see Load.
func LoadDir(dir string, checks ...Check) Result {
	if _, err := os.Stat(dir); err != nil {
		return Result{Library: NewLibrary(nil), Problems: []Problem{{Path: dir, Message: "cannot read the lessons folder: " + errorText(err)}}}
	}
	return Load(os.DirFS(dir), dir, checks...)
}

// Load reads every "*.md" file under the root of fsys, skipping README.md
// and names that start with "." or "_". A broken file never keeps the
// others from loading: the library holds every valid lesson, and the
// problems list every error and warning. Paths in problems are joined to
// dir, the name the caller knows the folder by.
func Load(fsys fs.FS, dir string, checks ...Check) Result {
	res := Result{Rejected: map[string]string{}}
	// First the file names, in walk order; then the files are read, parsed
	// and checked on every core; then, in walk order again, ids are
	// claimed and the results gathered.
	var files []*loaded
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		shown := filepath.Join(dir, filepath.FromSlash(name))
		if err != nil {
			files = append(files, &loaded{shown: shown, problems: []Problem{{Path: shown, Message: "cannot read: " + errorText(err)}}})
			return nil
		}
		base := d.Name()
		if name != "." && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || path.Ext(base) != ".md" || strings.EqualFold(base, "README.md") {
			return nil
		}
		res.Files++
		files = append(files, &loaded{name: name, shown: shown, id: strings.TrimSuffix(base, ".md")})
		return nil
	})

	work := make(chan *loaded)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range work {
				f.load(fsys, checks)
			}
		})
	}
	for _, f := range files {
		if f.name != "" {
			work <- f
		}
	}
	close(work)
	wg.Wait()

	var lessons []*Lesson
	firstPath := map[string]string{}
	for _, f := range files {
		if f.name == "" || f.readFailed {
			res.Problems = append(res.Problems, f.problems...)
			continue
		}
		// A broken file still claims its id, so that its duplicate is
		// reported now rather than once the first file is fixed.
		if first, dup := firstPath[f.id]; dup {
			f.problems = append(f.problems, Problem{Path: f.shown, Line: 1, Message: fmt.Sprintf("duplicate id %q: %s has the same file name", f.id, first)})
			f.lesson = nil
		} else {
			firstPath[f.id] = f.shown
		}
		sort.SliceStable(f.problems, func(i, j int) bool { return f.problems[i].Line < f.problems[j].Line })
		res.Problems = append(res.Problems, f.problems...)
		if f.lesson == nil {
			res.Rejected[f.id] = f.shown
		} else {
			lessons = append(lessons, f.lesson)
		}
	}
	if err != nil {
		res.Problems = append(res.Problems, Problem{Path: dir, Message: "cannot read the lessons folder: " + errorText(err)})
	}
	res.Library = NewLibrary(lessons)
	return res
}

// loaded is one lesson file as Load reads it.
type loaded struct {
	name, shown, id string
	lesson          *Lesson // nil when the file has errors or fails a check
	problems        []Problem
	readFailed      bool
}

// load reads, parses and checks the file.
func (f *loaded) load(fsys fs.FS, checks []Check) {
	src, err := fs.ReadFile(fsys, f.name)
	if err != nil {
		f.readFailed = true
		f.problems = []Problem{{Path: f.shown, Message: "cannot read: " + errorText(err)}}
		return
	}
	f.lesson, f.problems = Parse(f.shown, f.id, src)
	if f.lesson == nil {
		return
	}
	failed := false
	for _, check := range checks {
		for _, err := range check(f.lesson) {
			// A problem is one line; a check may join several errors.
			msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
			f.problems = append(f.problems, Problem{Path: f.shown, Line: 1, Message: msg})
			failed = true
		}
	}
	if failed {
		f.lesson = nil
	}
}

// errorText drops the operation and path that fs errors repeat.
func errorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
