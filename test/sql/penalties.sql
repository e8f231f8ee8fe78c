-- Late-payment penalties: worked examples from official and professional
-- sources, every regime, semester and half-year boundaries, rate changes
-- inside a delay, leap years, rounding, partial payments and credit notes,
-- claims, payment-terms compliance and the D441-6 report.
-- Customers of this file have codes starting with 'P-', invoices 'P-...'.
SET datestyle = ISO, YMD;

-- ------------------------------------------------------------ shipped data
SELECT series, count(*) AS rows, min(effective_from) AS first, max(coalesce(confirmed_through, effective_from)) AS known_through,
       count(*) FILTER (WHERE status = 'unverified') AS unverified
  FROM ar.reference_rate GROUP BY series ORDER BY series;
SELECT r.regime, r.rate_series, r.rate_date, r.rate_fixed, r.margin, r.day_basis, r.rounding_scale, r.rounding_mode,
       r.floor_series, r.floor_multiplier,
       (SELECT string_agg(format('%s %s from %s', f.fee, f.currency, f.min_amount), ', ' ORDER BY f.currency, f.min_amount)
          FROM ar.penalty_regime_fee f WHERE f.regime = r.regime) AS fees
  FROM ar.penalty_regime r ORDER BY r.regime;

-- ------------------------------------------------- worked examples (France)
-- lexing.law (25 Mar 2014): EUR 10,000, "3 months" late in H1 2014 at ECB
-- 0.25 % + 10 = 10.25 %: published "256 EUR" (3/12 of a year: 256.25); by
-- days, as L441-10 counts them: 90 days 252.74, 91 days 255.55, 92 days 258.36.
SELECT d.paid_on, p.* FROM (VALUES (DATE '2014-05-01'), ('2014-05-02'), ('2014-05-03')) d(paid_on),
       ar.late_penalty(10000, '2014-01-31', d.paid_on) p;
-- lexing.law: the same at the lowest contractual rate, 3 x 0.04 % = 0.12 %:
-- published "3 EUR" (3/12 of a year: 3.00); by days 2.96; 0.11 % is refused.
SELECT ar.penalty_rate_floor('CONTRACT', '2014-03-01') AS lowest_lawful_rate;
SELECT * FROM ar.late_penalty(10000, '2014-01-31', '2014-05-01', 'CONTRACT', 0.12);
SELECT * FROM ar.late_penalty(10000, '2014-01-31', '2014-05-01', 'CONTRACT', 0.11);
-- bpifrance-creation.fr: H2 2024, ECB 4.25 -> 14.25 %; minimum 3 x 4.92 = 14.76 %.
-- dormane.fr (March 2021): ECB + 10 = 10 %; minimum 3 x 0.79 = 2.37 %.
SELECT ar.penalty_rate('FR_LME', '2024-09-15') AS h2_2024, ar.penalty_rate_floor('CONTRACT', '2024-09-15') AS min_h2_2024,
       ar.penalty_rate('FR_LME', '2021-03-15') AS march_2021, ar.penalty_rate_floor('CONTRACT', '2021-03-15') AS min_march_2021;
-- Check examples of late_payment_rules_and_worked_examples.md (recomputed
-- there with exact decimals): EUR 1,000 45 days late in H2 2025 at 12.15 %
-- -> 14.98 (+ EUR 40); EUR 5,000 due 2024-12-01 paid 2025-02-15: 30 days at
-- 14.25 % = 58.56 + 46 days at 13.15 % = 82.86 -> 141.42 (+ EUR 40).
SELECT * FROM ar.late_penalty(1000, '2025-08-01', '2025-09-15');
SELECT * FROM ar.late_penalty(5000, '2024-12-01', '2025-02-15');
SELECT * FROM ar.penalty_schedule(5000, '2024-12-01', '2025-02-15');

-- ------------------------------------------------ worked examples (Germany)
-- Check example: EUR 10,000 B2B, 30 days in H1 2026 at 1.27 + 9 = 10.27 % -> 84.41 (+ EUR 40).
SELECT * FROM ar.late_penalty(10000, '2026-01-10', '2026-02-09', 'DE_B2B');
-- the same debt with a consumer party: 1.27 + 5 = 6.27 %, no Pauschale (BGB 288(1), 288(5))
SELECT * FROM ar.late_penalty(10000, '2026-01-10', '2026-02-09', 'DE_B2C');

