package store

import (
	"context"
	"testing"
)

func TestValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)

	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := s.Value(ctx, "telegram.offset"); err != ErrNotFound {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	steps := []struct {
		name, key, value string
	}{
		{"OKSet", "telegram.offset", "100"},
		{"OKReplace", "telegram.offset", "101"},
		{"OKEmpty", "other", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := s.SetValue(ctx, st.key, st.value); err != nil {
				t.Fatal(err)
			}
			got, err := s.Value(ctx, st.key)
			if err != nil || got != st.value {
				t.Errorf("Value(%q) = %q, %v; want %q", st.key, got, err, st.value)
			}
		})
	}
}
