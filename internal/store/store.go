// Package store keeps lessonbot's state in one SQLite file: chats and their
// subscriptions, the delivery outbox, learners, their answers and a few
// key-value settings. It is the only package that speaks SQL.
//
// Every connection runs with WAL, busy_timeout 5000 ms, foreign keys on,
// synchronous FULL and BEGIN IMMEDIATE for transactions, so a committed write
// survives a power cut and concurrent writers wait for each other instead of
// failing with SQLITE_BUSY. Quiz answers, the hottest write, go through a
// group committer: concurrent answers share one transaction and one fsync.
//
// The WAL is checkpointed into the database every 4096 pages (16 MiB)
// rather than SQLite's default 1000: each checkpoint costs extra fsyncs and
// rewrites the pages that commits keep touching, and under a stream of
// answer batches the default spent about 7% of the committer's time there.
// The WAL file stays bounded: it is reused from its start after each
// checkpoint, and cut back to 32 MiB should a long read ever have let it
// grow past that.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned, unwrapped, when the row asked for does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate is returned, wrapped, when an insert hits a unique
// constraint, such as a second delivery of the same lesson to a chat.
var ErrDuplicate = errors.New("duplicate")

// ErrNewerSchema is returned, wrapped, by Open when the database was written
// by a newer lessonbot than this one: its schema cannot be trusted.
var ErrNewerSchema = errors.New("database schema is newer than this lessonbot")

// errClosed is returned by RecordAnswer once Close has stopped the committer.
var errClosed = errors.New("store is closed")

// The connection parameters; see the package comment for why each is set.
// wal_autocheckpoint is in pages (4096 of 4 KiB: 16 MiB between
// checkpoints), journal_size_limit in bytes (32 MiB).
const dsnParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)" +
	"&_pragma=wal_autocheckpoint(4096)&_pragma=journal_size_limit(33554432)&_txlock=immediate"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite database of one lessonbot. It is safe for concurrent
// use; Close it to stop its committer and release the file.
type Store struct {
	db *sql.DB
	// engine is SQLite or PostgreSQL; pool is PostgreSQL's pgx pool, under
	// db, nil on SQLite.
	engine engine
	pool   *pgxpool.Pool

	// committer is the connection the group committer writes answers on,
	// reserved for it so a batch never waits for the pool.
	committer *sql.Conn
	// insertAnswer and selectAnswer are prepared once for every connection
	// that runs them (see answers.go).
	insertAnswer *sql.Stmt
	selectAnswer *sql.Stmt
	// batch holds the committer's multi-row statements (see answers.go).
	batch batchStmts
	// stmts holds the prepared statements of the other hot queries.
	stmts stmtCache

	// writer is held by whoever writes (one slot): see lockWrite.
	writer chan struct{}
	// execs batches the outbox's one-statement writes (see exec).
	execs execBatch

	answers chan *answerRequest
	// gathering is how many answers the committer waits for in answers
	// before it takes its batch, 0 when it is not waiting; the caller
	// whose answer makes that many sends on filled (see gatherAnswers).
	gathering atomic.Int64
	filled    chan struct{}
	// linger is lingerAnswers; tests lengthen it.
	linger    time.Duration
	quit      chan struct{} // closed by Close: the committer drains and stops
	stopped   chan struct{} // closed by the committer when it has stopped
	closeOnce sync.Once
	closeErr  error

	// lastRelease is the second, holder and platforms of ClaimDue's last
	// look for claims whose lease ran out (see ClaimDue).
	lastRelease atomicString

	// subscriptionRows counts the subscription rows read.
	subscriptionRows atomic.Int64

	// readOnly tells a store opened by OpenReadOnly: nothing to stop.
	readOnly bool
	// path and file are the database file as opened, for Ping.
	path string
	file os.FileInfo

	// now is the clock for rows whose methods take no time (created_at of
	// a learner or a chat given without one); tests replace it.
	now func() time.Time
}

// atomicString is a string that goroutines read and write at once.
type atomicString struct{ v atomic.Value }

// Load returns the string, "" before the first Store.
func (a *atomicString) Load() string {
	s, _ := a.v.Load().(string)
	return s
}

// Store sets the string.
func (a *atomicString) Store(s string) { a.v.Store(s) }