-- ----------------------------------------------------- worked examples (UK)
-- support.paidnice.com: GBP 5,000, 101 days at 12.25 % (Bank Rate 4.25 on
-- 30 June 2025 + 8): published interest 169.68 (the daily amount rounded to
-- 1.68 first), exact 169.49; + GBP 70 (debt from 1,000 to 9,999.99).
SELECT ar.penalty_rate('UK_LPA', '2025-07-02') AS rate, p.* FROM ar.late_penalty(5000, '2025-07-01', '2025-10-10', 'UK_LPA') p;
-- toolfy.io: GBP 2,000, 45 days at 5.25 + 8 = 13.25 %: published 32.66
-- (45/365 rounded to 0.1233), exact 32.67; + GBP 70.
SELECT * FROM ar.late_penalty(2000, '2024-03-01', '2024-04-15', 'UK_LPA');
-- statutory-interest.pages.dev: GBP 1,000 at 8.5 % (Bank Rate 0.5 + 8): GBP
-- 85 a year, about 0.23 a day.
SELECT * FROM ar.late_penalty(1000, '2015-01-01', '2016-01-01', 'UK_LPA');
SELECT * FROM ar.late_penalty(1000, '2015-01-01', '2015-01-02', 'UK_LPA');
-- usewolfx.com: GBP 10,000 at 11.75 % (3.75 on 31 Dec 2025 + 8): about GBP
-- 3.22 a day; + GBP 100 (debt of 10,000 or more).
SELECT * FROM ar.late_penalty(10000, '2026-01-05', '2026-01-06', 'UK_LPA');
-- payontime.co.uk: 1 Jan - 30 Jun 2024, reference 5.25 % -> 13.25 %;
-- debtcollectionservice.uk: 2023-H1 11.5 %.
SELECT ar.penalty_rate('UK_LPA', '2024-03-01') AS h1_2024, ar.penalty_rate('UK_LPA', '2023-03-01') AS h1_2023;
-- fixed sums by size of the debt (s.5A): below 1,000 -> 40; below 10,000 -> 70; else 100
SELECT d.amount, p.fixed_fee FROM (VALUES (999.99), (1000), (9999.99), (10000)) d(amount),
       ar.late_penalty(d.amount, '2024-03-01', '2024-03-02', 'UK_LPA') p;

-- ------------------------------------------------------------ every regime
-- EUR/GBP 10,000 due 31 May 2023, paid 31 Aug 2023 (92 days, across 30 June):
-- FR_LME and EU_2011_7 change rate on 1 July (ECB 2.50 on 1 Jan, 4.00 on
-- 1 Jul), DE_B2B and DE_B2C follow the Basiszinssatz (1.62, then 3.12 from
-- 1 July), UK_LPA and FR_PUBLIC keep the rate of the first late day.
SELECT r.regime, p.* FROM (VALUES ('FR_LME'), ('EU_2011_7'), ('DE_B2B'), ('DE_B2B_2002'), ('DE_B2C'), ('UK_LPA'), ('FR_PUBLIC')) r(regime),
       ar.late_penalty(10000, '2023-05-31', '2023-08-31', r.regime) p
 ORDER BY r.regime;
SELECT * FROM ar.late_penalty(10000, '2023-05-31', '2023-08-31', 'CONTRACT', 15);
SELECT r.regime, s.line, s.period_start, s.period_end, s.days, s.rate, s.interest, s.rate_basis
  FROM (VALUES ('FR_LME'), ('DE_B2B'), ('UK_LPA'), ('FR_PUBLIC')) r(regime),
       ar.penalty_schedule(10000, '2023-05-31', '2023-08-31', r.regime) s
 ORDER BY r.regime, s.line;

-- ------------------------------------------- semester and half-year boundaries
-- FR_LME: the last day of a half-year takes its rate, the next day the new one
SELECT * FROM ar.penalty_schedule(1000, '2024-06-28', '2024-07-02');
SELECT * FROM ar.penalty_schedule(1000, '2024-06-30', '2024-07-02');
-- UK_LPA: Bank Rate on 31 Dec 2022 (3.50) or 30 Jun 2023 (5.00), by the
-- half-year of the first late day, for the whole delay
SELECT d.due, p.rate FROM (VALUES (DATE '2023-06-28'), ('2023-06-29'), ('2023-06-30'), ('2023-07-01')) d(due),
       ar.penalty_schedule(1000, d.due, '2024-02-01', 'UK_LPA') p;
