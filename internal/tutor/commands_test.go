package tutor

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/store"
)

var paris = mustZone("Europe/Paris")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestStartAndHelp(t *testing.T) {
	userCommands := []string{"/help", "/subscribe", "/unsubscribe", "/pause", "/resume", "/settings", "/time",
		"/timezone", "/days", "/level", "/language", "/lesson", "/read", "/quiz", "/score", "/leaderboard",
		"/review", "/summary", "/export", "/deletemydata"}
	adminCommands := []string{"/stats", "/reload", "/preview", "/dashboard"}
	tests := []struct {
		name      string
		from      sender
		lang      string
		line      string
		wantAdmin bool
	}{
		{"OKStart", inPrivate("7", "Ann"), "en", "/start", false},
		{"OKHelp", inPrivate("7", "Ann"), "en", "/help", false},
		{"OKHelpFrench", inPrivate("7", "Ann"), "fr", "/help", false},
		{"OKHelpInGroup", inGroup("-100", "7", "Ann", true), "en", "/help", false},
		{"OKAdminHelp", inPrivate(adminID, "Root"), "en", "/help", true},
		{"OKAdminStartFrench", inPrivate(adminID, "Root"), "fr", "/start", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.lang == "fr" {
				h.sendAll(tt.from, "/language fr")
			}
			msgs := h.send(tt.from, tt.line)
			if len(msgs) != 1 {
				t.Fatalf("want one message, got %+v", msgs)
			}
			blocks := msgs[0].Blocks
			wantBlocks := 2
			if tt.wantAdmin {
				wantBlocks = 3
			}
			if len(blocks) != wantBlocks {
				t.Fatalf("got %d blocks, want %d: %+v", len(blocks), wantBlocks, blocks)
			}
			if blocks[0].Text != say(tt.lang, keyWelcome) {
				t.Errorf("welcome = %q", blocks[0].Text)
			}
			lines := strings.Split(blocks[1].Text, "\n")
			if lines[0] != say(tt.lang, keyCommands) {
				t.Errorf("first line %q, want %q", lines[0], say(tt.lang, keyCommands))
			}
			if got, want := len(lines)-1, len(userCommands); got != want {
				t.Errorf("%d command lines, want %d:\n%s", got, want, blocks[1].Text)
			}
			for i, name := range userCommands {
				if i+1 < len(lines) && !strings.HasPrefix(lines[i+1], name+" ") && !strings.HasPrefix(lines[i+1], name+":") {
					t.Errorf("line %d = %q, want %s first", i+1, lines[i+1], name)
				}
			}
			all := allText(msgs)
			for _, name := range adminCommands {
				if got := strings.Contains(all, name); got != tt.wantAdmin {
					t.Errorf("help mentions %s: %v, want %v", name, got, tt.wantAdmin)
				}
			}
			if tt.wantAdmin {
				want := say(tt.lang, keyAdminHelp) + "\n" + say(tt.lang, keyHelpStats) + "\n" + say(tt.lang, keyHelpReload) + "\n" + say(tt.lang, keyHelpPreview) +
					"\n" + say(tt.lang, keyHelpDashboard)
				if blocks[2].Text != want {
					t.Errorf("admin block = %q, want %q", blocks[2].Text, want)
				}
			}
		})
	}
}

