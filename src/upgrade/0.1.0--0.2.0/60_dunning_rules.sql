-- Dunning decisions (issue 13): credits set off, minimum amounts and
-- percentage, a broken promise resuming the escalation.  Final forms in
-- src/sql/50_payments.sql, 60_reports.sql, 75_analytics.sql, 80_dunning_*.sql.

-- ------------------------------------------------------------ open credits
CREATE INDEX invoice_open_credit_note ON ar.invoice (customer_id, currency) WHERE open_amount < 0;

CREATE FUNCTION ar.open_credits(as_of date DEFAULT current_date)
RETURNS TABLE (kind text, credit_id bigint, company_id bigint, customer_id bigint, currency char(3),
               number text, credit_date date, amount numeric, available numeric, note text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT o.kind, o.credit_id, o.company_id, o.customer_id, o.currency, o.number, o.credit_date, o.amount,
	       o.available, o.note
	  FROM (-- credit notes open today (invoice_open_credit_note), as they stood on as_of
	        SELECT 'credit_note' AS kind, i.id AS credit_id, i.company_id, i.customer_id, i.currency, i.number,
	               i.issue_date AS credit_date, -i.amount AS amount,
	               -i.open_amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                           WHERE a.invoice_id = i.id AND a.allocated_on > as_of), 0) AS available,
	               NULL::text AS note
	          FROM ar.invoice i
	         WHERE i.open_amount < 0 AND i.issue_date <= as_of
	        UNION ALL
	        -- credit notes set off since as_of
	        SELECT 'credit_note', i.id, i.company_id, i.customer_id, i.currency, i.number, i.issue_date, -i.amount,
	               -(SELECT sum(a.amount) FROM ar.allocation a WHERE a.invoice_id = i.id AND a.allocated_on > as_of),
	               NULL
	          FROM ar.invoice i
	         WHERE i.id IN (SELECT a.invoice_id FROM ar.allocation a WHERE a.allocated_on > as_of AND a.amount < 0)
	           AND i.open_amount = 0 AND i.amount < 0 AND i.cancelled_on IS NULL AND i.issue_date <= as_of
	        UNION ALL
	        -- credit notes cancelled since as_of
	        SELECT 'credit_note', i.id, i.company_id, i.customer_id, i.currency, i.number, i.issue_date, -i.amount,
	               -i.amount, NULL
	          FROM ar.invoice i
	         WHERE i.cancelled_on > as_of AND i.amount < 0 AND i.issue_date <= as_of
	        UNION ALL
	        -- customer credit not used up today, or used since as_of
	        SELECT 'customer_credit', cc.id, cc.company_id, cc.customer_id, cc.currency, NULL, cc.created_on, cc.amount,
	               cc.remaining + coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                         WHERE a.customer_credit_id = cc.id AND a.allocated_on > as_of), 0),
	               coalesce(cc.source || ': ' || cc.note, cc.source)
	          FROM ar.customer_credit cc
	         WHERE cc.created_on <= as_of
	           AND (cc.remaining > 0
	                OR cc.id IN (SELECT a.customer_credit_id FROM ar.allocation a
	                              WHERE a.customer_credit_id IS NOT NULL AND a.allocated_on > as_of))) o
	 WHERE o.available > 0
$$;
COMMENT ON FUNCTION ar.open_credits(date) IS
	'Open credit notes and unapplied customer credit on as_of, one row each (available: what may still be set off then, positive).';

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

CREATE FUNCTION ar._apply_open_credits(customer_ids bigint[], as_of date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM ar.invoice i
	  WHERE i.customer_id = ANY (customer_ids) AND i.open_amount <> 0
	  ORDER BY i.id FOR UPDATE;
	PERFORM 1 FROM ar.customer_credit cc
	  WHERE cc.customer_id = ANY (customer_ids) AND cc.remaining > 0
	  ORDER BY cc.id FOR UPDATE;
	RETURN QUERY
	WITH inv AS (
		SELECT i.id, i.company_id, i.customer_id, i.currency, i.number,
		       sum(i.open_amount) OVER w - i.open_amount AS start_at, sum(i.open_amount) OVER w AS end_at
		  FROM ar.invoice i
		 WHERE i.customer_id = ANY (customer_ids) AND i.open_amount > 0 AND i.issue_date <= as_of AND NOT i.disputed
		WINDOW w AS (PARTITION BY i.company_id, i.customer_id, i.currency ORDER BY i.due_date, i.id)
	), cr AS (
		SELECT c.kind, c.id, c.company_id, c.customer_id, c.currency, c.number,
		       sum(c.available) OVER w - c.available AS start_at, sum(c.available) OVER w AS end_at
		  FROM (SELECT 'credit_note' AS kind, i.id, i.company_id, i.customer_id, i.currency, i.number,
		               i.issue_date AS credit_date, -i.open_amount AS available
		          FROM ar.invoice i
		         WHERE i.customer_id = ANY (customer_ids) AND i.open_amount < 0 AND i.issue_date <= as_of
		        UNION ALL
		        SELECT 'customer_credit', cc.id, cc.company_id, cc.customer_id, cc.currency, NULL, cc.created_on,
		               cc.remaining
		          FROM ar.customer_credit cc
		         WHERE cc.customer_id = ANY (customer_ids) AND cc.remaining > 0 AND cc.created_on <= as_of) c
		WINDOW w AS (PARTITION BY c.company_id, c.customer_id, c.currency
		             ORDER BY c.credit_date, c.kind, c.id)
	), pairs AS (
		SELECT cr.kind, cr.id AS credit_id, cr.number AS credit_number, inv.id AS invoice_id, inv.number,
		       inv.company_id, inv.customer_id, inv.currency, inv.start_at AS invoice_at, cr.start_at AS credit_at,
		       least(cr.end_at, inv.end_at) - greatest(cr.start_at, inv.start_at) AS take
		  FROM cr
		  JOIN inv ON inv.company_id = cr.company_id AND inv.customer_id = cr.customer_id AND inv.currency = cr.currency
		          AND inv.start_at < cr.end_at AND cr.start_at < inv.end_at
	), made AS (
		INSERT INTO ar.allocation (company_id, invoice_id, customer_credit_id, amount, allocated_on, method, note)
		SELECT p.company_id, r.invoice_id, r.customer_credit_id, r.amount, as_of, r.method, r.note
		  FROM pairs p
		 CROSS JOIN LATERAL (VALUES
		        (p.invoice_id, CASE WHEN p.kind = 'customer_credit' THEN p.credit_id END, p.take,
		         CASE WHEN p.kind = 'customer_credit' THEN 'credit' ELSE 'credit_note' END,
		         CASE WHEN p.kind = 'credit_note' THEN 'credit note ' || p.credit_number
		              ELSE 'customer credit ' || p.credit_id END || ' (open credits applied)'),
		        (p.credit_id, NULL, -p.take, 'credit_note', 'invoice ' || p.number || ' (open credits applied)'))
		        r(invoice_id, customer_credit_id, amount, method, note)
		 WHERE r.amount > 0 OR p.kind = 'credit_note'
		 ORDER BY p.customer_id, p.currency, p.invoice_at, p.credit_at, r.amount DESC
		RETURNING *
	), logged AS (
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, detail)
		SELECT p.company_id, p.customer_id, as_of, 'credits_applied', 'internal',
		       format('Open credits set off: %s against %s invoice(s)',
		              string_agg(ar.format_money(p.total, p.currency), ', ' ORDER BY p.currency),
		              sum(p.invoices)),
		       string_agg(p.detail, '; ' ORDER BY p.currency)
		  FROM (SELECT q.company_id, q.customer_id, q.currency, sum(q.take) AS total,
		               count(DISTINCT q.invoice_id) AS invoices,
		               string_agg(format('%s %s -> %s', coalesce('credit note ' || q.credit_number, 'customer credit ' || q.credit_id),
		                                 ar.format_money(q.take, q.currency), q.number),
		                          ', ' ORDER BY q.invoice_at, q.credit_at) AS detail
		          FROM pairs q GROUP BY q.company_id, q.customer_id, q.currency) p
		 GROUP BY p.company_id, p.customer_id
	)
	SELECT * FROM made ORDER BY made.id;
