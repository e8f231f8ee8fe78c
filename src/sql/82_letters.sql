-- ---------------------------------------------------------------------------
-- Letters: who sends them and to whom, and the law they state.
--
-- ar.company carries what a French commercial letter must print (Code de
-- commerce R123-237, R123-238; CGI 242 nonies A): legal name and form,
-- registered office, SIREN / SIRET and RCS city, intra-EU VAT number, share
-- capital for the companies whose form has one, and a contact; the
-- identifiers are validated (Luhn, VAT key).  ar.customer carries a postal
-- address.  Letters print both (ar.letter_sender, ar.letter_legal_mentions,
-- ar.letter_recipient).
--
-- The law a letter states is data: ar.penalty_wording holds, per regime and
-- language, the legal clause and how one applied rate is printed;
-- ar.penalty_terms renders them for the invoices of a notice, with the
-- numeric rates applied (reference rate, margin, result, reference dates)
-- and the fixed indemnity of the regime in its currency.  ar.letter_text
-- holds the other fragments a letter needs per language.  The shipped rows
-- are in src/sql/84_letter_texts.sql.
--
-- A reference rate that is not known yet for a period the letter covers is
-- said so in the letter (the fixed indemnity, which needs no rate, is
-- still stated), listed by ar.missing_reference_rate and each run's report
-- (ar.dunning_run.report), and logged once a day by the background worker.
-- ar.add_reference_rate adds a published rate in one call.
--
-- The new columns are in the tables' definitions (30_ledger.sql,
-- 80_dunning_1_config.sql).  This piece only creates and comments:
-- src/upgrade/0.1.0--0.2.0 reads it as it is (a symbolic link), after
-- adding the columns (50_letters.sql), so that an upgraded database gets
-- exactly this.
-- ---------------------------------------------------------------------------

-- ------------------------------------------------------------- sender identity

-- (the columns: 30_ledger.sql)
COMMENT ON COLUMN ar.company.legal_name IS 'Registered name (dénomination sociale) printed on letters; NULL: name.';
COMMENT ON COLUMN ar.company.legal_form IS 'Legal form (SAS, SARL, SA, GmbH, Ltd...): share_capital is required for the French forms that have one.';
COMMENT ON COLUMN ar.company.address_line1 IS 'Registered office, first address line.';
COMMENT ON COLUMN ar.company.address_line2 IS 'Registered office, second address line.';
COMMENT ON COLUMN ar.company.postcode IS 'Registered office postcode.';
COMMENT ON COLUMN ar.company.city IS 'Registered office city.';
COMMENT ON COLUMN ar.company.siren IS 'French SIREN (9 digits, Luhn checked), stored without spaces.';
COMMENT ON COLUMN ar.company.siret IS 'SIRET of the sending establishment (14 digits, Luhn checked, starting with the SIREN).';
COMMENT ON COLUMN ar.company.rcs_city IS 'City of the Registre du commerce et des sociétés (RCS <city> <SIREN>).';
COMMENT ON COLUMN ar.company.vat_number IS 'Intra-EU VAT number, stored without spaces; a French one is FR + key + SIREN with the key checked.';
COMMENT ON COLUMN ar.company.share_capital IS 'Share capital in the company''s currency (capital social / Stammkapital).';
COMMENT ON COLUMN ar.company.email IS 'Contact e-mail printed on letters.';
COMMENT ON COLUMN ar.company.phone IS 'Contact telephone printed on letters.';
COMMENT ON COLUMN ar.company.language IS 'Language of the company: letters fall back to it when no template exists in the customer''s language.';

COMMENT ON COLUMN ar.customer.address_line1 IS 'Postal address, first line (letters print it under the name).';
COMMENT ON COLUMN ar.customer.address_line2 IS 'Postal address, second line.';
COMMENT ON COLUMN ar.customer.postcode IS 'Postcode.';
COMMENT ON COLUMN ar.customer.city IS 'City.';

