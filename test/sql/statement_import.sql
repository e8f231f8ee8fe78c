--
-- statement_import: ar.import_statement, ar.parse_statement and
-- ar.detect_statement_format on small statements of every format, every
-- error path (each names its line or element), idempotency, the balance
-- check and auto-detection.
--
-- Accounts and references are this file's own (DE89370400440532013000,
-- statements STMTIMP-...); ids are never printed, only compared.
SET search_path = public, ar;

CREATE FUNCTION pg_temp.lines(stmt bigint)
RETURNS TABLE (line_no int, booking_date date, value_date date, amount numeric, currency char(3),
               counterparty_name text, counterparty_iban ar.iban, counterparty_account text,
               remittance_info text, structured_reference text, end_to_end_id text,
               bank_reference text, bank_tx_code text, return_reason text, reversal boolean, status text)
LANGUAGE sql AS $$
	SELECT line_no, booking_date, value_date, amount, currency, counterparty_name, counterparty_iban,
	       counterparty_account, remittance_info, structured_reference, end_to_end_id, bank_reference,
	       bank_tx_code, return_reason, reversal, status
	  FROM ar.bank_transaction WHERE statement_id = stmt ORDER BY line_no
$$;

--
-- Detection
--
SELECT f AS sample, ar.detect_statement_format(c) AS detected
FROM (VALUES
	('camt.053', '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>'),
	('camt.054', E'\xEF\xBB\xBF <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'),
	('camt.052 (no namespace)', '<Document><BkToCstmrAcctRpt/></Document>'),
	('mt940', E'{1:F01BANKDEFFXXXX0000000000}{2:O940BANKDEFFXXXXN}{4:\r\n:20:X\r\n:25:Y\r\n:60F:C260101EUR1,\r\n-}'),
	('mt942', E':20:X\n:25:Y\n:34F:EUR0,\n:13D:2611201200+0100\n'),
	('csv', E'account;booking_date;amount\nX;2026-11-20;1.00\n'),
	('other XML', '<html><body/></html>'),
	('text', 'Dear customer, please find attached...')) AS t(f, c);

--
-- MT940: a German statement (?20-?29 purpose with SEPA keywords), a Dutch
-- one (slash keys), free text over two lines, a direct-debit return.
--
CREATE TEMP TABLE mt940_ok AS SELECT E':20:STMTIMP-1
:25:DE89370400440532013000
:28C:00042/001
:60F:C261119EUR1000,00
:61:2611201120CR1250,50NTRFNONREF//BANKREF-1
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-4711?21SVWZ+Rechnung FA-2026-000
?22123 und FA-2026-000124?30BNPAFRPPXXX?31FR7630006000011234567890189
?32Boulangerie Martin?33 SARL
:61:2611201120CR480,00NTRFNONREF
:86:/EREF/NOTPROVIDED//CNTP/NL91ABNA0417164300/ABNANL2A/Groothandel De V
ries BV///REMI/STRD/CUR/RF18539007547034/
:61:2611211121DR99,90NRTIRET-9//BANKREF-3
:86:109?00SEPA-RUECKLASTSCHRIFT?20EREF+DD-2026-0099?21MREF+MANDATE-7?22CRED+
?23FR12ZZZ123456?24SVWZ+RUECKGABEGRUND MD06 AUF?25TRAG WIDERRUFEN?32Garage Robert
:61:2611211121C12,00NMSCNONREF
:86:Interest for November
 2026, thank you
:62F:C261121EUR2642,60
-'::text AS c;

SELECT statement_no, line_no, source_line, format, account, account_iban, statement_ref, sequence_no,
       currency, opening_date, opening_balance, closing_date, closing_balance
  FROM ar.parse_statement((SELECT c FROM mt940_ok)) WHERE line_no IS NULL;
\x on
SELECT line_no, source_line, booking_date, value_date, amount, counterparty_name, counterparty_iban,
       counterparty_account, counterparty_bic, remittance_info, structured_reference, end_to_end_id,
       bank_reference, customer_reference, mandate_id, creditor_id, bank_tx_code, bank_tx_code_proprietary,
       booking_text, return_reason, reversal
  FROM ar.parse_statement((SELECT c FROM mt940_ok)) WHERE line_no IS NOT NULL ORDER BY line_no;
\x off
SELECT raw FROM ar.parse_statement((SELECT c FROM mt940_ok)) WHERE line_no = 1;

