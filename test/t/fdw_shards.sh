#!/usr/bin/env bash
# Scale-out with postgres_fdw (doc/scale_out.md): two "shard" databases each
# hold the ledger of two companies, written through the ordinary API; a
# "coordinator" database sees them as foreign partitions of one table,
# partitioned by LIST (company_id), over postgres_fdw servers that name
# ar_collect as a shippable extension.  Checks what PostgreSQL 15 pushes down
# (per company: the whole aggregate; across companies: nothing, the rows come
# back), that the results equal those computed inside each shard and on one
# node, and that partial states travel between databases as text.
# Prints TAP; run by tools/test.sh on its cluster (PGHOST, PGPORT, PGUSER set;
# PG_BIN given).  The coordinator also holds the four companies' ledger
# itself: that is the single-node reference.
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
s1=ar_fdw_shard1 s2=ar_fdw_shard2 co=ar_fdw_coord
trap '$PG_BIN/dropdb --if-exists $co; $PG_BIN/dropdb --if-exists $s1; $PG_BIN/dropdb --if-exists $s2' EXIT

echo "1..13"
fresh_databases $s1 $s2 $co || exit 1

# ledger_sql ID...: the ledger of the companies ID, deterministic (fixed
# dates, amounts from the row numbers): 6 customers each, 40 invoices per
# customer issued through the first half of 2026, payments (full, partial,
# late) recorded with ar.record_payment, and a few direct allocations.
ledger_sql() {
	local ids=$(IFS=,; echo "$*")
	cat <<SQL
INSERT INTO ar.company (id, code, name) SELECT id, 'C' || id, 'Company ' || id FROM unnest('{$ids}'::bigint[]) id;
INSERT INTO ar.customer (company_id, code, name)
SELECT co, 'K' || co || '-' || g, 'Customer ' || g FROM unnest('{$ids}'::bigint[]) co, generate_series(1, 6) g;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT co, c.id, 'F' || co || '-' || g || '-' || k, DATE '2026-01-01' + k * 4, DATE '2026-01-31' + k * 4 + (g % 3) * 15,
       round(100 + (k * 37 + co * 11 + g * 7) % 900 + ((k * 13) % 100) / 100.0, 2)
  FROM unnest('{$ids}'::bigint[]) co, generate_series(1, 6) g, generate_series(0, 39) k,
       LATERAL (SELECT id FROM ar.customer WHERE company_id = co AND code = 'K' || co || '-' || g) c;
CREATE TEMP VIEW numbered AS
SELECT i.*, split_part(i.number, '-', 2)::int AS g, split_part(i.number, '-', 3)::int AS k
  FROM ar.invoice i WHERE i.company_id = ANY ('{$ids}'::bigint[]);
-- paid in full, late by a pattern (the patterns use the numbers, not the ids)
SELECT ar.record_payment(number, amount, due_date + ((g + k) % 5) * 9 - 4)
  FROM numbered WHERE (g + k) % 3 = 0 AND due_date + 40 <= DATE '2026-06-30';
-- paid partly
SELECT ar.record_payment(number, round(amount * 0.4, 2), due_date + 10)
  FROM numbered WHERE (g + k) % 3 = 1 AND due_date + 10 <= DATE '2026-06-30';
-- paid after the as_of day (open on 2026-06-30, settled since)
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT company_id, id, open_amount, DATE '2026-07-15', 'manual' FROM numbered WHERE (g * 3 + k) % 7 = 2 AND open_amount > 0;
SQL
}