-- FR_PUBLIC: ECB rate on the first day of the half-year in which interest
-- starts (0.00 on 1 Jul 2022, 2.50 on 1 Jan 2023), for the whole delay
SELECT d.due, p.rate, p.rate_basis FROM (VALUES (DATE '2022-12-30'), ('2022-12-31')) d(due),
       ar.penalty_schedule(1000, d.due, '2023-03-01', 'FR_PUBLIC') p;

-- ---------------------------------------------- a rate change inside a delay
-- FR_LME ignores the ECB change of 27 Jul 2022 until the next half-year
SELECT line, period_start, period_end, rate, interest FROM ar.penalty_schedule(2000, '2022-07-15', '2023-02-15');
-- a regime reading the ECB rate in force each day (a new law is a new row)
INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, rate_series, rate_date, margin)
VALUES ('P_ECB_DAILY', 'Test: ECB rate in force each day + 7', 'none (test)', 'FR', 'EUR', 'ECB_MRO', 'day', 7);
SELECT line, period_start, period_end, days, rate, interest, rate_basis FROM ar.penalty_schedule(2000, '2023-07-15', '2023-10-15', 'P_ECB_DAILY');
SELECT * FROM ar.late_penalty(2000, '2023-07-15', '2023-10-15', 'P_ECB_DAILY');  -- no fee rows: no fee
DELETE FROM ar.penalty_regime WHERE regime = 'P_ECB_DAILY';

-- ------------------------------------------------------------- leap years
-- 2024 has 366 late days, each at rate / 365: more than a year's interest
SELECT * FROM ar.late_penalty(1000, '2023-12-31', '2024-12-31');
SELECT * FROM ar.late_penalty(1000, '2022-12-31', '2023-12-31');
-- 29 February is a late day
SELECT 2024 AS year, * FROM ar.late_penalty(36500, '2024-02-28', '2024-03-01')
UNION ALL
SELECT 2023, * FROM ar.late_penalty(36500, '2023-02-28', '2023-03-01');

-- ------------------------------------------------------------ rounding once
-- 18.25 x 10 % / 365 = 0.005 exactly: half away from zero gives 0.01
SELECT * FROM ar.late_penalty(18.25, '2021-03-01', '2021-03-02');
SELECT * FROM ar.late_penalty(18.24, '2021-03-01', '2021-03-02');
INSERT INTO ar.penalty_regime (regime, name, legal_reference, country, currency, rate_series, rate_date, margin,
                               rounding_mode, rounding_scale)
VALUES ('P_EVEN', 'Test: banker''s rounding', 'none (test)', 'FR', 'EUR', 'ECB_MRO', 'half_year_start', 10, 'half_even', 2),
       ('P_TRUNC', 'Test: truncation to 0.1', 'none (test)', 'FR', 'EUR', 'ECB_MRO', 'half_year_start', 10, 'truncate', 1);
SELECT r.regime, p.interest FROM (VALUES ('FR_LME'), ('P_EVEN'), ('P_TRUNC')) r(regime),
       ar.late_penalty(18.25, '2021-03-01', '2021-03-02', r.regime) p ORDER BY 1;
DELETE FROM ar.penalty_regime WHERE regime IN ('P_EVEN', 'P_TRUNC');
-- rounded once over the whole delay, not per period: 0.0034 (30 June at
-- 12.50 %) + 0.0038 (1 July at 14 %) = 0.0073 gives 0.01, where rounding each
-- period would give 0.00; the schedule's lines still add up to it
SELECT * FROM ar.late_penalty(10, '2023-06-29', '2023-07-01');
SELECT line, days, rate, interest FROM ar.penalty_schedule(10, '2023-06-29', '2023-07-01');
-- amounts with more decimals are exact too
SELECT * FROM ar.late_penalty(1234.5678, '2024-12-01', '2025-02-15');

