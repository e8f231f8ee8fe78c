-- The caller's settings do not change what a function of ar does
-- (doc/security.md, "The caller's session").  SQL and PL/pgSQL bodies are
-- parsed at run time under the caller's standard_conforming_strings: a
-- backslash in a plain '...' literal means another string when it is off
-- (before 0.2.0's fix ar._check_header_text's '[\x01-...\x9f...]' became
-- bytes that are not UTF-8, and ar.export_journal and
-- ar.collect_direct_debits failed).  Read from the catalog: no body has
-- one (E'...' with doubled backslashes means the same under both).  And
-- dates in messages and texts written by the main functions are ISO
-- whatever the caller's DateStyle (the warnings: test/sql/caller_settings.sql).
BEGIN;
-- (the install script too: its constraints and views; before the fix
-- CREATE EXTENSION failed under off, and this file with it)
SET LOCAL standard_conforming_strings = off;
CREATE EXTENSION ar_collect;
SET LOCAL standard_conforming_strings = on;
SELECT plan(23);

-- The plain (non-E) string literals with a backslash of a body: comments,
-- quoted identifiers and dollar-quoted strings skipped, '' inside a
-- literal, and a literal continued on the next line ('a'
-- 'b') in the mode of its first part.
CREATE FUNCTION pg_temp.backslash_literals(src text) RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
	n constant integer := length(src);
	i integer := 1;
	j integer;
	c text;
	tag text;
	escaped boolean;
	lit text;
	depth integer;
BEGIN
	WHILE i <= n LOOP
		c := substr(src, i, 1);
		IF substr(src, i, 2) = '--' THEN
			j := strpos(substr(src, i), chr(10));
			i := CASE WHEN j = 0 THEN n + 1 ELSE i + j END;
		ELSIF substr(src, i, 2) = '/*' THEN
			depth := 1; i := i + 2;  -- (block comments nest)
			WHILE i <= n AND depth > 0 LOOP
				IF substr(src, i, 2) = '/*' THEN depth := depth + 1; i := i + 2;
				ELSIF substr(src, i, 2) = '*/' THEN depth := depth - 1; i := i + 2;
				ELSE i := i + 1;
				END IF;
			END LOOP;
		ELSIF c = '"' THEN
			j := strpos(substr(src, i + 1), '"');
			i := CASE WHEN j = 0 THEN n + 1 ELSE i + j + 1 END;
		ELSIF c = '$' AND substr(src, i) ~ E'^\\$([A-Za-z_][A-Za-z_0-9]*)?\\$'
		      AND (i = 1 OR substr(src, i - 1, 1) !~ '[A-Za-z_0-9]') THEN
			tag := substring(substr(src, i) FROM E'^(\\$(?:[A-Za-z_][A-Za-z_0-9]*)?\\$)');
			j := strpos(substr(src, i + length(tag)), tag);
			i := CASE WHEN j = 0 THEN n + 1 ELSE i + 2 * length(tag) + j - 1 END;
		ELSIF c = '''' THEN
			escaped := i > 1 AND substr(src, i - 1, 1) IN ('E', 'e')
			           AND (i = 2 OR substr(src, i - 2, 1) !~ '[A-Za-z_0-9$]');
			lit := '';
			LOOP
				i := i + 1;
				WHILE i <= n LOOP
					c := substr(src, i, 1);
					IF c = '''' AND substr(src, i + 1, 1) = '''' THEN lit := lit || ''''''; i := i + 2;
					ELSIF c = '''' THEN EXIT;
					ELSIF c = chr(92) AND escaped THEN lit := lit || substr(src, i, 2); i := i + 2;
					ELSE lit := lit || c; i := i + 1;
					END IF;
				END LOOP;
				i := i + 1;
				j := length(substring(substr(src, i) FROM E'^([ \\t\\f\\r]*\\n[ \\t\\n\\f\\r]*)'''));
				EXIT WHEN j IS NULL;
				i := i + j;
			END LOOP;
			IF NOT escaped AND strpos(lit, chr(92)) > 0 THEN
				RETURN NEXT '''' || lit || '''';
			END IF;
		ELSE
			i := i + 1;
		END IF;
	END LOOP;
END
$f$;

