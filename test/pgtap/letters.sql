-- Letters (issue 13): each penalty regime states its own law with the
-- numeric rates applied and its fixed indemnity, in French, English and
-- German; a language without templates falls back to the company's, and
-- the run reports it; the sender's identity (validated SIREN, SIRET, VAT
-- number, share capital) and the customer's address are printed; a missing
-- reference rate still lets the letter state the indemnity, and is listed;
-- the courtesy reminder lists only invoices not yet due; a notice at level
-- 3 or more puts the invoices never reminded before in a section of their
-- own (or leaves them out).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(77);
SET client_min_messages = error;

-- ------------------------------------------------------------ sender identity
SELECT throws_ok($$UPDATE ar.company SET siren = '552 100 553' WHERE is_default$$, '23514',
                 'SIREN "552100553" of company DEFAULT is not valid', 'a SIREN failing the Luhn check is refused, named');
SELECT throws_ok($$UPDATE ar.company SET siren = '55210055' WHERE is_default$$, '23514',
                 'SIREN "55210055" of company DEFAULT is not valid', 'a SIREN of 8 digits is refused');
SELECT throws_ok($$UPDATE ar.company SET siret = '552 100 554 00014' WHERE is_default$$, '23514',
                 'SIRET "55210055400014" of company DEFAULT is not valid', 'a SIRET failing the Luhn check is refused');
SELECT throws_ok($$UPDATE ar.company SET siren = '552100554', siret = '73282932000074' WHERE is_default$$, '23514',
                 'SIRET "73282932000074" of company DEFAULT does not start with its SIREN "552100554"',
                 'a SIRET of another SIREN is refused');
SELECT throws_ok($$UPDATE ar.company SET vat_number = 'FR 12 552100554' WHERE is_default$$, '23514',
                 'VAT number "FR12552100554" of company DEFAULT is not valid', 'a French VAT number with a wrong key is refused');
SELECT throws_ok($$UPDATE ar.company SET siren = '552100554', vat_number = 'FR40303265045' WHERE is_default$$, '23514',
                 'VAT number "FR40303265045" of company DEFAULT is not the one of its SIREN "552100554"',
                 'a valid VAT number of another SIREN is refused');
SELECT throws_ok($$UPDATE ar.company SET legal_form = 'SAS' WHERE is_default$$, '23502',
                 'share capital of company DEFAULT is required: a SAS prints it on its letters',
                 'a SAS without its share capital is refused');
SELECT is(ar.fr_vat_number('552100554'), 'FR96552100554', 'the French VAT number of a SIREN: key (12 + 3 x (SIREN mod 97)) mod 97');
SELECT ok(ar.siren_valid('732829320') AND ar.siret_valid('73282932000074') AND NOT ar.siren_valid('732829321'),
          'SIREN and SIRET Luhn checks');

UPDATE ar.company
   SET name = 'Dupont', legal_name = 'Distribution Dupont SAS', legal_form = 'SAS', share_capital = 150000,
       address_line1 = '12 rue de la République', postcode = '69002', city = 'Lyon', siret = '552 100 554 00013',
       rcs_city = 'Lyon', vat_number = 'fr 96 552 100 554', email = 'compta@dupont.example', phone = '+33 4 72 00 00 00',
       iban = 'FR7630006000011234567890189'
 WHERE is_default;
SELECT is((SELECT row(siren, siret, vat_number)::text FROM ar.company WHERE is_default),
          '(552100554,55210055400013,FR96552100554)', 'identifiers are stored compact, the SIREN taken from the SIRET');

