-- ---------------------------------------------------------------------------
-- Payments known outside bank statements, customer credit, credit notes,
-- write-offs and cancellations.  All of them go through ar.allocation, so
-- the invariants and the audit trail of the ledger apply.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ar._require_positive(what text, value numeric) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF value IS NULL OR value <= 0 OR value IN ('NaN', 'Infinity') THEN  -- NaN sorts above every number
		RAISE EXCEPTION '% must be a positive amount, not %', what, coalesce(value::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION ar.record_payment(invoice_number text, amount numeric, paid_on date,
                                  method text DEFAULT 'transfer')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	applied numeric;
	allocation_id bigint;
BEGIN
	PERFORM ar._require_positive('payment', amount);
	IF paid_on IS NULL THEN
		RAISE EXCEPTION 'paid_on must be given' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the payment itself within the bounds, not only the parts it is split into
	PERFORM ar._check_amount('ar.record_payment: payment', amount), ar._check_date('ar.record_payment: paid_on', paid_on);
	inv := ar._invoice_by_number(invoice_number);
	IF inv.amount < 0 THEN
		RAISE EXCEPTION 'invoice "%" is a credit note', invoice_number
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ar.apply_credit_note() to set it against an invoice.';
	END IF;
	IF inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice "%" is cancelled', invoice_number USING ERRCODE = 'invalid_parameter_value';
	END IF;
	applied := least(amount, inv.open_amount);
	IF applied > 0 THEN
		INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, payment_means)
		VALUES (inv.company_id, inv.id, applied, paid_on, 'manual', method)
		RETURNING id INTO allocation_id;
	END IF;
	IF amount > applied THEN
		INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, invoice_id, created_on, note)
		VALUES (inv.company_id, inv.customer_id, inv.currency, amount - applied, 'overpayment', inv.id, paid_on,
		        format('%s payment of %s on invoice %s', method, amount, inv.number));
	END IF;
	RETURN allocation_id;
END $$;

-- Spends the customer's available credit on its oldest open invoices of the
-- same currency (due date, then id).  Returns the allocations made.
CREATE FUNCTION ar.apply_customer_credit(customer_id bigint, applied_on date DEFAULT current_date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	credit ar.customer_credit;
	inv ar.invoice;
	take numeric;
	left_over numeric;
	result ar.allocation;
	company bigint;
BEGIN
	SELECT c.company_id INTO company FROM ar.customer c WHERE c.id = apply_customer_credit.customer_id;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	IF applied_on IS NULL THEN
		RAISE EXCEPTION 'applied_on must be given' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- every lock names the company (routed to its shard on Citus); only the
	-- credit and the invoices that existed on applied_on (ar._apply_open_credits'
	-- rule): an allocation dated before either would rewrite the past
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.company_id = company AND c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	                 AND c.created_on <= applied_on
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.company_id = credit.company_id AND i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL AND i.issue_date <= applied_on
		            ORDER BY i.due_date, i.id FOR UPDATE LOOP
			EXIT WHEN left_over = 0;
			take := least(left_over, inv.open_amount);
			INSERT INTO ar.allocation (company_id, invoice_id, customer_credit_id, amount, allocated_on, method)
			VALUES (inv.company_id, inv.id, credit.id, take, applied_on, 'credit')
			RETURNING * INTO result;
			left_over := left_over - take;
			RETURN NEXT result;
		END LOOP;
	END LOOP;
END $$;

-- Sets a credit note (negative invoice) against an invoice of the same
-- customer: two allocations of opposite sign, method 'credit_note'.
CREATE FUNCTION ar.apply_credit_note(credit_note_id bigint, invoice_id bigint, amount numeric DEFAULT NULL,
                                     applied_on date DEFAULT current_date)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	note ar.invoice;
	inv ar.invoice;
	take numeric;
	company bigint;
BEGIN
	-- lock in (company, id) order so two calls on the same pair cannot
	-- deadlock, one statement per company (routed to its shard on Citus)
	FOR company IN SELECT DISTINCT i.company_id FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) ORDER BY 1 LOOP
		PERFORM ar._require_company(company, 'collector');
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = company AND i.id IN (credit_note_id, invoice_id) ORDER BY i.id FOR UPDATE;
	END LOOP;
	SELECT * INTO note FROM ar.invoice i WHERE i.id = credit_note_id;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = apply_credit_note.invoice_id;
	IF note.id IS NULL OR note.amount >= 0 THEN
		RAISE EXCEPTION 'invoice % is not a credit note', coalesce(note.number, credit_note_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF inv.id IS NULL OR inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is not an invoice with a positive amount', coalesce(inv.number, invoice_id::text)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (note.customer_id, note.currency) IS DISTINCT FROM (inv.customer_id, inv.currency) THEN
		RAISE EXCEPTION 'credit note % and invoice % belong to different customers or currencies', note.number, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amount IS NOT NULL THEN
		PERFORM ar._require_positive('credit note amount', amount);
	END IF;
	-- a set-off dated before either document was issued would rewrite the past
	PERFORM ar._require_issued_by(note, applied_on, 'applied'), ar._require_issued_by(inv, applied_on, 'applied');
	take := least(coalesce(amount, 'Infinity'), -note.open_amount, inv.open_amount);
	IF take <= 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, take, applied_on, 'credit_note', 'credit note ' || note.number),
	       (note.company_id, note.id, -take, applied_on, 'credit_note', 'invoice ' || inv.number);
	RETURN take;
