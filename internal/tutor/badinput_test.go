package tutor

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/chat"
)

// badInputs are commands that must be refused with a one-line explanation
// and change nothing; want is the catalog key and arguments of the
// explanation.
var badInputs = []struct {
	name string
	line string
	want key
	args []any
}{
	{"ErrUnknownCommand", "/frobnicate now", keyUnknownCommand, []any{"frobnicate"}},
	{"ErrUnknownCommandNoArgs", "/subscribed", keyUnknownCommand, []any{"subscribed"}},
	{"ErrBadTime", "/time 25:99", keyBadTime, []any{"25:99"}},
	{"ErrBadTimeHour24", "/time 24:00", keyBadTime, []any{"24:00"}},
	{"ErrBadTimeWords", "/time noon", keyBadTime, []any{"noon"}},
	{"ErrBadZone", "/timezone Mars/Olympus", keyBadZone, []any{"Mars/Olympus"}},
	{"ErrBadZoneLocal", "/timezone Local", keyBadZone, []any{"Local"}},
	{"ErrSubscribeBadTime", "/subscribe 25:99", keyBadTime, []any{"25:99"}},
	{"ErrSubscribeBadZone", "/subscribe 07:30 Mars/Olympus", keyBadZone, []any{"Mars/Olympus"}},
	{"ErrSubscribeBadZoneFirst", "/subscribe Mars/Olympus 07:30", keyBadZone, []any{"Mars/Olympus"}},
	{"ErrSubscribeTwoTimes", "/subscribe 07:30 08:30", keyBadSubscribe, []any{"07:30 08:30"}},
	{"ErrSubscribeTwoZones", "/subscribe Europe/Paris UTC", keyBadSubscribe, []any{"Europe/Paris UTC"}},
	{"ErrSubscribeTooManyArgs", "/subscribe 07:30 Europe/Paris daily", keyBadSubscribe, []any{"07:30 Europe/Paris daily"}},
	{"ErrBadLevel", "/level Z9", keyBadLevel, []any{"Z9"}},
	{"ErrBadLevelB3", "/level B3", keyBadLevel, []any{"B3"}},
	{"ErrBadLanguage", "/language de", keyBadLanguage, []any{"de"}},
	{"ErrPauseNotANumber", "/pause abc", keyBadPause, []any{"abc"}},
	{"ErrPauseZero", "/pause 0", keyBadPause, []any{"0"}},
	{"ErrPauseNegative", "/pause -3", keyBadPause, []any{"-3"}},
	{"ErrPauseTooLong", "/pause 366", keyBadPause, []any{"366"}},
	{"ErrBadDays", "/days funday", keyBadDays, []any{"funday"}},
	{"ErrBadDaysRange", "/days mon-funday", keyBadDays, []any{"mon-funday"}},
	{"ErrTooLongTimezone", "/timezone " + strings.Repeat("x", chat.MaxCommandLength+1), keyTooLong, []any{"timezone"}},
	{"ErrTooLongSubscribe", "/subscribe 07:30 " + strings.Repeat("Europe/Paris", 22), keyTooLong, []any{"subscribe"}},
	{"ErrTooLongPause", "/pause " + strings.Repeat("9", 300), keyTooLong, []any{"pause"}},
	{"ErrMissingTime", "/time", keyNoArgs, []any{"time", "/time 07:30"}},
	{"ErrMissingZone", "/timezone", keyNoArgs, []any{"timezone", "/timezone Europe/Paris"}},
	{"ErrMissingDays", "/days", keyNoArgs, []any{"days", keyDaysExample}},
	{"ErrMissingLevel", "/level", keyNoArgs, []any{"level", "/level B1"}},
	{"ErrMissingLanguage", "/language", keyNoArgs, []any{"language", "/language fr"}},
}

// TestBadInput runs every bad input in both languages on a chat with
// settings of its own, and checks the explanation and that the stored
// chat did not change.
func TestBadInput(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			for _, tt := range badInputs {
				t.Run(tt.name, func(t *testing.T) {
					h := newHarness(t)
					ann := inPrivate("7", "Ann")
					h.sendAll(ann, "/language "+lang, "/subscribe 07:30 Europe/Paris", "/days mon-fri", "/level B2", "/pause 3")
					before := h.mustRow(ann.addr)
					got := h.reply(ann, tt.line)
					checkExplanation(t, lang, got, tt.want, tt.args)
					if after := h.mustRow(ann.addr); !reflect.DeepEqual(before, after) {
						t.Errorf("row changed:\n before %+v\n after  %+v", before, after)
					}
					if n := len(h.delivered(ann.addr)); n != 0 {
						t.Errorf("%d lessons delivered", n)
					}
				})
			}
		})
	}
}

// TestBadInputNewChat runs every bad input on a chat the bot has never
// seen, with each language as the configured default: no row is created.
func TestBadInputNewChat(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			for _, tt := range badInputs {
				t.Run(tt.name, func(t *testing.T) {
					s := defaultSettings()
					s.Language = lang
					h := newHarnessWith(t, s)
					ann := inPrivate("7", "Ann")
					checkExplanation(t, lang, h.reply(ann, tt.line), tt.want, tt.args)
					if sub, ok := h.row(ann.addr); ok {
						t.Errorf("a refused command stored %+v", sub)
					}
				})
			}
		})
	}
}

// TestLongArgumentLimit checks the edge of chat.MaxCommandLength: at the
// limit the argument is read (and here refused as a zone), beyond it is
// refused as too long.
func TestLongArgumentLimit(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	at := strings.Repeat("x", chat.MaxCommandLength)
	checkExplanation(t, "en", h.reply(ann, "/timezone "+at), keyBadZone, []any{at})
	checkExplanation(t, "en", h.reply(ann, "/timezone "+at+"x"), keyTooLong, []any{"timezone"})
	// An unknown command is named, cut short when it is long.
	long := strings.Repeat("z", 32)
	checkExplanation(t, "en", h.reply(ann, "/"+long), keyUnknownCommand, []any{long})
	got := h.tutor.Handle(h.ctx, chat.Command{Chat: ann.addr, Kind: ann.kind, From: ann.user, Name: long + "zz"})
	checkExplanation(t, "en", oneText(t, got), keyUnknownCommand, []any{long + "…"})
}

// checkExplanation checks a refusal: the catalog's text for want, one
// line, and in the language asked for (French differs from English).
//
// An argument that is a catalog key stands for its text in the language
// checked, such as an example in that language.
func checkExplanation(t *testing.T, lang, got string, want key, args []any) {
	t.Helper()
	args = slices.Clone(args)
	for i, a := range args {
		if k, ok := a.(key); ok {
			args[i] = say(lang, k)
		}
	}
	if w := say(lang, want, args...); got != w {
		t.Errorf("reply:\n got %q\nwant %q", got, w)
	}
	if strings.TrimSpace(got) == "" || strings.Contains(got, "\n") {
		t.Errorf("want one non-empty line, got %q", got)
	}
	if lang != "en" && got == say("en", want, args...) {
		t.Errorf("reply in English, want %s: %q", lang, got)
	}
	// Every explanation shows the way out: a command to send.
	if want != keyNotAllowed && want != keyAdminOnly && !strings.Contains(got, "/") {
		t.Errorf("no example command in %q", got)
	}
}
