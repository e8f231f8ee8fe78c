-- One routing mechanism for per-company SQL (issue 14, doc/scale_out.md,
-- blocker 2): a query's text written out for one company, so that Citus
-- routes it whole to the company's shards, or, for the dunning run, reads
-- the company's copies of its rows.  Used by every per-company text of
-- ar_collect: ar._for_company (credit exposure and status, limit alerts,
-- kept rate, work list, plan schedules, cash forecast), ar._routed (the
-- summaries' check, re-aging and rebuild) and ar._dunning_reads (the
-- dunning run); linked by the upgrade (80_company_sql.sql).

-- The company tables: every table of schema ar with a company_id column,
-- read from the catalog (a table added to ar later is a company table
-- without being listed anywhere).  Citus's shards of them (ar.invoice_102008,
-- on a node holding placements) are not tables of ar_collect.
-- ar._company_relations(among): the relations of ar with a company_id
-- column whose names are among those given (all: NULL), tables and views
-- (relkind); PL/pgSQL, its plan kept for the session (ar._company_sql asks
-- at every call, with names: an index scan of pg_class).
CREATE FUNCTION ar._company_relations(among text[] DEFAULT NULL) RETURNS TABLE (relname text, relkind "char")
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN QUERY
	SELECT c.relname::text, c.relkind
	  FROM pg_catalog.pg_class c
	 WHERE c.relname = ANY (coalesce(among, ARRAY(SELECT x.relname FROM pg_catalog.pg_class x
	                                                WHERE x.relnamespace = 'ar'::pg_catalog.regnamespace))::name[])
	   AND c.relnamespace = 'ar'::pg_catalog.regnamespace AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
	   AND c.relname OPERATOR(pg_catalog.!~) '_[0-9]+$'
	   AND EXISTS (SELECT FROM pg_catalog.pg_attribute a
	                WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped);
END $$;

CREATE FUNCTION ar._company_tables(among text[] DEFAULT NULL) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce(array_agg(r.relname ORDER BY r.relname), '{}')
	  FROM ar._company_relations(among) r WHERE r.relkind IN ('r', 'p', 'f')
$$;
COMMENT ON FUNCTION ar._company_tables(text[]) IS
'internal: the company tables (tables of schema ar with a company_id column, from the catalog; among the names given, if any), the tables ar._company_sql routes.';

