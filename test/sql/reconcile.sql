-- ar.reconcile: every situation of issue 3 and its explanation, the review
-- tools, direct-debit returns, incremental runs, anomalies and roles.  The
-- test works in a company of its own (REC, explicit ids from 7000001) and
-- calls ar.reconcile_company() so that other tests' bank lines are left alone.
SET search_path = "$user", public, ar;
\pset null '(null)'
-- errors: the message alone (ids of rows other tests created are masked below)
\set VERBOSITY terse

INSERT INTO ar.company (id, code, name) VALUES (7001, 'REC', 'Reconciliation test company');
INSERT INTO ar.customer (id, company_id, code, name) VALUES
	(7000001, 7001, 'REC-C1', 'Transports Martin SARL'),
	(7000002, 7001, 'REC-C2', 'Boulangerie Dupont SAS'),
	(7000003, 7001, 'REC-C3', 'Établissements Lefèvre'),
	(7000004, 7001, 'REC-C4', 'Garage Leroy & Fils'),
	(7000005, 7001, 'REC-C5', 'Müller Maschinenbau GmbH'),
	(7000006, 7001, 'REC-C6', 'Imprimerie Weber SA');
INSERT INTO ar.customer_bank_account (company_id, customer_id, iban) VALUES
	(7001, 7000001, 'FR76 3000 6000 0112 3456 7890 189'),
	(7001, 7000004, 'DE89 3704 0044 0532 0130 00'),
	(7001, 7000005, 'BE68 5390 0754 7034');

-- open invoices (RC- numbers), a credit note, and one invoice already paid
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount, payment_reference) VALUES
	(7000101, 7001, 7000001, 'RC-2026-000101', '2026-01-05', '2026-02-04', 1200.00, NULL),
	(7000102, 7001, 7000001, 'RC-2026-000102', '2026-01-06', '2026-02-05',  300.00, NULL),
	(7000103, 7001, 7000001, 'RC-2026-000103', '2026-01-07', '2026-02-06',  450.50, NULL),
	(7000104, 7001, 7000001, 'RC-2026-000104', '2026-01-08', '2026-02-07',  612.30, NULL),
	(7000105, 7001, 7000001, 'RC-2026-000105', '2026-01-09', '2026-02-08',  980.00, NULL),
	(7000106, 7001, 7000001, 'RC-2026-000106', '2026-01-10', '2026-02-09',  333.33, NULL),
	(7000111, 7001, 7000002, 'RC-2026-000111', '2026-01-05', '2026-02-04',   99.90, 'RF18539007547034'),
	(7000112, 7001, 7000002, 'RC-2026-000112', '2026-01-06', '2026-02-05',  250.00, 'CMD-77412'),
	(7000113, 7001, 7000002, 'RC-2026-000113', '2026-01-07', '2026-02-06',  500.00, NULL),
	(7000114, 7001, 7000002, 'RC-2026-000114', '2026-01-08', '2026-02-07',   75.00, NULL),
	(7000121, 7001, 7000003, 'RC-2026-000121', '2026-01-05', '2026-02-04',  777.77, NULL),
	(7000122, 7001, 7000003, 'RC-2026-000122', '2026-01-06', '2026-02-05', 1000.00, NULL),
	(7000123, 7001, 7000003, 'RC-2026-000123', '2026-01-07', '2026-02-06', 2000.00, NULL),
	(7000124, 7001, 7000003, 'RC-2026-000124', '2026-01-08', '2026-02-07', 1500.00, NULL),
	(7000125, 7001, 7000003, 'RC-2026-000125', '2026-01-09', '2026-02-08',  420.00, NULL),
	(7000131, 7001, 7000004, 'RC-2026-000131', '2026-01-05', '2026-02-04',  100.00, NULL),
	(7000132, 7001, 7000004, 'RC-2026-000132', '2026-01-06', '2026-02-05',  200.00, NULL),
	(7000133, 7001, 7000004, 'RC-2026-000133', '2026-01-07', '2026-02-06',  315.00, NULL),
	(7000134, 7001, 7000004, 'RC-2026-000134', '2026-01-08', '2026-02-07', 1500.00, NULL),
	(7000141, 7001, 7000005, 'RC-2026-000141', '2026-01-05', '2026-02-04',  640.00, NULL),
	(7000142, 7001, 7000005, 'RC-2026-000142', '2026-01-06', '2026-02-05',  880.00, NULL),
	(7000143, 7001, 7000005, 'AV-2026-000143', '2026-01-20', '2026-01-20',  -80.00, NULL),
	(7000144, 7001, 7000005, 'RC-2026-000144', '2026-01-21', '2026-02-20',  555.00, NULL),
	(7000151, 7001, 7000006, 'RC-2026-000151', '2026-01-05', '2026-02-04',  250.00, NULL),
	(7000152, 7001, 7000006, 'RC-2026-000152', '2026-01-06', '2026-02-05',  410.00, NULL),
	(7000153, 7001, 7000006, 'RC-2026-000153', '2026-01-07', '2026-02-06',  410.00, NULL),
	(7000154, 7001, 7000006, 'RC-2026-000154', '2026-01-08', '2026-02-07',  180.00, NULL);
