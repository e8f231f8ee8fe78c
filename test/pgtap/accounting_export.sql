-- pgTAP: accounting export (issue 16, item 8).  Receipts, customer credit
-- received, write-offs, penalty invoices and credit releases of a period
-- become balanced entries, numbered per journal without gaps, once: a second
-- call returns the same export; a later change of a locked period is a
-- correcting entry of the next one; entries are never edited; the FEC has
-- its 18 fields; a random ledger journaled over several periods, with
-- reversals, reconciles to the cent; roles and companies are enforced.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(59);

UPDATE ar.company SET siren = '123456782' WHERE is_default;
INSERT INTO ar.customer (code, name) VALUES ('AE-1', 'Alpha SA'), ('AE-2', 'Beta SARL'), ('AE-3', 'Gamma');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('AE-1', 'AE-F1', '2025-01-02', '2025-01-31', 1200.00),
               ('AE-1', 'AE-F2', '2025-01-03', '2025-02-28', 300.50),
               ('AE-2', 'AE-F3', '2025-01-04', '2025-01-31', 1000.00),
               ('AE-3', 'AE-F4', '2025-01-05', '2025-01-31', 800.00)) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code;
CREATE FUNCTION pg_temp.inv(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ar.invoice WHERE number = n $$;
SELECT ar.record_payment('AE-F1', 1250.00, '2025-01-20');      -- 1200 + 50 kept as credit
SELECT ar.record_payment('AE-F3', 900.00, '2025-01-25');
SELECT ar.write_off_invoice(pg_temp.inv('AE-F3'), 'insolvent', '2025-01-31');
SELECT ar.record_payment('AE-F4', 800.00, '2025-03-17');       -- paid late: penalties
SELECT ar.bill_penalty(pg_temp.inv('AE-F4'), '2025-03-20');

-- --------------------------------------------------------------- January
CREATE TEMP TABLE jan AS SELECT * FROM ar.export_journal('DEFAULT', '2025-01-01', '2025-01-31');
SELECT results_eq($$SELECT entry_count, correction_count, total_debit, total_credit FROM jan$$,
	$$VALUES (4, 0, 2250.00::numeric(18,2), 2250.00::numeric(18,2))$$,
	'January: two receipts, the credit kept, one write-off; debit = credit');
SELECT results_eq($$SELECT e.journal_code, e.entry_no, e.entry_date, l.account, cu.code, l.debit, l.credit, l.lettering
                      FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                      LEFT JOIN ar.customer cu ON cu.id = l.customer_id
                     WHERE e.export_id = (SELECT id FROM jan) ORDER BY e.journal_code, e.entry_no, l.line_no$$,
	$$VALUES ('BQ', 1, '2025-01-20'::date, '411000', 'AE-1', 0.00::numeric(18,2), 50.00::numeric(18,2), NULL::text),
	         ('BQ', 1, '2025-01-20', '512000', NULL, 50.00, 0.00, NULL),
	         ('BQ', 2, '2025-01-20', '411000', 'AE-1', 0.00, 1200.00, 'AE-F1'),
	         ('BQ', 2, '2025-01-20', '512000', NULL, 1200.00, 0.00, NULL),
	         ('BQ', 3, '2025-01-25', '411000', 'AE-2', 0.00, 900.00, 'AE-F3'),
	         ('BQ', 3, '2025-01-25', '512000', NULL, 900.00, 0.00, NULL),
	         ('OD', 1, '2025-01-31', '411000', 'AE-2', 0.00, 100.00, 'AE-F3'),
	         ('OD', 1, '2025-01-31', '654000', NULL, 100.00, 0.00, NULL)$$,
	'receipts: bank 512 / customer 411 (auxiliary account, lettered by invoice); write-off: 654 / 411; numbered per journal');
SELECT is((SELECT id FROM ar.export_journal('DEFAULT', '2025-01-01', '2025-01-31')), (SELECT id FROM jan),
	'a second call for the period returns the same export');
SELECT is((SELECT count(*) FROM ar.journal_entry), 4::bigint, 'and journals nothing again');
SELECT is((SELECT count(*) FROM ar.accounting_config), 1::bigint, 'the first export stores the default configuration');
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-01-15', '2025-02-28')$$, '55000', NULL,
	'an overlapping period is refused');
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-02-02', '2025-02-28')$$, '55000', NULL,
	'a gap after the last export is refused');
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-02-28', '2025-02-01')$$, '22023', NULL,
	'a period ending before it starts is refused');
