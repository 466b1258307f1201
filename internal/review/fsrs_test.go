package review

import (
	"math"
	"strings"
	"testing"
)

const tol = 1e-4

// step is one graded answer of a golden vector and what py-fsrs 6.3.1
// reported after it (learning_steps=(), relearning_steps=(), no fuzz).
// A NaN field is not given by the reference and is not checked.
type step struct {
	day     int
	grade   Grade
	wantR   float64 // retrievability just before the answer
	wantS   float64
	wantD   float64
	wantIvl int // 0: not given
}

var nan = math.NaN()

// Vector F (a second answer 30 minutes after the first, same day) uses the
// short-term formula, which this package deliberately does not implement:
// the product only counts the first answer of a local day.
var goldenVectors = []struct {
	name      string
	retention float64
	steps     []step
}{
	{"A_GoodTimesFour", 0.9, []step{
		{day: 0, grade: Good, wantR: nan, wantS: 2.3065, wantD: 2.1181, wantIvl: 2},
		{day: 2, grade: Good, wantR: 0.9095, wantS: 10.9643, wantD: 2.1112, wantIvl: 11},
		{day: 13, grade: Good, wantR: 0.8998, wantS: 46.2802, wantD: 2.1043, wantIvl: 46},
		{day: 59, grade: Good, wantR: 0.9004, wantS: 162.8622, wantD: 2.0975, wantIvl: 163},
	}},
	{"B_AgainThenGood", 0.9, []step{
		{day: 0, grade: Again, wantR: nan, wantS: 0.2120, wantD: 6.4133, wantIvl: 1},
		{day: 1, grade: Good, wantR: 0.7662, wantS: 1.8868, wantD: 6.4021, wantIvl: 2},
		{day: 3, grade: Good, wantR: 0.8959, wantS: 6.2692, wantD: 6.3909, wantIvl: 6},
		{day: 9, grade: Good, wantR: 0.9030, wantS: 17.3792, wantD: 6.3798, wantIvl: 17},
	}},
	{"C_Lapse", 0.9, []step{
		{day: 0, grade: Good, wantR: nan, wantS: 2.3065, wantD: nan},
		{day: 2, grade: Good, wantR: nan, wantS: 10.9643, wantD: nan},
		{day: 13, grade: Again, wantR: 0.8998, wantS: 1.5383, wantD: 7.3922, wantIvl: 2},
		{day: 15, grade: Good, wantR: 0.8810, wantS: 4.8763, wantD: 7.3801, wantIvl: 5},
	}},
	{"D_Retention080", 0.8, []step{
		{day: 0, grade: Good, wantR: nan, wantS: 2.3065, wantD: nan, wantIvl: 8},
		{day: 8, grade: Good, wantR: 0.7957, wantS: 22.7682, wantD: nan, wantIvl: 75},
	}},
	{"E_Overdue", 0.9, []step{
		{day: 0, grade: Good, wantR: nan, wantS: nan, wantD: nan, wantIvl: 2},
		{day: 30, grade: Good, wantR: 0.6675, wantS: 37.4206, wantD: 2.1112, wantIvl: 37},
	}},
}

func TestSchedulerGoldenVectors(t *testing.T) {
	for _, v := range goldenVectors {
		t.Run(v.name, func(t *testing.T) {
			s, err := NewScheduler(v.retention)
			if err != nil {
				t.Fatal(err)
			}
			var m Memory
			last := 0
			for _, st := range v.steps {
				if r := Retrievability(float64(st.day-last), m.Stability); !math.IsNaN(st.wantR) && math.Abs(r-st.wantR) > tol {
					t.Errorf("day %d: R before = %.4f, want %.4f", st.day, r, st.wantR)
				}
				var ivl int
				m, ivl = s.Next(m, st.day-last, st.grade)
				last = st.day
				if !math.IsNaN(st.wantS) && math.Abs(m.Stability-st.wantS) > tol {
					t.Errorf("day %d: S = %.4f, want %.4f", st.day, m.Stability, st.wantS)
				}
				if !math.IsNaN(st.wantD) && math.Abs(m.Difficulty-st.wantD) > tol {
					t.Errorf("day %d: D = %.4f, want %.4f", st.day, m.Difficulty, st.wantD)
				}
				if st.wantIvl != 0 && ivl != st.wantIvl {
					t.Errorf("day %d: interval = %d, want %d", st.day, ivl, st.wantIvl)
				}
			}
		})
	}
}

