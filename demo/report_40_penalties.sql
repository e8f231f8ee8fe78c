-- Late-payment penalties of the demo ledger, as of the last generation's
-- date: what the portfolio has accrued, the claims, one invoice's schedule
-- as a formal notice prints it, payment terms that break the law, and the
-- D441-6 table of the management report.  Amounts are never summed across
-- currencies.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of, make_date(extract(year FROM as_of)::int - 1, 12, 31) AS closing
  FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

CREATE TEMP TABLE demo_claims AS SELECT * FROM ar.penalty_claims_on(:'as_of');

\echo
\echo '=== Late-payment penalties on' :as_of '(interest rounded once per invoice, fixed fees per invoice paid late)'
\echo
SELECT regime AS "regime", currency AS "cur",
       count(*) AS "late invoices",
       count(*) FILTER (WHERE status = 'accruing') AS "still open",
       sum(interest)::numeric(16,2) AS "interest",
       sum(fixed_fee)::numeric(16,2) AS "fixed fees",
       sum(total)::numeric(16,2) AS "total",
       sum(outstanding)::numeric(16,2) AS "claimable",
       count(*) FILTER (WHERE problem IS NOT NULL) AS "not computable"
  FROM demo_claims
 GROUP BY regime, currency
 ORDER BY sum(total) DESC NULLS LAST, regime, currency;

\echo '=== Penalty claims by status'
\echo
SELECT status AS "status", currency AS "cur", count(*) AS "claims", sum(total)::numeric(16,2) AS "total",
       round(avg(days_late), 1) AS "avg days late"
  FROM demo_claims
 GROUP BY status, currency
 ORDER BY array_position(ARRAY['accruing', 'open', 'billed', 'collected', 'waived', 'written_off'], status), currency;

\echo '=== The 10 customers with the largest claimable penalties'
\echo
SELECT c.code AS "customer", c.name AS "name", coalesce(c.penalty_regime, 'FR_LME') AS "regime", d.currency AS "cur",
       count(*) AS "late invoices", max(d.days_late) AS "max days late",
       sum(d.interest)::numeric(16,2) AS "interest", sum(d.fixed_fee)::numeric(16,2) AS "fees",
       sum(d.outstanding)::numeric(16,2) AS "claimable"
  FROM demo_claims d JOIN ar.customer c ON c.id = d.customer_id
 GROUP BY c.code, c.name, c.penalty_regime, d.currency
 ORDER BY sum(d.outstanding) DESC NULLS LAST, c.code
 LIMIT 10;

-- The invoice still open with the most periods in its schedule (partial
-- payments, credit notes, half-years): what a mise en demeure prints.
SELECT d.invoice_id AS notice_invoice,
       format('=== Penalty schedule of invoice %s (%s): %s %s due %s, regime %s, as of %s',
              i.number, c.name, i.amount, i.currency, i.due_date, d.regime, :'as_of') AS notice_title
  FROM demo_claims d JOIN ar.invoice i ON i.id = d.invoice_id JOIN ar.customer c ON c.id = d.customer_id,
       LATERAL (SELECT count(*) AS lines FROM ar.penalty_schedule(d.invoice_id, :'as_of')) s
 WHERE d.status = 'accruing' AND d.regime = 'FR_LME' AND d.problem IS NULL
 ORDER BY s.lines DESC, d.total DESC, i.number
 LIMIT 1 \gset
\echo :notice_title
\echo
SELECT line AS "#", period_start AS "from", period_end AS "to", days AS "days", outstanding AS "outstanding",
       rate AS "rate %", interest AS "interest", rate_basis AS "rate basis"
  FROM ar.penalty_schedule(:notice_invoice, :'as_of');
SELECT days_late AS "days late", interest AS "interest", fixed_fee AS "recovery indemnity (D441-5)", total AS "total due"
  FROM ar.invoice_penalty(:notice_invoice, :'as_of');

\echo '=== Rates used that are not official yet'
\echo
SELECT series AS "series", effective_from AS "from", confirmed_through AS "assumed through", rate AS "rate %", source AS "source"
  FROM ar.reference_rate WHERE status = 'provisional' ORDER BY series;

\echo '=== Open invoices whose payment terms break the law'
\echo
SELECT regime AS "regime", count(*) AS "invoices", min(term_days) AS "shortest term", max(term_days) AS "longest term",
       currency AS "cur", sum(open_amount)::numeric(16,2) AS "open"
  FROM ar.payment_term_violations
 GROUP BY regime, currency
 ORDER BY count(*) DESC, regime, currency;

SELECT sum(amount) FILTER (WHERE amount > 0 AND currency = 'EUR' AND extract(year FROM issue_date) = extract(year FROM :'closing'::date))
       AS revenue
  FROM ar.invoice \gset
\echo '=== Code de commerce D441-6: invoices issued, unpaid past due on' :closing '(revenue incl. tax' :revenue 'EUR)'
\echo
SELECT section AS "part", line AS "days past due", invoice_count AS "invoices", amount::numeric(16,2) AS "amount incl. tax",
       share_of_revenue AS "% of revenue"
  FROM ar.d441_report(:'closing', :revenue);