-- ------------------------------------------------------------ a customer per regime
INSERT INTO ar.customer (code, name, email, language, country, penalty_regime, penalty_rate, address_line1, postcode, city) VALUES
	('LT-FR', 'Boulangerie Martin SARL', 'martin@example.com', 'fr', 'FR', NULL, NULL, '3 place Bellecour', '69002', 'Lyon'),
	('LT-EN', 'Smith Trading', 'smith@example.com', 'en', 'FR', NULL, NULL, '8 rue de Rivoli', '75004', 'Paris'),
	('LT-DE', 'Müller GmbH', 'mueller@example.com', 'de', 'DE', 'DE_B2B', NULL, 'Hauptstraße 5', '10115', 'Berlin'),
	('LT-DC', 'Erika Schmidt', 'schmidt@example.com', 'de', 'DE', 'DE_B2C', NULL, 'Lindenweg 2', '80331', 'München'),
	('LT-UK', 'Acme Ltd', 'acme@example.com', 'en', 'GB', 'UK_LPA', NULL, '1 High Street', 'EC1A 1BB', 'London'),
	('LT-PB', 'Commune de Villeurbanne', 'mairie@example.com', 'fr', 'FR', 'FR_PUBLIC', NULL, 'Place Lazare-Goujon', '69100', 'Villeurbanne'),
	('LT-EU', 'Rossi SpA', 'rossi@example.com', 'en', 'IT', 'EU_2011_7', NULL, 'Via Roma 1', '00184', 'Roma'),
	('LT-CT', 'Garage Durand', 'durand@example.com', 'fr', 'FR', 'CONTRACT', 12, '5 rue Pasteur', '69007', 'Lyon'),
	('LT-ES', 'García SL', 'garcia@example.com', 'es', 'ES', NULL, NULL, 'Calle Mayor 1', '28013', 'Madrid');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT id, 'LI-' || code, '2025-10-01', '2025-11-15', 5000, CASE WHEN code = 'LT-UK' THEN 'GBP' ELSE 'EUR' END
  FROM ar.customer WHERE code LIKE 'LT-%';
-- LT-FR: an invoice due just before the formal notice, never reminded
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'LR-FR', '2025-11-01', '2025-12-10', 800 FROM ar.customer WHERE code = 'LT-FR';

SELECT count(*) FROM generate_series(DATE '2025-11-10', DATE '2025-12-14', interval '1 day') d, ar.run_dunning(d::date);

-- credits set off on a notice that leaves the invoices never reminded
-- before out (tried in dry runs, then rolled back): LT-FR owes 5,000 reminded
-- and 800 never reminded
SAVEPOINT lt_credits;
UPDATE ar.dunning_level SET recent_invoices = 'exclude' WHERE level = 3;
INSERT INTO ar.customer_credit (customer_id, amount, source, created_on, note)
SELECT id, 300.00, 'manual', '2025-12-01', 'commercial gesture' FROM ar.customer WHERE code = 'LT-FR';
SELECT n.amount_due AS lt_part_due, n.credits_set_off AS lt_part_credits,
       (SELECT i.id FROM ar.invoice i WHERE i.number = 'LR-FR') = ANY (n.invoice_ids) AS lt_part_recent,
       translate(n.body, U&'\00A0', ' ') ~ E'\nAvoirs et paiements non affectés : -300,00 EUR\n' AS lt_part_line
  FROM ar.run_dunning('2025-12-15', true) n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'LT-FR' \gset
-- the deduction's words are a letter text (credits.deduction): the user's replaces the shipped one
INSERT INTO ar.letter_text (key, language, text) VALUES ('credits.deduction', 'fr', 'Déjà réglé par avoir : ');
SELECT translate(n.body, U&'\00A0', ' ') ~ E'\nDéjà réglé par avoir : -300,00 EUR\n' AS lt_own_words
  FROM ar.run_dunning('2025-12-15', true) n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'LT-FR' \gset
-- credits of 5,500: 300 left of the 5,800 decided on, nothing of the 5,000 claimed
INSERT INTO ar.customer_credit (customer_id, amount, source, created_on, note)
SELECT id, 5200.00, 'manual', '2025-12-01', 'credit note' FROM ar.customer WHERE code = 'LT-FR';
SELECT count(*) AS lt_capped,
       (SELECT count(*) FROM ar.run_dunning('2025-12-15', true) n WHERE n.amount_due <= 0) AS lt_zero
  FROM ar.run_dunning('2025-12-15', true) n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'LT-FR' \gset
ROLLBACK TO SAVEPOINT lt_credits;
SELECT is(:'lt_part_due'::numeric, 4700.00, 'recent invoices excluded, credits set off: the notice claims the 5,000 reminded less 300');
SELECT is(:'lt_part_credits'::numeric, 300.00, 'and states the 300 set off');
SELECT ok(NOT :'lt_part_recent'::boolean AND :'lt_part_line'::boolean,
          'without the invoice never reminded, with the deduction under the invoice table');
SELECT ok(:'lt_own_words'::boolean, 'the deduction is worded by the letter text credits.deduction, the user''s first');
SELECT is(:lt_capped::int, 0,
          'credits covering what is left once the recent invoices are excluded: no notice (not one claiming nothing)');