-- --------------------------------------------------------- no late day
SELECT * FROM ar.late_penalty(1000, '2025-03-31', '2025-03-31');
SELECT * FROM ar.late_penalty(1000, '2025-03-31', '2025-03-01');
SELECT * FROM ar.late_penalty(0, '2025-01-31', '2025-03-01');

-- --------------------------------------------------------------- bad input
\set VERBOSITY terse
SELECT * FROM ar.late_penalty(-5, '2024-12-01', '2025-02-15');
SELECT * FROM ar.late_penalty(NULL, '2024-12-01', '2025-02-15');
SELECT * FROM ar.late_penalty(5, NULL, '2025-02-15');
SELECT * FROM ar.late_penalty(5, '2024-12-01', NULL);
SELECT * FROM ar.late_penalty(5, '2024-12-01', '2025-02-15', NULL);
SELECT * FROM ar.late_penalty(5, '2024-12-01', '2025-02-15', 'FR_LMEX');
SELECT * FROM ar.late_penalty('NaN', '2024-12-01', '2025-02-15');
SELECT * FROM ar.late_penalty(5, '-infinity', '2025-02-15');
SELECT * FROM ar.late_penalty(5, '2024-12-01', 'infinity');
SELECT * FROM ar.late_penalty(5, '2024-12-01', '2025-02-15', 'CONTRACT');
SELECT * FROM ar.late_penalty(5, '2024-12-01', '2025-02-15', 'CONTRACT', -1);
SELECT * FROM ar.late_penalty(1e30, '2024-12-01', '2025-02-15');
\set VERBOSITY default
-- a day with no known rate is an error naming the series and the date
SELECT * FROM ar.late_penalty(1000, '2026-06-20', '2026-07-10');
SELECT * FROM ar.late_penalty(1000, '1998-12-20', '1999-01-10');
-- shipped but unverified rates are never used
SELECT * FROM ar.late_penalty(1000, '2007-06-20', '2007-07-10', 'DE_B2B_2002');
SELECT ar.reference_rate_at('UK_BANK_RATE', '2025-12-20');
SELECT ar.reference_rate_at('UK_BANK_RATE', '2007-01-31');
\set VERBOSITY terse
SELECT ar.reference_rate_at('NO_SUCH', '2025-01-01');
SELECT ar.penalty_rate('FR_LME', '2025-01-01', '2025-02-01');
\set VERBOSITY default

-- ----------------------------------------- extending the histories by INSERT
-- a provisional rate is used, and flagged in schedules
INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source)
VALUES ('ECB_MRO', '2026-07-01', 2.15, 'provisional', '2026-12-31', 'test: assumed unchanged');
SELECT * FROM ar.penalty_schedule(1000, '2026-06-20', '2026-07-10');
DELETE FROM ar.reference_rate WHERE series = 'ECB_MRO' AND NOT shipped;
SELECT * FROM ar.late_penalty(1000, '2026-06-20', '2026-07-10');
-- a half-yearly series row is known to the end of its half-year
INSERT INTO ar.reference_rate (series, effective_from, rate, source)
VALUES ('DE_BASISZINSSATZ', '2026-07-01', 1.27, 'test: unchanged');
SELECT confirmed_through FROM ar.reference_rate WHERE series = 'DE_BASISZINSSATZ' AND NOT shipped;
SELECT * FROM ar.late_penalty(1000, '2026-12-01', '2026-12-31', 'DE_B2B');
SELECT * FROM ar.late_penalty(1000, '2026-12-01', '2027-01-01', 'DE_B2B');
DELETE FROM ar.reference_rate WHERE series = 'DE_BASISZINSSATZ' AND NOT shipped;
-- a row of the user's confirms an unverified shipped one
INSERT INTO ar.reference_rate (series, effective_from, rate, status, source)
VALUES ('UK_BANK_RATE', '2025-12-18', 3.75, 'published', 'test: checked against the Bank of England');
SELECT ar.reference_rate_at('UK_BANK_RATE', '2025-12-20');
DELETE FROM ar.reference_rate WHERE series = 'UK_BANK_RATE' AND NOT shipped;
-- an explicit assumption that every history is unchanged: provisional rows
BEGIN;
SELECT ar.assume_rates_unchanged('2026-12-31', 'test: assumed unchanged') AS series_extended;
SELECT series, effective_from, rate, status, confirmed_through FROM ar.reference_rate WHERE NOT shipped ORDER BY series;
SELECT * FROM ar.late_penalty(1000, '2026-06-20', '2026-07-10');
ROLLBACK;
-- shipped rows stay as shipped
\set VERBOSITY terse
UPDATE ar.reference_rate SET rate = 9 WHERE series = 'ECB_MRO' AND effective_from = '2025-06-11';
DELETE FROM ar.penalty_regime WHERE regime = 'FR_LME';
INSERT INTO ar.reference_rate (series, effective_from, rate, source, shipped) VALUES ('ECB_MRO', '2030-01-01', 1, 'x', true);
INSERT INTO ar.reference_rate (series, effective_from, rate, source) VALUES ('ECB_MRO', '2030-01-01', 1.1234567, 'x');
TRUNCATE ar.reference_rate;
\set VERBOSITY default