END $$;

CREATE FUNCTION ar.apply_open_credits(customer_id bigint, as_of date DEFAULT current_date)
RETURNS SETOF ar.allocation
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint;
BEGIN
	SELECT c.company_id INTO company FROM ar.customer c WHERE c.id = apply_open_credits.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(company, 'collector');
	IF as_of IS NULL OR NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'open credits are applied on a finite date, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY SELECT * FROM ar._apply_open_credits(ARRAY[customer_id], as_of);
END $$;
COMMENT ON FUNCTION ar.apply_open_credits(bigint, date) IS
	'Allocates the customer''s open credit notes and unapplied customer credit (oldest first) to its oldest open, undisputed invoices of the same company and currency, dated as_of; returns the allocations made.';

-- ------------------------------------------------------------ reports
-- aging_report returns more columns: it and the views over it are made again
DROP VIEW ar.aging_by_bucket;
DROP VIEW ar.aging_by_customer;
DROP FUNCTION ar.aging_report(date);
CREATE FUNCTION ar.aging_report(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text,
               not_due numeric, d1_30 numeric, d31_60 numeric, d61_90 numeric, d91_plus numeric, total numeric,
               currency char(3), company_id bigint, credit_notes numeric, unapplied_credit numeric,
               net_balance numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT c.id, c.code, c.name,
	       coalesce((g.buckets).not_due, 0), coalesce((g.buckets).d1_30, 0), coalesce((g.buckets).d31_60, 0),
	       coalesce((g.buckets).d61_90, 0), coalesce((g.buckets).d91_plus, 0), coalesce((g.buckets).total, 0),
	       coalesce(g.currency, u.currency), c.company_id,
	       coalesce(g.credit_notes, 0), coalesce(u.available, 0),
	       coalesce((g.buckets).total, 0) - coalesce(u.available, 0)
	  FROM (SELECT o.customer_id, o.currency, ar.aging(o.open_amount, o.due_date, as_of) AS buckets,
	               coalesce(sum(o.open_amount) FILTER (WHERE o.amount < 0), 0) AS credit_notes
	          FROM ar.open_items(as_of) o
	         GROUP BY o.customer_id, o.currency) g
	  FULL JOIN (SELECT k.customer_id, k.currency, sum(k.available) AS available
	               FROM ar.open_credits(as_of) k
	              WHERE k.kind = 'customer_credit'
	              GROUP BY k.customer_id, k.currency) u
	         ON u.customer_id = g.customer_id AND u.currency = g.currency
	  JOIN ar.customer c ON c.id = coalesce(g.customer_id, u.customer_id)
	 ORDER BY c.code, coalesce(g.currency, u.currency)
$$;

CREATE OR REPLACE VIEW ar.receivables AS
SELECT i.id AS invoice_id, i.company_id, i.customer_id, c.code AS customer_code, c.name AS customer_name,
       i.number, i.currency, i.issue_date, i.due_date, i.amount, i.open_amount,
       current_date - i.due_date AS days_past_due,
       ar.aging_bucket(current_date - i.due_date) AS aging_bucket,
       i.status, i.payment_reference,
       CASE WHEN i.amount < 0 THEN 'credit_note' ELSE 'invoice' END AS document_type
  FROM ar.invoice i
  JOIN ar.customer c ON c.id = i.customer_id
 WHERE i.open_amount <> 0
   AND i.issue_date <= current_date;

COMMENT ON COLUMN ar.receivables.document_type IS 'invoice, or credit_note (negative amount: open until set off, see ar.apply_open_credits).';

CREATE VIEW ar.aging_by_customer AS
SELECT * FROM ar.aging_report(current_date);

COMMENT ON VIEW ar.aging_by_customer IS 'Aging of open amounts per customer and currency today, with open credit notes and unapplied customer credit (ar.aging_report(current_date)).';
COMMENT ON COLUMN ar.aging_by_customer.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.aging_by_customer.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.aging_by_customer.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.aging_by_customer.not_due IS 'Open amount not yet due (0 days or fewer past due).';
COMMENT ON COLUMN ar.aging_by_customer.d1_30 IS 'Open amount 1 to 30 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d31_60 IS 'Open amount 31 to 60 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d61_90 IS 'Open amount 61 to 90 days past due.';
COMMENT ON COLUMN ar.aging_by_customer.d91_plus IS 'Open amount 91 days or more past due.';
COMMENT ON COLUMN ar.aging_by_customer.total IS 'Total open amount (credit notes included, negative).';
COMMENT ON COLUMN ar.aging_by_customer.currency IS 'Currency of the row: one row per customer and currency.';
COMMENT ON COLUMN ar.aging_by_customer.company_id IS 'Company whose receivable it is.';
COMMENT ON COLUMN ar.aging_by_customer.credit_notes IS 'Open credit notes (negative), already in the buckets and the total.';
COMMENT ON COLUMN ar.aging_by_customer.unapplied_credit IS 'Customer credit not yet used (positive; in no bucket): overpayments, unapplied payments, credit granted.';
COMMENT ON COLUMN ar.aging_by_customer.net_balance IS 'What the customer owes once every credit is set off: total - unapplied_credit (negative: we owe it).';

CREATE VIEW ar.aging_by_bucket AS
SELECT b.bucket, b.ord AS bucket_order, r.currency,
       sum(CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                         WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END) AS amount
  FROM ar.aging_report(current_date) r
 CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord)
 GROUP BY b.bucket, b.ord, r.currency;

COMMENT ON VIEW ar.aging_by_bucket IS 'Open amounts today by aging bucket and currency (a bar chart''s data).';
COMMENT ON COLUMN ar.aging_by_bucket.bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.aging_by_bucket.bucket_order IS '1 to 5, for sorting buckets from not due to oldest.';
COMMENT ON COLUMN ar.aging_by_bucket.currency IS 'Currency of the amount.';
COMMENT ON COLUMN ar.aging_by_bucket.amount IS 'Open amount in the bucket.';