-- import: one id; the lines as stored
CREATE TEMP TABLE first_import AS SELECT ar.import_statement((SELECT c FROM mt940_ok)) AS id;
SELECT format, account_iban, account_id, statement_ref, sequence_no, currency, opening_balance, movements,
       closing_balance, balanced, balance_difference, line_count, source_line
  FROM ar.bank_statement WHERE id = (SELECT id FROM first_import);
SELECT * FROM pg_temp.lines((SELECT id FROM first_import));

-- idempotent: the same statement again (even with CRLF line ends and the
-- format given) changes nothing and returns the same id
SELECT ar.import_statement((SELECT c FROM mt940_ok)) = (SELECT id FROM first_import) AS same_id;
SELECT ar.import_statement(replace((SELECT c FROM mt940_ok), E'\n', E'\r\n'), 'MT940') = (SELECT id FROM first_import)
       AS same_id_crlf;
SELECT count(*) AS statements, sum(line_count) AS lines
  FROM ar.bank_statement WHERE account_id = 'DE89370400440532013000';
-- the lines are new money for the matcher, audited
SELECT count(*) FILTER (WHERE status = 'unmatched') AS unmatched, count(*) AS lines
  FROM ar.bank_transaction WHERE statement_id = (SELECT id FROM first_import);
SELECT operation, count(*) FROM ar.audit_log
 WHERE table_name IN ('bank_statement', 'bank_transaction')
   AND (row_id = (SELECT id FROM first_import) OR (new_row->>'statement_id')::bigint = (SELECT id FROM first_import))
 GROUP BY operation;

-- the same reference with other content: another statement, and a notice
SELECT ar.import_statement(replace((SELECT c FROM mt940_ok), 'Interest for November', 'Interest for Nov.'))
       <> (SELECT id FROM first_import) AS other_id;

--
-- The balance check: refused with both figures, or stored flagged
--
CREATE TEMP TABLE unbalanced AS SELECT E':20:STMTIMP-2
:25:DE89370400440532013000
:28C:00043/001
:60F:C261121EUR2642,60
:61:2611221122CR100,00NTRFNONREF
:86:Payment FA-2026-000200
:62F:C261122EUR2752,60
-'::text AS c;
SELECT ar.import_statement((SELECT c FROM unbalanced));
SELECT count(*) FROM ar.bank_statement WHERE statement_ref = 'STMTIMP-2/00043/001';
CREATE TEMP TABLE flagged AS SELECT ar.import_statement((SELECT c FROM unbalanced), strict => false) AS id;
SELECT statement_ref, opening_balance, movements, closing_balance, balanced, balance_difference, line_count
  FROM ar.bank_statement WHERE id = (SELECT id FROM flagged);
SELECT statement_ref, balanced, balance_difference, lines, credits, open_lines
  FROM ar.bank_statement_summary WHERE statement_id = (SELECT id FROM flagged);

