-- The accounting export of the demo ledger (demo/steps/86_accounting_export.sql):
-- what each journal received per account, the balance of every export, and
-- the head of the last FEC file.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off

\echo
\echo '=== Accounting exports (ar.accounting_export): one per month, locked'
\echo
SELECT x.period_from AS "from", x.period_to AS "to", x.entry_count AS "entries", x.correction_count AS "corrections",
       x.total_debit AS "debit", x.total_credit AS "credit", ar.fec_file_name(x.id) AS "FEC file"
  FROM ar.accounting_export x ORDER BY x.period_from;

\echo '=== Journals by account (ar.journal_entry_line), all exports'
\echo
SELECT e.journal_code AS "journal", l.account AS "account", min(l.account_label) AS "label",
       count(DISTINCT e.id) AS "entries", sum(l.debit)::numeric(16,2) AS "debit", sum(l.credit)::numeric(16,2) AS "credit"
  FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
 GROUP BY e.journal_code, l.account ORDER BY e.journal_code, l.account;

\echo '=== The last FEC file, first lines'
\echo
SELECT line AS "FEC"
  FROM regexp_split_to_table((SELECT ar.fec_file(id) FROM ar.accounting_export ORDER BY period_to DESC LIMIT 1), E'\r\n')
       WITH ORDINALITY t(line, n)
 WHERE n <= 8 ORDER BY n;
