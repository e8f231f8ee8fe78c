-- Demo step 86: SEPA direct debit (doc/sepa-direct-debit.md).  The company
-- is set up as SEPA creditor; the 25 EUR customers owing the most sign a
-- CORE mandate (a FR account made up for the demo), a few of them an
-- earlier one already used (RCUR); the invoices due by the generation's
-- date are collected in one pain.008.001.02 file; the bank credits each
-- payment information block on the collection date, then returns two
-- debits (AM04 insufficient funds, MD01 no mandate), which
-- ar.settle_direct_debits turns into settlements and reopened invoices
-- (demo/report_86_direct_debits.sql shows them).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

SELECT creditor_id AS "SEPA creditor"
  FROM ar.set_sepa_creditor((SELECT code FROM ar.company WHERE is_default), 'Demo Company', 'FR72ZZZ123456',
                            'FR7630006000011234567890189', 'AGRIFRPP');

-- the mandates (a made-up but valid French IBAN per customer)
SELECT count(ar.create_sepa_mandate(c.customer_id, format('DEMO-%s', c.customer_id), :'demo_as_of'::date - 400,
                                    cu.name,
                                    'FR' || lpad((98 - (b.bban || '152700')::numeric % 97)::text, 2, '0') || b.bban)) AS "mandates signed"
  FROM (SELECT a.customer_id FROM ar.aging_report(:'demo_as_of') a
         WHERE a.currency = 'EUR' AND a.net_balance > 0
           AND NOT EXISTS (SELECT 1 FROM ar.invoice i WHERE i.customer_id = a.customer_id AND i.disputed AND i.open_amount <> 0)
         ORDER BY a.net_balance DESC, a.customer_id LIMIT 25) c
  JOIN ar.customer cu ON cu.id = c.customer_id
 CROSS JOIN LATERAL (SELECT '3000600001' || lpad(c.customer_id::text, 11, '0') || '97' AS bban) b;
UPDATE ar.sepa_mandate m SET sequence_state = 'RCUR', last_collected_on = :'demo_as_of'::date - 60
 WHERE m.id IN (SELECT x.id FROM ar.sepa_mandate x ORDER BY x.id LIMIT 10);

-- the file, made on the generation's date
SELECT ar.collect_direct_debits(:'demo_as_of', NULL, NULL, 'pain.008.001.02', 'DEMO-DD-1',
                                (:'demo_as_of' || ' 08:00+00')::timestamptz) IS NOT NULL AS collected \gset
SELECT number_of_transactions AS "direct debits", control_sum AS "total", requested_collection_date AS "collection date"
  FROM ar.direct_debit_collection WHERE message_id = 'DEMO-DD-1';

-- the bank: one credit per payment information block, then two returns
INSERT INTO ar.bank_transaction (booking_date, amount, remittance_info, bank_tx_code)
SELECT c.requested_collection_date, sum(l.amount), 'SEPA DIRECT DEBIT BATCH ' || l.payment_info_id, 'PMNT-RDDT-BBDD'
  FROM ar.direct_debit_line l JOIN ar.direct_debit_collection c ON c.id = l.collection_id
 WHERE c.message_id = 'DEMO-DD-1'
 GROUP BY c.requested_collection_date, l.payment_info_id;
INSERT INTO ar.bank_transaction (booking_date, amount, end_to_end_id, return_reason, remittance_info, reversal)
SELECT c.requested_collection_date + 3, -l.amount, l.end_to_end_id, r.code, 'SEPA DIRECT DEBIT RETURN ' || r.code, true
  FROM (SELECT l.*, row_number() OVER (ORDER BY l.amount DESC, l.id) AS n FROM ar.direct_debit_line l) l
  JOIN ar.direct_debit_collection c ON c.id = l.collection_id
  JOIN (VALUES (2, 'AM04'), (5, 'MD01')) r(n, code) ON r.n = l.n
 WHERE c.message_id = 'DEMO-DD-1';
\pset footer off
SELECT outcome AS "bank lines", count(*) AS "direct debits", sum(amount) AS "amount"
  FROM ar.settle_direct_debits()
 GROUP BY outcome ORDER BY outcome;
