#!/usr/bin/env bash
# bench/write_path_indexes.sh [INVOICES] [PAID] -- what do the indexes dropped
# from the rows a payment rewrites save? (issue 17)
#
# Paying an invoice or a bank line is a non-HOT UPDATE (open_amount and
# status are in partial indexes), so each new row version gets an entry in
# every index of the row; each allocation also writes an audit row.  This
# measures, on plain tables shaped like the extension's (same columns, same
# indexes, the expression index included; no trigger), the three writes of
# one reconciliation with the indexes of main ("before") and of this
# version ("after", src/sql/30_ledger.sql and 40_audit.sql):
#   invoice   PAID full payments (default 95,000) out of INVOICES (default
#             500,000); before: the unique (company_id, number) key and an
#             index on number; after: the unique (number, company_id) key
#             alone
#   line      PAID bank lines matched; before: an index on statement_id
#             beside the unique (statement_id, line_no, company_id); after:
#             the unique key alone
#   audit     PAID audit rows inserted (seq NULL, as every row written since
#             0.2.0); before: unique (company_id, seq) on every row; after:
#             partial, WHERE seq IS NOT NULL
# Each write runs in a transaction rolled back, before and after alternate,
# AR_BENCH_RUNS rounds (default 5), medians.  The lookups the dropped indexes
# served (an invoice by number alone, a statement's lines) are timed too,
# 2,000 of each per round.  Nothing of ar_collect runs here.
#
# Environment: AR_BENCH_PORT (default 55447), AR_BENCH_RUNS (default 5).
set -euo pipefail
source "$(dirname "$0")/../tools/lib.sh"

INVOICES=${1:-500000}
PAID=${2:-95000}
PORT=${AR_BENCH_PORT:-55447}
RUNS=${AR_BENCH_RUNS:-5}
[[ "$INVOICES" =~ ^[0-9]+$ && "$PAID" =~ ^[0-9]+$ && "$PAID" -le $((INVOICES / 2)) ]] \
	|| { echo "usage: $0 [INVOICES] [PAID <= INVOICES/2]" >&2; exit 2; }

AR_BENCH_NO_BUILD=1 bench_prepare write_path_indexes
cluster_start "$WORK/cluster" "$PORT" "ar_collect.enabled = off" "shared_buffers = '1GB'" "autovacuum = off" \
	|| { cat "$WORK/cluster/server.log" >&2; exit 1; }
