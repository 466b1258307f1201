package config

import (
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fake tokens shaped like real ones (long enough never to be quoted).
const (
	telegramToken = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
	discordToken  = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"
)

// checkErr fails t unless err matches: nil when want is empty, otherwise an
// error containing every string in want and never containing a token.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	for _, tok := range []string{telegramToken, discordToken} {
		if strings.Contains(msg, tok) {
			t.Errorf("error %q contains a token", msg)
		}
	}
}

func TestDefault(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if err := Default().Validate(); err != nil {
			t.Fatalf("Default().Validate() = %v", err)
		}
	})
	t.Run("OKFreshSlices", func(t *testing.T) {
		a := Default()
		a.Telegram.Admins = append(a.Telegram.Admins, 1)
		a.Discord.Admins = append(a.Discord.Admins, "1")
		if b := Default(); len(b.Telegram.Admins) != 0 || len(b.Discord.Admins) != 0 {
			t.Fatalf("Default() shares slices between calls: %+v", b)
		}
	})
}

// TestExample keeps config.example.yaml and Default in step.
func TestExample(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		cfg, err := Parse(data, "config.example.yaml")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if want := Default(); !reflect.DeepEqual(cfg, want) {
			t.Fatalf("config.example.yaml differs from Default():\n got %#v\nwant %#v", cfg, want)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
	t.Run("OKEveryKeyPresent", func(t *testing.T) {
		// Every key, including nested ones, appears in the example.
		var keys []string
		var walk func(typ reflect.Type, prefix string)
		walk = func(typ reflect.Type, prefix string) {
			fs := fieldsOf(typ)
			for _, name := range fs.names {
				f := typ.FieldByIndex(fs.index[name])
				keys = append(keys, prefix+name)
				if f.Type.Kind() == reflect.Struct {
					walk(f.Type, prefix+name+".")
				}
			}
		}
		walk(reflect.TypeFor[Config](), "")
		text := string(data)
		for _, k := range keys {
			leaf := k[strings.LastIndex(k, ".")+1:]
			if !strings.Contains(text, leaf+":") {
				t.Errorf("config.example.yaml lacks key %q", k)
			}
		}
	})
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		edit func(*Config) // applied to Default() to get the wanted result
		errs []string      // wanted error fragments; none means success
	}{
		{name: "OKEmpty", yaml: ""},
		{name: "OKCommentsOnly", yaml: "# nothing here\n\n# still nothing\n"},
		{name: "OKNullDocument", yaml: "~\n"},
		{name: "OKNullValuesKeepDefaults", yaml: "database:\nquiz:\ntelegram:\n  admins:\n"},
		{name: "OKTrailingDocumentMarker", yaml: "language: fr\n---\n", edit: func(c *Config) { c.Language = "fr" }},
		{
			name: "OKPartial",
			yaml: "timezone: Europe/Paris\ndelivery_time: \"07:30\"\nquiz:\n  questions: 5\ntelegram:\n  admins: [1, 22]\n",
			edit: func(c *Config) {
				c.Timezone = "Europe/Paris"
				c.DeliveryTime = "07:30"
				c.Quiz.Questions = 5
				c.Telegram.Admins = []int64{1, 22}
			},
		},
		{
			name: "OKUnquotedValues",
			yaml: "delivery_time: 07:30\ndiscord:\n  guild_id: 41771983423143937\n  admins: [80351110224678912]\n",
			edit: func(c *Config) {
				c.DeliveryTime = "07:30"
				c.Discord.GuildID = "41771983423143937"
				c.Discord.Admins = []string{"80351110224678912"}
			},
		},
		{
			name: "OKAlias",
			yaml: "telegram:\n  api_url: &u http://localhost:8081\ndiscord:\n  api_url: *u\n",
			edit: func(c *Config) {
				c.Telegram.APIURL = "http://localhost:8081"
				c.Discord.APIURL = "http://localhost:8081"
			},
		},
		{
			name: "ErrUnknownKey",
			yaml: "database: x.db\nlessonz: y\n",
			errs: []string{`config.yaml:2: unknown key "lessonz" (did you mean "lessons"?)`},
		},
		{
			name: "ErrUnknownKeyNested",
			yaml: "database: x.db\ntelegram:\n  tokn: abc\n",
			errs: []string{`config.yaml:3: unknown key "telegram.tokn" (did you mean "telegram.token"?)`},
		},
		{
			name: "ErrUnknownKeyDeep",
			yaml: "quiz:\n  questions: 3\n  shuffle: true\n",
			errs: []string{`config.yaml:3: unknown key "quiz.shuffle"`},
		},
		{
			name: "ErrUnknownKeyCase",
			yaml: "Database: x.db\n",
			errs: []string{`config.yaml:1: unknown key "Database" (did you mean "database"?)`},
		},
		{
			name: "ErrUnknownKeyDotted",
			yaml: "telegram.token: abc\n",
			errs: []string{`config.yaml:1: unknown key "telegram.token"`},
		},
		{
			name: "ErrUnknownKeysAll",
			yaml: "foo: 1\ndiscord:\n  bar: 2\n",
			errs: []string{`config.yaml:1: unknown key "foo"`, `config.yaml:3: unknown key "discord.bar"`},
		},
		{
			name: "ErrDuplicateKey",
			yaml: "quiz:\n  questions: 3\n  questions: 4\n",
			errs: []string{`config.yaml:3: duplicate key "quiz.questions" (first set on line 2)`},
		},
		{
			name: "ErrMergeKey",
			yaml: "quiz:\n  <<: {questions: 4}\n",
			errs: []string{`config.yaml:2: quiz: merge keys (<<) are not supported`},
		},
		{
			name: "ErrTypeMismatch",
			yaml: "database: x.db\nlessons: l\ntimezone: UTC\nlanguage: en\nquiz: {questions: many}\n",
			errs: []string{`config.yaml:5: quiz.questions: want a whole number, got "many"`},
		},
		{
			name: "ErrTypeMismatchFraction",
			yaml: "quiz:\n  questions: 2.5\n",
			errs: []string{`config.yaml:2: quiz.questions: want a whole number, got "2.5"`},
		},
		{
			name: "ErrTypeMismatchText",
			yaml: "database: [a, b]\n",
			errs: []string{`config.yaml:1: database: want text, got a list`},
		},
		{
			name: "ErrTypeMismatchSection",
			yaml: "\nquiz: 3\n",
			errs: []string{`config.yaml:2: quiz: want a mapping with the keys questions, got "3"`},
		},
		{
			name: "ErrTypeMismatchList",
			yaml: "telegram:\n  admins: 12345\n",
			errs: []string{`config.yaml:2: telegram.admins: want a list, got "12345"`},
		},
		{
			name: "ErrTypeMismatchListItem",
			yaml: "telegram:\n  admins:\n    - 1\n    - bob\n",
			errs: []string{`config.yaml:4: telegram.admins[1]: want a whole number, got "bob"`},
		},
		{
			name: "ErrTypeMismatchDiscordAdmin",
			yaml: "discord:\n  admins: [[1]]\n",
			errs: []string{`config.yaml:2: discord.admins[0]: want text, got a list`},
		},
		{
			name: "ErrNotAMapping",
			yaml: "- database\n- lessons\n",
			errs: []string{`config.yaml:1: want a mapping of settings`},
		},
		{
			name: "ErrInvalidYAMLFlow",
			yaml: "database: x.db\nlessons: l\nquiz: [1\nlanguage: en\n",
			errs: []string{`config.yaml:3: invalid YAML: `},
		},
		{
			name: "ErrInvalidYAMLTab",
			yaml: "quiz:\n\tquestions: 3\n",
			errs: []string{`config.yaml:2: invalid YAML: `},
		},
		{
			name: "ErrInvalidYAMLIndent",
			yaml: "database: x.db\nquiz:\n  questions: 3\n language: en\n",
			errs: []string{`config.yaml:4: invalid YAML: `},
		},
		{
			name: "ErrInvalidYAMLFirstLine",
			yaml: "database: a: b\n",
			errs: []string{`config.yaml:1: invalid YAML: `},
		},
		{
			name: "ErrInvalidYAMLUnknownAnchor",
			yaml: "database: x.db\nlessons: *nowhere\n",
			errs: []string{`config.yaml:2: invalid YAML: unknown anchor 'nowhere' referenced`},
		},
		{
			name: "ErrSecondDocument",
			yaml: "database: x.db\n---\ndatabase: y.db\n",
			errs: []string{`config.yaml:2: found a second YAML document`},
		},
		{
			name: "ErrTokenNotShownInSection",
			yaml: "telegram: " + telegramToken + "\ndiscord: " + discordToken + "\n",
			errs: []string{`config.yaml:1: telegram: want a mapping`, `config.yaml:2: discord: want a mapping`, "got a long value"},
		},
		{
			name: "ErrTokenNotShownWithUnknownKey",
			yaml: "telegram:\n  token: " + telegramToken + "\n  admins: [" + telegramToken + "]\n  tokn: " + telegramToken + "\n",
			errs: []string{`config.yaml:3: telegram.admins[0]: want a whole number`, `config.yaml:4: unknown key "telegram.tokn"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), "config.yaml")
			checkErr(t, err, tt.errs)
			if len(tt.errs) > 0 {
				return
			}
			want := Default()
			if tt.edit != nil {
				tt.edit(&want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse:\n got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	t.Run("ErrUsesName", func(t *testing.T) {
		_, err := Parse([]byte("x: 1\n"), "/etc/lessonbot/config.yaml")
		checkErr(t, err, []string{`/etc/lessonbot/config.yaml:1: unknown key "x"`})
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		errs []string // wanted error fragments; none means valid
	}{
		{name: "OK", edit: func(*Config) {}},
		{
			name: "OKEverythingSet",
			edit: func(c *Config) {
				c.Database = "/var/lib/lessonbot/bot.db"
				c.Lessons = "/srv/lessons"
				c.Timezone = "America/New_York"
				c.DeliveryTime = "23:59"
				c.Language = "fr"
				c.Quiz.Questions = 10
				c.CatchUp = "0s"
				c.Delivery = Delivery{MaxAttempts: 100, ResendUnknown: true}
				c.Telegram = Telegram{Token: telegramToken, APIURL: "http://localhost:8081/", Admins: []int64{1, 123456789},
					Rate: TelegramRate{MessagesPerSecond: 0.5, PerChatPerSecond: 2, PerGroupPerMinute: 60}}
				c.Discord = Discord{Token: discordToken, APIURL: "https://proxy.example/discord", GuildID: "41771983423143937", Admins: []string{"80351110224678912"},
					Rate: DiscordRate{RequestsPerSecond: 10}}
			},
		},
		{
			name: "OKOperations",
			edit: func(c *Config) {
				c.Admin.Listen = ":9090"
				c.DB = DB{BackupEvery: "24h", BackupKeep: 30, BackupDir: "/var/backups/lessonbot"}
				c.Log = Log{Format: "json", Level: "debug"}
				c.Alerts = Alerts{TelegramChat: -1001234567890, DiscordChannel: "41771983423143937"}
			},
		},
		{name: "OKAdminOff", edit: func(c *Config) { c.Admin.Listen = "" }},
		{name: "OKDashboardPublicURL", edit: func(c *Config) { c.Dashboard.PublicURL = "https://lessonbot.example.org" }},
		{name: "OKDashboardPublicURLSlash", edit: func(c *Config) { c.Dashboard.PublicURL = "http://10.0.0.5:9090/" }},
		{
			name: "ErrDashboardPublicURL",
			edit: func(c *Config) { c.Dashboard.PublicURL = "lessonbot.example.org" },
			errs: []string{`dashboard.public_url: "lessonbot.example.org" is not an absolute http or https URL without path or query`},
		},
		{
			name: "ErrDashboardPublicURLQuery",
			edit: func(c *Config) { c.Dashboard.PublicURL = "https://lessonbot.example.org/?x=1" },
			errs: []string{`dashboard.public_url: "https://lessonbot.example.org/?x=1" is not an absolute http or https URL`},
		},
		{
			name: "ErrDashboardPublicURLPath",
			edit: func(c *Config) { c.Dashboard.PublicURL = "https://example.org/lessonbot" },
			errs: []string{`dashboard.public_url: "https://example.org/lessonbot" is not an absolute http or https URL without path`},
		},
		{
			name: "ErrDashboardPublicURLScheme",
			edit: func(c *Config) { c.Dashboard.PublicURL = "ftp://example.org" },
			errs: []string{`dashboard.public_url: "ftp://example.org" is not an absolute http or https URL`},
		},
		{
			name: "ErrDashboardPublicURLPassword",
			edit: func(c *Config) { c.Dashboard.PublicURL = "https://admin:hunter2@example.org" },
			errs: []string{`dashboard.public_url: "https://admin:xxxxx@example.org" is not an absolute http or https URL`},
		},
		{
			name: "ErrOperations",
			edit: func(c *Config) {
				c.Admin.Listen = "9090"
				c.DB = DB{BackupEvery: "30s", BackupKeep: 0}
				c.Log = Log{Format: "xml", Level: "loud"}
				c.Alerts.DiscordChannel = "#ops"
			},
			errs: []string{
				`admin.listen: "9090" is not a host:port address`,
				`db.backup_every: "30s" is not a duration of at least 1m`,
				"db.backup_keep: 0 is out of range (want 1 to 1000)",
				`log.format: "xml" is not a log format`,
				`log.level: "loud" is not a log level`,
				`alerts.discord_channel: "#ops" is not a Discord channel id`,
			},
		},
		{
			name: "ErrWebhookURL",
			edit: func(c *Config) { c.Telegram.Webhook.URL = "http://bot.example.org/hook" },
			errs: []string{`telegram.webhook.url: "http://bot.example.org/hook" is not an https URL`},
		},
		{
			name: "OKWebhookLoopbackHTTP",
			edit: func(c *Config) {
				c.Telegram.Webhook = Webhook{URL: "http://127.0.0.1:8080/hook", Listen: "127.0.0.1:8081"}
			},
		},
		{
			name: "ErrWebhookSecret",
			edit: func(c *Config) {
				c.Telegram.Webhook = Webhook{URL: "https://bot.example.org/hook", Listen: ":8443", Secret: "has space!"}
			},
			errs: []string{"telegram.webhook.secret: want 1 to 256 characters"},
		},
		{
			name: "OKPostgres",
			edit: func(c *Config) { c.Database = "postgres://bot:pw@db.internal:5432/lessonbot?sslmode=require" },
		},
		{
			name: "ErrPostgresBackups",
			edit: func(c *Config) {
				c.Database = "postgres://bot@db.internal/lessonbot"
				c.DB.BackupEvery = "24h"
			},
			errs: []string{"db.backup_every: lessonbot backs up SQLite files only; for a PostgreSQL database use pg_dump"},
		},
		{
			name: "ErrPostgresNoDatabaseName",
			edit: func(c *Config) { c.Database = "postgres://bot:s3cret@db.internal:5432" },
			errs: []string{"database: the PostgreSQL URL does not parse or lacks a host or a database name"},
		},
		{
			name: "ErrWebhookListen",
			edit: func(c *Config) { c.Telegram.Webhook = Webhook{URL: "https://bot.example.org/hook"} },
			errs: []string{"telegram.webhook.listen: must not be empty"},
		},
		{
			name: "ErrInteractionsKey",
			edit: func(c *Config) { c.Discord.Interactions.Listen = ":8080"; c.Discord.PublicKey = "abc" },
			errs: []string{"discord.public_key: want the application's 64-hex-digit public key"},
		},
		{
			name: "OKInteractions",
			edit: func(c *Config) {
				c.Discord.Interactions.Listen = ":8080"
				c.Discord.PublicKey = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			},
		},
		{
			name: "ErrCatchUp",
			edit: func(c *Config) { c.CatchUp = "six hours" },
			errs: []string{`catch_up: "six hours" is not a duration`},
		},
		{
			name: "ErrCatchUpNegative",
			edit: func(c *Config) { c.CatchUp = "-1h" },
			errs: []string{`catch_up: "-1h" is not a duration`},
		},
		{
			name: "ErrRetention",
			edit: func(c *Config) { c.Learning.Retention = 0.99 },
			errs: []string{"learning.retention: 0.99 is out of range (want 0.70 to 0.97; the default 0.85 suits most learners)"},
		},
		{
			name: "ErrLearning",
			edit: func(c *Config) {
				c.Learning.Retention, c.Learning.DailyReviews, c.Learning.SummaryDay = 0.5, 11, "someday"
			},
			errs: []string{
				"learning.retention: 0.5 is out of range (want 0.70 to 0.97; the default 0.85 suits most learners)",
				"learning.daily_reviews: 11 is out of range (want 0 to 10)",
				`learning.summary_day: "someday" is not a day of the week (want sunday, monday, ... or dimanche, lundi, ...)`,
			},
		},
		{
			name: "OKFrenchSummaryDay",
			edit: func(c *Config) { c.Learning.SummaryDay, c.Learning.Retention = "Lundi", 0.7 },
		},
		{
			name: "ErrMaxAttempts",
			edit: func(c *Config) { c.Delivery.MaxAttempts = 0 },
			errs: []string{"delivery.max_attempts: 0 is out of range (want 1 to 100)"},
		},
		{
			name: "ErrRates",
			edit: func(c *Config) {
				c.Telegram.Rate = TelegramRate{MessagesPerSecond: -1, PerChatPerSecond: 0, PerGroupPerMinute: 20}
				c.Discord.Rate.RequestsPerSecond = 0
			},
			errs: []string{
				"telegram.rate.messages_per_second: -1 is not a positive rate",
				"telegram.rate.per_chat_per_second: 0 is not a positive rate",
				"discord.rate.requests_per_second: 0 is not a positive rate",
			},
		},
		{name: "OKMidnight", edit: func(c *Config) { c.DeliveryTime = "00:00" }},
		{name: "OKOneQuestion", edit: func(c *Config) { c.Quiz.Questions = 1 }},
		{
			name: "ErrDatabase",
			edit: func(c *Config) { c.Database = "" },
			errs: []string{"database: must not be empty"},
		},
		{
			name: "ErrLessons",
			edit: func(c *Config) { c.Lessons = "  " },
			errs: []string{"lessons: must not be empty"},
		},
		{
			name: "ErrTimezone",
			edit: func(c *Config) { c.Timezone = "Mars/Olympus" },
			errs: []string{`timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Paris)`},
		},
		{
			name: "ErrTimezoneLocal",
			edit: func(c *Config) { c.Timezone = "Local" },
			errs: []string{`timezone: unknown time zone "Local" (want an IANA name`},
		},
		{
			name: "ErrTimezoneEmpty",
			edit: func(c *Config) { c.Timezone = "" },
			errs: []string{`timezone: must not be empty (want an IANA name`},
		},
		{
			name: "ErrTimezonePath",
			edit: func(c *Config) { c.Timezone = "../../etc/passwd" },
			errs: []string{`timezone: unknown time zone "../../etc/passwd"`},
		},
		{
			name: "ErrDeliveryTime",
			edit: func(c *Config) { c.DeliveryTime = "25:99" },
			errs: []string{`delivery_time: "25:99" is not a time of day (want HH:MM, such as 07:30)`},
		},
		{
			name: "ErrDeliveryTimeMinutes",
			edit: func(c *Config) { c.DeliveryTime = "12:60" },
			errs: []string{`delivery_time: "12:60" is not a time of day`},
		},
		{
			name: "ErrDeliveryTimeShort",
			edit: func(c *Config) { c.DeliveryTime = "7:30" },
			errs: []string{`delivery_time: "7:30" is not a time of day`},
		},
		{
			name: "ErrDeliveryTimeSeconds",
			edit: func(c *Config) { c.DeliveryTime = "07:30:00" },
			errs: []string{`delivery_time: "07:30:00" is not a time of day`},
		},
		{
			name: "ErrLanguage",
			edit: func(c *Config) { c.Language = "de" },
			errs: []string{`language: "de" is not supported (want en or fr)`},
		},
		{
			name: "ErrLanguageCase",
			edit: func(c *Config) { c.Language = "EN" },
			errs: []string{`language: "EN" is not supported`},
		},
		{
			name: "ErrQuizQuestionsZero",
			edit: func(c *Config) { c.Quiz.Questions = 0 },
			errs: []string{`quiz.questions: 0 is out of range (want 1 to 10)`},
		},
		{
			name: "ErrQuizQuestionsEleven",
			edit: func(c *Config) { c.Quiz.Questions = 11 },
			errs: []string{`quiz.questions: 11 is out of range (want 1 to 10)`},
		},
		{
			name: "ErrTelegramAPIURLScheme",
			edit: func(c *Config) { c.Telegram.APIURL = "ftp://api.telegram.org" },
			errs: []string{`telegram.api_url: "ftp://api.telegram.org" is not an absolute http or https URL without query`},
		},
		{
			name: "ErrTelegramAPIURLRelative",
			edit: func(c *Config) { c.Telegram.APIURL = "api.telegram.org" },
			errs: []string{`telegram.api_url: "api.telegram.org" is not an absolute`},
		},
		{
			name: "ErrTelegramAPIURLQuery",
			edit: func(c *Config) { c.Telegram.APIURL = "https://api.telegram.org/?x=1" },
			errs: []string{`telegram.api_url: "https://api.telegram.org/?x=1" is not`},
		},
		{
			name: "ErrTelegramAPIURLEmpty",
			edit: func(c *Config) { c.Telegram.APIURL = "" },
			errs: []string{`telegram.api_url: must not be empty`},
		},
		{
			name: "ErrDiscordAPIURL",
			edit: func(c *Config) { c.Discord.APIURL = "https://" },
			errs: []string{`discord.api_url: "https://" is not an absolute http or https URL`},
		},
		{
			name: "ErrDiscordAPIURLFragment",
			edit: func(c *Config) { c.Discord.APIURL = "https://discord.com/#x" },
			errs: []string{`discord.api_url: "https://discord.com/#x" is not`},
		},
		{
			name: "ErrAPIURLPasswordHidden",
			edit: func(c *Config) { c.Discord.APIURL = "ftp://user:hunter2@example.com" },
			errs: []string{`discord.api_url: "ftp://user:xxxxx@example.com" is not`},
		},
		{
			name: "ErrTelegramAdmins",
			edit: func(c *Config) { c.Telegram.Admins = []int64{5, -1, 0} },
			errs: []string{
				`telegram.admins[1]: -1 is not a Telegram user id (want a positive number)`,
				`telegram.admins[2]: 0 is not a Telegram user id`,
			},
		},
		{
			name: "ErrDiscordGuildID",
			edit: func(c *Config) { c.Discord.GuildID = "my-server" },
			errs: []string{`discord.guild_id: "my-server" is not a Discord id (want digits only`},
		},
		{
			name: "ErrDiscordAdmins",
			edit: func(c *Config) { c.Discord.Admins = []string{"80351110224678912", "@alice", ""} },
			errs: []string{
				`discord.admins[1]: "@alice" is not a Discord user id (want digits only)`,
				`discord.admins[2]: "" is not a Discord user id`,
			},
		},
		{
			name: "ErrSeveral",
			edit: func(c *Config) {
				c.Language = "de"
				c.Quiz.Questions = 0
			},
			errs: []string{"language: ", "quiz.questions: "},
		},
		{
			name: "ErrTokenNotShown",
			edit: func(c *Config) {
				c.Telegram.Token = telegramToken
				c.Telegram.APIURL = "ftp://api.telegram.org/bot" + telegramToken
				c.Discord.Token = discordToken
				c.Discord.APIURL = discordToken
				c.Discord.GuildID = discordToken
				c.Discord.Admins = []string{discordToken}
			},
			errs: []string{`telegram.api_url: "ftp://api.telegram.org/botREDACTED" is not`, `discord.api_url: "REDACTED"`, `discord.guild_id: "REDACTED"`, `discord.admins[0]: "REDACTED"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			checkErr(t, err, tt.errs)
			if err != nil {
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tt.errs) {
					// Each problem is one line of its own.
					t.Errorf("got %d error lines, want %d: %q", len(lines), len(tt.errs), lines)
				}
			}
		})
	}
}

// TestParseThenValidate checks the way the command uses the package.
func TestParseThenValidate(t *testing.T) {
	data := "telegram:\n  token: " + telegramToken + "\n  api_url: \"https://api.telegram.org?token=" + telegramToken + "\"\n"
	t.Run("ErrTokenNotShown", func(t *testing.T) {
		c, err := Parse([]byte(data), "config.yaml")
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		checkErr(t, c.Validate(), []string{"telegram.api_url: "})
	})
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name                    string
		env                     map[string]string
		cfgTelegram, cfgDiscord string
		wantTelegram, wantDisc  string
	}{
		{name: "OKNoEnv", cfgTelegram: "file-t", cfgDiscord: "file-d", wantTelegram: "file-t", wantDisc: "file-d"},
		{
			name:         "OKEnvWins",
			env:          map[string]string{"TELEGRAM_BOT_TOKEN": "env-t", "DISCORD_BOT_TOKEN": "env-d"},
			cfgTelegram:  "file-t",
			cfgDiscord:   "file-d",
			wantTelegram: "env-t",
			wantDisc:     "env-d",
		},
		{
			name:         "OKEnvFillsEmpty",
			env:          map[string]string{"TELEGRAM_BOT_TOKEN": "env-t"},
			wantTelegram: "env-t",
		},
		{
			name:         "OKEmptyEnvKeepsToken",
			env:          map[string]string{"TELEGRAM_BOT_TOKEN": "", "DISCORD_BOT_TOKEN": "  \n"},
			cfgTelegram:  "file-t",
			cfgDiscord:   "file-d",
			wantTelegram: "file-t",
			wantDisc:     "file-d",
		},
		{
			name:         "OKTrimmed",
			env:          map[string]string{"DISCORD_BOT_TOKEN": "env-d\n"},
			wantDisc:     "env-d",
			cfgTelegram:  "file-t",
			wantTelegram: "file-t",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Telegram.Token, c.Discord.Token = tt.cfgTelegram, tt.cfgDiscord
			c.ApplyEnv(func(k string) string { return tt.env[k] })
			if c.Telegram.Token != tt.wantTelegram || c.Discord.Token != tt.wantDisc {
				t.Fatalf("tokens = %q, %q; want %q, %q", c.Telegram.Token, c.Discord.Token, tt.wantTelegram, tt.wantDisc)
			}
		})
	}
	t.Run("OKNilGetenv", func(t *testing.T) {
		c := Default()
		c.ApplyEnv(nil)
		if !reflect.DeepEqual(c, Default()) {
			t.Fatalf("ApplyEnv(nil) changed the config: %#v", c)
		}
	})
}