-- ------------------------------------------------------------ dunning
-- (the deferred triggers of the rows changed so far fire first: a table
-- with pending trigger events cannot be altered)
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE ar.dunning_policy ADD COLUMN apply_credits_before_run boolean NOT NULL DEFAULT false;
ALTER TABLE ar.dunning_level ADD COLUMN min_percent numeric NOT NULL DEFAULT 0 CHECK (min_percent BETWEEN 0 AND 100);
ALTER TABLE ar.dunning_notice ADD COLUMN credits_set_off numeric NOT NULL DEFAULT 0;
SET CONSTRAINTS ALL DEFERRED;
COMMENT ON COLUMN ar.dunning_level.min_amount IS
	'A notice of this level is queued only when the amount it claims (open amounts listed, less the credits set off) is above this (in the account''s currency); at or below it the account stays at the level below.';
COMMENT ON COLUMN ar.dunning_level.min_percent IS
	'Minimum percentage (0 to 100): the open amounts of the invoices that reached this level must be at least this percentage of the account''s open items on the run date (invoices and credit notes, less unapplied customer credit), else the account stays at the level below. 0: no minimum.';
COMMENT ON COLUMN ar.dunning_policy.apply_credits_before_run IS
	'A real run first allocates the open credit notes and unapplied customer credit of the policy''s customers to their oldest open invoices (ar.apply_open_credits on the run date). Without it, credits are only deducted from what the notices claim.';
COMMENT ON COLUMN ar.dunning_notice.amount_due IS
	'What the notice claims: the open amounts of the invoices it lists on its run date, less credits_set_off.';
COMMENT ON COLUMN ar.dunning_notice.credits_set_off IS
	'Open credit notes and unapplied customer credit of the account on the run date, deducted from the open amounts listed (up to them); the letter states the deduction.';
COMMENT ON COLUMN ar.dunning_summary.amount_due IS 'Sum of what they claimed: the open amounts they listed, less the credits set off.';

-- FR_STANDARD's minimum amounts (shipped data, not the user's: without
-- touching the audit trail, as a restore reloads rows; levels left at 0 only)
SET LOCAL ar_collect.restoring = on;
UPDATE ar.dunning_level l
   SET min_amount = CASE WHEN l.level >= 4 THEN 50 ELSE 10 END
  FROM ar.dunning_policy p
 WHERE p.id = l.policy_id AND p.code = 'FR_STANDARD' AND p.shipped AND l.shipped AND l.min_amount = 0;
SET LOCAL ar_collect.restoring = off;