SELECT is(:lt_zero::int, 0, 'no notice claims zero');

-- the invoices never reminded before: left out when the level says so
UPDATE ar.dunning_level SET recent_invoices = 'exclude' WHERE level = 3;
CREATE TEMP TABLE lt_excluded AS SELECT * FROM ar.run_dunning('2025-12-15', true);
UPDATE ar.dunning_level SET recent_invoices = NULL WHERE level = 3;
-- the terms a run's letters state are made by the run at once (step K0),
-- not per letter: each letter's as ar.penalty_terms states them called on
-- its own (every regime of this ledger: French, German, EU, contractual)
CREATE TEMP TABLE lt_k0 AS
SELECT n.*, ar.penalty_terms(n.invoice_ids, n.as_of, n.language, n.company_id) AS terms
  FROM ar.run_dunning('2025-12-15', true) n;
SELECT count(*) FROM ar.run_dunning('2025-12-15');
-- (no-break spaces, as French and German letters print them, read as spaces)
CREATE TEMP VIEW lt_letter AS
SELECT c.code, n.id, n.subject, translate(n.body, U&'\00A0', ' ') AS body, n.language, n.invoice_ids, n.amount_due,
       n.indemnity
  FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id WHERE n.level = 3;

SELECT is((SELECT count(*)::int FROM lt_letter), 9, 'every customer got its final reminder (level 3) on 2025-12-15');

-- ------------------------------------------------------------ the law and the rates of each regime
SELECT ok((SELECT body ~ 'L441-10' AND body ~ 'taux BCE 2,15 % \+ 10 points = 12,15 %' AND body ~ 'D441-5'
                  AND body ~ '40,00 EUR par facture' FROM lt_letter WHERE code = 'LT-FR'),
          'FR_LME, French: L441-10, taux BCE 2,15 % + 10 points = 12,15 %, 40 EUR (D441-5)');
SELECT ok((SELECT body ~ 'Article L441-10' AND body ~ 'ECB rate 2\.15 % \+ 10 points = 12\.15 %'
                  AND body ~ '40\.00 EUR per invoice' FROM lt_letter WHERE code = 'LT-EN'),
          'FR_LME, English: ECB rate 2.15 % + 10 points = 12.15 %, 40 EUR');
SELECT ok((SELECT language = 'de' AND body ~ '§ 288 Abs\. 2 BGB' AND body ~ 'Basiszinssatz 1,27 % \+ 9 Prozentpunkte = 10,27 %'
                  AND body ~ '§ 288 Abs\. 5 BGB eine Pauschale von 40,00 EUR' FROM lt_letter WHERE code = 'LT-DE'),
          'DE_B2B, German: BGB 288(2), Basiszinssatz 1,27 % + 9 Prozentpunkte = 10,27 %, Pauschale 40 EUR (288(5))');
SELECT ok((SELECT body ~ '§ 288 Abs\. 1 BGB' AND body ~ 'Basiszinssatz 1,27 % \+ 5 Prozentpunkte = 6,27 %'
                  AND body !~ 'Pauschale von' FROM lt_letter WHERE code = 'LT-DC'),
          'DE_B2C: BGB 288(1), + 5 points = 6,27 %, no Pauschale');
SELECT ok((SELECT body ~ 'Late Payment of Commercial Debts \(Interest\) Act 1998'
                  AND body ~ 'Bank of England base rate 4\.25 % \+ 8 % = 12\.25 %' AND body ~ 'section 5A'
                  AND body ~ '40\.00 GBP for a debt under 1,000\.00 GBP, 70\.00 GBP for a debt from 1,000\.00 GBP to under 10,000\.00 GBP or 100\.00 GBP'
                  AND indemnity = 70 FROM lt_letter WHERE code = 'LT-UK'),
          'UK_LPA: the 1998 Act, Bank of England base rate 4.25 % + 8 % = 12.25 %, fixed sums 40/70/100 GBP (70 charged)');
SELECT ok((SELECT body ~ 'R2192-31' AND body ~ 'taux BCE 2,15 % \+ 8 points = 10,15 %' AND body ~ 'D2192-35'
                  AND body ~ 'tribunal administratif' IS NOT TRUE FROM lt_letter WHERE code = 'LT-PB'),
          'FR_PUBLIC: Code de la commande publique R2192-31, taux BCE + 8 points = 10,15 %, D2192-35');