# The open items on the as_of day 2026-06-30 and the KPI inputs over a 90-day
# period (as ar._kpi_figures derives them), per invoice: what is shipped.
items_sql="
CREATE VIEW public.fdw_items AS
SELECT i.company_id, (SELECT c.code FROM ar.customer c WHERE c.id = i.customer_id) AS customer_code, i.id AS invoice_id, i.amount, i.issue_date, i.due_date,
       i.open_amount + coalesce(a.after_end, 0) AS open_end,
       i.open_amount + coalesce(a.after_start, 0) AS open_start,
       a.written_off,
       -- a text input of the dunning aggregate (a listing problem): a column, since
       -- postgres_fdw ships no aggregate whose collatable input is a local constant
       CASE WHEN i.amount > 990 THEN 'penalty rate unknown' END AS problem,
       CASE WHEN i.open_amount + coalesce(a.after_end, 0) = 0 AND coalesce(a.written_off, 0) = 0 THEN a.last_on END AS settled_on
  FROM ar.invoice i
  LEFT JOIN (SELECT al.invoice_id,
                    sum(al.amount) FILTER (WHERE al.allocated_on > DATE '2026-06-30') AS after_end,
                    sum(al.amount) AS after_start,
                    sum(al.amount) FILTER (WHERE al.method = 'write_off' AND al.allocated_on <= DATE '2026-06-30') AS written_off,
                    max(al.allocated_on) FILTER (WHERE al.allocated_on <= DATE '2026-06-30') AS last_on
               FROM ar.allocation al
              WHERE al.allocated_on > DATE '2026-06-30' - 90
              GROUP BY al.invoice_id) a ON a.invoice_id = i.id
 WHERE i.issue_date <= DATE '2026-06-30';
-- Partial states: ar.aging_partial and ar.receivables_kpis_partial
-- return the state; its text form is what is shipped.
CREATE VIEW public.fdw_partial AS
SELECT ar.aging_partial(open_end, due_date, DATE '2026-06-30')::text AS aging_state,
       ar.receivables_kpis_partial(amount, issue_date, due_date, open_end, open_start, written_off, settled_on, DATE '2026-06-30', 90)::text AS kpi_state
  FROM public.fdw_items;"

for db in $s1 $s2 $co; do q $db "CREATE EXTENSION ar_collect" >/dev/null || exit 1; done
q $s1 "$(ledger_sql 101 102) $items_sql" >/dev/null || exit 1
q $s2 "$(ledger_sql 201 202) $items_sql" >/dev/null || exit 1
q $co "$(ledger_sql 101 102 201 202) $items_sql" >/dev/null || exit 1

# The coordinator: one postgres_fdw server per shard (loopback), the
# partitioned table of open items, and the partial states of each shard.
q $co "
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$PGHOST', port '$PGPORT', dbname '$s1', extensions 'ar_collect', fdw_tuple_cost '0.2');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$PGHOST', port '$PGPORT', dbname '$s2', extensions 'ar_collect', fdw_tuple_cost '0.2');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard1 OPTIONS (user '$PGUSER');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard2 OPTIONS (user '$PGUSER');
CREATE TABLE public.dist_items (company_id bigint NOT NULL, customer_code text, invoice_id bigint, amount numeric,
	issue_date date, due_date date, open_end numeric, open_start numeric, written_off numeric, problem text, settled_on date)
	PARTITION BY LIST (company_id);
CREATE FOREIGN TABLE public.dist_items_s1 PARTITION OF public.dist_items FOR VALUES IN (101, 102)
	SERVER shard1 OPTIONS (schema_name 'public', table_name 'fdw_items');
CREATE FOREIGN TABLE public.dist_items_s2 PARTITION OF public.dist_items FOR VALUES IN (201, 202)
	SERVER shard2 OPTIONS (schema_name 'public', table_name 'fdw_items');
CREATE FOREIGN TABLE public.partial_s1 (aging_state text, kpi_state text)
	SERVER shard1 OPTIONS (schema_name 'public', table_name 'fdw_partial');
CREATE FOREIGN TABLE public.partial_s2 (aging_state text, kpi_state text)
	SERVER shard2 OPTIONS (schema_name 'public', table_name 'fdw_partial');
ALTER DATABASE $co SET enable_partitionwise_aggregate = on;
ANALYZE public.dist_items_s1, public.dist_items_s2;" >/dev/null || exit 1

