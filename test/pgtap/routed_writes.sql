-- Every UPDATE and DELETE of a company table in a function of ar names its
-- company in its WHERE (doc/scale_out.md "Row locks routed per company").
-- On Citus a statement without it is planned over every shard and runs on
-- other connections than the routed row lock its transaction took before:
-- they wait on that lock, a distributed deadlock (ar.classify_dispute,
-- test/citus.sh check 38).  Read from the catalog: each statement of each
-- SQL and PL/pgSQL function of ar (comments out, up to its ';' or the ')'
-- closing its CTE), its own WHERE (not a subquery's of its SET); the
-- company tables are those ar.distribute() distributes by company_id.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(5);

CREATE FUNCTION pg_temp.company_writes()
RETURNS TABLE (fn text, tbl name, stmt text, names_company boolean)
LANGUAGE plpgsql AS $f$
DECLARE
	p record;
	src text;
	start integer;
	j integer;
	depth integer;
	c text;
	top text;
	w integer;
	clause text;
	statement_re constant text := '\m(UPDATE|DELETE\s+FROM)\s+(ONLY\s+)?ar\.\w+';
BEGIN
	FOR p IN SELECT f.oid::regprocedure::text AS name, f.prosrc
	           FROM pg_proc f JOIN pg_language l ON l.oid = f.prolang
	          WHERE f.pronamespace = 'ar'::regnamespace AND l.lanname IN ('sql', 'plpgsql') LOOP
		src := regexp_replace(regexp_replace(p.prosrc, '/\*.*?\*/', ' ', 'g'), '--[^\n]*', ' ', 'g');
		FOR i IN 1 .. regexp_count(src, statement_re, 1, 'i') LOOP
			start := regexp_instr(src, statement_re, 1, i, 0, 'i');
			-- the statement, and its text at its own depth (blanks elsewhere)
			depth := 0; top := ''; j := start;
			WHILE j <= length(src) LOOP
				c := substr(src, j, 1);
				EXIT WHEN c = ';' AND depth = 0;
				IF c = '(' THEN depth := depth + 1;
				ELSIF c = ')' THEN depth := depth - 1; EXIT WHEN depth < 0;
				END IF;
				top := top || CASE WHEN depth = 0 AND c <> ')' THEN c ELSE ' ' END;
				j := j + 1;
			END LOOP;
			-- (FOR r IN UPDATE ... LOOP)
			w := regexp_instr(top, '\mLOOP\M', 1, 1, 0, 'i');
			IF w > 0 THEN
				j := start + w - 1;
				top := left(top, w - 1);
			END IF;
			fn := p.name;
			stmt := regexp_replace(btrim(substr(src, start, j - start)), '\s+', ' ', 'g');
			tbl := substring(stmt from '(?i)ar\.(\w+)');
			w := regexp_instr(top, '\mWHERE\M', 1, 1, 0, 'i');
			clause := CASE WHEN w = 0 THEN '' ELSE regexp_replace(substr(src, start + w - 1, j - start - w + 1),
			                                                        '\mRETURNING\M.*$', '', 'is') END;
			names_company := clause ~* '\mcompany_id\M';
			RETURN NEXT;
		END LOOP;
	END LOOP;
END $f$;

-- the reading itself: a probe of each kind
CREATE FUNCTION ar.routed_writes_probe(k bigint, x bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE ar.invoice i SET disputed = true WHERE i.id = x;  -- not routed, company_id in a comment
	UPDATE ar.invoice i SET disputed = (SELECT d.id > 0 FROM ar.dispute d WHERE d.company_id = k) WHERE i.id = x;
	WITH gone AS (DELETE FROM ar.dispute d WHERE d.invoice_id = x RETURNING d.company_id)
	UPDATE ar.invoice i SET disputed = false FROM gone WHERE i.company_id = k AND i.id = x;
	/* company_id */ DELETE FROM ar.dispute d WHERE d.company_id = k AND d.invoice_id = x;
	UPDATE ar.company SET name = 'x' WHERE id = k;
END $$;
CREATE TEMP TABLE company_write AS
SELECT w.* FROM pg_temp.company_writes() w
 WHERE w.tbl IN (SELECT c.relname FROM ar._distribute_plan() d JOIN pg_class c ON c.oid = d.table_name
                  WHERE d.kind = 'distributed');

-- Statements over many companies, each function with its reason:
CREATE TEMP TABLE routed_exempt (fn text, reason text);
INSERT INTO routed_exempt VALUES
	('ar._summary_add(bigint[],bigint[],text[],date[],boolean[],numeric[],integer[])',
	 'one node''s fold, the emptied rows of every company by ctid (on Citus: ar._summary_add_shard on each shard)'),
	('ar._summary_fold()', 'one node''s fold of the queue of every company (on Citus: ar._summary_fold_shard)'),
	('ar._kpi_summary_fold()', 'one node''s fold of the queue of every company (on Citus: ar._kpi_summary_fold_shard)'),
	('ar._dunning_effect_fold()', 'one node''s fold of the queue of every company (on Citus: ar._dunning_effect_fold_shard)'),
	('ar._age_summaries(date)', 'the re-aging of every company under the summary''s table lock (per company on Citus: ar._summaries_insert)'),
	('ar.rebuild_summaries(date)', 'the recomputation of every company under the ledger''s table lock (ar._summaries_insert)'),
	('ar._kpi_summary_rebuild()', 'the recomputation of every company (under ar.rebuild_summaries''s locks)'),
	('ar._dunning_effect_rebuild()', 'the recomputation of every company (under ar.rebuild_summaries''s locks)');

SELECT results_eq($$SELECT stmt, names_company FROM company_write WHERE fn = 'ar.routed_writes_probe(bigint,bigint)' ORDER BY stmt$$,
	$$VALUES ('DELETE FROM ar.dispute d WHERE d.company_id = k AND d.invoice_id = x', true),
	         ('DELETE FROM ar.dispute d WHERE d.invoice_id = x RETURNING d.company_id', false),
	         ('UPDATE ar.invoice i SET disputed = (SELECT d.id > 0 FROM ar.dispute d WHERE d.company_id = k) WHERE i.id = x', false),
	         ('UPDATE ar.invoice i SET disputed = false FROM gone WHERE i.company_id = k AND i.id = x', true),
	         ('UPDATE ar.invoice i SET disputed = true WHERE i.id = x', false)$$,
	'the reading of a function: each UPDATE and DELETE of a company table, its own WHERE naming company_id or not (a comment, a subquery of SET, a RETURNING do not count; a reference table is no company table)');
DELETE FROM company_write WHERE fn = 'ar.routed_writes_probe(bigint,bigint)';

SELECT cmp_ok((SELECT count(*) FROM company_write WHERE names_company), '>=', 50::bigint,
              'the functions of ar have their UPDATEs and DELETEs of company tables read (50 or more naming the company)');

SELECT is_empty($$
	SELECT fn, stmt FROM company_write
	 WHERE NOT names_company AND fn NOT IN (SELECT fn FROM routed_exempt)
	 ORDER BY fn, stmt $$,
	'every UPDATE and DELETE of a company table in a function of ar names company_id in its WHERE (routed to one shard on Citus), but for the listed sweeps');

SELECT is_empty($$
	SELECT e.fn FROM routed_exempt e WHERE to_regprocedure(e.fn) IS NULL
	UNION ALL
	SELECT e.fn FROM routed_exempt e WHERE NOT EXISTS (SELECT FROM company_write w WHERE w.fn = e.fn AND NOT w.names_company) $$,
	'the exemptions name functions that exist and still write company tables without naming the company');

SELECT is((SELECT count(*) FROM routed_exempt WHERE coalesce(reason, '') = ''), 0::bigint, 'each exemption has its reason');

SELECT * FROM finish();
ROLLBACK;
