-- ---------------------------------------------------------------------------
-- SEPA direct debit collection (doc/sepa-direct-debit.md).
--
-- ar.sepa_creditor: the company as creditor (name, ICS creditor identifier,
-- IBAN, BIC, lead times).  ar.sepa_mandate: the debtors' mandates (UMR,
-- scheme, sequence state, status, account, amendments).
-- ar.collect_direct_debits() collects the open invoices of the customers
-- with an active mandate: one ar.direct_debit_collection (the pain.008
-- file) with one ar.direct_debit_line per mandate (one transaction) whose
-- invoices are its ar.direct_debit_line_invoice rows.
-- ar.settle_direct_debits() turns the bank's lines into settlements (the
-- batch credit: allocations from the bank line to the invoices) and
-- returns (R-transactions: negative allocations from the return line, the
-- invoices open again, the mandate updated).
--
-- src/upgrade/0.1.0--0.2.0/84_sepa_direct_debit.sql is this piece (a
-- symbolic link); the row-level security of its tables comes from
-- 96_company_rls.sql, their owner's privileges from ar._grant_definer(), in
-- a fresh install and an upgrade alike.
-- ---------------------------------------------------------------------------

-- -------------------------------------------------------------- helpers

-- The SEPA character set of the EPC implementation guidelines.
CREATE FUNCTION ar.is_sepa_text(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT value ~ '^[A-Za-z0-9/?:().,''+ -]*$' $$;
COMMENT ON FUNCTION ar.is_sepa_text(text) IS 'Whether a text uses only the SEPA character set (a-z A-Z 0-9 / - ? : ( ) . , '' + space).';

-- Latin letters with diacritics lose them (NFKD, the combining marks
-- dropped), a few letters and signs are spelt out; what is left outside the
-- SEPA set stays (ar.is_sepa_text says whether the result is usable).
CREATE FUNCTION ar.sepa_transliterate(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT btrim(regexp_replace(
	         translate(regexp_replace(normalize(
	             replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(value,
	                 'ß', 'ss'), 'Æ', 'AE'), 'æ', 'ae'), 'Œ', 'OE'), 'œ', 'oe'), 'Ø', 'O'), 'ø', 'o'), 'Ł', 'L'), 'ł', 'l'),
	                 '&', '+'),
	             NFKD), E'[\\u0300-\\u036f]', '', 'g'),
	           '’‘"«»_;–—' || E'\t\n\r', '''''''''''-,--   '),
	         ' {2,}', ' ', 'g'))
$$;
COMMENT ON FUNCTION ar.sepa_transliterate(text) IS 'A text brought to the SEPA character set where it can be: accents dropped (é → e, Ä → A), ß → ss, æ/œ → ae/oe, ø → o, ł → l, & → +, quotes → '', _ and dashes → -, ; → ",", spaces collapsed. Other characters stay: check the result with ar.is_sepa_text.';

-- ICS creditor identifier: country code, 2 check digits, 3-character
-- business code (not in the check), national identifier; ISO 7064 mod
-- 97-10 over national id || country || check digits (letters as 10..35).
CREATE FUNCTION ar._sepa_ics_check(value text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT (string_agg(CASE WHEN ch ~ '[0-9]' THEN ch ELSE (ascii(ch) - 55)::text END, '' ORDER BY n))::numeric % 97
	  FROM unnest(string_to_array(substr(value, 8) || substr(value, 1, 4), NULL)) WITH ORDINALITY AS c(ch, n)
$$;

CREATE FUNCTION ar.is_valid_sepa_creditor_id(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT value ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$' AND ar._sepa_ics_check(value) = 1
$$;
COMMENT ON FUNCTION ar.is_valid_sepa_creditor_id(text) IS 'Whether a text is a valid SEPA creditor identifier (ICS) in its compact form: country code, 2 check digits (ISO 7064 mod 97-10 over the national identifier, the country code and the check digits; the 3-character business code is not checked), business code, national identifier (at most 35 characters).';

-- Normalises (spaces dropped, upper case) and validates, naming the value.
CREATE FUNCTION ar.sepa_creditor_id(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	v constant text := upper(regexp_replace(value, '[[:space:]]', '', 'g'));
	expected integer;
BEGIN
	IF v !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$' THEN
		RAISE EXCEPTION 'invalid SEPA creditor identifier: "%"', value
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A creditor identifier is a country code, 2 check digits, a 3-character business code and a national identifier (letters and digits, at most 35 characters).';
	END IF;
	IF ar._sepa_ics_check(v) <> 1 THEN
		expected := 98 - ar._sepa_ics_check(substr(v, 1, 2) || '00' || substr(v, 5));
		RAISE EXCEPTION 'invalid SEPA creditor identifier: "%"', value
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('Its check digits are %s, %s expected (ISO 7064 mod 97-10).', substr(v, 3, 2), lpad(expected::text, 2, '0'));
	END IF;
	RETURN v;
END $$;
COMMENT ON FUNCTION ar.sepa_creditor_id(text) IS 'A SEPA creditor identifier in its compact form (spaces dropped, upper case), validated (ar.is_valid_sepa_creditor_id); else 22023 naming the value and, for bad check digits, the expected ones.';

-- Identifiers of the messages (mandate reference, message, payment and
-- end-to-end ids): the SEPA set without space, at most 35 characters, not
-- starting or ending with "/", no "//".
CREATE FUNCTION ar.is_valid_sepa_id(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT value ~ '^[A-Za-z0-9/?:().,''+-]{1,35}$' AND value !~ '^/|/$|//'
$$;
COMMENT ON FUNCTION ar.is_valid_sepa_id(text) IS 'Whether a text is a valid SEPA identifier (unique mandate reference, message, payment or end-to-end id): 1 to 35 characters of the SEPA set without space, not starting or ending with "/", without "//".';

CREATE FUNCTION ar._is_bic(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT value ~ '^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$' $$;

-- TARGET2 closing days: Saturdays, Sundays, 1 January, Good Friday, Easter
-- Monday, 1 May, 25 and 26 December.
CREATE FUNCTION ar.is_target2_day(day date) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	y constant integer := extract(year FROM day);
	a integer; b integer; c integer; h integer; l integer; m integer;
	easter date;
BEGIN
	IF extract(isodow FROM day) > 5 OR to_char(day, 'MMDD') IN ('0101', '0501', '1225', '1226') THEN
		RETURN false;
	END IF;
	-- Easter Sunday (anonymous Gregorian algorithm)
	a := y % 19; b := y / 100; c := y % 100;
	h := (19 * a + b - b / 4 - (b - (b + 8) / 25 + 1) / 3 + 15) % 30;
	l := (32 + 2 * (b % 4) + 2 * (c / 4) - h - c % 4) % 7;
	m := (a + 11 * h + 22 * l) / 451;
	easter := make_date(y, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
	RETURN day NOT IN (easter - 2, easter + 1);
END $$;
COMMENT ON FUNCTION ar.is_target2_day(date) IS 'Whether TARGET2 settles on that day: not a Saturday or Sunday, 1 January, Good Friday, Easter Monday, 1 May, 25 or 26 December.';

-- The n-th TARGET2 day after day (n = 0: day itself when TARGET2 is open,
-- else the next one).
CREATE FUNCTION ar.add_target2_days(day date, n integer) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	d date := day;
	left_ integer := n;
BEGIN
	IF n < 0 OR n > 366 THEN
		RAISE EXCEPTION 'TARGET2 days to add must be between 0 and 366, not %', n USING ERRCODE = 'invalid_parameter_value';
	END IF;
	WHILE NOT ar.is_target2_day(d) LOOP
		d := d + 1;
	END LOOP;
	WHILE left_ > 0 LOOP
		d := d + 1;
		IF ar.is_target2_day(d) THEN
			left_ := left_ - 1;
		END IF;
	END LOOP;
	RETURN d;
END $$;
COMMENT ON FUNCTION ar.add_target2_days(date, integer) IS 'The n-th TARGET2 business day after day (n = 0: day if TARGET2 is open then, else the next business day).';

-- ------------------------------------------------------------- creditor

CREATE TABLE ar.sepa_creditor (
	company_id            bigint PRIMARY KEY REFERENCES ar.company ON DELETE CASCADE,
	creditor_name         text NOT NULL CHECK (char_length(creditor_name) BETWEEN 1 AND 70 AND ar.is_sepa_text(creditor_name)),
	creditor_id           text NOT NULL CHECK (ar.is_valid_sepa_creditor_id(creditor_id)),
	creditor_iban         ar.iban NOT NULL,
	creditor_bic          text CHECK (ar._is_bic(creditor_bic)),
	prenotification_days  integer NOT NULL DEFAULT 14 CHECK (prenotification_days BETWEEN 0 AND 60),
	lead_days_first       integer NOT NULL DEFAULT 5 CHECK (lead_days_first BETWEEN 1 AND 15),
	lead_days_recurring   integer NOT NULL DEFAULT 2 CHECK (lead_days_recurring BETWEEN 1 AND 15),
	updated_by            text NOT NULL DEFAULT session_user,
	updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ar.sepa_creditor IS 'The company as SEPA direct debit creditor (set with ar.set_sepa_creditor by an admin): name, ICS creditor identifier, account, lead times.';
COMMENT ON COLUMN ar.sepa_creditor.company_id IS 'Company.';
COMMENT ON COLUMN ar.sepa_creditor.creditor_name IS 'Name in the files (SEPA character set, at most 70 characters).';
COMMENT ON COLUMN ar.sepa_creditor.creditor_id IS 'ICS creditor identifier (compact, check digits valid).';
COMMENT ON COLUMN ar.sepa_creditor.creditor_iban IS 'Account credited.';
COMMENT ON COLUMN ar.sepa_creditor.creditor_bic IS 'Its BIC (optional: IBAN-only files say NOTPROVIDED).';
COMMENT ON COLUMN ar.sepa_creditor.prenotification_days IS 'Calendar days between the file and the collection date (the pre-notification period agreed with the debtors; 14 by the rulebook unless agreed otherwise).';
COMMENT ON COLUMN ar.sepa_creditor.lead_days_first IS 'TARGET2 days between the file and the collection date for FRST and OOFF transactions (5: the lead time every bank accepts; the rulebook asks D-1 since November 2016).';
COMMENT ON COLUMN ar.sepa_creditor.lead_days_recurring IS 'TARGET2 days for RCUR and FNAL transactions (2; D-1 by the rulebook).';
COMMENT ON COLUMN ar.sepa_creditor.updated_by IS 'Who set it last.';
COMMENT ON COLUMN ar.sepa_creditor.updated_at IS 'When.';

CREATE TRIGGER sepa_creditor_audit AFTER INSERT OR UPDATE OR DELETE ON ar.sepa_creditor
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER sepa_creditor_no_truncate BEFORE TRUNCATE ON ar.sepa_creditor
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar.set_sepa_creditor(company text, creditor_name text, creditor_id text, creditor_iban text,
                                     creditor_bic text DEFAULT NULL, prenotification_days integer DEFAULT 14,
                                     lead_days_first integer DEFAULT 5, lead_days_recurring integer DEFAULT 2)
RETURNS ar.sepa_creditor
LANGUAGE plpgsql AS $$
DECLARE
	c ar.company;
	r ar.sepa_creditor;
	nm constant text := ar.sepa_transliterate(creditor_name);
	bic constant text := nullif(upper(btrim(creditor_bic)), '');
	-- values, not calls, in the DO UPDATE: Citus refuses functions that are
	-- not immutable there (a distributed ar.sepa_creditor, doc/scale_out.md)
	changed_by constant text := session_user;
	changed_at constant timestamptz := now();
BEGIN
	SELECT * INTO c FROM ar.company x WHERE x.code = company;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'company "%" does not exist', coalesce(company, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(c.id, 'admin');
	IF nm IS NULL OR nm = '' OR NOT ar.is_sepa_text(nm) OR char_length(nm) > 70 THEN
		RAISE EXCEPTION 'creditor name "%" is not 1 to 70 characters of the SEPA character set', creditor_name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT coalesce(ar.is_valid_iban(creditor_iban), false) THEN
		RAISE EXCEPTION 'invalid creditor IBAN: "%"', coalesce(creditor_iban, 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF bic IS NOT NULL AND NOT ar._is_bic(bic) THEN
		RAISE EXCEPTION 'invalid BIC: "%"', creditor_bic USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO ar.sepa_creditor AS s (company_id, creditor_name, creditor_id, creditor_iban, creditor_bic,
	                                   prenotification_days, lead_days_first, lead_days_recurring)
	VALUES (c.id, nm, ar.sepa_creditor_id(set_sepa_creditor.creditor_id), creditor_iban::ar.iban, bic,
	        set_sepa_creditor.prenotification_days, set_sepa_creditor.lead_days_first, set_sepa_creditor.lead_days_recurring)
	ON CONFLICT (company_id) DO UPDATE
	   SET creditor_name = EXCLUDED.creditor_name, creditor_id = EXCLUDED.creditor_id,
	       creditor_iban = EXCLUDED.creditor_iban, creditor_bic = EXCLUDED.creditor_bic,
	       prenotification_days = EXCLUDED.prenotification_days, lead_days_first = EXCLUDED.lead_days_first,
	       lead_days_recurring = EXCLUDED.lead_days_recurring, updated_by = changed_by, updated_at = changed_at
	RETURNING * INTO r;
	RETURN r;
END $$;
COMMENT ON FUNCTION ar.set_sepa_creditor(text, text, text, text, text, integer, integer, integer) IS
	'Sets the company (by code) up as SEPA direct debit creditor: name (transliterated to the SEPA set), ICS creditor identifier (validated), IBAN, optional BIC, pre-notification days, FRST/OOFF and RCUR/FNAL lead times in TARGET2 days. An admin of the company.';

-- ------------------------------------------------------------- mandates

CREATE TABLE ar.sepa_mandate (
	id                    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id            bigint NOT NULL,
	customer_id           bigint NOT NULL,
	umr                   text NOT NULL CHECK (ar.is_valid_sepa_id(umr)),
	signed_on             date NOT NULL,
	scheme                text NOT NULL DEFAULT 'CORE' CHECK (scheme IN ('CORE', 'B2B')),
	sequence_state        text NOT NULL DEFAULT 'FRST' CHECK (sequence_state IN ('FRST', 'RCUR', 'OOFF', 'FNAL')),
	status                text NOT NULL DEFAULT 'active'
		CHECK (status IN ('active', 'suspended', 'revoked', 'expired', 'completed')),
	status_reason         text,
	debtor_name           text NOT NULL CHECK (btrim(debtor_name) <> ''),
	debtor_iban           ar.iban NOT NULL,
	debtor_bic            text CHECK (ar._is_bic(debtor_bic)),
	original_umr          text CHECK (ar.is_valid_sepa_id(original_umr)),
	original_debtor_iban  ar.iban,
	debtor_bank_changed   boolean NOT NULL DEFAULT false,
	amended_on            date,
	last_collected_on     date,
	created_by            text NOT NULL DEFAULT session_user,
	created_at            timestamptz NOT NULL DEFAULT now(),
	updated_at            timestamptz,
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	UNIQUE (company_id, id)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('sepa_mandate', 'signed_on', 'date', NULL),
	('sepa_mandate', 'amended_on', 'date', NULL),
	('sepa_mandate', 'last_collected_on', 'date', NULL),
	('sepa_mandate', 'debtor_name', 'header_text', 140),
	('sepa_mandate', 'status_reason', 'header_text', 500);
CREATE UNIQUE INDEX sepa_mandate_umr ON ar.sepa_mandate (company_id, upper(umr));
-- one usable mandate per customer
CREATE UNIQUE INDEX sepa_mandate_usable ON ar.sepa_mandate (company_id, customer_id) WHERE status IN ('active', 'suspended');
COMMENT ON TABLE ar.sepa_mandate IS 'SEPA direct debit mandates of the customers (ar.create_sepa_mandate, ar.amend_sepa_mandate, ar.revoke_sepa_mandate; ar_admin). One active or suspended mandate per customer.';
COMMENT ON COLUMN ar.sepa_mandate.id IS 'Id.';
COMMENT ON COLUMN ar.sepa_mandate.company_id IS 'Company (the creditor).';
COMMENT ON COLUMN ar.sepa_mandate.customer_id IS 'Customer (the debtor).';
COMMENT ON COLUMN ar.sepa_mandate.umr IS 'Unique mandate reference (unique per creditor, case-insensitive; SEPA identifier: at most 35 characters).';
COMMENT ON COLUMN ar.sepa_mandate.signed_on IS 'Date of signature.';
COMMENT ON COLUMN ar.sepa_mandate.scheme IS 'CORE or B2B.';
COMMENT ON COLUMN ar.sepa_mandate.sequence_state IS 'Sequence type of the next collection: FRST (first; again after a failed first collection), RCUR (after a settled one), OOFF (one-off mandate), FNAL (last collection of the mandate).';
COMMENT ON COLUMN ar.sepa_mandate.status IS 'active; suspended (a return saying the account is closed or blocked: amend the account); revoked (by the debtor or a return MD01/MD07); expired (no collection for 36 months); completed (its OOFF or FNAL collection settled).';
COMMENT ON COLUMN ar.sepa_mandate.status_reason IS 'Why the status last changed.';
COMMENT ON COLUMN ar.sepa_mandate.debtor_name IS 'Debtor name (transliterated to the SEPA set in the files; personal: anonymised by ar.anonymise_customer).';
COMMENT ON COLUMN ar.sepa_mandate.debtor_iban IS 'Debtor account (personal).';
COMMENT ON COLUMN ar.sepa_mandate.debtor_bic IS 'Its BIC (optional; personal).';
COMMENT ON COLUMN ar.sepa_mandate.original_umr IS 'Former mandate reference, until a collection carrying the amendment settles.';
COMMENT ON COLUMN ar.sepa_mandate.original_debtor_iban IS 'Former debtor account, until a collection carrying the amendment settles (personal).';
COMMENT ON COLUMN ar.sepa_mandate.debtor_bank_changed IS 'The account moved to another bank: the next collection says SMNDA and is a FRST.';
COMMENT ON COLUMN ar.sepa_mandate.amended_on IS 'Date of the last amendment.';
COMMENT ON COLUMN ar.sepa_mandate.last_collected_on IS 'Requested collection date of the last collection presented (36 months without one: expired).';
COMMENT ON COLUMN ar.sepa_mandate.created_by IS 'Who recorded it.';
COMMENT ON COLUMN ar.sepa_mandate.created_at IS 'When.';
COMMENT ON COLUMN ar.sepa_mandate.updated_at IS 'Last change.';

CREATE TRIGGER sepa_mandate_audit AFTER INSERT OR UPDATE OR DELETE ON ar.sepa_mandate
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER sepa_mandate_no_truncate BEFORE TRUNCATE ON ar.sepa_mandate
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE FUNCTION ar._sepa_check_mandate_input(umr text, debtor_name text, debtor_iban text, debtor_bic text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF umr IS NOT NULL AND NOT ar.is_valid_sepa_id(umr) THEN
		RAISE EXCEPTION 'invalid mandate reference (UMR): "%"', umr
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = '1 to 35 characters of the SEPA set without space (a-z A-Z 0-9 / - ? : ( ) . , '' +), not starting or ending with "/", without "//".';
	END IF;
	IF debtor_name IS NOT NULL AND (char_length(btrim(debtor_name)) NOT BETWEEN 1 AND 140
	                               OR NOT ar.is_sepa_text(ar.sepa_transliterate(debtor_name))) THEN
		RAISE EXCEPTION 'debtor name "%" cannot be written in the SEPA character set', debtor_name
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('Transliterated: "%s".', ar.sepa_transliterate(debtor_name));
	END IF;
	IF debtor_iban IS NOT NULL AND NOT ar.is_valid_iban(debtor_iban) THEN
		RAISE EXCEPTION 'invalid debtor IBAN: "%"', debtor_iban USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF debtor_bic IS NOT NULL AND NOT ar._is_bic(upper(btrim(debtor_bic))) THEN
		RAISE EXCEPTION 'invalid BIC: "%"', debtor_bic USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;

CREATE FUNCTION ar.create_sepa_mandate(customer_id bigint, umr text, signed_on date, debtor_name text, debtor_iban text,
                                       debtor_bic text DEFAULT NULL, scheme text DEFAULT 'CORE', one_off boolean DEFAULT false)
RETURNS ar.sepa_mandate
LANGUAGE plpgsql AS $$
DECLARE
	cu ar.customer;
	m ar.sepa_mandate;
BEGIN
	SELECT * INTO cu FROM ar.customer c WHERE c.id = create_sepa_mandate.customer_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'customer % does not exist', coalesce(customer_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(cu.company_id, 'admin');
	IF umr IS NULL OR signed_on IS NULL OR debtor_name IS NULL OR debtor_iban IS NULL THEN
		RAISE EXCEPTION 'a mandate needs its reference, signature date, debtor name and IBAN' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF scheme IS NULL OR scheme NOT IN ('CORE', 'B2B') THEN
		RAISE EXCEPTION 'scheme must be CORE or B2B, not %', coalesce('"' || scheme || '"', 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._sepa_check_mandate_input(umr, debtor_name, debtor_iban, debtor_bic),
	        ar._check_date('ar.create_sepa_mandate: signed_on', signed_on);
	IF EXISTS (SELECT 1 FROM ar.sepa_mandate x WHERE x.company_id = cu.company_id AND upper(x.umr) = upper(create_sepa_mandate.umr)) THEN
		RAISE EXCEPTION 'mandate reference "%" is already used by the company', umr USING ERRCODE = 'unique_violation';
	END IF;
	IF EXISTS (SELECT 1 FROM ar.sepa_mandate x WHERE x.company_id = cu.company_id AND x.customer_id = cu.id
	            AND x.status IN ('active', 'suspended')) THEN
		RAISE EXCEPTION 'customer % already has a usable mandate', cu.code
			USING ERRCODE = 'unique_violation', HINT = 'Amend it with ar.amend_sepa_mandate() or revoke it first.';
	END IF;
	INSERT INTO ar.sepa_mandate (company_id, customer_id, umr, signed_on, scheme, sequence_state, debtor_name, debtor_iban, debtor_bic)
	VALUES (cu.company_id, cu.id, create_sepa_mandate.umr, create_sepa_mandate.signed_on, create_sepa_mandate.scheme,
	        CASE WHEN one_off THEN 'OOFF' ELSE 'FRST' END, btrim(create_sepa_mandate.debtor_name),
	        create_sepa_mandate.debtor_iban::ar.iban, nullif(upper(btrim(create_sepa_mandate.debtor_bic)), ''))
	RETURNING * INTO m;
	RETURN m;
END $$;
COMMENT ON FUNCTION ar.create_sepa_mandate(bigint, text, date, text, text, text, text, boolean) IS
	'Records a signed SEPA mandate of a customer: UMR (unique per company), signature date, debtor name and IBAN (validated), optional BIC, scheme CORE or B2B, one-off (OOFF) or recurrent (FRST first). An admin of the customer''s company.';

-- An amendment: a new reference, account, BIC or name.  The next
-- collection carries it (AmdmntInd, the original reference, the original
-- account, or SMNDA when the account moved to another bank, then a FRST).
-- A suspended mandate whose account changes is active again.
CREATE FUNCTION ar.amend_sepa_mandate(mandate_id bigint, umr text DEFAULT NULL, debtor_iban text DEFAULT NULL,
                                      debtor_bic text DEFAULT NULL, debtor_name text DEFAULT NULL,
                                      other_bank boolean DEFAULT NULL, amended_on date DEFAULT current_date)
RETURNS ar.sepa_mandate
LANGUAGE plpgsql AS $$
DECLARE
	m ar.sepa_mandate;
	new_iban ar.iban;
	moved boolean;
BEGIN
	SELECT * INTO m FROM ar.sepa_mandate x WHERE x.id = amend_sepa_mandate.mandate_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'mandate % does not exist', coalesce(mandate_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(m.company_id, 'admin');
	SELECT * INTO m FROM ar.sepa_mandate x WHERE x.company_id = m.company_id AND x.id = m.id FOR UPDATE;
	IF m.status NOT IN ('active', 'suspended') THEN
		RAISE EXCEPTION 'mandate % is %: it cannot be amended', m.umr, m.status USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	PERFORM ar._sepa_check_mandate_input(umr, debtor_name, debtor_iban, debtor_bic),
	        ar._check_date('ar.amend_sepa_mandate: amended_on', amended_on);
	IF umr IS NOT NULL AND upper(umr) <> upper(m.umr)
	   AND EXISTS (SELECT 1 FROM ar.sepa_mandate x WHERE x.company_id = m.company_id AND upper(x.umr) = upper(amend_sepa_mandate.umr)) THEN
		RAISE EXCEPTION 'mandate reference "%" is already used by the company', umr USING ERRCODE = 'unique_violation';
	END IF;
	new_iban := debtor_iban::ar.iban;
	IF new_iban IS NOT NULL AND new_iban::text <> m.debtor_iban::text THEN
		-- another bank: said by the caller, else another country, another BIC, or
		-- (no BIC known) other first four characters of the BBAN
		moved := coalesce(other_bank,
		                  substr(new_iban::text, 1, 2) <> substr(m.debtor_iban::text, 1, 2)
		                  OR CASE WHEN debtor_bic IS NOT NULL AND m.debtor_bic IS NOT NULL
		                          THEN upper(btrim(debtor_bic)) <> m.debtor_bic
		                          ELSE substr(new_iban::text, 5, 4) <> substr(m.debtor_iban::text, 5, 4) END);
		UPDATE ar.sepa_mandate x
		   SET original_debtor_iban = coalesce(x.original_debtor_iban, x.debtor_iban), debtor_iban = new_iban,
		       debtor_bank_changed = x.debtor_bank_changed OR moved,
		       sequence_state = CASE WHEN moved AND x.sequence_state = 'RCUR' THEN 'FRST' ELSE x.sequence_state END,
		       status = 'active',
		       status_reason = CASE WHEN x.status = 'suspended' THEN 'account amended' ELSE x.status_reason END
		 WHERE x.company_id = m.company_id AND x.id = m.id;
	END IF;
	IF umr IS NOT NULL AND umr <> m.umr THEN
		UPDATE ar.sepa_mandate x SET original_umr = coalesce(x.original_umr, x.umr), umr = amend_sepa_mandate.umr WHERE x.company_id = m.company_id AND x.id = m.id;
	END IF;
	IF debtor_bic IS NOT NULL THEN
		UPDATE ar.sepa_mandate x SET debtor_bic = nullif(upper(btrim(amend_sepa_mandate.debtor_bic)), '') WHERE x.company_id = m.company_id AND x.id = m.id;
	END IF;
	IF debtor_name IS NOT NULL THEN
		UPDATE ar.sepa_mandate x SET debtor_name = btrim(amend_sepa_mandate.debtor_name) WHERE x.company_id = m.company_id AND x.id = m.id;
	END IF;
	UPDATE ar.sepa_mandate x SET amended_on = amend_sepa_mandate.amended_on, updated_at = now() WHERE x.company_id = m.company_id AND x.id = m.id
	RETURNING * INTO m;
	RETURN m;
END $$;
COMMENT ON FUNCTION ar.amend_sepa_mandate(bigint, text, text, text, text, boolean, date) IS
	'Amends a mandate: new UMR, debtor IBAN, BIC or name. The next collections carry the amendment (original UMR, original IBAN, or SMNDA and a FRST when the account moved to another bank: other_bank, else guessed from the country, the BIC or the BBAN''s first 4 characters) until one settles. A suspended mandate whose IBAN changes is active again. An admin.';

CREATE FUNCTION ar.revoke_sepa_mandate(mandate_id bigint, reason text)
RETURNS ar.sepa_mandate
LANGUAGE plpgsql AS $$
DECLARE
	m ar.sepa_mandate;
BEGIN
	IF coalesce(btrim(reason), '') = '' THEN
		RAISE EXCEPTION 'revoking a mandate needs a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_header_text('ar.revoke_sepa_mandate: reason', reason, 500);
	SELECT * INTO m FROM ar.sepa_mandate x WHERE x.id = revoke_sepa_mandate.mandate_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'mandate % does not exist', coalesce(mandate_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(m.company_id, 'admin');
	UPDATE ar.sepa_mandate x SET status = 'revoked', status_reason = reason, updated_at = now()
	 WHERE x.company_id = m.company_id AND x.id = m.id AND x.status IN ('active', 'suspended')
	RETURNING * INTO m;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'mandate % is not active or suspended', (SELECT x.umr FROM ar.sepa_mandate x WHERE x.id = mandate_id)
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN m;
END $$;
COMMENT ON FUNCTION ar.revoke_sepa_mandate(bigint, text) IS 'Revokes a mandate (the debtor withdrew it), with a reason: it is never collected again; collections already sent are settled or returned as usual. An admin.';

-- Mandates without a collection for 36 months expire (rulebook).
-- A date as YYYY-MM-DD from immutable parts (to_char, format and a date's
-- text depend on settings, and Citus refuses such functions over a
-- column in an UPDATE of a distributed table).
CREATE FUNCTION ar._iso_date(day date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT lpad(extract(year FROM day)::integer::text, 4, '0') || '-' || lpad(extract(month FROM day)::integer::text, 2, '0')
	       || '-' || lpad(extract(day FROM day)::integer::text, 2, '0')
$$;

CREATE FUNCTION ar._expire_sepa_mandates(company_id bigint, as_of date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	used integer;
	unused integer;
BEGIN
	-- the mandates used, then those never used, their reasons written with
	-- immutable functions: Citus refuses others over a column in an UPDATE
	-- of a distributed table (and inside COALESCE or CASE)
	UPDATE ar.sepa_mandate m
	   SET status = 'expired', updated_at = now(),
	       status_reason = 'no collection for 36 months (last: ' || ar._iso_date(m.last_collected_on) || ')'
	 WHERE m.company_id = _expire_sepa_mandates.company_id AND m.status IN ('active', 'suspended')
	   AND m.last_collected_on + interval '36 months' <= as_of;
	GET DIAGNOSTICS used = ROW_COUNT;
	UPDATE ar.sepa_mandate m
	   SET status = 'expired', updated_at = now(),
	       status_reason = 'no collection for 36 months (last: none, signed ' || ar._iso_date(m.signed_on) || ')'
	 WHERE m.company_id = _expire_sepa_mandates.company_id AND m.status IN ('active', 'suspended')
	   AND m.last_collected_on IS NULL AND m.signed_on + interval '36 months' <= as_of;
	GET DIAGNOSTICS unused = ROW_COUNT;
	RETURN used + unused;
END $$;

-- The unstructured remittance information of a transaction: the invoice
-- numbers, ", "-separated; when they do not fit in 140 characters, as many
-- whole numbers as fit followed by " +n more", n counting those left out
-- (a number cut in half would name another invoice).
CREATE FUNCTION ar._sepa_remittance(numbers text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	n constant integer := cardinality(numbers);
	whole constant text := array_to_string(numbers, ', ');
	num text;
	len integer := 0;
	k integer := 0;
	fit integer := 0;
BEGIN
	IF char_length(whole) <= 140 THEN
		RETURN whole;
	END IF;
	-- the length grows by 3 characters at least per number, the tail shrinks
	-- by 1 at most: the first number that does not fit ends the search
	FOREACH num IN ARRAY numbers LOOP
		k := k + 1;
		len := len + char_length(num) + CASE WHEN k > 1 THEN 2 ELSE 0 END;
		EXIT WHEN len + char_length(format(' +%s more', n - k)) > 140;
		fit := k;
	END LOOP;
	IF fit = 0 THEN
		RETURN format('+%s more', n);
	END IF;
	RETURN array_to_string(numbers[1:fit], ', ') || format(' +%s more', n - fit);
END $$;
COMMENT ON FUNCTION ar._sepa_remittance(text[]) IS 'The remittance text of a direct debit: the invoice numbers, ", "-separated, within 140 characters: as many whole numbers as fit, then " +n more" (n: those left out).';

-- ---------------------------------------------------------- collections

CREATE TABLE ar.direct_debit_collection (
	id                         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id                 bigint NOT NULL REFERENCES ar.company,
	message_id                 text NOT NULL CHECK (ar.is_valid_sepa_id(message_id) AND char_length(message_id) <= 30),
	creation_time              timestamptz NOT NULL,
	requested_collection_date  date NOT NULL,
	due_until                  date NOT NULL,
	version                    text NOT NULL CHECK (version IN ('pain.008.001.02', 'pain.008.001.08')),
	currency                   char(3) NOT NULL DEFAULT 'EUR' CHECK (currency = 'EUR'),
	number_of_transactions     integer NOT NULL CHECK (number_of_transactions > 0),
	control_sum                numeric NOT NULL CHECK (control_sum > 0),
	creditor_id                text NOT NULL,
	creditor_iban              ar.iban NOT NULL,
	status                     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'closed')),
	document                   xml NOT NULL,
	created_by                 text NOT NULL DEFAULT session_user,
	UNIQUE (company_id, message_id),
	UNIQUE (company_id, id)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('direct_debit_collection', 'requested_collection_date', 'date', NULL),
	('direct_debit_collection', 'due_until', 'date', NULL),
	('direct_debit_collection', 'control_sum', 'amount', NULL);
COMMENT ON TABLE ar.direct_debit_collection IS 'A SEPA direct debit file made by ar.collect_direct_debits: message id, creation time, requested collection date, counts and the pain.008 document sent.';
COMMENT ON COLUMN ar.direct_debit_collection.id IS 'Id.';
COMMENT ON COLUMN ar.direct_debit_collection.company_id IS 'Company (creditor).';
COMMENT ON COLUMN ar.direct_debit_collection.message_id IS 'MsgId of the file (unique per company); its payment information blocks are MsgId-1, MsgId-2...';
COMMENT ON COLUMN ar.direct_debit_collection.creation_time IS 'CreDtTm (written in UTC).';
COMMENT ON COLUMN ar.direct_debit_collection.requested_collection_date IS 'ReqdColltnDt of every payment information block: a TARGET2 day after the pre-notification and lead times.';
COMMENT ON COLUMN ar.direct_debit_collection.due_until IS 'Invoices due by this date were collected.';
COMMENT ON COLUMN ar.direct_debit_collection.version IS 'pain.008.001.02 or pain.008.001.08.';
COMMENT ON COLUMN ar.direct_debit_collection.currency IS 'EUR.';
COMMENT ON COLUMN ar.direct_debit_collection.number_of_transactions IS 'NbOfTxs.';
COMMENT ON COLUMN ar.direct_debit_collection.control_sum IS 'CtrlSum.';
COMMENT ON COLUMN ar.direct_debit_collection.creditor_id IS 'ICS creditor identifier used.';
COMMENT ON COLUMN ar.direct_debit_collection.creditor_iban IS 'Account to be credited.';
COMMENT ON COLUMN ar.direct_debit_collection.status IS 'pending while a line is pending, then closed.';
COMMENT ON COLUMN ar.direct_debit_collection.document IS 'The pain.008 document.';
COMMENT ON COLUMN ar.direct_debit_collection.created_by IS 'Who made it.';

CREATE TRIGGER direct_debit_collection_audit AFTER INSERT OR UPDATE OR DELETE ON ar.direct_debit_collection
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER direct_debit_collection_no_truncate BEFORE TRUNCATE ON ar.direct_debit_collection
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE TABLE ar.direct_debit_line (
	id                         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	company_id                 bigint NOT NULL,
	collection_id              bigint NOT NULL,
	customer_id                bigint NOT NULL,
	mandate_id                 bigint NOT NULL REFERENCES ar.sepa_mandate,
	payment_info_id            text NOT NULL,
	end_to_end_id              text NOT NULL CHECK (ar.is_valid_sepa_id(end_to_end_id)),
	scheme                     text NOT NULL CHECK (scheme IN ('CORE', 'B2B')),
	sequence_type              text NOT NULL CHECK (sequence_type IN ('FRST', 'RCUR', 'OOFF', 'FNAL')),
	-- (the SEPA maximum of a transaction)
	amount                     numeric NOT NULL CHECK (amount > 0 AND amount <= 999999999.99),
	remittance_info            text NOT NULL,
	amended                    boolean NOT NULL DEFAULT false,
	status                     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'settled', 'returned', 'rejected')),
	settled_on                 date,
	settlement_transaction_id  bigint REFERENCES ar.bank_transaction,
	returned_on                date,
	return_reason              text CHECK (return_reason <> ''),
	return_transaction_id      bigint REFERENCES ar.bank_transaction,
	FOREIGN KEY (company_id, collection_id) REFERENCES ar.direct_debit_collection (company_id, id),
	FOREIGN KEY (company_id, customer_id) REFERENCES ar.customer (company_id, id),
	UNIQUE (company_id, end_to_end_id),
	UNIQUE (company_id, id)
);
INSERT INTO ar.input_bound (table_name, column_name, kind, max_chars) VALUES
	('direct_debit_line', 'amount', 'amount', NULL),
	('direct_debit_line', 'remittance_info', 'header_text', 140),
	('direct_debit_line', 'settled_on', 'date', NULL),
	('direct_debit_line', 'returned_on', 'date', NULL),
	('direct_debit_line', 'return_reason', 'header_text', 35);
CREATE INDEX direct_debit_line_collection ON ar.direct_debit_line (collection_id);
CREATE INDEX direct_debit_line_customer ON ar.direct_debit_line (customer_id);
CREATE INDEX direct_debit_line_mandate ON ar.direct_debit_line (mandate_id);
COMMENT ON TABLE ar.direct_debit_line IS 'One transaction of a direct debit file: one per mandate (customer) and collection, for the sum of its invoices (ar.direct_debit_line_invoice).';
COMMENT ON COLUMN ar.direct_debit_line.id IS 'Id.';
COMMENT ON COLUMN ar.direct_debit_line.company_id IS 'Company.';
COMMENT ON COLUMN ar.direct_debit_line.collection_id IS 'The file (ar.direct_debit_collection).';
COMMENT ON COLUMN ar.direct_debit_line.customer_id IS 'Customer debited.';
COMMENT ON COLUMN ar.direct_debit_line.mandate_id IS 'Mandate.';
COMMENT ON COLUMN ar.direct_debit_line.payment_info_id IS 'PmtInfId of its block (one per scheme and sequence type).';
COMMENT ON COLUMN ar.direct_debit_line.end_to_end_id IS 'EndToEndId (unique per company): how the bank''s returns name it.';
COMMENT ON COLUMN ar.direct_debit_line.scheme IS 'CORE or B2B.';
COMMENT ON COLUMN ar.direct_debit_line.sequence_type IS 'FRST, RCUR, OOFF or FNAL.';
COMMENT ON COLUMN ar.direct_debit_line.amount IS 'InstdAmt: the sum of its invoices'' open amounts.';
COMMENT ON COLUMN ar.direct_debit_line.remittance_info IS 'Unstructured remittance information (invoice numbers) or the RF creditor reference of its only invoice.';
COMMENT ON COLUMN ar.direct_debit_line.amended IS 'It carried the mandate''s amendment.';
COMMENT ON COLUMN ar.direct_debit_line.status IS 'pending (sent), settled (credited), returned (an R-transaction after settlement: invoices open again), rejected (before settlement).';
COMMENT ON COLUMN ar.direct_debit_line.settled_on IS 'Booking date of the credit.';
COMMENT ON COLUMN ar.direct_debit_line.settlement_transaction_id IS 'The bank line of the credit.';
COMMENT ON COLUMN ar.direct_debit_line.returned_on IS 'Date of the return or reject.';
COMMENT ON COLUMN ar.direct_debit_line.return_reason IS 'ISO reason code (AC04, AM04, MD01, MS02...).';
COMMENT ON COLUMN ar.direct_debit_line.return_transaction_id IS 'The bank line of the return.';

CREATE TRIGGER direct_debit_line_audit AFTER INSERT OR UPDATE OR DELETE ON ar.direct_debit_line
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER direct_debit_line_no_truncate BEFORE TRUNCATE ON ar.direct_debit_line
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

CREATE TABLE ar.direct_debit_line_invoice (
	line_id        bigint NOT NULL REFERENCES ar.direct_debit_line,
	invoice_id     bigint NOT NULL REFERENCES ar.invoice,
	company_id     bigint NOT NULL,
	amount         numeric NOT NULL CHECK (amount > 0 AND amount < 1e16 AND amount = round(amount, 2)),
	pending        boolean NOT NULL DEFAULT true,
	allocation_id  bigint,
	PRIMARY KEY (line_id, invoice_id),
	FOREIGN KEY (company_id, invoice_id) REFERENCES ar.invoice (company_id, id)
);
-- an invoice is in one pending collection at most (what makes concurrent
-- runs safe whatever their isolation level)
CREATE UNIQUE INDEX direct_debit_line_invoice_pending ON ar.direct_debit_line_invoice (invoice_id) WHERE pending;
COMMENT ON TABLE ar.direct_debit_line_invoice IS 'The invoices a direct debit line collects, with the amount of each.';
COMMENT ON COLUMN ar.direct_debit_line_invoice.line_id IS 'The line.';
COMMENT ON COLUMN ar.direct_debit_line_invoice.invoice_id IS 'The invoice.';
COMMENT ON COLUMN ar.direct_debit_line_invoice.company_id IS 'Company.';
COMMENT ON COLUMN ar.direct_debit_line_invoice.amount IS 'Amount collected for it (its open amount then).';
COMMENT ON COLUMN ar.direct_debit_line_invoice.pending IS 'The line is pending: the invoice is not collected again.';
COMMENT ON COLUMN ar.direct_debit_line_invoice.allocation_id IS 'The allocation of the settlement.';

CREATE TRIGGER direct_debit_line_invoice_audit AFTER INSERT OR UPDATE OR DELETE ON ar.direct_debit_line_invoice
	FOR EACH ROW EXECUTE FUNCTION ar._audit_row();
CREATE TRIGGER direct_debit_line_invoice_no_truncate BEFORE TRUNCATE ON ar.direct_debit_line_invoice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- --------------------------------------------------------------- pain.008

-- The document of a collection, from its lines, the creditor and the
-- mandates as they are now (called by ar.collect_direct_debits in the
-- transaction that made the lines).
CREATE FUNCTION ar._pain008(collection_id bigint) RETURNS xml
LANGUAGE plpgsql STABLE AS $$
DECLARE
	col ar.direct_debit_collection;
	cr ar.sepa_creditor;
	v08 boolean;
	ns text;
	doc xml;
BEGIN
	-- the collection's company read first, every table then named with it
	-- (routed to its shard on Citus)
	SELECT * INTO col FROM ar.direct_debit_collection c WHERE c.id = _pain008.collection_id;
	SELECT * INTO col FROM ar.direct_debit_collection c WHERE c.company_id = col.company_id AND c.id = _pain008.collection_id;
	SELECT * INTO cr FROM ar.sepa_creditor s WHERE s.company_id = col.company_id;
	v08 := col.version = 'pain.008.001.08';
	ns := 'urn:iso:std:iso:20022:tech:xsd:' || col.version;
	WITH tx AS (
		SELECT l.*, m.umr, m.signed_on, m.original_umr, m.original_debtor_iban, m.debtor_bank_changed, m.debtor_bic,
		       m.debtor_iban, ar.sepa_transliterate(m.debtor_name) AS debtor_name,
		       (SELECT i.payment_reference
		          FROM ar.direct_debit_line_invoice li JOIN ar.invoice i ON i.company_id = li.company_id AND i.id = li.invoice_id
		         WHERE li.company_id = l.company_id AND li.line_id = l.id AND ar.is_valid_creditor_ref(i.payment_reference)
		           AND (SELECT count(*) FROM ar.direct_debit_line_invoice x
		                 WHERE x.company_id = l.company_id AND x.line_id = l.id) = 1) AS rf
		  FROM ar.direct_debit_line l JOIN ar.sepa_mandate m ON m.company_id = l.company_id AND m.id = l.mandate_id
		 WHERE l.company_id = col.company_id AND l.collection_id = col.id
	), blocks AS (
		SELECT tx.payment_info_id, tx.scheme, tx.sequence_type, count(*) AS n, sum(tx.amount) AS total,
		       xmlagg(xmlelement(name "DrctDbtTxInf",
		           xmlelement(name "PmtId", xmlelement(name "EndToEndId", tx.end_to_end_id)),
		           xmlelement(name "InstdAmt", xmlattributes('EUR' AS "Ccy"), to_char(tx.amount, 'FM999999999990.00')),
		           xmlelement(name "DrctDbtTx", xmlelement(name "MndtRltdInf",
		               xmlelement(name "MndtId", tx.umr),
		               xmlelement(name "DtOfSgntr", to_char(tx.signed_on, 'YYYY-MM-DD')),
		               CASE WHEN tx.amended THEN xmlconcat(
		                   xmlelement(name "AmdmntInd", 'true'),
		                   xmlelement(name "AmdmntInfDtls",
		                       CASE WHEN tx.original_umr IS NOT NULL THEN xmlelement(name "OrgnlMndtId", tx.original_umr) END,
		                       CASE WHEN tx.original_debtor_iban IS NOT NULL AND NOT tx.debtor_bank_changed THEN
		                           xmlelement(name "OrgnlDbtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", tx.original_debtor_iban::text))) END,
		                       CASE WHEN tx.debtor_bank_changed THEN
		                           xmlelement(name "OrgnlDbtrAgt", xmlelement(name "FinInstnId",
		                               xmlelement(name "Othr", xmlelement(name "Id", 'SMNDA')))) END)) END)),
		           xmlelement(name "DbtrAgt", xmlelement(name "FinInstnId",
		               CASE WHEN tx.debtor_bic IS NOT NULL
		                    THEN CASE WHEN v08 THEN xmlelement(name "BICFI", tx.debtor_bic) ELSE xmlelement(name "BIC", tx.debtor_bic) END
		                    ELSE xmlelement(name "Othr", xmlelement(name "Id", 'NOTPROVIDED')) END)),
		           xmlelement(name "Dbtr", xmlelement(name "Nm", left(tx.debtor_name, 70))),
		           xmlelement(name "DbtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", tx.debtor_iban::text))),
		           xmlelement(name "RmtInf",
		               CASE WHEN tx.rf IS NOT NULL
		                    THEN xmlelement(name "Strd", xmlelement(name "CdtrRefInf",
		                             xmlelement(name "Tp", xmlelement(name "CdOrPrtry", xmlelement(name "Cd", 'SCOR')),
		                                        xmlelement(name "Issr", 'ISO')),
		                             xmlelement(name "Ref", upper(regexp_replace(tx.rf, E'[\\s.-]', '', 'g')))))
		                    ELSE xmlelement(name "Ustrd", tx.remittance_info) END))
		           ORDER BY tx.id) AS txs
		  FROM tx
		 GROUP BY tx.payment_info_id, tx.scheme, tx.sequence_type
	)
	SELECT xmlelement(name "Document", xmlattributes(ns AS xmlns),
	         xmlelement(name "CstmrDrctDbtInitn",
	           xmlelement(name "GrpHdr",
	             xmlelement(name "MsgId", col.message_id),
	             xmlelement(name "CreDtTm", to_char(col.creation_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')),
	             xmlelement(name "NbOfTxs", col.number_of_transactions),
	             xmlelement(name "CtrlSum", to_char(col.control_sum, 'FM999999999999990.00')),
	             xmlelement(name "InitgPty", xmlelement(name "Nm", cr.creditor_name))),
	           xmlagg(xmlelement(name "PmtInf",
	             xmlelement(name "PmtInfId", b.payment_info_id),
	             xmlelement(name "PmtMtd", 'DD'),
	             xmlelement(name "BtchBookg", 'true'),
	             xmlelement(name "NbOfTxs", b.n),
	             xmlelement(name "CtrlSum", to_char(b.total, 'FM999999999999990.00')),
	             xmlelement(name "PmtTpInf",
	               xmlelement(name "SvcLvl", xmlelement(name "Cd", 'SEPA')),
	               xmlelement(name "LclInstrm", xmlelement(name "Cd", b.scheme)),
	               xmlelement(name "SeqTp", b.sequence_type)),
	             xmlelement(name "ReqdColltnDt", to_char(col.requested_collection_date, 'YYYY-MM-DD')),
	             xmlelement(name "Cdtr", xmlelement(name "Nm", cr.creditor_name)),
	             xmlelement(name "CdtrAcct", xmlelement(name "Id", xmlelement(name "IBAN", col.creditor_iban::text))),
	             xmlelement(name "CdtrAgt", xmlelement(name "FinInstnId",
	               CASE WHEN cr.creditor_bic IS NOT NULL
	                    THEN CASE WHEN v08 THEN xmlelement(name "BICFI", cr.creditor_bic) ELSE xmlelement(name "BIC", cr.creditor_bic) END
	                    ELSE xmlelement(name "Othr", xmlelement(name "Id", 'NOTPROVIDED')) END)),
	             xmlelement(name "ChrgBr", 'SLEV'),
	             xmlelement(name "CdtrSchmeId", xmlelement(name "Id", xmlelement(name "PrvtId", xmlelement(name "Othr",
	               xmlelement(name "Id", col.creditor_id),
	               xmlelement(name "SchmeNm", xmlelement(name "Prtry", 'SEPA')))))),
	             b.txs) ORDER BY b.payment_info_id)))
	  INTO doc
	  FROM blocks b;
	RETURN doc;
END $$;

-- The invoices a collection takes: open, in EUR, due by due_until, not
-- disputed (flag or open dispute), the customer not blocked on the day,
-- not in a pending line, of a customer with an active mandate (a one-off
-- mandate used once).
CREATE FUNCTION ar._direct_debit_candidates(company_id bigint, due_until date, today date)
RETURNS TABLE (invoice_id bigint, customer_id bigint, mandate_id bigint, amount numeric, due_date date, number text)
-- PL/pgSQL, each table named with the company: as a SQL function, inlined
-- in the queries of ar.collect_direct_debits, Citus read the coordinator's
-- own (empty) tables and the collection found nothing (doc/scale_out.md)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
DECLARE
	co constant bigint := _direct_debit_candidates.company_id;
	until constant date := _direct_debit_candidates.due_until;
	on_day constant date := _direct_debit_candidates.today;
BEGIN
	RETURN QUERY
	SELECT i.id, i.customer_id, m.id, i.open_amount, i.due_date, i.number
	  FROM ar.invoice i
	  JOIN ar.sepa_mandate m ON m.company_id = i.company_id AND m.customer_id = i.customer_id AND m.status = 'active'
	 WHERE i.company_id = co AND i.currency = 'EUR' AND i.open_amount > 0
	   AND i.due_date <= until
	   AND i.cancelled_on IS NULL AND NOT i.disputed AND i.status <> 'disputed'
	   AND NOT EXISTS (SELECT 1 FROM ar.dispute d
	                    WHERE d.company_id = i.company_id AND d.invoice_id = i.id AND d.resolved_at IS NULL)
	   AND NOT EXISTS (SELECT 1 FROM ar.dunning_block b
	                    WHERE b.company_id = i.company_id AND b.customer_id = i.customer_id AND b.lifted_at IS NULL
	                      AND coalesce(b.from_on, on_day) <= on_day AND b.until > on_day)
	   AND NOT EXISTS (SELECT 1 FROM ar.direct_debit_line_invoice p
	                    WHERE p.company_id = i.company_id AND p.invoice_id = i.id AND p.pending)
	   AND NOT (m.sequence_state = 'OOFF' AND EXISTS (SELECT 1 FROM ar.direct_debit_line l
	                                                   WHERE l.company_id = m.company_id AND l.mandate_id = m.id
	                                                     AND l.status IN ('pending', 'settled')));
END $$;

-- Collects the open invoices due by due_until of the customers with an
-- active mandate (doc/sepa-direct-debit.md).  One run at a time per
-- company (the creditor row is locked); an invoice in a pending line is
-- never collected again (unique index), whatever the isolation level.
CREATE FUNCTION ar.collect_direct_debits(due_until date, company bigint DEFAULT NULL, collection_date date DEFAULT NULL,
                                         version text DEFAULT 'pain.008.001.02', message_id text DEFAULT NULL,
                                         creation_time timestamptz DEFAULT NULL)
RETURNS xml
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	co bigint := company;
	cr ar.sepa_creditor;
	made timestamptz := coalesce(creation_time, now());
	today date;
	earliest date;
	reqd date;
	col_id bigint;
	msg text;
	bad record;
	n_lines integer;
	total numeric;
	doc xml;
	-- the candidates (ar._direct_debit_candidates), column by column
	c_invoice bigint[];
	c_customer bigint[];
	c_mandate bigint[];
	c_amount numeric[];
	c_due date[];
	c_number text[];
BEGIN
	IF due_until IS NULL OR NOT isfinite(due_until) THEN
		RAISE EXCEPTION 'due_until must be a finite date, not %', coalesce(due_until::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.collect_direct_debits: due_until', due_until),
	        ar._check_date('ar.collect_direct_debits: collection_date', collection_date);
	IF version IS NULL OR version NOT IN ('pain.008.001.02', 'pain.008.001.08') THEN
		RAISE EXCEPTION 'version must be pain.008.001.02 or pain.008.001.08, not %', coalesce('"' || version || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF message_id IS NOT NULL AND NOT (ar.is_valid_sepa_id(message_id) AND char_length(message_id) <= 30) THEN
		RAISE EXCEPTION 'invalid message id: "%"', message_id
			USING ERRCODE = 'invalid_parameter_value', DETAIL = 'At most 30 characters of the SEPA set without space, not starting or ending with "/", without "//".';
	END IF;
	IF NOT isfinite(made) THEN
		RAISE EXCEPTION 'creation_time must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	today := (made AT TIME ZONE 'UTC')::date;
	PERFORM ar._check_date('ar.collect_direct_debits: creation_time', today);
	IF co IS NULL THEN
		SELECT min(s.company_id), count(*) INTO co, n_lines
		  FROM ar.sepa_creditor s WHERE s.company_id = ANY (ar._company_ids('collector'));
		IF n_lines <> 1 THEN
			RAISE EXCEPTION '% companies you collect for are set up as SEPA creditors: name one', n_lines
				USING ERRCODE = 'invalid_parameter_value', HINT = 'ar.set_sepa_creditor() sets a company up.';
		END IF;
	END IF;
	PERFORM ar._require_company(co, 'collector');
	-- one run at a time per company
	SELECT * INTO cr FROM ar.sepa_creditor s WHERE s.company_id = co FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'company "%" is not set up as a SEPA creditor', (SELECT c.code FROM ar.company c WHERE c.id = co)
			USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'ar.set_sepa_creditor() sets it up.';
	END IF;
	IF message_id IS NOT NULL AND EXISTS (SELECT 1 FROM ar.direct_debit_collection c WHERE c.company_id = co AND c.message_id = collect_direct_debits.message_id) THEN
		RAISE EXCEPTION 'message id "%" was already used', message_id USING ERRCODE = 'unique_violation';
	END IF;
	PERFORM ar._expire_sepa_mandates(co, today);

	-- the invoices: open, in EUR, due by due_until, not disputed (flag or open
	-- dispute), the customer not blocked on the day, not in a pending line;
	-- locked in id order (the ledger's order) before they are read again
	PERFORM 1 FROM ar.invoice i
	  JOIN ar.sepa_mandate m ON m.company_id = i.company_id AND m.customer_id = i.customer_id AND m.status = 'active'
	 WHERE i.company_id = co AND i.open_amount > 0 AND i.due_date <= due_until
	 ORDER BY i.id FOR UPDATE OF i;
	-- read once, on this node: the statements below join them as values
	-- (on Citus a query naming only the company's tables runs on its
	-- worker, where a function reading the distributed tables cannot)
	SELECT coalesce(array_agg(c.invoice_id ORDER BY c.invoice_id), '{}'), array_agg(c.customer_id ORDER BY c.invoice_id),
	       array_agg(c.mandate_id ORDER BY c.invoice_id), array_agg(c.amount ORDER BY c.invoice_id),
	       array_agg(c.due_date ORDER BY c.invoice_id), array_agg(c.number ORDER BY c.invoice_id)
	  INTO c_invoice, c_customer, c_mandate, c_amount, c_due, c_number
	  FROM ar._direct_debit_candidates(co, collect_direct_debits.due_until, today) c;
	IF cardinality(c_invoice) = 0 THEN
		RETURN NULL;
	END IF;

	-- validation: one line per mandate, within the SEPA bounds
	SELECT m.umr, cu.code, sum(p.amount) AS amount INTO bad
	  FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number)
	  JOIN ar.sepa_mandate m ON m.company_id = co AND m.id = p.mandate_id
	  JOIN ar.customer cu ON cu.company_id = co AND cu.id = p.customer_id
	 GROUP BY m.umr, cu.code HAVING sum(p.amount) > 999999999.99 OR sum(p.amount) <> round(sum(p.amount), 2)
	 ORDER BY m.umr LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the collection of mandate % (customer %) would be %, outside 0.01 to 999999999.99 with 2 decimals', bad.umr, bad.code, bad.amount
			USING ERRCODE = 'numeric_value_out_of_range';
	END IF;
	SELECT m.umr, cu.code, m.debtor_name INTO bad
	  FROM ar.sepa_mandate m JOIN ar.customer cu ON cu.company_id = m.company_id AND cu.id = m.customer_id
	 WHERE m.company_id = co AND m.id IN (SELECT p.mandate_id FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number))
	   AND (NOT ar.is_sepa_text(ar.sepa_transliterate(m.debtor_name)) OR ar.sepa_transliterate(m.debtor_name) = ''
	        OR NOT ar.is_valid_sepa_id(m.umr) OR m.signed_on > today)
	 ORDER BY m.umr LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'mandate % (customer %) cannot be collected', bad.umr, bad.code
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'Its debtor name must be writable in the SEPA character set, its reference valid and its signature date not in the future.';
	END IF;
	SELECT p.number, cu.code INTO bad
	  FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number) JOIN ar.customer cu ON cu.company_id = co AND cu.id = p.customer_id
	 WHERE NOT ar.is_sepa_text(ar.sepa_transliterate(p.number)) ORDER BY p.number LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invoice number "%" (customer %) cannot be written in the SEPA character set', bad.number, bad.code
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- the collection date: pre-notification, lead times of the sequence types
	-- present, the invoices' due dates; a TARGET2 day
	earliest := ar.add_target2_days(greatest(today + cr.prenotification_days,
	                                         (SELECT max(p.due_date) FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number)),
	                                         ar.add_target2_days(today,
	                                             CASE WHEN EXISTS (SELECT 1 FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number) JOIN ar.sepa_mandate m ON m.company_id = co AND m.id = p.mandate_id
	                                                                WHERE m.sequence_state IN ('FRST', 'OOFF') OR m.debtor_bank_changed)
	                                                  THEN cr.lead_days_first ELSE cr.lead_days_recurring END)), 0);
	IF collection_date IS NULL THEN
		reqd := earliest;
	ELSIF NOT ar.is_target2_day(collection_date) THEN
		RAISE EXCEPTION 'collection date % is not a TARGET2 business day', to_char(collection_date, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value', DETAIL = format('The next one is %s.', to_char(ar.add_target2_days(collection_date, 0), 'YYYY-MM-DD'));
	ELSIF collection_date < earliest THEN
		RAISE EXCEPTION 'collection date % is too early', to_char(collection_date, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('The earliest is %s (pre-notification %s days, lead times %s/%s TARGET2 days, due dates).',
			                      to_char(earliest, 'YYYY-MM-DD'), cr.prenotification_days, cr.lead_days_first, cr.lead_days_recurring);
	ELSE
		reqd := collection_date;
	END IF;

	INSERT INTO ar.direct_debit_collection (company_id, message_id, creation_time, requested_collection_date, due_until, version,
	                                        number_of_transactions, control_sum, creditor_id, creditor_iban, document)
	VALUES (co, coalesce(message_id, 'PENDING'), made, reqd, collect_direct_debits.due_until, collect_direct_debits.version,
	        1, 1, cr.creditor_id, cr.creditor_iban, '<pending/>')
	RETURNING id INTO col_id;
	msg := coalesce(message_id, 'AR' || to_char(made AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || '-' || col_id);

	BEGIN
		WITH per_mandate AS (
			SELECT p.mandate_id, p.customer_id, sum(p.amount) AS amount,
			       ar._sepa_remittance(array_agg(ar.sepa_transliterate(p.number) ORDER BY p.due_date, p.number)) AS numbers
			  FROM unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number) GROUP BY p.mandate_id, p.customer_id
		), typed AS (
			SELECT pm.*, m.scheme,
			       CASE WHEN m.debtor_bank_changed AND m.sequence_state = 'RCUR' THEN 'FRST' ELSE m.sequence_state END AS seq,
			       (m.original_umr IS NOT NULL OR m.original_debtor_iban IS NOT NULL OR m.debtor_bank_changed) AS amended
			  FROM per_mandate pm JOIN ar.sepa_mandate m ON m.company_id = co AND m.id = pm.mandate_id
		), blocks AS (
			SELECT t.scheme, t.seq, row_number() OVER (ORDER BY t.scheme, array_position(ARRAY['FRST', 'RCUR', 'OOFF', 'FNAL'], t.seq)) AS k
			  FROM (SELECT DISTINCT t.scheme, t.seq FROM typed t) t
		), ins AS (
			INSERT INTO ar.direct_debit_line (company_id, collection_id, customer_id, mandate_id, payment_info_id, end_to_end_id,
			                                  scheme, sequence_type, amount, remittance_info, amended)
			SELECT co, col_id, t.customer_id, t.mandate_id, msg || '-' || b.k, 'DD' || col_id || '-' || t.mandate_id,
			       t.scheme, t.seq, t.amount, t.numbers, t.amended
			  FROM typed t JOIN blocks b ON b.scheme = t.scheme AND b.seq = t.seq
			 ORDER BY b.k, t.customer_id
			RETURNING id, mandate_id
		)
		INSERT INTO ar.direct_debit_line_invoice (line_id, invoice_id, company_id, amount)
		SELECT ins.id, p.invoice_id, co, p.amount
		  FROM ins JOIN unnest(c_invoice, c_customer, c_mandate, c_amount, c_due, c_number) p(invoice_id, customer_id, mandate_id, amount, due_date, number) ON p.mandate_id = ins.mandate_id;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'an invoice of this collection was put in another pending collection concurrently'
			USING ERRCODE = 'serialization_failure', HINT = 'Run ar.collect_direct_debits() again.';
	END;

	SELECT count(*), sum(l.amount) INTO n_lines, total FROM ar.direct_debit_line l WHERE l.company_id = co AND l.collection_id = col_id;
	UPDATE ar.direct_debit_collection c SET message_id = msg, number_of_transactions = n_lines, control_sum = total
	 WHERE c.company_id = co AND c.id = col_id;
	UPDATE ar.sepa_mandate m SET last_collected_on = reqd
	 WHERE m.company_id = co AND m.id IN (SELECT l.mandate_id FROM ar.direct_debit_line l WHERE l.company_id = co AND l.collection_id = col_id);
	doc := ar._pain008(col_id);
	UPDATE ar.direct_debit_collection c SET document = doc WHERE c.company_id = co AND c.id = col_id;
	RETURN doc;
END $$;
COMMENT ON FUNCTION ar.collect_direct_debits(date, bigint, date, text, text, timestamptz) IS
	'Collects by SEPA direct debit the open EUR invoices due by due_until (not disputed, customer not blocked, not in a pending collection) of the customers with an active mandate, in the company given (else the only one the caller collects for with a creditor set up): one ar.direct_debit_collection with one line per mandate, and returns its pain.008 document (version pain.008.001.02 or pain.008.001.08). The collection date is the earliest TARGET2 day after the pre-notification, the lead times and the due dates, or collection_date when it is such a day and not earlier. message_id and creation_time fix the MsgId and CreDtTm (tests, re-runs). NULL when there is nothing to collect. ar_collector.';

-- ------------------------------------------------------------ settlement

-- What a return reason does to the mandate (doc/sepa-direct-debit.md).
CREATE FUNCTION ar.sepa_return_effect(reason_code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT CASE WHEN reason_code IN ('MD01', 'MD07', 'MD08') THEN 'revoke'
	            WHEN reason_code IN ('AC01', 'AC04', 'AC06', 'AC13', 'AG01', 'AG02', 'BE05', 'RR01', 'RR02', 'RR03', 'RR04') THEN 'suspend'
	            ELSE 'none' END
$$;
COMMENT ON FUNCTION ar.sepa_return_effect(text) IS 'What a return or reject reason does to the mandate: revoke (MD01 no mandate, MD07 debtor deceased, MD08), suspend (account wrong, closed or blocked: AC01, AC04, AC06, AC13, AG01, AG02, BE05, RR01-RR04; amend the account), none (AM04 insufficient funds, MS02/MS03 refused, MD06 refund, SL01, ...: collected again next time).';

-- A line rejected or returned: the mandate follows the reason; a failed
-- first collection leaves the mandate at FRST; a failed one-off or final
-- one leaves it usable.
CREATE FUNCTION ar._direct_debit_failed(line_id bigint, reason_code text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	l ar.direct_debit_line;
	effect constant text := ar.sepa_return_effect(reason_code);
	returned text;
	later_settled boolean;
BEGIN
	SELECT * INTO l FROM ar.direct_debit_line x WHERE x.id = line_id;
	-- a failed FRST puts the mandate back to FRST only while no later debit
	-- of it was credited (a refund of an old first collection, MD06, weeks
	-- after the RCURs that followed, leaves the sequence established)
	later_settled := EXISTS (SELECT 1 FROM ar.direct_debit_line x
	                          WHERE x.company_id = l.company_id AND x.mandate_id = l.mandate_id AND x.id > l.id
	                            AND x.settlement_transaction_id IS NOT NULL);
	-- a value, not a call, inside the CASE below: Citus refuses functions
	-- that are not immutable there (a distributed ar.sepa_mandate); every
	-- table named with the line's company (routed to its shard)
	returned := format('direct debit %s returned (%s)', l.end_to_end_id, reason_code);
	UPDATE ar.direct_debit_line_invoice li SET pending = false WHERE li.company_id = l.company_id AND li.line_id = l.id;
	UPDATE ar.sepa_mandate m
	   SET sequence_state = CASE WHEN l.sequence_type = 'FRST' AND NOT later_settled THEN 'FRST' ELSE m.sequence_state END,
	       status = CASE WHEN effect = 'revoke' AND m.status IN ('active', 'suspended', 'completed') THEN 'revoked'
	                     WHEN effect = 'suspend' AND m.status IN ('active', 'completed') THEN 'suspended'
	                     WHEN m.status = 'completed' AND l.sequence_type IN ('OOFF', 'FNAL') THEN 'active'
	                     ELSE m.status END,
	       status_reason = CASE WHEN effect <> 'none' OR (m.status = 'completed' AND l.sequence_type IN ('OOFF', 'FNAL'))
	                            THEN returned
	                            ELSE m.status_reason END,
	       updated_at = now()
	 WHERE m.company_id = l.company_id AND m.id = l.mandate_id;
	UPDATE ar.direct_debit_collection c SET status = 'closed'
	 WHERE c.company_id = l.company_id AND c.id = l.collection_id
	   AND NOT EXISTS (SELECT 1 FROM ar.direct_debit_line x
	                    WHERE x.company_id = c.company_id AND x.collection_id = c.id AND x.status = 'pending');
END $$;

-- A reject before settlement (pain.002 or the bank's report, no booking):
-- the line is rejected, its invoices are free for the next collection.
CREATE FUNCTION ar.reject_direct_debit(end_to_end_id text, reason_code text, rejected_on date DEFAULT current_date,
                                       company text DEFAULT NULL)
RETURNS ar.direct_debit_line
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	l ar.direct_debit_line;
	n integer;
	lid bigint;
BEGIN
	IF reason_code IS NULL OR reason_code !~ '^[A-Z0-9]{4}$' THEN
		RAISE EXCEPTION 'a reject reason is a 4-character ISO code (AC04, AM04, MD01...), not %', coalesce('"' || reason_code || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM ar._check_date('ar.reject_direct_debit: rejected_on', rejected_on);
	-- among the lines of the companies the caller collects for (another
	-- company's end-to-end ids are not even said to exist)
	SELECT count(*), min(x.id) INTO n, lid FROM ar.direct_debit_line x
	 WHERE x.end_to_end_id = reject_direct_debit.end_to_end_id
	   AND x.company_id = ANY (ar._company_ids('collector'))
	   AND (company IS NULL OR x.company_id = (ar._company_by_code(company)).id);
	IF n = 0 THEN
		RAISE EXCEPTION 'no direct debit has end-to-end id "%"', coalesce(end_to_end_id, 'NULL') USING ERRCODE = 'no_data_found';
	ELSIF n > 1 THEN
		RAISE EXCEPTION 'several companies have a direct debit of end-to-end id "%": name the company', end_to_end_id
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO l FROM ar.direct_debit_line x WHERE x.id = lid;
	PERFORM ar._require_company(l.company_id, 'collector');
	SELECT * INTO l FROM ar.direct_debit_line x WHERE x.company_id = l.company_id AND x.id = l.id FOR UPDATE;
	IF l.status <> 'pending' THEN
		RAISE EXCEPTION 'direct debit % is %, not pending', l.end_to_end_id, l.status
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'A return after settlement comes as a bank line: ar.settle_direct_debits() handles it.';
	END IF;
	UPDATE ar.direct_debit_line x SET status = 'rejected', returned_on = rejected_on, return_reason = reason_code
	 WHERE x.company_id = l.company_id AND x.id = l.id RETURNING * INTO l;
	PERFORM ar._direct_debit_failed(l.id, reason_code);
	RETURN l;
END $$;
COMMENT ON FUNCTION ar.reject_direct_debit(text, text, date, text) IS
	'Records the reject of a pending direct debit before settlement (by end-to-end id, with its ISO reason code): the line is rejected, its invoices free for the next collection, the mandate updated (ar.sepa_return_effect; a failed FRST stays FRST). ar_collector.';

-- The bank's lines of direct debits (doc/sepa-direct-debit.md):
--  * a credit (amount > 0, nothing allocated) equal to the pending lines of
--    a payment information block or of a whole collection, named by its
--    PmtInfId or MsgId in its texts, else the only such block or collection
--    of that amount, booked on or after the file's creation: the block's
--    lines are settled, each invoice allocated from the credit;
--  * a return (amount < 0, with a return reason or marked reversal) whose
--    end-to-end id is a settled line's, of its amount: the line is returned,
--    its invoices reopened by negative allocations from the return line, the
--    mandate updated.
CREATE FUNCTION ar.settle_direct_debits(company text DEFAULT NULL, bank_transaction_ids bigint[] DEFAULT NULL)
RETURNS TABLE (bank_transaction_id bigint, collection_id bigint, line_id bigint, end_to_end_id text, outcome text,
               amount numeric, reason_code text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	cos bigint[];
	other bigint;
	t ar.bank_transaction;
	texts text;
	grp record;
	n integer;
	l ar.direct_debit_line;
	inv record;
	alloc_id bigint;
	allocs bigint[];
	invs bigint[];
	left_ numeric;
	back numeric;
	reason text;
	credit_id bigint;
	matched_on text;
	lid bigint;
	settled_reason text;
	grp_message text;
	doc xml;
	nss text[];
	sent_e2e text[];
	sent_umr text[];
	sent_iban text[];
	k integer;
	mnd ar.sepa_mandate;
	new_umr text;
	new_iban ar.iban;
	new_moved boolean;
	credit record;
	unrecovered numeric;
	return_summary text;
	return_flags text[];
	-- values, not calls, in the DO UPDATE and CASE clauses below: Citus
	-- refuses functions that are not immutable there (distributed tables);
	-- every statement names the line's company (routed to its shard)
	decided constant timestamptz := now();
BEGIN
	IF company IS NOT NULL THEN
		cos := ARRAY[(ar._company_by_code(company)).id];
		PERFORM ar._require_company(cos[1], 'collector');
	ELSE
		cos := ar._company_ids('collector');
	END IF;
	IF bank_transaction_ids IS NOT NULL THEN
		SELECT x.company_id INTO other FROM ar.bank_transaction x
		 WHERE x.id = ANY (bank_transaction_ids) AND NOT (x.company_id = ANY (cos)) ORDER BY x.id LIMIT 1;
		IF FOUND THEN
			PERFORM ar._require_company(other, 'collector');
		END IF;
	END IF;

	-- credits first, then returns, in booking order
	FOR t IN SELECT x.* FROM ar.bank_transaction x
	          WHERE x.company_id = ANY (cos) AND (bank_transaction_ids IS NULL OR x.id = ANY (bank_transaction_ids))
	            AND x.currency = 'EUR' AND x.allocated_amount = 0 AND x.status IN ('unmatched', 'proposed')
	            AND EXISTS (SELECT 1 FROM ar.direct_debit_line dl WHERE dl.company_id = x.company_id AND dl.status IN ('pending', 'settled'))
	          ORDER BY x.amount < 0, x.booking_date, x.id LOOP
		texts := concat_ws(' ', t.remittance_info, t.structured_reference, t.end_to_end_id, t.bank_reference,
		                   t.customer_reference, t.additional_info, t.booking_text);
		IF t.amount > 0 THEN
			-- the payment information blocks and collections this credit may be
			WITH g AS (
				SELECT dl.collection_id, dl.payment_info_id AS gid, sum(dl.amount) AS total
				  FROM ar.direct_debit_line dl WHERE dl.company_id = t.company_id AND dl.status = 'pending'
				 GROUP BY dl.collection_id, dl.payment_info_id
				UNION ALL
				SELECT dl.collection_id, c.message_id, sum(dl.amount)
				  FROM ar.direct_debit_line dl JOIN ar.direct_debit_collection c ON c.company_id = dl.company_id AND c.id = dl.collection_id
				 WHERE dl.company_id = t.company_id AND dl.status = 'pending'
				 GROUP BY dl.collection_id, c.message_id
				-- (a collection of one block is that block)
				HAVING count(DISTINCT dl.payment_info_id) > 1
			), m AS (
				-- named in the line, or (by amount alone) booked around the collection date
				SELECT x.* FROM (
					SELECT g.*, strpos(upper(texts), upper(g.gid)) > 0 AS named, c.requested_collection_date AS reqd
					  FROM g JOIN ar.direct_debit_collection c ON c.company_id = t.company_id AND c.id = g.collection_id
					 WHERE g.total = t.amount AND c.creation_time::date <= t.booking_date) x
				 WHERE x.named OR t.booking_date BETWEEN x.reqd - 1 AND x.reqd + 10
			)
			SELECT count(*) FILTER (WHERE m.named) AS named, count(*) AS all_,
			       (array_agg(m.collection_id ORDER BY m.named DESC, m.collection_id))[1] AS collection_id,
			       (array_agg(m.gid ORDER BY m.named DESC, m.collection_id))[1] AS gid
			  INTO grp FROM m;
			IF NOT (grp.named = 1 OR (grp.named = 0 AND grp.all_ = 1)) THEN
				CONTINUE;
			END IF;
			-- the ledger's order: invoices, then the bank line (each lock naming
			-- the line's company: routed on Citus, doc/scale_out.md blocker 5)
			PERFORM 1 FROM ar.invoice i
			 WHERE i.company_id = t.company_id
			   AND i.id IN (SELECT li.invoice_id FROM ar.direct_debit_line_invoice li
			                  JOIN ar.direct_debit_line dl ON dl.id = li.line_id AND dl.company_id = li.company_id
			                 WHERE li.company_id = t.company_id AND dl.collection_id = grp.collection_id AND dl.status = 'pending')
			 ORDER BY i.id FOR UPDATE;
			SELECT * INTO t FROM ar.bank_transaction x WHERE x.company_id = t.company_id AND x.id = t.id FOR UPDATE;
			IF t.allocated_amount <> 0 THEN
				CONTINUE;
			END IF;
			allocs := '{}'; invs := '{}';
			-- (the collection's MsgId read first: Citus locks no rows of a
			-- query with a subquery)
			grp_message := (SELECT c.message_id FROM ar.direct_debit_collection c
			                 WHERE c.company_id = t.company_id AND c.id = grp.collection_id);
			-- what each transaction told the debtor bank (its mandate reference
			-- and account), read from the file sent: once it is credited, that
			-- is what the bank knows, and only the amendments it carried are
			-- delivered (a pending collection blocks the anonymisation, so the
			-- document is the one sent)
			SELECT c.document, ARRAY[ARRAY['d', 'urn:iso:std:iso:20022:tech:xsd:' || c.version]] INTO doc, nss
			  FROM ar.direct_debit_collection c WHERE c.company_id = t.company_id AND c.id = grp.collection_id;
			SELECT array_agg((xpath('/d:DrctDbtTxInf/d:PmtId/d:EndToEndId/text()', x, nss))[1]::text),
			       array_agg((xpath('/d:DrctDbtTxInf/d:DrctDbtTx/d:MndtRltdInf/d:MndtId/text()', x, nss))[1]::text),
			       array_agg((xpath('/d:DrctDbtTxInf/d:DbtrAcct/d:Id/d:IBAN/text()', x, nss))[1]::text)
			  INTO sent_e2e, sent_umr, sent_iban
			  FROM unnest(xpath('/d:Document/d:CstmrDrctDbtInitn/d:PmtInf/d:DrctDbtTxInf', doc, nss)) x;
			FOR l IN SELECT dl.* FROM ar.direct_debit_line dl
			          WHERE dl.company_id = t.company_id AND dl.collection_id = grp.collection_id AND dl.status = 'pending'
			            AND (dl.payment_info_id = grp.gid OR grp.gid = grp_message)
			          ORDER BY dl.id FOR UPDATE LOOP
				left_ := 0;
				FOR inv IN SELECT x.*, i.open_amount, i.customer_id
				             FROM ar.direct_debit_line_invoice x JOIN ar.invoice i ON i.company_id = x.company_id AND i.id = x.invoice_id
				            WHERE x.company_id = t.company_id AND x.line_id = l.id ORDER BY x.invoice_id LOOP
					alloc_id := NULL;
					IF least(inv.amount, inv.open_amount) > 0 THEN
						INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, method, payment_means, note)
						VALUES (t.company_id, inv.invoice_id, t.id, least(inv.amount, inv.open_amount), t.booking_date, 'direct_debit', 'direct_debit',
						        'SEPA direct debit ' || l.end_to_end_id)
						RETURNING id INTO alloc_id;
						allocs := allocs || alloc_id;
					END IF;
					-- paid otherwise since the file: what is left is the customer's credit
					left_ := left_ + inv.amount - greatest(least(inv.amount, inv.open_amount), 0);
					invs := invs || inv.invoice_id;
					UPDATE ar.direct_debit_line_invoice x SET pending = false, allocation_id = alloc_id
					 WHERE x.company_id = t.company_id AND x.line_id = inv.line_id AND x.invoice_id = inv.invoice_id;
				END LOOP;
				IF left_ > 0 THEN
					INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, bank_transaction_id, created_on, note)
					VALUES (t.company_id, l.customer_id, 'EUR', left_, 'overpayment', t.id, t.booking_date,
					        'SEPA direct debit ' || l.end_to_end_id || ': invoices paid otherwise meanwhile');
				END IF;
				UPDATE ar.direct_debit_line x SET status = 'settled', settled_on = t.booking_date, settlement_transaction_id = t.id
				 WHERE x.company_id = t.company_id AND x.id = l.id;
				-- the mandate: OOFF/FNAL completed; the amendment this debit carried
				-- delivered, not one made since (still to be announced, from what
				-- the bank now knows); FRST -> RCUR unless a change of bank is
				-- still to be announced (its collection is a FRST)
				settled_reason := format('%s collection %s settled', l.sequence_type, l.end_to_end_id);
				SELECT * INTO mnd FROM ar.sepa_mandate m WHERE m.company_id = t.company_id AND m.id = l.mandate_id FOR UPDATE;
				new_umr := mnd.original_umr; new_iban := mnd.original_debtor_iban; new_moved := mnd.debtor_bank_changed;
				k := array_position(sent_e2e, l.end_to_end_id);
				-- (a debit credited after a later one of the mandate tells the bank nothing new)
				IF k IS NOT NULL AND sent_umr[k] IS NOT NULL AND sent_iban[k] IS NOT NULL
				   AND NOT EXISTS (SELECT 1 FROM ar.direct_debit_line x
				                    WHERE x.company_id = t.company_id AND x.mandate_id = l.mandate_id AND x.id > l.id
				                      AND x.settlement_transaction_id IS NOT NULL) THEN
					new_umr := CASE WHEN upper(sent_umr[k]) = upper(mnd.umr) THEN NULL ELSE sent_umr[k] END;
					IF sent_iban[k] = mnd.debtor_iban::text THEN
						new_iban := NULL; new_moved := false;
					ELSE
						new_iban := sent_iban[k]::ar.iban;
					END IF;
				END IF;
				UPDATE ar.sepa_mandate m
				   SET sequence_state = CASE WHEN m.sequence_state = 'FRST' AND NOT new_moved THEN 'RCUR' ELSE m.sequence_state END,
				       status = CASE WHEN l.sequence_type IN ('OOFF', 'FNAL') AND m.status = 'active' THEN 'completed' ELSE m.status END,
				       status_reason = CASE WHEN l.sequence_type IN ('OOFF', 'FNAL') AND m.status = 'active'
				                            THEN settled_reason ELSE m.status_reason END,
				       original_umr = new_umr, original_debtor_iban = new_iban, debtor_bank_changed = new_moved,
				       updated_at = decided
				 WHERE m.company_id = t.company_id AND m.id = l.mandate_id;
				bank_transaction_id := t.id; collection_id := l.collection_id; line_id := l.id; end_to_end_id := l.end_to_end_id;
				outcome := 'settled'; amount := l.amount; reason_code := NULL;
				RETURN NEXT;
			END LOOP;
			INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, flags, invoice_ids, allocation_ids, explanation)
			VALUES (t.id, t.company_id, 'manual', 'direct_debit', '{}', invs, allocs,
			        jsonb_build_object('method', 'direct_debit', 'applied', true, 'collection', grp.collection_id, 'matched_on', grp.gid,
			                           'summary', format('SEPA direct debit credit of %s (%s), settled by %s', grp.gid,
			                                             CASE WHEN grp.named = 1 THEN 'named in the line' ELSE 'amount' END, ar._caller())))
			ON CONFLICT ON CONSTRAINT reconcile_line_pkey DO UPDATE
			   SET outcome = EXCLUDED.outcome, method = EXCLUDED.method, run_id = NULL, invoice_ids = EXCLUDED.invoice_ids,
			       allocation_ids = EXCLUDED.allocation_ids, explanation = EXCLUDED.explanation, decided_at = decided;
			UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = decided
			 WHERE p.company_id = t.company_id AND p.bank_transaction_id = t.id AND p.status = 'pending';
			UPDATE ar.direct_debit_collection c SET status = 'closed'
			 WHERE c.company_id = t.company_id AND c.id = grp.collection_id
			   AND NOT EXISTS (SELECT 1 FROM ar.direct_debit_line x
			                    WHERE x.company_id = c.company_id AND x.collection_id = c.id AND x.status = 'pending');
		ELSIF t.return_reason IS NOT NULL OR t.reversal THEN
			SELECT * INTO l FROM ar.direct_debit_line dl
			 WHERE dl.company_id = t.company_id AND dl.end_to_end_id = btrim(t.end_to_end_id) AND dl.amount = -t.amount
			   AND dl.status = 'settled';
			matched_on := 'end_to_end_id';
			IF NOT FOUND THEN
				-- else by the mandate reference the bank reports and the amount, when one debit fits
				SELECT count(*), min(dl.id) INTO n, lid
				  FROM ar.direct_debit_line dl JOIN ar.sepa_mandate m ON m.company_id = dl.company_id AND m.id = dl.mandate_id
				 WHERE dl.company_id = t.company_id AND upper(m.umr) = upper(btrim(t.mandate_id)) AND dl.amount = -t.amount
				   AND dl.status = 'settled' AND dl.settled_on <= t.booking_date;
				IF n <> 1 THEN
					CONTINUE;
				END IF;
				SELECT * INTO l FROM ar.direct_debit_line dl WHERE dl.company_id = t.company_id AND dl.id = lid;
				matched_on := 'mandate_and_amount';
			END IF;
			-- the ledger's order: the invoices (those of the debit and those the
			-- settlement's leftover credit paid since), then the bank line
			PERFORM 1 FROM ar.invoice i
			 WHERE i.company_id = t.company_id
			   AND (i.id IN (SELECT li.invoice_id FROM ar.direct_debit_line_invoice li WHERE li.company_id = t.company_id AND li.line_id = l.id)
			        OR i.id IN (SELECT a.invoice_id FROM ar.allocation a JOIN ar.customer_credit c ON c.company_id = a.company_id AND c.id = a.customer_credit_id
			                     WHERE a.company_id = t.company_id AND c.bank_transaction_id = l.settlement_transaction_id
			                       AND c.customer_id = l.customer_id
			                       AND c.note = 'SEPA direct debit ' || l.end_to_end_id || ': invoices paid otherwise meanwhile'))
			 ORDER BY i.id FOR UPDATE;
			SELECT * INTO t FROM ar.bank_transaction x WHERE x.company_id = t.company_id AND x.id = t.id FOR UPDATE;
			SELECT * INTO l FROM ar.direct_debit_line x WHERE x.company_id = t.company_id AND x.id = l.id FOR UPDATE;
			IF t.allocated_amount <> 0 OR l.status <> 'settled' THEN
				CONTINUE;
			END IF;
			-- the settlement undone: its allocations deleted (the invoices open
			-- again); the credit line keeps its amount accounted for as customer
			-- credit refunded (the bank gave the money back to the debtor)
			allocs := '{}'; invs := '{}'; back := 0;
			FOR inv IN SELECT x.invoice_id, a.id AS alloc, a.amount AS allocated
			             FROM ar.direct_debit_line_invoice x JOIN ar.allocation a ON a.company_id = x.company_id AND a.id = x.allocation_id
			            WHERE x.company_id = t.company_id AND x.line_id = l.id ORDER BY x.invoice_id LOOP
				DELETE FROM ar.allocation a WHERE a.company_id = t.company_id AND a.id = inv.alloc;
				allocs := allocs || inv.alloc; invs := invs || inv.invoice_id; back := back + inv.allocated;
			END LOOP;
			reason := format('SEPA direct debit %s returned (%s) on %s', l.end_to_end_id, coalesce(t.return_reason, 'reversal'), to_char(t.booking_date, 'YYYY-MM-DD'));
			IF back > 0 THEN
				INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, bank_transaction_id, created_on, note)
				VALUES (t.company_id, l.customer_id, 'EUR', back, 'unapplied_payment', l.settlement_transaction_id, t.booking_date, reason)
				RETURNING id INTO credit_id;
				INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
				VALUES (t.company_id, l.customer_id, credit_id, 'EUR', back, t.booking_date, 'refund', reason);
			END IF;
			-- what the settlement left as credit (invoices paid otherwise) is money
			-- the bank gave back as well: what the credit paid since is undone
			-- (those invoices open again, listed with the debit's), then the
			-- credit is refunded (what was refunded or written off from it
			-- before stays: a person's decision)
			unrecovered := 0;
			FOR credit IN SELECT c.id, c.amount FROM ar.customer_credit c
			               WHERE c.company_id = t.company_id AND c.bank_transaction_id = l.settlement_transaction_id
			                 AND c.customer_id = l.customer_id
			                 AND c.note = 'SEPA direct debit ' || l.end_to_end_id || ': invoices paid otherwise meanwhile'
			               ORDER BY c.id FOR UPDATE LOOP
				FOR inv IN SELECT a.id AS alloc, a.invoice_id FROM ar.allocation a
				            WHERE a.company_id = t.company_id AND a.customer_credit_id = credit.id ORDER BY a.id LOOP
					DELETE FROM ar.allocation a WHERE a.company_id = t.company_id AND a.id = inv.alloc;
					allocs := allocs || inv.alloc;
					IF NOT inv.invoice_id = ANY (invs) THEN
						invs := invs || inv.invoice_id;
					END IF;
				END LOOP;
				SELECT c.remaining INTO back FROM ar.customer_credit c WHERE c.company_id = t.company_id AND c.id = credit.id;
				-- (released before: the ledger cannot take it back, an anomaly)
				unrecovered := unrecovered + credit.amount - back;
				IF back > 0 THEN
					INSERT INTO ar.credit_release (company_id, customer_id, customer_credit_id, currency, amount, released_on, kind, reason)
					VALUES (t.company_id, l.customer_id, credit.id, 'EUR', back, t.booking_date, 'refund', reason);
				END IF;
			END LOOP;
			UPDATE ar.bank_transaction x SET status = 'ignored' WHERE x.company_id = t.company_id AND x.id = t.id AND x.allocated_amount = 0;
			UPDATE ar.direct_debit_line x
			   SET status = 'returned', returned_on = t.booking_date, return_reason = left(coalesce(nullif(btrim(t.return_reason), ''), 'RVSL'), 35),
			       return_transaction_id = t.id
			 WHERE x.company_id = t.company_id AND x.id = l.id;
			PERFORM ar._direct_debit_failed(l.id, coalesce(t.return_reason, 'RVSL'));
			return_summary := format('SEPA direct debit %s returned (%s): %s invoice(s) open again', l.end_to_end_id,
			                         coalesce(t.return_reason, 'reversal'), cardinality(invs));
			return_flags := '{}';
			IF unrecovered > 0 THEN
				return_summary := return_summary || format('; %s of its leftover credit had been refunded or written off before', unrecovered);
				return_flags := '{direct_debit_return_unrecovered}';
			END IF;
			INSERT INTO ar.reconcile_line AS r (bank_transaction_id, company_id, outcome, method, customer_id, flags, invoice_ids,
			                                    allocation_ids, explanation)
			VALUES (t.id, t.company_id, 'return', 'direct_debit', l.customer_id, return_flags, invs, allocs,
			        jsonb_build_object('method', 'direct_debit', 'applied', true, 'return_reason', coalesce(t.return_reason, 'reversal'),
			                           'collection', l.collection_id, 'matched_on', matched_on, 'unrecovered', unrecovered,
			                           'summary', return_summary))
			ON CONFLICT ON CONSTRAINT reconcile_line_pkey DO UPDATE
			   SET outcome = EXCLUDED.outcome, method = EXCLUDED.method, run_id = NULL, customer_id = EXCLUDED.customer_id,
			       invoice_ids = EXCLUDED.invoice_ids, allocation_ids = EXCLUDED.allocation_ids, explanation = EXCLUDED.explanation,
			       decided_at = decided;
			UPDATE ar.match_proposal p SET status = 'superseded', decided_by = session_user, decided_at = decided
			 WHERE p.company_id = t.company_id AND p.bank_transaction_id = t.id AND p.status = 'pending';
			bank_transaction_id := t.id; collection_id := l.collection_id; line_id := l.id; end_to_end_id := l.end_to_end_id;
			outcome := 'returned'; amount := l.amount; reason_code := coalesce(t.return_reason, 'RVSL');
			RETURN NEXT;
		END IF;
	END LOOP;
END $$;
COMMENT ON FUNCTION ar.settle_direct_debits(text, bigint[]) IS
	'Settles direct debits from the bank''s lines (of the company given, else of every company the caller collects for; of the lines given, else all unallocated ones): a credit equal to a pending payment information block or collection (named by its PmtInfId or MsgId, else the only one of that amount) settles its lines, allocating each invoice from the credit (mandates FRST -> RCUR, the amendment each transaction carried delivered); a return (negative, with a reason code) of a settled line''s end-to-end id deletes the settlement''s allocations (the invoices open again), undoes what the settlement''s leftover credit paid and refunds it, and updates the mandate (ar.sepa_return_effect). Run it before ar.reconcile(). One row per line settled or returned. ar_collector.';

-- The worker settles the direct debits of the new bank lines before it
-- reconciles them, so that a batch credit is never offered to the invoice
-- matcher: ar._worker_reconcile, 89_worker_reconcile_companies.sql.

-- ---------------------------------------------------------------- views

CREATE VIEW ar.direct_debit_report WITH (security_invoker = true) AS
SELECT l.id AS line_id, c.id AS collection_id, c.company_id, co.code AS company_code, c.message_id,
       c.requested_collection_date, l.customer_id, cu.code AS customer_code, cu.name AS customer_name, m.umr, l.scheme,
       l.sequence_type, l.end_to_end_id, l.amount, l.remittance_info, l.status, l.settled_on, l.returned_on, l.return_reason,
       (SELECT array_agg(i.number ORDER BY i.number) FROM ar.direct_debit_line_invoice li JOIN ar.invoice i ON i.id = li.invoice_id
         WHERE li.line_id = l.id) AS invoice_numbers
  FROM ar.direct_debit_line l
  JOIN ar.direct_debit_collection c ON c.id = l.collection_id
  JOIN ar.company co ON co.id = c.company_id
  JOIN ar.customer cu ON cu.id = l.customer_id
  JOIN ar.sepa_mandate m ON m.id = l.mandate_id;
COMMENT ON VIEW ar.direct_debit_report IS 'Every direct debit sent, with its file, customer, mandate, invoices and what became of it (pending, settled, returned, rejected, with the reason).';
COMMENT ON COLUMN ar.direct_debit_report.line_id IS 'ar.direct_debit_line.id';
COMMENT ON COLUMN ar.direct_debit_report.collection_id IS 'The file.';
COMMENT ON COLUMN ar.direct_debit_report.company_id IS 'Company.';
COMMENT ON COLUMN ar.direct_debit_report.company_code IS 'Its code.';
COMMENT ON COLUMN ar.direct_debit_report.message_id IS 'MsgId of the file.';
COMMENT ON COLUMN ar.direct_debit_report.requested_collection_date IS 'Collection date.';
COMMENT ON COLUMN ar.direct_debit_report.customer_id IS 'Customer.';
COMMENT ON COLUMN ar.direct_debit_report.customer_code IS 'Its code.';
COMMENT ON COLUMN ar.direct_debit_report.customer_name IS 'Its name.';
COMMENT ON COLUMN ar.direct_debit_report.umr IS 'Mandate reference.';
COMMENT ON COLUMN ar.direct_debit_report.scheme IS 'CORE or B2B.';
COMMENT ON COLUMN ar.direct_debit_report.sequence_type IS 'FRST, RCUR, OOFF or FNAL.';
COMMENT ON COLUMN ar.direct_debit_report.end_to_end_id IS 'EndToEndId.';
COMMENT ON COLUMN ar.direct_debit_report.amount IS 'Amount.';
COMMENT ON COLUMN ar.direct_debit_report.remittance_info IS 'Remittance information.';
COMMENT ON COLUMN ar.direct_debit_report.status IS 'pending, settled, returned or rejected.';
COMMENT ON COLUMN ar.direct_debit_report.settled_on IS 'Credit date.';
COMMENT ON COLUMN ar.direct_debit_report.returned_on IS 'Return or reject date.';
COMMENT ON COLUMN ar.direct_debit_report.return_reason IS 'Reason code.';
COMMENT ON COLUMN ar.direct_debit_report.invoice_numbers IS 'Invoices collected.';

-- ---------------------------------------------------------------- grants

-- (the immutable helpers stay executable by PUBLIC, as 90_roles.sql leaves them)
REVOKE ALL ON FUNCTION ar._expire_sepa_mandates(bigint, date), ar._pain008(bigint), ar._direct_debit_candidates(bigint, date, date), ar._direct_debit_failed(bigint, text),
                       ar.set_sepa_creditor(text, text, text, text, text, integer, integer, integer),
                       ar.create_sepa_mandate(bigint, text, date, text, text, text, text, boolean),
                       ar.amend_sepa_mandate(bigint, text, text, text, text, boolean, date),
                       ar.revoke_sepa_mandate(bigint, text),
                       ar.collect_direct_debits(date, bigint, date, text, text, timestamptz),
                       ar.reject_direct_debit(text, text, date, text), ar.settle_direct_debits(text, bigint[])
	FROM PUBLIC;
GRANT SELECT ON ar.sepa_creditor, ar.sepa_mandate, ar.direct_debit_collection, ar.direct_debit_line,
                ar.direct_debit_line_invoice, ar.direct_debit_report
	TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.collect_direct_debits(date, bigint, date, text, text, timestamptz),
                          ar.reject_direct_debit(text, text, date, text), ar.settle_direct_debits(text, bigint[])
	TO ar_collector;
GRANT EXECUTE ON FUNCTION ar.set_sepa_creditor(text, text, text, text, text, integer, integer, integer),
                          ar.create_sepa_mandate(bigint, text, date, text, text, text, text, boolean),
                          ar.amend_sepa_mandate(bigint, text, text, text, text, boolean, date),
                          ar.revoke_sepa_mandate(bigint, text)
	TO ar_admin;
GRANT INSERT, UPDATE ON ar.sepa_creditor, ar.sepa_mandate TO ar_admin;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['sepa_creditor', 'sepa_mandate', 'direct_debit_collection', 'direct_debit_line',
	                         'direct_debit_line_invoice'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(('ar.' || t)::regclass, '');
	END LOOP;
	FOREACH t IN ARRAY ARRAY['sepa_mandate', 'direct_debit_collection', 'direct_debit_line'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('ar.' || t, 'id')::regclass, '');
	END LOOP;
END $$;