// SetClock replaces the clock of the rows whose methods take no time
// (created_at of a chat given without one, updated_at, the time of a
// message sent), for tests that run on a fake clock. Call it before the
// store is used.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Open opens the database at path, creating it when missing, and brings its
// schema up to date, each migration in its own transaction. It refuses a
// database whose schema is newer than this binary's, wrapping
// ErrNewerSchema.
//
// A database that IsPostgres names (a postgres:// URL) opens a PostgreSQL
// store instead, which several lessonbot instances may share.
func Open(ctx context.Context, path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgres(ctx, path)
	}
	return openDriver(ctx, "sqlite", path)
}

// openDriver is Open on the database/sql driver registered as driver,
// which is SQLite's own or a test's wrapper of it.
func openDriver(ctx context.Context, driver, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	db, err := sql.Open(driver, dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Keep the connections open: each new one re-runs the pragmas. Readers
	// in WAL mode do not block each other or the writer; more connections
	// than this mostly wait on CPU.
	conns := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)

	s := &Store{db: db, writer: make(chan struct{}, 1), now: time.Now, path: path}
	if err := s.open(ctx, path); err != nil {
		s.closeResources()
		return nil, err
	}
	if s.file, err = os.Stat(path); err != nil {
		s.closeResources()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.startCommitter()
	return s, nil
}

// startCommitter starts the group committer of answers.
func (s *Store) startCommitter() {
	s.answers = make(chan *answerRequest, maxAnswerBatch)
	s.filled = make(chan struct{}, 1)
	s.linger = lingerAnswers
	s.quit = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.commitAnswers()
}

// OpenReadOnly opens the database at path for reading only: no migration,
// no committer, no write, so that it may run beside a lessonbot run that
// holds the database (lessonbot db check). It fails when the file does not
// exist.
//
// A PostgreSQL database opens as it is, unmigrated, for reading alike.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if IsPostgres(path) {
		return openPostgresReadOnly(ctx, path)
	}
	if path == "" {
		return nil, errors.New("store: open: empty database path")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: no database at %s (lessonbot run or lessonbot chat creates it)", path)
	} else if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, writer: make(chan struct{}, 1), now: time.Now, readOnly: true}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// SchemaVersion returns the schema version of the database and the
// newest this lessonbot knows.
func (s *Store) SchemaVersion(ctx context.Context) (have, head int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	if s.pg() {
		have, err = postgresVersion(ctx, s.db)
	} else {
		err = s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	return have, len(ms), nil
}

// open migrates the database and prepares what the committer needs.
func (s *Store) open(ctx context.Context, path string) error {
	if err := migrate(ctx, s.db, path); err != nil {
		return err
	}
	return s.prepareCommitter(ctx, path)
}

// prepareCommitter prepares the statements and reserves the connection
// that the committer of answers needs.
func (s *Store) prepareCommitter(ctx context.Context, path string) error {
	var err error
	if s.insertAnswer, err = s.db.PrepareContext(ctx, insertAnswerSQL); err != nil {
		return fmt.Errorf("store: open %s: prepare: %w", path, err)
	}
	if s.selectAnswer, err = s.db.PrepareContext(ctx, selectAnswerSQL); err != nil {
		return fmt.Errorf("store: open %s: prepare: %w", path, err)
	}
	if s.committer, err = s.db.Conn(ctx); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	return nil
}

// Close stops the answer committer, after it has committed the answers
// already handed to it, and closes the database. Calling it again returns
// the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if !s.readOnly {
			close(s.quit)
			<-s.stopped
		}
		s.closeErr = s.closeResources()
	})
	return s.closeErr
}

// closeResources releases whatever Open acquired, in reverse order.
func (s *Store) closeResources() error {
	var errs []error
	if s.committer != nil {
		errs = append(errs, s.committer.Close())
	}
	errs = append(errs, s.batch.close(), s.stmts.close())
	for _, st := range []*sql.Stmt{s.selectAnswer, s.insertAnswer} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.db.Close())
	if s.pool != nil {
		s.pool.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// lockWrite waits for this process's turn to write, or for ctx to end.
// SQLite lets one writer in at a time, and a writer that finds the lock
// taken polls for it (busy_timeout) at intervals of up to 100 ms, so under a
// steady stream of answer batches a polling writer could miss every gap and
// fail with SQLITE_BUSY after 5 s. Queueing the process's writers here
// instead serves them in arrival order (a channel's waiting senders are
// FIFO), leaving busy_timeout for other processes on the same file. Every
// write (a transaction, or a lone INSERT/UPDATE) takes it; reads never do.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlockWrite ends the turn lockWrite began.
func (s *Store) unlockWrite() { <-s.writer }

// IntegrityCheck runs PRAGMA integrity_check and returns an error carrying
// the first problems it reports, or nil when it says "ok".
//
// On PostgreSQL there is nothing to run: the server checks its own pages
// (and pg_amcheck is the operator's tool); it returns nil once the
// database answers.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.pg() {
		return s.Ping(ctx)
	}
	return integrityCheck(ctx, s.db)
}

