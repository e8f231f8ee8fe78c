-- The collector's day on the demo ledger (demo/steps/86_worklist.sql): the
-- day's tasks by kind, Anne's list, what the disputes block, the customers
-- over or near their credit limit and whether we can ship to them.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset
CREATE TEMP TABLE demo_worklist AS SELECT * FROM ar.worklist(:'as_of');

\echo
\echo '=== The day''s tasks (ar.worklist), by kind and collector'
\echo
SELECT priority AS "prio", kind AS "kind", coalesce(assigned_to::text, '(unassigned)') AS "collector",
       count(*) AS "tasks", sum(amount)::numeric(16,2) AS "at stake"
  FROM demo_worklist
 GROUP BY priority, kind, assigned_to
 ORDER BY priority, kind, assigned_to NULLS LAST;

\echo '=== Anne''s first ten tasks (her ar.worklist_today on that day)'
\echo
SELECT priority AS "prio", customer_code AS "customer", kind AS "kind", amount::numeric(16,2) AS "amount",
       left(reason, 90) AS "why", left(next_action, 60) AS "next"
  FROM demo_worklist WHERE assigned_to = 'demo_collector_anne'
 LIMIT 10;

\echo '=== What the open disputes block (ar.dispute_aging_on)'
\echo
SELECT category AS "category", age_bucket AS "age", disputes AS "disputes",
       blocked_amount::numeric(16,2) AS "blocked", oldest_days AS "oldest", follow_up_overdue AS "follow-up late"
  FROM ar.dispute_aging_on(:'as_of');

\echo '=== Over or near their credit limit (ar.credit_limit_alerts_on), and can we ship?'
\echo
SELECT a.customer_code AS "customer", a.credit_limit::numeric(16,2) AS "limit", a.exposure::numeric(16,2) AS "exposure",
       a.used_percent AS "used %", a.alert AS "alert", CASE WHEN s.order_blocked THEN 'blocked' ELSE 'ship' END AS "orders",
       left(array_to_string(s.reasons, '; '), 80) AS "why"
  FROM ar.credit_limit_alerts_on(:'as_of') a
 CROSS JOIN LATERAL ar.customer_credit_status(a.customer_id, :'as_of') s
 LIMIT 12;
DROP TABLE demo_worklist;
