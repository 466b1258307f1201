package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The template of these tests: a table the template fills (with a
// trigger that counts its inserts into another), a table it leaves
// empty, and their sequences.
const testSchema = `
CREATE TABLE words (id serial PRIMARY KEY, term text NOT NULL UNIQUE);
CREATE TABLE inserts (n integer NOT NULL);
INSERT INTO inserts VALUES (0);
CREATE FUNCTION count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE inserts SET n = n + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER words_counted AFTER INSERT ON words FOR EACH ROW EXECUTE FUNCTION count_insert();
INSERT INTO words (term) VALUES ('harbour'), ('ballot');
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)`

func TestMain(m *testing.M) {
	SetTemplate(func(ctx context.Context, url string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, testSchema)
		return err
	})
	code := m.Run()
	if err := DropTemplate(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// connect opens a connection to url, closed when t ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// contents describes what a database of the test schema holds, and what
// its sequences give next.
func contents(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var words, notes string
	var inserts, nextWord, nextNote int64
	err = conn.QueryRow(ctx, `SELECT
		(SELECT coalesce(string_agg(id || '=' || term, ',' ORDER BY id), '') FROM words),
		(SELECT coalesce(string_agg(id || '=' || body, ',' ORDER BY id), '') FROM notes),
		(SELECT n FROM inserts)`).Scan(&words, &notes, &inserts)
	if err != nil {
		t.Fatal(err)
	}
	// Asking for the next values moves the sequences: the database is
	// not handed out again after this (its test changes it anyway).
	if err := conn.QueryRow(ctx, `SELECT nextval('words_id_seq'), nextval('notes_id_seq')`).Scan(&nextWord, &nextNote); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("words [%s], notes [%s], %d inserts counted, next ids %d and %d", words, notes, inserts, nextWord, nextNote)
}

// use changes everything a test of the schema can change in the database
// at url: rows added, changed and deleted, sequences moved.
func use(t *testing.T, url string) {
	t.Helper()
	conn := connect(t, url)
	_, err := conn.Exec(context.Background(), `
		INSERT INTO words (term) VALUES ('tariff'), ('drought');
		UPDATE words SET term = 'harbor' WHERE term = 'harbour';
		DELETE FROM words WHERE term = 'ballot';
		INSERT INTO notes (body) VALUES ('one'), ('two');
		DELETE FROM notes`)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
}

// TestReusedIsReset: a database handed out again holds what the template
// holds, whatever the test before did to its rows and sequences, and the
// next tests get the same database rather than a new one.
func TestReusedIsReset(t *testing.T) {
	Need(t)
	var first, second string
	var want string
	t.Run("Use", func(t *testing.T) {
		first = Reused(t)
		want = contents(t, Database(t))
		use(t, first)
	})
	t.Run("Again", func(t *testing.T) {
		second = Reused(t)
		if got := contents(t, second); got != want {
			t.Errorf("a reused database holds %s; want the template's %s", got, want)
		}
	})
	if first != second {
		t.Errorf("the second test got %s, want the database of the first, %s, reset", second, first)
	}
	if want != "words [1=harbour,2=ballot], notes [], 2 inserts counted, next ids 3 and 1" {
		t.Errorf("the template holds %s", want)
	}
}

// TestReusedNotReused: a database whose test changed its schema, or left
// a connection open, is dropped, not handed out again.
func TestReusedNotReused(t *testing.T) {
	Need(t)
	for _, c := range []struct {
		name string
		use  func(t *testing.T, url string) func()
	}{
		{"SchemaChanged", func(t *testing.T, url string) func() {
			conn := connect(t, url)
			if _, err := conn.Exec(context.Background(), `ALTER TABLE notes ADD COLUMN seen boolean`); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{"TriggerDisabled", func(t *testing.T, url string) func() {
			conn := connect(t, url)
			if _, err := conn.Exec(context.Background(), `ALTER TABLE words DISABLE TRIGGER words_counted`); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}},
		{"ConnectionLeft", func(t *testing.T, url string) func() {
			conn, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return func() { conn.Close(context.Background()) }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first string
			var closeLater func()
			defer func() {
				if closeLater != nil {
					closeLater()
				}
			}()
			t.Run("Use", func(t *testing.T) {
				first = Reused(t)
				closeLater = c.use(t, first)
			})
			t.Run("Next", func(t *testing.T) {
				next := Reused(t)
				if next == first {
					t.Errorf("the next test got %s again", first)
				}
				if got, want := contents(t, next), contents(t, Database(t)); got != want {
					t.Errorf("the next test's database holds %s; want the template's %s", got, want)
				}
			})
		})
	}
}
