-- pgTAP: ar.iban and ar.creditor_ref against the public vectors in the
-- shared test data (skipped, with a reason, when they are absent) and
-- against vectors of our own for every country of the IBAN registry.
BEGIN;
CREATE EXTENSION ar_collect;
-- The operators live in schema ar.
SET LOCAL search_path = public, ar;

SELECT plan(138);

SELECT has_type('ar', 'iban', 'type ar.iban exists');
SELECT has_type('ar', 'creditor_ref', 'type ar.creditor_ref exists');
SELECT has_opclass('ar', 'iban_ops', 'btree opclass ar.iban_ops exists');
SELECT has_opclass('ar', 'iban_hash_ops', 'hash opclass ar.iban_hash_ops exists');
SELECT has_opclass('ar', 'creditor_ref_ops', 'btree opclass ar.creditor_ref_ops exists');
SELECT has_opclass('ar', 'creditor_ref_hash_ops', 'hash opclass ar.creditor_ref_hash_ops exists');

-- Helpers: the text of a cast (NULL when refused), the SQLSTATE of a cast
-- (NULL when accepted), the compact form of a raw value.
CREATE FUNCTION pg_temp.cast_text(val text, typ text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	EXECUTE format('SELECT %L::%s::text', val, typ) INTO result;
	RETURN result;
EXCEPTION WHEN others THEN
	RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.cast_error(val text, typ text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT %L::%s', val, typ);
	RETURN NULL;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END $$;
CREATE FUNCTION pg_temp.compact(val text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT upper(translate(val, ' -.', '')) $$;

--
-- Public vectors (python-stdnum, from the SWIFT IBAN registry samples).
--
CREATE FUNCTION pg_temp.data_dir() RETURNS text
LANGUAGE sql AS $$
	SELECT nullif(current_setting('ar_collect_test.shared_data', true), '') || '/iban-rf'
$$;
CREATE FUNCTION pg_temp.have_data() RETURNS boolean
LANGUAGE sql AS $$
	SELECT pg_temp.data_dir() IS NOT NULL
	   AND (SELECT bool_and((pg_stat_file(pg_temp.data_dir() || '/' || f, true)).size IS NOT NULL)
			FROM unnest(ARRAY['iban_valid.txt', 'iban_invalid.txt', 'rf_valid.txt']) AS f)
$$;
CREATE TEMP TABLE vec (kind text, v text) ON COMMIT DROP;
DO $$
BEGIN
	IF pg_temp.have_data() THEN
		INSERT INTO vec
		SELECT kind, line
		FROM unnest(ARRAY['iban_valid', 'iban_invalid', 'rf_valid']) AS kind,
			 regexp_split_to_table(pg_read_file(pg_temp.data_dir() || '/' || kind || '.txt'),
								   E'\r?\n') AS line
		WHERE btrim(line) <> '' AND line NOT LIKE '#%';
	END IF;
END $$;

SELECT CASE WHEN pg_temp.have_data() THEN collect_tap(
	cmp_ok((SELECT count(*) FROM vec WHERE kind = 'iban_valid'), '>', 0::bigint,
		   'iban_valid.txt has vectors'),
	is_empty($$ SELECT v FROM vec WHERE kind = 'iban_valid'
				  AND pg_temp.cast_error(v, 'ar.iban') IS NOT NULL $$,
			 'every valid IBAN vector is accepted'),
	is_empty($$ SELECT v, pg_temp.cast_text(v, 'ar.iban') FROM vec WHERE kind = 'iban_valid'
				  AND pg_temp.cast_text(v, 'ar.iban') IS DISTINCT FROM pg_temp.compact(v) $$,
			 'every valid IBAN vector prints compact and upper case'),
	is_empty($$ SELECT v FROM vec WHERE kind = 'iban_valid' AND NOT ar.is_valid_iban(v) $$,
			 'ar.is_valid_iban() is true for every valid IBAN vector'),
	cmp_ok((SELECT count(*) FROM vec WHERE kind = 'iban_invalid'), '>', 0::bigint,
		   'iban_invalid.txt has vectors'),
	is_empty($$ SELECT v, pg_temp.cast_error(v, 'ar.iban') FROM vec WHERE kind = 'iban_invalid'
				  AND pg_temp.cast_error(v, 'ar.iban') IS DISTINCT FROM '22P02' $$,
			 'every invalid IBAN vector raises 22P02'),
	is_empty($$ SELECT v FROM vec WHERE kind = 'iban_invalid' AND ar.is_valid_iban(v) $$,
			 'ar.is_valid_iban() is false for every invalid IBAN vector'),
	cmp_ok((SELECT count(*) FROM vec WHERE kind = 'rf_valid'), '>', 0::bigint,
		   'rf_valid.txt has vectors'),
	is_empty($$ SELECT v, pg_temp.cast_text(v, 'ar.creditor_ref') FROM vec WHERE kind = 'rf_valid'
				  AND pg_temp.cast_text(v, 'ar.creditor_ref') IS DISTINCT FROM pg_temp.compact(v) $$,
			 'every creditor reference vector is accepted and prints compact'),
	is_empty($$ SELECT v FROM vec WHERE kind = 'rf_valid'
				  AND ar.make_creditor_ref(substr(pg_temp.compact(v), 5))::text <> pg_temp.compact(v) $$,
			 'ar.make_creditor_ref() of each vector''s payload gives the vector back')
) ELSE skip('shared test data not found at '
			|| coalesce(pg_temp.data_dir(), '(ar_collect_test.shared_data is not set)'), 10)
END;

--
-- Our own vectors: one IBAN per country of the registry, with the right
-- length, BBAN format and check digits (computed independently).
--
CREATE TEMP TABLE own (cc text, v text) ON COMMIT DROP;
INSERT INTO own VALUES
	('AD', 'AD08 9767 2425 6OVQ QMCM JGSY'),
	('AE', 'AE56 3236 0691 3194 1087 654'),
	('AL', 'AL42 4418 8093 2SWT G7J4 CUMQ 4V6C'),
	('AT', 'AT75 9696 1906 9708 1080'),
	('AZ', 'AZ96 DXIP B1WP L3QH QEIP ACDH 3JH2'),
	('BA', 'BA44 3354 5992 4803 6106'),
	('BE', 'BE43 5788 0432 0357'),
	('BG', 'BG51 CIOP 7872 18CW KE5L HX'),
	('BH', 'BH95 IZZU 7GVC YVBY R8ES NV'),
	('BI', 'BI97 6895 8708 2592 9707 9340 955'),
	('BR', 'BR59 0879 5790 6161 1631 2472 262X K'),
	('BY', 'BY61 9DCS 9004 49P8 JJOD UZB9 UQUZ'),
	('CH', 'CH81 5671 0NAN 7DKD ICFL D'),
	('CR', 'CR18 1240 1055 5861 2897 29'),
	('CY', 'CY41 2091 4089 711H 39A6 DGJ2 HRCC'),
	('CZ', 'CZ18 2004 7284 9226 8199 9589'),
	('DE', 'DE10 3611 5183 1370 7783 52'),
	('DJ', 'DJ23 4825 5742 9123 2798 4195 317'),
	('DK', 'DK89 2397 4684 4272 05'),
	('DO', 'DO55 COPK 2592 7309 3296 4384 2974'),
	('EE', 'EE16 4317 7146 8430 4786'),
	('EG', 'EG20 8125 7178 0930 1590 2816 0857 1'),
	('ES', 'ES32 7787 4903 1488 3057 7615'),
	('FI', 'FI75 8340 1835 6233 64'),
	('FK', 'FK30 FB89 8183 6045 88'),
	('FO', 'FO78 8183 1572 4883 03'),
	('FR', 'FR05 9665 8046 56P6 ULPF FYKB H96'),
	('GB', 'GB67 NBAR 1657 7974 8756 92'),
	('GE', 'GE16 QP20 1277 3852 4566 42'),
	('GI', 'GI68 ZVKC 7LTS F42Q 4T8E A0O'),
	('GL', 'GL15 1556 9654 7970 27'),
	('GR', 'GR63 5212 4572 BKUB 9ICR 7CBF YUF'),
	('GT', 'GT85 350M R6G0 1NCV W8PI LCWL 16TT'),
	('HN', 'HN41 QGZP 1847 2287 4100 9927 6079'),
	('HR', 'HR59 4750 7568 3453 9319 4'),
	('HU', 'HU80 3700 1944 7029 5323 1156 4241'),
	('IE', 'IE05 YFYO 1935 7306 6635 87'),
	('IL', 'IL76 9229 6757 9097 7135 222'),
	('IQ', 'IQ45 YUAC 4726 2089 9028 501'),
	('IS', 'IS78 3402 7120 1010 8948 2481 69'),
	('IT', 'IT54 Z451 7725 533K WS6G OPSV Z36'),
	('JO', 'JO48 GONP 7066 XS2T 6GNB C02U MRES PY'),
	('KW', 'KW78 LMVR I0EQ K54G GNC2 2V7S T7OZ 6A'),
	('KZ', 'KZ55 5501 9Z3K IXR8 GRKQ'),
	('LB', 'LB37 3048 Q5L6 2I3I EIPW 0GTX 3WKK'),
	('LC', 'LC89 KGHX 74LT 76I6 AJJF E46A VJ7F FST2'),
	('LI', 'LI54 7892 3W8L RNDA 7UOC W'),
	('LT', 'LT89 2620 9106 4997 9634'),
	('LU', 'LU14 2271 EDRX JN55 6QA4'),
	('LV', 'LV27 REAP 1BF6 VCA7 1A6L E'),
	('LY', 'LY52 3729 9186 3315 9356 6367 0'),
	('MC', 'MC85 8411 8334 56XL IZOM ZFDD L44'),
	('MD', 'MD08 COCP JCRQ OIXC 1P14 JOOR'),
	('ME', 'ME07 4451 2885 5884 2951 88'),
	('MK', 'MK08 645O 3VFS B85D 524'),
	('MN', 'MN23 8674 3086 9938 3025'),
	('MR', 'MR50 4385 0549 9953 2264 6789 034'),
	('MT', 'MT49 TBOF 9595 7VVA IWX7 DNBS IC4I J1N'),
	('MU', 'MU89 SUUF 5319 1660 7812 2720 234T US'),
	('NI', 'NI41 RQQN 5433 8821 2336 7465 3448'),
	('NL', 'NL13 OVZS 7787 2027 97'),
	('NO', 'NO71 9682 3655 187'),
	('OM', 'OM96 0160 Z84O AW7H 6EOT ZQT'),
	('PK', 'PK49 HYWK NRN6 60ZZ 6LVZ T2Q7'),
	('PL', 'PL27 4741 4523 9176 9481 0895 8799'),
	('PS', 'PS03 AOKE ZXDE ONO9 SUO2 7WKV WDJL 0'),
	('PT', 'PT03 1025 3524 6725 1539 2493 7'),
	('QA', 'QA28 JQIL TFWQ BX4X 37NF B2E8 LX8S 1'),
	('RO', 'RO81 XFQE 5DP2 1LXR 38A6 GHVN'),
	('RS', 'RS77 2506 1006 1110 2011 59'),
	('RU', 'RU33 8587 6086 1417 37J7 NIVC G5AU 50CQ Q'),
	('SA', 'SA84 093C V5VX WR5K HL57 O8Y3'),
	('SC', 'SC73 HVOD 8009 6455 8478 0803 2371 SOB'),
	('SD', 'SD41 1052 3485 9835 90'),
	('SE', 'SE55 3784 7997 2775 9633 8882'),
	('SI', 'SI41 9366 2727 3501 156'),
	('SK', 'SK90 2614 1040 6191 2600 0161'),
	('SM', 'SM05 A737 0868 671C GRML 4H2J W7H'),
	('SO', 'SO51 1601 8594 7918 5597 975'),
	('ST', 'ST78 5777 4119 8614 6849 4642 5'),
	('SV', 'SV86 LGXM 6067 1741 3133 3154 0379'),
	('TL', 'TL41 9259 6482 8518 8604 096'),
	('TN', 'TN16 9560 2374 3869 1927 0499'),
	('TR', 'TR27 3650 67C1 52HI 6M4G QKK1 OB'),
	('UA', 'UA54 2158 24PH HPDX 5098 CQ7Q AX40 G'),
	('VA', 'VA40 2050 5926 9670 1350 36'),
	('VG', 'VG95 TPDO 6953 4427 5907 0820'),
	('XK', 'XK05 3305 6761 3495 9539'),
	('YE', 'YE20 CIUL 8208 SJ98 T8YW D2M1 Q0RK 3W');

SELECT is((SELECT count(*) FROM own), 89::bigint, 'one own vector per registry country');
SELECT is(pg_temp.cast_text(v, 'ar.iban'), pg_temp.compact(v), cc || ' IBAN is accepted and printed compact')
FROM own ORDER BY cc;

SELECT is_empty($$ SELECT cc FROM own WHERE ar.iban_country(v::ar.iban) <> cc $$,
				'ar.iban_country() gives the country code');
SELECT is_empty($$ SELECT cc FROM own WHERE ar.iban_format(v::ar.iban) <> v $$,
				'ar.iban_format() gives the paper format, groups of 4');
SELECT is_empty(
	$$ SELECT cc, w FROM own,
		 LATERAL (VALUES (lower(v)), (replace(v, ' ', '-')), (replace(v, ' ', '.')),
						 (pg_temp.compact(v)), ('  ' || v || ' ')) AS t(w)
	   WHERE pg_temp.cast_text(w, 'ar.iban') IS DISTINCT FROM pg_temp.compact(v)
		  OR w::ar.iban <> v::ar.iban
		  OR ar.iban_hash(w::ar.iban) <> ar.iban_hash(v::ar.iban) $$,
	'lower case, dashes, dots and extra spaces give the same value and hash');
SELECT is_empty(
	$$ SELECT cc, w FROM own,
		 LATERAL (VALUES (pg_temp.compact(v) || '0'), (pg_temp.compact(v) || 'A'),
						 (left(pg_temp.compact(v), -1))) AS t(w)
	   WHERE pg_temp.cast_error(w, 'ar.iban') IS DISTINCT FROM '22P02' $$,
	'one character more or less is refused for every country');
SELECT is_empty(
	$$ SELECT w FROM unnest(ARRAY['US', 'CA', 'AU', 'CN', 'JP', 'IN', 'DZ', 'AO', 'IR', 'ZZ']) AS c,
		 LATERAL (SELECT c || lpad((98 - mod(('1234567890123456' || (ascii(substr(c, 1, 1)) - 55)
				 || (ascii(substr(c, 2, 1)) - 55) || '00')::numeric, 97))::text, 2, '0')
				 || '1234567890123456') AS t(w)
	   WHERE pg_temp.cast_error(w, 'ar.iban') IS DISTINCT FROM '22P02' $$,
	'country codes outside the registry are refused even with right check digits');

-- mod 97 catches every substitution of a digit by a digit or a letter by a
-- letter, and every swap of two adjacent digits or two adjacent letters.
CREATE TEMP TABLE mutant (cc text, kind text, w text) ON COMMIT DROP;
INSERT INTO mutant
SELECT cc, 'substitution', overlay(s PLACING r FROM i FOR 1)
FROM (SELECT cc, pg_temp.compact(v) AS s FROM own) AS o,
	 generate_series(1, length(s)) AS i,
	 regexp_split_to_table('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') AS r
WHERE r <> substr(s, i, 1)
  AND (r ~ '[0-9]') = (substr(s, i, 1) ~ '[0-9]');
INSERT INTO mutant
SELECT cc, 'transposition', overlay(s PLACING substr(s, i + 1, 1) || substr(s, i, 1) FROM i FOR 2)
FROM (SELECT cc, pg_temp.compact(v) AS s FROM own) AS o,
	 generate_series(1, length(s) - 1) AS i
WHERE substr(s, i, 1) <> substr(s, i + 1, 1)
  AND (substr(s, i, 1) ~ '[0-9]') = (substr(s, i + 1, 1) ~ '[0-9]');

SELECT cmp_ok((SELECT count(*) FROM mutant WHERE kind = 'substitution'), '>', 10000::bigint,
			  'over 10000 single-character substitutions of own vectors');
SELECT is_empty($$ SELECT cc, w FROM mutant WHERE kind = 'substitution' AND ar.is_valid_iban(w) $$,
				'every single-character substitution is refused');
SELECT cmp_ok((SELECT count(*) FROM mutant WHERE kind = 'transposition'), '>', 1000::bigint,
			  'over 1000 adjacent transpositions of own vectors');
SELECT is_empty($$ SELECT cc, w FROM mutant WHERE kind = 'transposition' AND ar.is_valid_iban(w) $$,
				'every adjacent transposition is refused');
SELECT is_empty($$ SELECT cc, w FROM mutant WHERE kind = 'substitution'
					 AND pg_temp.cast_error(w, 'ar.iban') IS DISTINCT FROM '22P02'
					 AND cc IN ('FR', 'DE', 'GB', 'MT', 'LC') $$,
				'refused mutants raise 22P02 (FR, DE, GB, MT, LC)');

--
-- IBAN errors, one of each kind.
--
SELECT throws_ok($$ SELECT ''::ar.iban $$, '22P02', 'invalid IBAN: ""', 'empty IBAN');
SELECT throws_ok($$ SELECT 'QQ93 1234 5678'::ar.iban $$, '22P02',
				 'invalid IBAN: "QQ93 1234 5678"', 'unknown country');
SELECT throws_ok($$ SELECT 'FR76 3000 6000 0112 3456 7890 1'::ar.iban $$, '22P02',
				 'invalid IBAN: "FR76 3000 6000 0112 3456 7890 1"', 'wrong length for FR');
SELECT throws_ok($$ SELECT 'NL56 3003 0A17 1643 00'::ar.iban $$, '22P02',
				 'invalid IBAN: "NL56 3003 0A17 1643 00"', 'digit where NL wants a letter');
SELECT throws_ok($$ SELECT 'FR76 3000 6000 0112 3456 7890 188'::ar.iban $$, '22P02',
				 'invalid IBAN: "FR76 3000 6000 0112 3456 7890 188"', 'bad check digits');
SELECT throws_ok($$ SELECT 'FR76 3000 6000 0112 3456 7890 18/'::ar.iban $$, '22P02',
				 'invalid IBAN: "FR76 3000 6000 0112 3456 7890 18/"', 'illegal character');
SELECT throws_ok($$ SELECT repeat('9', 100000)::ar.iban $$, '22P02', NULL,
				 'a very long value is refused');
SELECT is(ar.is_valid_iban(NULL), NULL, 'ar.is_valid_iban(NULL) is NULL');

--
-- Creditor references.
--
SELECT is(ar.make_creditor_ref('539007547034')::text, 'RF18539007547034',
		  'ISO 11649 example: payload 539007547034 gives RF18539007547034');
SELECT is(ar.make_creditor_ref('5390-0754.7034 ')::text, 'RF18539007547034',
		  'make_creditor_ref() strips separators');
SELECT is(ar.make_creditor_ref('inv2024a')::text, 'RF06INV2024A',
		  'make_creditor_ref() upper-cases the payload');
SELECT is('rf18 5390 0754 7034'::ar.creditor_ref::text, 'RF18539007547034',
		  'creditor reference input is normalised');
SELECT is_empty(
	$$ SELECT p, ar.make_creditor_ref(p)
	   FROM (SELECT n::text AS p FROM generate_series(1, 3000) AS n
			 UNION ALL SELECT 'INV-' || n FROM generate_series(1, 3000) AS n
			 UNION ALL SELECT left(upper(md5(n::text)), 1 + n % 21) FROM generate_series(1, 300) AS n
			 UNION ALL SELECT left(upper(md5(n::text)), 21) FROM generate_series(1, 300) AS n) AS t
	   WHERE NOT ar.is_valid_creditor_ref(ar.make_creditor_ref(p)::text)
		  OR substr(ar.make_creditor_ref(p)::text, 5) <> pg_temp.compact(p)
		  OR ar.make_creditor_ref(p) <> ar.make_creditor_ref(p)::text::ar.creditor_ref $$,
	'make_creditor_ref() builds valid references that keep their payload');
SELECT is_empty(
	$$ SELECT s, w FROM (SELECT ar.make_creditor_ref(p)::text AS s
						 FROM (VALUES ('539007547034'), ('INV2024000123'), ('A1B2C3D4E5F6G7H8I9J0K')) AS t(p)) AS o,
		 generate_series(1, length(s)) AS i,
		 regexp_split_to_table('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') AS r,
		 LATERAL (SELECT overlay(s PLACING r FROM i FOR 1)) AS m(w)
	   WHERE r <> substr(s, i, 1) AND (r ~ '[0-9]') = (substr(s, i, 1) ~ '[0-9]')
		 AND ar.is_valid_creditor_ref(w) $$,
	'every single-character substitution of a creditor reference is refused');
SELECT throws_ok($$ SELECT 'RF18 5390 0754 7035'::ar.creditor_ref $$, '22P02',
				 'invalid creditor reference: "RF18 5390 0754 7035"', 'bad creditor reference check digits');
SELECT throws_ok($$ SELECT 'XX18539007547034'::ar.creditor_ref $$, '22P02',
				 'invalid creditor reference: "XX18539007547034"', 'creditor reference without RF');
SELECT throws_ok($$ SELECT 'RF40 1234 5678 9012 3456 7890 12'::ar.creditor_ref $$, '22P02',
				 NULL, 'creditor reference longer than 25 characters');
SELECT throws_ok($$ SELECT ''::ar.creditor_ref $$, '22P02', NULL, 'empty creditor reference');
SELECT throws_ok($$ SELECT ar.make_creditor_ref('') $$, '22023',
				 'invalid creditor reference payload: ""', 'empty payload');
SELECT throws_ok($$ SELECT ar.make_creditor_ref('1234567890123456789012') $$, '22023',
				 'invalid creditor reference payload: "1234567890123456789012"', 'payload of 22 characters');
SELECT throws_ok($$ SELECT ar.make_creditor_ref('INV/2024/1') $$, '22023',
				 'invalid creditor reference payload: "INV/2024/1"', 'payload with a slash');
SELECT is(ar.is_valid_creditor_ref('RF18539007547035'), false, 'ar.is_valid_creditor_ref() is false, not an error');

SELECT * FROM finish();
ROLLBACK;