func TestSubscribe(t *testing.T) {
	const (
		bakeryNext = `Next lesson: "` + bakeryTitle + `", `
		riverNext  = `Next lesson: "` + riverTitle + `", `
	)
	tests := []struct {
		name   string
		before []string
		line   string
		want   string
		// The stored settings.
		hour, minute int
		zone         string
		days         store.Weekdays
		level        string
	}{
		{name: "OKDefaults", line: "/subscribe",
			want: "Subscribed: a lesson at 08:00 (UTC), every day.\n" + bakeryNext + "Tuesday 3 March at 08:00.",
			hour: 8, zone: "UTC"},
		{name: "OKTimeAndZone", line: "/subscribe 07:30 Europe/Paris",
			want: "Subscribed: a lesson at 07:30 (Europe/Paris), every day.\n" + bakeryNext + "Tuesday 3 March at 07:30.",
			hour: 7, minute: 30, zone: "Europe/Paris"},
		{name: "OKZoneCaseInsensitive", line: "/subscribe 07:30 europe/paris",
			want: "Subscribed: a lesson at 07:30 (Europe/Paris), every day.\n" + bakeryNext + "Tuesday 3 March at 07:30.",
			hour: 7, minute: 30, zone: "Europe/Paris"},
		{name: "OKTimeOnly", line: "/subscribe 12:15",
			want: "Subscribed: a lesson at 12:15 (UTC), every day.\n" + bakeryNext + "Monday 2 March at 12:15.",
			hour: 12, minute: 15, zone: "UTC"},
		{name: "OKShortTime", line: "/subscribe 7:05",
			want: "Subscribed: a lesson at 07:05 (UTC), every day.\n" + bakeryNext + "Tuesday 3 March at 07:05.",
			hour: 7, minute: 5, zone: "UTC"},
		{name: "OKZoneOnly", line: "/subscribe AMERICA/NEW_YORK",
			// 05:00 in New York: today's 08:00 is still to come.
			want: "Subscribed: a lesson at 08:00 (America/New_York), every day.\n" + bakeryNext + "Monday 2 March at 08:00.",
			hour: 8, zone: "America/New_York"},
		{name: "OKZoneThenTime", line: "/subscribe Asia/Tokyo 07:05",
			// 19:00 in Tokyo: the next 07:05 is tomorrow.
			want: "Subscribed: a lesson at 07:05 (Asia/Tokyo), every day.\n" + bakeryNext + "Tuesday 3 March at 07:05.",
			hour: 7, minute: 5, zone: "Asia/Tokyo"},
		{name: "OKUpdatesSubscribed", before: []string{"/subscribe 07:30 Europe/Paris"}, line: "/subscribe 21:00 Asia/Tokyo",
			want: "Subscribed: a lesson at 21:00 (Asia/Tokyo), every day.\n" + bakeryNext + "Monday 2 March at 21:00.",
			hour: 21, zone: "Asia/Tokyo"},
		{name: "OKUpdatesTimeKeepsZone", before: []string{"/subscribe 07:30 Europe/Paris"}, line: "/subscribe 18:45",
			want: "Subscribed: a lesson at 18:45 (Europe/Paris), every day.\n" + bakeryNext + "Monday 2 March at 18:45.",
			hour: 18, minute: 45, zone: "Europe/Paris"},
		{name: "OKKeepsDaysAndLevel", before: []string{"/days mon-fri", "/level B1"}, line: "/subscribe",
			want: "Subscribed: a lesson at 08:00 (UTC), on mon-fri.\n" + riverNext + "Tuesday 3 March at 08:00.",
			hour: 8, zone: "UTC", days: 0x3e, level: "B1"},
		{name: "OKWeekendOnly", before: []string{"/days sat,sun"}, line: "/subscribe 07:30 Europe/Paris",
			want: "Subscribed: a lesson at 07:30 (Europe/Paris), on sat,sun.\n" + bakeryNext + "Saturday 7 March at 07:30.",
			hour: 7, minute: 30, zone: "Europe/Paris", days: 0x41},
		{name: "OKAfterUnsubscribe", before: []string{"/subscribe 06:00", "/unsubscribe"}, line: "/subscribe",
			want: "Subscribed: a lesson at 06:00 (UTC), every day.\n" + bakeryNext + "Tuesday 3 March at 06:00.",
			hour: 6, zone: "UTC"},
		{name: "OKEndsPause", before: []string{"/subscribe 07:30 Europe/Paris", "/pause"}, line: "/subscribe",
			want: "Subscribed: a lesson at 07:30 (Europe/Paris), every day.\n" + bakeryNext + "Tuesday 3 March at 07:30.",
			hour: 7, minute: 30, zone: "Europe/Paris"},
		{name: "OKFrench", before: []string{"/language fr"}, line: "/subscribe 07:30 Europe/Paris",
			want: "Abonnement activé : une leçon à 07:30 (Europe/Paris), tous les jours.\nProchaine leçon : « " + bakeryTitle + " », mardi 3 mars à 07:30.",
			hour: 7, minute: 30, zone: "Europe/Paris"},
		{name: "OKAllDelivered", before: []string{"/level C1", "/lesson"}, line: "/subscribe",
			// The only C1-or-unlevelled lesson is the one just sent.
			want: "Subscribed: a lesson at 08:00 (UTC), every day.\nNext lesson: Tuesday 3 March at 08:00, as soon as a new lesson is added.",
			hour: 8, zone: "UTC", level: "C1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, tt.before...)
			before, existed := h.row(ann.addr)
			if got := h.reply(ann, tt.line); got != tt.want {
				t.Errorf("reply:\n got %q\nwant %q", got, tt.want)
			}
			sub := h.mustRow(ann.addr)
			days := tt.days
			if days == 0 {
				days = store.EveryDay
			}
			if !sub.Active || !sub.PausedUntil.IsZero() || sub.Hour != tt.hour || sub.Minute != tt.minute ||
				sub.Zone != tt.zone || sub.Weekdays != days || sub.Level != tt.level {
				t.Errorf("stored %+v, want active at %02d:%02d %s on %v, level %q, not paused", sub, tt.hour, tt.minute, tt.zone, days, tt.level)
			}
			if existed && sub.ID != before.ID {
				t.Errorf("row id changed from %d to %d", before.ID, sub.ID)
			}
			if sub.CreatedBy != "7" || sub.Kind != chat.Private {
				t.Errorf("created by %q, kind %q", sub.CreatedBy, sub.Kind)
			}
		})
	}
}

