-- The reconciliation's reports (72_reconcile.sql), in a piece of their own:
-- src/upgrade/0.1.0--0.2.0/99_citus_3_read_paths_1_views.sql is this piece
-- (a symbolic link), so that the upgrade replaces the views of 0.1.0 (and
-- the first form of ar.write_off_report) with this text.  Their joins between
-- company tables are on (x_id, company_id), so that Citus runs them on each
-- shard (doc/scale_out.md, blocker 2).  CREATE OR REPLACE with their option:
-- on an upgrade the views exist, and replacing them without it would drop it.

CREATE OR REPLACE VIEW ar.review_queue WITH (security_invoker = true) AS
SELECT p.id AS proposal_id, p.company_id, p.bank_transaction_id, p.rank, p.score, p.method,
       t.booking_date, t.amount, t.currency, t.counterparty_name, t.counterparty_iban, t.remittance_info,
       p.customer_id, c.code AS customer_code, c.name AS customer_name,
       p.invoice_ids,
       (SELECT array_agg(i.number ORDER BY u.ord)
          FROM unnest(p.invoice_ids) WITH ORDINALITY AS u(id, ord)
          JOIN ar.invoice i ON i.id = u.id AND i.company_id = p.company_id) AS invoice_numbers,
       p.amounts, p.credit_amount, p.explanation ->> 'summary' AS summary, p.explanation, p.created_at
  FROM ar.match_proposal p
  JOIN ar.bank_transaction t ON t.id = p.bank_transaction_id AND t.company_id = p.company_id
  LEFT JOIN ar.customer c ON c.id = p.customer_id AND c.company_id = p.company_id
 WHERE p.status = 'pending';
COMMENT ON VIEW ar.review_queue IS 'Pending proposals with their bank line, customer and explanation: what a credit manager reviews (best first: ORDER BY score DESC, bank_transaction_id, rank).';
COMMENT ON COLUMN ar.review_queue.proposal_id IS 'ar.match_proposal.id, for ar.accept_proposal / ar.reject_proposal.';
COMMENT ON COLUMN ar.review_queue.company_id IS 'Company of the line.';
COMMENT ON COLUMN ar.review_queue.bank_transaction_id IS 'The bank line.';
COMMENT ON COLUMN ar.review_queue.rank IS '1 = best proposal for the line.';
COMMENT ON COLUMN ar.review_queue.score IS 'Score (0-1).';
COMMENT ON COLUMN ar.review_queue.method IS 'How the match was found.';
COMMENT ON COLUMN ar.review_queue.booking_date IS 'Booking date of the line.';
COMMENT ON COLUMN ar.review_queue.amount IS 'Amount of the line.';
COMMENT ON COLUMN ar.review_queue.currency IS 'Currency of the line.';
COMMENT ON COLUMN ar.review_queue.counterparty_name IS 'Who paid, as the bank wrote it.';
COMMENT ON COLUMN ar.review_queue.counterparty_iban IS 'Account it was paid from.';
COMMENT ON COLUMN ar.review_queue.remittance_info IS 'What the payer wrote.';
COMMENT ON COLUMN ar.review_queue.customer_id IS 'Customer the proposal concerns.';
COMMENT ON COLUMN ar.review_queue.customer_code IS 'Its code.';
COMMENT ON COLUMN ar.review_queue.customer_name IS 'Its name.';
COMMENT ON COLUMN ar.review_queue.invoice_ids IS 'Invoices it would allocate to.';
COMMENT ON COLUMN ar.review_queue.invoice_numbers IS 'Their numbers.';
COMMENT ON COLUMN ar.review_queue.amounts IS 'Amount to each.';
COMMENT ON COLUMN ar.review_queue.credit_amount IS 'Part that would become customer credit.';
COMMENT ON COLUMN ar.review_queue.summary IS 'One sentence: why.';
COMMENT ON COLUMN ar.review_queue.explanation IS 'Machine-readable explanation.';
COMMENT ON COLUMN ar.review_queue.created_at IS 'When it was proposed.';

CREATE OR REPLACE VIEW ar.reconcile_summary WITH (security_invoker = true) AS
SELECT r.company_id, t.currency, r.outcome, coalesce(r.method, 'none') AS method, count(*) AS lines,
       sum(t.amount) AS amount, avg(r.score)::real AS avg_score
  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id AND t.company_id = r.company_id
 GROUP BY r.company_id, t.currency, r.outcome, coalesce(r.method, 'none');
