--
-- identifiers: ar.iban (ISO 13616) and ar.creditor_ref (ISO 11649)
--
-- Every object created here is temporary, prefixed ident_ and dropped at the
-- end: other test files share this database.

-- Runs a cast and reports its result or its error, one line per value.
CREATE FUNCTION pg_temp.ident_try(val text, typ regtype,
	OUT result text, OUT error text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT %L::%s::text', val, typ) INTO result;
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS error = RETURNED_SQLSTATE,
		detail = PG_EXCEPTION_DETAIL;
END $$;

-- The operators live in schema ar: without it in search_path they must be
-- spelt OPERATOR(ar.=); the rest of this file puts ar in search_path.
SELECT 'FR1420041010050500013M02606'::ar.iban OPERATOR(ar.=) 'fr14 2004 1010 0505 0001 3m02 606' AS qualified_eq;
SELECT 'FR1420041010050500013M02606'::ar.iban = 'FR1420041010050500013M02606';
SET search_path = public, ar;

--
-- IBAN: normalisation and printed form
--
SELECT 'fr14 2004 1010 0505 0001 3m02 606'::ar.iban AS spaces_lower_case;
SELECT 'GB29-NWBK-6016-1331-9268-19'::ar.iban AS dashes;
SELECT 'no93.8601.1117.947'::ar.iban AS dots;
SELECT '  DE89 3704-0044.0532 0130 00  '::ar.iban AS mixed;
SELECT v AS input, v::ar.iban AS iban, ar.iban_country(v::ar.iban) AS country,
	   ar.iban_format(v::ar.iban) AS paper
FROM (VALUES ('BE68539007547034'), ('ch9300762011623852957'),
			 ('IT60 X054 2811 1010 0000 0123 456'),
			 ('MT84MALT011000012345MTLCAST001S'),
			 ('LC55HEMM000100010012001200023015'),
			 ('RU0204452560040702810412345678901')) AS t(v);
SELECT pg_typeof('NL91ABNA0417164300'::ar.iban),
	   'NL91ABNA0417164300'::ar.iban::text AS as_text,
	   length('NL91 ABNA 0417 1643 00'::ar.iban::text) AS stored_length;

--
-- IBAN: every kind of error, with its SQLSTATE and detail
--
SELECT v AS input, (pg_temp.ident_try(v, 'ar.iban')).*
FROM (VALUES (''),
			 (' - . '),
			 ('FR76 3000 6000 0112 3456 7890 18_'),
			 ('FR76 3000 6000 0112 3456 7890 18é'),
			 (E'FR76\t3000 6000 0112 3456 7890 189'),
			 ('F'),
			 ('1276 3000 6000 0112 3456 7890 189'),
			 ('QQ93 1234 5678'),
			 ('US64 SVBK US6S 3300 9673 8637'),
			 ('FR76 3000 6000 0112 3456 7890 1'),
			 ('AT93 1904 3002 3457 3201 99'),
			 ('FR76 3000 6000 0112 3456 7890 189 3000 6000 0112 3456 7890 189'),
			 ('NL56 3003 0A17 1643 00'),
			 ('BG93 BNBG 9661 1A20 3456 78'),
			 ('GI22 NW3K 0000 0000 7099 453'),
			 ('GB29 NWBK 6016 1331 9268 1X'),
			 ('FRAB 3000 6000 0112 3456 7890 189'),
			 ('FR76 3000 6000 0112 3456 7890 188'),
			 ('FR67 3000 6000 0112 3456 7890 189'),
			 ('FR98 3000 6000 0112 3456 7890 084'),
			 ('FR01 3000 6000 0112 3456 7890 084')) AS t(v);

-- The message names the value; a very long one is clipped.
SELECT 'FR76 3000 6000 0112 3456 7890 188'::ar.iban;
SELECT repeat('FR76 3000 6000 0112 3456 7890 189 ', 20)::ar.iban;
SELECT 'fr76 3000 6000 0112 3456 7890 18?'::text::ar.iban;

SELECT v AS input, ar.is_valid_iban(v)
FROM (VALUES ('FR7630006000011234567890189'), ('fr76-3000-6000-0112-3456-7890-189'),
			 ('FR7630006000011234567890188'), (''), ('QQ9312345678'),
			 (NULL)) AS t(v);

--
-- IBAN: ordering and comparison operators
--
SELECT v::ar.iban AS iban
FROM (VALUES ('NL91ABNA0417164300'), ('be68 5390 0754 7034'),
			 ('DE89370400440532013000'), ('AT611904300234573201'),
			 ('GB29NWBK60161331926819'), ('DE44500105175407324931')) AS t(v)
ORDER BY 1;
SELECT a, b, a = b AS eq, a <> b AS ne, a < b AS lt, a <= b AS le,
	   a > b AS gt, a >= b AS ge, ar.iban_cmp(a, b) AS cmp
FROM (VALUES ('DE89370400440532013000'::ar.iban, 'de89 3704 0044 0532 0130 00'::ar.iban),
			 ('DE44500105175407324931', 'DE89370400440532013000'),
			 ('GB29NWBK60161331926819', 'DE89370400440532013000'),
			 ('NO9386011117947', 'NL91ABNA0417164300')) AS t(a, b);
-- Seed 0 of the extended hash must give the plain hash in its low 32 bits.
SELECT ar.iban_hash('DE89370400440532013000') = ar.iban_hash('de89 3704 0044 0532 0130 00') AS same_hash,
	   ar.iban_hash_extended('DE89370400440532013000', 42)
		 = ar.iban_hash_extended('de89.3704.0044.0532.0130.00', 42) AS same_hash_extended,
	   ar.iban_hash_extended('DE89370400440532013000', 42)
		 <> ar.iban_hash_extended('DE89370400440532013000', 0) AS seed_matters,
	   (ar.iban_hash_extended('DE89370400440532013000', 0) & x'ffffffff'::bigint)
		 = (ar.iban_hash('DE89370400440532013000')::bigint & x'ffffffff'::bigint) AS seed_0_compatible;

--
-- IBAN: key of a table, a join and indexes
--
CREATE TEMP TABLE ident_account (iban ar.iban PRIMARY KEY, holder text);
INSERT INTO ident_account VALUES
	('FR14 2004 1010 0505 0001 3M02 606', 'Dupont'),
	('DE89 3704 0044 0532 0130 00', 'Müller'),
	('GB29 NWBK 6016 1331 9268 19', 'Smith'),
	('BE68 5390 0754 7034', 'Peeters');
-- The same account written differently is a duplicate.
INSERT INTO ident_account VALUES ('fr14-2004-1010-0505-0001-3m02-606', 'again');
-- Assignment cast from text.
INSERT INTO ident_account SELECT 'CH93 0076 2011 6238 5295 7'::text, 'Meier';
INSERT INTO ident_account SELECT 'CH93 0076 2011 6238 5295 8'::text, 'Meier';

CREATE TEMP TABLE ident_payment (iban ar.iban, amount numeric);
INSERT INTO ident_payment VALUES
	('de89.3704.0044.0532.0130.00', 100), ('BE68539007547034', 50),
	('NL91 ABNA 0417 1643 00', 75), ('gb29nwbk60161331926819', 20);

SELECT a.holder, p.iban, p.amount
FROM ident_payment p JOIN ident_account a ON a.iban = p.iban ORDER BY p.amount;

-- = hashes and merges.
ANALYZE ident_account, ident_payment;
SET enable_nestloop = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF)
SELECT a.holder, p.amount FROM ident_payment p JOIN ident_account a ON a.iban = p.iban;
SELECT count(*) FROM ident_payment p JOIN ident_account a ON a.iban = p.iban;
SET enable_mergejoin = on;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF)
SELECT a.holder, p.amount FROM ident_payment p JOIN ident_account a ON a.iban = p.iban;
SELECT count(*) FROM ident_payment p JOIN ident_account a ON a.iban = p.iban;
RESET enable_nestloop;
RESET enable_mergejoin;
RESET enable_hashjoin;

