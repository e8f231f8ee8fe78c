-- Demo step 86: the accounting export (doc/accounting-export.md).  The
-- company's last three full months before the generation's date are
-- journaled, month by month, as the general ledger would import them
-- (demo/report_86_accounting.sql shows the journals and the FEC).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

UPDATE ar.company SET siren = '732829320' WHERE is_default AND siren IS NULL;
\pset footer off
SELECT x.period_from AS "period from", x.period_to AS "to", x.entry_count AS "entries",
       x.correction_count AS "corrections", x.total_debit AS "debit", x.total_credit AS "credit"
  FROM generate_series(date_trunc('month', :'demo_as_of'::date) - interval '3 months',
                       date_trunc('month', :'demo_as_of'::date) - interval '1 month', interval '1 month') m
 CROSS JOIN LATERAL ar.export_journal((SELECT code FROM ar.company WHERE is_default), m::date,
                                      (m + interval '1 month' - interval '1 day')::date) x
 ORDER BY x.period_from;
