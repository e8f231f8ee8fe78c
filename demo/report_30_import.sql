-- The bank statements imported by demo/steps/30_import.sql (psql script,
-- run by tools/demo.sh after demo/report.sql).
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off

\echo
\echo '=== Bank statements imported (camt.053 from bank A, MT940 from bank B)'
SELECT s.format AS "format",
       s.account_id AS "account",
       count(*) AS "statements",
       min(s.opening_date) || ' .. ' || max(s.closing_date) AS "period",
       (array_agg(s.opening_balance ORDER BY s.opening_date))[1]::numeric(16,2) AS "opening",
       sum(s.credits)::numeric(16,2) AS "credits",
       sum(s.debits)::numeric(16,2) AS "debits",
       (array_agg(s.closing_balance ORDER BY s.closing_date DESC))[1]::numeric(16,2) AS "closing",
       sum(s.lines) AS "lines",
       count(*) FILTER (WHERE s.balanced) || '/' || count(*) AS "balanced"
  FROM ar.bank_statement_summary s
 GROUP BY s.format, s.account_id
 ORDER BY s.format;

\echo '=== What the lines carry for the matcher'
SELECT count(*) AS "lines",
       count(*) FILTER (WHERE t.amount > 0) AS "credits",
       count(*) FILTER (WHERE t.counterparty_iban IS NOT NULL) AS "with payer IBAN",
       count(*) FILTER (WHERE b.customer_id IS NOT NULL) AS "IBAN on file",
       count(*) FILTER (WHERE t.structured_reference IS NOT NULL) AS "RF reference",
       count(*) FILTER (WHERE t.remittance_info ~ '[0-9]{4}') AS "remittance with a number",
       count(*) FILTER (WHERE t.return_reason IS NOT NULL) AS "returns",
       count(*) FILTER (WHERE t.status = 'unmatched') AS "unmatched"
  FROM ar.bank_transaction t
  LEFT JOIN LATERAL (SELECT a.customer_id FROM ar.customer_bank_account a WHERE a.iban = t.counterparty_iban LIMIT 1) b ON true
 WHERE t.statement_id IS NOT NULL;
