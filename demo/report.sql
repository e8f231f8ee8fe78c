-- The credit manager's first page on the demo ledger (psql script, run by
-- tools/demo.sh), as of the date of the last ar_demo.generate() run, so that
-- it reads the same whatever the clock says.  Amounts are never summed
-- across currencies.  Later features append their sections at the end.

\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of, format('=== Receivables on %s (demo: %s customers, %s documents, seed %s)',
                     as_of, customers, invoices, seed) AS title
  FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

\echo
\echo :title
\echo
SELECT o.currency AS "currency",
       count(DISTINCT o.customer_id) AS "customers",
       count(*) AS "open items",
       sum(o.open_amount)::numeric(16,2) AS "open",
       coalesce(sum(o.open_amount) FILTER (WHERE o.days_past_due > 0), 0)::numeric(16,2) AS "overdue",
       round(100 * coalesce(sum(o.open_amount) FILTER (WHERE o.days_past_due > 0), 0)
             / nullif(sum(o.open_amount), 0), 1) AS "% overdue",
       coalesce(min(cr.available), 0)::numeric(16,2) AS "credit on account"
  FROM ar.open_items(:'as_of') o
  LEFT JOIN (SELECT currency, sum(available) AS available FROM ar.customer_credit_balance GROUP BY currency) cr
         ON cr.currency = o.currency
 GROUP BY o.currency
 ORDER BY sum(o.open_amount) DESC;

\echo '=== Aging (days past due)'
\echo
SELECT currency AS "currency",
       sum(not_due)::numeric(16,2) AS "not due",
       sum(d1_30)::numeric(16,2) AS "1-30",
       sum(d31_60)::numeric(16,2) AS "31-60",
       sum(d61_90)::numeric(16,2) AS "61-90",
       sum(d91_plus)::numeric(16,2) AS "91+",
       sum(total)::numeric(16,2) AS "total"
  FROM ar.aging_report(:'as_of')
 GROUP BY currency
 ORDER BY sum(total) DESC;

SELECT currency AS "in % of total",
       round(100 * sum(not_due) / sum(total), 1) AS "not due",
       round(100 * sum(d1_30) / sum(total), 1) AS "1-30",
       round(100 * sum(d31_60) / sum(total), 1) AS "31-60",
       round(100 * sum(d61_90) / sum(total), 1) AS "61-90",
       round(100 * sum(d91_plus) / sum(total), 1) AS "91+"
  FROM ar.aging_report(:'as_of')
 GROUP BY currency
HAVING sum(total) <> 0
 ORDER BY sum(total) DESC;

\echo '=== The 10 largest overdue balances (invoices past due, per customer and currency)'
\echo
SELECT c.code AS "customer", c.name AS "name", c.country AS "country", t.currency AS "cur",
       t.overdue::numeric(16,2) AS "overdue",
       t.oldest AS "oldest (days)",
       t.overdue_invoices AS "overdue invoices",
       -- everything open for the customer: not yet due and credit notes too
       t.balance::numeric(16,2) AS "balance",
       p.last_paid AS "last payment"
  FROM (SELECT o.customer_id, o.currency, sum(o.open_amount) AS balance,
               sum(o.open_amount) FILTER (WHERE o.days_past_due > 0 AND o.amount > 0) AS overdue,
               max(o.days_past_due) FILTER (WHERE o.days_past_due > 0 AND o.amount > 0) AS oldest,
               count(*) FILTER (WHERE o.days_past_due > 0 AND o.amount > 0) AS overdue_invoices
          FROM ar.open_items(:'as_of') o
         GROUP BY o.customer_id, o.currency) t
  JOIN ar.customer c ON c.id = t.customer_id
 CROSS JOIN LATERAL (SELECT max(a.allocated_on) AS last_paid
                       FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                      WHERE i.customer_id = t.customer_id AND a.allocated_on <= :'as_of'
                        AND a.method NOT IN ('credit_note', 'credit', 'write_off')) p
 WHERE t.overdue > 0
 ORDER BY t.overdue DESC, c.code
 LIMIT 10;

\echo '=== Documents by status'
\echo
SELECT status AS "status",
       count(*) FILTER (WHERE amount > 0) AS "invoices",
       count(*) FILTER (WHERE amount < 0) AS "credit notes",
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% of documents"
  FROM ar.invoice
 WHERE issue_date <= :'as_of'
 GROUP BY status
 ORDER BY array_position(ARRAY['open', 'partially_paid', 'disputed', 'paid', 'written_off', 'cancelled'], status);
