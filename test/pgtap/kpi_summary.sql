-- pgTAP: the KPI summaries (issue 17, doc/dashboards.md).  ar.kpi_summary
-- follows every ledger change (invoices and credit notes issued with
-- amounts at several scales, corrected, moved in time, cancelled back-dated
-- and future-dated, deleted; payments back-dated and not, credit notes set
-- off, write-offs and their reversal, allocations removed; statements
-- changing many invoices at once), folded or still pending; after each
-- batch of random changes ar.kpis from the summaries equals the full
-- computation (ar._kpi_figures_full) in text, every column at its scale,
-- for periods of 1, 30, 90 and 365 days, on the latest activity date and
-- after it; before it ar.kpis falls back to the full computation.  The
-- derived columns last_allocated_on / last_write_off_on follow the
-- allocations; nobody writes them or the summaries directly.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(27);

-- The latest allocation or cancellation of the default company in its
-- currency: ar.kpis answers from the summaries from that date on.
CREATE FUNCTION pg_temp.latest() RETURNS date LANGUAGE sql AS $$
	SELECT greatest((SELECT max(a.allocated_on) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
	                  JOIN ar.company c ON c.id = i.company_id AND c.is_default AND c.currency = i.currency),
	                (SELECT max(i.cancelled_on) FROM ar.invoice i
	                  JOIN ar.company c ON c.id = i.company_id AND c.is_default AND c.currency = i.currency),
	                current_date - 1000)
