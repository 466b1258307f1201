// Package metrics holds lessonbot's Prometheus metrics: what the program
// counts as it works (updates, sends, answers, reloads), what it reads from
// the store when scraped (the outbox, the subscribed chats), and the Go,
// process, build and database/sql collectors.
//
// Labels are bounded: a platform, a kind of update, a result, a state, a
// chat type or a build's names, never a chat, a user, a lesson or a
// question id: those belong in the logs and the dashboard.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/store"
)

// Results of a send, the values of messages_sent_total's result label.
const (
	ResultOK          = "ok"
	ResultRateLimited = "rate_limited"
	ResultChatGone    = "chat_gone"
	ResultBadRequest  = "bad_request"
	ResultServerError = "server_error"
	ResultUnknown     = "unknown"
)

// Kinds of update, the values of the kind label.
const (
	KindCommand    = "command"
	KindButton     = "button"
	KindMembership = "membership"
)

// Labels are every label name lessonbot's own metrics use.
var Labels = []string{"platform", "kind", "result", "state", "chat_type", "correct", "role", "version", "revision", "goversion", "command"}

// Build names the running build, for lessonbot_build_info.
type Build struct {
	Version, Revision, GoVersion string
}

// Metrics are lessonbot's metrics and the registry that serves them. The
// methods that count are safe for concurrent use; a nil *Metrics counts
// nothing, so that code run without the admin listener needs no check.
type Metrics struct {
	registry *prometheus.Registry

	updates      *prometheus.CounterVec
	handling     *prometheus.HistogramVec
	sent         *prometheus.CounterVec
	retryAfter   *prometheus.CounterVec
	sendDuration *prometheus.HistogramVec
	lateness     *prometheus.HistogramVec
	answers      *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	platformUp   *prometheus.GaugeVec
	leaseHeld    *prometheus.GaugeVec
}

// New returns the metrics of a process running build b, registered with
// the Go, process and build-info collectors.
func New(b Build) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{registry: r}
	f := factory{r}
	m.updates = f.counterVec("lessonbot_updates_received_total",
		"Updates received from the platforms and handed to the tutor, by kind (command, button, membership).", "platform", "kind")
	m.handling = f.histogramVec("lessonbot_update_handling_duration_seconds",
		"Time the tutor took over an update, reply composed.", prometheus.DefBuckets, "platform", "kind")
	m.sent = f.counterVec("lessonbot_messages_sent_total",
		"Messages of scheduled deliveries sent, by result (ok, rate_limited, chat_gone, bad_request, server_error, unknown).", "platform", "result")
	m.retryAfter = f.counterVec("lessonbot_retry_after_seconds_total",
		"Seconds the platforms asked to wait in their 429 answers.", "platform")
	m.sendDuration = f.histogramVec("lessonbot_send_duration_seconds",
		"Time a platform took to answer one send.", prometheus.DefBuckets, "platform")
	m.lateness = f.histogramVec("lessonbot_delivery_lateness_seconds",
		"How long after its slot a delivery's first message was sent.",
		[]float64{1, 5, 15, 60, 300, 900, 1800, 3600}, "platform")
	m.answers = f.counterVec("lessonbot_quiz_answers_total",
		"Learners' first answers to quiz questions, by correctness.", "platform", "correct")
	m.reloads = f.counterVec("lessonbot_lesson_reloads_total",
		"Reloads of the lessons folder, by result (ok: every file valid; problems: some file left out or kept at its last good copy).", "result")
	m.platformUp = f.gaugeVec("lessonbot_platform_up",
		"1 when the platform's last answer was an answer (even a refusal), 0 when it failed to answer (a network error or a 5xx).", "platform")
	m.leaseHeld = f.gaugeVec("lessonbot_lease_held",
		"1 while this instance holds a role by lease (several instances on one PostgreSQL database), else 0.", "role")
	info := f.gaugeVec("lessonbot_build_info",
		"Always 1; the labels name the running build.", "version", "revision", "goversion")
	info.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)

	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// Registry returns the registry that holds the metrics, for tests and for
// registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// WatchDB adds database/sql's connection pool statistics (go_sql_*).
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// Update counts one update of kind handled on platform in took.
func (m *Metrics) Update(platform, kind string, took time.Duration) {
	if m == nil {
		return
	}
	m.updates.WithLabelValues(platform, kind).Inc()
	m.handling.WithLabelValues(platform, kind).Observe(took.Seconds())
}

// Sent counts one send of a scheduled message on platform: err is nil or
// the sender's error, classified by [Result]; took is the time the
// platform took. A 429's wait is added to retry_after_seconds_total.
func (m *Metrics) Sent(platform string, err error, took time.Duration) {
	if m == nil {
		return
	}
	result := Result(err)
	m.sent.WithLabelValues(platform, result).Inc()
	m.sendDuration.WithLabelValues(platform).Observe(took.Seconds())
	var se *chat.SendError
	if errors.As(err, &se) && se.Kind == chat.RateLimited {
		m.RetryAfter(platform, se.RetryAfter)
	}
	m.PlatformUp(platform, result != ResultServerError && result != ResultUnknown)
}

// Result names the result of a send that returned err: ok, rate_limited,
// chat_gone, bad_request (a refusal, or a chat moved), server_error (a
// failure worth a retry: a 5xx or a network error before the request
// left) or unknown (the request may have arrived).
func Result(err error) string {
	if err == nil {
		return ResultOK
	}
	var se *chat.SendError
	if !errors.As(err, &se) {
		return ResultServerError
	}
	switch se.Kind {
	case chat.RateLimited:
		return ResultRateLimited
	case chat.ChatGone:
		return ResultChatGone
	case chat.Rejected, chat.ChatMoved:
		return ResultBadRequest
	case chat.Ambiguous:
		return ResultUnknown
	}
	return ResultServerError
}

