-- ---------------------------------------------------------------------------
-- The invoice a penalty decision is about, locked, and its claim decision if
-- any: a piece of its own, so that the upgrade re-creates the function from
-- the same text.  Both locks name the invoice's company (routed to the
-- company's shard on Citus, doc/scale_out.md blocker 5).
-- ---------------------------------------------------------------------------

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