// TestSubscribeAcrossDST checks that the reply gives the time the lesson
// really comes on the days Paris changes clocks: 02:30 does not exist on
// 29 March 2026 and happens twice on 25 October 2026.
func TestSubscribeAcrossDST(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"OKSpringForward", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), "Sunday 29 March at 03:00"},
		{"OKAfterSpringForward", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "Monday 30 March at 02:30"},
		{"OKFallBack", time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), "Sunday 25 October at 02:30"},
		{"OKAfterFallBack", time.Date(2026, 10, 25, 1, 45, 0, 0, time.UTC), "Monday 26 October at 02:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setClock(tt.now)
			ann := inPrivate("7", "Ann")
			want := "Subscribed: a lesson at 02:30 (Europe/Paris), every day.\nNext lesson: \"" + bakeryTitle + "\", " + tt.want + "."
			if got := h.reply(ann, "/subscribe 02:30 Europe/Paris"); got != want {
				t.Errorf("reply:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		want   key
		row    bool // the chat has a row afterwards
		active bool
	}{
		{"OK", []string{"/subscribe 07:30 Europe/Paris"}, keyUnsubscribed, true, false},
		{"ErrNotSubscribed", nil, keyNotSubscribed, false, false},
		{"ErrAlreadyUnsubscribed", []string{"/subscribe", "/unsubscribe"}, keyNotSubscribed, true, false},
		{"ErrOnlyAskedForALesson", []string{"/lesson"}, keyNotSubscribed, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, tt.before...)
			before, _ := h.row(ann.addr)
			if got, want := h.reply(ann, "/unsubscribe"), say("en", tt.want); got != want {
				t.Errorf("reply %q, want %q", got, want)
			}
			after, ok := h.row(ann.addr)
			if ok != tt.row {
				t.Fatalf("row exists: %v, want %v", ok, tt.row)
			}
			if !ok {
				return
			}
			if after.Active != tt.active {
				t.Errorf("active = %v, want %v", after.Active, tt.active)
			}
			// Only Active changes: the settings stay for a later /subscribe.
			before.Active = after.Active
			if !reflect.DeepEqual(before, after) {
				t.Errorf("row changed beyond Active:\n before %+v\n after  %+v", before, after)
			}
		})
	}
}

