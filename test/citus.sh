#!/usr/bin/env bash
# ar_collect's aggregates on Citus (doc/scale_out.md): starts a coordinator
# and two workers of its own (citus and ar_collect preloaded), checks that
# CREATE EXTENSION ar_collect reaches the workers, distributes a table of
# invoice-like rows by company_id over them, and checks what runs where:
# GROUP BY company_id is pushed down whole to the workers; a total across
# companies runs a partial aggregate on the workers, shipped as the state's
# text, combined on the coordinator.  Every result equals the same aggregate
# over a local copy of the rows on the coordinator.
# Prints TAP, or "1..0 # SKIP citus is not installed" when the PostgreSQL
# tree has no citus.so (tools/test.sh runs it either way).  Needs the ports
# AR_CITUS_PORT (default 55710) to AR_CITUS_PORT + 2, on localhost.
# Run alone:  AR_PG_BIN=/path/to/pg15/bin bash test/citus.sh
set -uo pipefail
source "$(dirname "$0")/../tools/lib.sh"
if [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
	echo "1..0 # SKIP citus is not installed"
	exit 0
fi
BASE=${AR_CITUS_PORT:-55710}
PLAN=20
WORK=$(mktemp -d /tmp/ar_citus.XXXXXX)
chmod 755 "$WORK"
trap 'for i in 0 1 2; do cluster_stop "$WORK/node$i"; done; rm -rf "$WORK"' EXIT

n=0
check() {	# check DESCRIPTION COMMAND...
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}
qn() {	# qn NODE SQL: on node 0 (coordinator), 1 or 2 (workers), database postgres
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $((BASE + $1)) -U postgres -d postgres -c "$2"
}

echo "1..$PLAN"
for i in 0 1 2; do
	cluster_start "$WORK/node$i" $((BASE + i)) "listen_addresses = 'localhost'" \
		"shared_preload_libraries = 'citus,ar_collect'" "max_connections = 60" "ar_collect.naptime = 1" \
		|| { cat "$WORK/node$i/server.log" >&2; exit 1; }
	qn $i "CREATE EXTENSION citus" >/dev/null || exit 1
done
qn 0 "SELECT citus_set_coordinator_host('localhost', $BASE);
      SELECT citus_add_node('localhost', $((BASE + 1))); SELECT citus_add_node('localhost', $((BASE + 2)))" >/dev/null || exit 1
echo "# $(qn 0 "SELECT 'citus ' || extversion FROM pg_extension WHERE extname = 'citus'") on $(qn 0 "SHOW server_version"), workers: $(qn 0 "SELECT string_agg(nodename || ':' || nodeport, ', ' ORDER BY nodeport) FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0")"

qn 0 "CREATE EXTENSION ar_collect" >/dev/null
v0=$(qn 0 "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'")
check "CREATE EXTENSION ar_collect on the coordinator creates it on both workers ($v0)" \
	test -n "$v0" -a "$(qn 1 "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'")" = "$v0" \
	     -a "$(qn 2 "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'")" = "$v0"

# The background worker: the coordinator's serves the cluster; a worker
# node's (preloaded too, and the extension is there) must not run the same
# dunning and reconciliation a second time.
wait_for_log() {	# wait_for_log NODE TEXT: up to 60 s for TEXT in the node's server log
	local deadline=$((SECONDS + 60))
	until grep -q "$2" "$WORK/node$1/server.log"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}
check "ar._on_citus_worker_node(): false on the coordinator, true on both workers" \
	test "$(qn 0 "SELECT ar._on_citus_worker_node()") $(qn 1 "SELECT ar._on_citus_worker_node()") $(qn 2 "SELECT ar._on_citus_worker_node()")" = "f t t"
wait_for_log 0 'ar_collect worker: serving database "postgres"'; coordinator_log=$?
wait_for_log 1 'is on a Citus worker node'; node1_log=$?
wait_for_log 2 'is on a Citus worker node'; node2_log=$?
check "the background worker serves the coordinator only: the workers' wait, their ar.worker_state empty" \
	test "$coordinator_log $node1_log $node2_log" = "0 0 0" -a "$(qn 0 "SELECT count(*) FROM ar.worker_state")" = 1 \
	     -a "$(qn 1 "SELECT count(*) FROM ar.worker_state")" = 0 -a "$(qn 2 "SELECT count(*) FROM ar.worker_state")" = 0

# Invoice-like rows of 40 companies (the ledger tables themselves cannot be
# distributed yet: doc/scale_out.md), deterministic, and a local copy.
qn 0 "
CREATE TABLE public.items (company_id bigint NOT NULL, invoice_id bigint NOT NULL, amount numeric NOT NULL,
	issue_date date NOT NULL, due_date date NOT NULL, open_end numeric, open_start numeric,
	written_off numeric, settled_on date);
SELECT create_distributed_table('public.items', 'company_id', shard_count => 8);
INSERT INTO public.items
SELECT co, co * 1000 + k, a, DATE '2026-01-01' + k % 170, DATE '2026-01-31' + k % 170 + (k % 3) * 15, o,
       CASE WHEN k % 4 = 0 THEN a ELSE o END, CASE WHEN k % 29 = 0 THEN o END,
       CASE WHEN o = 0 THEN DATE '2026-02-15' + k % 130 END
  FROM generate_series(1, 40) co, generate_series(1, 250) k,
       LATERAL (SELECT round(50 + (k * 37 + co * 11) % 950 + ((k * 13) % 100) / 100.0, 2) AS a) x,
       LATERAL (SELECT CASE k % 3 WHEN 0 THEN 0 WHEN 1 THEN round(x.a * 0.6, 2) ELSE x.a END AS o) y;
CREATE TABLE public.items_local AS SELECT * FROM public.items;" >/dev/null || exit 1
check "the rows are spread over both workers" \
	test "$(qn 0 "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'public.items'::regclass")" = 2 \
	     -a "$(qn 0 "SELECT count(*) FROM public.items_local")" = 10000

aging="ar.aging(open_end, due_date, DATE '2026-06-30')"
kpis="ar.receivables_kpis(amount, issue_date, due_date, open_end, open_start, written_off, settled_on, DATE '2026-06-30', 90)"
explain() { qn 0 "EXPLAIN (VERBOSE, COSTS OFF) $1"; }

plan=$(explain "SELECT company_id, $aging FROM public.items GROUP BY company_id")
echo "$plan" | sed 's/^/# /'
check "ar.aging GROUP BY company_id: pushed down whole, each worker runs ar.aging per company, no aggregate on the coordinator" \
	eval 'echo "$plan" | head -1 | grep -q "Custom Scan (Citus Adaptive)" && echo "$plan" | grep -q "Query: SELECT company_id, ar.aging(.*GROUP BY company_id" && ! echo "$plan" | grep -q "coord_combine_agg"'
plan=$(explain "SELECT company_id, $kpis FROM public.items GROUP BY company_id")
check "ar.receivables_kpis GROUP BY company_id: pushed down whole" \
	eval 'echo "$plan" | head -1 | grep -q "Custom Scan (Citus Adaptive)" && echo "$plan" | grep -q "Query: SELECT company_id, ar.receivables_kpis(.*GROUP BY company_id"'
for agg in aging kpis; do
	eval "a=\$$agg"
	dist=$(qn 0 "SELECT company_id, $a FROM public.items GROUP BY company_id ORDER BY company_id")
	check "$agg per company on the workers equals the local computation (40 companies)" \
		test "$(echo "$dist" | wc -l)" = 40 -a "$dist" = "$(qn 0 "SELECT company_id, $a FROM public.items_local GROUP BY company_id ORDER BY company_id")"
done

plan=$(explain "SELECT $aging FROM public.items")
echo "$plan" | sed 's/^/# /'
check "ar.aging across companies: partial aggregate on the workers, combined on the coordinator" \
	eval 'echo "$plan" | grep -q "worker_partial_agg" && echo "$plan" | grep -q "coord_combine_agg"'
total_dist=$(qn 0 "SELECT $aging, $kpis FROM public.items")
total_local=$(qn 0 "SELECT $aging, $kpis FROM public.items_local")
echo "# total aging and KPIs, combined from the workers: $total_dist"
check "ar.aging and ar.receivables_kpis across companies equal the local computation" \
	test -n "$total_dist" -a "$total_dist" = "$total_local"
# independent of ar.aging: the total open amount as a plain sum
check "the combined aging total equals the plain sum of the open amounts" \
	test "$(qn 0 "SELECT ($aging).total FROM public.items")" = "$(qn 0 "SELECT sum(open_end) FROM public.items_local")"

# ---------------------------------------------------------------------------
# The ledger distributed, blocker by blocker (doc/scale_out.md, "Distributing
# the ledger on Citus"): what a distributed install does so far, by hand.
# The foreign keys between ar tables are dropped first (a reference table
# referenced by local tables would turn them into Citus local tables,
# recreating the extension's identity sequences); the summary triggers are
# off (a blocker still open).
qn 0 "
SET citus.enable_unsafe_triggers = on;
DO \$\$ DECLARE r record; BEGIN
	FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'ar'::regnamespace LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
	END LOOP; END \$\$;
ALTER TABLE ar.invoice DISABLE TRIGGER invoice_summary_insert, DISABLE TRIGGER invoice_summary_update, DISABLE TRIGGER invoice_summary_delete,
	DISABLE TRIGGER invoice_kpi_summary_insert, DISABLE TRIGGER invoice_kpi_summary_update, DISABLE TRIGGER invoice_kpi_summary_delete;
ALTER TABLE ar.allocation DISABLE TRIGGER allocation_kpi_summary_insert, DISABLE TRIGGER allocation_kpi_summary_delete;
" >/dev/null || exit 1
# the memberships are read on the workers, inside the shard queries (the
# policies): ar._access() reads the reference tables there
for i in 0 1 2; do
	qn $i "ALTER FUNCTION ar._access() SET citus.allow_nested_distributed_execution = on" >/dev/null || exit 1
done
out=$(qn 0 "
SET citus.enable_unsafe_triggers = on;
SELECT create_reference_table('ar.company');
SELECT create_reference_table('ar.company_member');
SELECT create_reference_table('ar.rate_series');
SELECT create_reference_table('ar.reference_rate');
SELECT create_reference_table('ar.penalty_regime');
SELECT create_reference_table('ar.penalty_regime_fee');
SELECT create_distributed_table('ar.customer', 'company_id', shard_count => 8);
SELECT create_distributed_table('ar.invoice', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.allocation', 'company_id', colocate_with => 'ar.customer');
SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'ar.%';" 2>&1)
echo "$out" | tail -1 | sed 's/^/# /'
check "the ledger tables are distributed with their row-level security (no subquery in a policy: ar._company_visible)" \
	test "$(echo "$out" | tail -1)" = "ar.allocation:h ar.company:n ar.company_member:n ar.customer:h ar.invoice:h ar.penalty_regime:n ar.penalty_regime_fee:n ar.rate_series:n ar.reference_rate:n"

# The guard of the shipped rules is on: Citus's copies into the shards (as
# the superuser distributing them) went through, a role that may write the
# rule tables is refused a shipped row, through the table or in a shard
shipped="SELECT count(*), md5(string_agg(regime || margin || coalesce(rate_series, ''), ',' ORDER BY regime)) FROM ar.penalty_regime WHERE shipped"
guards=$(qn 0 "SELECT count(*) FROM pg_trigger WHERE NOT tgenabled = 'D' AND tgname LIKE '%shipped_guard'")
ref0=$(qn 0 "$shipped")
shard=$(qn 0 "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'ar.penalty_regime'::regclass")
ref1=$(qn 1 "SET citus.override_table_visibility = off; ${shipped/ar.penalty_regime /ar.penalty_regime_$shard }")
ref2=$(qn 2 "SET citus.override_table_visibility = off; ${shipped/ar.penalty_regime /ar.penalty_regime_$shard }")
echo "# shipped regimes: coordinator $ref0, shards on the workers $ref1, $ref2"
qn 0 "CREATE ROLE rule_admin LOGIN IN ROLE ar_admin" >/dev/null
through=$(qn 0 "SET ROLE rule_admin; INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, shipped) VALUES ('X_FAKE', 'x', 'x', 'FR', 'EUR', true)" 2>&1)
direct=$($PG_BIN/psql -X -q -t -A -h localhost -p $((BASE + 1)) -U rule_admin -d postgres \
	-c "SET application_name = 'citus_internal gpid=10000000001'; UPDATE ar.penalty_regime_$shard SET margin = 0 WHERE regime = 'FR_LME'" 2>&1)
echo "# rule_admin: $through / $direct" | head -2
check "the rule tables are reference tables with their shipped-row guard on: the shipped rows copied to both workers, a role of ar_admin refused a shipped row through the table and in the shard" \
	test "$guards" -ge 4 -a "${ref0%%|*}" -gt 0 -a "$ref0" = "$ref1" -a "$ref0" = "$ref2" \
	     -a -n "$(echo "$through" | grep "with shipped = true come with ar_collect only")" \
	     -a -n "$(echo "$direct" | grep "is shipped with ar_collect and cannot be changed")" \
	     -a "$(qn 0 "SELECT count(*) FROM ar.penalty_regime WHERE regime = 'X_FAKE'")" = 0

# two companies, a reader of one; what it reads on the distributed ledger
# equals what the owner reads of that company
ledger_data="
INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE VALUES (11, 'K', 'Company K'), (12, 'L', 'Company L');
INSERT INTO ar.customer (id, company_id, code, name) OVERRIDING SYSTEM VALUE
SELECT co * 100 + k, co, 'C' || k, 'Customer ' || k FROM generate_series(11, 12) co, generate_series(1, 5) k;
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount) OVERRIDING SYSTEM VALUE
SELECT co * 10000 + k, co, co * 100 + 1 + k % 5, 'F-' || k, DATE '2026-01-01' + k, DATE '2026-01-31' + k, 100 + k * co
  FROM generate_series(11, 12) co, generate_series(1, 40) k;
INSERT INTO ar.company_member (company_id, member, access) VALUES (11, 'k_reader', 'reader');"
qn 0 "CREATE ROLE k_reader LOGIN IN ROLE ar_reader; $ledger_data" >/dev/null || exit 1
as_reader=$(qn 0 "SET ROLE k_reader; SELECT count(*), sum(amount), string_agg(DISTINCT company_id::text, ',') FROM ar.invoice" 2>&1)
as_owner=$(qn 0 "SELECT count(*), sum(amount), string_agg(DISTINCT company_id::text, ',') FROM ar.invoice WHERE company_id = 11")
echo "# k_reader reads: $as_reader"
check "a reader of one company reads its invoices only on the distributed ledger (the policy evaluated on the workers)" \
	test "$as_reader" = "$as_owner" -a "$as_owner" = "40|13020|11"

# What a company reads on the distributed ledger equals one node's: the
# same rows in a database of the coordinator where Citus is not created
# (ar_single: every key and trigger as installed), read by the owner and by
# the reader of one company, through the tables (row-level security on the
# workers) and the aggregates.  (The read functions written in SQL do not
# work yet: doc/scale_out.md.)
qn 0 "CREATE DATABASE ar_single" >/dev/null 2>&1 || exit 1
qs() { $PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $BASE -U postgres -d ar_single -c "$1"; }
qs "CREATE EXTENSION ar_collect; $ledger_data" >/dev/null || exit 1
reads="SELECT i.company_id, count(*), sum(i.amount), ar.aging(i.open_amount, i.due_date, DATE '2026-03-01'), count(DISTINCT c.id)
         FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
        GROUP BY i.company_id ORDER BY i.company_id"
dist=$(qn 0 "$reads" 2>&1; qn 0 "SET ROLE k_reader; $reads" 2>&1)
single=$(qs "$reads" 2>&1; qs "SET ROLE k_reader; $reads" 2>&1)
echo "$dist" | sed 's/^/# distributed: /'
check "per company (invoices joined with their customers, ar.aging): the distributed ledger equals one node's, for the owner and for a reader of one company" \
	test "$dist" = "$single" -a "$(echo "$dist" | wc -l)" = 3

# The definer role: the SECURITY DEFINER functions run as ar_definer, and
# Citus opens its connections to the workers as the current role.  NOLOGIN
# (and CONNECTION LIMIT 0) on one node, it must log in between the nodes
# of a distributed install (here trust on localhost; in production pg_hba
# limits it to the nodes' addresses, with its password in pg_dist_authinfo:
# doc/scale_out.md).  Then ar.grant_company_access writes the membership
# into the reference table on every node, and the reader reads that company.
refused=$(qn 0 "SELECT ar.grant_company_access('k_reader', 'L', 'reader')" 2>&1)
qn 0 "ALTER ROLE ar_definer LOGIN CONNECTION LIMIT -1" >/dev/null || exit 1
granted=$(qn 0 "SELECT ar.grant_company_access('k_reader', 'L', 'reader')" 2>&1)
members=$(for i in 0 1 2; do qn $i "SET citus.override_table_visibility = off; SELECT string_agg(company_id::text, ',' ORDER BY company_id) FROM ar.company_member_$(qn 0 "SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'ar.company_member'::regclass") WHERE member = 'k_reader'::regrole"; done | tr '\n' ' ')
now_reads=$(qn 0 "SET ROLE k_reader; SELECT string_agg(company_id || ':' || n, ',' ORDER BY company_id) FROM (SELECT company_id, count(*) n FROM ar.invoice GROUP BY 1) x")
echo "# NOLOGIN: $(echo "$refused" | head -1)"
echo "# ar_definer LOGIN between the nodes: memberships of k_reader on each node: $members; it reads $now_reads"
check "ar.grant_company_access needs ar_definer to log in between the nodes; then the membership reaches every node and the reader reads the company granted" \
	test -n "$(echo "$refused" | grep 'role "ar_definer" is not permitted to log in')" -a -z "$granted" \
	     -a "$members" = "11,12 11,12 11,12 " -a "$now_reads" = "11:40,12:40"

# ar.distribute() on Citus refuses, before changing anything, while the
# blockers that lose writes remain (doc/scale_out.md)
before=$(qn 0 "SELECT string_agg(logicalrelid::text, ',' ORDER BY 1) FROM pg_dist_partition")
refusal=$($PG_BIN/psql -X -q -t -A -v VERBOSITY=verbose -h localhost -p $BASE -U postgres -d postgres -c "SELECT ar.distribute(8)" 2>&1)
echo "$refusal" | head -2 | sed 's/^/# /'
check "ar.distribute() on Citus refuses (0A000, the blockers in its detail) and changes nothing" \
	test -n "$(echo "$refusal" | grep '0A000: ar_collect .* cannot distribute its ledger safely yet')" \
	     -a -n "$(echo "$refusal" | grep 'summary triggers would lose the rows')" \
	     -a "$(qn 0 "SELECT string_agg(logicalrelid::text, ',' ORDER BY 1) FROM pg_dist_partition")" = "$before"

# Row locks routed per company (blocker 5): every row lock ar_collect takes
# names one company (company_id = c AND id = ...), which Citus routes to
# that company's shard.  The allocation trigger runs on the shard and locks
# the invoices, bank lines and customer credits there: ar.bank_transaction
# and ar.customer_credit are distributed too, co-located (on the
# coordinator alone the trigger on a worker would not see them).  Off, as
# the summary triggers: the dunning effectiveness summary's (blocker 6) and
# the e-invoicing outbox's (it writes a coordinator table from the shard).
qm() {	# qm NODE DATABASE SQL...: one session, each statement its own transaction
	local node=$1 db=$2; shift 2
	local args=()
	for s in "$@"; do args+=(-c "$s"); done
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $((BASE + node)) -U postgres -d $db "${args[@]}"
}
qm 0 postgres "SET citus.enable_unsafe_triggers = on" \
	"SELECT create_distributed_table('ar.bank_transaction', 'company_id', colocate_with => 'ar.customer')" \
	"SELECT create_distributed_table('ar.customer_credit', 'company_id', colocate_with => 'ar.customer')" \
	"ALTER TABLE ar.allocation DISABLE TRIGGER allocation_effect_insert" "ALTER TABLE ar.allocation DISABLE TRIGGER allocation_effect_delete" \
	"ALTER TABLE ar.allocation DISABLE TRIGGER allocation_einvoice_paid" "ALTER TABLE ar.allocation DISABLE TRIGGER allocation_einvoice_reversed" \
	>/dev/null || exit 1
qs "ALTER TABLE ar.allocation DISABLE TRIGGER allocation_effect_insert, DISABLE TRIGGER allocation_effect_delete,
	DISABLE TRIGGER allocation_einvoice_paid, DISABLE TRIGGER allocation_einvoice_reversed" >/dev/null || exit 1
# the same writes on the distributed ledger and on one node (ar_single): a
# credit note and a bank line of company K, a collector of K
write_data="
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount) OVERRIDING SYSTEM VALUE
VALUES (119001, 11, 1102, 'AV-1', DATE '2026-02-01', DATE '2026-02-01', -30);
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount) OVERRIDING SYSTEM VALUE VALUES (7001, 11, DATE '2026-03-01', 150);
INSERT INTO ar.company_member (company_id, member, access) VALUES (11, 'k_collector', 'collector');"
qn 0 "CREATE ROLE k_collector LOGIN IN ROLE ar_collector" >/dev/null || exit 1
qn 0 "$write_data" >/dev/null || exit 1
qs "$write_data" >/dev/null || exit 1
allocations="INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method)
VALUES (11, 110001, NULL, 10, DATE '2026-03-01', 'manual'), (11, 110002, 7001, 20, DATE '2026-03-01', 'manual'),
       (11, 110001, 7001, 5, DATE '2026-03-02', 'manual'), (11, 110009, 7001, 100, DATE '2026-03-02', 'manual')"
