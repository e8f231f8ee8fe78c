-- pgTAP: the French e-invoicing lifecycle (issue 16, item 10).  Statuses
-- are recorded once per invoice, code and time; 207 opens a dispute, 210
-- and 213 stop dunning (the dunning run leaves the invoice out), 205 and
-- 209 resolve the dispute a 207 opened; a late status does not act; the
-- bulk forms (jsonb, CSV file) are all or nothing and name the bad item;
-- each payment of an invoice of services queues one 212, a reversal
-- withdraws it or queues its cancellation; the attention view; companies
-- and roles.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(50);

SELECT results_eq($$SELECT array_agg(code ORDER BY code) FROM ar.einvoice_status_code$$,
	$$SELECT array_agg(g) FROM generate_series(200, 213) g$$, 'the lifecycle codes 200 to 213');
SELECT results_eq($$SELECT array_agg(code ORDER BY code) FROM ar.einvoice_status_code WHERE mandatory$$,
	$$VALUES (ARRAY[200, 210, 212, 213])$$, 'mandatory: Déposée, Refusée, Encaissée, Rejetée');
SELECT throws_ok($$UPDATE ar.einvoice_status_code SET effect = NULL WHERE code = 210$$, '55000', NULL, 'the codes are read-only');
-- a relation with the guard that is not the table (a Citus shard of it:
-- the codes are a reference table of a distributed install): Citus's copy,
-- as a superuser or the extension's owner, goes through; another role is
-- refused as on the table, whatever it sets
CREATE TABLE ar.einvoice_status_code_990001 (LIKE ar.einvoice_status_code);
CREATE TRIGGER einvoice_status_code_read_only BEFORE INSERT OR UPDATE OR DELETE ON ar.einvoice_status_code_990001
	FOR EACH ROW EXECUTE FUNCTION ar._einvoice_status_code_guard();
GRANT INSERT, SELECT ON ar.einvoice_status_code_990001 TO ar_admin;
SELECT lives_ok($$INSERT INTO ar.einvoice_status_code_990001 SELECT * FROM ar.einvoice_status_code$$,
	'a superuser copies the codes into a shard of the table');
SET LOCAL ROLE ar_admin;
SET LOCAL application_name = 'citus_internal gpid=10000000001';
SET LOCAL search_path = pg_temp, public;
SELECT throws_ok($$INSERT INTO ar.einvoice_status_code_990001 SELECT * FROM ar.einvoice_status_code_990001 LIMIT 1$$, '55000',
	'the e-invoicing status codes are shipped with the extension and read-only',
	'ar_admin writing into the shard: refused, even as a Citus internal application_name');
RESET search_path;
RESET application_name;
RESET ROLE;
SELECT throws_ok($$DELETE FROM ar.einvoice_status_code WHERE code = 213$$, '55000', NULL,
	'on the table itself the guard refuses the superuser too');
DROP TABLE ar.einvoice_status_code_990001;

INSERT INTO ar.customer (code, name) VALUES ('EI-1', 'Alpha SA'), ('EI-2', 'Beta SARL');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, nature)
SELECT c.id, v.number, '2026-09-01', '2026-09-30', v.amount, v.nature
  FROM (VALUES ('EI-1', 'EI-S1', 1200.00, 'services'), ('EI-1', 'EI-G1', 500.00, 'goods'),
               ('EI-2', 'EI-G2', 800.00, 'goods'), ('EI-2', 'EI-M2', 300.00, 'mixed'),
               ('EI-2', 'EI-N2', 100.00, NULL), ('EI-2', 'EI-AV', -50.00, 'services'),
               ('EI-2', 'EI-C2', 400.00, 'goods')) v(code, number, amount, nature)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;
SELECT throws_ok($$UPDATE ar.invoice SET nature = 'software' WHERE number = 'EI-S1'$$, '23514', NULL,
	'an invoice is of goods, services or mixed');

-- ------------------------------------------------------------- effects
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-S1'), 200, '2026-09-01 09:00+02')).effect, NULL,
	'200 Déposée: history only');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-S1'), 207, '2026-09-10 10:00+02', 'quantités contestées')).effect,
	'dispute_opened', '207 En litige opens a dispute');
