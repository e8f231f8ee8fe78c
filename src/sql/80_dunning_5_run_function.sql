-- Dunning, ar.run_dunning itself (one of the 80_dunning_* pieces): its work
-- tables and their helpers are in 80_dunning_5_run.sql.  CREATE OR REPLACE:
-- the upgrade from 0.1.0 replaces the function with this very piece
-- (src/upgrade/0.1.0--0.2.0/92_dunning_speed.sql is a link to it).

-- Applies the escalation rule of the contract (doc/contract.md) on run date
-- as_of to every dunning account, and queues (unless dry_run) the notices it decides:
--  0. customers blocked on as_of, or whose policy is inactive, are skipped
--     (their state is kept);
--  1. dunnable invoices: positive open amount on as_of (issued by then,
--     allocations dated after as_of not counted), not disputed, promised or
--     covered by a payment plan in force on as_of;
--  2. R: highest level whose offset <= as_of - due_date over them;
--  3. C: level of the last notice of the cycle not failed or cancelled; a
--     new cycle starts (C none) on a run date where R is none (an account
--     whose state was changed by a later run date is left alone: runs go
--     forward in time);
--  4. N = 0 when R = 0, else min(R, max(C, 0) + 1);
--  5. queued when N > C, the last notice of any cycle (not failed or
--     cancelled) was queued at least min_days_between (7) days before
--     as_of, and the amount due reaches the level's min_amount.  It lists
--     the dunnable invoices that reached level 1 (level 0 for a level 0
--     notice) with their open amounts and the penalties accrued on as_of
--     (the penalty engine, ar._penalty_compute).
-- Each queued notice is a row of ar.dunning_notice, an entry of the
-- communications log and a NOTIFY ar_dunning carrying its id, in the
-- transaction of the run.  A second run for the same date queues nothing.
--
-- How it is built (doc/dunning.md, "How ar.run_dunning is built"): named
-- steps, A to L below, each a set-based statement over the ledger and the
-- work tables of the steps before it (pg_temp, named with this
-- transaction's token: ar._dunning_work_table).  Values reach a statement
-- as parameters only ($1 the run date, $2 the last due date read, $3
-- numbered: EXECUTE ... USING); only the work tables' names (%I) and a
-- few fixed fragments chosen by the data (invoices paid or cancelled since
-- the run date, penalty decisions) are written into a statement's text.
-- Each step's time is reported at DEBUG1 ("run_dunning <step>: <ms> ms").
-- The run's steps B to L for one company (company: on a distributed
-- ledger; with the other companies of its node, companies) or for every
-- company (NULL: one node), as ar.run_dunning calls them.  Returns the notices (notice; the queued rows only when
-- return_rows, those a dry run would queue) and, last, one row with what
-- the caller needs (summary: accounts, cycles closed, notices queued, the
-- report merged into the one given, the ids to announce).  On Citus it is a
-- distributed function co-located with the ledger by company
-- (ar.distribute): a call outside a transaction block is delegated to the
-- node holding the company, where its reads and writes run on the local
-- shards in the node's own transaction (issue 14: no statement routed from
-- the coordinator one by one).  Not SECURITY DEFINER: it checks no
-- company access (not API); only ar.run_dunning and the worker call it,
-- both SECURITY DEFINER, so that it runs as ar_definer, on the company's
-- node too (Citus connects there as the current role); no grant.
CREATE OR REPLACE FUNCTION ar._run_dunning_company(company bigint, companies bigint[], as_of date, dry_run boolean,
                                                   return_rows boolean, report jsonb)