END $$;

-- ------------------------------------------------------------ open credits

-- The open credit notes of an account (few next to the invoices): what
-- ar.open_credits and a dunning run read of them.
CREATE INDEX invoice_open_credit_note ON ar.invoice (customer_id, currency) WHERE open_amount < 0;

-- ar.open_credits(as_of): 49_open_credits.sql.

CREATE VIEW ar.open_credit_items AS
SELECT * FROM ar.open_credits(current_date);

COMMENT ON VIEW ar.open_credit_items IS 'Open credit notes and unapplied customer credit today (ar.open_credits(current_date)): what ar.apply_open_credits would allocate.';
COMMENT ON COLUMN ar.open_credit_items.kind IS 'credit_note (a negative invoice still open) or customer_credit (ar.customer_credit not yet used).';
COMMENT ON COLUMN ar.open_credit_items.credit_id IS 'ar.invoice.id of the credit note, or ar.customer_credit.id.';
COMMENT ON COLUMN ar.open_credit_items.company_id IS 'Company owing the credit.';
COMMENT ON COLUMN ar.open_credit_items.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.open_credit_items.currency IS 'Currency of the credit: it is set off only against invoices in the same currency.';
COMMENT ON COLUMN ar.open_credit_items.number IS 'Credit note number (NULL for customer credit).';
COMMENT ON COLUMN ar.open_credit_items.credit_date IS 'Issue date of the credit note, or date the customer credit was created.';
COMMENT ON COLUMN ar.open_credit_items.amount IS 'Its full amount (positive).';
COMMENT ON COLUMN ar.open_credit_items.available IS 'What is still available to set off (positive).';
COMMENT ON COLUMN ar.open_credit_items.note IS 'For customer credit: its source (overpayment, unapplied_payment, manual) and note.';

CREATE FUNCTION ar.write_off_invoice(invoice_id bigint, reason text, written_off_on date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	allocation_id bigint;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = write_off_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(inv.company_id, 'admin');
	SELECT * INTO inv FROM ar.invoice i WHERE i.company_id = inv.company_id AND i.id = write_off_invoice.invoice_id FOR UPDATE;
	PERFORM ar._require_issued_by(inv, written_off_on, 'written off');
	IF inv.open_amount = 0 THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, inv.open_amount, written_off_on, 'write_off', reason)
	RETURNING id INTO allocation_id;
	RETURN allocation_id;
END $$;

CREATE FUNCTION ar.cancel_invoice(invoice_id bigint, cancelled_on date DEFAULT current_date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint;
BEGIN
	-- the company read first, the update naming it (routed to its shard on Citus)
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = cancel_invoice.invoice_id;
	PERFORM ar._require_company(company, 'admin') WHERE company IS NOT NULL;
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on
	 WHERE i.company_id = company AND i.id = cancel_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
END $$;
