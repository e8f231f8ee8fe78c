-- ---------------------------------------------------------------------------
-- Payments known outside bank statements, customer credit, credit notes,
-- write-offs and cancellations.  All of them go through ar.allocation, so
-- the invariants and the audit trail of the ledger apply.
-- ---------------------------------------------------------------------------

-- The invoice of that number among the companies the caller collects for,
-- locked; the number must name one invoice there.  A number found only in
-- other companies is refused naming the company (42501).
CREATE FUNCTION ar._invoice_by_number(invoice_number text) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	found_count integer;
	mine constant bigint[] := ar._company_ids('collector');
BEGIN
	SELECT count(*) INTO found_count FROM ar.invoice WHERE number = invoice_number AND company_id = ANY (mine);
	IF found_count = 0 THEN
		SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number ORDER BY company_id LIMIT 1;
		IF FOUND THEN
			PERFORM ar._require_company(inv.company_id, 'collector');
		END IF;
		RAISE EXCEPTION 'invoice "%" does not exist', invoice_number USING ERRCODE = 'no_data_found';
	ELSIF found_count > 1 THEN
		RAISE EXCEPTION 'invoice number "%" exists in % companies', invoice_number, found_count
			USING ERRCODE = 'cardinality_violation',
			      HINT = 'Insert into ar.allocation with the invoice id instead.';
	END IF;
	SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number AND company_id = ANY (mine) FOR UPDATE;
	PERFORM ar._require_company(inv.company_id, 'collector');
	RETURN inv;
END $$;

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
	FOR credit IN SELECT * FROM ar.customer_credit c
	               WHERE c.customer_id = apply_customer_credit.customer_id AND c.remaining > 0
	               ORDER BY c.created_on, c.id FOR UPDATE LOOP
		left_over := credit.remaining;
		FOR inv IN SELECT * FROM ar.invoice i
		            WHERE i.customer_id = credit.customer_id AND i.currency = credit.currency
		              AND i.open_amount > 0 AND i.cancelled_on IS NULL
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
	FOR company IN SELECT DISTINCT i.company_id FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) LOOP
		PERFORM ar._require_company(company, 'collector');
	END LOOP;
	-- lock in id order so two calls on the same pair cannot deadlock
	PERFORM 1 FROM ar.invoice i WHERE i.id IN (credit_note_id, invoice_id) ORDER BY i.id FOR UPDATE;
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
	take := least(coalesce(amount, 'Infinity'), -note.open_amount, inv.open_amount);
	IF take <= 0 THEN
		RETURN 0;
	END IF;
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
	VALUES (inv.company_id, inv.id, take, applied_on, 'credit_note', 'credit note ' || note.number),
	       (note.company_id, note.id, -take, applied_on, 'credit_note', 'invoice ' || inv.number);
	RETURN take;
END $$;

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
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = write_off_invoice.invoice_id FOR UPDATE;
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
BEGIN
	PERFORM ar._require_company(i.company_id, 'admin') FROM ar.invoice i WHERE i.id = cancel_invoice.invoice_id;
	UPDATE ar.invoice i SET cancelled_on = cancel_invoice.cancelled_on WHERE i.id = cancel_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
END $$;