-- paid by cheque before any statement
SELECT ar.record_payment('RC-2026-000154', 180.00, '2026-02-01', 'cheque') IS NOT NULL AS paid;

-- one line per situation (booked in March 2026)
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, counterparty_name, counterparty_iban,
                                 remittance_info, structured_reference, end_to_end_id, bank_tx_code, return_reason) VALUES
	-- the number as written: exact, no separators, other separators, no leading zeros, lower case, O for 0
	(7000201, 7001, '2026-03-02', 1200.00, 'TRANSPORTS MARTIN', 'FR7630006000011234567890189', 'Facture RC-2026-000101', NULL, NULL, NULL, NULL),
	(7000202, 7001, '2026-03-02',  300.00, 'TRANSPORTS MARTIN', NULL, 'RC2026000102', NULL, NULL, NULL, NULL),
	(7000203, 7001, '2026-03-02',  450.50, 'TRANSPORTS MARTIN', NULL, 'VIR RC/2026/000103 merci', NULL, NULL, NULL, NULL),
	(7000204, 7001, '2026-03-02',  612.30, 'TRANSPORTS MARTIN', NULL, 'Reglement RC-2026-104', NULL, NULL, NULL, NULL),
	(7000205, 7001, '2026-03-02',  980.00, 'TRANSPORTS MARTIN', NULL, 'facture rc-2026-000105', NULL, NULL, NULL, NULL),
	(7000206, 7001, '2026-03-02',  333.33, 'TRANSPORTS MARTIN', NULL, 'RC-2O26-OOO106', NULL, NULL, NULL, NULL),
	-- ISO 11649 reference, the invoice's own payment reference
	(7000211, 7001, '2026-03-03',   99.90, 'BOULANGERIE DUPONT', NULL, NULL, 'RF18 5390 0754 7034', NULL, NULL, NULL),
	(7000212, 7001, '2026-03-03',  250.00, 'DUPONT BOULANGERIE', NULL, 'Votre commande CMD-77412', NULL, NULL, NULL, NULL),
	-- one character swapped, one mistyped (payer known by IBAN or name)
	(7000221, 7001, '2026-03-04',  777.77, 'ETS LEFEVRE', NULL, 'RC-2026-000112 fact', NULL, NULL, NULL, NULL),
	(7000222, 7001, '2026-03-04', 1500.00, 'GARAGE LEROY ET FILS', 'DE89370400440532013000', 'RC-2026-000184', NULL, NULL, NULL, NULL),
	-- several numbers in one line, including a continuation and a credit note
	(7000231, 7001, '2026-03-05', 1440.00, 'MULLER MASCHINENBAU', 'BE68539007547034', 'RC-2026-000141, 142 moins AV-2026-000143', NULL, NULL, NULL, NULL),
	-- no reference: IBAN and one open invoice of that amount; a close name and an amount open once
	(7000241, 7001, '2026-03-06',  315.00, 'GARAGE LEROY', 'DE89370400440532013000', 'VIREMENT', NULL, NULL, NULL, NULL),
	(7000242, 7001, '2026-03-06',  500.00, 'BOULANGERIE DUPONT SA', NULL, 'Paiement', NULL, NULL, NULL, NULL),
	-- no reference: IBAN and two oldest invoices together
	(7000243, 7001, '2026-03-06',  300.00, 'GARAGE LEROY', 'DE89370400440532013000', 'Paiement factures', NULL, NULL, NULL, NULL),
	-- a referenced invoice paid in part, short of bank charges, short of a 2 % discount, overpaid
	(7000251, 7001, '2026-03-07',  500.00, 'LEFEVRE', NULL, 'Acompte RC-2026-000123', NULL, NULL, NULL, NULL),
	(7000252, 7001, '2026-03-07',  992.50, 'ETS LEFEVRE', NULL, 'RC-2026-000122', NULL, NULL, NULL, NULL),
	(7000253, 7001, '2026-03-07', 1470.00, 'LEFEVRE', NULL, 'RC-2026-000124 escompte 2%', NULL, NULL, NULL, NULL),
	(7000254, 7001, '2026-03-07',  260.00, 'IMPRIMERIE WEBER', NULL, 'RC-2026-000151', NULL, NULL, NULL, NULL),
	-- must stay unapplied: unrelated credit for an amount open somewhere, the same amount open
	-- twice at the payer, a payment naming an invoice already paid, an unknown payer
	(7000261, 7001, '2026-03-08',  410.00, 'URSSAF', NULL, 'REMBOURSEMENT COTISATIONS 2026-0411', NULL, NULL, NULL, NULL),
	(7000262, 7001, '2026-03-08',  410.00, 'IMPRIMERIE WEBER SA', NULL, 'VIREMENT', NULL, NULL, NULL, NULL),
	(7000263, 7001, '2026-03-08',  180.00, 'IMPRIMERIE WEBER', NULL, 'RC-2026-000154', NULL, NULL, NULL, NULL),
	(7000264, 7001, '2026-03-08',   42.00, 'SCI LES TILLEULS', NULL, 'LOYER MARS', NULL, NULL, NULL, NULL),
	-- an open invoice named with one already paid, for what both cost: the second payment is credit
	(7000265, 7001, '2026-03-08',  590.00, 'IMPRIMERIE WEBER', NULL, 'RC-2026-000153 RC-2026-000154', NULL, NULL, NULL, NULL),
	-- a debit that is not a return: ignored
	(7000271, 7001, '2026-03-09', -120.00, 'EDF', NULL, 'PRLV EDF', NULL, NULL, NULL, NULL),
	-- a direct-debit collection, returned later (see below)
	(7000281, 7001, '2026-03-10',  555.00, 'MULLER MASCHINENBAU', 'BE68539007547034', 'RC-2026-000144', NULL, 'E2E-RC-144-01', 'PMNT-IDDT-ESDD', NULL);

