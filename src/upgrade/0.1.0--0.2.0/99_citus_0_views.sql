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

