// Package pgtest gives tests PostgreSQL databases of their own, made on the
// server that LESSONBOT_TEST_POSTGRES names (.ci/pgcluster starts a
// throwaway one on loopback and sets it) and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the variable that names the test server: a postgres:// URL of
// a database on it whose user may create databases.
const EnvURL = "LESSONBOT_TEST_POSTGRES"

// EnvRequired, when set to 1, turns a test that needs the server and finds
// none from skipped to failed: .ci/run sets it for its PostgreSQL run.
const EnvRequired = "LESSONBOT_REQUIRE_POSTGRES"

// ServerURL returns the test server's URL, or "" when none is configured.
func ServerURL() string { return os.Getenv(EnvURL) }

// Need skips t (or fails it, under EnvRequired) when no test server is
// configured, and returns the server's URL.
func Need(t testing.TB) string {
	t.Helper()
	u := ServerURL()
	if u == "" {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("%s is not set, and %s=1: run the tests under .ci/pgcluster", EnvURL, EnvRequired)
		}
		t.Skipf("no PostgreSQL test server: run under .ci/pgcluster, which sets %s", EnvURL)
	}
	return u
}

// Database creates a database on the test server and returns its URL; it
// is dropped, with any connection still open to it, when t ends. The
// database is empty, or a copy of the template that SetTemplate prepared.
// It calls Need first.
func Database(t testing.TB) string {
	t.Helper()
	server := Need(t)
	name := newName()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tmpl, err := template(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: prepare the template database: %v", err)
	}
	if err := createDatabase(ctx, server, name, tmpl); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, server, name); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newName returns a new database name.
func newName() string { return "lessonbot_test_" + strings.ToLower(rand.Text()[:12]) }

// withDatabase returns the server URL with the database name in place of
// its own.
func withDatabase(server, name string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("pgtest: %s does not parse: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// The template that Database copies, made once per test binary.
var (
	prepare      func(ctx context.Context, url string) error
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// SetTemplate has Database copy a template database, made by prepare
// (such as a schema migration) on a new database the first time it is
// needed: copying a database is several times faster than migrating one.
// Call it from TestMain before the tests run, and DropTemplate after.
func SetTemplate(p func(ctx context.Context, url string) error) { prepare = p }

// template returns the name of the template database, making it on first
// use, or "" when no template is set.
func template(ctx context.Context, server string) (string, error) {
	if prepare == nil {
		return "", nil
	}
	templateOnce.Do(func() {
		name := newName() + "_template"
		if templateErr = createDatabase(ctx, server, name, ""); templateErr != nil {
			return
		}
		u, err := withDatabase(server, name)
		if err != nil {
			templateErr = err
			return
		}
		templateName = name
		if templateErr = prepare(ctx, u); templateErr == nil {
			snap, templateErr = takeSnapshot(ctx, u)
		}
	})
	return templateName, templateErr
}

// DropTemplate drops the template database, if one was made, and the
// databases that Reused keeps for the next test.
func DropTemplate() error {
	if templateName == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dropPooled(ctx, ServerURL()); err != nil {
		return err
	}
	return dropDatabase(ctx, ServerURL(), templateName)
}

// createDatabase creates database name on server: a copy of the database
// tmpl, or of the server's own template when tmpl is "".
func createDatabase(ctx context.Context, server, name, tmpl string) error {
	create := `CREATE DATABASE ` + name + ` STRATEGY FILE_COPY`
	if tmpl != "" {
		create += ` TEMPLATE ` + tmpl
	}
	return admin(ctx, server, create)
}

// dropDatabase drops database name on server, with any connection still
// open to it.
func dropDatabase(ctx context.Context, server, name string) error {
	return admin(ctx, server, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
}

// admin runs one statement on the server's own database.
func admin(ctx context.Context, server, statement string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, statement)
	return err
}
