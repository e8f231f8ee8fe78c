-- pgTAP: what a formal notice says comes next ({{notice_law}}) follows the
-- regime of the invoices it claims, as their penalties do: each invoice's
-- regime, else its customer's, else FR_LME; invoices under regimes with
-- different procedures get one paragraph each, in the order of the
-- regimes.  (A customer with no regime of its own but German invoices was
-- told of the French injonction de payer.)
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(6);

SELECT ar.assume_rates_unchanged('2026-12-31', 'test');
-- a policy of one level whose letter is the notice_law paragraph alone
INSERT INTO ar.dunning_policy (code, name, min_days_between, fallback_language) VALUES ('NL_TEST', 'Notice law', 5, 'en');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, min_amount, state_penalties, reply_days)
SELECT id, 1, 'formal notice', 1, 'registered_letter', 0, false, 8 FROM ar.dunning_policy WHERE code = 'NL_TEST';
INSERT INTO ar.dunning_template (policy_id, level, language, subject, body)
SELECT id, 1, 'en', 'Formal notice', '{{notice_law}}' FROM ar.dunning_policy WHERE code = 'NL_TEST';

INSERT INTO ar.customer (code, name, language, country, penalty_regime) VALUES
	('NL-DE', 'Beispiel GmbH', 'en', 'DE', NULL),      -- German invoices, no regime of its own
	('NL-MIX', 'Mixed SARL', 'en', 'FR', NULL),        -- one German invoice, one under FR_LME
	('NL-UK', 'Example Ltd', 'en', 'GB', 'UK_LPA'),    -- its own regime, invoices without one
	('NL-FR', 'Exemple SA', 'en', 'FR', NULL);         -- no regime anywhere: FR_LME
SELECT ar.set_dunning_policy(id, 'NL_TEST') FROM ar.customer WHERE code LIKE 'NL-%';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, penalty_regime)
SELECT c.id, v.number, '2026-05-01', '2026-05-31', 1000, v.regime
  FROM (VALUES ('NL-DE', 'NL-DE-1', 'DE_B2B'), ('NL-DE', 'NL-DE-2', 'DE_B2B'), ('NL-MIX', 'NL-MIX-1', 'DE_B2B'),
               ('NL-MIX', 'NL-MIX-2', NULL), ('NL-UK', 'NL-UK-1', NULL), ('NL-FR', 'NL-FR-1', NULL)) v (code, number, regime)
  JOIN ar.customer c ON c.code = v.code;

CREATE TEMP TABLE letter AS
SELECT c.code, n.body FROM ar.run_dunning('2026-07-15', true) n JOIN ar.customer c ON c.id = n.customer_id;

SELECT is((SELECT body FROM letter WHERE code = 'NL-DE'), ar.letter_text('notice_law.de_b2b', 'en'),
	'invoices under DE_B2B of a customer with no regime: the German order for payment procedure');
SELECT ok((SELECT body NOT LIKE '%French%' AND body LIKE '%ZPO%' FROM letter WHERE code = 'NL-DE'),
	'... and no French law cited');
SELECT is((SELECT body FROM letter WHERE code = 'NL-MIX'),
          ar.letter_text('notice_law.de_b2b', 'en') || E'\n\n' || ar.letter_text('notice_law.default', 'en'),
	'invoices under DE_B2B and FR_LME: both procedures, in the order of the regimes');
SELECT is((SELECT body FROM letter WHERE code = 'NL-UK'), ar.letter_text('notice_law.uk_lpa', 'en'),
	'invoices without a regime of a customer under UK_LPA: the customer''s');
SELECT is((SELECT body FROM letter WHERE code = 'NL-FR'), ar.letter_text('notice_law.default', 'en'),
	'no regime anywhere: FR_LME''s');
SELECT is((SELECT count(*) FROM letter), 4::bigint, 'one formal notice per customer');

SELECT * FROM finish();
ROLLBACK;