-- True when digits (only digits) pass the Luhn check.
CREATE FUNCTION ar.luhn_valid(digits text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT digits ~ '^[0-9]+$'
	       AND (SELECT sum(CASE WHEN (length(digits) - i) % 2 = 1
	                            THEN (2 * substr(digits, i, 1)::int) / 10 + (2 * substr(digits, i, 1)::int) % 10
	                            ELSE substr(digits, i, 1)::int END) % 10 = 0
	              FROM generate_series(1, length(digits)) i)
$$;
COMMENT ON FUNCTION ar.luhn_valid(text) IS 'True when the digits pass the Luhn (mod 10) check.';

CREATE FUNCTION ar.siren_valid(siren text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT siren ~ '^[0-9]{9}$' AND ar.luhn_valid(siren)
$$;
COMMENT ON FUNCTION ar.siren_valid(text) IS 'A French SIREN: 9 digits passing the Luhn check.';

-- La Poste's establishments (SIREN 356 000 000) are numbered beyond what
-- the Luhn check allows: their SIRET digits add up to a multiple of 5.
CREATE FUNCTION ar.siret_valid(siret text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT siret ~ '^[0-9]{14}$'
	       AND ar.siren_valid(left(siret, 9))
	       AND (ar.luhn_valid(siret)
	            OR (left(siret, 9) = '356000000'
	                AND (SELECT sum(substr(siret, i, 1)::int) FROM generate_series(1, 14) i) % 5 = 0))
$$;
COMMENT ON FUNCTION ar.siret_valid(text) IS 'A French SIRET: 14 digits, its SIREN valid, passing the Luhn check (La Poste: digit sum a multiple of 5).';

CREATE FUNCTION ar.fr_vat_number(siren text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT 'FR' || lpad(((12 + 3 * (siren::bigint % 97)) % 97)::text, 2, '0') || siren
	 WHERE ar.siren_valid(siren)
$$;
COMMENT ON FUNCTION ar.fr_vat_number(text) IS 'The French intra-EU VAT number of a SIREN: FR, the key (12 + 3 x (SIREN mod 97)) mod 97 on two digits, the SIREN; NULL for an invalid SIREN.';

-- An identifier as typed (spaces, dots, dashes) reduced to its characters.
CREATE FUNCTION ar._compact_identifier(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT nullif(upper(regexp_replace(value, E'[\\s.\\-]', '', 'g')), '')
$$;

-- Legal forms that have a share capital to print (French companies).
CREATE FUNCTION ar._legal_form_has_capital(legal_form text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT upper(regexp_replace(coalesce(legal_form, ''), E'[\\s.]', '', 'g'))
	       IN ('SA', 'SAS', 'SASU', 'SARL', 'EURL', 'SNC', 'SCS', 'SCA', 'SELARL', 'SELAS', 'SELAFA', 'SELCA', 'SE')
$$;

CREATE FUNCTION ar._company_identity_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	label text := format('company %s', NEW.code);
BEGIN
	NEW.siren := ar._compact_identifier(NEW.siren);
	NEW.siret := ar._compact_identifier(NEW.siret);
	NEW.vat_number := ar._compact_identifier(NEW.vat_number);
	IF NEW.siret IS NOT NULL AND NEW.siren IS NULL THEN
		NEW.siren := left(NEW.siret, 9);
	END IF;
	IF NEW.siren IS NOT NULL AND NOT ar.siren_valid(NEW.siren) THEN
		RAISE EXCEPTION 'SIREN "%" of % is not valid', NEW.siren, label
			USING ERRCODE = 'check_violation',
			      DETAIL = CASE WHEN NEW.siren !~ '^[0-9]{9}$' THEN 'A SIREN is 9 digits.'
			                    ELSE 'Its Luhn check digit is wrong.' END;
	END IF;
	IF NEW.siret IS NOT NULL THEN
		IF NOT ar.siret_valid(NEW.siret) THEN
			RAISE EXCEPTION 'SIRET "%" of % is not valid', NEW.siret, label
				USING ERRCODE = 'check_violation',
				      DETAIL = CASE WHEN NEW.siret !~ '^[0-9]{14}$' THEN 'A SIRET is 14 digits: the SIREN and a 5-digit establishment number.'
				                    ELSE 'Its Luhn check digit is wrong.' END;
		END IF;
		IF left(NEW.siret, 9) <> NEW.siren THEN
			RAISE EXCEPTION 'SIRET "%" of % does not start with its SIREN "%"', NEW.siret, label, NEW.siren
				USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	IF NEW.vat_number IS NOT NULL THEN
		IF NEW.vat_number !~ '^[A-Z]{2}[0-9A-Z+*]{2,12}$' THEN
			RAISE EXCEPTION 'VAT number "%" of % is not valid', NEW.vat_number, label
				USING ERRCODE = 'check_violation',
				      DETAIL = 'An intra-EU VAT number is a 2-letter country prefix and 2 to 12 letters or digits.';
		ELSIF NEW.vat_number LIKE 'FR%' THEN
			IF NEW.vat_number !~ '^FR[0-9]{2}[0-9]{9}$' THEN
				RAISE EXCEPTION 'VAT number "%" of % is not valid', NEW.vat_number, label
					USING ERRCODE = 'check_violation',
					      DETAIL = 'A French VAT number is FR, a 2-digit key and the 9-digit SIREN.';
			ELSIF NEW.vat_number IS DISTINCT FROM ar.fr_vat_number(right(NEW.vat_number, 9)) THEN
				RAISE EXCEPTION 'VAT number "%" of % is not valid', NEW.vat_number, label
					USING ERRCODE = 'check_violation',
					      DETAIL = coalesce(format('The key of SIREN %s is %s: %s.', right(NEW.vat_number, 9),
					                               substr(ar.fr_vat_number(right(NEW.vat_number, 9)), 3, 2),
					                               ar.fr_vat_number(right(NEW.vat_number, 9))),
					                        format('Its SIREN %s is not valid.', right(NEW.vat_number, 9)));
			ELSIF NEW.siren IS NOT NULL AND right(NEW.vat_number, 9) <> NEW.siren THEN
				RAISE EXCEPTION 'VAT number "%" of % is not the one of its SIREN "%"', NEW.vat_number, label, NEW.siren
					USING ERRCODE = 'check_violation',
					      HINT = format('The VAT number of SIREN %s is %s.', NEW.siren, ar.fr_vat_number(NEW.siren));
			END IF;
		END IF;
	END IF;
	IF NEW.share_capital IS NULL AND NEW.country = 'FR' AND ar._legal_form_has_capital(NEW.legal_form) THEN
		RAISE EXCEPTION 'share capital of % is required: a % prints it on its letters', label, NEW.legal_form
			USING ERRCODE = 'not_null_violation',
			      DETAIL = 'Code de commerce R123-238: the form of the company and the amount of its share capital.';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER company_identity_check BEFORE INSERT OR UPDATE ON ar.company
	FOR EACH ROW EXECUTE FUNCTION ar._company_identity_check();

-- ------------------------------------------------------------ letter texts

-- Fragments of letters per language: labels, joining words, sentences
-- (placeholders {{name}} as in templates).  Shipped rows come with the
-- extension; a row of the user's with the same key and language wins.
CREATE TABLE ar.letter_text (
	key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_.]{0,62}$'),
	language    text NOT NULL CHECK (language ~ '^[a-z]{2}$'),
	text        text NOT NULL,
	shipped     boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX letter_text_shipped_key ON ar.letter_text (key, language) WHERE shipped;
CREATE UNIQUE INDEX letter_text_user_key ON ar.letter_text (key, language) WHERE NOT shipped;
COMMENT ON TABLE ar.letter_text IS 'Fragments of letters per language (labels, joining words, sentences with {{placeholders}}); a row of the user''s replaces the shipped one of the same key and language.';

-- Per regime and language: the legal clause a letter prints ({{rates}}:
-- the rates applied, {{fee}}: the fixed indemnity, {{floor}}: the lawful
-- minimum of a contractual rate) and how one applied rate is printed
-- ({{reference_rate}}, {{margin}}, {{rate}}, {{dates}}: the reference
-- dates, long form).
CREATE TABLE ar.penalty_wording (
	regime      text NOT NULL REFERENCES ar.penalty_regime ON DELETE CASCADE,
	language    text NOT NULL CHECK (language ~ '^[a-z]{2}$'),
	clause      text NOT NULL,
	rate_line   text NOT NULL,
	shipped     boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX penalty_wording_shipped_key ON ar.penalty_wording (regime, language) WHERE shipped;
CREATE UNIQUE INDEX penalty_wording_user_key ON ar.penalty_wording (regime, language) WHERE NOT shipped;
COMMENT ON TABLE ar.penalty_wording IS 'The legal clause a letter prints for a penalty regime in a language ({{rates}}, {{fee}}, {{floor}}), and the form of one applied rate ({{reference_rate}}, {{margin}}, {{rate}}, {{dates}}). A row of the user''s replaces the shipped one.';

-- A fragment in a language, else in English, else in French (the user's row first).
-- (PL/pgSQL, as the other letter helpers that read tables: an SQL
-- function that cannot be inlined is parsed and planned again at each
-- statement calling it, 0.17 ms a call in a dunning run's letters; PL/pgSQL
-- keeps its plans for the session)
CREATE FUNCTION ar.letter_text(key text, language text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	RETURN (SELECT t.text FROM ar.letter_text t
	         WHERE t.key = letter_text.key
	         ORDER BY t.language = lower(left(letter_text.language, 2)) DESC, t.language = 'en' DESC, t.language = 'fr' DESC,
	                  t.shipped
	         LIMIT 1);
END $$;
COMMENT ON FUNCTION ar.letter_text(text, text) IS 'The letter fragment of that key in the language (else English, else French); the user''s row before the shipped one.';

-- A yearly rate as a letter prints it: 2,15 % (fr, de), 2.15 % (en); two
-- decimals at least, more only when the rate has them.
CREATE FUNCTION ar.format_rate(rate numeric, language text DEFAULT 'en') RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	r text := round(rate, greatest(2, least(6, scale(trim_scale(rate)))))::text;
BEGIN
	RETURN CASE WHEN lower(left(coalesce(language, 'en'), 2)) IN ('fr', 'de')
	            -- the no-break space of ar.format_money (a space where the encoding has none)
	            THEN replace(r, '.', ',') || right(ar.format_money(0, '', 'fr'), 1) || '%'
	            ELSE r || ' %' END;
END $$;
COMMENT ON FUNCTION ar.format_rate(numeric, text) IS 'A rate in percent as a letter prints it: 12,15 % (fr, de, no-break space), 12.15 % (other languages); at least two decimals.';

-- A list as a sentence: "a, b et c".
CREATE FUNCTION ar._letter_list(items text[], language text, word text DEFAULT 'and') RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN cardinality(items) <= 1 THEN items[1]
	            ELSE array_to_string(items[1:cardinality(items) - 1], ', ')
	                 || ar.letter_text('word.' || word, language) || items[cardinality(items)] END
$$;

-- ------------------------------------------------------------ letter blocks

-- Lines of a postal address, empty ones left out.
CREATE FUNCTION ar._address_lines(VARIADIC lines text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT string_agg(btrim(l), E'\n' ORDER BY n) FROM unnest(lines) WITH ORDINALITY u(l, n) WHERE btrim(l) <> ''
$$;

CREATE FUNCTION ar._siren_text(siren text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN siren ~ '^[0-9]{9}$' THEN substr(siren, 1, 3) || ' ' || substr(siren, 4, 3) || ' ' || substr(siren, 7, 3)
	            ELSE siren END
$$;

-- The letterhead: registered name and office, contact.
CREATE FUNCTION ar.letter_sender(company_id bigint, language text DEFAULT 'fr') RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT ar._address_lines(coalesce(c.legal_name, c.name), c.address_line1, c.address_line2,
	                         concat_ws(' ', c.postcode, c.city),
	                         concat_ws(' - ', ar.letter_text('label.phone', letter_sender.language) || ' ' || c.phone,
	                                   ar.letter_text('label.email', letter_sender.language) || ' ' || c.email))
	  FROM ar.company c WHERE c.id = letter_sender.company_id
$$;
COMMENT ON FUNCTION ar.letter_sender(bigint, text) IS 'The sender block of a letter: legal name, registered office, telephone and e-mail of the company.';

-- The legal mentions a commercial letter carries (Code de commerce R123-237
-- and R123-238): name, form and share capital, registered office, RCS city
-- and SIREN, SIRET, VAT number.
CREATE FUNCTION ar.letter_legal_mentions(company_id bigint, language text DEFAULT 'fr') RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT concat_ws(' - ',
	                 coalesce(c.legal_name, c.name)
	                 || coalesce(', ' || c.legal_form, '')
	                 || CASE WHEN c.share_capital IS NOT NULL
	                         THEN ar.render_template(ar.letter_text('mention.capital', letter_legal_mentions.language), ARRAY['capital'],
	                                                 ARRAY[ar.format_money(c.share_capital, c.currency, letter_legal_mentions.language)])
	                         ELSE '' END,
	                 ar.letter_text('mention.office', letter_legal_mentions.language) || ' '
	                 || nullif(concat_ws(', ', c.address_line1, c.address_line2, concat_ws(' ', c.postcode, c.city)), ''),
	                 'RCS ' || c.rcs_city || ' ' || ar._siren_text(c.siren),
	                 CASE WHEN c.rcs_city IS NULL THEN 'SIREN ' || ar._siren_text(c.siren) END,
	                 'SIRET ' || ar._siren_text(left(c.siret, 9)) || ' ' || right(c.siret, 5),
	                 ar.letter_text('mention.vat', letter_legal_mentions.language) || ' ' || c.vat_number)
	  FROM ar.company c WHERE c.id = letter_legal_mentions.company_id
$$;
COMMENT ON FUNCTION ar.letter_legal_mentions(bigint, text) IS 'The legal mentions of a letter: legal name, form and share capital, registered office, RCS city and SIREN, SIRET, VAT number.';

-- The recipient block of a customer's row: name, address, and the country
-- (in capitals, in the sender's language) when it is not the sender's.
-- Apart from ar.letter_recipient so that a dunning run composes it from
-- the customer row it already holds (on a distributed ledger, its copy on
-- the company's node: ar.letter_recipient's read by id alone went to every
-- shard, for each letter).
CREATE FUNCTION ar._letter_recipient_block(name text, address_line1 text, address_line2 text, postcode text, city text,
                                           country text, sender_country text, sender_language text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT ar._address_lines(name, address_line1, address_line2, concat_ws(' ', postcode, city),
	                         CASE WHEN country IS DISTINCT FROM sender_country
	                              THEN upper(coalesce(ar.letter_text('country.' || lower(country), sender_language), country)) END)
$$;

-- The recipient block of a customer (ar._letter_recipient_block).
-- PL/pgSQL: the customer and its company read by statements of their own
-- (as SQL, called from a query, it was refused on Citus: "could not create
-- distributed plan", doc/scale_out.md blocker 2).
CREATE FUNCTION ar.letter_recipient(customer_id bigint, language text DEFAULT 'fr') RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	c record;
	sender_country text;
	sender_language text;
BEGIN
	SELECT cu.company_id, cu.name, cu.address_line1, cu.address_line2, cu.postcode, cu.city, cu.country INTO c
	  FROM ar.customer cu WHERE cu.id = letter_recipient.customer_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT co.country, co.language INTO sender_country, sender_language FROM ar.company co WHERE co.id = c.company_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	RETURN ar._letter_recipient_block(c.name, c.address_line1, c.address_line2, c.postcode, c.city, c.country,
	                                  sender_country, sender_language);
END $$;
COMMENT ON FUNCTION ar.letter_recipient(bigint, text) IS 'The recipient block of a letter: customer name, postal address, and its country when it is not the sender''s.';

-- ------------------------------------------------------------ rates stated

-- The rate of a series in force on a day, or NULL and why (the message
-- ar.reference_rate_at raises) when it is not known or not verified.
CREATE FUNCTION ar._reference_rate_known(series text, on_date date, OUT rate numeric, OUT problem text)
AS 'MODULE_PATHNAME', 'penalty_reference_rate_known' LANGUAGE C STABLE PARALLEL SAFE;

-- The reference dates a regime reads its rate on for delays starting on
-- the given first late days, up to as_of, in order: NULL when none started
-- by as_of, '{}' for a contractual rate (no reference rate).  The rates
-- stated depend on the first late days through these alone
-- (ar.penalty_terms states them once per run for each set of them).
CREATE FUNCTION ar._penalty_reference_dates(r ar.penalty_regime, first_late_days date[], as_of date) RETURNS date[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	first_day date := (SELECT min(d) FROM unnest(first_late_days) d WHERE d <= as_of);
	days date[];
BEGIN
	IF first_day IS NULL THEN
		RETURN NULL;
	END IF;
	IF r.rate_series IS NULL THEN
		RETURN '{}';
	END IF;
	IF r.rate_fixed THEN
		days := ARRAY(SELECT DISTINCT d FROM unnest(first_late_days) d WHERE d <= as_of);
	ELSE
		days := ARRAY(SELECT first_day
		              UNION SELECT h::date FROM generate_series(date_trunc('year', first_day), as_of, interval '6 months') h
		                     WHERE h > first_day);
		-- the days the rate changed, for a regime reading it on the day
		-- (read only then: on Citus a read of a reference table per letter)
		IF r.rate_date = 'day' THEN
			days := ARRAY(SELECT unnest(days)
			              UNION SELECT x.effective_from FROM ar.reference_rate x
			                     WHERE x.series = r.rate_series AND x.effective_from > first_day AND x.effective_from <= as_of);
		END IF;
	END IF;
	RETURN ARRAY(SELECT DISTINCT CASE r.rate_date
	                    WHEN 'half_year_start' THEN ar._half_year_start(d)
	                    WHEN 'previous_half_year_end' THEN ar._half_year_start(d) - 1
	                    ELSE d END AS ref
	               FROM unnest(days) d ORDER BY 1);
END $$;
COMMENT ON FUNCTION ar._penalty_reference_dates(ar.penalty_regime, date[], date) IS 'The reference dates of ar.penalty_rates_applied in order (NULL: no delay started by as_of; empty: a contractual rate).';

-- The rates a regime applied to invoices whose first late days are given,
-- up to as_of: one row per reference date (the day its reference rate is
-- read on), with the reference rate, the rate applied (reference + margin,
-- or the contractual rate) and, when the reference rate is not known, the
-- reason (and NULL rates).
CREATE FUNCTION ar.penalty_rates_applied(regime text, first_late_days date[], as_of date,
                                         contract_rate numeric DEFAULT NULL)
RETURNS TABLE (reference_date date, reference_rate numeric, margin numeric, rate numeric, problem text,
               status text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r ar.penalty_regime := ar._penalty_regime_row(regime);
	refs date[] := ar._penalty_reference_dates(r, first_late_days, as_of);
	ref date;
	known record;
BEGIN
	IF refs IS NULL THEN
		RETURN;
	END IF;
	IF r.rate_series IS NULL THEN
		RETURN QUERY SELECT NULL::date, contract_rate, r.margin, contract_rate + r.margin,
		                    CASE WHEN contract_rate IS NULL THEN format('regime %s needs a contractual rate', r.regime) END,
		                    'contractual'::text;
		RETURN;
	END IF;
	FOREACH ref IN ARRAY refs LOOP
		known := ar._reference_rate_known(r.rate_series, ref);
		IF known.rate IS NULL THEN
			RETURN QUERY SELECT ref, NULL::numeric, r.margin, NULL::numeric, known.problem, NULL::text;
		ELSE
			-- the row it comes from (the user's before the shipped one): published, derived or provisional
			RETURN QUERY SELECT ref, known.rate, r.margin, known.rate + r.margin, NULL::text,
			                    (SELECT x.status FROM ar.reference_rate x
			                      WHERE x.series = r.rate_series AND x.effective_from <= ref
			                      ORDER BY x.effective_from DESC, x.shipped LIMIT 1);
		END IF;
	END LOOP;
END $$;
COMMENT ON FUNCTION ar.penalty_rates_applied(text, date[], date, numeric) IS 'The rates a regime applies to delays starting on the given first late days, up to as_of: per reference date, the reference rate, the margin, the rate and the status of the reference rate (published, derived, provisional; NULL rates with the reason when it is not known yet).';

CREATE FUNCTION ar._half_year_start(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT make_date(extract(year FROM d)::int, CASE WHEN extract(month FROM d) <= 6 THEN 1 ELSE 7 END, 1)
$$;

-- The fixed indemnity of a regime in a currency, as a letter states it:
-- "40,00 EUR", or its tiers ("40.00 GBP for a debt under 1,000.00 GBP, ...").
CREATE FUNCTION ar._penalty_fee_text(regime text, currency text, language text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
	RETURN (SELECT CASE WHEN count(*) = 1 THEN min(ar.format_money(f.fee, f.currency, language))
	            ELSE ar._letter_list(array_agg(ar.render_template(
	                     ar.letter_text(CASE WHEN f.next_min IS NULL THEN 'fee.from'
	                                         WHEN f.min_amount = 0 THEN 'fee.below' ELSE 'fee.between' END, language),
	                     ARRAY['fee', 'min', 'max'],
	                     ARRAY[ar.format_money(f.fee, f.currency, language), ar.format_money(f.min_amount, f.currency, language),
	                           ar.format_money(f.next_min, f.currency, language)]) ORDER BY f.min_amount),
	                 language, 'or') END
	  FROM (SELECT x.*, lead(x.min_amount) OVER (ORDER BY x.min_amount) AS next_min
	          FROM ar.penalty_regime_fee x WHERE x.regime = _penalty_fee_text.regime AND x.currency = _penalty_fee_text.currency) f
	HAVING count(*) > 0);
END $$;

-- One paragraph of ar.penalty_terms: the clause of a regime (and
-- contractual rate) in the language lang (two letters), with the rates
-- applied to delays starting on first_late_days, the fixed indemnity in the
-- currency and the lawful floor.  Every read is of reference tables
-- (wording, regimes, fees, rates, words).
CREATE FUNCTION ar._penalty_terms_paragraph(regime text, contract_rate numeric, currency text, first_late_days date[],
                                            as_of date, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	w record;
	rates text[];
	floor_text text;
BEGIN
	SELECT pw.clause, pw.rate_line INTO w
	  FROM ar.penalty_wording pw
	 WHERE pw.regime = _penalty_terms_paragraph.regime
	 ORDER BY pw.language = lang DESC, pw.language = 'en' DESC, pw.shipped
	 LIMIT 1;
	IF NOT FOUND THEN
		SELECT ar.render_template(ar.letter_text('terms.generic', lang), ARRAY['legal_reference'],
		                          ARRAY[p.legal_reference]) AS clause,
		       ar.letter_text('terms.generic_rate', lang) AS rate_line INTO w
		  FROM ar.penalty_regime p WHERE p.regime = _penalty_terms_paragraph.regime;
	END IF;
	-- one line per rate applied, with the dates its reference rate was read on
	SELECT array_agg(line ORDER BY first_ref) INTO rates
	  FROM (SELECT min(a.reference_date) AS first_ref,
	               CASE WHEN a.rate IS NULL
	                    THEN ar.render_template(ar.letter_text('rate.missing', lang), ARRAY['dates', 'reason'],
	                                            ARRAY[ar._letter_list(array_agg(ar.format_date(a.reference_date, lang)
	                                                                            ORDER BY a.reference_date), lang),
	                                                  min(a.problem)])
	                    ELSE ar.render_template(w.rate_line, ARRAY['reference_rate', 'margin', 'rate', 'dates'],
	                                            ARRAY[ar.format_rate(a.reference_rate, lang),
	                                                  replace(trim_scale(a.margin)::text, '.', CASE WHEN lang IN ('fr', 'de') THEN ',' ELSE '.' END),
	                                                  ar.format_rate(a.rate, lang),
	                                                  ar._letter_list(array_agg(ar.format_date(a.reference_date, lang)
	                                                                            ORDER BY a.reference_date), lang)])
	                         -- a rate entered before its official publication says so
	                         || CASE WHEN a.status = 'provisional' THEN ar.letter_text('rate.provisional', lang) ELSE '' END
	               END AS line
	          FROM ar.penalty_rates_applied(regime, first_late_days, as_of, contract_rate) a
	         GROUP BY a.rate, a.reference_rate, a.margin, a.rate IS NULL, a.status = 'provisional') l;
	floor_text := NULL;
	IF (SELECT p.floor_series FROM ar.penalty_regime p WHERE p.regime = _penalty_terms_paragraph.regime) IS NOT NULL THEN
		BEGIN
			SELECT ar.render_template(ar.letter_text('rate.floor', lang), ARRAY['multiplier', 'legal_rate', 'floor', 'date'],
			                          ARRAY[trim_scale(p.floor_multiplier)::text,
			                                ar.format_rate(ar.reference_rate_at(p.floor_series, as_of), lang),
			                                ar.format_rate(ar.penalty_rate_floor(p.regime, as_of), lang),
			                                ar.format_date(as_of, lang)])
			  INTO floor_text
			  FROM ar.penalty_regime p WHERE p.regime = _penalty_terms_paragraph.regime;
		EXCEPTION WHEN no_data_found THEN
			floor_text := ar.letter_text('rate.floor_unknown', lang);
		END;
	END IF;
	RETURN ar.render_template(w.clause, ARRAY['rates', 'fee', 'floor'],
	                          ARRAY[ar._letter_list(rates, lang),
	                                coalesce(ar._penalty_fee_text(regime, currency, lang),
	                                         ar.letter_text('fee.unknown', lang)),
	                                floor_text]);
END $$;
COMMENT ON FUNCTION ar._penalty_terms_paragraph(text, numeric, text, date[], date, text) IS 'One paragraph of ar.penalty_terms: a regime''s clause with the rates applied to delays starting on the first late days, its fixed indemnity in the currency and its floor, in the language.';

-- The key under which a dunning run keeps the penalty terms of a letter
-- (80_dunning_5_run_function.sql, step K0): ar.penalty_terms' arguments,
-- and the statement (a call in a later statement of the transaction, after
-- a change of the reference tables, makes its own).
CREATE FUNCTION ar._penalty_terms_letter_key(invoice_ids bigint[], as_of date, language text, company_id bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT jsonb_build_array('letter', statement_timestamp(), invoice_ids, as_of, language, company_id)::text
$$;
COMMENT ON FUNCTION ar._penalty_terms_letter_key(bigint[], date, text, bigint) IS 'The key of a letter''s penalty terms in a dunning run''s work table (ar.penalty_terms'' arguments and the statement).';

-- The legal paragraph(s) a letter prints about the penalties of the given
-- invoices on as_of: one per regime (and contractual rate) among them, in
-- the language (else English), stating the rates applied with their basis
-- and the fixed indemnity.  NULL when no invoice was late.
-- Its plans pinned: a dunning run calls it once per letter with nested
-- loops off (80_dunning_5_run_function.sql), which made each call hash
-- whole tables, and the custom plans of its statements were made again at
-- every call (5,000 letters: 13 s of a 25 s run; bench/README.md "Issue
-- 17, letters stating penalty terms").
-- company_id, when given, is the company of the invoices: on a distributed
-- ledger their rows are then read on its node alone, not on every shard.
-- Within a dunning run, each letter's terms are read from the work table
-- where the run made them before its letters, at once (step K0), not made
-- per letter: on Citus each read of a table is planned by Citus and run
-- by its local execution, 0.15 to 0.9 ms on a worker, about 15 a letter
-- (bench/README.md, "Issue 17, the penalty terms made once per run").
-- (Two texts of the query below, with and without the company: Citus
-- prunes each table to one shard on a plain equality of its own only, and
-- a query built with EXECUTE would be planned again at every call.)
CREATE FUNCTION ar.penalty_terms(invoice_ids bigint[], as_of date, language text DEFAULT 'fr', company_id bigint DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET enable_nestloop = on AS $$
DECLARE
	lang text := lower(left(coalesce(language, 'fr'), 2));
	made regclass;
	key text;
	hit boolean;
	terms text;
	groups refcursor;
	g record;
	paragraphs text[] := '{}';
BEGIN
	-- generic plans, made once a session, where Citus is not installed (it
	-- cannot plan this join generically: "could not create distributed
	-- plan"); the setting ends with the call, as the function has a SET
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
	END IF;
	-- the letter's terms as the dunning run calling it made them before
	-- its letters, if any: its work table of this transaction's token, which
	-- the role running it owns (a caller without access to the token has none)
	IF has_function_privilege('ar._dunning_work_name(text)', 'EXECUTE') THEN
		made := to_regclass(format('pg_temp.%I', ar._dunning_work_name('ar_dun_terms')));
		IF made IS NOT NULL AND has_table_privilege(made, 'SELECT') THEN
			key := ar._penalty_terms_letter_key(invoice_ids, as_of, language, company_id);
			EXECUTE format('SELECT true, m.v FROM %s m WHERE m.h = md5($1) AND m.k = $1', made) INTO hit, terms USING key;
			IF hit THEN
				RETURN terms;
			END IF;
		END IF;
	END IF;
	IF company_id IS NULL THEN
		OPEN groups FOR
		SELECT b.regime, b.contract_rate, b.currency, array_agg(DISTINCT b.due_date + 1) AS first_late_days
		  FROM ar._penalty_basis b
		 WHERE b.invoice_id = ANY (invoice_ids) AND b.liable AND b.due_date < as_of
		 GROUP BY b.regime, b.contract_rate, b.currency
		 ORDER BY b.regime, b.contract_rate NULLS FIRST, b.currency;
	ELSE
		-- ar._penalty_basis read from its tables, the company named in each
		-- (through the view, whose claims' NOT EXISTS names no company,
		-- Citus read all 32 shards for each letter; the same rows:
		-- test/pgtap/letters.sql)
		OPEN groups FOR
		SELECT coalesce(i.penalty_regime, c.penalty_regime, 'FR_LME') AS regime,
		       coalesce(i.penalty_rate, c.penalty_rate) AS contract_rate, i.currency,
		       array_agg(DISTINCT i.due_date + 1) AS first_late_days
		  FROM ar.invoice i
		  JOIN ar.customer c ON c.id = i.customer_id AND c.company_id = i.company_id
		 WHERE i.company_id = penalty_terms.company_id AND i.id = ANY (invoice_ids) AND i.due_date < as_of
		   AND i.amount > 0 AND i.cancelled_on IS NULL
		   AND NOT EXISTS (SELECT 1 FROM ar.penalty_claim pc
		                    WHERE pc.company_id = penalty_terms.company_id AND pc.penalty_invoice_id = i.id)
		 GROUP BY 1, 2, 3
		 ORDER BY 1, 2 NULLS FIRST, 3;
	END IF;
	LOOP
		FETCH groups INTO g;
		EXIT WHEN NOT FOUND;
		paragraphs := paragraphs
		              || ar._penalty_terms_paragraph(g.regime, g.contract_rate, g.currency, g.first_late_days, as_of, lang);
	END LOOP;
	CLOSE groups;
	RETURN nullif(array_to_string(paragraphs, E'\n\n'), '');
END $$;
COMMENT ON FUNCTION ar.penalty_terms(bigint[], date, text, bigint) IS 'The legal paragraph(s) a letter prints about the penalties of these invoices on as_of, in the language (company_id: the invoices'' company, which a distributed ledger reads on its node alone): per regime, its law, the rates applied with their basis (e.g. taux BCE 2,15 % + 10 points = 12,15 %) and the fixed indemnity; a reference rate not yet known is said so.';

-- ------------------------------------------------------------ missing rates

-- Per rate series a regime reads, where its history stops short of as_of:
-- the last day it is known, the first reference date a letter of as_of
-- needs and cannot read, the regimes concerned.
CREATE FUNCTION ar.missing_reference_rates(as_of date DEFAULT current_date)
RETURNS TABLE (series text, name text, publisher text, known_through date, needed_from date, needed_through date,
               regimes text[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	WITH need AS (
		-- the reference date each regime reads for a late day on as_of
		SELECT p.rate_series AS series, p.regime,
		       CASE p.rate_date WHEN 'half_year_start' THEN ar._half_year_start(as_of)
		                        WHEN 'previous_half_year_end' THEN ar._half_year_start(as_of) - 1
		                        ELSE as_of END AS needed
		  FROM ar.penalty_regime p WHERE p.rate_series IS NOT NULL
		UNION ALL
		SELECT p.floor_series, p.regime, as_of FROM ar.penalty_regime p WHERE p.floor_series IS NOT NULL
	), known AS (
		SELECT x.series, max(coalesce(x.confirmed_through, x.effective_from)) AS known_through
		  FROM ar.reference_rate x WHERE x.status <> 'unverified' GROUP BY x.series
	)
	SELECT s.series, s.name, s.publisher, k.known_through,
	       coalesce(k.known_through + 1, min(n.needed)), max(n.needed),
	       array_agg(DISTINCT n.regime ORDER BY n.regime)
	  FROM need n
	  JOIN ar.rate_series s ON s.series = n.series
	  LEFT JOIN known k ON k.series = n.series
	 WHERE k.known_through IS NULL OR k.known_through < n.needed
	 GROUP BY s.series, s.name, s.publisher, k.known_through
	 ORDER BY s.series
$$;
COMMENT ON FUNCTION ar.missing_reference_rates(date) IS 'Reference rates a letter of as_of needs and the shipped or added histories do not have yet: per series, the last day known, the first and last reference dates missing, the regimes reading it.';

CREATE VIEW ar.missing_reference_rate WITH (security_invoker = true) AS
SELECT * FROM ar.missing_reference_rates(current_date);
COMMENT ON VIEW ar.missing_reference_rate IS 'Reference rates missing today: add each published rate with ar.add_reference_rate().';
COMMENT ON COLUMN ar.missing_reference_rate.series IS 'ar.rate_series.series';
COMMENT ON COLUMN ar.missing_reference_rate.name IS 'Name of the series.';
COMMENT ON COLUMN ar.missing_reference_rate.publisher IS 'Who publishes it.';
COMMENT ON COLUMN ar.missing_reference_rate.known_through IS 'Last day the stored history is known (confirmed_through, else effective_from, of its rows not unverified).';
COMMENT ON COLUMN ar.missing_reference_rate.needed_from IS 'First day whose rate is missing.';
COMMENT ON COLUMN ar.missing_reference_rate.needed_through IS 'Latest reference date a letter of today reads in it.';
COMMENT ON COLUMN ar.missing_reference_rate.regimes IS 'Regimes that read it (their interest is not computed for the days concerned; their fixed indemnity still is).';

-- One call to add a published rate: checked (series, date on which the
-- series may change, rate, source), and known through the end of its
-- period (half-year, year) or through confirmed_through.
CREATE FUNCTION ar.add_reference_rate(series text, valid_from date, rate numeric, source text,
                                      confirmed_through date DEFAULT NULL, status text DEFAULT 'published')
RETURNS bigint
-- as the caller: ar_admin inserts reference rates (shared configuration, no company)
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	s ar.rate_series;
	new_id bigint;
BEGIN
	SELECT * INTO s FROM ar.rate_series x WHERE x.series = add_reference_rate.series;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown rate series "%"', coalesce(series, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The series are the rows of ar.rate_series: ' || (SELECT string_agg(x.series, ', ' ORDER BY x.series) FROM ar.rate_series x) || '.';
	END IF;
	IF valid_from IS NULL OR NOT isfinite(valid_from) THEN
		RAISE EXCEPTION 'valid_from must be a finite date, not %', coalesce(valid_from::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF s.changes = 'half_year' AND to_char(valid_from, 'MM-DD') NOT IN ('01-01', '07-01') THEN
		RAISE EXCEPTION 'series % changes on 1 January and 1 July only, not on %', s.series, to_char(valid_from, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF s.changes = 'year' AND to_char(valid_from, 'MM-DD') <> '01-01' THEN
		RAISE EXCEPTION 'series % changes on 1 January only, not on %', s.series, to_char(valid_from, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF rate IS NULL OR rate = 'NaN' OR rate NOT BETWEEN -100 AND 1000 OR rate <> round(rate, 6) THEN
		RAISE EXCEPTION 'rate % of series % is not a rate in percent a year (between -100 and 1000, at most 6 decimals)',
			coalesce(rate::text, 'NULL'), s.series
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF coalesce(btrim(source), '') = '' THEN
		RAISE EXCEPTION 'a rate needs its source (the official publication)' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status IS NULL OR status NOT IN ('published', 'provisional') THEN
		RAISE EXCEPTION 'a rate added is published or provisional, not %', coalesce(status, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF confirmed_through < valid_from THEN
		RAISE EXCEPTION 'confirmed_through % is before valid_from %', to_char(confirmed_through, 'YYYY-MM-DD'), to_char(valid_from, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT 1 FROM ar.reference_rate x
	            WHERE x.series = s.series AND x.effective_from = valid_from AND NOT x.shipped) THEN
		RAISE EXCEPTION 'series % already has a rate of yours from %', s.series, to_char(valid_from, 'YYYY-MM-DD')
			USING ERRCODE = 'unique_violation',
			      HINT = 'Correct it with UPDATE ar.reference_rate (audited).';
	END IF;
	INSERT INTO ar.reference_rate (series, effective_from, rate, status, confirmed_through, source)
	VALUES (s.series, valid_from, rate, add_reference_rate.status, add_reference_rate.confirmed_through, source)
	RETURNING id INTO new_id;
	RETURN new_id;
END $$;
COMMENT ON FUNCTION ar.add_reference_rate(text, date, numeric, text, date, text) IS 'Adds a published (or provisional) reference rate in force from valid_from, with its source; checked and audited. Returns the ar.reference_rate id.';

-- ------------------------------------------------------------ dunning options

-- Lines of a notice split by invoice (src/dunning_lines.c): those whose
-- invoice is in ids (keep) or not, and the figures of a set of lines.
CREATE FUNCTION ar._dunning_lines_subset(lines ar._dunning_lines, ids bigint[], keep boolean)
RETURNS ar._dunning_lines
AS 'MODULE_PATHNAME', 'dunning_lines_subset'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION ar._dunning_lines_totals(lines ar._dunning_lines)
RETURNS ar._dunning_totals_result
AS 'MODULE_PATHNAME', 'dunning_lines_totals'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON COLUMN ar.dunning_run.report IS 'What the run reports: language_fallbacks (notices written in another language than the customer''s, and why), missing_rates (reference rates its letters needed and could not read).';

COMMENT ON COLUMN ar.worker_state.rates_warned_on IS 'Day the worker last logged the missing reference rates (once a day).';

-- Logs (WARNING, in the server log) the reference rates missing today,
-- once a day; returns how many series are missing.
CREATE FUNCTION ar._worker_rates_check() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	missing bigint;
	listed text;
BEGIN
	IF EXISTS (SELECT 1 FROM ar.worker_state s WHERE s.rates_warned_on = current_date) THEN
		RETURN 0;
	END IF;
	SELECT count(*), string_agg(format('%s (known through %s, needed from %s by %s)', m.series,
	                                   coalesce(to_char(m.known_through, 'YYYY-MM-DD'), 'never'), to_char(m.needed_from, 'YYYY-MM-DD'),
	                                   array_to_string(m.regimes, ', ')), '; ')
	  INTO missing, listed
	  FROM ar.missing_reference_rates(current_date) m;
	INSERT INTO ar.worker_state AS s (id, rates_warned_on) VALUES (true, current_date)
	ON CONFLICT (id) DO UPDATE SET rates_warned_on = current_date;
	IF missing > 0 THEN
		RAISE WARNING 'ar_collect: % reference rate series missing for letters of %: %', missing, to_char(current_date, 'YYYY-MM-DD'), listed
			USING HINT = 'Add each published rate with ar.add_reference_rate(series, valid_from, rate, source); until then letters state no interest for those days (their fixed indemnity still).';
	END IF;
	RETURN missing;
END $$;

-- ------------------------------------------------------------------- grants

-- (as 90_roles.sql does for a fresh install, here too for an upgrade: not PUBLIC's)
REVOKE ALL ON FUNCTION ar.letter_text(text, text), ar.letter_sender(bigint, text), ar._reference_rate_known(text, date),
                       ar.letter_legal_mentions(bigint, text), ar.letter_recipient(bigint, text),
                       ar._letter_recipient_block(text, text, text, text, text, text, text, text),
                       ar.penalty_rates_applied(text, date[], date, numeric), ar.penalty_terms(bigint[], date, text, bigint),
                       ar._penalty_fee_text(text, text, text), ar._letter_list(text[], text, text),
                       ar._penalty_reference_dates(ar.penalty_regime, date[], date),
                       ar._penalty_terms_paragraph(text, numeric, text, date[], date, text),
                       ar._penalty_terms_letter_key(bigint[], date, text, bigint),
                       ar.missing_reference_rates(date), ar.add_reference_rate(text, date, numeric, text, date, text)
	FROM PUBLIC;
GRANT SELECT ON ar.letter_text, ar.penalty_wording, ar.missing_reference_rate TO ar_reader;
GRANT EXECUTE ON FUNCTION ar.letter_text(text, text), ar.letter_sender(bigint, text), ar._reference_rate_known(text, date),
                          ar.letter_legal_mentions(bigint, text), ar.letter_recipient(bigint, text),
                          ar._letter_recipient_block(text, text, text, text, text, text, text, text),
                          ar.penalty_rates_applied(text, date[], date, numeric), ar.penalty_terms(bigint[], date, text, bigint),
                          ar._penalty_fee_text(text, text, text), ar._letter_list(text[], text, text),
                          ar._penalty_reference_dates(ar.penalty_regime, date[], date),
                          ar._penalty_terms_paragraph(text, numeric, text, date[], date, text),
                          ar.missing_reference_rates(date)
	TO ar_reader;
GRANT INSERT, UPDATE, DELETE ON ar.letter_text, ar.penalty_wording TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.add_reference_rate(text, date, numeric, text, date, text) TO ar_admin;

-- (their audit triggers and pg_dump registration: after the shipped rows, 84_letter_texts.sql)
