-- ---------------------------------------------------------------------------
-- Demo step 40: reconciliation.  ar.reconcile() matches the bank lines the
-- statements of step 30 brought in to the open invoices: confident matches
-- are applied to the ledger, the rest wait in the review queue
-- (demo/report_30_reconcile.sql shows both).  Without bank lines it does
-- nothing.
-- ---------------------------------------------------------------------------
\set ON_ERROR_STOP on

SELECT EXISTS (SELECT 1 FROM ar.bank_transaction t WHERE t.status = 'unmatched' AND t.allocated_amount = 0
                  AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line r WHERE r.bank_transaction_id = t.id)) AS has_new_lines \gset
\if :has_new_lines
\pset footer off
SELECT count(*) AS "lines reconciled",
       count(*) FILTER (WHERE applied) AS "applied",
       count(*) FILTER (WHERE NOT applied AND method NOT IN ('none', 'deferred')) AS "proposed",
       count(*) FILTER (WHERE method = 'none') AS "nothing found"
  FROM ar.reconcile();
\endif
