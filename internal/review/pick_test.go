package review

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPick(t *testing.T) {
	cands := []Candidate{
		{ID: 7, Due: 12, Stability: 3},
		{ID: 3, Due: 10, Stability: 5},
		{ID: 9, Due: 10, Stability: 0}, // never reviewed: first among day 10
		{ID: 2, Due: 11, Stability: 1},
		{ID: 1, Due: 10, Stability: 5}, // ties with 3: lower id first
	}
	orig := slices.Clone(cands)
	tests := []struct {
		name string
		n    int
		want []int64
	}{
		{"OldestDueThenLeastStableThenID", 3, []int64{9, 1, 3}},
		{"AllWhenNExceedsLen", 10, []int64{9, 1, 3, 2, 7}},
		{"NoneWhenNIsZero", 0, nil},
		{"NoneWhenNIsNegative", -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Pick(cands, tt.n)
			var ids []int64
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("Pick(n=%d) ids = %v, want %v", tt.n, ids, tt.want)
			}
			if !slices.Equal(cands, orig) {
				t.Errorf("Pick changed its input: %v", cands)
			}
		})
	}
	t.Run("EmptyInput", func(t *testing.T) {
		if got := Pick(nil, 3); got != nil {
			t.Errorf("Pick(nil, 3) = %v, want nil", got)
		}
	})
}

// TestPickMatchesFullSort checks the bounded-buffer path and the sort path
// against a plain sort on random inputs with many ties.
func TestPickMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		cands := make([]Candidate, rng.IntN(60))
		for i := range cands {
			cands[i] = Candidate{ID: int64(rng.IntN(1000)), Due: Day(rng.IntN(5)), Stability: float64(rng.IntN(3))}
		}
		want := slices.Clone(cands)
		slices.SortFunc(want, compareCandidates)
		n := rng.IntN(40)
		got := Pick(cands, n)
		if !slices.Equal(got, want[:min(n, len(want))]) {
			t.Fatalf("Pick(%v, %d) = %v, want %v", cands, n, got, want[:min(n, len(want))])
		}
	}
}
