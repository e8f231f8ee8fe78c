-- ---------------------------------------------------------------------------
-- The row triggers that ar.reconcile()'s own apply skips (issue 17).
--
-- The engine's allocation statement is applied by ar._allocation_apply_rows
-- in one statement per table, which sets the derived columns itself
-- (30_ledger_1_allocation_apply.sql; src/reconcile_write.c); the
-- maintenance triggers would only compute them again, row by row, and the
-- audit triggers write nothing for an update of derived columns only.
-- ar._reconcile_applying() is true for the rows of that apply's own
-- statements and nothing else (not for a statement nested in a trigger),
-- so every other write keeps its checks.  The WHEN clause is evaluated as
-- the user who writes: the probe is executable by anyone (it reveals
-- nothing), the claim only by the apply's owner.
-- src/upgrade/0.1.0--0.2.0/98_zzzz_reconcile_write.sql is this piece (a
-- symbolic link).
-- ---------------------------------------------------------------------------

REVOKE ALL ON FUNCTION ar._reconcile_apply_claim(), ar._reconcile_apply_done() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._reconcile_applying() TO PUBLIC;

DROP TRIGGER invoice_maintain ON ar.invoice;
CREATE TRIGGER invoice_maintain BEFORE INSERT OR UPDATE ON ar.invoice
	FOR EACH ROW WHEN (NOT ar._reconcile_applying()) EXECUTE FUNCTION ar._invoice_maintain();
DROP TRIGGER invoice_audit ON ar.invoice;
CREATE TRIGGER invoice_audit AFTER INSERT OR UPDATE OR DELETE ON ar.invoice
	FOR EACH ROW WHEN (NOT ar._reconcile_applying())
	EXECUTE FUNCTION ar._audit_row('open_amount', 'written_off_amount', 'status', 'last_allocated_on', 'last_write_off_on');
DROP TRIGGER bank_transaction_maintain ON ar.bank_transaction;
CREATE TRIGGER bank_transaction_maintain BEFORE INSERT OR UPDATE ON ar.bank_transaction
	FOR EACH ROW WHEN (NOT ar._reconcile_applying()) EXECUTE FUNCTION ar._bank_transaction_maintain();
DROP TRIGGER bank_transaction_audit ON ar.bank_transaction;
CREATE TRIGGER bank_transaction_audit AFTER INSERT OR UPDATE OR DELETE ON ar.bank_transaction
	FOR EACH ROW WHEN (NOT ar._reconcile_applying())
	EXECUTE FUNCTION ar._audit_row('allocated_amount', 'status:allocated_amount');
