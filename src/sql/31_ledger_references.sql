-- ---------------------------------------------------------------------------
-- What allocations name: invoices and bank lines, checked set-wise.
--
-- ar.allocation.invoice_id and .bank_transaction_id are not foreign keys.
-- ar._allocation_apply_rows (30_ledger_1_allocation_apply.sql) already locks every invoice and
-- bank line a statement's allocations name (FOR UPDATE, in id order) and
-- refuses, with SQLSTATE 23503, one that does not exist; a foreign key
-- checked each row again with a query of its own (more than a second of a
-- 100,000-line ar.reconcile(), doc/ledger.md).  The other half of a foreign
-- key is here: an invoice or a bank line that allocations name cannot be
-- deleted, nor its id or company changed.  Like the foreign keys of company
-- data (97_distribution_keys.sql), what an allocation names is the pair
-- (id, company_id): _allocation_apply_rows refuses an invoice or a line of
-- another company than the allocation's, and the checks below look for the
-- allocations of the pair.
--
-- Concurrency, at READ COMMITTED: a session allocating holds the row lock of
-- the invoice and of the bank line until it commits.  A DELETE of either
-- waits for it, deletes the row as it then stands, and the check below
-- (a new snapshot) sees the committed allocation.  A session that deletes
-- first holds the row: the allocating session's lock waits, finds the row
-- gone and refuses it as one that does not exist.  At REPEATABLE READ or
-- SERIALIZABLE the second of the two fails to serialise.
-- ---------------------------------------------------------------------------

-- AFTER DELETE ... FOR EACH STATEMENT on ar.invoice and ar.bank_transaction,
-- with the deleted rows as the transition table "gone".
CREATE FUNCTION ar._refuse_allocated_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	named text;
	tbl constant text := ar._logical_table_name(TG_RELID);  -- a shard's is its table's
BEGIN
	-- an invoice is named by its number, a bank line by its id
	IF tbl = 'invoice' THEN
		SELECT g.number INTO named FROM gone g
		 WHERE EXISTS (SELECT FROM ar.allocation a WHERE a.invoice_id = g.id AND a.company_id = g.company_id)
		 ORDER BY g.id LIMIT 1;
	ELSE
		SELECT g.id INTO named FROM gone g
		 WHERE EXISTS (SELECT FROM ar.allocation a WHERE a.bank_transaction_id = g.id AND a.company_id = g.company_id)
		 ORDER BY g.id LIMIT 1;
	END IF;
	IF named IS NOT NULL THEN
		RAISE EXCEPTION '% % cannot be deleted: allocations name it', replace(tbl, '_', ' '), named
			USING ERRCODE = 'foreign_key_violation',
			      DETAIL = 'The allocation ledger keeps what it paid.',
			      HINT = 'Delete its allocations first (each reversal is audited).';
	END IF;
	RETURN NULL;
END $$;

-- BEFORE UPDATE OF id, company_id ... FOR EACH ROW: fires only for a
-- statement that sets one of them, never for the ledger's own updates.
CREATE FUNCTION ar._refuse_allocated_rekey() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	what constant text := CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' ELSE 'company' END;
	tbl text;
BEGIN
	IF (NEW.id, NEW.company_id) IS NOT DISTINCT FROM (OLD.id, OLD.company_id) THEN
		RETURN NEW;
	END IF;
	tbl := ar._logical_table_name(TG_RELID);  -- a shard's is its table's
	IF tbl = 'invoice'
	   AND EXISTS (SELECT FROM ar.allocation a WHERE a.invoice_id = OLD.id AND a.company_id = OLD.company_id) THEN
		RAISE EXCEPTION 'the % of invoice % cannot change: allocations name it', what, OLD.number
			USING ERRCODE = 'foreign_key_violation';
	ELSIF tbl = 'bank_transaction'
	      AND EXISTS (SELECT FROM ar.allocation a WHERE a.bank_transaction_id = OLD.id AND a.company_id = OLD.company_id) THEN
		RAISE EXCEPTION 'the % of bank transaction % cannot change: allocations name it', what, OLD.id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER invoice_allocated_delete AFTER DELETE ON ar.invoice
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_allocated_delete();
CREATE TRIGGER bank_transaction_allocated_delete AFTER DELETE ON ar.bank_transaction
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_allocated_delete();
CREATE TRIGGER invoice_allocated_rekey BEFORE UPDATE OF id, company_id ON ar.invoice
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_allocated_rekey();
CREATE TRIGGER bank_transaction_allocated_rekey BEFORE UPDATE OF id, company_id ON ar.bank_transaction
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_allocated_rekey();

REVOKE ALL ON FUNCTION ar._refuse_allocated_delete(), ar._refuse_allocated_rekey() FROM PUBLIC;
