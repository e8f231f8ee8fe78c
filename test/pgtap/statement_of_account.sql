-- pgTAP: the statement of account (issue 16, item 4).  Its balances
-- reconcile to the cent: opening + movements = closing = the sum of the
-- open items on the last day = ar.aging_report(day).net_balance, on a
-- hand-made account and on random ledgers (every kind of movement, events
-- dated before the item they concern); the renderers escape every value;
-- queuing is once per customer and period; another company's role is
-- refused.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(46);

UPDATE ar.company SET legal_name = 'Acme & Co SAS', legal_form = 'SAS', share_capital = 10000,
       address_line1 = '1 rue de la Paix', postcode = '75002', city = 'Paris', email = 'ar@acme.example';
INSERT INTO ar.customer (code, name, email, language, address_line1, postcode, city)
VALUES ('SOA1', 'Dupont <script>alert(1)</script> & Fils', 'compta@dupont.example', 'fr', '3 avenue "Foch"', '69006', 'Lyon');
SELECT id AS c1 FROM ar.customer WHERE code = 'SOA1' \gset
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount) VALUES
	(:c1, 'F-001', '2026-01-05', '2026-02-04', 1200.00),
	(:c1, 'F-002', '2026-02-10', '2026-03-12', 800.00),
	(:c1, 'AV-001', '2026-02-20', '2026-02-20', -150.00),
	(:c1, 'F-003<b>', '2026-03-15', '2026-04-14', 500.00),
	(:c1, 'F-004', '2026-03-16', '2026-04-15', 99.00),
	(:c1, 'F-005', '2026-01-20', '2026-02-19', 40.00);
SELECT ar.record_payment('F-001', 1300.00, '2026-02-01', 'cheque');
SELECT ar.apply_credit_note((SELECT id FROM ar.invoice WHERE number = 'AV-001'), (SELECT id FROM ar.invoice WHERE number = 'F-002'),
                            NULL, '2026-02-25');
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, end_to_end_id) VALUES ('2026-03-20', 400.00, 'DUPONT', 'E2E-77') RETURNING id AS bt \gset
INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
SELECT id, :bt, 400.00, '2026-03-20', 'reference' FROM ar.invoice WHERE number = 'F-002';
SELECT ar.cancel_invoice((SELECT id FROM ar.invoice WHERE number = 'F-004'), '2026-03-18');
SELECT ar.write_off_invoice((SELECT id FROM ar.invoice WHERE number = 'F-005'), 'too small to chase', '2026-03-25');
SELECT ar.apply_customer_credit(:c1, '2026-03-26');

CREATE TEMP TABLE s AS SELECT * FROM ar.statement_of_account(:c1, '2026-02-01', '2026-03-31');

-- ------------------------------------------------------------ one account
SELECT results_eq($$SELECT kind, entry_date, document, amount, balance FROM s WHERE section IN ('opening', 'movement', 'closing') ORDER BY line_no$$,
	$$VALUES ('opening_balance', '2026-02-01'::date, NULL::text, 1240.00, 1240.00),
	         ('payment', '2026-02-01', 'F-001', -1200.00, 40.00),
	         ('payment_on_account', '2026-02-01', 'F-001', -100.00, -60.00),
	         ('invoice', '2026-02-10', 'F-002', 800.00, 740.00),
	         ('credit_note', '2026-02-20', 'AV-001', -150.00, 590.00),
	         ('invoice', '2026-03-15', 'F-003<b>', 500.00, 1090.00),
	         ('invoice', '2026-03-16', 'F-004', 99.00, 1189.00),
	         ('cancellation', '2026-03-18', 'F-004', -99.00, 1090.00),
	         ('payment', '2026-03-20', 'E2E-77', -400.00, 690.00),
	         ('write_off', '2026-03-25', 'F-005', -40.00, 650.00),
	         ('closing_balance', '2026-03-31', NULL, 650.00, 650.00)$$,
	'the movements in date order with the running balance: invoices, credit note, payments (by hand, by bank line, on account), cancellation, write-off; set-offs are no line');