// RetryAfter counts a 429 answer's wait.
func (m *Metrics) RetryAfter(platform string, d time.Duration) {
	if m == nil {
		return
	}
	m.retryAfter.WithLabelValues(platform).Add(d.Seconds())
}

// Late records how long after its slot a delivery's first message went.
func (m *Metrics) Late(platform string, d time.Duration) {
	if m == nil {
		return
	}
	m.lateness.WithLabelValues(platform).Observe(max(d, 0).Seconds())
}

// Answer counts a learner's first answer to a question.
func (m *Metrics) Answer(platform string, correct bool) {
	if m == nil {
		return
	}
	c := "false"
	if correct {
		c = "true"
	}
	m.answers.WithLabelValues(platform, c).Inc()
}

// Reload counts a load of the lessons folder, and whether some file had
// an error (left out, or kept at its last good copy).
func (m *Metrics) Reload(problems bool) {
	if m == nil {
		return
	}
	result := "ok"
	if problems {
		result = "problems"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// WatchLessons adds the number of lessons in service, read when scraped.
func (m *Metrics) WatchLessons(count func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lessonbot_lessons_loaded",
		Help: "Lessons in service: the valid ones, and the last good copy of a file that broke."},
		func() float64 { return float64(count()) }))
}

// WatchLoops adds the heartbeats of the program's loops, read when
// scraped: the scheduler's last clock tick and the delivery pool's last
// look at the outbox.
func (m *Metrics) WatchLoops(lastTick, lastLook func() time.Time) {
	unix := func(f func() time.Time) func() float64 {
		return func() float64 { return float64(f().UnixNano()) / 1e9 }
	}
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lessonbot_scheduler_last_tick_timestamp_seconds",
			Help: "When the scheduler's clock entry last ran (Unix time); it runs every minute."}, unix(lastTick)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lessonbot_sender_last_heartbeat_timestamp_seconds",
			Help: "When the delivery pool last looked at the outbox (Unix time); it looks at least every 30 s."}, unix(lastLook)),
	)
}

// PlatformUp records whether a platform answers, as its receiving side
// (polling, the gateway) finds it.
func (m *Metrics) PlatformUp(platform string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.platformUp.WithLabelValues(platform).Set(v)
}

// LeaseHeld records whether this instance holds a role by lease: role is
// "scheduler", "sender", "poller" or "gateway" (one series each, whatever
// the bots).
func (m *Metrics) LeaseHeld(role string, held bool) {
	if m == nil {
		return
	}
	v := 0.0
	if held {
		v = 1
	}
	m.leaseHeld.WithLabelValues(role).Set(v)
}

// Source is what the scrape-time metrics read from the store.
type Source interface {
	Outbox(ctx context.Context, now time.Time) (store.OutboxStats, error)
	ChatCounts(ctx context.Context) (map[store.ChatKind]int, error)
}

// WatchStore adds the metrics read from the store when scraped: the outbox
// by platform and state, the oldest pending delivery's age and the
// subscribed chats. A scrape reads the store at most once per
// minInterval (the others reuse the last figures), within a 1 s timeout.
func (m *Metrics) WatchStore(src Source, now func() time.Time, minInterval time.Duration) {
	m.registry.MustRegister(&storeCollector{src: src, now: now, every: minInterval,
		rows: prometheus.NewDesc("lessonbot_outbox_rows",
			"Deliveries waiting (pending, due or not yet) and under way (sending).",
			[]string{"state"}, nil),
		oldest: prometheus.NewDesc("lessonbot_outbox_oldest_pending_age_seconds",
			"How long the pending delivery that fell due first has waited, 0 when none is due.", nil, nil),
		chats: prometheus.NewDesc("lessonbot_subscribed_chats",
			"Subscribed chats by type (private, group, channel).", []string{"platform", "chat_type"}, nil),
		failed: prometheus.NewDesc("lessonbot_store_scrape_errors_total",
			"Scrapes whose read of the store failed (the figures shown are then the last good ones).", nil, nil),
	})
}

// storeCollector reads the store's figures at scrape time.
type storeCollector struct {
	src   Source
	now   func() time.Time
	every time.Duration

	rows, oldest, chats, failed *prometheus.Desc

	mu      sync.Mutex
	read    time.Time // when the figures below were read
	outbox  store.OutboxStats
	counts  map[store.ChatKind]int
	at      time.Time // the clock when the outbox was read
	errors  float64
	haveAny bool
}

// Describe sends the descriptions of the store's metrics.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rows
	ch <- c.oldest
	ch <- c.chats
	ch <- c.failed
}

// Collect reads the store, or reuses its last figures, and sends them.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.haveAny || now.Sub(c.read) >= c.every {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		outbox, err := c.src.Outbox(ctx, now)
		var counts map[store.ChatKind]int
		if err == nil {
			counts, err = c.src.ChatCounts(ctx)
		}
		cancel()
		if err != nil {
			c.errors++
		} else {
			c.outbox, c.counts, c.at, c.read, c.haveAny = outbox, counts, now, now, true
		}
	}
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, c.errors)
	if !c.haveAny {
		return
	}
	for state, n := range c.outbox.Rows {
		ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(n), string(state))
	}
	age := 0.0
	if !c.outbox.OldestDue.IsZero() {
		age = max(c.at.Sub(c.outbox.OldestDue), 0).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	for k, n := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.chats, prometheus.GaugeValue, float64(n), k.Platform, string(k.Kind))
	}
}

// factory makes metrics registered with one registry.
type factory struct{ r *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(v)
	return v
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.r.MustRegister(v)
	return v
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	f.r.MustRegister(v)
	return v
}