SELECT ok((SELECT body ~ 'Directive 2011/7/EU' AND body ~ 'ECB reference rate 2\.15 % \+ 8 points = 10\.15 %'
                  AND body ~ '\(Article 6\)' FROM lt_letter WHERE code = 'LT-EU'),
          'EU_2011_7: the directive, ECB reference rate + 8 points = 10.15 %, 40 EUR (art. 6)');
SELECT ok((SELECT body ~ 'taux contractuel de 12,00 %' AND body ~ 'trois fois le taux de l''intérêt légal'
                  AND body ~ '3 × 2,76 % = 8,28 %' FROM lt_letter WHERE code = 'LT-CT'),
          'CONTRACT: the contractual rate 12,00 %, not below 3 x the legal interest rate (3 × 2,76 % = 8,28 %)');
SELECT is_empty($$SELECT code FROM lt_letter WHERE code IN ('LT-DE', 'LT-DC', 'LT-UK', 'LT-EU')
                     AND (body ~ 'L441-10' OR body ~ 'BCE majoré' OR body ~ 'plus 10 percentage points')$$,
                'no German, UK or EU letter carries the French LME wording');
SELECT ok((SELECT translate(body, U&'\00A0', ' ') ~ 'Basiszinssatz 1,27 % \+ 9 Prozentpunkte = 10,27 %' FROM ar.dunning_notice n
             JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'LT-DE' AND n.level = 2),
          'the second reminder recalls the rate applied too');
SELECT is(translate(ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'LI-LT-FR'), '2026-02-10', 'fr'), U&'\00A0', ' '),
          'Conformément à l''article L441-10 du Code de commerce, tout retard de paiement rend exigibles de plein droit, sans qu''un rappel soit nécessaire, des pénalités de retard au taux appliqué par la Banque centrale européenne à son opération de refinancement la plus récente, en vigueur au 1er janvier ou au 1er juillet du semestre concerné, majoré de 10 points, soit : taux BCE 2,15 % + 10 points = 12,15 % (taux en vigueur au 1er juillet 2025 et 1er janvier 2026) ; ainsi qu''une indemnité forfaitaire pour frais de recouvrement de 40,00 EUR par facture (article D441-5 du même code).',
          'the clause names both half-years whose ECB rate applied');
SELECT results_eq($$SELECT reference_date, reference_rate, margin, rate FROM ar.penalty_rates_applied('FR_LME', ARRAY[DATE '2024-12-02'], '2025-02-15')$$,
                  $$VALUES (DATE '2024-07-01', 4.25, 10::numeric, 14.25), (DATE '2025-01-01', 3.15, 10, 13.15)$$,
                  'FR_LME across two half-years: 4,25 + 10 then 3,15 + 10 (the rates ar.late_penalty applies)');
SELECT results_eq($$SELECT reference_date, rate FROM ar.penalty_rates_applied('UK_LPA', ARRAY[DATE '2024-01-10'], '2024-09-01')$$,
                  $$VALUES (DATE '2023-12-31', 13.25)$$, 'UK_LPA: the base rate of 31 December before the debt became late, fixed');

-- ------------------------------------------------------------ languages
SELECT is(ar.format_money(1234.5, 'EUR', 'de'), '1.234,50 EUR', 'German amounts: 1.234,50 EUR');
SELECT is(ar.format_date('2026-03-01', 'de'), '1. März 2026', 'German dates: 1. März 2026');
SELECT is((SELECT string_agg(DISTINCT n.language, ',') FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
            WHERE c.code IN ('LT-DE', 'LT-DC')), 'de', 'customers speaking German get every letter in German');
SELECT ok((SELECT subject ~ 'Letzte Mahnung' AND body ~ 'Sehr geehrte Damen und Herren' AND body ~ 'Verzugszinsen bis zum 15\. Dezember 2025: '
             FROM lt_letter WHERE code = 'LT-DE'), 'the German final reminder');
SELECT is((SELECT string_agg(DISTINCT n.language, ',') FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
            WHERE c.code = 'LT-ES'), 'fr', 'a language without templates (es) falls back to the company''s (fr)');
SELECT is((SELECT r.report -> 'language_fallbacks' FROM ar.dunning_run r WHERE r.as_of = '2025-12-15'),
          '[{"notices": 1, "language": "es", "customers": ["LT-ES"], "written_in": "fr"}]'::jsonb,
          'and the run''s report says so');
