-- ---------------------------------------------------------------------------
-- Collections analytics: DSO and receivables KPIs (C aggregate, src/kpi.c),
-- payer behaviour and segments, late-payment prediction trained and run in
-- the database (src/payment_model.c), cash forecast, customer risk, and the
-- views BI tools read.
--
-- Amounts are never summed across currencies: the company-level figures
-- (DSO, KPIs, cash forecast) cover the default company's invoices in its
-- own currency; per-customer figures are in the company currency too, with
-- a count of the open items left out.
-- ---------------------------------------------------------------------------

--------------------------------------------------------------------------
-- The KPI aggregate
--------------------------------------------------------------------------
CREATE TYPE ar.kpi_figures AS (
	as_of date,
	period_days integer,
	receivables numeric,
	overdue numeric,
	sales numeric,
	dso_standard numeric,
	dso_countback numeric,
	best_possible_dso numeric,
	average_days_delinquent numeric,
	cei_pct numeric,
	collection_rate_pct numeric,
	share_overdue_pct numeric,
	average_days_to_pay numeric,
	average_days_past_due numeric,
	amount_due numeric,
	amount_collected numeric
);
COMMENT ON TYPE ar.kpi_figures IS
'receivables KPIs on as_of over the period (as_of - period_days, as_of]: see ar.kpis';

CREATE TYPE ar.kpi_state;
CREATE FUNCTION ar.kpi_state_in(cstring) RETURNS ar.kpi_state
	AS 'MODULE_PATHNAME', 'kpi_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.kpi_state_out(ar.kpi_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'kpi_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ar.kpi_state (
	INPUT = ar.kpi_state_in,
	OUTPUT = ar.kpi_state_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE ar.kpi_state IS
'transition state of ar.receivables_kpis: exact sums (AR on as_of and on the period start, current AR, sales of the period and of 24 calendar months, amounts due and collected, amounts paid and their days); text form (as_of,period_days,sum,...)';
COMMENT ON FUNCTION ar.kpi_state_in(cstring) IS 'text input of ar.kpi_state, strictly validated';
COMMENT ON FUNCTION ar.kpi_state_out(ar.kpi_state) IS 'text output of ar.kpi_state: (as_of,period_days,33 plain decimal sums at one scale)';

CREATE FUNCTION ar.kpi_transfn(ar.kpi_state, numeric, date, date, numeric, numeric, numeric, date, date, integer)
	RETURNS ar.kpi_state AS 'MODULE_PATHNAME', 'kpi_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.kpi_combine(ar.kpi_state, ar.kpi_state)
	RETURNS ar.kpi_state AS 'MODULE_PATHNAME', 'kpi_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.kpi_final(ar.kpi_state)
	RETURNS ar.kpi_figures AS 'MODULE_PATHNAME', 'kpi_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ar.receivables_kpis(amount numeric, issue_date date, due_date date, open_end numeric,
                                     open_start numeric, written_off numeric, settled_on date,
                                     as_of date, period_days integer) (
	SFUNC = ar.kpi_transfn,
	STYPE = ar.kpi_state,
	SSPACE = 544,
	FINALFUNC = ar.kpi_final,
	COMBINEFUNC = ar.kpi_combine,
	PARALLEL = SAFE
);
COMMENT ON FUNCTION ar.kpi_transfn(ar.kpi_state, numeric, date, date, numeric, numeric, numeric, date, date, integer) IS
'transition function of ar.receivables_kpis; rows with a NULL amount, date, as_of or period are skipped';
COMMENT ON FUNCTION ar.kpi_combine(ar.kpi_state, ar.kpi_state) IS
'combine function of ar.receivables_kpis: the state of the union of two row sets (parallel workers, shards)';
COMMENT ON FUNCTION ar.kpi_final(ar.kpi_state) IS
'final function of ar.receivables_kpis: the KPIs as ar.kpi_figures; ratios with a zero or negative denominator are NULL';
COMMENT ON AGGREGATE ar.receivables_kpis(numeric, date, date, numeric, numeric, numeric, date, date, integer) IS
'every receivables KPI that scans invoices, in one pass: one row per invoice with its amount (0 if cancelled by as_of), issue and due dates, open amounts on as_of and on as_of - period_days, amount written off in the period, day it was fully paid; exact, parallel safe';

-- The company whose figures the company-level KPIs report, and its currency.
CREATE FUNCTION ar._kpi_company_currency() RETURNS char(3)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT currency FROM ar.company WHERE is_default $$;

-- One pass of the aggregate over the default company's invoices in its
-- currency.  The open amount on a past day is today's plus the allocations
-- dated after it, so only the allocations of the period are read.  The full
-- computation: ar._kpi_figures answers from the KPI summaries
-- (86_kpi_summary.sql) on the dates they serve.
CREATE FUNCTION ar._kpi_figures_full(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT ar.receivables_kpis(
	           CASE WHEN i.cancelled_on <= as_of THEN 0 ELSE i.amount END,
	           i.issue_date, i.due_date,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_end, 0)
	                WHEN i.cancelled_on > as_of THEN i.amount ELSE 0 END,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_start, 0)
	                WHEN i.cancelled_on > as_of - period_days THEN i.amount ELSE 0 END,
	           a.written_off,
	           CASE WHEN i.cancelled_on IS NULL AND i.open_amount + coalesce(a.after_end, 0) = 0
	                     AND coalesce(a.written_off, 0) = 0 THEN a.last_on END,
	           as_of, period_days)
	  FROM ar.invoice i
	  LEFT JOIN (SELECT al.invoice_id,
	                    sum(al.amount) FILTER (WHERE al.allocated_on > as_of) AS after_end,
	                    sum(al.amount) AS after_start,
	                    sum(al.amount) FILTER (WHERE al.method IN ('write_off', 'shortfall') AND al.allocated_on <= as_of) AS written_off,
	                    max(al.allocated_on) FILTER (WHERE al.allocated_on <= as_of) AS last_on
	               FROM ar.allocation al
	              WHERE al.allocated_on > as_of - period_days
	              GROUP BY al.invoice_id) a ON a.invoice_id = i.id
	  JOIN ar.company c ON c.id = i.company_id AND c.currency = i.currency AND c.is_default
	 WHERE i.issue_date <= as_of
