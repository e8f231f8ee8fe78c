-- ---------------------------------------------------------------------------
-- Demo step 30: bank statements.  The generator records past payments as
-- allocations without bank lines; this step writes the statements of the
-- last two weeks before as_of, as the company's two banks would send them,
-- and imports them with ar.import_statement:
--   * bank A (the company's main account) sends one camt.053 (version 08)
--     per business day, bank B (a German account) one MT940 per day with
--     the DFU layout of :86: (?20-?29 purpose, SEPA keywords);
--   * the lines are payments of invoices still open on as_of, written as
--     payers really write them (exact number, structured RF reference,
--     number without separators or zeros, a typo, several invoices in one
--     transfer, no reference at all, partial, short or overpaid amounts,
--     from a registered account or from an unknown one), plus what a
--     business account also sees: interest, refunds, subsidies, tax
--     refunds, salaries, suppliers, bank fees and returned direct debits.
-- Nothing here is allocated: step 40 (reconcile) does that.  The truth
-- behind each line is kept in ar_demo.bank_line_truth, for measuring the
-- matcher, and the files in ar_demo.statement_file.
-- Deterministic: the same ledger gives the same files.
-- ---------------------------------------------------------------------------
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;

CREATE TABLE IF NOT EXISTS ar_demo.statement_file (
	name         text PRIMARY KEY,
	format       text NOT NULL,
	content      text NOT NULL,
	statement_ids bigint[]
);
CREATE TABLE IF NOT EXISTS ar_demo.bank_line_truth (
	end_to_end_id    text PRIMARY KEY,   -- written into every generated line
	situation        text NOT NULL,      -- exact, structured, variant, typo, no_reference, combined, partial, short, overpaid, unrelated, debit, return
	invoice_numbers  text[],             -- what the payer meant to pay (NULL: nothing)
	amount           numeric NOT NULL
);
COMMENT ON TABLE ar_demo.bank_line_truth IS 'demo: what each generated bank line really pays (for measuring ar.reconcile)';
TRUNCATE ar_demo.statement_file, ar_demo.bank_line_truth;

-- An IBAN with its check digits, from a country code and a BBAN.
CREATE OR REPLACE FUNCTION ar_demo.make_iban(cc text, bban text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	r integer := 0;
	ch text;
BEGIN
	FOREACH ch IN ARRAY regexp_split_to_array(upper(bban || cc || '00'), '') LOOP
		IF ch ~ '[0-9]' THEN
			r := (r * 10 + ch::integer) % 97;
		ELSE
			r := (r * 100 + ascii(ch) - 55) % 97;
		END IF;
	END LOOP;
	RETURN cc || lpad((98 - r)::text, 2, '0') || upper(bban);
END $$;

-- A plausible account of a payer in its country (digits from a hash).
CREATE OR REPLACE FUNCTION ar_demo.payer_iban(country text, salt text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT CASE country
	       WHEN 'DE' THEN ar_demo.make_iban('DE', left(d, 18))
	       WHEN 'BE' THEN ar_demo.make_iban('BE', left(d, 12))
	       WHEN 'ES' THEN ar_demo.make_iban('ES', left(d, 20))
	       WHEN 'IT' THEN ar_demo.make_iban('IT', 'X' || left(d, 22))
	       WHEN 'NL' THEN ar_demo.make_iban('NL', (ARRAY['ABNA', 'INGB', 'RABO', 'TRIO'])[1 + ascii(d) % 4] || left(d, 10))
	       WHEN 'LU' THEN ar_demo.make_iban('LU', left(d, 16))
	       WHEN 'GB' THEN ar_demo.make_iban('GB', 'NWBK' || left(d, 14))
	       WHEN 'CH' THEN ar_demo.make_iban('CH', left(d, 17))
	       ELSE ar_demo.make_iban('FR', '30004' || substr(d, 3, 18))
	       END
	  FROM (SELECT translate(md5(salt), 'abcdef', '314159') || translate(md5(salt || '/'), 'abcdef', '271828') AS d) x
$$;

CREATE OR REPLACE FUNCTION ar_demo.xml(t text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

-- A working day on or before d.
CREATE OR REPLACE FUNCTION ar_demo.business_day(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
	SELECT d - CASE extract(isodow FROM d) WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END
$$;

-- The company's accounts and the payers' registered accounts.
UPDATE ar.company SET iban = 'FR7630006000011234567890189' WHERE is_default AND iban IS NULL;
INSERT INTO ar.customer_bank_account (customer_id, iban, holder_name)
SELECT c.id, ar_demo.payer_iban(c.country, c.code)::ar.iban, c.name
  FROM ar.customer c
 WHERE c.code ~ '^C[0-9]{5,}$'
   -- 15% of customers have no account on file: the matcher must find them by name
   AND ('x' || substr(md5(c.code || 'registered'), 1, 8))::bit(32)::bigint % 100 >= 15
ON CONFLICT DO NOTHING;

DO $$
DECLARE
	as_of date := (SELECT g.as_of FROM ar_demo.generation g ORDER BY g.id DESC LIMIT 1);
	open_count bigint;
	target integer;
BEGIN
	PERFORM setseed(0.3);
	SELECT count(*) INTO open_count
	  FROM ar.invoice i
	 WHERE i.open_amount > 0 AND i.amount > 0 AND i.currency = 'EUR' AND NOT i.disputed AND i.cancelled_on IS NULL
	   AND i.due_date BETWEEN as_of - 120 AND as_of + 20 AND i.issue_date <= as_of;
	-- about 600 payments on a full demo ledger, fewer on a small one
	target := least(600, greatest(20, open_count / 10));

	-- Invoices paid in the last two weeks, and how.
	CREATE TEMP TABLE pick ON COMMIT DROP AS
	SELECT x.*, row_number() OVER (ORDER BY x.id) AS n
	  FROM (SELECT i.id, i.number, i.customer_id, c.code, c.name, c.country, i.open_amount, i.payment_reference,
	               random() AS r_pick, random() AS r_kind, random() AS r_day, random() AS r_bank, random() AS r_acct,
	               random() AS r_text, random() AS r_e2e
	          FROM ar.invoice i JOIN ar.customer c ON c.id = i.customer_id
	         WHERE i.open_amount > 0 AND i.amount > 0 AND i.currency = 'EUR' AND NOT i.disputed
	           AND i.cancelled_on IS NULL AND i.due_date BETWEEN as_of - 120 AND as_of + 20
	           AND i.issue_date <= as_of
	         ORDER BY i.id) x
	 WHERE x.r_pick < target::float8 / greatest(open_count, 1);

	CREATE TEMP TABLE line (
		n            serial PRIMARY KEY,
		bank         text NOT NULL,          -- A (camt.053) or B (MT940)
		booked       date NOT NULL,
		amount       numeric NOT NULL,
		name         text,
		iban         text,
		remittance   text,
		structured   text,
		e2e          text NOT NULL,
		tx_code      text NOT NULL,          -- ISO domain-family-subfamily
		gvc          text NOT NULL,          -- German transaction code of bank B
		reason       text,                   -- return reason
		situation    text NOT NULL,
		invoices     text[]
	) ON COMMIT DROP;

	INSERT INTO line (bank, booked, amount, name, iban, remittance, structured, e2e, tx_code, gvc, situation, invoices)
	SELECT CASE WHEN p.r_bank < 0.7 THEN 'A' ELSE 'B' END,
	       ar_demo.business_day(as_of - floor(p.r_day * 14)::int),
	       k.amount,
	       -- how payers write their name
	       CASE WHEN p.r_acct < 0.1 THEN upper(p.name) WHEN p.r_acct < 0.15 THEN regexp_replace(p.name, ' (SARL|SAS|SA|EURL|SASU|GmbH|AG|Ltd|BV|B\.V\.|S\.r\.l\.|SL|NV)$', '') ELSE p.name END,
	       -- 8% pay from an account that is not on file (a parent company, a new bank)
	       CASE WHEN p.r_acct > 0.92 THEN ar_demo.payer_iban(p.country, p.code || 'other')
	            ELSE (SELECT b.iban::text FROM ar.customer_bank_account b WHERE b.customer_id = p.customer_id ORDER BY b.id LIMIT 1) END,
	       k.remittance, k.structured,
	       'DEMO-' || lpad(p.n::text, 6, '0'),
	       'PMNT-RCDT-ESCT', '166', k.situation, k.invoices
	  FROM pick p
	  LEFT JOIN LATERAL (SELECT o.number, o.open_amount FROM ar.invoice o
	                      WHERE o.customer_id = p.customer_id AND o.id <> p.id AND o.open_amount > 0 AND o.amount > 0
	                        AND o.currency = 'EUR' AND o.cancelled_on IS NULL AND NOT o.disputed
	                        AND o.id NOT IN (SELECT id FROM pick)
	                      ORDER BY o.due_date, o.id LIMIT 1) other ON true
	 CROSS JOIN LATERAL (
		SELECT CASE
		       WHEN p.r_kind < 0.30 THEN 'exact'
		       WHEN p.r_kind < 0.45 THEN CASE WHEN p.payment_reference LIKE 'RF%' THEN 'structured' ELSE 'exact' END
		       WHEN p.r_kind < 0.55 THEN 'variant'
		       WHEN p.r_kind < 0.60 THEN 'typo'
		       WHEN p.r_kind < 0.70 THEN 'no_reference'
		       -- other is the customer's oldest open invoice nobody picked: only the
		       -- customer's first pick may pay it too, or a later line would name
		       -- an invoice already paid
		       WHEN p.r_kind < 0.78 THEN CASE WHEN other.number IS NOT NULL
		                                       AND NOT EXISTS (SELECT 1 FROM pick q WHERE q.customer_id = p.customer_id AND q.n < p.n)
		                                      THEN 'combined' ELSE 'exact' END
		       WHEN p.r_kind < 0.84 THEN 'partial'
		       WHEN p.r_kind < 0.90 THEN 'short'
		       WHEN p.r_kind < 0.93 THEN 'overpaid'
		       ELSE 'exact' END AS situation) s
	 CROSS JOIN LATERAL (
		SELECT s.situation,
		       CASE s.situation
		            WHEN 'combined' THEN p.open_amount + other.open_amount
		            WHEN 'partial' THEN round(p.open_amount * 0.5, 2)
		            WHEN 'short' THEN CASE WHEN p.r_text < 0.5 THEN p.open_amount - 2.50 ELSE round(p.open_amount * 0.98, 2) END
		            WHEN 'overpaid' THEN p.open_amount + CASE WHEN p.r_text < 0.5 THEN 10.00 ELSE round(p.open_amount * 0.005, 2) END
		            ELSE p.open_amount END AS amount,
		       CASE s.situation
		            WHEN 'exact' THEN (ARRAY['Facture ' || p.number, p.number, 'Paiement facture ' || p.number || ' client ' || p.code,
		                                     'REF CLIENT ' || p.code || ' FACT ' || p.number, 'Rechnung ' || p.number])[1 + floor(p.r_text * 5)::int]
		            WHEN 'structured' THEN NULL
		            WHEN 'variant' THEN (ARRAY[replace(p.number, '-', ''), lower(p.number),
		                                       regexp_replace(p.number, '-0+([1-9])', '-\1'),
		                                       replace(p.number, '-', ' '), replace(p.number, '-', '/')])[1 + floor(p.r_text * 5)::int]
		                                || ' ' || (ARRAY['', 'merci', 'reglement', ''])[1 + floor(p.r_e2e * 4)::int]
		            WHEN 'typo' THEN CASE WHEN p.r_text < 0.5
		                                  -- two neighbouring digits swapped
		                                  THEN left(p.number, length(p.number) - 2) || right(p.number, 1) || substr(p.number, length(p.number) - 1, 1)
		                                  ELSE 'Facture ' || regexp_replace(p.number, '0', 'O') END
		            WHEN 'no_reference' THEN (ARRAY['VIREMENT ' || upper(p.name), 'Reglement fournisseur', 'PAIEMENT', NULL])[1 + floor(p.r_text * 4)::int]
		            WHEN 'combined' THEN 'Factures ' || p.number || ' et ' || other.number
		            WHEN 'partial' THEN 'Acompte 50% ' || p.number
		            WHEN 'short' THEN p.number || CASE WHEN p.r_text < 0.5 THEN '' ELSE ' escompte 2%' END
		            WHEN 'overpaid' THEN 'Facture ' || p.number
		       END AS remittance,
		       CASE WHEN s.situation = 'structured' THEN p.payment_reference END AS structured,
		       CASE s.situation WHEN 'combined' THEN ARRAY[p.number, other.number] WHEN 'no_reference' THEN ARRAY[p.number]
		            ELSE ARRAY[p.number] END AS invoices) k
	 ORDER BY p.n;

	-- What else comes in: nothing to do with invoices, never to be matched.
	INSERT INTO line (bank, booked, amount, name, iban, remittance, e2e, tx_code, gvc, situation)
	SELECT CASE WHEN g % 3 = 0 THEN 'B' ELSE 'A' END,
	       ar_demo.business_day(as_of - (g * 3) % 14),
	       u.amount, u.name, u.iban, u.text, 'DEMO-U' || lpad(g::text, 5, '0'), u.code, u.gvc,
	       CASE WHEN u.amount > 0 THEN 'unrelated' ELSE 'debit' END
	  FROM generate_series(1, greatest(8, target / 8)) g
	 -- (g in the draw makes it one per row)
	 CROSS JOIN LATERAL (SELECT random() + 0 * g AS r, round((50 + random() * 4000 + 0 * g)::numeric, 2) AS base) d
	 CROSS JOIN LATERAL (
		SELECT * FROM (VALUES
			(0, round(d.base / 20, 2), 'BANQUE DEMO', NULL::text, 'INTERETS CREDITEURS ' || to_char(as_of, 'MM/YYYY'), 'PMNT-RCDT-ESCT', '166'),
			(1, d.base, 'Fournitures Bureau Plus SAS', ar_demo.payer_iban('FR', 'supplier' || g), 'AVOIR REMBOURSEMENT COMMANDE ' || (10000 + g), 'PMNT-RCDT-ESCT', '166'),
			(2, d.base * 3, 'BPIFRANCE', ar_demo.payer_iban('FR', 'bpi'), 'SUBVENTION INNOVATION DOSSIER ' || (2026000 + g), 'PMNT-RCDT-ESCT', '166'),
			(3, d.base, 'DGFIP', ar_demo.payer_iban('FR', 'dgfip'), 'REMBOURSEMENT CREDIT TVA', 'PMNT-RCDT-ESCT', '166'),
			(4, -d.base * 2, 'URSSAF', ar_demo.payer_iban('FR', 'urssaf'), 'PRLV SEPA COTISATIONS', 'PMNT-RDDT-ESDD', '105'),
			(5, -d.base * 4, 'Salaires', NULL, 'VIREMENTS SALAIRES ' || to_char(as_of, 'MM/YYYY'), 'PMNT-ICDT-ESCT', '116'),
			(6, -12.50, 'BANQUE DEMO', NULL, 'FRAIS TENUE DE COMPTE', 'ACMT-MDOP-CHRG', '805'),
			(7, -d.base, 'Transports Logistique Express', ar_demo.payer_iban('FR', 'carrier' || g), 'FACTURE FOURNISSEUR F' || (88000 + g), 'PMNT-ICDT-ESCT', '116')
		) v(k, amount, name, iban, text, code, gvc)
		WHERE v.k = floor(d.r * 8)::int) u
	 ORDER BY g;

	-- Direct debits we collected that the payer's bank returned (MD06:
	-- refund request, AM04: insufficient funds): debits that reopen an invoice.
	INSERT INTO line (bank, booked, amount, name, iban, remittance, e2e, tx_code, gvc, reason, situation, invoices)
	SELECT 'A', ar_demo.business_day(as_of - (r.n % 10)::int), -r.amount, r.name,
	       (SELECT b.iban::text FROM ar.customer_bank_account b WHERE b.customer_id = r.customer_id ORDER BY b.id LIMIT 1),
	       'RETOUR PRLV SEPA ' || r.number, 'DEMO-R' || lpad(r.n::text, 5, '0'), 'PMNT-IDDT-UPDD', '109',
	       CASE WHEN r.n % 2 = 0 THEN 'MD06' ELSE 'AM04' END, 'return', ARRAY[r.number]
	  FROM (SELECT a.amount, i.number, i.customer_id, c.name, row_number() OVER (ORDER BY a.allocated_on DESC, a.id) AS n
	          FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id JOIN ar.customer c ON c.id = i.customer_id
	         WHERE a.payment_means = 'direct_debit' AND a.allocated_on BETWEEN as_of - 30 AND as_of
	           AND i.currency = 'EUR' AND a.amount > 0) r
	 WHERE r.n <= 3;

	INSERT INTO ar_demo.bank_line_truth (end_to_end_id, situation, invoice_numbers, amount)
	SELECT e2e, situation, invoices, amount FROM line;

	-- bank A: one camt.053 per business day with the lines booked that day
	INSERT INTO ar_demo.statement_file (name, format, content)
	SELECT format('bankA-camt053-%s.xml', to_char(day, 'YYYYMMDD')), 'camt.053',
	       format($x$<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>DEMOA%1$s</MsgId><CreDtTm>%2$sT06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>DEMOA-%1$s</Id>
   <ElctrncSeqNb>%3$s</ElctrncSeqNb>
   <Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id><Ccy>EUR</Ccy><Ownr><Nm>Demo company</Nm></Ownr></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%4$s</Amt><CdtDbtInd>%5$s</CdtDbtInd><Dt><Dt>%2$s</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%6$s</Amt><CdtDbtInd>%7$s</CdtDbtInd><Dt><Dt>%2$s</Dt></Dt></Bal>
%8$s  </Stmt>
 </BkToCstmrStmt>
</Document>
$x$, to_char(day, 'YYYYMMDD'), day, seq, abs(opening), CASE WHEN opening < 0 THEN 'DBIT' ELSE 'CRDT' END,
	          abs(closing), CASE WHEN closing < 0 THEN 'DBIT' ELSE 'CRDT' END, coalesce(entries, ''))
	  FROM (SELECT day, seq, 184532.17 + coalesce(sum(total) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS opening,
	               184532.17 + sum(total) OVER (ORDER BY day) AS closing, entries
	          FROM (SELECT d::date AS day, row_number() OVER (ORDER BY d) + 400 AS seq,
	                       coalesce((SELECT sum(amount) FROM line WHERE bank = 'A' AND booked = d::date), 0) AS total,
	                       (SELECT string_agg(format($e$   <Ntry>
    <Amt Ccy="EUR">%1$s</Amt><CdtDbtInd>%2$s</CdtDbtInd>%3$s<Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>%4$s</Dt></BookgDt><ValDt><Dt>%4$s</Dt></ValDt>
    <AcctSvcrRef>DEMOA%5$s</AcctSvcrRef>
    <BkTxCd><Domn><Cd>%6$s</Cd><Fmly><Cd>%7$s</Cd><SubFmlyCd>%8$s</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>%9$s</EndToEndId></Refs>
     <Amt Ccy="EUR">%1$s</Amt><CdtDbtInd>%2$s</CdtDbtInd>
     <RltdPties><%10$s><Pty><Nm>%11$s</Nm></Pty></%10$s>%12$s</RltdPties>%13$s%14$s
    </TxDtls></NtryDtls>
   </Ntry>
$e$, abs(l.amount), CASE WHEN l.amount < 0 THEN 'DBIT' ELSE 'CRDT' END,
	                                       CASE WHEN l.situation = 'return' THEN '<RvslInd>true</RvslInd>' ELSE '' END,
	                                       l.booked, lpad(l.n::text, 8, '0'),
	                                       split_part(l.tx_code, '-', 1), split_part(l.tx_code, '-', 2), split_part(l.tx_code, '-', 3),
	                                       l.e2e, CASE WHEN l.amount > 0 OR l.situation = 'return' THEN 'Dbtr' ELSE 'Cdtr' END,
	                                       ar_demo.xml(coalesce(l.name, 'NOTPROVIDED')),
	                                       CASE WHEN l.iban IS NULL THEN ''
	                                            ELSE format('<%sAcct><Id><IBAN>%s</IBAN></Id></%sAcct>',
	                                                        CASE WHEN l.amount > 0 OR l.situation = 'return' THEN 'Dbtr' ELSE 'Cdtr' END, l.iban,
	                                                        CASE WHEN l.amount > 0 OR l.situation = 'return' THEN 'Dbtr' ELSE 'Cdtr' END) END,
	                                       CASE WHEN l.structured IS NOT NULL
	                                            THEN format('<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>%s</Ref></CdtrRefInf></Strd></RmtInf>', l.structured)
	                                            WHEN l.remittance IS NOT NULL THEN format('<RmtInf><Ustrd>%s</Ustrd></RmtInf>', ar_demo.xml(l.remittance))
	                                            ELSE '' END,
	                                       CASE WHEN l.reason IS NOT NULL THEN format('<RtrInf><Rsn><Cd>%s</Cd></Rsn></RtrInf>', l.reason) ELSE '' END),
	                                  '' ORDER BY l.n)
	                          FROM line l WHERE l.bank = 'A' AND l.booked = d::date) AS entries
	                  FROM generate_series(as_of - 13, as_of, interval '1 day') d
	                 WHERE extract(isodow FROM d) < 6) days) s;

	-- bank B: one MT940 per business day, :86: in the German layout
	INSERT INTO ar_demo.statement_file (name, format, content)
	SELECT format('bankB-mt940-%s.sta', to_char(day, 'YYYYMMDD')), 'mt940',
	       format(E':20:DEMOB%1$s\r\n:25:%2$s\r\n:28C:%3$s/001\r\n:60F:%4$s%5$sEUR%6$s\r\n%7$s:62F:%8$s%5$sEUR%9$s\r\n-\r\n',
	              to_char(day, 'YYMMDD'), ar_demo.make_iban('DE', '370400440532013000'), seq,
	              CASE WHEN opening < 0 THEN 'D' ELSE 'C' END, to_char(day, 'YYMMDD'), replace(abs(opening)::text, '.', ','),
	              coalesce(lines, ''), CASE WHEN closing < 0 THEN 'D' ELSE 'C' END, replace(abs(closing)::text, '.', ','))
	  FROM (SELECT day, seq, 48210.90 + coalesce(sum(total) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS opening,
	               48210.90 + sum(total) OVER (ORDER BY day) AS closing, lines
	          FROM (SELECT d::date AS day, row_number() OVER (ORDER BY d) + 200 AS seq,
	                       coalesce((SELECT sum(amount) FROM line WHERE bank = 'B' AND booked = d::date), 0) AS total,
	                       (SELECT string_agg(format(E':61:%1$s%2$s%3$s%4$sNTRFNONREF//DEMOB%5$s\r\n:86:%6$s\r\n',
	                                                 to_char(l.booked, 'YYMMDD'), to_char(l.booked, 'MMDD'),
	                                                 CASE WHEN l.amount < 0 THEN 'D' ELSE 'C' END,
	                                                 replace(abs(l.amount)::text, '.', ','), lpad(l.n::text, 8, '0'),
	                                                 -- lines of 65 characters at most (":86:" counts on the first)
	                                                 (SELECT string_agg(chunk, E'\r\n' ORDER BY i)
	                                                    FROM (SELECT i, substr(t, CASE WHEN i = 0 THEN 1 ELSE 62 + (i - 1) * 65 END,
	                                                                           CASE WHEN i = 0 THEN 61 ELSE 65 END) AS chunk
	                                                            FROM generate_series(0, length(t) / 61) i) c
	                                                   WHERE chunk <> '')),
	                                         '' ORDER BY l.n)
	                          FROM line l
	                          CROSS JOIN LATERAL (
	                             -- ?00 booking text, ?20-?29 purpose in pieces of 27, ?31 IBAN, ?32-?33 name
	                             SELECT l.gvc || '?00' || CASE WHEN l.amount > 0 THEN 'SEPA-GUTSCHRIFT' ELSE 'SEPA-LASTSCHRIFT' END
	                                    || '?109310'
	                                    || (SELECT string_agg('?' || (20 + k) || substr(purpose, 1 + k * 27, 27), '' ORDER BY k)
	                                          FROM generate_series(0, least(9, (length(purpose) - 1) / 27)) k)
	                                    || coalesce('?31' || l.iban, '')
	                                    || '?32' || left(translate(coalesce(l.name, ''), '?', ' '), 27)
	                                    || CASE WHEN length(coalesce(l.name, '')) > 27 THEN '?33' || substr(translate(l.name, '?', ' '), 28, 27) ELSE '' END AS t
	                               FROM (SELECT 'EREF+' || l.e2e || ' SVWZ+' || translate(coalesce(l.structured, l.remittance, ''), '?', ' ') AS purpose) pu) x
	                         WHERE l.bank = 'B' AND l.booked = d::date) AS lines
	                  FROM generate_series(as_of - 13, as_of, interval '1 day') d
	                 WHERE extract(isodow FROM d) < 6) days) s;
END $$;

-- Import every file as it came from the bank (the format is detected).
UPDATE ar_demo.statement_file f SET statement_ids = ARRAY(SELECT ar.import_statement(f.content));

SELECT f.format, count(*) AS files, sum(cardinality(f.statement_ids)) AS statements,
       sum(s.line_count) AS lines, count(*) FILTER (WHERE s.balanced) AS balanced
  FROM ar_demo.statement_file f
  JOIN ar.bank_statement s ON s.id = ANY (f.statement_ids)
 GROUP BY f.format ORDER BY f.format;
