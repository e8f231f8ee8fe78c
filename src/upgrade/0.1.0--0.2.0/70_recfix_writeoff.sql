-- 0.2.0 (issue 13): no silent write-off.  A short payment is applied for
-- what it is and the rest stays open unless within the company's new
-- write_off_limit (0 by default, also for the companies of an upgraded
-- database); shortfalls written off count in written_off_amount; the
-- write-off report, the reversal of a write-off, write-offs among the
-- anomalies; collectors set aside bank lines that are not customer
-- payments; ar.predict_payment never fails on a tiny probability.

ALTER TABLE ar.reconcile_config
	ADD COLUMN write_off_limit numeric NOT NULL DEFAULT 0 CHECK (write_off_limit >= 0 AND write_off_limit < 1e9);
COMMENT ON COLUMN ar.reconcile_config.shortfall_abs IS 'A payment short of the open amount by at most this (bank charges) is still recognised as that invoice''s payment; the shortfall stays open unless within write_off_limit.';
COMMENT ON COLUMN ar.reconcile_config.shortfall_pct IS 'Or short by at most this percentage of the open amount (early-payment discount).';
COMMENT ON COLUMN ar.reconcile_config.close_shortfall IS 'Write off a recognised shortfall of at most write_off_limit (allocation of method shortfall); false: never.';
COMMENT ON COLUMN ar.reconcile_config.write_off_limit IS 'Largest shortfall (in the invoice''s currency) a run or an accepted proposal writes off by itself, recorded as a write-off; 0 (the default): none, a short payment leaves the difference open. Never for a payment announced as a deposit or instalment.';

-- shortfalls closed by 0.1.0 runs were amounts closed without a payment:
-- they count in written_off_amount now (derived columns: set with the
-- maintenance trigger off, the status recomputed by its rule)
ALTER TABLE ar.invoice DISABLE TRIGGER invoice_maintain;
UPDATE ar.invoice i
   SET written_off_amount = i.written_off_amount + s.amount,
       status = ar.invoice_status(i.amount, i.open_amount, i.written_off_amount + s.amount, i.disputed, i.cancelled_on IS NOT NULL)
  FROM (SELECT a.invoice_id, sum(a.amount) AS amount FROM ar.allocation a WHERE a.method = 'shortfall' GROUP BY a.invoice_id) s
 WHERE i.id = s.invoice_id;
ALTER TABLE ar.invoice ENABLE TRIGGER invoice_maintain;

-- ----------------------------------------------------------- write-offs