$$;
-- The (date, period) pairs where the summaries and the full computation
-- differ (as text: every figure at its scale), on the latest activity date
-- and after it; with how many were compared and served.
CREATE TEMP TABLE kpi_check (batch integer, as_of date, period_days integer, serves boolean, summary text, full_text text);
CREATE FUNCTION pg_temp.compare(batch integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	t date := pg_temp.latest();
BEGIN
	INSERT INTO kpi_check
	SELECT batch, d, p, ar._kpi_summary_serves(d), ar._kpi_figures_summary(d, p)::text, ar._kpi_figures_full(d, p)::text
	  FROM unnest(ARRAY[t, t + 1, t + 29, t + 45, t + 400]) d, unnest(ARRAY[1, 30, 90, 365]) p;
	RETURN (SELECT count(*) FROM kpi_check k WHERE k.batch = compare.batch AND k.summary IS DISTINCT FROM k.full_text);
END $$;

-- ------------------------------------------------------ scales and nulls
-- No invoice: no figures (a NULL state) either way.  Whole amounts: the
-- state's scale is 0; an invoice of 10.5 cancelled in the period brings
-- scale 1 (its amount is its open amount on the period's start), not when
-- cancelled before it.
SELECT is(pg_temp.compare(-3), 0::bigint, 'no invoice: the same (empty) figures');
INSERT INTO ar.customer (code, name) VALUES ('KZ1', 'Kpisum scale');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'KZ-' || g, current_date - 40 - g, current_date - 10 - g, 100 * g FROM ar.customer c, generate_series(1, 5) g
 WHERE c.code = 'KZ1';
SELECT ar.record_payment('KZ-2', 200, current_date - 20, 'transfer');
SELECT ar.record_payment('KZ-3', 50, current_date - 8, 'transfer');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'KZ-10', current_date - 30, current_date - 5, 10.5 FROM ar.customer c WHERE c.code = 'KZ1';
SELECT ar.cancel_invoice(id, current_date - 10) FROM ar.invoice WHERE number = 'KZ-10';
SELECT is(pg_temp.compare(-2), 0::bigint, 'whole amounts, one of 10.5 cancelled: the same figures');
SELECT is((SELECT string_agg(DISTINCT format('%s:%s', k.period_days, scale((k.full_text::ar.kpi_figures).receivables)), ' ')
             FROM kpi_check k WHERE k.batch = -2 AND k.as_of = current_date - 8),
          '1:0 30:1 365:1 90:1', 'and their scale: 1 when the cancellation falls in the period, else 0');

-- ------------------------------------------------------ a random ledger
\set rl_prefix KS
\set rl_name Kpisum
\set rl_customers 12
\set rl_invoices 14
SELECT (current_date - 500)::text AS rl_first_day, (current_date - 350)::text AS rl_credits_from \gset
\set rl_credits_days 390
\set rl_seed 0.43
\ir ../lib/random_ledger.sql

-- A batch of random changes through the API and plain statements.
CREATE FUNCTION pg_temp.batch(seed float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	cn ar.invoice;
	d date;
	w bigint;
	a bigint;
	c bigint;
BEGIN
	PERFORM setseed(seed);
	-- new invoices and credit notes, amounts at scales 0 to 3, some issued ahead
	INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
	SELECT cu.company_id, cu.id, 'KSB-' || seed || '-' || g, x.d, x.d + (random() * 60)::int,
	       round(((CASE WHEN random() < 0.2 THEN -1 ELSE 1 END) * (1 + random() * 2000))::numeric, (g % 3)),
	       CASE WHEN random() < 0.2 THEN 'USD' ELSE 'EUR' END
	  FROM generate_series(1, 30) g
	 CROSS JOIN LATERAL (SELECT current_date - 200 + (random() * 260)::int AS d) x
	 CROSS JOIN LATERAL (SELECT k.id, k.company_id FROM ar.customer k WHERE k.code LIKE 'KS%'
	                      ORDER BY k.id OFFSET (g * 7 + (seed * 100)::int) % 12 LIMIT 1) cu;
	FOR inv IN SELECT * FROM ar.invoice i WHERE i.number LIKE 'KS%' ORDER BY random() LIMIT 40 LOOP
		SELECT * INTO inv FROM ar.invoice x WHERE x.id = inv.id;
		d := inv.issue_date + (random() * 120)::int - 15;
		CASE (random() * 11)::int
		WHEN 0 THEN
			-- back-dated, and future-dated, cancellations
			IF inv.open_amount = inv.amount AND inv.cancelled_on IS NULL
			   AND NOT EXISTS (SELECT FROM ar.allocation x WHERE x.invoice_id = inv.id) THEN
				PERFORM ar.cancel_invoice(inv.id, CASE WHEN random() < 0.3 THEN current_date + 20 ELSE d END);
			END IF;
		WHEN 1 THEN
			IF inv.amount > 0 AND inv.open_amount > 0 THEN
				PERFORM ar.record_payment(inv.number, round(inv.open_amount * (0.2 + random())::numeric, 2), d, 'transfer');
			END IF;
		WHEN 2 THEN
			IF inv.amount > 0 AND inv.open_amount > 0 THEN
				PERFORM ar.record_payment(inv.number, inv.open_amount, d, 'transfer');
			END IF;
		WHEN 3 THEN PERFORM ar.write_off_invoice(inv.id, 'random', greatest(d, inv.issue_date));
		WHEN 4 THEN
			SELECT * INTO cn FROM ar.invoice x
			 WHERE x.customer_id = inv.customer_id AND x.currency = inv.currency AND x.open_amount < 0 AND x.id <> inv.id
			 ORDER BY x.id LIMIT 1;
			IF FOUND AND inv.amount > 0 AND inv.open_amount > 0 THEN PERFORM ar.apply_credit_note(cn.id, inv.id, NULL, greatest(d, inv.issue_date, cn.issue_date)); END IF;
		WHEN 5 THEN
			-- the write-offs (and shortfalls) of the invoice reversed
			FOR w IN SELECT x.id FROM ar.allocation x WHERE x.invoice_id = inv.id AND x.method IN ('write_off', 'shortfall')
			           AND NOT EXISTS (SELECT FROM ar.write_off_reversal r WHERE r.allocation_id = x.id) LOOP
				PERFORM ar.reverse_write_off(w, 'random reversal');
			END LOOP;
		WHEN 6 THEN
			-- one payment removed
			SELECT x.id INTO a FROM ar.allocation x WHERE x.invoice_id = inv.id AND x.method = 'transfer' ORDER BY x.id LIMIT 1;
			IF FOUND THEN PERFORM ar.unallocate(a); END IF;
		WHEN 7 THEN
			-- amount corrected (as much as the allocations allow)
			IF inv.cancelled_on IS NULL AND inv.amount > 0 THEN
				UPDATE ar.invoice SET amount = amount + round((random() * 50)::numeric, 1) WHERE id = inv.id;
			END IF;
		WHEN 8 THEN
			-- issue and due dates moved (the allocations' keys move with them)
			UPDATE ar.invoice SET issue_date = issue_date - 20, due_date = due_date + (random() * 20)::int WHERE id = inv.id;
		WHEN 9 THEN
			-- cancellation undone, or moved
			IF inv.cancelled_on IS NOT NULL THEN
				UPDATE ar.invoice SET cancelled_on = CASE WHEN random() < 0.5 THEN NULL ELSE inv.cancelled_on - 30 END
				 WHERE id = inv.id;
			END IF;
		WHEN 10 THEN
			IF NOT EXISTS (SELECT FROM ar.allocation x WHERE x.invoice_id = inv.id)
			   AND NOT EXISTS (SELECT FROM ar.customer_credit k WHERE k.invoice_id = inv.id) THEN
				DELETE FROM ar.invoice WHERE id = inv.id;
			END IF;
		ELSE NULL;
		END CASE;
	END LOOP;
	-- one statement paying many invoices (as ar.reconcile does), one moving
	-- many due dates, one correcting many amounts
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
	SELECT i.company_id, i.id, round(i.open_amount / 2, 2), current_date - (i.id % 30)::integer, 'manual'
	  FROM ar.invoice i WHERE i.open_amount > 1 AND i.number LIKE 'KS%' AND random() < 0.15;
	UPDATE ar.invoice i SET due_date = i.due_date + 3 WHERE i.number LIKE 'KS%' AND random() < 0.1;
	UPDATE ar.invoice i SET amount = i.amount + 1 WHERE i.number LIKE 'KS%' AND i.amount > 0 AND random() < 0.1;
	-- one statement paying invoices but a small shortfall, written off
	-- (method shortfall, as ar.reconcile writes it): write-offs too
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
	SELECT i.company_id, i.id, v.amount, greatest(i.issue_date, current_date - (i.id % 40)::integer), v.method
	  FROM ar.invoice i
	 CROSS JOIN LATERAL (SELECT least(round(i.open_amount * 0.01, 2), 5.00) AS shortfall) s
	 CROSS JOIN LATERAL (VALUES (i.open_amount - s.shortfall, 'transfer'), (s.shortfall, 'shortfall')) v (amount, method)
	 WHERE i.open_amount > 10 AND i.amount > 0 AND i.cancelled_on IS NULL AND i.number LIKE 'KS%' AND random() < 0.08;
END $$;

SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'the KPI summaries equal their recomputation from the ledger');
SELECT ok((SELECT count(*) FROM ar.kpi_summary) = 0 AND (SELECT count(*) FROM ar.kpi_summary_delta) > 0,
	'this transaction''s changes wait in ar.kpi_summary_delta, folded at commit');
SELECT is(pg_temp.compare(0), 0::bigint, 'the random ledger: the summaries give the full computation''s figures');

-- six batches; the changes folded after some of them (as at commit), left
-- pending after the others
SELECT pg_temp.batch(0.11);
SELECT is(pg_temp.compare(1), 0::bigint, 'batch 1 (pending): the same figures');
SELECT ar._kpi_summary_fold();
SELECT ok((SELECT count(*) FROM ar.kpi_summary_delta) = 0 AND (SELECT count(*) FROM ar.kpi_summary) > 0,
	'folded: the changes are in ar.kpi_summary');
SELECT is(pg_temp.compare(2), 0::bigint, 'folded: the same figures');
SELECT pg_temp.batch(0.22);
SELECT is(pg_temp.compare(3), 0::bigint, 'batch 2 (folded and pending): the same figures');
SELECT pg_temp.batch(0.33);
SELECT ar._kpi_summary_fold();
SELECT is(pg_temp.compare(4), 0::bigint, 'batch 3: the same figures');
SELECT pg_temp.batch(0.44);
SELECT ar._kpi_summary_fold();
SELECT pg_temp.batch(0.55);
SELECT is(pg_temp.compare(5), 0::bigint, 'batches 4 and 5: the same figures');
SELECT pg_temp.batch(0.66);
SELECT ar._kpi_summary_fold();
SELECT is(pg_temp.compare(6), 0::bigint, 'batch 6: the same figures');
SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'and the summaries equal their recomputation');

SELECT ok((SELECT count(*) FROM kpi_check WHERE serves) >= 100
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).average_days_to_pay IS NOT NULL) >= 20
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).cei_pct IS NOT NULL) >= 20
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).collection_rate_pct IS NOT NULL) >= 20
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).average_days_past_due IS NOT NULL) >= 20
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).dso_countback IS NOT NULL) >= 20
          AND (SELECT count(*) FROM kpi_check WHERE (full_text::ar.kpi_figures).amount_collected < (full_text::ar.kpi_figures).amount_due) >= 10
          AND (SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id WHERE a.allocated_on < i.issue_date) >= 3
          AND (SELECT count(*) FROM ar.write_off_reversal) >= 3
          AND (SELECT count(*) FROM ar.invoice WHERE last_write_off_on IS NOT NULL AND open_amount = 0) >= 3
          AND (SELECT count(DISTINCT a.invoice_id) FROM ar.allocation a
                WHERE a.method = 'shortfall' AND NOT EXISTS (SELECT FROM ar.write_off_reversal r WHERE r.allocation_id = a.id)) >= 3,
	'the comparisons are not of empty figures: every ratio met, payments before the issue date, write-offs reversed and not, shortfalls');