UPDATE ar.company SET language = 'en' WHERE is_default;
SELECT is((SELECT n.language FROM ar.run_dunning('2025-12-31', true) n JOIN ar.customer c ON c.id = n.customer_id
            WHERE c.code = 'LT-ES'), 'en', 'with an English-speaking company, in English');
UPDATE ar.company SET language = 'fr' WHERE is_default;

-- ------------------------------------------------------------ sender and recipient printed
SELECT ok((SELECT body ~ E'^Distribution Dupont SAS\n12 rue de la République\n69002 Lyon\n'
                  AND body ~ 'Distribution Dupont SAS, SAS au capital de 150 000,00 EUR'
                  AND body ~ 'RCS Lyon 552 100 554' AND body ~ 'SIRET 552 100 554 00013'
                  AND body ~ 'TVA intracommunautaire FR96552100554' AND body ~ 'compta@dupont\.example'
             FROM lt_letter WHERE code = 'LT-FR'),
          'the letter prints the sender: legal name, office, share capital, RCS and SIREN, SIRET, VAT number, contact');
SELECT ok((SELECT body ~ E'\nLe service recouvrement\nDistribution Dupont SAS\n' FROM lt_letter WHERE code = 'LT-FR')
          AND (SELECT body ~ E'\nCredit control\nDistribution Dupont SAS\n' FROM lt_letter WHERE code = 'LT-EN'),
          'signed with the legal name the letterhead prints (the company''s name is Dupont)');
SELECT ok((SELECT body ~ E'Boulangerie Martin SARL\n3 place Bellecour\n69002 Lyon\nCode client : LT-FR' FROM lt_letter WHERE code = 'LT-FR'),
          'and the customer''s postal address');
SELECT ok((SELECT body ~ E'Müller GmbH\nHauptstraße 5\n10115 Berlin\nALLEMAGNE' AND body ~ 'Sitz: 12 rue de la République'
                  AND body ~ 'USt-IdNr\. FR96552100554' FROM lt_letter WHERE code = 'LT-DE'),
          'abroad, the country in the sender''s language; the legal mentions in the letter''s');
-- a reader calls ar.letter_recipient, which calls ar._letter_recipient_block
-- (first here in the session: a plan made by a superuser would have
-- inlined it unchecked)
SET LOCAL ROLE ar_reader;
SELECT coalesce(ar.letter_recipient(id, 'fr'), 'none') AS lt_reader_block FROM ar.customer WHERE code = 'LT-DE' \gset
RESET ROLE;
SELECT is(:'lt_reader_block'::text, E'Müller GmbH\nHauptstraße 5\n10115 Berlin\nALLEMAGNE',
          'a reader composes it too (ar._letter_recipient_block is granted with it)');
