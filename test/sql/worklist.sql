-- The collector's day on 2026-03-01: the work list (every kind of task, most
-- urgent first, with why, the amount at stake and what to do next), the
-- disputes by category and age with the cash they block, "can we ship?"
-- and the credit limit alerts.  The data lives in this transaction only,
-- in a company of its own (earlier tests leave data in the default one).
\set VERBOSITY terse
SET datestyle = ISO;
BEGIN;
CREATE ROLE wl_quality_team;
INSERT INTO ar.company (code, name) VALUES ('WL', 'Work list company');
SELECT id AS wl FROM ar.company WHERE code = 'WL' \gset
INSERT INTO ar.customer (company_id, code, name, credit_limit) VALUES
	(:wl, 'ACME', 'Acme Industries', 900), (:wl, 'BOLT', 'Bolt & Nuts SARL', NULL), (:wl, 'CRANE', 'Crane Logistics', 5500),
	(:wl, 'DELTA', 'Delta Foods', NULL), (:wl, 'EPSI', 'Epsilon Retail', NULL);
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('ACME', 'WL-101', '2026-01-01', '2026-01-31', 800.00), ('ACME', 'WL-102', '2026-02-01', '2026-03-03', 400.00),
               ('BOLT', 'WL-201', '2026-01-01', '2026-01-31', 300.00), ('BOLT', 'WL-202', '2026-02-01', '2026-02-25', 12000.00),
               ('BOLT', 'WL-203', '2026-02-01', '2026-02-26', 11000.00),
               ('CRANE', 'WL-301', '2026-01-01', '2026-01-15', 4600.00), ('CRANE', 'WL-302', '2025-12-01', '2026-01-10', 500.00),
               ('DELTA', 'WL-401', '2025-12-01', '2026-01-01', 2000.00), ('EPSI', 'WL-501', '2025-12-20', '2026-01-20', 700.00)
       ) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code AND c.company_id = :wl;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;
SELECT ar.record_payment('WL-101', 200.00, '2026-02-15') IS NOT NULL AS paid;
SELECT ar.promise_to_pay(pg_temp.inv('WL-101'), '2026-02-20', 500.00, '2026-02-10') IS NOT NULL AS promised;
SELECT ar.promise_to_pay(pg_temp.inv('WL-201'), '2026-03-01', 300.00, '2026-02-10') IS NOT NULL AS promised;
SELECT ar.create_payment_plan((SELECT id FROM ar.customer WHERE code = 'BOLT' AND company_id = :wl), ARRAY[pg_temp.inv('WL-202')],
                              ARRAY['2026-02-20', '2026-03-20']::date[]) IS NOT NULL AS planned;
SELECT ar.classify_dispute(ar.open_dispute(pg_temp.inv('WL-301'), 'unit price above the quote', '2026-01-20'),
                           'price', 'wl_quality_team', '2026-02-15');
SELECT ar.open_dispute(pg_temp.inv('WL-302'), 'goods never arrived', '2026-01-25') IS NOT NULL AS disputed;
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, as_of, company_id,
                              currency, policy_id, cycle, language, status)
SELECT c.id, v.level, v.level_name, v.channel, 'text', ARRAY[i.id], i.amount, v.as_of::date, c.company_id, 'EUR',
       (SELECT id FROM ar.dunning_policy WHERE code = 'FR_STANDARD'), 1, 'en', 'queued'
  FROM (VALUES ('DELTA', 'WL-401', 5, 'legal handoff (injonction de payer)', 'task', '2026-02-28'),
               ('EPSI', 'WL-501', 1, 'first reminder', 'email', '2026-02-01')) v(code, number, level, level_name, channel, as_of)
  JOIN ar.customer c ON c.code = v.code AND c.company_id = :wl JOIN ar.invoice i ON i.number = v.number;
SELECT (ar.mark_notice(n.id, 'failed', NULL, '550 mailbox unknown')).status FROM ar.dunning_notice n WHERE n.channel = 'email' AND n.company_id = :wl;
INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, company_id)
SELECT n.customer_id, n.currency, n.cycle, n.level, n.id, n.as_of, n.company_id FROM ar.dunning_notice n WHERE n.channel = 'task' AND n.company_id = :wl;
UPDATE ar.customer SET collector = CASE WHEN code IN ('ACME', 'DELTA') THEN 'alice' WHEN code <> 'CRANE' THEN 'bob' END
 WHERE company_id = :wl;

-- the work list
-- (ids of the related rows shown as N: sequences are not rolled back)
SELECT priority, customer_code AS customer, assigned_to, kind, amount, since,
       regexp_replace(reason, 'plan \d+', 'plan N') AS reason
  FROM ar.worklist('2026-03-01', company => :wl);
SELECT kind, regexp_replace(next_action, 'mark_notice\(\d+', 'mark_notice(N') AS next_action
  FROM ar.worklist('2026-03-01', company => :wl) ORDER BY kind;
-- one collector's
SELECT customer_code, kind, amount FROM ar.worklist('2026-03-01', 'alice', :wl);

-- disputes: what blocks how much cash
SELECT category, age_bucket, disputes, blocked_amount, oldest_days, follow_up_overdue, without_owner
  FROM ar.dispute_aging_on('2026-03-01') WHERE company_code = 'WL';

-- can we ship?
\x on
SELECT c.code, s.credit_limit, s.exposure, s.available, s.overdue_amount, s.oldest_overdue_days, s.order_blocked,
       regexp_replace(array_to_string(s.reasons, ' | '), 'notice \d+', 'notice N') AS reasons
  FROM ar.customer c CROSS JOIN LATERAL ar.customer_credit_status(c.id, '2026-03-20') s
 WHERE c.company_id = :wl
 ORDER BY c.code;
\x off
SELECT customer_code, credit_limit, exposure, used_percent, alert FROM ar.credit_limit_alerts_on('2026-03-01') WHERE company_code = 'WL';
ROLLBACK;
