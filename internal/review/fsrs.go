// Package review holds the learning arithmetic of lessonbot: when a word
// should come back (an FSRS-6 scheduler), which due words fill the few
// review slots of a day, and how local days and streaks are counted.
//
// Everything here is pure and deterministic: no clock, no database, no
// logging. The store saves the plain values this package returns, and the
// tutor passes in the answer time and the learner's zone, so the same code
// runs in production, in unit tests and in the offline simulation.
package review

import (
	"fmt"
	"math"
)

// Grade is the learner's answer as FSRS understands it. The quiz is
// right-or-wrong, so the product only ever uses Again and Good; Hard and Easy
// exist so that stored logs keep FSRS's numbering and stay usable by
// standard FSRS tools.
type Grade int

const (
	// Again is a wrong answer: the word was forgotten.
	Again Grade = 1
	// Hard is a right answer given with effort; unused by the quiz.
	Hard Grade = 2
	// Good is a right answer.
	Good Grade = 3
	// Easy is an effortless right answer; unused by the quiz.
	Easy Grade = 4
)

// GradeOf turns a quiz result into a grade so callers never spell the
// mapping themselves.
func GradeOf(correct bool) Grade {
	if correct {
		return Good
	}
	return Again
}

// The bounds a scheduler accepts and produces.
const (
	// MinRetention and MaxRetention bound the desired retention: the FSRS
	// authors call values outside 0.70–0.97 either crushing in workload or
	// demoralising in failures.
	MinRetention = 0.70
	MaxRetention = 0.97
	// MaxInterval caps an interval at 100 years, as FSRS implementations
	// do, so a very stable word still has a finite due date.
	MaxInterval = 36500
)

// minStability keeps stability positive after any update, as py-fsrs does,
// so that retrievability and intervals stay defined.
const minStability = 0.001

// Difficulty lives in [1, 10] in every FSRS version.
const (
	minDifficulty = 1
	maxDifficulty = 10
)

// weights are the 21 FSRS-6 parameters w0..w20.
type weights [21]float64

// defaultWeights returns the FSRS-6 defaults (the per-parameter medians
// srs-benchmark fitted over about 10,000 Anki collections). A new learner
// has far too few answers to fit their own, and a function rather than a
// package variable keeps them immutable.
func defaultWeights() weights {
	return weights{
		0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666,
		0.796, 1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658,
		0.1542,
	}
}

// Memory is what FSRS knows about one learner's memory of one word. The
// zero value means "never reviewed": the first grade then sets the initial
// stability and difficulty instead of updating them, so the store can keep
// new words with NULL or zero columns.
type Memory struct {
	// Stability is the number of days after which the chance of recall
	// falls to 90 %; 0 when never reviewed.
	Stability float64
	// Difficulty is in [1, 10]; higher means stability grows more slowly.
	Difficulty float64
}

// Reviewed reports whether the word has had a first graded answer; a
// review slot should go to a never-reviewed word first among equally
// overdue ones, and the store needs to tell the two apart.
func (m Memory) Reviewed() bool { return m.Stability > 0 }

// model is the FSRS-6 arithmetic for one set of weights. The scheduler uses
// the defaults; the simulation also builds models with perturbed weights to
// play the part of a real learner's memory.
type model struct {
	w      weights
	decay  float64 // the forgetting curve's exponent, −w20
	factor float64 // chosen so that R(S, S) = 0.9
	// lapseCap divides the old stability to bound the stability after a
	// lapse; see next.
	lapseCap float64
}

func newModel(w weights) model {
	decay := -w[20]
	return model{
		w:        w,
		decay:    decay,
		factor:   math.Pow(0.9, 1/decay) - 1,
		lapseCap: math.Exp(w[17] * w[18]),
	}
}

// retrievability is R(t, S) = (1 + FACTOR·t/S)^DECAY.
func (m model) retrievability(days, stability float64) float64 {
	if stability <= 0 {
		return 0
	}
	if days < 0 {
		days = 0
	}
	return math.Pow(1+m.factor*days/stability, m.decay)
}

func (m model) initialDifficulty(g Grade) float64 {
	return m.w[4] - math.Exp(m.w[5]*float64(g-1)) + 1
}

// first is the memory after the very first grade: S0(G) = w[G−1] and D0(G).
func (m model) first(g Grade) Memory {
	return Memory{
		Stability:  max(m.w[g-1], minStability),
		Difficulty: clampDifficulty(m.initialDifficulty(g)),
	}
}