-- ----------------------------------------------------------------- invoices
INSERT INTO ar.customer (code, name) VALUES ('P-ALPHA', 'Alpha SARL'), ('P-BETA', 'Beta GmbH'), ('P-GAMMA', 'Gamma Ltd');
UPDATE ar.customer SET penalty_regime = 'DE_B2B' WHERE code = 'P-BETA';
UPDATE ar.customer SET penalty_regime = 'UK_LPA' WHERE code = 'P-GAMMA';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, v.number, v.issue_date::date, v.due_date::date, v.amount, v.currency
  FROM (VALUES ('P-ALPHA', 'P-1', '2024-10-15', '2024-12-01', 5000.00, 'EUR'),   -- paid in parts before and after due
               ('P-ALPHA', 'P-2', '2024-11-01', '2024-12-01', 1200.00, 'EUR'),   -- paid on the due date
               ('P-ALPHA', 'P-3', '2024-11-01', '2024-12-01', 1200.00, 'EUR'),   -- part paid on the due date
               ('P-ALPHA', 'P-4', '2025-01-10', '2025-02-10', 800.00, 'EUR'),    -- still open
               ('P-ALPHA', 'P-AV1', '2025-01-05', '2025-01-05', -500.00, 'EUR'), -- credit note
               ('P-ALPHA', 'P-5', '2025-01-10', '2025-02-10', 300.00, 'USD'),    -- no FR_LME fee in USD
               ('P-BETA', 'P-6', '2025-01-15', '2025-02-14', 10000.00, 'EUR'),   -- customer regime DE_B2B
               ('P-GAMMA', 'P-7', '2025-03-01', '2025-03-31', 4000.00, 'GBP'),   -- customer regime UK_LPA
               ('P-GAMMA', 'P-8', '2025-03-01', '2025-03-31', 4000.00, 'EUR')    -- UK_LPA states its fees in GBP only
       ) v(customer, number, issue_date, due_date, amount, currency)
  JOIN ar.customer c ON c.code = v.customer;
-- invoice-level regime and contractual rate override the customer's
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime, penalty_rate)
SELECT id, 'P-9', '2025-01-15', '2025-02-14', 10000.00, 'CONTRACT', 12 FROM ar.customer WHERE code = 'P-BETA';
-- a contractual rate below the floor on the issue date is refused at once (3 x 3.71 = 11.13 in 2025-S1)
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime, penalty_rate)
SELECT id, 'P-BAD', '2025-01-15', '2025-02-14', 100.00, 'CONTRACT', 11.12 FROM ar.customer WHERE code = 'P-ALPHA';
UPDATE ar.invoice SET penalty_regime = 'NO_SUCH' WHERE number = 'P-9';

SELECT ar.record_payment('P-1', 1000, '2024-11-20') IS NOT NULL AS paid;   -- before the due date
SELECT ar.record_payment('P-1', 1500, '2025-01-10') IS NOT NULL AS paid;   -- after it
SELECT ar.apply_credit_note(n.id, i.id, NULL, '2025-01-20') FROM ar.invoice n, ar.invoice i
 WHERE n.number = 'P-AV1' AND i.number = 'P-1';
