#!/usr/bin/env bash
# A BI tool's view of the analytics: a Python client (psycopg2 from Debian's
# python3-psycopg2) connects like a dashboard does, lists the views of
# schema ar with their column comments from the catalog, and reads them.
# Prints TAP; run by tools/test.sh on its cluster (PGHOST, PGPORT, PGUSER).
set -uo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
db=ar_bi_client
echo "1..6"
if ! /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
	for i in 1 2 3 4 5 6; do echo "not ok $i - python3-psycopg2 is not installed"; done
	exit 0
fi
$PG_BIN/dropdb --if-exists $db 2>/dev/null
$PG_BIN/createdb $db
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
CREATE EXTENSION ar_collect;
INSERT INTO ar.customer (code, name) SELECT 'BI' || g, 'BI customer ' || g FROM generate_series(1, 30) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'BI-' || c.code || '-' || k, current_date - 400 + k * 10, current_date - 370 + k * 10, 100 + k
  FROM ar.customer c CROSS JOIN generate_series(0, 39) k;
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method)
SELECT i.id, i.amount, i.due_date + (c.id % 3)::integer * 20 - 3, 'manual'
  FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
 WHERE i.due_date + (c.id % 3)::integer * 20 - 3 <= current_date;
SELECT ar.refresh_segments();
SELECT ar.train_payment_model();
CREATE ROLE ar_bi_dashboard LOGIN IN ROLE ar_reader;
SQL
out=$(PGUSER=ar_bi_dashboard PGDATABASE=$db /usr/bin/python3 - <<'PY' 2>&1
import os, psycopg2
conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"],
                        user=os.environ["PGUSER"], dbname=os.environ["PGDATABASE"])
conn.set_session(readonly=True)
cur = conn.cursor()
# what a BI tool's schema browser asks
cur.execute("""SELECT c.relname, a.attname, col_description(c.oid, a.attnum)
                 FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind = 'v' ORDER BY 1, a.attnum""")
cols = cur.fetchall()
views = sorted({r[0] for r in cols})
print("views", len(views))
print("uncommented", sum(1 for r in cols if not r[2]))
for v in ["kpi_monthly", "customer_behaviour", "customer_risk", "cash_forecast_weekly", "aging_by_bucket", "payment_model_latest"]:
    cur.execute('SELECT * FROM ar."%s"' % v)
    rows = cur.fetchall()
    print("rows", v, len(rows), ",".join(d.name for d in cur.description))
cur.execute("SELECT dso_standard, dso_countback FROM ar.kpi_monthly ORDER BY month_end DESC LIMIT 1")
std, cb = cur.fetchone()
print("dso_types", type(std).__name__, type(cb).__name__)
PY
)
echo "$out" | sed 's/^/# /'
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
check "psycopg2 lists the analytics views of schema ar" '[ "$(echo "$out" | sed -n "s/^views //p")" -ge 6 ]'
check "every column of every view has a comment (what the BI tool shows)" '[ "$(echo "$out" | sed -n "s/^uncommented //p")" = 0 ]'
check "ar.kpi_monthly reads 24 month-ends" 'echo "$out" | grep -q "^rows kpi_monthly 24 month_end,currency"'
check "ar.customer_risk and ar.customer_behaviour read with their columns" \
	'echo "$out" | grep -q "^rows customer_risk [1-9][0-9]* customer_id" && echo "$out" | grep -q "^rows customer_behaviour 30 customer_id"'
check "ar.cash_forecast_weekly reads 14 weeks" 'echo "$out" | grep -Eq "^rows cash_forecast_weekly 1[34] period_start,expected,low,high"'
check "DSO arrives as Decimal (numeric, never float)" 'echo "$out" | grep -q "^dso_types Decimal Decimal"'
$PG_BIN/dropdb $db
$PG_BIN/psql -X -q -d postgres -c 'DROP ROLE ar_bi_dashboard'