SELECT is((SELECT detail FROM s WHERE kind = 'payment' AND document = 'E2E-77'), 'F-002', 'a bank payment names the invoices it paid');
SELECT is((SELECT detail FROM s WHERE kind = 'write_off'), 'too small to chase', 'a write-off shows its reason');
SELECT results_eq($$SELECT count(*) FILTER (WHERE debit IS NOT NULL), count(*) FILTER (WHERE credit IS NOT NULL), sum(debit), sum(credit) FROM s WHERE section = 'movement'$$,
	$$VALUES (3::bigint, 6::bigint, 1399.00, 1989.00)$$, 'debits and credits split the movements');
SELECT results_eq($$SELECT kind, document, due_date, amount, days_past_due FROM s WHERE section = 'open_item' ORDER BY line_no$$,
	$$VALUES ('invoice', 'F-002', '2026-03-12'::date, 150.00, 19), ('invoice', 'F-003<b>', '2026-04-14', 500.00, -14)$$,
	'the open items on the last day: the customer credit was spent on the oldest due, F-002');
SELECT results_eq($$SELECT kind, amount FROM s WHERE section = 'ageing' ORDER BY line_no$$,
	$$VALUES ('not_due', 500.00), ('d1_30', 150.00), ('d31_60', 0), ('d61_90', 0), ('d91_plus', 0), ('unapplied_credit', 0), ('total', 650.00)$$,
	'their ageing, whose total is the closing balance');
SELECT is((SELECT net_balance FROM ar.aging_report('2026-03-31') WHERE customer_id = :c1), 650.00, 'the aging report agrees');
SELECT is((SELECT balance FROM ar.statement_of_account(:c1, '2026-03-26', '2026-03-26') WHERE section = 'opening'),
	(SELECT net_balance FROM ar.aging_report('2026-03-25') WHERE customer_id = :c1), 'the opening balance is the balance of the day before');
SELECT is((SELECT balance FROM ar.statement_of_account(:c1, '2026-01-01', '2026-01-04') WHERE section = 'closing'), 0::numeric,
	'before the first invoice the account is nil');
SELECT results_eq(format($$SELECT description FROM ar.statement_of_account(%s, '2026-02-01', '2026-03-31', 'de') WHERE kind IN ('opening_balance', 'credit_note', 'cancellation') ORDER BY line_no$$, :c1),
	$$VALUES ('Anfangssaldo'), ('Gutschrift'), ('Storno')$$, 'descriptions in the language asked');
SELECT is((SELECT description FROM s WHERE kind = 'payment_on_account'), 'Règlement non affecté', 'by default in the customer''s language');
SELECT is((SELECT count(*) FROM ar.statement_of_account(:c1, '2026-02-01', '2026-03-31', 'it') WHERE description IS NULL OR description <> ar.letter_text('soa.kind.' || kind, 'en')), 0::bigint,
	'a language without texts falls back to English');

-- --------------------------------------------------------------- errors
SELECT throws_ok($$SELECT * FROM ar.statement_of_account(-1, '2026-01-01', '2026-01-31')$$, 'P0002', 'customer -1 does not exist',
	'an unknown customer');
SELECT throws_ok(format($$SELECT * FROM ar.statement_of_account(%s, '2026-02-01', '2026-01-31')$$, :c1), '22023',
	'a statement of account from 2026-02-01 to 2026-01-31 ends before it starts', 'a period ending before it starts');
SELECT throws_ok(format($$SELECT * FROM ar.statement_of_account(%s, '2026-02-01', 'infinity')$$, :c1), '22023', NULL, 'an infinite date');
SELECT throws_ok(format($$SELECT * FROM ar.statement_of_account(%s, '2026-02-01', '3000-01-31')$$, :c1), '22008', NULL, 'a date out of bounds');
SELECT throws_ok(format($$SELECT * FROM ar.statement_of_account(%s, '2026-02-01', '2026-03-31', '<x>')$$, :c1), '22023',
	'language "<x>" is not a language code', 'a language that is not one');

-- ------------------------------------------------------------ rendering
SELECT ar.statement_of_account_html(:c1, '2026-02-01', '2026-03-31') AS html \gset
SELECT ok(:'html' NOT LIKE '%<script>%' AND :'html' LIKE '%Dupont &lt;script&gt;alert(1)&lt;/script&gt; &amp; Fils%',
	'HTML: the customer name is escaped');