// next is the memory after grade g given days after the last review. It is
// the long-term formula only: same-day steps are not modelled, because the
// product counts only the first answer of a day.
func (m model) next(mem Memory, days float64, g Grade) Memory {
	if !mem.Reviewed() {
		return m.first(g)
	}
	if days < 0 {
		days = 0
	}
	s, d := mem.Stability, mem.Difficulty
	r := m.retrievability(days, s)
	var ns float64
	if g == Again {
		ns = m.w[11] * math.Pow(d, -m.w[12]) * (math.Pow(s+1, m.w[13]) - 1) * math.Exp(m.w[14]*(1-r))
		// A lapse must not raise stability. py-fsrs bounds it by
		// S/e^(w17·w18), go-fsrs's long-term mode by S. The golden
		// vectors came from py-fsrs, so we follow it; vector C cannot
		// tell the two apart (its S'_f of 1.54 is far below either
		// bound), but TestLapseCap pins the py-fsrs bound where it binds.
		ns = min(ns, s/m.lapseCap)
	} else {
		inc := math.Exp(m.w[8]) * (11 - d) * math.Pow(s, -m.w[9]) * (math.Exp(m.w[10]*(1-r)) - 1)
		switch g {
		case Hard:
			inc *= m.w[15]
		case Easy:
			inc *= m.w[16]
		}
		ns = s * (1 + inc)
	}
	// Difficulty: linear damping of the step, then mean reversion towards
	// D0(Easy) left unclamped (FSRS-6 reverts to the raw −4.77, not to 1).
	delta := -m.w[6] * float64(g-3)
	damped := d + delta*(10-d)/9
	nd := m.w[7]*m.initialDifficulty(Easy) + (1-m.w[7])*damped
	return Memory{Stability: max(ns, minStability), Difficulty: clampDifficulty(nd)}
}

func clampDifficulty(d float64) float64 {
	return min(max(d, minDifficulty), maxDifficulty)
}

// Scheduler turns answers into due dates with FSRS-6, default weights,
// long-term mode and no fuzz. It is a small value, safe to copy and to use
// from many goroutines; make it with NewScheduler, since the zero value has
// no weights.
type Scheduler struct {
	m         model
	retention float64
	// ratio is interval/stability at this retention, computed once.
	ratio float64
}

// NewScheduler makes a scheduler that aims at the given chance of recall on
// the due day. Lower retention stretches intervals sharply under FSRS-6
// (0.85 gives about 1.9×S, 0.80 about 3.3×S), which is why the range is
// bounded.
func NewScheduler(retention float64) (Scheduler, error) {
	if !(retention >= MinRetention && retention <= MaxRetention) {
		return Scheduler{}, fmt.Errorf("must be between %.2f and %.2f, got %v", MinRetention, MaxRetention, retention)
	}
	m := newModel(defaultWeights())
	return Scheduler{
		m:         m,
		retention: retention,
		ratio:     (math.Pow(retention, 1/m.decay) - 1) / m.factor,
	}, nil
}

// Retention reports the desired retention the scheduler was made with, for
// logs and for the review log's calibration later.
func (s Scheduler) Retention() float64 { return s.retention }

// Next returns the memory after grade g, given the whole local days since
// the word's last graded answer (ignored for a never-reviewed word), and
// the interval in days until it is due again. Call it for the first graded
// answer of a local day only: FSRS's long-term formulas assume at most one
// review a day. Negative days (a zone change can make dates go backwards)
// count as 0. A grade outside Again..Easy is a programming error and
// panics.
func (s Scheduler) Next(m Memory, days int, g Grade) (Memory, int) {
	if g < Again || g > Easy {
		panic(fmt.Sprintf("review: grade %d is not 1..4", g))
	}
	n := s.m.next(m, float64(days), g)
	return n, s.Interval(n.Stability)
}

// Interval is the number of days after which recall is expected to fall to
// the desired retention. It is rounded half to even, as py-fsrs does, so
// both agree on every golden vector, and clamped to [1, MaxInterval] so an
// item is never due the day it was answered.
func (s Scheduler) Interval(stability float64) int {
	ivl := math.RoundToEven(stability * s.ratio)
	return int(min(max(ivl, 1), MaxInterval))
}

// Retrievability is the FSRS-6 chance of recall days after the last review
// for a word of the given stability, with the default forgetting curve. It
// is what the review log records as the prediction and what the weekly
// summary adds up as "words known"; a never-reviewed word (stability 0)
// counts as 0.
func Retrievability(days, stability float64) float64 {
	return newModel(defaultWeights()).retrievability(days, stability)
}
