#!/usr/bin/env bash
# bench/reconcile_speed.sh [LINES] [INVOICES] -- how fast is ar.reconcile()?
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads INVOICES open invoices (default 500,000) of
# INVOICES/10 customers (80 % with an IBAN on file) and LINES bank lines
# (default 100,000: references written in several ways, payers known by
# IBAN or name, partial payments, discounts, unrelated credits; see
# bench/reconcile_speed.sql), copies that database three times, and times,
# in the same run, with every ledger trigger on:
#   ar.reconcile()           SELECT count(*) FROM ar.reconcile(); COMMIT
#   straightforward SQL      bench.naive_reconcile(): the reference found in
#                            the normalised text, then payer and amount; it
#                            compares every line with every invoice, so it
#                            runs on the first AR_BENCH_SAMPLE lines (200)
#   tuned set-based SQL      bench.sql_reconcile(): the same rules with the
#                            text cut into tokens and hash-joined
# and the decisions alone (nothing written): ar.reconcile_preview() against
# bench.sql_reconcile(false).  Wall-clock times, commit included (the audit
# trail is sealed at commit); ar.reconcile_run splits the C run into load,
# match and write, and the commit is timed apart, the audit seal in it.  Targets (issue 3): the whole ar.reconcile() run under
# 30 s, and at least 20 times the lines per second of the straightforward
# SQL.  Exits 1 when a target is missed or a ledger check fails.  Each
# timed session ends by reading its backend's peak memory (VmHWM, shared
# buffers touched included): that of ar.reconcile() is reported.
#
# Environment: AR_BENCH_PORT (default 55452), AR_BENCH_SAMPLE (200),
# AR_BENCH_NO_BUILD=1 to use the installed extension as it is,
# AR_BENCH_KEEP=1 to keep the cluster and its databases for a look.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

LINES=${1:-100000}
INVOICES=${2:-500000}
PORT=${AR_BENCH_PORT:-55452}
SAMPLE=${AR_BENCH_SAMPLE:-200}
[[ "$LINES" =~ ^[0-9]+$ && "$INVOICES" =~ ^[0-9]+$ && "$LINES" -le "$INVOICES" ]] ||
	{ echo "usage: $0 [LINES] [INVOICES]  (LINES <= INVOICES)" >&2; exit 2; }

bench_prepare reconcile_speed
# No autovacuum: the tables are vacuumed once after the load, and a worker
# vacuuming a fresh copy would compete with the timed runs for 2 cores.
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '1GB'" "max_wal_size = '4GB'" "checkpoint_timeout = '30min'" \
	"autovacuum = off" ||
	{ cat "$WORK/cluster/server.log" >&2; exit 1; }

sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

log "loading $INVOICES open invoices and $LINES bank lines"
started=$(date +%s)
sql -d postgres -c "CREATE DATABASE bench_base"
sql -d bench_base -c "CREATE EXTENSION ar_collect" -c "CREATE SCHEMA bench" \
	-v invoices="$INVOICES" -v lines="$LINES" -v seed=0.42 -f "$(dirname "$0")/reconcile_speed.sql"
# The loader bypasses the triggers that keep the dashboard and KPI summaries:
# rebuild them, as a DBA must after such a load, so that the commit's fold
# updates the summary rows of a real ledger instead of inserting one per
# paid invoice into empty summaries.
sql -d bench_base -c "INSERT INTO ar.reconcile_config (company_id) SELECT id FROM ar.company" \
	-c "SELECT ar.rebuild_summaries()" -c "VACUUM ANALYZE"
for db in bench_c bench_sql bench_naive; do
	sql -d postgres -c "CREATE DATABASE $db TEMPLATE bench_base"
done
log "loaded in $(($(date +%s) - started)) s"

