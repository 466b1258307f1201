package review

import (
	"cmp"
	"slices"
)

// Candidate is a due item as Pick needs to see it: just its sort keys, so
// the store can fill it from one indexed query and the simulation from its
// own arrays.
type Candidate struct {
	// ID breaks ties so the order is total and the same on every run.
	ID int64
	// Due is the day the item fell due.
	Due Day
	// Stability is the item's FSRS stability, 0 when never reviewed.
	Stability float64
}

// compareCandidates orders the most deserving item first: the one due the
// longest (a postponed item keeps its place in the queue and FSRS credits
// the late success), then the least stable (a never-reviewed word before
// any reviewed one), then the lower id.
func compareCandidates(a, b Candidate) int {
	if c := cmp.Compare(a.Due, b.Due); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Stability, b.Stability); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// smallPick is the largest n for which Pick keeps a sorted buffer instead
// of sorting everything; a daily message asks for 3 out of hundreds.
const smallPick = 16

// Pick returns the first n due items in review order when more are due
// than fit in the day's slots. Items left out are meant to stay due, not
// to be rescheduled. Pick neither reorders nor keeps cands; it returns a
// new slice of min(n, len(cands)) items, nil when n <= 0.
func Pick(cands []Candidate, n int) []Candidate {
	n = min(n, len(cands))
	if n <= 0 {
		return nil
	}
	if n > smallPick {
		out := slices.Clone(cands)
		slices.SortFunc(out, compareCandidates)
		return slices.Clip(out[:n])
	}
	// Keep the best n seen so far, sorted; each candidate is compared with
	// the worst kept one first, so most are rejected in one comparison.
	out := make([]Candidate, 0, n)
	for _, c := range cands {
		if len(out) == n {
			if compareCandidates(c, out[n-1]) >= 0 {
				continue
			}
			out = out[:n-1]
		}
		i, _ := slices.BinarySearchFunc(out, c, compareCandidates)
		out = slices.Insert(out, i, c)
	}
	return out
}
