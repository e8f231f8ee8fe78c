-- Promises and payment plans in the cash forecast (issue 16, item 5).
--
-- ar.cash_forecast (75_analytics.sql) and ar.cash_forecast_detail both read
-- ar._cash_forecast_items: every amount expected in the horizon, one row per
-- period and item, from one of three sources:
--   promise          an open promise to pay: its amount still unpaid, on its
--                    promised date;
--   plan_instalment  an instalment of a payment plan in force, its part not
--                    paid yet, on its due date (the last day of the plan's
--                    grace period when the due date has passed);
--   model            the rest of each open invoice, on the payment days the
--                    payment model predicts.
-- An invoice of a plan in force contributes through the plan only; an
-- invoice under open promises through them for the amount they cover, the
-- model for the rest.  Promises and instalments are expected with the kept
-- rate of the customer's past promises and instalments (see
-- ar.commitment_kept_rate): no amount is counted twice.

-- The instalments of the payment plans of company $N (N: company_param;
-- NULL: every company), each with the cumulative amount of the plan's instalments up to
-- it and what the plan's invoices still owed at the end of its grace period
-- (settle_on: due_on + the plan's grace days; ar._open_on's rule, summed as
-- ar._plan_outstanding does), and unpaid: owed plus what was written off
-- (methods write_off and shortfall) since the plan started (starts_on, else
-- the day it was made), the amount that decides whether an instalment was
-- kept: a write-off is not a payment: the text of a query that the functions Citus
-- must plan run (every table filtered on the company, every join on
-- (x_id, company_id): routed whole to the company's shard; as SQL functions
-- called per row, ar._plan_outstanding and ar._open_on were refused,
-- "parameterized queries for SQL functions referencing distributed tables
-- are not supported", doc/scale_out.md, blocker 2).
CREATE FUNCTION ar._plan_instalments_query(company_param integer) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$
	SELECT replace($q$
	SELECT p.id AS plan_id, p.company_id, p.customer_id, p.currency, p.total, p.grace_days, p.starts_on, p.status,
	       p.status_on, p.cancelled_at, p.cancelled_on, s.id AS instalment_id, s.seq, s.due_on, s.amount, s.cumulative,
	       s.due_on + p.grace_days AS settle_on, o.owed, o.owed + o.written_off AS unpaid
	  FROM ar.payment_plan p
	 CROSS JOIN LATERAL (SELECT i.id, i.seq, i.due_on, i.amount, sum(i.amount) OVER (ORDER BY i.seq) AS cumulative
	                       FROM ar.payment_plan_instalment i
	                      WHERE i.plan_id = p.id AND i.company_id = p.company_id AND ($C::bigint IS NULL OR i.company_id = $C)) s
	 CROSS JOIN LATERAL (SELECT coalesce(sum(CASE WHEN v.cancelled_on IS NOT NULL
	                                              THEN CASE WHEN v.cancelled_on > s.due_on + p.grace_days THEN v.amount ELSE 0 END
	                                              ELSE v.amount - coalesce(paid.amount, 0) END), 0) AS owed,
	                            coalesce(sum(paid.written_off) FILTER (WHERE v.cancelled_on IS NULL), 0) AS written_off
	                       FROM ar.payment_plan_invoice pi
	                       JOIN ar.invoice v ON v.id = pi.invoice_id AND v.company_id = pi.company_id
	                                        AND ($C::bigint IS NULL OR v.company_id = $C)
	                       LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount,
	                                                 sum(a.amount) FILTER (WHERE a.method IN ('write_off', 'shortfall')
	                                                   AND a.allocated_on > coalesce(p.starts_on, p.created_at::date)) AS written_off
	                                            FROM ar.allocation a
	                                           WHERE a.invoice_id = v.id AND a.company_id = v.company_id
	                                             AND ($C::bigint IS NULL OR a.company_id = $C)
	                                             AND a.allocated_on <= s.due_on + p.grace_days) paid ON true
	                      WHERE pi.plan_id = p.id AND pi.company_id = p.company_id
	                        AND ($C::bigint IS NULL OR pi.company_id = $C)) o
	 WHERE $C::bigint IS NULL OR p.company_id = $C$q$, '$C', '$' || company_param)
$f$;

