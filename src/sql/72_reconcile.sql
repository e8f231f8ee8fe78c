-- ---------------------------------------------------------------------------
-- Reconciliation: matching bank lines to open invoices (ar.reconcile, in C:
-- src/reconcile.c, src/reconcile_match.c, src/match_*.c), the review tools
-- of what it does not apply by itself, and the anomalies a credit manager
-- looks at.  Money still moves only through ar.allocation and
-- ar.customer_credit, whose triggers keep the ledger's invariants.
-- ---------------------------------------------------------------------------

-- Reference keys: letters and digits, upper case, O read as 0.  The index
-- finds paid invoices named by a payment (duplicate payments).
CREATE FUNCTION ar.reference_key(reference text) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_reference_key'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.reference_key(text) IS
'Compact key of a reference as ar.reconcile compares them: ASCII letters and digits, upper case, the letter O read as 0 (''fa-2O26/000123'' -> ''FA2026000123'').';

CREATE FUNCTION ar.name_key(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'ar_name_key'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar.name_key(text) IS
'Tokens of a payer or customer name as ar.reconcile compares them: accents folded, upper case, legal forms, titles and small words dropped (''Établissements Lefèvre SARL'' -> ''LEFEVRE'').';

CREATE INDEX invoice_reference_key ON ar.invoice (ar.reference_key(number));

-- ------------------------------------------------------------ settings

CREATE TABLE ar.reconcile_config (
	company_id                  bigint PRIMARY KEY REFERENCES ar.company ON DELETE CASCADE,
	auto_apply_min_score        real NOT NULL DEFAULT 0.95 CHECK (auto_apply_min_score BETWEEN 0.5 AND 1),
	propose_min_score           real NOT NULL DEFAULT 0.30 CHECK (propose_min_score BETWEEN 0 AND 1),
	ambiguity_margin            real NOT NULL DEFAULT 0.05 CHECK (ambiguity_margin BETWEEN 0 AND 0.5),
	max_proposals               integer NOT NULL DEFAULT 3 CHECK (max_proposals BETWEEN 1 AND 10),
	shortfall_abs               numeric NOT NULL DEFAULT 15.00 CHECK (shortfall_abs >= 0 AND shortfall_abs < 1e9),
	shortfall_pct               numeric NOT NULL DEFAULT 3.0 CHECK (shortfall_pct BETWEEN 0 AND 20),
	close_shortfall             boolean NOT NULL DEFAULT true,
	max_combination             integer NOT NULL DEFAULT 5 CHECK (max_combination BETWEEN 2 AND 12),
	max_combination_candidates  integer NOT NULL DEFAULT 20 CHECK (max_combination_candidates BETWEEN 2 AND 60),
	name_min_similarity         real NOT NULL DEFAULT 0.80 CHECK (name_min_similarity BETWEEN 0.5 AND 1),
	issue_grace_days            integer NOT NULL DEFAULT 7 CHECK (issue_grace_days BETWEEN 0 AND 366),
	learn_ibans                 boolean NOT NULL DEFAULT true,
	unmatched_alert_days        integer NOT NULL DEFAULT 10 CHECK (unmatched_alert_days >= 0),
	updated_at                  timestamptz NOT NULL DEFAULT now(),
	write_off_limit             numeric NOT NULL DEFAULT 0 CHECK (write_off_limit >= 0 AND write_off_limit < 1e9),
	CONSTRAINT reconcile_config_thresholds CHECK (propose_min_score < auto_apply_min_score)
);
COMMENT ON TABLE ar.reconcile_config IS
'Tolerances and thresholds of ar.reconcile, one row per company (created with the defaults by the first run; ar_admin may change them).';
COMMENT ON COLUMN ar.reconcile_config.company_id IS 'Company the settings apply to.';
COMMENT ON COLUMN ar.reconcile_config.auto_apply_min_score IS 'A match is applied without review when its score reaches this (and nothing else comes within ambiguity_margin).';
COMMENT ON COLUMN ar.reconcile_config.propose_min_score IS 'Candidates scoring below this are not even proposed.';
COMMENT ON COLUMN ar.reconcile_config.ambiguity_margin IS 'A best candidate with a rival within this margin is only proposed.';
COMMENT ON COLUMN ar.reconcile_config.max_proposals IS 'Proposals kept per line, best first.';
COMMENT ON COLUMN ar.reconcile_config.shortfall_abs IS 'A payment short of the open amount by at most this (bank charges) is still recognised as that invoice''s payment; the shortfall stays open unless within write_off_limit.';
COMMENT ON COLUMN ar.reconcile_config.shortfall_pct IS 'Or short by at most this percentage of the open amount (early-payment discount).';
COMMENT ON COLUMN ar.reconcile_config.close_shortfall IS 'Write off a recognised shortfall of at most write_off_limit (allocation of method shortfall); false: never.';
COMMENT ON COLUMN ar.reconcile_config.max_combination IS 'Most invoices one payment may settle together without naming them (subset-sum).';
COMMENT ON COLUMN ar.reconcile_config.max_combination_candidates IS 'Oldest open invoices of the payer the subset-sum looks at.';
COMMENT ON COLUMN ar.reconcile_config.name_min_similarity IS 'Least similarity (0-1, token Dice) of a counterparty name to a customer name to count as a close name.';
COMMENT ON COLUMN ar.reconcile_config.issue_grace_days IS 'Invoices issued more than this many days after the payment are not matched by amount.';
COMMENT ON COLUMN ar.reconcile_config.learn_ibans IS 'Identify payers also by the IBANs they paid from in the last two years.';
COMMENT ON COLUMN ar.reconcile_config.unmatched_alert_days IS 'Lines left unmatched for longer than this appear in ar.reconcile_anomaly.';
COMMENT ON COLUMN ar.reconcile_config.updated_at IS 'Last change.';
COMMENT ON COLUMN ar.reconcile_config.write_off_limit IS 'Largest shortfall (in the invoice''s currency) a run or an accepted proposal writes off by itself, recorded as a write-off; 0 (the default): none, a short payment leaves the difference open. Never for a payment announced as a deposit or instalment.';

CREATE FUNCTION ar._reconcile_config_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END $$;
CREATE TRIGGER reconcile_config_touch BEFORE UPDATE ON ar.reconcile_config
	FOR EACH ROW EXECUTE FUNCTION ar._reconcile_config_touch();

-- ------------------------------------------------------- runs and lines

-- Created as 0.1.0 had it; recorded per company since 0.2.0 (company_id
-- NOT NULL, keyed (id, company_id), its comments): 97_reconcile_run_company.sql.
CREATE TABLE ar.reconcile_run (
	id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id   bigint,
	auto_apply   boolean NOT NULL,
	run_by       text NOT NULL DEFAULT session_user,
	started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at  timestamptz,
	lines        integer,
	applied      integer,
	proposed     integer,
	unmatched    integer,
	ignored      integer,
	returns      integer,
	deferred     integer,
	load_ms      double precision,
	match_ms     double precision,
	write_ms     double precision
);
COMMENT ON COLUMN ar.reconcile_run.auto_apply IS 'Whether confident matches were applied (false: everything proposed).';
COMMENT ON COLUMN ar.reconcile_run.run_by IS 'Session user.';
COMMENT ON COLUMN ar.reconcile_run.started_at IS 'Start.';
COMMENT ON COLUMN ar.reconcile_run.finished_at IS 'End (before commit).';
COMMENT ON COLUMN ar.reconcile_run.lines IS 'New lines considered (credits and debits).';
COMMENT ON COLUMN ar.reconcile_run.applied IS 'Lines matched and applied.';
COMMENT ON COLUMN ar.reconcile_run.proposed IS 'Lines left with proposals.';
COMMENT ON COLUMN ar.reconcile_run.unmatched IS 'Credit lines with no candidate.';
COMMENT ON COLUMN ar.reconcile_run.ignored IS 'Debits that are not direct-debit returns.';
COMMENT ON COLUMN ar.reconcile_run.returns IS 'Direct-debit returns handled.';
COMMENT ON COLUMN ar.reconcile_run.deferred IS 'Lines left for the next run: an invoice they need was busy or had changed.';

-- What ar.reconcile decided for each line it looked at: a line is "new"
-- until it has a row here, and a later run never looks at it again.
-- Its bank line, run and return are checked set-wise, not by foreign keys
-- (73_reconcile_references.sql).
CREATE TABLE ar.reconcile_line (
	bank_transaction_id  bigint PRIMARY KEY,
	company_id           bigint NOT NULL,
	run_id               bigint,
	outcome              text NOT NULL CHECK (outcome IN ('applied', 'proposed', 'unmatched', 'ignored',
	                                                      'return', 'returned', 'accepted', 'manual')),
	method               text,
	score                real,
	customer_id          bigint,
	payer                text,
	flags                text[] NOT NULL DEFAULT '{}',
	invoice_ids          bigint[] NOT NULL DEFAULT '{}',
	allocation_ids       bigint[],
	returned_by          bigint,
	explanation          jsonb,
	decided_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ar.reconcile_line IS 'Decision taken for each bank line: by a run (applied, proposed, unmatched, ignored, return, returned) or by a person (accepted, manual).';
COMMENT ON COLUMN ar.reconcile_line.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.reconcile_line.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.reconcile_line.run_id IS 'Run that decided, NULL for a decision of a person.';
COMMENT ON COLUMN ar.reconcile_line.outcome IS 'applied, proposed, unmatched, ignored (a debit), return (a direct-debit return), returned (a collection undone by a return), accepted (a proposal accepted), manual (ar.allocate / ar.unallocate).';
COMMENT ON COLUMN ar.reconcile_line.method IS 'Method of the applied match or best proposal.';
COMMENT ON COLUMN ar.reconcile_line.score IS 'Its score (0-1).';
COMMENT ON COLUMN ar.reconcile_line.customer_id IS 'Customer it concerns.';
COMMENT ON COLUMN ar.reconcile_line.payer IS 'How the payer was identified: iban, iban_history, name, close_name, reference, none.';
COMMENT ON COLUMN ar.reconcile_line.flags IS 'Anomalies seen: unknown_payer, duplicate_payment, amount_mismatch, overpayment.';
COMMENT ON COLUMN ar.reconcile_line.invoice_ids IS 'Invoices of the applied match or best proposal.';
COMMENT ON COLUMN ar.reconcile_line.allocation_ids IS 'Allocations a run made from this line (what a direct-debit return may undo).';
COMMENT ON COLUMN ar.reconcile_line.returned_by IS 'The return line that undid this collection.';
COMMENT ON COLUMN ar.reconcile_line.explanation IS 'Machine-readable explanation (see the reference documentation).';
COMMENT ON COLUMN ar.reconcile_line.decided_at IS 'When.';

CREATE TABLE ar.match_proposal (
	id                      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id              bigint NOT NULL,
	run_id                  bigint REFERENCES ar.reconcile_run,
	bank_transaction_id     bigint NOT NULL REFERENCES ar.bank_transaction ON DELETE CASCADE,
	rank                    integer NOT NULL CHECK (rank >= 1),
	score                   real NOT NULL CHECK (score BETWEEN 0 AND 1),
	method                  text NOT NULL,
	customer_id             bigint,
	invoice_ids             bigint[] NOT NULL DEFAULT '{}',
	amounts                 numeric[] NOT NULL DEFAULT '{}',
	shortfalls              numeric[],
	credit_amount           numeric NOT NULL DEFAULT 0 CHECK (credit_amount >= 0),
	credit_source           text CHECK (credit_source IN ('overpayment', 'unapplied_payment')),
	reverse_allocation_ids  bigint[],
	payment_means           text,
	explanation             jsonb NOT NULL,
	status                  text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded', 'stale')),
	decided_by              text,
	decided_at              timestamptz,
	reason                  text,
	created_at              timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT match_proposal_arrays CHECK (cardinality(invoice_ids) = cardinality(amounts)
	                                        AND (shortfalls IS NULL OR cardinality(shortfalls) = cardinality(amounts)))
);
CREATE INDEX match_proposal_pending ON ar.match_proposal (bank_transaction_id) WHERE status = 'pending';
COMMENT ON TABLE ar.match_proposal IS 'Matches ar.reconcile did not apply by itself, ranked by score, for review: ar.accept_proposal(id) applies one, ar.reject_proposal(id) discards it.';
COMMENT ON COLUMN ar.match_proposal.id IS 'Proposal id.';
COMMENT ON COLUMN ar.match_proposal.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.match_proposal.run_id IS 'Run that proposed it.';
COMMENT ON COLUMN ar.match_proposal.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.match_proposal.rank IS '1 = best proposal for the line.';
COMMENT ON COLUMN ar.match_proposal.score IS 'Score (0-1): how sure the engine is.';
COMMENT ON COLUMN ar.match_proposal.method IS 'reference, reference_partial, reference_shortfall, reference_overpayment, reference_combination, amount, amount_shortfall, combination, amount_only, partial, on_account, duplicate, return.';
COMMENT ON COLUMN ar.match_proposal.customer_id IS 'Customer it concerns.';
COMMENT ON COLUMN ar.match_proposal.invoice_ids IS 'Invoices to allocate to (for a return: the invoices reopened).';
COMMENT ON COLUMN ar.match_proposal.amounts IS 'Amount allocated to each (negative for a credit note; for a return, the amounts taken back).';
COMMENT ON COLUMN ar.match_proposal.shortfalls IS 'Shortfall closed on each invoice (bank charges, discount), or NULL.';
COMMENT ON COLUMN ar.match_proposal.credit_amount IS 'Part of the line that becomes customer credit.';
COMMENT ON COLUMN ar.match_proposal.credit_source IS 'overpayment or unapplied_payment.';
COMMENT ON COLUMN ar.match_proposal.reverse_allocation_ids IS 'For a direct-debit return: the allocations it undoes.';
COMMENT ON COLUMN ar.match_proposal.payment_means IS 'payment_means of the allocations it would make.';
COMMENT ON COLUMN ar.match_proposal.explanation IS 'Machine-readable explanation; explanation->>''summary'' is one sentence for people.';
COMMENT ON COLUMN ar.match_proposal.status IS 'pending, accepted, rejected, superseded (another decision settled the line), stale (line sent back to matching).';
COMMENT ON COLUMN ar.match_proposal.decided_by IS 'Who accepted or rejected it.';
COMMENT ON COLUMN ar.match_proposal.decided_at IS 'When.';
COMMENT ON COLUMN ar.match_proposal.reason IS 'Reason given when rejecting.';
COMMENT ON COLUMN ar.match_proposal.created_at IS 'When it was proposed.';

-- Shortfalls closed by a run or an accepted proposal, tied to the line
-- that paid the rest: ar.unallocate() of that payment reopens them too.
CREATE TABLE ar.reconcile_adjustment (
	allocation_id        bigint PRIMARY KEY REFERENCES ar.allocation ON DELETE CASCADE,
	bank_transaction_id  bigint NOT NULL REFERENCES ar.bank_transaction ON DELETE CASCADE,
	invoice_id           bigint NOT NULL,
	kind                 text NOT NULL CHECK (kind IN ('shortfall')),
	company_id           bigint NOT NULL   -- the company of the allocation and the line (keys: 97_distribution_keys.sql)
);
CREATE INDEX reconcile_adjustment_line ON ar.reconcile_adjustment (bank_transaction_id);
COMMENT ON TABLE ar.reconcile_adjustment IS 'Allocations of method shortfall and the bank line whose payment they complete.';
COMMENT ON COLUMN ar.reconcile_adjustment.allocation_id IS 'The shortfall allocation.';
COMMENT ON COLUMN ar.reconcile_adjustment.bank_transaction_id IS 'The line that paid the rest of the invoice.';
COMMENT ON COLUMN ar.reconcile_adjustment.invoice_id IS 'The invoice.';
COMMENT ON COLUMN ar.reconcile_adjustment.kind IS 'shortfall.';
COMMENT ON COLUMN ar.reconcile_adjustment.company_id IS 'The company of the allocation and of the line.';

CREATE TRIGGER match_proposal_audit AFTER INSERT OR UPDATE OR DELETE ON ar.match_proposal
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER reconcile_config_audit AFTER INSERT OR UPDATE OR DELETE ON ar.reconcile_config
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();

-- ------------------------------------------------------------ matching

CREATE FUNCTION ar.reconcile(auto_apply boolean DEFAULT true)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile(boolean) IS
'Matches every new unmatched bank line to open invoices; applies confident matches to ar.allocation, keeps the rest in ar.match_proposal. One row per credit line considered and per direct-debit return.';

CREATE FUNCTION ar.reconcile_company(company_id bigint, auto_apply boolean DEFAULT true)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile_company'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile_company(bigint, boolean) IS
'ar.reconcile limited to the lines and invoices of one company.';

CREATE FUNCTION ar.reconcile_preview(company_id bigint DEFAULT NULL)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
	AS 'MODULE_PATHNAME', 'ar_reconcile_preview'
	LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp;
COMMENT ON FUNCTION ar.reconcile_preview(bigint) IS
'What ar.reconcile() would decide now for the new credit lines (of one company, or all), without writing or locking anything: applied says whether the match would be applied. Direct-debit returns are not previewed.';

-- Locks a bank line for a review decision, with clear errors; the caller
-- must collect for its company.
CREATE FUNCTION ar._review_line(line_id bigint) RETURNS ar.bank_transaction
LANGUAGE plpgsql AS $$
DECLARE
	line ar.bank_transaction;
	company bigint;
BEGIN
	-- its company first, then the lock names it (routed to its shard on Citus)
	SELECT t.company_id INTO company FROM ar.bank_transaction t WHERE t.id = line_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO line FROM ar.bank_transaction t WHERE t.company_id = company AND t.id = line_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bank transaction % does not exist', line_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN line;
END $$;

-- Records a person's decision on a line, so that no run revisits it.  The
-- line's allocations are read by an INSERT ... SELECT naming the line's
-- company (one row, the aggregates of none being NULL), and the line and
-- its proposals by (id, company_id): Citus, the ledger distributed by
-- company_id, refuses a subquery in an INSERT's VALUES (doc/scale_out.md,
-- blocker 5) and routes these to the company's shard.
CREATE FUNCTION ar._review_decided(line ar.bank_transaction, decided_outcome text, decided_method text,
                                   decided_customer bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, customer_id, invoice_ids,
	                                    allocation_ids)
	SELECT line.id, line.company_id, decided_outcome, decided_method, decided_customer,
	       coalesce(array_agg(DISTINCT a.invoice_id), '{}'), array_agg(a.id ORDER BY a.id)
	  FROM ar.allocation a
	 WHERE a.company_id = line.company_id AND a.bank_transaction_id = line.id
	ON CONFLICT (bank_transaction_id, company_id) DO UPDATE
	   SET outcome = EXCLUDED.outcome,
	       method = coalesce(EXCLUDED.method, r.method),
	       customer_id = coalesce(EXCLUDED.customer_id, r.customer_id),
	       invoice_ids = EXCLUDED.invoice_ids,
	       allocation_ids = EXCLUDED.allocation_ids,
	       decided_at = EXCLUDED.decided_at;
	-- a line fully settled has nothing left to review
	IF (SELECT t.allocated_amount = t.amount FROM ar.bank_transaction t
	     WHERE t.company_id = line.company_id AND t.id = line.id) THEN
		UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = now()
		 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';
	END IF;
END $$;

CREATE FUNCTION ar.accept_proposal(proposal_id bigint)
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
	company bigint;
BEGIN
	-- its company first, then the locks name it (routed to its shard on Citus)
	SELECT mp.company_id INTO company FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.company_id = company AND mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- invoices first, then the line: the order the ledger's triggers lock them in
	PERFORM 1 FROM ar.invoice i WHERE i.company_id = p.company_id AND i.id = ANY (p.invoice_ids) ORDER BY i.id FOR UPDATE;
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
		UPDATE ar.reconcile_line r SET outcome = 'return', decided_at = now()
		 WHERE r.company_id = p.company_id AND r.bank_transaction_id = line.id;
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
	 WHERE mp.company_id = p.company_id AND mp.id = p.id;
	UPDATE ar.match_proposal mp SET status = 'superseded', decided_by = session_user, decided_at = now()
	 WHERE mp.company_id = p.company_id AND mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending';
	IF p.method <> 'return' THEN
		PERFORM ar._review_decided(line, 'accepted', p.method, p.customer_id);
	END IF;
END $$;
COMMENT ON FUNCTION ar.accept_proposal(bigint) IS
'Applies a pending proposal: its allocations, shortfall closures and customer credit (or, for a direct-debit return, the reversal); the line''s other proposals are superseded. Returns the allocations made.';

CREATE FUNCTION ar.reject_proposal(proposal_id bigint, reason text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	p ar.match_proposal;
	company bigint;
BEGIN
	SELECT mp.company_id INTO company FROM ar.match_proposal mp WHERE mp.id = proposal_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO p FROM ar.match_proposal mp WHERE mp.company_id = company AND mp.id = proposal_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'proposal % does not exist', proposal_id USING ERRCODE = 'no_data_found';
	END IF;
	IF p.status <> 'pending' THEN
		RAISE EXCEPTION 'proposal % is %, not pending', proposal_id, p.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM ar._review_line(p.bank_transaction_id);
	UPDATE ar.match_proposal mp
	   SET status = 'rejected', decided_by = session_user, decided_at = now(), reason = reject_proposal.reason
	 WHERE mp.company_id = p.company_id AND mp.id = p.id;
	-- nothing left to review: the line is unmatched again (and no run proposes it again)
	IF NOT EXISTS (SELECT 1 FROM ar.match_proposal mp
	                WHERE mp.bank_transaction_id = p.bank_transaction_id AND mp.status = 'pending') THEN
		UPDATE ar.bank_transaction t SET status = 'unmatched'
		 WHERE t.company_id = p.company_id AND t.id = p.bank_transaction_id AND t.status = 'proposed';
	END IF;
END $$;
COMMENT ON FUNCTION ar.reject_proposal(bigint, text) IS
'Discards a pending proposal (with an optional reason); when none is left for the line, the line is unmatched again. Later runs do not propose it again (see ar.rematch).';

CREATE FUNCTION ar.allocate(bank_transaction_id bigint, invoice_id bigint, amount numeric DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
	inv ar.invoice;
	take numeric := amount;
	allocation_id bigint;
	company bigint;
BEGIN
	-- its company first, then the lock names it (routed to its shard on Citus)
	SELECT i.company_id INTO company FROM ar.invoice i WHERE i.id = allocate.invoice_id;
	PERFORM ar._require_company(company, 'collector') WHERE company IS NOT NULL;
	SELECT * INTO inv FROM ar.invoice i WHERE i.company_id = company AND i.id = allocate.invoice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', invoice_id USING ERRCODE = 'no_data_found';
	END IF;
	line := ar._review_line(bank_transaction_id);
	IF line.amount < 0 THEN
		RAISE EXCEPTION 'bank transaction % is a debit of %', line.id, line.amount
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Only credits pay invoices; a direct-debit return is handled by ar.reconcile().';
	END IF;
	IF take IS NULL THEN
		-- the most both allow (for a credit note: as much as the line can net)
		take := CASE WHEN inv.open_amount >= 0 THEN least(line.amount - line.allocated_amount, inv.open_amount)
		             ELSE greatest(-line.allocated_amount, inv.open_amount) END;
		IF take = 0 THEN
			RAISE EXCEPTION 'nothing left to allocate from bank transaction % to invoice %', line.id, inv.number
				USING ERRCODE = 'invalid_parameter_value',
				      DETAIL = format('The line has %s unallocated, the invoice %s open.',
				                      line.amount - line.allocated_amount, inv.open_amount);
		END IF;
	ELSIF take = 0 OR take IN ('NaN', 'Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'allocation amount must be a non-zero finite amount, not %', take
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the ledger's triggers check currencies, signs and open amounts
	INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method,
	                           payment_means, note)
	VALUES (inv.company_id, inv.id, line.id, take, line.booking_date, 'manual', 'transfer', 'ar.allocate')
	RETURNING id INTO allocation_id;
	PERFORM ar._review_decided(line, 'manual', 'manual', inv.customer_id);
	RETURN allocation_id;
END $$;
COMMENT ON FUNCTION ar.allocate(bigint, bigint, numeric) IS
'Allocates money of a bank line to an invoice by hand (method manual, dated the booking date); amount defaults to the most both allow. No later run changes the line.';

-- ar.unallocate: 72_reconcile_3_unallocate.sql

CREATE FUNCTION ar.rematch(bank_transaction_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	line ar.bank_transaction;
BEGIN
	line := ar._review_line(bank_transaction_id);
	IF line.allocated_amount <> 0 THEN
		RAISE EXCEPTION 'bank transaction % allocates %', line.id, line.allocated_amount
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Undo its allocations with ar.unallocate() first.';
	END IF;
	UPDATE ar.match_proposal p SET status = 'stale', decided_by = session_user, decided_at = now()
	 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';
	DELETE FROM ar.reconcile_line r WHERE r.company_id = line.company_id AND r.bank_transaction_id = line.id;
	UPDATE ar.bank_transaction t SET status = 'unmatched'
	 WHERE t.company_id = line.company_id AND t.id = line.id AND t.status <> 'unmatched';
END $$;
COMMENT ON FUNCTION ar.rematch(bigint) IS
'Sends a line with nothing allocated back to matching: its pending proposals become stale and the next ar.reconcile() considers it as new (for instance once the invoice it pays has been entered).';

-- Lines that are not customer payments (rent received, a refund from a
-- supplier, a transfer between own accounts): a collector sets them aside
-- with a reason (ar.bank_transaction.ignored_reason), and can take that back.
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
	 WHERE p.company_id = line.company_id AND p.bank_transaction_id = line.id AND p.status = 'pending';
	UPDATE ar.bank_transaction t SET status = 'ignored', ignored_reason = ignore_bank_line.reason
	 WHERE t.company_id = line.company_id AND t.id = line.id;
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, explanation)
	VALUES (line.id, line.company_id, 'ignored', 'manual',
	        jsonb_build_object('method', 'manual', 'applied', false, 'ignored_by', session_user, 'reason', reason,
	                           'summary', format('ignored by %s: %s', session_user, reason)))
	ON CONFLICT ON CONSTRAINT reconcile_line_pkey DO UPDATE
	   SET outcome = EXCLUDED.outcome, method = EXCLUDED.method, run_id = NULL, explanation = EXCLUDED.explanation,
	       decided_at = EXCLUDED.decided_at;  -- now(), its default (Citus refuses now() here)
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
	UPDATE ar.bank_transaction t SET status = 'unmatched', ignored_reason = NULL
	 WHERE t.company_id = line.company_id AND t.id = line.id;
	DELETE FROM ar.reconcile_line r WHERE r.company_id = line.company_id AND r.bank_transaction_id = line.id;
END $$;
COMMENT ON FUNCTION ar.unignore_bank_line(bigint) IS
'Takes back ar.ignore_bank_line: the line is unmatched again (audited) and the next ar.reconcile() considers it as new.';

-- ------------------------------------------------- direct-debit returns

-- Deletes the allocations of a collection a return undoes (and the
-- shortfalls they closed), marks both lines and records the return.
CREATE FUNCTION ar._reverse_collection(allocation_ids bigint[], return_line bigint, by_run bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	original bigint;
	company bigint;
	ids bigint[];
	line_company bigint;
BEGIN
	SELECT DISTINCT a.bank_transaction_id INTO original FROM ar.allocation a WHERE a.id = ANY (allocation_ids);
	-- the return's company, the collection's (ar._reconcile_returns looks there):
	-- the writes below name it (routed to its shard on Citus)
	SELECT t.company_id INTO line_company FROM ar.bank_transaction t WHERE t.id = return_line;
	-- the invoices of each company in id order, one statement per company
	-- (routed to its shard on Citus)
	FOR company, ids IN SELECT a.company_id, array_agg(a.invoice_id) FROM ar.allocation a WHERE a.id = ANY (allocation_ids)
	                     GROUP BY a.company_id ORDER BY a.company_id LOOP
		PERFORM 1 FROM ar.invoice i WHERE i.company_id = company AND i.id = ANY (ids) ORDER BY i.id FOR UPDATE;
	END LOOP;
	PERFORM ar._record_write_off_reversal(
		ARRAY(SELECT r.allocation_id FROM ar.reconcile_adjustment r WHERE r.bank_transaction_id = original),
		format('the collection it completed (bank transaction %s) was returned by bank transaction %s', original, return_line));
	DELETE FROM ar.allocation x
	 USING ar.reconcile_adjustment r
	 WHERE x.company_id = line_company AND r.company_id = line_company
	   AND r.allocation_id = x.id AND r.bank_transaction_id = original;
	DELETE FROM ar.allocation a WHERE a.company_id = line_company AND a.id = ANY (allocation_ids);
	UPDATE ar.bank_transaction t SET status = 'ignored'
	 WHERE t.company_id = line_company AND t.id IN (original, return_line) AND t.allocated_amount = 0 AND t.status <> 'ignored';
	INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, run_id, outcome, flags)
	SELECT t.id, t.company_id, by_run, 'returned', '{}' FROM ar.bank_transaction t WHERE t.id = original
	ON CONFLICT (bank_transaction_id, company_id) DO UPDATE SET outcome = 'returned', decided_at = EXCLUDED.decided_at;  -- now(), its default (Citus refuses now() here)
	UPDATE ar.reconcile_line r SET returned_by = return_line
	 WHERE r.company_id = line_company AND r.bank_transaction_id = original;
END $$;

-- Direct-debit returns and reversals (negative lines with a return reason,
-- or marked as a reversal by the bank, handed over by ar.reconcile): find
-- the collection each one undoes, by
-- end-to-end id, else by counterparty IBAN and amount, and reverse it when
-- a run applied it and nothing else changed it since; otherwise propose.
CREATE FUNCTION ar._reconcile_returns(run_id bigint, line_ids bigint[], auto_apply boolean)
RETURNS TABLE (bank_transaction_id bigint, invoice_ids bigint[], amounts numeric[], score real, method text,
               applied boolean)
LANGUAGE plpgsql AS $$
DECLARE
	r ar.bank_transaction;
	orig ar.bank_transaction;
	candidates integer;
	by_e2e boolean;
	decided ar.reconcile_line;
	allocs bigint[];
	invs bigint[];
	amts numeric[];
	safe boolean;
	s real;
	expl jsonb;
	e2e_known boolean;
	cust bigint;
BEGIN
	FOR r IN SELECT * FROM ar.bank_transaction t WHERE t.id = ANY (line_ids) ORDER BY t.booking_date, t.id LOOP
		orig := NULL;
		e2e_known := coalesce(btrim(r.end_to_end_id), '') NOT IN ('', 'NOTPROVIDED');
		-- the collection: same company, currency and amount, booked before, with allocations,
		-- not already returned; by end-to-end id, else by IBAN
		WITH c AS (
			SELECT t.*, (e2e_known AND t.end_to_end_id = r.end_to_end_id) AS e2e
			  FROM ar.bank_transaction t
			 WHERE t.company_id = r.company_id AND t.currency = r.currency AND t.amount = -r.amount
			   AND t.id <> r.id AND t.booking_date <= r.booking_date AND t.allocated_amount <> 0
			   AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line x WHERE x.bank_transaction_id = t.id AND x.returned_by IS NOT NULL)
			   AND ((e2e_known AND t.end_to_end_id = r.end_to_end_id)
			        OR (r.counterparty_iban IS NOT NULL AND t.counterparty_iban = r.counterparty_iban))
		)
		SELECT count(*) FILTER (WHERE c.e2e) > 0, CASE WHEN count(*) FILTER (WHERE c.e2e) > 0
		                                             THEN count(*) FILTER (WHERE c.e2e) ELSE count(*) END
		  INTO by_e2e, candidates FROM c;
		IF candidates = 1 THEN
			SELECT t.* INTO orig
			  FROM ar.bank_transaction t
			 WHERE t.company_id = r.company_id AND t.currency = r.currency AND t.amount = -r.amount
			   AND t.id <> r.id AND t.booking_date <= r.booking_date AND t.allocated_amount <> 0
			   AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line x WHERE x.bank_transaction_id = t.id AND x.returned_by IS NOT NULL)
			   AND ((by_e2e AND t.end_to_end_id = r.end_to_end_id)
			        OR (NOT by_e2e AND r.counterparty_iban IS NOT NULL AND t.counterparty_iban = r.counterparty_iban))
			   FOR UPDATE OF t SKIP LOCKED;
		END IF;

		IF orig.id IS NULL AND candidates = 0 THEN
			-- a collection recorded without a bank line (ar.record_payment(..., 'direct_debit')):
			-- found by the invoice number in the return's text, it is only ever proposed
			SELECT array_agg(a.id ORDER BY a.id), array_agg(a.invoice_id ORDER BY a.id), array_agg(-a.amount ORDER BY a.id),
			       count(*), min(i.customer_id)
			  INTO allocs, invs, amts, candidates, cust
			  FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
			 WHERE a.bank_transaction_id IS NULL AND a.customer_credit_id IS NULL AND a.payment_means = 'direct_debit'
			   AND a.company_id = r.company_id AND i.currency = r.currency AND a.amount = -r.amount
			   -- (an ERP may date the collection at its settlement, a few days late)
			   AND a.allocated_on BETWEEN r.booking_date - 180 AND r.booking_date + 10
			   AND strpos(ar.reference_key(concat_ws(' ', r.remittance_info, r.structured_reference)),
			              ar.reference_key(i.number)) > 0
			   AND NOT EXISTS (SELECT 1 FROM ar.match_proposal p
			                    WHERE p.status IN ('pending', 'accepted') AND a.id = ANY (p.reverse_allocation_ids));
			IF candidates = 1 THEN
				expl := jsonb_build_object(
					'method', 'return', 'score', 0.90, 'return_reason', coalesce(r.return_reason, 'reversal'), 'applied', false,
					'collection', NULL, 'matched_on', 'invoice_number_and_amount', 'allocations', allocs, 'invoice_ids', invs,
					'collection_decided_by', 'recorded_without_bank_line',
					'summary', format('direct-debit return (%s) of a collection recorded without a bank line on invoice %s; review it',
					                  coalesce(r.return_reason, 'reversal'), (SELECT i.number FROM ar.invoice i WHERE i.id = invs[1])));
				INSERT INTO ar.match_proposal (company_id, run_id, bank_transaction_id, rank, score, method, customer_id,
				                               invoice_ids, amounts, reverse_allocation_ids, explanation)
				VALUES (r.company_id, run_id, r.id, 1, 0.90, 'return', cust, invs, amts, allocs, expl);
				INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
				                               payer, flags, invoice_ids, explanation)
				VALUES (r.id, r.company_id, run_id, 'proposed', 'return', 0.90, cust, 'reference', '{}', invs, expl);
				UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.company_id = r.company_id AND t.id = r.id AND t.status = 'unmatched';
				bank_transaction_id := r.id; invoice_ids := invs; amounts := amts; score := 0.90; method := 'return';
				applied := false;
				RETURN NEXT;
				CONTINUE;
			END IF;
		END IF;

		IF orig.id IS NULL THEN
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, payer, flags, explanation)
			VALUES (r.id, r.company_id, run_id, 'unmatched', 'return', 'none', '{unmatched_return}',
			        jsonb_build_object('method', 'return', 'applied', false, 'return_reason', coalesce(r.return_reason, 'reversal'),
			                           'collections_found', candidates,
			                           'summary', format('direct-debit return (%s): %s', coalesce(r.return_reason, 'reversal'),
			                                             CASE WHEN candidates = 0 THEN 'the collection it undoes was not found'
			                                                  ELSE 'several collections could be the one it undoes' END)));
			bank_transaction_id := r.id; invoice_ids := '{}'; amounts := '{}'; score := NULL;
			method := 'return'; applied := false;
			RETURN NEXT;
			CONTINUE;
		END IF;

		SELECT array_agg(a.id ORDER BY a.id), array_agg(a.invoice_id ORDER BY a.id), array_agg(-a.amount ORDER BY a.id)
		  INTO allocs, invs, amts
		  FROM ar.allocation a WHERE a.bank_transaction_id = orig.id;
		SELECT * INTO decided FROM ar.reconcile_line x WHERE x.bank_transaction_id = orig.id;
		-- only what a run applied, untouched since, with no credit born from it
		safe := decided.outcome = 'applied' AND decided.allocation_ids = allocs
		        AND NOT EXISTS (SELECT 1 FROM ar.customer_credit c WHERE c.bank_transaction_id = orig.id);
		s := CASE WHEN by_e2e THEN 0.99 ELSE 0.90 END;
		expl := jsonb_build_object(
			'method', 'return', 'score', s, 'return_reason', coalesce(r.return_reason, 'reversal'),
			'collection', orig.id, 'matched_on', CASE WHEN by_e2e THEN 'end_to_end_id' ELSE 'iban_and_amount' END,
			'allocations', allocs, 'invoice_ids', invs,
			'collection_decided_by', coalesce(decided.outcome, 'unknown'),
			'summary', format('direct-debit return (%s) of bank transaction %s, matched on %s; reopens %s invoice(s)%s',
			                  coalesce(r.return_reason, 'reversal'), orig.id, CASE WHEN by_e2e THEN 'end-to-end id' ELSE 'IBAN and amount' END,
			                  cardinality(invs),
			                  CASE WHEN safe THEN '' ELSE '; the collection was allocated by a person, review it' END));
		-- the invoices to reopen, without waiting for a person working on them
		IF safe THEN
			SELECT count(*) = (SELECT count(DISTINCT u) FROM unnest(invs) u) INTO safe
			  FROM (SELECT 1 FROM ar.invoice i WHERE i.company_id = r.company_id AND i.id = ANY (invs) FOR UPDATE SKIP LOCKED) l;
		END IF;
		IF auto_apply AND safe THEN
			PERFORM ar._reverse_collection(allocs, r.id, run_id);
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
			                               payer, flags, invoice_ids, explanation)
			VALUES (r.id, r.company_id, run_id, 'return', 'return', s, decided.customer_id, 'reference', '{}', invs,
			        expl || jsonb_build_object('applied', true));
			applied := true;
		ELSE
			INSERT INTO ar.match_proposal (company_id, run_id, bank_transaction_id, rank, score, method, customer_id,
			                               invoice_ids, amounts, reverse_allocation_ids, explanation)
			VALUES (r.company_id, run_id, r.id, 1, s, 'return', decided.customer_id, invs, amts, allocs,
			        expl || jsonb_build_object('applied', false));
			INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, customer_id,
			                               payer, flags, invoice_ids, explanation)
			VALUES (r.id, r.company_id, run_id, 'proposed', 'return', s, decided.customer_id, 'reference', '{}', invs,
			        expl || jsonb_build_object('applied', false));
			UPDATE ar.bank_transaction t SET status = 'proposed' WHERE t.company_id = r.company_id AND t.id = r.id AND t.status = 'unmatched';
			applied := false;
		END IF;
		bank_transaction_id := r.id; invoice_ids := invs; amounts := amts; score := s; method := 'return';
		RETURN NEXT;
	END LOOP;