-- ------------------------------------------------ which path ar.kpis takes
SELECT ar.cancel_invoice(id, pg_temp.latest() + 30)
  FROM ar.invoice WHERE number = (SELECT min(number) FROM ar.invoice i WHERE i.number LIKE 'KSB-%' AND i.cancelled_on IS NULL
                                     AND i.company_id = ar.default_company() AND i.currency = 'EUR' AND i.last_allocated_on IS NULL);
SELECT is(pg_temp.compare(8), 0::bigint, 'an invoice cancelled ahead: the same figures from its cancellation date on');
SELECT ok(ar._kpi_summary_serves(pg_temp.latest()) AND NOT ar._kpi_summary_serves(pg_temp.latest() - 1)
          AND pg_temp.latest() = (SELECT max(cancelled_on) FROM ar.invoice) AND pg_temp.latest() > current_date + 30,
	'the summaries serve from the latest allocation or cancellation on, not the day before (here a future-dated cancellation)');
SELECT is((SELECT k::text FROM ar.kpis(pg_temp.latest(), 90) k),
          (SELECT row(pg_temp.latest(), 90, ar._kpi_company_currency(), f.receivables, f.overdue, f.sales, f.dso_standard,
                      f.dso_countback, f.best_possible_dso, f.average_days_delinquent, f.cei_pct, f.collection_rate_pct,
                      f.share_overdue_pct, f.average_days_to_pay, f.average_days_past_due, f.amount_due, f.amount_collected,
                      (SELECT round(100 * sum(d.paid_within_15_days) / nullif(sum(d.amount_due), 0), 2)
                         FROM ar.dunning_effectiveness(pg_temp.latest(), 90) d))::text
             FROM ar._kpi_figures_full(pg_temp.latest(), 90) f),
	'ar.kpis on that date: the full computation''s row');