func TestRedacted(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := Default()
		c.Telegram.Token = telegramToken
		c.Discord.Token = discordToken
		c.Telegram.Admins = []int64{1}
		c.Discord.Admins = []string{"2"}
		r := c.Redacted()
		if r.Telegram.Token != "REDACTED" || r.Discord.Token != "REDACTED" {
			t.Fatalf("Redacted tokens = %q, %q", r.Telegram.Token, r.Discord.Token)
		}
		if c.Telegram.Token != telegramToken || c.Discord.Token != discordToken {
			t.Fatal("Redacted changed the original")
		}
		want := c
		want.Telegram.Token, want.Discord.Token = "REDACTED", "REDACTED"
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("Redacted changed more than the tokens: %#v", r)
		}
		r.Telegram.Admins[0], r.Discord.Admins[0] = 9, "9"
		if c.Telegram.Admins[0] != 1 || c.Discord.Admins[0] != "2" {
			t.Fatal("Redacted shares slices with the original")
		}
	})
	t.Run("OKEmptyTokensStayEmpty", func(t *testing.T) {
		if r := Default().Redacted(); r.Telegram.Token != "" || r.Discord.Token != "" {
			t.Fatalf("Redacted tokens = %q, %q; want empty", r.Telegram.Token, r.Discord.Token)
		}
	})
}

