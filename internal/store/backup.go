package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BackupInfo describes a backup file as Backup wrote it or Restore put it
// in place.
type BackupInfo struct {
	// Path is the file.
	Path string
	// Size is its size in bytes.
	Size int64
	// Version is its schema version.
	Version int
	// Counts are its chats, learners and answers.
	Counts Counts
}

// ErrPostgresBackup is returned by Backup and Restore for a PostgreSQL
// database, whose server has its own tools for both.
var ErrPostgresBackup = errors.New("lessonbot backs up and restores SQLite files only; for PostgreSQL use pg_dump and pg_restore (or the server's own backups)")

// Backup writes a consistent copy of the database to the file at path
// while this and other processes go on reading and writing it; s may be
// opened read-only. The copy is made by VACUUM INTO, a single read
// transaction that sees one snapshot of the database and writes it as a
// compact file of its own (no -wal beside it), into a temporary file in
// path's folder; that file is checked with SQLite's integrity check,
// synced, and only then named path, so that path is either the old file
// or a whole, checked copy. An existing path is refused, with an error
// wrapping fs.ErrExist, unless overwrite.
func (s *Store) Backup(ctx context.Context, path string, overwrite bool) (BackupInfo, error) {
	if s.pg() {
		return BackupInfo{}, ErrPostgresBackup
	}
	if path == "" {
		return BackupInfo{}, errors.New("store: backup: empty file name")
	}
	if fi, err := os.Stat(path); err == nil {
		if !overwrite {
			return BackupInfo{}, fmt.Errorf("store: backup: %s: %w", path, fs.ErrExist)
		}
		// Overwriting the database (or its -wal) would pull it from
		// under everyone who has it open.
		var db string
		if err := s.db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&db); err != nil {
			return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
		}
		for _, p := range append([]string{db}, sideNames(db)...) {
			if pi, err := os.Stat(p); err == nil && os.SameFile(fi, pi) {
				return BackupInfo{}, fmt.Errorf("store: backup: %s is the database itself or one of its files", path)
			}
		}
	} else if !overwrite {
		if _, err := os.Lstat(path); err == nil { // a dangling link
			return BackupInfo{}, fmt.Errorf("store: backup: %s: %w", path, fs.ErrExist)
		}
	}
	tmp, err := tempBeside(path, ".tmp-")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			os.Remove(tmp)
		}
	}()
	// VACUUM INTO wants a missing or empty file: tempBeside leaves an
	// empty one, which keeps the name ours meanwhile.
	if _, err := s.db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	info, err := checkCopy(ctx, tmp)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: the copy: %w", err)
	}
	// SQLite does not sync the file VACUUM INTO writes.
	if err := syncFile(tmp); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %w", err)
	}
	if err := place(tmp, path, overwrite); err != nil {
		return BackupInfo{}, fmt.Errorf("store: backup: %s: %w", path, err)
	}
	placed = true
	info.Path = path
	return info, nil
}

