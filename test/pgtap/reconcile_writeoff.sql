-- pgTAP: no silent write-off.  A short payment is applied for what it is
-- and the rest stays open, unless it is within the company's write-off
-- limit (0 by default); a payment announced as a deposit or an instalment
-- is never closed by a tolerance; whatever is closed without a payment is
-- a write-off (written_off_amount, reason, who), shown in the anomalies and
-- in ar.write_off_report, and can be reversed (audited).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(38);

INSERT INTO ar.customer (code, name) VALUES ('WO1', 'Dupont Industries'), ('WO2', 'Lefevre Freres');
INSERT INTO ar.customer_bank_account (customer_id, iban)
SELECT id, CASE code WHEN 'WO1' THEN 'FR7630006000011234567890189' ELSE 'DE89370400440532013000' END FROM ar.customer;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, '2026-01-10', '2026-02-10', v.amount
  FROM (VALUES ('WO1', 'WO-0001', 10000.00), ('WO1', 'WO-0002', 5000.00), ('WO1', 'WO-0003', 1000.00),
               ('WO2', 'WO-0101', 800.00), ('WO2', 'WO-0102', 800.00), ('WO2', 'WO-0103', 800.00),
               ('WO2', 'WO-0104', 800.00), ('WO2', 'WO-0105', 800.00), ('WO2', 'WO-0106', 800.00),
               ('WO2', 'WO-0107', 800.00), ('WO2', 'WO-0108', 800.00), ('WO2', 'WO-0109', 800.00),
               ('WO2', 'WO-0110', 800.00), ('WO1', 'WO-0201', 2000.00), ('WO1', 'WO-0202', 3000.00)) v(code, number, amount)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS ar.invoice LANGUAGE sql AS $$ SELECT * FROM ar.invoice WHERE number = n $$;
CREATE FUNCTION pg_temp.line(iban text, amount numeric, remittance text) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info)
	VALUES ('2026-02-12', amount, 'PAYER', iban, remittance) RETURNING id $$;

--------------------------------------------------------------------------
-- Defaults: a short payment leaves the difference open
--------------------------------------------------------------------------
SELECT pg_temp.line('FR7630006000011234567890189', 9700.00, 'Facture WO-0001') AS l1 \gset
SELECT pg_temp.line('FR7630006000011234567890189', 4850.00, 'ACOMPTE WO-0002') AS l2 \gset
SELECT pg_temp.line('FR7630006000011234567890189', 999.60, 'WO-0003') AS l3 \gset
CREATE TEMP TABLE run1 AS SELECT * FROM ar.reconcile();
SELECT is((SELECT write_off_limit FROM ar.reconcile_config WHERE company_id = ar.default_company()), 0::numeric,
	'the write-off limit of a company is 0 by default');
SELECT results_eq($$SELECT open_amount, written_off_amount, status FROM ar.invoice WHERE number = 'WO-0001'$$,
	$$VALUES (300.00, 0::numeric, 'partially_paid')$$,
	'10,000.00 paid 9,700.00: the payment is applied and 300.00 stays open, nothing written off');
SELECT ok((SELECT applied AND method = 'reference_shortfall' FROM run1 WHERE bank_transaction_id = :l1),
	'the payment is still recognised as that invoice''s (a shortfall within the matching tolerance)');
SELECT is((SELECT count(*)::integer FROM ar.allocation WHERE method IN ('shortfall', 'write_off')), 0,
	'no allocation closes anything without a payment');
SELECT is((SELECT detail FROM ar.reconcile_anomaly WHERE kind = 'amount_mismatch' AND invoice_id = (pg_temp.inv('WO-0001')).id),
	'paid 9700.00 for invoice WO-0001 of 10000.00, 300.00 still open', 'the short payment is an anomaly naming what is left open');
SELECT is((SELECT explanation -> 'amount' ->> 'shortfall_left_open' FROM ar.reconcile_line WHERE bank_transaction_id = :l1),
	'300.00', 'its explanation says what was left open');
SELECT results_eq($$SELECT open_amount, status FROM ar.invoice WHERE number IN ('WO-0002', 'WO-0003') ORDER BY number$$,
	$$VALUES (150.00, 'partially_paid'), (0.40, 'partially_paid')$$,
	'a deposit (ACOMPTE) and a payment short by 0.40 leave their difference open too');
SELECT is((SELECT explanation ->> 'instalment_announced' FROM ar.reconcile_line WHERE bank_transaction_id = :l2),
	'ACOMPTE', 'the deposit is recognised as announced by its text');

--------------------------------------------------------------------------
-- A write-off limit: within it a shortfall is written off, and shown
--------------------------------------------------------------------------
UPDATE ar.reconcile_config SET write_off_limit = 1.00 WHERE company_id = ar.default_company();
-- instalment words (and a fraction) never close by tolerance, a date does not count as one
CREATE TEMP TABLE texts AS
SELECT n, t, pg_temp.line('DE89370400440532013000', 799.60, t || ' WO-01' || lpad(n::text, 2, '0')) AS line_id
  FROM (VALUES (1, 'acompte'), (2, 'Avance sur'), (3, 'paiement partiel'), (4, 'echeance 1/3'), (5, 'deposit'),
               (6, 'Instalment 2 of'), (7, 'Anzahlung'), (8, 'Teilzahlung'), (9, 'du 12/03/2026'), (10, 'Facture')) v(n, t);
