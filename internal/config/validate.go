package config

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Limits on quiz.questions.
const (
	minQuizQuestions = 1
	maxQuizQuestions = 10
)

// Limits of the delivery settings.
const (
	maxCatchUp          = 7 * 24 * time.Hour
	maxDeliveryAttempts = 100
	minBackupEvery      = time.Minute
	maxBackupKeep       = 1000
)

// Validate checks every value of c. It returns nil if all are valid, and
// otherwise one error per problem, joined with [errors.Join]; each error is a
// single line that starts with the dotted key, such as "quiz.questions: ...".
// Tokens are not checked (an empty token means that bot is not configured),
// and no error ever contains a token's value.
func (c Config) Validate() error {
	v := validator{secrets: c.secrets()}

	v.nonEmpty("database", c.Database, "a SQLite file path such as lessonbot.db, or a postgres:// URL")
	if c.Postgres() {
		if u, err := url.Parse(c.Database); err != nil || u.Host == "" || strings.TrimPrefix(u.Path, "/") == "" {
			v.addf("database: the PostgreSQL URL does not parse or lacks a host or a database name (want postgres://user:password@host:5432/lessonbot)")
		}
	}
	v.nonEmpty("lessons", c.Lessons, "a folder path such as lessons")

	switch _, err := loadLocation(c.Timezone); {
	case c.Timezone == "":
		v.addf("timezone: must not be empty (want an IANA name such as Europe/Paris)")
	case err != nil:
		v.addf("timezone: unknown time zone %q (want an IANA name such as Europe/Paris)", c.Timezone)
	}

	if _, _, ok := parseClock(c.DeliveryTime); !ok {
		v.addf("delivery_time: %q is not a time of day (want HH:MM, such as 07:30)", c.DeliveryTime)
	}

	if r := c.Learning.Retention; !(r >= 0.70 && r <= 0.97) {
		v.addf("learning.retention: %g is out of range (want 0.70 to 0.97; the default 0.85 suits most learners)", r)
	}
	if n := c.Learning.DailyReviews; n < 0 || n > 10 {
		v.addf("learning.daily_reviews: %d is out of range (want 0 to 10)", n)
	}
	if _, ok := parseWeekday(c.Learning.SummaryDay); !ok {
		v.addf("learning.summary_day: %q is not a day of the week (want sunday, monday, ... or dimanche, lundi, ...)", c.Learning.SummaryDay)
	}

	if c.Language != "en" && c.Language != "fr" {
		v.addf("language: %q is not supported (want en or fr)", c.Language)
	}

	if q := c.Quiz.Questions; q < minQuizQuestions || q > maxQuizQuestions {
		v.addf("quiz.questions: %d is out of range (want %d to %d)", q, minQuizQuestions, maxQuizQuestions)
	}

	if d, err := time.ParseDuration(c.CatchUp); err != nil || d < 0 || d > maxCatchUp {
		v.addf("catch_up: %q is not a duration from 0s to 168h (want a Go duration such as 6h or 90m)", c.CatchUp)
	}
	if n := c.Delivery.MaxAttempts; n < 1 || n > maxDeliveryAttempts {
		v.addf("delivery.max_attempts: %d is out of range (want 1 to %d)", n, maxDeliveryAttempts)
	}
	v.positive("telegram.rate.messages_per_second", c.Telegram.Rate.MessagesPerSecond)
	v.positive("telegram.rate.per_chat_per_second", c.Telegram.Rate.PerChatPerSecond)
	v.positive("telegram.rate.per_group_per_minute", c.Telegram.Rate.PerGroupPerMinute)
	v.positive("discord.rate.requests_per_second", c.Discord.Rate.RequestsPerSecond)

	v.apiURL("telegram.api_url", c.Telegram.APIURL, "https://api.telegram.org")
	for i, id := range c.Telegram.Admins {
		if id <= 0 {
			v.addf("telegram.admins[%d]: %d is not a Telegram user id (want a positive number)", i, id)
		}
	}

	if c.Telegram.Webhook.URL != "" {
		if u, err := url.Parse(c.Telegram.Webhook.URL); err != nil || !(u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())) || u.Host == "" {
			v.addf("telegram.webhook.url: %q is not an https URL (want the public address Telegram posts updates to, such as https://bot.example.org/telegram; plain http only on this machine, for a local Bot API server)", c.Telegram.Webhook.URL)
		}
		if sec := c.Telegram.Webhook.Secret; sec != "" && !validSecret(sec) {
			v.addf("telegram.webhook.secret: want 1 to 256 characters of A-Z, a-z, 0-9, _ and - (or empty to derive one from the token)")
		}
		if c.Telegram.Webhook.Listen == "" {
			v.addf("telegram.webhook.listen: must not be empty when telegram.webhook.url is set (want an address such as :8443)")
		}
	}
	if c.Discord.Interactions.Listen != "" {
		if k, err := hex.DecodeString(c.Discord.PublicKey); err != nil || len(k) != ed25519.PublicKeySize {
			v.addf("discord.public_key: want the application's 64-hex-digit public key when discord.interactions.listen is set")
		}
	}

	v.apiURL("discord.api_url", c.Discord.APIURL, "https://discord.com")
	if c.Discord.GuildID != "" && !isDigits(c.Discord.GuildID) {
		v.addf("discord.guild_id: %q is not a Discord id (want digits only, or leave it empty)", c.Discord.GuildID)
	}
	for i, id := range c.Discord.Admins {
		if !isDigits(id) {
			v.addf("discord.admins[%d]: %q is not a Discord user id (want digits only)", i, id)
		}
	}

	if c.Admin.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Admin.Listen); err != nil || port == "" {
			v.addf("admin.listen: %q is not a host:port address (want such as 127.0.0.1:9090, or empty to turn the listener off)", c.Admin.Listen)
		}
	}
	if c.Dashboard.PublicURL != "" {
		v.publicURL("dashboard.public_url", c.Dashboard.PublicURL)
	}
	if c.DB.BackupEvery != "" && c.Postgres() {
		v.addf("db.backup_every: lessonbot backs up SQLite files only; for a PostgreSQL database use pg_dump or the server's own backups, and leave db.backup_every empty")
	} else if c.DB.BackupEvery != "" {
		if d, err := time.ParseDuration(c.DB.BackupEvery); err != nil || d < minBackupEvery {
			v.addf("db.backup_every: %q is not a duration of at least 1m (want a Go duration such as 24h, or empty for no periodic backup)", c.DB.BackupEvery)
		}
	}
	if n := c.DB.BackupKeep; n < 1 || n > maxBackupKeep {
		v.addf("db.backup_keep: %d is out of range (want 1 to %d)", n, maxBackupKeep)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		v.addf("log.format: %q is not a log format (want text or json, or empty for text on a terminal and json otherwise)", c.Log.Format)
	}
	if _, ok := parseLevel(c.Log.Level); !ok {
		v.addf("log.level: %q is not a log level (want debug, info, warn or error)", c.Log.Level)
	}
	if c.Alerts.DiscordChannel != "" && !isDigits(c.Alerts.DiscordChannel) {
		v.addf("alerts.discord_channel: %q is not a Discord channel id (want digits only, or leave it empty)", c.Alerts.DiscordChannel)
	}

	return errors.Join(v.errs...)
}

