-- ---------------------------------------------------------------------------
-- bench/reconcile_gen.sql: a generator of labelled bank statements for the
-- quality benchmark of ar.reconcile (bench/reconcile_quality.sh), and of
-- bulk lines for the speed benchmark (bench/reconcile_speed.sh).
--
--   \i bench/reconcile_gen.sql
--   SELECT * FROM bench_recon.generate_ledger(customers => 3000, seed => 0.42);
--   SELECT * FROM bench_recon.generate_lines(per_situation => 300, unrelated => 1500);
--   SELECT ar.reconcile();
--   SELECT * FROM bench_recon.generate_returns();   -- direct-debit returns of collections
--   SELECT ar.reconcile();
--   SELECT * FROM bench_recon.score();
--
-- The ledger: customers with names as ERPs hold them (legal forms, accents,
-- homonyms told apart by a city), most with an IBAN on file; open invoices
-- numbered in several schemes at once (FA-2026-000123, INV-045123,
-- 2026/012345, FAC-26-0451, 104512), densely, so that a mistyped number is
-- often another real number; a share of round amounts, so that the same
-- amount is open at several customers; credit notes; paid invoices.
--
-- Every line is labelled with its situation and what a careful credit
-- manager would do: apply it to these invoices, reverse that collection,
-- or leave it alone.  Noise on top of each situation: bank names in upper
-- case without accents, cut at 35 characters, legal form moved or
-- dropped; the IBAN on file, another account of the payer, or none;
-- remittance texts with words, dates and amounts around the reference.
-- Not part of the extension.
-- ---------------------------------------------------------------------------

DROP SCHEMA IF EXISTS bench_recon CASCADE;
CREATE SCHEMA bench_recon;

CREATE TABLE bench_recon.label (
	bank_transaction_id  bigint PRIMARY KEY,
	situation            text NOT NULL,
	expect               text NOT NULL CHECK (expect IN ('apply', 'reverse', 'none')),
	invoice_ids          bigint[] NOT NULL DEFAULT '{}',
	collection_id        bigint          -- for 'reverse': the line whose allocations it undoes
);

CREATE TABLE bench_recon.setting (
	as_of  date NOT NULL
);