sql() { $PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

log "loading $INVOICES invoices, $PAID bank lines, both index sets"
sql <<EOF
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION reference_key(t text) RETURNS text IMMUTABLE LANGUAGE sql
AS \$\$ SELECT upper(regexp_replace(t, '[^A-Za-z0-9]', '', 'g')) \$\$;
CREATE TABLE inv_before (
	id bigint, company_id bigint, customer_id bigint, number text, issue_date date, due_date date,
	currency text, amount numeric, open_amount numeric, written_off_amount numeric, status text,
	payment_reference text, cancelled_on date, penalty_regime text, penalty_rate numeric,
	last_allocated_on date, last_write_off_on date, created_at timestamptz, updated_at timestamptz,
	PRIMARY KEY (id, company_id), UNIQUE (company_id, number), UNIQUE (company_id, id));
INSERT INTO inv_before
SELECT g, 1, g % 50000, 'INV-' || lpad(g::text, 9, '0'), DATE '2026-01-01' + g % 300,
       DATE '2026-02-01' + g % 300, 'EUR', 100 + g % 900, 100 + g % 900, 0, 'open',
       CASE WHEN g % 3 = 0 THEN 'RF' || g END, NULL, NULL, NULL, NULL, NULL, now(), NULL
  FROM generate_series(1, $INVOICES) g;
CREATE TABLE inv_after (LIKE inv_before);
INSERT INTO inv_after SELECT * FROM inv_before;
ALTER TABLE inv_after ADD PRIMARY KEY (id, company_id), ADD UNIQUE (number, company_id), ADD UNIQUE (company_id, id);
CREATE INDEX ON inv_before (number);
DO \$\$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['inv_before', 'inv_after'] LOOP
		EXECUTE format('CREATE INDEX ON %I (customer_id, due_date)', t);
		EXECUTE format('CREATE INDEX ON %I (due_date) WHERE open_amount <> 0', t);
		EXECUTE format('CREATE INDEX ON %I (payment_reference) WHERE payment_reference IS NOT NULL', t);
		EXECUTE format('CREATE INDEX ON %I (customer_id, currency) WHERE open_amount < 0', t);
		EXECUTE format('CREATE INDEX ON %I (reference_key(number))', t);
		EXECUTE format('CREATE INDEX ON %I (customer_id, currency, due_date) INCLUDE (id, number, amount, open_amount,
		                issue_date, cancelled_on, penalty_regime, penalty_rate) WHERE open_amount <> 0', t);
		EXECUTE format('CREATE INDEX ON %I (cancelled_on) WHERE cancelled_on IS NOT NULL', t);
		EXECUTE format('CREATE INDEX ON %I (issue_date) WHERE open_amount <> 0', t);
	END LOOP;
END \$\$;
CREATE TABLE line_before (
	id bigint, company_id bigint, statement_id bigint, line_no integer, booking_date date, amount numeric,
	currency text, counterparty_name text, remittance_info text, allocated_amount numeric, status text,
	created_at timestamptz,
	PRIMARY KEY (id, company_id), UNIQUE (statement_id, line_no, company_id));
INSERT INTO line_before
SELECT g, 1, 1 + g / 500, g % 500, DATE '2026-11-01' + g % 30, 100 + g % 900, 'EUR', 'Customer ' || g % 50000,
       'INV-' || lpad(g::text, 9, '0'), 0, 'unmatched', now()
  FROM generate_series(1, $PAID) g;
CREATE TABLE line_after (LIKE line_before);
INSERT INTO line_after SELECT * FROM line_before;
ALTER TABLE line_after ADD PRIMARY KEY (id, company_id), ADD UNIQUE (statement_id, line_no, company_id);
CREATE INDEX ON line_before (statement_id);
CREATE INDEX ON line_before (booking_date) WHERE status = 'unmatched';
CREATE INDEX ON line_after (booking_date) WHERE status = 'unmatched';
CREATE TABLE audit_before (
	id bigint GENERATED BY DEFAULT AS IDENTITY, seq bigint, logged_at timestamptz NOT NULL DEFAULT now(),
	txid xid8 NOT NULL DEFAULT pg_current_xact_id(), actor text NOT NULL DEFAULT session_user,
	role text NOT NULL DEFAULT current_setting('role'), table_name text NOT NULL, operation text NOT NULL,
	row_id bigint, old_row jsonb, new_row jsonb, prev_hash bytea, row_hash bytea, company_id bigint NOT NULL,
	PRIMARY KEY (id, company_id), UNIQUE (company_id, seq));
CREATE TABLE audit_after (LIKE audit_before INCLUDING DEFAULTS INCLUDING IDENTITY);
ALTER TABLE audit_after ADD PRIMARY KEY (id, company_id);
CREATE UNIQUE INDEX ON audit_after (company_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX ON audit_before (txid, company_id, id);
CREATE INDEX ON audit_before (table_name, row_id);
CREATE INDEX ON audit_after (txid, company_id, id);
CREATE INDEX ON audit_after (table_name, row_id);
-- a trail that already has rows (the legacy chain's with a seq, later ones without)
INSERT INTO audit_before (seq, table_name, operation, row_id, new_row, row_hash, company_id)
SELECT CASE WHEN g <= 50000 THEN g END, 'invoice', 'INSERT', g, jsonb_build_object('id', g, 'number', 'INV-' || g),
       sha256(g::text::bytea), 1
  FROM generate_series(1, 200000) g;
INSERT INTO audit_after SELECT * FROM audit_before;
DO \$\$ BEGIN PERFORM setval(pg_get_serial_sequence('audit_after', 'id'), (SELECT max(id) FROM audit_after)); END \$\$;
-- the paid invoices: the oldest open ones, one line each
CREATE TABLE paid AS SELECT id, company_id, amount FROM inv_before ORDER BY id LIMIT $PAID;
CREATE TABLE probe AS SELECT number, (1 + id / 500)::bigint AS statement_id FROM inv_before ORDER BY random() LIMIT 2000;
VACUUM ANALYZE;

CREATE FUNCTION timed(statement text) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
	started timestamptz := clock_timestamp();
BEGIN
	EXECUTE statement;
	RETURN round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 1);
END \$\$;
-- lookups one at a time, as a client's record_payment or a statement's page
CREATE FUNCTION lookups(inv regclass, line regclass) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE
	p record;
	n bigint := 0;
	k bigint;
BEGIN
	FOR p IN SELECT * FROM probe LOOP
		EXECUTE format('SELECT count(*) FROM %s WHERE number = \$1', inv) INTO k USING p.number;
		n := n + k;
		EXECUTE format('SELECT count(*) FROM %s WHERE statement_id = \$1', line) INTO k USING p.statement_id;
		n := n + k;
	END LOOP;
	RETURN n;
END \$\$;
CREATE TABLE result (side text, what text, ms numeric);
EOF
sql -c "CHECKPOINT"

write() {  # write SIDE WHAT
	local t
	case $2 in
	invoice) t="UPDATE inv_$1 i SET open_amount = 0, status = 'paid', last_allocated_on = DATE '2026-12-01',
	                    updated_at = now() FROM paid p WHERE i.id = p.id AND i.company_id = p.company_id" ;;
	line) t="UPDATE line_$1 l SET allocated_amount = l.amount, status = 'matched'" ;;
	audit) t="INSERT INTO audit_$1 (table_name, operation, row_id, new_row, row_hash, company_id)
	          SELECT 'allocation', 'INSERT', p.id, jsonb_build_object('id', p.id, 'invoice_id', p.id, 'amount', p.amount),
	                 sha256(p.id::text::bytea), p.company_id FROM paid p" ;;
	esac
	sql <<EOF
