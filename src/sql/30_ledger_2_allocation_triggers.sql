-- The allocations' row and statement triggers, after their functions.

-- Allocations are immutable: only their note, score and payment means may
-- be completed.
CREATE FUNCTION ar._allocation_maintain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF (NEW.invoice_id, NEW.bank_transaction_id, NEW.customer_credit_id, NEW.amount, NEW.allocated_on,
	    NEW.method, NEW.company_id)
	   IS DISTINCT FROM
	   (OLD.invoice_id, OLD.bank_transaction_id, OLD.customer_credit_id, OLD.amount, OLD.allocated_on,
	    OLD.method, OLD.company_id) THEN
		RAISE EXCEPTION 'allocations cannot be changed'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Allocation %s is part of the ledger.', OLD.id),
			      HINT = 'Delete it (the reversal is audited) and allocate again.';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER allocation_maintain BEFORE UPDATE ON ar.allocation
	FOR EACH ROW EXECUTE FUNCTION ar._allocation_maintain();
-- one call per statement, whatever the number of rows (ar.reconcile inserts
-- tens of thousands at once); named to fire before allocation_audit_*
CREATE TRIGGER allocation_apply_insert AFTER INSERT ON ar.allocation
	REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._allocation_apply_rows();
CREATE TRIGGER allocation_apply_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._allocation_apply_rows();

-- TRUNCATE would bypass both the invariants and the audit trail.
CREATE FUNCTION ar._refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ar.% cannot be truncated', TG_TABLE_NAME
		USING ERRCODE = 'feature_not_supported',
		      DETAIL = 'Ledger changes must go through the audit trail.',
		      HINT = 'DROP EXTENSION ar_collect removes the whole ledger.';
END $$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['company', 'customer', 'customer_bank_account', 'invoice', 'bank_statement',
	                         'bank_transaction', 'customer_credit', 'allocation'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;
