package store

import "context"

// OpenWithDriver is Open on the database/sql driver registered as driver,
// a wrapper of SQLite's: the query-plan test traces statements with it.
func OpenWithDriver(ctx context.Context, driver, path string) (*Store, error) {
	return openDriver(ctx, driver, path)
}