func TestPause(t *testing.T) {
	thursday := time.Date(2026, 3, 5, 0, 0, 0, 0, paris)
	tests := []struct {
		name       string
		lang       string
		line       string
		want       string
		until      time.Time
		settings   string // a line /settings then shows
		settingsTo string // the /settings next-lesson line
	}{
		{name: "OKUntilResume", lang: "en", line: "/pause", want: "Paused until you send /resume.", until: forever,
			settings: "Paused until /resume", settingsTo: "No lesson is scheduled."},
		{name: "OKDays", lang: "en", line: "/pause 3", want: "Paused until Thursday 5 March. Send /resume to start again sooner.", until: thursday,
			settings: "Paused until Thursday 5 March", settingsTo: `Next lesson: "` + bakeryTitle + `", Thursday 5 March at 07:30.`},
		{name: "OKOneDay", lang: "en", line: "/pause 1", want: "Paused until Tuesday 3 March. Send /resume to start again sooner.",
			until:    time.Date(2026, 3, 3, 0, 0, 0, 0, paris),
			settings: "Paused until Tuesday 3 March", settingsTo: `Next lesson: "` + bakeryTitle + `", Tuesday 3 March at 07:30.`},
		{name: "OKLongest", lang: "en", line: "/pause 365", want: "Paused until Tuesday 2 March. Send /resume to start again sooner.",
			until:    time.Date(2027, 3, 2, 0, 0, 0, 0, paris),
			settings: "Paused until Tuesday 2 March", settingsTo: `Next lesson: "` + bakeryTitle + `", Tuesday 2 March at 07:30.`},
		{name: "OKDaysFrench", lang: "fr", line: "/pause 3", want: "En pause jusqu'au jeudi 5 mars. Envoyez /resume pour reprendre plus tôt.", until: thursday,
			settings: "En pause jusqu'au jeudi 5 mars", settingsTo: "Prochaine leçon : « " + bakeryTitle + " », jeudi 5 mars à 07:30."},
		{name: "OKUntilResumeFrench", lang: "fr", line: "/pause", want: "En pause jusqu'à ce que vous envoyiez /resume.", until: forever,
			settings: "En pause jusqu'à /resume", settingsTo: "Aucune leçon n'est prévue."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, "/language "+tt.lang, "/subscribe 07:30 Europe/Paris")
			if got := h.reply(ann, tt.line); got != tt.want {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
			sub := h.mustRow(ann.addr)
			if !sub.PausedUntil.Equal(tt.until) || !sub.Active {
				t.Errorf("paused until %v (active %v), want %v", sub.PausedUntil, sub.Active, tt.until)
			}
			settings := strings.Split(allText(h.send(ann, "/settings")), "\n")
			if !containsLine(settings, tt.settings) {
				t.Errorf("/settings has no line %q: %q", tt.settings, settings)
			}
			if last := settings[len(settings)-1]; last != tt.settingsTo {
				t.Errorf("/settings ends %q, want %q", last, tt.settingsTo)
			}
		})
	}
	t.Run("ErrNotSubscribed", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		if got, want := h.reply(ann, "/pause 3"), say("en", keyNotSubscribed); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
		if _, ok := h.row(ann.addr); ok {
			t.Error("a refused /pause stored a row")
		}
	})
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestResume(t *testing.T) {
	resumed := "Resumed: the daily lessons start again.\nNext lesson: \"" + bakeryTitle + "\", Tuesday 3 March at 07:30."
	tests := []struct {
		name    string
		before  []string
		move    time.Duration // clock move before /resume
		want    string
		resumed bool
	}{
		{name: "OKFromForever", before: []string{"/subscribe 07:30 Europe/Paris", "/pause"}, want: resumed, resumed: true},
		{name: "OKFromDays", before: []string{"/subscribe 07:30 Europe/Paris", "/pause 5"}, want: resumed, resumed: true},
		{name: "OKFrench", before: []string{"/language fr", "/subscribe 07:30 Europe/Paris", "/pause"}, resumed: true,
			want: "C'est reparti : les leçons quotidiennes reprennent.\nProchaine leçon : « " + bakeryTitle + " », mardi 3 mars à 07:30."},
		{name: "ErrNotPaused", before: []string{"/subscribe 07:30 Europe/Paris"}, want: "The lessons are not paused."},
		{name: "ErrPauseOver", before: []string{"/subscribe 07:30 Europe/Paris", "/pause 1"}, move: 48 * time.Hour,
			want: "The lessons are not paused."},
		{name: "ErrNotSubscribed", want: say("en", keyNotSubscribed)},
		{name: "ErrUnsubscribedWhilePaused", before: []string{"/subscribe", "/pause", "/unsubscribe"}, want: say("en", keyNotSubscribed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, tt.before...)
			h.setClock(monday.Add(tt.move))
			before, _ := h.row(ann.addr)
			if got := h.reply(ann, "/resume"); got != tt.want {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
			after, _ := h.row(ann.addr)
			if !tt.resumed {
				if !reflect.DeepEqual(before, after) {
					t.Errorf("row changed:\n before %+v\n after  %+v", before, after)
				}
				return
			}
			if !after.PausedUntil.IsZero() || !after.Active {
				t.Errorf("after /resume: %+v", after)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		want   string
	}{
		{"OKNewChat", nil, "Daily lessons: off (send /subscribe)\n/time: 08:00\n/timezone: UTC\n/days: every day\n/level: any\n/language: en\nNo lesson is scheduled."},
		{"OKSubscribed", []string{"/subscribe 07:30 Europe/Paris", "/days mon-fri", "/level B1"},
			"Daily lessons: on\n/time: 07:30\n/timezone: Europe/Paris\n/days: mon-fri\n/level: B1\n/language: en\nNext lesson: \"" + riverTitle + "\", Tuesday 3 March at 07:30."},
		{"OKUnsubscribed", []string{"/subscribe 07:30 Europe/Paris", "/unsubscribe"},
			"Daily lessons: off (send /subscribe)\n/time: 07:30\n/timezone: Europe/Paris\n/days: every day\n/level: any\n/language: en\nNo lesson is scheduled."},
		{"OKFrench", []string{"/language fr", "/subscribe 07:30 Europe/Paris", "/days sat,sun"},
			"Leçons quotidiennes : activées\n/time: 07:30\n/timezone: Europe/Paris\n/days: sam,dim\n/level: tous\n/language: fr\nProchaine leçon : « " + bakeryTitle + " », samedi 7 mars à 07:30."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, tt.before...)
			before, _ := h.row(ann.addr)
			msgs := h.send(ann, "/settings")
			if len(msgs) != 1 || len(msgs[0].Blocks) != 1 {
				t.Fatalf("want one message of one block, got %+v", msgs)
			}
			lang := "en"
			if strings.Contains(tt.name, "French") {
				lang = "fr"
			}
			if msgs[0].Title != say(lang, keySettings) {
				t.Errorf("title %q", msgs[0].Title)
			}
			if got := msgs[0].Blocks[0].Text; got != tt.want {
				t.Errorf("settings:\n got %q\nwant %q", got, tt.want)
			}
			if after, _ := h.row(ann.addr); !reflect.DeepEqual(before, after) {
				t.Errorf("/settings changed the row:\n before %+v\n after  %+v", before, after)
			}
		})
	}
}

// settingAfter sends before and then line in Ann's private chat, on a
// harness of its own, checks line's reply against want, and returns the
// chat's row as stored after it: the common part of the tests of the
// settings commands.
func settingAfter(t *testing.T, before []string, line, want string) store.Subscription {
	t.Helper()
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, before...)
	if got := h.reply(ann, line); got != want {
		t.Errorf("reply:\n got %q\nwant %q", got, want)
	}
	return h.mustRow(ann.addr)
}

func TestSetTime(t *testing.T) {
	tests := []struct {
		name         string
		before       []string
		line         string
		want         string
		hour, minute int
	}{
		{"OKNewChat", nil, "/time 7:05", "The daily lesson now comes at 07:05 (UTC).", 7, 5},
		{"OKMidnight", nil, "/time 00:00", "The daily lesson now comes at 00:00 (UTC).", 0, 0},
		{"OKLastMinute", nil, "/time 23:59", "The daily lesson now comes at 23:59 (UTC).", 23, 59},
		{"OKSubscribed", []string{"/subscribe 07:30 Europe/Paris"}, "/time 06:45",
			"The daily lesson now comes at 06:45 (Europe/Paris).\nNext lesson: \"" + bakeryTitle + "\", Tuesday 3 March at 06:45.", 6, 45},
		{"OKSubscribedToday", []string{"/subscribe 07:30 Europe/Paris"}, "/time 20:00",
			"The daily lesson now comes at 20:00 (Europe/Paris).\nNext lesson: \"" + bakeryTitle + "\", Monday 2 March at 20:00.", 20, 0},
		{"OKFrench", []string{"/language fr", "/subscribe 07:30 Europe/Paris"}, "/time 06:45",
			"La leçon quotidienne arrive désormais à 06:45 (Europe/Paris).\nProchaine leçon : « " + bakeryTitle + " », mardi 3 mars à 06:45.", 6, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sub := settingAfter(t, tt.before, tt.line, tt.want); sub.Hour != tt.hour || sub.Minute != tt.minute {
				t.Errorf("stored %02d:%02d, want %02d:%02d", sub.Hour, sub.Minute, tt.hour, tt.minute)
			}
		})
	}
}