SELECT results_eq($$SELECT d.reason, d.opened_on, i.status FROM ar.dispute d JOIN ar.invoice i ON i.id = d.invoice_id
                     WHERE i.number = 'EI-S1' AND d.resolved_at IS NULL$$,
	$$VALUES ('e-invoicing status 207 En litige: quantités contestées', '2026-09-10'::date, 'disputed')$$,
	'the dispute says the status and its reason, opened on the status''s day: the invoice is disputed');
SELECT is((SELECT count(*) FROM ar.einvoice_status WHERE invoice_id = pg_temp.inv('EI-S1')), 2::bigint, 'two statuses');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-S1'), 207, '2026-09-10 10:00+02', 'again')).reason,
	'quantités contestées', 'the same status reported again returns the one recorded');
SELECT is((SELECT count(*) FROM ar.einvoice_status WHERE invoice_id = pg_temp.inv('EI-S1')), 2::bigint, 'and records nothing');
SELECT is((SELECT count(*) FROM ar.dispute WHERE invoice_id = pg_temp.inv('EI-S1')), 1::bigint, 'nor opens a second dispute');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-S1'), 205, '2026-09-12 10:00+02')).effect, 'dispute_resolved',
	'205 Approuvée resolves the dispute the 207 opened');
SELECT is((SELECT status FROM ar.invoice WHERE number = 'EI-S1'), 'open', 'the invoice is dunned again');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-S1'), 207, '2026-09-11 10:00+02', 'late news')).effect, 'out_of_order',
	'a status older than the latest known is recorded but does not act');
SELECT is((SELECT disputed FROM ar.invoice WHERE number = 'EI-S1'), false, 'no dispute reopened');

SELECT is((ar.record_invoice_status(pg_temp.inv('EI-G1'), 210, '2026-09-05 08:00+02', 'prix non conforme')).effect,
	'dunning_stopped', '210 Refusée stops the dunning of the invoice');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-G1'), 209, '2026-09-06 08:00+02')).effect, NULL,
	'209 does not resolve what a refusal opened');
SELECT is((SELECT disputed FROM ar.invoice WHERE number = 'EI-G1'), true, 'the refused invoice stays out of dunning');
SELECT is((ar.record_invoice_status(pg_temp.inv('EI-AV'), 213, '2026-09-05 08:00+02')).effect, 'not_applicable',
	'a credit note rejected: recorded, nothing to stop');
SELECT throws_ok($$SELECT ar.record_invoice_status(pg_temp.inv('EI-G2'), 214, now())$$, '22023',
	'unknown e-invoicing status code 214', 'an unknown code is refused');
SELECT throws_ok($$SELECT ar.record_invoice_status(pg_temp.inv('EI-G2'), 200, NULL)$$, '22004', NULL, 'a status has a time');
SELECT throws_ok($$SELECT ar.record_invoice_status(-1, 200, now())$$, 'P0002', NULL, 'an unknown invoice is refused');

-- the dunning run leaves refused and rejected invoices out
SELECT ar.record_invoice_status(pg_temp.inv('EI-G2'), 213, '2026-09-02 08:00+02', 'SIREN du destinataire invalide');
SELECT is((SELECT count(*) FROM ar.dispute WHERE invoice_id = pg_temp.inv('EI-G2') AND resolved_at IS NULL), 1::bigint,
	'213 Rejetée: the invoice is excluded as disputed invoices are');

-- --------------------------------------------------------------- bulk
SELECT results_eq($$SELECT item, invoice_number, code, effect FROM ar.record_invoice_statuses(
	'[{"invoice": "EI-M2", "code": 200, "at": "2026-09-01T09:00:00+02:00"},
	  {"invoice": "EI-M2", "code": 208, "at": "2026-09-03T09:00:00+02:00", "reason": "bon de commande manquant"}]'::jsonb)$$,
	$$VALUES (1, 'EI-M2', 200, NULL::text), (2, 'EI-M2', 208, NULL)$$, 'a JSON batch, in order');
SELECT throws_ok($$SELECT * FROM ar.record_invoice_statuses('[{"invoice": "EI-N2", "code": 200, "at": "2026-09-01"},
	{"invoice": "EI-N2", "code": 299, "at": "2026-09-02"}]'::jsonb)$$, '22023', 'e-invoicing status 2: unknown e-invoicing status code 299',
	'a bad item names itself');