CREATE FUNCTION ar._lines_open_from(lines ar._dunning_lines, level integer)
RETURNS numeric
AS 'MODULE_PATHNAME', 'dunning_lines_open_from'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ar._account_balance_on(customer_id bigint, currency char(3), on_date date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce((SELECT sum(o.open_amount) FROM ar.open_items(on_date) o
	                  WHERE o.customer_id = _account_balance_on.customer_id
	                    AND o.currency = _account_balance_on.currency), 0)
	     - coalesce((SELECT sum(k.available) FROM ar.open_credits(on_date) k
	                  WHERE k.kind = 'customer_credit' AND k.customer_id = _account_balance_on.customer_id
	                    AND k.currency = _account_balance_on.currency), 0)
$$;

CREATE OR REPLACE FUNCTION ar.run_dunning(as_of date DEFAULT current_date, dry_run boolean DEFAULT false)
RETURNS SETOF ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER
-- a batch of set-based statements over work tables: compiling each one
-- costs more than it saves (work_mem: see run_work_mem)
SET search_path = pg_catalog, ar, pg_temp SET jit = off
-- the work tables are analyzed from a small sample, enough for join plans;
-- no nested loops over work tables whose size the planner may misjudge
SET default_statistics_target = 10 SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
	x constant date := run_dunning.as_of;
	real_run constant boolean := NOT run_dunning.dry_run;
	started constant timestamptz := clock_timestamp();
	-- how penalties are computed: by the penalty engine for every listed
	-- invoice in one statement (the set-based core of ar.invoice_penalty),
	-- else by ar.invoice_penalty, else not at all (NULL)
	penalty_mode constant text := CASE
		WHEN to_regprocedure('ar._penalty_compute(text,numeric,date,date,date[],numeric[],numeric,text,boolean)') IS NOT NULL
		     AND to_regclass('ar.penalty_claim') IS NOT NULL THEN 'engine'
		WHEN to_regprocedure('ar.invoice_penalty(bigint,date)') IS NOT NULL THEN 'function'
		ELSE 'none' END;
	-- the sorts and hashes of the run in memory (at least 256 MB), the rows
	-- it returns within the caller's work_mem, as any set-returning
	-- function's (beyond it they spill to a temporary file): set locally,
	-- the caller's value restored before returning
	caller_work_mem constant text := current_setting('work_mem');
	run_work_mem constant text := CASE WHEN pg_size_bytes(caller_work_mem) < pg_size_bytes('256MB')
	                                   THEN '256MB' ELSE caller_work_mem END;
	caller_enable_sort constant text := current_setting('enable_sort');
	claims boolean := false;        -- penalty decisions exist (ar.penalty_claim)
	paid_since boolean;             -- allocations dated after x exist
	cancelled_since boolean;        -- invoices cancelled after x exist
	lead_days integer;
	closed integer := 0;
	accounts integer;
	queued integer;
	problems bigint;
	first_problem text;
	missing record;
	written bigint;
	out_query text;
	step_at timestamptz := clock_timestamp();    -- step timings, at DEBUG1
	-- the work tables (pg_temp, named with this transaction's token: see
	-- ar._dunning_work_table)
	w_policy constant text := ar._dunning_work_name('ar_dun_policy');
	w_blocked constant text := ar._dunning_work_name('ar_dun_blocked');
	w_excluded constant text := ar._dunning_work_name('ar_dun_excluded');
	w_customer constant text := ar._dunning_work_name('ar_dun_customer');
	w_acct constant text := ar._dunning_work_name('ar_dun_acct');
	w_dec constant text := ar._dunning_work_name('ar_dun_dec');
	w_tpl constant text := ar._dunning_work_name('ar_dun_tpl');
	w_prev constant text := ar._dunning_work_name('ar_dun_prev');
	skipped bigint[];               -- customers with rows beyond the input bounds
	w_credit constant text := ar._dunning_work_name('ar_dun_credit');
	apply_credits boolean;
BEGIN
	IF x IS NULL OR NOT isfinite(x) THEN
		RAISE EXCEPTION 'run_dunning needs a finite as_of date, not %', coalesce(x::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.run_dunning: as_of', x);
	IF run_dunning.dry_run IS NULL THEN
		RAISE EXCEPTION 'dry_run must be true or false, not NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- a run decides for every company at once (one ar.dunning_run per date)
	PERFORM ar._require_all_companies('collector');
	IF real_run THEN
		-- runs queue one after the other; a date already run queues nothing
		PERFORM pg_advisory_xact_lock(hashtext('ar_collect.run_dunning'));
		IF EXISTS (SELECT 1 FROM ar.dunning_run r WHERE r.as_of = x) THEN
			RETURN;
		END IF;
	END IF;
	PERFORM set_config('work_mem', run_work_mem, true);
	-- customers with rows beyond the input bounds (their constraints were
	-- bypassed) are skipped as if blocked, warned about and reported in
	-- ar.batch_problem, instead of failing the run for everyone; only the
	-- tables whose constraint is missing or not validated are read
	SELECT coalesce(array_agg(DISTINCT coalesce(q.customer_id, c.id)), '{}') INTO skipped
	  FROM ar._batch_quarantine('run_dunning', ARRAY['company', 'customer', 'invoice', 'customer_credit', 'allocation',
	                                                 'dispute', 'payment_promise', 'payment_plan', 'payment_plan_instalment',
	                                                 'dunning_block'], NULL, x, real_run) q
	  LEFT JOIN ar.customer c ON q.object_table = 'company' AND c.company_id = q.object_id
	 WHERE q.customer_id IS NOT NULL OR c.id IS NOT NULL;
	IF real_run THEN
		-- promises whose date has passed: kept or broken
		WITH settled AS (
			UPDATE ar.payment_promise pr
			   SET status = CASE WHEN ar._open_on(pr.invoice_id, pr.promised_on) <= pr.open_at_promise - pr.amount
			                     THEN 'kept' ELSE 'broken' END,
			       settled_on = x
			 WHERE pr.status = 'pending' AND pr.promised_on < x AND pr.customer_id <> ALL (skipped)
			RETURNING pr.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, invoice_id, promise_id)
		SELECT s.company_id, s.customer_id, x, 'promise_' || s.status, 'internal',
		       format('Promise to pay %s by %s on invoice %s %s', ar.format_money(s.amount, i.currency), s.promised_on,
		              i.number, CASE s.status WHEN 'kept' THEN 'kept' ELSE 'broken: the invoice is dunned again' END),
		       s.invoice_id, s.id
		  FROM settled s JOIN ar.invoice i ON i.id = s.invoice_id;
		-- payment plans: a missed instalment breaks the plan, full payment completes it
		WITH changed AS (
			UPDATE ar.payment_plan p
			   SET status = c.status, status_on = c.status_on
			  FROM (SELECT q.id, CASE WHEN b.broken_on IS NOT NULL THEN 'broken' ELSE 'completed' END AS status,
			               coalesce(b.broken_on, x) AS status_on
			          FROM ar.payment_plan q
			         CROSS JOIN LATERAL (SELECT ar._plan_broken_on(q.id, x) AS broken_on) b
			         WHERE q.status = 'active' AND q.customer_id <> ALL (skipped)
			           AND (b.broken_on IS NOT NULL OR ar._plan_outstanding(q.id, x) = 0)) c
			 WHERE p.id = c.id
			RETURNING p.*
		)
		INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary, plan_id)
		SELECT c.company_id, c.customer_id, x, 'plan_' || c.status, 'internal',
		       CASE c.status
		            WHEN 'broken' THEN format('Payment plan %s broken on %s: an instalment was not paid; its invoices are dunned again',
		                                      c.id, c.status_on)
		            ELSE format('Payment plan %s completed', c.id) END,
		       c.id
		  FROM changed c;
	END IF;

	RAISE DEBUG 'run_dunning exclusions updated: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- active policies, their levels as arrays: the level an invoice reached
	-- is levels[width_bucket(days late, offsets)]
	PERFORM ar._dunning_work_table(w_policy, format($w$
	SELECT p.id AS policy_id, p.code, p.min_days_between, p.fallback_language, p.templates_from,
	       p.apply_credits_before_run,
	       array_agg(l.offset_days ORDER BY l.level) AS offsets, array_agg(l.level ORDER BY l.level) AS levels
	  FROM ar.dunning_policy p JOIN ar.dunning_level l ON l.policy_id = p.id
	 WHERE p.active
	 GROUP BY p.id
	$w$, x, lead_days));
	EXECUTE format('SELECT greatest(0, -min(o)) FROM pg_temp.%I, unnest(offsets) o', w_policy) INTO lead_days;
	lead_days := coalesce(lead_days, 0);

	-- 0. customers blocked on x (and those skipped)
	PERFORM ar._dunning_work_table(w_blocked, format($w$
	SELECT b.customer_id
	  FROM ar.dunning_block b
	 WHERE (b.from_on IS NULL OR b.from_on <= %1$L::date) AND %1$L::date < b.until
	   AND (b.lifted_at IS NULL OR (b.lifted_on IS NOT NULL AND %1$L::date < b.lifted_on))
	UNION
	SELECT unnest(%3$L::bigint[])
	$w$, x, lead_days, skipped));

	-- invoices left out on x: disputed, promised, in a payment plan in force
	PERFORM ar._dunning_work_table(w_excluded, format($w$
	SELECT d.invoice_id
	  FROM ar.dispute d
	 WHERE (d.opened_on IS NULL OR d.opened_on <= %1$L::date)
	   AND (d.resolved_at IS NULL OR (d.resolved_on IS NOT NULL AND %1$L::date < d.resolved_on))
	UNION
	SELECT pr.invoice_id
	  FROM ar.payment_promise pr
	 WHERE (pr.made_on IS NULL OR pr.made_on <= %1$L::date) AND %1$L::date <= pr.promised_on
	UNION
	SELECT pi.invoice_id
	  FROM ar.payment_plan p JOIN ar.payment_plan_invoice pi ON pi.plan_id = p.id
	 WHERE (p.starts_on IS NULL OR p.starts_on <= %1$L::date)
	   AND (p.cancelled_at IS NULL OR (p.cancelled_on IS NOT NULL AND %1$L::date < p.cancelled_on))
	   AND NOT (p.status IN ('completed', 'broken') AND p.status_on <= %1$L::date)
	   AND ar._plan_broken_on(p.id, %1$L::date) IS NULL
	$w$, x, lead_days));

	RAISE DEBUG 'run_dunning policies, blocks, exclusions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- customers dunned on x: not blocked, with an active policy and its
	-- levels (and, for the penalty engine, the regime of their invoices: the
	-- customer's, else FR_LME, as ar.invoice_penalty does); indexed, for
	-- the merge with the invoices in account order
	PERFORM ar._dunning_work_table(w_customer, format($q$
	SELECT c.id AS customer_id, p.policy_id, p.offsets, p.levels %1$s
	  FROM ar.customer c
	  LEFT JOIN ar.customer_dunning_policy cp ON cp.customer_id = c.id
	  LEFT JOIN ar.dunning_segment_policy sp ON sp.segment = c.segment
	  LEFT JOIN (SELECT d.id FROM ar.dunning_policy d
	              WHERE d.is_default AND d.active ORDER BY d.shipped, d.id LIMIT 1) dp ON true
	  JOIN pg_temp.%2$I p ON p.policy_id = coalesce(cp.policy_id, sp.policy_id, dp.id)
	 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.%3$I b WHERE b.customer_id = c.id)
	$q$, CASE WHEN penalty_mode = 'engine'
	          THEN ', coalesce(c.penalty_regime, ''FR_LME'') AS regime, c.penalty_rate AS contract_rate' ELSE '' END,
	w_policy, w_blocked),
	'customer_id');
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, policy_id)', w_customer);

	-- a real run first allocates the open credits of the customers whose
	-- policy says so to their oldest invoices (ar.apply_open_credits)
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM pg_temp.%I p WHERE p.apply_credits_before_run)', w_policy)
	   INTO apply_credits;
	IF real_run AND apply_credits THEN
		EXECUTE format($q$
		SELECT count(*) FROM ar._apply_open_credits(ARRAY(
			SELECT c.customer_id FROM pg_temp.%1$I c JOIN pg_temp.%2$I p ON p.policy_id = c.policy_id
			 WHERE p.apply_credits_before_run
			   AND c.customer_id IN (SELECT k.customer_id FROM ar.open_credits($1) k)
			 ORDER BY c.customer_id), $1)
		$q$, w_customer, w_policy) USING x;
	END IF;
	-- what each account may set off on x: its open credit notes and unused
	-- customer credit (few accounts), deducted from what its notice claims
	PERFORM ar._dunning_work_table(w_credit, format($w$
	SELECT k.customer_id, k.currency, sum(k.available) AS credits
	  FROM ar.open_credits(%1$L) k
	 WHERE k.customer_id IN (SELECT c.customer_id FROM pg_temp.%2$I c)
	 GROUP BY k.customer_id, k.currency
	$w$, x, w_customer));
	EXECUTE format('ANALYZE pg_temp.%I', w_credit);

	RAISE DEBUG 'run_dunning customers and credits: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();
	IF penalty_mode = 'engine' THEN
		EXECUTE 'SELECT EXISTS (SELECT 1 FROM ar.penalty_claim)' INTO claims;
	END IF;
	paid_since := EXISTS (SELECT 1 FROM ar.allocation a WHERE a.allocated_on > x);
	cancelled_since := EXISTS (SELECT 1 FROM ar.invoice i WHERE i.cancelled_on > x);
	RAISE DEBUG 'run_dunning claims, payments and cancellations since: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 1, 2. In one pass over the dunnable invoices on x, account by account
	-- (the index invoice_open_account, merged with the customers: no sort
	-- of a million rows, which the planner would choose from its estimates
	-- of the filters here; a sort remains when invoices paid or cancelled
	-- since x are added): the level each reached, R of its account, and
	-- per account what a notice would list: the invoices that reached level
	-- 1 (all of them, at level 0, when R = 0), in due date order, with their
	-- open amounts on x (today's plus the allocations dated after x; the
	-- invoices paid or cancelled since x are looked up only when there are
	-- any) and the penalties accrued on x.  An invoice whose penalty cannot
	-- be computed (a rate not known) leaves the account's penalties NULL,
	-- never a silent zero; penalties already billed, waived or written off
	-- (ar.penalty_claim) are not claimed again.
	PERFORM set_config('enable_sort', 'off', true);
	accounts := ar._dunning_work_table(w_acct, format($q$
	WITH later AS (
		SELECT a.invoice_id, sum(a.amount) AS amount
		  FROM ar.allocation a WHERE a.allocated_on > %1$L GROUP BY a.invoice_id
	), open_on_x AS (
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on,
		       %4$s AS open_on_x %3$s
		  FROM ar.invoice i %5$s
		 WHERE i.open_amount <> 0 AND i.amount > 0 AND i.issue_date <= %1$L AND i.due_date <= %2$L
		%9$s
		), dunnable AS (
		SELECT o.*, c.policy_id, c.levels[width_bucket(%1$L::date - o.due_date, c.offsets)] AS inv_level %6$s
		  FROM open_on_x o
		  JOIN pg_temp.%10$I c ON c.customer_id = o.customer_id
		 WHERE o.open_on_x > 0
		   AND width_bucket(%1$L::date - o.due_date, c.offsets) > 0
		   -- a filter on a hashed list keeps the account order (the ids are never NULL)
		   AND o.id NOT IN (SELECT e.invoice_id FROM pg_temp.%11$I e)
	)
	-- per account: R, and what a notice would list (the invoices at level 1
	-- and up, or those at level 0 when R = 0): counts and sums in one C
	-- aggregate (ar._dunning_totals, exact int128 sums), the lines in table
	-- order in another (ar._dunning_lines), one transition per invoice
	-- each; the first problem twice, FILTERed by listing.
	SELECT g.customer_id, g.currency, g.policy_id, (g.t).r,
	       (g.t).invoice_count, (g.t).amount_due, (g.t).interest, (g.t).indemnity, (g.t).penalties,
	       g.lines, (g.t).problems,
	       CASE WHEN (g.t).r >= 1 THEN g.problem1 ELSE g.problem0 END AS first_problem
	  FROM (SELECT q.customer_id, q.currency, min(q.policy_id) AS policy_id,
	               -- R, counts and sums (NULL penalties when any is unknown)
	               ar._dunning_totals(q.inv_level, q.open_on_x, q.interest, q.fixed_fee, q.total, q.problem) AS t,
	               ar._dunning_lines(q.inv_level, q.id, q.number, q.due_date, %1$L::date - q.due_date, q.amount,
	                                 q.open_on_x, q.interest, q.fixed_fee) AS lines,
	               -- (filtered on the problem first: no text built for the others)
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level >= 1) AS problem1,
	               min(q.number || ': ' || q.problem) FILTER (WHERE q.problem IS NOT NULL AND q.inv_level = 0) AS problem0
	          FROM (SELECT p.*, %7$s
	                  FROM (SELECT d.*, %8$s FROM dunnable d ORDER BY d.customer_id, d.currency OFFSET 0) p) q
	         GROUP BY q.customer_id, q.currency) g
	$q$, x, x + lead_days,
	-- %3$s: what the penalty engine needs of the invoice
	CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
	-- %4$s, %5$s: the open amount on x, from today's and the allocations dated after x
	CASE WHEN paid_since THEN 'i.open_amount + coalesce(l.amount, 0)' ELSE 'i.open_amount' END,
	CASE WHEN paid_since THEN 'LEFT JOIN later l ON l.invoice_id = i.id' ELSE '' END,
	-- %6$s: the regime each invoice runs under
	CASE WHEN penalty_mode = 'engine'
	     THEN ', coalesce(o.penalty_regime, c.regime) AS regime, coalesce(o.penalty_rate, c.contract_rate) AS contract_rate,
	             o.cancelled_on IS NULL AS liable'
	     ELSE '' END,
	-- %7$s: the penalty columns, from pen
	CASE penalty_mode
	     WHEN 'engine' THEN
	         'CASE WHEN p.claimable THEN (p.pen).interest ELSE 0.00 END AS interest,
	          CASE WHEN p.claimable THEN (p.pen).fixed_fee ELSE 0.00 END AS fixed_fee,
	          CASE WHEN p.claimable THEN (p.pen).total ELSE 0.00 END AS total,
	          CASE WHEN p.claimable THEN (p.pen).problem END AS problem'
	     WHEN 'function' THEN
	         '(p.pen).interest, (p.pen).fixed_fee, (p.pen).total, NULL::text AS problem'
	     ELSE 'NULL::numeric AS interest, NULL::numeric AS fixed_fee, NULL::numeric AS total, NULL::text AS problem' END,
	-- %8$s: pen, computed once per listed invoice, with the payments made by
	-- x of the invoices partly paid on x (read through allocation_invoice,
	-- in one subquery)
	CASE penalty_mode
	     WHEN 'engine' THEN format(
	         'd.liable AND %1$s AS claimable,
	          CASE WHEN d.open_on_x <> d.amount
	               THEN (SELECT ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, array_agg(a.allocated_on),
	                                                array_agg(a.amount), d.contract_rate, d.currency, false)
	                       FROM ar.allocation a WHERE a.invoice_id = d.id AND a.allocated_on <= %2$L::date)
	               ELSE ar._penalty_compute(d.regime, d.amount, d.due_date, %2$L, NULL, NULL,
	                                        d.contract_rate, d.currency, false) END AS pen',
	         -- penalties billed, waived or written off by x, and invoices billing penalties: none claimed
	         CASE WHEN claims THEN 'NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
	                                             WHERE (pc.invoice_id = d.id AND pc.decided_on <= ' || quote_literal(x) || ')
	                                                OR pc.penalty_invoice_id = d.id)'
	              ELSE 'true' END, x)
	     WHEN 'function' THEN format('ar.invoice_penalty(d.id, %L) AS pen', x)
	     ELSE 'NULL::integer AS pen' END,
	-- %9$s: the invoices paid since x, and cancelled since x
	CASE WHEN paid_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, l.amount %s
		  FROM later l JOIN ar.invoice i ON i.id = l.invoice_id
		 WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND i.amount > 0 AND i.issue_date <= %L
		   AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x + lead_days) ELSE '' END
	|| CASE WHEN cancelled_since THEN format($b$
		UNION ALL
		SELECT i.id, i.customer_id, i.currency, i.number, i.due_date, i.amount, i.cancelled_on, i.amount %s
		  FROM ar.invoice i
		 WHERE i.cancelled_on > %L AND i.amount > 0 AND i.issue_date <= %L AND i.due_date <= %L$b$,
		CASE WHEN penalty_mode = 'engine' THEN ', i.penalty_regime, i.penalty_rate' ELSE '' END,
		x, x, x + lead_days) ELSE '' END,
	-- %10$I, %11$I: the customers and the invoices left out
	w_customer, w_excluded));
	PERFORM set_config('enable_sort', caller_enable_sort, true);
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, r)', w_acct);
	RAISE DEBUG 'run_dunning dunnable invoices, listings and penalties: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- 3. a run date where R is none starts a new cycle (not for skipped
	-- customers); not while an invoice still open is under a promise to
	-- pay: the account keeps its level, and a broken promise resumes the
	-- escalation where it stood
	IF real_run THEN
		EXECUTE format($q$
		WITH reset AS (
			UPDATE ar.dunning_account a
			   SET cycle = a.cycle + 1, level = NULL, changed_on = $1, updated_at = now()
			 WHERE a.level IS NOT NULL AND (a.changed_on IS NULL OR a.changed_on <= $1)
			   AND NOT EXISTS (SELECT 1 FROM pg_temp.%1$I d WHERE d.customer_id = a.customer_id AND d.currency = a.currency)
			   AND EXISTS (SELECT 1 FROM pg_temp.%2$I c WHERE c.customer_id = a.customer_id)
			   AND NOT EXISTS (SELECT 1 FROM ar.payment_promise pr JOIN ar.invoice i ON i.id = pr.invoice_id
			                    WHERE pr.customer_id = a.customer_id AND i.currency = a.currency
			                      AND (pr.made_on IS NULL OR pr.made_on <= $1) AND $1 <= pr.promised_on
			                      AND ar._open_on(i.id, $1) > 0)
			RETURNING a.customer_id, a.currency, a.cycle
		), logged AS (
			INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, summary)
			SELECT c.company_id, r.customer_id, $1, 'cycle_closed', 'internal',
			       format('Dunning cycle %%s (%%s) closed: nothing left to remind', r.cycle - 1, r.currency)
			  FROM reset r JOIN ar.customer c ON c.id = r.customer_id
			RETURNING 1
		)
		SELECT count(*) FROM logged$q$, w_acct, w_customer) INTO closed USING x;
	END IF;

	-- 4, 5. decisions: N, queued when N > C, the last notice is at least
	-- min_days_between days old, what the notice claims (the open amounts
	-- listed less the account's credits, up to them) is above the level's
	-- minimum amount, and the invoices that reached N owe at least the
	-- level's minimum percentage of the account's open items (else the
	-- account waits at the level below).  A real run numbers its notices
	-- here, in account order (customer, currency), from the outbox's
	-- identity (the sort carries the decisions only; the customers' details
	-- are joined after): the notices, the accounts' state and the
	-- notifications are then written from this table without reading the
	-- outbox back.
	PERFORM ar._dunning_work_table(w_dec, format($w$
	SELECT n.id, n.customer_id, n.currency, n.policy_id, n.r, n.cycle, n.c, n.level, n.known, n.problems, n.first_problem,
	       n.level_name, n.fee, n.state_penalties, n.reply_days, n.delivery_days, n.credits,
	       c.company_id, c.code AS customer_code, c.name AS customer_name,
	       coalesce(nullif(lower(left(btrim(c.language), 2)), ''), 'fr') AS language, coalesce(c.segment, '') AS segment,
	       ch.channel,
	       CASE ch.channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone END AS recipient
	  FROM (SELECT CASE WHEN %3$L::boolean THEN nextval(%4$L::regclass) END AS id, k.*
	          FROM (
	SELECT d.customer_id, d.currency, d.policy_id, d.r, d.cycle, d.c, d.level, d.known, d.problems, d.first_problem,
	       l.name AS level_name, l.fee, l.state_penalties, l.reply_days, l.delivery_days, l.channel AS level_channel,
	       d.credits
	  FROM (SELECT d.customer_id, d.currency, d.policy_id, d.r, d.amount_due, d.lines, d.problems, d.first_problem,
	               least(coalesce(cr.credits, 0), d.amount_due) AS credits,
	               coalesce(a.cycle, 1) AS cycle,
	               a.level AS c, a.customer_id IS NOT NULL AS known,
	               CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END AS level
	          FROM pg_temp.%5$I d
	          JOIN pg_temp.%6$I p ON p.policy_id = d.policy_id
	          LEFT JOIN ar.dunning_account a ON a.customer_id = d.customer_id AND a.currency = d.currency
	          LEFT JOIN pg_temp.%7$I cr ON cr.customer_id = d.customer_id AND cr.currency = d.currency
	         WHERE (a.last_notice_on IS NULL OR a.last_notice_on <= %1$L::date - p.min_days_between)
	           AND (a.changed_on IS NULL OR a.changed_on <= %1$L::date)   -- a state newer than x is left alone
	           AND CASE WHEN d.r = 0 THEN 0 ELSE least(d.r, greatest(coalesce(a.level, 0), 0) + 1) END
	               > coalesce(a.level, -1)
	        OFFSET 0) d
	  JOIN ar.dunning_level l ON l.policy_id = d.policy_id AND l.level = d.level
	 WHERE d.amount_due - d.credits > l.min_amount
	   AND (l.min_percent = 0
	        OR ar._lines_open_from(d.lines, d.level)
	           >= l.min_percent / 100 * ar._account_balance_on(d.customer_id, d.currency, %1$L))
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_notice dn
	                    WHERE dn.customer_id = d.customer_id AND dn.currency = d.currency AND dn.as_of = %1$L::date)
	 ORDER BY d.customer_id, d.currency COLLATE "C") k) n
	  JOIN ar.customer c ON c.id = n.customer_id
	 CROSS JOIN LATERAL (SELECT CASE WHEN n.level_channel = 'email' AND coalesce(btrim(c.email), '') = '' THEN 'letter'
	                                 WHEN n.level_channel = 'sms' AND coalesce(btrim(c.phone), '') = '' THEN 'letter'
	                                 ELSE n.level_channel END AS channel) ch
	$w$, x, lead_days, real_run, pg_get_serial_sequence('ar.dunning_notice', 'id'), w_acct, w_policy, w_credit));
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency, policy_id, level, language, segment, channel)', w_dec);
	EXECUTE format('SELECT sum(n.problems), min(n.first_problem) FROM pg_temp.%I n WHERE n.problems > 0', w_dec)
		INTO problems, first_problem;
	IF problems > 0 THEN
		RAISE WARNING 'penalties of % invoice(s) could not be computed on %; their notices state no penalties', problems, x
			USING DETAIL = 'First: ' || first_problem;
	END IF;
	RAISE DEBUG 'run_dunning decisions: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the template of each notice: the customer's language, else the
	-- policy's fallback language; the customer's segment, else any; the
	-- channel, else any; the policy's own, else its templates_from policy's
	PERFORM ar._dunning_work_table(w_tpl, format($w$
	SELECT DISTINCT ON (k.policy_id, k.level, k.language, k.segment, k.channel)
	       k.policy_id, k.level, k.language, k.segment, k.channel,
	       t.id AS template_id, t.language AS render_language, t.subject, t.body
	  FROM (SELECT DISTINCT policy_id, level, language, segment, channel FROM pg_temp.%3$I) k
	  JOIN pg_temp.%4$I p ON p.policy_id = k.policy_id
	  LEFT JOIN ar.dunning_template t
	         ON t.policy_id IN (k.policy_id, p.templates_from) AND t.level = k.level
	        AND (t.segment IS NULL OR t.segment = k.segment)
	        AND (t.channel IS NULL OR t.channel = k.channel)
	        AND t.language IN (k.language, p.fallback_language)
	 ORDER BY k.policy_id, k.level, k.language, k.segment, k.channel,
	          t.language = k.language DESC, t.policy_id = k.policy_id DESC,
	          t.segment IS NOT NULL DESC, t.channel IS NOT NULL DESC, t.id
	$w$, x, lead_days, w_dec, w_policy));
	EXECUTE format('ANALYZE pg_temp.%I', w_tpl);
	EXECUTE format('SELECT t.*, p.code FROM pg_temp.%I t JOIN pg_temp.%I p USING (policy_id) WHERE t.template_id IS NULL LIMIT 1',
	               w_tpl, w_policy) INTO missing;
	GET DIAGNOSTICS written = ROW_COUNT;
	IF written > 0 THEN
		RAISE EXCEPTION 'dunning policy % has no template for level % in language % or its fallback language',
			missing.code, missing.level, missing.language
			USING ERRCODE = 'undefined_object';
	END IF;

	-- dates of the reminders (level 1 and up) already queued in the cycle,
	-- as the letter prints them
	PERFORM ar._dunning_work_table(w_prev, format($w$
	SELECT n.customer_id, n.currency,
	       array_agg(ar.format_date(dn.as_of, t.render_language) ORDER BY dn.as_of, dn.id) AS dates,
	       min(t.render_language) AS language
	  FROM pg_temp.%3$I n
	  JOIN pg_temp.%4$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel
	  JOIN ar.dunning_notice dn ON dn.customer_id = n.customer_id AND dn.currency = n.currency AND dn.cycle = n.cycle
	 WHERE dn.status IN ('queued', 'sent') AND dn.level >= 1 AND dn.as_of < %1$L::date
	 GROUP BY n.customer_id, n.currency
	$w$, x, lead_days, w_dec, w_tpl));
	EXECUTE format('ANALYZE pg_temp.%I (customer_id, currency)', w_prev);

	RAISE DEBUG 'run_dunning templates, previous notices: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	step_at := clock_timestamp();

	-- the notices, rendered in the language of their template, as rows of
	-- ar.dunning_notice without id, status and dates
	out_query := format($q$
	SELECT n.id, n.customer_id, n.level, n.level_name, n.channel,
	       ar.render_template(t.subject, ar.dunning_placeholders(), v.vals) AS subject,
	       ar.render_template(t.body, ar.dunning_placeholders(), v.vals) AS body,
	       ar._line_ids(s.lines) AS invoice_ids, k.amount_due, s.penalties, %1$L::date AS as_of, n.company_id, n.currency, n.policy_id,
	       n.cycle, t.render_language AS language, n.recipient, s.interest, s.indemnity, n.fee, k.reply_by,
	       n.credits AS credits_set_off
	  FROM pg_temp.%2$I n
	  JOIN pg_temp.%3$I s ON s.customer_id = n.customer_id AND s.currency = n.currency
	  JOIN pg_temp.%4$I t ON t.policy_id = n.policy_id AND t.level = n.level AND t.language = n.language
	                   AND t.segment = n.segment AND t.channel = n.channel
	  JOIN (SELECT co.id, co.name, ar.iban_format(co.iban) AS iban FROM ar.company co) co ON co.id = n.company_id
	  LEFT JOIN pg_temp.%5$I pv ON pv.customer_id = n.customer_id AND pv.currency = n.currency
	 CROSS JOIN LATERAL (SELECT CASE WHEN t.render_language = 'fr' THEN 'non calculé' ELSE 'not computed' END AS unknown,
	                            %1$L::date + n.delivery_days + n.reply_days AS reply_by,
	                            -- what the notice claims: the open amounts listed less the credits set off
	                            s.amount_due - n.credits AS amount_due,
	                            -- the deduction, under the invoice table
	                            CASE WHEN n.credits > 0
	                                 THEN E'\n' || CASE t.render_language WHEN 'fr' THEN 'Avoirs et paiements non affectés : '
	                                                                       WHEN 'de' THEN 'Gutschriften und nicht zugeordnete Zahlungen: '
	                                                                       ELSE 'Credit notes and unapplied payments: ' END
	                                      || ar.format_money(-n.credits, n.currency, t.render_language)
	                            END AS deduction) k
	 CROSS JOIN LATERAL (SELECT ARRAY[
	        n.customer_name, n.customer_code, co.name,
	        coalesce(co.iban, CASE WHEN t.render_language = 'fr' THEN 'indiqué sur nos factures'
	                               ELSE 'shown on our invoices' END),
	        ar.format_date(%1$L, t.render_language),
	        CASE WHEN k.deduction IS NULL
	             THEN ar._invoice_table(s.lines, n.currency, t.render_language, n.state_penalties AND s.penalties IS NOT NULL)
	             ELSE ar._invoice_table(s.lines, n.currency, t.render_language, n.state_penalties AND s.penalties IS NOT NULL)
	                  || k.deduction END,
	        s.invoice_count::text,
	        ar.format_money(k.amount_due, n.currency, t.render_language), n.currency::text,
	        coalesce(ar.format_money(s.interest, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.indemnity, n.currency, t.render_language), k.unknown),
	        coalesce(ar.format_money(s.penalties, n.currency, t.render_language), k.unknown),
	        ar.format_money(k.amount_due + coalesce(s.penalties, 0), n.currency, t.render_language),
	        ar.format_money(n.fee, n.currency, t.render_language),
	        ar.format_date(k.reply_by, t.render_language), n.reply_days::text,
	        CASE WHEN cardinality(pv.dates) > 1
	             THEN array_to_string(pv.dates[1:cardinality(pv.dates) - 1], ', ')
	                  || CASE WHEN pv.language = 'fr' THEN ' et ' ELSE ' and ' END || pv.dates[cardinality(pv.dates)]
	             ELSE coalesce(pv.dates[1], '') END,
	        n.level::text, n.level_name] AS vals) v
	$q$, x, w_dec, w_acct, w_tpl, w_prev);

	-- the store of the rows returned is opened (by this empty RETURN QUERY)
	-- under the caller's work_mem; the statements filling it run with the
	-- run's
	PERFORM set_config('work_mem', caller_work_mem, true);
	RETURN QUERY SELECT * FROM ar.dunning_notice WHERE false;
	PERFORM set_config('work_mem', run_work_mem, true);

	IF NOT real_run THEN
		RETURN QUERY EXECUTE format($q$
		SELECT NULL::bigint, o.customer_id, o.level, o.level_name, o.channel, o.subject, o.body, o.invoice_ids,
		       o.amount_due, o.penalties, 'queued'::text, o.as_of, now(), o.company_id, o.currency, o.policy_id,
		       o.cycle, o.language, o.recipient, o.interest, o.indemnity, o.fee, o.reply_by,
		       NULL::timestamptz, NULL::text, NULL::text, o.credits_set_off
		  FROM (%s) o
		 ORDER BY o.customer_id, o.currency
		$q$, out_query);
		RAISE DEBUG 'run_dunning rendered: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
		PERFORM set_config('work_mem', caller_work_mem, true);
		RETURN;
	END IF;

	-- queue: the notices (numbered by the decisions), each announced by
	-- NOTIFY ar_dunning with its id, and the accounts' new state (an update
	-- of the known accounts, an insert of the new ones).  The rows returned
	-- are those the INSERT wrote (the worker, which does not use them,
	-- turns them off: ar._worker_dunning).  The timeline
	-- (ar.customer_timeline) shows each queued notice from the outbox itself.
	-- No ON CONFLICT: the decisions exclude what the unique keys of the
	-- outbox forbid, under the run lock; a duplicate would be an error.
	out_query := format($q$
	INSERT INTO ar.dunning_notice AS dn (id, customer_id, level, level_name, channel, subject, body, invoice_ids,
	                                     amount_due, penalties, as_of, company_id, currency, policy_id, cycle,
	                                     language, recipient, interest, indemnity, fee, reply_by, credits_set_off)
	SELECT o.id, o.customer_id, o.level, o.level_name, o.channel, o.subject, ar._compress_letter(o.body), o.invoice_ids, o.amount_due,
	       o.penalties, o.as_of, o.company_id, o.currency, o.policy_id, o.cycle, o.language, o.recipient,
	       o.interest, o.indemnity, o.fee, o.reply_by, o.credits_set_off
	  FROM (%s) o
	$q$, out_query);
	IF coalesce(current_setting('ar_collect.dunning_return_rows', true), '') <> 'off' THEN
		RETURN QUERY EXECUTE out_query || ' RETURNING dn.*';
	ELSE
		EXECUTE out_query;
	END IF;
	EXECUTE format('SELECT count(*) FROM pg_temp.%I', w_dec) INTO queued;
	EXECUTE format($q$
	UPDATE ar.dunning_account a
	   SET cycle = d.cycle, level = d.level, last_notice_id = d.id, last_notice_on = $1, changed_on = $1, updated_at = now()
	  FROM pg_temp.%I d
	 WHERE d.known AND a.customer_id = d.customer_id AND a.currency = d.currency$q$, w_dec) USING x;
	EXECUTE format($q$
	INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, changed_on)
	SELECT d.customer_id, d.currency, d.cycle, d.level, d.id, $1, $1 FROM pg_temp.%I d WHERE NOT d.known$q$, w_dec) USING x;
	EXECUTE format('SELECT count(pg_notify(''ar_dunning'', d.id::text)) FROM (SELECT d.id FROM pg_temp.%I d ORDER BY d.id) d',
	               w_dec);
	RAISE DEBUG 'run_dunning rendered, queued and notified: % ms', round((extract(epoch FROM clock_timestamp() - step_at) * 1000)::numeric, 1);
	INSERT INTO ar.dunning_run (as_of, started_at, accounts, notices, cycles_closed)
	VALUES (x, started, accounts, queued, closed);
	PERFORM set_config('work_mem', caller_work_mem, true);
END $$;

-- ------------------------------------------------------------ grants
REVOKE ALL ON FUNCTION ar.open_credits(date), ar._apply_open_credits(bigint[], date), ar.apply_open_credits(bigint, date),
                       ar.aging_report(date), ar._account_balance_on(bigint, char, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.open_credits(date), ar.aging_report(date) TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.apply_open_credits(bigint, date) TO ar_collector;
GRANT SELECT ON ar.open_credit_items, ar.aging_by_customer, ar.aging_by_bucket TO ar_reader;
-- the views made again read as the caller, as 95_tenancy.sql makes them
ALTER VIEW ar.receivables SET (security_invoker = true);
ALTER VIEW ar.aging_by_customer SET (security_invoker = true);
ALTER VIEW ar.aging_by_bucket SET (security_invoker = true);
ALTER VIEW ar.open_credit_items SET (security_invoker = true);
