-- The letters step of ar.run_dunning (issue 17): ar._dunning_letter renders
-- a template with one notice's values in C, as the run composed them in SQL
-- before (ar.render_template over ar.dunning_placeholders() and an array of
-- formatted values).  Compared with that composition, kept here as the
-- reference, on notices varied in every value the letter prints.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(9);
SET client_min_messages = error;

-- the SQL composition the run used before, value for value
CREATE FUNCTION pg_temp.ref(tpl text, lang text, cur text, as_of date, cname text, ccode text, coname text, iban text,
                            lines ar._dunning_lines, wide boolean, credits numeric, dlabel text, cnt bigint,
                            amount_due numeric, interest numeric, indemnity numeric, penalties numeric, unknown text,
                            fee numeric, reply_by date, reply_days integer, dates text[], word_and text, level integer,
                            level_name text, sender text, legal text, caddr text, terms text, recent ar._dunning_lines,
                            heading text, law text)
RETURNS text LANGUAGE sql AS $$
	SELECT ar.render_template(tpl, ar.dunning_placeholders(), ARRAY[
	        cname, ccode, coname, iban, ar.format_date(as_of, lang),
	        CASE WHEN d.deduction IS NULL THEN ar._invoice_table(lines, cur, lang, wide)
	             ELSE ar._invoice_table(lines, cur, lang, wide) || d.deduction END,
	        cnt::text, ar.format_money(amount_due, cur, lang), cur::text,
	        coalesce(ar.format_money(interest, cur, lang), unknown),
	        coalesce(ar.format_money(indemnity, cur, lang), unknown),
	        coalesce(ar.format_money(penalties, cur, lang), unknown),
	        ar.format_money(amount_due + coalesce(penalties, 0), cur, lang),
	        ar.format_money(fee, cur, lang), ar.format_date(reply_by, lang), reply_days::text,
	        CASE WHEN cardinality(dates) > 1
	             THEN array_to_string(dates[1:cardinality(dates) - 1], ', ') || word_and || dates[cardinality(dates)]
	             ELSE coalesce(dates[1], '') END,
	        level::text, level_name, sender, legal, caddr, terms,
	        CASE WHEN cardinality(ar._line_ids(recent)) > 0
	             THEN E'\n' || heading || E'\n\n' || ar._invoice_table(recent, cur, lang, wide) || E'\n'
	             ELSE '' END,
	        law])
	  FROM (SELECT CASE WHEN credits > 0 THEN E'\n' || dlabel || ar.format_money(-credits, cur, lang) END AS deduction) d
$$;

-- templates: every placeholder (with unknown ones, an unclosed and a
-- doubled brace), a subject, a letter stating the terms, none at all
CREATE TEMP TABLE tpl AS
SELECT * FROM (VALUES
	(1, (SELECT string_agg(format('%s: {{%s}}', p, p), E'\n' ORDER BY o) FROM unnest(ar.dunning_placeholders()) WITH ORDINALITY u(p, o))
	    || E'\n{{unknown}} {{Level}} {{ level}} {{{level}}} {{level}'),
	(2, 'Rappel n°{{level}} : {{amount_due}} ({{customer_code}})'),
	(3, E'Madame, Monsieur,\n{{customer_address}}\n{{invoice_table}}{{recent_invoices}}\n{{penalty_terms}}\n{{notice_law}}\n{{sender_legal}}'),
	(4, 'Plain text, no placeholder {{ at all'),
	(5, NULL)) t(tid, template);

