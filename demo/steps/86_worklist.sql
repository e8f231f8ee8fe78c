-- Demo step 86: the collector's day.  Two collectors (roles
-- demo_collector_anne and demo_collector_paul) share the customers, one in
-- ten left unassigned for the credit manager to dispatch; credit limits of
-- about six weeks of sales; the disputes of 50_dunning.sql classified, with
-- an owner and a follow-up date; the three customers furthest over their
-- limit have their orders blocked (demo/report_86_worklist.sql shows the
-- day's list, the disputes' blocked cash and the credit alerts).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_collector_anne') THEN
		CREATE ROLE demo_collector_anne NOLOGIN IN ROLE ar_collector;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_collector_paul') THEN
		CREATE ROLE demo_collector_paul NOLOGIN IN ROLE ar_collector;
	END IF;
END $$;

INSERT INTO ar.collection_settings (company_id, large_overdue_amount, large_overdue_lookback_days)
SELECT id, 5000, 7 FROM ar.company WHERE is_default
ON CONFLICT (company_id) DO NOTHING;

DO $$
BEGIN
	PERFORM ar.assign_collector(x.id, CASE WHEN x.id % 10 = 0 THEN NULL
	                                       WHEN x.id % 2 = 0 THEN 'demo_collector_anne'
	                                       ELSE 'demo_collector_paul' END)
	   FROM ar.customer x ORDER BY x.id;
END $$;
\pset footer off
SELECT count(*) FILTER (WHERE collector = 'demo_collector_anne') AS "customers of Anne",
       count(*) FILTER (WHERE collector = 'demo_collector_paul') AS "customers of Paul",
       count(*) FILTER (WHERE collector IS NULL) AS "unassigned"
  FROM ar.customer;

-- credit limits: about five months of the customer's sales of the last quarter, rounded up to 1,000
UPDATE ar.customer c
   SET credit_limit = greatest(1000, ceil(s.sales / 90 * 150 / 1000) * 1000)
  FROM (SELECT i.customer_id, sum(i.amount) AS sales FROM ar.invoice i
         WHERE i.issue_date > :'demo_as_of'::date - 90 AND i.issue_date <= :'demo_as_of'::date AND i.amount > 0
         GROUP BY i.customer_id) s
 WHERE s.customer_id = c.id AND c.credit_limit IS NULL;

SELECT count(*) AS "disputes classified"
  FROM (SELECT ar.classify_dispute(d.id, (ARRAY['quantity', 'price', 'quality', 'delivery', 'not_received', 'other'])[1 + d.id % 6],
                                   CASE WHEN d.id % 2 = 0 THEN 'demo_collector_anne' ELSE 'demo_collector_paul' END,
                                   coalesce(d.opened_on, :'demo_as_of'::date) + 14 + 7 * (d.id % 4)::integer)
          FROM ar.dispute d WHERE d.resolved_at IS NULL AND d.category IS NULL ORDER BY d.id) x;

-- promises: three broken (due five days ago, unpaid), three falling due
-- today; a payment plan whose first instalment was missed
SELECT count(ar.promise_to_pay(o.invoice_id, :'demo_as_of'::date - CASE WHEN o.n <= 3 THEN 5 ELSE 0 END,
                               round(o.open_amount / 2, 2), :'demo_as_of'::date - 15)) AS "promises recorded"
  FROM (SELECT x.invoice_id, x.open_amount, row_number() OVER (ORDER BY x.invoice_id) AS n
          FROM ar.open_items(:'demo_as_of'::date - 15) x
         WHERE x.days_past_due BETWEEN 15 AND 45 AND x.amount > 100 AND x.open_amount = x.amount
           AND ar._open_on(x.invoice_id, :'demo_as_of') = x.amount
           AND NOT EXISTS (SELECT 1 FROM ar.dispute d WHERE d.invoice_id = x.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM ar.payment_promise p WHERE p.invoice_id = x.invoice_id)
         ORDER BY x.invoice_id LIMIT 6) o;
SELECT ar.create_payment_plan(c.customer_id, c.invoice_ids, ARRAY[:'demo_as_of'::date - 10, :'demo_as_of'::date + 20],
                              note => 'demo: two instalments') IS NOT NULL AS "payment plan"
  FROM (SELECT x.customer_id, array_agg(x.invoice_id ORDER BY x.invoice_id) AS invoice_ids
          FROM ar.open_items(:'demo_as_of'::date - 20) x
         WHERE x.days_past_due > 30 AND x.amount > 0 AND x.currency = 'EUR' AND x.open_amount = x.amount
           AND NOT EXISTS (SELECT 1 FROM ar.dispute d WHERE d.invoice_id = x.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM ar.payment_promise p WHERE p.invoice_id = x.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM ar.allocation a WHERE a.invoice_id = x.invoice_id)
         GROUP BY x.customer_id HAVING count(*) >= 2
         ORDER BY x.customer_id LIMIT 1) c;

SELECT count(ar.set_order_block(a.customer_id, true, 'demo: over the credit limit, cheque returned unpaid')) AS "orders blocked"
  FROM (SELECT customer_id FROM ar.credit_limit_alerts_on(:'demo_as_of') WHERE alert = 'exceeded'
         ORDER BY exposure - credit_limit DESC, customer_id LIMIT 3) a;
