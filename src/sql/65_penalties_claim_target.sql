-- ---------------------------------------------------------------------------
-- What a penalty decision (ar.bill_penalty, ar.waive_penalty,
-- ar.write_off_penalty) works on: the invoice, locked, its claim decision if
-- any, and the penalty as of the decision's date.  A piece of its own, so
-- that the upgrade re-creates these functions from the same text.  Every
-- lock and read names the invoice's company (routed to the company's shard
-- on Citus, doc/scale_out.md blocker 5).
-- ---------------------------------------------------------------------------

-- The penalty of an invoice as of a date, for a decision's snapshot (never
-- raises for an unknown rate: the amounts are then NULL).  PL/pgSQL whose
-- query names ar.allocation: on Citus a SQL function inlined after Citus
-- planned would read the coordinator's own, empty, table (blocker 2).
CREATE OR REPLACE FUNCTION ar._penalty_snapshot(basis ar._penalty_basis, as_of date)
RETURNS TABLE (days_late integer, interest numeric, fixed_fee numeric, total numeric, settled_on date, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	paid_on date[];
	paid numeric[];
BEGIN
	SELECT array_agg(a.allocated_on ORDER BY a.allocated_on, a.id), array_agg(a.amount ORDER BY a.allocated_on, a.id)
	  INTO paid_on, paid
	  FROM ar.allocation a
	 WHERE a.company_id = basis.company_id AND a.invoice_id = basis.invoice_id AND a.allocated_on <= as_of;
	RETURN QUERY SELECT r.* FROM ar._penalty_compute(basis.regime, basis.amount, basis.due_date, as_of, paid_on, paid,
	                                                 basis.contract_rate, basis.currency, false) r;
END $$;

CREATE OR REPLACE FUNCTION ar._penalty_claim_target(invoice_id bigint, OUT basis ar._penalty_basis, OUT claim ar.penalty_claim)
LANGUAGE plpgsql AS $$
BEGIN
	basis := ar._penalty_basis_of(invoice_id);
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = basis.company_id AND i.id = invoice_id FOR UPDATE;
	IF NOT basis.liable THEN
		RAISE EXCEPTION 'invoice % bears no late-payment penalties', basis.number
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'Credit notes, cancelled invoices and invoices billing penalties bear none.';
	END IF;
	SELECT * INTO claim FROM ar.penalty_claim c
	 WHERE c.company_id = basis.company_id AND c.invoice_id = _penalty_claim_target.invoice_id FOR UPDATE;
END $$;