SELECT throws_ok($$SELECT ar.export_journal('NOPE', '2025-02-01', '2025-02-28')$$, 'P0002', NULL,
	'an unknown company is refused');
-- a period not ended yet: its later movements would become corrections of
-- the next period (of the next fiscal year in December)
SELECT throws_like($$SELECT ar.export_journal('DEFAULT', '2025-02-01', current_date)$$, '%has not ended yet%',
	'a period ending today is refused: it has not ended');
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-02-01', current_date + 30)$$, '55000', NULL,
	'a period ending later is refused (55000)');
SELECT is((SELECT count(*) FROM ar.accounting_export), 1::bigint, 'and nothing is exported');

-- entries are never edited
SELECT throws_ok($$UPDATE ar.journal_entry SET label = 'x'$$, '55000', NULL, 'an entry cannot be changed');
SELECT throws_ok($$DELETE FROM ar.journal_entry_line$$, '55000', NULL, 'nor its lines deleted');
SELECT throws_ok($$DELETE FROM ar.accounting_export$$, '55000', NULL, 'nor an export');
SELECT throws_ok($$UPDATE ar.accounting_export SET period_to = '2025-01-30'$$, '55000', NULL, 'nor its period');
SELECT throws_ok($q$DO $d$ BEGIN
		SET CONSTRAINTS ar.journal_entry_line_balanced IMMEDIATE;
		INSERT INTO ar.journal_entry (company_id, export_id, journal_code, journal_label, fiscal_year_end, entry_no,
		                              entry_date, label, piece_ref, piece_date, source_kind, source_id, source_amount,
		                              correction, currency)
		VALUES (ar.default_company(), (SELECT id FROM jan), 'ZZ', 'z', '2025-12-31', 1, '2025-01-31', 'x', 'x',
		        '2025-01-31', 'receipt', -1, 1, false, 'EUR');
		INSERT INTO ar.journal_entry_line (company_id, entry_id, line_no, account, account_label, label, debit, credit)
		SELECT ar.default_company(), id, 1, '512000', 'b', 'x', 10, 0 FROM ar.journal_entry WHERE journal_code = 'ZZ';
		INSERT INTO ar.journal_entry_line (company_id, entry_id, line_no, account, account_label, label, debit, credit)
		SELECT ar.default_company(), id, 2, '411000', 'c', 'x', 0, 9.99 FROM ar.journal_entry WHERE journal_code = 'ZZ';
	END $d$$q$, '23514', NULL, 'an unbalanced entry is refused');
SELECT throws_ok($$INSERT INTO ar.journal_entry_line (company_id, entry_id, line_no, account, account_label, label, debit, credit)
	SELECT ar.default_company(), min(id), 9, '512000', 'b', 'x', 10, 10 FROM ar.journal_entry$$, '23514', NULL,
	'a line is a debit or a credit, not both');

