-- ---------------------------------------------------------------------------
-- The audit triggers (40_audit.sql, 41_audit_chains.sql): the seal at
-- commit, and the audit of the ledger tables.
-- ---------------------------------------------------------------------------

CREATE CONSTRAINT TRIGGER audit_log_seal AFTER INSERT ON ar.audit_seal_request
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ar._audit_seal();


DO $$
DECLARE
	t text;
	derived text;
BEGIN
	FOR t, derived IN VALUES ('company', ''), ('customer', ''), ('customer_bank_account', ''),
	                          ('invoice', 'open_amount,written_off_amount,status'),
	                          ('bank_statement', ''), ('customer_credit', 'remaining') LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_row(%s)',
		               t || '_audit', t,
		               (SELECT string_agg(quote_literal(c), ', ') FROM unnest(string_to_array(derived, ',')) c));
	END LOOP;
END $$;

-- ar.allocation: inserts and deletes come by the ten thousand from
-- ar.reconcile: audited per statement, after allocation_apply_* (triggers of
-- one event fire in name order).  A bank line's status follows its
-- allocated amount (matched, partially_matched, unmatched again): derived
-- when the allocated amount moved, audited when a client sets it.
CREATE TRIGGER allocation_audit AFTER UPDATE ON ar.allocation
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER allocation_audit_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
CREATE TRIGGER allocation_audit_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._audit_rows();
CREATE TRIGGER bank_transaction_audit AFTER INSERT OR UPDATE OR DELETE ON ar.bank_transaction
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row('allocated_amount', 'status:allocated_amount');
