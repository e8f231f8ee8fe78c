-- ---------------------------------------------------------------------------
-- ar.promise_to_pay (one of the 80_dunning_* pieces; the upgrade's
-- src/upgrade/0.1.0--0.2.0/92_dunning_distributed_1_promise.sql is a link
-- to it): a promise to pay an invoice, recorded with its communication.
-- A promise made on an earlier day (made_on) is checked against what the
-- invoice owed that day: ar._open_on_distributed (PL/pgSQL, the rule of
-- ar._open_on: 80_dunning_5_run_0_distributed.sql), which Citus plans on a
-- distributed ledger, where the SQL ar._open_on is refused ("could not
-- create distributed plan", doc/scale_out.md blocker 2); one node gives
-- the same amount.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ar.promise_to_pay(invoice_id bigint, promised_on date, amount numeric, made_on date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	open_then numeric;
	promise_id bigint;
BEGIN
	inv := ar._invoice_or_error(invoice_id);
	IF promised_on IS NULL OR NOT isfinite(promised_on) THEN
		RAISE EXCEPTION 'a promise needs a finite promised date, not %', coalesce(promised_on::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF made_on > promised_on THEN
		RAISE EXCEPTION 'a promise made on % cannot be for %', to_char(made_on, 'YYYY-MM-DD'), to_char(promised_on, 'YYYY-MM-DD') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._require_positive('promised amount', amount);
	IF inv.amount <= 0 OR inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice % is a credit note or cancelled: nothing is owed on it', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	open_then := CASE WHEN made_on IS NULL THEN inv.open_amount ELSE ar._open_on_distributed(inv.id, made_on) END;
	IF open_then <= 0 THEN
		RAISE EXCEPTION 'invoice % is already paid', inv.number USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF amount > open_then THEN
		RAISE EXCEPTION 'a promise of % exceeds the open amount % of invoice %', amount, open_then, inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_promise (company_id, invoice_id, customer_id, promised_on, amount, made_on, open_at_promise)
	VALUES (inv.company_id, inv.id, inv.customer_id, promise_to_pay.promised_on, promise_to_pay.amount,
	        promise_to_pay.made_on, open_then)
	RETURNING id INTO promise_id;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
	VALUES (inv.company_id, inv.customer_id, made_on, 'promise', 'inbound',
	        format('Promise to pay %s on invoice %s by %s', ar.format_money(amount, inv.currency), inv.number, to_char(promised_on, 'YYYY-MM-DD')),
	        inv.id, promise_id);
	RETURN promise_id;
END $$;
