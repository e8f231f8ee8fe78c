-- pgTAP: ar.import_statement streams the file (ar._statement_scan reads it
-- twice for the headers, sums and digests; ar._statement_store_lines a third
-- time, storing the lines batch by batch) and must store exactly what the
-- whole-file import stored: the same statements, the same lines with the
-- same values, the same digests (ar._statement_digest over the rows of
-- ar.parse_statement), in every format and across several batches
-- (1,000 lines each); an error on the last line, or in a late batch,
-- stores nothing; a file over 256 MB is refused with SQLSTATE 54000; the
-- audit rows of a large import are sealed in batches that chain.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(34);

-- The error a call raises, as "SQLSTATE: message" (NULL when none).
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- What the whole-file import (0.1.0) stored for a file, computed from the
-- rows of ar.parse_statement as it did: per statement its header figures
-- and digest, and its lines with an amount.
CREATE FUNCTION pg_temp.expected_statements(content text)
RETURNS TABLE (statement_no int, line_count bigint, movements numeric, digest bytea)
LANGUAGE sql AS $$
	WITH p AS (SELECT * FROM ar.parse_statement(content)),
	     l AS (SELECT p.statement_no, sum(p.amount) AS movements,
	                  count(*) FILTER (WHERE p.amount <> 0) AS stored_lines,
	                  jsonb_agg(to_jsonb(p) - ARRAY['statement_no', 'source_line', 'raw'] ORDER BY p.line_no) AS lines
	             FROM p WHERE p.line_no IS NOT NULL GROUP BY p.statement_no)
	SELECT s.statement_no, coalesce(l.stored_lines, 0), coalesce(l.movements, 0),
	       ar._statement_digest(s, l.lines)
	  FROM p s LEFT JOIN l USING (statement_no)
	 WHERE s.line_no IS NULL
	 ORDER BY s.statement_no
$$;
CREATE FUNCTION pg_temp.expected_lines(content text)
RETURNS TABLE (statement_no int, line_no int, line jsonb)
LANGUAGE sql AS $$
	SELECT p.statement_no, p.line_no,
	       jsonb_build_object('booking_date', p.booking_date, 'value_date', p.value_date, 'amount', p.amount,
	                          'currency', p.currency, 'counterparty_name', p.counterparty_name,
	                          'counterparty_iban', p.counterparty_iban, 'counterparty_account', p.counterparty_account,
	                          'counterparty_bic', p.counterparty_bic, 'remittance_info', p.remittance_info,
	                          'structured_reference', p.structured_reference, 'end_to_end_id', p.end_to_end_id,
	                          'bank_reference', p.bank_reference, 'customer_reference', p.customer_reference,
	                          'mandate_id', p.mandate_id, 'creditor_id', p.creditor_id, 'bank_tx_code', p.bank_tx_code,
	                          'bank_tx_code_proprietary', p.bank_tx_code_proprietary, 'booking_text', p.booking_text,
	                          'return_reason', p.return_reason, 'additional_info', p.additional_info,
	                          'reversal', p.reversal, 'source_line', p.source_line, 'raw', p.raw)
	  FROM ar.parse_statement(content) p
	 WHERE p.line_no IS NOT NULL AND p.amount <> 0
$$;
-- The same from what an import stored (ids: the statements in file order).
CREATE FUNCTION pg_temp.stored_statements(ids bigint[])
RETURNS TABLE (statement_no int, line_count bigint, movements numeric, digest bytea)
LANGUAGE sql AS $$
	SELECT x.o::int, s.line_count, s.movements, s.content_sha256
	  FROM unnest(ids) WITH ORDINALITY x(id, o) JOIN ar.bank_statement s ON s.id = x.id
	 ORDER BY x.o
