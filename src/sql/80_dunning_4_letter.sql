-- A dunning template rendered with one notice's values (src/letter.c), as
-- ar.render_template(template, ar.dunning_placeholders(), values) with the
-- values the run composed in SQL before, each formatted only if the
-- template uses it: ar.run_dunning's letters step calls it twice a notice
-- (subject, body) instead of about twenty functions and an array.
CREATE FUNCTION ar._dunning_letter(template text, language text, currency text, as_of date,
                                   customer_name text, customer_code text, company_name text, company_iban text,
                                   lines ar._dunning_lines, wide boolean, credits numeric, deduction_label text,
                                   invoice_count bigint, amount_due numeric, interest numeric, indemnity numeric,
                                   penalties numeric, not_computed text, fee numeric, reply_by date, reply_days integer,
                                   previous_dates text[], word_and text, level integer, level_name text,
                                   sender_address text, sender_legal text, customer_address text, penalty_terms text,
                                   recent_lines ar._dunning_lines, recent_heading text, notice_law text)
RETURNS text
AS 'MODULE_PATHNAME', 'ar_dunning_letter'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ar._dunning_letter(text, text, text, date, text, text, text, text, ar._dunning_lines, boolean, numeric,
                                       text, bigint, numeric, numeric, numeric, numeric, text, numeric, date, integer, text[],
                                       text, integer, text, text, text, text, text, ar._dunning_lines, text, text) IS
	'A dunning template rendered with one notice''s values (the credits set off under its invoice table, the earlier dates joined with word_and, the recent invoices in a table of their own under their heading); what ar.run_dunning queues';