-- (the scan itself)
SELECT is(ARRAY(SELECT pg_temp.backslash_literals(s) FROM (VALUES
	($s$a ~ '\s' AND b ~ E'\\s' AND c = 'it''s \' -- '\x'
	AND d = $q$'\'$q$ AND "x'\" = 'y' /* '\d' /* '\e' */ */ AND 'f'
	'\g' AND E'h'
	'\\i' AND e'\'' AND 'j\'$s$)) v(s)),
	ARRAY[$l$'\s'$l$, $l$'it''s \'$l$, $l$'f\g'$l$, $l$'j\'$l$],
	'the scan finds the plain literals with a backslash, not E''...'', comments or dollar quotes');
SELECT is(ARRAY(SELECT f.oid::regprocedure::text || ': ' || left(l, 60)
                  FROM pg_proc f JOIN pg_language g ON g.oid = f.prolang, pg_temp.backslash_literals(f.prosrc) l
                 WHERE f.pronamespace = 'ar'::regnamespace AND g.lanname IN ('sql', 'plpgsql')
                 ORDER BY 1),
	'{}'::text[], 'no SQL or PL/pgSQL function of ar has a backslash in a plain string literal');

-- ---------------------------------------------------------------- set-up
UPDATE ar.company SET siren = '123456782' WHERE is_default;
INSERT INTO ar.customer (code, name) VALUES ('CS-1', 'Alpha SA'), ('CS-2', 'Dupont');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, v.issued::date, v.due::date, v.amount
  FROM (VALUES ('CS-1', 'CS-F1', '2025-01-02', '2025-01-31', 1200.00),
               ('CS-2', 'CS-F2', '2026-01-05', '2026-02-01', 100.00)) v(code, number, issued, due, amount)
  JOIN ar.customer c ON c.code = v.code;
SELECT ar.record_payment('CS-F1', 1250.00, '2025-01-20');
SELECT ar.set_sepa_creditor('DEFAULT', 'ACME', 'DE98ZZZ09999999999', 'FR7630006000011234567890189', 'AGRIFRPP');
SELECT ar.create_sepa_mandate(c.id, 'UMR-0001', '2025-12-01', 'Jean Dupont', 'FR1420041010050500013M02606')
  FROM ar.customer c WHERE c.code = 'CS-2';

-- what a statement returns, and then another (its file), or the error;
-- rolled back: once with the setting off, then on
CREATE FUNCTION pg_temp.attempt(q text, then_q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	r text;
	r2 text;
BEGIN
	BEGIN
		EXECUTE q INTO r;
		IF then_q IS NOT NULL THEN
			EXECUTE then_q INTO r2;
		END IF;
		RAISE EXCEPTION USING ERRCODE = 'P0099', MESSAGE = 'ok: ' || coalesce(r, 'NULL') || coalesce(' ' || r2, '');
	EXCEPTION WHEN OTHERS THEN
		RETURN CASE WHEN SQLSTATE = 'P0099' THEN SQLERRM ELSE 'error ' || SQLSTATE || ': ' || SQLERRM END;
	END;
END
$f$;
CREATE TEMP TABLE run (setting text, what text, result text);
CREATE TEMP TABLE call (what text, q text, then_q text);
INSERT INTO call VALUES
	('export_journal', $$SELECT row(e.period_from, e.period_to, e.entry_count, e.total_debit, e.total_credit)::text
	                       FROM ar.export_journal('DEFAULT', '2025-01-01', '2025-01-31') e$$,
	                   $$SELECT ar.fec_file(max(x.id)) FROM ar.accounting_export x$$),
	-- (the end-to-end ids number the collections: a sequence)
	('collect_direct_debits', $$SELECT regexp_replace(ar.collect_direct_debits('2026-02-28', NULL, NULL, 'pain.008.001.02', 'MSG-1',
	                                                                           '2026-03-02 10:00+00')::text,
	                                                  '<EndToEndId>[^<]*', '<EndToEndId>')$$, NULL),
	('_check_header_text', $$SELECT ar._check_header_text('name', 'Zoë', 10)::text$$, NULL),
	('_check_header_text refusal', $$SELECT ar._check_header_text('name', 'Zo' || chr(159), 10)::text$$, NULL),
	('is_valid_email', $$SELECT ar.is_valid_email('zoë@exemple.fr')::text$$, NULL),
	('_visible', $$SELECT ar._visible('a' || chr(10) || 'b')$$, NULL),
	('template_placeholders', $$SELECT ar.template_placeholders('{{a}} {{b}}')::text$$, NULL),
	('sepa_transliterate', $$SELECT ar.sepa_transliterate('Zoë Ærø')$$, NULL),
	('_fec_text', $$SELECT ar._fec_text('a|b' || chr(9) || ' c')$$, NULL);
SET LOCAL standard_conforming_strings = off;
INSERT INTO run SELECT 'off', c.what, pg_temp.attempt(c.q, c.then_q) FROM call c;
SET LOCAL standard_conforming_strings = on;
INSERT INTO run SELECT 'on', c.what, pg_temp.attempt(c.q, c.then_q) FROM call c;

SELECT alike((SELECT result FROM run WHERE setting = 'on' AND what = 'export_journal'), 'ok: (2025-01-01,2025-01-31,2,1250.00,1250.00) JournalCode|%',
	'(an export of January)');
SELECT alike((SELECT result FROM run WHERE setting = 'on' AND what = 'collect_direct_debits'), 'ok: <Document%',
	'(a collection)');
SELECT is((SELECT result FROM run WHERE setting = 'on' AND what = '_check_header_text refusal'),
	'error 22023: name: "Zo\u009f" contains a control character', '(a control character refused)');
SELECT is(o.result, n.result, 'standard_conforming_strings off: ' || o.what || ' does the same as with on')
  FROM run o JOIN run n ON n.what = o.what AND n.setting = 'on'
 WHERE o.setting = 'off' ORDER BY o.what;

-- -------------------------------------------------------------- DateStyle
-- (the dates of messages and texts are ISO; the caller's DateStyle
-- remains its own: a date it reads back is in its style)
SET LOCAL DateStyle = 'SQL, DMY';
SELECT throws_ok($$SELECT ar.collect_direct_debits('2026-02-28', NULL, '2026-04-06', 'pain.008.001.02', 'MSG-2', '2026-03-02 10:00+00')$$,
	'22023', 'collection date 2026-04-06 is not a TARGET2 business day',
	'DateStyle SQL, DMY: the refused collection date is ISO');
SELECT throws_ok($$SELECT ar.promise_to_pay(i.id, '2026-03-01', 10.00, '2026-03-05') FROM ar.invoice i WHERE i.number = 'CS-F2'$$,
	'22023', 'a promise made on 2026-03-05 cannot be for 2026-03-01', 'and the dates of a refused promise');
SELECT ar.export_journal('DEFAULT', '2025-01-01', '2025-01-31') IS NOT NULL;
SELECT throws_ok($$SELECT ar.export_journal('DEFAULT', '2025-03-01', '2025-03-31')$$, '55000',
	'the export of company "DEFAULT" must start on 2025-02-01, the day after its last export (2025-01-01 .. 2025-01-31)',
	'and those of an export out of sequence');
SELECT throws_ok($$SELECT ar.create_payment_plan(i.customer_id, ARRAY[i.id], ARRAY['2026-03-01', '2026-02-01']::date[])
                     FROM ar.invoice i WHERE i.number = 'CS-F2'$$,
	'22023', 'instalment 2 is due on 2026-02-01, not after instalment 1 (2026-03-01)', 'and those of a refused payment plan');
SELECT ar.promise_to_pay(i.id, '2026-03-20', 10.00, '2026-03-05') IS NOT NULL FROM ar.invoice i WHERE i.number = 'CS-F2';
SELECT ar.block_dunning(c.id, u, 'negotiating', '2026-03-10') IS NOT NULL
  FROM ar.customer c, unnest(ARRAY['2026-03-31', 'infinity']::date[]) u WHERE c.code = 'CS-2';
SELECT results_eq($$SELECT m.summary FROM ar.communication m ORDER BY m.id$$,
	ARRAY['Promise to pay 10.00 EUR on invoice CS-F2 by 2026-03-20', 'Dunning blocked from 2026-03-10 until 2026-03-31: negotiating',
	      'Dunning blocked from 2026-03-10 until infinity: negotiating'],
	'the dates of the texts written (a promise, blocks) are ISO');
SELECT is(ar.check_payment_terms('2026-01-05', '2026-01-01'), 'due date 2026-01-01 is before the issue date 2026-01-05',
	'the dates of a payment-terms violation are ISO');
SELECT ok(ar.check_payment_terms('2026-01-05', '2026-06-30') LIKE '%(issued 2026-01-05, due 2026-06-30)%latest lawful due date 2026-03-17',
	'... those of an excessive term too');
SELECT throws_like($$SELECT ar.bill_penalty(i.id, '2026-03-05') FROM ar.invoice i WHERE i.number = 'CS-F2'$$,
	'invoice CS-F2 is still open on 2026-03-05%', 'and the date of a penalty not billed yet');
SELECT is(current_date::text ~ '^[0-9]{2}/', true, '(the caller''s own dates in its style)');
RESET DateStyle;

SELECT * FROM finish();
ROLLBACK;