-- ------------------------------------------- February: a change of January
SELECT ar.unallocate((SELECT id FROM ar.allocation WHERE invoice_id = pg_temp.inv('AE-F3') AND method = 'manual'));
SELECT ar.record_payment('AE-F2', 300.50, '2025-01-28');       -- recorded late, dated in January
SELECT ar.record_payment('AE-F3', 100.00, '2025-02-10');       -- reopened by the reversal: paid in part
CREATE TEMP TABLE feb AS SELECT * FROM ar.export_journal('DEFAULT', '2025-02-01', '2025-02-28');
SELECT results_eq($$SELECT e.journal_code, e.entry_no, e.entry_date, e.correction, e.source_amount, e.label
                      FROM ar.journal_entry e WHERE e.export_id = (SELECT id FROM feb) ORDER BY e.entry_date, e.journal_code, e.entry_no$$,
	$$VALUES ('BQ', 4, '2025-02-10'::date, false, 100.00::numeric(18,2), 'Règlement AE-F3'),
	         ('BQ', 5, '2025-02-28', true, -900.00, 'Annulation Règlement AE-F3'),
	         ('BQ', 6, '2025-02-28', true, 300.50, 'Correction Règlement AE-F2')$$,
	'February: its receipt, then the reversal of a January receipt and a payment dated back into January, as correcting entries at the end of February; numbering goes on');
SELECT results_eq($$SELECT l.account, l.debit, l.credit FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                     WHERE e.export_id = (SELECT id FROM feb) AND e.source_amount = -900 ORDER BY l.line_no$$,
	$$VALUES ('411000', 900.00::numeric(18,2), 0.00::numeric(18,2)), ('512000', 0.00, 900.00)$$,
	'the reversal is the original entry with debit and credit swapped');
SELECT is((SELECT entry_count FROM ar.accounting_export WHERE id = (SELECT id FROM jan)), 4,
	'the January export is left as it was');
SELECT is((SELECT count(*) FROM ar.journal_entry WHERE export_id = (SELECT id FROM jan)), 4::bigint,
	'and so are its entries');

-- ------------------------------------------- March: penalties, credit release
INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
SELECT company_id, customer_id, id, currency, 50.00, '2025-03-25', 'refund', 'refunded' FROM ar.customer_credit;
CREATE TEMP TABLE mar AS SELECT * FROM ar.export_journal('DEFAULT', '2025-03-01', '2025-03-31');
SELECT results_eq($$SELECT e.journal_code, l.account, l.debit, l.credit
                      FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                     WHERE e.export_id = (SELECT id FROM mar) AND e.source_kind = 'penalty_invoice' ORDER BY l.line_no$$,
	$$SELECT 'VT', '411000', total::numeric(18,2), 0.00::numeric(18,2) FROM ar.penalty_claim
	  UNION ALL SELECT 'VT', '763000', 0.00, (total - 40)::numeric(18,2) FROM ar.penalty_claim
	  UNION ALL SELECT 'VT', '758000', 0.00, 40.00 FROM ar.penalty_claim$$,
	'a penalty invoice: customer 411 / interest 763 and the 40 EUR indemnity 758, in the sales journal');
SELECT results_eq($$SELECT e.journal_code, l.account, l.debit, l.credit
                      FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                     WHERE e.export_id = (SELECT id FROM mar) AND e.source_kind = 'credit_release' ORDER BY l.line_no$$,
	$$VALUES ('BQ', '411000', 50.00::numeric(18,2), 0.00::numeric(18,2)), ('BQ', '512000', 0.00, 50.00)$$,
	'a credit refunded: customer 411 / bank 512');
SELECT ar.cancel_invoice((SELECT penalty_invoice_id FROM ar.penalty_claim), '2025-04-02');
DELETE FROM ar.credit_release;                                 -- the refund reversed
CREATE TEMP TABLE apr AS SELECT * FROM ar.export_journal('DEFAULT', '2025-04-01', '2025-04-30');
SELECT results_eq($$SELECT l.account, l.debit, l.credit, e.label LIKE 'Annulation Pénalités%'
                      FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                     WHERE e.export_id = (SELECT id FROM apr) AND e.source_kind = 'penalty_invoice' ORDER BY l.line_no$$,
	$$SELECT '411000', 0.00::numeric(18,2), total::numeric(18,2), true FROM ar.penalty_claim
	  UNION ALL SELECT '763000', (total - 40)::numeric(18,2), 0.00, true FROM ar.penalty_claim
	  UNION ALL SELECT '758000', 40.00, 0.00, true FROM ar.penalty_claim$$,
	'a penalty invoice cancelled after its period: the whole entry reversed in the next one');