SELECT ar.record_payment('P-1', 2000, '2025-03-01') IS NOT NULL AS paid;   -- the rest
SELECT ar.record_payment('P-2', 1200, '2024-12-01') IS NOT NULL AS paid;
SELECT ar.record_payment('P-3', 200, '2024-12-01') IS NOT NULL AS paid;
SELECT ar.record_payment('P-3', 1000, '2024-12-21') IS NOT NULL AS paid;
SELECT ar.record_payment('P-6', 10000, '2025-03-16') IS NOT NULL AS paid;
SELECT ar.record_payment('P-7', 4000, '2025-04-30') IS NOT NULL AS paid;
SELECT ar.record_payment('P-9', 10000, '2025-03-16') IS NOT NULL AS paid;

-- as of 15 Feb 2025: P-1 owed 4,000 from 2 Dec, 2,500 after the payment of
-- 10 Jan, 2,000 after the credit note of 20 Jan
SELECT i.number, p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-02-15') p WHERE i.number = 'P-1';
SELECT s.* FROM ar.invoice i, ar.penalty_schedule(i.id, '2025-02-15') s WHERE i.number = 'P-1';
-- as of any date after its last payment, P-1's penalty is final
SELECT i.number, p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-06-30') p WHERE i.number = 'P-1';
SELECT s.* FROM ar.invoice i, ar.penalty_schedule(i.id, '2025-06-30') s WHERE i.number = 'P-1';
SELECT i.number, p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-06-30') p
 WHERE i.number IN ('P-2', 'P-3', 'P-AV1', 'P-6', 'P-7', 'P-9') ORDER BY i.number;
SELECT s.* FROM ar.invoice i, ar.penalty_schedule(i.id, '2025-06-30') s WHERE i.number = 'P-3';
-- before its due date and on it nothing is late; an open invoice accrues to as_of
SELECT d.as_of, p.* FROM ar.invoice i, (VALUES (DATE '2025-02-01'), ('2025-02-10'), ('2025-02-11'), ('2025-03-31')) d(as_of),
       ar.invoice_penalty(i.id, d.as_of) p WHERE i.number = 'P-4';
\set VERBOSITY terse
SELECT p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-03-31') p WHERE i.number = 'P-5';
SELECT p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-06-30') p WHERE i.number = 'P-8';
SELECT * FROM ar.invoice_penalty(-1, '2025-06-30');
SELECT * FROM ar.invoice_penalty(NULL, '2025-06-30');
SELECT p.* FROM ar.invoice i, ar.invoice_penalty(i.id, NULL) p WHERE i.number = 'P-4';
\set VERBOSITY default
-- a write-off ends the late days; a cancelled invoice bears nothing
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, v.number, '2025-01-01', '2025-01-31', 600.00 FROM ar.customer, (VALUES ('P-10'), ('P-11')) v(number)
 WHERE code = 'P-ALPHA';
SELECT ar.write_off_invoice(id, 'insolvent', '2025-03-02') IS NOT NULL AS written_off FROM ar.invoice WHERE number = 'P-10';
SELECT ar.cancel_invoice(id, '2025-01-20') FROM ar.invoice WHERE number = 'P-11';
SELECT i.number, p.* FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-06-30') p
 WHERE i.number IN ('P-10', 'P-11') ORDER BY i.number;

-- ------------------------------------------------------------------- claims
SELECT number, regime, settled_on, days_late, interest, fixed_fee, total, status, claimed, collected, outstanding, problem
  FROM ar.penalty_claims_on('2025-06-30') WHERE customer_code LIKE 'P-%' ORDER BY number;
