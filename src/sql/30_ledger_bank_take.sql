-- ---------------------------------------------------------------------------
-- A bank line used up by what takes its money (a customer credit born from
-- the line): a piece of its own, so that the upgrade creates the function
-- from the same text (its 0.1.0 form had no company).
-- ---------------------------------------------------------------------------

-- Adds delta to a bank line's allocated amount under a row lock, after the
-- checks that give a clear error instead of a bare constraint violation.
-- The lock names the company of what takes the money (routed to its shard
-- on Citus, doc/scale_out.md blocker 5); a line of another company is told
-- apart from a missing one by a plain read, on that error only.
CREATE FUNCTION ar._bank_transaction_take(company bigint, bank_transaction_id bigint, delta numeric,
                                          in_currency char(3), what text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	SELECT * INTO line FROM ar.bank_transaction t WHERE t.company_id = company AND t.id = bank_transaction_id FOR UPDATE;
	IF NOT FOUND THEN
		IF EXISTS (SELECT 1 FROM ar.bank_transaction t WHERE t.id = bank_transaction_id) THEN
			RAISE EXCEPTION 'bank transaction % belongs to another company than the %', bank_transaction_id, what
				USING ERRCODE = 'check_violation';
		END IF;
		RAISE EXCEPTION 'bank transaction % does not exist', bank_transaction_id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF line.currency <> in_currency THEN
		RAISE EXCEPTION 'bank transaction % is in %, the % is in %', line.id, line.currency, what, in_currency
			USING ERRCODE = 'check_violation';
	END IF;
	-- a line may carry allocations of both signs (a payment net of a credit
	-- note) but their sum stays between zero and the line's amount
	IF abs(line.allocated_amount + delta) > abs(line.amount) OR sign(line.allocated_amount + delta) = -sign(line.amount) THEN
		RAISE EXCEPTION 'bank transaction % would allocate % of its %', line.id, line.allocated_amount + delta, line.amount
			USING ERRCODE = 'check_violation',
			      DETAIL = format('%s is already allocated; a bank line never allocates more than its amount.', line.allocated_amount);
	END IF;
	UPDATE ar.bank_transaction t SET allocated_amount = t.allocated_amount + delta WHERE t.company_id = company AND t.id = line.id;
END $$;

REVOKE ALL ON FUNCTION ar._bank_transaction_take(bigint, bigint, numeric, char(3), text) FROM PUBLIC;
