// Package timezone finds IANA time zones by name, case-insensitively, and
// suggests names for autocompletion.
package timezone

//go:generate go run gen.go

import (
	"strings"
	"time"
)

// Lookup returns the zone whose IANA name matches name case-insensitively
// ("europe/paris" is Europe/Paris), with its canonical spelling.
func Lookup(name string) (*time.Location, string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return nil, "", false
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			loc, err := time.LoadLocation(n)
			if err != nil {
				return nil, "", false
			}
			return loc, n, true
		}
	}
	// Legacy names left out of the list ("US/Eastern", "Etc/GMT+3") still
	// work when spelled exactly.
	if name != "Local" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, name, true
		}
	}
	return nil, "", false
}

// Suggest returns up to limit zone names that contain query
// case-insensitively, those starting with it (or whose city does) first.
func Suggest(query string, limit int) []string {
	q := strings.ToLower(strings.TrimSpace(query))
	var first, rest []string
	for _, n := range names {
		l := strings.ToLower(n)
		city := l[strings.LastIndex(l, "/")+1:]
		switch {
		case strings.HasPrefix(l, q) || strings.HasPrefix(city, q):
			first = append(first, n)
		case strings.Contains(l, q):
			rest = append(rest, n)
		}
	}
	out := append(first, rest...)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
