-- pgTAP: credit control (issue 16, item 3).  "Can we ship?": the credit
-- limit, the exposure (open invoices and credit notes in the company's
-- currency less unapplied credit), what is available and overdue, and
-- every reason orders are blocked (a manual block, the limit exceeded, an
-- invoice overdue beyond the company's days, a legal handoff); manual
-- blocks set by collectors, lifted by admins, audited; the alerts of
-- customers over or near their limit; another company's roles see none
-- of it.
BEGIN;
CREATE EXTENSION ar_collect;
SET LOCAL client_min_messages = warning;
SELECT plan(38);

CREATE ROLE cc_coll IN ROLE ar_collector;
CREATE ROLE cc_admin IN ROLE ar_admin;
CREATE ROLE cc_reader IN ROLE ar_reader;
CREATE ROLE cc_other IN ROLE ar_admin;
INSERT INTO ar.company (code, name) VALUES ('CC_B', 'Company B');
SELECT ar.grant_company_access('cc_coll', 'DEFAULT', 'collector');
SELECT ar.grant_company_access('cc_admin', 'DEFAULT', 'admin');
SELECT ar.grant_company_access('cc_reader', 'DEFAULT', 'reader');
SELECT ar.grant_company_access('cc_other', 'CC_B', 'admin');

INSERT INTO ar.customer (company_id, code, name, credit_limit)
SELECT co.id, v.code, v.name, v.credit_limit
  FROM (VALUES ('DEFAULT', 'K1', 'Within', 10000), ('DEFAULT', 'K2', 'Near', 2000), ('DEFAULT', 'K3', 'Over', 1000),
               ('DEFAULT', 'K4', 'No limit', NULL), ('DEFAULT', 'K5', 'Zero limit', 0), ('CC_B', 'KB', 'Other', 500))
       v(company, code, name, credit_limit)
  JOIN ar.company co ON co.code = v.company;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount, currency)
SELECT c.company_id, c.id, v.number, v.issued::date, v.due::date, v.amount, v.currency
  FROM (VALUES ('K1', 'K1-1', '2026-01-01', '2026-01-31', 3000.00, 'EUR'),
               ('K1', 'K1-2', '2026-03-01', '2026-03-31', 1500.55, 'EUR'),
               ('K1', 'K1-AV', '2026-03-05', '2026-03-05', -500.00, 'EUR'),
               ('K1', 'K1-USD', '2026-01-01', '2026-01-31', 9999.00, 'USD'),
               ('K2', 'K2-1', '2026-03-01', '2026-04-15', 1850.00, 'EUR'),
               ('K3', 'K3-1', '2026-02-01', '2026-03-03', 1200.00, 'EUR'),
               ('K4', 'K4-1', '2026-01-01', '2026-01-31', 100000.00, 'EUR'),
               ('K5', 'K5-1', '2026-03-01', '2026-03-31', 0.01, 'EUR'),
               ('KB', 'KB-1', '2026-01-01', '2026-01-31', 800.00, 'EUR')) v(code, number, issued, due, amount, currency)
  JOIN ar.customer c ON c.code = v.code;
SELECT id AS k1 FROM ar.customer WHERE code = 'K1' \gset
SELECT id AS k2 FROM ar.customer WHERE code = 'K2' \gset
SELECT id AS k3 FROM ar.customer WHERE code = 'K3' \gset
SELECT id AS k4 FROM ar.customer WHERE code = 'K4' \gset
SELECT id AS kb FROM ar.customer WHERE code = 'KB' \gset
SELECT ar.record_payment('K1-1', 1000.00, '2026-03-10');
-- an overpayment leaves 250.00 of customer credit on K1
SELECT ar.record_payment('K1-2', 1750.55, '2026-03-12');

-- ------------------------------------------------------------ status
SELECT results_eq(format($$SELECT customer_code, currency, credit_limit, exposure, available, overdue_amount,
                                  oldest_overdue_days, order_blocked, reasons
                             FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k1),
	$$VALUES ('K1', 'EUR'::char(3), 10000::numeric, 1250.00, 8750.00, 2000.00, 48, false, '{}'::text[])$$,
	'within its limit: exposure = 2000.00 + 0 (K1-2 paid) - 500.00 (credit note) - 250.00 (customer credit); dollars not counted');
SELECT results_eq(format($$SELECT exposure, overdue_amount, oldest_overdue_days FROM ar.customer_credit_status(%s, '2026-03-01')$$, :k1),
	$$VALUES (4500.55, 3000.00, 29)$$, 'as it stood on an earlier date (before the payments and the credit note)');
SELECT results_eq(format($$SELECT order_blocked, reasons FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k3),
	$$VALUES (true, ARRAY['credit limit exceeded: exposure 1,200.00 EUR over the limit 1,000.00 EUR'])$$,
	'over its limit: blocked, and why');
SELECT results_eq(format($$SELECT credit_limit, available, order_blocked, reasons FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k4),
	$$VALUES (NULL::numeric, NULL::numeric, false, '{}'::text[])$$,
	'no limit: nothing available to compute, not blocked (overdue 48 days, within 60)');