func TestSetTimezone(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		line   string
		want   string
		zone   string
	}{
		{"OKNewChat", nil, "/timezone america/new_york", "Time zone set to America/New_York: the daily lesson comes at 08:00 there.", "America/New_York"},
		{"OKUTC", []string{"/timezone Asia/Tokyo"}, "/timezone utc", "Time zone set to UTC: the daily lesson comes at 08:00 there.", "UTC"},
		{"OKSubscribed", []string{"/subscribe 07:30 Europe/Paris"}, "/timezone Asia/Tokyo",
			"Time zone set to Asia/Tokyo: the daily lesson comes at 07:30 there.\nNext lesson: \"" + bakeryTitle + "\", Tuesday 3 March at 07:30.", "Asia/Tokyo"},
		{"OKSubscribedToday", []string{"/subscribe 07:30 Europe/Paris"}, "/timezone America/Los_Angeles",
			// 02:00 in Los Angeles.
			"Time zone set to America/Los_Angeles: the daily lesson comes at 07:30 there.\nNext lesson: \"" + bakeryTitle + "\", Monday 2 March at 07:30.", "America/Los_Angeles"},
		{"OKFrench", []string{"/language fr"}, "/timezone europe/paris", "Fuseau horaire : Europe/Paris. La leçon quotidienne y arrive à 08:00.", "Europe/Paris"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sub := settingAfter(t, tt.before, tt.line, tt.want); sub.Zone != tt.zone {
				t.Errorf("stored zone %q, want %q", sub.Zone, tt.zone)
			}
		})
	}
}

func TestSetDays(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		line   string
		want   string
		days   store.Weekdays
	}{
		{"OKWeekdays", nil, "/days mon-fri", "Lessons now come on these days: mon-fri.", 0x3e},
		{"OKEvery", []string{"/days sat"}, "/days every", "Lessons now come on these days: every day.", store.EveryDay},
		{"OKWeekend", nil, "/days sat,sun", "Lessons now come on these days: sat,sun.", 0x41},
		{"OKWrapping", nil, "/days fri-mon", "Lessons now come on these days: mon,fri-sun.", 1<<time.Friday | 1<<time.Saturday | 1<<time.Sunday | 1<<time.Monday},
		{"OKListWithSpaces", nil, "/days Mon, Wed, Fri", "Lessons now come on these days: mon,wed,fri.", 1<<time.Monday | 1<<time.Wednesday | 1<<time.Friday},
		{"OKFullNames", nil, "/days tuesday-thursday", "Lessons now come on these days: tue-thu.", 1<<time.Tuesday | 1<<time.Wednesday | 1<<time.Thursday},
		{"OKSubscribed", []string{"/subscribe 07:30 Europe/Paris"}, "/days sat,sun",
			"Lessons now come on these days: sat,sun.\nNext lesson: \"" + bakeryTitle + "\", Saturday 7 March at 07:30.", 0x41},
		{"OKSubscribedToday", []string{"/subscribe 20:00 Europe/Paris"}, "/days mon",
			"Lessons now come on these days: mon.\nNext lesson: \"" + bakeryTitle + "\", Monday 2 March at 20:00.", 1 << time.Monday},
		{"OKFrench", []string{"/language fr"}, "/days every", "Les leçons arrivent désormais ces jours-là : tous les jours.", store.EveryDay},
		{"OKFrenchNames", []string{"/language fr"}, "/days lun-ven", "Les leçons arrivent désormais ces jours-là : lun-ven.", 0x3e},
		{"OKFrenchList", []string{"/language fr"}, "/days Samedi, dim", "Les leçons arrivent désormais ces jours-là : sam,dim.", 0x41},
		{"OKFrenchEvery", []string{"/language fr", "/days sam"}, "/days tous les jours", "Les leçons arrivent désormais ces jours-là : tous les jours.", store.EveryDay},
		{"OKFrenchWrapping", []string{"/language fr"}, "/days ven-lun", "Les leçons arrivent désormais ces jours-là : lun,ven-dim.", 1<<time.Friday | 1<<time.Saturday | 1<<time.Sunday | 1<<time.Monday},
		{"OKFrenchWeekend", []string{"/language fr"}, "/days week-end", "Les leçons arrivent désormais ces jours-là : sam,dim.", 0x41},
		{"OKFrenchNamesInEnglishChat", nil, "/days mar,jeu", "Lessons now come on these days: tue,thu.", 1<<time.Tuesday | 1<<time.Thursday},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sub := settingAfter(t, tt.before, tt.line, tt.want); sub.Weekdays != tt.days {
				t.Errorf("stored days %v (%#x), want %v (%#x)", sub.Weekdays, uint8(sub.Weekdays), tt.days, uint8(tt.days))
			}
		})
	}
}