-- letters to digits for mod 97 (A = 10 ... Z = 35)
CREATE FUNCTION bench_recon.mod97(s text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	r integer := 0;
	c text;
BEGIN
	FOREACH c IN ARRAY regexp_split_to_array(s, '') LOOP
		IF c ~ '[0-9]' THEN
			r := (r * 10 + c::integer) % 97;
		ELSE
			r := (r * 100 + ascii(c) - 55) % 97;
		END IF;
	END LOOP;
	RETURN r;
END $$;

CREATE FUNCTION bench_recon.iban(cc text, bban text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT cc || lpad((98 - bench_recon.mod97(bban || cc || '00'))::text, 2, '0') || bban
$$;

CREATE FUNCTION bench_recon.digits(n integer) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT string_agg(floor(random() * 10)::int::text, '') FROM generate_series(1, n)
$$;

CREATE FUNCTION bench_recon.random_iban() RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT CASE floor(random() * 4)::int
	       WHEN 0 THEN bench_recon.iban('DE', bench_recon.digits(18))
	       WHEN 1 THEN bench_recon.iban('BE', bench_recon.digits(12))
	       WHEN 2 THEN bench_recon.iban('ES', bench_recon.digits(20))
	       ELSE bench_recon.iban('FR', bench_recon.digits(23)) END
$$;

CREATE FUNCTION bench_recon.pick(a text[]) RETURNS text
LANGUAGE sql VOLATILE AS $$ SELECT a[1 + floor(random() * cardinality(a))::int] $$;

-- The name a bank prints: upper case, no accents, legal form kept, moved or
-- dropped, sometimes abbreviated or cut at 35 characters.
CREATE FUNCTION bench_recon.bank_name(name text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n text := upper(translate(name, 'àâäáãåçéèêëíìîïñóòôöúùûüÀÂÄÁÇÉÈÊËÍÎÏÑÓÔÖÚÙÛÜß', 'aaaaaaceeeeiiiinoooouuuuAAAACEEEEIIINOOOUUUUs'));
	r float := random();
	form text;
BEGIN
	n := regexp_replace(n, '[()]', '', 'g');
	form := substring(n FROM ' (SARL|SAS|SASU|SA|EURL|GMBH|AG|KG|SRL|SL|BV|NV|LTD|SPA)$');
	IF r < 0.25 AND form IS NOT NULL THEN
		n := form || ' ' || regexp_replace(n, ' ' || form || '$', '');	-- "SARL TRANSPORTS MARTIN"
	ELSIF r < 0.50 AND form IS NOT NULL THEN
		n := regexp_replace(n, ' ' || form || '$', '');					-- "TRANSPORTS MARTIN"
	ELSIF r < 0.58 THEN
		n := replace(replace(replace(n, 'TRANSPORTS', 'TRANSP'), 'ETABLISSEMENTS', 'ETS'), 'SOCIETE', 'STE');
	ELSIF r < 0.62 THEN
		n := replace(n, ' & ', ' ET ');
	END IF;
	IF random() < 0.3 THEN
		n := left(n, 35);
	END IF;
	RETURN btrim(n);
END $$;

-- An invoice number as a payer writes it.
CREATE FUNCTION bench_recon.write_ref(ref text, variant text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	i integer;
	s text;
BEGIN
	CASE variant
	WHEN 'exact' THEN RETURN ref;
	WHEN 'no_separators' THEN RETURN regexp_replace(ref, '[^A-Za-z0-9]', '', 'g');
	WHEN 'other_separators' THEN
		RETURN regexp_replace(ref, '[^A-Za-z0-9]', bench_recon.pick(ARRAY[' ', '/', '.', '_', ' - ']), 'g');
	WHEN 'no_leading_zeros' THEN RETURN regexp_replace(ref, '(^|[^0-9])0+([0-9])', '\1\2', 'g');
	WHEN 'lower_case' THEN RETURN lower(ref);
	WHEN 'o_for_0' THEN
		-- one or all zeros typed as the letter O
		IF random() < 0.5 THEN RETURN replace(ref, '0', 'O'); END IF;
		i := strpos(ref, '0');
		RETURN overlay(ref PLACING 'O' FROM i FOR 1);
	WHEN 'prefix_dropped' THEN RETURN regexp_replace(ref, '^[A-Za-z]+[^A-Za-z0-9]*', '');
	WHEN 'typo' THEN
		-- swap two different adjacent digits, or mistype one digit
		FOR attempt IN 1..20 LOOP
			i := 1 + floor(random() * (length(ref) - 1))::int;
			IF random() < 0.5 THEN
				IF substr(ref, i, 1) ~ '[0-9]' AND substr(ref, i + 1, 1) ~ '[0-9]' AND substr(ref, i, 1) <> substr(ref, i + 1, 1) THEN
					RETURN overlay(ref PLACING substr(ref, i + 1, 1) || substr(ref, i, 1) FROM i FOR 2);
				END IF;
			ELSIF substr(ref, i, 1) ~ '[0-9]' THEN
				s := ((substr(ref, i, 1)::int + 1 + floor(random() * 9)::int) % 10)::text;
				RETURN overlay(ref PLACING s FROM i FOR 1);
			END IF;
		END LOOP;
		RETURN ref || '1';
	ELSE RAISE EXCEPTION 'unknown variant %', variant;
	END CASE;
END $$;

-- Words around a reference.
CREATE FUNCTION bench_recon.remittance(refs text) RETURNS text
LANGUAGE sql VOLATILE AS $$
	SELECT replace(bench_recon.pick(ARRAY[
		'{r}', '{r}', 'Facture {r}', 'FACT {r}', 'Paiement facture {r}', 'Reglement {r} merci',
		'Invoice {r}', 'INV {r} payment', 'VIR SEPA {r}', '/INV/{r}', 'Rechnung {r}', 'Rg. {r} vom 12.01.2026',
		'Règlement fact. {r} du 15/01/2026', 'Ref: {r}', 'REF {r} MONTANT 1.234,56 EUR', 'Pago factura {r}',
		'{r} commande 4471', 'Payment of {r} - thank you', 'FACTURE N° {r}', 'VIR {r} / ECHEANCE 31.01'
	]), '{r}', refs)
$$;

CREATE FUNCTION bench_recon.generate_ledger(customers integer DEFAULT 3000, seed double precision DEFAULT 0.42,
                                            as_of date DEFAULT DATE '2026-03-31')
RETURNS TABLE (item text, count bigint)
LANGUAGE plpgsql SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
	acts text[] := '{Transports,Boulangerie,Menuiserie,Imprimerie,Garage,Plomberie,Électricité,Maçonnerie,Pharmacie,Laboratoires,Cabinet,Charpente,Carrosserie,Distribution,Négoce,Fromagerie,Informatique,Conseil,Nettoyage,Peinture,Emballages,Logistik,Maschinenbau,Bau,Handel,Construcciones,Impianti,Techniek,Engineering,Supplies}';
	names text[] := '{Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,Simon,Laurent,Lefèvre,Michel,Garnier,Fournier,Girard,Bonnet,Dupont,Lambert,Fontaine,Rousseau,Vincent,Faure,Blanc,Guérin,Boyer,Chevalier,Perrin,Morel,Mercier,Roux,Müller,Schmidt,Schneider,Fischer,Weber,Meyer,García,Fernández,López,Rossi,Russo,Ferrari,De Jong,Jansen,Peeters,Janssens,Smith,Jones}';
	forms text[] := '{SARL,SARL,SAS,SAS,SA,EURL,GmbH,GmbH,AG,SL,SRL,BV,NV,Ltd}';
	cities text[] := '{Lyon,Bordeaux,Nantes,Lille,Rennes,Toulouse,Berlin,Madrid,Milano,Gent}';
	schemes integer := 5;
	seq integer[] := '{0,0,0,0,0}';
	c record;
	k integer;
	amt numeric;
	num text;
	sch integer;
	issue date;
	cid bigint;
BEGIN
	PERFORM setseed(seed);
	DELETE FROM bench_recon.setting;
	INSERT INTO bench_recon.setting VALUES (as_of);
	-- customers, some sharing a name (told apart by a city, as in an ERP)
	CREATE TEMP TABLE gen_customer AS
	SELECT g AS n, 'Q' || lpad(g::text, 6, '0') AS code,
	       bench_recon.pick(acts) AS act, bench_recon.pick(names) AS sur, bench_recon.pick(forms) AS form,
	       random() AS r_iban, random() AS r_size, random() AS r_volume
	  FROM generate_series(1, customers) g;
	INSERT INTO ar.customer (code, name)
	SELECT code, act || ' ' || sur || ' ' || form
	       || CASE WHEN row_number() OVER (PARTITION BY act, sur, form ORDER BY n) > 1
	               THEN ' (' || cities[1 + n % 10] || ')' ELSE '' END
	  FROM gen_customer ORDER BY n;
	-- IBANs on file for 80 % of them (some with two accounts)
	INSERT INTO ar.customer_bank_account (customer_id, iban)
	SELECT cu.id, bench_recon.random_iban()
	  FROM gen_customer g JOIN ar.customer cu ON cu.code = g.code
	 WHERE g.r_iban < 0.80
	UNION ALL
	SELECT cu.id, bench_recon.random_iban()
	  FROM gen_customer g JOIN ar.customer cu ON cu.code = g.code
	 WHERE g.r_iban < 0.10;

	-- invoices: a few per customer (a few big accounts have many), in five numbering schemes
	FOR c IN SELECT g.*, cu.id AS cid FROM gen_customer g JOIN ar.customer cu ON cu.code = g.code ORDER BY g.n LOOP
		FOR k IN 1 .. 1 + floor(least(-ln(1 - c.r_volume) * 4, 40))::int LOOP
			sch := 1 + (c.n + k) % schemes;
			seq[sch] := seq[sch] + 1 + CASE WHEN random() < 0.05 THEN 1 ELSE 0 END;
			num := CASE sch
			       WHEN 1 THEN 'FA-2026-' || lpad((100000 + seq[1])::text, 6, '0')
			       WHEN 2 THEN 'INV-' || lpad((40000 + seq[2])::text, 6, '0')
			       WHEN 3 THEN '2026/' || lpad((10000 + seq[3])::text, 6, '0')
			       WHEN 4 THEN 'FAC-26-' || lpad(seq[4]::text, 4, '0')
			       ELSE (104000 + seq[5])::text END;
			amt := CASE WHEN random() < 0.12 THEN (ARRAY[50, 99, 100, 120, 150, 200, 250, 300, 500, 1000, 1200, 1500])[1 + floor(random() * 12)::int]
			            ELSE round((exp(ln(80) + c.r_size * 3 + random() * 1.5))::numeric, 2) END;
			issue := as_of - 150 + floor(random() * 140)::int;
			INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, payment_reference)
			VALUES (c.cid, num, issue, issue + 30, amt,
			        CASE WHEN random() < 0.25 THEN ar.make_creditor_ref(regexp_replace(num, '[^A-Za-z0-9]', '', 'g'))::text
			             WHEN random() < 0.08 THEN 'CMD-' || (300000 + floor(random() * 600000)::int)::text END);
		END LOOP;
	END LOOP;
	-- credit notes on 3 % of the invoices
	INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
	SELECT i.customer_id, 'AV-' || i.number, i.issue_date + 5, i.issue_date + 5, -round(i.amount * 0.2, 2)
	  FROM ar.invoice i WHERE i.number !~ '^AV-' AND random() < 0.03;
	-- a quarter of the invoices are already paid (outside statements)
	INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method, payment_means)
	SELECT i.id, i.amount, least(i.due_date, as_of), 'manual', 'cheque'
	  FROM ar.invoice i WHERE i.amount > 0 AND random() < 0.25;
	DROP TABLE gen_customer;
	RETURN QUERY
	SELECT 'customers', count(*) FROM ar.customer WHERE code LIKE 'Q%'
	UNION ALL SELECT 'IBANs on file', count(*) FROM ar.customer_bank_account
	UNION ALL SELECT 'open invoices', count(*) FROM ar.invoice WHERE open_amount > 0
	UNION ALL SELECT 'open credit notes', count(*) FROM ar.invoice WHERE open_amount < 0
	UNION ALL SELECT 'paid invoices', count(*) FROM ar.invoice WHERE open_amount = 0;
END $$;

-- Open invoices not yet used by a generated line.
CREATE TABLE bench_recon.used (invoice_id bigint PRIMARY KEY);

-- What the conditions of the situations need to know of each open invoice
-- (lines do not change the ledger, so this is computed once).
CREATE TABLE bench_recon.cand (
	id                  bigint PRIMARY KEY,
	customer_id         bigint NOT NULL,
	number              text NOT NULL,
	open_amount         numeric NOT NULL,
	payment_reference   text,
	has_iban            boolean NOT NULL,
	same_amount_here    integer NOT NULL,	-- open invoices of the customer with this amount
	same_amount_all     integer NOT NULL,	-- open invoices anywhere with this amount
	name_unique         boolean NOT NULL,
	r                   double precision NOT NULL
);

CREATE FUNCTION bench_recon.prepare() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE bench_recon.cand;
	INSERT INTO bench_recon.cand
	SELECT i.id, i.customer_id, i.number, i.open_amount, i.payment_reference,
	       EXISTS (SELECT 1 FROM ar.customer_bank_account a WHERE a.customer_id = i.customer_id),
	       count(*) OVER (PARTITION BY i.customer_id, i.open_amount),
	       count(*) OVER (PARTITION BY i.open_amount),
	       n.cnt = 1, random()
	  FROM ar.invoice i
	  JOIN (SELECT c.id, count(*) OVER (PARTITION BY ar.name_key(c.name)) AS cnt FROM ar.customer c) n ON n.id = i.customer_id
	 WHERE i.open_amount > 0 AND i.open_amount = i.amount AND i.number !~ '^AV-';
	ANALYZE bench_recon.cand;
END $$;

CREATE FUNCTION bench_recon.take_invoice(cond text DEFAULT 'true') RETURNS ar.invoice
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	inv ar.invoice;
	picked bigint;
	start double precision := random();
BEGIN
	-- a random starting point in a random order: the first unused one that fits
	EXECUTE format('SELECT i.id FROM bench_recon.cand i
	                 WHERE i.r >= $1 AND NOT EXISTS (SELECT 1 FROM bench_recon.used u WHERE u.invoice_id = i.id) AND (%s)
	                 ORDER BY i.r LIMIT 1', cond) INTO picked USING start;
	IF picked IS NULL THEN
		EXECUTE format('SELECT i.id FROM bench_recon.cand i
		                 WHERE NOT EXISTS (SELECT 1 FROM bench_recon.used u WHERE u.invoice_id = i.id) AND (%s)
		                 ORDER BY i.r LIMIT 1', cond) INTO picked;
	END IF;
	IF picked IS NOT NULL THEN
		INSERT INTO bench_recon.used VALUES (picked);
		SELECT * INTO inv FROM ar.invoice WHERE id = picked;
	END IF;
	RETURN inv;
END $$;

-- How the payer shows up on the line: (name, iban).
CREATE FUNCTION bench_recon.payer(customer_id bigint, iban_known real DEFAULT 0.75, OUT name text, OUT iban text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	r float := random();
BEGIN
	SELECT bench_recon.bank_name(c.name) INTO name FROM ar.customer c WHERE c.id = customer_id;
	IF r < iban_known THEN
		SELECT a.iban::text INTO iban FROM ar.customer_bank_account a WHERE a.customer_id = payer.customer_id
		 ORDER BY random() LIMIT 1;
	ELSIF r < iban_known + (1 - iban_known) / 2 THEN
		iban := bench_recon.random_iban();			-- an account not on file
	END IF;
END $$;

CREATE FUNCTION bench_recon.add_line(situation text, expect text, invoice_ids bigint[], amount numeric, name text,
                                     iban text, remittance text, e2e text DEFAULT NULL, tx_code text DEFAULT NULL,
                                     return_reason text DEFAULT NULL, collection_id bigint DEFAULT NULL,
                                     booked date DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	id bigint;
	as_of date := (SELECT s.as_of FROM bench_recon.setting s);
BEGIN
	INSERT INTO ar.bank_transaction (booking_date, value_date, amount, counterparty_name, counterparty_iban,
	                                 remittance_info, end_to_end_id, bank_tx_code, return_reason)
	VALUES (coalesce(booked, as_of - floor(random() * 10)::int), coalesce(booked, as_of), amount, name, iban::ar.iban,
	        remittance, coalesce(e2e, 'NOTPROVIDED'), coalesce(tx_code, 'PMNT-RCDT-ESCT'), return_reason)
	RETURNING ar.bank_transaction.id INTO id;
	INSERT INTO bench_recon.label VALUES (id, situation, expect, invoice_ids, collection_id);
	RETURN id;
END $$;

CREATE FUNCTION bench_recon.generate_lines(per_situation integer DEFAULT 300, unrelated integer DEFAULT 1500,
                                           seed double precision DEFAULT 0.43)
RETURNS TABLE (situation text, lines bigint)
LANGUAGE plpgsql SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
	inv ar.invoice;
	inv2 ar.invoice;
	p record;
	v text;
	k integer;
	ids bigint[];
	refs text[];
	total numeric;
	amt numeric;
	r float;
	cust bigint;
BEGIN
	PERFORM setseed(seed);
	PERFORM bench_recon.prepare();
	-- the reference written in each way, amount exact
	FOREACH v IN ARRAY ARRAY['exact', 'no_separators', 'other_separators', 'no_leading_zeros', 'lower_case',
	                         'o_for_0', 'typo', 'prefix_dropped'] LOOP
		FOR k IN 1 .. per_situation LOOP
			inv := bench_recon.take_invoice(CASE v
				WHEN 'no_leading_zeros' THEN 'i.number ~ ''(^|[^0-9])0[0-9]'''
				WHEN 'lower_case' THEN 'i.number ~ ''[A-Z]'''
				WHEN 'o_for_0' THEN 'i.number ~ ''0'''
				WHEN 'prefix_dropped' THEN 'i.number ~ ''^[A-Z]+-'' AND length(regexp_replace(i.number, ''[^0-9]'', '''', ''g'')) >= 6'
				WHEN 'no_separators' THEN 'i.number ~ ''[^A-Za-z0-9]'''
				WHEN 'other_separators' THEN 'i.number ~ ''[^A-Za-z0-9]'''
				ELSE 'true' END);
			CONTINUE WHEN inv.id IS NULL;
			p := bench_recon.payer(inv.customer_id);
			PERFORM bench_recon.add_line('reference_' || v, 'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
			                             bench_recon.remittance(bench_recon.write_ref(inv.number, v)));
		END LOOP;
	END LOOP;

	-- several invoices of one customer in one line
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice();
		CONTINUE WHEN inv.id IS NULL;
		ids := ARRAY[inv.id]; refs := ARRAY[inv.number]; total := inv.open_amount;
		FOR j IN 1 .. 1 + floor(random() * 3)::int LOOP
			inv2 := bench_recon.take_invoice(format('i.customer_id = %s', inv.customer_id));
			EXIT WHEN inv2.id IS NULL;
			ids := ids || inv2.id; refs := refs || bench_recon.write_ref(inv2.number, bench_recon.pick(ARRAY['exact', 'exact', 'no_separators']));
			total := total + inv2.open_amount;
		END LOOP;
		p := bench_recon.payer(inv.customer_id);
		PERFORM bench_recon.add_line(CASE WHEN cardinality(ids) > 1 THEN 'several_references' ELSE 'reference_exact' END,
		                             'apply', ids, total, p.name, p.iban,
		                             bench_recon.remittance(array_to_string(refs, bench_recon.pick(ARRAY[' ', ', ', ' + ', ' / ', ' et ']))));
	END LOOP;

	-- structured references: the invoice's RF or its own payment reference
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.payment_reference IS NOT NULL');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id);
		PERFORM bench_recon.add_line(CASE WHEN inv.payment_reference LIKE 'RF%' THEN 'creditor_reference' ELSE 'payment_reference' END,
		                             'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
		                             CASE WHEN inv.payment_reference LIKE 'RF%' AND random() < 0.6
		                                  THEN ar.creditor_ref_format(inv.payment_reference::ar.creditor_ref)
		                                  ELSE inv.payment_reference END);
	END LOOP;

	-- no reference: the IBAN on file and an amount open once at that customer
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.has_iban AND i.same_amount_here = 1');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id, 1.0);
		PERFORM bench_recon.add_line('iban_and_amount', 'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
		                             bench_recon.pick(ARRAY['VIREMENT', 'Paiement', 'Reglement fournisseur', NULL, 'VIR SEPA', 'Zahlung']));
	END LOOP;

	-- no reference, no known IBAN: the name, and an amount open once in the whole ledger
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.same_amount_all = 1 AND i.name_unique');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id, 0.0);
		PERFORM bench_recon.add_line('name_and_amount', 'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
		                             bench_recon.pick(ARRAY['VIREMENT', 'Paiement', 'Reglement', NULL]));
	END LOOP;

	-- no reference: the IBAN, several of the oldest open invoices together
	FOR k IN 1 .. per_situation LOOP
		SELECT x.customer_id INTO cust
		  FROM (SELECT c.customer_id, min(c.r) AS r FROM bench_recon.cand c WHERE c.has_iban
		         GROUP BY c.customer_id HAVING count(*) BETWEEN 3 AND 12
		            AND count(*) = (SELECT count(*) FROM ar.invoice i WHERE i.customer_id = c.customer_id AND i.open_amount <> 0)) x
		 WHERE NOT EXISTS (SELECT 1 FROM bench_recon.cand c JOIN bench_recon.used u ON u.invoice_id = c.id
		                    WHERE c.customer_id = x.customer_id)
		 ORDER BY x.r >= random() DESC, x.r LIMIT 1;
		CONTINUE WHEN cust IS NULL;
		SELECT array_agg(id ORDER BY due_date, id), sum(open_amount) INTO ids, total
		  FROM (SELECT i.id, i.due_date, i.open_amount FROM ar.invoice i
		         WHERE i.customer_id = cust AND i.open_amount > 0 ORDER BY i.due_date, i.id LIMIT 2 + floor(random() * 3)::int) x;
		INSERT INTO bench_recon.used SELECT unnest(ids) ON CONFLICT DO NOTHING;
		-- the whole customer is spoken for
		INSERT INTO bench_recon.used SELECT i.id FROM ar.invoice i WHERE i.customer_id = cust ON CONFLICT DO NOTHING;
		p := bench_recon.payer(cust, 1.0);
		PERFORM bench_recon.add_line('combination', 'apply', ids, total, p.name, p.iban,
		                             bench_recon.pick(ARRAY['VIREMENT', 'Paiement factures', 'Reglement releve', NULL]));
	END LOOP;

	-- a referenced invoice paid in part, short (bank charges, discount), or overpaid
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.open_amount >= 100');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id);
		PERFORM bench_recon.add_line('partial_payment', 'apply', ARRAY[inv.id],
		                             round(inv.open_amount * (0.2 + random() * 0.6)::numeric, 2), p.name, p.iban,
		                             bench_recon.remittance(bench_recon.pick(ARRAY['Acompte ', 'Partial payment ', '1er versement ', '']) || inv.number));
	END LOOP;
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.open_amount >= 200');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id);
		r := random();
		amt := CASE WHEN r < 0.5 THEN inv.open_amount - round((1 + random() * 14)::numeric, 2)   -- bank charges
		            WHEN r < 0.85 THEN round(inv.open_amount * 0.98, 2)                           -- 2 % discount
		            ELSE round(inv.open_amount * 0.97, 2) END;                                   -- 3 % discount
		PERFORM bench_recon.add_line('shortfall', 'apply', ARRAY[inv.id], amt, p.name, p.iban,
		                             bench_recon.remittance(inv.number) || CASE WHEN r >= 0.5 AND random() < 0.5 THEN ' escompte 2%' ELSE '' END);
	END LOOP;
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice();
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id);
		PERFORM bench_recon.add_line('overpayment', 'apply', ARRAY[inv.id],
		                             inv.open_amount + round((0.5 + random() * inv.open_amount::float * 0.1)::numeric, 2),
		                             p.name, p.iban, bench_recon.remittance(inv.number));
	END LOOP;

	-- the same amount open at several customers: the IBAN decides
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.has_iban AND i.same_amount_here = 1 AND i.same_amount_all >= 2');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id, 1.0);
		PERFORM bench_recon.add_line('equal_amounts_other_customers', 'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
		                             bench_recon.pick(ARRAY['VIREMENT', 'Paiement', NULL]));
	END LOOP;

	-- direct-debit collections (applied now, returned later by generate_returns)
	FOR k IN 1 .. per_situation LOOP
		inv := bench_recon.take_invoice('i.has_iban');
		CONTINUE WHEN inv.id IS NULL;
		p := bench_recon.payer(inv.customer_id, 1.0);
		PERFORM bench_recon.add_line('direct_debit_collection', 'apply', ARRAY[inv.id], inv.open_amount, p.name, p.iban,
		                             inv.number || ' PRLV SEPA', 'E2E' || inv.id || 'X' || floor(random() * 1e6)::int,
		                             'PMNT-IDDT-ESDD', NULL, NULL,
		                             (SELECT s.as_of FROM bench_recon.setting s) - 20 - floor(random() * 10)::int);
	END LOOP;

	-- must stay unmatched: duplicates of paid invoices, an amount open at several customers with no payer known
	FOR k IN 1 .. per_situation LOOP
		SELECT i.* INTO inv FROM ar.invoice i WHERE i.open_amount = 0 AND i.amount > 0 AND i.cancelled_on IS NULL
		   AND NOT EXISTS (SELECT 1 FROM bench_recon.used u WHERE u.invoice_id = i.id) ORDER BY random() LIMIT 1;
		CONTINUE WHEN inv.id IS NULL;
		INSERT INTO bench_recon.used VALUES (inv.id);
		p := bench_recon.payer(inv.customer_id);
		PERFORM bench_recon.add_line('duplicate_payment', 'none', '{}', inv.amount, p.name, p.iban, bench_recon.remittance(inv.number));
	END LOOP;
	FOR k IN 1 .. per_situation LOOP
		SELECT i.* INTO inv FROM ar.invoice i JOIN bench_recon.cand c ON c.id = i.id
		 WHERE c.same_amount_all >= 2 AND c.r >= random() ORDER BY c.r LIMIT 1;
		CONTINUE WHEN inv.id IS NULL;
		PERFORM bench_recon.add_line('shared_amount_unknown_payer', 'none', '{}', inv.open_amount,
		                             bench_recon.pick(ARRAY['M. OU MME DURAND', 'SCI LES TILLEULS', NULL, 'HOLDING FINANCIERE XY']),
		                             CASE WHEN random() < 0.5 THEN bench_recon.random_iban() END,
		                             bench_recon.pick(ARRAY['VIREMENT', 'Paiement', NULL]));
	END LOOP;

	-- unrelated credits: refunds, subsidies, interest, tax, insurance; a third of them
	-- for an amount that is open somewhere, with numbers in the text
	FOR k IN 1 .. unrelated LOOP
		r := random();
		IF r < 0.3 THEN
			SELECT i.open_amount INTO amt FROM ar.invoice i TABLESAMPLE BERNOULLI (2) WHERE i.open_amount > 0 LIMIT 1;
		ELSE
			amt := round((exp(ln(20) + random() * 7))::numeric, 2);
		END IF;
		PERFORM bench_recon.add_line('unrelated_credit', 'none', '{}', coalesce(amt, 100),
			bench_recon.pick(ARRAY['URSSAF', 'DGFIP', 'BPIFRANCE', 'AXA FRANCE IARD', 'REGION AUVERGNE RHONE ALPES',
			                       'BNP PARIBAS', 'CPAM', 'AMAZON EU SARL', 'ORANGE SA', 'LEROY MERLIN', 'EDF', 'POLE EMPLOI',
			                       'FOURNITURES DUBOIS', 'CAISSE D EPARGNE', 'ALLIANZ', 'DEUTSCHE BANK', 'STRIPE PAYMENTS']),
			CASE WHEN random() < 0.6 THEN bench_recon.random_iban() END,
			replace(replace(bench_recon.pick(ARRAY[
				'REMBOURSEMENT TROP PERCU FACT {n}', 'SUBVENTION DOSSIER {n}', 'INTERETS CREDITEURS {y}',
				'REMB CREDIT TVA {y} T1', 'INDEMNITE SINISTRE {n}', 'AVOIR FOURNISSEUR F-{y}-{n}',
				'REMBOURSEMENT COMMANDE {n}', 'PRIME EMBAUCHE {n}', 'REMISE CHEQUES {n}', 'VIREMENT INTERNE',
				'REGUL COTISATIONS {y}/{n}', 'Refund order {n}', 'Payout {n}', 'Erstattung {n}']),
				'{n}', (100 + floor(random() * 200000)::int)::text), '{y}', '2026'));
	END LOOP;

	RETURN QUERY SELECT l.situation, count(*) FROM bench_recon.label l GROUP BY l.situation ORDER BY 1;
END $$;

-- Direct-debit returns (AM04, MD06, ...) of half the collections applied so
-- far, and a few returns of collections that were never imported.
CREATE FUNCTION bench_recon.generate_returns(seed double precision DEFAULT 0.44)
RETURNS TABLE (situation text, lines bigint)
LANGUAGE plpgsql AS $$
DECLARE
	t ar.bank_transaction;
	l bench_recon.label;
BEGIN
	PERFORM setseed(seed);
	FOR l IN SELECT * FROM bench_recon.label b WHERE b.situation = 'direct_debit_collection' ORDER BY b.bank_transaction_id LOOP
		CONTINUE WHEN random() >= 0.5;
		SELECT * INTO t FROM ar.bank_transaction x WHERE x.id = l.bank_transaction_id;
		PERFORM bench_recon.add_line('direct_debit_return', 'reverse', l.invoice_ids, -t.amount, t.counterparty_name,
		                             t.counterparty_iban::text, 'RETOUR PRLV ' || coalesce(t.remittance_info, ''),
		                             t.end_to_end_id, 'PMNT-IDDT-UPDD',
		                             bench_recon.pick(ARRAY['AM04', 'AM04', 'MD06', 'MS02', 'AC04', 'MD01']),
		                             t.id, t.booking_date + 5);
	END LOOP;
	FOR k IN 1 .. 20 LOOP
		PERFORM bench_recon.add_line('direct_debit_return_unknown', 'none', '{}', -round((50 + random() * 500)::numeric, 2),
		                             'CLIENT INCONNU', bench_recon.random_iban(), 'RETOUR PRLV', 'E2E-UNKNOWN-' || k,
		                             'PMNT-IDDT-UPDD', 'AM04');
	END LOOP;
	RETURN QUERY SELECT b.situation, count(*) FROM bench_recon.label b
	              WHERE b.situation LIKE 'direct_debit_return%' GROUP BY b.situation ORDER BY 1;
END $$;

-- Recall and precision of what ar.reconcile applied, per situation.
CREATE FUNCTION bench_recon.score()
RETURNS TABLE (situation text, lines bigint, expected_applied bigint, applied bigint, applied_right bigint,
               proposed bigint, recall numeric, "precision" numeric)
LANGUAGE sql STABLE AS $$
	WITH judged AS (
		SELECT l.*,
		       CASE WHEN l.expect = 'reverse' THEN r.outcome = 'return'
		            ELSE r.outcome IN ('applied', 'returned') END AS was_applied,
		       r.outcome = 'proposed' AS was_proposed,
		       CASE l.expect
		            WHEN 'apply' THEN
		                 (SELECT coalesce(array_agg(DISTINCT a.invoice_id ORDER BY a.invoice_id), '{}')
		                    FROM ar.allocation a WHERE a.bank_transaction_id = l.bank_transaction_id)
		                 = (SELECT array_agg(x ORDER BY x) FROM unnest(l.invoice_ids) x)
		                 -- a collection returned later counts for what the run did then
		                 OR (r.outcome = 'returned')
		            WHEN 'reverse' THEN
		                 NOT EXISTS (SELECT 1 FROM ar.allocation a WHERE a.bank_transaction_id = l.collection_id)
		                 AND (SELECT x.returned_by FROM ar.reconcile_line x WHERE x.bank_transaction_id = l.collection_id) = l.bank_transaction_id
		            ELSE false END AS right_one
		  FROM bench_recon.label l
		  LEFT JOIN ar.reconcile_line r ON r.bank_transaction_id = l.bank_transaction_id
	)
	SELECT coalesce(situation, 'ALL'), count(*), count(*) FILTER (WHERE expect <> 'none'),
	       count(*) FILTER (WHERE was_applied), count(*) FILTER (WHERE was_applied AND right_one),
	       count(*) FILTER (WHERE was_proposed),
	       round(100.0 * count(*) FILTER (WHERE was_applied AND right_one AND expect <> 'none')
	             / nullif(count(*) FILTER (WHERE expect <> 'none'), 0), 2),
	       round(100.0 * count(*) FILTER (WHERE was_applied AND right_one) / nullif(count(*) FILTER (WHERE was_applied), 0), 2)
	  FROM judged
	 GROUP BY ROLLUP (situation)
	 ORDER BY situation IS NULL, situation
$$;