-- notices: languages, credits set off (or not), penalties not computed,
-- earlier dates (none, one, several, a missing "and"), recent invoices in
-- a table of their own (none, empty, some), values missing
CREATE TEMP TABLE notice AS
SELECT g AS nid, lang, cur,
       DATE '2026-03-01' + g AS as_of, 'Client ' || g || ' SARL' AS cname, 'C' || g AS ccode, 'Dupont SAS' AS coname,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'FR76 3000 6000 0112 3456 7890 189' END AS iban,
       CASE WHEN g % 11 = 0 THEN NULL
            WHEN g % 5 = 0 THEN '{}'::ar._dunning_lines
            ELSE '{(2,"F-2",2026-01-05,20,1,1234.50,1000.00,3.21,40.00)(1,"F-10",2026-02-01,-3,1,5.00,5.00,,)(3,"F-300000",2025-12-24,97,2,1234567.89,1234567.89,,40.00)}'::ar._dunning_lines END AS lines,
       CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END AS wide,
       CASE g % 4 WHEN 0 THEN 0 WHEN 1 THEN 250.5 WHEN 2 THEN 1005 END::numeric AS credits,
       CASE WHEN g % 13 = 0 THEN NULL ELSE 'Avoir déduit : ' END AS dlabel,
       g::bigint * 1000000000 AS cnt, 1234567.895 - g AS amount_due,
       CASE WHEN g % 2 = 0 THEN NULL ELSE 12.345 * g END AS interest, CASE WHEN g % 2 = 0 THEN NULL ELSE 40 END::numeric AS indemnity,
       CASE WHEN g % 2 = 0 THEN NULL ELSE -0.005 * g END AS penalties, CASE WHEN g % 9 = 0 THEN NULL ELSE 'non calculé' END AS unknown,
       CASE WHEN g % 6 = 0 THEN NULL ELSE 15 * g END::numeric AS fee,
       CASE WHEN g % 8 = 0 THEN NULL ELSE DATE '2026-03-16' + g END AS reply_by, CASE WHEN g % 8 = 0 THEN NULL ELSE 15 END AS reply_days,
       CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN ARRAY['1er mars 2026'] WHEN 2 THEN ARRAY['1 March 2026', '2 April 2026']
                  WHEN 3 THEN ARRAY['a', NULL, 'c', 'd'] ELSE '{}' END AS dates,
       CASE WHEN g % 10 = 7 THEN NULL ELSE ' et ' END AS word_and,
       CASE WHEN g % 12 = 0 THEN NULL ELSE g % 4 END AS level, 'Relance ' || g AS level_name,
       E'Dupont SAS\n12 rue de la République' AS sender, CASE WHEN g % 3 = 0 THEN NULL ELSE 'SAS au capital de 150 000 €' END AS legal,
       CASE WHEN g % 4 = 3 THEN NULL ELSE E'M. Martin\n1 rue X\n75001 Paris' END AS caddr,
       CASE WHEN g % 5 = 4 THEN NULL ELSE 'Intérêts au taux de 12,15 %' END AS terms,
       CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN '{}'::ar._dunning_lines
                  ELSE '{(7,"R-7",2026-03-20,0,0,99.99,99.99,,)}'::ar._dunning_lines END AS recent,
       CASE WHEN g % 10 = 3 THEN NULL ELSE 'Factures récentes' END AS heading,
       CASE WHEN g % 3 = 2 THEN NULL ELSE 'Article L441-10' END AS law
  FROM generate_series(1, 120) g
 CROSS JOIN LATERAL (SELECT (ARRAY['fr', 'en', 'de', 'de-CH', 'FR_be', 'it', NULL])[1 + g % 7] AS lang,
                            CASE WHEN g % 17 = 0 THEN NULL ELSE (ARRAY['EUR', 'CHF', 'USD'])[1 + g % 3] END AS cur) l;

CREATE TEMP TABLE rendered AS
SELECT t.tid, n.nid,
       ar._dunning_letter(t.template, n.lang, n.cur, n.as_of, n.cname, n.ccode, n.coname, n.iban, n.lines, n.wide, n.credits,
                          n.dlabel, n.cnt, n.amount_due, n.interest, n.indemnity, n.penalties, n.unknown, n.fee, n.reply_by,
                          n.reply_days, n.dates, n.word_and, n.level, n.level_name, n.sender, n.legal, n.caddr, n.terms,
                          n.recent, n.heading, n.law) AS c,
       pg_temp.ref(t.template, n.lang, n.cur, n.as_of, n.cname, n.ccode, n.coname, n.iban, n.lines, n.wide, n.credits,
                   n.dlabel, n.cnt, n.amount_due, n.interest, n.indemnity, n.penalties, n.unknown, n.fee, n.reply_by,
                   n.reply_days, n.dates, n.word_and, n.level, n.level_name, n.sender, n.legal, n.caddr, n.terms,
                   n.recent, n.heading, n.law) AS sql
  FROM tpl t CROSS JOIN notice n;

