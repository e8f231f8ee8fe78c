-- Small balances closed and statements of account queued on the demo
-- ledger (demo/steps/72_small_balances_statements.sql), and the statement
-- of the largest debtor as its text says it.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

\echo
\echo '=== Small balances closed (ar.small_balance_report)'
\echo
SELECT kind AS "kind", status AS "status", currency AS "cur", count(*) AS "items",
       sum(amount)::numeric(16,2) AS "amount"
  FROM ar.small_balance_report
 GROUP BY kind, status, currency
 ORDER BY kind, status, currency;

\echo '=== Statements of account queued (ar.statement_notice)'
\echo
SELECT c.code AS "customer", n.from_date AS "from", n.to_date AS "to", n.channel AS "channel",
       n.language AS "lang", (n.closing_balances ->> 'EUR')::numeric(16,2) AS "closing EUR", n.status AS "status"
  FROM ar.statement_notice n JOIN ar.customer c ON c.id = n.customer_id
 ORDER BY (n.closing_balances ->> 'EUR')::numeric DESC NULLS LAST, c.code
 LIMIT 10;

\echo '=== The statement of the largest debtor: balances'
\echo
SELECT s.currency AS "cur", s.section AS "section", count(*) AS "lines",
       sum(s.debit)::numeric(16,2) AS "debit", sum(s.credit)::numeric(16,2) AS "credit",
       max(s.balance) FILTER (WHERE s.section IN ('opening', 'closing'))::numeric(16,2) AS "balance"
  FROM (SELECT n.customer_id, n.from_date, n.to_date FROM ar.statement_notice n
         ORDER BY (n.closing_balances ->> 'EUR')::numeric DESC NULLS LAST, n.id LIMIT 1) n
 CROSS JOIN LATERAL ar.statement_of_account(n.customer_id, n.from_date, n.to_date) s
 WHERE s.section IN ('opening', 'movement', 'closing')
 GROUP BY s.currency, s.section
 ORDER BY s.currency, min(s.line_no);