SELECT ok(:'html' LIKE '%F-003&lt;b&gt;%' AND :'html' NOT LIKE '%F-003<b>%', 'HTML: a document number is escaped');
SELECT ok(:'html' LIKE '%3 avenue &quot;Foch&quot;%' AND :'html' LIKE '%Acme &amp; Co SAS%', 'HTML: the addresses are escaped');
SELECT is((SELECT count(*) FROM regexp_matches(:'html', '<(?!/?(html|head|meta|title|body|address|br|h1|h2|h3|p|table|tr|th|td|small|footer)[ >])[a-z/!]', 'g')),
	1::bigint, 'HTML: no element but the renderer''s own (and the doctype)');
SELECT ok(ar.statement_of_account_text(:c1, '2026-02-01', '2026-03-31', 'en') LIKE '%Balance due to us on 31 March 2026: 650.00 EUR.%',
	'text: the closing sentence states the balance');

-- --------------------------------------------------------------- outbox
CREATE TEMP TABLE q1 AS SELECT * FROM ar.queue_statement_of_account(:c1, '2026-02-01', '2026-03-31');
SELECT results_eq($$SELECT channel, recipient, language, status, closing_balances FROM q1$$,
	$$VALUES ('email', 'compta@dupont.example', 'fr', 'queued', '{"EUR": 650.00}'::jsonb)$$, 'queued as an e-mail in the customer''s language');
SELECT is((SELECT body FROM q1), ar.statement_of_account_text(:c1, '2026-02-01', '2026-03-31'), 'the body is the text rendering');
SELECT is((SELECT body_html FROM q1), ar.statement_of_account_html(:c1, '2026-02-01', '2026-03-31'), 'the HTML body is the HTML rendering');
SELECT is((SELECT id FROM ar.queue_statement_of_account(:c1, '2026-02-01', '2026-03-31')), (SELECT id FROM q1),
	'queuing the same customer and period again returns the same notice');
SELECT is((SELECT count(*) FROM ar.statement_notice), 1::bigint, 'and queues nothing more');
SELECT is((SELECT count(*) FROM ar.communication WHERE kind = 'statement_queued' AND customer_id = :c1), 1::bigint, 'the queuing is logged once');
SELECT is((SELECT status FROM ar.mark_statement_notice((SELECT id FROM q1), 'failed', NULL, 'mailbox full')), 'failed', 'the sender reports a failure');
SELECT isnt((SELECT id FROM ar.queue_statement_of_account(:c1, '2026-02-01', '2026-03-31')), (SELECT id FROM q1),
	'a failed statement may be queued again');
SELECT throws_ok(format('DELETE FROM ar.statement_notice WHERE id = %s', (SELECT id FROM q1)), '42501', NULL, 'a statement notice is never deleted');
SELECT throws_ok(format('UPDATE ar.statement_notice SET body = ''x'' WHERE id = %s', (SELECT id FROM q1)), '42501', NULL, 'nor changed');

-- --------------------------------------------------------------- tenancy
CREATE ROLE soa_coll_b IN ROLE ar_collector;
CREATE ROLE soa_read_a IN ROLE ar_reader;
INSERT INTO ar.company (code, name) VALUES ('SOA_B', 'Company B');
SELECT ar.grant_company_access('soa_coll_b', 'SOA_B', 'collector');
SELECT ar.grant_company_access('soa_read_a', 'DEFAULT', 'reader');
SET LOCAL ROLE soa_coll_b;
SELECT throws_ok(format($$SELECT * FROM ar.statement_of_account(%s, '2026-02-01', '2026-03-31')$$, :c1), '42501', NULL,
	'a role of another company cannot read the statement');
SELECT throws_ok(format($$SELECT ar.statement_of_account_html(%s, '2026-02-01', '2026-03-31')$$, :c1), '42501', NULL,
	'nor its rendering');
SELECT throws_ok(format($$SELECT ar.queue_statement_of_account(%s, '2026-01-01', '2026-03-31')$$, :c1), '42501', NULL,
	'nor queue it');