too_much="INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
VALUES (11, 110003, 1, DATE '2026-03-01', 'manual'), (11, 110004, 100000, DATE '2026-03-01', 'manual')"
# (the errors compared without their context: on Citus it names the worker)
dist=$(qn 0 "$allocations" 2>&1; qn 0 "$too_much" 2>&1 | grep -v '^CONTEXT:\|^while executing')
single=$(qs "$allocations" 2>&1; qs "$too_much" 2>&1 | grep -v '^CONTEXT:\|^while executing')
echo "$dist" | sed 's/^/# distributed: /'
check "allocations of one company inserted into the distributed ar.allocation: the trigger locks the invoices and the bank line on the company's shard (routed), and refuses an over-allocation as one node does" \
	test "$dist" = "$single" -a -n "$(echo "$dist" | grep 'allocation of 100000 exceeds the open amount 144 of invoice F-4')"

# the public write functions, by the collector of K (write-offs need an
# admin: the owner), then a DELETE of allocations (the trigger in reverse)
# (each statement its own transaction: on Citus a transaction cannot write
# a shard as the owner after ar_definer, the functions' role, wrote it)
writes=("SET ROLE k_collector"
	"SELECT ar.record_payment('F-3', 50, DATE '2026-03-02')"
	"SELECT ar.record_payment('F-5', 1000, DATE '2026-03-02')"
	"SELECT count(*) FROM ar.apply_customer_credit(1101, DATE '2026-03-04')"
	"SELECT ar.apply_credit_note(119001, 110006, 10, DATE '2026-03-03')"
	"SELECT count(*) FROM ar.apply_open_credits(1102, DATE '2026-03-04')"
	"SELECT ar.open_dispute(110007, 'quality', DATE '2026-03-01') > 0"
	"SELECT ar.resolve_dispute(110007, 'settled', DATE '2026-03-05') > 0"
	"SELECT ar.create_payment_plan(1104, ARRAY[110008]::bigint[], ARRAY[DATE '2026-04-01', DATE '2026-05-01']) > 0"
	"SELECT 1 FROM (SELECT ar.cancel_payment_plan(max(id), 'renegotiated', DATE '2026-03-06') FROM ar.payment_plan) x"
	"RESET ROLE"
	"SELECT ar.write_off_invoice(110012, 'lost', DATE '2026-03-07') > 0"
	"DELETE FROM ar.allocation WHERE company_id = 11 AND invoice_id = 110002")