COMMENT ON VIEW ar.reconcile_summary IS 'Bank lines by decision and method, per company and currency: the match rate.';
COMMENT ON COLUMN ar.reconcile_summary.company_id IS 'Company.';
COMMENT ON COLUMN ar.reconcile_summary.currency IS 'Currency of the lines.';
COMMENT ON COLUMN ar.reconcile_summary.outcome IS 'Decision (see ar.reconcile_line.outcome).';
COMMENT ON COLUMN ar.reconcile_summary.method IS 'Method of the match or best proposal, none when nothing was found.';
COMMENT ON COLUMN ar.reconcile_summary.lines IS 'Number of lines.';
COMMENT ON COLUMN ar.reconcile_summary.amount IS 'Their total amount.';
COMMENT ON COLUMN ar.reconcile_summary.avg_score IS 'Average score.';

CREATE OR REPLACE VIEW ar.write_off_report WITH (security_invoker = true) AS
SELECT a.id AS allocation_id, a.company_id, i.customer_id, c.code AS customer_code, c.name AS customer_name,
       a.invoice_id, i.number AS invoice_number, i.amount AS invoice_amount, i.currency, a.amount,
       a.allocated_on AS written_off_on, a.method AS kind, a.note AS reason, a.created_by AS decided_by,
       a.created_at AS decided_at, adj.bank_transaction_id, 'active'::text AS status,
       NULL::timestamptz AS reversed_at, NULL::text AS reversed_by, NULL::text AS reversal_reason
  FROM ar.allocation a
  JOIN ar.invoice i ON i.id = a.invoice_id AND i.company_id = a.company_id
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
  LEFT JOIN ar.reconcile_adjustment adj ON adj.allocation_id = a.id AND adj.company_id = a.company_id
 WHERE a.method IN ('write_off', 'shortfall')
UNION ALL
SELECT w.allocation_id, w.company_id, i.customer_id, c.code, c.name, w.invoice_id, i.number, i.amount, i.currency,
       w.amount, w.written_off_on, w.kind, w.reason, w.decided_by, w.decided_at, w.bank_transaction_id, 'reversed',
       w.reversed_at, w.reversed_by, w.reversal_reason
  FROM ar.write_off_reversal w
  JOIN ar.invoice i ON i.id = w.invoice_id AND i.company_id = w.company_id
  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id;
COMMENT ON VIEW ar.write_off_report IS 'Every amount closed without a payment: write-offs decided by a person (kind write_off) and short payments written off within the write-off limit (kind shortfall), active or reversed, with the reason, who decided and who reversed.';
COMMENT ON COLUMN ar.write_off_report.allocation_id IS 'The write-off allocation (for ar.reverse_write_off).';
COMMENT ON COLUMN ar.write_off_report.company_id IS 'Company.';
COMMENT ON COLUMN ar.write_off_report.customer_id IS 'Customer.';
COMMENT ON COLUMN ar.write_off_report.customer_code IS 'Its code.';
COMMENT ON COLUMN ar.write_off_report.customer_name IS 'Its name.';
COMMENT ON COLUMN ar.write_off_report.invoice_id IS 'Invoice written off (in part).';
COMMENT ON COLUMN ar.write_off_report.invoice_number IS 'Its number.';
COMMENT ON COLUMN ar.write_off_report.invoice_amount IS 'Its amount.';
COMMENT ON COLUMN ar.write_off_report.currency IS 'Its currency.';
COMMENT ON COLUMN ar.write_off_report.amount IS 'Amount written off.';
COMMENT ON COLUMN ar.write_off_report.written_off_on IS 'Date of the write-off.';
COMMENT ON COLUMN ar.write_off_report.kind IS 'write_off (a person''s decision, ar.write_off_invoice) or shortfall (a short payment within the write-off limit).';
COMMENT ON COLUMN ar.write_off_report.reason IS 'Why (for a shortfall: the bank line, the limit and the run or proposal).';
COMMENT ON COLUMN ar.write_off_report.decided_by IS 'Who wrote it off: the session user of the call, run or accepted proposal.';
COMMENT ON COLUMN ar.write_off_report.decided_at IS 'When.';
COMMENT ON COLUMN ar.write_off_report.bank_transaction_id IS 'For a shortfall: the bank line whose payment it completes.';
COMMENT ON COLUMN ar.write_off_report.status IS 'active (the invoice is closed for that amount) or reversed (open again).';
COMMENT ON COLUMN ar.write_off_report.reversed_at IS 'When it was reversed.';
COMMENT ON COLUMN ar.write_off_report.reversed_by IS 'Who reversed it.';
COMMENT ON COLUMN ar.write_off_report.reversal_reason IS 'Why.';

GRANT SELECT ON ar.review_queue, ar.reconcile_summary, ar.write_off_report TO ar_reader;