SELECT results_eq(format($$SELECT order_blocked, reasons FROM ar.customer_credit_status(%s, '2026-04-01')$$, :k4),
	$$VALUES (false, '{}'::text[])$$,
	'overdue by exactly 60 days: not yet blocked');
SELECT results_eq(format($$SELECT order_blocked, reasons FROM ar.customer_credit_status(%s, '2026-04-02')$$, :k4),
	$$VALUES (true, ARRAY['overdue beyond 60 days: 100,000.00 EUR overdue, the oldest invoice by 61 days'])$$,
	'an invoice overdue beyond 60 days blocks orders');
INSERT INTO ar.collection_settings (company_id, order_block_overdue_days) VALUES (ar.default_company(), 45);
SELECT results_eq(format($$SELECT reasons FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k4),
	$$VALUES (ARRAY['overdue beyond 45 days: 100,000.00 EUR overdue, the oldest invoice by 48 days'])$$,
	'the company''s own number of days');
DELETE FROM ar.collection_settings;
SELECT throws_ok($$SELECT * FROM ar.customer_credit_status(-1)$$, 'P0002', NULL, 'an unknown customer is reported');
SELECT throws_ok(format($$SELECT * FROM ar.customer_credit_status(%s, '9999-01-01')$$, :k1), '22008', NULL, 'a date beyond the bounds is refused');

-- ------------------------------------------------------ manual blocks
SET LOCAL ROLE cc_coll;
SELECT ok(ar.set_order_block(:k1, true, 'cheque returned unpaid') IS NOT NULL, 'a collector blocks a customer''s orders');
SELECT results_eq(format($$SELECT order_blocked, reasons FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k1),
	format($$VALUES (true, ARRAY['manual block since %s: cheque returned unpaid'])$$, current_date),
	'the block is a reason');
SELECT is(ar.set_order_block(:k1, true, 'again'), (SELECT id FROM ar.order_block), 'blocking again keeps the block');
SELECT is((SELECT next_action FROM ar.worklist('2026-03-20') WHERE kind = 'credit_limit' AND customer_code = 'K3'),
	'Hold new orders (ar.set_order_block) until paid down, or review the limit', 'the work list asks to block a customer over its limit');
SELECT throws_ok(format($$SELECT ar.set_order_block(%s, false, 'paid')$$, :k1), '42501', NULL, 'a collector does not lift it');
SELECT throws_ok(format($$SELECT ar.set_order_block(%s, true, ' ')$$, :k2), '22023', NULL, 'a reason is required');
SELECT throws_ok(format($$SELECT ar.set_order_block(%s, true, E'a\nb')$$, :k2), '22023', NULL, 'a reason with a control character is refused');
SELECT throws_ok(format($$SELECT ar.set_order_block(%s, true, 'x')$$, :kb), '42501', NULL, 'another company''s customer is refused');
RESET ROLE;
SET LOCAL ROLE cc_admin;
SELECT results_eq(format($$SELECT ar.set_order_block(%s, false, 'cheque replaced by a transfer')$$, :k1),
	$$SELECT id FROM ar.order_block$$, 'an admin lifts it');
SELECT is(ar.set_order_block(:k1, false, 'nothing to lift'), NULL, 'lifting again finds nothing');
RESET ROLE;
SELECT results_eq($$SELECT reason, blocked_by, lift_reason, lifted_by FROM ar.order_block$$,
	$$VALUES ('cheque returned unpaid', 'cc_coll', 'cheque replaced by a transfer', 'cc_admin')$$, 'who blocked and lifted, and why');
SELECT is((SELECT array_agg(operation ORDER BY id) FROM ar.audit_log WHERE table_name = 'order_block'), '{INSERT,UPDATE}'::text[],
	'audited');
SELECT results_eq($$SELECT kind, summary FROM ar.communication WHERE kind LIKE 'order_block%' ORDER BY id$$,
	$$VALUES ('order_block', 'Orders blocked: cheque returned unpaid'),
	         ('order_block_lifted', 'Order block ' || (SELECT id FROM ar.order_block) || ' lifted: cheque replaced by a transfer')$$,
	'and in the timeline');
SELECT is((SELECT order_blocked FROM ar.customer_credit_status(:k1, '2026-03-20')), false, 'lifted: orders go through');
SELECT ar.set_order_block(:k3, true, 'over the limit');
SELECT is((SELECT next_action FROM ar.worklist('2026-03-20') WHERE kind = 'credit_limit' AND customer_code = 'K3'),
	format('Orders blocked since %s: get the account paid down below the limit, then lift the block', current_date),
	'and, once blocked, to get it paid down');
SELECT ar.set_order_block(:k3, false, 'test over');
SELECT throws_ok($$INSERT INTO ar.order_block (company_id, customer_id, reason)
                   SELECT company_id, id, r FROM ar.customer, unnest('{x,y}'::text[]) r WHERE code = 'K2'$$, '23505', NULL,
	'one active block per customer');