SELECT pg_temp.line('FR7630006000011234567890189', 1998.50, 'WO-0201') AS l4 \gset
CREATE TEMP TABLE run2 AS SELECT * FROM ar.reconcile();
SELECT results_eq($$SELECT i.number, i.open_amount, i.written_off_amount FROM texts x JOIN ar.invoice i ON i.number = 'WO-01' || lpad(x.n::text, 2, '0') ORDER BY x.n$$,
	$$VALUES ('WO-0101', 0.40, 0::numeric), ('WO-0102', 0.40, 0), ('WO-0103', 0.40, 0), ('WO-0104', 0.40, 0), ('WO-0105', 0.40, 0),
	         ('WO-0106', 0.40, 0), ('WO-0107', 0.40, 0), ('WO-0108', 0.40, 0), ('WO-0109', 0.00, 0.40), ('WO-0110', 0.00, 0.40)$$,
	'within the limit a shortfall is written off, never when the text announces a deposit or an instalment (acompte, avance, partiel, 1/3, deposit, instalment, Anzahlung, Teilzahlung); a date is no instalment');
SELECT is((SELECT count(*)::integer FROM texts x JOIN ar.reconcile_line r ON r.bank_transaction_id = x.line_id
            WHERE x.n <= 8 AND r.method = 'reference_partial' AND r.outcome = 'applied'
              AND r.explanation -> 'amount' ->> 'rule' = 'instalment'), 8,
	'an announced instalment is applied as a partial payment');
SELECT results_eq($$SELECT open_amount, written_off_amount, status FROM ar.invoice WHERE number = 'WO-0201'$$,
	$$VALUES (1.50, 0::numeric, 'partially_paid')$$, 'a shortfall beyond the limit (1.50 > 1.00) stays open');
SELECT results_eq($$SELECT i.status, a.method, a.amount, a.created_by = session_user FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
                    WHERE i.number = 'WO-0110' AND a.bank_transaction_id IS NULL$$,
	$$VALUES ('written_off', 'shortfall', 0.40, true)$$,
	'a shortfall written off is an allocation of method shortfall, in written_off_amount, by the session user');
SELECT results_eq($$SELECT kind, amount, status, bank_transaction_id, reason FROM ar.write_off_report WHERE invoice_number = 'WO-0110'$$,
	$$SELECT 'shortfall', 0.40, 'active', line_id,
	         format('shortfall of 0.40 on bank transaction %s written off: within the write-off limit of 1.00 (ar.reconcile run %s)',
	                line_id, (SELECT max(id) FROM ar.reconcile_run))
	    FROM texts WHERE n = 10$$,
	'the write-off report shows it with its reason: the bank line, the limit and the run');
SELECT is((SELECT count(*)::integer FROM ar.reconcile_anomaly WHERE kind = 'write_off' AND invoice_id IN ((pg_temp.inv('WO-0109')).id, (pg_temp.inv('WO-0110')).id)),
	2, 'each write-off is an anomaly');
SELECT ok((SELECT explanation ->> 'summary' LIKE '%shortfall 0.40 written off%' FROM ar.reconcile_line r JOIN texts x ON x.line_id = r.bank_transaction_id WHERE x.n = 10),
	'the line''s summary says what it wrote off');
SELECT is_empty('SELECT * FROM ar.check_ledger()', 'the ledger agrees with its allocations');

--------------------------------------------------------------------------
-- Reversal
--------------------------------------------------------------------------
SELECT allocation_id AS wo10 FROM ar.write_off_report WHERE invoice_number = 'WO-0110' \gset
SELECT throws_ok(format('SELECT ar.reverse_write_off(%s, '' '')', :wo10), '22023', 'reversing a write-off needs a reason',
	'a reversal needs a reason');
SELECT throws_ok(format('SELECT ar.reverse_write_off(%s, ''x'')', (SELECT id FROM ar.allocation WHERE bank_transaction_id = :l1)), '22023',
	format('allocation %s is a reference_shortfall, not a write-off', (SELECT id FROM ar.allocation WHERE bank_transaction_id = :l1)),
	'a payment is not a write-off');
SET LOCAL ROLE ar_collector;
SELECT is(ar.reverse_write_off(:wo10, 'the customer pays the bank charges'), 0.40, 'ar_collector reverses a write-off: the amount reopened');
RESET ROLE;
SELECT results_eq($$SELECT open_amount, written_off_amount, status FROM ar.invoice WHERE number = 'WO-0110'$$,
	$$VALUES (0.40, 0.00, 'partially_paid')$$, 'the invoice is open again for that amount');
