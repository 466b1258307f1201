package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL store runs the same Go code and, for the most part, the
// same SQL as the SQLite one. The SQL is written once, with SQLite's "?"
// placeholders; on PostgreSQL each connection rewrites a statement's
// placeholders to $1, $2... and drops SQLite's index hints (INDEXED BY,
// NOT INDEXED), which change a plan, never a result. Where the two engines
// differ in meaning, the Go code says so and writes each engine's SQL.

//go:embed migrations/postgres/*.sql
var postgresMigrationFiles embed.FS

// migrateLockKey is the advisory lock that migrations hold on PostgreSQL, so
// that instances started together migrate once: the others wait, then find
// the schema at head.
const migrateLockKey = 0x6c6573736f6e // "lesson"

// IsPostgres reports whether the database setting names a PostgreSQL
// server (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// engine is the database a Store runs on.
type engine int

const (
	sqliteEngine engine = iota
	postgresEngine
)

// String names the engine as lessonbot's messages do.
func (e engine) String() string {
	if e == postgresEngine {
		return "PostgreSQL"
	}
	return "SQLite"
}

// pg reports whether the store runs on PostgreSQL.
func (s *Store) pg() bool { return s.engine == postgresEngine }

// RedactURL returns a PostgreSQL URL without its password, for messages.
func RedactURL(database string) string {
	u, err := url.Parse(database)
	if err != nil {
		return "a PostgreSQL URL that does not parse"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// openPostgres opens the PostgreSQL database at the URL dsn through a pgx
// connection pool and brings its schema up to date.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	s, err := connectPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := migratePostgres(ctx, s.db, s.path); err != nil {
		s.closeResources()
		return nil, err
	}
	if err := s.prepareCommitter(ctx, s.path); err != nil {
		s.closeResources()
		return nil, err
	}
	s.startCommitter()
	return s, nil
}

// openPostgresReadOnly opens the PostgreSQL database at dsn as it is, for
// reading: no migration, no committer.
func openPostgresReadOnly(ctx context.Context, dsn string) (*Store, error) {
	s, err := connectPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s.readOnly = true
	return s, nil
}

