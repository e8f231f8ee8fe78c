-- Late-payment penalties: the C engine against an independent day-by-day
-- recomputation in SQL (random amounts, dates and regimes; random invoices
-- with partial payments and credit notes), half-year boundaries, leap
-- years, the shipped rate histories against the official series of the
-- shared test data, errors and their SQLSTATEs, the rule cache, grants.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(71);

-- ------------------------------------------------- the independent oracle
-- Written from the "Penalty rules" of doc/contract.md, not from ar.penalty_regime:
-- the rate of a series on a day straight from ar.reference_rate (a row of
-- the user's before a shipped one), then each regime's rule by its name.
CREATE FUNCTION pg_temp.series_at(s text, d date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT r.rate FROM ar.reference_rate r
	 WHERE r.series = s AND r.effective_from <= d
	 ORDER BY r.effective_from DESC, r.shipped LIMIT 1
$$;
CREATE FUNCTION pg_temp.half_start(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
	SELECT make_date(extract(year FROM d)::int, CASE WHEN extract(month FROM d) <= 6 THEN 1 ELSE 7 END, 1)
$$;
CREATE FUNCTION pg_temp.oracle_rate(regime text, d date, first_late date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT CASE regime
		WHEN 'FR_LME' THEN pg_temp.series_at('ECB_MRO', pg_temp.half_start(d)) + 10
		WHEN 'EU_2011_7' THEN pg_temp.series_at('ECB_MRO', pg_temp.half_start(d)) + 8
		WHEN 'DE_B2B' THEN pg_temp.series_at('DE_BASISZINSSATZ', d) + 9
		WHEN 'DE_B2C' THEN pg_temp.series_at('DE_BASISZINSSATZ', d) + 5
		WHEN 'UK_LPA' THEN pg_temp.series_at('UK_BANK_RATE', pg_temp.half_start(first_late) - 1) + 8
		WHEN 'FR_PUBLIC' THEN pg_temp.series_at('ECB_MRO', pg_temp.half_start(first_late)) + 8
	END
$$;
CREATE FUNCTION pg_temp.oracle_fee(regime text, debt numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN regime = 'DE_B2C' THEN 0
		WHEN regime = 'UK_LPA' AND debt < 1000 THEN 40
		WHEN regime = 'UK_LPA' AND debt < 10000 THEN 70
		WHEN regime = 'UK_LPA' THEN 100
		ELSE 40
	END
$$;

-- 400 random cases; dates where every series is published (2009 - June 2026)
SELECT setseed(0.4242);
CREATE TEMP TABLE late_case ON COMMIT DROP AS
SELECT g, regime, amount, due_date, least(due_date + delay, DATE '2026-06-30') AS paid_on
  FROM (SELECT g,
               (ARRAY['FR_LME', 'EU_2011_7', 'DE_B2B', 'DE_B2C', 'UK_LPA', 'FR_PUBLIC'])[1 + floor(random() * 6)::int] AS regime,
               round((CASE WHEN random() < 0.3 THEN 10 ELSE 1 END * exp(random() * ln(20000)))::numeric, 2) AS amount,
               DATE '2009-01-01' + floor(random() * 6200)::int AS due_date,
               CASE WHEN random() < 0.1 THEN 0 ELSE floor(random() * 500)::int END AS delay
          FROM generate_series(1, 400) g) c;
CREATE TEMP TABLE late_oracle ON COMMIT DROP AS
SELECT c.g, greatest(c.paid_on - c.due_date, 0) AS days_late,
       round(coalesce(sum(c.amount * pg_temp.oracle_rate(c.regime, d::date, c.due_date + 1) / 100 / 365)
	                      FILTER (WHERE d IS NOT NULL), 0), 2) AS interest,
       CASE WHEN c.paid_on > c.due_date THEN pg_temp.oracle_fee(c.regime, c.amount) ELSE 0 END AS fixed_fee
  FROM late_case c
  LEFT JOIN generate_series(c.due_date + 1, c.paid_on, interval '1 day') d ON true
 GROUP BY c.g, c.regime, c.amount, c.due_date, c.paid_on;

SELECT cmp_ok((SELECT count(DISTINCT regime) FROM late_case), '=', 6::bigint, 'the random cases cover every regime');
SELECT cmp_ok((SELECT count(*) FROM late_case WHERE paid_on - due_date > 184), '>', 50::bigint,
              'many random delays cross a half-year boundary');
SELECT is_empty($$
	SELECT c.*, o.days_late, o.interest, o.fixed_fee, p.*
	  FROM late_case c JOIN late_oracle o USING (g), ar.late_penalty(c.amount, c.due_date, c.paid_on, c.regime) p
	 WHERE (p.days_late, p.interest, p.fixed_fee, p.total) IS DISTINCT FROM
	       (o.days_late, o.interest, o.fixed_fee, o.interest + o.fixed_fee)
$$, 'ar.late_penalty agrees with the day-by-day recomputation on 400 random cases');
SELECT is_empty($$
	SELECT c.g FROM late_case c, LATERAL (SELECT sum(s.interest) AS interest, sum(s.days) AS days
	                                        FROM ar.penalty_schedule(c.amount, c.due_date, c.paid_on, c.regime) s) s,
	       ar.late_penalty(c.amount, c.due_date, c.paid_on, c.regime) p
	 WHERE c.paid_on > c.due_date AND (s.interest, s.days) IS DISTINCT FROM (p.interest, p.days_late)
$$, 'every schedule''s lines add up to the interest rounded once and to the late days');
SELECT is_empty($$
	SELECT c.g FROM late_case c, ar.penalty_schedule(c.amount, c.due_date, c.paid_on, c.regime) s
	 WHERE s.rate <> pg_temp.oracle_rate(c.regime, s.period_start, c.due_date + 1)
	    OR s.rate <> pg_temp.oracle_rate(c.regime, s.period_end, c.due_date + 1)
$$, 'every schedule line has one rate, the right one, from its first to its last day');
SELECT is_empty($$
	SELECT c.g FROM late_case c, ar.penalty_schedule(c.amount, c.due_date, c.paid_on, c.regime) s
	 WHERE abs(s.interest - s.outstanding * s.rate * s.days / 36500) >= 0.01
$$, 'each schedule line is within a cent of its exact share');

-- --------------------------------------- random invoices with partial payments
SELECT setseed(0.1717);
INSERT INTO ar.customer (code, name, penalty_regime)
SELECT 'TP' || g, 'Penalty test ' || g, (ARRAY[NULL, 'FR_LME', 'EU_2011_7', 'DE_B2B', 'DE_B2C', 'FR_PUBLIC'])[1 + g % 6]
  FROM generate_series(1, 12) g;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime)
SELECT c.id, 'TPI-' || g, d - 30, d, round((50 + random() * 20000)::numeric, 2),
       CASE WHEN g % 7 = 0 THEN 'EU_2011_7' END
  FROM generate_series(1, 150) g
  CROSS JOIN LATERAL (SELECT DATE '2015-01-01' + floor(random() * 3700)::int AS d) x
  JOIN ar.customer c ON c.code = 'TP' || (g % 12 + 1);
-- credit notes set against some of them, before and after their due dates
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT i.customer_id, 'TPC-' || i.number, i.due_date + o, i.due_date + o, -round(i.amount * 0.2, 2)
  FROM ar.invoice i CROSS JOIN LATERAL (SELECT floor(random() * 60)::int - 20 AS o) x
 WHERE i.number LIKE 'TPI-%' AND i.id % 5 = 0;
SELECT cmp_ok((SELECT count(*) FROM (SELECT ar.apply_credit_note(n.id, i.id, NULL, n.issue_date)
                                       FROM ar.invoice n JOIN ar.invoice i ON n.number = 'TPC-' || i.number) s),
              '>', 10::bigint, 'credit notes are set against some invoices, before and after their due dates');
-- 1 to 4 payments each, from 20 days before to 300 days after the due date;
-- some on the due date itself
DO $$
DECLARE
	inv record;
	k integer;
	pay_on date;
BEGIN
	FOR inv IN SELECT * FROM ar.invoice WHERE number LIKE 'TPI-%' ORDER BY id LOOP
		FOR k IN 1..1 + floor(random() * 4)::int LOOP
			pay_on := CASE WHEN random() < 0.15 THEN inv.due_date
			               ELSE inv.due_date - 20 + floor(random() * 320)::int END;
			PERFORM ar.record_payment(inv.number, round((random() * inv.amount * 0.6)::numeric + 0.01, 2), pay_on);
		END LOOP;
	END LOOP;
END $$;
CREATE TEMP TABLE inv_case ON COMMIT DROP AS
SELECT i.id, i.amount, i.due_date, b.regime, i.due_date + k AS as_of
  FROM ar.invoice i JOIN ar._penalty_basis b ON b.invoice_id = i.id,
       LATERAL (SELECT (ARRAY[-5, 0, 1, 40, 150, 400])[1 + floor(random() * 6)::int] AS k) x
 WHERE i.number LIKE 'TPI-%';
-- late days: from due + 1 to the day the allocations covered the amount, or
-- to as_of; outstanding(d) = amount less the allocations dated before d
CREATE TEMP TABLE inv_oracle ON COMMIT DROP AS
SELECT c.id, greatest(e.end_on - c.due_date, 0) AS days_late,
       round(coalesce((SELECT sum((c.amount - coalesce((SELECT sum(a.amount) FROM ar.allocation a
	                                                      WHERE a.invoice_id = c.id AND a.allocated_on < d::date), 0))
	                              * pg_temp.oracle_rate(c.regime, d::date, c.due_date + 1) / 100 / 365)
	                     FROM generate_series(c.due_date + 1, e.end_on, interval '1 day') d), 0), 2) AS interest,
       CASE WHEN e.end_on > c.due_date THEN pg_temp.oracle_fee(c.regime, c.amount) ELSE 0 END AS fixed_fee
  FROM inv_case c,
       LATERAL (SELECT least(c.as_of, (SELECT min(a.allocated_on) FROM ar.allocation a
	                                    WHERE a.invoice_id = c.id
	                                      AND (SELECT sum(b.amount) FROM ar.allocation b
	                                            WHERE b.invoice_id = c.id AND b.allocated_on <= a.allocated_on) >= c.amount))
	                AS end_on) e;
SELECT cmp_ok((SELECT count(*) FROM ar.invoice i WHERE i.number LIKE 'TPI-%' AND i.open_amount = 0), '>', 20::bigint,
              'some random invoices are fully paid');
SELECT cmp_ok((SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                WHERE i.number LIKE 'TPI-%' AND a.allocated_on <= i.due_date), '>', 20::bigint,
              'some payments came on or before the due date');
SELECT cmp_ok((SELECT count(*) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                WHERE i.number LIKE 'TPI-%' AND a.method = 'credit_note'), '>', 10::bigint,
              'credit notes reduce some of them');
SELECT is_empty($$
	SELECT c.*, o.*, p.* FROM inv_case c JOIN inv_oracle o USING (id), ar.invoice_penalty(c.id, c.as_of) p
	 WHERE (p.days_late, p.interest, p.fixed_fee, p.total) IS DISTINCT FROM
	       (o.days_late, o.interest, o.fixed_fee, o.interest + o.fixed_fee)
$$, 'ar.invoice_penalty agrees with the day-by-day recomputation on 150 random invoices with payments and credit notes');
SELECT is_empty($$
	SELECT c.id FROM inv_case c, LATERAL (SELECT sum(s.interest) AS interest FROM ar.penalty_schedule(c.id, c.as_of) s) s,
	       ar.invoice_penalty(c.id, c.as_of) p
	 WHERE p.days_late > 0 AND s.interest IS DISTINCT FROM p.interest
$$, 'every invoice schedule adds up to its interest');
SELECT is_empty($$
	SELECT i.id FROM ar.invoice i JOIN ar._penalty_basis b ON b.invoice_id = i.id,
	       ar.invoice_penalty(i.id, DATE '2026-06-30') p, ar.late_penalty(i.amount, i.due_date, DATE '2026-06-30', b.regime) q
	 WHERE i.number LIKE 'TPI-%' AND NOT EXISTS (SELECT 1 FROM ar.allocation a WHERE a.invoice_id = i.id)
	   AND p IS DISTINCT FROM q
$$, 'an invoice without payments is charged as ar.late_penalty charges its amount');
SELECT is_empty($$
	SELECT c.invoice_id FROM ar.penalty_claims_on('2026-06-30') c JOIN ar.invoice i ON i.id = c.invoice_id,
	       ar.invoice_penalty(i.id, '2026-06-30') p
	 WHERE i.number LIKE 'TPI-%' AND ((c.days_late, c.interest, c.fixed_fee, c.total) IS DISTINCT FROM
	                                  (p.days_late, p.interest, p.fixed_fee, p.total)
	                                  OR c.status <> CASE WHEN i.open_amount = 0 THEN 'open' ELSE 'accruing' END)
$$, 'the claims report the same penalties, accruing while open and open once paid');
SELECT is((SELECT count(*) FROM ar.penalty_claims_on('2026-06-30') c JOIN ar.invoice i ON i.id = c.invoice_id
            WHERE i.number LIKE 'TPI-%'),
          (SELECT count(*) FROM ar.invoice i, ar.invoice_penalty(i.id, '2026-06-30') p
            WHERE i.number LIKE 'TPI-%' AND p.days_late > 0),
          'every invoice with a late day has a claim');

-- ---------------------------------------------------------- half-years
-- every half-year boundary since 1999: the last day of a half-year has its
-- rate, the first of the next one the new one
SELECT is_empty($$
	SELECT h FROM generate_series(DATE '1999-07-01', DATE '2026-01-01', interval '6 months') h,
	       LATERAL (SELECT array_agg(s.rate ORDER BY s.line) AS rates FROM ar.penalty_schedule(36500, h::date - 2, h::date) s) s
	     , LATERAL (SELECT pg_temp.series_at('ECB_MRO', pg_temp.half_start(h::date - 1)) + 10 AS before,
	                       pg_temp.series_at('ECB_MRO', h::date) + 10 AS after) x
	 WHERE s.rates IS DISTINCT FROM ARRAY[x.before, x.after]
$$, 'FR_LME takes a new rate exactly on every 1 January and 1 July since 1999 (a schedule line per half-year)');
SELECT is_empty($$
	SELECT h FROM generate_series(DATE '2009-01-01', DATE '2026-01-01', interval '6 months') h
	 WHERE ar.penalty_rate('UK_LPA', h::date + 100, h::date) <> pg_temp.series_at('UK_BANK_RATE', h::date - 1) + 8
	    OR ar.penalty_rate('UK_LPA', h::date + 100, h::date - 1)
	       <> pg_temp.series_at('UK_BANK_RATE', (h - interval '6 months')::date - 1) + 8
$$, 'UK_LPA takes Bank Rate of the 31 December / 30 June before the first late day, for the whole delay');
SELECT is_empty($$
	SELECT y FROM generate_series(2000, 2025) y,
	       ar.late_penalty(1000, make_date(y, 2, 28), make_date(y, 3, 1)) p
	 WHERE p.days_late <> CASE WHEN y % 4 = 0 THEN 2 ELSE 1 END
$$, '29 February is a late day in leap years only');
SELECT is((ar.late_penalty(36500, '2023-12-31', '2024-12-31')).interest, 14.50 * 182 + 14.25 * 184,
          'a leap year has 366 late days, each at rate / 365');

-- §247 BGB: since 2009 the Basiszinssatz is the ECB rate before the half-year - 0.88
SELECT is_empty($$
	SELECT h FROM generate_series(DATE '2009-01-01', DATE '2026-01-01', interval '6 months') h
	 WHERE ar.reference_rate_at('DE_BASISZINSSATZ', h::date) <> ar.reference_rate_at('ECB_MRO', h::date - 1) - 0.88
$$, 'the shipped Basiszinssatz follows BGB 247 from the shipped ECB rates');

-- ------------------------------------------------ official series (shared data)
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.data_dir() RETURNS text
LANGUAGE sql AS $$
	SELECT nullif(current_setting('ar_collect_test.shared_data', true), '') || '/rates'
$$;
CREATE FUNCTION pg_temp.have_data() RETURNS boolean
LANGUAGE sql AS $$
	SELECT pg_temp.data_dir() IS NOT NULL
	   AND (SELECT bool_and((pg_stat_file(pg_temp.data_dir() || '/' || f, true)).size IS NOT NULL)
	          FROM unnest(ARRAY['ecb_key_rates.csv', 'de_basiszinssatz.csv', 'fr_taux_interet_legal.csv',
	                            'fr_lme_penalty_rate_derived.csv', 'uk_bank_rate.csv',
	                            'uk_statutory_interest_by_half_year_derived.csv']) f)
$$;
-- the first fields of each line (none of them is quoted)
CREATE TEMP TABLE csv (file text, n integer, f1 text, f2 text, f3 text, f4 text, f5 text) ON COMMIT DROP;
DO $$
BEGIN
	IF pg_temp.have_data() THEN
		INSERT INTO csv
		SELECT f, l.n, split_part(l.line, ',', 1), split_part(l.line, ',', 2), split_part(l.line, ',', 3),
		       split_part(l.line, ',', 4), split_part(l.line, ',', 5)
		  FROM unnest(ARRAY['ecb_key_rates.csv', 'de_basiszinssatz.csv', 'fr_taux_interet_legal.csv',
		                    'fr_lme_penalty_rate_derived.csv', 'uk_bank_rate.csv',
		                    'uk_statutory_interest_by_half_year_derived.csv']) f,
		       regexp_split_to_table(pg_read_file(pg_temp.data_dir() || '/' || f), E'\r?\n') WITH ORDINALITY l(line, n)
		 WHERE l.n > 1 AND btrim(l.line) <> '';
	END IF;
END $$;
-- the ECB MRO rate (fixed or minimum bid) in force on a day, from the CSV
CREATE FUNCTION pg_temp.csv_ecb(d date) RETURNS numeric
LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(f3, ''), f4)::numeric FROM csv
	 WHERE file = 'ecb_key_rates.csv' AND f1::date <= d AND coalesce(nullif(f3, ''), nullif(f4, '')) IS NOT NULL
	 ORDER BY f1::date DESC LIMIT 1
$$;
SELECT CASE WHEN pg_temp.have_data() THEN collect_tap(
	cmp_ok((SELECT count(*) FROM csv WHERE file = 'ecb_key_rates.csv'), '>', 50::bigint, 'ecb_key_rates.csv is read'),
	is_empty($$ SELECT h FROM generate_series(DATE '1999-01-01', DATE '2026-01-01', interval '6 months') h
	             WHERE ar.reference_rate_at('ECB_MRO', h::date) <> pg_temp.csv_ecb(h::date) $$,
	         'the ECB rate on every 1 January and 1 July is the official one'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'ecb_key_rates.csv' AND f1 >= '2004'
	               AND coalesce(nullif(f3, ''), nullif(f4, '')) IS NOT NULL
	               AND ar.reference_rate_at('ECB_MRO', f1::date) <> coalesce(nullif(f3, ''), f4)::numeric $$,
	         'every ECB change since 2004 applies from its official date'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'fr_lme_penalty_rate_derived.csv'
	               AND (ar.penalty_rate('FR_LME', make_date(left(f1, 4)::int, CASE WHEN f1 LIKE '%S1' THEN 1 ELSE 7 END, 1)) <> f3::numeric
	                    OR ar.penalty_rate('FR_LME', make_date(left(f1, 4)::int, CASE WHEN f1 LIKE '%S1' THEN 6 ELSE 12 END, 30)) <> f3::numeric) $$,
	         'FR_LME rate of every half-year 2015-2026 as the derived table (ECB + 10)'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'fr_lme_penalty_rate_derived.csv'
	               AND ar.penalty_rate_floor('CONTRACT', make_date(left(f1, 4)::int, CASE WHEN f1 LIKE '%S1' THEN 3 ELSE 9 END, 15)) <> f4::numeric $$,
	         'lowest lawful contractual rate of every half-year 2015-2026 (3 x legal rate) as the derived table'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'fr_taux_interet_legal.csv'
	               AND (ar.reference_rate_at('FR_LEGAL_PRIVATE', f2::date) <> f4::numeric
	                    OR ar.reference_rate_at('FR_LEGAL_PRO', f3::date) <> f5::numeric) $$,
	         'French legal interest rates of both kinds, every half-year since 2015'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'de_basiszinssatz.csv' AND f4 <> 'unverified'
	               AND ar.reference_rate_at('DE_BASISZINSSATZ', f1::date) <> f2::numeric $$,
	         'every published or derived Basiszinssatz'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'de_basiszinssatz.csv' AND f4 = 'unverified'
	               AND pg_temp.sqlstate(format('SELECT ar.reference_rate_at(%L, %L)', 'DE_BASISZINSSATZ', f1)) IS DISTINCT FROM 'P0002' $$,
	         'no unverified Basiszinssatz is ever used'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'uk_bank_rate.csv' AND f3 = 'published'
	               AND ar.reference_rate_at('UK_BANK_RATE', f1::date) <> f2::numeric $$,
	         'every published Bank Rate change'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'uk_bank_rate.csv' AND f3 <> 'published'
	               AND pg_temp.sqlstate(format('SELECT ar.reference_rate_at(%L, %L)', 'UK_BANK_RATE', f1)) IS DISTINCT FROM 'P0002' $$,
	         'no unverified or unconfirmed Bank Rate day is ever used'),
	is_empty($$ SELECT f1 FROM csv WHERE file = 'uk_statutory_interest_by_half_year_derived.csv'
	               AND ar.penalty_rate('UK_LPA', f2::date + 1) <> f4::numeric $$,
	         'UK statutory rate of every half-year 2023-2026 as the derived table (Bank Rate + 8)')
) ELSE skip('shared test data not found at '
            || coalesce(pg_temp.data_dir(), '(ar_collect_test.shared_data is not set)'), 11)
END;

-- ------------------------------------------------------- errors (SQLSTATEs)
SELECT throws_ok($$SELECT ar.late_penalty(-1, '2025-01-01', '2025-02-01')$$, '22023', NULL, 'a negative amount is refused');
SELECT throws_ok($$SELECT ar.late_penalty(NULL, '2025-01-01', '2025-02-01')$$, '22004', NULL, 'a NULL amount is refused');
SELECT throws_ok($$SELECT ar.late_penalty(1, NULL, '2025-02-01')$$, '22004', NULL, 'a NULL due date is refused');
SELECT throws_ok($$SELECT ar.late_penalty(1, '2025-01-01', '2025-02-01', 'NOPE')$$, '22023',
                 'unknown penalty regime "NOPE"', 'an unknown regime is refused');
SELECT throws_ok($$SELECT ar.late_penalty(1, '2026-05-01', '2026-08-01')$$, 'P0002',
                 'no known rate for series ECB_MRO on 2026-07-01', 'a day with no known rate is an error naming the series and the date');
SELECT throws_ok($$SELECT ar.late_penalty(1, '2026-05-01', '2026-08-01', 'CONTRACT', 20)$$, 'P0002',
                 'no known rate for series FR_LEGAL_PRO on 2026-07-01', 'a contractual rate whose floor is unknown is not used');
SELECT throws_ok($$SELECT ar.late_penalty(1, '2023-12-01', '2024-02-01', 'CONTRACT', 14)$$, '22023',
                 'penalty rate 14.00 is below the lawful minimum of 15.21 on 2024-01-01',
                 'a contractual rate lawful in 2023-S2 (3 x 4.22) is refused from 1 January 2024 (3 x 5.07)');
SELECT throws_ok($$SELECT ar.late_penalty(1, '2024-07-15', '2024-08-01', 'CONTRACT', 14.75)$$, '22023',
                 'penalty rate 14.75 is below the lawful minimum of 14.76 on 2024-07-16',
                 'bpifrance-creation.fr: in H2 2024 the minimum is 3 x 4.92 = 14.76 %');
SELECT lives_ok($$SELECT ar.late_penalty(1, '2024-05-01', '2024-08-01', 'CONTRACT', 15.21)$$,
                'a contractual rate of 3 x the legal rate is lawful');
SELECT throws_ok($$SELECT ar._penalty_compute('FR_LME', 100, '2025-01-01', '2025-03-01', ARRAY['2025-02-01'::date], ARRAY[1, 2]::numeric[], NULL, NULL, true)$$,
                 '2202E', NULL, 'payment arrays of different lengths are refused');
SELECT throws_ok($$SELECT ar._penalty_compute('FR_LME', 100, '2025-01-01', '2025-03-01', ARRAY['2025-02-01'::date], ARRAY[-1]::numeric[], NULL, NULL, true)$$,
                 '22023', NULL, 'a negative payment is refused');
SELECT is((SELECT problem FROM ar._penalty_compute('FR_LME', 100, '2026-05-01', '2026-08-01', NULL, NULL, NULL, NULL, false)),
          'no known rate for series ECB_MRO on 2026-07-01', 'reports get the problem as text instead of a zero');
SELECT is((SELECT (interest, total) IS NULL FROM ar._penalty_compute('FR_LME', 100, '2026-05-01', '2026-08-01', NULL, NULL, NULL, NULL, false)),
          true, '... and NULL amounts');

-- ------------------------------------------------------- rules are data
-- the cache of the rules follows changes in the same transaction
SELECT is(ar.penalty_rate('FR_LME', '2024-03-01'), 14.50, 'FR_LME in H1 2024: 4.50 + 10');
INSERT INTO ar.reference_rate (series, effective_from, rate, source) VALUES ('ECB_MRO', '2023-09-20', 5.00, 'test override');
SELECT is(ar.penalty_rate('FR_LME', '2024-03-01'), 15.00, 'a row of the user''s replaces the shipped one at once');
DELETE FROM ar.reference_rate WHERE series = 'ECB_MRO' AND NOT shipped;
SELECT is(ar.penalty_rate('FR_LME', '2024-03-01'), 14.50, 'and its deletion restores it');
INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, rate_series, rate_date, margin, day_basis)
VALUES ('T_360', 'test: ECB + 5 on 360 days', 'none', 'FR', 'EUR', 'ECB_MRO', 'half_year_start', 5, 360);
INSERT INTO ar.penalty_regime_fee (regime, currency, fee) VALUES ('T_360', 'EUR', 15), ('T_360', 'CHF', 14);
SELECT is(ar.late_penalty(36000, '2024-02-29', '2024-03-01', 'T_360'), ROW(1, 9.50, 15.00, 24.50)::ar.penalty,
          'a new regime is a new row: day basis, margin and fee from the table');
SAVEPOINT before_rollback;
UPDATE ar.penalty_regime SET margin = 6 WHERE regime = 'T_360';
SELECT is((ar.late_penalty(36000, '2024-02-29', '2024-03-01', 'T_360')).interest, 10.50, 'a changed regime applies at once');
ROLLBACK TO SAVEPOINT before_rollback;
SELECT is((ar.late_penalty(36000, '2024-02-29', '2024-03-01', 'T_360')).interest, 9.50, 'a rolled-back change is forgotten');
INSERT INTO ar.customer (code, name, penalty_regime) VALUES ('TCHF', 'Swiss customer', 'T_360');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'TCHF-1', '2024-01-01', '2024-02-29', 36000, 'CHF' FROM ar.customer WHERE code = 'TCHF';
SELECT is((SELECT fixed_fee FROM ar.invoice i, ar.invoice_penalty(i.id, '2024-03-01') WHERE i.number = 'TCHF-1'), 14.00,
          'the fee is taken in the invoice''s currency');

-- --------------------------------------------------------- parallel plans
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE TABLE public.penalty_par_case AS SELECT * FROM late_case, generate_series(1, 20) k;  -- rolled back
ANALYZE public.penalty_par_case;
SELECT is((SELECT sum((ar.late_penalty(amount, due_date, paid_on, regime)).total) FROM public.penalty_par_case),
          (SELECT 20 * sum(interest + fixed_fee) FROM late_oracle), 'ar.late_penalty gives the same sums in a parallel plan');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- -------------------------------------------------- documentation, dump, grants
SELECT is_empty($$
	SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
	 WHERE c.relnamespace = 'ar'::regnamespace AND c.relname IN ('penalty_claims', 'payment_term_violations', '_penalty_basis')
	   AND a.attnum > 0 AND col_description(c.oid, a.attnum) IS NULL
$$, 'every column of the penalty views has a comment');
SELECT ok((SELECT array_agg(c::regclass::text) FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'ar_collect')
          @> ARRAY['ar.rate_series', 'ar.reference_rate', 'ar.penalty_regime', 'ar.penalty_regime_fee', 'ar.penalty_claim'],
          'pg_dump keeps the rules and claims of the user''s');
SELECT is((SELECT extcondition[array_position(extconfig, 'ar.reference_rate'::regclass)] FROM pg_extension WHERE extname = 'ar_collect'),
          'WHERE NOT shipped', '... but not the shipped rows');
SET LOCAL ROLE ar_reader;
SELECT lives_ok($$SELECT * FROM ar.penalty_claims_on('2025-06-30')$$, 'a reader reads penalty claims');
SELECT lives_ok($$SELECT * FROM ar.payment_term_violations$$, 'a reader reads payment-term violations');
SELECT lives_ok($$SELECT * FROM ar.d441_report('2025-12-31', 1000000)$$, 'a reader runs the D441-6 report');
SELECT throws_ok($$SELECT ar.bill_penalty((SELECT id FROM ar.invoice WHERE number = 'TPI-1'))$$, '42501', NULL,
                 'a reader cannot bill penalties');
RESET ROLE;
SET LOCAL ROLE ar_collector;
SELECT throws_ok($$SELECT ar.write_off_penalty((SELECT id FROM ar.invoice WHERE number = 'TPI-1'), 'x')$$, '42501', NULL,
                 'a collector cannot write penalties off');
SELECT throws_ok($$UPDATE ar.penalty_claim SET reason = 'x'$$, '42501', NULL, 'a collector cannot edit decisions');
RESET ROLE;
SET LOCAL ROLE ar_admin;
SELECT lives_ok($$INSERT INTO ar.reference_rate (series, effective_from, rate, source, status)
                  VALUES ('ECB_MRO', '2026-07-01', 2.15, 'admin: provisional', 'provisional')$$,
                'an admin extends a rate history');
RESET ROLE;
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT is((SELECT role FROM ar.audit_log WHERE table_name = 'reference_rate' ORDER BY id DESC LIMIT 1), 'ar_admin',
          'changes of the rules are audited');

-- ------------------------- the guard on another relation: a Citus shard
-- (issue 14: Citus copies the rows of a reference table into its shards,
-- ar.penalty_regime_102008, with the table's triggers; doc/scale_out.md).
-- A relation of that shape with the guard: the copy of a superuser or of
-- the extension's owner goes through, any other role is refused as on the
-- table, whatever it sets
CREATE TABLE ar.penalty_regime_990001 (LIKE ar.penalty_regime);
CREATE TRIGGER penalty_regime_shipped_guard BEFORE INSERT OR UPDATE OR DELETE ON ar.penalty_regime_990001
	FOR EACH ROW EXECUTE FUNCTION ar._penalty_shipped_guard();
GRANT INSERT, UPDATE, DELETE, SELECT ON ar.penalty_regime_990001 TO ar_admin;
SELECT lives_ok($$INSERT INTO ar.penalty_regime_990001 SELECT * FROM ar.penalty_regime WHERE shipped$$,
	'a superuser copies the shipped regimes into a shard of the table');
SELECT is((SELECT count(*) FROM ar.penalty_regime_990001), (SELECT count(*) FROM ar.penalty_regime WHERE shipped),
	'every shipped regime copied');
SET LOCAL ROLE ar_admin;
SET LOCAL application_name = 'citus_internal gpid=10000000001';
SET LOCAL search_path = pg_temp, public;
SELECT throws_ok($$INSERT INTO ar.penalty_regime_990001 SELECT * FROM ar.penalty_regime WHERE shipped LIMIT 1$$, '42501',
	'rows of ar.penalty_regime_990001 with shipped = true come with ar_collect only',
	'ar_admin writing shipped rows into the shard: refused, even as a Citus internal application_name');
SELECT throws_like($$UPDATE ar.penalty_regime_990001 SET name = 'mine' WHERE regime = 'FR_LME'$$,
	'this row of ar.penalty_regime_990001 is shipped with ar_collect and cannot be changed',
	'ar_admin changing a shipped row of the shard: refused');
SELECT throws_like($$DELETE FROM ar.penalty_regime_990001 WHERE regime = 'FR_LME'$$,
	'this row of ar.penalty_regime_990001 is shipped with ar_collect and cannot be changed',
	'ar_admin deleting a shipped row of the shard: refused');
RESET search_path;
RESET application_name;
RESET ROLE;
SELECT throws_ok($$INSERT INTO ar.penalty_regime SELECT (r).* FROM (SELECT r FROM ar.penalty_regime_990001 r LIMIT 1) x$$, '42501',
	NULL, 'on the table itself the guard refuses the superuser too');
DROP TABLE ar.penalty_regime_990001;

-- the penalty invoice of an invoice whose number is as long as numbers may
-- be (64 characters): PEN-<number> would not fit, so it is cut and ends with
-- the invoice's id (unique); a number of 60 characters still fits whole
INSERT INTO ar.customer (code, name) VALUES ('TP-LONG', 'Long numbers SA');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, n, '2025-01-02', '2025-01-31', 1000 FROM ar.customer c, (VALUES (repeat('L', 64)), (repeat('M', 60))) v (n)
 WHERE c.code = 'TP-LONG';
SELECT ar.record_payment(n, 1000, '2025-03-17') FROM (VALUES (repeat('L', 64)), (repeat('M', 60))) v (n);
CREATE TEMP TABLE long_billed AS
SELECT i.id, i.number, ar.bill_penalty(i.id, '2025-03-20') AS penalty_id
  FROM ar.invoice i WHERE i.number IN (repeat('L', 64), repeat('M', 60));
SELECT is((SELECT p.number FROM long_billed b JOIN ar.invoice p ON p.id = b.penalty_id WHERE b.number = repeat('L', 64)),
          (SELECT 'PEN-' || repeat('L', 59 - length(b.id::text)) || '-' || b.id FROM long_billed b WHERE b.number = repeat('L', 64)),
          'a 64-character invoice number: its penalty invoice is numbered PEN-, the number cut, and its id (64 characters)');
SELECT is((SELECT p.number FROM long_billed b JOIN ar.invoice p ON p.id = b.penalty_id WHERE b.number = repeat('M', 60)),
          'PEN-' || repeat('M', 60), 'a 60-character invoice number: its penalty invoice is PEN-<number>, whole');

SELECT * FROM finish();
ROLLBACK;
