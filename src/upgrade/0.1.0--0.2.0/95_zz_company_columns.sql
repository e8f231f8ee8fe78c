-- ---------------------------------------------------------------------------
-- company_id on the tables of company data that had none (0.1.0 read them
-- through the row they belong to): the customer's for
-- ar.customer_dunning_policy, the plan's for ar.payment_plan_invoice
-- and ar.payment_plan_instalment, the bank line's for
-- ar.reconcile_adjustment.  Their policies become those of every table of
-- company data (96_company_rls.sql, next); their keys get company_id with
-- every other table's (98_zz_distribution_keys.sql).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['customer_dunning_policy', 'payment_plan_invoice',
	                         'payment_plan_instalment', 'reconcile_adjustment'] LOOP
		EXECUTE format('DROP POLICY company_read ON ar.%I', t);
		EXECUTE format('ALTER TABLE ar.%I NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY, ADD COLUMN company_id bigint', t);
	END LOOP;
END $$;

UPDATE ar.customer_dunning_policy x SET company_id = c.company_id FROM ar.customer c WHERE c.id = x.customer_id;
UPDATE ar.payment_plan_invoice x SET company_id = p.company_id FROM ar.payment_plan p WHERE p.id = x.plan_id;
UPDATE ar.payment_plan_instalment x SET company_id = p.company_id FROM ar.payment_plan p WHERE p.id = x.plan_id;
UPDATE ar.reconcile_adjustment x SET company_id = t.company_id FROM ar.bank_transaction t WHERE t.id = x.bank_transaction_id;

ALTER TABLE ar.customer_dunning_policy ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.payment_plan_invoice ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.payment_plan_instalment ALTER COLUMN company_id SET NOT NULL;
ALTER TABLE ar.reconcile_adjustment ALTER COLUMN company_id SET NOT NULL;
COMMENT ON COLUMN ar.reconcile_adjustment.company_id IS 'The company of the allocation and of the line.';

-- what ar.bank_statement_summary groups by (the statement's primary key
-- gets company_id in 98_zz_distribution_keys.sql)
CREATE OR REPLACE VIEW ar.bank_statement_summary AS
SELECT s.id AS statement_id,
       s.company_id,
       s.format,
       s.account_id,
       s.statement_ref,
       s.sequence_no,
       s.currency,
       s.opening_date,
       s.opening_balance,
       s.movements,
       s.closing_date,
       s.closing_balance,
       s.balanced,
       s.balance_difference,
       t.lines,
       t.credit_lines,
       t.credits,
       t.debit_lines,
       t.debits,
       t.open_lines,
       s.imported_at,
       s.imported_by
  FROM ar.bank_statement s
  -- the lines of each statement (not a GROUP BY of the statement, which
  -- would lean on its primary key: 97_distribution_keys.sql changes it)
  CROSS JOIN LATERAL (
	SELECT count(t.id) AS lines,
	       count(t.id) FILTER (WHERE t.amount > 0) AS credit_lines,
	       coalesce(sum(t.amount) FILTER (WHERE t.amount > 0), 0) AS credits,
	       count(t.id) FILTER (WHERE t.amount < 0) AS debit_lines,
	       coalesce(sum(t.amount) FILTER (WHERE t.amount < 0), 0) AS debits,
	       count(t.id) FILTER (WHERE t.status IN ('unmatched', 'proposed')) AS open_lines
	  FROM ar.bank_transaction t
	 WHERE t.statement_id = s.id AND t.company_id = s.company_id) t;
ALTER VIEW ar.bank_statement_summary SET (security_invoker = true);

