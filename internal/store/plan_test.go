package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lessonbot/lessonbot/internal/chat"
	"github.com/lessonbot/lessonbot/internal/delivery"
	"github.com/lessonbot/lessonbot/internal/lesson"
	"github.com/lessonbot/lessonbot/internal/logtest"
	"github.com/lessonbot/lessonbot/internal/pgtest"
	"github.com/lessonbot/lessonbot/internal/schedule"
	"github.com/lessonbot/lessonbot/internal/store"
	"github.com/lessonbot/lessonbot/internal/tutor"
)

// tracedDriver is SQLite's driver registered under another name, which
// notes the text of every statement it prepares or runs while tracing is
// on.
const tracedDriver = "sqlite-traced"

func init() {
	sql.Register(tracedDriver, &tracingDriver{})
}

// statements is what the traced driver has seen.
var statements = struct {
	sync.Mutex
	on   bool
	seen map[string]bool
}{seen: map[string]bool{}}

func note(query string) {
	statements.Lock()
	defer statements.Unlock()
	if statements.on {
		statements.seen[query] = true
	}
}

// traceFrom turns tracing on, forgetting what was seen before.
func traceFrom() {
	statements.Lock()
	defer statements.Unlock()
	statements.on, statements.seen = true, map[string]bool{}
}