// integrityCheck is IntegrityCheck on db.
func integrityCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("store: integrity check: %w", err)
		}
		problems = append(problems, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return fmt.Errorf("store: integrity check: %s", strings.Join(problems, "; "))
}

// dsn is the driver's data source name for the file at path: a file: URI,
// so the path is percent-escaped (a '?' or '#' in it would otherwise start
// the query or a fragment), followed by the connection parameters. An
// absolute path gets an empty authority (file:///abs), a relative one none
// (file:rel), as SQLite's URI filenames want.
func dsn(path string) string {
	return fileURI(path) + "?" + dsnParams
}

// fileURI is the file: URI of path, without parameters.
func fileURI(path string) string {
	p := (&url.URL{Path: filepath.ToSlash(filepath.Clean(path))}).EscapedPath()
	if strings.HasPrefix(p, "/") {
		p = "//" + p
	}
	return "file:" + p
}

// readOnlyDSN is dsn's read-only sibling: the file must exist, and no
// pragma that writes is set.
func readOnlyDSN(path string) string {
	return fileURI(path) + "?mode=ro&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"
}

// migration is one embedded schema change, migrations/NNNN_name.sql, which
// brings the schema from version NNNN-1 to NNNN.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order, checking that their
// versions run 1, 2, 3... without a gap.
func migrations() ([]migration, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return readMigrations(sub)
}

// readMigrations reads the migrations NNNN_name.sql of dir in order,
// checking that their versions run 1, 2, 3... without a gap.
func readMigrations(dir fs.FS) ([]migration, error) {
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, name := range names { // fs.Glob returns names sorted
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want a name starting %04d_", base, i+1)
		}
		text, err := fs.ReadFile(dir, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(text)})
	}
	return ms, nil
}

// migrate applies the migrations the database at path lacks, each in its own
// transaction together with the PRAGMA user_version that records it, so a
// crash leaves the schema at one version or the next, never between.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	if have > len(ms) {
		return fmt.Errorf("store: open %s: %w: version %d, this lessonbot knows up to %d; upgrade lessonbot",
			path, ErrNewerSchema, have, len(ms))
	}
	for _, m := range ms[have:] {
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("store: open %s: migration %s: %w", path, m.name, err)
		}
	}
	return nil
}

// applyMigration runs m in a write transaction unless another process got
// there first: the version is read again once the write lock is held.
func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock, now
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return err
	}
	if have >= m.version {
		return nil
	}
	if have != m.version-1 {
		return fmt.Errorf("schema is at version %d, want %d", have, m.version-1)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if hook := migrationHook(m.version); hook != nil {
		if err := hook(ctx, tx); err != nil {
			return err
		}
	}
	// PRAGMA takes no parameters; the version is an int from the file name.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, m.version)); err != nil {
		return err
	}
	return tx.Commit()
}

// migrationHook returns what a migration does in Go after its SQL, in the
// same transaction, or nil: what SQL alone cannot, such as the weeks of
// answers in their chats' time zones.
func migrationHook(version int) func(ctx context.Context, tx *sql.Tx) error {
	switch version {
	case 5:
		return buildAggregates
	}
	return nil
}

// isUnique reports whether err is a violation of a UNIQUE or PRIMARY KEY
// constraint.
func isUnique(err error) bool {
	if pgUnique(err) {
		return true
	}
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// unixOrNull stores t as unix seconds, and the zero time as NULL.
func unixOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

// fromUnix reads unix seconds as a UTC time.
func fromUnix(sec int64) time.Time {
	return time.Unix(sec, 0).UTC()
}

// fromNullUnix reads nullable unix seconds, NULL as the zero time.
func fromNullUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromUnix(n.Int64)
}

// nullBool stores an optional bool as NULL, 0 or 1.
func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	return boolInt(*b)
}

// boolInt stores a bool as SQLite's 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Counts are the sizes of a database, as lessonbot db prints them.
type Counts struct {
	Chats, Learners, Answers int
}

// Count counts the chats the bot knows, the learners and the answers.
func (s *Store) Count(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM subscriptions), (SELECT count(*) FROM learners),
		(SELECT count(*) FROM answers)`).Scan(&c.Chats, &c.Learners, &c.Answers)
	if err != nil {
		return Counts{}, fmt.Errorf("store: count: %w", err)
	}
	return c, nil
}
