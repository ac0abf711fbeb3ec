#!/bin/sh
# Ensure a local PostgreSQL is installed, running, and has the test database;
# print its URL on stdout (nothing else). Idempotent and quiet; safe as root.
#
#   export ROSEY_TEST_POSTGRES_URL="$(.ci/postgres.sh)"
#
# Environment (all optional): PGPORT (5432), ROSEY_PG_DB (rosey_test),
# ROSEY_PG_USER (rosey), ROSEY_PG_PASSWORD (rosey).
set -eu

port=${PGPORT:-5432}
db=${ROSEY_PG_DB:-rosey_test}
user=${ROSEY_PG_USER:-rosey}
pass=${ROSEY_PG_PASSWORD:-rosey}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail() {
	echo "postgres.sh: $*" >&2
	cat "$log" >&2
	exit 1
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

as_postgres() {
	if [ "$(id -un)" = postgres ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		sudo -n -u postgres "$@"
	fi
}

# 1. Install from Debian packages when no server binary is present.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 || fail "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >"$log" 2>&1 ||
		fail "apt-get install postgresql failed"
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)

# 2. Create a cluster if the package did not (containers without systemd).
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
	as_root pg_createcluster -p "$port" "$ver" main >"$log" 2>&1 || fail "pg_createcluster failed"
fi

# 3. Start it unless it runs already.
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
	as_root pg_ctlcluster "$ver" main start >"$log" 2>&1 || fail "pg_ctlcluster start failed"
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
i=0
until pg_isready -q -h 127.0.0.1 -p "$port"; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "server did not become ready on port $port"
	sleep 0.1
done

# 4. Role and database (the role owns the database, so tests may create tables).
psql_su() { as_postgres psql -X -q -t -A -p "$port" -d postgres -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_su -c "SELECT 1 FROM pg_roles WHERE rolname = '$user'" 2>"$log")" != 1 ]; then
	psql_su -c "CREATE ROLE \"$user\" LOGIN PASSWORD '$pass'" >"$log" 2>&1 || fail "create role failed"
fi
if [ "$(psql_su -c "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>"$log")" != 1 ]; then
	psql_su -c "CREATE DATABASE \"$db\" OWNER \"$user\"" >"$log" 2>&1 || fail "create database failed"
fi

echo "postgres://$user:$pass@127.0.0.1:$port/$db?sslmode=disable"