RESET ROLE;
CREATE ROLE soa_coll_a IN ROLE ar_collector;
SELECT ar.grant_company_access('soa_coll_a', 'DEFAULT', 'collector');
SET LOCAL ROLE soa_coll_a;
SELECT is((SELECT status FROM ar.queue_statement_of_account(:c1, '2026-01-01', '2026-01-31')), 'queued',
	'a collector of the company queues it');
RESET ROLE;
SET LOCAL ROLE soa_read_a;
SELECT lives_ok(format($$SELECT ar.statement_of_account_text(%s, '2026-02-01', '2026-03-31')$$, :c1), 'a reader of the company reads it');
SELECT throws_ok(format($$SELECT ar.queue_statement_of_account(%s, '2026-01-01', '2026-03-31')$$, :c1), '42501', NULL,
	'a reader does not queue it');
RESET ROLE;

-- ----------------------------------------------------- random ledgers
-- Every kind of movement, dates in any order (payments and set-offs dated
-- before the item's own date too), several currencies.
SELECT setseed(0.16);
DO $$
DECLARE
	c bigint;
	i integer;
	inv ar.invoice;
	cn ar.invoice;
	d date;
	t bigint;
	amt numeric;
BEGIN
	FOR c IN INSERT INTO ar.customer (code, name) SELECT 'RND' || g, 'Random ' || g FROM generate_series(1, 12) g RETURNING id LOOP
		FOR i IN 1 .. 14 LOOP
			d := DATE '2025-01-01' + (random() * 500)::int;
			INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
			VALUES (c, 'R' || c || '-' || i, d, d + (random() * 60)::int,
			        CASE WHEN random() < 0.2 THEN -1 ELSE 1 END * round((1 + random() * 3000)::numeric, 2),
			        CASE WHEN random() < 0.15 THEN 'USD' ELSE 'EUR' END);
		END LOOP;
		FOR inv IN SELECT * FROM ar.invoice WHERE customer_id = c ORDER BY id LOOP
			SELECT * INTO inv FROM ar.invoice x WHERE x.id = inv.id;
			d := inv.issue_date + (random() * 120)::int - 10;
			CASE (random() * 7)::int
			WHEN 0 THEN
				IF inv.open_amount = inv.amount THEN PERFORM ar.cancel_invoice(inv.id, d); END IF;
			WHEN 1 THEN
				IF inv.amount > 0 THEN PERFORM ar.record_payment(inv.number, round(inv.amount * (0.3 + random())::numeric, 2), d, 'transfer'); END IF;
			WHEN 2 THEN
				INSERT INTO ar.bank_transaction (booking_date, amount, currency) VALUES (d, inv.amount, inv.currency) RETURNING id INTO t;
				amt := round(inv.amount * random()::numeric, 2);
				IF amt <> 0 THEN
					INSERT INTO ar.allocation (invoice_id, bank_transaction_id, amount, allocated_on, method)
					VALUES (inv.id, t, amt, d, 'reference');
				END IF;
			WHEN 3 THEN PERFORM ar.write_off_invoice(inv.id, 'random', greatest(d, inv.issue_date));
			WHEN 4 THEN
				SELECT * INTO cn FROM ar.invoice x
				 WHERE x.customer_id = c AND x.currency = inv.currency AND x.open_amount < 0 AND x.id <> inv.id ORDER BY x.id LIMIT 1;
				IF FOUND AND inv.amount > 0 AND inv.open_amount > 0 THEN PERFORM ar.apply_credit_note(cn.id, inv.id, NULL, greatest(d, inv.issue_date, cn.issue_date)); END IF;
			ELSE NULL;
			END CASE;
		END LOOP;
		-- credits: granted, spent (on a date before they exist: not), written off or refunded
		INSERT INTO ar.customer_credit (customer_id, amount, source, created_on)
		VALUES (c, round((1 + random() * 500)::numeric, 2), 'manual', DATE '2025-01-01' + (random() * 500)::int);
		PERFORM ar.apply_customer_credit(c, DATE '2025-01-01' + (random() * 500)::int);
		PERFORM ar.apply_open_credits(c, DATE '2025-06-01' + (random() * 300)::int);
		INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
		SELECT cc.company_id, cc.customer_id, cc.id, cc.currency, round(cc.remaining * random()::numeric, 2),
		       cc.created_on + (random() * 100)::int - 20, CASE WHEN random() < 0.5 THEN 'refund' ELSE 'write_off' END, 'random'
		  FROM ar.customer_credit cc WHERE cc.customer_id = c AND cc.remaining > 0.01;
	END LOOP;
END $$;
CREATE TEMP TABLE periods AS
SELECT c.id AS customer_id, p.from_date, p.from_date + p.days AS to_date
  FROM ar.customer c
 CROSS JOIN LATERAL (SELECT DATE '2024-12-01' + (random() * 700)::int AS from_date, (random() * 200)::int AS days
                       FROM generate_series(1, 5)) p
 WHERE c.code LIKE 'RND%';
CREATE TEMP TABLE rs AS
SELECT p.customer_id, p.from_date, p.to_date, s.*
  FROM periods p CROSS JOIN LATERAL ar.statement_of_account(p.customer_id, p.from_date, p.to_date) s;
SELECT ok((SELECT count(DISTINCT kind) FROM rs WHERE section = 'movement') >= 7, 'the random ledgers have every kind of movement');
SELECT is((SELECT count(*) FROM (SELECT 1 FROM rs GROUP BY customer_id, from_date, to_date, currency
                                HAVING sum(amount) FILTER (WHERE section IN ('opening', 'movement'))
                                       <> sum(amount) FILTER (WHERE section = 'closing')) x), 0::bigint,
	'random ledgers: opening + movements = closing, to the cent, for every period and currency');
SELECT is((SELECT count(*) FROM rs WHERE section = 'movement'
             AND balance <> (SELECT sum(r2.amount) FROM rs r2 WHERE (r2.customer_id, r2.from_date, r2.to_date, r2.currency) = (rs.customer_id, rs.from_date, rs.to_date, rs.currency)
                                                               AND r2.section IN ('opening', 'movement') AND r2.line_no <= rs.line_no)), 0::bigint,
	'random ledgers: every running balance is the opening plus the movements so far');
SELECT is((SELECT count(*) FROM rs x
            WHERE x.section = 'closing'
              AND x.balance <> coalesce((SELECT a.net_balance FROM ar.aging_report(x.to_date) a
                                          WHERE a.customer_id = x.customer_id AND a.currency = x.currency), 0)), 0::bigint,
	'random ledgers: closing = the sum of the open items on the last day (ar.aging_report net balance)');
SELECT is((SELECT count(*) FROM rs x
            WHERE x.section = 'opening'
              AND x.balance <> coalesce((SELECT a.net_balance FROM ar.aging_report(x.from_date - 1) a
                                          WHERE a.customer_id = x.customer_id AND a.currency = x.currency), 0)), 0::bigint,
	'random ledgers: opening = the sum of the open items the day before');
SELECT is((SELECT count(*) FROM rs x
            WHERE x.section = 'closing'
              AND x.balance <> (SELECT y.amount FROM rs y WHERE (y.customer_id, y.from_date, y.to_date, y.currency) = (x.customer_id, x.from_date, x.to_date, x.currency)
                                                         AND y.section = 'ageing' AND y.kind = 'total')), 0::bigint,
	'random ledgers: closing = the total of the ageing of the open items listed');
SELECT is((SELECT count(*) FROM (
             SELECT s.currency, s.balance,
                    (SELECT coalesce(sum(i.open_amount), 0) FROM ar.invoice i WHERE i.customer_id = c.id AND i.currency = s.currency)
                    - (SELECT coalesce(sum(cc.remaining), 0) FROM ar.customer_credit cc WHERE cc.customer_id = c.id AND cc.currency = s.currency) AS ledger
               FROM ar.customer c CROSS JOIN LATERAL ar.statement_of_account(c.id, '2020-01-01', '2030-12-31') s
              WHERE c.code LIKE 'RND%' AND s.section = 'closing') x WHERE x.balance <> x.ledger), 0::bigint,
	'random ledgers: the closing balance after the last event is the ledger''s open amounts less the unused credit');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'the ledger is consistent');

SELECT * FROM finish();
ROLLBACK;