-- (the run composes the block from the customer row it holds: on Citus, its
-- copy on the company's node)
SELECT is((SELECT count(*)::int FROM ar.dunning_notice n
            WHERE n.level = 3 AND strpos(n.body, ar.letter_recipient(n.customer_id, n.language)) > 0), 9,
          'each final reminder prints the block ar.letter_recipient composes, abroad the country too');

-- ------------------------------------------------------------ invoices never reminded before
SELECT ok((SELECT 'LR-FR' = ANY (SELECT number FROM ar.invoice WHERE id = ANY (invoice_ids)) AND amount_due = 5800
                  AND body ~ E'Factures récemment échues, qui n''ont pas encore fait l''objet d''une relance :\n\nFacture'
                  AND body ~ E'relance :\n\n[^\n]*\n-+\nLR-FR '
             FROM lt_letter WHERE code = 'LT-FR'),
          'a final reminder lists an invoice never reminded before in a section of its own, and claims it');
SELECT ok((SELECT body !~ E'-+\nLI-LT-FR [^\n]*\nLR-FR' FROM lt_letter WHERE code = 'LT-FR'),
          'not among the invoices already reminded');
SELECT ok((SELECT NOT ((SELECT id FROM ar.invoice WHERE number = 'LR-FR') = ANY (n.invoice_ids)) AND n.amount_due = 5000
                  AND n.body !~ 'LR-FR' AND n.body !~ 'récemment échues'
             FROM lt_excluded n JOIN ar.customer c ON c.id = n.customer_id WHERE c.code = 'LT-FR'),
          'with recent_invoices = exclude, it is left out of the notice and its amounts');
SELECT is((SELECT body ~ 'récemment échues' FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
            WHERE c.code = 'LT-FR' AND n.level = 2), false, 'a second reminder lists every invoice together');

-- ------------------------------------------------------------ courtesy reminder
INSERT INTO ar.customer (code, name, email) VALUES ('LT-CY', 'Courtoisie SA', 'c@example.com'), ('LT-LATE', 'Retard SA', 'r@example.com');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, '2025-12-01', v.due, 100 FROM ar.customer c
  JOIN (VALUES ('LT-CY', 'CY-SOON', DATE '2026-01-20'), ('LT-CY', 'CY-LATE', DATE '2026-01-13'),
               ('LT-LATE', 'LATE-1', DATE '2026-01-14')) v(code, number, due) ON v.code = c.code;
CREATE TEMP TABLE lt_courtesy AS SELECT c.code, n.id, n.level, n.invoice_ids, n.amount_due, translate(n.body, U&'\00A0', ' ') AS body FROM ar.run_dunning('2026-01-15', true) n JOIN ar.customer c ON c.id = n.customer_id;
SELECT is((SELECT array_agg(i.number) FROM lt_courtesy n, unnest(n.invoice_ids) u JOIN ar.invoice i ON i.id = u
            WHERE n.code = 'LT-CY' AND n.level = 0), ARRAY['CY-SOON'],
          'a courtesy reminder lists only the invoices not yet due');
SELECT ok((SELECT amount_due = 100 AND body ~ 'arrivent prochainement à échéance' AND body !~ 'CY-LATE'
             FROM lt_courtesy WHERE code = 'LT-CY'), 'its amount and text leave the past-due invoice out');
SELECT is_empty($$SELECT 1 FROM lt_courtesy WHERE code = 'LT-LATE'$$,
                'an invoice one day late gets no "due soon" reminder (it waits for the first reminder)');

-- ------------------------------------------------------------ missing reference rates
-- the ECB rate of 1 July 2026 is not shipped: letters of the second
-- half-year state no interest, but the indemnity
INSERT INTO ar.customer (code, name, email, address_line1, postcode, city) VALUES ('LT-MR', 'Taux SA', 'mr@example.com', '1 rue A', '69001', 'Lyon');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'MR-1', '2026-05-01', '2026-06-20', 2000 FROM ar.customer WHERE code = 'LT-MR';
CREATE TEMP TABLE lt_mr AS
SELECT n.as_of, n.level, n.interest, n.penalties, n.indemnity, translate(n.body, U&'\00A0', ' ') AS body FROM generate_series(DATE '2026-06-15', DATE '2026-07-20', interval '1 day') d,
       ar.run_dunning(d::date) n JOIN ar.customer c ON c.id = n.customer_id
 WHERE c.code = 'LT-MR';
SELECT ok((SELECT level = 3 AND interest IS NULL AND penalties IS NULL AND indemnity = 40.00
             FROM lt_mr WHERE as_of = '2026-07-20'),
          'a rate missing: the final reminder states the 40 EUR indemnity, interest unknown');
SELECT ok((SELECT body ~ 'Pénalités de retard arrêtées au 20 juillet 2026 : non calculé'
                  AND body ~ 'Indemnités forfaitaires pour frais de recouvrement : 40,00 EUR'
                  AND body ~ 'taux de référence au 1er juillet 2026 non encore publié'
                  AND body ~ 'indemnité forfaitaire pour frais de recouvrement de 40,00 EUR par facture'
             FROM lt_mr WHERE as_of = '2026-07-20'), 'and says which reference rate is not published yet');
SELECT ok((SELECT r.report -> 'missing_rates' @> '[{"series": "ECB_MRO", "needed_through": "2026-07-01"}]'
             FROM ar.dunning_run r WHERE r.as_of = '2026-07-20'), 'the run''s report lists the missing rate');
SELECT results_eq($$SELECT series, known_through, needed_through FROM ar.missing_reference_rates('2026-07-20') WHERE series = 'ECB_MRO'$$,
                  $$VALUES ('ECB_MRO'::text, DATE '2026-02-05', DATE '2026-07-01')$$,
                  'ar.missing_reference_rates: the ECB rate is known through 5 February 2026, needed on 1 July 2026');
SELECT is((SELECT count(*) FROM ar.missing_reference_rate), (SELECT count(*) FROM ar.missing_reference_rates(current_date)),
          'the view lists today''s');
SELECT throws_ok($$SELECT ar.add_reference_rate('DE_BASISZINSSATZ', '2026-07-15', 1.27, 'Bundesbank')$$, '22023',
                 'series DE_BASISZINSSATZ changes on 1 January and 1 July only, not on 2026-07-15', 'a rate added is checked');
SELECT throws_ok($$SELECT ar.add_reference_rate('ECB_MRO', '2026-07-01', 2.15, ' ')$$, '22023',
                 'a rate needs its source (the official publication)', 'with its source');
SELECT ok(ar.add_reference_rate('ECB_MRO', '2026-07-01', 2.15, 'ECB press release (test)') > 0, 'one call adds a published rate');
SELECT is_empty($$SELECT 1 FROM ar.missing_reference_rates('2026-07-20') WHERE series = 'ECB_MRO'$$, 'it is no longer missing');
SELECT ok(translate(ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'MR-1'), '2026-07-20', 'fr'), U&'\00A0', ' ')
          ~ 'taux BCE 2,15 % \+ 10 points = 12,15 % \(taux en vigueur au 1er janvier 2026 et 1er juillet 2026\)', 'and letters state it');