SELECT is((SELECT count(*) FROM ar.einvoice_status WHERE invoice_id = pg_temp.inv('EI-N2')), 0::bigint, 'and nothing of the batch is kept');
SELECT throws_ok($$SELECT * FROM ar.record_invoice_statuses('[{"invoice": "NOPE", "code": 200, "at": "2026-09-01"}]')$$,
	'P0002', 'e-invoicing status 1: invoice "NOPE" does not exist', 'an unknown invoice number is named (JSON as text works too)');
SELECT results_eq($$SELECT item, invoice_number, code, effect FROM ar.record_invoice_statuses(
	E'invoice_number;code;status_at;reason\r\nEI-N2;200;2026-09-01T09:00:00+02:00;\r\n\r\nEI-N2;207;2026-09-04T09:00:00+02:00;"Prix ""remisé"" non appliqué; voir avenant"\r\n')$$,
	$$VALUES (2, 'EI-N2', 200, NULL::text), (4, 'EI-N2', 207, 'dispute_opened')$$, 'a CSV status file: items are its lines');
SELECT is((SELECT reason FROM ar.einvoice_status WHERE invoice_id = pg_temp.inv('EI-N2') AND code = 207),
	'Prix "remisé" non appliqué; voir avenant', 'quoted fields keep their separators and quotes');
SELECT throws_ok($$SELECT * FROM ar.record_invoice_statuses(E'invoice_number,code,status_at\nEI-N2,201\n')$$, '22023',
	'status file line 2: 2 fields, the header has 3', 'a short line is named');
SELECT throws_ok($$SELECT * FROM ar.record_invoice_statuses(E'number;code\nEI-N2;201\n')$$, '22023', NULL,
	'a header without the columns is refused');

-- ------------------------------------------------------- 212 outbox
SELECT ar.record_payment('EI-S1', 700.00, '2026-09-20');
SELECT ar.record_payment('EI-G1', 500.00, '2026-09-20');
SELECT ar.record_payment('EI-M2', 300.00, '2026-09-21');
SELECT results_eq($$SELECT i.number, o.kind, o.amount, o.received_on, o.status FROM ar.einvoice_outbox o
                     JOIN ar.invoice i ON i.id = o.invoice_id ORDER BY o.id$$,
	$$VALUES ('EI-S1', 'cashed', 700.00, '2026-09-20'::date, 'pending'), ('EI-M2', 'cashed', 300.00, '2026-09-21', 'pending')$$,
	'each payment of an invoice of services or mixed queues its 212 with the amount and date received; goods do not');
SELECT throws_ok($$INSERT INTO ar.einvoice_outbox (company_id, invoice_id, allocation_id, kind, amount, received_on, currency)
	SELECT company_id, invoice_id, allocation_id, kind, amount, received_on, currency FROM ar.einvoice_outbox LIMIT 1$$,
	'23505', NULL, 'once per payment');
SELECT ar.write_off_invoice(pg_temp.inv('EI-S1'), 'rest not recoverable', '2026-09-25');
SELECT is((SELECT count(*) FROM ar.einvoice_outbox WHERE invoice_id = pg_temp.inv('EI-S1')), 1::bigint, 'a write-off is not cashed');
SELECT is((ar.mark_einvoice_outbox((SELECT min(id) FROM ar.einvoice_outbox), 'sent', 'PA-212-1')).status, 'sent', 'the sender marks it sent');
SELECT is((ar.mark_einvoice_outbox((SELECT min(id) FROM ar.einvoice_outbox), 'sent', 'PA-212-1')).provider_ref, 'PA-212-1',
	'twice is harmless');
SELECT throws_ok($$SELECT ar.mark_einvoice_outbox((SELECT min(id) FROM ar.einvoice_outbox), 'failed')$$, '22023', NULL,
	'a failure needs its reason');
