#!/usr/bin/env bash
# bench/open_set_layout.sh [INVOICES] [PAID] -- what would paying invoices
# cost if the open set lived outside the invoice's row? (issue 17)
#
# Paying an invoice today is a non-HOT UPDATE of ar.invoice: open_amount
# appears in the predicates (and one INCLUDE list) of the partial indexes
# that find the open invoices, so every new row version inserts an entry in
# each index the row satisfies.  This measures, on plain tables shaped like
# ar.invoice (same columns and the same 12 indexes, expression index
# included), the layout the reconcile's write path would need:
#   today   one table, the indexes of src/sql/*.sql
#   split   the invoice table with no index on open_amount (fillfactor
#           AR_BENCH_FILLFACTOR, default 80: room for HOT versions), and the
#           open set as its own table (the open amount beside the columns
#           its readers read, which never change once an invoice is issued)
#           with the indexes that found it: a full payment is a HOT UPDATE
#           of the invoice plus a DELETE from the open set
# The writes: PAID full payments (default 95,000: one reconcile of 100,000
# lines) out of INVOICES (default 500,000), each layout in its own
# transaction rolled back, alternated AR_BENCH_RUNS times (default 5),
# medians.  The reads that the open-set indexes serve: the open invoices of
# every dunning account in (customer, currency, due date) order with what a
# dunning run reads of them (an index-only scan of a covering index in both:
# today's partial one, the open set's whole one).
# Nothing of ar_collect runs here: the extension is not even installed.
#
# Environment: AR_BENCH_PORT (default 55448), AR_BENCH_RUNS (default 5),
# AR_BENCH_FILLFACTOR (default 80).
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-500000}
PAID=${2:-95000}
PORT=${AR_BENCH_PORT:-55448}
RUNS=${AR_BENCH_RUNS:-5}
FILLFACTOR=${AR_BENCH_FILLFACTOR:-80}
[[ "$INVOICES" =~ ^[0-9]+$ && "$PAID" =~ ^[0-9]+$ && "$PAID" -le $((INVOICES / 2)) ]] \
	|| { echo "usage: $0 [INVOICES] [PAID <= INVOICES/2]" >&2; exit 2; }

AR_BENCH_NO_BUILD=1 bench_prepare open_set_layout
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '1GB'" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $INVOICES invoices in both layouts"
sql <<EOF
SET max_parallel_workers_per_gather = 0;
-- ar.reference_key's shape: an expression index costs a call per new version
CREATE FUNCTION reference_key(t text) RETURNS text IMMUTABLE LANGUAGE sql
AS \$\$ SELECT upper(regexp_replace(t, '[^A-Za-z0-9]', '', 'g')) \$\$;
CREATE TABLE today (
	id bigint, company_id bigint, customer_id bigint, number text, issue_date date, due_date date,
	currency text, amount numeric, open_amount numeric, written_off_amount numeric, status text,
	payment_reference text, cancelled_on date, penalty_regime text, penalty_rate numeric,
	last_allocated_on date, last_write_off_on date, created_at timestamptz,
	PRIMARY KEY (id, company_id), UNIQUE (company_id, number), UNIQUE (company_id, id));
-- half the invoices open (the open ones are those a reconcile pays)
INSERT INTO today
SELECT g, 1 + g % 50, g % 20000, 'INV-' || lpad(g::text, 9, '0'), DATE '2026-01-01' + g % 300,
       DATE '2026-02-01' + g % 300, 'EUR', 100 + g % 900, CASE WHEN g % 2 = 0 THEN 0 ELSE 100 + g % 900 END,
       0, CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END, 'RF' || g, NULL, NULL, NULL, NULL, NULL, now()
  FROM generate_series(1, $INVOICES) g;
CREATE TABLE split (LIKE today) WITH (fillfactor = $FILLFACTOR);
ALTER TABLE split ADD PRIMARY KEY (id, company_id), ADD UNIQUE (company_id, number), ADD UNIQUE (company_id, id);
INSERT INTO split SELECT * FROM today;
-- what the readers of the open set read, the invoice's columns that never
-- change once issued copied beside the open amount
CREATE TABLE split_open (
	invoice_id bigint, company_id bigint, customer_id bigint, currency text, due_date date, issue_date date,
	number text, amount numeric, open_amount numeric, cancelled_on date, penalty_regime text, penalty_rate numeric,
	PRIMARY KEY (invoice_id, company_id));
INSERT INTO split_open
SELECT id, company_id, customer_id, currency, due_date, issue_date, number, amount, open_amount, cancelled_on,
       penalty_regime, penalty_rate
  FROM split WHERE open_amount <> 0;

-- the indexes of ar.invoice (30_ledger, 50_payments, 72_reconcile, 80_dunning_5_run,
-- 80_dunning_9_grants, 86_dashboard_summary)
CREATE INDEX ON today (customer_id, due_date);
CREATE INDEX ON today (number);
CREATE INDEX ON today (due_date) WHERE open_amount <> 0;
CREATE INDEX ON today (payment_reference) WHERE payment_reference IS NOT NULL;
CREATE INDEX ON today (customer_id, currency) WHERE open_amount < 0;
CREATE INDEX ON today (reference_key(number));
CREATE INDEX ON today (customer_id, currency, due_date)
	INCLUDE (id, number, amount, open_amount, issue_date, cancelled_on, penalty_regime, penalty_rate)
	WHERE open_amount <> 0;