SELECT ar.add_reference_rate('DE_BASISZINSSATZ', '2026-07-01', 1.27, 'assumed unchanged (test)', NULL, 'provisional') AS lt_provisional \gset
SELECT ok(translate(ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'LI-LT-DE'), '2026-07-20', 'de'), U&'\00A0', ' ')
              ~ 'und Basiszinssatz 1,27 % \+ 9 Prozentpunkte = 10,27 % \(ab 1\. Juli 2026\) \[vorläufiger Satz: noch nicht amtlich veröffentlicht\]',
          'a provisional rate (entered before its publication) is stated as such');
CREATE FUNCTION public.lt_error(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN no_data_found THEN
	RETURN SQLERRM;
END $f$;
-- the rate a letter states, or why not, without an exception block per rate
-- (ar._reference_rate_known), and the invoices' company given
SELECT is((SELECT problem FROM ar._reference_rate_known('DE_BASISZINSSATZ', '2027-01-01')),
          (SELECT public.lt_error($$SELECT ar.reference_rate_at('DE_BASISZINSSATZ', '2027-01-01')$$)),
          'ar._reference_rate_known: no rate known that day, the message ar.reference_rate_at raises');
SELECT is((SELECT rate FROM ar._reference_rate_known('ECB_MRO', '2026-07-01')), ar.reference_rate_at('ECB_MRO', '2026-07-01'),
          'ar._reference_rate_known: the rate in force when known');
SELECT throws_ok($$SELECT ar._reference_rate_known('NO_SUCH_SERIES', '2026-07-01')$$, '22023', NULL,
                 'ar._reference_rate_known: an unknown series is an error, as in ar.reference_rate_at');
-- with the company, ar.penalty_terms reads ar._penalty_basis' rows from its
-- tables (on Citus, each named with the company: one shard): per invoice
-- the paragraphs without it, the invoice's own regime and contractual rate
-- before its customer's, and none for a credit note, a cancelled invoice
-- or an invoice billing penalties (tried, then rolled back)
SAVEPOINT lt_basis;
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime)
SELECT id, 'LB-OWN', '2025-10-01', '2025-11-15', 1000, 'EU_2011_7' FROM ar.customer WHERE code = 'LT-DE';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime, penalty_rate)
SELECT id, 'LB-RATE', '2025-10-01', '2025-11-15', 1000, 'CONTRACT', 15 FROM ar.customer WHERE code = 'LT-CT';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, v.n, '2025-10-01', '2025-11-15', v.a FROM ar.customer, (VALUES ('LB-CN', -500), ('LB-CANCELLED', 700), ('LB-PEN', 700)) v (n, a)
 WHERE code = 'LT-FR';
