-- Demo step 72: small balances and statements of account.  The company
-- opts in to closing small balances (EUR: debts up to 2.00 written off,
-- credits up to 2.00 listed for refund, accounts quiet for 30 days), runs
-- the clean-up on the generation's date, and queues the statement of
-- account of the last month for its ten largest debtors
-- (demo/report_72_statements.sql shows both).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

INSERT INTO ar.small_balance_config (company_id, currency, debit_limit, credit_limit, credit_action, min_age_days)
SELECT id, 'EUR', 2.00, 2.00, 'refund', 30 FROM ar.company WHERE is_default
ON CONFLICT (company_id, currency) DO NOTHING;

-- a few customers with one open invoice paid it 45 days ago a few cents
-- short (bank charges) or a little over (rounding)
\pset footer off
SELECT count(ar.record_payment(o.number, o.open_amount + CASE WHEN o.n % 2 = 0 THEN -0.35 ELSE 1.20 END,
                               :'demo_as_of'::date - 45, 'transfer')) AS "payments leaving a small balance"
  FROM (SELECT i.number, i.open_amount, row_number() OVER (ORDER BY i.customer_id) AS n
          FROM ar.invoice i
         WHERE i.currency = 'EUR' AND i.open_amount > 1 AND i.issue_date <= :'demo_as_of'::date - 60 AND NOT i.disputed
           AND (SELECT count(*) FROM ar.invoice x WHERE x.customer_id = i.customer_id AND x.open_amount <> 0) = 1
           AND NOT EXISTS (SELECT 1 FROM ar.customer_credit c WHERE c.customer_id = i.customer_id AND c.remaining > 0)
         ORDER BY i.customer_id LIMIT 6) o;

SELECT count(*) FILTER (WHERE kind = 'debit_write_off') AS "small debts written off",
       count(*) FILTER (WHERE kind = 'credit_refund') AS "small credits to refund",
       count(*) FILTER (WHERE kind = 'set_off') AS "set-offs"
  FROM ar.write_off_small_balances(:'demo_as_of', NULL, false, 'demo: year-end clean-up of small balances');

SELECT count(q.id) AS "statements queued"
  FROM (SELECT a.customer_id FROM ar.aging_report(:'demo_as_of') a
         WHERE a.currency = 'EUR' ORDER BY a.net_balance DESC, a.customer_id LIMIT 10) c
 CROSS JOIN LATERAL ar.queue_statement_of_account(c.customer_id, :'demo_as_of'::date - 30, :'demo_as_of'::date) q;