SELECT results_eq($$SELECT status, reversed_by = session_user, reversal_reason, kind, amount FROM ar.write_off_report WHERE allocation_id = $$ || :wo10,
	$$VALUES ('reversed', true, 'the customer pays the bank charges', 'shortfall', 0.40)$$,
	'the report keeps the reversed write-off, who reversed it and why');
SELECT is((SELECT count(*)::integer FROM ar.reconcile_anomaly WHERE kind = 'write_off' AND invoice_id = (pg_temp.inv('WO-0110')).id), 0,
	'a reversed write-off is no longer an anomaly');
SELECT throws_like(format('SELECT ar.reverse_write_off(%s, ''again'')', :wo10), 'write-off % was already reversed on % by %',
	'a write-off is reversed once');
SELECT is((SELECT count(*)::integer FROM ar.audit_log WHERE table_name = 'write_off_reversal' AND operation = 'INSERT'
            AND new_row ->> 'reversal_reason' = 'the customer pays the bank charges'), 1, 'the reversal and its reason are in the audit trail');

-- unallocating the payment takes its write-off with it, recorded as reversed
SELECT ar.unallocate((SELECT id FROM ar.allocation a WHERE a.bank_transaction_id = x.line_id)) FROM texts x WHERE x.n = 9;
SELECT results_eq($$SELECT status, reversal_reason LIKE 'the payment it completed (allocation % was unallocated' FROM ar.write_off_report WHERE invoice_number = 'WO-0109'$$,
	$$VALUES ('reversed', true)$$, 'unallocating the payment reverses the shortfall it closed, saying why');
SELECT results_eq($$SELECT open_amount, written_off_amount FROM ar.invoice WHERE number = 'WO-0109'$$,
	$$VALUES (800.00, 0.00)$$, 'and the invoice is open for all of it');

-- a write-off by a person: reported, an anomaly, reversible
SELECT ar.write_off_invoice((pg_temp.inv('WO-0001')).id, 'commercial gesture', '2026-03-01') AS wo1 \gset
SELECT results_eq($$SELECT kind, amount, reason, decided_by = session_user, status FROM ar.write_off_report WHERE invoice_number = 'WO-0001'$$,
	$$VALUES ('write_off', 300.00, 'commercial gesture', true, 'active')$$, 'ar.write_off_invoice is in the report with its reason and author');
SELECT is((SELECT detail FROM ar.reconcile_anomaly WHERE kind = 'write_off' AND invoice_id = (pg_temp.inv('WO-0001')).id),
	format('300.00 EUR of invoice WO-0001 written off on 2026-03-01 by %s: commercial gesture', session_user), 'and an anomaly');
SELECT is(ar.reverse_write_off(:wo1, 'gesture withdrawn'), 300.00, 'it can be reversed');
SELECT is((pg_temp.inv('WO-0001')).status, 'partially_paid', 'the invoice is partially paid again');

--------------------------------------------------------------------------
-- Proposals accepted by a person: the same rules
--------------------------------------------------------------------------
SELECT pg_temp.line('FR7630006000011234567890189', 2999.40, 'WO-0202') AS l5 \gset
SELECT count(*) FROM ar.reconcile(false);
SELECT is((SELECT shortfalls FROM ar.match_proposal WHERE bank_transaction_id = :l5 AND rank = 1), ARRAY[0.60],
	'a proposal shows the shortfall it would write off');
SELECT ar.accept_proposal((SELECT id FROM ar.match_proposal WHERE bank_transaction_id = :l5 AND rank = 1));
SELECT results_eq($$SELECT kind, amount, reason LIKE 'shortfall of 0.60 on bank transaction % written off: within the write-off limit (proposal % accepted)'
                      FROM ar.write_off_report WHERE invoice_number = 'WO-0202'$$,
	$$VALUES ('shortfall', 0.60, true)$$, 'accepting it writes the shortfall off, saying so');

--------------------------------------------------------------------------
-- Settings, roles, catalog
--------------------------------------------------------------------------
SELECT throws_ok($$UPDATE ar.reconcile_config SET write_off_limit = -1$$, '23514', NULL, 'a negative write-off limit is refused');
SET LOCAL ROLE ar_reader;
SELECT lives_ok('SELECT count(*) FROM ar.write_off_report', 'ar_reader reads the write-off report');
SELECT throws_ok(format('SELECT ar.reverse_write_off(%s, ''x'')', (SELECT allocation_id FROM ar.write_off_report WHERE invoice_number = 'WO-0202')),
	'42501', NULL, 'ar_reader cannot reverse a write-off');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM pg_proc WHERE oid = 'ar.reverse_write_off(bigint, text)'::regprocedure
            AND prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, ar, pg_temp']), 1,
	'ar.reverse_write_off is SECURITY DEFINER with a pinned search_path');
SELECT ok((SELECT 'ar.write_off_reversal'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'ar_collect'),
	'pg_dump keeps the reversals');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SELECT ok((SELECT valid FROM ar.verify_audit_chain()), 'the audit chain is intact');

SELECT * FROM finish();
ROLLBACK;
