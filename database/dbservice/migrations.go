package dbservice

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/uptrace/bun"
)

// migrationsTable records the applied migrations; prefixed so the service
// can share a PostgreSQL database with other applications. It keeps the
// layout of bun's migrate package, which earlier releases ran, so a
// database moves freely between releases (their rosey_migration_locks
// table is no longer used).
const migrationsTable = "rosey_migrations"

// The service's own tables, one directory per dialect, oldest migration
// first. Never edit a released migration: add a new one, so a newer release
// upgrades an older database in place.
//
// A migration is a file VERSION_NAME.tx.up.sql (VERSION is up to 14
// digits; the table records it), whose statements, separated by lines
// "--bun:split", run in one transaction with its record. The .down.sql
// files are kept for reference and never run.
//
//go:embed migrations
var migrationFiles embed.FS

// errMigrationFile means a file in the migrations directory is not named
// as a migration.
var errMigrationFile = errors.New("not a migration file (VERSION_NAME.tx.up.sql or .tx.down.sql)")

// migrationFile splits the name of a migration file,
// VERSION_NAME.tx.up.sql or VERSION_NAME.tx.down.sql, where VERSION is 1 to
// 14 digits and NAME is [0-9a-z_-]+.
func migrationFile(file string) (version string, up, ok bool) {
	base, up := strings.CutSuffix(file, ".tx.up.sql")
	if !up {
		if base, ok = strings.CutSuffix(file, ".tx.down.sql"); !ok {
			return "", false, false
		}
	}
	version, name, _ := strings.Cut(base, "_")
	if len(version) == 0 || len(version) > 14 || name == "" ||
		strings.ContainsFunc(version, func(r rune) bool { return r < '0' || r > '9' }) ||
		strings.ContainsFunc(name, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '_' || r == '-') }) {
		return "", false, false
	}
	return version, up, true
}

// migration is one step of the schema.
type migration struct {
	version string
	stmts   []string
}

// migrations reads the migrations of a dialect from fsys, oldest first.
//
// The service does not use bun's migrate package: it runs SQL files as Go
// templates, and linking text/template's executor keeps every exported
// method of every type in the binary (the linker cannot tell which one a
// template calls): 4 MB more code, most of it resident.
func migrations(fsys fs.FS, pg bool) ([]migration, error) {
	dir := "migrations/sqlite"
	if pg {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		version, up, ok := migrationFile(e.Name())
		if !ok {
			return nil, fmt.Errorf("%s: %w", e.Name(), errMigrationFile)
		}
		if !up {
			continue
		}
		body, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o migration) bool { return o.version == version }) {
			return nil, fmt.Errorf("%s: version %s twice", e.Name(), version)
		}
		out = append(out, migration{version: version, stmts: splitStatements(string(body))})
	}
	slices.SortFunc(out, func(a, b migration) int { return strings.Compare(a.version, b.version) })
	return out, nil
}

// splitStatements splits a migration at its "--bun:split" lines, dropping
// empty statements.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "--bun:split" {
			flush()
			continue
		}
		cur.WriteString(sc.Text())
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// migrateUp applies the missing migrations, each in one transaction with
// the row that records it, so a crash midway leaves it unapplied and the
// next start runs it again. PostgreSQL, where several service copies may
// start at once, holds an advisory lock meanwhile; on SQLite, whose file
// other processes may open at the same time, each migration's transaction
// takes the write lock first and then looks for its record again.
func migrateUp(ctx context.Context, db *bun.DB, pg bool) error {
	ms, err := migrations(migrationFiles, pg)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if pg {
		// 0x526f736579 is "Rosey".
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(352440673657)"); err != nil {
			return fmt.Errorf("advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(352440673657)") //nolint:errcheck
	}
	applied, group, err := appliedMigrations(ctx, conn)
	if err != nil {
		// Most likely a new database: create the table and ask again.
		ddl := `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" VARCHAR, "group_id" INTEGER, "migrated_at" TIMESTAMP NOT NULL DEFAULT current_timestamp)`
		if pg {
			ddl = `CREATE TABLE IF NOT EXISTS ` + migrationsTable + ` ("id" BIGSERIAL NOT NULL, "name" VARCHAR, "group_id" BIGINT, "migrated_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, PRIMARY KEY ("id"))`
		}
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if applied, group, err = appliedMigrations(ctx, conn); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	group++ // the migrations applied now are one group, as bun numbers them
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := conn.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			// Another process on the same SQLite file may have applied it
			// since the list was read: its transaction held the write
			// lock, which this one now holds (BEGIN IMMEDIATE), so its
			// record is there to see.
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+migrationsTable+` WHERE name = ?`, m.version).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			for _, s := range m.stmts {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO `+migrationsTable+` ("name", "group_id") VALUES (?, ?)`, m.version, group)
			return err
		}); err != nil {
			return fmt.Errorf("%s: up: %w", m.version, err)
		}
	}
	return nil
}

// appliedMigrations returns the versions recorded as applied, and the
// last group number.
func appliedMigrations(ctx context.Context, conn bun.Conn) (map[string]bool, int64, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name, COALESCE(group_id, 0) FROM `+migrationsTable)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	applied := map[string]bool{}
	var last int64
	for rows.Next() {
		var name string
		var group int64
		if err := rows.Scan(&name, &group); err != nil {
			return nil, 0, err
		}
		applied[name] = true
		last = max(last, group)
	}
	return applied, last, rows.Err()
}