# wall-clock milliseconds of a psql command, commit included
timed() {
	local db=$1 script=$2 t0 t1
	t0=$(date +%s%N)
	sql -d "$db" -c "$script" -c "$BENCH_HWM_SQL" >"$WORK/$db.out"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

log "warming the caches"
for db in bench_c bench_sql bench_naive; do
	sql -d "$db" -c "SELECT count(*) FROM ar.invoice WHERE open_amount <> 0" -c "SELECT count(*) FROM ar.bank_transaction" >/dev/null
done
# Copying a database writes it whole to the WAL (PostgreSQL 15): without a
# checkpoint here, the one it triggers would land inside a timed run.
sql -d postgres -c "CHECKPOINT"

log "decisions only: ar.reconcile_preview() and the tuned SQL"
preview_ms=$(timed bench_c "SELECT count(*) FROM ar.reconcile_preview()")
sql_decide_ms=$(timed bench_sql "BEGIN; SELECT bench.sql_reconcile(false); ROLLBACK;")
log "ar.reconcile()"
# in one transaction, so that its commit is timed apart as well, and in
# it the seal of the audit trail (the deferred trigger run by SET
# CONSTRAINTS ... IMMEDIATE just before; the rest: the summaries' fold)
t0=$(date +%s%N)
sql -d bench_c -c "BEGIN" -c "SELECT count(*) FROM ar.reconcile()" -c '\timing on' \
	-c "SET CONSTRAINTS ar.audit_log_seal IMMEDIATE" -c "COMMIT" -c '\timing off' \
	-c "$BENCH_HWM_SQL" >"$WORK/bench_c.out"
t1=$(date +%s%N)
c_ms=$(((t1 - t0) / 1000000))
c_hwm=$(tail -1 "$WORK/bench_c.out")
seal_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/bench_c.out" | head -1)
commit_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$WORK/bench_c.out" | tail -1)
commit_ms=$(awk -v a="$seal_ms" -v b="$commit_ms" 'BEGIN { printf "%.1f", a + b }')
seal_rows=$(sql -d bench_c -c "SELECT count(*) FROM ar.audit_log WHERE txid = (SELECT max(txid) FROM ar.audit_log)")
log "tuned set-based SQL"
sql_ms=$(timed bench_sql "SELECT bench.sql_reconcile()")
log "straightforward SQL on the first $SAMPLE lines"
naive_ms=$(timed bench_naive "SELECT bench.naive_reconcile($SAMPLE)")

c_applied=$(sql -d bench_c -c "SELECT count(*) FROM ar.reconcile_line WHERE outcome = 'applied'")
c_proposed=$(sql -d bench_c -c "SELECT count(*) FROM ar.reconcile_line WHERE outcome = 'proposed'")
c_split=$(sql -d bench_c -F ' ' -c "SELECT round(sum(load_ms)), round(sum(match_ms)), round(sum(write_ms)) FROM ar.reconcile_run")
errors=0
for db in bench_c bench_sql bench_naive; do
	errors=$((errors + $(sql -d $db -c "SELECT count(*) FROM ar.check_ledger()")))
done
# applied right: the line pays the invoice it was generated for
right() {
	sql -d "$1" -c "SELECT count(DISTINCT t.id) FILTER (WHERE a.invoice_id = p.invoice_id), count(DISTINCT t.id)
	                  FROM ar.allocation a JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id
	                  JOIN bench.line_plan p ON p.n = t.id" -F ' '
}
read -r c_right c_lines <<<"$(right bench_c)"
read -r sql_right sql_lines <<<"$(right bench_sql)"
read -r naive_right naive_lines <<<"$(right bench_naive)"
read -r load_ms match_ms write_ms <<<"$c_split"

row() { awk -v name="$1" -v ms="$2" -v n="$3" -v a="$4" -v r="$5" 'BEGIN {
	printf "| %s | %d | %.1f | %.0f | %s | %s |\n", name, n, ms / 1000, n / (ms / 1000), a, r }'; }
echo
echo "ar.reconcile speed: $LINES lines, $INVOICES open invoices, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}')"
echo
echo "| implementation | lines | seconds | lines/s | lines applied | applied to the right invoice |"
echo "|---|---:|---:|---:|---:|---:|"
row "ar.reconcile() (C), end to end" "$c_ms" "$LINES" "$c_lines" "$c_right"
row "straightforward SQL, end to end (first $SAMPLE lines)" "$naive_ms" "$SAMPLE" "$naive_lines" "$naive_right"
row "tuned set-based SQL, end to end" "$sql_ms" "$LINES" "$sql_lines" "$sql_right"
row "decisions only: ar.reconcile_preview()" "$preview_ms" "$LINES" "-" "-"
row "decisions only: tuned SQL" "$sql_decide_ms" "$LINES" "-" "-"
echo
echo "ar.reconcile() phases (ms, ar.reconcile_run): load $load_ms, match $match_ms, write $write_ms (allocations through the ledger's triggers);"
echo "the rest of the run is the commit: $commit_ms ms, of which the seal of the audit trail $seal_ms ms for $seal_rows audit rows. $c_applied lines applied, $c_proposed proposed."
verdict=$(awk -v c="$c_ms" -v n="$LINES" -v nv="$naive_ms" -v ns="$SAMPLE" -v t="$sql_ms" -v p="$preview_ms" -v d="$sql_decide_ms" 'BEGIN {
	ratio = (n / c) / (ns / nv);
	printf "whole run %.1f s (target < 30 s): %s\n", c / 1000, (c < 30000 ? "PASS" : "FAIL");
	printf "throughput %.0fx the straightforward SQL (target >= 20x): %s\n", ratio, (ratio >= 20 ? "PASS" : "FAIL");
	printf "for information: %.1fx the tuned SQL end to end, %.1fx for the decisions alone", t / c, d / p }')
echo "peak memory of the ar.reconcile() backend (VmHWM, shared buffers touched included): $c_hwm MB"
bench_summary "reconcile_speed.sh: ar.reconcile() vs straightforward SQL" "$LINES lines, $INVOICES invoices" \
	"$(awk -v c="$c_ms" -v n="$LINES" -v nv="$naive_ms" -v ns="$SAMPLE" 'BEGIN { printf "%.0f", (n / c) / (ns / nv) }') x the lines/s" ">= 20 x, < 30 s" "$c_hwm"
bench_exit "$verdict" "$errors" "after the three runs"