-- The body of the SQL function f, its parameters ($n, or a name not after
-- a dot) replaced by the expressions args (in parentheses).
CREATE FUNCTION ar._sql_body(f regprocedure, args text[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q text;
	names text[];
	i integer;
BEGIN
	SELECT p.prosrc, p.proargnames INTO q, names
	  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	 WHERE p.oid = f AND l.lanname = 'sql';
	IF q IS NULL THEN
		RAISE EXCEPTION '% is not a SQL function', f USING ERRCODE = 'internal_error';
	END IF;
	FOR i IN 1 .. coalesce(cardinality(args), 0) LOOP
		q := regexp_replace(q, E'\\$' || i || E'(?!\\d)', '(' || args[i] || ')', 'g');
		IF names[i] <> '' THEN
			q := regexp_replace(q, E'(?<![.\\w$])' || names[i] || E'(?![\\w(])', '(' || args[i] || ')', 'g');
		END IF;
	END LOOP;
	RETURN q;
END $$;

-- The query q for one company.  company: a literal (7) or a parameter ($3,
-- NULL meaning every company: on one node the condition folds away).
-- Without reads (routing):
--   - each call ar._f(args) of a set-returning SQL function of ar reading
--     tables of ar becomes its body (a subquery, LATERAL when it has
--     arguments, its columns named as the function's; ar._sql_body),
--     routed the same way, recursively;
--   - each read of a company table, "ar.t alias" (or "ar.t", the alias t),
--     becomes "(SELECT * FROM ar.t WHERE company_id = <company>) alias":
--     on one node the subquery is pulled up (the plan unchanged), on Citus
--     every table of the statement is restricted to the company and the
--     statement is routed whole to its shards, sublinks and LATERAL
--     subqueries included;
--   - each comment /*and company x*/ or /*where company x*/ becomes the
--     condition on x.company_id.
-- With reads (the dunning's copies): a jsonb object naming, for a company
-- table or a function of ar, what to read instead ({"invoice":
-- "pg_temp.w", "_open_on": "ar._open_on_distributed"}).
-- Either way an error (XX000) when the result would still read a company
-- table unrouted: written to (reads only), read through a view of ar with
-- company_id, through a SQL function of ar that reads company tables and
-- is not replaced, or (with reads) a company table without its copy.
-- Citus would run such a statement on every shard, or (a SQL function
-- inlined after Citus planned) read the coordinator's empty tables.
CREATE FUNCTION ar._company_sql(q text, company text, reads jsonb DEFAULT NULL) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tables text;
	views text[];
	cond text;
	m text[];
	f regprocedure;
	args text[];
	cols text;
	r record;
	inlined boolean := false;
BEGIN
	IF q IS NULL OR company IS NULL THEN
		RETURN q;
	END IF;
	IF company ~ E'^\\$[0-9]+$' THEN
		cond := format('%s::bigint IS NULL OR company_id = %s', company, company);
	ELSIF company ~ '^[0-9]+$' THEN
		cond := 'company_id = ' || company;
	ELSE
		RAISE EXCEPTION 'a company to route to is a literal or a parameter, not "%"', company
			USING ERRCODE = 'internal_error';
	END IF;
	-- the company tables q names (the patterns below name those only: a
	-- short alternation, the same from call to call, kept compiled)
	SELECT coalesce(string_agg(cr.relname, '|') FILTER (WHERE cr.relkind IN ('r', 'p', 'f')), ''),
	       array_agg(cr.relname) FILTER (WHERE cr.relkind IN ('v', 'm'))
	  INTO tables, views
	  FROM ar._company_relations(ARRAY(SELECT DISTINCT x[1] FROM regexp_matches(q, E'ar\\.(\\w+)', 'g') x)) cr;
	m := CASE WHEN tables <> '' THEN regexp_match(q, E'\\m(insert\\s+into|update|delete\\s+from|truncate|copy|merge\\s+into)\\s+(only\\s+)?ar\\.(' || tables || E')\\M', 'i') END;
	IF m IS NOT NULL THEN
		RAISE EXCEPTION 'ar.% is written by a query routed per company', m[3]
			USING ERRCODE = 'internal_error', DETAIL = 'ar._company_sql rewrites reads only.';
	END IF;
	IF reads IS NOT NULL THEN
		-- the copies and replacements, each name once; then no company table left
		FOR r IN SELECT key, value FROM jsonb_each_text(reads) LOOP
			q := regexp_replace(q, E'\\mar\\.' || r.key || E'\\M(?!\\s*[(.])', r.value, 'g');
			q := regexp_replace(q, E'\\mar\\.' || r.key || E'\\(', r.value || '(', 'g');
		END LOOP;
	ELSE
		-- the SQL functions of ar returning rows that read company tables: their bodies
		FOR m IN SELECT DISTINCT x FROM regexp_matches(q, E'ar\\.(_\\w+)\\(([^()]*)\\)', 'g') x LOOP
			f := to_regprocedure(format('ar.%I(%s)', m[1],
			       (SELECT string_agg(format_type(t, NULL), ', ' ORDER BY o)
			          FROM pg_proc p, unnest(p.proargtypes::oid[]) WITH ORDINALITY u (t, o)
			         WHERE p.oid = to_regproc('ar.' || m[1]))));
			CONTINUE WHEN f IS NULL OR NOT EXISTS (SELECT FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
			                                        WHERE p.oid = f AND l.lanname = 'sql' AND p.proretset
			                                          AND p.prosrc ~* E'(from|join)\\s+ar\\.');
			args := CASE WHEN m[2] ~ E'\\S' THEN regexp_split_to_array(trim(m[2]), E'\\s*,\\s*') ELSE '{}' END;
			SELECT string_agg(quote_ident(n), ', ' ORDER BY o) INTO cols
			  FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY u (n, mode, o)
			 WHERE p.oid = f AND u.mode = 't';
			q := replace(q, format('ar.%s(%s)', m[1], m[2]),
			             format('%s(SELECT * FROM (%s) q (%s))', CASE WHEN cardinality(args) > 0 THEN 'LATERAL ' ELSE '' END,
			                    ar._company_sql(ar._sql_body(f, args), company), cols));
			inlined := true;
		END LOOP;
		IF inlined THEN   -- the tables the bodies read named too
			SELECT coalesce(string_agg(cr.relname, '|') FILTER (WHERE cr.relkind IN ('r', 'p', 'f')), ''),
			       array_agg(cr.relname) FILTER (WHERE cr.relkind IN ('v', 'm'))
			  INTO tables, views
			  FROM ar._company_relations(ARRAY(SELECT DISTINCT x[1] FROM regexp_matches(q, E'ar\\.(\\w+)', 'g') x)) cr;
		END IF;
		-- each read of a company table, aliased or not (a name already
		-- read through its subquery is left as it is: idempotent; the row
		-- types, ::ar.t, masked meanwhile).  Patterns without lookaround
		-- constraints: PostgreSQL runs them many times faster.
		IF tables <> '' THEN
			q := replace(q, '::ar.', '::ar' || chr(31) || '.');
			q := regexp_replace(q, E'\\mar\\.(' || tables || E')\\s+(?:AS\\s+)?(\\w+)',
			                    format(E'(SELECT * FROM ar.\\1 /*routed*/ WHERE %s) \\2', cond), 'gi');
			-- the aliases taken above that were keywords: the table's name
			q := regexp_replace(q, E'\\mar\\.(\\w+) /\\*routed\\*/ WHERE ([^)]*)\\) (where|join|inner|left|right|full|cross|natural|on'
			                       '|using|group|order|having|limit|offset|fetch|union|intersect|except|window|for|returning'
			                       '|set|tablesample|and|or|then|else|end|when|with|select|from)\\M',
			                    E'ar.\\1 /*routed*/ WHERE \\2) \\1 \\3', 'gi');
			q := regexp_replace(q, E'\\mar\\.(' || tables || E')(\\s*[),;]|\\s*$)',
			                    format(E'(SELECT * FROM ar.\\1 /*routed*/ WHERE %s) \\1\\2', cond), 'gi');
			q := replace(q, '::ar' || chr(31) || '.', '::ar.');
		END IF;
		q := regexp_replace(q, E'/\\*(and|where) company (\\w+)\\*/',
		                    CASE WHEN company ~ E'^\\$' THEN format(E'\\1 (%s::bigint IS NULL OR \\2.company_id = %s)', company, company)
		                         ELSE E'\\1 \\2.company_id = ' || company END, 'g');
	END IF;
	-- what would still read a company table unrouted
	m := CASE WHEN tables <> '' THEN regexp_match(regexp_replace(replace(q, '::ar.', '::'), E'\\mar\\.\\w+ /\\*routed\\*/', '', 'g'),
	                                              E'\\mar\\.(' || tables || E')\\M\\s*([^.%\\[(\\s]|$)', 'i') END;
	IF m IS NOT NULL THEN
		RAISE EXCEPTION 'ar.% is read by a query routed per company without its copy', m[1]
			USING ERRCODE = 'internal_error', DETAIL = left(q, 200);
	END IF;
	IF views IS NOT NULL THEN
		RAISE EXCEPTION 'the view ar.% is read by a query routed per company', views[1]
			USING ERRCODE = 'internal_error', DETAIL = 'Its company tables are not routed: read them by name.';
	END IF;
	FOR r IN SELECT DISTINCT p.proname, p.prosrc FROM regexp_matches(q, E'\\mar\\.(\\w+)\\(', 'g') x
	           JOIN pg_proc p ON p.proname = x[1] AND p.pronamespace = 'ar'::regnamespace
	          WHERE p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql') LOOP
		CONTINUE WHEN ar._company_tables(ARRAY(SELECT DISTINCT y[1] FROM regexp_matches(r.prosrc, E'ar\\.(\\w+)\\M(?!\\s*\\()', 'g') y)) = '{}';
		RAISE EXCEPTION 'ar.%, a SQL function reading company tables, is called by a query routed per company', r.proname
			USING ERRCODE = 'internal_error',
			      DETAIL = 'On Citus it is refused, or inlined after planning over the coordinator''s empty tables.',
			      HINT = 'Read its body (a set-returning function of ar._...), or replace it (reads).';
	END LOOP;
	RETURN q;
END $$;
COMMENT ON FUNCTION ar._company_sql(text, text, jsonb) IS
'internal: the text of a query of ar_collect for one company (a literal, or a parameter $n, NULL for every company): every company table (ar._company_tables()) it reads through a subquery of the company, the set-returning SQL functions of ar over them inlined, the /*and company x*/ comments made conditions; or, with reads, the tables and functions named there read instead. An error when a company table would still be read unrouted (written, through a view, a SQL function, or without its copy).';

REVOKE ALL ON FUNCTION ar._company_relations(text[]), ar._company_tables(text[]), ar._company_sql(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._company_relations(text[]), ar._company_tables(text[]), ar._company_sql(text, text, jsonb) TO ar_reader;
