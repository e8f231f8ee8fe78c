-- Issue 14, blocker 2: the views over the ledger join company tables on
-- (x_id, company_id), so that Citus runs them on each shard (ar.receivables:
-- 60_dunning_rules.sql).  Final text of ar._penalty_basis: a copy of its
-- definition in src/sql/65_penalties.sql (CREATE OR REPLACE drops the view's
-- options: security_invoker set again, as 20_tenancy.sql does).
CREATE OR REPLACE VIEW ar._penalty_basis AS
SELECT i.id AS invoice_id, i.company_id, i.customer_id, i.number, i.currency, i.issue_date, i.due_date, i.amount,
       coalesce(i.penalty_regime, c.penalty_regime, 'FR_LME') AS regime,
       coalesce(i.penalty_rate, c.penalty_rate) AS contract_rate,
       i.amount > 0 AND i.cancelled_on IS NULL
       AND NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
                        WHERE pc.penalty_invoice_id = i.id AND pc.company_id = i.company_id) AS liable
  FROM ar.invoice i
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id;
ALTER VIEW ar._penalty_basis SET (security_invoker = true);

-- Final text of ar.customer_timeline: a copy of its definition in
-- src/sql/80_dunning_7_views.sql (its joins on (x_id, company_id)).
CREATE OR REPLACE VIEW ar.customer_timeline AS
SELECT m.id, m.customer_id, c.code AS customer_code, c.name AS customer_name, m.occurred_at, m.as_of, m.kind,
       m.direction, m.channel, m.summary, m.detail, m.proof_ref, m.invoice_id, i.number AS invoice_number,
       m.notice_id, n.level AS notice_level, m.dispute_id, m.promise_id, m.plan_id, m.block_id,
       m.actor, m.role, m.via, m.recorded_at
  FROM ar.communication m
  JOIN ar.customer c ON c.id = m.customer_id AND c.company_id = m.company_id
  LEFT JOIN ar.invoice i ON i.id = m.invoice_id AND i.company_id = m.company_id
  LEFT JOIN ar.dunning_notice n ON n.id = m.notice_id AND n.company_id = m.company_id
UNION ALL
SELECT NULL, n.customer_id, c.code, c.name, n.created_at, n.as_of, 'notice_queued',
       CASE WHEN n.channel = 'task' THEN 'internal' ELSE 'outbound' END, n.channel,
       'Level ' || n.level || ', ' || n.level_name || ', queued (' || n.channel || '): '
       || cardinality(n.invoice_ids) || ' invoice(s), ' || ar.format_money(n.amount_due, n.currency),
       n.subject, NULL, NULL, NULL, n.id, n.level, NULL, NULL, NULL, NULL,
       coalesce(r.run_by, 'unknown'), coalesce(r.run_role, 'none'), r.via, n.created_at
  FROM ar.dunning_notice n
  JOIN ar.customer c ON c.id = n.customer_id AND c.company_id = n.company_id
  LEFT JOIN ar.dunning_run r ON r.as_of = n.as_of;
ALTER VIEW ar.customer_timeline SET (security_invoker = true);