// traced turns tracing off and returns the statements seen, sorted.
func traced() []string {
	statements.Lock()
	defer statements.Unlock()
	statements.on = false
	var out []string
	for q := range statements.seen {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

type tracingDriver struct{}

func (tracingDriver) Open(name string) (driver.Conn, error) {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		return nil, err
	}
	sqlite := db.Driver()
	db.Close()
	c, err := sqlite.Open(name)
	if err != nil {
		return nil, err
	}
	return &tracingConn{c}, nil
}

// tracingConn passes everything to SQLite's connection, noting the text
// of each statement.
type tracingConn struct{ c driver.Conn }

func (c *tracingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *tracingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	s, err := c.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &tracingStmt{s, q}, nil
}

func (c *tracingConn) Close() error { return c.c.Close() }

func (c *tracingConn) Begin() (driver.Tx, error) { //nolint:staticcheck // the interface needs it
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *tracingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *tracingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	note(q)
	return c.c.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *tracingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	note(q)
	return c.c.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *tracingConn) Ping(ctx context.Context) error { return c.c.(driver.Pinger).Ping(ctx) }

func (c *tracingConn) ResetSession(ctx context.Context) error {
	return c.c.(driver.SessionResetter).ResetSession(ctx)
}

func (c *tracingConn) IsValid() bool { return c.c.(driver.Validator).IsValid() }

// tracingStmt notes its text each time it runs: a statement prepared
// before tracing began counts when it runs after.
type tracingStmt struct {
	s driver.Stmt
	q string
}

func (s *tracingStmt) Close() error  { return s.s.Close() }
func (s *tracingStmt) NumInput() int { return s.s.NumInput() }

func (s *tracingStmt) Exec(args []driver.Value) (driver.Result, error) { //nolint:staticcheck // the interface needs it
	note(s.q)
	return s.s.Exec(args) //nolint:staticcheck // the interface needs it
}

func (s *tracingStmt) Query(args []driver.Value) (driver.Rows, error) { //nolint:staticcheck // the interface needs it
	note(s.q)
	return s.s.Query(args) //nolint:staticcheck // the interface needs it
}

func (s *tracingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	note(s.q)
	return s.s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *tracingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	note(s.q)
	return s.s.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// mayScan are the tables small enough to read whole: a few rows each,
// however many chats and answers there are.
var mayScan = map[string]string{
	"kv":          "a handful of named values",
	"chat_counts": "one row per platform and kind of chat",
	"question_stats": "one row per quiz question of the lessons: it grows with the lessons written, " +
		"not with learners or answers (/stats reads it whole for the accuracy of each lesson)",
	"lesson_deliveries": "a row per lesson and final state of a delivery: the dashboard's lessons page reads it whole",
	"lesson_delays": "a row per lesson and bucket of the delay of its answers (at most 161 buckets, a few dozen used): " +
		"the dashboard's lessons page reads it whole for the median of each lesson",
}

// maySort are top lists (LIMIT) that sort their rows, each for a reason.
var maySort = map[string]string{
	"FROM question_stats WHERE answered >= max(?, 1) ORDER BY correct * 1.0 / answered": "the hardest questions " +
		"sort question_stats, which mayScan reads whole: an index on the accuracy would cost every batch of answers one " +
		"more write, for a page an admin opens now and then",
}

// readDashboard reads every page of the admin dashboard, and takes its
// one action, on the store of the scenario.
func readDashboard(t *testing.T, st *store.Store, lessonID string) {
	ctx := context.Background()
	now := time.Now()
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Growth(ctx, now.AddDate(0, 0, -30), now, kolkata); err != nil {
		t.Error(err)
	}
	if _, err := st.Retention(ctx, now, 12); err != nil {
		t.Error(err)
	}
	if _, err := st.Activity(ctx, now.AddDate(0, 0, -90), now, kolkata); err != nil {
		t.Error(err)
	}
	if _, err := st.LessonStats(ctx); err != nil {
		t.Error(err)
	}
	if _, err := st.LessonReport(ctx, lessonID); err != nil {
		t.Error(err)
	}
	if _, err := st.HardestQuestions(ctx, 1, 20); err != nil {
		t.Error(err)
	}
	if _, err := st.ReviewItemCounts(ctx, []store.Word{{LessonID: lessonID, Term: "a"}, {LessonID: lessonID, Term: "b"}}); err != nil {
		t.Error(err)
	}
	if _, err := st.DeliveryHealth(ctx, now.AddDate(0, 0, -30), now, kolkata); err != nil {
		t.Error(err)
	}
	if _, err := st.ActiveLearners(ctx, now.Add(-24*time.Hour)); err != nil {
		t.Error(err)
	}
	if _, err := st.Queue(ctx); err != nil {
		t.Error(err)
	}
	if err := st.RecordRateLimited(ctx, chat.Telegram, now, 3*time.Second); err != nil {
		t.Error(err)
	}
	if _, err := st.ResendUnknown(ctx, now.Add(-48*time.Hour).Truncate(time.Hour)); err != nil {
		t.Error(err)
	}
}

// startOnly are statements that read every active subscription, once,
// when the scheduler starts (to load the schedule and catch up missed
// slots): whatever the index, they read every row they want.
var startOnly = []string{
	"FROM subscriptions WHERE active = 1 ORDER BY id",
}

// TestQueryPlans runs everything a chat command, a button or the delivery
// loop does on a traced store: every command in private chats, a group and
// a Discord channel, every button they get, a week of scheduled lessons,
// reviews and summaries delivered through failures (a chat gone, a chat
// moved, rate limits, a send of unknown fate). It then asks SQLite for the
// plan of each statement it saw and fails on any full scan of a table
// that grows with use (answers, deliveries, subscriptions and the rest),
// and on a top list (LIMIT) that sorts its rows instead of reading an
// index in order.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	if pgtest.ServerURL() != "" {
		t.Skip("a SQLite test: the run without a PostgreSQL server covers it")
	}
	path := filepath.Join(t.TempDir(), "plans.db")
	synctest.Test(t, func(t *testing.T) {
		runEverything(t, path)
	})
	if t.Failed() {
		return
	}
	seen := traced()
	if len(seen) < 50 {
		t.Fatalf("the scenario ran only %d distinct statements: is the tracer in place?", len(seen))
	}
	checkPlans(t, path, append(seen, triggerStatements(t, path)...))
}