-- reversals: the one sent is cancelled (negative), the one not sent withdrawn
SELECT ar.unallocate(a.id) FROM ar.allocation a WHERE a.method = 'manual' AND a.invoice_id IN (pg_temp.inv('EI-S1'), pg_temp.inv('EI-M2'));
SELECT results_eq($$SELECT i.number, o.kind, o.amount, o.status FROM ar.einvoice_outbox o
                     JOIN ar.invoice i ON i.id = o.invoice_id ORDER BY o.id$$,
	$$VALUES ('EI-S1', 'cashed', 700.00, 'sent'), ('EI-M2', 'cashed', 300.00, 'withdrawn'), ('EI-S1', 'cancelled', -700.00, 'pending')$$,
	'a reversed payment: its 212 cancelled by a negative one if sent, withdrawn if not');
SELECT ar.mark_einvoice_outbox(id, 'sent', 'PA-212-2') FROM ar.einvoice_outbox WHERE invoice_id = pg_temp.inv('EI-M2');
SELECT results_eq($$SELECT o.kind, o.amount, o.status FROM ar.einvoice_outbox o
                     WHERE o.invoice_id = pg_temp.inv('EI-M2') ORDER BY o.id$$,
	$$VALUES ('cashed', 300.00, 'sent'), ('cancelled', -300.00, 'pending')$$,
	'withdrawn while the sender was sending it: marked sent, and its cancellation queued');
SELECT ar.record_payment('EI-M2', 300.00, '2026-09-28');
SELECT is((SELECT count(*) FROM ar.einvoice_outbox WHERE invoice_id = pg_temp.inv('EI-M2') AND status = 'pending'
              AND kind = 'cashed'), 1::bigint,
	'paid again: a new 212');

-- ----------------------------------------------------------- attention
SELECT ar.record_invoice_status(pg_temp.inv('EI-N2'), 211, '2026-09-10 09:00+02');
SELECT results_eq($$SELECT number, last_code, attention, unsent_212 FROM ar.einvoice_attention ORDER BY number$$,
	$$VALUES ('EI-AV', 213, 'rejected', 0::bigint), ('EI-G2', 213, 'rejected', 0), ('EI-M2', 208, 'cashed_status_unsent', 2),
	         ('EI-N2', 211, 'payment_announced', 0), ('EI-S1', 205, 'cashed_status_unsent', 1)$$,
	'what needs attention: rejected (a credit note too: to issue again), payment announced but open, 212 not sent (the refused one was completed since)');

-- the dunning run leaves the rejected invoice out, not its neighbour
SET LOCAL client_min_messages = error;  -- no reference rates of 2026 in the tests: penalties not stated
CREATE TEMP TABLE dry AS SELECT * FROM ar.run_dunning('2026-11-15', true);
RESET client_min_messages;
SELECT is((SELECT count(*) FROM dry WHERE pg_temp.inv('EI-C2') = ANY (invoice_ids)), 1::bigint,
	'the dunning run reminds the customer of its invoice without status');
SELECT is((SELECT count(*) FROM dry WHERE pg_temp.inv('EI-G2') = ANY (invoice_ids)), 0::bigint,
	'but not of the invoice its platform rejected (213)');

-- ------------------------------------------------------- roles, companies
INSERT INTO ar.company (code, name) VALUES ('EI_B', 'Company B');
SELECT pg_temp.inv('EI-G2') AS g2 \gset
CREATE ROLE ei_coll_b IN ROLE ar_collector;
CREATE ROLE ei_reader IN ROLE ar_reader;
SELECT ar.grant_company_access('ei_coll_b', 'EI_B', 'collector');
SELECT ar.grant_company_access('ei_reader', 'DEFAULT', 'reader');
SET LOCAL ROLE ei_coll_b;
SELECT throws_ok(format($$SELECT ar.record_invoice_status(%s, 200, now())$$, :g2), '42501',
	'role "ei_coll_b" may not act as collector for company "DEFAULT"', 'a collector of another company is refused');
SELECT throws_ok($$SELECT * FROM ar.record_invoice_statuses('[{"invoice": "EI-G2", "code": 200, "at": "2026-09-01"}]'::jsonb)$$,
	'P0002', NULL, 'and does not even find its invoices by number');
RESET ROLE;
SET LOCAL ROLE ei_reader;
SELECT is((SELECT count(*) FROM ar.einvoice_attention), 5::bigint, 'a reader sees what needs attention');
SELECT throws_ok(format($$SELECT ar.record_invoice_status(%s, 200, now())$$, :g2), '42501', NULL,
	'but records no status');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
