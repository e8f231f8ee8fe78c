-- Letters (issue 13): sender identity and customer address, the law of
-- each penalty regime with the rates applied, French, English and German
-- templates, the company's language as fallback, missing reference rates,
-- the courtesy reminder and the invoices never reminded before.  The new
-- objects and the shipped texts are the install pieces themselves
-- (52_letters.sql -> src/sql/82_letters.sql, 54_letter_texts.sql ->
-- src/sql/84_letter_texts.sql, symbolic links); this piece replaces what
-- they change of 0.1.0 and makes room for the new shipped templates.

-- the new columns, at the end of their tables as in a fresh install
ALTER TABLE ar.company
	ADD COLUMN legal_name     text,
	ADD COLUMN legal_form     text,
	ADD COLUMN address_line1  text,
	ADD COLUMN address_line2  text,
	ADD COLUMN postcode       text,
	ADD COLUMN city           text,
	ADD COLUMN siren          text,
	ADD COLUMN siret          text,
	ADD COLUMN rcs_city       text,
	ADD COLUMN vat_number     text,
	ADD COLUMN share_capital  numeric CONSTRAINT company_share_capital_positive
		CHECK (share_capital > 0 AND share_capital < 1e15 AND share_capital = round(share_capital, 2)),
	ADD COLUMN email          text,
	ADD COLUMN phone          text,
	ADD COLUMN language       text NOT NULL DEFAULT 'fr' CONSTRAINT company_language_code CHECK (language ~ '^[a-z]{2}$');
ALTER TABLE ar.customer
	ADD COLUMN address_line1  text,
	ADD COLUMN address_line2  text,
	ADD COLUMN postcode       text,
	ADD COLUMN city           text;
ALTER TABLE ar.dunning_run ADD COLUMN report jsonb NOT NULL DEFAULT '{}';
ALTER TABLE ar.worker_state ADD COLUMN rates_warned_on date;
-- ar.dunning_level.recent_invoices: added by 69_letters_dunrules_final.sql, after
-- min_percent (60_dunning_rules.sql), the order of a fresh install.

-- the shipped templates of 0.1.0 make way for those of 0.2.0 (84), without
-- touching the audit trail (shipped data, not the user's: as a restore
-- reloads rows, until 56_letters_end.sql)
SET LOCAL ar_collect.restoring = on;
DELETE FROM ar.dunning_template WHERE shipped;

CREATE OR REPLACE FUNCTION ar.dunning_placeholders() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ARRAY['customer_name', 'customer_code', 'company_name', 'company_iban', 'as_of', 'invoice_table',
	             'invoice_count', 'amount_due', 'currency', 'interest', 'indemnity', 'penalties', 'total_due',
	             'fee', 'reply_by', 'reply_days', 'previous_notices', 'level', 'level_name',
	             'sender_address', 'sender_legal', 'customer_address', 'penalty_terms', 'recent_invoices',
	             'notice_law']
$$;


-- ar.run_dunning: its final form is re-created by piece 69.

