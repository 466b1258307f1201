package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The databases that Reused hands out, reset to the template after each
// test: making a database copies the server's catalogs (some 7 MB) under
// two checkpoints, about four times the work of emptying a used one.
var (
	poolMu sync.Mutex
	idle   []string // names of reset databases, ready for the next test
	pooled []string // names of every database the pool made
)

// snapshot is what a reset puts back: the template's tables, the rows it
// was made with, its sequences, and a fingerprint of its schema.
type snapshot struct {
	tables    []string          // every table of the public schema, quoted
	seeds     map[string][]byte // a table's rows in COPY's text format, for tables with rows
	sequences []sequenceState
	schema    string // schemaFingerprint of the template
}

// sequenceState is where one of the template's sequences stood.
type sequenceState struct {
	name   string // quoted, with its schema
	value  int64
	called bool
}

// snap is the template's snapshot, taken once with the template.
var snap *snapshot

// schemaFingerprint is a query whose one value changes with any table,
// column, index, constraint, trigger or function of the public schema.
const schemaFingerprint = `SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
	SELECT c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '') || ':' ||
	       coalesce(format_type(a.atttypid, a.atttypmod), '') AS x
	FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE c.relnamespace = 'public'::regnamespace
	UNION ALL SELECT conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
	WHERE connamespace = 'public'::regnamespace
	UNION ALL SELECT tgname || ':' || tgrelid::regclass::text || ':' || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
	UNION ALL SELECT p.oid::regprocedure::text || ':' || md5(p.prosrc) FROM pg_proc p
	WHERE p.pronamespace = 'public'::regnamespace) parts`

// takeSnapshot records the template database at url.
func takeSnapshot(ctx context.Context, url string) (*snapshot, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	s := &snapshot{seeds: map[string][]byte{}}
	rows, err := conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
		WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	if s.tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, err
	}
	for _, table := range s.tables {
		var b bytes.Buffer
		if _, err := conn.PgConn().CopyTo(ctx, &b, `COPY `+table+` TO STDOUT`); err != nil {
			return nil, fmt.Errorf("copy %s: %w", table, err)
		}
		if b.Len() > 0 {
			s.seeds[table] = b.Bytes()
		}
	}
	rows, err = conn.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename),
		coalesce(last_value, start_value), last_value IS NOT NULL FROM pg_sequences WHERE schemaname = 'public'`)
	if err != nil {
		return nil, err
	}
	s.sequences, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (sequenceState, error) {
		var q sequenceState
		err := r.Scan(&q.name, &q.value, &q.called)
		return q, err
	})
	if err != nil {
		return nil, err
	}
	if err := conn.QueryRow(ctx, schemaFingerprint).Scan(&s.schema); err != nil {
		return nil, err
	}
	return s, nil
}

// Reused returns the URL of a database that holds what the template
// holds, as Database does, but taken from a pool: when t ends the
// database is reset to the template (its tables emptied, the template's
// rows and sequences put back) and handed to the next test. A test must
// close its connections before it ends and must not change the schema; a
// database that still has connections, or whose schema changed, is
// dropped instead of reused. Without a template it is Database.
func Reused(t testing.TB) string {
	t.Helper()
	server := Need(t)
	if prepare == nil {
		return Database(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tmpl, err := template(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: prepare the template database: %v", err)
	}
	poolMu.Lock()
	var name string
	if n := len(idle); n > 0 {
		name, idle = idle[n-1], idle[:n-1]
	}
	poolMu.Unlock()
	if name == "" {
		name = newName()
		if err := createDatabase(ctx, server, name, tmpl); err != nil {
			t.Fatalf("pgtest: create database: %v", err)
		}
		poolMu.Lock()
		pooled = append(pooled, name)
		poolMu.Unlock()
	}
	u, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := reset(ctx, u); err != nil {
			t.Logf("pgtest: database %s not reused: %v", name, err)
			if err := dropDatabase(ctx, server, name); err != nil {
				t.Errorf("pgtest: drop database %s: %v", name, err)
			}
			return
		}
		poolMu.Lock()
		idle = append(idle, name)
		poolMu.Unlock()
	})
	return u
}

// reset puts the database at url back to the template's snapshot, or says
// why it cannot.
func reset(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var others int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others); err != nil {
		return err
	}
	if others > 0 {
		return fmt.Errorf("%d connections still open", others)
	}
	var schema string
	if err := conn.QueryRow(ctx, schemaFingerprint).Scan(&schema); err != nil {
		return err
	}
	if schema != snap.schema {
		return fmt.Errorf("the test changed the schema")
	}
	// Empty the tables that hold rows, and those the template fills.
	var probe []string
	for _, table := range snap.tables {
		probe = append(probe, `SELECT '`+strings.ReplaceAll(table, `'`, `''`)+`' WHERE EXISTS (SELECT 1 FROM `+table+`)`)
	}
	rows, err := conn.Query(ctx, strings.Join(probe, " UNION ALL "))
	if err != nil {
		return err
	}
	used, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for table := range snap.seeds {
		used = append(used, table)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// Put the rows back as they were, with no trigger adding to them.
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		return err
	}
	if len(used) > 0 {
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(used, ", ")+` CASCADE`); err != nil {
			return err
		}
	}
	for table, rows := range snap.seeds {
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(rows), `COPY `+table+` FROM STDIN`); err != nil {
			return fmt.Errorf("copy %s: %w", table, err)
		}
	}
	if len(snap.sequences) > 0 {
		var set []string
		for _, q := range snap.sequences {
			set = append(set, fmt.Sprintf(`setval('%s', %d, %t)`, strings.ReplaceAll(q.name, `'`, `''`), q.value, q.called))
		}
		if _, err := tx.Exec(ctx, `SELECT `+strings.Join(set, ", ")); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// dropPooled drops every database the pool made.
func dropPooled(ctx context.Context, server string) error {
	poolMu.Lock()
	names := pooled
	pooled, idle = nil, nil
	poolMu.Unlock()
	for _, name := range names {
		if err := dropDatabase(ctx, server, name); err != nil {
			return err
		}
	}
	return nil
}
