#!/usr/bin/env bash
# bench/reconcile_speed.sh [LINES] [INVOICES] -- how fast is ar.reconcile()?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads INVOICES open invoices (default 500,000) of
# INVOICES/10 customers (80 % with an IBAN on file) and LINES bank lines
# (default 100,000: references written in several ways, payers known by
# IBAN or name, partial payments, discounts, unrelated credits; see
# bench/reconcile_speed.sql), then copies that database twice and runs in
# the same session of this script, one after the other, with every ledger
# trigger on:
#   C    SELECT count(*) FROM ar.reconcile();  COMMIT
#   SQL  SELECT bench.sql_reconcile();  COMMIT   -- the straightforward SQL:
#        join on the normalised reference, then on payer and amount
# Wall-clock time of each, commit included (the audit trail is sealed at
# commit); ar.reconcile_run gives the split of the C run into loading,
# matching and writing.  Targets: the whole ar.reconcile() run under 30 s,
# and at least 20 times the lines per second of the SQL version.  Exits 1
# when a target is missed or the ledger check fails.
#
# Environment: AR_BENCH_PORT (default 55452), AR_BENCH_NO_BUILD=1 to use the
# installed extension as it is.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

LINES=${1:-100000}
INVOICES=${2:-500000}
PORT=${AR_BENCH_PORT:-55452}
[[ "$LINES" =~ ^[0-9]+$ && "$INVOICES" =~ ^[0-9]+$ && "$LINES" -le "$INVOICES" ]] ||
	{ echo "usage: $0 [LINES] [INVOICES]  (LINES <= INVOICES)" >&2; exit 2; }

ensure_packages
[ "${AR_BENCH_NO_BUILD:-}" = 1 ] || build_and_install

WORK=$(mktemp -d /tmp/ar_reconcile_speed.XXXXXX)
chmod 755 "$WORK"
trap '[ -n "${AR_BENCH_KEEP:-}" ] || { cluster_stop "$WORK/cluster"; rm -rf "$WORK"; }' EXIT
cluster_start "$WORK/cluster" "$PORT" "shared_buffers = '1GB'" "max_wal_size = '4GB'" "checkpoint_timeout = '30min'" ||
	{ cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { as_postgres $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

log "loading $INVOICES open invoices and $LINES bank lines"
started=$(date +%s)
sql -d postgres -c "CREATE DATABASE bench_base"
sql -d bench_base -c "CREATE EXTENSION ar_collect" -c "CREATE SCHEMA bench" \
	-v invoices="$INVOICES" -v lines="$LINES" -v seed=0.42 -f "$(dirname "$0")/reconcile_speed.sql"
sql -d postgres -c "CREATE DATABASE bench_c TEMPLATE bench_base" -c "CREATE DATABASE bench_sql TEMPLATE bench_base"
log "loaded in $(($(date +%s) - started)) s"

# wall-clock milliseconds of a psql script, commit included
timed() {
	local db=$1 script=$2 t0 t1
	t0=$(date +%s%N)
	sql -d "$db" -c "$script" >"$WORK/$db.out"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

log "warming the caches"
for db in bench_c bench_sql; do
	sql -d "$db" -c "SELECT count(*) FROM ar.invoice WHERE open_amount <> 0" -c "SELECT count(*) FROM ar.bank_transaction" >/dev/null
done

log "ar.reconcile()"
c_ms=$(timed bench_c "SELECT count(*) FROM ar.reconcile()")
log "straightforward SQL"
sql_ms=$(timed bench_sql "SELECT bench.sql_reconcile()")

c_applied=$(sql -d bench_c -c "SELECT count(*) FROM ar.reconcile_line WHERE outcome = 'applied'")
c_proposed=$(sql -d bench_c -c "SELECT count(*) FROM ar.reconcile_line WHERE outcome = 'proposed'")
c_split=$(sql -d bench_c -F ' ' -c "SELECT round(load_ms), round(match_ms), round(write_ms) FROM ar.reconcile_run")
sql_applied=$(sql -d bench_sql -c "SELECT count(DISTINCT bank_transaction_id) FROM ar.allocation")
errors=$(($(sql -d bench_c -c "SELECT count(*) FROM ar.check_ledger()") + $(sql -d bench_sql -c "SELECT count(*) FROM ar.check_ledger()")))
# applied right: the line pays the invoice it was generated for
c_right=$(sql -d bench_c -c "SELECT count(*) FROM bench.line_plan p JOIN ar.bank_transaction t ON t.id = p.n
                             JOIN ar.allocation a ON a.bank_transaction_id = t.id AND a.invoice_id = p.invoice_id")
sql_right=$(sql -d bench_sql -c "SELECT count(*) FROM bench.line_plan p JOIN ar.bank_transaction t ON t.id = p.n
                                 JOIN ar.allocation a ON a.bank_transaction_id = t.id AND a.invoice_id = p.invoice_id")
read -r load_ms match_ms write_ms <<<"$c_split"

status=0
echo
echo "ar.reconcile speed: $LINES lines, $INVOICES open invoices, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}')"
echo
echo "| implementation | seconds (commit included) | lines/s | lines applied | applied to the right invoice |"
echo "|---|---:|---:|---:|---:|"
awk -v ms="$c_ms" -v n="$LINES" -v a="$c_applied" -v r="$c_right" 'BEGIN { printf "| ar.reconcile() (C) | %.1f | %.0f | %d | %d |\n", ms / 1000, n / (ms / 1000), a, r }'
awk -v ms="$sql_ms" -v n="$LINES" -v a="$sql_applied" -v r="$sql_right" 'BEGIN { printf "| straightforward SQL | %.1f | %.0f | %d | %d |\n", ms / 1000, n / (ms / 1000), a, r }'
echo
echo "ar.reconcile() phases (ms, from ar.reconcile_run): load $load_ms, match $match_ms, write $write_ms (ledger triggers), the rest is the commit (audit sealing); $c_proposed lines proposed"
verdict=$(awk -v c="$c_ms" -v s="$sql_ms" 'BEGIN {
	ratio = s / c;
	printf "whole run %.1f s (target < 30): %s; throughput %.1fx the SQL version (target >= 20): %s",
	       c / 1000, (c < 30000 ? "PASS" : "FAIL"), ratio, (ratio >= 20 ? "PASS" : "FAIL") }')
echo "$verdict"
[[ "$verdict" == *FAIL* ]] && status=1
if [ "$errors" -ne 0 ]; then
	echo "ledger check: $errors rows disagree: FAIL"
	status=1
else
	echo "ledger check (ar.check_ledger) after both runs: clean"
fi
exit $status