SELECT ok(NOT EXISTS (SELECT FROM generate_series(current_date - 400, pg_temp.latest() - 1, '1 day') d
                      WHERE ar._kpi_summary_serves(d::date))
          AND EXISTS (SELECT FROM generate_series(current_date - 400, pg_temp.latest() - 1, '7 days') d
                       WHERE ar._kpi_figures_summary(d::date, 30)::text IS DISTINCT FROM ar._kpi_figures_full(d::date, 30)::text),
	'before it ar.kpis falls back to the full computation (the summaries alone would be wrong there)');
SELECT is((SELECT string_agg(d::text, ', ') FROM generate_series(current_date - 400, pg_temp.latest() + 3, '11 days') d
            WHERE ar._kpi_figures(d::date, 90)::text IS DISTINCT FROM ar._kpi_figures_full(d::date, 90)::text), NULL,
	'ar.kpis'' figures are the full computation''s on every date');
-- the full computation's query as a distributed ledger runs it (its text,
-- the arguments bound, the default company named: doc/scale_out.md,
-- blocker 6): the same figures on every date
SELECT is((SELECT string_agg(d::text, ', ') FROM generate_series(current_date - 400, pg_temp.latest() + 3, '11 days') d
            WHERE ar._kpi_figures_routed(d::date, 90)::text IS DISTINCT FROM ar._kpi_figures_full(d::date, 90)::text), NULL,
	'ar._kpi_figures_routed (the full computation routed to the default company) gives its figures on every date');

