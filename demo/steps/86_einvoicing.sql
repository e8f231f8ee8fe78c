-- Demo step 86 (e-invoicing, doc/einvoicing.md): the invoices issued since
-- the reform (1 September 2026) get a nature, their platform reports their
-- lifecycle (deposited, made available; a few disputed, refused, rejected,
-- suspended, paid by the buyer's word), and three invoices of services are
-- paid today: their 212 "Encaissée" statuses are queued, one is sent
-- (demo/report_86_einvoicing.sql shows what needs attention).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

UPDATE ar.invoice SET nature = (ARRAY['goods', 'services', 'mixed'])[1 + id % 3]
 WHERE issue_date >= DATE '2026-09-01' AND nature IS NULL;

-- the platform's statuses, as one batch: 200 and 203 for every invoice, then
-- the buyers' answers on some of the open ones
WITH reformed AS (
	SELECT i.number, i.issue_date, i.open_amount, i.due_date,
	       row_number() OVER (ORDER BY i.due_date, i.id) AS n
	  FROM ar.invoice i
	 WHERE i.issue_date >= DATE '2026-09-01' AND i.amount > 0 AND i.cancelled_on IS NULL
), answers(n, code, reason) AS (
	VALUES (1, 207, 'quantités livrées contestées'), (2, 207, 'prix unitaire différent du devis'),
	       (3, 210, 'commande annulée'), (4, 213, 'SIREN du destinataire inconnu de l''annuaire'),
	       (5, 208, 'numéro de bon de commande manquant'), (6, 211, NULL), (7, 211, NULL)
), items AS (
	SELECT r.number, 200 AS code, r.issue_date + time '09:00' AS at, NULL::text AS reason FROM reformed r
	UNION ALL
	SELECT r.number, 203, r.issue_date + time '09:30', NULL FROM reformed r
	UNION ALL
	SELECT r.number, a.code, least(r.due_date, :'demo_as_of'::date - 1) + time '14:00', a.reason
	  FROM (SELECT x.*, row_number() OVER (ORDER BY x.n) AS k FROM reformed x WHERE x.open_amount > 0) r
	  JOIN answers a ON a.n = r.k
)
SELECT code AS "status", count(*) AS "recorded", count(*) FILTER (WHERE effect IS NOT NULL) AS "acted",
       string_agg(DISTINCT effect, ', ') AS "effects"
  FROM ar.record_invoice_statuses((SELECT jsonb_agg(jsonb_build_object('invoice', number, 'code', code, 'at', at,
                                                                       'reason', reason) ORDER BY at, number)
                                     FROM items))
 GROUP BY code ORDER BY code;

-- three invoices of services paid today: 212 queued; the first one sent
SELECT count(ar.record_payment(i.number, i.open_amount, :'demo_as_of'::date, 'transfer')) AS "services invoices paid"
  FROM (SELECT i.number, i.open_amount FROM ar.invoice i
         WHERE i.nature = 'services' AND i.open_amount > 0 AND NOT i.disputed ORDER BY i.due_date, i.id LIMIT 3) i;
SELECT (ar.mark_einvoice_outbox(min(id), 'sent', 'PA-212-DEMO-1')).status AS "first 212"
  FROM ar.einvoice_outbox WHERE status = 'pending';
