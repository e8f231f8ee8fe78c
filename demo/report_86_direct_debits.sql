-- SEPA direct debits on the demo ledger (demo/steps/86_sepa_direct_debit.sql):
-- the files sent, what became of each debit, the returns to follow up and
-- the mandates.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off

\echo
\echo '=== SEPA direct debit files (ar.direct_debit_collection)'
\echo
SELECT message_id AS "file", version AS "format", requested_collection_date AS "collection date",
       number_of_transactions AS "debits", control_sum::numeric(16,2) AS "total", status AS "status"
  FROM ar.direct_debit_collection ORDER BY id;

\echo '=== What became of the debits (ar.direct_debit_report)'
\echo
SELECT sequence_type AS "sequence", status AS "status", count(*) AS "debits", sum(amount)::numeric(16,2) AS "amount"
  FROM ar.direct_debit_report
 GROUP BY sequence_type, status ORDER BY sequence_type, status;

\echo '=== Returned debits to follow up'
\echo
SELECT customer_code AS "customer", umr AS "mandate", amount::numeric(16,2) AS "amount", return_reason AS "reason",
       returned_on AS "returned on", array_to_string(invoice_numbers, ', ') AS "invoices open again",
       (SELECT m.status FROM ar.sepa_mandate m WHERE m.umr = r.umr AND m.company_id = r.company_id) AS "mandate now"
  FROM ar.direct_debit_report r
 WHERE status IN ('returned', 'rejected')
 ORDER BY returned_on, customer_code;

\echo '=== Mandates (ar.sepa_mandate)'
\echo
SELECT scheme AS "scheme", status AS "status", sequence_state AS "next sequence", count(*) AS "mandates"
  FROM ar.sepa_mandate GROUP BY scheme, status, sequence_state ORDER BY scheme, status, sequence_state;