-- bill P-1's penalties, collect part of them
SELECT ar.bill_penalty(id, '2025-07-01') IS NOT NULL AS billed FROM ar.invoice WHERE number = 'P-1';
SELECT number, issue_date, due_date, amount, status FROM ar.invoice WHERE number = 'PEN-P-1';
SELECT ar.invoice_penalty(id, '2025-12-31') AS penalty_of_the_penalty FROM ar.invoice WHERE number = 'PEN-P-1';
SELECT ar.record_payment('PEN-P-1', 100, '2025-07-10') IS NOT NULL AS paid;
SELECT number, status, claimed, collected, outstanding FROM ar.penalty_claims_on('2025-07-05') WHERE number = 'P-1';
SELECT number, status, claimed, collected, outstanding FROM ar.penalty_claims_on('2025-07-15') WHERE number = 'P-1';
SELECT ar.record_payment('PEN-P-1', 39.09, '2025-07-20') IS NOT NULL AS paid;
SELECT number, status, claimed, collected, outstanding FROM ar.penalty_claims_on('2025-07-25') WHERE number = 'P-1';
-- waive and write off with a reason; a decision is taken once
SELECT ar.waive_penalty(id, 'goodwill: long-standing customer') IS NOT NULL AS waived FROM ar.invoice WHERE number = 'P-3';
SELECT ar.write_off_penalty(id, 'customer insolvent') IS NOT NULL AS written_off FROM ar.invoice WHERE number = 'P-6';
\set VERBOSITY terse
SELECT ar.waive_penalty(id, 'again') FROM ar.invoice WHERE number = 'P-3';
SELECT ar.waive_penalty(id, ' ') FROM ar.invoice WHERE number = 'P-7';
SELECT ar.waive_penalty(id, 'x') FROM ar.invoice WHERE number = 'P-1';
SELECT ar.bill_penalty(id, '2025-03-31') FROM ar.invoice WHERE number = 'P-4';
SELECT ar.bill_penalty(id, '2025-06-30') FROM ar.invoice WHERE number = 'P-AV1';
\set VERBOSITY default
SELECT decision, days_late, interest, fixed_fee, total, reason FROM ar.penalty_claim c JOIN ar.invoice i ON i.id = c.invoice_id
 WHERE i.number IN ('P-1', 'P-3', 'P-6') ORDER BY i.number;
-- a billed, unpaid penalty can be waived: its invoice is cancelled
SELECT ar.bill_penalty(id, '2025-07-01') IS NOT NULL AS billed FROM ar.invoice WHERE number = 'P-7';
SELECT ar.waive_penalty(id, 'settled by phone') IS NOT NULL AS waived FROM ar.invoice WHERE number = 'P-7';
SELECT number, status FROM ar.invoice WHERE number = 'PEN-P-7';
-- every decision is in the audit trail
SELECT operation, new_row->>'decision' AS decision FROM ar.audit_log
 WHERE table_name = 'penalty_claim' AND (coalesce(new_row, old_row)->>'invoice_id')::bigint IN
       (SELECT id FROM ar.invoice WHERE number IN ('P-1', 'P-3', 'P-6', 'P-7'))
 ORDER BY id;

-- ------------------------------------------------------------ payment terms
SELECT d.issue, d.due, d.due - d.issue AS days, ar.check_payment_terms(d.issue, d.due) AS violation
  FROM (VALUES (DATE '2026-01-10', DATE '2026-03-11'),   -- 60 days
               ('2026-01-10', '2026-03-17'),             -- 45 days end of month: 31 Jan + 45
               ('2026-01-10', '2026-03-18'),
               ('2026-01-20', '2026-03-31'),             -- 45 days end of month: 6 Mar -> 31 Mar
               ('2026-01-20', '2026-04-01'),
               ('2026-02-20', '2026-04-30'),
               ('2026-02-20', '2026-02-01')) d(issue, due);
SELECT ar.check_payment_terms('2026-01-10', NULL) AS nothing_agreed, ar.default_due_date('2026-01-10') AS default_due;
SELECT r.regime, ar.latest_lawful_due_date('2026-01-10', r.regime), ar.check_payment_terms('2026-01-10', '2026-02-20', r.regime)
  FROM ar.penalty_regime r ORDER BY r.regime;
\set VERBOSITY terse
SELECT ar.check_payment_terms('2026-01-10', '2026-02-20', 'NO_SUCH');
SELECT ar.check_payment_terms(NULL, '2026-02-20');
\set VERBOSITY default
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, v.number, v.issue_date::date, v.due_date::date, 100.00 FROM ar.customer,
       (VALUES ('P-T1', '2025-05-01', '2025-07-15'),    -- 45 days end of month: 31 May + 45
               ('P-T2', '2025-05-01', '2025-07-16'),
               ('P-T3', '2025-05-01', '2025-08-31'),
               ('P-T4', '2025-05-01', '2025-08-31')) v(number, issue_date, due_date)
 WHERE code = 'P-ALPHA';