SET max_parallel_workers_per_gather = 0;
BEGIN;
SELECT timed(\$q\$$t\$q\$);
ROLLBACK;
EOF
}

log "alternating before and after, $RUNS rounds"
for run in $(seq 1 "$RUNS"); do
	for side in before after; do
		for what in invoice line audit; do
			ms=$(write $side $what)
			sql -c "INSERT INTO result VALUES ('$side', '$what', $ms)"
		done
		ms=$(sql -c "SELECT timed(\$q\$SELECT lookups('inv_$side', 'line_$side')\$q\$)")
		sql -c "INSERT INTO result VALUES ('$side', 'lookups', $ms)"
	done
	# the rolled-back versions and their index entries, gone before the next round
	sql -c "VACUUM inv_before, inv_after, line_before, line_after, audit_before, audit_after"
done

[ "$(sql -c "SELECT lookups('inv_before', 'line_before') = lookups('inv_after', 'line_after')")" = t ] \
	|| { echo "the lookups of the two index sets disagree: FAIL"; exit 1; }

echo
printf '%-9s %12s %12s %8s\n' write "before ms" "after ms" ratio
sql -F ' ' <<EOF | while read -r what b a r; do printf '%-9s %12s %12s %8s\n' "$what" "$b" "$a" "$r"; done
SELECT what, b, a, round(a / b, 2) FROM (
	SELECT what, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'before')::numeric AS b,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'after')::numeric AS a
	  FROM result GROUP BY what) r
 ORDER BY array_position(ARRAY['invoice', 'line', 'audit', 'lookups'], what);
EOF
total=$(sql <<EOF
SELECT round(sum(a) / sum(b), 2) FROM (
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'before')::numeric AS b,
	       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE side = 'after')::numeric AS a
	  FROM result WHERE what <> 'lookups' GROUP BY what) r;
EOF
)
peak=$(sql -c "BEGIN" -c "UPDATE inv_after i SET open_amount = 0 FROM paid p WHERE i.id = p.id" -c "ROLLBACK" \
	-c "$BENCH_HWM_SQL" | tail -1)
echo
echo "after / before, the three writes summed: $total x"
bench_summary "\`write_path_indexes.sh\`: a reconciliation's writes (invoices paid, lines matched, audit rows) with this version's indexes vs main's (plain tables, no extension)" \
	"$INVOICES invoices, $PAID paid" "$total x" "none (issue 17: the write path)" "$peak"