$$;
CREATE FUNCTION pg_temp.stored_lines(ids bigint[])
RETURNS TABLE (statement_no int, line_no int, line jsonb)
LANGUAGE sql AS $$
	SELECT x.o::int, t.line_no,
	       jsonb_build_object('booking_date', t.booking_date, 'value_date', t.value_date, 'amount', t.amount,
	                          'currency', t.currency, 'counterparty_name', t.counterparty_name,
	                          'counterparty_iban', t.counterparty_iban, 'counterparty_account', t.counterparty_account,
	                          'counterparty_bic', t.counterparty_bic, 'remittance_info', t.remittance_info,
	                          'structured_reference', t.structured_reference, 'end_to_end_id', t.end_to_end_id,
	                          'bank_reference', t.bank_reference, 'customer_reference', t.customer_reference,
	                          'mandate_id', t.mandate_id, 'creditor_id', t.creditor_id, 'bank_tx_code', t.bank_tx_code,
	                          'bank_tx_code_proprietary', t.bank_tx_code_proprietary, 'booking_text', t.booking_text,
	                          'return_reason', t.return_reason, 'additional_info', t.additional_info,
	                          'reversal', t.reversal, 'source_line', t.source_line, 'raw', t.raw)
	  FROM unnest(ids) WITH ORDINALITY x(id, o) JOIN ar.bank_transaction t ON t.statement_id = x.id
$$;
-- What is stored in all: changes nothing when an import fails.
CREATE FUNCTION pg_temp.stored() RETURNS text
LANGUAGE sql AS $$
	SELECT format('%s statements, %s lines, %s audit rows',
	              (SELECT count(*) FROM ar.bank_statement), (SELECT count(*) FROM ar.bank_transaction),
	              (SELECT count(*) FROM ar.audit_log))
$$;

-- A CSV file of 2,503 rows in three statements whose rows interleave
-- (statement_ref A, B, C in turn; C's are all zero amounts but one), with
-- quoted fields holding separators and line breaks, credits and debits,
-- zero amounts (counted in the digest, not stored), IBANs and RF references.
CREATE TEMP TABLE big AS
SELECT 'account;statement_ref;booking_date;value_date;amount;counterparty_name;counterparty_iban;remittance_info;opening_balance;closing_balance'
       || E'\n' || string_agg(row, E'\n' ORDER BY g) || E'\n' AS c
  FROM (SELECT g, concat_ws(';',
               'DE89370400440532013000', (ARRAY['A', 'B', 'C'])[1 + g % 3],
               '2026-11-' || lpad((1 + g % 28)::text, 2, '0'), '2026-11-' || lpad((1 + (g + 1) % 28)::text, 2, '0'),
               CASE WHEN g % 3 = 2 THEN CASE WHEN g = 2 THEN '5.00' ELSE '0.00' END
                    WHEN g % 11 = 0 THEN '0.0'
                    WHEN g % 7 = 0 THEN '-' || (g % 500) || '.' || lpad((g % 100)::text, 2, '0')
                    ELSE (g % 900 + 1) || ',' || lpad((g % 97)::text, 2, '0') END,
               CASE WHEN g % 5 = 0 THEN '"Dupont; Fils ' || g || '"' ELSE 'Payer ' || g END,
               CASE WHEN g % 4 = 0 THEN 'FR7630006000011234567890189' ELSE '' END,
               CASE WHEN g % 6 = 0 THEN E'"Invoice FA-' || g || E'\nsecond line ""quoted"""'
                    WHEN g % 9 = 0 THEN 'RF18539007547034 invoice ' || g ELSE 'Invoice FA-' || g END,
               CASE WHEN g <= 3 THEN '100.00' ELSE '' END, '') AS row
          FROM generate_series(0, 2502) g) r;

CREATE TEMP TABLE big_ids AS SELECT array_agg(i ORDER BY o) AS ids
  FROM ar.import_statement((SELECT c FROM big), NULL, false) WITH ORDINALITY x(i, o);

SELECT is(cardinality((SELECT ids FROM big_ids)), 3, 'the interleaved CSV holds three statements');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.expected_lines((SELECT c FROM big))), '>', 1000::bigint,
          'the file has more lines to store than a batch (1,000 lines)');
SELECT results_eq('SELECT * FROM pg_temp.stored_statements((SELECT ids FROM big_ids))',
                  'SELECT * FROM pg_temp.expected_statements((SELECT c FROM big))',
                  'CSV across batches: each statement has the line count, movements and digest of the whole-file import');
