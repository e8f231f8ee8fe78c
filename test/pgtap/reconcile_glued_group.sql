-- A group of digits written apart after an invoice number ("FA-2026-0001 2
-- colis", "/2", "(2)") is not glued onto the number's last group to name
-- another invoice (FA-2026-00012): the number as written wins.  The longer
-- number written whole, spaced, or with a separator of its own still names it.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(8);

INSERT INTO ar.customer (code, name) VALUES ('GG-C1', 'Alpha SARL'), ('GG-C2', 'Gamma SAS');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, '2026-10-01', '2026-10-31', v.amount
  FROM (VALUES ('GG-C1', 'FA-2026-0001', 100.00), ('GG-C2', 'FA-2026-00012', 100.00),
               ('GG-C1', 'FB-2026-0001', 110.00), ('GG-C2', 'FB-2026-00012', 110.00),
               ('GG-C1', 'FC-2026-0001', 120.00), ('GG-C2', 'FC-2026-00012', 120.00),
               ('GG-C1', 'F2026-12', 130.00),     ('GG-C2', 'F2026-123', 130.00),
               ('GG-C1', 'FE-2026-0001', 140.00), ('GG-C2', 'FE-2026-00012', 140.00),
               ('GG-C1', 'FF-2026-0001', 150.00), ('GG-C2', 'FF-2026-00012', 150.00),
               ('GG-C1', 'FG-2026-0001', 160.00), ('GG-C2', 'FG-2026-0001-2', 160.00),
               ('GG-C1', 'FH-2026-0001', 170.00), ('GG-C2', 'FH-2026-00012', 170.00)) v(code, number, amount)
  JOIN ar.customer c ON c.code = v.code;
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
VALUES ('2026-11-20', 100.00, 'Alpha SARL', 'FA-2026-0001 2 colis'),
       ('2026-11-21', 110.00, NULL, 'FB-2026-0001/2'),
       ('2026-11-22', 120.00, 'Alpha SARL', 'FC-2026-0001 (2)'),
       ('2026-11-23', 130.00, 'Alpha SARL', 'Facture F2026-12 3 articles'),
       ('2026-11-24', 140.00, 'Gamma SAS', 'FE-2026-00012'),
       ('2026-11-25', 150.00, NULL, 'FF 2026 00012'),
       ('2026-11-26', 160.00, NULL, 'FG-2026-0001-2'),
       ('2026-11-19', 170.00, 'Alpha SARL', 'FH-2026-0001');
CREATE TEMP TABLE gg AS
SELECT r.*, t.booking_date, t.remittance_info FROM ar.reconcile() r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id;

SELECT is((SELECT (applied, (SELECT array_agg(number) FROM ar.invoice WHERE id = ANY (invoice_ids)))::text
             FROM gg WHERE remittance_info = v.written),
          (true, ARRAY[v.meant])::text, format('%s pays %s', v.written, v.meant))
  FROM (VALUES (1, 'FA-2026-0001 2 colis', 'FA-2026-0001'), (2, 'FB-2026-0001/2', 'FB-2026-0001'),
               (3, 'FC-2026-0001 (2)', 'FC-2026-0001'), (4, 'Facture F2026-12 3 articles', 'F2026-12')) v(k, written, meant)
 ORDER BY v.k;
SELECT results_eq($$SELECT remittance_info, applied, (SELECT array_agg(number) FROM ar.invoice WHERE id = ANY (invoice_ids))
                      FROM gg WHERE booking_date >= '2026-11-24' ORDER BY booking_date$$,
	$$VALUES ('FE-2026-00012', true, ARRAY['FE-2026-00012']),
	         ('FF 2026 00012', true, ARRAY['FF-2026-00012']),
	         ('FG-2026-0001-2', true, ARRAY['FG-2026-0001-2'])$$,
	'the longer number written whole, spaced or with its own separator is still applied to it');
SELECT is((SELECT array_agg(number ORDER BY number) FROM ar.invoice WHERE open_amount <> 0 AND number ~ '^F[A-G]?-?2026'),
	ARRAY['F2026-123', 'FA-2026-00012', 'FB-2026-00012', 'FC-2026-00012', 'FE-2026-0001', 'FF-2026-0001', 'FG-2026-0001'],
	'the invoices nobody paid stay open');

-- FH-2026-0001 paid (by the line of 2026-11-19), the same number with a
-- group after it is a possible duplicate payment, not a payment of the
-- other customer's FH-2026-00012
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, remittance_info)
VALUES ('2026-11-27', 170.00, 'Alpha SARL', 'FH-2026-0001 2 colis');
CREATE TEMP TABLE gg_dup AS
SELECT r.* FROM ar.reconcile() r JOIN ar.bank_transaction t ON t.id = r.bank_transaction_id WHERE t.booking_date = '2026-11-27';
SELECT is((SELECT (applied, (SELECT array_agg(p.method ORDER BY p.rank) FROM ar.match_proposal p
                              WHERE p.bank_transaction_id = d.bank_transaction_id AND p.method = 'duplicate'))::text FROM gg_dup d),
          (false, ARRAY['duplicate'])::text, 'paying the number as written again is a possible duplicate, not applied');
SELECT is((SELECT array_agg(number ORDER BY number) FROM ar.invoice WHERE open_amount <> 0 AND number LIKE 'FH-%'),
	ARRAY['FH-2026-00012'], '(the other customer''s invoice stays open)');

SELECT * FROM finish();
ROLLBACK;