-- bank charges of up to 50.00 are written off by this company (the default: none)
INSERT INTO ar.reconcile_config (company_id, write_off_limit) VALUES (7001, 50.00);
SELECT * FROM ar.reconcile_company(7001) ORDER BY bank_transaction_id;

-- what was decided, how, and why
SELECT r.bank_transaction_id AS line, r.outcome, r.method, r.score, r.payer, r.flags,
       r.explanation ->> 'summary' AS summary
  FROM ar.reconcile_line r WHERE r.company_id = 7001 ORDER BY 1;

-- how each reference was read
SELECT r.bank_transaction_id AS line, ref ->> 'number' AS number, ref ->> 'written' AS written,
       ref ->> 'matched_on' AS matched_on, ref -> 'differences' AS differences
  FROM ar.reconcile_line r CROSS JOIN LATERAL jsonb_array_elements(r.explanation -> 'references') ref
 WHERE r.company_id = 7001 ORDER BY 1, 2;

-- the whole explanation of a combination
SELECT jsonb_pretty(explanation - 'summary') FROM ar.reconcile_line WHERE bank_transaction_id = 7000243;

-- the ledger: allocations, credits, invoices, lines
SELECT a.bank_transaction_id AS line, i.number, a.amount, a.method, a.payment_means, a.allocated_on, a.score
  FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
 WHERE a.company_id = 7001 ORDER BY i.number, a.method;