func TestSetLevel(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		line   string
		want   string
		level  string
	}{
		{"OKB1", []string{"/subscribe 07:30 Europe/Paris"}, "/level B1",
			"Level set to B1.\nNext lesson: \"" + riverTitle + "\", Tuesday 3 March at 07:30.", "B1"},
		{"OKLowerCase", []string{"/subscribe 07:30 Europe/Paris"}, "/level b2",
			"Level set to B2.\nNext lesson: \"" + trainsTitle + "\", Tuesday 3 March at 07:30.", "B2"},
		{"OKOnlyUnlevelled", []string{"/subscribe 07:30 Europe/Paris"}, "/level C2",
			"Level set to C2.\nNext lesson: \"" + choirTitle + "\", Tuesday 3 March at 07:30.", "C2"},
		{"OKAny", []string{"/subscribe 07:30 Europe/Paris", "/level B1"}, "/level any",
			"Level set to any.\nNext lesson: \"" + bakeryTitle + "\", Tuesday 3 March at 07:30.", ""},
		{"OKNotSubscribed", nil, "/level A2", "Level set to A2.", "A2"},
		{"OKFrench", []string{"/language fr", "/level B1"}, "/level any", "Niveau choisi : tous.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sub := settingAfter(t, tt.before, tt.line, tt.want); sub.Level != tt.level {
				t.Errorf("stored level %q, want %q", sub.Level, tt.level)
			}
		})
	}
}

// TestLevelFiltersLessons follows a B1 chat through the library: it gets
// the B1 lesson, then the unlevelled one, then nothing, never the A2 or
// B2 ones; /level any then brings those back in library order.
func TestLevelFiltersLessons(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, "/subscribe 07:30 Europe/Paris", "/level B1")
	if got := h.send(ann, "/lesson"); got[0].Title != riverTitle {
		t.Fatalf("/lesson at B1 sent %q, want %q", got[0].Title, riverTitle)
	}
	next := func() string {
		lines := strings.Split(allText(h.send(ann, "/settings")), "\n")
		return lines[len(lines)-1]
	}
	if got, want := next(), `Next lesson: "`+choirTitle+`", Tuesday 3 March at 07:30.`; got != want {
		t.Errorf("after the B1 lesson: %q, want %q", got, want)
	}
	// The schedule delivers the unlevelled lesson.
	sub := h.mustRow(ann.addr)
	if _, err := h.st.RecordSent(h.ctx, sub.ID, choirID, monday.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := next(), "Next lesson: Tuesday 3 March at 07:30, as soon as a new lesson is added."; got != want {
		t.Errorf("after the unlevelled lesson: %q, want %q", got, want)
	}
	h.sendAll(ann, "/level any")
	if got, want := next(), `Next lesson: "`+bakeryTitle+`", Tuesday 3 March at 07:30.`; got != want {
		t.Errorf("at any level: %q, want %q", got, want)
	}
	if got, want := h.delivered(ann.addr), map[string]bool{riverID: true, choirID: true}; !reflect.DeepEqual(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

func TestSetLanguage(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		line   string
		want   string
		lang   string
	}{
		{"OKFrench", nil, "/language fr", "Je parlerai français ici.", "fr"},
		{"OKUpperCase", nil, "/language FR", "Je parlerai français ici.", "fr"},
		{"OKBackToEnglish", []string{"/language fr"}, "/language en", "I will speak English here.", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, tt.before...)
			if got := h.reply(ann, tt.line); got != tt.want {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
			if sub := h.mustRow(ann.addr); sub.Language != tt.lang {
				t.Errorf("stored language %q, want %q", sub.Language, tt.lang)
			}
			// Later replies speak it.
			if got, want := h.reply(ann, "/resume"), say(tt.lang, keyNotSubscribed); got != want {
				t.Errorf("next reply %q, want %q", got, want)
			}
		})
	}
	t.Run("OKDefaultFromSettings", func(t *testing.T) {
		s := defaultSettings()
		s.Language = "fr"
		h := newHarnessWith(t, s)
		ann := inPrivate("7", "Ann")
		if got, want := h.reply(ann, "/resume"), say("fr", keyNotSubscribed); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	})
}