func TestRetrievabilityCurve(t *testing.T) {
	want := map[float64]float64{1: 0.9857, 5: 0.9403, 10: 0.9000, 20: 0.8459, 50: 0.7605, 100: 0.6928}
	for days, r := range want {
		if got := Retrievability(days, 10); math.Abs(got-r) > tol {
			t.Errorf("R(%v, 10) = %.4f, want %.4f", days, got, r)
		}
	}
	if got := Retrievability(5, 0); got != 0 {
		t.Errorf("R of a never-reviewed word = %v, want 0", got)
	}
	if got := Retrievability(-3, 10); got != 1 {
		t.Errorf("R at negative days = %v, want 1", got)
	}
}

// TestLapseCap pins the py-fsrs bound S/e^(w17·w18) in a case where it
// binds: a word failed on its first answer, then failed again years later,
// when the lapse formula alone would raise stability above the old value.
func TestLapseCap(t *testing.T) {
	s, err := NewScheduler(0.9)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Next(Memory{}, 0, Again)
	w := defaultWeights()
	d := m.Difficulty
	r := Retrievability(1000, m.Stability)
	uncapped := w[11] * math.Pow(d, -w[12]) * (math.Pow(m.Stability+1, w[13]) - 1) * math.Exp(w[14]*(1-r))
	if uncapped <= m.Stability {
		t.Fatalf("test case does not exercise the cap: uncapped %.4f <= S %.4f", uncapped, m.Stability)
	}
	got, _ := s.Next(m, 1000, Again)
	want := 0.212 / math.Exp(0.5425*0.0912)
	if math.Abs(got.Stability-want) > 1e-9 {
		t.Errorf("S after capped lapse = %.6f, want %.6f (py-fsrs bound; go-fsrs long-term would give %.4f)", got.Stability, want, m.Stability)
	}
}

func TestNewScheduler(t *testing.T) {
	for _, r := range []float64{0.70, 0.85, 0.97} {
		t.Run("OK", func(t *testing.T) {
			s, err := NewScheduler(r)
			if err != nil {
				t.Fatalf("NewScheduler(%v): %v", r, err)
			}
			if s.Retention() != r {
				t.Errorf("Retention() = %v, want %v", s.Retention(), r)
			}
		})
	}
	for _, r := range []float64{0.69, 0.98, 0, 1, math.NaN(), math.Inf(1)} {
		t.Run("ErrOutOfRange", func(t *testing.T) {
			_, err := NewScheduler(r)
			if err == nil {
				t.Fatalf("NewScheduler(%v): no error", r)
			}
			if !strings.Contains(err.Error(), "0.70 and 0.97") {
				t.Errorf("error %q does not state the allowed range", err)
			}
		})
	}
}

func TestSchedulerIntervals(t *testing.T) {
	s, err := NewScheduler(0.85)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ClampedToOneDay", func(t *testing.T) {
		if got := s.Interval(0.01); got != 1 {
			t.Errorf("Interval(0.01) = %d, want 1", got)
		}
	})
	t.Run("ClampedToMax", func(t *testing.T) {
		if got := s.Interval(1e9); got != MaxInterval {
			t.Errorf("Interval(1e9) = %d, want %d", got, MaxInterval)
		}
	})
	t.Run("LowerRetentionLongerInterval", func(t *testing.T) {
		// §1.3: interval/S is about 1.91 at r = 0.85 and 3.32 at r = 0.80.
		if got := s.Interval(100); got != 191 {
			t.Errorf("Interval(100) at 0.85 = %d, want 191", got)
		}
		s80, _ := NewScheduler(0.80)
		if got := s80.Interval(100); got != 332 {
			t.Errorf("Interval(100) at 0.80 = %d, want 332", got)
		}
	})
	t.Run("NegativeDaysCountAsZero", func(t *testing.T) {
		m, _ := s.Next(Memory{}, 0, Good)
		a, _ := s.Next(m, -2, Good)
		b, _ := s.Next(m, 0, Good)
		if a != b {
			t.Errorf("Next at -2 days = %+v, at 0 days = %+v", a, b)
		}
		if b.Stability != m.Stability {
			t.Errorf("a same-day Good changed S from %v to %v", m.Stability, b.Stability)
		}
	})
	t.Run("PanicOnBadGrade", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Next with grade 0 did not panic")
			}
		}()
		s.Next(Memory{}, 0, 0)
	})
}

func TestGradeOf(t *testing.T) {
	if GradeOf(true) != Good || GradeOf(false) != Again {
		t.Errorf("GradeOf(true), GradeOf(false) = %v, %v; want Good, Again", GradeOf(true), GradeOf(false))
	}
	if (Memory{}).Reviewed() {
		t.Error("zero Memory reports Reviewed")
	}
}