-- Write-offs: every amount closed without a payment is an allocation of
-- method write_off (a person's decision, ar.write_off_invoice) or shortfall
-- (a short payment within the company's write-off limit, by ar.reconcile or
-- an accepted proposal); both count in the invoice's written_off_amount.
-- The allocation keeps its reason (note), who decided (created_by) and
-- when.  Reversing one deletes the allocation, which reopens the invoice;
-- what was reversed, by whom and why stays in ar.write_off_reversal.

CREATE TABLE ar.write_off_reversal (
	allocation_id        bigint PRIMARY KEY,
	company_id           bigint NOT NULL,
	invoice_id           bigint NOT NULL REFERENCES ar.invoice ON DELETE CASCADE,
	bank_transaction_id  bigint,
	amount               numeric NOT NULL,
	written_off_on       date NOT NULL,
	kind                 text NOT NULL CHECK (kind IN ('write_off', 'shortfall')),
	reason               text,
	decided_by           text NOT NULL,
	decided_at           timestamptz NOT NULL,
	reversed_at          timestamptz NOT NULL DEFAULT now(),
	reversed_by          text NOT NULL DEFAULT session_user,
	reversal_reason      text NOT NULL
);
CREATE INDEX write_off_reversal_invoice ON ar.write_off_reversal (invoice_id);
COMMENT ON TABLE ar.write_off_reversal IS 'Write-offs that were reversed (their allocation deleted, the invoice reopened): what was written off, why, by whom, and who reversed it and why.';
COMMENT ON COLUMN ar.write_off_reversal.allocation_id IS 'The write-off allocation (deleted by the reversal).';
COMMENT ON COLUMN ar.write_off_reversal.company_id IS 'Company.';
COMMENT ON COLUMN ar.write_off_reversal.invoice_id IS 'The invoice reopened.';
COMMENT ON COLUMN ar.write_off_reversal.bank_transaction_id IS 'For a shortfall: the bank line whose payment it completed.';
COMMENT ON COLUMN ar.write_off_reversal.amount IS 'Amount that had been written off.';
COMMENT ON COLUMN ar.write_off_reversal.written_off_on IS 'Date of the write-off.';
COMMENT ON COLUMN ar.write_off_reversal.kind IS 'write_off (a person''s decision) or shortfall (a short payment within the write-off limit).';
COMMENT ON COLUMN ar.write_off_reversal.reason IS 'Reason of the write-off.';
COMMENT ON COLUMN ar.write_off_reversal.decided_by IS 'Who wrote it off (the session user of the call or run).';
COMMENT ON COLUMN ar.write_off_reversal.decided_at IS 'When it was written off.';
COMMENT ON COLUMN ar.write_off_reversal.reversed_at IS 'When it was reversed.';
COMMENT ON COLUMN ar.write_off_reversal.reversed_by IS 'Who reversed it.';
COMMENT ON COLUMN ar.write_off_reversal.reversal_reason IS 'Why.';

-- ar._record_write_off_reversal: 69_zz_record_write_off_reversal.sql
-- (src/sql/72_reconcile_1_write_off_reversal.sql).

CREATE FUNCTION ar._allocation_write_off_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	INSERT INTO ar.write_off_reversal (allocation_id, company_id, invoice_id, amount, written_off_on, kind, reason,
	                                   decided_by, decided_at, reversal_reason)
	SELECT c.id, c.company_id, c.invoice_id, c.amount, c.allocated_on, c.method, c.note, c.created_by, c.created_at,
	       'allocation deleted'
	  FROM changed c
	 WHERE c.method IN ('write_off', 'shortfall')
	ON CONFLICT (allocation_id) DO NOTHING;
	RETURN NULL;
END $$;

CREATE TRIGGER allocation_write_off_delete AFTER DELETE ON ar.allocation
	REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION ar._allocation_write_off_deleted();
CREATE TRIGGER write_off_reversal_audit AFTER INSERT OR UPDATE OR DELETE ON ar.write_off_reversal
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER write_off_reversal_no_truncate BEFORE TRUNCATE ON ar.write_off_reversal
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar.reverse_write_off(allocation_id bigint, reason text)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	a ar.allocation;
	done ar.write_off_reversal;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'reversing a write-off needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the caller's access to the company checked before anything of it is
	-- locked or told (a reversal's date and author included)
	SELECT * INTO a FROM ar.allocation x WHERE x.id = reverse_write_off.allocation_id;
	IF FOUND THEN
		PERFORM ar._require_company(a.company_id, 'collector');
		-- the invoice first, then the allocation: the order of the ledger's triggers
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = a.company_id AND i.id = a.invoice_id FOR UPDATE;
		SELECT * INTO a FROM ar.allocation x WHERE x.company_id = a.company_id AND x.id = reverse_write_off.allocation_id FOR UPDATE;
	END IF;
	IF a.id IS NULL THEN
		SELECT * INTO done FROM ar.write_off_reversal w WHERE w.allocation_id = reverse_write_off.allocation_id;
		IF FOUND THEN
			PERFORM ar._require_company(done.company_id, 'collector');
			RAISE EXCEPTION 'write-off % was already reversed on % by %', allocation_id, to_char(done.reversed_at, 'YYYY-MM-DD'), done.reversed_by
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
	END IF;
	IF a.method NOT IN ('write_off', 'shortfall') THEN
		RAISE EXCEPTION 'allocation % is a %, not a write-off', allocation_id, a.method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Payments are reversed with ar.unallocate().';
	END IF;
	PERFORM ar._record_write_off_reversal(ARRAY[a.id], reason);
	DELETE FROM ar.allocation x WHERE x.company_id = a.company_id AND x.id = a.id;  -- routed (Citus: a multi-shard DELETE deadlocked with the locks above)
	RETURN a.amount;
END $$;
COMMENT ON FUNCTION ar.reverse_write_off(bigint, text) IS
'Reverses a write-off (an allocation of method write_off or shortfall, see ar.write_off_report): the invoice is open again for that amount; the reversal, its reason and who made it are kept in ar.write_off_reversal and the audit trail. Returns the amount reopened.';

GRANT SELECT ON ar.write_off_reversal TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reverse_write_off(bigint, text) TO ar_collector;
SELECT pg_catalog.pg_extension_config_dump('ar.write_off_reversal', '');

REVOKE ALL ON FUNCTION ar._record_write_off_reversal(bigint[], text), ar._allocation_write_off_deleted(),
                       ar.reverse_write_off(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.reverse_write_off(bigint, text) TO ar_collector;

-- reconciliation: shortfalls written off only within the limit, saying so
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
				INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind)
				VALUES (a.id, line.id, x.id, 'shortfall');
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

CREATE OR REPLACE FUNCTION ar.unallocate(allocation_id bigint)
RETURNS numeric
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	a ar.allocation;
	line ar.bank_transaction;
BEGIN
	SELECT * INTO a FROM ar.allocation x WHERE x.id = allocation_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'allocation % does not exist', allocation_id USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(a.company_id, 'collector');
	IF a.method IN ('write_off', 'credit', 'credit_note', 'shortfall') THEN
		RAISE EXCEPTION 'allocation % is a %, not a payment', allocation_id, a.method
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = CASE a.method WHEN 'shortfall' THEN 'It goes with the payment it completes: unallocate that one.'
			                           ELSE 'Delete it as ar_admin if it must be reversed.' END;
	END IF;
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = a.company_id AND i.id = a.invoice_id FOR UPDATE;
	IF a.bank_transaction_id IS NOT NULL THEN
		line := ar._review_line(a.bank_transaction_id);
		-- the shortfall this payment completed on the same invoice goes with it
		PERFORM ar._record_write_off_reversal(
			ARRAY(SELECT r.allocation_id FROM ar.reconcile_adjustment r
			       WHERE r.bank_transaction_id = a.bank_transaction_id AND r.invoice_id = a.invoice_id),
			format('the payment it completed (allocation %s) was unallocated', a.id));
		DELETE FROM ar.allocation x
		 USING ar.reconcile_adjustment r
		 WHERE r.allocation_id = x.id AND r.bank_transaction_id = a.bank_transaction_id
		   AND r.invoice_id = a.invoice_id;
	END IF;
	DELETE FROM ar.allocation x WHERE x.id = a.id;
	IF line.id IS NOT NULL THEN
		SELECT * INTO line FROM ar.bank_transaction t WHERE t.id = line.id;
		PERFORM ar._review_decided(line, 'manual', NULL, NULL);
	END IF;
	RETURN a.amount;
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
	ON CONFLICT (bank_transaction_id) DO UPDATE SET outcome = 'returned', decided_at = now();
	UPDATE ar.reconcile_line r SET returned_by = return_line WHERE r.bank_transaction_id = original;
END $$;

-- ar.reconcile_anomalies: the next piece (70_recfix_writeoff_0_anomalies.sql)
COMMENT ON COLUMN ar.reconcile_anomaly.kind IS 'unknown_payer, overpayment, duplicate_payment, amount_mismatch, direct_debit_return, direct_debit_return_unrecovered, unmatched_return, write_off, unmatched.';
COMMENT ON COLUMN ar.reconcile_anomaly.booking_date IS 'Booking date of the line (of the credit for an overpayment, of the write-off for a write-off).';
COMMENT ON COLUMN ar.reconcile_anomaly.amount IS 'Amount at stake: unallocated part, credit remaining, the payment, or the amount written off.';

-- bank lines set aside by a collector
-- Lines that are not customer payments (rent received, a refund from a
-- supplier, a transfer between own accounts): a collector sets them aside
-- with a reason, and can take that back.
ALTER TABLE ar.bank_transaction ADD COLUMN ignored_reason text;
COMMENT ON COLUMN ar.bank_transaction.ignored_reason IS 'Why a person set the line aside with ar.ignore_bank_line (status ignored); NULL otherwise.';

CREATE FUNCTION ar.ignore_bank_line(bank_transaction_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'ignoring a bank line needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	line := ar._review_line(bank_transaction_id);
	IF line.status = 'ignored' THEN
		RAISE EXCEPTION 'bank transaction % is already ignored', line.id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = coalesce('Reason: ' || line.ignored_reason, 'It was set aside by ar.reconcile.');
	END IF;
	IF line.allocated_amount <> 0 THEN
		RAISE EXCEPTION 'bank transaction % allocates %', line.id, line.allocated_amount
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Undo its allocations with ar.unallocate() first.';
	END IF;
	UPDATE ar.match_proposal p
	   SET status = 'rejected', decided_by = session_user, decided_at = now(),
	       reason = 'bank line ignored: ' || ignore_bank_line.reason
	 WHERE p.bank_transaction_id = line.id AND p.status = 'pending';
	UPDATE ar.bank_transaction t SET status = 'ignored', ignored_reason = ignore_bank_line.reason WHERE t.id = line.id;
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, explanation)
	VALUES (line.id, line.company_id, 'ignored', 'manual',
	        jsonb_build_object('method', 'manual', 'applied', false, 'ignored_by', session_user, 'reason', reason,
	                           'summary', format('ignored by %s: %s', session_user, reason)))
	ON CONFLICT ON CONSTRAINT reconcile_line_pkey DO UPDATE
	   SET outcome = EXCLUDED.outcome, method = EXCLUDED.method, run_id = NULL, explanation = EXCLUDED.explanation,
	       decided_at = now();
END $$;
COMMENT ON FUNCTION ar.ignore_bank_line(bigint, text) IS
'Sets aside a bank line that is not a customer payment (status ignored, with the reason, audited): no run matches it, it is no anomaly. Its pending proposals are rejected. Refused while it allocates money. ar.unignore_bank_line takes it back.';

CREATE FUNCTION ar.unignore_bank_line(bank_transaction_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	line := ar._review_line(bank_transaction_id);
	IF line.status <> 'ignored' OR line.ignored_reason IS NULL THEN
		RAISE EXCEPTION 'bank transaction % was not set aside by ar.ignore_bank_line', line.id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('Its status is %s.', line.status);
	END IF;
	UPDATE ar.bank_transaction t SET status = 'unmatched', ignored_reason = NULL WHERE t.id = line.id;
	DELETE FROM ar.reconcile_line r WHERE r.bank_transaction_id = line.id;
END $$;
COMMENT ON FUNCTION ar.unignore_bank_line(bigint) IS
'Takes back ar.ignore_bank_line: the line is unmatched again (audited) and the next ar.reconcile() considers it as new.';

REVOKE ALL ON FUNCTION ar.ignore_bank_line(bigint, text), ar.unignore_bank_line(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.ignore_bank_line(bigint, text), ar.unignore_bank_line(bigint) TO ar_collector;

-- (the write-off report: src/sql/72_reconcile_2_views.sql, linked as
-- 99_citus_3_read_paths_1_views.sql)
-- tenancy (95_tenancy.sql): the reversals are company rows
ALTER TABLE ar.write_off_reversal ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.write_off_reversal FOR SELECT
	USING (company_id = ANY ((SELECT ar._company_ids('reader'))::bigint[]));
CREATE POLICY company_write ON ar.write_off_reversal FOR ALL
	USING (company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[]))
	WITH CHECK (company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[]));

-- analytics: a confident score never fails
CREATE OR REPLACE FUNCTION ar.predict_payment(invoice_id bigint)
RETURNS TABLE (p_late real, p_late_30 real, expected_payment_date date)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	inv ar.invoice;
BEGIN
	SELECT * INTO inv FROM ar.invoice i WHERE i.id = predict_payment.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', coalesce(predict_payment.invoice_id::text, 'NULL')
			USING ERRCODE = 'no_data_found';
	END IF;
	IF inv.amount <= 0 THEN
		RAISE EXCEPTION 'invoice % is a credit note: there is no payment to predict', inv.number
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- a probability too small for real (a confident model says 1e-60) is 0,
	-- not an underflow error: a score never fails
	RETURN QUERY
	SELECT CASE WHEN s.p_late < 1e-37 THEN 0::real ELSE s.p_late::real END,
	       CASE WHEN s.p_late_30 < 1e-37 THEN 0::real ELSE s.p_late_30::real END,
	       s.due_date + round(s.delay_q50)::integer
	  FROM ar.payment_scores(ARRAY[inv.id]) s;
END $$;
