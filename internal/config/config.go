// Package config holds lessonbot's configuration: the YAML file's shape,
// its default values, overrides from the environment and validation.
//
// The package never reads files or the environment itself. The command
// reads the configuration file and calls [Parse] with its bytes, then
// [Config.ApplyEnv] with [os.Getenv], then [Config.Validate]:
//
//	cfg, err := config.Parse(data, "config.yaml")
//	if err != nil { ... }
//	cfg.ApplyEnv(os.Getenv)
//	if err := cfg.Validate(); err != nil { ... }
//
// Errors never contain a bot token; use [Config.Redacted] before printing
// or logging a configuration.
package config

import (
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Names of the environment variables read by [Config.ApplyEnv].
const (
	// EnvTelegramToken is the environment variable that overrides telegram.token.
	EnvTelegramToken = "TELEGRAM_BOT_TOKEN"
	// EnvDiscordToken is the environment variable that overrides discord.token.
	EnvDiscordToken = "DISCORD_BOT_TOKEN"
	// EnvDatabaseURL is the environment variable that overrides database,
	// so that a PostgreSQL password need not be written in the file.
	EnvDatabaseURL = "LESSONBOT_DATABASE_URL"
)

// Redaction is the text that [Config.Redacted] puts in place of a token.
const Redaction = "REDACTED"

// Config is lessonbot's whole configuration.
type Config struct {
	// Database is the path of the SQLite database file, or the URL of a
	// PostgreSQL database (postgres://user:password@host/name), which
	// several lessonbot instances may share. The default is "lessonbot.db";
	// LESSONBOT_DATABASE_URL overrides it.
	Database string `yaml:"database"`
	// Lessons is the folder that holds the lessons. The default is "lessons".
	Lessons string `yaml:"lessons"`
	// Timezone is the IANA time zone given to new subscriptions. The default is "UTC".
	Timezone string `yaml:"timezone"`
	// DeliveryTime is the HH:MM time of day given to new subscriptions. The default is "08:00".
	DeliveryTime string `yaml:"delivery_time"`
	// Language is the default user interface language, "en" or "fr". The default is "en".
	Language string `yaml:"language"`
	// Quiz holds the quiz settings.
	Quiz Quiz `yaml:"quiz"`
	// CatchUp is how late a slot missed while the program was down may
	// still be delivered after a restart, as a Go duration. The default is
	// "6h".
	CatchUp string `yaml:"catch_up"`
	// Delivery holds the delivery worker settings.
	Delivery Delivery `yaml:"delivery"`
	// Telegram holds the Telegram bot settings.
	Telegram Telegram `yaml:"telegram"`
	// Discord holds the Discord bot settings.
	Discord Discord `yaml:"discord"`
	// Learning holds the spaced review and weekly summary settings.
	Learning Learning `yaml:"learning"`
	// Admin holds the admin listener's settings (metrics and health).
	Admin Admin `yaml:"admin"`
	// Dashboard holds the admin dashboard's settings.
	Dashboard Dashboard `yaml:"dashboard"`
	// DB holds the database's backup settings.
	DB DB `yaml:"db"`
	// Log holds the logging settings.
	Log Log `yaml:"log"`
	// Alerts names the chats the bot tells when something goes wrong.
	Alerts Alerts `yaml:"alerts"`
}

// Admin holds the admin listener's settings.
type Admin struct {
	// Listen is the address of the admin listener, which serves /metrics,
	// /livez, /healthz and /readyz; empty turns it off. The default is
	// "127.0.0.1:9090".
	Listen string `yaml:"listen"`
}

// Dashboard holds the admin dashboard's settings. The dashboard is
// served on the admin listener, so it is off when admin.listen is empty.
type Dashboard struct {
	// PublicURL is the address people open the dashboard at, such as
	// https://lessonbot.example.org behind a reverse proxy with TLS: the
	// sign-in links the bot sends start with it. Empty (the default)
	// means http:// and admin.listen, with 127.0.0.1 for an unspecified
	// host.
	PublicURL string `yaml:"public_url"`
}

// DB holds the database's backup settings.
type DB struct {
	// BackupEvery makes run write a dated backup this often, as a Go
	// duration of at least 1m such as "24h"; empty turns it off (the
	// default).
	BackupEvery string `yaml:"backup_every"`
	// BackupKeep is how many dated backups are kept, from 1 to 1000; the
	// oldest are removed. The default is 7.
	BackupKeep int `yaml:"backup_keep"`
	// BackupDir is the folder of the dated backups. The default, empty,
	// is the folder "backups" beside the database.
	BackupDir string `yaml:"backup_dir"`
}

// Log holds the logging settings.
type Log struct {
	// Format is "text" or "json"; empty (the default) means text when
	// standard error is a terminal and json otherwise.
	Format string `yaml:"format"`
	// Level is the least severe level logged: debug, info, warn or error.
	// The default is "info".
	Level string `yaml:"level"`
}

// Alerts names the chats the bot posts its alerts to. Both are optional.
type Alerts struct {
	// TelegramChat is the id of a Telegram chat (negative for a group or
	// channel); 0 (the default) sends no alert on Telegram.
	TelegramChat int64 `yaml:"telegram_chat"`
	// DiscordChannel is the id of a Discord channel, digits only; empty
	// (the default) sends no alert on Discord.
	DiscordChannel string `yaml:"discord_channel"`
}

// Learning holds the spaced review and weekly summary settings.
type Learning struct {
	// Retention is the share of words a learner should still recall when
	// they come back for review, from 0.70 to 0.97: lower spaces reviews
	// further apart, with more words forgotten. The default is 0.85.
	Retention float64 `yaml:"retention"`
	// DailyReviews is how many due words the daily lesson of a private
	// chat ends with, from 0 (none) to 10. The default is 3.
	DailyReviews int `yaml:"daily_reviews"`
	// SummaryDay is the day of the week of the weekly summary, in English
	// (sunday) or French (dimanche). The default is "sunday".
	SummaryDay string `yaml:"summary_day"`
}

// Quiz holds the quiz settings.
type Quiz struct {
	// Questions is the number of questions in a quiz, from 1 to 10. The default is 3.
	Questions int `yaml:"questions"`
}

// Delivery holds the delivery worker settings.
type Delivery struct {
	// MaxAttempts is how many transient failures a delivery may have
	// before it is marked failed, from 1 to 100. The default is 5.
	MaxAttempts int `yaml:"max_attempts"`
	// ResendUnknown sends again a lesson whose send timed out after the
	// request was written, at the risk of a duplicate. The default is false.
	ResendUnknown bool `yaml:"resend_unknown"`
}

// TelegramRate holds Telegram's rate limits.
type TelegramRate struct {
	// MessagesPerSecond caps the messages per second over all chats. The
	// default is 25.
	MessagesPerSecond float64 `yaml:"messages_per_second"`
	// PerChatPerSecond caps the messages per second to one chat. The
	// default is 1.
	PerChatPerSecond float64 `yaml:"per_chat_per_second"`
	// PerGroupPerMinute caps the messages per minute to one group or
	// channel. The default is 20.
	PerGroupPerMinute float64 `yaml:"per_group_per_minute"`
}

// DiscordRate holds Discord's rate limits.
type DiscordRate struct {
	// RequestsPerSecond caps the requests per second over all channels, on
	// top of discordgo's own bucket handling. The default is 40.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
}

// Telegram holds the Telegram bot settings.
type Telegram struct {
	// Token is the bot token. It is empty by default; TELEGRAM_BOT_TOKEN overrides it.
	Token string `yaml:"token"`
	// APIURL is the Bot API base URL. The default is "https://api.telegram.org".
	APIURL string `yaml:"api_url"`
	// Admins are the numeric Telegram user ids of the administrators.
	Admins []int64 `yaml:"admins"`
	// Rate holds Telegram's rate limits.
	Rate TelegramRate `yaml:"rate"`
	// Webhook, when its URL is set, receives updates by webhook instead
	// of long polling.
	Webhook Webhook `yaml:"webhook"`
	// PaidBroadcast sets allow_paid_broadcast on scheduled lessons: up to
	// 1,000 messages a second for 0.1 Telegram Stars each. The default is
	// false.
	PaidBroadcast bool `yaml:"paid_broadcast"`
}

// Webhook holds Telegram's webhook settings.
type Webhook struct {
	// URL is the public https address Telegram posts updates to; empty
	// means long polling (the default).
	URL string `yaml:"url"`
	// Listen is the local address the webhook server listens on. The
	// default is ":8443".
	Listen string `yaml:"listen"`
	// Secret is the secret_token Telegram sends with every webhook call;
	// empty (the default) derives one from the token, the same in every
	// instance. It never appears in a message.
	Secret string `yaml:"secret"`
}

// Interactions holds the settings of Discord's HTTP interactions
// endpoint, an alternative to receiving interactions over the gateway.
type Interactions struct {
	// Listen is the local address of the endpoint; empty turns it off
	// (the default).
	Listen string `yaml:"listen"`
}

// Discord holds the Discord bot settings.
type Discord struct {
	// Token is the bot token. It is empty by default; DISCORD_BOT_TOKEN overrides it.
	Token string `yaml:"token"`
	// APIURL is the Discord API base URL. The default is "https://discord.com".
	APIURL string `yaml:"api_url"`
	// GuildID is an optional guild (server) id, a snowflake made of digits only.
	GuildID string `yaml:"guild_id"`
	// Admins are the Discord user ids (snowflakes, digits only) of the administrators.
	Admins []string `yaml:"admins"`
	// Rate holds Discord's rate limits.
	Rate DiscordRate `yaml:"rate"`
	// PublicKey is the application's public key (hex), which signs the
	// requests to the interactions endpoint.
	PublicKey string `yaml:"public_key"`
	// Interactions holds the HTTP interactions endpoint's settings.
	Interactions Interactions `yaml:"interactions"`
}

// Default returns the configuration used for every key the file omits.
// The admin lists are empty, not nil, so that a file saying "admins: []"
// equals the defaults.
func Default() Config {
	return Config{
		Database:     "lessonbot.db",
		Lessons:      "lessons",
		Timezone:     "UTC",
		DeliveryTime: "08:00",
		Language:     "en",
		Quiz:         Quiz{Questions: 3},
		Learning:     Learning{Retention: 0.85, DailyReviews: 3, SummaryDay: "sunday"},
		CatchUp:      "6h",
		Delivery:     Delivery{MaxAttempts: 5},
		Admin:        Admin{Listen: "127.0.0.1:9090"},
		DB:           DB{BackupKeep: 7},
		Log:          Log{Level: "info"},
		Telegram: Telegram{
			APIURL:  "https://api.telegram.org",
			Admins:  []int64{},
			Rate:    TelegramRate{MessagesPerSecond: 25, PerChatPerSecond: 1, PerGroupPerMinute: 20},
			Webhook: Webhook{Listen: ":8443"},
		},
		Discord: Discord{
			APIURL: "https://discord.com",
			Admins: []string{},
			Rate:   DiscordRate{RequestsPerSecond: 40},
		},
	}
}

// ApplyEnv overrides the tokens with TELEGRAM_BOT_TOKEN and DISCORD_BOT_TOKEN,
// and the database with LESSONBOT_DATABASE_URL, as returned by getenv
// (usually [os.Getenv]). Surrounding white space is trimmed, and a variable
// that is unset, empty or blank leaves the configured value alone. A nil
// getenv does nothing.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if v := strings.TrimSpace(getenv(EnvTelegramToken)); v != "" {
		c.Telegram.Token = v
	}
	if v := strings.TrimSpace(getenv(EnvDiscordToken)); v != "" {
		c.Discord.Token = v
	}
	if v := strings.TrimSpace(getenv(EnvDatabaseURL)); v != "" {
		c.Database = v
	}
}

