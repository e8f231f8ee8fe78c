-- ar.allocation's references to invoices and bank lines are checked
-- set-wise by ar._allocation_apply_rows and guarded on the other side by
-- 94_ledger_references.sql (src/sql/31_ledger_references.sql).
ALTER TABLE ar.allocation DROP CONSTRAINT allocation_invoice_id_fkey,
                          DROP CONSTRAINT allocation_bank_transaction_id_fkey;
-- ar.reconcile_line's, by 95_reconcile_references.sql
-- (src/sql/73_reconcile_references.sql)
ALTER TABLE ar.reconcile_line DROP CONSTRAINT reconcile_line_bank_transaction_id_fkey,
                              DROP CONSTRAINT reconcile_line_run_id_fkey,
                              DROP CONSTRAINT reconcile_line_returned_by_fkey;