$$;

-- The figures ar.kpis and ar.dso report: from the KPI summaries on a date
-- they serve (no allocation or cancellation dated after it), else the full
-- computation (on a distributed ledger its query routed to the default
-- company's shards); the same figures either way.
CREATE FUNCTION ar._kpi_figures(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF ar._kpi_summary_serves(as_of) THEN
		RETURN ar._kpi_figures_summary(as_of, period_days);
	ELSIF ar._ledger_distributed() THEN
		RETURN ar._kpi_figures_routed(as_of, period_days);  -- 86_kpi_summary.sql
	END IF;
	RETURN ar._kpi_figures_full(as_of, period_days);
END $$;

CREATE FUNCTION ar._check_kpi_args(as_of date, period_days integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF period_days IS NULL OR period_days < 1 OR period_days > 3660 THEN
		RAISE EXCEPTION 'period_days must be between 1 and 3660, not %', coalesce(period_days::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF as_of IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date, not %', as_of USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION ar.dso(as_of date DEFAULT current_date, period_days integer DEFAULT 90,
                       method text DEFAULT 'countback')
RETURNS numeric
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	f ar.kpi_figures;
BEGIN
	IF method IS NULL OR method NOT IN ('standard', 'countback') THEN
		RAISE EXCEPTION 'unknown DSO method "%"', coalesce(method, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''standard'' or ''countback''.';
	END IF;
	IF as_of IS NULL THEN
		RETURN NULL;
	END IF;
	PERFORM ar._check_kpi_args(as_of, period_days);
	f := ar._kpi_figures(as_of, period_days);
	IF f.as_of IS NULL THEN   -- no invoice at all: nothing is owed
		RETURN CASE WHEN method = 'countback' THEN 0 END;
	END IF;
	RETURN CASE method WHEN 'standard' THEN f.dso_standard ELSE f.dso_countback END;
END $$;

COMMENT ON FUNCTION ar.dso(date, integer, text) IS
'Days sales outstanding on as_of (default company, its currency). standard: AR(as_of) / sales(as_of - period_days + 1 .. as_of) * period_days, NULL without positive sales. countback: AR exhausted against the sales of the month to date (its days: the day of month) then of each earlier full month (its length); months without positive sales add their days; NULL when 24 months do not exhaust AR; 0 when nothing is owed. Exact (not rounded).';

CREATE FUNCTION ar.kpis(as_of date DEFAULT current_date, period_days integer DEFAULT 90)
RETURNS TABLE (as_of date, period_days integer, currency char(3),
               receivables numeric, overdue numeric, sales numeric,
               dso_standard numeric, dso_countback numeric, best_possible_dso numeric,
               average_days_delinquent numeric, cei_pct numeric, collection_rate_pct numeric,
               share_overdue_pct numeric, average_days_to_pay numeric, average_days_past_due numeric,
               amount_due numeric, amount_collected numeric, dunning_effectiveness_pct numeric)
LANGUAGE sql STABLE AS $$
	SELECT kpis.as_of, kpis.period_days, ar._kpi_company_currency(),
	       coalesce(f.receivables, 0), coalesce(f.overdue, 0), coalesce(f.sales, 0),
	       f.dso_standard, CASE WHEN f.as_of IS NULL THEN 0 ELSE f.dso_countback END, f.best_possible_dso,
	       f.average_days_delinquent, f.cei_pct, f.collection_rate_pct,
	       f.share_overdue_pct, f.average_days_to_pay, f.average_days_past_due,
	       coalesce(f.amount_due, 0), coalesce(f.amount_collected, 0),
	       (SELECT round(100 * sum(d.paid_within_15_days) / nullif(sum(d.amount_due), 0), 2)
	          FROM ar.dunning_effectiveness(kpis.as_of, kpis.period_days) d)
	  FROM (SELECT ar._check_kpi_args(kpis.as_of, kpis.period_days)) chk
	 CROSS JOIN LATERAL ar._kpi_figures(kpis.as_of, kpis.period_days) f
$$;

COMMENT ON FUNCTION ar.kpis(date, integer) IS
'The receivables KPIs on as_of over the period (as_of - period_days, as_of], one row, default company in its currency, exact (not rounded): see doc/analytics.md for every definition.';

-- The last months month-ends on or before as_of.
CREATE FUNCTION ar.kpi_history(as_of date DEFAULT current_date, months integer DEFAULT 24, period_days integer DEFAULT 90)
RETURNS TABLE (as_of date, period_days integer, currency char(3),
               receivables numeric, overdue numeric, sales numeric,
               dso_standard numeric, dso_countback numeric, best_possible_dso numeric,
               average_days_delinquent numeric, cei_pct numeric, collection_rate_pct numeric,
               share_overdue_pct numeric, average_days_to_pay numeric, average_days_past_due numeric,
               amount_due numeric, amount_collected numeric, dunning_effectiveness_pct numeric)
LANGUAGE sql STABLE AS $$
	SELECT k.*
	  FROM generate_series(1, least(greatest(months, 0), 240)) g
	 CROSS JOIN LATERAL (SELECT (date_trunc('month', kpi_history.as_of + 1) - make_interval(months => g - 1) - interval '1 day')::date AS month_end) m
	 CROSS JOIN LATERAL ar.kpis(m.month_end, kpi_history.period_days) k
	 ORDER BY m.month_end
$$;
COMMENT ON FUNCTION ar.kpi_history(date, integer, integer) IS
'ar.kpis on each of the last months month-ends on or before as_of (as_of itself when it is a month end), oldest first.';

CREATE VIEW ar.kpi_monthly AS
SELECT k.as_of AS month_end, k.currency, k.receivables, k.overdue, k.sales,
       round(k.dso_standard, 2) AS dso_standard, round(k.dso_countback, 2) AS dso_countback,
       round(k.best_possible_dso, 2) AS best_possible_dso, round(k.average_days_delinquent, 2) AS average_days_delinquent,
       round(k.cei_pct, 2) AS cei_pct, round(k.collection_rate_pct, 2) AS collection_rate_pct,
       round(k.share_overdue_pct, 2) AS share_overdue_pct, round(k.average_days_to_pay, 2) AS average_days_to_pay,
       round(k.average_days_past_due, 2) AS average_days_past_due, k.dunning_effectiveness_pct
  FROM ar.kpi_history(current_date, 24, 90) k;

COMMENT ON VIEW ar.kpi_monthly IS 'Receivables KPIs at each of the last 24 month-ends (90-day period), default company in its currency, rounded to 2 decimals for display.';
COMMENT ON COLUMN ar.kpi_monthly.month_end IS 'The month-end the figures stand on.';
COMMENT ON COLUMN ar.kpi_monthly.currency IS 'Currency of every amount of the row (the default company''s).';
COMMENT ON COLUMN ar.kpi_monthly.receivables IS 'Open amounts on the month-end (credit notes included).';
COMMENT ON COLUMN ar.kpi_monthly.overdue IS 'Part of the receivables past due on the month-end.';
COMMENT ON COLUMN ar.kpi_monthly.sales IS 'Invoices less credit notes issued in the 90 days up to the month-end.';
COMMENT ON COLUMN ar.kpi_monthly.dso_standard IS 'Standard DSO: receivables / 90-day sales * 90.';
COMMENT ON COLUMN ar.kpi_monthly.dso_countback IS 'Countback DSO (month to date, then earlier full months).';
COMMENT ON COLUMN ar.kpi_monthly.best_possible_dso IS 'Receivables not yet due / 90-day sales * 90.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_delinquent IS 'Standard DSO minus best possible DSO.';
COMMENT ON COLUMN ar.kpi_monthly.cei_pct IS 'Collection effectiveness index, percent: (AR at start + sales - AR at end) / (AR at start + sales - current AR at end).';
COMMENT ON COLUMN ar.kpi_monthly.collection_rate_pct IS 'Percent of the amount falling due in the 90 days that was settled by the month-end (write-offs excluded).';
COMMENT ON COLUMN ar.kpi_monthly.share_overdue_pct IS 'Overdue / receivables, percent.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_to_pay IS 'Days from issue to full payment of the invoices paid in the 90 days, weighted by amount.';
COMMENT ON COLUMN ar.kpi_monthly.average_days_past_due IS 'Days past due of the overdue open amounts, weighted by amount.';
COMMENT ON COLUMN ar.kpi_monthly.dunning_effectiveness_pct IS 'Share of the amount claimed by dunning notices paid within 15 days after them, percent; NULL without dunning.';

--------------------------------------------------------------------------
-- Payer behaviour and segments
--------------------------------------------------------------------------

-- Thresholds of the segments (documented in doc/analytics.md).
CREATE TABLE ar.segment_threshold (
	name         text PRIMARY KEY,
	value        numeric NOT NULL,
	description  text NOT NULL,
	shipped      boolean NOT NULL DEFAULT false
);
INSERT INTO ar.segment_threshold (name, value, description, shipped) VALUES
('occasional_late_mean_days', 3, 'amount-weighted mean days late at or above which a customer is occasional_late', true),
('chronic_late_mean_days', 15, 'amount-weighted mean days late at or above which a customer is chronic_late', true),
('high_risk_mean_days', 75, 'amount-weighted mean days late at or above which a customer is high_risk', true),
('high_risk_open_days_past_due', 120, 'an open invoice more than this many days past due makes the customer high_risk', true),
('occasional_late_on_time_share', 0.5, 'below this share of invoices paid on time (with at least 4 due), a punctual customer is occasional_late', true);
COMMENT ON TABLE ar.segment_threshold IS 'Thresholds of the payer segments computed by ar.refresh_segments(); shipped rows may be updated by ar_admin.';

CREATE FUNCTION ar._segment_limit(threshold_name text) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT value FROM ar.segment_threshold WHERE name = threshold_name
$$;

-- ar.customer_behaviour_on(as_of): 74_zz_customer_behaviour.sql (before the
-- view over it).

CREATE VIEW ar.customer_behaviour AS
SELECT * FROM ar.customer_behaviour_on(current_date);

COMMENT ON VIEW ar.customer_behaviour IS 'Payment behaviour of each customer over the last 12 months and its segment (what ar.refresh_segments() stores in ar.customer.segment).';
COMMENT ON COLUMN ar.customer_behaviour.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_behaviour.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_behaviour.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_behaviour.invoices_due IS 'Invoices that fell due in the last 12 months (paid or not).';
COMMENT ON COLUMN ar.customer_behaviour.share_on_time IS 'Share of them fully paid on or before their due date (0 to 1).';
COMMENT ON COLUMN ar.customer_behaviour.mean_days_late IS 'Amount-weighted mean days late (payment day, or today if unpaid, minus due date; 0 when on time).';
COMMENT ON COLUMN ar.customer_behaviour.spread_days_late IS 'Amount-weighted standard deviation of the days late.';
COMMENT ON COLUMN ar.customer_behaviour.trend_days_late IS 'Mean days late of the invoices due in the last 3 months minus that of the 9 months before (positive: paying later).';
COMMENT ON COLUMN ar.customer_behaviour.open_exposure IS 'Open amount today in the company currency (credit notes included).';
COMMENT ON COLUMN ar.customer_behaviour.overdue_exposure IS 'Part of the open exposure past due.';
COMMENT ON COLUMN ar.customer_behaviour.max_days_past_due IS 'Days past due of the oldest overdue open invoice (0 if none).';
COMMENT ON COLUMN ar.customer_behaviour.currency IS 'Currency of the exposure columns (the company''s).';
COMMENT ON COLUMN ar.customer_behaviour.other_currency_open_items IS 'Open items in other currencies, left out of the exposure columns.';
COMMENT ON COLUMN ar.customer_behaviour.segment IS 'punctual, occasional_late, chronic_late or high_risk (thresholds in ar.segment_threshold); NULL without history.';

CREATE FUNCTION ar.refresh_segments(as_of date DEFAULT current_date)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	changed integer;
BEGIN
	IF as_of IS NULL THEN
		RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the customers of the companies the caller collects for
	UPDATE ar.customer c SET segment = b.segment
	  FROM ar.customer_behaviour_on(as_of) b
	 WHERE b.customer_id = c.id AND c.segment IS DISTINCT FROM b.segment
	   AND c.company_id = ANY ((SELECT ar._company_ids('collector'))::bigint[]);
	GET DIAGNOSTICS changed = ROW_COUNT;
	RETURN changed;
END $$;

COMMENT ON FUNCTION ar.refresh_segments(date) IS
'Stores in ar.customer.segment the segment of each customer on as_of (ar.customer_behaviour_on); returns how many changed (each change is audited).';

--------------------------------------------------------------------------
-- Late-payment prediction
--------------------------------------------------------------------------
CREATE TABLE ar.payment_model (
	version              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	trained_at           timestamptz NOT NULL DEFAULT now(),
	trained_by           text NOT NULL DEFAULT session_user,
	as_of                date NOT NULL,
	algorithm            text NOT NULL,
	training_from        date,
	training_to          date,
	training_invoices    integer NOT NULL,
	training_paid        integer NOT NULL,
	holdout_from         date,
	holdout_invoices     integer NOT NULL DEFAULT 0,
	auc                  double precision,
	auc_late_30          double precision,
	accuracy             double precision,
	brier                double precision,
	mae_days             double precision,
	baseline_auc         double precision,
	baseline_mae_days    double precision,
	baseline_brier       double precision,
	feature_names        text[] NOT NULL,
	feature_mean         double precision[] NOT NULL,
	feature_scale        double precision[] NOT NULL,
	coef_late            double precision[] NOT NULL,
	coef_late_30         double precision[] NOT NULL,
	coef_delay_q10       double precision[] NOT NULL,
	coef_delay_q50       double precision[] NOT NULL,
	coef_delay_q90       double precision[] NOT NULL
);
COMMENT ON TABLE ar.payment_model IS 'Payment models trained by ar.train_payment_model(): coefficients (over standardized features, intercept first), training window and the metrics of a temporal holdout. The latest version is used.';
COMMENT ON COLUMN ar.payment_model.version IS 'Model version; predictions use the highest.';
COMMENT ON COLUMN ar.payment_model.as_of IS 'Outcomes known on this day (settled before it, or already late on it) were learnt.';
COMMENT ON COLUMN ar.payment_model.training_from IS 'Issue date of the oldest invoice learnt.';
COMMENT ON COLUMN ar.payment_model.training_to IS 'Issue date of the newest invoice learnt.';
COMMENT ON COLUMN ar.payment_model.training_invoices IS 'Invoices with a known late / not late outcome on as_of.';
COMMENT ON COLUMN ar.payment_model.training_paid IS 'Of which paid before as_of (the delay regressions learn from these).';
COMMENT ON COLUMN ar.payment_model.holdout_from IS 'Temporal holdout: the same training on what was known on this day, scored on the invoices settled from it to as_of.';
COMMENT ON COLUMN ar.payment_model.holdout_invoices IS 'Invoices settled in the holdout window.';
COMMENT ON COLUMN ar.payment_model.auc IS 'Holdout AUC of p_late.';
COMMENT ON COLUMN ar.payment_model.auc_late_30 IS 'Holdout AUC of p_late_30.';
COMMENT ON COLUMN ar.payment_model.accuracy IS 'Holdout accuracy of p_late >= 0.5.';
COMMENT ON COLUMN ar.payment_model.brier IS 'Holdout Brier score of p_late.';
COMMENT ON COLUMN ar.payment_model.mae_days IS 'Holdout mean absolute error of the expected payment date, days.';
COMMENT ON COLUMN ar.payment_model.baseline_auc IS 'Holdout AUC of the naive baseline (the customer''s past average delay as score).';
COMMENT ON COLUMN ar.payment_model.baseline_mae_days IS 'Holdout MAE of the naive baseline (due date + the customer''s past average delay).';
COMMENT ON COLUMN ar.payment_model.baseline_brier IS 'Holdout Brier score of the customer''s past share of late invoices (Laplace-smoothed).';

CREATE FUNCTION ar._payment_model_fit(as_of date, holdout_days integer,
	OUT feature_names text[], OUT feature_mean float8[], OUT feature_scale float8[],
	OUT coef_late float8[], OUT coef_late_30 float8[],
	OUT coef_delay_q10 float8[], OUT coef_delay_q50 float8[], OUT coef_delay_q90 float8[],
	OUT training_from date, OUT training_to date, OUT training_invoices integer, OUT training_paid integer,
	OUT holdout_from date, OUT holdout_invoices integer,
	OUT auc float8, OUT auc_late_30 float8, OUT accuracy float8, OUT brier float8, OUT mae_days float8,
	OUT baseline_auc float8, OUT baseline_mae_days float8, OUT baseline_brier float8)
	AS 'MODULE_PATHNAME', 'payment_model_fit' LANGUAGE C STABLE;
COMMENT ON FUNCTION ar._payment_model_fit(date, integer) IS
'internal: fits the payment models on the outcomes known on as_of (src/payment_model.c)';

CREATE FUNCTION ar._payment_scores(invoice_ids bigint[], feature_mean float8[], feature_scale float8[],
	coef_late float8[], coef_late_30 float8[], coef_delay_q10 float8[], coef_delay_q50 float8[],
	coef_delay_q90 float8[])
RETURNS TABLE (invoice_id bigint, due_date date, p_late float8, p_late_30 float8, delay_q10 float8,
               delay_q50 float8, delay_q90 float8, baseline_delay float8, baseline_p_late float8, settled_on date)
	AS 'MODULE_PATHNAME', 'payment_scores' LANGUAGE C STABLE;
COMMENT ON FUNCTION ar._payment_scores(bigint[], float8[], float8[], float8[], float8[], float8[], float8[], float8[]) IS
'internal: scores invoices with one model''s coefficients, from what was known on each one''s issue date (src/payment_model.c)';

CREATE FUNCTION ar.train_payment_model(as_of date DEFAULT current_date)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	fit record;
	new_version bigint;
BEGIN
	IF as_of IS NULL OR as_of IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'as_of must be a finite date, not %', coalesce(as_of::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- one model learns from every company's invoices
	PERFORM ar._require_all_companies('admin');
	SELECT * INTO fit FROM ar._payment_model_fit(as_of, 91);
	INSERT INTO ar.payment_model (as_of, algorithm, training_from, training_to, training_invoices, training_paid,
	                              holdout_from, holdout_invoices, auc, auc_late_30, accuracy, brier, mae_days,
	                              baseline_auc, baseline_mae_days, baseline_brier,
	                              feature_names, feature_mean, feature_scale, coef_late, coef_late_30,
	                              coef_delay_q10, coef_delay_q50, coef_delay_q90)
	VALUES (as_of, 'logistic regression (L2, Newton) for p_late and p_late_30; linear quantile regression (IRLS) of the delay at 10/50/90%',
	        fit.training_from, fit.training_to, fit.training_invoices, fit.training_paid,
	        fit.holdout_from, fit.holdout_invoices, fit.auc, fit.auc_late_30, fit.accuracy, fit.brier, fit.mae_days,
	        fit.baseline_auc, fit.baseline_mae_days, fit.baseline_brier,
	        fit.feature_names, fit.feature_mean, fit.feature_scale, fit.coef_late, fit.coef_late_30,
	        fit.coef_delay_q10, fit.coef_delay_q50, fit.coef_delay_q90)
	RETURNING version INTO new_version;
	RETURN new_version;
END $$;

COMMENT ON FUNCTION ar.train_payment_model(date) IS
'Learns payment behaviour from the invoices whose outcome is known on as_of (settled before it, or already late on it), from features known on each invoice''s issue date only; stores the model with its training window and temporal-holdout metrics; returns its version.';

CREATE FUNCTION ar._payment_model(model_version bigint DEFAULT NULL) RETURNS ar.payment_model
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m ar.payment_model;
BEGIN
	IF model_version IS NULL THEN
		SELECT * INTO m FROM ar.payment_model ORDER BY version DESC LIMIT 1;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no payment model has been trained'
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'Run ar.train_payment_model() first.';
		END IF;
	ELSE
		SELECT * INTO m FROM ar.payment_model WHERE version = model_version;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'payment model version % does not exist', model_version USING ERRCODE = 'no_data_found';
		END IF;
	END IF;
	RETURN m;
END $$;

-- Scores of a set of invoices with the latest (or a given) model.
CREATE FUNCTION ar.payment_scores(invoice_ids bigint[], model_version bigint DEFAULT NULL)
RETURNS TABLE (invoice_id bigint, due_date date, p_late float8, p_late_30 float8, delay_q10 float8,
               delay_q50 float8, delay_q90 float8, baseline_delay float8, baseline_p_late float8, settled_on date)
LANGUAGE sql STABLE AS $$
	SELECT s.*
	  FROM (SELECT (ar._payment_model(model_version)).*) m
	 CROSS JOIN LATERAL ar._payment_scores(invoice_ids, m.feature_mean, m.feature_scale, m.coef_late,
	                                       m.coef_late_30, m.coef_delay_q10, m.coef_delay_q50, m.coef_delay_q90) s
$$;
COMMENT ON FUNCTION ar.payment_scores(bigint[], bigint) IS
'Model outputs for many invoices at once (latest model unless model_version): p_late, p_late_30, delay quantiles in days after the due date (q50 is the expected payment date), and the naive baseline (the customer''s past average delay and share late), all from what was known on each invoice''s issue date; settled_on is the day it was fully paid, if it was.';

CREATE FUNCTION ar.predict_payment(invoice_id bigint)
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

COMMENT ON FUNCTION ar.predict_payment(bigint) IS
'With the latest model, from what was known on the invoice''s issue date: the probability it is paid after its due date, more than 30 days after it, and the expected payment date (due date + the predicted median delay).';

-- Metrics on the invoices fully paid (not written off) in [from_date, to_date].
CREATE FUNCTION ar.evaluate_payment_model(from_date date, to_date date, model_version bigint DEFAULT NULL)
RETURNS TABLE (version bigint, invoices integer, late_share numeric,
               auc numeric, auc_late_30 numeric, accuracy numeric, brier numeric, mae_days numeric,
               baseline_auc numeric, baseline_accuracy numeric, baseline_brier numeric, baseline_mae_days numeric,
               mae_improvement_pct numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	m ar.payment_model;
BEGIN
	IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
		RAISE EXCEPTION 'evaluation window % to % is not a range of dates', coalesce(from_date::text, 'NULL'),
		                coalesce(to_date::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := ar._payment_model(evaluate_payment_model.model_version);
	RETURN QUERY
	WITH candidate AS (
		SELECT array_agg(i.id) AS ids
		  FROM ar.invoice i
		 WHERE i.amount > 0 AND i.open_amount = 0 AND i.written_off_amount = 0 AND i.cancelled_on IS NULL
		   AND EXISTS (SELECT 1 FROM ar.allocation a
		                WHERE a.invoice_id = i.id AND a.allocated_on BETWEEN from_date AND to_date)
	), scored AS (
		SELECT s.*, (s.settled_on > s.due_date)::integer AS late, (s.settled_on > s.due_date + 30)::integer AS late_30,
		       s.settled_on - s.due_date AS delay
		  FROM candidate c
		 CROSS JOIN LATERAL ar._payment_scores(c.ids, m.feature_mean, m.feature_scale, m.coef_late,
		                                       m.coef_late_30, m.coef_delay_q10, m.coef_delay_q50, m.coef_delay_q90) s
		 WHERE s.settled_on BETWEEN from_date AND to_date
	), ranked AS (
		SELECT s.*,
		       rank() OVER (ORDER BY s.p_late) + (count(*) OVER (PARTITION BY s.p_late) - 1) / 2.0 AS r,
		       rank() OVER (ORDER BY s.p_late_30) + (count(*) OVER (PARTITION BY s.p_late_30) - 1) / 2.0 AS r30,
		       rank() OVER (ORDER BY s.baseline_delay) + (count(*) OVER (PARTITION BY s.baseline_delay) - 1) / 2.0 AS rb
		  FROM scored s
	), t AS (
		SELECT count(*) AS n, sum(late) AS pos, sum(late_30) AS pos30,
		       sum(r) FILTER (WHERE late = 1) AS rank_sum, sum(r30) FILTER (WHERE late_30 = 1) AS rank_sum30,
		       sum(rb) FILTER (WHERE late = 1) AS rank_sumb,
		       avg(((p_late >= 0.5)::integer = late)::integer) AS acc,
		       avg((p_late - late) ^ 2) AS brier,
		       avg(abs(delay - round(delay_q50))) AS mae,
		       avg(((baseline_delay > 0)::integer = late)::integer) AS bacc,
		       avg((baseline_p_late - late) ^ 2) AS bbrier,
		       avg(abs(delay - round(baseline_delay))) AS bmae
		  FROM ranked
	)
	SELECT m.version, t.n::integer, round(t.pos::numeric / nullif(t.n, 0), 4),
	       round(((t.rank_sum - t.pos * (t.pos + 1) / 2.0) / nullif(t.pos * (t.n - t.pos), 0))::numeric, 4),
	       round(((t.rank_sum30 - t.pos30 * (t.pos30 + 1) / 2.0) / nullif(t.pos30 * (t.n - t.pos30), 0))::numeric, 4),
	       round(t.acc::numeric, 4), round(t.brier::numeric, 4), round(t.mae::numeric, 2),
	       round(((t.rank_sumb - t.pos * (t.pos + 1) / 2.0) / nullif(t.pos * (t.n - t.pos), 0))::numeric, 4),
	       round(t.bacc::numeric, 4), round(t.bbrier::numeric, 4), round(t.bmae::numeric, 2),
	       round((100 * (1 - t.mae / nullif(t.bmae, 0)))::numeric, 1)
	  FROM t;
END $$;

COMMENT ON FUNCTION ar.evaluate_payment_model(date, date, bigint) IS
'Scores the invoices fully paid in [from_date, to_date] with the latest model (or model_version) and returns AUC (p_late, p_late_30), accuracy, Brier score and mean absolute error of the expected payment date in days, next to the naive baseline (each customer''s past average delay as of the issue date; its past share late for the Brier score), and the MAE improvement over the baseline in percent.';

--------------------------------------------------------------------------
-- Cash forecast
--------------------------------------------------------------------------

-- Payment-day scenarios of an open invoice, from its delay quantiles: 20
-- equally likely days at the quantile levels 2.5%, 7.5%, ... 97.5% of a
-- piecewise linear quantile function through q10, q50 and q90 (extended
-- by the same slopes below q10 and above q90), keeping those after
-- from_date (it is not paid yet then); when none is left, the invoice is
-- later than the model has seen and is spread evenly over the 90 days
-- after from_date.
CREATE FUNCTION ar._payment_scenarios(due_date date, q10 float8, q50 float8, q90 float8, from_date date)
RETURNS TABLE (pay_on date, probability float8)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	WITH s AS (
		SELECT due_date + round(CASE
		           WHEN u < 0.1 THEN q10 - (0.1 - u) / 0.4 * (q50 - q10)
		           WHEN u < 0.5 THEN q10 + (u - 0.1) / 0.4 * (q50 - q10)
		           WHEN u < 0.9 THEN q50 + (u - 0.5) / 0.4 * (q90 - q50)
		           ELSE q90 + (u - 0.9) / 0.4 * (q90 - q50) END)::integer AS pay_on
		  FROM (SELECT (k + 0.5) / 20.0 AS u FROM generate_series(0, 19) k) g
	), kept AS (
		SELECT s.pay_on FROM s WHERE s.pay_on > from_date
	)
	SELECT k.pay_on, 1.0 / count(*) OVER () FROM kept k
	UNION ALL
	SELECT from_date + 1 + (k * 90) / 20, 1.0 / 20
	  FROM generate_series(0, 19) k
	 WHERE NOT EXISTS (SELECT 1 FROM kept)
$$;

-- The items (open promises, plan instalments, the model's share of each
-- open invoice) come from ar._cash_forecast_items (86_forecast.sql).  No
-- JIT: the estimates of the scoring functions' rows are rough, and
-- compiling the plan cost more than it ran (1 to 2 s on the demo ledger).
CREATE FUNCTION ar.cash_forecast(from_date date DEFAULT current_date, horizon_days integer DEFAULT 90,
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

CREATE VIEW ar.cash_forecast_weekly AS
SELECT * FROM ar.cash_forecast(current_date, 91, 'week');
COMMENT ON VIEW ar.cash_forecast_weekly IS 'Expected collections per week for the next 13 weeks (ar.cash_forecast), default company in its currency; needs a trained payment model.';
COMMENT ON COLUMN ar.cash_forecast_weekly.period_start IS 'First day of the week (Monday; the first week starts tomorrow).';
COMMENT ON COLUMN ar.cash_forecast_weekly.expected IS 'Expected collections in the week.';
COMMENT ON COLUMN ar.cash_forecast_weekly.low IS 'Low end of the 80% band.';
COMMENT ON COLUMN ar.cash_forecast_weekly.high IS 'High end of the 80% band.';

--------------------------------------------------------------------------
-- Customer risk
--------------------------------------------------------------------------
CREATE FUNCTION ar.customer_risk_on(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text, segment text, currency char(3),
               exposure numeric, overdue numeric, open_items integer, p_late numeric, p_late_30 numeric,
               expected_late_amount numeric, credit_limit numeric, credit_limit_use_pct numeric, risk_score numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	has_model boolean := EXISTS (SELECT 1 FROM ar.payment_model);
BEGIN
	RETURN QUERY
	WITH open_item AS (
		SELECT o.invoice_id, o.customer_id, o.amount, o.open_amount, o.days_past_due
		  FROM ar.open_items(as_of) o
		 WHERE o.company_id = ar.default_company() AND o.currency = ar._kpi_company_currency()
	), scored AS (
		SELECT s.invoice_id, s.p_late, s.p_late_30
		  FROM (SELECT array_agg(invoice_id) FILTER (WHERE amount > 0) AS ids FROM open_item) a
		 CROSS JOIN LATERAL ar.payment_scores(a.ids) s
		 WHERE has_model AND a.ids IS NOT NULL
	), per_customer AS (
		SELECT o.customer_id, sum(o.open_amount) AS exposure,
		       coalesce(sum(o.open_amount) FILTER (WHERE o.days_past_due > 0), 0) AS overdue,
		       count(*)::integer AS items,
		       sum(o.open_amount * s.p_late::numeric) FILTER (WHERE o.amount > 0) AS late_amount,
		       sum(o.open_amount * s.p_late_30::numeric) FILTER (WHERE o.amount > 0) AS late_30_amount,
		       sum(o.open_amount) FILTER (WHERE o.amount > 0) AS invoiced_open
		  FROM open_item o
		  LEFT JOIN scored s ON s.invoice_id = o.invoice_id
		 GROUP BY o.customer_id
	)
	SELECT c.id, c.code, c.name, c.segment, ar._kpi_company_currency(),
	       p.exposure, p.overdue, p.items,
	       round(p.late_amount / nullif(p.invoiced_open, 0), 4),
	       round(p.late_30_amount / nullif(p.invoiced_open, 0), 4),
	       round(p.late_amount, 2),
	       c.credit_limit,
	       round(100 * p.exposure / nullif(c.credit_limit, 0), 2),
	       round(CASE WHEN has_model THEN coalesce(p.late_30_amount, 0) ELSE p.overdue END, 2)
	  FROM per_customer p
	  JOIN ar.customer c ON c.id = p.customer_id
	 WHERE p.exposure > 0
	 ORDER BY 14 DESC, p.overdue DESC, c.code;
END $$;

COMMENT ON FUNCTION ar.customer_risk_on(date) IS
'Customers with a positive open exposure on as_of (default company, its currency), riskiest first: see the view ar.customer_risk.';

CREATE VIEW ar.customer_risk AS
SELECT * FROM ar.customer_risk_on(current_date);

COMMENT ON VIEW ar.customer_risk IS 'Customers with money open today, riskiest first: exposure, overdue, predicted lateness of their open invoices (latest payment model) and credit limit use; default company in its currency.';
COMMENT ON COLUMN ar.customer_risk.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_risk.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_risk.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_risk.segment IS 'Stored segment (ar.refresh_segments()).';
COMMENT ON COLUMN ar.customer_risk.currency IS 'Currency of the amounts (the company''s).';
COMMENT ON COLUMN ar.customer_risk.exposure IS 'Open amount today (credit notes included).';
COMMENT ON COLUMN ar.customer_risk.overdue IS 'Part of it past due.';
COMMENT ON COLUMN ar.customer_risk.open_items IS 'Open invoices and credit notes.';
COMMENT ON COLUMN ar.customer_risk.p_late IS 'Amount-weighted probability that the open invoices are paid after their due date (0 to 1); NULL without a model.';
COMMENT ON COLUMN ar.customer_risk.p_late_30 IS 'The same for more than 30 days after the due date.';
COMMENT ON COLUMN ar.customer_risk.expected_late_amount IS 'Open invoice amounts times their p_late.';
COMMENT ON COLUMN ar.customer_risk.credit_limit IS 'ar.customer.credit_limit.';
COMMENT ON COLUMN ar.customer_risk.credit_limit_use_pct IS 'Exposure / credit limit, percent; NULL without a limit.';
COMMENT ON COLUMN ar.customer_risk.risk_score IS 'The ordering key: open invoice amounts times p_late_30 with a model, else the overdue amount.';

--------------------------------------------------------------------------
-- More views for BI tools
--------------------------------------------------------------------------
-- (each currency's buckets summed once, then one row per bucket)
CREATE VIEW ar.aging_by_bucket AS
SELECT b.bucket, b.ord AS bucket_order, r.currency,
       CASE b.bucket WHEN 'not_due' THEN r.not_due WHEN 'd1_30' THEN r.d1_30 WHEN 'd31_60' THEN r.d31_60
                     WHEN 'd61_90' THEN r.d61_90 ELSE r.d91_plus END AS amount
  FROM (SELECT a.currency, sum(a.not_due) AS not_due, sum(a.d1_30) AS d1_30, sum(a.d31_60) AS d31_60,
               sum(a.d61_90) AS d61_90, sum(a.d91_plus) AS d91_plus
          FROM ar.aging_report(current_date) a
         GROUP BY a.currency) r
 CROSS JOIN (VALUES ('not_due', 1), ('d1_30', 2), ('d31_60', 3), ('d61_90', 4), ('d91_plus', 5)) b(bucket, ord);

COMMENT ON VIEW ar.aging_by_bucket IS 'Open amounts today by aging bucket and currency (a bar chart''s data).';
COMMENT ON COLUMN ar.aging_by_bucket.bucket IS 'not_due, d1_30, d31_60, d61_90 or d91_plus.';
COMMENT ON COLUMN ar.aging_by_bucket.bucket_order IS '1 to 5, for sorting buckets from not due to oldest.';
COMMENT ON COLUMN ar.aging_by_bucket.currency IS 'Currency of the amount.';
COMMENT ON COLUMN ar.aging_by_bucket.amount IS 'Open amount in the bucket.';

CREATE VIEW ar.payment_model_latest AS
SELECT version, trained_at, as_of, training_from, training_to, training_invoices, training_paid,
       holdout_from, holdout_invoices, auc, auc_late_30, accuracy, brier, mae_days,
       baseline_auc, baseline_mae_days, baseline_brier
  FROM ar.payment_model
 ORDER BY version DESC
 LIMIT 1;

COMMENT ON VIEW ar.payment_model_latest IS 'The model predictions use, with its training window and holdout metrics.';
COMMENT ON COLUMN ar.payment_model_latest.version IS 'Model version.';
COMMENT ON COLUMN ar.payment_model_latest.trained_at IS 'When it was trained.';
COMMENT ON COLUMN ar.payment_model_latest.as_of IS 'Outcomes known on this day were learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_from IS 'Issue date of the oldest invoice learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_to IS 'Issue date of the newest invoice learnt.';
COMMENT ON COLUMN ar.payment_model_latest.training_invoices IS 'Invoices with a known late / not late outcome.';
COMMENT ON COLUMN ar.payment_model_latest.training_paid IS 'Of which paid.';
COMMENT ON COLUMN ar.payment_model_latest.holdout_from IS 'Start of the temporal holdout window (it ends on as_of).';
COMMENT ON COLUMN ar.payment_model_latest.holdout_invoices IS 'Invoices settled in the holdout window.';
COMMENT ON COLUMN ar.payment_model_latest.auc IS 'Holdout AUC of p_late.';
COMMENT ON COLUMN ar.payment_model_latest.auc_late_30 IS 'Holdout AUC of p_late_30.';
COMMENT ON COLUMN ar.payment_model_latest.accuracy IS 'Holdout accuracy of p_late >= 0.5.';
COMMENT ON COLUMN ar.payment_model_latest.brier IS 'Holdout Brier score of p_late.';
COMMENT ON COLUMN ar.payment_model_latest.mae_days IS 'Holdout MAE of the expected payment date, days.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_auc IS 'The same AUC for the naive baseline.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_mae_days IS 'The same MAE for the naive baseline.';
COMMENT ON COLUMN ar.payment_model_latest.baseline_brier IS 'The same Brier score for the naive baseline.';

--------------------------------------------------------------------------
-- Grants and pg_dump registration
--------------------------------------------------------------------------
GRANT SELECT ON ar.kpi_monthly, ar.customer_behaviour, ar.customer_risk, ar.cash_forecast_weekly,
                ar.aging_by_bucket, ar.payment_model_latest, ar.payment_model, ar.segment_threshold
	TO ar_reader;
GRANT UPDATE (value) ON ar.segment_threshold TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.dso(date, integer, text), ar.kpis(date, integer), ar.kpi_history(date, integer, integer),
                          ar._kpi_figures(date, integer), ar._kpi_figures_full(date, integer), ar._kpi_company_currency(),
                          ar.customer_behaviour_on(date), ar._segment_limit(text),
                          ar.customer_risk_on(date), ar.cash_forecast(date, integer, text),
                          ar.predict_payment(bigint), ar.payment_scores(bigint[], bigint), ar._payment_model(bigint),
                          ar._payment_scores(bigint[], float8[], float8[], float8[], float8[], float8[], float8[], float8[]),
                          ar.evaluate_payment_model(date, date, bigint)
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.refresh_segments(date) TO ar_collector;
GRANT EXECUTE ON FUNCTION ar.train_payment_model(date) TO ar_admin;

SELECT pg_catalog.pg_extension_config_dump('ar.payment_model', '');
SELECT pg_catalog.pg_extension_config_dump('ar.segment_threshold', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.payment_model', 'version')::regclass, '');