-- btree (the primary key) and hash indexes.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT holder FROM ident_account WHERE iban = 'gb29 nwbk 6016 1331 9268 19';
SELECT holder FROM ident_account WHERE iban = 'gb29 nwbk 6016 1331 9268 19';
EXPLAIN (COSTS OFF)
SELECT holder FROM ident_account WHERE iban > 'DE89370400440532013000' ORDER BY iban;
SELECT holder FROM ident_account WHERE iban > 'DE89370400440532013000' ORDER BY iban;
CREATE INDEX ident_payment_iban_hash ON ident_payment USING hash (iban);
EXPLAIN (COSTS OFF)
SELECT amount FROM ident_payment WHERE iban = 'NL91ABNA0417164300';
SELECT amount FROM ident_payment WHERE iban = 'NL91ABNA0417164300';
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT ar.iban_country(iban), count(*) FROM ident_account GROUP BY 1 ORDER BY 1;
SELECT DISTINCT iban FROM ident_payment WHERE iban::text LIKE 'DE%';

--
-- Creditor reference: normalisation, printed form, errors
--
SELECT 'rf18 5390 0754 7034'::ar.creditor_ref AS spaces_lower_case;
SELECT 'RF18-5390-0754-7034'::ar.creditor_ref AS dashes,
	   'RF18.5390.0754.7034'::ar.creditor_ref AS dots,
	   ar.creditor_ref_format('RF18539007547034') AS paper;
