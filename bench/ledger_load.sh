# bench/ledger_load.sh: sourced by bench/analytics.sh and bench/dashboard.sh
# (after tools/lib.sh and their sql() function).
#
# bench_load_ledger ROWS AS_OF PAID_UNTIL: creates the extension and loads
# ROWS invoices for 50,000 customers over the two years up to AS_OF (30 or
# 60 days terms, 4 % credit notes) and their payments (85 % paid, one
# allocation each, from 10 days before to 80 days after the due date; those
# made by PAID_UNTIL, an SQL date expression, are recorded) straight into
# ar.invoice and ar.allocation, set-based (two INSERT ... SELECT from
# generate_series with hashed draws), with the ledger's triggers off for the
# load only (session_replication_role = replica: a benchmark database) and
# the secondary indexes of both tables dropped during the load and rebuilt
# after it; open amounts and statuses are written consistent with the
# allocations, checked with ar.check_ledger()'s rules on 1 invoice in 1,000
# into the table bench_ledger_errors; then VACUUM ANALYZE.
bench_load_ledger() {
	local rows=$1 as_of=$2 paid_until=$3
sql <<EOF
CREATE EXTENSION ar_collect;
-- Benchmark database: the load bypasses what protects a live ledger.  The
-- triggers (audit trail, allocation invariants, foreign keys) are off for the
-- load only (session_replication_role = replica), and the secondary indexes
-- of ar.invoice and ar.allocation are dropped and rebuilt after it (sorted
-- builds instead of 18 million random index insertions).  Derived columns
-- are written consistent with the allocations: checked on a sample below.
SET session_replication_role = replica;
SET synchronous_commit = off;
CREATE TEMP TABLE bench_index AS
SELECT x.indexrelid::regclass::text AS name, pg_get_indexdef(x.indexrelid) AS def
  FROM pg_index x
 WHERE x.indrelid IN ('ar.invoice'::regclass, 'ar.allocation'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid);
DO \$\$
DECLARE
	i record;
BEGIN
	FOR i IN SELECT * FROM bench_index LOOP
		EXECUTE 'DROP INDEX ' || i.name;
	END LOOP;
END \$\$;

-- Deterministic uniform draws in [0, 1) from (row, stream): the invoices and
-- their payments are computed from the same row number, without a scratch table.
CREATE FUNCTION pg_temp.u(g bigint, k bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
\$\$ SELECT (hashint8extended(g, k) & 4294967295)::double precision / 4294967296 \$\$;

INSERT INTO ar.customer (id, code, name)
SELECT g, 'B' || g, 'Bench customer ' || g FROM generate_series(1, 50000) g;

-- invoices over two years up to $as_of, 30 or 60 days terms, 4 % credit notes;
-- 85 % of invoices are paid (one allocation each), from 10 days before to 80
-- days after the due date; the payments made by $paid_until are recorded
CREATE TEMP VIEW bench_doc AS
SELECT d.g AS id, 1 + (d.g % 50000) AS customer_id, d.issue_date, d.due_date, d.amount,
       CASE WHEN d.amount > 0 AND pg_temp.u(d.g, 4) < 0.85
                 AND d.due_date + floor(-10 + pg_temp.u(d.g, 5) * 90)::integer <= $paid_until
            THEN d.due_date + floor(-10 + pg_temp.u(d.g, 5) * 90)::integer END AS paid_on
  FROM (SELECT g, issue_date, issue_date + CASE WHEN g % 3 = 0 THEN 60 ELSE 30 END AS due_date,
               round((CASE WHEN pg_temp.u(g, 2) < 0.04 THEN -1 ELSE 1 END * 10 * exp(pg_temp.u(g, 3) * ln(2000)))::numeric, 2) AS amount
          FROM (SELECT g, DATE '$as_of' - floor(pg_temp.u(g, 1) * 730)::integer AS issue_date
                  FROM generate_series(1::bigint, $rows) g) r) d;
INSERT INTO ar.invoice (id, customer_id, number, issue_date, due_date, amount, open_amount, status, last_allocated_on)
SELECT id, customer_id, 'BI-' || lpad(id::text, 9, '0'), issue_date, due_date, amount,
       CASE WHEN paid_on IS NULL THEN amount ELSE 0 END,
       CASE WHEN paid_on IS NULL THEN 'open' ELSE 'paid' END, paid_on
  FROM bench_doc;
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
SELECT id, amount, paid_on, 'manual' FROM bench_doc WHERE paid_on IS NOT NULL;
SET session_replication_role = origin;

DO \$\$
DECLARE
	i record;
BEGIN
	FOR i IN SELECT * FROM bench_index LOOP
		EXECUTE i.def;
	END LOOP;
	PERFORM setval(pg_get_serial_sequence('ar.customer', 'id'), 50000);
	PERFORM setval(pg_get_serial_sequence('ar.invoice', 'id'), $rows);
END \$\$;
VACUUM ANALYZE ar.customer;
VACUUM ANALYZE ar.invoice;
VACUUM ANALYZE ar.allocation;

-- what ar.check_ledger() checks, on a sample of one invoice in 1,000: open
-- amount and status derived from the allocations
CREATE TABLE bench_ledger_errors AS
SELECT i.id
  FROM ar.invoice i
  LEFT JOIN LATERAL (SELECT sum(a.amount) AS total, sum(a.amount) FILTER (WHERE a.method = 'write_off') AS written_off,
                            max(a.allocated_on) AS last_on, max(a.allocated_on) FILTER (WHERE a.method = 'write_off') AS last_write_off_on
                       FROM ar.allocation a WHERE a.invoice_id = i.id) a ON true
 WHERE i.id % 1000 = 0
   AND (i.open_amount IS DISTINCT FROM i.amount - coalesce(a.total, 0)
        OR (i.last_allocated_on, i.last_write_off_on) IS DISTINCT FROM (a.last_on, a.last_write_off_on)
        OR i.written_off_amount IS DISTINCT FROM coalesce(a.written_off, 0)
        OR i.status IS DISTINCT FROM ar.invoice_status(i.amount, i.open_amount, i.written_off_amount, i.disputed,
                                                       i.cancelled_on IS NOT NULL));
EOF
}