-- Each past promise and plan instalment whose date had passed on as_of, kept
-- or broken, as the ledger stood on as_of:
--   a promise is kept when its invoice's open amount on the promised date,
--   plus what was written off on it since the promise was made, was at most
--   the open amount when it was made less the amount promised (what
--   ar.run_dunning checks when it settles a promise);
--   an instalment is kept when, at the end of the plan's grace period after
--   its due date, the plan's invoices left unpaid (owed or written off
--   since the plan started) at most what the later instalments add up to
--   (ar.payment_plan_schedule's 'paid').  Kept means paid: a debt written
--   off (methods write_off and shortfall) breaks its promise or plan.
-- Instalments falling due after the plan was cancelled, or after the one
-- that broke it (ar._plan_broken_on(plan, as_of + 1): the first instalment
-- settled by then that left more owed than the later ones add up to), are
-- no commitments any more and are left out.
-- The text of the query, as_of $1 and the company $2 (the plans' query
-- text in it), every table filtered on the company:
-- ar._commitment_outcomes and ar.commitment_kept_rate run it, routed whole to
-- the company's shard on Citus (doc/scale_out.md, blocker 2).
CREATE FUNCTION ar._commitment_outcomes_query() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $f$
	SELECT format($q$
	SELECT pr.customer_id, 'promise'::text, pr.id, pr.promised_on,
	       CASE WHEN i.cancelled_on IS NOT NULL THEN CASE WHEN i.cancelled_on > pr.promised_on THEN i.amount ELSE 0 END
	            ELSE i.amount - coalesce(paid.amount, 0) + coalesce(paid.written_off, 0) END <= pr.open_at_promise - pr.amount
	  FROM ar.payment_promise pr
	  LEFT JOIN ar.invoice i ON i.id = pr.invoice_id AND i.company_id = pr.company_id AND i.company_id = $2
	  LEFT JOIN LATERAL (SELECT sum(a.amount) AS amount,
	                            sum(a.amount) FILTER (WHERE a.method IN ('write_off', 'shortfall')
	                                                    AND a.allocated_on > coalesce(pr.made_on, pr.made_at::date)) AS written_off
	                       FROM ar.allocation a
	                      WHERE a.invoice_id = i.id AND a.company_id = i.company_id AND a.company_id = $2
	                        AND a.allocated_on <= pr.promised_on) paid ON true
	 WHERE pr.company_id = $2
	   AND (pr.made_on IS NULL OR pr.made_on <= $1) AND pr.promised_on <= $1
	UNION ALL
	SELECT s.customer_id, 'plan_instalment', s.instalment_id, s.settle_on, s.unpaid <= s.total - s.cumulative
	  FROM (SELECT x.*, min(x.settle_on + 1) FILTER (WHERE x.settle_on < $1 + 1 AND x.unpaid > x.total - x.cumulative)
	                        OVER (PARTITION BY x.plan_id) AS broken_on
	          FROM (%s) x
	         WHERE x.starts_on IS NULL OR x.starts_on <= $1) s
	 WHERE s.settle_on <= $1
	   AND (s.cancelled_at IS NULL OR s.settle_on < coalesce(s.cancelled_on, s.cancelled_at::date))
	   AND s.settle_on < coalesce(s.broken_on, 'infinity')$q$, ar._plan_instalments_query(2))
$f$;

CREATE FUNCTION ar._commitment_outcomes(as_of date)
RETURNS TABLE (customer_id bigint, kind text, id bigint, settled_on date, kept boolean)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY EXECUTE ar._commitment_outcomes_query() USING as_of, ar.default_company();
END $$;

COMMENT ON FUNCTION ar._commitment_outcomes(date) IS
'Past promises to pay and payment plan instalments of the default company whose date (promised date; due date + the plan''s grace days) is on or before as_of, each kept or broken as the ledger stood then.';

-- The kept rate of each customer with a history, and the company's:
--   company_rate = (K + 1) / (K + B + 2)           (Laplace-smoothed)
--   kept_rate    = (k + 2 x company_rate) / (k + b + 2)
-- K, B: promises and instalments kept and broken over all customers; k, b:
-- the customer's.  A customer with little history gets about the company's
-- rate, one with a long history its own; a customer without any history
-- gets company_rate (ar._cash_forecast_items).  PL/pgSQL running one query
-- of the default company's tables, the outcomes' text in it (as SQL it was
-- refused on Citus: blocker 2).
CREATE FUNCTION ar.commitment_kept_rate(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, promises_kept integer, promises_broken integer,
               instalments_kept integer, instalments_broken integer, kept_rate numeric, company_rate numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH o AS (
		SELECT * FROM (%s) o (customer_id, kind, id, settled_on, kept)
	), company AS (
		SELECT (count(*) FILTER (WHERE o.kept) + 1)::numeric / (count(*) + 2) AS rate FROM o
	), per_customer AS (
		SELECT o.customer_id,
		       count(*) FILTER (WHERE o.kind = 'promise' AND o.kept)::integer AS pk,
		       count(*) FILTER (WHERE o.kind = 'promise' AND NOT o.kept)::integer AS pb,
		       count(*) FILTER (WHERE o.kind = 'plan_instalment' AND o.kept)::integer AS ik,
		       count(*) FILTER (WHERE o.kind = 'plan_instalment' AND NOT o.kept)::integer AS ib
		  FROM o GROUP BY o.customer_id
	)
	SELECT pc.customer_id, c.code, pc.pk, pc.pb, pc.ik, pc.ib,
	       round((pc.pk + pc.ik + 2 * co.rate) / (pc.pk + pc.pb + pc.ik + pc.ib + 2), 6), round(co.rate, 6)
	  FROM per_customer pc CROSS JOIN company co
	  JOIN ar.customer c ON c.id = pc.customer_id AND c.company_id = $2
	 ORDER BY c.code$q$, ar._commitment_outcomes_query()) USING as_of, ar.default_company();
END $$;

COMMENT ON FUNCTION ar.commitment_kept_rate(date) IS
'Per customer with past promises or plan instalments settled by as_of (default company): how many were kept and broken, the kept rate (k + 2 x company_rate) / (k + b + 2) the cash forecast gives its open promises and instalments, and the company''s Laplace-smoothed rate (K + 1) / (K + B + 2). Kept: a promise paid in full by its promised date, an instalment paid by the end of the plan''s grace days.';

CREATE FUNCTION ar._check_forecast_args(from_date date, horizon_days integer, granularity text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF granularity IS NULL OR granularity NOT IN ('day', 'week', 'month') THEN
		RAISE EXCEPTION 'unknown granularity "%"', coalesce(granularity, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''day'', ''week'' or ''month''.';
	END IF;
	IF horizon_days IS NULL OR horizon_days < 1 OR horizon_days > 3660 THEN
		RAISE EXCEPTION 'horizon_days must be between 1 and 3660, not %', coalesce(horizon_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF from_date IS NULL OR from_date IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'from_date must be a finite date' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._payment_model();   -- a clear error when there is none
END $$;

-- Every amount expected in (from_date, from_date + horizon_days], per period
-- and item; expected = amount x probability, exact (the probability a float8
-- cast to numeric), of the default company in its currency.  The text of
-- the query (from_date $1, the company $2, horizon_days $3, granularity $4,
-- the currency $5), every company table read for company $2
-- (ar._for_company), the open items', the outcomes' and the plans' texts
-- in it: routed whole to the company's shard on Citus (as SQL over
-- ar._open_items, ar._commitment_outcomes and ar._plan_broken_on it was
-- refused there: doc/scale_out.md, blocker 2).  The scores of the model's
-- invoices: ar.payment_scores inside the query (one node), or, scores_bound,
-- those of the company's open invoices computed on the coordinator and
-- bound as $6 (jsonb; on a shard the model and the invoices' history are
-- not there).
CREATE FUNCTION ar._cash_forecast_items_query(scores_bound boolean DEFAULT false) RETURNS text
LANGUAGE sql STABLE AS $f$
	SELECT ar._for_company(format($q$
	SELECT i.*, c.code, v.number
	  FROM (
	WITH open_item AS (
		SELECT o.invoice_id, o.customer_id, o.open_amount
		  FROM (%1$s) o (invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount,
		                 open_amount, days_past_due)
		 WHERE o.amount > 0 AND o.open_amount > 0 AND o.company_id = $2 AND o.currency = $5
	), periods AS (
		SELECT p::date AS period_start,
		       least((p + ('1 ' || $4)::interval)::date - 1, $1 + $3) AS period_end
		  FROM generate_series(date_trunc($4, ($1 + 1)::timestamp),
		                       ($1 + $3)::timestamp, ('1 ' || $4)::interval) p
	), outcome AS (
		SELECT o.customer_id, count(*) FILTER (WHERE o.kept) AS kept, count(*) AS settled
		  FROM (%2$s) o (customer_id, kind, id, settled_on, kept) GROUP BY o.customer_id
	), company_rate AS (
		SELECT (coalesce(sum(o.kept), 0) + 1)::numeric / (coalesce(sum(o.settled), 0) + 2) AS rate FROM outcome o
	), customer_rate AS (
		SELECT o.customer_id, (o.kept + 2 * cr.rate) / (o.settled + 2) AS rate FROM outcome o CROSS JOIN company_rate cr
	), plan_broken AS (
		-- the plans broken by the end of $1 (ar._plan_broken_on's rule:
		-- an instalment's grace period over with more unpaid than the later
		-- instalments add up to)
		SELECT DISTINCT x.plan_id
		  FROM (%3$s) x
		 WHERE x.settle_on < $1 + 1 AND x.unpaid > x.total - x.cumulative
	), plan_in_force AS (
		-- in force on $1 and not broken by its end (ar.run_dunning's
		-- rule, the grace period over by $1)
		SELECT p.id, p.customer_id, p.total, p.grace_days
		  FROM ar.payment_plan p
		 WHERE p.company_id = $2 AND p.currency = $5
		   AND (p.starts_on IS NULL OR p.starts_on <= $1)
		   AND (p.cancelled_at IS NULL OR (p.cancelled_on IS NOT NULL AND $1 < p.cancelled_on))
		   AND NOT (p.status IN ('completed', 'broken') AND p.status_on <= $1)
		   AND NOT EXISTS (SELECT 1 FROM plan_broken b WHERE b.plan_id = p.id)
	), plan_invoice AS (
		SELECT pi.plan_id, oi.invoice_id, oi.open_amount
		  FROM plan_in_force p
		  JOIN ar.payment_plan_invoice pi ON pi.plan_id = p.id
		  JOIN open_item oi ON oi.invoice_id = pi.invoice_id
	), instalment AS (
		-- what the plan's invoices paid so far settles its instalments in order
		SELECT p.id AS plan_id, p.customer_id, s.seq,
		       CASE WHEN s.due_on > $1 THEN s.due_on ELSE s.due_on + p.grace_days END AS expected_date,
		       greatest(least(s.amount, s.cumulative - (p.total - o.outstanding)), 0) AS unpaid
		  FROM plan_in_force p
		 CROSS JOIN LATERAL (SELECT coalesce(sum(pi.open_amount), 0) AS outstanding
		                       FROM plan_invoice pi WHERE pi.plan_id = p.id) o
		 CROSS JOIN LATERAL (SELECT i.seq, i.due_on, i.amount, sum(i.amount) OVER (ORDER BY i.seq) AS cumulative
		                       FROM ar.payment_plan_instalment i WHERE i.plan_id = p.id) s
	), promise_level AS (
		-- open promises on $1 (made by then, promised date after it) of
		-- invoices outside plans: each brings the open amount down to its
		-- target (open when made less the amount promised) by its date
		SELECT pr.id, pr.invoice_id, oi.customer_id, pr.promised_on, oi.open_amount,
		       least(oi.open_amount, min(pr.open_at_promise - pr.amount) OVER w) AS level_after
		  FROM ar.payment_promise pr
		  JOIN open_item oi ON oi.invoice_id = pr.invoice_id
		 WHERE (pr.made_on IS NULL OR pr.made_on <= $1) AND pr.promised_on > $1
		   AND NOT EXISTS (SELECT 1 FROM plan_invoice pi WHERE pi.invoice_id = pr.invoice_id)
		WINDOW w AS (PARTITION BY pr.invoice_id ORDER BY pr.promised_on, pr.id)
	), promise AS (
		SELECT l.id, l.invoice_id, l.customer_id, l.promised_on,
		       coalesce(lag(l.level_after) OVER (PARTITION BY l.invoice_id ORDER BY l.promised_on, l.id), l.open_amount)
		       - l.level_after AS covered
		  FROM promise_level l
	), commitment AS (
		SELECT 'promise'::text AS source, pr.invoice_id, pr.id AS promise_id, NULL::bigint AS plan_id,
		       NULL::integer AS instalment_seq, pr.customer_id, pr.promised_on AS expected_date, pr.covered AS amount
		  FROM promise pr WHERE pr.covered > 0
		UNION ALL
		SELECT 'plan_instalment', NULL, NULL, i.plan_id, i.seq, i.customer_id, i.expected_date, i.unpaid
		  FROM instalment i WHERE i.unpaid > 0
	), model_item AS (
		SELECT oi.invoice_id, oi.customer_id, oi.open_amount - coalesce(pr.covered, 0) AS amount
		  FROM open_item oi
		  LEFT JOIN (SELECT pr.invoice_id, sum(pr.covered) AS covered FROM promise pr GROUP BY pr.invoice_id) pr
		         ON pr.invoice_id = oi.invoice_id
		 WHERE NOT EXISTS (SELECT 1 FROM plan_invoice pi WHERE pi.invoice_id = oi.invoice_id)
	), scored AS (
		%4$s
	), model AS (
		SELECT p.period_start, s.invoice_id, s.customer_id, s.amount,
		       least(sum(sc.probability), 1.0) AS probability,
		       $1 + round(sum((sc.pay_on - $1) * sc.probability) / sum(sc.probability))::integer
		       AS expected_date
		  FROM scored s
		 CROSS JOIN LATERAL ar._payment_scenarios(s.due_date, s.delay_q10, s.delay_q50, s.delay_q90, $1) sc
		  JOIN periods p ON sc.pay_on BETWEEN greatest(p.period_start, $1 + 1) AND p.period_end
		 GROUP BY p.period_start, s.invoice_id, s.customer_id, s.amount
	)
	SELECT m.period_start, 'model'::text, m.invoice_id, NULL::bigint, NULL::bigint, NULL::integer, m.customer_id,
	       m.expected_date, m.amount, m.probability, m.amount * m.probability::numeric
	  FROM model m
	UNION ALL
	SELECT p.period_start, c.source, c.invoice_id, c.promise_id, c.plan_id, c.instalment_seq, c.customer_id,
	       c.expected_date, c.amount, r.probability, c.amount * r.probability::numeric
	  FROM commitment c
	 CROSS JOIN LATERAL (SELECT coalesce((SELECT cr.rate FROM customer_rate cr WHERE cr.customer_id = c.customer_id),
	                                     (SELECT co.rate FROM company_rate co))::float8 AS probability) r
	  JOIN periods p ON c.expected_date BETWEEN greatest(p.period_start, $1 + 1) AND p.period_end
	       ) i (period_start, source, invoice_id, promise_id, plan_id, instalment_seq, customer_id, expected_date,
	            amount, probability, expected)
	  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = $2
	  LEFT JOIN ar.invoice v ON v.id = i.invoice_id AND v.company_id = $2$q$, ar._open_items_query(), ar._commitment_outcomes_query(), ar._plan_instalments_query(2),
	       CASE WHEN scores_bound
	            THEN $s$SELECT m.customer_id, m.amount, s.*
		  FROM jsonb_to_recordset($6) s (invoice_id bigint, due_date date, p_late float8, p_late_30 float8,
		                                 delay_q10 float8, delay_q50 float8, delay_q90 float8, baseline_delay float8,
		                                 baseline_p_late float8, settled_on date)
		  JOIN model_item m ON m.invoice_id = s.invoice_id AND m.amount > 0$s$
	            ELSE $s$SELECT m.customer_id, m.amount, s.*
		  FROM (SELECT array_agg(m.invoice_id) AS ids FROM model_item m WHERE m.amount > 0) a
		 CROSS JOIN LATERAL ar.payment_scores(a.ids) s
		  JOIN model_item m ON m.invoice_id = s.invoice_id$s$ END), 2)
$f$;

-- The items, from that text (with their customer's code and invoice's
-- number, for ar.cash_forecast_detail): on one node once, scored inside; on a
-- distributed ledger the company's open invoices scored first on the
-- coordinator (ar.payment_scores reads the model and the invoices'
-- history through Citus), then the query routed to the company's shard.
-- The arguments are checked by the callers.
CREATE FUNCTION ar._cash_forecast_items(from_date date, horizon_days integer, granularity text)
RETURNS TABLE (period_start date, source text, invoice_id bigint, promise_id bigint, plan_id bigint,
               instalment_seq integer, customer_id bigint, expected_date date, amount numeric,
               probability float8, expected numeric, customer_code text, invoice_number text)
LANGUAGE plpgsql STABLE SET extra_float_digits = 3 AS $$
DECLARE
	company constant bigint := ar.default_company();
	currency constant char(3) := ar._kpi_company_currency();
	ids bigint[];
	scores jsonb;
BEGIN
	IF NOT ar._ledger_distributed() THEN
		RETURN QUERY EXECUTE ar._cash_forecast_items_query() USING from_date, company, horizon_days, granularity, currency;
		RETURN;
	END IF;
	EXECUTE format($q$SELECT array_agg(o.invoice_id)
	                    FROM (%s) o (invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount,
	                                 open_amount, days_past_due)
	                   WHERE o.amount > 0 AND o.open_amount > 0 AND o.company_id = $2 AND o.currency = $3$q$,
	               ar._for_company(ar._open_items_query(), 2))
		INTO ids USING from_date, company, currency;
	SELECT coalesce(jsonb_agg(s), '[]') INTO scores FROM ar.payment_scores(ids) s WHERE ids IS NOT NULL;
	RETURN QUERY EXECUTE ar._cash_forecast_items_query(true)
		USING from_date, company, horizon_days, granularity, currency, scores;
END $$;

COMMENT ON FUNCTION ar._cash_forecast_items(date, integer, text) IS
'The items of ar.cash_forecast (promise, plan_instalment, model) per period, with their exact expected amounts, their customer''s code and invoice''s number; see ar.cash_forecast_detail.';

CREATE FUNCTION ar.cash_forecast_detail(from_date date DEFAULT current_date, horizon_days integer DEFAULT 90,
                                        granularity text DEFAULT 'week')
RETURNS TABLE (period_start date, source text, invoice_id bigint, invoice_number text, promise_id bigint,
               plan_id bigint, instalment_seq integer, customer_id bigint, customer_code text, expected_date date,
               amount numeric, probability numeric, expected_amount numeric)
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	PERFORM ar._check_forecast_args(from_date, horizon_days, granularity);
	-- (the items come with their customer's code and invoice's number, read
	-- in their routed query: joined here by id alone, Citus would refuse)
	RETURN QUERY
	WITH item AS (
		SELECT i.*, floor(i.expected * 100) / 100 AS base, i.expected * 100 - floor(i.expected * 100) AS remainder
		  FROM ar._cash_forecast_items(from_date, horizon_days, granularity) i
	), extra AS (
		-- cents the items' floors leave short of the period's rounded total
		SELECT i.period_start, ((round(sum(i.expected), 2) - sum(i.base)) * 100)::integer AS cents
		  FROM item i GROUP BY i.period_start
	), ranked AS (
		SELECT i.*, row_number() OVER (PARTITION BY i.period_start
		                               ORDER BY i.remainder DESC, i.source, i.invoice_id, i.promise_id, i.plan_id,
		                                        i.instalment_seq) AS rank
		  FROM item i
	)
	SELECT r.period_start, r.source, r.invoice_id, r.invoice_number, r.promise_id, r.plan_id, r.instalment_seq,
	       r.customer_id, r.customer_code, r.expected_date, r.amount, round(r.probability::numeric, 6),
	       round(r.base + CASE WHEN r.rank <= e.cents THEN 0.01 ELSE 0 END, 2)
	  FROM ranked r
	  JOIN extra e ON e.period_start = r.period_start
	 ORDER BY r.period_start, r.expected_date, r.source, r.customer_code, r.invoice_id, r.promise_id, r.plan_id,
	          r.instalment_seq;
END $$;

COMMENT ON FUNCTION ar.cash_forecast_detail(date, integer, text) IS
'What makes up ar.cash_forecast''s expected column, one row per period and item: source (promise: an open promise''s unpaid amount on its promised date; plan_instalment: the unpaid part of an instalment of a plan in force on its due date; model: the rest of an open invoice on the days the payment model predicts), the invoice, promise or plan instalment, customer, expected date (for model rows the probability-weighted mean day in the period), amount, probability (the customer''s kept rate for promises and instalments; the model''s probability of payment in the period) and expected amount, rounded to the cent so that each period''s rows add up exactly to ar.cash_forecast''s expected (largest remainder).';

REVOKE ALL ON FUNCTION ar._commitment_outcomes(date), ar.commitment_kept_rate(date),
                       ar._plan_instalments_query(integer), ar._commitment_outcomes_query(),
                       ar._check_forecast_args(date, integer, text), ar._cash_forecast_items(date, integer, text),
                       ar._cash_forecast_items_query(boolean), ar.cash_forecast_detail(date, integer, text)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._commitment_outcomes(date), ar.commitment_kept_rate(date),
                          ar._plan_instalments_query(integer), ar._commitment_outcomes_query(),
                          ar._check_forecast_args(date, integer, text), ar._cash_forecast_items(date, integer, text),
                          ar._cash_forecast_items_query(boolean), ar.cash_forecast_detail(date, integer, text),
                          ar._plan_broken_on(bigint, date)
	TO ar_reader;