SELECT v AS input, (pg_temp.ident_try(v, 'ar.creditor_ref')).*
FROM (VALUES ('RF18 5390 0754 7034'),
			 ('RF74 1'),
			 ('RF98 5390 0754 7049'),
			 (''),
			 ('...'),
			 ('RF18 5390_0754 7034'),
			 ('XX18 5390 0754 7034'),
			 ('R'),
			 ('RF18'),
			 ('RF18 1234 5678 9012 3456 7890 12'),
			 ('RF1A 5390 0754 7034'),
			 ('RF18 5390 0754 7035'),
			 ('RF81 5390 0754 7034'),
			 ('RF01 5390 0754 7049'),
			 ('RF99 5390 0754 7031')) AS t(v);
SELECT 'RF18 5390 0754 7035'::ar.creditor_ref;
SELECT v AS input, ar.is_valid_creditor_ref(v)
FROM (VALUES ('RF18539007547034'), ('rf18 5390 0754 7034'), ('RF18539007547035'),
			 ('RF18'), (NULL)) AS t(v);

--
-- make_creditor_ref
--
SELECT ar.make_creditor_ref('539007547034') AS iso_11649_example;
SELECT p AS payload, ar.make_creditor_ref(p),
	   ar.make_creditor_ref(p)::text::ar.creditor_ref = ar.make_creditor_ref(p) AS round_trip
FROM (VALUES ('5390 0754 7034'), ('INV-2024-000123'), ('inv.2024.000123'),
			 ('1'), ('A'), ('ABCDEF'), ('123456789012345678901')) AS t(p);
SELECT ar.make_creditor_ref('');
SELECT ar.make_creditor_ref('1234567890123456789012');
SELECT ar.make_creditor_ref('INV/2024/000123');
SELECT ar.make_creditor_ref(NULL) IS NULL AS null_in_null_out;

-- Ordering, equality across spellings, indexes.
CREATE TEMP TABLE ident_invoice_ref (ref ar.creditor_ref PRIMARY KEY, invoice text);
INSERT INTO ident_invoice_ref
SELECT ar.make_creditor_ref(n), n FROM (VALUES ('INV1'), ('INV2'), ('INV10'), ('539007547034')) AS t(n);
INSERT INTO ident_invoice_ref VALUES ('rf18-5390-0754-7034', 'duplicate');
SELECT ref, invoice FROM ident_invoice_ref ORDER BY ref;
SELECT ref < 'RF18539007547034' AS lt, ref = 'rf18 5390 0754 7034' AS eq
FROM ident_invoice_ref ORDER BY ref;
CREATE INDEX ident_invoice_ref_hash ON ident_invoice_ref USING hash (ref);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT invoice FROM ident_invoice_ref WHERE ref = 'RF18539007547034';
SELECT invoice FROM ident_invoice_ref WHERE ref = 'RF18539007547034';
DROP INDEX ident_invoice_ref_hash;
EXPLAIN (COSTS OFF)
SELECT invoice FROM ident_invoice_ref WHERE ref = 'RF18539007547034';
RESET enable_seqscan;
RESET enable_bitmapscan;

--
-- Binary round trip through COPY, and binary input validated like text
--
SELECT current_setting('data_directory') || '/ident_identifiers_test.bin' AS ident_bin \gset
\set ident_rm 'rm -f ' :ident_bin
CREATE TEMP TABLE ident_bin (iban ar.iban, ref ar.creditor_ref);
INSERT INTO ident_bin VALUES
	('FR1420041010050500013M02606', 'RF18539007547034'),
	('NO9386011117947', 'rf74 1'),
	(NULL, NULL);