SELECT ar.record_payment('P-T4', 100, '2025-08-31') IS NOT NULL AS paid;   -- paid: not an open invoice any more
SELECT number, regime, issue_date, due_date, term_days, latest_lawful_due_date, open_amount, violation
  FROM ar.payment_term_violations WHERE customer_code LIKE 'P-%' ORDER BY number;

-- ------------------------------------------------------------ D441-6 report
INSERT INTO ar.company (code, name) VALUES ('P-CO', 'P test company');
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'P-DELTA', 'Delta SA' FROM ar.company WHERE code = 'P-CO';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency, disputed)
SELECT co.id, cu.id, v.number, v.issue_date::date, v.due_date::date, v.amount, v.currency, v.disputed
  FROM ar.company co JOIN ar.customer cu ON cu.company_id = co.id AND cu.code = 'P-DELTA',
       (VALUES ('P-D1', '2025-12-01', '2026-01-15', 1000.00, 'EUR', false),   -- not due at closing
               ('P-D2', '2025-11-01', '2025-12-31', 2000.00, 'EUR', false),   -- due on the closing date: not late
               ('P-D3', '2025-11-01', '2025-12-30', 3000.00, 'EUR', false),   -- 1 day
               ('P-D4', '2025-10-01', '2025-11-30', 4000.00, 'EUR', false),   -- 31 days
               ('P-D5', '2025-08-01', '2025-10-01', 5000.00, 'EUR', false),   -- 91 days
               ('P-D6', '2025-08-01', '2025-09-01', 6000.00, 'EUR', true),    -- disputed
               ('P-D7', '2025-08-01', '2025-09-01', 7000.00, 'USD', false),   -- other currency
               ('P-D8', '2025-06-01', '2025-07-01', 8000.00, 'EUR', false),   -- paid before closing
               ('P-D9', '2026-01-05', '2026-02-05', 9000.00, 'EUR', false),   -- issued after closing
               ('P-DA', '2025-07-01', '2025-07-31', -300.00, 'EUR', false)    -- credit note
       ) v(number, issue_date, due_date, amount, currency, disputed)
 WHERE co.code = 'P-CO';
SELECT ar.record_payment('P-D8', 8000, '2025-12-15') IS NOT NULL AS paid;
SELECT ar.record_payment('P-D4', 1500, '2025-12-20') IS NOT NULL AS paid;   -- partly paid: 2,500 unpaid
SELECT ar.record_payment('P-D3', 3000, '2026-01-10') IS NOT NULL AS paid;   -- paid after closing: unpaid at closing
SELECT r.* FROM ar.company co, ar.d441_report('2025-12-31', 100000, co.id) r WHERE co.code = 'P-CO';
\set VERBOSITY terse
SELECT * FROM ar.d441_report('2025-12-31', 0);
SELECT * FROM ar.d441_report(NULL, 1000);
\set VERBOSITY default

-- -------------------------------------------------------------------- roles
-- several companies: a role acts for those it is a member of (doc/security.md)
SELECT count(*) AS memberships
  FROM ar.company c, (VALUES ('ar_reader', 'reader'), ('ar_collector', 'collector'), ('ar_admin', 'admin')) g(r, a),
       LATERAL ar.grant_company_access(g.r, c.code, g.a) x;
SET ROLE ar_reader;
SELECT total FROM ar.late_penalty(1000, '2025-08-01', '2025-09-15');
SELECT i.number, p.total FROM ar.invoice i, ar.invoice_penalty(i.id, '2025-06-30') p WHERE i.number = 'P-1';
SELECT count(*) > 0 AS sees_claims FROM ar.penalty_claims_on('2025-06-30') WHERE customer_code LIKE 'P-%';
\set VERBOSITY terse
SELECT ar.waive_penalty(id, 'no') FROM ar.invoice WHERE number = 'P-9';
INSERT INTO ar.reference_rate (series, effective_from, rate, source) VALUES ('ECB_MRO', '2030-01-01', 1, 'x');
RESET ROLE;
SET ROLE ar_collector;
SELECT ar.waive_penalty(id, 'commercial gesture') IS NOT NULL AS waived FROM ar.invoice WHERE number = 'P-9';
SELECT ar.write_off_penalty(id, 'no') FROM ar.invoice WHERE number = 'P-2';
\set VERBOSITY default
RESET ROLE;