func TestLocation(t *testing.T) {
	tests := []struct {
		name, zone, want string
	}{
		{name: "OK", zone: "Europe/Paris", want: "Europe/Paris"},
		{name: "OKDefault", zone: "UTC", want: "UTC"},
		{name: "ErrFallsBackToUTC", zone: "Mars/Olympus", want: "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Timezone = tt.zone
			if got := c.Location().String(); got != tt.want {
				t.Fatalf("Location() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeliveryClock(t *testing.T) {
	tests := []struct {
		name, clock  string
		hour, minute int
	}{
		{name: "OK", clock: "07:30", hour: 7, minute: 30},
		{name: "OKDefault", clock: "08:00", hour: 8},
		{name: "OKLatest", clock: "23:59", hour: 23, minute: 59},
		{name: "ErrZero", clock: "25:99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.DeliveryTime = tt.clock
			if h, m := c.DeliveryClock(); h != tt.hour || m != tt.minute {
				t.Fatalf("DeliveryClock() = %d, %d; want %d, %d", h, m, tt.hour, tt.minute)
			}
		})
	}
}

func TestSummaryWeekday(t *testing.T) {
	for day, want := range map[string]time.Weekday{"sunday": time.Sunday, "Lundi": time.Monday, "fri": time.Friday, " samedi ": time.Saturday} {
		c := Default()
		c.Learning.SummaryDay = day
		if got := c.SummaryWeekday(); got != want {
			t.Errorf("SummaryWeekday(%q) = %v, want %v", day, got, want)
		}
	}
}

func TestDashboardURL(t *testing.T) {
	tests := []struct {
		name, listen, public, want string
	}{
		{"OKDefault", "127.0.0.1:9090", "", "http://127.0.0.1:9090"},
		{"OKNoHost", ":9090", "", "http://127.0.0.1:9090"},
		{"OKUnspecifiedIPv4", "0.0.0.0:9090", "", "http://127.0.0.1:9090"},
		{"OKUnspecifiedIPv6", "[::]:9090", "", "http://127.0.0.1:9090"},
		{"OKIPv6Loopback", "[::1]:9090", "", "http://[::1]:9090"},
		{"OKHostName", "localhost:9090", "", "http://localhost:9090"},
		{"OKPublic", "127.0.0.1:9090", "https://lessonbot.example.org/", "https://lessonbot.example.org"},
		{"OKOff", "", "https://lessonbot.example.org", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Admin.Listen, c.Dashboard.PublicURL = tt.listen, tt.public
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.DashboardURL(); got != tt.want {
				t.Errorf("DashboardURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOperationsHelpers(t *testing.T) {
	c := Default()
	c.Database = "/var/lib/lessonbot/lessonbot.db"
	if got := c.BackupInterval(); got != 0 {
		t.Errorf("BackupInterval() with backups off = %v, want 0", got)
	}
	if got, want := c.BackupFolder(), "/var/lib/lessonbot/backups"; got != want {
		t.Errorf("BackupFolder() = %q, want %q", got, want)
	}
	c.DB = DB{BackupEvery: "12h", BackupKeep: 3, BackupDir: "/srv/backups"}
	if got := c.BackupInterval(); got != 12*time.Hour {
		t.Errorf("BackupInterval() = %v, want 12h", got)
	}
	if got := c.BackupFolder(); got != "/srv/backups" {
		t.Errorf("BackupFolder() = %q, want /srv/backups", got)
	}
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		c.Log.Level = level
		if got := c.LogLevel(); got != want {
			t.Errorf("LogLevel() for %q = %v, want %v", level, got, want)
		}
	}
}

// TestDatabaseURL: LESSONBOT_DATABASE_URL overrides database, and the
// password of a PostgreSQL URL never shows: not in the redacted config,
// not in an error.
func TestDatabaseURL(t *testing.T) {
	c := Default()
	c.ApplyEnv(func(k string) string {
		if k == EnvDatabaseURL {
			return " postgres://bot:s3cr%40t@db/lessonbot "
		}
		return ""
	})
	if c.Database != "postgres://bot:s3cr%40t@db/lessonbot" || !c.Postgres() {
		t.Fatalf("Database = %q (Postgres %v), want the URL from the environment", c.Database, c.Postgres())
	}
	if r := c.Redacted().Database; strings.Contains(r, "s3cr") || !strings.Contains(r, Redaction) {
		t.Errorf("Redacted().Database = %q, want the password redacted", r)
	}
	c.Database = "postgres://bot:s3cr%40t@db"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "s3cr") {
		t.Errorf("Validate = %v, want an error without the password", err)
	}
	if d := Default(); d.Postgres() {
		t.Error("the default database is PostgreSQL, want a SQLite file")
	}
}