// validator collects validation errors with secrets scrubbed out.
type validator struct {
	secrets []string
	errs    []error
}

// addf records one error.
func (v *validator) addf(format string, args ...any) {
	v.errs = append(v.errs, errors.New(scrub(fmt.Sprintf(format, args...), v.secrets)))
}

// nonEmpty requires a value that is not blank.
func (v *validator) nonEmpty(key, value, want string) {
	if strings.TrimSpace(value) == "" {
		v.addf("%s: must not be empty (want %s)", key, want)
	}
}

// apiURL requires an absolute http or https URL without query or fragment.
func (v *validator) apiURL(key, value, example string) {
	if value == "" {
		v.addf("%s: must not be empty (want an absolute http or https URL such as %s)", key, example)
		return
	}
	u, err := url.Parse(value)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Opaque == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" {
		return
	}
	shown := value
	if err == nil && u.User != nil {
		shown = u.Redacted() // never print a password
	}
	v.addf("%s: %q is not an absolute http or https URL without query (want a URL such as %s)", key, shown, example)
}

// publicURL requires an absolute http or https URL with no query,
// fragment, credentials or path (a single "/" is allowed): the dashboard
// is served at the root of its address, so a proxy gives it a host name
// or port of its own rather than a folder.
func (v *validator) publicURL(key, value string) {
	u, err := url.Parse(value)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.Opaque == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && (u.Path == "" || u.Path == "/") {
		return
	}
	shown := value
	if err == nil && u.User != nil {
		shown = u.Redacted() // never print a password
	}
	v.addf("%s: %q is not an absolute http or https URL without path or query (want the address the dashboard is opened at, such as https://lessonbot.example.org, or empty for http:// and admin.listen)", key, shown)
}

// loadLocation loads an IANA time zone, refusing "Local" and the empty
// name, which [time.LoadLocation] would otherwise accept.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q is not an IANA name", name)
	}
	return time.LoadLocation(name)
}

// parseClock parses exactly "HH:MM" with a 24-hour clock.
func parseClock(s string) (hour, minute int, ok bool) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, 0, false
	}
	hour = int(s[0]-'0')*10 + int(s[1]-'0')
	minute = int(s[3]-'0')*10 + int(s[4]-'0')
	if hour > 23 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

// isDigits reports whether s is non-empty and made of ASCII digits only.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// positive reports a rate that is not above zero.
func (v *validator) positive(key string, value float64) {
	if !(value > 0) {
		v.addf("%s: %v is not a positive rate (want a number above 0, such as 1 or 0.5)", key, value)
	}
}

// loopback reports whether host is this machine: localhost or a loopback
// address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validSecret reports whether s is a secret_token Telegram accepts: 1 to
// 256 characters of A-Z, a-z, 0-9, _ and -.
func validSecret(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