SELECT bank_transaction_id AS line, customer_id, amount, source, invoice_id FROM ar.customer_credit
 WHERE company_id = 7001 ORDER BY 1;
SELECT number, amount, open_amount, status FROM ar.invoice WHERE company_id = 7001 ORDER BY number;
SELECT id, amount, allocated_amount, status FROM ar.bank_transaction WHERE company_id = 7001 ORDER BY id;

-- the review queue, best first
SELECT bank_transaction_id AS line, rank, score, method, customer_code, invoice_numbers, amounts, credit_amount,
       explanation ->> 'held_back' AS held_back
  FROM ar.review_queue WHERE company_id = 7001 ORDER BY score DESC, line, rank;

-- ---------------------------------------------------------------- review
-- the same amount open twice at the payer: a person accepts the oldest invoice
SELECT i.number, a.amount, a.method, a.bank_transaction_id AS line
  FROM ar.accept_proposal((SELECT id FROM ar.match_proposal WHERE bank_transaction_id = 7000262 AND rank = 1)) a
  JOIN ar.invoice i ON i.id = a.invoice_id;
SELECT rank, status FROM ar.match_proposal WHERE bank_transaction_id = 7000262 ORDER BY rank;
-- a decided proposal cannot be decided again; an unknown one does not exist
DO $$
BEGIN
	PERFORM ar.accept_proposal((SELECT id FROM ar.match_proposal WHERE bank_transaction_id = 7000262 AND rank = 1));
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	RAISE NOTICE '%: %', SQLSTATE, regexp_replace(SQLERRM, '[0-9]+', 'N');
END $$;
SELECT ar.reject_proposal(0);
-- reject every proposal of the unrelated credit: the line is unmatched again
SELECT ar.reject_proposal(id, 'not a customer payment') FROM ar.match_proposal
 WHERE bank_transaction_id = 7000261 AND status = 'pending';
SELECT status FROM ar.bank_transaction WHERE id = 7000261;
SELECT count(*) AS pending FROM ar.match_proposal WHERE bank_transaction_id = 7000261 AND status = 'pending';

-- manual allocation: the rest of a partial payment, then undone and done again
SELECT ar.allocate(7000264, 7000114, 20.00) IS NOT NULL AS allocated;
SELECT open_amount FROM ar.invoice WHERE id = 7000114;
SELECT ar.unallocate((SELECT id FROM ar.allocation WHERE bank_transaction_id = 7000264));
SELECT open_amount FROM ar.invoice WHERE id = 7000114;
SELECT ar.allocate(7000264, 7000114) IS NOT NULL AS allocated;   -- the most both allow
SELECT allocated_amount, status FROM ar.bank_transaction WHERE id = 7000264;
SELECT open_amount, status FROM ar.invoice WHERE id = 7000114;
-- errors name what is wrong
SELECT ar.allocate(7000271, 7000114, 10);                  -- a debit
SELECT ar.allocate(7000264, 7000114, 5);                   -- the line has nothing left
SELECT ar.allocate(7000299, 7000114, 5);                   -- no such line
SELECT ar.allocate(7000264, 7000199, 5);                   -- no such invoice
DO $$
BEGIN
	PERFORM ar.unallocate((SELECT id FROM ar.allocation WHERE method = 'shortfall' AND invoice_id = 7000122));
EXCEPTION WHEN invalid_parameter_value THEN
	RAISE NOTICE '%: %', SQLSTATE, regexp_replace(SQLERRM, '[0-9]+', 'N');
END $$;
-- unallocating a payment reopens the shortfall it closed too
SELECT ar.unallocate((SELECT id FROM ar.allocation WHERE bank_transaction_id = 7000252));
SELECT number, open_amount, status FROM ar.invoice WHERE id = 7000122;
SELECT outcome FROM ar.reconcile_line WHERE bank_transaction_id = 7000252;

