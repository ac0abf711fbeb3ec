#!/bin/sh
# Install the npm packages of the JavaScript example plugin
# (examples/external-plugin-node), so its Go integration test runs instead
# of skipping. Idempotent; quiet unless something fails. Needs node and npm
# (and the npm registry) on the machine; without node it does nothing.
#
#   sh .ci/node.sh
set -eu
dir="$(cd "$(dirname "$0")/.." && pwd)/examples/external-plugin-node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "node.sh: node or npm not installed; the JavaScript plugin test will skip" >&2
	exit 0
fi
cd "$dir"
# package-lock.json pins the exact versions; npm ci installs just those
# (a fresh node_modules every time, a few seconds from npm's cache).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
	echo "node.sh: npm ci failed in $dir" >&2
	cat "$log" >&2
	exit 1
fi