func TestLesson(t *testing.T) {
	t.Run("OKFirstThenSame", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		got := h.send(ann, "/lesson")
		bakery := h.lesson(bakeryID)
		if want := h.tutor.LessonMessages(bakery, "en"); !reflect.DeepEqual(got, want) {
			t.Errorf("/lesson:\n got %+v\nwant %+v", got, want)
		}
		if len(got) != 4 || !reflect.DeepEqual(got[0], LessonPost(bakery, "en")) {
			t.Errorf("want the post then 3 questions, got %d messages", len(got))
		}
		for i, q := range h.questions(bakeryID) {
			m := got[1+i]
			if !m.Question || len(m.Buttons) != len(q.Choices) {
				t.Errorf("question %d: %+v", i, m)
				continue
			}
			for j, b := range m.Buttons {
				if b.Label != q.Choices[j] || b.Data != pressData(q, j) {
					t.Errorf("question %d button %d = %+v, want %q %q", i, j, b, q.Choices[j], pressData(q, j))
				}
			}
		}
		sub := h.mustRow(ann.addr)
		if sub.Active {
			t.Error("/lesson subscribed the chat")
		}
		d, err := h.st.LastDelivered(h.ctx, sub.ID)
		if err != nil || d.LessonID != bakeryID || !d.Slot.Equal(monday) {
			t.Fatalf("last delivered %+v, %v; want %s at %v", d, err, bakeryID, monday)
		}

		// The second call repeats the current lesson and records nothing.
		h.setClock(monday.Add(26 * time.Hour))
		if again := h.send(ann, "/lesson"); !reflect.DeepEqual(again, got) {
			t.Errorf("second /lesson:\n got %+v\nwant %+v", again, got)
		}
		if got, want := h.delivered(ann.addr), map[string]bool{bakeryID: true}; !reflect.DeepEqual(got, want) {
			t.Errorf("delivered %v, want %v", got, want)
		}
	})
	t.Run("OKAfterScheduledDelivery", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/subscribe 07:30 Europe/Paris", "/lesson")
		sub := h.mustRow(ann.addr)
		if _, err := h.st.RecordSent(h.ctx, sub.ID, riverID, monday.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		h.setClock(monday.Add(25 * time.Hour))
		if got := h.send(ann, "/lesson"); got[0].Title != riverTitle {
			t.Errorf("/lesson sent %q, want the last delivered %q", got[0].Title, riverTitle)
		}
	})
	levels := []struct {
		name, level, want string
	}{
		{"OKLevelB2", "B2", trainsTitle},
		{"OKLevelA2", "a2", bakeryTitle},
		{"OKLevelWithoutLessonsGetsUnlevelled", "C1", choirTitle},
	}
	for _, tt := range levels {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, "/level "+tt.level)
			if got := h.send(ann, "/lesson"); got[0].Title != tt.want {
				t.Errorf("/lesson sent %q, want %q", got[0].Title, tt.want)
			}
		})
	}
	t.Run("OKFrench", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/language fr")
		if got, want := h.send(ann, "/lesson"), h.tutor.LessonMessages(h.lesson(bakeryID), "fr"); !reflect.DeepEqual(got, want) {
			t.Errorf("/lesson:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("OKNoQuiz", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/level C1")
		got := h.send(ann, "/lesson")
		if want := []chat.Message{LessonPost(h.lesson(choirID), "en")}; !reflect.DeepEqual(got, want) {
			t.Errorf("/lesson:\n got %+v\nwant %+v", got, want)
		}
	})
	noLesson := []struct {
		name  string
		setup func(h *harness, s sender)
	}{
		{"ErrEmptyLibrary", func(h *harness, s sender) { h.lessons.set(lesson.NewLibrary(nil)) }},
		{"ErrNoLessonAtLevel", func(h *harness, s sender) {
			h.lessons.set(library(h.t, bakeryID, riverID, trainsID))
			h.sendAll(s, "/level C1")
		}},
		{"ErrExhausted", func(h *harness, s sender) {
			// Every lesson was delivered, and all have since left the
			// library.
			h.sendAll(s, "/subscribe")
			sub := h.mustRow(s.addr)
			for i, id := range []string{bakeryID, riverID, trainsID, choirID} {
				if _, err := h.st.RecordSent(h.ctx, sub.ID, id, monday.Add(-time.Duration(4-i)*24*time.Hour)); err != nil {
					h.t.Fatal(err)
				}
			}
			h.lessons.set(lesson.NewLibrary(nil))
		}},
	}
	for _, tt := range noLesson {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			tt.setup(h, ann)
			delivered := h.delivered(ann.addr)
			for _, lang := range Languages {
				h.sendAll(ann, "/language "+lang)
				if got, want := h.reply(ann, "/lesson"), say(lang, keyNoLesson); got != want {
					t.Errorf("%s: reply %q, want %q", lang, got, want)
				}
			}
			if got := h.delivered(ann.addr); !reflect.DeepEqual(got, delivered) {
				t.Errorf("delivered %v, want %v", got, delivered)
			}
		})
	}
}

func TestRead(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/lesson")
		got := h.send(ann, "/read")
		want := []chat.Message{{Title: bakeryTitle, Blocks: []chat.Block{
			{Kind: chat.Text, Text: bakeryPara1},
			{Kind: chat.Text, Text: bakeryPara2},
		}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("/read:\n got %+v\nwant %+v", got, want)
		}
	})
	for _, lang := range Languages {
		t.Run("ErrNoCurrentLesson/"+lang, func(t *testing.T) {
			h := newHarness(t)
			ann := inPrivate("7", "Ann")
			h.sendAll(ann, "/language "+lang)
			if got, want := h.reply(ann, "/read"), say(lang, keyNoCurrent); got != want {
				t.Errorf("reply %q, want %q", got, want)
			}
			if got := h.delivered(ann.addr); len(got) != 0 {
				t.Errorf("/read delivered %v", got)
			}
		})
	}
}