SELECT results_eq($$SELECT e.journal_code, e.label, l.account, l.debit, l.credit
                      FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                     WHERE e.export_id = (SELECT id FROM apr) AND e.source_kind = 'credit_release' ORDER BY l.line_no$$,
	$$VALUES ('BQ', 'Annulation Remboursement avoir AE-F1', '411000', 0.00::numeric(18,2), 50.00::numeric(18,2)),
	         ('BQ', 'Annulation Remboursement avoir AE-F1', '512000', 50.00, 0.00)$$,
	'a refund reversed (its release deleted): the refund entry reversed in the bank journal');

-- ------------------------------------------------------------------ FEC
SELECT is(split_part(ar.fec_file((SELECT id FROM jan)), E'\r\n', 1),
	'JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise',
	'the FEC starts with the 18 field names in order');
SELECT is((SELECT count(*) FROM regexp_split_to_table(rtrim(ar.fec_file((SELECT id FROM jan)), E'\r\n'), E'\r\n') l
            WHERE array_length(string_to_array(l, '|'), 1) = 18), 9::bigint,
	'a header and 8 lines of 18 fields');
SELECT is(split_part(ar.fec_file((SELECT id FROM jan)), E'\r\n', 5),
	'BQ|Banque|2|20250120|512000|Banque|||AE-F1|20250120|Règlement AE-F1|1200,00|0,00|||' || to_char(current_date, 'YYYYMMDD') || '||',
	'dates YYYYMMDD, amounts with a decimal comma, the validation date is the export''s');
SELECT is(split_part(ar.fec_file((SELECT id FROM jan), E'\t'), E'\r\n', 1),
	replace('JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise', '|', E'\t'),
	'or separated by tabs');
SELECT throws_ok($$SELECT ar.fec_file((SELECT id FROM jan), ';')$$, '22023', NULL, 'no other separator');
SELECT is(ar.fec_file_name((SELECT id FROM jan)), '123456782FEC20251231.txt', 'the file name: SIREN, FEC, closing date');
UPDATE ar.accounting_config SET fiscal_year_end_month = 6;
SELECT is(ar.fec_file_name((SELECT id FROM jan)), '123456782FEC20250630.txt', 'the closing date of the fiscal year');
UPDATE ar.company SET siren = NULL WHERE is_default;
SELECT throws_ok($$SELECT ar.fec_file_name((SELECT id FROM jan))$$, '55000', NULL, 'no SIREN: no FEC file name');
UPDATE ar.company SET siren = '123456782' WHERE is_default;
UPDATE ar.accounting_config SET fiscal_year_end_month = 12;
SELECT throws_ok($$UPDATE ar.accounting_config SET bank_account = '411000'$$, '23514', NULL,
	'the bank account is of class 5');
SELECT throws_ok($$UPDATE ar.accounting_config SET sales_journal_code = 'BQ'$$, '23514', NULL,
	'two journals do not share a code');
UPDATE ar.company SET name = 'Ledger | Co' WHERE is_default;
SELECT is((SELECT count(*) FROM regexp_split_to_table(rtrim(ar.fec_file((SELECT id FROM jan)), E'\r\n'), E'\r\n') l
            WHERE array_length(string_to_array(l, '|'), 1) <> 18), 0::bigint, 'no field holds the separator');
