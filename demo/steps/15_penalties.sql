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

SELECT ar.assume_rates_unchanged(:'demo_as_of',
       'DEMO ASSUMPTION: last official value, assumed unchanged; replace with the published rate') AS series_extended;

UPDATE ar.customer SET penalty_regime = 'DE_B2B' WHERE country = 'DE';
UPDATE ar.customer SET penalty_regime = 'EU_2011_7' WHERE country IN ('BE', 'ES', 'IT', 'NL', 'LU');
UPDATE ar.invoice SET penalty_regime = 'UK_LPA' WHERE currency = 'GBP';
UPDATE ar.customer SET penalty_regime = 'UK_LPA' WHERE country = 'GB';

INSERT INTO ar.penalty_regime_fee (regime, currency, min_amount, fee)
VALUES ('FR_LME', 'CHF', 0, 37.00), ('FR_LME', 'USD', 0, 43.00)
ON CONFLICT DO NOTHING;
