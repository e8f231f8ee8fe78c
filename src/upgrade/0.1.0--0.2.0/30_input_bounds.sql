-- ---------------------------------------------------------------------------
-- 0.1.0 -> 0.2.0: input bounds and batch problems (doc/input-bounds.md).
-- The functions of src/sql/25_input_bounds.sql; a 0.1.0 database may hold
-- rows beyond the bounds (0.1.0 accepted them): the upgrade then stops
-- before changing anything, with an error listing them (table, id, column,
-- value), so that they can be corrected and ALTER EXTENSION ar_collect
-- UPDATE run again.  Then the <table>_input_bounds constraints and
-- ar.batch_problem of src/sql/88_input_bounds.sql, and the functions that
-- check or skip: ar.record_payment, ar.run_dunning, ar._worker_dunning,
-- ar.penalty_claims_on (their final definitions; ar.penalty_claims_on's is
-- 99_citus_2_penalty_claims.sql since issue 14).
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

-- Rows of the 0.1.0 database beyond the bounds stop the upgrade, all listed.
DO $$
DECLARE
	total bigint;
	listed text;
BEGIN
	SELECT count(*), string_agg(format('ar.%s id %s, %s = %s (%s)', v.table_name, v.row_id, v.column_name,
	                                   coalesce(v.value, 'NULL'), v.problem), E'\n' ORDER BY v.table_name, v.row_id)
	                   FILTER (WHERE v.n <= 100)
	  INTO total, listed
	  FROM (SELECT x.*, row_number() OVER () AS n FROM ar.input_bound_violations() x) v;
	IF total > 0 THEN
		RAISE EXCEPTION 'ar_collect 0.2.0 refuses % stored value(s) beyond its input bounds', total
			USING ERRCODE = 'check_violation',
			      DETAIL = listed || CASE WHEN total > 100 THEN format(E'\n... and %s more', total - 100) ELSE '' END,
			      HINT = 'Correct or delete these rows (the bounds are in doc/input-bounds.md), then run ALTER EXTENSION ar_collect UPDATE again; nothing was changed.';
	END IF;
END $$;

-- (the deferred triggers of the rows inserted so far fire first: a table
-- with pending trigger events cannot be altered)
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ar._create_input_bounds_constraints();
SET CONSTRAINTS ALL DEFERRED;

GRANT EXECUTE ON FUNCTION ar.input_bound_violations() TO ar_admin;