func TestQuiz(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/lesson")
		got := h.send(ann, "/quiz")
		if len(got) != 3 {
			t.Fatalf("want 3 questions, got %+v", got)
		}
		wantText := []string{
			"Question 1/3: " + bakeryQText,
			"Question 2/3: What does “knead” mean?",
			"Question 3/3: Which word means “pâte”?",
		}
		for i, m := range got {
			if text := oneText(t, []chat.Message{m}); text != wantText[i] {
				t.Errorf("question %d: %q, want %q", i+1, text, wantText[i])
			}
		}
		// The authored choices, in some order; the generated ones hold
		// their answer.
		labels := map[string]bool{}
		for _, b := range got[0].Buttons {
			labels[b.Label] = true
		}
		if want := map[string]bool{"It sells the bread": true, bakeryRight: true, "It cleans the oven": true}; !reflect.DeepEqual(labels, want) {
			t.Errorf("choices %v, want %v", labels, want)
		}
		if !hasLabel(got[1], "pétrir") || !hasLabel(got[2], "dough") {
			t.Errorf("generated questions lack their answers: %+v %+v", got[1].Buttons, got[2].Buttons)
		}
		if lesson := h.send(ann, "/lesson"); !reflect.DeepEqual(lesson[1:], got) {
			t.Errorf("/quiz differs from the questions /lesson sends")
		}
	})
	t.Run("OKFrench", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/language fr", "/lesson")
		got := h.send(ann, "/quiz")
		if len(got) != 3 {
			t.Fatalf("want 3 questions, got %+v", got)
		}
		if text, want := got[1].Blocks[0].Text, "Question 2/3 : Que veut dire « knead » ?"; text != want {
			t.Errorf("question 2: %q, want %q", text, want)
		}
	})
	t.Run("ErrNoQuiz", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		h.sendAll(ann, "/level C1", "/lesson")
		if got, want := h.reply(ann, "/quiz"), say("en", keyNoQuiz); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	})
	t.Run("ErrNoCurrentLesson", func(t *testing.T) {
		h := newHarness(t)
		ann := inPrivate("7", "Ann")
		if got, want := h.reply(ann, "/quiz"), say("en", keyNoCurrent); got != want {
			t.Errorf("reply %q, want %q", got, want)
		}
	})
}

func hasLabel(m chat.Message, label string) bool {
	for _, b := range m.Buttons {
		if b.Label == label {
			return true
		}
	}
	return false
}

func TestPreview(t *testing.T) {
	root := inPrivate(adminID, "Root")
	tests := []struct {
		name string
		lang string
		line string
		want func(h *harness) []chat.Message
	}{
		{"OK", "en", "/preview night-trains", func(h *harness) []chat.Message {
			return []chat.Message{LessonPost(h.lesson(trainsID), "en")}
		}},
		{"OKFrench", "fr", "/preview bakery-robot", func(h *harness) []chat.Message {
			return []chat.Message{LessonPost(h.lesson(bakeryID), "fr")}
		}},
		{"ErrUnknownID", "en", "/preview no-such-lesson", func(h *harness) []chat.Message {
			return textReply(`There is no lesson "no-such-lesson". Send /reload to see the lessons' problems.`)
		}},
		{"ErrNoID", "en", "/preview", func(h *harness) []chat.Message {
			return textReply("Say which lesson, for example: /preview bakery-robot")
		}},
		{"ErrNoIDFrench", "fr", "/preview", func(h *harness) []chat.Message {
			return textReply("Précisez la leçon, par exemple : /preview bakery-robot")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sendAll(root, "/language "+tt.lang)
			if got, want := h.send(root, tt.line), tt.want(h); !reflect.DeepEqual(got, want) {
				t.Errorf("reply:\n got %+v\nwant %+v", got, want)
			}
			if got := h.delivered(root.addr); len(got) != 0 {
				t.Errorf("/preview delivered %v", got)
			}
		})
	}
}

func textReply(s string) []chat.Message {
	return []chat.Message{{Blocks: []chat.Block{{Kind: chat.Text, Text: s}}}}
}

// TestLessonLastRemoved serves the lesson delivered before the last one
// when the last one has left the library.
func TestLessonLastRemoved(t *testing.T) {
	h := newHarness(t)
	ann := inPrivate("7", "Ann")
	h.sendAll(ann, "/subscribe")
	sub := h.mustRow(ann.addr)
	for i, id := range []string{bakeryID, riverID, trainsID, choirID} {
		if _, err := h.st.RecordSent(h.ctx, sub.ID, id, monday.Add(-time.Duration(4-i)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	h.lessons.set(library(t, bakeryID, riverID, trainsID))
	msgs := h.send(ann, "/lesson")
	if len(msgs) == 0 || msgs[0].Title != "Night trains return to the northern line" {
		t.Errorf("/lesson = %+v, want the night trains lesson", msgs)
	}
	delivered := h.delivered(ann.addr)
	if len(delivered) != 4 {
		t.Errorf("delivered %v, want the same four lessons", delivered)
	}
}