-- ------------------------------------------------ the derived columns
SELECT is((SELECT count(*) FROM ar.invoice i
            LEFT JOIN (SELECT a.invoice_id, max(a.allocated_on) AS l, max(a.allocated_on) FILTER (WHERE a.method IN ('write_off', 'shortfall')) AS w
                         FROM ar.allocation a GROUP BY a.invoice_id) a ON a.invoice_id = i.id
            WHERE (i.last_allocated_on, i.last_write_off_on) IS DISTINCT FROM (a.l, a.w)), 0::bigint,
	'last_allocated_on and last_write_off_on are the dates of the latest allocation and write-off (a shortfall is one)');
SELECT throws_ok($$UPDATE ar.invoice SET last_allocated_on = current_date WHERE id = (SELECT min(id) FROM ar.invoice)$$,
	'42501', 'column invoice.last_allocated_on is maintained by ar_collect', 'nobody sets them directly');

-- ------------------------------------------------ bypassed triggers show
CREATE ROLE ks_admin IN ROLE ar_admin;
SET LOCAL ROLE ks_admin;
SELECT throws_ok($$INSERT INTO ar.kpi_summary VALUES (ar.default_company(), 'EUR', 'invoice', current_date, current_date, true, 2, 1, 1, 1, 0)$$,
	'42501', NULL, 'no role writes the KPI summaries but their triggers');
RESET ROLE;
ALTER TABLE ar.allocation DISABLE TRIGGER allocation_kpi_summary_insert;
DO $$ BEGIN
	PERFORM ar.record_payment(number, open_amount, current_date - 3, 'transfer')
	   FROM ar.invoice WHERE open_amount > 0 AND company_id = ar.default_company() ORDER BY id LIMIT 3;
END $$;
ALTER TABLE ar.allocation ENABLE TRIGGER allocation_kpi_summary_insert;
SELECT ok((SELECT count(*) FROM ar.check_summaries() WHERE summary LIKE 'kpi_summary%') > 0,
	'without the allocation trigger, ar.check_summaries() tells');
SELECT ok(ar.rebuild_summaries() > 0, 'ar.rebuild_summaries() recomputes them');
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0 AND NOT EXISTS (SELECT FROM ar.kpi_summary_delta)
          AND pg_temp.compare(7) = 0,
	'and puts them right');

SELECT * FROM finish();
ROLLBACK;
