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

-- credit limits: about six weeks of the customer's sales of the last quarter, rounded up to 1,000
UPDATE ar.customer c
   SET credit_limit = greatest(1000, ceil(s.sales / 90 * 42 / 1000) * 1000)
  FROM (SELECT i.customer_id, sum(i.amount) AS sales FROM ar.invoice i
         WHERE i.issue_date > :'demo_as_of'::date - 90 AND i.issue_date <= :'demo_as_of'::date AND i.amount > 0
         GROUP BY i.customer_id) s
 WHERE s.customer_id = c.id AND c.credit_limit IS NULL;

SELECT count(*) AS "disputes classified"
  FROM (SELECT ar.classify_dispute(d.id, (ARRAY['quantity', 'price', 'quality', 'delivery', 'not_received', 'other'])[1 + d.id % 6],
                                   CASE WHEN d.id % 2 = 0 THEN 'demo_collector_anne' ELSE 'demo_collector_paul' END,
                                   coalesce(d.opened_on, :'demo_as_of'::date) + 21)
          FROM ar.dispute d WHERE d.resolved_at IS NULL AND d.category IS NULL ORDER BY d.id) x;

SELECT count(ar.set_order_block(a.customer_id, true, 'demo: over the credit limit, cheque returned unpaid')) AS "orders blocked"
  FROM (SELECT customer_id FROM ar.credit_limit_alerts_on(:'demo_as_of') WHERE alert = 'exceeded'
         ORDER BY exposure - credit_limit DESC, customer_id LIMIT 3) a;