-- the functions that write these tables, or name keys by their columns
-- (ON CONFLICT), as in the install pieces
CREATE OR REPLACE FUNCTION ar._review_decided(line ar.bank_transaction, decided_outcome text, decided_method text,
                                   decided_customer bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, customer_id, invoice_ids,
	                                    allocation_ids)
	VALUES (line.id, line.company_id, decided_outcome, decided_method, decided_customer,
	        coalesce((SELECT array_agg(DISTINCT a.invoice_id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id), '{}'),
	        (SELECT array_agg(a.id ORDER BY a.id) FROM ar.allocation a WHERE a.bank_transaction_id = line.id))
	ON CONFLICT (bank_transaction_id, company_id) DO UPDATE
	   SET outcome = EXCLUDED.outcome,
	       method = coalesce(EXCLUDED.method, r.method),
	       customer_id = coalesce(EXCLUDED.customer_id, r.customer_id),
	       invoice_ids = EXCLUDED.invoice_ids,
	       allocation_ids = EXCLUDED.allocation_ids,
	       decided_at = now();
	-- a line fully settled has nothing left to review
	IF (SELECT t.allocated_amount = t.amount FROM ar.bank_transaction t WHERE t.id = line.id) THEN
		UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = now()
		 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar.accept_proposal(proposal_id bigint)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
	line ar.bank_transaction;
	x record;
	a ar.allocation;
	n integer;
	net numeric[];
	left_over numeric;
	take numeric;
	big integer;
BEGIN
	PERFORM ar._require_company(mp.company_id, 'collector') FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;
	line := ar._review_line(p.bank_transaction_id);

	IF p.method = 'return' THEN
		-- undo the collection: its allocations go, the invoices reopen
		SELECT count(*) INTO n FROM ar.allocation al WHERE al.id = ANY (p.reverse_allocation_ids);
		IF n <> cardinality(p.reverse_allocation_ids) THEN
			RAISE EXCEPTION 'proposal %: some allocations it would reverse no longer exist', proposal_id
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Reject it and reverse what is left with ar.unallocate().';
		END IF;
		PERFORM ar._reverse_collection(p.reverse_allocation_ids, line.id, p.run_id);
		UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now() WHERE r.bank_transaction_id = line.id;
	ELSE
		IF line.allocated_amount <> 0 THEN
			RAISE EXCEPTION 'bank transaction % already allocates %', line.id, line.allocated_amount
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      DETAIL = format('Proposal %s was made when nothing was allocated.', proposal_id),
				      HINT = 'Reject it, or undo the allocations with ar.unallocate() first.';
		END IF;
		-- credit notes are set against the invoices first (largest first), so
		-- that the line only ever allocates positive amounts within its own
		net := p.amounts;
		FOR k IN 1 .. cardinality(p.amounts) LOOP
			CONTINUE WHEN p.amounts[k] >= 0;
			left_over := -p.amounts[k];
			net[k] := 0;
			WHILE left_over > 0 LOOP
				SELECT j INTO big FROM generate_subscripts(net, 1) j WHERE net[j] > 0 ORDER BY net[j] DESC, j LIMIT 1;
				EXIT WHEN big IS NULL;
				take := least(left_over, net[big]);
				PERFORM ar.apply_credit_note(p.invoice_ids[k], p.invoice_ids[big], take, line.booking_date);
				left_over := left_over - take;
				net[big] := net[big] - take;
			END LOOP;
		END LOOP;
		FOR x IN
			SELECT i.id, i.company_id, u.amount, u.shortfall
			  FROM unnest(p.invoice_ids, net, coalesce(p.shortfalls, array_fill(0::numeric, ARRAY[cardinality(p.amounts)])))
			       WITH ORDINALITY AS u(invoice_id, amount, shortfall, ord)
			  JOIN ar.invoice i ON i.id = u.invoice_id
			 WHERE u.amount > 0
			 ORDER BY u.ord
		LOOP
			INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
			                           payment_means, score, note)
			VALUES (x.company_id, x.id, line.id, x.amount, line.booking_date, p.method,
			        coalesce(p.payment_means, 'transfer'), p.score, format('proposal %s accepted', p.id))
			RETURNING * INTO a;
			RETURN NEXT a;
			IF x.shortfall > 0 THEN
				-- a shortfall within the write-off limit (bank charges) is written off
				INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note)
				VALUES (x.company_id, x.id, x.shortfall, line.booking_date, 'shortfall',
				        format('shortfall of %s on bank transaction %s written off: within the write-off limit (proposal %s accepted)',
				               x.shortfall, line.id, p.id))
				RETURNING * INTO a;
				INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind, company_id)
				VALUES (a.id, line.id, x.id, 'shortfall', x.company_id);
				RETURN NEXT a;
			END IF;
		END LOOP;
		IF p.credit_amount > 0 THEN
			IF p.customer_id IS NULL THEN
				RAISE EXCEPTION 'proposal % credits a customer but names none', proposal_id
					USING ERRCODE = 'object_not_in_prerequisite_state';
			END IF;
			INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, bank_transaction_id,
			                                invoice_id, created_on, note)
			VALUES (line.company_id, p.customer_id, line.currency, p.credit_amount,
			        coalesce(p.credit_source, 'unapplied_payment'), line.id, p.invoice_ids[1], line.booking_date,
			        format('%s of bank transaction %s (proposal %s accepted)',
			               coalesce(p.credit_source, 'unapplied_payment'), line.id, p.id));
		END IF;
	END IF;

	UPDATE ar.match_proposal mp SET status = 'accepted', decided_by = session_user, decided_at = now()
	 WHERE mp.id = p.id;
	UPDATE ar.match_proposal mp SET status = 'superseded', decided_by = session_user, decided_at = now()
	 WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';
	IF p.method <> 'return' THEN
		PERFORM ar._review_decided(line, 'accepted', p.method, p.customer_id);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar._reverse_collection(allocation_ids bigint[], return_line bigint, by_run bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	original bigint;
BEGIN
	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	PERFORM 1 FROM ar.invoice i
	 WHERE i.id IN (SELECT a.invoice_id FROM ar.allocation a WHERE a.id = ANY (allocation_ids))
	 ORDER BY i.id FOR UPDATE;
	PERFORM ar._record_write_off_reversal(
		ARRAY(SELECT r.allocation_id FROM ar.reconcile_adjustment r WHERE r.bank_transaction_id = original),
		format('the collection it completed (bank transaction %s) was returned by bank transaction %s', original, return_line));
	DELETE FROM ar.allocation x
	 USING ar.reconcile_adjustment r
	 WHERE r.allocation_id = x.id AND r.bank_transaction_id = original;
	DELETE FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	UPDATE ar.bank_transaction t SET status = 'ignored'
	 WHERE t.id IN (original, return_line) AND t.allocated_amount = 0 AND t.status <> 'ignored';
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, run_id, outcome, flags)
	SELECT t.id, t.company_id, by_run, 'returned', '{}' FROM ar.bank_transaction t WHERE t.id = original
	ON CONFLICT (bank_transaction_id, company_id) DO UPDATE SET outcome = 'returned', decided_at = now();
	UPDATE ar.reconcile_line r SET returned_by = return_line WHERE r.bank_transaction_id = original;