-- ----------------------------------------------------------- incremental
-- a second run finds nothing new, and leaves manual and accepted decisions alone
SELECT count(*) AS new_lines FROM ar.reconcile_company(7001);
SELECT count(*) AS allocations_of_line_264 FROM ar.allocation WHERE bank_transaction_id = 7000264;
-- ar.rematch sends a line back: the unallocated partial payment is matched again
SELECT ar.rematch(7000252);
SELECT * FROM ar.reconcile_company(7001);
SELECT ar.rematch(7000201);                                -- refused: it allocates money

-- a new line proposed only, when asked not to apply
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, counterparty_name, remittance_info)
VALUES (7000291, 7001, '2026-03-20', 420.00, 'ETS LEFEVRE', 'RC-2026-000125');
SELECT * FROM ar.reconcile_company(7001, auto_apply => false);

-- ------------------------------------------------- direct-debit returns
-- the collection of RC-2026-000144 comes back (insufficient funds): it is undone
INSERT INTO ar.bank_transaction (id, company_id, booking_date, amount, counterparty_name, counterparty_iban,
                                 remittance_info, end_to_end_id, bank_tx_code, return_reason) VALUES
	(7000301, 7001, '2026-03-15', -555.00, 'MULLER MASCHINENBAU', 'BE68539007547034', 'RETOUR PRLV RC-2026-000144',
	 'E2E-RC-144-01', 'PMNT-IDDT-UPDD', 'AM04'),
	(7000302, 7001, '2026-03-15',  -55.00, 'INCONNU', NULL, 'RETOUR PRLV', 'E2E-UNKNOWN', 'PMNT-IDDT-UPDD', 'MD06');
SELECT * FROM ar.reconcile_company(7001) ORDER BY bank_transaction_id;
SELECT number, open_amount, status FROM ar.invoice WHERE id = 7000144;
SELECT id, allocated_amount, status FROM ar.bank_transaction WHERE id IN (7000281, 7000301, 7000302) ORDER BY id;
SELECT bank_transaction_id AS line, outcome, returned_by, explanation ->> 'summary' AS summary
  FROM ar.reconcile_line WHERE bank_transaction_id IN (7000281, 7000301, 7000302) ORDER BY 1;

-- ------------------------------------------------------------- anomalies
SELECT kind, bank_transaction_id AS line, invoice_id, amount, days_unmatched, regexp_replace(detail, 'run [0-9]+', 'run N') AS detail
  FROM ar.reconcile_anomalies(10, '2026-03-31') WHERE company_id = 7001 ORDER BY kind, line;

-- -------------------------------------------------------------- settings
SELECT auto_apply_min_score, shortfall_abs, shortfall_pct, max_combination FROM ar.reconcile_config WHERE company_id = 7001;
UPDATE ar.reconcile_config SET propose_min_score = 0.97 WHERE company_id = 7001;   -- above auto_apply_min_score
UPDATE ar.reconcile_config SET shortfall_pct = 25 WHERE company_id = 7001;

-- ------------------------------------------------------------------ keys
SELECT ar.reference_key('fa-2O26/000123'), ar.reference_key('RF18 5390 0754 7034'), ar.reference_key('');
SELECT ar.name_key('Établissements Lefèvre SARL (Lyon)'), ar.name_key('M. ET MME DUPONT'), ar.name_key('Müller & Söhne GmbH');

-- ----------------------------------------------------------------- roles
-- several companies: a role acts for those it is a member of (doc/security.md)
SELECT count(*) AS memberships
  FROM ar.company c, (VALUES ('ar_reader', 'reader'), ('ar_collector', 'collector'), ('ar_admin', 'admin')) g(r, a),
       LATERAL ar.grant_company_access(g.r, c.code, g.a) x;
SET ROLE ar_reader;
SELECT count(*) > 0 AS reader_sees_the_queue FROM ar.reconcile_line WHERE company_id = 7001;
SELECT count(*) FROM ar.reconcile_company(7001);
SELECT ar.reject_proposal(0);
RESET ROLE;
SET ROLE ar_collector;
SELECT count(*) AS collector_runs FROM ar.reconcile_company(7001);
UPDATE ar.reconcile_config SET shortfall_abs = 0 WHERE company_id = 7001;
RESET ROLE;

SELECT count(*) AS ledger_errors FROM ar.check_ledger();