COPY ident_bin TO :'ident_bin' WITH (FORMAT binary);
CREATE TEMP TABLE ident_bin_back (LIKE ident_bin);
COPY ident_bin_back FROM :'ident_bin' WITH (FORMAT binary);
SELECT * FROM ident_bin_back ORDER BY iban;
SELECT count(*) AS identical
FROM ident_bin b JOIN ident_bin_back c ON b.iban = c.iban AND b.ref = c.ref;

-- Binary text of a refused value, of one to normalise, of one with a NUL.
CREATE TEMP TABLE ident_bin_raw (iban text, ref text);
CREATE TEMP TABLE ident_bin_bytes (iban bytea, ref bytea);
INSERT INTO ident_bin_raw VALUES ('FR1420041010050500013M02607', 'RF18539007547034');
COPY ident_bin_raw TO :'ident_bin' WITH (FORMAT binary);
COPY ident_bin_back FROM :'ident_bin' WITH (FORMAT binary);
UPDATE ident_bin_raw SET iban = 'FR1420041010050500013M02606', ref = 'RF18539007547035';
COPY ident_bin_raw TO :'ident_bin' WITH (FORMAT binary);
COPY ident_bin_back FROM :'ident_bin' WITH (FORMAT binary);
UPDATE ident_bin_raw SET iban = 'fr14 2004 1010 0505 0001 3m02 606', ref = 'rf74 1';
COPY ident_bin_raw TO :'ident_bin' WITH (FORMAT binary);
TRUNCATE ident_bin_back;
COPY ident_bin_back FROM :'ident_bin' WITH (FORMAT binary);
SELECT * FROM ident_bin_back;
-- A valid IBAN followed by NUL and garbage must not be cut at the NUL.
INSERT INTO ident_bin_bytes VALUES
	(convert_to('FR1420041010050500013M02606', 'UTF8') || '\x00'::bytea || convert_to('XX', 'UTF8'),
	 convert_to('RF18539007547034', 'UTF8'));
COPY ident_bin_bytes TO :'ident_bin' WITH (FORMAT binary);
COPY ident_bin_back FROM :'ident_bin' WITH (FORMAT binary);
COPY ident_bin_raw FROM PROGRAM :'ident_rm';
SELECT count(*) AS rows_kept FROM ident_bin_back;

--
-- Catalog: operator properties, opclasses, casts, function volatility
--
SELECT o.oprname, format_type(o.oprleft, NULL) AS type, o.oprcanhash, o.oprcanmerge,
	   o.oprcom::regoperator IS NOT NULL AS has_commutator,
	   o.oprnegate::regoperator IS NOT NULL AS has_negator,
	   o.oprrest, o.oprjoin
FROM pg_operator o
WHERE o.oprleft IN ('ar.iban'::regtype, 'ar.creditor_ref'::regtype)
ORDER BY 2, 1;
SELECT opc.opcname, am.amname, opc.opcdefault
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE opc.opcintype IN ('ar.iban'::regtype, 'ar.creditor_ref'::regtype)
ORDER BY 1;
SELECT format_type(castsource, NULL) AS source, format_type(casttarget, NULL) AS target,
	   castcontext, castmethod
FROM pg_cast
WHERE 'ar.iban'::regtype IN (castsource, casttarget)
   OR 'ar.creditor_ref'::regtype IN (castsource, casttarget)
ORDER BY 1, 2;
SELECT typname, typcategory, typlen, typstorage
FROM pg_type WHERE oid IN ('ar.iban'::regtype, 'ar.creditor_ref'::regtype) ORDER BY 1;
-- Every function of both types: immutable, strict, parallel safe, commented.
SELECT count(*) AS functions,
	   count(*) FILTER (WHERE p.provolatile = 'i' AND p.proisstrict
							AND p.proparallel = 's') AS immutable_strict_safe,
	   count(*) FILTER (WHERE obj_description(p.oid, 'pg_proc') IS NOT NULL) AS commented
FROM pg_proc p
WHERE p.pronamespace = 'ar'::regnamespace
  AND (p.proname ~ '^(iban|creditor_ref)_' OR p.proname IN
	   ('make_creditor_ref', 'is_valid_iban', 'is_valid_creditor_ref'));

DROP TABLE ident_account, ident_payment, ident_invoice_ref, ident_bin,
	ident_bin_back, ident_bin_raw, ident_bin_bytes;
DROP FUNCTION pg_temp.ident_try(text, regtype);
RESET search_path;