END $$;

CREATE OR REPLACE FUNCTION ar._record_write_off_reversal(allocation_ids bigint[], reason text) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO ar.write_off_reversal (allocation_id, company_id, invoice_id, bank_transaction_id, amount,
	                                   written_off_on, kind, reason, decided_by, decided_at, reversal_reason)
	SELECT a.id, a.company_id, a.invoice_id,
	       (SELECT r.bank_transaction_id FROM ar.reconcile_adjustment r WHERE r.allocation_id = a.id),
	       a.amount, a.allocated_on, a.method, a.note, a.created_by, a.created_at, reason
	  FROM ar.allocation a
	 WHERE a.id = ANY (allocation_ids) AND a.method IN ('write_off', 'shortfall')
	ON CONFLICT (allocation_id, company_id) DO NOTHING
$$;

CREATE OR REPLACE FUNCTION ar._allocation_write_off_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	INSERT INTO ar.write_off_reversal (allocation_id, company_id, invoice_id, amount, written_off_on, kind, reason,
	                                   decided_by, decided_at, reversal_reason)
	SELECT c.id, c.company_id, c.invoice_id, c.amount, c.allocated_on, c.method, c.note, c.created_by, c.created_at,
	       'allocation deleted'
	  FROM changed c
	 WHERE c.method IN ('write_off', 'shortfall')
	ON CONFLICT (allocation_id, company_id) DO NOTHING;
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ar.create_payment_plan(customer_id bigint, invoice_ids bigint[], due_dates date[],
                                       amounts numeric[] DEFAULT NULL, starts_on date DEFAULT NULL,
                                       grace_days integer DEFAULT 0, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	n integer := cardinality(due_dates);
	total numeric;
	currencies text[];
	share numeric;
	bad record;
	plan_id bigint;
	numbers text;
BEGIN
	c := ar._customer_or_error(customer_id);
	IF coalesce(cardinality(invoice_ids), 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan covers at least one invoice' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(n, 0) = 0 THEN
		RAISE EXCEPTION 'a payment plan has at least one instalment' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_position(invoice_ids, NULL) IS NOT NULL OR array_position(due_dates, NULL) IS NOT NULL
	   OR (amounts IS NOT NULL AND array_position(amounts, NULL) IS NOT NULL) THEN
		RAISE EXCEPTION 'invoice ids, due dates and amounts cannot contain NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF grace_days IS NULL OR grace_days < 0 THEN
		RAISE EXCEPTION 'grace_days must be zero or more, not %', coalesce(grace_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 2..n LOOP
		IF due_dates[i] <= due_dates[i - 1] THEN
			RAISE EXCEPTION 'instalment % is due on %, not after instalment % (%)', i, due_dates[i], i - 1, due_dates[i - 1]
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	IF starts_on > due_dates[1] THEN
		RAISE EXCEPTION 'the plan starts on %, after its first instalment (%)', starts_on, due_dates[1]
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- lock the invoices, in id order
	PERFORM 1 FROM ar.invoice i WHERE i.id = ANY (invoice_ids) ORDER BY i.id FOR UPDATE;
	SELECT u.id AS invoice_id, i.number, i.customer_id, i.amount, i.open_amount, i.cancelled_on INTO bad
	  FROM unnest(invoice_ids) u(id) LEFT JOIN ar.invoice i ON i.id = u.id
	 WHERE i.id IS NULL OR i.customer_id <> c.id OR i.amount <= 0 OR i.open_amount <= 0 OR i.cancelled_on IS NOT NULL
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % cannot be in a payment plan of customer %', coalesce(bad.number, bad.invoice_id::text), c.code
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = CASE WHEN bad.number IS NULL THEN 'It does not exist.'
			                    WHEN bad.customer_id <> c.id THEN 'It belongs to another customer.'
			                    ELSE 'Only open invoices (not credit notes, not cancelled) can be.' END;
	END IF;
	IF (SELECT count(DISTINCT u) FROM unnest(invoice_ids) u) <> cardinality(invoice_ids) THEN
		RAISE EXCEPTION 'an invoice is listed twice in the payment plan' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.number INTO numbers
	  FROM ar.payment_plan_invoice pi JOIN ar.payment_plan p ON p.id = pi.plan_id JOIN ar.invoice i ON i.id = pi.invoice_id
	 WHERE pi.invoice_id = ANY (invoice_ids) AND p.status = 'active'
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice % is already in an active payment plan', numbers
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Cancel that plan first (ar.cancel_payment_plan).';
	END IF;
	SELECT sum(i.open_amount), array_agg(DISTINCT i.currency::text), string_agg(i.number, ', ' ORDER BY i.due_date, i.number)
	  INTO total, currencies, numbers
	  FROM ar.invoice i WHERE i.id = ANY (invoice_ids);
	IF cardinality(currencies) > 1 THEN
		RAISE EXCEPTION 'a payment plan covers invoices of one currency, not %', array_to_string(currencies, ', ')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF amounts IS NULL THEN
		share := trunc(total / n, 2);
		amounts := array_fill(share, ARRAY[n]);
		amounts[n] := total - share * (n - 1);
	ELSIF cardinality(amounts) <> n THEN
		RAISE EXCEPTION '% due dates but % amounts', n, cardinality(amounts) USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 1..n LOOP
		PERFORM ar._require_positive(format('instalment %s', i), amounts[i]);
	END LOOP;
	IF (SELECT sum(a) FROM unnest(amounts) a) <> total THEN
		RAISE EXCEPTION 'the instalments add up to %, the invoices owe %', (SELECT sum(a) FROM unnest(amounts) a), total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.payment_plan (company_id, customer_id, currency, total, starts_on, grace_days, note)
	VALUES (c.company_id, c.id, currencies[1], total, create_payment_plan.starts_on, create_payment_plan.grace_days,
	        create_payment_plan.note)
	RETURNING id INTO plan_id;
	INSERT INTO ar.payment_plan_invoice (plan_id, invoice_id, company_id)
	SELECT plan_id, u, c.company_id FROM unnest(invoice_ids) u;
	INSERT INTO ar.payment_plan_instalment (plan_id, seq, due_on, amount, company_id)
	SELECT plan_id, s, due_dates[s], amounts[s], c.company_id FROM generate_series(1, n) s;
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, detail, plan_id)
	VALUES (c.company_id, c.id, starts_on, 'plan_created', 'internal',
	        format('Payment plan of %s instalment(s) for %s, from %s to %s', n, ar.format_money(total, currencies[1]),
	               due_dates[1], due_dates[n]),
	        format('Invoices: %s', numbers), plan_id);
	RETURN plan_id;
END $$;

CREATE OR REPLACE FUNCTION ar.set_dunning_policy(customer_id bigint, policy_code text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	c ar.customer;
	p ar.dunning_policy;
BEGIN
	c := ar._customer_or_error(customer_id);
	PERFORM ar._require_company(c.company_id, 'admin');
	IF policy_code IS NULL THEN
		DELETE FROM ar.customer_dunning_policy x WHERE x.customer_id = c.id;
	ELSE
		SELECT * INTO p FROM ar.dunning_policy d WHERE d.code = policy_code;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'dunning policy "%" does not exist', policy_code USING ERRCODE = 'no_data_found';
		END IF;
		INSERT INTO ar.customer_dunning_policy (customer_id, policy_id, company_id) VALUES (c.id, p.id, c.company_id)
		ON CONFLICT ON CONSTRAINT customer_dunning_policy_pkey
		DO UPDATE SET policy_id = EXCLUDED.policy_id, set_at = now(), set_by = session_user;
	END IF;
	INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary)
	VALUES (c.company_id, c.id, 'policy', 'internal',
	        coalesce('Dunning policy set to ' || policy_code, 'Own dunning policy removed (segment or default policy applies)'));
END $$;

CREATE OR REPLACE FUNCTION ar._batch_quarantine(batch text, tables text[], company bigint DEFAULT NULL,
                                     as_of date DEFAULT NULL, record boolean DEFAULT true)
RETURNS TABLE (object_table text, object_id bigint, company_id bigint, customer_id bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v record;
	found_count integer := 0;
BEGIN
	FOR v IN SELECT x.* FROM ar.input_bound_violations() x
	          WHERE x.table_name = ANY (_batch_quarantine.tables)
	            AND (_batch_quarantine.company IS NULL OR x.company_id IS NULL OR x.company_id = _batch_quarantine.company) LOOP
		found_count := found_count + 1;
		object_table := v.table_name;
		object_id := v.row_id;
		company_id := v.company_id;
		customer_id := CASE v.table_name
			WHEN 'customer' THEN v.row_id
			WHEN 'invoice' THEN (SELECT i.customer_id FROM ar.invoice i WHERE i.id = v.row_id)
			WHEN 'customer_credit' THEN (SELECT c.customer_id FROM ar.customer_credit c WHERE c.id = v.row_id)
			WHEN 'allocation' THEN (SELECT i.customer_id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
			                         WHERE a.id = v.row_id)
			WHEN 'dispute' THEN (SELECT d.customer_id FROM ar.dispute d WHERE d.id = v.row_id)
			WHEN 'payment_promise' THEN (SELECT p.customer_id FROM ar.payment_promise p WHERE p.id = v.row_id)
			WHEN 'payment_plan' THEN (SELECT p.customer_id FROM ar.payment_plan p WHERE p.id = v.row_id)
			WHEN 'payment_plan_instalment' THEN (SELECT p.customer_id FROM ar.payment_plan_instalment s
			                                      JOIN ar.payment_plan p ON p.id = s.plan_id WHERE s.id = v.row_id)
			WHEN 'dunning_block' THEN (SELECT b.customer_id FROM ar.dunning_block b WHERE b.id = v.row_id)
		END;
		IF found_count <= 10 THEN
			RAISE WARNING '%: ar.% % skipped: % = % (%)', batch, v.table_name, v.row_id, v.column_name,
			              coalesce(v.value, 'NULL'), v.problem
				USING DETAIL = 'The row is beyond the input bounds (its table''s constraint was bypassed); the batch goes on without it.',
				      HINT = 'Correct the row; ar.batch_problem keeps the list.';
		END IF;
		IF _batch_quarantine.record THEN
			INSERT INTO ar.batch_problem AS p (batch, company_id, object_table, object_id, column_name, value, sqlstate,
			                                   error, last_as_of)
			VALUES (_batch_quarantine.batch, v.company_id, v.table_name, v.row_id, v.column_name, v.value, '22000',
			        format('beyond the input bounds: %s', v.problem), _batch_quarantine.as_of)
			ON CONFLICT (batch, object_table, object_id, column_name, company_id) DO UPDATE
			   SET value = EXCLUDED.value, error = EXCLUDED.error, company_id = EXCLUDED.company_id,
			       last_seen_at = now(), last_as_of = EXCLUDED.last_as_of, occurrences = p.occurrences + 1;
		END IF;
		RETURN NEXT;
	END LOOP;
	IF found_count > 10 THEN
		RAISE WARNING '%: % row(s) beyond the input bounds skipped in all', batch, found_count
			USING HINT = 'ar.batch_problem lists them.';
	END IF;
END $$;