-- ---------------------------------------------------------------------------
-- Batch problems: a batch (ar.run_dunning, ar.reconcile, and so the
-- worker's daily runs of both) skips a row it cannot process instead of failing for everyone, warns, and
-- records it here, once per batch and row (first and last time seen, how
-- often).  Rows beyond the input bounds can only exist when the constraints
-- above were bypassed; ar._batch_quarantine finds them cheaply: only the
-- tables whose <table>_input_bounds constraint is missing or not validated
-- are read.
-- ---------------------------------------------------------------------------

CREATE TABLE ar.batch_problem (
	id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	batch          text NOT NULL CHECK (batch IN ('run_dunning', 'reconcile')),
	company_id     bigint,
	object_table   text NOT NULL,
	object_id      bigint,
	column_name    text,
	value          text,
	sqlstate       text,
	error          text NOT NULL,
	first_seen_at  timestamptz NOT NULL DEFAULT now(),
	last_seen_at   timestamptz NOT NULL DEFAULT now(),
	last_as_of     date,
	occurrences    integer NOT NULL DEFAULT 1,
	UNIQUE NULLS NOT DISTINCT (batch, object_table, object_id, column_name)
);
COMMENT ON TABLE ar.batch_problem IS 'What a batch (run_dunning, reconcile, also when the worker runs them) skipped instead of failing for everyone: the object (table and id, its company), the column and value, the error; first and last time seen, the last run date, how many runs met it. A problem whose last_seen_at is older than the batch''s latest run is fixed (doc/input-bounds.md).';

-- The customers (and companies, bank lines, invoices) a batch must skip:
-- the rows of the given tables beyond the input bounds.  Each is warned
-- about (the first ten one by one, then a count) and, when record, kept in
-- ar.batch_problem.  customer_id: the customer the row belongs to (NULL for
-- a company's row, which stands for all its customers, and for bank rows).
CREATE FUNCTION ar._batch_quarantine(batch text, tables text[], company bigint DEFAULT NULL,
                                     as_of date DEFAULT NULL, record boolean DEFAULT true)
RETURNS TABLE (object_table text, object_id bigint, company_id bigint, customer_id bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v record;
	found_count integer := 0;
BEGIN
	FOR v IN SELECT x.* FROM ar.input_bound_violations() x
	          WHERE x.table_name = ANY (_batch_quarantine.tables)
	            AND (_batch_quarantine.company IS NULL OR x.company_id IS NULL OR x.company_id = _batch_quarantine.company) LOOP
		found_count := found_count + 1;
		object_table := v.table_name;
		object_id := v.row_id;
		company_id := v.company_id;
		customer_id := CASE v.table_name
			WHEN 'customer' THEN v.row_id
			WHEN 'invoice' THEN (SELECT i.customer_id FROM ar.invoice i WHERE i.id = v.row_id)
			WHEN 'customer_credit' THEN (SELECT c.customer_id FROM ar.customer_credit c WHERE c.id = v.row_id)
			WHEN 'allocation' THEN (SELECT i.customer_id FROM ar.allocation a JOIN ar.invoice i ON i.id = a.invoice_id
			                         WHERE a.id = v.row_id)
			WHEN 'dispute' THEN (SELECT d.customer_id FROM ar.dispute d WHERE d.id = v.row_id)
			WHEN 'payment_promise' THEN (SELECT p.customer_id FROM ar.payment_promise p WHERE p.id = v.row_id)
			WHEN 'payment_plan' THEN (SELECT p.customer_id FROM ar.payment_plan p WHERE p.id = v.row_id)
			WHEN 'payment_plan_instalment' THEN (SELECT p.customer_id FROM ar.payment_plan_instalment s
			                                      JOIN ar.payment_plan p ON p.id = s.plan_id WHERE s.id = v.row_id)
			WHEN 'dunning_block' THEN (SELECT b.customer_id FROM ar.dunning_block b WHERE b.id = v.row_id)
		END;
		IF found_count <= 10 THEN
			RAISE WARNING '%: ar.% % skipped: % = % (%)', batch, v.table_name, v.row_id, v.column_name,
			              coalesce(v.value, 'NULL'), v.problem
				USING DETAIL = 'The row is beyond the input bounds (its table''s constraint was bypassed); the batch goes on without it.',
				      HINT = 'Correct the row; ar.batch_problem keeps the list.';
		END IF;
		IF _batch_quarantine.record THEN
			INSERT INTO ar.batch_problem AS p (batch, company_id, object_table, object_id, column_name, value, sqlstate,
			                                   error, last_as_of)
			VALUES (_batch_quarantine.batch, v.company_id, v.table_name, v.row_id, v.column_name, v.value, '22000',
			        format('beyond the input bounds: %s', v.problem), _batch_quarantine.as_of)
			ON CONFLICT (batch, object_table, object_id, column_name) DO UPDATE
			   SET value = EXCLUDED.value, error = EXCLUDED.error, company_id = EXCLUDED.company_id,
			       last_seen_at = now(), last_as_of = EXCLUDED.last_as_of, occurrences = p.occurrences + 1;
		END IF;
		RETURN NEXT;
	END LOOP;
	IF found_count > 10 THEN
		RAISE WARNING '%: % row(s) beyond the input bounds skipped in all', batch, found_count
			USING HINT = 'ar.batch_problem lists them.';
	END IF;
END $$;

GRANT SELECT ON ar.batch_problem TO ar_reader;
SELECT pg_catalog.pg_extension_config_dump('ar.batch_problem', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.batch_problem', 'id')::regclass, '');
REVOKE ALL ON FUNCTION ar.input_bound_violations() FROM PUBLIC;
REVOKE ALL ON FUNCTION ar._batch_quarantine(text, text[], bigint, date, boolean) FROM PUBLIC;

-- ar.record_payment checks the payment itself (a payment beyond the bounds
-- could otherwise be split into an allocation and a credit within them)
CREATE OR REPLACE FUNCTION ar.record_payment(invoice_number text, amount numeric, paid_on date,
                                  method text DEFAULT 'transfer')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	inv ar.invoice;
	applied numeric;
	allocation_id bigint;
BEGIN
	PERFORM ar._require_positive('payment', amount);
	IF paid_on IS NULL THEN
		RAISE EXCEPTION 'paid_on must be given' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the payment itself within the bounds, not only the parts it is split into
	PERFORM ar._check_amount('ar.record_payment: payment', amount), ar._check_date('ar.record_payment: paid_on', paid_on);
	inv := ar._invoice_by_number(invoice_number);
	IF inv.amount < 0 THEN
		RAISE EXCEPTION 'invoice "%" is a credit note', invoice_number
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use ar.apply_credit_note() to set it against an invoice.';
	END IF;
	IF inv.cancelled_on IS NOT NULL THEN
		RAISE EXCEPTION 'invoice "%" is cancelled', invoice_number USING ERRCODE = 'invalid_parameter_value';
	END IF;
	applied := least(amount, inv.open_amount);
	IF applied > 0 THEN
		INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, payment_means)
		VALUES (inv.company_id, inv.id, applied, paid_on, 'manual', method)
		RETURNING id INTO allocation_id;
	END IF;
	IF amount > applied THEN
		INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, invoice_id, created_on, note)
		VALUES (inv.company_id, inv.customer_id, inv.currency, amount - applied, 'overpayment', inv.id, paid_on,
		        format('%s payment of %s on invoice %s', method, amount, inv.number));
	END IF;
	RETURN allocation_id;
END $$;

-- ar.run_dunning skips (and reports) the customers with rows beyond the bounds
-- ar.run_dunning: its final form is re-created by piece 69.

-- the worker's dunning run counts what it skipped: its final form is
-- re-created by piece 98_zzz_worker_dunning.