// Postgres reports whether Database names a PostgreSQL database rather
// than a SQLite file.
func (c Config) Postgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// databasePassword returns the password in a PostgreSQL database URL, or
// "".
func (c Config) databasePassword() string {
	if !c.Postgres() {
		return ""
	}
	u, err := url.Parse(c.Database)
	if err != nil {
		return ""
	}
	if p, ok := u.User.Password(); ok {
		return p
	}
	return u.Query().Get("password")
}

// SummaryWeekday returns SummaryDay as a weekday. Call it after
// [Config.Validate] has succeeded; an unknown day is Sunday.
func (c Config) SummaryWeekday() time.Weekday {
	d, _ := parseWeekday(c.Learning.SummaryDay)
	return d
}

// weekdayNames are the names summary_day accepts, in English and French,
// with their three-letter forms.
var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday,
	"dimanche": time.Sunday, "lundi": time.Monday, "mardi": time.Tuesday, "mercredi": time.Wednesday,
	"jeudi": time.Thursday, "vendredi": time.Friday, "samedi": time.Saturday,
	"dim": time.Sunday, "lun": time.Monday, "mer": time.Wednesday, "jeu": time.Thursday, "ven": time.Friday,
}

func parseWeekday(s string) (time.Weekday, bool) {
	d, ok := weekdayNames[strings.ToLower(strings.TrimSpace(s))]
	return d, ok
}