SELECT set_eq('SELECT * FROM pg_temp.stored_lines((SELECT ids FROM big_ids))',
              'SELECT * FROM pg_temp.expected_lines((SELECT c FROM big))',
              'CSV across batches: the same lines with the same values (zero amounts not stored)');
SELECT is((SELECT count(*) FROM ar.bank_transaction), (SELECT count(*) FROM pg_temp.expected_lines((SELECT c FROM big))),
          'no line stored twice');
SELECT is((SELECT array_agg(line_no ORDER BY id) FROM ar.bank_transaction WHERE statement_id = (SELECT ids[1] FROM big_ids)),
          (SELECT array_agg(line_no ORDER BY line_no) FROM ar.bank_transaction WHERE statement_id = (SELECT ids[1] FROM big_ids)),
          'the lines of a statement are stored in line order');
SELECT is((SELECT line_count FROM ar.bank_statement WHERE id = (SELECT ids[3] FROM big_ids)), 1,
          'a statement of zero amounts but one stores that one');

-- again: the same ids, nothing stored
SELECT is((SELECT array_agg(i ORDER BY o) FROM ar.import_statement((SELECT c FROM big), NULL, false) WITH ORDINALITY x(i, o)),
          (SELECT ids FROM big_ids), 'importing the file again returns the same ids');
SELECT is(pg_temp.stored(), format('3 statements, %s lines, %s audit rows',
                                   (SELECT count(*) FROM pg_temp.expected_lines((SELECT c FROM big))),
                                   (SELECT count(*) FROM ar.audit_log)),
          '... and stores nothing');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'bank_transaction'),
          (SELECT count(*) FROM ar.bank_transaction), 'every stored line is audited once');

-- MT940: two statements, the second with 1,200 lines (two batches)
CREATE TEMP TABLE mt AS
SELECT E':20:STREAM-1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C261101EUR100,00\n'
       || E':61:2611021102C25,00NTRFNONREF//B-1\n:86:/EREF/E2E-1//REMI/USTD//Invoice FA-1/\n'
       || E':62F:C261102EUR125,00\n-\n'
       || E':20:STREAM-2\n:25:NL91ABNA0417164300\n:28C:2/1\n:60F:C261102EUR125,00\n'
       || string_agg(format(E':61:2611%s11%sC%s,%sNTRFREF-%s//BANK-%s\n:86:/EREF/E2E-%s//NAME/Payer %s//REMI/USTD//Invoice FA-%s\n more text/\n',
                            lpad((1 + g % 28)::text, 2, '0'), lpad((1 + g % 28)::text, 2, '0'),
                            g, lpad((g % 100)::text, 2, '0'), g, g, g, g, g), '' ORDER BY g)
       || format(E':62F:C261130EUR%s\n-\n',
                 replace((125 + sum(g + (g % 100) / 100.0))::numeric(20, 2)::text, '.', ',')) AS c
  FROM generate_series(1, 1200) g;
CREATE TEMP TABLE mt_ids AS SELECT array_agg(i ORDER BY o) AS ids
  FROM ar.import_statement((SELECT c FROM mt)) WITH ORDINALITY x(i, o);
SELECT is(cardinality((SELECT ids FROM mt_ids)), 2, 'MT940: two statements');
SELECT results_eq('SELECT * FROM pg_temp.stored_statements((SELECT ids FROM mt_ids))',
                  'SELECT * FROM pg_temp.expected_statements((SELECT c FROM mt))',
                  'MT940 across batches: the line counts, movements and digests of the whole-file import');
SELECT set_eq('SELECT * FROM pg_temp.stored_lines((SELECT ids FROM mt_ids))',
              'SELECT * FROM pg_temp.expected_lines((SELECT c FROM mt))',
              'MT940 across batches: the same lines with the same values');
SELECT ok((SELECT bool_and(balanced) FROM ar.bank_statement WHERE id = ANY ((SELECT ids FROM mt_ids)::bigint[])),
          'MT940: both statements balance');