-- the file is written as ISO 8859-15 (LATIN9): letters outside it are
-- transliterated (Ł → L, ź → z; é and œ are in it), what has none becomes ?
UPDATE ar.customer c SET name = 'Łódź Spółka z o.o. ☃ œuvre'
  FROM ar.journal_entry_line l WHERE l.customer_id = c.id AND l.entry_id IN (SELECT e.id FROM ar.journal_entry e WHERE e.export_id = (SELECT id FROM jan));
SELECT is((SELECT count(*) FROM regexp_split_to_table(convert_from(convert_to(ar.fec_file((SELECT id FROM jan)), 'LATIN9'), 'LATIN9'), E'\r\n') l
            WHERE l LIKE '%|Lódz Spólka z o.o. ? œuvre|%') > 0, true,
	'names outside ISO 8859-15 are transliterated: the file converts to LATIN9');
SELECT is(ar._fec_text('Ærø Åsa ½ € Š'), 'Ærø Åsa 1/2 € Š', 'letters of ISO 8859-15 stay; ½ (ISO 8859-1 only) is spelt out');

-- ---------------------------------- fiscal year ending in June, no auxiliary
INSERT INTO ar.company (code, name) VALUES ('AE_FY', 'Fiscal June');
INSERT INTO ar.accounting_config (company_id, fiscal_year_end_month, auxiliary_accounts)
SELECT id, 6, false FROM ar.company WHERE code = 'AE_FY';
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'FY-1', 'June customer' FROM ar.company WHERE code = 'AE_FY';
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT company_id, id, 'FY-' || g, '2025-06-01', '2025-06-30', 100.00 FROM ar.customer, generate_series(1, 3) g WHERE code = 'FY-1';
SELECT ar.record_payment('FY-1', 100.00, '2025-06-20'), ar.record_payment('FY-2', 100.00, '2025-06-25'),
       ar.record_payment('FY-3', 100.00, '2025-07-05');
-- one FEC covers one fiscal year: a period across its end is refused
SELECT throws_ok($$SELECT ar.export_journal('AE_FY', '2025-06-01', '2025-07-31')$$, '22023',
	'the period 2025-06-01 .. 2025-07-31 of company "AE_FY" crosses the end of its fiscal year on 2025-06-30',
	'a period across the end of the fiscal year is refused');
SELECT ar.export_journal('AE_FY', '2025-06-01', '2025-06-30') IS NOT NULL, ar.export_journal('AE_FY', '2025-07-01', '2025-07-31') IS NOT NULL;
SELECT results_eq($$SELECT e.entry_date, e.fiscal_year_end, e.entry_no FROM ar.journal_entry e
                     JOIN ar.company c ON c.id = e.company_id WHERE c.code = 'AE_FY' ORDER BY e.entry_date$$,
	$$VALUES ('2025-06-20'::date, '2025-06-30'::date, 1), ('2025-06-25', '2025-06-30', 2), ('2025-07-05', '2026-06-30', 1)$$,
	'numbering restarts with the fiscal year (ending in June)');
SELECT is((SELECT count(*) FROM ar.journal_entry_line l JOIN ar.company c ON c.id = l.company_id
            WHERE c.code = 'AE_FY' AND l.customer_id IS NOT NULL), 0::bigint,
	'without auxiliary accounts customer lines name no customer');

-- ---------------------------------------------- a random ledger, 4 months
INSERT INTO ar.company (code, name, siren) VALUES ('AE_R', 'Random ledger', '123456782');
SELECT setseed(0.16);
INSERT INTO ar.customer (company_id, code, name)
SELECT (SELECT id FROM ar.company WHERE code = 'AE_R'), 'R' || g, 'Random ' || g FROM generate_series(1, 12) g;
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT c.company_id, c.id, 'R-' || g, d, d + 30, round((1 + random() * 5000)::numeric, 2)
  FROM generate_series(1, 150) g
  CROSS JOIN LATERAL (SELECT DATE '2025-05-01' + (random() * 110)::integer AS d) x
  JOIN ar.customer c ON c.code = 'R' || (1 + g % 12) AND c.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R');