--
-- MT940 errors: each names its line; nothing is stored
--
CREATE FUNCTION pg_temp.try(content text, fmt text DEFAULT NULL, strict boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	msg text;
	detail text;
BEGIN
	PERFORM ar.import_statement(content, fmt, strict);
	RETURN 'imported';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || msg || coalesce(' | ' || nullif(detail, ''), '');
END $$;
CREATE FUNCTION pg_temp.mt(body text) RETURNS text
LANGUAGE sql AS $$
	SELECT E':20:STMTIMP-E\n:25:DE89370400440532013000\n:28C:1\n' || body || E'\n-'
$$;
SELECT case_name, pg_temp.try(pg_temp.mt(body), 'mt940') AS result
FROM (VALUES
	('bad value date', E':60F:C261119EUR1,00\n:61:261340C1,00NTRFNONREF\n:62F:C261119EUR2,00'),
	('bad entry date', E':60F:C261119EUR1,00\n:61:2611191399C1,00NTRFNONREF\n:62F:C261119EUR2,00'),
	('bad mark', E':60F:C261119EUR1,00\n:61:261119X1,00NTRFNONREF\n:62F:C261119EUR2,00'),
	('bad amount', E':60F:C261119EUR1,00\n:61:261119C1,0,0NTRFNONREF\n:62F:C261119EUR2,00'),
	('no amount', E':60F:C261119EUR1,00\n:61:261119CNTRFNONREF\n:62F:C261119EUR2,00'),
	('bad balance', E':60F:C26111EUR1,00\n:62F:C261119EUR2,00'),
	('balance mark', E':60F:X261119EUR1,00\n:62F:C261119EUR2,00'),
	('balance currency', E':60F:C261119EU1,00\n:62F:C261119EUR2,00'),
	('balance amount', E':60F:C261119EUR1.000,00\n:62F:C261119EUR2,00'),
	('two currencies', E':60F:C261119EUR1,00\n:62F:C261119USD1,00'),
	('second opening', E':60F:C261119EUR1,00\n:60F:C261119EUR1,00\n:62F:C261119EUR1,00'),
	('opening after lines', E':61:261119C1,00NTRFNONREF\n:60M:C261119EUR2,00\n:62F:C261119EUR2,00'),
	('line after closing', E':60F:C261119EUR1,00\n:62F:C261119EUR1,00\n:61:261119C1,00NTRFNONREF'),
	('second closing', E':60F:C261119EUR1,00\n:62F:C261119EUR1,00\n:62F:C261119EUR1,00'),
	('no closing', E':60F:C261119EUR1,00\n:61:261119C1,00NTRFNONREF'),
	('no opening', E':61:261119C1,00NTRFNONREF\n:62F:C261119EUR1,00'),
	('second account', E':25:FR7630006000011234567890189\n:60F:C261119EUR1,00\n:62F:C261119EUR1,00'),
	('bad total', E':34F:EURD0,\n:90D:1EUR2,x')) AS t(case_name, body);
SELECT case_name, pg_temp.try(content) AS result
FROM (VALUES
	('no account', E':20:STMTIMP-E\n:60F:C261119EUR1,00\n:62F:C261119EUR1,00\n-'),
	('unknown field between messages', E'{1:F01BANKDEFFXXXX0000000000}\n:9401:\n:20:X'),
	('not a statement at all', E'Dear customer\n')) AS t(case_name, content);
SELECT pg_temp.try(E':940:\nABNANL2A\n', 'mt940') AS no_statement_found;
SELECT count(*) AS stored FROM ar.bank_statement WHERE statement_ref LIKE 'STMTIMP-E%';

-- MT942: no balances; the bank's totals are checked instead
CREATE TEMP TABLE mt942 AS SELECT E':20:STMTIMP-3
:25:DE89370400440532013000
:28C:00044/00001
:34F:EURD0,00
:13D:2611221730+0100
:61:2611221122C250,00NTRFNONREF
:86:Rechnung FA-2026-000300
:61:2611221122D2,30NCHGNONREF
:86:Kontofuehrung
:90D:1EUR2,30
:90C:1EUR250,00
-'::text AS c;
SELECT format, opening_balance, closing_balance, declared_credits, declared_debits
  FROM ar.parse_statement((SELECT c FROM mt942)) WHERE line_no IS NULL;
CREATE TEMP TABLE mt942_import AS SELECT ar.import_statement((SELECT c FROM mt942)) AS id;
SELECT s.format, s.balanced, s.declared_credits, s.declared_debits, s.movements
  FROM mt942_import i JOIN ar.bank_statement s ON s.id = i.id;
SELECT pg_temp.try(replace((SELECT c FROM mt942), ':90C:1EUR250,00', ':90C:1EUR260,00')) AS totals_disagree;

--
-- camt.053 (version 08): batch split into its transactions, structured
-- reference, pending entry skipped, a returned direct debit.
--
CREATE TEMP TABLE camt_ok AS SELECT '<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>STMTIMP-MSG-1</MsgId><CreDtTm>2026-11-21T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMTIMP-CAMT-1</Id>
   <ElctrncSeqNb>321</ElctrncSeqNb>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">500.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-11-19</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">500.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1130.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">1750.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><Dt>2026-11-20</Dt></ValDt>
    <AcctSvcrRef>BANK-BATCH-1</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls>
     <Btch><NbOfTxs>2</NbOfTxs></Btch>
     <TxDtls>
      <Refs><EndToEndId>E2E-A</EndToEndId></Refs>
      <Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <RltdPties><Dbtr><Pty><Nm>Transports Dubois SAS</Nm></Pty></Dbtr>
       <DbtrAcct><Id><IBAN>FR76 3000 6000 0112 3456 7890 189</IBAN></Id></DbtrAcct></RltdPties>
      <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>RF18 5390 0754 7034</Ref></CdtrRefInf></Strd></RmtInf>
     </TxDtls>
     <TxDtls>
      <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
      <Amt Ccy="EUR">750.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
      <RltdPties><Dbtr><Nm>Menuiserie Petit &amp; Fils</Nm></Dbtr>
       <DbtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></DbtrAcct></RltdPties>
      <RmtInf><Ustrd>Factures FA-2026-000401</Ustrd><Ustrd>et FA-2026-000402</Ustrd></RmtInf>
     </TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
    <BookgDt><Dt>2026-11-20</Dt></BookgDt>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">120.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
    <BookgDt><DtTm>2026-11-20T10:00:00+01:00</DtTm></BookgDt>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn><Prtry><Cd>109</Cd></Prtry></BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>DD-2026-0120</EndToEndId><MndtId>MANDATE-8</MndtId></Refs>
     <RltdPties><Dbtr><Nm>Garage Robert</Nm></Dbtr><DbtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></DbtrAcct></RltdPties>
     <RmtInf><Ustrd>FA-2026-000130</Ustrd></RmtInf>
     <RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>'::text AS c;
SELECT statement_no, source_line, format, account, account_iban, statement_ref, sequence_no, message_id,
       currency, opening_date, opening_balance, closing_date, closing_balance
  FROM ar.parse_statement((SELECT c FROM camt_ok)) WHERE line_no IS NULL;
CREATE TEMP TABLE camt_import AS SELECT ar.import_statement((SELECT c FROM camt_ok)) AS id;
SELECT format, account_id, statement_ref, opening_balance, movements, closing_balance, balanced, line_count
  FROM ar.bank_statement WHERE id = (SELECT id FROM camt_import);
\x on
SELECT * FROM pg_temp.lines((SELECT id FROM camt_import));
\x off
SELECT line_no, source_line, mandate_id, bank_tx_code_proprietary, raw
  FROM ar.bank_transaction WHERE statement_id = (SELECT id FROM camt_import) AND line_no = 3;
SELECT ar.import_statement((SELECT c FROM camt_ok), 'camt.053') = (SELECT id FROM camt_import) AS same_id;

-- camt.054 (version 02): no balances, the entry's own amount
CREATE TEMP TABLE camt054_import AS SELECT ar.import_statement('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>STMTIMP-MSG-2</MsgId></GrpHdr>
<Ntfctn><Id>STMTIMP-NTF-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">42.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-20</Dt></BookgDt>
<NtryDtls><TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">42.00</Amt></TxAmt></AmtDtls>
<RltdPties><Dbtr><Nm>Cabinet Leroy</Nm></Dbtr></RltdPties><RmtInf><Ustrd>FA-2026-000500</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>') AS id;
SELECT s.format, s.balanced, s.movements, s.line_count, t.counterparty_name, t.remittance_info
  FROM camt054_import i JOIN ar.bank_statement s ON s.id = i.id JOIN ar.bank_transaction t ON t.statement_id = s.id;

-- camt errors: each names the element (path and line)
CREATE FUNCTION pg_temp.camt(stmt text, ns text DEFAULT 'camt.053.001.04') RETURNS text
LANGUAGE sql AS $$
	SELECT format(E'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:%s">\n<BkToCstmrStmt>\n<Stmt>\n%s\n</Stmt>\n</BkToCstmrStmt>\n</Document>', ns, stmt)
$$;
CREATE FUNCTION pg_temp.bal(code text, amt text DEFAULT '1.00') RETURNS text
LANGUAGE sql AS $$
	SELECT format('<Bal><Tp><CdOrPrtry><Cd>%s</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>', code, amt)
$$;
CREATE TEMP TABLE camt_head AS SELECT E'<Id>STMTIMP-CAMT-E</Id>\n<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n'
	|| pg_temp.bal('OPBD') || E'\n' || pg_temp.bal('CLBD') AS h;
SELECT case_name, pg_temp.try(content) AS result
FROM (VALUES
	('not well-formed', E'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">\n<BkToCstmrStmt>\n<Stmt></Stm>\n</BkToCstmrStmt></Document>'),
	('DOCTYPE', E'<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY lol "lol">]>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>'),
	('external entity', E'<!DOCTYPE d SYSTEM "file:///etc/passwd"><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>'),
	('namespace', pg_temp.camt((SELECT h FROM camt_head), 'camt.053.001.01')),
	('foreign namespace', replace(pg_temp.camt((SELECT h FROM camt_head)), 'camt.053.001.04', 'pain.001.001.03')),
	('root', '<Doc xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Doc>'),
	('no statement', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>'),
	('no Id', pg_temp.camt('<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>')),
	('no account', pg_temp.camt('<Id>X</Id>')),
	('no opening', pg_temp.camt(E'<Id>X</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n' || pg_temp.bal('CLBD'))),
	('bad balance amount', pg_temp.camt(E'<Id>X</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n' || pg_temp.bal('OPBD', '1,00') || pg_temp.bal('CLBD'))),
	('no entry amount', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>')),
	('negative amount', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">-5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>')),
	('no currency', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt>5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>')),
	('other currency', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="USD">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>')),
	('bad indicator', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CREDIT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>')),
	('bad date', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-02-30</Dt></BookgDt></Ntry>')),
	('no date', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>')),
	('bad status', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>DONE</Sts></Ntry>')),
	('second entry', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>\n<Ntry><Amt Ccy="EUR">5.x</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>')),
	('unbalanced', pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>'))
) AS t(case_name, content);
SELECT pg_temp.try((SELECT c FROM camt_ok), 'camt.054') AS asked_camt054;
SELECT count(*) AS stored FROM ar.bank_statement WHERE statement_ref IN ('STMTIMP-CAMT-E', 'X');

--
-- CSV: the documented layout; separator ';', quoted fields, any row order
--
CREATE TEMP TABLE csv_ok AS SELECT E'\xEF\xBB\xBFAccount;Statement_Ref;booking_date;value_date;amount;currency;counterparty_name;counterparty_iban;remittance_info;end_to_end_id;opening_balance;closing_balance\r
DE89370400440532013000;STMTIMP-CSV-1;2026-11-20;20.11.2026;1250,50;EUR;"Boulangerie ""Martin"" SARL";FR7630006000011234567890189;"FA-2026-000123\r
FA-2026-000124";E2E-1;100.00;\r
FR7630006000011234567890189;STMTIMP-CSV-2;21/11/2026;;-15.00;EUR;Frais;;;;0;-15\r
DE89370400440532013000;STMTIMP-CSV-1;2026-11-21;;-50;EUR;Garage Robert;;RF18539007547034;;;1300.50\r
'::text AS c;
SELECT statement_no, line_no, source_line, account, statement_ref, currency, opening_balance, closing_balance,
       booking_date, value_date, amount, counterparty_name, counterparty_iban, remittance_info, structured_reference, raw
  FROM ar.parse_statement((SELECT c FROM csv_ok)) ORDER BY statement_no, line_no NULLS FIRST;
CREATE TEMP TABLE csv_import AS SELECT ar.import_statement((SELECT c FROM csv_ok)) AS id;
SELECT s.statement_ref, s.format, s.account_id, s.balanced, s.line_count, s.movements
  FROM csv_import i JOIN ar.bank_statement s ON s.id = i.id ORDER BY 1;
-- a credit_debit column and no statement reference: the dates name it
CREATE TEMP TABLE csv_import2 AS
SELECT ar.import_statement(E'account,booking_date,amount,credit_debit\nDE89370400440532013000,2026-11-18,10.00,C\nDE89370400440532013000,2026-11-17,2.5,DBIT\n', 'csv') AS id;
SELECT s.statement_ref, s.balanced, s.movements, s.line_count
  FROM csv_import2 i JOIN ar.bank_statement s ON s.id = i.id;
SELECT case_name, pg_temp.try(content, 'csv') AS result
FROM (VALUES
	('empty', ''),
	('header only', E'account,booking_date,amount\n'),
	('unknown column', E'account,booking_date,amount,colour\nX,2026-11-20,1,blue\n'),
	('twice', E'account,booking_date,amount,Amount\nX,2026-11-20,1,1\n'),
	('no amount column', E'account,booking_date\nX,2026-11-20\n'),
	('bad date', E'account,booking_date,amount\nX,2026-11-20,1\nX,2026-13-01,1\n'),
	('bad amount', E'account;booking_date;amount\nX;2026-11-20;1.234,56\n'),
	('sign and credit_debit', E'account,booking_date,amount,credit_debit\nX,2026-11-20,-1,D\n'),
	('bad credit_debit', E'account,booking_date,amount,credit_debit\nX,2026-11-20,1,maybe\n'),
	('field count', E'account,booking_date,amount\nX,2026-11-20,1,extra\n'),
	('open quote', E'account,booking_date,amount\nX,2026-11-20,"1\n\n'),
	('after quote', E'account,booking_date,amount\nX,2026-11-20,"1"2\n'),
	('currency', E'account,booking_date,amount,currency\nX,2026-11-20,1,euro\n'),
	('two currencies', E'account,booking_date,amount,currency\nX,2026-11-20,1,EUR\nX,2026-11-20,1,USD\n'),
	('two balances', E'account,booking_date,amount,closing_balance\nX,2026-11-20,1,5\nX,2026-11-20,1,6\n'),
	('return reason', E'account,booking_date,amount,return_reason\nX,2026-11-20,-1,XX99\n'),
	('no account value', E'account,booking_date,amount\n,2026-11-20,1\n')) AS t(case_name, content);

--
-- Calls and formats
--
SELECT pg_temp.try(NULL) AS null_content;
SELECT pg_temp.try('x', 'ofx') AS unknown_format;
SELECT pg_temp.try('Dear customer') AS undetectable;
SELECT pg_temp.try((SELECT c FROM mt940_ok), 'csv') AS wrong_format_given;
SELECT count(*) AS rows FROM ar.parse_statement(NULL);

--
-- Roles: collectors import, readers read
--
SELECT c AS mt940_content FROM mt940_ok \gset
-- several companies: a role acts for those it is a member of (doc/security.md)
SELECT count(*) AS memberships
  FROM ar.company c, (VALUES ('ar_reader', 'reader'), ('ar_collector', 'collector'), ('ar_admin', 'admin')) g(r, a),
       LATERAL ar.grant_company_access(g.r, c.code, g.a) x;
SET ROLE ar_reader;
SELECT pg_temp.try(:'mt940_content') AS reader_imports;
SELECT count(*) > 0 AS reader_reads FROM ar.bank_statement_summary;
RESET ROLE;
SET ROLE ar_collector;
SELECT ar.import_statement(:'mt940_content') IS NOT NULL AS collector_imports;
RESET ROLE;

--
-- camt.054 entries without a booking or value date (both optional in a
-- notification): dated by the notification's creation date, and the line
-- says so; without any creation date they are refused, as in a camt.053
--
CREATE TEMP TABLE camt054_undated AS SELECT ar.import_statement('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>STMTIMP-MSG-3</MsgId><CreDtTm>2026-11-21T08:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>STMTIMP-NTF-2</Id><CreDtTm>2026-11-22T07:30:00+01:00</CreDtTm><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">43.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<NtryDtls><TxDtls><RmtInf><Ustrd>FA-2026-000501</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="EUR">44.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><ValDt><Dt>2026-11-19</Dt></ValDt></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>') AS id;
SELECT t.line_no, t.booking_date, t.value_date, t.additional_info
  FROM camt054_undated i JOIN ar.bank_transaction t ON t.statement_id = i.id ORDER BY t.line_no;
SELECT pg_temp.try(replace(replace(pg_temp.camt((SELECT h FROM camt_head) || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>',
                                                'camt.054.001.02'),
                               'BkToCstmrStmt', 'BkToCstmrDbtCdtNtfctn'), 'Stmt>', 'Ntfctn>')) AS camt054_no_date_at_all;

--
-- With strict => false, a camt.053 statement without an opening balance, or
-- with a balance in another currency than the account, is stored flagged
-- (balanced = false, and why); with strict it is refused, naming the line
--
CREATE TEMP TABLE camt_loose AS
SELECT n, pg_temp.camt(format(E'<Id>STMTIMP-LOOSE-%s</Id>\n<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>\n', n) || b
                       || E'\n<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-20</Dt></BookgDt></Ntry>') AS c
  FROM (VALUES (1, pg_temp.bal('CLBD', '6.00')),
               (2, replace(pg_temp.bal('OPBD'), 'EUR', 'USD') || pg_temp.bal('CLBD', '6.00'))) v(n, b);
SELECT n, pg_temp.try(c) AS strict FROM camt_loose ORDER BY n;
SELECT n, pg_temp.try(c, NULL, false) AS loose FROM camt_loose ORDER BY n;
SELECT statement_ref, currency, opening_balance, closing_balance, balanced, unbalanced_reason, line_count
  FROM ar.bank_statement WHERE statement_ref LIKE 'STMTIMP-LOOSE-%' ORDER BY statement_ref;