// triggerStatements returns the statements of every trigger of the
// database at path, each column of the row that fired it (NEW.x, OLD.x)
// made a parameter: the tracer never sees them, and they run on every
// write of their table.
func triggerStatements(t *testing.T, path string) []string {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		_, body, ok := strings.Cut(text, " BEGIN")
		end := strings.LastIndex(body, "END")
		if !ok || end < 0 {
			t.Fatalf("trigger %s: no BEGIN ... END in %q", name, text)
		}
		for _, st := range strings.Split(body[:end], ";") {
			if st = strings.TrimSpace(st); st != "" {
				out = append(out, rowColumn.ReplaceAllString(st, "?"))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found %d statements in the triggers", len(out))
	}
	return out
}

// rowColumn matches a column of the row a trigger fires for.
var rowColumn = regexp.MustCompile(`\b(NEW|OLD)\.[a-z_]+`)

// runEverything is the scenario of TestQueryPlans: a tutor, a scheduler
// and a delivery pool on a store opened with the traced driver.
func runEverything(t *testing.T, path string) {
	ctx := context.Background()
	st, err := store.OpenWithDriver(ctx, tracedDriver, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir, err := filepath.Abs("../../lessons")
	if err != nil {
		t.Fatal(err)
	}
	lessons := lesson.NewSource(func() lesson.Result { return lesson.LoadDir(dir) })
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tut := tutor.New(st, lessons, tutor.Settings{
		Hour: 8, Zone: "UTC", Language: "en", Questions: 3, SummaryDay: time.Sunday,
		Admins: map[string][]string{chat.Telegram: {"42"}, chat.Discord: {"900"}},
	}, time.Now, log)
	if _, err := tut.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	traceFrom()

	sender := &troubleSender{}
	pool := delivery.New(st, tut, map[string]delivery.Platform{chat.Telegram: {Sender: sender}, chat.Discord: {Sender: sender}},
		delivery.Options{TakeOver: true}, log)
	sched := schedule.New(st, 6*time.Hour, time.Now, log, pool.Wake)
	sched.SendSummaries(time.Sunday)
	tut.OnChange(sched.Update)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(runCtx) })
	wg.Go(func() { pool.Run(runCtx) })

	admin := person{chat.Address{Platform: chat.Telegram, ChatID: "42"}, chat.Private, chat.User{Platform: chat.Telegram, ID: "42", Name: "Ada"}, false}
	gone := person{chat.Address{Platform: chat.Telegram, ChatID: "7"}, chat.Private, chat.User{Platform: chat.Telegram, ID: "7", Name: "Gus"}, false}
	groupAdmin := person{chat.Address{Platform: chat.Telegram, ChatID: "-100"}, chat.Group, chat.User{Platform: chat.Telegram, ID: "1", Name: "Mo"}, true}
	groupMember := person{chat.Address{Platform: chat.Telegram, ChatID: "-100"}, chat.Group, chat.User{Platform: chat.Telegram, ID: "2", Name: "Lu"}, false}
	discord := person{chat.Address{Platform: chat.Discord, ChatID: "555"}, chat.Channel, chat.User{Platform: chat.Discord, ID: "900", Name: "Di"}, true}
	people := []person{admin, gone, groupAdmin, groupMember, discord}

	// Sample arguments, so that each command does its work and not only
	// explains its usage.
	sample := map[string][]string{
		"subscribe": {"07:30 Europe/Paris"}, "time": {"06:45"}, "timezone": {"Europe/Paris"}, "days": {"mon-fri", "every"},
		"level": {"B1", "any"}, "language": {"fr", "en"}, "pause": {"2"}, "summary": {"on"}, "export": {"", "csv"},
		"preview": {lessons.Library().Lessons()[0].ID}, "deletemydata": {""},
	}
	for day := range 9 {
		for _, p := range people {
			for _, c := range tut.Commands() {
				if c.Name == "deletemydata" || c.Name == "unsubscribe" || (c.Name == "pause" && day < 8) {
					continue
				}
				args := sample[c.Name]
				if args == nil {
					args = []string{""}
				}
				for _, a := range args {
					p.pressAll(t, tut, p.send(tut, c.Name, a))
				}
			}
			if day%3 == 0 {
				p.send(tut, "resume", "")
			}
		}
		time.Sleep(24 * time.Hour)
	}
	// The last things a chat or a learner does.
	gone.send(tut, "deletemydata", "")
	gone.send(tut, "deletemydata", "confirm")
	groupMember.send(tut, "deletemydata", "confirm")
	groupAdmin.send(tut, "unsubscribe", "")
	tut.ChatGone(ctx, discord.addr)
	tut.ChatMoved(ctx, admin.addr, "43")
	time.Sleep(time.Hour)
	stop()
	wg.Wait()
	readDashboard(t, st, lessons.Library().Lessons()[0].ID)

	if sender.calls() == 0 {
		t.Error("no lesson was delivered in a week")
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the scenario logged errors:\n%s", logs.String())
	}
}