dist=$(qm 0 postgres "${writes[@]}" 2>&1)
single=$(qm 0 ar_single "${writes[@]}" 2>&1)
echo "# distributed:" $dist
check "ar.record_payment, ar.apply_customer_credit, ar.apply_credit_note, ar.apply_open_credits, disputes, payment plans, ar.write_off_invoice and a DELETE of allocations work on the distributed ledger for one company, returning what one node returns" \
	test "$dist" = "$single" -a "$(echo "$dist" | wc -l)" = 10 -a -z "$(echo "$dist" | grep -i error)"
state="SELECT string_agg(format('%s:%s:%s:%s:%s', id, open_amount, written_off_amount, last_allocated_on, disputed), ' ' ORDER BY id)
         FROM ar.invoice WHERE company_id = 11;
       SELECT string_agg(format('%s:%s:%s', customer_id, amount, remaining), ' ' ORDER BY customer_id, amount) FROM ar.customer_credit;
       SELECT string_agg(format('%s:%s', id, allocated_amount), ' ' ORDER BY id) FROM ar.bank_transaction;
       SELECT count(*), sum(amount) FROM ar.allocation WHERE company_id = 11"
dist=$(qn 0 "$state" 2>&1)
single=$(qs "$state" 2>&1)
echo "$dist" | tail -3 | sed 's/^/# distributed: /'
check "after those writes the company's invoices (open, written off, last allocation, dispute), customer credits and bank line equal one node's" \
	test "$dist" = "$single" -a "$(echo "$dist" | wc -l)" = 4 -a -n "$(echo "$dist" | grep '^110001:')"