RETURNS TABLE (notice ar.dunning_notice, summary jsonb)
LANGUAGE plpgsql
-- a batch of set-based statements over work tables: compiling each one
-- costs more than it saves (work_mem: see run_work_mem)
SET search_path = pg_catalog, ar, pg_temp SET jit = off
-- the work tables are analyzed from a small sample, enough for join plans;
-- no nested loops over work tables whose size the planner may misjudge
SET default_statistics_target = 10 SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
	x constant date := _run_dunning_company.as_of;
	real_run constant boolean := NOT _run_dunning_company.dry_run;
	-- the sorts and hashes of the run in memory (at least 256 MB), the rows
	-- it returns within the caller's work_mem, as any set-returning
	-- function's (beyond it they spill to a temporary file): set locally,
	-- the caller's value restored before returning
	caller_work_mem constant text := current_setting('work_mem');
	run_work_mem constant text := CASE WHEN pg_size_bytes(caller_work_mem) < pg_size_bytes('256MB')
	                                   THEN '256MB' ELSE caller_work_mem END;
	-- the wide values of the work tables (an account's lines) compressed
	-- with LZ4 when the server has it: pglz cost about 2 % of a run
	-- (bench/README.md, "tenth pass"); the caller's value restored
	caller_toast_compression constant text := current_setting('default_toast_compression');
	run_toast_compression constant text := (SELECT CASE WHEN 'lz4' = ANY (s.enumvals) THEN 'lz4' ELSE s.setting END
	                                          FROM pg_catalog.pg_settings s WHERE s.name = 'default_toast_compression');
	caller_enable_sort constant text := current_setting('enable_sort');
	caller_join_collapse_limit constant text := current_setting('join_collapse_limit');
	-- the outbox's identity, which numbers the notices of a real run
	notice_ids constant regclass := pg_get_serial_sequence('ar.dunning_notice', 'id')::regclass;
	through date;                   -- the last due date read: x + the lead of a level 0 (offset < 0)
	claims boolean;                 -- penalty decisions exist (ar.penalty_claim)
	paid_since boolean;             -- allocations dated after x exist
	cancelled_since boolean;        -- invoices cancelled after x exist
	apply_credits boolean;          -- a policy allocates open credits before its run
	skipped bigint[];               -- customers with rows beyond the input bounds
	closed integer := 0;
	accounts integer := 0;
	queued integer := 0;
	written_now integer;            -- what one company's statement wrote
	problems bigint;
	first_problem text;
	missing record;
	written bigint;
	excluded bigint;                -- invoices left out on x (step C)
	notified bigint[] := '{}';      -- the notices queued, to announce
	noticed_on_x boolean;           -- accounts have a notice dated x already (step H)
	fallbacks jsonb;
	-- fragments of the statement of step F, chosen by the data
	open_on_x text;
	later_join text;
	since_rows text;
	claimable text;
	render_query text;
	step_at timestamptz := clock_timestamp();    -- step timings, at DEBUG1
	-- the work tables (pg_temp, named with this transaction's token: see
	-- ar._dunning_work_table)
	w_policy constant text := ar._dunning_work_name('ar_dun_policy');
	w_blocked constant text := ar._dunning_work_name('ar_dun_blocked');
	w_excluded constant text := ar._dunning_work_name('ar_dun_excluded');
	w_customer constant text := ar._dunning_work_name('ar_dun_customer');
	w_credit constant text := ar._dunning_work_name('ar_dun_credit');
	w_acct constant text := ar._dunning_work_name('ar_dun_acct');
	w_dec constant text := ar._dunning_work_name('ar_dun_dec');
	w_tpl constant text := ar._dunning_work_name('ar_dun_tpl');
	w_prev constant text := ar._dunning_work_name('ar_dun_prev');
	w_recent constant text := ar._dunning_work_name('ar_dun_recent');
	w_reset constant text := ar._dunning_work_name('ar_dun_reset');
	w_settled constant text := ar._dunning_work_name('ar_dun_settled');
	w_plans constant text := ar._dunning_work_name('ar_dun_plans');
	w_terms constant text := ar._dunning_work_name('ar_dun_terms');
	-- company NULL: every company, over the tables (one node); else the rows
	-- of the companies (those given, all on the node of company, else
	-- company alone) copied into work tables (ar._dunning_copy_company), the
	-- statements' text with the copies named (ar._dunning_reads)
	distributed constant boolean := company IS NOT NULL;
	batch constant bigint[] := CASE WHEN company IS NOT NULL THEN coalesce(companies, ARRAY[company]) END;
	k bigint;
	skipped_k bigint[];
BEGIN
	IF distributed THEN
		-- the companies' rows, one read per table (their shards)
		PERFORM ar._dunning_copy_company(batch);
	END IF;
	PERFORM set_config('work_mem', run_work_mem, true);
	PERFORM set_config('default_toast_compression', run_toast_compression, true);

	-- ------------------------------- B. quarantine, promises and plans settled
	-- customers with rows beyond the input bounds (their constraints were
	-- bypassed) are skipped as if blocked, warned about and reported in
	-- ar.batch_problem, instead of failing the run for everyone; only the
	-- tables whose constraint is missing or not validated are read
	-- (company by company of the batch on a distributed ledger)
	skipped := '{}';
	FOR k IN SELECT NULL::bigint WHERE NOT distributed UNION ALL SELECT b FROM unnest(batch) b LOOP
		EXECUTE ar._dunning_reads($q$
		SELECT coalesce(array_agg(DISTINCT coalesce(q.customer_id, c.id)), '{}')
		  FROM ar._batch_quarantine('run_dunning', ARRAY['company', 'customer', 'invoice', 'customer_credit', 'allocation',
		                                                 'dispute', 'payment_promise', 'payment_plan', 'payment_plan_instalment',
		                                                 'dunning_block'], $2, $1, $3) q
		  LEFT JOIN ar.customer c ON q.object_table = 'company' AND c.company_id = q.object_id
		 WHERE q.customer_id IS NOT NULL OR c.id IS NOT NULL$q$, company) INTO skipped_k USING x, k, real_run;
		skipped := skipped || skipped_k;
	END LOOP;
	-- (each set read into a work table, from the company's copies on a
	-- distributed ledger, then written from it with statements naming
	-- each row with its company)
	IF real_run THEN
		-- promises whose date has passed: kept or broken (kept means paid:
		-- what was written off since the promise was made counts as unpaid)
		written_now := ar._dunning_work_table(w_settled, ar._dunning_reads($q$
		SELECT pr.id, pr.company_id, pr.customer_id, pr.invoice_id, pr.amount, pr.promised_on, i.currency, i.number,
		       CASE WHEN ar._open_on(pr.invoice_id, pr.promised_on)
		                 + coalesce((SELECT sum(a.amount) FROM ar.allocation a
		                              WHERE a.invoice_id = pr.invoice_id AND a.method IN ('write_off', 'shortfall')
		                                AND a.allocated_on > coalesce(pr.made_on, pr.made_at::date)
		                                AND a.allocated_on <= pr.promised_on), 0)
		                 <= pr.open_at_promise - pr.amount
		            THEN 'kept' ELSE 'broken' END AS status
		  FROM ar.payment_promise pr JOIN ar.invoice i ON i.id = pr.invoice_id
		 WHERE pr.status = 'pending' AND pr.promised_on < $1
		 ORDER BY pr.id$q$, company), as_of => x);
		IF written_now > 0 THEN
			IF cardinality(skipped) > 0 THEN
				EXECUTE format('DELETE FROM pg_temp.%I s WHERE s.customer_id = ANY ($1)', w_settled) USING skipped;
			END IF;
			EXECUTE format($q$
			UPDATE ar.payment_promise pr SET status = s.status, settled_on = $1
			  FROM pg_temp.%1$I s WHERE pr.company_id = s.company_id AND pr.id = s.id$q$, w_settled) USING x;
			EXECUTE format($q$
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
			SELECT s.company_id, s.customer_id, $1, 'promise_' || s.status, 'internal',
			       format('Promise to pay %%s by %%s on invoice %%s %%s', ar.format_money(s.amount, s.currency), to_char(s.promised_on, 'YYYY-MM-DD'),
			              s.number, CASE s.status WHEN 'kept' THEN 'kept' ELSE 'broken: the invoice is dunned again' END),
			       s.invoice_id, s.id
			  FROM pg_temp.%1$I s ORDER BY s.id$q$, w_settled) USING x;
		END IF;
		-- payment plans: a missed instalment breaks the plan, full payment
		-- completes it (not a write-off since it started: the plan then stays
		-- active until ar._plan_broken_on finds the instalment left unpaid)
		written_now := ar._dunning_work_table(w_plans, ar._dunning_reads($q$
		SELECT q.id, q.company_id, q.customer_id,
		       CASE WHEN b.broken_on IS NOT NULL THEN 'broken' ELSE 'completed' END AS status,
		       coalesce(b.broken_on, $1) AS status_on
		  FROM ar.payment_plan q
		 CROSS JOIN LATERAL (SELECT ar._plan_broken_on(q.id, $1) AS broken_on) b
		 WHERE q.status = 'active'
		   AND (b.broken_on IS NOT NULL
		        OR (ar._plan_outstanding(q.id, $1) = 0
		            AND NOT EXISTS (SELECT FROM ar.payment_plan_invoice pi JOIN ar.allocation a ON a.invoice_id = pi.invoice_id
		                             WHERE pi.plan_id = q.id AND a.method IN ('write_off', 'shortfall')
		                               AND a.allocated_on > coalesce(q.starts_on, q.created_at::date) AND a.allocated_on <= $1)))
		 ORDER BY q.id$q$, company), as_of => x);
		IF written_now > 0 THEN
			IF cardinality(skipped) > 0 THEN
				EXECUTE format('DELETE FROM pg_temp.%I c WHERE c.customer_id = ANY ($1)', w_plans) USING skipped;
			END IF;
			EXECUTE format($q$
			UPDATE ar.payment_plan p SET status = c.status, status_on = c.status_on
			  FROM pg_temp.%1$I c WHERE p.company_id = c.company_id AND p.id = c.id$q$, w_plans) USING x;
			EXECUTE format($q$
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
			SELECT c.company_id, c.customer_id, $1, 'plan_' || c.status, 'internal',
			       CASE c.status
			            WHEN 'broken' THEN format('Payment plan %%s broken on %%s: an instalment was not paid; its invoices are dunned again',
			                                      c.id, c.status_on)
			            ELSE format('Payment plan %%s completed', c.id) END,
			       c.id
			  FROM pg_temp.%1$I c ORDER BY c.id$q$, w_plans) USING x;
		END IF;
	END IF;
	RAISE DEBUG 'run_dunning exclusions updated: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ------------------------------------ C. policies, blocks, invoices left out
	-- active policies, their levels as arrays: the level an invoice reached
	-- is levels[width_bucket(days late, offsets)] (ar._dunning_level)
	PERFORM ar._dunning_work_table(w_policy, $w$
	SELECT p.id AS policy_id, p.code, p.min_days_between, p.fallback_language, p.templates_from,
	       p.apply_credits_before_run,
	       array_agg(l.offset_days ORDER BY l.level) AS offsets, array_agg(l.level ORDER BY l.level) AS levels
	  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id
	 WHERE p.active
	 GROUP BY p.id
	$w$);
	EXECUTE format('SELECT $1 + coalesce(greatest(0, -min(o)), 0) FROM pg_temp.%I, unnest(offsets) o', w_policy)
	   INTO through USING x;

	-- customers blocked on x, and those skipped
	PERFORM ar._dunning_work_table(w_blocked, ar._dunning_reads($w$
	SELECT DISTINCT b.customer_id
	  FROM ar.dunning_block b
	 WHERE (b.from_on IS NULL OR b.from_on <= $1) AND $1 < b.until
	   AND (b.lifted_at IS NULL OR (b.lifted_on IS NOT NULL AND $1 < b.lifted_on))
	$w$, company), as_of => x);
	IF cardinality(skipped) > 0 THEN
		EXECUTE format('INSERT INTO pg_temp.%1$I SELECT s FROM unnest($1) s EXCEPT SELECT b.customer_id FROM pg_temp.%1$I b',
		               w_blocked) USING skipped;
	END IF;

	-- invoices left out on x: disputed, promised, in a payment plan in force
	excluded := ar._dunning_work_table(w_excluded, ar._dunning_reads($w$
	SELECT d.invoice_id
	  FROM ar.dispute d
	 WHERE (d.opened_on IS NULL OR d.opened_on <= $1)
	   AND (d.resolved_at IS NULL OR (d.resolved_on IS NOT NULL AND $1 < d.resolved_on))
	UNION
	SELECT pr.invoice_id
	  FROM ar.payment_promise pr
	 WHERE (pr.made_on IS NULL OR pr.made_on <= $1) AND $1 <= pr.promised_on
	UNION
	SELECT pi.invoice_id
	  FROM ar.payment_plan p JOIN ar.payment_plan_invoice pi ON pi.plan_id = p.id
	 WHERE (p.starts_on IS NULL OR p.starts_on <= $1)
	   AND (p.cancelled_at IS NULL OR (p.cancelled_on IS NOT NULL AND $1 < p.cancelled_on))
	   AND NOT (p.status IN ('completed', 'broken') AND p.status_on <= $1)
	   AND ar._plan_broken_on(p.id, $1) IS NULL
	$w$, company), as_of => x);
	RAISE DEBUG 'run_dunning policies, blocks, exclusions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ------------------------------------------- D. customers dunned, credits
	-- customers dunned on x: not blocked, with an active policy and its
	-- levels, and the penalty regime of their invoices (the customer's, else
	-- FR_LME); indexed, for the merge with the invoices in account order
	PERFORM ar._dunning_work_table(w_customer, ar._dunning_reads(format($w$
	SELECT c.id AS customer_id, p.policy_id, p.offsets, p.levels, p.offsets[1] AS first_offset,
	       coalesce(c.penalty_regime, 'FR_LME') AS regime, c.penalty_rate AS contract_rate
	  FROM ar.customer c
	  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
	  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
	  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
	              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
	  JOIN pg_temp.%1$I p ON p.policy_id = coalesce(cp.policy_id, sp.policy_id, dp.id)
	 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.%2$I b WHERE b.customer_id = c.id)
	$w$, w_policy, w_blocked), company), 'customer_id');
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, policy_id)', w_customer);

	-- a real run first allocates the open credits of the customers whose
	-- policy says so to their oldest invoices (ar.apply_open_credits)
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM pg_temp.%I p WHERE p.apply_credits_before_run)', w_policy)
	   INTO apply_credits;
	IF real_run AND apply_credits THEN
		EXECUTE ar._dunning_reads(format($q$
		SELECT count(*) FROM ar._apply_open_credits(ARRAY(
			SELECT c.customer_id FROM pg_temp.%1$I c JOIN pg_temp.%2$I p ON p.policy_id = c.policy_id
			 WHERE p.apply_credits_before_run
			   AND c.customer_id IN (SELECT k.customer_id FROM ar._open_credits($1) k)
			 ORDER BY c.customer_id), $1)
		$q$, w_customer, w_policy), company) INTO written_now USING x;
		-- on a distributed ledger the companies' copies are taken again: the
		-- steps below read the open amounts those allocations left, as on
		-- one node (else the notices claimed what the credits had just paid)
		IF distributed AND written_now > 0 THEN
			PERFORM ar._dunning_copy_company(batch);
		END IF;
	END IF;
	-- what each account may set off on x: its open credit notes and unused
	-- customer credit (few accounts), deducted from what its notice claims.
	-- Nested loops allowed here: ar._open_credits reads the few credit
	-- notes and the allocations dated after x through their indexes (a
	-- merge join would read the whole invoice table's primary key)
	PERFORM set_config('enable_nestloop', 'on', true);
	PERFORM ar._dunning_work_table(w_credit, ar._dunning_reads(format($w$
	SELECT k.customer_id, k.currency, sum(k.available) AS credits
	  FROM ar._open_credits($1) k
	 WHERE k.customer_id IN (SELECT c.customer_id FROM pg_temp.%I c)
	 GROUP BY k.customer_id, k.currency
	$w$, w_customer), company), as_of => x);
	PERFORM set_config('enable_nestloop', 'off', true);
	EXECUTE format('ANALYZE pg_temp.%I', w_credit);
	RAISE DEBUG 'run_dunning customers and credits: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ------------------------- E. what the data holds since x (step F's form)
	EXECUTE ar._dunning_reads('SELECT EXISTS (SELECT 1 FROM ar.penalty_claim),
	                                  EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > $1),
	                                  EXISTS (SELECT 1 FROM ar.invoice i WHERE i.cancelled_on > $1)', company)
	   INTO claims, paid_since, cancelled_since USING x;
	-- the open amount on x: today's, plus the allocations dated after x
	-- (read only when there are any)
	open_on_x := CASE WHEN paid_since THEN 'i.open_amount + coalesce(l.amount, 0)' ELSE 'i.open_amount' END;
	later_join := CASE WHEN paid_since THEN 'LEFT JOIN later l ON l.invoice_id = i.id' ELSE '' END;
	-- the invoices paid since x, and those cancelled since x
	since_rows := '';
	IF paid_since THEN
		since_rows := since_rows || $b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, l.amount,
		       i.penalty_regime, i.penalty_rate
		  FROM later l JOIN ar.invoice i ON i.id = l.invoice_id
		 WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND i.amount > 0 AND i.issue_date <= $1
		   AND i.due_date <= $2$b$;
	END IF;
	IF cancelled_since THEN
		since_rows := since_rows || $b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, i.amount,
		       i.penalty_regime, i.penalty_rate
		  FROM ar.invoice i
		 WHERE i.cancelled_on > $1 AND i.amount > 0 AND i.issue_date <= $1 AND i.due_date <= $2$b$;
	END IF;
	-- penalties billed, waived or written off by x, and invoices billing
	-- penalties: none claimed (read only when there are decisions)
	claimable := CASE WHEN claims
	                  THEN 'NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
	                                     WHERE (pc.invoice_id = d.id AND pc.decided_on <= $1)
	                                        OR pc.penalty_invoice_id = d.id)'
	                  ELSE 'true' END;
	RAISE DEBUG 'run_dunning claims, payments and cancellations since: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ------------------------------------ F. accounts: levels, amounts, penalties
	-- In one pass over the dunnable invoices on x, account by account (the
	-- index invoice_open_account, merged with the customers: no sort of a
	-- million rows, which the planner would choose from its estimates of
	-- the filters here; a sort remains when invoices paid or cancelled since
	-- x are added): the level each reached, R of its account, and per
	-- account what a notice would list: the invoices that reached level 1
	-- (all of them, at level 0, when R = 0), in due date order, with their
	-- open amounts on x and the penalties accrued on x (the penalty
	-- engine, once per listed invoice, with the payments made by x of the
	-- invoices partly paid on x, read from allocation_invoice alone, in one
	-- subquery).  An invoice whose penalty cannot be computed (a rate not
	-- known) leaves the account's penalties NULL, never a silent zero;
	-- penalties already billed, waived or written off (ar.penalty_claim)
	-- are not claimed again.
	PERFORM set_config('enable_sort', 'off', true);
	written_now := ar._dunning_work_table(w_acct, ar._dunning_reads(format($q$
	WITH later AS (
		SELECT a.invoice_id, sum(a.amount) AS amount
		  FROM ar.allocation a WHERE a.allocated_on > $1 GROUP BY a.invoice_id
	), open_on_x AS (
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on,
		       %1$s AS open_on_x, i.penalty_regime, i.penalty_rate
		  FROM ar.invoice i %2$s
		 WHERE i.open_amount <> 0 AND i.amount > 0 AND i.issue_date <= $1 AND i.due_date <= $2
		%3$s
		), dunnable AS (
		SELECT o.*, c.policy_id, ar._dunning_level($1 - o.due_date, c.offsets, c.levels) AS inv_level,
		       coalesce(o.penalty_regime, c.regime) AS regime, coalesce(o.penalty_rate, c.contract_rate) AS contract_rate,
		       o.cancelled_on IS NULL AS liable
		  FROM open_on_x o
		  JOIN pg_temp.%5$I c ON c.customer_id = o.customer_id
		 WHERE o.open_on_x > 0
		   -- (width_bucket(days late, offsets) > 0: the offsets of a policy
		   -- increase with its levels, ar._check_dunning_policy)
		   AND $1 - o.due_date >= c.first_offset
		   -- a filter on a hashed list keeps the account order (the ids are
		   -- never NULL); none when no invoice is left out
		   %6$s
	)
	-- per account: R, and what a notice would list (the invoices at level 1
	-- and up, or those at level 0 when R = 0), in one C aggregate with one
	-- transition per invoice (ar._dunning_account, src/dunning_pass.c):
	-- counts and exact sums, the lines in table order, the first problem,
	-- each invoice's penalty computed inline by the penalty engine (as
	-- ar._penalty_compute, not strict) and claimed when claimable (else
	-- 0.00 and no problem).  A courtesy reminder (level 0) lists only the
	-- invoices not yet due (list_level -1: in no listing).
	SELECT g.customer_id, g.currency, g.policy_id, g.r,
	       (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
	       (g.t).lines, (g.t).problems, (g.t).first_problem
	  FROM (SELECT q.customer_id, q.currency, min(q.policy_id) AS policy_id, max(q.inv_level) AS r,
	               ar._dunning_account(q.list_level, q.id, q.number, q.due_date, $1 - q.due_date, q.amount, q.open_on_x,
	                                   q.inv_level, q.regime, q.amount, q.due_date, $1,
	                                   (q.paid).dates, (q.paid).amounts, q.contract_rate, q.currency, q.claimable) AS t
	          FROM (SELECT d.*, d.liable AND %4$s AS claimable,
	                       CASE WHEN d.inv_level = 0 AND d.due_date < $1 THEN -1 ELSE d.inv_level END AS list_level,
	                       -- the payments made by x of an invoice partly paid on x (through
	                       -- allocation_invoice alone, which includes the amounts: a few
	                       -- invoices of the open ones)
	                       CASE WHEN d.open_on_x <> d.amount
	                            THEN (SELECT ROW(array_agg(a.allocated_on), array_agg(a.amount))::ar._dunning_payments
	                                    FROM ar.allocation a WHERE a.invoice_id = d.id AND a.allocated_on <= $1) END AS paid
	                  FROM dunnable d ORDER BY d.customer_id, d.currency OFFSET 0) q
	         GROUP BY q.customer_id, q.currency) g
	$q$, open_on_x, later_join, since_rows, claimable, w_customer,
	     CASE WHEN excluded > 0
	          THEN format('AND o.id NOT IN (SELECT e.invoice_id FROM pg_temp.%I e)', w_excluded) ELSE '' END), company),
	   as_of => x, through => through);
	accounts := accounts + written_now;
	PERFORM set_config('enable_sort', caller_enable_sort, true);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, r)', w_acct);
	RAISE DEBUG 'run_dunning dunnable invoices, listings and penalties: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ---------------------------------------------------------- G. new cycles
	-- a run date where R is none starts a new cycle (not for skipped
	-- customers); not while an invoice still open is under a promise to
	-- pay: the account keeps its level, and a broken promise resumes the
	-- escalation where it stood.  The accounts are read first (a work
	-- table, from the company's copies on a distributed ledger), then
	-- updated and logged from it (statements naming each account with its
	-- company).
	IF real_run THEN
		written_now := ar._dunning_work_table(w_reset, ar._dunning_reads(format($q$
		SELECT a.company_id, a.customer_id, a.currency, a.cycle + 1 AS cycle
		  FROM ar.dunning_account a
		 WHERE a.level IS NOT NULL AND (a.changed_on IS NULL OR a.changed_on <= $1)
		   AND NOT EXISTS (SELECT 1 FROM pg_temp.%1$I d WHERE d.customer_id = a.customer_id AND d.currency = a.currency)
		   AND EXISTS (SELECT 1 FROM pg_temp.%2$I c WHERE c.customer_id = a.customer_id)
		   AND NOT EXISTS (SELECT 1 FROM ar.payment_promise pr JOIN ar.invoice i ON i.id = pr.invoice_id
		                    WHERE pr.customer_id = a.customer_id AND i.currency = a.currency
		                      AND (pr.made_on IS NULL OR pr.made_on <= $1) AND $1 <= pr.promised_on
		                      -- (of the promise's invoice: evaluated on the promises in
		                      -- force only, never pushed down to every invoice)
		                      AND ar._open_on(pr.invoice_id, $1) > 0)$q$, w_acct, w_customer), company), as_of => x);
		IF written_now > 0 THEN
			EXECUTE format($q$
			UPDATE ar.dunning_account a
			   SET cycle = r.cycle, level = NULL, changed_on = $1, updated_at = now()
			  FROM pg_temp.%1$I r
			 WHERE a.company_id = r.company_id AND a.customer_id = r.customer_id AND a.currency = r.currency$q$, w_reset) USING x;
			EXECUTE format($q$
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary)
			SELECT r.company_id, r.customer_id, $1, 'cycle_closed', 'internal',
			       format('Dunning cycle %%s (%%s) closed: nothing left to remind', r.cycle - 1, r.currency)
			  FROM pg_temp.%1$I r$q$, w_reset) USING x;
			closed := closed + written_now;
		END IF;
	END IF;

	-- ------------------------------------------------------------ H. decisions
	-- (the company's notices dated x: on Citus from its copy, not a query
	-- over every shard)
	EXECUTE ar._dunning_reads('SELECT EXISTS (SELECT 1 FROM ar.dunning_notice dn WHERE dn.as_of = $1)', company)
	   INTO noticed_on_x USING x;
	-- N, queued when N > C, the last notice is at least min_days_between
	-- days old, what the notice claims (the open amounts listed less the
	-- account's credits, up to them) is above the level's minimum amount,
	-- and the invoices that reached N owe at least the level's minimum
	-- percentage of the account's open items (else the account waits at
	-- the level below).  A real run numbers its notices here, in account
	-- order (customer, currency), from the outbox's identity (the sort
	-- carries the decisions only; the customers' details are joined
	-- after): the notices, the accounts' state and the notifications are
	-- then written from this table without reading the outbox back.
	PERFORM ar._dunning_work_table(w_dec, ar._dunning_reads(format($w$
	SELECT n.id, n.customer_id, n.currency, n.policy_id, n.r, n.cycle, n.c, n.level, n.known, n.problems, n.first_problem,
	       n.level_name, n.fee, n.state_penalties, n.reply_days, n.delivery_days, n.credits, n.min_amount,
	       c.company_id, c.code AS customer_code, c.name AS customer_name,
	       coalesce(nullif(lower(left(btrim(c.language), 2)), ''), 'fr') AS language, coalesce(c.segment, '') AS segment,
	       co.language AS company_language,
	       ch.channel,
	       CASE ch.channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone END AS recipient
	  FROM (SELECT CASE WHEN $3 THEN nextval(%1$L::regclass) END AS id, k.*
	          FROM (
	SELECT d.customer_id, d.currency, d.policy_id, d.r, d.cycle, d.c, d.level, d.known, d.problems, d.first_problem,
	       l.name AS level_name, l.fee, l.state_penalties, l.reply_days, l.delivery_days, l.channel AS level_channel,
	       d.credits, l.min_amount
	  FROM (SELECT d.customer_id, d.currency, d.policy_id, d.r, d.amount_due, d.lines, d.invoice_count, d.problems, d.first_problem,
	               least(coalesce(cr.credits, 0), d.amount_due) AS credits,
	               coalesce(a.cycle, 1) AS cycle,
	               a.level AS c, a.customer_id IS NOT NULL AS known,
	               CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END AS level
	          FROM pg_temp.%2$I d
	          JOIN pg_temp.%3$I p ON p.policy_id = d.policy_id
	          LEFT JOIN ar.dunning_account a ON a.customer_id = d.customer_id AND a.currency = d.currency
	          LEFT JOIN pg_temp.%4$I cr ON cr.customer_id = d.customer_id AND cr.currency = d.currency
	         WHERE (a.last_notice_on IS NULL OR a.last_notice_on <= $1 - p.min_days_between)
	           AND (a.changed_on IS NULL OR a.changed_on <= $1)   -- a state newer than x is left alone
	           AND CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END
	               > coalesce(a.level, -1)
	        OFFSET 0) d
	  JOIN ar.dunning_level l ON l.policy_id = d.policy_id AND l.level = d.level
	 WHERE d.amount_due - d.credits > l.min_amount AND d.invoice_count > 0
	   AND (l.min_percent = 0
	        OR ar._lines_open_from(d.lines, d.level)
	           >= l.min_percent / 100 * ar._account_balance_on(d.customer_id, d.currency, $1))
	   %5$s
	 ORDER BY d.customer_id, d.currency COLLATE "C") k) n
	  JOIN ar.customer c ON c.id = n.customer_id
	  JOIN ar.company co ON co.id = c.company_id
	 CROSS JOIN LATERAL (SELECT CASE WHEN n.level_channel = 'email' AND coalesce(btrim(c.email), '') = '' THEN 'letter'
	                                 WHEN n.level_channel = 'sms' AND coalesce(btrim(c.phone), '') = '' THEN 'letter'
	                                 ELSE n.level_channel END AS channel) ch
	$w$, notice_ids, w_acct, w_policy, w_credit,
	     -- the accounts with a notice dated x (none, unless the run registry
	     -- lost its row): read only when there are any (then through the
	     -- outbox's unique key, in account order)
	     CASE WHEN noticed_on_x
	          THEN 'AND NOT EXISTS (SELECT 1 FROM ar.dunning_notice dn
	                                 WHERE dn.customer_id = d.customer_id AND dn.currency = d.currency AND dn.as_of = $1)'
	          ELSE '' END), company), as_of => x, numbered => real_run);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, level, language, segment, channel, company_language)', w_dec);
	EXECUTE format('SELECT sum(n.problems), min(n.first_problem) FROM pg_temp.%I n WHERE n.problems > 0', w_dec)
		INTO problems, first_problem;
	IF problems > 0 THEN
		-- (summed over the companies on a distributed ledger:
		-- ar._dunning_report_merge, 89_worker_dunning.sql)
		report := ar._dunning_report_merge(report, jsonb_build_object('penalties_not_computed', problems,
		                                       'first_problem', first_problem,
		                                       'missing_rates', (SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.series), '[]')
		                                                           FROM ar.missing_reference_rates(x) m)));
		RAISE WARNING 'penalties of % invoice(s) could not be computed on %; their notices state no interest', problems, to_char(x, 'YYYY-MM-DD')
			USING DETAIL = 'First: ' || first_problem
			               || coalesce('. Reference rates missing: '
			                           || (SELECT string_agg(m.series || ' from ' || to_char(m.needed_from, 'YYYY-MM-DD'), ', ' ORDER BY m.series)
			                                 FROM ar.missing_reference_rates(x) m), ''),
			      -- (the hint for what is missing: rates, or a regime's fee in a currency)
			      HINT = coalesce(nullif(concat_ws(' ',
			                 CASE WHEN EXISTS (SELECT 1 FROM ar.missing_reference_rates(x))
			                      THEN 'Add the published rates with ar.add_reference_rate(); see ar.missing_reference_rate.' END,
			                 CASE WHEN first_problem LIKE '%states no fixed fee in%'
			                      THEN 'Give the regime a fee in the invoice''s currency (ar.penalty_regime_fee), or the invoice another regime.' END), ''),
			                 'Each invoice''s problem is in ar.penalty_claims.');
	END IF;
	RAISE DEBUG 'run_dunning decisions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ------------------------------------------------------------ I. templates
	-- the template of each notice: the customer's language, else the
	-- company's, else the policy's fallback language; the customer's
	-- segment, else any; the channel, else any; the policy's own, else its
	-- templates_from policy's
	PERFORM ar._dunning_work_table(w_tpl, format($w$
	SELECT DISTINCT ON (k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language)
	       k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language,
	       t.id AS template_id, t.language AS render_language, t.subject, t.body
	  FROM (SELECT DISTINCT policy_id, level, language, segment, channel, company_language FROM pg_temp.%1$I) k
	  JOIN pg_temp.%2$I p ON p.policy_id = k.policy_id
	  LEFT JOIN ar.dunning_template t
	         ON t.policy_id IN (k.policy_id, p.templates_from) AND t.level = k.level
	        AND (t.segment IS NULL OR t.segment = k.segment)
	        AND (t.channel IS NULL OR t.channel = k.channel)
	        AND t.language IN (k.language, k.company_language, p.fallback_language)
	 ORDER BY k.policy_id, k.level, k.language, k.segment, k.channel, k.company_language,
	          t.language = k.language DESC, t.language = k.company_language DESC, t.policy_id = k.policy_id DESC,
	          t.segment IS NOT NULL DESC, t.channel IS NOT NULL DESC, t.id
	$w$, w_dec, w_policy));
	EXECUTE format('ANALYZE pg_temp.%I', w_tpl);
	EXECUTE format('SELECT t.*, p.code FROM pg_temp.%I t JOIN pg_temp.%I p USING (policy_id) WHERE t.template_id IS NULL LIMIT 1',
	               w_tpl, w_policy) INTO missing;
	GET DIAGNOSTICS written = ROW_COUNT;
	IF written > 0 THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in language % or its fallback language',
			missing.code, missing.level, missing.language
			USING ERRCODE = 'undefined_object';
	END IF;
	-- notices written in another language than their customer's: reported
	EXECUTE format($q$
	SELECT jsonb_agg(jsonb_build_object('language', f.language, 'written_in', f.render_language,
	                                    'notices', f.notices, 'customers', f.customers)
	                 ORDER BY f.language, f.render_language)
	  FROM (SELECT n.language, t.render_language, count(*) AS notices,
	               (array_agg(n.customer_code ORDER BY n.customer_code))[1:20] AS customers
	          FROM pg_temp.%1$I n
	          JOIN pg_temp.%2$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                           AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	         WHERE t.render_language <> n.language
	         GROUP BY n.language, t.render_language) f$q$, w_dec, w_tpl) INTO fallbacks;
	IF fallbacks IS NOT NULL THEN
		report := ar._dunning_report_merge(report, jsonb_build_object('language_fallbacks', fallbacks));
		RAISE NOTICE 'dunning on %: no template in the language of some customers, their notices are written in their company''s (or the policy''s fallback) language', to_char(x, 'YYYY-MM-DD')
			USING DETAIL = (SELECT string_agg(format('%s -> %s: %s notice(s)', e->>'language', e->>'written_in', e->>'notices'), '; ')
			                  FROM jsonb_array_elements(fallbacks) e);
	END IF;

	-- ------------------------------------- J. previous notices, recent invoices
	-- dates of the reminders (level 1 and up) already queued in the cycle,
	-- as the letter prints them
	PERFORM ar._dunning_work_table(w_prev, ar._dunning_reads(format($w$
	SELECT n.customer_id, n.currency,
	       array_agg(ar.format_date(dn.as_of, t.render_language) ORDER BY dn.as_of, dn.id) AS dates,
	       min(t.render_language) AS language
	  FROM pg_temp.%1$I n
	  JOIN pg_temp.%2$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	  JOIN ar.dunning_notice dn ON dn.customer_id = n.customer_id AND dn.currency = n.currency AND dn.cycle = n.cycle
	 WHERE dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < $1
	 GROUP BY n.customer_id, n.currency
	$w$, w_dec, w_tpl), company), as_of => x);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency)', w_prev);

	-- invoices never reminded before (in no earlier notice of level 1 or
	-- more of the account): a level whose option says so lists them in a
	-- section of their own (separate) or leaves them out (exclude: the
	-- notice claims the others only, and is not queued when none is left)
	PERFORM ar._dunning_work_table(w_recent, ar._dunning_reads(format($w$
	SELECT n.customer_id, n.currency, m.mode, rm.reminded,
	       CASE WHEN m.mode = 'separate' THEN ar._dunning_lines_subset(s.lines, rm.reminded, false) END AS recent_lines
	  FROM pg_temp.%1$I n
	  JOIN ar.dunning_level l ON l.policy_id = n.policy_id AND l.level = n.level
	 CROSS JOIN LATERAL (SELECT coalesce(l.recent_invoices, CASE WHEN l.state_penalties THEN 'separate' ELSE 'list' END) AS mode) m
	  JOIN pg_temp.%2$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
	 CROSS JOIN LATERAL (SELECT coalesce(array_agg(DISTINCT u), '{}') AS reminded
	                       FROM ar.dunning_notice dn CROSS JOIN LATERAL unnest(dn.invoice_ids) u
	                      WHERE dn.customer_id = n.customer_id AND dn.currency = n.currency
	                        AND dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < $1) rm
	 WHERE m.mode <> 'list' AND n.level >= 1
	$w$, w_dec, w_acct), company), as_of => x);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency)', w_recent);
	EXECUTE format($q$
	DELETE FROM pg_temp.%1$I n USING pg_temp.%2$I r, pg_temp.%3$I s
	 WHERE r.customer_id = n.customer_id AND r.currency = n.currency AND r.mode = 'exclude'
	   AND s.customer_id = n.customer_id AND s.currency = n.currency
	   AND NOT (ar._line_ids(s.lines) && r.reminded)$q$, w_dec, w_recent, w_acct);
	EXECUTE format($q$
	UPDATE pg_temp.%1$I s
	   SET lines = ar._dunning_lines_subset(s.lines, r.reminded, true),
	       (invoice_count, amount_due, interest, indemnity, penalties) =
	           (SELECT CASE WHEN r.mode = 'exclude' THEN t.invoice_count ELSE s.invoice_count END,
	                   CASE WHEN r.mode = 'exclude' THEN t.amount_due ELSE s.amount_due END,
	                   CASE WHEN r.mode = 'exclude' THEN t.interest ELSE s.interest END,
	                   CASE WHEN r.mode = 'exclude' THEN t.indemnity ELSE s.indemnity END,
	                   CASE WHEN r.mode = 'exclude' THEN t.penalties ELSE s.penalties END
	              FROM ar._dunning_lines_totals(ar._dunning_lines_subset(s.lines, r.reminded, true)) t)
	  FROM pg_temp.%2$I r
	 WHERE r.customer_id = s.customer_id AND r.currency = s.currency$q$, w_acct, w_recent);
	-- what a notice that left invoices out still claims, less the credits
	-- set off, must pass its level's minimum amount (as the decision's did;
	-- the decision's copy of it: on Citus a statement changing a work table
	-- may not join a reference table)
	EXECUTE format($q$
	DELETE FROM pg_temp.%1$I n USING pg_temp.%2$I r, pg_temp.%3$I s
	 WHERE r.customer_id = n.customer_id AND r.currency = n.currency AND r.mode = 'exclude'
	   AND s.customer_id = n.customer_id AND s.currency = n.currency
	   AND s.amount_due - least(n.credits, s.amount_due) <= n.min_amount$q$, w_dec, w_recent, w_acct);
	RAISE DEBUG 'run_dunning templates, previous notices: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- ----------------------------------------------------- K0. penalty terms
	-- the penalty terms of the letters stating them, made here at once
	-- into a work table where ar.penalty_terms finds each letter's (under
	-- the invoices, date, language and company of its call in step K:
	-- ar._penalty_terms_letter_key): their invoices read once (on a
	-- distributed ledger the node's copies), each paragraph made once for
	-- its regime, rate, currency, language and reference dates (it depends
	-- on the first late days through these alone: ar.penalty_rates_applied),
	-- not per letter (on Citus about 15 reads of tables a letter, each
	-- planned by Citus: 2.7 ms a letter on a worker); the groups and their
	-- order are ar.penalty_terms' with the company.  On one node nested
	-- loops allowed: the letters' invoices read through the index of their
	-- ids, not a scan of every invoice (the node's copies, not indexed on
	-- the ids, are hashed: a nested loop over them took 10 s more)
	IF NOT distributed THEN
		PERFORM set_config('enable_nestloop', 'on', true);
	END IF;
	PERFORM ar._dunning_work_table(w_terms, ar._dunning_reads(format($w$
	WITH l AS (
		SELECT DISTINCT ar._penalty_terms_letter_key(ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}'),
		                                             $1, t.render_language, n.company_id) AS k,
		       ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}') AS ids,
		       lower(left(coalesce(t.render_language, 'fr'), 2)) AS lang, n.company_id
		  FROM pg_temp.%1$I n
		  JOIN pg_temp.%2$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
		  LEFT JOIN pg_temp.%3$I rc ON rc.customer_id = n.customer_id AND rc.currency = n.currency
		  JOIN pg_temp.%4$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
		                   AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
		 WHERE strpos(t.body, '{{penalty_terms}}') > 0
	), g AS (
		SELECT u.k, u.lang, coalesce(i.penalty_regime, c.penalty_regime, 'FR_LME') AS regime,
		       coalesce(i.penalty_rate, c.penalty_rate) AS contract_rate, i.currency,
		       array_agg(DISTINCT i.due_date + 1) AS first_late_days
		  FROM (SELECT DISTINCT l.k, l.lang, l.company_id, x.id FROM l CROSS JOIN LATERAL unnest(l.ids) x(id)) u
		  JOIN ar.invoice i ON i.id = u.id AND i.company_id = u.company_id
		  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
		 WHERE i.due_date < $1 AND i.amount > 0 AND i.cancelled_on IS NULL
		   AND NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
		                    WHERE pc.company_id = i.company_id AND pc.penalty_invoice_id = i.id)
		 GROUP BY 1, 2, 3, 4, 5
	), r AS (
		-- each regime's row, read once
		SELECT x.regime, ar._penalty_regime_row(x.regime) AS rr FROM (SELECT DISTINCT g.regime FROM g) x
	), gr AS (
		SELECT g.*, ar._penalty_reference_dates(r.rr, g.first_late_days, $1) AS refs FROM g JOIN r ON r.regime = g.regime
	), p AS (
		SELECT gr.lang, gr.regime, gr.contract_rate, gr.currency, gr.refs,
		       ar._penalty_terms_paragraph(gr.regime, gr.contract_rate, gr.currency, min(gr.first_late_days), $1, gr.lang) AS paragraph
		  FROM gr GROUP BY 1, 2, 3, 4, 5
	)
	SELECT md5(l.k) AS h, l.k,
	       nullif(array_to_string(array_agg(p.paragraph ORDER BY gr.regime, gr.contract_rate NULLS FIRST, gr.currency)
	                                  FILTER (WHERE gr.k IS NOT NULL), E'\n\n'), '') AS v
	  FROM l
	  LEFT JOIN gr ON gr.k = l.k
	  LEFT JOIN p ON p.lang = gr.lang AND p.regime = gr.regime AND p.contract_rate IS NOT DISTINCT FROM gr.contract_rate
	             AND p.currency = gr.currency AND p.refs IS NOT DISTINCT FROM gr.refs
	 GROUP BY l.k
	$w$, w_dec, w_acct, w_recent, w_tpl), company), key => 'h', as_of => x);
	PERFORM set_config('enable_nestloop', 'off', true);

	-- -------------------------------------------------------------- K. letters
	-- the notices, rendered in the language of their template, as rows of
	-- ar.dunning_notice without id, status and dates
	render_query := ar._dunning_reads(format($q$
	SELECT n.id, n.customer_id, n.level, n.level_name, n.channel,
	       -- the template with the notice's values (ar.render_template with
	       -- ar.dunning_placeholders(), each value formatted in C only if the
	       -- template uses it: src/letter.c)
	       ar._dunning_letter(t.subject, t.render_language, n.currency, $1, n.customer_name, n.customer_code,
	                          co.legal_name, co.iban, s.lines, v.wide, k.credits, co.deduction_label, s.invoice_count,
	                          k.amount_due, s.interest, s.indemnity, s.penalties, co.unknown, n.fee, k.reply_by,
	                          n.reply_days, pv.dates, co.word_and, n.level, n.level_name, co.sender, co.legal,
	                          v.customer_address, v.penalty_terms, rc.recent_lines, co.recent_heading, v.notice_law) AS subject,
	       ar._dunning_letter(t.body, t.render_language, n.currency, $1, n.customer_name, n.customer_code,
	                          co.legal_name, co.iban, s.lines, v.wide, k.credits, co.deduction_label, s.invoice_count,
	                          k.amount_due, s.interest, s.indemnity, s.penalties, co.unknown, n.fee, k.reply_by,
	                          n.reply_days, pv.dates, co.word_and, n.level, n.level_name, co.sender, co.legal,
	                          v.customer_address, v.penalty_terms, rc.recent_lines, co.recent_heading, v.notice_law) AS body,
	       ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}') AS invoice_ids,
	       k.amount_due, s.penalties, $1 AS as_of, n.company_id, n.currency, n.policy_id,
	       n.cycle, t.render_language AS language, n.recipient, s.interest, s.indemnity, n.fee, k.reply_by,
	       k.credits AS credits_set_off
	  FROM pg_temp.%1$I n
	  JOIN pg_temp.%2$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
	  LEFT JOIN pg_temp.%4$I pv ON pv.customer_id = n.customer_id AND pv.currency = n.currency
	  LEFT JOIN pg_temp.%5$I rc ON rc.customer_id = n.customer_id AND rc.currency = n.currency
	  -- the templates, with the placeholders read in SQL looked for once each
	  JOIN (SELECT t.*, strpos(t.body, '{{customer_address}}') > 0 AS wants_address,
	               strpos(t.body, '{{penalty_terms}}') > 0 AS wants_terms, strpos(t.body, '{{notice_law}}') > 0 AS wants_law
	          FROM pg_temp.%3$I t OFFSET 0) t
	    ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	   AND t.segment = n.segment AND t.channel = n.channel AND t.company_language = n.company_language
	  -- the company's blocks and the words of each language, once each (the
	  -- company as the letterhead names it: its registered name, else its name)
	  JOIN (SELECT co.id, coalesce(co.legal_name, co.name) AS legal_name, l.language, co.country, co.language AS sender_language,
	               coalesce(ar.iban_format(co.iban), ar.letter_text('iban.missing', l.language)) AS iban,
	               ar.letter_sender(co.id, l.language) AS sender, ar.letter_legal_mentions(co.id, l.language) AS legal,
	               ar.letter_text('not_computed', l.language) AS unknown, ar.letter_text('word.and', l.language) AS word_and,
	               ar.letter_text('recent.heading', l.language) AS recent_heading,
	               ar.letter_text('credits.deduction', l.language) AS deduction_label
	          FROM ar.company co CROSS JOIN (SELECT DISTINCT render_language AS language FROM pg_temp.%3$I) l
	        OFFSET 0) co   -- (not pulled up: computed once per company and language, not per notice)
	    ON co.id = n.company_id AND co.language = t.render_language
	 CROSS JOIN LATERAL (SELECT $1 + n.delivery_days + n.reply_days AS reply_by,
	                            -- the credits set off: at most the open amounts listed (invoices
	                            -- never reminded before may have been left out since the decision)
	                            least(n.credits, s.amount_due) AS credits,
	                            -- what the notice claims: the open amounts listed less the credits set off
	                            s.amount_due - least(n.credits, s.amount_due) AS amount_due) k
	 -- the values read or computed in SQL, for the templates that use them
	 CROSS JOIN LATERAL (SELECT
	        -- the invoice tables with the interest and fixed fee of each line
	        n.state_penalties AND s.penalties IS NOT NULL AS wide,
	        -- (ar.letter_recipient's block, from the customer's row read here: on a
	        -- distributed ledger its copy on this node, not a read of every shard)
	        CASE WHEN t.wants_address
	             THEN (SELECT ar._letter_recipient_block(c.name, c.address_line1, c.address_line2, c.postcode, c.city, c.country,
	                                                     co.country, co.sender_language)
	                     FROM ar.customer c WHERE c.id = n.customer_id) END AS customer_address,
	        -- the law and the rates applied, for the templates that state them
	        CASE WHEN t.wants_terms
	             THEN ar.penalty_terms(ar._line_ids(s.lines) || coalesce(ar._line_ids(rc.recent_lines), '{}'),
	                                   $1, t.render_language, n.company_id) END AS penalty_terms,
	        -- what a formal notice says of the next step, under the regime of the
	        -- invoices it claims (each invoice's, else the customer's, else
	        -- FR_LME, as their penalties): one paragraph per distinct text, in
	        -- the order of the regimes
	        CASE WHEN t.wants_law
	             THEN (SELECT string_agg(l.paragraph, E'\n\n' ORDER BY l.regime)
	                     FROM (SELECT min(r.regime) AS regime,
	                                  coalesce(ar.letter_text('notice_law.' || lower(r.regime), t.render_language),
	                                           ar.letter_text('notice_law.default', t.render_language)) AS paragraph
	                             FROM (SELECT DISTINCT coalesce(i.penalty_regime,
	                                                            (SELECT c.penalty_regime FROM ar.customer c WHERE c.id = n.customer_id),
	                                                            'FR_LME') AS regime
	                                     FROM ar.invoice i
	                                    WHERE i.company_id = n.company_id AND i.id = ANY (ar._line_ids(s.lines))) r
	                            GROUP BY 2) l) END AS notice_law
	                     OFFSET 0) v   -- (not pulled up: the values computed once, not once per use)
	$q$, w_dec, w_acct, w_tpl, w_prev, w_recent), company);

	-- the store of the rows returned is opened (by this empty RETURN QUERY)
	-- under the caller's work_mem; the statements filling it run with the
	-- run's
	PERFORM set_config('work_mem', caller_work_mem, true);
	RETURN QUERY SELECT NULL::ar.dunning_notice, NULL::jsonb WHERE false;
	PERFORM set_config('work_mem', run_work_mem, true);
	-- the letters' joins in the order written: the decisions with their
	-- accounts, their earlier dates and recent invoices, then the few
	-- templates and companies (hashed): no sort of the wide rows, no
	-- template text carried through a sort or a hash
	PERFORM set_config('join_collapse_limit', '1', true);

	IF NOT real_run THEN
		-- a dry run returns the notices it would queue, and stops there
		RETURN QUERY EXECUTE format($q$
		SELECT ROW(NULL::bigint, o.customer_id, o.level, o.level_name, o.channel, o.subject, o.body, o.invoice_ids,
		           o.amount_due, o.penalties, 'queued'::text, o.as_of, now(), o.company_id, o.currency, o.policy_id,
		           o.cycle, o.language, o.recipient, o.interest, o.indemnity, o.fee, o.reply_by,
		           NULL::timestamptz, NULL::text, NULL::text, o.credits_set_off, NULL::timestamptz, NULL::text)::ar.dunning_notice, NULL::jsonb
		  FROM (%s) o
		 ORDER BY o.customer_id, o.currency
		$q$, render_query) USING x;
		RAISE DEBUG 'run_dunning rendered: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
		PERFORM set_config('work_mem', caller_work_mem, true);
		PERFORM set_config('join_collapse_limit', caller_join_collapse_limit, true);
		PERFORM set_config('default_toast_compression', caller_toast_compression, true);
		RETURN QUERY SELECT NULL::ar.dunning_notice, jsonb_build_object('accounts', accounts, 'report', report);
		RETURN;
	END IF;

	-- ------------------------------------------- L. the outbox, the accounts
	-- queue: the notices (numbered by the decisions), each announced by
	-- NOTIFY ar_dunning with its id, and the accounts' new state (an update
	-- of the known accounts, an insert of the new ones).  The rows returned
	-- are those the INSERT wrote (the worker, which does not use them,
	-- turns them off: ar._worker_dunning).  The timeline
	-- (ar.customer_timeline) shows each queued notice from the outbox itself.
	-- No ON CONFLICT: the decisions exclude what the unique keys of the
	-- outbox forbid, under the run lock; a duplicate would be an error.
	render_query := format($q$
	INSERT INTO ar.dunning_notice AS dn (id, customer_id, level, level_name, channel, subject, body, invoice_ids,
	                                     amount_due, penalties, as_of, company_id, currency, policy_id, cycle,
	                                     language, recipient, interest, indemnity, fee, reply_by, credits_set_off)
	SELECT o.id, o.customer_id, o.level, o.level_name, o.channel, o.subject, ar._compress_letter(o.body), o.invoice_ids, o.amount_due,
	       o.penalties, o.as_of, o.company_id, o.currency, o.policy_id, o.cycle, o.language, o.recipient,
	       o.interest, o.indemnity, o.fee, o.reply_by, o.credits_set_off
	  FROM (%s) o
	$q$, render_query);
	IF return_rows THEN
		-- (the row's columns named: on Citus dn is a shard's row, of another type)
		RETURN QUERY EXECUTE render_query || ' RETURNING ROW(dn.*)::ar.dunning_notice, NULL::jsonb' USING x;
	ELSE
		EXECUTE render_query USING x;
	END IF;
	-- the notices queued: the rows the INSERT wrote (RETURN QUERY sets
	-- ROW_COUNT too), not a count of the decisions read again
	GET DIAGNOSTICS written_now = ROW_COUNT;
	queued := queued + written_now;
	PERFORM set_config('join_collapse_limit', caller_join_collapse_limit, true);
	EXECUTE format($q$
	UPDATE ar.dunning_account a
	   SET cycle = d.cycle, level = d.level, last_notice_id = d.id, last_notice_on = $1, changed_on = $1, updated_at = now()
	  FROM pg_temp.%I d
	 WHERE d.known AND a.customer_id = d.customer_id AND a.currency = d.currency AND a.company_id = d.company_id$q$, w_dec) USING x;
	EXECUTE format($q$
	INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, changed_on, company_id)
	SELECT d.customer_id, d.currency, d.cycle, d.level, d.id, $1, $1, d.company_id FROM pg_temp.%I d WHERE NOT d.known$q$, w_dec) USING x;
	-- the ids to announce (NOTIFY ar_dunning, by the caller: on the node where
	-- the run was called, not the one the company's run was delegated to)
	EXECUTE format('SELECT coalesce(array_agg(d.id ORDER BY d.id), ''{}'') FROM pg_temp.%I d', w_dec) INTO notified;
	RAISE DEBUG 'run_dunning rendered and queued: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	PERFORM set_config('work_mem', caller_work_mem, true);
	PERFORM set_config('default_toast_compression', caller_toast_compression, true);
	RETURN QUERY SELECT NULL::ar.dunning_notice,
	                    jsonb_build_object('accounts', accounts, 'closed', closed, 'queued', queued, 'report', report,
	                                       'notified', notified);
END $$;

CREATE OR REPLACE FUNCTION ar.run_dunning(as_of date DEFAULT current_date, dry_run boolean DEFAULT false)
RETURNS SETOF ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	x constant date := run_dunning.as_of;
	real_run constant boolean := NOT run_dunning.dry_run;
	started constant timestamptz := clock_timestamp();
	-- the rows of a real run returned (the worker turns them off)
	return_rows constant boolean := coalesce(current_setting('ar_collect.dunning_return_rows', true), '') <> 'off';
	closed integer := 0;
	accounts integer := 0;
	queued integer := 0;
	report jsonb := '{}';           -- what the run reports (ar.dunning_run.report)
	-- on a distributed ledger (Citus, issue 14): the run goes company after
	-- company (ar._run_dunning_company), delegated to the company's node
	-- when it can be (ar._dunning_delegates); on one node once, company NULL
	distributed constant boolean := ar._ledger_distributed();
	delegated boolean := false;
	companies bigint[];
	g record;
	r record;
	caller_opens text;
BEGIN
	-- ---------------------------------------------- A. the call, the run lock
	IF x IS NULL OR NOT isfinite(x) THEN
		RAISE EXCEPTION 'run_dunning needs a finite as_of date, not %', coalesce(x::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.run_dunning: as_of', x);
	IF run_dunning.dry_run IS NULL THEN
		RAISE EXCEPTION 'dry_run must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a run decides for every company (one ar.dunning_run per date; on a
	-- distributed ledger company after company: in the caller's transaction,
	-- or delegated, each company in a transaction of its own on its node)
	PERFORM ar._require_all_companies('collector');
	IF real_run THEN
		-- runs queue one after the other; a date already run queues nothing
		-- (a run whose snapshot misses an earlier run's commit fails: 40001)
		PERFORM ar._take_run_lock('run_dunning');
		IF EXISTS (SELECT 1 FROM ar.dunning_run r WHERE r.as_of = x) THEN
			RETURN;
		END IF;
	END IF;

	IF distributed THEN
		-- delegated outside a transaction block only: a company's run on its
		-- node then commits there on its own (it cannot join the caller's
		-- transaction: its work tables are temporary, and a transaction
		-- spanning nodes is prepared, which PostgreSQL refuses for one that
		-- used temporary tables).  In a transaction block each company's
		-- rows are read through the coordinator, in the caller's transaction.
		delegated := NOT ar._in_transaction_block() AND ar._dunning_delegates();
		caller_opens := current_setting('citus.function_opens_transaction_block', true);
		IF delegated THEN
			-- (else Citus counts a call from a function as a transaction block)
			PERFORM set_config('citus.function_opens_transaction_block', 'off', true);
		END IF;
	END IF;
	-- the calls: one node once; in a transaction block company after company;
	-- delegated, the companies of each node together (one call per node,
	-- named by its first company: the run's statements once per node, not
	-- once per company)
	companies := ARRAY(SELECT c.id FROM ar.company c WHERE distributed ORDER BY c.id);
	FOR g IN EXECUTE CASE WHEN NOT distributed THEN 'SELECT NULL::bigint AS company, NULL::bigint[] AS companies'
	                      WHEN NOT delegated THEN 'SELECT k AS company, NULL::bigint[] AS companies FROM unnest($1) k'
	                      -- (the catalog of Citus read apart from ar.company, a reference table)
	                      ELSE 'SELECT min(k) AS company, array_agg(k ORDER BY k) AS companies FROM unnest($1) k
	                              JOIN pg_catalog.pg_dist_placement p
	                                ON p.shardid = pg_catalog.get_shard_id_for_distribution_column(''ar.customer'', k)
	                             GROUP BY p.groupid ORDER BY 1' END USING companies LOOP
		-- (the values written into the call: Citus delegates a call whose
		-- company is a constant)
		FOR r IN EXECUTE format('SELECT d.notice, d.summary FROM ar._run_dunning_company(%s::bigint, %L::bigint[], %L::date, %L::boolean, %L::boolean, %L::jsonb) d',
		                        coalesce(g.company::text, 'NULL'), g.companies, x, run_dunning.dry_run, return_rows, report) LOOP
			IF r.summary IS NULL THEN
				RETURN NEXT r.notice;
			ELSE
				accounts := accounts + (r.summary->>'accounts')::integer;
				closed := closed + coalesce((r.summary->>'closed')::integer, 0);
				queued := queued + coalesce((r.summary->>'queued')::integer, 0);
				report := r.summary->'report';
				-- the notices announced here, in the caller's transaction
				PERFORM pg_notify('ar_dunning', n::text)
				   FROM jsonb_array_elements_text(coalesce(r.summary->'notified', '[]')) WITH ORDINALITY AS i (n, o) ORDER BY o;
			END IF;
		END LOOP;
	END LOOP;
	IF delegated THEN
		PERFORM set_config('citus.function_opens_transaction_block', coalesce(caller_opens, 'on'), true);
	END IF;
	IF NOT real_run THEN
		RETURN;
	END IF;

	-- ------------------------------------------------------------ the run
	INSERT INTO ar.dunning_run (as_of, started_at, accounts, notices, cycles_closed, report)
	VALUES (x, started, accounts, queued, closed, report);
END $$;
-- only the run (and the worker through it) calls the per-company work
REVOKE ALL ON FUNCTION ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb) FROM PUBLIC;