-- ---------------------------------------------------------- handoff
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, as_of, company_id,
                              currency, policy_id, cycle, language)
SELECT c.id, 5, 'legal handoff (injonction de payer)', 'task', 'text', ARRAY[i.id], 1200.00, '2026-03-15', c.company_id, 'EUR',
       (SELECT id FROM ar.dunning_policy WHERE code = 'FR_STANDARD'), 1, 'en'
  FROM ar.customer c JOIN ar.invoice i ON i.customer_id = c.id WHERE c.code = 'K3'
RETURNING id AS handoff \gset
INSERT INTO ar.dunning_account (customer_id, currency, cycle, level, last_notice_id, last_notice_on, company_id)
SELECT :k3, 'EUR', 1, 5, :handoff, '2026-03-15', c.company_id FROM ar.customer c WHERE c.id = :k3;
SELECT results_eq(format($$SELECT reasons FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k3),
	format($$VALUES (ARRAY['credit limit exceeded: exposure 1,200.00 EUR over the limit 1,000.00 EUR',
	                       'legal handoff: legal handoff (injonction de payer) on 2026-03-15 (notice %s)'])$$, :handoff),
	'an account handed to legal: every reason listed');
UPDATE ar.dunning_account SET cycle = 2 WHERE customer_id = :k3;
SELECT is(cardinality((SELECT reasons FROM ar.customer_credit_status(:k3, '2026-03-20'))), 1,
	'a handoff of a closed dunning cycle no longer counts');

-- ------------------------------------------------------------ alerts
SELECT results_eq($$SELECT customer_code, credit_limit, exposure, available, used_percent, alert
                     FROM ar.credit_limit_alerts_on('2026-03-20') WHERE company_code = 'DEFAULT'$$,
	$$VALUES ('K3', 1000::numeric, 1200.00, -200.00, 120.0, 'exceeded'),
	         ('K5', 0, 0.01, -0.01, NULL, 'exceeded'),
	         ('K2', 2000, 1850.00, 150.00, 92.5, 'near')$$,
	'alerts: over the limit (largest excess first), a limit of 0, then those at 90 % or more');
INSERT INTO ar.collection_settings (company_id, credit_alert_percent) VALUES (ar.default_company(), 95);
SELECT is((SELECT count(*) FROM ar.credit_limit_alerts_on('2026-03-20') WHERE alert = 'near'), 0::bigint,
	'at 95 %, 92.5 % is not near');
SELECT is((SELECT count(*) FROM ar.credit_limit_alerts_on('2026-01-15') WHERE company_code = 'DEFAULT'), 0::bigint,
	'before the invoices, no alert');
SELECT ok((SELECT count(*) FROM ar.credit_limit_alerts WHERE customer_code = 'K3') = 1, 'ar.credit_limit_alerts is today''s');

-- --------------------------------------- one company's exposure (issue 14)
SELECT results_eq($$SELECT * FROM ar._credit_exposure('2026-03-20', NULL, ar.default_company()) ORDER BY customer_id$$,
	$$SELECT * FROM ar._credit_exposure('2026-03-20') WHERE company_id = ar.default_company() ORDER BY customer_id$$,
	'the exposure of one company: its customers'' rows of every company''s');
SELECT is(ar._for_company('SELECT 1 FROM ar.invoice i JOIN ar.invoice_x x ON true JOIN ar.customer_credit cc ON true', 2),
	'SELECT 1 FROM (SELECT * FROM ar.invoice /*routed*/ WHERE $2::bigint IS NULL OR company_id = $2) i JOIN ar.invoice_x x ON true '
	'JOIN (SELECT * FROM ar.customer_credit /*routed*/ WHERE $2::bigint IS NULL OR company_id = $2) cc ON true',
	'ar._for_company reads each company table a text names ("ar.table alias") for company $n, no other');
SELECT is(ar._for_company(ar._for_company(ar._credit_exposure_query(), 3), 3), ar._for_company(ar._credit_exposure_query(), 3),
	'and a text once read for the company is left as it is');

-- ---------------------------------------------------------- tenancy
SET LOCAL ROLE cc_other;
SELECT throws_ok(format($$SELECT * FROM ar.customer_credit_status(%s)$$, :k1), 'P0002', NULL,
	'another company''s admin cannot see this one''s customers');
SELECT results_eq($$SELECT customer_code, alert FROM ar.credit_limit_alerts_on('2026-03-20')$$, $$VALUES ('KB', 'exceeded')$$,
	'and sees only its own alerts');
RESET ROLE;
SET LOCAL ROLE cc_reader;
SELECT results_eq(format($$SELECT exposure, order_blocked FROM ar.customer_credit_status(%s, '2026-03-20')$$, :k2),
	$$VALUES (1850.00, false)$$, 'a reader asks whether we can ship');
SELECT throws_ok(format($$SELECT ar.set_order_block(%s, true, 'x')$$, :k2), '42501', NULL, 'but does not block');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