// person is someone in a chat.
type person struct {
	addr      chat.Address
	kind      chat.Kind
	user      chat.User
	canManage bool
}

func (p person) send(tut *tutor.Tutor, name, args string) []chat.Message {
	return tut.Handle(context.Background(), chat.Command{Chat: p.addr, Kind: p.kind, From: p.user, Name: name, Args: args, CanManage: p.canManage})
}

// pressAll presses every button of msgs and of the replies they bring,
// breadth first, up to a bound.
func (p person) pressAll(t *testing.T, tut *tutor.Tutor, msgs []chat.Message) {
	queue := slices.Clone(msgs)
	for n := 0; len(queue) > 0 && n < 200; n++ {
		m := queue[0]
		queue = queue[1:]
		for _, b := range m.Buttons {
			if b.Data == "" {
				continue
			}
			r := tut.Press(context.Background(), chat.Press{Chat: p.addr, Kind: p.kind, From: p.user, Data: b.Data})
			queue = append(queue, r.Messages...)
		}
	}
}

// troubleSender accepts every message but for the troubles a real
// platform brings: chat 7 has blocked the bot, group -100 moved to a
// supergroup, every tenth send is rate limited and one send's fate is
// unknown.
type troubleSender struct {
	mu sync.Mutex
	n  int
}

func (s *troubleSender) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *troubleSender) Send(ctx context.Context, to chat.Address, kind chat.Kind, m chat.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	switch {
	case to.ChatID == "7":
		return "", &chat.SendError{Kind: chat.ChatGone, Err: errors.New("forbidden: bot was blocked by the user")}
	case to.ChatID == "-100":
		return "", &chat.SendError{Kind: chat.ChatMoved, MovedTo: "-1001", Err: errors.New("group chat was upgraded to a supergroup chat")}
	case s.n%10 == 0:
		return "", &chat.SendError{Kind: chat.RateLimited, RetryAfter: time.Second, Err: errors.New("too many requests")}
	case s.n == 15:
		return "", &chat.SendError{Kind: chat.Ambiguous, Err: errors.New("timeout after the request was written")}
	}
	return fmt.Sprint(s.n), nil
}