aging_q="SELECT company_id, ar.aging(open_end, due_date, DATE '2026-06-30') FROM %s GROUP BY company_id ORDER BY company_id"
kpis_q="SELECT company_id, ar.receivables_kpis(amount, issue_date, due_date, open_end, open_start, written_off, settled_on, DATE '2026-06-30', 90) FROM %s GROUP BY company_id ORDER BY company_id"
# a dunning listing's totals per account, on inputs derived from the items
# (CASE, not greatest(): postgres_fdw 15 does not deparse greatest/least)
dunning_q="SELECT company_id, customer_code, ar._dunning_totals(
	CASE WHEN DATE '2026-06-30' - due_date > 60 THEN 2 WHEN DATE '2026-06-30' > due_date THEN 1 ELSE 0 END, open_end,
	round(CASE WHEN DATE '2026-06-30' > due_date THEN open_end * 0.1 * (DATE '2026-06-30' - due_date) / 365 ELSE 0 END, 2),
	CASE WHEN DATE '2026-06-30' > due_date THEN 40 ELSE 0 END,
	round(CASE WHEN DATE '2026-06-30' > due_date THEN open_end * 0.1 * (DATE '2026-06-30' - due_date) / 365 ELSE 0 END, 2), problem)
	FROM %s WHERE open_end > 0 GROUP BY company_id, customer_code ORDER BY company_id, customer_code"
explain() { q $co "EXPLAIN (VERBOSE, COSTS OFF) $1"; }

plan=$(explain "$(printf "$aging_q" public.dist_items)")
echo "$plan" | sed 's/^/# /'
check "ar.aging GROUP BY company_id: pushed down whole to both shards (Remote SQL runs ar.aging)" \
	test "$(echo "$plan" | grep -c 'Remote SQL: SELECT company_id, ar.aging(')" = 2 -a \
	     "$(echo "$plan" | grep -c 'Relations: Aggregate on')" = 2
plan=$(explain "$(printf "$kpis_q" public.dist_items)")
check "ar.receivables_kpis GROUP BY company_id: pushed down whole to both shards" \
	test "$(echo "$plan" | grep -c 'Remote SQL: SELECT company_id, ar.receivables_kpis(')" = 2
plan=$(explain "$(printf "$dunning_q" public.dist_items)")
check "ar._dunning_totals GROUP BY company_id, customer: pushed down whole to both shards" \
	test "$(echo "$plan" | grep -c 'Remote SQL: SELECT company_id, customer_code, ar._dunning_totals(')" = 2

for what in aging kpis dunning; do
	eval "sql=\$${what}_q"
	dist=$(q $co "$(printf "$sql" public.dist_items)")
	direct=$( { q $s1 "$(printf "$sql" public.fdw_items)"; q $s2 "$(printf "$sql" public.fdw_items)"; } )
	single=$(q $co "$(printf "$sql" public.fdw_items)")
	check "$what per company through the fdw equals the shards' own results and the single node's" \
		test -n "$dist" -a "$dist" = "$direct" -a "$dist" = "$single"
done
echo "# aging per company through the fdw:"; q $co "$(printf "$aging_q" public.dist_items)" | sed 's/^/#   /'

# independent of ar.aging: the buckets as plain sums in the shards
plain="SELECT company_id, '(' || concat_ws(',',
	sum(open_end) FILTER (WHERE DATE '2026-06-30' - due_date <= 0),
	sum(open_end) FILTER (WHERE DATE '2026-06-30' - due_date BETWEEN 1 AND 30),
	sum(open_end) FILTER (WHERE DATE '2026-06-30' - due_date BETWEEN 31 AND 60),
	sum(open_end) FILTER (WHERE DATE '2026-06-30' - due_date BETWEEN 61 AND 90),
	sum(open_end) FILTER (WHERE DATE '2026-06-30' - due_date > 90), sum(open_end)) || ')'
	FROM public.fdw_items GROUP BY company_id ORDER BY company_id"
