package timezone

import "testing"

func TestLookup(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Europe/Paris", "Europe/Paris", true},
		{"europe/paris", "Europe/Paris", true},
		{" AMERICA/NEW_YORK ", "America/New_York", true},
		{"utc", "UTC", true},
		{"US/Eastern", "US/Eastern", true},
		{"Mars/Olympus", "", false},
		{"Local", "", false},
		{"", "", false},
		{"../../etc/passwd", "", false},
	}
	for _, tt := range tests {
		loc, name, ok := Lookup(tt.in)
		if ok != tt.ok || name != tt.want || (ok && loc.String() != tt.want) {
			t.Errorf("Lookup(%q) = %v, %q, %v; want %q, %v", tt.in, loc, name, ok, tt.want, tt.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	got := Suggest("par", 3)
	if len(got) == 0 || got[0] != "America/Paramaribo" && got[0] != "Europe/Paris" {
		t.Fatalf("Suggest(par) = %v", got)
	}
	found := false
	for _, n := range Suggest("paris", 25) {
		found = found || n == "Europe/Paris"
	}
	if !found {
		t.Errorf("Suggest(paris) lacks Europe/Paris")
	}
	if n := len(Suggest("", 25)); n != 25 {
		t.Errorf("Suggest(\"\", 25) returned %d names", n)
	}
	if got := Suggest("zzzz", 25); len(got) != 0 {
		t.Errorf("Suggest(zzzz) = %v", got)
	}
}
