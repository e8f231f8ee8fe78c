-- pg_temp.personal_hits(values): where personal data stands in schema ar,
-- for the GDPR tests (gdpr.sql, gdpr_forms.sql), included with \ir: one
-- line per text, varchar, json, jsonb, xml or IBAN column of a table of
-- schema ar holding one of the values whole (not inside a longer word or
-- number), in any case.
CREATE FUNCTION pg_temp.personal_hits(vals text[]) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	col record;
	v text;
	n bigint;
BEGIN
	FOR col IN SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
	            WHERE c.relnamespace = 'ar'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
	              AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'json'::regtype, 'jsonb'::regtype, 'xml'::regtype,
	                                 'ar.iban'::regtype)
	            ORDER BY 1, 2 LOOP
		FOREACH v IN ARRAY vals LOOP
			EXECUTE format('SELECT count(*) FROM ar.%I WHERE %I::text ~* %L', col.relname, col.attname,
			               '(?<![[:alnum:]_])' || regexp_replace(v, '([^[:alnum:][:space:]])', '\\\1', 'g')
			               || '(?![[:alnum:]_])') INTO n;
			IF n > 0 THEN
				RETURN NEXT format('ar.%s.%s: %s row(s) hold "%s"', col.relname, col.attname, n, v);
			END IF;
		END LOOP;
	END LOOP;
END $$;