CREATE INDEX ON today (cancelled_on) WHERE cancelled_on IS NOT NULL;
CREATE INDEX ON today (issue_date) WHERE open_amount <> 0;
-- the same without open_amount; what found the open set moves to split_open
CREATE INDEX ON split (customer_id, due_date);
CREATE INDEX ON split (number);
CREATE INDEX ON split (payment_reference) WHERE payment_reference IS NOT NULL;
CREATE INDEX ON split (reference_key(number));
CREATE INDEX ON split (cancelled_on) WHERE cancelled_on IS NOT NULL;
CREATE INDEX ON split_open (customer_id, currency, due_date)
	INCLUDE (invoice_id, number, amount, open_amount, issue_date, cancelled_on, penalty_regime, penalty_rate);
CREATE INDEX ON split_open (due_date);
CREATE INDEX ON split_open (issue_date);
CREATE INDEX ON split_open (customer_id, currency) WHERE open_amount < 0;
CREATE TABLE paid AS SELECT id, company_id FROM today WHERE open_amount <> 0 ORDER BY id LIMIT $PAID;
VACUUM ANALYZE today; VACUUM ANALYZE split; VACUUM ANALYZE split_open; VACUUM ANALYZE paid;

-- each statement's execution time in ms, inside the server
CREATE FUNCTION timed(statement text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
	started timestamptz := clock_timestamp();
BEGIN
	EXECUTE statement;
	RETURN round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1);
END \$\$;
CREATE TABLE result (layout text, what text, ms numeric, hot bigint);
EOF
sql -c "CHECKPOINT"

pay_today="UPDATE today i SET open_amount = 0, status = 'paid', last_allocated_on = DATE '2026-12-01'
             FROM paid p WHERE i.id = p.id AND i.company_id = p.company_id"
pay_split="UPDATE split i SET open_amount = 0, status = 'paid', last_allocated_on = DATE '2026-12-01'
             FROM paid p WHERE i.id = p.id AND i.company_id = p.company_id;
           DELETE FROM split_open o USING paid p WHERE o.invoice_id = p.id AND o.company_id = p.company_id"
read_today="SELECT count(*), sum(open_amount) FROM (SELECT customer_id, currency, due_date, id, number, amount,
              open_amount, issue_date FROM today WHERE open_amount <> 0 ORDER BY customer_id, currency, due_date) s"
read_split="SELECT count(*), sum(open_amount) FROM (SELECT customer_id, currency, due_date, invoice_id, number,
              amount, open_amount, issue_date FROM split_open ORDER BY customer_id, currency, due_date) s"

# each write runs in a transaction rolled back, so every round pays the same
# rows; the HOT updates are counted inside it
log "alternating the layouts, $RUNS rounds"
for run in $(seq 1 "$RUNS"); do
	for layout in today split; do
		if [ $layout = today ]; then pay=$pay_today; table=today; read=$read_today
		else pay=$pay_split; table=split; read=$read_split; fi
		ms_hot=$(sql <<EOF
SET max_parallel_workers_per_gather = 0;
BEGIN;
SELECT timed(\$q\$$pay\$q\$) || ' ' || (SELECT n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = '$table');
ROLLBACK;
EOF
)
		read_ms=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "SELECT timed(\$q\$$read\$q\$)")
		sql -c "INSERT INTO result VALUES ('$layout', 'pay', ${ms_hot% *}, ${ms_hot#* }), ('$layout', 'read', $read_ms, NULL)"
	done
done

sql -c "SELECT 'same open set: ' || ((SELECT sum(open_amount) FROM today WHERE open_amount <> 0)
                                    = (SELECT sum(open_amount) FROM split_open))" | grep -q true \
	|| { echo "the two layouts disagree on the open set: FAIL"; exit 1; }

echo
printf '%-8s %-6s %12s %14s\n' layout what "median ms" "HOT updates"
sql -F ' ' <<EOF | while read -r layout what ms hot; do printf '%-8s %-6s %12s %14s\n' "$layout" "$what" "$ms" "$hot"; done
SELECT layout, what, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), coalesce(max(hot)::text, '-')
  FROM result GROUP BY layout, what ORDER BY what, layout DESC;
EOF
ratios=$(sql <<EOF
SELECT round((s.p / t.p)::numeric, 2) || ' ' || round((s.r / t.r)::numeric, 2)
  FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'pay') AS p,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'read') AS r
          FROM result WHERE layout = 'split') s,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'pay') AS p,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE what = 'read') AS r
          FROM result WHERE layout = 'today') t;
EOF
)
peak=$(sql -c "SET max_parallel_workers_per_gather = 0" -c "BEGIN" -c "SELECT timed(\$q\$$pay_split\$q\$)" \
	-c "ROLLBACK" -c "$BENCH_HWM_SQL" | tail -1)
echo
echo "split / today: paying $PAID invoices ${ratios% *} x, reading the open set ${ratios#* } x"
bench_summary "\`open_set_layout.sh\`: paying invoices with the open set outside the invoice row vs today's layout (plain tables, no extension)" \
	"$INVOICES invoices, $PAID paid" "pay ${ratios% *} x, read ${ratios#* } x" "design measurement (issue 17)" "$peak"