check "the pushed-down buckets equal plain sums of the open items (partly paid and overdue ones among them)" \
	test "$(q $co "$(printf "$aging_q" public.dist_items)")" = "$( { q $s1 "$plain"; q $s2 "$plain"; } )" -a \
	     "$(q $co "SELECT count(*) FILTER (WHERE open_end > 0 AND open_end < amount) > 0 AND count(*) FILTER (WHERE open_end > 0 AND due_date < DATE '2026-06-30' - 90) > 0 FROM public.fdw_items")" = t

# Across companies (no GROUP BY the partition key): PostgreSQL 15 cannot push
# a partial aggregate to a foreign server; the rows are fetched.
total_aging="SELECT ar.aging(open_end, due_date, DATE '2026-06-30') FROM %s"
total_kpis="SELECT ar.receivables_kpis(amount, issue_date, due_date, open_end, open_start, written_off, settled_on, DATE '2026-06-30', 90) FROM %s"
plan=$(explain "$(printf "$total_aging" public.dist_items)")
echo "$plan" | sed 's/^/# /'
check "ar.aging across companies: aggregated on the coordinator over the shards' rows (PostgreSQL 15 ships no partial aggregate)" \
	eval 'echo "$plan" | head -1 | grep -q "Aggregate" && [ "$(echo "$plan" | grep -c "Remote SQL: SELECT [a-z_, ]* FROM public.fdw_items$")" = 2 ] && ! echo "$plan" | grep -q "Remote SQL:.*ar\.aging"'
check "ar.aging and ar.receivables_kpis across companies equal the single node's" \
	test "$(q $co "$(printf "$total_aging" public.dist_items)")" = "$(q $co "$(printf "$total_aging" public.fdw_items)")" -a \
	     "$(q $co "$(printf "$total_kpis" public.dist_items)")" = "$(q $co "$(printf "$total_kpis" public.fdw_items)")"

# Partial states as text: each shard computes its state, it crosses the fdw
# as text, the coordinator combines and finalizes.
plan=$(explain "SELECT aging_state FROM public.partial_s1")
check "a shard's partial state is computed on the shard and fetched as text" \
	eval 'echo "$plan" | grep -q "Remote SQL: SELECT aging_state FROM public.fdw_partial"'
echo "# shard1's aging state as shipped: $(q $co "SELECT aging_state FROM public.partial_s1")"
merged_aging=$(q $co "SELECT ar.aging_merge(aging_state::ar.aging_state)
	FROM (SELECT aging_state FROM public.partial_s1 UNION ALL SELECT aging_state FROM public.partial_s2) s")
merged_kpis=$(q $co "SELECT ar.receivables_kpis_merge(kpi_state::ar.kpi_state)
	FROM (SELECT kpi_state FROM public.partial_s1 UNION ALL SELECT kpi_state FROM public.partial_s2) s")
check "aging: shards' text states merged by ar.aging_merge equal the single node's" \
	test -n "$merged_aging" -a "$merged_aging" = "$(q $co "$(printf "$total_aging" public.fdw_items)")"
check "KPIs: shards' text states merged by ar.receivables_kpis_merge equal the single node's" \
	test -n "$merged_kpis" -a "$merged_kpis" = "$(q $co "$(printf "$total_kpis" public.fdw_items)")"
echo "# total aging, combined from the shards' states: $merged_aging"
# the combination is not the trivial one: each shard's own total differs from the whole
check "each shard holds a different, non-empty part of the total" \
	test "$(q $co "SELECT count(DISTINCT aging_state) FROM (SELECT aging_state FROM public.partial_s1 UNION ALL SELECT aging_state FROM public.partial_s2) s")" = 2 -a \
	     "$(q $co "SELECT ar.aging_final(aging_state::ar.aging_state) FROM public.partial_s1")" != "$merged_aging"
