package lesson

import (
	"fmt"
	"sync"
)

// Source keeps the library in service and reloads it. A lesson whose file
// no longer validates stays in service in its last good version; a
// removed file leaves the library. Source is safe for concurrent use.
type Source struct {
	load func() Result

	mu       sync.RWMutex
	lib      *Library
	problems []Problem
}

// NewSource loads the library once with load (such as a LoadDir call)
// and returns a Source that reloads with it.
func NewSource(load func() Result) *Source {
	s := &Source{load: load, lib: NewLibrary(nil)}
	s.Reload()
	return s
}

// Library returns the lessons in service.
func (s *Source) Library() *Library {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lib
}

// Problems returns the problems of the last load.
func (s *Source) Problems() []Problem {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.problems
}

// Reload loads the lessons again and puts them in service, keeping the
// last good version of each lesson whose file now has errors. The result
// holds the library now in service.
func (s *Source) Reload() Result {
	res := s.load()
	s.mu.Lock()
	defer s.mu.Unlock()
	lessons := res.Library.Lessons()
	for id, path := range res.Rejected {
		if old, ok := s.lib.Lookup(id); ok {
			if _, loaded := res.Library.Lookup(id); !loaded {
				lessons = append(lessons, old)
				res.Problems = append(res.Problems, Problem{Path: path, Warning: true,
					Message: fmt.Sprintf("keeping the last good version of %q in service until the errors are fixed", id)})
			}
		}
	}
	res.Library = NewLibrary(lessons)
	s.lib, s.problems = res.Library, res.Problems
	return res
}
