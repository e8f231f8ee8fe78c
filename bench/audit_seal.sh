#!/usr/bin/env bash
# The audit trail's cost on one transaction that writes ROWS audited rows
# (issue 17): ROWS customers inserted in one transaction, unaudited first
# (ar_collect.restoring = on, the baseline: the same insert, no audit row),
# then audited; the seal timed apart (SET CONSTRAINTS ar.audit_log_seal
# IMMEDIATE just before COMMIT), then ar.verify_audit_chain() over the
# trail.  Prints the times, the audit's share of the insert as a ratio to
# the unaudited insert of the same run, and the peak memory of the backend
# that wrote them.
#
#   bash bench/audit_seal.sh [ROWS]     # default 20,000
#
# To compare two builds, run it with each (AR_PG_BIN pointing at a private
# PostgreSQL tree per build), alternated: the machine's load moves single
# runs more than the ratios within a run.
# Environment: AR_BENCH_PORT (default 55461), AR_BENCH_NO_BUILD=1 to use the
# installed extension as it is, AR_BENCH_KEEP=1 to keep the cluster.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

ROWS=${1:-20000}
PORT=${AR_BENCH_PORT:-55461}
[[ "$ROWS" =~ ^[0-9]+$ && "$ROWS" -gt 0 ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }

bench_prepare audit_seal
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '512MB'" "max_wal_size = '4GB'" \
	"autovacuum = off" ||
	{ cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
sql -d postgres -c "CREATE EXTENSION ar_collect"

# one session: the unaudited insert, then the audited one, its seal and
# commit; the times in statement order
out=$(sql -d postgres <<SQL
SET ar_collect.restoring = on;
BEGIN;
\timing on
INSERT INTO ar.customer (code, name) SELECT 'R' || g, 'Unaudited customer ' || g FROM generate_series(1, $ROWS) g;
\timing off
COMMIT;
RESET ar_collect.restoring;
CHECKPOINT;
BEGIN;
\timing on
INSERT INTO ar.customer (code, name) SELECT 'A' || g, 'Audited customer ' || g FROM generate_series(1, $ROWS) g;
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
COMMIT;
\timing off
$BENCH_HWM_SQL;
SQL
)
times=($(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out"))
hwm=$(tail -1 <<<"$out")
plain_ms=${times[0]} audited_ms=${times[1]} seal_ms=${times[2]} commit_ms=${times[3]}
verify=$(sql -d postgres -c '\timing on' -c "SELECT valid FROM ar.verify_audit_chain()")
valid=$(head -1 <<<"$verify")
verify_ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$verify")
audit_rows=$(sql -d postgres -c "SELECT count(*) FROM ar.audit_log WHERE table_name = 'customer'")

echo "audit seal: $ROWS customers in one transaction, $audit_rows audit rows, $(nproc) cores, PostgreSQL $($PG_CONFIG --version | awk '{print $2}')"
echo
echo "| step | ms |"
echo "|---|---:|"
echo "| insert, unaudited (ar_collect.restoring = on) | $plain_ms |"
echo "| insert, audited (each audit row hashed as it is written) | $audited_ms |"
echo "| the seal (SET CONSTRAINTS ar.audit_log_seal IMMEDIATE) | $seal_ms |"
echo "| the rest of the commit | $commit_ms |"
echo "| ar.verify_audit_chain() | $verify_ms |"
echo
ratio=$(awk -v p="$plain_ms" -v a="$audited_ms" -v s="$seal_ms" 'BEGIN { printf "%.2f", (a + s) / p }')
echo "the audited insert and its seal: $ratio x the unaudited insert; the seal $(awk -v a="$audited_ms" -v s="$seal_ms" 'BEGIN { printf "%.1f", 100 * s / (a + s) }') % of it"
echo "peak memory of the writing backend (VmHWM): $hwm MB"
bench_summary "audit_seal.sh: audited insert and seal vs the unaudited insert" "$ROWS rows" "$ratio x (seal $seal_ms ms)" \
	"none (issue 17: the seal off the commit's critical path)" "$hwm"
if [ "$valid" = t ]; then
	echo "the audit chain verifies: PASS"
else
	echo "the audit chain verifies: FAIL"
	exit 1
fi
