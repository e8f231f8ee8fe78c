-- ar.allocation's references to invoices and bank lines are checked
-- set-wise by ar._allocation_apply_rows and guarded on the other side by
-- 94_ledger_references.sql (src/sql/31_ledger_references.sql).
ALTER TABLE ar.allocation DROP CONSTRAINT allocation_invoice_id_fkey,
                          DROP CONSTRAINT allocation_bank_transaction_id_fkey;