// connectPostgres makes the pool of a PostgreSQL store and checks that the
// server answers.
func connectPostgres(ctx context.Context, dsn string) (*Store, error) {
	name := RedactURL(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL, password and all.
		return nil, fmt.Errorf("store: open %s: the URL does not parse", name)
	}
	cfg.MaxConns = 16
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	db := sql.OpenDB(pgConnector{stdlib.GetPoolConnector(pool)})
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	s := &Store{db: db, pool: pool, engine: postgresEngine, writer: make(chan struct{}, 1), now: time.Now, path: name}
	if err := db.PingContext(ctx); err != nil {
		s.closeResources()
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	return s, nil
}

// postgresMigrations returns the PostgreSQL migrations, numbered as the
// SQLite ones: version N is the same schema on both engines.
func postgresMigrations() ([]migration, error) {
	sub, err := fs.Sub(postgresMigrationFiles, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	ms, err := readMigrations(sub)
	if err != nil {
		return nil, err
	}
	lite, err := migrations()
	if err != nil {
		return nil, err
	}
	if len(ms) != len(lite) {
		return nil, fmt.Errorf("%d PostgreSQL migrations for %d SQLite ones", len(ms), len(lite))
	}
	for i := range ms {
		if ms[i].name != lite[i].name {
			return nil, fmt.Errorf("PostgreSQL migration %s has no SQLite twin (%s)", ms[i].name, lite[i].name)
		}
	}
	return ms, nil
}

// migratePostgres applies the migrations the database lacks in one
// transaction that holds the migration lock: a second instance starting at
// the same moment waits for it, then finds nothing to do. A crash leaves
// the schema where it was.
func migratePostgres(ctx context.Context, db *sql.DB, name string) error {
	ms, err := postgresMigrations()
	if err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrateLockKey); err != nil {
		return fmt.Errorf("store: open %s: take the migration lock: %w", name, err)
	}
	have, err := postgresVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	if have > len(ms) {
		return fmt.Errorf("store: open %s: %w: version %d, this lessonbot knows up to %d; upgrade lessonbot",
			name, ErrNewerSchema, have, len(ms))
	}
	if have == len(ms) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	for _, m := range ms[have:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("store: open %s: migration %s: %w", name, m.name, err)
		}
		if hook := migrationHook(m.version); hook != nil {
			if err := hook(ctx, tx); err != nil {
				return fmt.Errorf("store: open %s: migration %s: %w", name, m.name, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, len(ms)); err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: open %s: %w", name, err)
	}
	return nil
}

// querier is what reads run on: the pool, a connection or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// postgresVersion reads the schema version of a PostgreSQL database, 0 for
// one that lessonbot never migrated.
func postgresVersion(ctx context.Context, q querier) (int, error) {
	var table sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('schema_version')::text`).Scan(&table); err != nil {
		return 0, err
	}
	if !table.Valid {
		return 0, nil
	}
	var v int
	err := q.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// pgConnector hands database/sql connections of the pgx pool that rewrite
// SQLite-flavoured statements for PostgreSQL (see pgSQL).
type pgConnector struct {
	driver.Connector
}

// Connect returns a pool connection wrapped in a pgConn.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn)}, nil
}

// pgConn is a pgx connection whose statements go through pgSQL first;
// everything else is pgx's own.
type pgConn struct {
	*stdlib.Conn
}

// Prepare prepares query, rewritten.
func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(pgSQL(query))
}

// PrepareContext prepares query, rewritten.
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgSQL(query))
}

// ExecContext runs query, rewritten.
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, pgSQL(query), args)
}

// QueryContext runs query, rewritten.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, pgSQL(query), args)
}

// pgSQL rewrites a statement written for SQLite for PostgreSQL: each "?"
// placeholder becomes $1, $2... in order; SQLite's planner hints go (the
// index hints "INDEXED BY name" and "NOT INDEXED", and CROSS in "CROSS
// JOIN t ON", which keeps a join order there); and its scalar max(a, b)
// and min(a, b) become greatest(a, b) and least(a, b). Quoted strings, quoted names and
// comments are copied as they are.
func pgSQL(query string) string {
	if !strings.ContainsAny(query, "?IC") && !strings.Contains(query, "max(") && !strings.Contains(query, "min(") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 2
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				return b.String() + query[i:]
			}
			b.WriteString(query[i : i+end])
			i += end
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			i++
		case wordAt(query, i, "INDEXED BY"):
			// Skip the hint and the index name after it.
			j := i + len("INDEXED BY")
			for j < len(query) && query[j] == ' ' {
				j++
			}
			for j < len(query) && isNameByte(query[j]) {
				j++
			}
			i = j
		case wordAt(query, i, "NOT INDEXED"):
			i += len("NOT INDEXED")
		case wordAt(query, i, "CROSS JOIN") && joinHasOn(query[i+len("CROSS JOIN"):]):
			// SQLite's way to fix the order of a join; PostgreSQL wants
			// a plain JOIN before ON.
			i += len("CROSS ")
		case (wordAt(query, i, "max") || wordAt(query, i, "min")) && strings.HasPrefix(query[i+3:], "(") && hasTopComma(query[i+3:]):
			// SQLite's max(a, b) and min(a, b) of several arguments.
			if query[i+1] == 'a' {
				b.WriteString("greatest")
			} else {
				b.WriteString("least")
			}
			i += 3
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// hasTopComma reports whether the parenthesis that args starts with holds
// a comma of its own (not one inside a nested parenthesis or a string).
func hasTopComma(args string) bool {
	depth := 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return false
			}
		case ',':
			if depth == 1 {
				return true
			}
		case '\'':
			end := strings.IndexByte(args[i+1:], '\'')
			if end < 0 {
				return false
			}
			i += end + 1
		}
	}
	return false
}

// joinHasOn reports whether rest, what follows a CROSS JOIN, is a table,
// an optional alias and ON.
func joinHasOn(rest string) bool {
	for range 2 {
		rest = strings.TrimLeft(rest, " \t\n")
		if strings.HasPrefix(rest, "ON ") {
			return true
		}
		n := 0
		for n < len(rest) && isNameByte(rest[n]) {
			n++
		}
		if n == 0 {
			return false
		}
		rest = rest[n:]
	}
	return strings.HasPrefix(strings.TrimLeft(rest, " \t\n"), "ON ")
}

// wordAt reports whether query has word at i, as whole words.
func wordAt(query string, i int, word string) bool {
	if !strings.HasPrefix(query[i:], word) {
		return false
	}
	if i > 0 && isNameByte(query[i-1]) {
		return false
	}
	end := i + len(word)
	return end == len(query) || !isNameByte(query[end])
}

// isNameByte reports whether c may be part of an SQL name.
func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// pgErrorClass returns the SQLSTATE class (its first two characters) of a
// PostgreSQL error, or "" for any other error.
func pgErrorClass(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) && len(e.Code) >= 2 {
		return e.Code[:2]
	}
	return ""
}

// pgUnique reports whether err is PostgreSQL's unique_violation.
func pgUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// appendMessageID is the SQL expression of a delivery's message_ids (a
// JSON array in text) with the JSON value v (SQL) added at its end.
func (s *Store) appendMessageID(v string) string {
	if s.pg() {
		return `(message_ids::jsonb || jsonb_build_array((` + v + `)::jsonb))::text`
	}
	return `json_insert(message_ids, '$[#]', json(` + v + `))`
}

// messageCount is the SQL expression of how many ids a delivery's
// message_ids holds.
func (s *Store) messageCount() string {
	if s.pg() {
		return `jsonb_array_length(message_ids::jsonb)`
	}
	return `json_array_length(message_ids)`
}