-- camt.053: 1,100 entries, one of them a batch of two transactions
CREATE TEMP TABLE camt AS
SELECT '<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>STREAM-MSG</MsgId></GrpHdr>
<Stmt><Id>STREAM-CAMT</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">' || (sum(g) + 30)::text || '.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-30</Dt></Dt></Bal>
' || string_agg(format('<Ntry><Amt Ccy="EUR">%s.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-%s</Dt></BookgDt>'
                       '<AcctSvcrRef>ACR-%s</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E2E-%s</EndToEndId></Refs>'
                       '<RltdPties><Dbtr><Nm>Payer &amp; Sons %s</Nm></Dbtr></RltdPties><RmtInf><Ustrd>Invoice FA-%s</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>',
                       g, lpad((1 + g % 28)::text, 2, '0'), g, g, g, g), E'\n' ORDER BY g)
|| '
<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-30</Dt></BookgDt><NtryDtls>
<TxDtls><Amt Ccy="EUR">10.00</Amt><RmtInf><Ustrd>Invoice X-1</Ustrd></RmtInf></TxDtls>
<TxDtls><Amt Ccy="EUR">20.00</Amt><RmtInf><Ustrd>Invoice X-2</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>' AS c
  FROM generate_series(1, 1099) g;
CREATE TEMP TABLE camt_ids AS SELECT array_agg(i ORDER BY o) AS ids
  FROM ar.import_statement((SELECT c FROM camt)) WITH ORDINALITY x(i, o);
SELECT results_eq('SELECT * FROM pg_temp.stored_statements((SELECT ids FROM camt_ids))',
                  'SELECT * FROM pg_temp.expected_statements((SELECT c FROM camt))',
                  'camt.053 across batches: the line count, movements and digest of the whole-file import');
SELECT set_eq('SELECT * FROM pg_temp.stored_lines((SELECT ids FROM camt_ids))',
              'SELECT * FROM pg_temp.expected_lines((SELECT c FROM camt))',
              'camt.053 across batches: the same lines with the same values (the batch entry split in two)');
SELECT is((SELECT line_count FROM ar.bank_statement WHERE id = (SELECT ids[1] FROM camt_ids)), 1101,
          'camt.053: 1,101 lines');

-- The digest is ar._statement_digest's also for text that JSON escapes
-- (quotes, backslashes, control characters, non-ASCII).
CREATE TEMP TABLE odd AS SELECT E'account,booking_date,amount,counterparty_name,remittance_info\n'
       || E'DE89370400440532013000,2026-11-02,1.5,"Caf\u00e9 ""Le Z\u00e8bre"" \\\\ Fils","tab\there\u00a0\u20ac / \u00fc"\n'
       || E'DE89370400440532013000,2026-11-03,-0.25,Na\u00efve \u4e2d\u6587,line\u2028sep\n' AS c;
SELECT results_eq('SELECT * FROM pg_temp.stored_statements(ARRAY(SELECT ar.import_statement((SELECT c FROM odd))))',
                  'SELECT * FROM pg_temp.expected_statements((SELECT c FROM odd))',
                  'the digest of text with quotes, backslashes, tabs and non-ASCII characters is ar._statement_digest''s');

-- An error on the last line of a file larger than a batch stores nothing.
CREATE TEMP TABLE before_errors AS SELECT pg_temp.stored() AS s;
-- (the line of the row added: the lines of the file so far, plus one)
CREATE FUNCTION pg_temp.next_line(c text) RETURNS int
LANGUAGE sql AS $$ SELECT length(c) - length(replace(c, E'\n', '')) + 1 $$;
SELECT is(pg_temp.error_of(format('SELECT ar.import_statement(%L)',
                                  (SELECT c FROM big) || E'DE89370400440532013000;A;2026-11-31;;1.00;x;;y;;\n')),
          format('22P02: malformed CSV statement at line %s: booking_date "2026-11-31" is not a date (YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY)',
                 pg_temp.next_line((SELECT c FROM big))),
          'a bad date on the last line of a 2,504-row file: refused, naming its line');
SELECT is(pg_temp.stored(), (SELECT s FROM before_errors), '... and nothing is stored');

