package dbservice

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Migration table names: prefixed so the service can share a PostgreSQL
// database with other applications.
const (
	migrationsTable = "rosey_migrations"
	migrationLocks  = "rosey_migration_locks"
)

// The service's own tables, one directory per dialect, oldest migration
// first. Never edit a released migration: add a new one, so a newer release
// upgrades an older database in place.
//
//go:embed migrations
var migrationFiles embed.FS

func migrations(pg bool) (*migrate.Migrations, error) {
	dir := "migrations/sqlite"
	if pg {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return nil, err
	}
	return ms, nil
}

// migrateUp applies the missing migrations. Every statement is idempotent
// and a migration is marked applied only after it succeeds, so a crash
// midway is repaired by the next start. bun's lock table is not used: a
// lock left by a killed process would block every later start. PostgreSQL,
// where several service copies may start at once, takes an advisory lock
// instead; on SQLite the single writer connection serialises.
func migrateUp(ctx context.Context, db *bun.DB, pg bool) error {
	ms, err := migrations(pg)
	if err != nil {
		return err
	}
	if !pg && allApplied(ctx, db, ms) {
		return nil // the usual case on start: one query instead of bun's several
	}
	m := migrate.NewMigrator(db, ms,
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(migrationLocks),
		migrate.WithMarkAppliedOnSuccess(true))
	if pg {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		// 0x526f736579 is "Rosey".
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(352440673657)"); err != nil {
			return fmt.Errorf("advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(352440673657)") //nolint:errcheck
	}
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return err
	}
	return nil
}

// allApplied reports whether every migration in ms is recorded as applied.
// Any error (no table yet, say) answers false and bun's migrator decides.
func allApplied(ctx context.Context, db *bun.DB, ms *migrate.Migrations) bool {
	rows, err := db.DB.QueryContext(ctx, "SELECT name FROM "+migrationsTable)
	if err != nil {
		return false
	}
	defer rows.Close()
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			return false
		}
		applied[name] = true
	}
	if rows.Err() != nil {
		return false
	}
	for _, m := range ms.Sorted() {
		if !applied[m.Name] {
			return false
		}
	}
	return true
}
