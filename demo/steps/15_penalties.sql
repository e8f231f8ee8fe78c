-- Late-payment penalty set-up of the demo ledger (runs after the generator,
-- before the steps that dun or report).  Everything here is what a finance
-- team would configure; nothing changes the law shipped with ar_collect.
--
-- 1. The demo's as_of (2026-11-20 by default) lies after the last official
--    rates the extension ships (ECB and Bank of England decisions confirmed
--    to 5 Feb 2026, German and French half-year rates to 30 Jun 2026).  A
--    day with no known rate is an error, never a zero, so the demo records
--    its assumption explicitly, as PROVISIONAL rows (used, and flagged in
--    every schedule): the last official values, unchanged.  On a real
--    ledger, insert the published rates instead.
-- 2. Regimes: German customers are charged under BGB 288(2), other EU
--    customers under directive 2011/7/EU, GBP invoices under the UK Act;
--    French law (FR_LME) applies otherwise.
-- 3. The company's policy for the 40 EUR indemnity on invoices in CHF and
--    USD (French law states it in euros; ar_collect converts nothing).
\set ON_ERROR_STOP on
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source)
SELECT v.series, v.effective_from, v.rate, 'provisional', greatest(:'demo_as_of'::date, v.effective_from),
       'DEMO ASSUMPTION: last official value, assumed unchanged; replace with the published rate'
  FROM (VALUES ('ECB_MRO', DATE '2026-02-06', 2.15),
               ('UK_BANK_RATE', DATE '2026-02-06', 3.75),
               ('DE_BASISZINSSATZ', DATE '2026-07-01', 1.27),
               ('FR_LEGAL_PRO', DATE '2026-07-01', 2.62),
               ('FR_LEGAL_PRIVATE', DATE '2026-07-01', 6.67)) v(series, effective_from, rate)
 WHERE :'demo_as_of'::date >= v.effective_from
ON CONFLICT DO NOTHING;

UPDATE ar.customer SET penalty_regime = 'DE_B2B' WHERE country = 'DE';
UPDATE ar.customer SET penalty_regime = 'EU_2011_7' WHERE country IN ('BE', 'ES', 'IT', 'NL', 'LU');
UPDATE ar.invoice SET penalty_regime = 'UK_LPA' WHERE currency = 'GBP';

INSERT INTO ar.penalty_regime_fee (regime, currency, min_amount, fee)
VALUES ('FR_LME', 'CHF', 0, 37.00), ('FR_LME', 'USD', 0, 43.00)
ON CONFLICT DO NOTHING;
