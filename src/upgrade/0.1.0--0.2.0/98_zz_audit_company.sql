-- One audit chain per company (issue 14).  The rows sealed by 0.1.0 stay
-- the chain they are, the legacy chain: each gets its company (company_id,
-- from the row it records; not in its hashed content), and its head is
-- recorded in ar.audit_legacy_chain; every company's chain, and shared
-- configuration's, starts after it (doc/audit.md).  The rows the upgrade's
-- own pieces audited, not sealed yet, are sealed at its commit into their
-- companies' chains.

-- the C trigger with the company of each row (0.1.0's entry point stays for
-- 0.1.0's trail, without the column)
CREATE OR REPLACE FUNCTION ar._audit_row() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'ar_audit_company_row';

ALTER TABLE ar.audit_log ADD COLUMN company_id bigint;

-- The chain sealed before 0.2.0, one for the whole database: its rows keep
-- their seq (1 to last_seq), their hashes and the content their hashes
-- cover (without company_id); company_id was filled in from each row by the
-- upgrade.  Every company's chain starts after it (seq last_seq + 1) from a
-- genesis bound to last_hash (ar.audit_genesis_hash(company_id)).  One row
-- after an upgrade from 0.1.0 that had sealed rows; none in a new install.
CREATE TABLE ar.audit_legacy_chain (
	last_seq   bigint NOT NULL CHECK (last_seq > 0),
	last_hash  bytea NOT NULL,
	closed_at  timestamptz NOT NULL DEFAULT now(),
	one        boolean NOT NULL DEFAULT true UNIQUE CHECK (one)
);

-- One row per transaction that wrote audit rows, whose deferred trigger
-- seals them at commit: one sealing call per transaction, not per row.
INSERT INTO ar.audit_legacy_chain (last_seq, last_hash)
SELECT a.seq, a.row_hash FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;

CREATE FUNCTION ar._audit_legacy_seq() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce((SELECT l.last_seq FROM ar.audit_legacy_chain l), 0) $$;

CREATE FUNCTION ar.audit_genesis_hash(company_id bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT sha256(ar.audit_genesis_hash()
	              || coalesce((SELECT l.last_hash FROM ar.audit_legacy_chain l), ''::bytea)
	              || convert_to('company:' || coalesce($1::text, 'shared'), 'UTF8'))
$$;

CREATE FUNCTION ar._audit_company(table_name text, image jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF table_name = 'company' THEN
		RETURN (image ->> 'id')::bigint;
	ELSIF image ? 'company_id' THEN
		RETURN (image ->> 'company_id')::bigint;
	ELSIF image ? 'customer_id' THEN
		RETURN (SELECT c.company_id FROM ar.customer c WHERE c.id = (image ->> 'customer_id')::bigint);
	ELSIF table_name LIKE 'payment\_plan\_%' AND image ? 'plan_id' THEN
		RETURN (SELECT p.company_id FROM ar.payment_plan p WHERE p.id = (image ->> 'plan_id')::bigint);
	END IF;
	RETURN NULL;
END $$;

-- every row's company, from the row it records (the append-only guard
-- stands aside for this one statement)
ALTER TABLE ar.audit_log DISABLE TRIGGER audit_log_guard_update;
UPDATE ar.audit_log a SET company_id = ar._audit_company(a.table_name, coalesce(a.new_row, a.old_row));
ALTER TABLE ar.audit_log ENABLE TRIGGER audit_log_guard_update;

ALTER TABLE ar.audit_log DROP CONSTRAINT audit_log_seq_key;
ALTER TABLE ar.audit_log ADD CONSTRAINT audit_log_company_seq UNIQUE (company_id, seq);
CREATE UNIQUE INDEX audit_log_shared_seq ON ar.audit_log (seq) WHERE company_id IS NULL;
DROP INDEX ar.audit_log_unsealed;
CREATE INDEX audit_log_unsealed ON ar.audit_log (txid, company_id, id) WHERE seq IS NULL;

CREATE OR REPLACE FUNCTION ar.audit_row_content(r ar.audit_log, at_seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT convert_to(CASE WHEN at_seq <= ar._audit_legacy_seq() THEN
		jsonb_build_array(
			at_seq, r.id, (extract(epoch FROM r.logged_at) * 1000000)::bigint, r.txid::text,
			r.actor, r.role, r.table_name, r.operation, r.row_id, r.old_row, r.new_row)
		ELSE jsonb_build_array(
			at_seq, r.id, (extract(epoch FROM r.logged_at) * 1000000)::bigint, r.txid::text,
			r.actor, r.role, r.table_name, r.operation, r.row_id, r.old_row, r.new_row, r.company_id)
		END::text, 'UTF8')
$$;

CREATE OR REPLACE FUNCTION ar.audit_row_hash(r ar.audit_log, prev_hash bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT sha256(prev_hash || ar.audit_row_content(r, r.seq)) $$;

CREATE OR REPLACE FUNCTION ar._audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row, company_id)
	SELECT TG_TABLE_NAME, TG_OP, (j.r->>'id')::bigint,
	       CASE WHEN TG_OP = 'DELETE' THEN j.r END, CASE WHEN TG_OP = 'INSERT' THEN j.r END,
	       coalesce((j.r->>'company_id')::bigint, ar._audit_company(TG_TABLE_NAME, j.r))
	  FROM (SELECT ar._row_jsonb(c) AS r, c.id FROM changed c) j
	 ORDER BY j.id;
	IF FOUND THEN
		PERFORM ar._audit_request_seal();
	END IF;
	RETURN NULL;
END $$;

DROP FUNCTION ar._audit_seal_rows(bigint, bytea);
CREATE FUNCTION ar._audit_seal_rows(company_id bigint, last_seq bigint, last_hash bytea) RETURNS bigint
LANGUAGE c SET jit = off SET enable_bitmapscan = off SET enable_sort = off
AS 'MODULE_PATHNAME', 'ar_audit_seal_company_rows';

CREATE FUNCTION ar._audit_lock_key(company_id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtext('company:' || coalesce($1::text, 'shared')) $$;

CREATE OR REPLACE FUNCTION ar._audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	companies bigint[];
	k integer;
	c bigint;
	legacy bigint;
	last_seq bigint;
	last_hash bytea;
BEGIN
	DELETE FROM ar.audit_seal_request WHERE txid = NEW.txid;
	PERFORM ar._audit_set_seal_pending(false);
	-- the companies of the transaction's rows: one probe of
	-- audit_log_unsealed per company (NULL, shared configuration, first)
	c := NULL;
	companies := '{}';
	IF EXISTS (SELECT 1 FROM ar.audit_log a
	            WHERE a.seq IS NULL AND a.txid = pg_current_xact_id() AND a.company_id IS NULL) THEN
		companies := ARRAY[NULL::bigint];
	END IF;
	LOOP
		SELECT a.company_id INTO c FROM ar.audit_log a
		 WHERE a.seq IS NULL AND a.txid = pg_current_xact_id() AND a.company_id > coalesce(c, -9223372036854775808)
		 ORDER BY a.company_id LIMIT 1;
		EXIT WHEN NOT FOUND;
		companies := companies || c;
	END LOOP;
	FOR k IN SELECT DISTINCT ar._audit_lock_key(u.c) FROM unnest(companies) u(c) ORDER BY 1 LOOP
		PERFORM pg_advisory_xact_lock(hashtext('ar_collect.audit_chain'), k);
	END LOOP;
	legacy := ar._audit_legacy_seq();
	FOREACH c IN ARRAY companies LOOP
		IF c IS NULL THEN
			SELECT a.seq, a.row_hash INTO last_seq, last_hash FROM ar.audit_log a
			 WHERE a.company_id IS NULL AND a.seq > legacy ORDER BY a.seq DESC LIMIT 1;
		ELSE
			SELECT a.seq, a.row_hash INTO last_seq, last_hash FROM ar.audit_log a
			 WHERE a.company_id = c AND a.seq > legacy ORDER BY a.seq DESC LIMIT 1;
		END IF;
		IF NOT FOUND THEN
			last_seq := legacy;
			last_hash := ar.audit_genesis_hash(c);
		END IF;
		PERFORM ar._audit_seal_rows(c, last_seq, last_hash);
	END LOOP;
	RETURN NULL;
END $$;

DROP TRIGGER audit_log_guard_update ON ar.audit_log;
CREATE TRIGGER audit_log_guard_update BEFORE UPDATE ON ar.audit_log
	FOR EACH ROW
	WHEN (pg_trigger_depth() < 1 OR OLD.seq IS NOT NULL
	      OR (OLD.id, OLD.logged_at, OLD.txid, OLD.actor, OLD.role, OLD.table_name, OLD.operation,
	          OLD.row_id, OLD.old_row, OLD.new_row, OLD.company_id)
	         IS DISTINCT FROM
	         (NEW.id, NEW.logged_at, NEW.txid, NEW.actor, NEW.role, NEW.table_name, NEW.operation,
	          NEW.row_id, NEW.old_row, NEW.new_row, NEW.company_id))
	EXECUTE FUNCTION ar._audit_guard();
-- The legacy chain's rows cannot be changed, nor the record of it (but by a
-- restore reloading it as it was).
CREATE FUNCTION ar._audit_legacy_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' AND ar._restoring() THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'ar.audit_legacy_chain is written by the upgrade from 0.1.0 only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_legacy_chain_guard BEFORE INSERT OR UPDATE OR DELETE ON ar.audit_legacy_chain
	FOR EACH ROW EXECUTE FUNCTION ar._audit_legacy_guard();
CREATE TRIGGER audit_legacy_chain_no_truncate BEFORE TRUNCATE ON ar.audit_legacy_chain
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- One chain, row by row: chain 'legacy' (the rows sealed before 0.2.0, from
-- ar.audit_genesis_hash() to the head recorded in ar.audit_legacy_chain) or
-- 'company' (the rows of company_id after the legacy chain, NULL: of shared
-- configuration, from ar.audit_genesis_hash(company_id)).  For a company
-- also: its rows of the legacy chain each against its own hash when
-- legacy_rows (their links are checked with the legacy chain), the
-- anonymisations of the company (their redaction records against the
-- manifest chained in its chain), and its rows an earlier transaction left
-- unsealed (outside the chain: a transaction seals its rows before it
-- commits; only the current transaction's rows are not sealed yet).  A row
-- redacted by an anonymisation (doc/gdpr.md) keeps its row_hash: its
-- content is checked against its latest ar.audit_redaction record instead.
CREATE FUNCTION ar._audit_verify(chain text, company_id bigint, legacy_rows boolean)
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	rec record;
	r ar.audit_log;
	legacy bigint := ar._audit_legacy_seq();
	company bigint := _audit_verify.company_id;
	expected_seq bigint;
	expected_prev bytea;
	unsealed record;
	g record;
	chained record;
	cond text := CASE WHEN chain = 'legacy' THEN 'a.seq <= $1'
	                  WHEN company IS NULL THEN 'a.company_id IS NULL AND a.seq > $1'
	                  ELSE 'a.company_id = $2 AND a.seq > $1' END;
BEGIN
	rows_checked := 0;
	IF chain = 'legacy' THEN
		expected_seq := 1;
		expected_prev := ar.audit_genesis_hash();
	ELSE
		expected_seq := legacy + 1;
		expected_prev := ar.audit_genesis_hash(company);
	END IF;
	-- the company's rows of the legacy chain, each on its own
	IF chain = 'company' AND legacy_rows AND legacy > 0 THEN
		FOR rec IN EXECUTE format(
			'SELECT a AS arow, x.redacted_sha256 AS redacted
			   FROM ar.audit_log a
			   LEFT JOIN LATERAL (SELECT y.redacted_sha256 FROM ar.audit_redaction y
			                       WHERE y.audit_id = a.id ORDER BY y.anonymisation_id DESC LIMIT 1) x ON true
			  WHERE %s AND a.seq <= $1 ORDER BY a.seq',
			CASE WHEN company IS NULL THEN 'a.company_id IS NULL' ELSE 'a.company_id = $2' END) USING legacy, company LOOP
			r := rec.arow;
			rows_checked := rows_checked + 1;
			problem := CASE
				WHEN rec.redacted IS NULL THEN
					CASE WHEN r.row_hash IS DISTINCT FROM ar.audit_row_hash(r, r.prev_hash) THEN 'row content does not match its hash' END
				WHEN r.table_name = 'gdpr_anonymisation' THEN 'a row of the anonymisation log is marked redacted'
				WHEN sha256(ar.audit_row_content(r, r.seq)) IS DISTINCT FROM rec.redacted
					THEN 'redacted row content does not match its redaction record'
			END;
			IF problem IS NOT NULL THEN
				valid := false; first_broken_seq := r.seq; first_broken_id := r.id;
				RETURN NEXT;
				RETURN;
			END IF;
		END LOOP;
	END IF;
	FOR rec IN EXECUTE format(
		'SELECT a AS arow, x.redacted_sha256 AS redacted
		   FROM ar.audit_log a
		   LEFT JOIN LATERAL (SELECT y.redacted_sha256 FROM ar.audit_redaction y
		                       WHERE y.audit_id = a.id ORDER BY y.anonymisation_id DESC LIMIT 1) x ON true
		  WHERE %s ORDER BY a.seq', cond) USING legacy, company LOOP
		r := rec.arow;
		rows_checked := rows_checked + 1;
		problem := CASE
			WHEN r.seq <> expected_seq THEN format('rows %s to %s are missing', expected_seq, r.seq - 1)
			WHEN r.prev_hash IS DISTINCT FROM expected_prev THEN 'prev_hash does not match the previous row'
			WHEN rec.redacted IS NULL THEN
				CASE WHEN r.row_hash IS DISTINCT FROM ar.audit_row_hash(r, r.prev_hash) THEN 'row content does not match its hash' END
			WHEN r.table_name = 'gdpr_anonymisation' THEN 'a row of the anonymisation log is marked redacted'
			WHEN sha256(ar.audit_row_content(r, r.seq)) IS DISTINCT FROM rec.redacted
				THEN 'redacted row content does not match its redaction record'
		END;
		IF problem IS NOT NULL THEN
			valid := false; first_broken_seq := r.seq; first_broken_id := r.id;
			RETURN NEXT;
			RETURN;
		END IF;
		expected_seq := r.seq + 1;
		expected_prev := r.row_hash;
	END LOOP;
	IF chain = 'legacy' THEN
		-- the legacy chain ends where the upgrade recorded it
		IF expected_seq - 1 <> legacy OR expected_prev IS DISTINCT FROM (SELECT l.last_hash FROM ar.audit_legacy_chain l) THEN
			valid := false;
			problem := format('the legacy chain ends at row %s, not at the head recorded by the upgrade (row %s)',
			                  expected_seq - 1, legacy);
			RETURN NEXT;
			RETURN;
		END IF;
		valid := true;
		RETURN NEXT;
		RETURN;
	END IF;
	FOR g IN SELECT x.anonymisation_id AS id, max(a.seq) AS last_seq, min(a.seq) AS first_seq, min(a.id) AS first_id
	           FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id
	           JOIN ar.gdpr_anonymisation n ON n.id = x.anonymisation_id
	          WHERE n.company_id IS NOT DISTINCT FROM company
	          GROUP BY x.anonymisation_id ORDER BY x.anonymisation_id LOOP
		SELECT a.seq, a.id, a.new_row ->> 'manifest_sha256' AS manifest INTO chained
		  FROM ar.audit_log a
		 WHERE a.table_name = 'gdpr_anonymisation' AND a.row_id = g.id AND a.seq IS NOT NULL
		 ORDER BY a.seq DESC LIMIT 1;
		IF NOT FOUND OR chained.manifest IS NULL THEN
			CONTINUE WHEN EXISTS (SELECT 1 FROM ar.gdpr_anonymisation y
			                       WHERE y.id = g.id AND y.txid = pg_current_xact_id_if_assigned());
			problem := format('anonymisation %s redacted audit rows but its manifest is not in the chain', g.id);
			first_broken_seq := g.first_seq; first_broken_id := g.first_id;
		ELSIF chained.seq < g.last_seq THEN
			problem := format('the manifest of anonymisation %s is chained before rows it redacted', g.id);
			first_broken_seq := chained.seq; first_broken_id := chained.id;
		ELSIF chained.manifest::bytea IS DISTINCT FROM ar._gdpr_manifest(g.id) THEN
			problem := format('the redaction records of anonymisation %s do not match the manifest chained at row %s',
			                  g.id, chained.seq);
			first_broken_seq := g.first_seq; first_broken_id := g.first_id;
		END IF;
		IF problem IS NOT NULL THEN
			valid := false;
			RETURN NEXT;
			RETURN;
		END IF;
	END LOOP;
	SELECT a.id, a.txid, count(*) OVER () AS n INTO unsealed
	  FROM ar.audit_log a
	 WHERE a.seq IS NULL AND a.company_id IS NOT DISTINCT FROM company
	   AND a.txid IS DISTINCT FROM pg_current_xact_id_if_assigned()
	 ORDER BY a.txid, a.id LIMIT 1;
	IF FOUND THEN
		valid := false; first_broken_id := unsealed.id;
		problem := format('%s row(s) of earlier transactions were never sealed (outside the chain), the first of transaction %s',
		                  unsealed.n, unsealed.txid);
		RETURN NEXT;
		RETURN;
	END IF;
	valid := true;
	RETURN NEXT;
END $$;

-- Every chain the caller may read (row-level security: an admin reads its
-- companies' rows and those of shared configuration), one row each: the
-- legacy chain first (after an upgrade from 0.1.0), then shared
-- configuration's (company_id NULL), then each company's in id order.
CREATE FUNCTION ar.verify_audit_chains()
RETURNS TABLE (chain text, company_id bigint, valid boolean, rows_checked bigint, first_broken_seq bigint,
               first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
DECLARE
	legacy bigint := ar._audit_legacy_seq();
	c bigint;
	v record;
BEGIN
	IF legacy > 0 OR EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.seq IS NOT NULL AND a.seq <= legacy) THEN
		SELECT * INTO v FROM ar._audit_verify('legacy', NULL, false);
		RETURN QUERY SELECT 'legacy'::text, NULL::bigint, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END IF;
	IF EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.company_id IS NULL AND a.seq > legacy)
	   OR EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.company_id IS NULL AND a.seq IS NULL) THEN
		SELECT * INTO v FROM ar._audit_verify('company', NULL, false);
		RETURN QUERY SELECT 'shared'::text, NULL::bigint, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END IF;
	FOR c IN SELECT DISTINCT a.company_id FROM ar.audit_log a
	          WHERE a.company_id IS NOT NULL AND (a.seq > legacy OR a.seq IS NULL)
	          ORDER BY 1 LOOP
		SELECT * INTO v FROM ar._audit_verify('company', c, false);
		RETURN QUERY SELECT 'company'::text, c, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END LOOP;
END $$;

-- Every chain (ar.verify_audit_chains()): valid when all are, rows_checked
-- their total; else the first broken link of the first broken chain.
CREATE OR REPLACE FUNCTION ar.verify_audit_chain()
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	v record;
BEGIN
	rows_checked := 0;
	FOR v IN SELECT * FROM ar.verify_audit_chains() LOOP
		rows_checked := rows_checked + v.rows_checked;
		IF NOT v.valid THEN
			valid := false; first_broken_seq := v.first_broken_seq; first_broken_id := v.first_broken_id;
			problem := v.problem;
			RETURN NEXT;
			RETURN;
		END IF;
	END LOOP;
	valid := true;
	RETURN NEXT;
END $$;

-- One company's chain (NULL: shared configuration's), with its rows of the
-- legacy chain each against its own hash.
CREATE FUNCTION ar.verify_audit_chain(company_id bigint)
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE sql STABLE
AS $$ SELECT * FROM ar._audit_verify('company', $1, true) $$;

-- The head of every chain the caller may read: the legacy chain's (its
-- recorded head), shared configuration's (company_id NULL), each company's.
CREATE FUNCTION ar.audit_chain_heads()
RETURNS TABLE (chain text, company_id bigint, seq bigint, row_hash bytea)
LANGUAGE sql STABLE
AS $$
	WITH RECURSIVE legacy(seq) AS (SELECT ar._audit_legacy_seq()),
	companies(id) AS (
		SELECT min(a.company_id) FROM ar.audit_log a, legacy l WHERE a.company_id IS NOT NULL AND a.seq > l.seq
		UNION ALL
		SELECT (SELECT min(a.company_id) FROM ar.audit_log a, legacy l
		         WHERE a.company_id > c.id AND a.seq > l.seq)
		  FROM companies c WHERE c.id IS NOT NULL)
	SELECT 'legacy', NULL::bigint, l.last_seq, l.last_hash FROM ar.audit_legacy_chain l
	UNION ALL
	SELECT * FROM (SELECT 'shared', NULL::bigint, a.seq, a.row_hash FROM ar.audit_log a, legacy l
	                WHERE a.company_id IS NULL AND a.seq > l.seq ORDER BY a.seq DESC LIMIT 1) s
	UNION ALL
	SELECT 'company', c.id, h.seq, h.row_hash
	  FROM companies c
	 CROSS JOIN LATERAL (SELECT a.seq, a.row_hash FROM ar.audit_log a, legacy l
	                      WHERE a.company_id = c.id AND a.seq > l.seq ORDER BY a.seq DESC LIMIT 1) h
	 WHERE c.id IS NOT NULL
$$;

-- The last sealed link of one company's chain (NULL: of shared
-- configuration's), to anchor outside the database.
CREATE FUNCTION ar.audit_chain_head(company_id bigint, OUT seq bigint, OUT row_hash bytea)
LANGUAGE sql STABLE
AS $$
	SELECT h.seq, h.row_hash
	  FROM (SELECT a.seq, a.row_hash FROM ar.audit_log a
	         WHERE a.company_id = $1 AND a.seq > ar._audit_legacy_seq()
	        UNION ALL
	        SELECT a.seq, a.row_hash FROM ar.audit_log a
	         WHERE $1 IS NULL AND a.company_id IS NULL AND a.seq > ar._audit_legacy_seq()) h
	 ORDER BY h.seq DESC LIMIT 1
$$;

-- All the chains at once: seq the number of sealed links (the legacy
-- chain's and every chain's after it), row_hash the sha256 of one line per
-- chain head, "chain:company_id:seq:row_hash in hex" (company_id empty for
-- the legacy and the shared chain), in the order of ar.audit_chain_heads(),
-- joined by newlines: one value to anchor outside the database.
CREATE OR REPLACE FUNCTION ar.audit_chain_head(OUT seq bigint, OUT row_hash bytea)
LANGUAGE sql STABLE
AS $$
	SELECT CASE WHEN count(*) > 0 THEN ar._audit_legacy_seq() + coalesce(sum(h.seq - ar._audit_legacy_seq()) FILTER (WHERE h.chain <> 'legacy'), 0) END,
	       sha256(convert_to(string_agg(format('%s:%s:%s:%s', h.chain, h.company_id, h.seq, encode(h.row_hash, 'hex')), E'\n'
	                                    ORDER BY h.chain = 'company', h.chain = 'shared', h.company_id), 'UTF8'))
	  FROM ar.audit_chain_heads() h
$$;

SELECT pg_catalog.pg_extension_config_dump('ar.audit_legacy_chain', '');

-- row-level security on company_id, forced
ALTER TABLE ar.audit_log FORCE ROW LEVEL SECURITY;
ALTER POLICY company_read ON ar.audit_log
	USING (company_id IS NULL OR company_id = ANY ((SELECT ar._company_ids('admin'))::bigint[]));

-- grants as a new install's (src/sql/90_roles.sql)
REVOKE ALL ON FUNCTION ar.audit_genesis_hash(bigint), ar._audit_legacy_seq(), ar._audit_company(text, jsonb),
                       ar.audit_row_hash(ar.audit_log, bytea), ar._audit_seal_rows(bigint, bigint, bytea),
                       ar._audit_legacy_guard(), ar._audit_verify(text, bigint, boolean), ar.verify_audit_chains(),
                       ar.verify_audit_chain(bigint), ar.audit_chain_heads(), ar.audit_chain_head(bigint)
	FROM PUBLIC;
GRANT SELECT ON ar.audit_legacy_chain TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.verify_audit_chain(bigint), ar.verify_audit_chains(), ar.audit_chain_head(bigint),
                          ar.audit_chain_heads(), ar.audit_genesis_hash(bigint), ar._audit_legacy_seq(),
                          ar._audit_verify(text, bigint, boolean), ar.audit_row_hash(ar.audit_log, bytea)
	TO ar_admin;
