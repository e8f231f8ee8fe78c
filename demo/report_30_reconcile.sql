-- Reconciliation of the demo's bank lines (psql script, run by tools/demo.sh
-- after demo/report.sql): the match rate by method, what the matcher got
-- right against the truth the statement generator kept (step 30), the
-- review queue a credit manager works through, and the anomalies.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off

SELECT EXISTS (SELECT 1 FROM ar.reconcile_line) AS reconciled,
       to_regclass('ar_demo.bank_line_truth') IS NOT NULL AS has_truth,
       (SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1) AS as_of \gset
\if :reconciled

\echo
\echo '=== Reconciliation: credit lines (and direct-debit returns) by decision and method'
\echo
SELECT r.outcome AS "decision", coalesce(r.method, '-') AS "method", count(*) AS "lines",
       sum(t.amount)::numeric(16,2) AS "amount (EUR)",
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS "% of lines",
       round(avg(r.score)::numeric, 2) AS "avg score"
  FROM ar.reconcile_line r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id
 WHERE (t.amount > 0 OR r.method = 'return') AND t.currency = 'EUR'
 GROUP BY r.outcome, r.method
 ORDER BY CASE r.outcome WHEN 'applied' THEN 1 WHEN 'accepted' THEN 2 WHEN 'proposed' THEN 3 ELSE 4 END, count(*) DESC;

\if :has_truth
\echo '=== Against what each generated line really pays (ar_demo.bank_line_truth, step 30)'
\echo
WITH judged AS (
	SELECT b.situation, r.outcome,
	       b.invoice_numbers IS NOT NULL AND b.situation NOT IN ('unrelated', 'debit') AS payable,
	       (SELECT array_agg(DISTINCT i.number ORDER BY i.number)
	          FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
	         WHERE a.bank_transaction_id = t.id AND a.method <> 'credit_note') AS got,
	       (SELECT array_agg(x ORDER BY x) FROM unnest(b.invoice_numbers) x) AS truth
	  FROM ar_demo.bank_line_truth b
	  JOIN ar.bank_transaction t ON t.end_to_end_id = b.end_to_end_id
	  LEFT JOIN ar.reconcile_line r ON r.bank_transaction_id = t.id
	 WHERE b.situation <> 'return'     -- debits: in the table above
), graded AS (
	-- right: the invoices it pays, or those of them still open when an
	-- invoice it names had been paid already (the rest is customer credit)
	SELECT j.*, got = truth OR (got <@ truth AND NOT EXISTS (SELECT 1 FROM ar.invoice i
	                                                         WHERE i.number = ANY (truth) AND NOT i.number = ANY (got)
	                                                           AND i.open_amount <> 0)) AS right_one
	  FROM judged j
)
SELECT situation AS "situation", count(*) AS "lines",
       count(*) FILTER (WHERE outcome = 'applied') AS "applied",
       count(*) FILTER (WHERE outcome = 'applied' AND right_one) AS "applied right",
       count(*) FILTER (WHERE outcome = 'proposed') AS "proposed",
       CASE WHEN bool_or(payable) THEN round(100.0 * count(*) FILTER (WHERE outcome = 'applied' AND right_one) / count(*), 1)::text
            ELSE '-' END AS "% applied right"
  FROM graded
 GROUP BY situation
 ORDER BY situation;
\endif

\echo '=== Review queue: proposals waiting for a decision, best first (top 15)'
\echo
SELECT q.proposal_id AS "proposal", q.booking_date AS "booked", q.amount::numeric(16,2) AS "amount",
       left(coalesce(q.counterparty_name, '?'), 24) AS "payer", q.method AS "method", q.score AS "score",
       coalesce(q.customer_code, '-') AS "customer", coalesce(array_to_string(q.invoice_numbers, ' '), '-') AS "invoices",
       left(q.summary, 70) AS "why"
  FROM ar.review_queue q
 WHERE q.rank = 1
 ORDER BY q.score DESC, q.bank_transaction_id
 LIMIT 15;
SELECT count(*) AS "lines waiting for review", count(*) FILTER (WHERE rank = 1 AND score >= 0.8) AS "with a strong candidate"
  FROM ar.review_queue WHERE rank = 1;

\echo '=== Anomalies (ar.reconcile_anomalies on the demo date)'
\echo
SELECT a.kind AS "kind", count(*) AS "lines", sum(a.amount)::numeric(16,2) AS "amount",
       (array_agg(a.detail ORDER BY a.bank_transaction_id))[1] AS "for example"
  FROM ar.reconcile_anomalies(NULL, :'as_of') a
 GROUP BY a.kind
 ORDER BY count(*) DESC;
\endif

\echo
\echo '=== Write-offs (ar.write_off_report): every amount closed without a payment, active or reversed'
\echo '    (short payments beyond the write-off limit stay open: amount_mismatch above)'
\echo
SELECT w.kind AS "kind", w.status AS "status", count(*) AS "invoices", coalesce(sum(w.amount), 0)::numeric(16,2) AS "amount",
       (array_agg(w.invoice_number || ': ' || w.reason ORDER BY w.written_off_on DESC))[1] AS "latest, with its reason"
  FROM ar.write_off_report w
 GROUP BY w.kind, w.status
 ORDER BY w.kind, w.status;
SELECT count(*) AS "write-offs", coalesce(sum(amount), 0)::numeric(16,2) AS "amount written off (active)",
       (SELECT coalesce(write_off_limit, 0) FROM ar.reconcile_config ORDER BY company_id LIMIT 1) AS "write-off limit"
  FROM ar.write_off_report WHERE status = 'active';