// Location returns the loaded time zone named by Timezone. Call it after
// [Config.Validate] has succeeded; if the zone cannot be loaded it returns
// [time.UTC]. It loads the zone on every call, so keep the result.
func (c Config) Location() *time.Location {
	loc, err := loadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// CatchUpDuration returns CatchUp as a duration. Call it after
// [Config.Validate] has succeeded; if CatchUp is not valid it returns 0.
func (c Config) CatchUpDuration() time.Duration {
	d, err := time.ParseDuration(c.CatchUp)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// DeliveryClock returns DeliveryTime as an hour (0 to 23) and a minute
// (0 to 59). Call it after [Config.Validate] has succeeded; if DeliveryTime
// is not a valid HH:MM time it returns 0, 0.
func (c Config) DeliveryClock() (hour, minute int) {
	h, m, ok := parseClock(c.DeliveryTime)
	if !ok {
		return 0, 0
	}
	return h, m
}

// BackupInterval returns BackupEvery as a duration, 0 when backups are
// off. Call it after [Config.Validate] has succeeded.
func (c Config) BackupInterval() time.Duration {
	if c.DB.BackupEvery == "" {
		return 0
	}
	d, err := time.ParseDuration(c.DB.BackupEvery)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// BackupFolder returns the folder of the dated backups: BackupDir, or
// "backups" beside the database.
func (c Config) BackupFolder() string {
	if c.DB.BackupDir != "" {
		return c.DB.BackupDir
	}
	return filepath.Join(filepath.Dir(c.Database), "backups")
}

// DashboardURL returns the address the dashboard's links start with,
// without a trailing slash: PublicURL when set, else http:// and
// admin.listen, where an unspecified host (":9090", "0.0.0.0:9090",
// "[::]:9090") is 127.0.0.1. It returns "" when the dashboard is off
// (admin.listen is empty). Call it after [Config.Validate] has
// succeeded.
func (c Config) DashboardURL() string {
	if c.Admin.Listen == "" {
		return ""
	}
	if c.Dashboard.PublicURL != "" {
		return strings.TrimSuffix(c.Dashboard.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Admin.Listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// LogLevel returns Level as a [slog.Level]. Call it after
// [Config.Validate] has succeeded; an unknown level is info.
func (c Config) LogLevel() slog.Level {
	l, _ := parseLevel(c.Log.Level)
	return l
}

// parseLevel parses a log level name.
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

// Redacted returns a copy of c, safe to print or log, in which every token
// that is set is replaced by "REDACTED". Empty tokens stay empty so that the
// output still shows which bots are configured. The copy shares no slices
// with c.
func (c Config) Redacted() Config {
	r := c
	r.Telegram.Admins = slices.Clone(c.Telegram.Admins)
	r.Discord.Admins = slices.Clone(c.Discord.Admins)
	if r.Telegram.Token != "" {
		r.Telegram.Token = Redaction
	}
	if r.Discord.Token != "" {
		r.Discord.Token = Redaction
	}
	if r.Telegram.Webhook.Secret != "" {
		r.Telegram.Webhook.Secret = Redaction
	}
	if p := c.databasePassword(); p != "" {
		r.Database = strings.ReplaceAll(c.Database, url.QueryEscape(p), Redaction)
		r.Database = strings.ReplaceAll(r.Database, url.PathEscape(p), Redaction)
		r.Database = strings.ReplaceAll(r.Database, p, Redaction)
	}
	return r
}

// secrets returns the token values that must never appear in a message.
func (c Config) secrets() []string {
	var s []string
	for _, t := range []string{c.Telegram.Token, c.Discord.Token, c.databasePassword(), c.Telegram.Webhook.Secret} {
		if strings.TrimSpace(t) != "" {
			s = append(s, t)
		}
	}
	return s
}

// scrub replaces every secret in msg by the redaction text.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, Redaction)
	}
	return msg
}
