-- The e-invoicing lifecycle on the demo ledger (demo/steps/86_einvoicing.sql):
-- the statuses known, what needs the credit manager, the 212 statuses to send.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off

\echo
\echo '=== E-invoicing: latest status of the invoices since the reform'
\echo
SELECT l.code AS "code", c.name_fr AS "status", count(*) AS "invoices", sum(i.open_amount)::numeric(16,2) AS "open"
  FROM (SELECT DISTINCT ON (s.invoice_id) s.invoice_id, s.code FROM ar.einvoice_status s
         ORDER BY s.invoice_id, s.status_at DESC, s.id DESC) l
  JOIN ar.invoice i ON i.id = l.invoice_id
  JOIN ar.einvoice_status_code c ON c.code = l.code
 GROUP BY l.code, c.name_fr ORDER BY l.code;

\echo '=== Needs attention (ar.einvoice_attention)'
\echo
SELECT number AS "invoice", customer_code AS "customer", nature AS "nature", open_amount::numeric(16,2) AS "open",
       last_code AS "code", attention AS "attention", left(coalesce(last_reason, ''), 40) AS "reason", action AS "what to do"
  FROM ar.einvoice_attention ORDER BY attention, number LIMIT 15;

\echo '=== 212 "Encaissée" outbox (ar.einvoice_outbox)'
\echo
SELECT kind AS "kind", status AS "status", count(*) AS "rows", sum(amount)::numeric(16,2) AS "amount"
  FROM ar.einvoice_outbox GROUP BY kind, status ORDER BY kind, status;