SELECT ar.cancel_invoice(id, '2025-12-01') FROM ar.invoice WHERE number = 'LB-CANCELLED';
INSERT INTO ar.penalty_claim (company_id, invoice_id, decision, decided_on, penalty_invoice_id)
SELECT i.company_id, i.id, 'billed', '2026-01-05', p.id FROM ar.invoice i, ar.invoice p WHERE i.number = 'LI-LT-FR' AND p.number = 'LB-PEN';
SELECT coalesce(string_agg(i.number, ',' ORDER BY i.number), 'none') AS lt_basis_differ
  FROM ar.invoice i
 WHERE ar.penalty_terms(ARRAY[i.id], '2026-07-20', 'en', i.company_id) IS DISTINCT FROM ar.penalty_terms(ARRAY[i.id], '2026-07-20', 'en') \gset
SELECT coalesce(string_agg(i.number, ',' ORDER BY i.number), 'none') AS lt_basis_none
  FROM ar.invoice i WHERE i.number LIKE 'LB-%' AND ar.penalty_terms(ARRAY[i.id], '2026-07-20', 'en', i.company_id) IS NULL \gset
SELECT ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice), '2026-07-20', 'en', (SELECT id FROM ar.company WHERE is_default))
       = ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice), '2026-07-20', 'en') AS lt_basis_all,
       (SELECT ar.penalty_terms(ARRAY[i.id], '2026-07-20', 'en', i.company_id) ~ 'Directive 2011/7/EU'
               AND ar.penalty_terms(ARRAY[j.id], '2026-07-20', 'en', j.company_id) ~ '15\.00 %'
          FROM ar.invoice i, ar.invoice j WHERE i.number = 'LB-OWN' AND j.number = 'LB-RATE') AS lt_basis_own \gset
ROLLBACK TO SAVEPOINT lt_basis;
SELECT is(:'lt_basis_differ'::text, 'none', 'ar.penalty_terms with the company: each invoice''s paragraphs as without it');
SELECT is(:'lt_basis_none'::text, 'LB-CANCELLED,LB-CN,LB-PEN',
          'none for a credit note, a cancelled invoice and an invoice billing penalties');
SELECT ok(:'lt_basis_all'::boolean, 'every invoice at once: the same paragraphs');
SELECT ok(:'lt_basis_own'::boolean, 'an invoice''s own regime and contractual rate before its customer''s');
SELECT is(ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'LI-LT-DE'), '2026-07-20', 'de',
                           (SELECT company_id FROM ar.invoice WHERE number = 'LI-LT-DE')),
          ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'LI-LT-DE'), '2026-07-20', 'de'),
          'ar.penalty_terms with the invoices'' company: the same paragraphs');
SELECT is(ar.penalty_terms(ARRAY(SELECT id FROM ar.invoice WHERE number = 'LI-LT-DE'), '2026-07-20', 'de', -1), NULL,
          'with another company: none of its invoices, no paragraph');
SELECT is((SELECT array_agg(a.problem ORDER BY a.reference_date) FROM ar.penalty_rates_applied('DE_B2B', ARRAY[DATE '2026-01-15'], '2030-07-20') a
             WHERE a.rate IS NULL),
          ARRAY(SELECT (ar._reference_rate_known('DE_BASISZINSSATZ', d::date)).problem
                  FROM generate_series(DATE '2027-01-01', DATE '2030-07-01', interval '6 months') d),
          'ar.penalty_rates_applied: each reference date without a known rate says why, as ar.reference_rate_at would');

SELECT ok(has_function_privilege('ar_admin', 'ar.add_reference_rate(text, date, numeric, text, date, text)', 'EXECUTE')
          AND NOT has_function_privilege('ar_collector', 'ar.add_reference_rate(text, date, numeric, text, date, text)', 'EXECUTE'),
          'ar_admin adds rates, collectors do not');
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE a.table_name = 'reference_rate' AND a.operation = 'INSERT')::int, 2,
          'the rates added are in the audit trail');
-- the worker's daily check: once a day
SELECT is(ar._worker_rates_check(), (SELECT count(*) FROM ar.missing_reference_rates(current_date)),
          'the worker''s check counts the series missing today (and logs them, WARNING)');
SELECT is(ar._worker_rates_check(), 0::bigint, 'only once a day');

SELECT is_empty($$SELECT customer_id, level FROM lt_k0 WHERE level >= 3 AND strpos(body, terms) = 0$$,
                'a run''s letters of level 3 and more state their terms as ar.penalty_terms makes them alone');
SELECT cmp_ok((SELECT count(DISTINCT terms)::int FROM lt_k0 WHERE level >= 3), '>=', 8, 'eight different terms among them (a regime each)');
SELECT * FROM finish();
ROLLBACK;
