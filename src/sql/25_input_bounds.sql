-- ---------------------------------------------------------------------------
-- Input bounds (doc/input-bounds.md): what the extension accepts at the door.
--   dates    1900-01-01 .. 2200-12-31 (no infinity, no BC date)
--   amounts  finite, strictly between -10^16 and 10^16 (what numeric(18,2)
--            holds), at most 2 decimals: every currency is kept to the cent
--            (letters, penalties and formatting work in cents; there is no
--            currency with 3 decimals in ar_collect)
--   header text (names, codes, e-mail addresses, phone numbers, invoice
--            numbers, payment references, subjects): no control character,
--            bounded length
--   e-mail   a pragmatic RFC 5321/5322 addr-spec (dot-atom@domain)
-- The predicates are public; the _check_* functions return true or raise an
-- error naming the field and the value, so that a CHECK constraint or an API
-- function gives the same clear error.  They are SQL functions of immutable
-- operators only, inlined in the constraints; the error path alone calls the
-- *_error functions (format() is only stable: a function calling it is not
-- inlined).
-- ---------------------------------------------------------------------------

CREATE FUNCTION ar.amount_in_bounds(value numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT abs(value) < 1e16 AND value = round(value, 2) $$;
COMMENT ON FUNCTION ar.amount_in_bounds(numeric) IS 'Is the amount one ar_collect accepts: finite, |amount| < 10^16, at most 2 decimals (doc/input-bounds.md)?';

CREATE FUNCTION ar.date_in_bounds(value date) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT value BETWEEN DATE '1900-01-01' AND DATE '2200-12-31' $$;
COMMENT ON FUNCTION ar.date_in_bounds(date) IS 'Is the date one ar_collect accepts: from 1900-01-01 to 2200-12-31, never infinite (doc/input-bounds.md)?';

-- A value as it can be shown in an error message: control characters as
-- \uXXXX, at most 60 characters.
CREATE FUNCTION ar._visible(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	result text := '';
	c text;
BEGIN
	FOREACH c IN ARRAY regexp_split_to_array(left(value, 60), '') LOOP
		IF c ~ E'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]' THEN
			result := result || E'\\u' || lpad(to_hex(ascii(c)), 4, '0');
		ELSE
			result := result || c;
		END IF;
	END LOOP;
	RETURN result || CASE WHEN char_length(value) > 60 THEN '...' ELSE '' END;
END $$;

-- Always raises: the error path of the checks below.
CREATE FUNCTION ar._input_error(sqlstate text, message text, detail text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message, DETAIL = detail,
	      HINT = 'The bounds are documented in doc/input-bounds.md.';
END $$;

CREATE FUNCTION ar._amount_error(what text, value numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ar._input_error(
		CASE WHEN value = 'NaN' OR abs(value) < 1e16 THEN '22023' ELSE '22003' END,
		CASE WHEN value = 'NaN' THEN format('%s: NaN is not an amount', what)
		     WHEN abs(value) >= 1e16 THEN format('%s: amount %s is out of range', what,
		                                         CASE WHEN char_length(value::text) > 40 THEN btrim(to_char(value, '9.999999EEEE'))
		                                              ELSE value::text END)
		     ELSE format('%s: amount %s has more than 2 decimals', what, value) END,
		'Amounts are finite, strictly between -10^16 and 10^16, with at most 2 decimals (to the cent, in every currency).')
$$;

CREATE FUNCTION ar._check_amount(what text, value numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT value IS NULL OR (abs(value) < 1e16 AND value = round(value, 2)) OR ar._amount_error(what, value) $$;
COMMENT ON FUNCTION ar._check_amount(text, numeric) IS 'true for NULL or an amount within the bounds, else error 22003 (out of range) or 22023 (NaN, more than 2 decimals) naming what and the value.';

CREATE FUNCTION ar._date_error(what text, value date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ar._input_error('22008', format('%s: date %s is out of range', what, value),
	                       'Dates lie between 1900-01-01 and 2200-12-31.')
$$;

CREATE FUNCTION ar._check_date(what text, value date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT value IS NULL OR value BETWEEN DATE '1900-01-01' AND DATE '2200-12-31' OR ar._date_error(what, value) $$;
COMMENT ON FUNCTION ar._check_date(text, date) IS 'true for NULL or a date from 1900-01-01 to 2200-12-31, else error 22008 naming what and the value.';

-- Text that may end up in a message header (a notice's recipient or
-- subject): no control character (C0, DEL, C1, U+2028, U+2029), at most
-- max_chars characters.
CREATE FUNCTION ar._header_text_error(what text, value text, max_chars integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN char_length(value) > max_chars
	            THEN ar._input_error('22001', format('%s: "%s" is %s characters long, more than %s', what,
	                                                 ar._visible(value), char_length(value), max_chars),
	                                 'Text that can reach a message header has a bounded length.')
	            ELSE ar._input_error('22023', format('%s: "%s" contains a control character', what, ar._visible(value)),
	                                 'Line breaks, tabs and other control characters are refused in text that can reach a message header.')
	       END
$$;

CREATE FUNCTION ar._check_header_text(what text, value text, max_chars integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT value IS NULL OR (char_length(value) <= max_chars AND value !~ E'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]')
	       OR ar._header_text_error(what, value, max_chars)
$$;
COMMENT ON FUNCTION ar._check_header_text(text, text, integer) IS 'true for NULL or text without control characters of at most max_chars characters, else error 22023 (control character) or 22001 (too long) naming what and the value.';

-- A pragmatic RFC 5321/5322 addr-spec: dot-atom local part (no quoted
-- string), @, a domain name of at least two labels (letters, digits,
-- hyphens inside, or non-ASCII for internationalised names; no address
-- literal), a top-level label that is not all digits; at most 64 characters
-- before the @, 254 in all; no control character, no space.
CREATE FUNCTION ar.is_valid_email(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT char_length(value) <= 254
	       AND value !~ E'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]'
	       AND value ~ E'^[-A-Za-z0-9!#$%&''*+/=?^_`{|}~\\u00a0-\\uffff\\U00010000-\\U0010ffff]{1,64}(\\.[-A-Za-z0-9!#$%&''*+/=?^_`{|}~\\u00a0-\\uffff\\U00010000-\\U0010ffff]+)*@([A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff]([-A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff]{0,61}[A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff])?\\.)+[A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff]([-A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff]{0,61}[A-Za-z0-9\\u00a0-\\uffff\\U00010000-\\U0010ffff])?$'
	       AND char_length(split_part(value, '@', 1)) <= 64
	       AND substring(value FROM '[^.]*$') !~ '^[0-9]+$'
$$;
COMMENT ON FUNCTION ar.is_valid_email(text) IS 'Is the text one e-mail address (pragmatic RFC 5321/5322 addr-spec: dot-atom@domain.tld, at most 64 + 1 + 253 characters, no control character, no quoted local part, no address literal)?';

CREATE FUNCTION ar._email_error(what text, value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT ar._input_error('22023', format('%s: "%s" is not an e-mail address', what, ar._visible(value)),
	                       'One address, local-part@domain.tld (RFC 5321/5322 dot-atom, at most 254 characters).')
$$;

CREATE FUNCTION ar._check_email(what text, value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT value IS NULL OR ar.is_valid_email(value) OR ar._email_error(what, value) $$;
COMMENT ON FUNCTION ar._check_email(text, text) IS 'true for NULL or a valid e-mail address (ar.is_valid_email), else error 22023 naming what and the value.';

-- HTML text content and attribute values: & < > " ' as character references.
CREATE FUNCTION ar.html_escape(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT replace(replace(replace(replace(replace(value, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
	                               '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION ar.html_escape(text) IS 'The text escaped for HTML (element content and quoted attribute values): & < > " '' as &amp; &lt; &gt; &quot; &#39;.';

CREATE FUNCTION ar.is_header_text(value text, max_chars integer) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT char_length(value) <= max_chars AND value !~ E'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]' $$;
COMMENT ON FUNCTION ar.is_header_text(text, integer) IS 'Can the text go into a message header: no control character (C0, DEL, C1, U+2028, U+2029), at most max_chars characters?';

-- Every bounded column of the extension's tables, declared by the piece
-- that creates the table (INSERT INTO ar.input_bound next to its CREATE
-- TABLE): the CHECK constraints <table>_input_bounds are built from it
-- (ar._create_input_bounds_constraints, 88_input_bounds.sql), and
-- ar.input_bound_violations() reads it to find rows stored beyond the
-- bounds (only possible when a superuser bypassed the constraints).
-- kind: date, date_or_infinity (an open-ended end date), amount,
-- header_text (max_chars), email.  ord keeps each table's checks in the
-- order they were declared.
CREATE TABLE ar.input_bound (
	ord          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	table_name   text NOT NULL,
	column_name  text NOT NULL,
	kind         text NOT NULL CHECK (kind IN ('date', 'date_or_infinity', 'amount', 'header_text', 'email')),
	max_chars    integer CHECK ((kind = 'header_text') = (max_chars IS NOT NULL) AND max_chars > 0),
	UNIQUE (table_name, column_name)
);
COMMENT ON TABLE ar.input_bound IS 'The bounded columns of the extension''s tables (shipped data, one row per column, declared by the piece that creates the table): read through ar.input_bounds() (doc/input-bounds.md).';

INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
		('company', 'code', 'header_text', 64), ('company', 'name', 'header_text', 200),
		('customer', 'code', 'header_text', 64), ('customer', 'name', 'header_text', 200),
		('customer', 'email', 'email', NULL), ('customer', 'phone', 'header_text', 32),
		('customer', 'credit_limit', 'amount', NULL),
		('invoice', 'number', 'header_text', 64), ('invoice', 'payment_reference', 'header_text', 140),
		('invoice', 'issue_date', 'date', NULL), ('invoice', 'due_date', 'date', NULL),
		('invoice', 'cancelled_on', 'date', NULL), ('invoice', 'amount', 'amount', NULL),
		('bank_statement', 'opening_date', 'date', NULL), ('bank_statement', 'closing_date', 'date', NULL),
		('bank_statement', 'opening_balance', 'amount', NULL), ('bank_statement', 'closing_balance', 'amount', NULL),
		('bank_transaction', 'booking_date', 'date', NULL), ('bank_transaction', 'value_date', 'date', NULL),
		('bank_transaction', 'amount', 'amount', NULL),
		('customer_credit', 'created_on', 'date', NULL), ('customer_credit', 'amount', 'amount', NULL),
		('allocation', 'allocated_on', 'date', NULL), ('allocation', 'amount', 'amount', NULL),
		('dispute', 'opened_on', 'date', NULL), ('dispute', 'resolved_on', 'date', NULL),
		('payment_promise', 'promised_on', 'date', NULL), ('payment_promise', 'made_on', 'date', NULL),
		('payment_promise', 'amount', 'amount', NULL),
		('payment_plan', 'starts_on', 'date', NULL), ('payment_plan', 'cancelled_on', 'date', NULL),
		('payment_plan', 'total', 'amount', NULL),
		('payment_plan_instalment', 'due_on', 'date', NULL), ('payment_plan_instalment', 'amount', 'amount', NULL),
		('dunning_block', 'from_on', 'date', NULL), ('dunning_block', 'until', 'date_or_infinity', NULL),
		('dunning_block', 'lifted_on', 'date', NULL),
		('dunning_template', 'subject', 'header_text', 300),
		('reference_rate', 'effective_from', 'date', NULL);

CREATE FUNCTION ar.input_bounds()
RETURNS TABLE (table_name text, column_name text, kind text, max_chars integer)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT b.table_name, b.column_name, b.kind, b.max_chars FROM ar.input_bound b ORDER BY b.table_name, b.ord $$;
COMMENT ON FUNCTION ar.input_bounds() IS 'The bounded columns of the extension''s tables and their kind (date, date_or_infinity, amount, header_text with max_chars, email): each table''s CHECK constraint <table>_input_bounds enforces them (doc/input-bounds.md).';

-- The CHECK expression of a table's <table>_input_bounds constraint: each
-- bounded column checked with the error that names it and its value.
CREATE FUNCTION ar._input_bounds_check(table_name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT string_agg(CASE b.kind
		WHEN 'date' THEN format('ar._check_date(%L, %I)', what, b.column_name)
		WHEN 'date_or_infinity' THEN format('(%I = ''infinity'' OR ar._check_date(%L, %I))', b.column_name, what, b.column_name)
		WHEN 'amount' THEN format('ar._check_amount(%L, %I)', what, b.column_name)
		WHEN 'header_text' THEN format('ar._check_header_text(%L, %I, %s)', what, b.column_name, b.max_chars)
		WHEN 'email' THEN format('ar._check_email(%L, %I)', what, b.column_name)
	END, ' AND ' ORDER BY b.ord)
	  FROM (SELECT i.*, row_number() OVER () AS ord, format('ar.%s.%s', i.table_name, i.column_name) AS what
	          FROM ar.input_bounds() i) b
	 WHERE b.table_name = _input_bounds_check.table_name
$$;

-- Adds the <table>_input_bounds constraint of every table of ar.input_bound
-- that has none yet (at the end of an install or upgrade: the tables of
-- every piece), and re-creates those of the tables named in replacing (a
-- piece that declared a new bounded column of an existing table).  The
-- caller runs SET CONSTRAINTS ALL IMMEDIATE first: a table with pending
-- trigger events cannot be altered.
CREATE FUNCTION ar._create_input_bounds_constraints(replacing text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	t text;
BEGIN
	FOR t IN SELECT DISTINCT b.table_name FROM ar.input_bound b ORDER BY 1 LOOP
		IF t = ANY (replacing) THEN
			EXECUTE format('ALTER TABLE ar.%I DROP CONSTRAINT IF EXISTS %I', t, t || '_input_bounds');
		END IF;
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_constraint c
		                       WHERE c.conrelid = format('ar.%I', t)::regclass AND c.conname = t || '_input_bounds');
		EXECUTE format('ALTER TABLE ar.%I ADD CONSTRAINT %I CHECK (%s)',
		               t, t || '_input_bounds', ar._input_bounds_check(t));
	END LOOP;
END $$;

-- Rows stored beyond the bounds (the constraints were dropped, disabled or
-- bypassed): table, row id, company, column, the value as text and what is
-- wrong with it.
CREATE FUNCTION ar.input_bound_violations()
RETURNS TABLE (table_name text, row_id bigint, company_id bigint, column_name text, value text, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	b record;
	has_company boolean;
BEGIN
	FOR b IN SELECT i.*, row_number() OVER () AS ord FROM ar.input_bounds() i ORDER BY 1, 5 LOOP
		-- a validated constraint guarantees its table: nothing to read
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_constraint c
		                       WHERE c.conrelid = format('ar.%I', b.table_name)::regclass
		                         AND c.conname = b.table_name || '_input_bounds' AND c.convalidated);
		has_company := EXISTS (SELECT 1 FROM pg_attribute a
		                        WHERE a.attrelid = format('ar.%I', b.table_name)::regclass
		                          AND a.attname = 'company_id' AND NOT a.attisdropped);
		RETURN QUERY EXECUTE format(
			'SELECT %L::text, t.id, %s, %L::text, ar._visible(t.%I::text), %L::text FROM ar.%I t WHERE NOT (%s) ORDER BY t.id',
			b.table_name,
			CASE WHEN has_company THEN 't.company_id' WHEN b.table_name = 'company' THEN 't.id' ELSE 'NULL::bigint' END,
			b.column_name, b.column_name,
			CASE b.kind WHEN 'date' THEN 'date outside 1900-01-01 .. 2200-12-31'
			            WHEN 'date_or_infinity' THEN 'date outside 1900-01-01 .. 2200-12-31 (or infinity)'
			            WHEN 'amount' THEN 'amount not finite, beyond 10^16 or with more than 2 decimals'
			            WHEN 'header_text' THEN format('control character or more than %s characters', b.max_chars)
			            WHEN 'email' THEN 'not one e-mail address' END,
			b.table_name,
			CASE b.kind
				WHEN 'date' THEN format('t.%I IS NULL OR ar.date_in_bounds(t.%I)', b.column_name, b.column_name)
				WHEN 'date_or_infinity' THEN format('t.%I IS NULL OR t.%I = ''infinity'' OR ar.date_in_bounds(t.%I)',
				                                    b.column_name, b.column_name, b.column_name)
				WHEN 'amount' THEN format('t.%I IS NULL OR ar.amount_in_bounds(t.%I)', b.column_name, b.column_name)
				WHEN 'header_text' THEN format('t.%I IS NULL OR ar.is_header_text(t.%I, %s)', b.column_name, b.column_name, b.max_chars)
				WHEN 'email' THEN format('t.%I IS NULL OR ar.is_valid_email(t.%I)', b.column_name, b.column_name)
			END);
	END LOOP;
END $$;
COMMENT ON FUNCTION ar.input_bound_violations() IS 'Rows stored beyond the input bounds (possible only when the <table>_input_bounds constraints were bypassed, e.g. dropped by a superuser; the tables whose constraint is present and validated are not read): table, row id, company, column, value, problem. Batches skip these rows and report them in ar.batch_problem.';