SELECT is((SELECT count(*) FROM rendered WHERE c IS DISTINCT FROM sql AND tid = 1), 0::bigint,
          'every placeholder as the SQL composition rendered it, on 120 varied notices');
SELECT is((SELECT count(*) FROM rendered WHERE c IS DISTINCT FROM sql AND tid = 2), 0::bigint, 'a subject');
SELECT is((SELECT count(*) FROM rendered WHERE c IS DISTINCT FROM sql AND tid = 3), 0::bigint,
          'a letter with the address, the tables, the terms and the law');
SELECT is((SELECT count(*) FROM rendered WHERE c IS DISTINCT FROM sql AND tid IN (4, 5)), 0::bigint,
          'no placeholder: the template itself; no template: NULL');
-- (the comparison covers what it should: the cases that print each part)
SELECT ok((SELECT count(DISTINCT c) FROM rendered WHERE tid = 1) = 120
          AND (SELECT bool_and(c LIKE '%Avoir déduit : -250,50%') FROM rendered r JOIN notice n USING (nid)
                WHERE tid = 1 AND n.lang = 'fr' AND n.credits = 250.5 AND n.lines::text <> '{}' AND n.dlabel IS NOT NULL AND n.cur IS NOT NULL)
          AND EXISTS (SELECT FROM rendered WHERE tid = 1 AND c LIKE '%previous_notices: a, c et d%')
          AND EXISTS (SELECT FROM rendered WHERE tid = 1 AND c LIKE '%R-7%' AND c LIKE '%Factures récentes%')
          AND EXISTS (SELECT FROM rendered WHERE tid = 1 AND c LIKE '%interest: non calculé%'),
          'the notices vary: a deduction line, earlier dates joined, recent invoices, figures not computed');

-- the names known in C are ar.dunning_placeholders(), in its order
SELECT is(ar._dunning_letter((SELECT string_agg('{{' || p || '}}', '|') FROM unnest(ar.dunning_placeholders()) p),
                             'en', 'EUR', '2026-03-01', 'n', 'c', 'co', 'ib', '{}', false, 0, 'd', 3, 10, 1, 2, 3, 'u', 4,
                             '2026-03-15', 14, ARRAY['x', 'y'], ' and ', 2, 'ln', 'sa', 'sl', 'ca', 'pt', NULL, 'rh', 'nl'),
          E'n|c|co|ib|1 March 2026|Invoice  Due date  Amount  Outstanding  Days late\n'
          || repeat('-', 49) || '|3|10.00 EUR|EUR|1.00 EUR|2.00 EUR|3.00 EUR|13.00 EUR|'
          || '4.00 EUR|15 March 2026|14|x and y|2|ln|sa|sl|ca|pt||nl',
          'each placeholder of ar.dunning_placeholders() gets its value');
SELECT is(cardinality(ar.dunning_placeholders()), 25, 'the 25 placeholders known in C');

-- a run's notices: rendered by the new function, as the letters tests check
-- them in detail (test/pgtap/letters.sql); here the call is the run's
SELECT ok(position('ar._dunning_letter(t.body' IN pg_get_functiondef('ar._run_dunning_company'::regproc)) > 0,
          'the run renders its letters with ar._dunning_letter');
SELECT throws_ok($$SELECT ar._dunning_letter('{{previous_notices}}', 'en', 'EUR', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                              NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{{a,b},{c,d}}', ' and ',
                                              NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
                 '2202E', 'previous dates must be a one-dimensional array, not 2-dimensional',
                 'earlier dates in two dimensions are refused');

SELECT * FROM finish();
ROLLBACK;