CREATE FUNCTION pg_temp.r_month(m integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	i record;
BEGIN
	-- payments (some partial, some over), write-offs, then reversals of earlier ones
	FOR i IN SELECT * FROM ar.invoice WHERE company_id = (SELECT id FROM ar.company WHERE code = 'AE_R')
	           AND open_amount > 0 AND issue_date < make_date(2025, m + 1, 1) ORDER BY id LOOP
		IF random() < 0.5 THEN
			PERFORM ar.record_payment(i.number, round((i.open_amount * (0.3 + random() * 0.8))::numeric, 2),
			                          greatest(i.issue_date, make_date(2025, m, 1)) + (random() * 20)::integer);
		ELSIF random() < 0.1 THEN
			PERFORM ar.write_off_invoice(i.id, 'random', greatest(i.issue_date, make_date(2025, m, 1)) + 5);
		END IF;
	END LOOP;
	PERFORM ar.unallocate(a.id) FROM ar.allocation a
	 WHERE a.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND a.method = 'manual' AND random() < 0.08;
	PERFORM ar.reverse_write_off(a.id, 'random') FROM ar.allocation a
	 WHERE a.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND a.method = 'write_off' AND random() < 0.3;
END $$;
SELECT pg_temp.r_month(5);
SELECT ar.export_journal('AE_R', '2025-05-01', '2025-05-31') IS NOT NULL;
SELECT pg_temp.r_month(6);
SELECT ar.export_journal('AE_R', '2025-06-01', '2025-06-30') IS NOT NULL;
SELECT pg_temp.r_month(7);
SELECT ar.export_journal('AE_R', '2025-07-01', '2025-07-31') IS NOT NULL;
SELECT pg_temp.r_month(8);
SELECT ar.export_journal('AE_R', '2025-08-01', '2025-09-30') IS NOT NULL;
SELECT cmp_ok((SELECT sum(correction_count) FROM ar.accounting_export WHERE company_id = (SELECT id FROM ar.company WHERE code = 'AE_R')),
	'>', 0::bigint, 'the random ledger has corrections of locked periods');
SELECT is((SELECT count(*) FROM (SELECT e.id FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                                 GROUP BY e.id HAVING sum(l.debit) <> sum(l.credit) OR count(*) < 2) x), 0::bigint,
	'every entry balances');
SELECT is((SELECT count(*) FROM ar.accounting_export x
            WHERE total_debit <> total_credit
               OR total_debit <> (SELECT sum(l.debit) FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
                                   WHERE e.export_id = x.id)), 0::bigint,
	'every export balances and its totals are its lines''');
SELECT is((SELECT count(*) FROM (SELECT e.company_id, e.journal_code, e.fiscal_year_end FROM ar.journal_entry e
                                 GROUP BY 1, 2, 3 HAVING max(entry_no) <> count(*) OR min(entry_no) <> 1) x), 0::bigint,
	'entries are numbered from 1 without gaps per journal and fiscal year');
SELECT is((SELECT count(*) FROM ar.journal_entry e1 JOIN ar.journal_entry e2
             ON (e2.company_id, e2.journal_code, e2.fiscal_year_end) = (e1.company_id, e1.journal_code, e1.fiscal_year_end)
            AND e2.entry_no > e1.entry_no AND e2.entry_date < e1.entry_date), 0::bigint,
	'numbers follow the dates');
-- to the cent: what the journal says of each movement is the movement as it stands
SELECT is((SELECT count(*) FROM ar._accounting_sources((SELECT id FROM ar.company WHERE code = 'AE_R'), '2025-09-30') s
             FULL JOIN (SELECT source_kind, source_id, sum(source_amount) AS amount FROM ar.journal_entry
                         WHERE company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') GROUP BY 1, 2) j
               USING (source_kind, source_id)
            WHERE coalesce(s.amount, 0) <> coalesce(j.amount, 0)), 0::bigint,
	'every movement of the ledger is journaled at its current amount (reversed ones at 0)');
SELECT is((SELECT sum(l.debit - l.credit) FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
            WHERE e.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND l.account = '512000'),
	(SELECT sum(a.amount) FROM ar.allocation a WHERE a.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND a.method = 'manual')
	+ (SELECT coalesce(sum(c.amount), 0) FROM ar.customer_credit c WHERE c.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R')),
	'the bank account holds the payments received, to the cent');
SELECT is((SELECT sum(l.debit - l.credit) FROM ar.journal_entry e JOIN ar.journal_entry_line l ON l.entry_id = e.id
            WHERE e.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND l.account = '654000'),
	(SELECT sum(a.amount) FROM ar.allocation a WHERE a.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R') AND a.method = 'write_off'),
	'the loss account holds the write-offs standing, to the cent');
SELECT is((SELECT count(*) FROM (
	SELECT c.id FROM ar.customer c
	  LEFT JOIN ar.journal_entry_line l ON l.customer_id = c.id
	 WHERE c.company_id = (SELECT id FROM ar.company WHERE code = 'AE_R')
	 GROUP BY c.id
	HAVING coalesce(sum(l.credit - l.debit), 0)
	       <> (SELECT coalesce(sum(a.amount), 0) FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
	            WHERE i.customer_id = c.id AND a.method IN ('manual', 'write_off'))
	          + (SELECT coalesce(sum(cc.amount), 0) FROM ar.customer_credit cc WHERE cc.customer_id = c.id)) x), 0::bigint,
	'each customer''s auxiliary account is credited with its payments and write-offs, to the cent');

-- ------------------------------------------------------- roles, companies
GRANT SELECT ON jan TO PUBLIC;
CREATE ROLE ae_reader IN ROLE ar_reader;
CREATE ROLE ae_coll IN ROLE ar_collector;
CREATE ROLE ae_adm_r IN ROLE ar_admin;
SELECT ar.grant_company_access('ae_reader', 'DEFAULT', 'reader');
SELECT ar.grant_company_access('ae_coll', 'DEFAULT', 'collector');
SELECT ar.grant_company_access('ae_adm_r', 'AE_R', 'admin');
SET LOCAL ROLE ae_reader;
SELECT is((SELECT count(DISTINCT company_id) FROM ar.journal_entry), 1::bigint, 'a reader reads the entries of its company only');
SELECT is(split_part(ar.fec_file((SELECT id FROM jan)), E'\r\n', 5) LIKE 'BQ|Banque|2|%', true, 'and its FEC');
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-05-01', '2025-05-31')$$, '42501', NULL, 'a reader does not export');
RESET ROLE;
SET LOCAL ROLE ae_coll;
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-05-01', '2025-05-31')$$, '42501', NULL, 'nor does a collector');
RESET ROLE;
SET LOCAL ROLE ae_adm_r;
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-05-01', '2025-05-31')$$, '42501',
	'role "ae_adm_r" may not act as admin for company "DEFAULT"', 'an admin of another company is refused, naming the company');
SELECT is((SELECT ar.export_journal('AE_R', '2025-10-01', '2025-10-31')).entry_count, 0, 'an admin exports its company');
SELECT throws_ok($$INSERT INTO ar.journal_entry_line (company_id, entry_id, line_no, account, account_label, label, debit)
	SELECT company_id, entry_id, 99, account, account_label, label, 1 FROM ar.journal_entry_line LIMIT 1$$, '42501', NULL,
	'entries are written by the export only');
RESET ROLE;
SELECT cmp_ok((SELECT count(*) FROM ar.audit_log WHERE table_name IN ('journal_entry', 'journal_entry_line', 'accounting_export')),
	'>', 0::bigint, 'exports and entries are in the audit trail');

SELECT * FROM finish();
ROLLBACK;