// checkCopy runs the integrity check on the database file at path, which
// has no -wal of its own, and reads its schema version, counts and size.
func checkCopy(ctx context.Context, path string) (BackupInfo, error) {
	c, err := OpenReadOnly(ctx, path)
	if err != nil {
		return BackupInfo{}, err
	}
	defer c.Close()
	if err := c.IntegrityCheck(ctx); err != nil {
		return BackupInfo{}, err
	}
	info := BackupInfo{Path: path}
	if info.Version, _, err = c.SchemaVersion(ctx); err != nil {
		return BackupInfo{}, err
	}
	if info.Counts, err = c.Count(ctx); err != nil {
		return BackupInfo{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Size = fi.Size()
	return info, nil
}

// place gives the finished file tmp the name path and syncs the folder.
// Without overwrite it links rather than renames, so that a file that
// appeared at path meanwhile is not replaced (fs.ErrExist); on a file
// system without hard links it checks and renames.
func place(tmp, path string, overwrite bool) error {
	if overwrite {
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(path))
	}
	err := os.Link(tmp, path)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fs.ErrExist
	case err != nil:
		if _, err := os.Lstat(path); err == nil {
			return fs.ErrExist
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	default:
		if err := os.Remove(tmp); err != nil {
			return err
		}
	}
	return syncDir(filepath.Dir(path))
}

// tempBeside creates an empty file in path's folder whose name starts
// with a dot, path's name and infix, and returns its name.
func tempBeside(path, infix string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+infix+"*")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// beforeRestore is the name Restore gives the database it replaces.
const beforeRestore = ".before-restore"

// sideFiles are the suffixes of the files SQLite keeps beside a database:
// its write-ahead log, the log's index, and a rollback journal. A log or
// journal left beside a database is applied to whatever file bears the
// database's name next, so they move with the database they belong to.
var sideFiles = []string{"-wal", "-journal", "-shm"}

// RestoreInfo is what Restore did.
type RestoreInfo struct {
	// Restored is the database as restored, at the newest schema version.
	Restored BackupInfo
	// FromVersion is the backup's schema version before migrations.
	FromVersion int
	// Before is where the replaced database was moved, with its -wal and
	// -shm files beside it under the same name; empty when there was none.
	Before string
}

// restoreError is a refusal of the backup file, said in one line to the
// person who named it.
type restoreError struct {
	msg string
	err error
}

func (e *restoreError) Error() string { return e.msg }
func (e *restoreError) Unwrap() error { return e.err }

// lessonbotTables are tables every lessonbot schema has, from version 1.
var lessonbotTables = []string{"subscriptions", "learners", "answers", "kv"}

// Restore replaces the database at path with a copy of the backup file
// from. It takes the database's lock for the whole restore and fails with
// a *LockedError when a lessonbot run holds it. The copy is made beside
// path and checked there before anything else is touched: it must be an
// SQLite database with lessonbot's tables, at a schema version this
// lessonbot knows (a newer one is refused, wrapping ErrNewerSchema), and
// pass the integrity check; it is then migrated to the newest version.
// Only then is the database at path, with its -wal and -shm, moved to
// path.before-restore (or path.before-restore.2, .3, ... when that name is
// taken: an earlier restore's is never overwritten), and the copy named
// path. The file from is only read. A missing database is no error: the
// restore creates it, and its folder.
func Restore(ctx context.Context, path, from string) (RestoreInfo, error) {
	if IsPostgres(path) {
		return RestoreInfo{}, ErrPostgresBackup
	}
	if path == "" {
		return RestoreInfo{}, errors.New("store: restore: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	lock, err := LockDatabase(path)
	if err != nil {
		return RestoreInfo{}, err
	}
	defer lock.Release()

	src, err := os.Open(from)
	if err != nil {
		return RestoreInfo{}, &restoreError{msg: fmt.Sprintf("%s: cannot read it: %v", from, errors.Unwrap(err)), err: err}
	}
	defer src.Close()
	if fi, err := src.Stat(); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
	} else if !fi.Mode().IsRegular() {
		return RestoreInfo{}, &restoreError{msg: fmt.Sprintf("%s is not a file", from)}
	} else if fi.Size() == 0 {
		return RestoreInfo{}, &restoreError{msg: fmt.Sprintf("%s is empty, not a lessonbot database", from)}
	} else if dbi, err := os.Stat(path); err == nil && os.SameFile(fi, dbi) {
		return RestoreInfo{}, &restoreError{msg: fmt.Sprintf("%s is the database itself", from)}
	}

	tmp, err := tempBeside(path, ".restore-")
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			for _, p := range append([]string{tmp}, sideNames(tmp)...) {
				os.Remove(p)
			}
		}
	}()
	if err := copyInto(tmp, src); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: copy %s: %w", from, err)
	}
	fromVersion, err := inspectBackup(ctx, tmp, from)
	if err != nil {
		return RestoreInfo{}, err
	}
	info, err := migrateCopy(ctx, tmp, fromVersion)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
	}
	// The restored file has the permissions of the one it replaces; a
	// new one is readable by its owner only, as the temporary file is.
	if fi, err := os.Stat(path); err == nil {
		if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
			return RestoreInfo{}, fmt.Errorf("store: restore: %w", err)
		}
	}

	before, err := moveAside(path)
	if err != nil {
		return RestoreInfo{}, fmt.Errorf("store: restore: keep the database being replaced: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return RestoreInfo{Before: before}, fmt.Errorf("store: restore: %w", err)
	}
	placed = true
	if err := syncDir(filepath.Dir(path)); err != nil {
		return RestoreInfo{Before: before}, fmt.Errorf("store: restore: %w", err)
	}
	info.Path = path
	return RestoreInfo{Restored: info, FromVersion: fromVersion, Before: before}, nil
}

// sideNames returns the names of the files SQLite may keep beside the
// database at path.
func sideNames(path string) []string {
	names := make([]string, len(sideFiles))
	for i, s := range sideFiles {
		names[i] = path + s
	}
	return names
}