-- A new file (other statement_ref) whose last line is bad: refused before
-- a single statement or line is stored.
SELECT is(pg_temp.error_of(format('SELECT ar.import_statement(%L)',
                                  replace((SELECT c FROM big), ';A;', ';D;') || E'DE89370400440532013000;D;2026-11-30;;12.3.4;x;;y;;\n')),
          format('22P02: malformed CSV statement at line %s: amount "12.3.4" is not an amount (one decimal mark, no thousands separator)',
                 pg_temp.next_line((SELECT c FROM big))),
          'a bad amount on the last line of a new file: refused');
SELECT is(pg_temp.stored(), (SELECT s FROM before_errors), '... and nothing is stored');

-- An error while the lines are stored, after batches went in: nothing stays.
CREATE FUNCTION pg_temp.refuse_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'refused line %', NEW.line_no USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER refuse_late_line BEFORE INSERT ON ar.bank_transaction
	FOR EACH ROW WHEN (NEW.line_no = 1150) EXECUTE FUNCTION pg_temp.refuse_line();
SELECT is(pg_temp.error_of(format('SELECT ar.import_statement(%L)', replace((SELECT c FROM mt), 'STREAM-', 'LATE-'))),
          '23514: refused line 1150', 'an error in the second batch of lines aborts the import');
SELECT is(pg_temp.stored(), (SELECT s FROM before_errors), '... and nothing of the first batch stays');
DROP TRIGGER refuse_late_line ON ar.bank_transaction;

-- The size limit: 256 MB, refused before the file is read.
SELECT is(pg_temp.error_of($$SELECT ar.import_statement(repeat(' ', 256 * 1024 * 1024 + 1))$$),
          '54000: the statement file is too large: 268435457 bytes, the limit is 268435456 bytes (256 MB)',
          'a file of 256 MB and one byte is refused with SQLSTATE 54000 (program_limit_exceeded)');
SELECT is(pg_temp.error_of($$SELECT count(*) FROM ar.parse_statement(repeat(' ', 256 * 1024 * 1024 + 1))$$),
          '54000: the statement file is too large: 268435457 bytes, the limit is 268435456 bytes (256 MB)',
          'ar.parse_statement has the same limit');
SELECT is(pg_temp.error_of($$SELECT ar.import_statement(repeat(' ', 256 * 1024 * 1024))$$),
          '22P02: cannot tell the format of the statement', 'a file of exactly 256 MB is read');
SELECT is(pg_temp.stored(), (SELECT s FROM before_errors), 'nothing stored by the refused files');

-- The audit trail of a large import is sealed batch by batch (10,000 rows
-- each) at commit: here over 15,000 rows (a 12,000-line file and the
-- imports above), sealed by firing the deferred trigger now.
SELECT is((SELECT count(*) FROM ar.import_statement(
              'account,statement_ref,booking_date,amount,remittance_info' || E'\n'
              || (SELECT string_agg(format('FR7630006000011234567890189,SEAL,2026-11-%s,%s.%s,Invoice %s',
                                           lpad((1 + g % 28)::text, 2, '0'), g % 1000 + 1, lpad((g % 100)::text, 2, '0'), g), E'\n')
                    FROM generate_series(1, 12000) g))),
          1::bigint, 'a 12,000-line CSV file imports');
SELECT cmp_ok((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_unsealed(a)), '>', 15000::bigint,
              'over 15,000 audit rows wait for the seal');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_link(a) IS NULL), 0::bigint, 'the seal leaves no audit row unsealed');
SELECT is((SELECT bool_and(n) FROM (SELECT max(seq) = count(*) AND min(seq) = 1 AS n FROM ar.audit_seal GROUP BY company_id) c), true,
          'each chain''s seals are numbered from 1 without a gap');
SELECT is((SELECT valid FROM ar.verify_audit_chain()), true, 'the audit chain verifies, the import''s rows in one seal');

-- The internal functions: storing lines is not for callers.
SELECT ok(NOT has_function_privilege('ar_collector', 'ar._statement_store_lines(text, text, integer[], bigint[], bigint[])', 'EXECUTE'),
          'ar._statement_store_lines is not executable by ar_collector (only through ar.import_statement)');

SELECT * FROM finish();
ROLLBACK;
