-- Dunning on the demo ledger: the last six weeks before the generation's
-- date run day by day, as the background worker would have run them, with
-- the external sender reporting each day's deliveries (a few e-mails
-- bounce and are sent again at the same level), a few disputes and
-- promises to pay recorded by the collectors.  Uses the FR_STANDARD
-- scenario shipped with ar_collect, and the rate assumption recorded by
-- 15_penalties.sql for the penalties the letters state.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

UPDATE ar.company SET name = 'Distribution Dupont SAS', iban = 'FR7630006000011234567890189'
 WHERE is_default AND iban IS NULL;
-- what its letters print (checked: SIRET and VAT number keys, share capital of a SAS)
UPDATE ar.company
   SET legal_name = 'Distribution Dupont SAS', legal_form = 'SAS', share_capital = 150000,
       address_line1 = '12 rue de la République', postcode = '69002', city = 'Lyon',
       siret = '552 100 554 00013', rcs_city = 'Lyon', vat_number = 'FR 96 552 100 554',
       email = 'recouvrement@dupont.example', phone = '+33 4 72 00 00 00'
 WHERE is_default;

-- a few disputes and promises, recorded during the period
SELECT count(ar.open_dispute(i.id, 'Quantités livrées contestées par le client', :'demo_as_of'::date - 30))
       AS disputes_opened
  FROM (SELECT o.invoice_id AS id FROM ar.open_items(:'demo_as_of'::date - 30) o
         WHERE o.days_past_due BETWEEN 20 AND 40 AND o.amount > 0 ORDER BY o.invoice_id LIMIT 12) i;
SELECT count(ar.promise_to_pay(i.id, :'demo_as_of'::date + 10, i.open_amount, :'demo_as_of'::date - 20))
       AS promises_recorded
  FROM (SELECT o.invoice_id AS id, o.open_amount FROM ar.open_items(:'demo_as_of'::date - 20) o
         WHERE o.days_past_due BETWEEN 10 AND 25 AND o.amount > 0
           AND NOT EXISTS (SELECT 1 FROM ar.dispute d WHERE d.invoice_id = o.invoice_id)
         ORDER BY o.invoice_id DESC LIMIT 12) i;

-- the daily runs, and the sender's report on the previous day's notices
DO $$
DECLARE
	as_of date := (SELECT g.as_of FROM ar_demo.generation g ORDER BY g.id DESC LIMIT 1);
	day date;
BEGIN
	FOR day IN SELECT d::date FROM generate_series(as_of - 41, as_of, interval '1 day') d LOOP
		PERFORM ar.mark_notice(n.id,
		                       CASE WHEN n.channel = 'email' AND n.id % 37 = 0 THEN 'failed' ELSE 'sent' END,
		                       CASE WHEN n.channel IN ('letter', 'registered_letter') THEN 'LR 1A ' || lpad(n.id::text, 9, '0')
		                            WHEN n.channel = 'email' THEN '<' || n.id || '.dunning@dupont.example>' END,
		                       CASE WHEN n.channel = 'email' AND n.id % 37 = 0 THEN '552 5.2.2 mailbox full' END)
		  FROM ar.dunning_notice n
		 WHERE n.status = 'queued' AND n.as_of < day;
		PERFORM ar.run_dunning(day);
	END LOOP;
END $$;

SELECT count(*) AS notices, count(*) FILTER (WHERE as_of = :'demo_as_of') AS today,
       count(*) FILTER (WHERE status = 'failed') AS bounced
  FROM ar.dunning_notice;
