-- Promises and payment plans in the cash forecast: ar.cash_forecast reads
-- its items from ar._cash_forecast_items (82_zz_forecast.sql, a link to
-- src/sql/86_forecast.sql); same signature and columns as in 0.1.0.
-- The items (open promises, plan instalments, the model's share of each
-- open invoice) come from ar._cash_forecast_items (86_forecast.sql).  No
-- JIT: the estimates of the scoring functions' rows are rough, and
-- compiling the plan cost more than it ran (1 to 2 s on the demo ledger).
CREATE OR REPLACE FUNCTION ar.cash_forecast(from_date date DEFAULT current_date, horizon_days integer DEFAULT 90,
                                 granularity text DEFAULT 'week')
RETURNS TABLE (period_start date, expected numeric, low numeric, high numeric)
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	PERFORM ar._check_forecast_args(from_date, horizon_days, granularity);
	RETURN QUERY
	WITH periods AS (
		SELECT p::date AS period_start
		  FROM generate_series(date_trunc(granularity, (from_date + 1)::timestamp),
		                       (from_date + horizon_days)::timestamp, ('1 ' || granularity)::interval) p
	), per_customer AS (
		-- items of one customer tend to be paid together: their spreads add up
		SELECT i.period_start,
		       sum(i.expected) AS expected,
		       sum(i.amount * sqrt(greatest(i.probability * (1 - i.probability), 0))::numeric) AS spread,
		       sum(i.amount) AS exposure
		  FROM ar._cash_forecast_items(from_date, horizon_days, granularity) i
		 GROUP BY i.period_start, i.customer_id
	), total AS (
		SELECT c.period_start, sum(c.expected) AS expected, sqrt(sum(c.spread ^ 2)) AS spread,
		       sum(c.exposure) AS exposure
		  FROM per_customer c
		 GROUP BY c.period_start
	)
	SELECT p.period_start,
	       round(coalesce(t.expected, 0), 2),
	       round(greatest(coalesce(t.expected, 0) - 1.2816 * coalesce(t.spread, 0), 0), 2),
	       round(least(coalesce(t.expected, 0) + 1.2816 * coalesce(t.spread, 0), coalesce(t.exposure, 0)), 2)
	  FROM periods p
	  LEFT JOIN total t ON t.period_start = p.period_start
	 ORDER BY p.period_start;
END $$;

COMMENT ON FUNCTION ar.cash_forecast(date, integer, text) IS
'Expected collections per day, week or month (calendar periods; the first and last may be partial) over (from_date, from_date + horizon_days], from the invoices open on from_date (default company, its currency): open promises to pay on their promised dates and unpaid instalments of payment plans in force on their due dates, with the customer''s kept rate (ar.commitment_kept_rate), and the rest of each open invoice on the payment days the model predicts; expected = sum of amount x probability of payment in the period (items: ar.cash_forecast_detail); low / high = an 80% band (1.28 standard deviations, invoices of one customer taken as paying together), within 0 and the amount open. Rounded to the cent.';
