#!/usr/bin/env bash
# Runs every test of ar_collect on a fresh Debian 12 machine:
#   installs what is missing, builds with -Werror, installs, starts a
#   throwaway cluster (library preloaded) as the postgres OS user, runs
#   pg_regress (test/sql + test/expected), the isolation tests (test/specs),
#   pgTAP (test/pgtap through pg_prove), the shell tests (test/t) and
#   test/citus.sh, test/citus_audit.sh, test/citus_distribute.sh and
#   test/citus_upgrade.sh (skipped without citus), stops
#   the cluster whatever happens, and ends with the line "N passed, N failed".
# Only the server runs as postgres: the clients run as the caller, so the
# checkout may be a private (0700) folder, and its path may contain spaces.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

ensure_packages || exit 1
build_and_install || { echo "0 passed, 1 failed"; exit 1; }

WORK=$(mktemp -d /tmp/ar_collect_test.XXXXXX)
chmod 755 "$WORK"
# The real files of ../shared/data (when present) are read by the server:
# staged where the postgres OS user can read them, whatever the checkout's
# permissions.  A checkout without ../shared skips those tests.
SHARED_DATA=""
if [ -d "$ROOT/../shared/data" ]; then
	SHARED_DATA=$WORK/shared_data
	cp -r "$ROOT/../shared/data" "$SHARED_DATA"
	chmod -R a+rX "$SHARED_DATA"
fi
DATADIR=$WORK/cluster
PORT=${AR_TEST_PORT:-54329}
trap 'cluster_stop "$DATADIR"; rm -rf "$WORK"' EXIT
cluster_start "$DATADIR" "$PORT" || { cat "$DATADIR/server.log" >&2; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0

# pg_regress and isolation tests: one result line per test.
log "pg_regress and isolation tests"
rm -rf "$ROOT/results" "$ROOT/output_iso" "$ROOT/regression.diffs" "$ROOT/regression.out"
make -C "$ROOT" -s PG_CONFIG=$PG_CONFIG installcheck >"$WORK/regress.log" 2>&1
cat "$WORK/regress.log"
ok=$(grep -cE '\.\.\. +ok' "$WORK/regress.log")
bad=$(grep -cE '\.\.\. +FAILED' "$WORK/regress.log")
passed=$((passed + ok)) failed=$((failed + bad))
for diffs in "$ROOT"/regression.diffs "$ROOT"/output_iso/regression.diffs; do
	[ -s "$diffs" ] && { echo "--- $diffs"; cat "$diffs"; }
done

# pgTAP: every assertion counts; a file that dies or misses its plan counts once.
log "pgTAP tests"
$PG_BIN/createdb ar_tap
$PG_BIN/psql -q -X -d ar_tap -c "CREATE EXTENSION pgtap" \
	-c "ALTER DATABASE ar_tap SET ar_collect_test.shared_data = '$SHARED_DATA'" \
	-c "ALTER DATABASE ar_tap SET ar_collect_test.port = '$PORT'"
(cd "$ROOT" && PATH=$PG_BIN:$PATH pg_prove --verbose --ext .sql -h "$PGHOST" -p "$PORT" -U postgres -d ar_tap test/pgtap/) >"$WORK/tap.log" 2>&1
tap_rc=$?
cat "$WORK/tap.log"
ok=$(grep -cE '^ok [0-9]+' "$WORK/tap.log")
bad=$(grep -cE '^not ok [0-9]+' "$WORK/tap.log")
passed=$((passed + ok)) failed=$((failed + bad))
if [ $tap_rc -ne 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); fi

# Shell tests printing TAP (pg_dump/pg_restore round trip, ...), then
# test/citus.sh, test/citus_audit.sh, test/citus_distribute.sh and
# test/citus_upgrade.sh: their own three clusters (ports AR_CITUS_PORT,
# default PORT + 10, to + 2; + 3 to + 5; + 6 to + 8; + 9 to + 11) when citus is
# installed, else "1..0 # SKIP", counted
# neither passed nor failed.
for t in "$ROOT"/test/t/*.sh "$ROOT"/test/citus.sh "$ROOT"/test/citus_audit.sh "$ROOT"/test/citus_distribute.sh "$ROOT"/test/citus_upgrade.sh; do
	log "$(basename "$t")"
	PG_BIN=$PG_BIN AR_PG_BIN=$PG_BIN AR_CITUS_PORT=${AR_CITUS_PORT:-$((PORT + 10))} SHARED_DATA=$SHARED_DATA \
		bash "$t" >"$WORK/sh.log" 2>&1
	cat "$WORK/sh.log"
	ok=$(grep -cE '^ok [0-9]+' "$WORK/sh.log")
	bad=$(grep -cE '^not ok [0-9]+' "$WORK/sh.log")
	planned=$(sed -n 's/^1\.\.\([0-9]*\)\( *#.*\)\{0,1\}$/\1/p' "$WORK/sh.log" | head -1)
	passed=$((passed + ok)) failed=$((failed + bad))
	# a script that died before the end of its plan counts as one failure
	# ("1..0 # SKIP reason": a script with nothing to run here, e.g. without the XSD)
	if [ -z "$planned" ] || [ $((ok + bad)) -ne "$planned" ]; then failed=$((failed + 1)); fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