// checkPlans asks SQLite for the plan of each statement and reports every
// full scan of a table that is not in mayScan.
func checkPlans(t *testing.T, path string, seen []string) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	checked := 0
	for _, q := range seen {
		if !planned.MatchString(q) || slices.ContainsFunc(startOnly, func(s string) bool { return strings.Contains(oneLine(q), s) }) {
			continue
		}
		checked++
		plan, err := explain(ctx, conn, q)
		if err != nil {
			t.Errorf("EXPLAIN QUERY PLAN %s: %v", oneLine(q), err)
			continue
		}
		names := aliases(q)
		for _, step := range plan {
			if strings.HasPrefix(step, "USE TEMP B-TREE FOR ORDER BY") && limited.MatchString(q) &&
				!slices.ContainsFunc(slices.Collect(maps.Keys(maySort)), func(s string) bool { return strings.Contains(oneLine(q), s) }) {
				t.Errorf("%s\n\tsorts its rows to keep the first few (%q): a top list must read an index in its order", oneLine(q), step)
			}
			name, ok := strings.CutPrefix(step, "SCAN ")
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(name, " ")
			if strings.HasPrefix(name, "(") || name == "CONSTANT" || strings.HasSuffix(step, "-ROW VALUES CLAUSE") ||
				strings.HasSuffix(step, " CONSTANT ROWS") {
				continue // a subquery's result or a VALUES list
			}
			table, alias := names[name]
			if cte, ok := names[table]; ok && cte == "" {
				continue // an alias of a common table expression
			}
			switch {
			case tables[name]:
				table = name
			case !alias:
				t.Errorf("%s\n\tplan step %q scans %q, which is neither a table nor an alias this test can read", oneLine(q), step, name)
				continue
			case table == "":
				continue // a common table expression or a subquery's alias
			}
			if _, ok := mayScan[table]; !ok {
				t.Errorf("%s\n\tscans the whole of %s: %q", oneLine(q), table, step)
			}
		}
	}
	t.Logf("checked the plans of %d statements (of %d seen)", checked, len(seen))
}

// limited matches a statement that keeps its first rows, such as a
// leaderboard's top ten.
var limited = regexp.MustCompile(`(?i)\bLIMIT\s+(\?|\d{2,})`)

// planned matches the statements that have a plan worth checking.
var planned = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b`)

// explain returns the detail of each step of the plan of q, run with a
// NULL for each of its parameters.
func explain(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	n, quote := 0, rune(0)
	for _, r := range q {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '?':
			n++
		}
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

var (
	// tableRef matches a table named after FROM, JOIN, UPDATE or INTO,
	// with its alias if it has one.
	tableRef = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+([a-z_][a-z0-9_]*)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?`)
	// derived matches the alias of a subquery in FROM or JOIN.
	derived = regexp.MustCompile(`(?i)\)\s*(?:AS\s+)?([a-z_][a-z0-9_]*)`)
	// cteName matches a common table expression's name.
	cteName = regexp.MustCompile(`(?i)(?:\bWITH|,)\s*([a-z_][a-z0-9_]*)\s*(?:\([^)]*\)\s*)?AS\s*(?:NOT\s+)?(?:MATERIALIZED\s+)?\(`)
	// keywords may follow a table name where an alias could be.
	keywords = map[string]bool{
		"WHERE": true, "JOIN": true, "LEFT": true, "INNER": true, "CROSS": true, "ON": true, "USING": true,
		"ORDER": true, "GROUP": true, "LIMIT": true, "SET": true, "VALUES": true, "SELECT": true, "NATURAL": true,
		"WINDOW": true, "HAVING": true, "UNION": true, "EXCEPT": true, "INTERSECT": true, "DEFAULT": true,
		"RETURNING": true, "INDEXED": true, "NOT": true, "AS": true, "OUTER": true, "FULL": true, "RIGHT": true,
	}
)

// aliases maps each alias in q to its table, and each common table
// expression and subquery alias to "".
func aliases(q string) map[string]string {
	out := map[string]string{}
	for _, m := range derived.FindAllStringSubmatch(q, -1) {
		if !keywords[strings.ToUpper(m[1])] {
			out[m[1]] = ""
		}
	}
	for _, m := range cteName.FindAllStringSubmatch(q, -1) {
		out[m[1]] = ""
	}
	for _, m := range tableRef.FindAllStringSubmatch(q, -1) {
		if m[2] != "" && !keywords[strings.ToUpper(m[2])] {
			out[m[2]] = m[1]
		}
	}
	return out
}

// oneLine is q on one line, for a readable failure.
func oneLine(q string) string {
	return strings.Join(strings.Fields(q), " ")
}