END $$;

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

CREATE FUNCTION ar._allocation_write_off_deleted() RETURNS trigger
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

-- ----------------------------------------------------------- reporting

-- ar.reconcile_anomalies: 71_reconcile_anomalies.sql (one definition for
-- install and upgrade)

CREATE VIEW ar.reconcile_anomaly AS
SELECT * FROM ar.reconcile_anomalies();
COMMENT ON VIEW ar.reconcile_anomaly IS 'ar.reconcile_anomalies() today, with each company''s unmatched_alert_days.';
COMMENT ON COLUMN ar.reconcile_anomaly.kind IS 'unknown_payer, overpayment, duplicate_payment, amount_mismatch, direct_debit_return, direct_debit_return_unrecovered, unmatched_return, write_off, unmatched.';
COMMENT ON COLUMN ar.reconcile_anomaly.company_id IS 'Company.';
COMMENT ON COLUMN ar.reconcile_anomaly.bank_transaction_id IS 'The bank line concerned.';
COMMENT ON COLUMN ar.reconcile_anomaly.customer_id IS 'Customer concerned, when known.';
COMMENT ON COLUMN ar.reconcile_anomaly.invoice_id IS 'Invoice concerned, when one.';
COMMENT ON COLUMN ar.reconcile_anomaly.booking_date IS 'Booking date of the line (of the credit for an overpayment, of the write-off for a write-off).';
COMMENT ON COLUMN ar.reconcile_anomaly.amount IS 'Amount at stake: unallocated part, credit remaining, the payment, or the amount written off.';
COMMENT ON COLUMN ar.reconcile_anomaly.currency IS 'Currency.';
COMMENT ON COLUMN ar.reconcile_anomaly.days_unmatched IS 'Days since the booking date.';
COMMENT ON COLUMN ar.reconcile_anomaly.detail IS 'One sentence for people.';

-- ----------------------------------------------------- grants and dump

GRANT SELECT ON ar.reconcile_config, ar.reconcile_run, ar.reconcile_line, ar.match_proposal,
                ar.reconcile_adjustment, ar.reconcile_anomaly
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reconcile_anomalies(integer, date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.reconcile(boolean), ar.reconcile_company(bigint, boolean), ar.reconcile_preview(bigint),
                          ar.accept_proposal(bigint), ar.reject_proposal(bigint, text),
                          ar.allocate(bigint, bigint, numeric), ar.rematch(bigint),
                          ar.ignore_bank_line(bigint, text), ar.unignore_bank_line(bigint)
	TO ar_collector;
GRANT INSERT, UPDATE ON ar.reconcile_config TO ar_admin;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['reconcile_config', 'reconcile_run', 'reconcile_line', 'match_proposal',
	                         'reconcile_adjustment'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['reconcile_run', 'match_proposal'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
