#!/usr/bin/env bash
# bench/policies.sh [INVOICES] -- what the row-level security policies cost
# a reader, as a function call (ar._company_visible, 0.2.0) and as the
# subquery they were before (company_id = ANY ((SELECT ar._company_ids(level))::bigint[])).
#
# Builds and installs ar_collect, starts a throwaway cluster (stopped and
# removed on exit), loads INVOICES invoices (default 1,000,000) of two
# companies (half each; ar_collect.restoring on: no audit), VACUUM
# ANALYZE, and a login role reading one company.  Then, for parallel
# workers off (0) and on (2), ROUNDS times (default 3): the policies of
# ar.invoice (company_read and company_write, both applying to a SELECT) set
# to one form, SELECT count(*) FROM ar.invoice run three times as the
# reader, the median kept; then the other form.  Reports each round's
# times and the median ratio function / subquery, checks that both forms
# count the same rows (the reader's company: INVOICES / 2), and the peak
# memory of a fresh reader session counting once with the function
# (VmHWM).  Target: the function costs no more than the subquery (<= 1 x).
#
# Environment: AR_BENCH_PORT (default 55443), AR_BENCH_ROUNDS (default 3),
# AR_BENCH_NO_BUILD=1 to use the installed extension as it is.
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-1000000}
PORT=${AR_BENCH_PORT:-55443}
ROUNDS=${AR_BENCH_ROUNDS:-3}
bench_prepare policies
cluster_start "$WORK/cluster" "$PORT" "shared_buffers = '512MB'" || { cat "$WORK/cluster/server.log" >&2; exit 1; }
P="$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d postgres"
PER_CUSTOMER=1000
$P <<SQL
CREATE EXTENSION ar_collect;
INSERT INTO ar.company (code, name) VALUES ('B', 'B');
INSERT INTO ar.customer (company_id, code, name)
SELECT c.id, c.code || g, 'x' FROM ar.company c, generate_series(1, ($INVOICES / 2 + $PER_CUSTOMER - 1) / $PER_CUSTOMER) g;
SET ar_collect.restoring = on;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, 'N' || cu.id || '-' || g, DATE '2026-01-01' + g % 300, DATE '2026-02-01' + g % 300, 100 + g % 1000
  FROM ar.customer cu, generate_series(1, $PER_CUSTOMER) g
 LIMIT $INVOICES;
VACUUM ANALYZE ar.invoice;
CREATE ROLE bench_reader LOGIN IN ROLE ar_reader;
GRANT pg_read_server_files TO bench_reader;  -- its peak memory, from /proc (throwaway cluster)
GRANT EXECUTE ON FUNCTION pg_read_file(text) TO bench_reader;
SELECT ar.grant_company_access('bench_reader', 'B', 'reader');
SQL
expected=$($P -At -c "SELECT count(*) FROM ar.invoice WHERE company_id = (SELECT id FROM ar.company WHERE code = 'B')")
echo "invoices: $($P -At -c 'SELECT count(*) FROM ar.invoice'), of the reader's company: $expected"
subquery_r="company_id = ANY ((SELECT ar._company_ids('reader'))::bigint[])"
subquery_w="company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[])"
function_r="ar._company_visible(company_id, 'reader')"
function_w="ar._company_visible(company_id, 'admin')"
q="SELECT count(*) FROM ar.invoice"
status=0
ratios=""
for par in 0 2; do
	r=()
	for round in $(seq "$ROUNDS"); do
		for form in subquery function; do
			eval "pr=\$${form}_r pw=\$${form}_w"
			$P -c "ALTER POLICY company_read ON ar.invoice USING ($pr)" \
			   -c "ALTER POLICY company_write ON ar.invoice USING ($pw) WITH CHECK ($pw)"
			out=$($PG_BIN/psql -X -q -At -d postgres -U bench_reader \
				-c "SET max_parallel_workers_per_gather = $par" -c '\timing on' -c "$q" -c "$q" -c "$q")
			count=$(echo "$out" | grep -E '^[0-9]+$' | sort -u)
			[ "$count" = "$expected" ] || { echo "$form counted $count, not $expected: FAIL"; status=1; }
			eval "t_$form=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n | sed -n 2p)"
		done
		ratio=$(echo "scale=2; $t_function / $t_subquery" | bc)
		echo "workers $par, round $round: subquery $t_subquery ms, function $t_function ms (median of 3): $ratio x"
		r+=("$ratio")
	done
	median=$(printf '%s\n' "${r[@]}" | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p")
	echo "workers $par: function / subquery, median of $ROUNDS rounds: $median x"
	ratios="$ratios${ratios:+; }$median x with $par workers"
	[ "$(echo "$median <= 1" | bc)" = 1 ] || { echo "workers $par: the function costs more than the subquery: FAIL"; status=1; }
done
hwm=$($PG_BIN/psql -X -q -At -d postgres -U bench_reader -c '\o /dev/null' -c "$q" -c '\o' -c "$BENCH_HWM_SQL" | tail -1)
echo "peak memory of a fresh reader session counting once (VmHWM, shared buffers touched included): $hwm MB"
bench_summary "\`policies.sh\`: a reader's \`count(*)\` of \`ar.invoice\`, policies calling \`ar._company_visible\` vs the subquery" \
	"$INVOICES invoices, two companies" "$ratios" "<= 1 x" "$hwm"
exit $status