// copyInto copies src into the file at path and syncs it.
func copyInto(path string, src io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, src)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// inspectBackup checks that the database file at path, a copy of the
// backup named name, is a lessonbot database this lessonbot can open
// and that it passes the integrity check, and returns its schema version.
// Its refusals are *restoreError.
func inspectBackup(ctx context.Context, path, name string) (int, error) {
	db, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	var tables []string
	if err == nil {
		for rows.Next() {
			var t string
			if err = rows.Scan(&t); err != nil {
				break
			}
			tables = append(tables, t)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	if err != nil {
		return 0, fileRefusal(name, err)
	}
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return 0, fileRefusal(name, err)
	}
	for _, t := range lessonbotTables {
		if version < 1 || !slices.Contains(tables, t) {
			return 0, &restoreError{msg: fmt.Sprintf("%s is an SQLite database but not a lessonbot one (it has no %s table)", name, t)}
		}
	}
	ms, err := migrations()
	if err != nil {
		return 0, fmt.Errorf("store: restore: %w", err)
	}
	if version > len(ms) {
		return 0, &restoreError{
			msg: fmt.Sprintf("%s is at schema version %d; this lessonbot knows up to %d: upgrade lessonbot first", name, version, len(ms)),
			err: ErrNewerSchema,
		}
	}
	if err := integrityCheck(ctx, db); err != nil {
		return 0, &restoreError{msg: fmt.Sprintf("%s is damaged: %v", name, err), err: err}
	}
	return version, nil
}

// fileRefusal says why SQLite could not read the backup named name.
func fileRefusal(name string, err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return &restoreError{msg: fmt.Sprintf("%s is not an SQLite database", name), err: err}
		case sqlite3.SQLITE_CORRUPT:
			return &restoreError{msg: fmt.Sprintf("%s is a damaged SQLite database: %v", name, err), err: err}
		}
	}
	return fmt.Errorf("store: restore: read %s: %w", name, err)
}

// migrateCopy brings the database file at path, at schema version have,
// to the newest version, checks it again when a migration ran, counts it,
// and leaves it as one file in rollback-journal mode, so that no -wal of
// its own needs to follow it when it is renamed (lessonbot run turns WAL
// back on when it opens it).
func migrateCopy(ctx context.Context, path string, have int) (BackupInfo, error) {
	s, err := Open(ctx, path)
	if err != nil {
		return BackupInfo{}, err
	}
	info := BackupInfo{}
	var head int
	info.Version, head, err = s.SchemaVersion(ctx)
	if err == nil && have < head {
		err = s.IntegrityCheck(ctx)
	}
	if err == nil {
		info.Counts, err = s.Count(ctx)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupInfo{}, err
	}
	db, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return BackupInfo{}, err
	}
	var mode string
	err = db.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil && mode != "delete" {
		err = fmt.Errorf("journal mode is %s, want delete", mode)
	}
	if err != nil {
		return BackupInfo{}, fmt.Errorf("leave WAL mode: %w", err)
	}
	for _, side := range sideNames(path) {
		if _, err := os.Lstat(side); err == nil {
			return BackupInfo{}, fmt.Errorf("%s is still there after closing the database", side)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Size = fi.Size()
	return info, nil
}

// moveAside renames the database at path and the files beside it to the
// first free name of path.before-restore, path.before-restore.2, ...,
// and returns that name; "" when there was nothing to move.
func moveAside(path string) (string, error) {
	var present []string
	for _, p := range append([]string{path}, sideNames(path)...) {
		if _, err := os.Lstat(p); err == nil {
			present = append(present, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if len(present) == 0 {
		return "", nil
	}
	before := ""
	for n := 1; before == ""; n++ {
		name := path + beforeRestore
		if n > 1 {
			name += "." + strconv.Itoa(n)
		}
		taken := false
		for _, p := range append([]string{name}, sideNames(name)...) {
			if _, err := os.Lstat(p); err == nil {
				taken = true
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		if !taken {
			before = name
		}
	}
	// The log and journal first, the database next, the log's index
	// last: a failure midway may part the database from its log, but
	// never leaves a log beside a database it does not belong to, where
	// SQLite would apply it.
	slices.SortStableFunc(present, func(a, b string) int { return moveOrder(a[len(path):]) - moveOrder(b[len(path):]) })
	for _, p := range present {
		if err := os.Rename(p, before+p[len(path):]); err != nil {
			return "", err
		}
	}
	return before, syncDir(filepath.Dir(path))
}

// moveOrder ranks the suffixes of a database's files for moveAside.
func moveOrder(suffix string) int {
	switch suffix {
	case "-wal", "-journal":
		return 0
	case "":
		return 1
	}
	return 2
}
