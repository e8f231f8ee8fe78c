-- ---------------------------------------------------------------------------
-- The audit chains, one per company (40_audit.sql): the record of the
-- legacy chain of a 0.1.0 database, the hash rule and its content, the
-- company of an audit row, the statement-level audit of allocations, the
-- seals (one per transaction and company, ar.audit_seal) written at commit
-- and the verification.  Written to be run again: this piece
-- is also the upgrade's (src/upgrade/0.1.0--0.2.0/98_zz_audit_2_chains.sql),
-- which replaces the functions 0.1.0 had.
-- ---------------------------------------------------------------------------

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

-- The last seq of the legacy chain (0 without one): company chains number
-- their rows after it.
CREATE OR REPLACE FUNCTION ar._audit_legacy_seq() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce((SELECT l.last_seq FROM ar.audit_legacy_chain l), 0) $$;

-- Where a company's chain starts: sha256 of the global genesis, the legacy
-- chain's last hash (nothing without one) and 'company:' || company_id
-- ('company:shared' for the chain of shared configuration, company 0 or
-- NULL), in UTF-8.
CREATE OR REPLACE FUNCTION ar.audit_genesis_hash(company_id bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT sha256(ar.audit_genesis_hash()
	              || coalesce((SELECT l.last_hash FROM ar.audit_legacy_chain l), ''::bytea)
	              || convert_to('company:' || coalesce(nullif($1, 0)::text, 'shared'), 'UTF8'))
$$;

-- What the hash covers: every column but the hashes, in a text form that
-- does not depend on the session (time as UTC microseconds, jsonb's
-- canonical output).  The definition the verification checks against; the
-- row's hash at insert is built from the same text in C (audit_content()
-- in src/audit.c, without the jsonb copy of the row's images that
-- jsonb_build_array makes), so a row verifies only if the two agree byte
-- for byte.  Since 0.2.0 a row is hashed when it is written, at_seq NULL
-- (its first element is null: the row's place in its company's chain is
-- the seal of its transaction), company_id the last element; a row of the
-- legacy chain (at_seq up to its last seq) was hashed at its seq without
-- company_id, as 0.1.0 sealed it.
-- (STABLE as its body, so that it is inlined where it is called.)
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

-- A row's hash: sha256(prev_hash || its content at its seq).  A row of the
-- legacy chain: after the previous row's hash; a row hashed at insert
-- (seq NULL, since 0.2.0): prev_hash NULL, sha256 of its content alone.
CREATE OR REPLACE FUNCTION ar.audit_row_hash(r ar.audit_log, prev_hash bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT sha256(coalesce(prev_hash, ''::bytea) || ar.audit_row_content(r, r.seq)) $$;

-- The company an audit row belongs to, from the image of the row it
-- records: a company is its own; a row with company_id, that company; a
-- customer's dunning policy, its customer's; a payment plan's instalment or
-- invoice, its plan's; 0 for shared configuration (and for a row whose
-- customer or plan is gone).  The triggers take company_id from the row
-- itself and call this only for tables without it.
CREATE OR REPLACE FUNCTION ar._audit_company(table_name text, image jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF table_name = 'company' THEN
		RETURN (image ->> 'id')::bigint;
	ELSIF image ? 'company_id' THEN
		RETURN (image ->> 'company_id')::bigint;
	ELSIF image ? 'customer_id' THEN
		RETURN coalesce((SELECT c.company_id FROM ar.customer c WHERE c.id = (image ->> 'customer_id')::bigint), 0);
	ELSIF table_name LIKE E'payment\\_plan\\_%' AND image ? 'plan_id' THEN
		RETURN coalesce((SELECT p.company_id FROM ar.payment_plan p WHERE p.id = (image ->> 'plan_id')::bigint), 0);
	END IF;
	RETURN 0;
END $$;

-- AFTER INSERT or AFTER DELETE ... FOR EACH STATEMENT with the transition
-- table "changed" (NEW TABLE, or OLD TABLE for deletes): the same audit rows
-- as ar._audit_row(), in id order, with one INSERT; fired on a shard
-- (Citus), one per company into its audit shard (ar._audit_log_shard,
-- 41_audit_chains_1_shards.sql).
CREATE OR REPLACE FUNCTION ar._audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
DECLARE
	audited text;
	chain bigint;
	target regclass;
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;
	END IF;
	audited := ar._logical_table_name(TG_RELID);
	IF audited <> TG_TABLE_NAME THEN
		FOR chain IN SELECT DISTINCT coalesce((j.r ->> 'company_id')::bigint, ar._audit_company(audited, j.r))
		           FROM (SELECT ar._row_jsonb(x) AS r FROM changed x) j LOOP
			target := ar._audit_log_shard(TG_RELID, chain);
			CONTINUE WHEN target IS NULL;
			-- (a shard has no identity: ids from this node's sequence, drawn
			-- in the rows' id order)
			EXECUTE format('INSERT INTO %s (id, table_name, operation, row_id, old_row, new_row, company_id)
			                SELECT nextval(pg_get_serial_sequence(''ar.audit_log'', ''id'')), $1, $2, (o.r ->> ''id'')::bigint,
			                       CASE WHEN $2 = ''DELETE'' THEN o.r END, CASE WHEN $2 = ''INSERT'' THEN o.r END, $3
			                  FROM (SELECT j.r FROM (SELECT ar._row_jsonb(x) AS r, x.id FROM changed x) j
			                         WHERE coalesce((j.r ->> ''company_id'')::bigint, ar._audit_company($1, j.r)) = $3
			                         ORDER BY j.id) o', target)
			  USING audited, TG_OP, chain;
			IF target <> 'ar.audit_log'::regclass THEN
				PERFORM ar._audit_shard_written(target);
			END IF;
			PERFORM ar._audit_request_seal();
		END LOOP;
		RETURN NULL;
	END IF;
	INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row, company_id)
	SELECT audited, TG_OP, (j.r->>'id')::bigint,
	       CASE WHEN TG_OP = 'DELETE' THEN j.r END, CASE WHEN TG_OP = 'INSERT' THEN j.r END,
	       coalesce((j.r->>'company_id')::bigint, ar._audit_company(audited, j.r))
	  FROM (SELECT ar._row_jsonb(c) AS r, c.id FROM changed c) j
	 ORDER BY j.id;
	IF FOUND THEN
		PERFORM ar._audit_request_seal();
	END IF;
	RETURN NULL;
END $$;

-- Whether the ledger is distributed (Citus: ar.invoice in its metadata)
-- while the audit trail is not: each node then writes the audit rows of
-- the shards it holds into its own ar.audit_log (doc/scale_out.md,
-- blocker 8), and what needs a company's whole trail refuses.
CREATE OR REPLACE FUNCTION ar._audit_trail_on_nodes() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- (ar._colocated_with_ledger reads Citus's catalog: only once the
	-- ledger is distributed; both in 86_dashboard_summary.sql)
	IF NOT ar._ledger_distributed() THEN
		RETURN false;
	END IF;
	RETURN NOT ar._colocated_with_ledger(ARRAY['ar.audit_log'::regclass]);
END $$;

-- The seals: one per transaction and company (0: shared configuration)
-- that wrote audit rows, appended at commit to that company's chain.  A
-- seal binds its rows (the transaction's rows of the company, txid and
-- company_id, ids first_id to last_id) by their number and rows_hash, the
-- sha256 of their row hashes in id order, each 32 bytes, concatenated; its
-- own hash chains it to the company's previous seal:
--   seal_hash = sha256(prev_hash || ar.audit_seal_content(seal))
-- the first seal of a company after ar.audit_genesis_hash(company_id),
-- numbered after the legacy chain (seq ar._audit_legacy_seq() + 1).
CREATE TABLE ar.audit_seal (
	company_id  bigint NOT NULL,
	seq         bigint NOT NULL,
	txid        xid8 NOT NULL,
	first_id    bigint NOT NULL,
	last_id     bigint NOT NULL,
	row_count   bigint NOT NULL CHECK (row_count > 0),
	rows_hash   bytea NOT NULL,
	sealed_at   timestamptz NOT NULL,
	prev_hash   bytea NOT NULL,
	seal_hash   bytea NOT NULL,
	CONSTRAINT audit_seal_company_seq UNIQUE (company_id, seq)
);
-- the seals of a transaction: which of its rows are sealed
CREATE INDEX audit_seal_txid ON ar.audit_seal (txid, company_id, first_id);

-- What a seal's hash covers, in UTF-8: jsonb_build_array(seq, company_id,
-- txid::text, first_id, last_id, row_count, rows_hash in hex, sealed_at as
-- UTC microseconds)::text.
CREATE OR REPLACE FUNCTION ar.audit_seal_content(s ar.audit_seal) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT convert_to(jsonb_build_array(
		s.seq, s.company_id, s.txid::text, s.first_id, s.last_id, s.row_count, encode(s.rows_hash, 'hex'),
		(extract(epoch FROM s.sealed_at) * 1000000)::bigint)::text, 'UTF8')
$$;

CREATE OR REPLACE FUNCTION ar.audit_seal_hash(s ar.audit_seal, prev_hash bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT sha256(prev_hash || ar.audit_seal_content(s)) $$;

-- Whether an audit row is one of this transaction's not sealed yet (no
-- seal of its transaction and company covers it).
CREATE OR REPLACE FUNCTION ar._audit_unsealed(a ar.audit_log) RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT a.seq IS NULL AND a.txid = pg_current_xact_id()
	   AND NOT EXISTS (SELECT 1 FROM ar.audit_seal s
	                    WHERE s.txid = a.txid AND s.company_id = a.company_id
	                      AND a.id BETWEEN s.first_id AND s.last_id)
$$;

-- The seal a row belongs to: its place in its company's chain (a row of
-- the legacy chain: its own seq).  NULL: not sealed.
CREATE OR REPLACE FUNCTION ar._audit_link(a ar.audit_log) RETURNS bigint
LANGUAGE sql STABLE
AS $$
	SELECT coalesce(a.seq, (SELECT s.seq FROM ar.audit_seal s
	                         WHERE s.txid = a.txid AND s.company_id = a.company_id
	                           AND a.id BETWEEN s.first_id AND s.last_id))
$$;

-- A seal conflicting with another's on (company_id, seq): the transaction
-- runs at REPEATABLE READ or SERIALIZABLE and another sealed the company's
-- chain after its snapshot was taken, so its chain head was stale.  Raised
-- as a serialization failure (40001), which clients and drivers retry, not
-- as the unique violation that reached them before.
CREATE OR REPLACE FUNCTION ar._audit_seal_conflict(company_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'could not serialize access to the audit chain of %',
		CASE WHEN company_id = 0 THEN 'the shared configuration'
		     ELSE 'company ' || coalesce((SELECT c.code FROM ar.company c WHERE c.id = _audit_seal_conflict.company_id),
		                                 company_id::text) END
		USING ERRCODE = 'serialization_failure',
		      DETAIL = 'Another transaction sealed that chain after this transaction''s snapshot was taken.',
		      HINT = 'Retry the transaction.';
END $$;
REVOKE ALL ON FUNCTION ar._audit_seal_conflict(bigint) FROM PUBLIC;   -- (the seal's, as on a new install)

-- Seals this transaction's audit rows at commit: for each company it wrote
-- (the rows after the last it sealed before, when it sealed already), one
-- seal after that company's last, under that company's lock; the locks of
-- all its companies taken first, in the order of their keys.
CREATE OR REPLACE FUNCTION ar._audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	me xid8 := pg_current_xact_id();
	companies bigint[];
	k bigint;
	c bigint;
	after_id bigint;
	legacy bigint;
	s ar.audit_seal;
	hashed bigint;
	shard regclass;
BEGIN
	DELETE FROM ar.audit_seal_request WHERE txid = NEW.txid;
	PERFORM ar._audit_set_seal_pending(false);
	-- a trail distributed with the ledger (Citus): the audit shards of this
	-- node the transaction wrote, each sealed in its co-located seal shard
	-- (41_audit_chains_1_shards.sql); this node's ar.audit_log is then
	-- Citus's table, which takes no row but through its shards (an audited
	-- table left out of the distribution writes through it from another
	-- node's session, which its guard refuses)
	IF ar._audit_trail_distributed() THEN
		FOREACH shard IN ARRAY ar._audit_shards_written() LOOP
			PERFORM ar._audit_seal_shard(shard);
		END LOOP;
		RETURN NULL;
	END IF;
	-- the rows sealed already by this transaction (SET CONSTRAINTS ...
	-- IMMEDIATE) are those up to the last id of its seals
	after_id := coalesce((SELECT max(x.last_id) FROM ar.audit_seal x WHERE x.txid = me), 0);
	-- the companies of the transaction's rows (0: shared configuration):
	-- one probe of audit_log_txid per company
	c := NULL;
	companies := '{}';
	LOOP
		SELECT a.company_id INTO c FROM ar.audit_log a
		 WHERE a.txid = me AND a.company_id > coalesce(c, -9223372036854775808) AND a.id > after_id AND a.seq IS NULL
		 ORDER BY a.company_id LIMIT 1;
		EXIT WHEN NOT FOUND;
		companies := companies || c;
	END LOOP;
	-- each company's chain locked (ar.lock_slot), in company order: two
	-- transactions writing the same companies cannot deadlock
	FOR k IN SELECT DISTINCT u.c FROM unnest(companies) u(c) ORDER BY 1 LOOP
		PERFORM ar._take_lock('audit_chain', k);
	END LOOP;
	legacy := ar._audit_legacy_seq();
	FOREACH c IN ARRAY companies LOOP
		s := NULL;
		SELECT x.seq, x.seal_hash INTO s.seq, s.prev_hash FROM ar.audit_seal x
		 WHERE x.company_id = c ORDER BY x.seq DESC LIMIT 1;
		IF NOT FOUND THEN
			s.seq := legacy;
			s.prev_hash := ar.audit_genesis_hash(c);
		END IF;
		s.seq := s.seq + 1;
		s.company_id := c;
		s.txid := me;
		s.sealed_at := clock_timestamp();
		SELECT count(*), count(a.row_hash), min(a.id), max(a.id), sha256(string_agg(a.row_hash, ''::bytea ORDER BY a.id))
		  INTO s.row_count, hashed, s.first_id, s.last_id, s.rows_hash
		  FROM ar.audit_log a WHERE a.txid = me AND a.company_id = c AND a.id > after_id AND a.seq IS NULL;
		IF hashed <> s.row_count THEN
			RAISE EXCEPTION 'audit rows without their hash cannot be sealed'
				USING ERRCODE = 'data_corrupted',
				      DETAIL = format('%s of the %s rows of transaction %s.', s.row_count - hashed, s.row_count, me);
		END IF;
		s.seal_hash := ar.audit_seal_hash(s, s.prev_hash);
		IF current_setting('transaction_isolation') = 'read committed' THEN
			INSERT INTO ar.audit_seal SELECT s.*;   -- (the chain head read after the lock: never stale)
		ELSE
			BEGIN
				INSERT INTO ar.audit_seal SELECT s.*;
			EXCEPTION WHEN unique_violation THEN
				PERFORM ar._audit_seal_conflict(c);
			END;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

-- The record of the legacy chain and the seals cannot be changed: the
-- first is written by the upgrade from 0.1.0 only, the seals by the seal at
-- commit only (a trigger's insert), both also by a restore reloading them
-- as they were.
CREATE OR REPLACE FUNCTION ar._audit_chain_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' AND (ar._restoring() OR (ar._logical_table_name(TG_RELID) = 'audit_seal' AND pg_trigger_depth() >= 2)) THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'ar.% is written by % only', ar._logical_table_name(TG_RELID),
		CASE ar._logical_table_name(TG_RELID) WHEN 'audit_seal' THEN 'the seal at commit' ELSE 'the upgrade from 0.1.0' END
		USING ERRCODE = 'insufficient_privilege';
END $$;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['audit_legacy_chain', 'audit_seal'] LOOP
		EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON ar.%I FOR EACH ROW EXECUTE FUNCTION ar._audit_chain_guard()',
		               t || '_guard', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON ar.%I FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate()',
		               t || '_no_truncate', t);
	END LOOP;
END $$;

-- Every update of the trail goes to its guard (only an anonymisation's
-- redactions pass: 40_audit.sql); then each row is hashed as it is
-- written: sha256(ar.audit_row_content(row, NULL)), printed in C from the
-- row as stored (src/audit.c), seq and prev_hash NULL (the row's place in
-- its company's chain is the seal of its transaction).  BEFORE triggers
-- fire in name order: the guard first.
DROP TRIGGER IF EXISTS audit_log_guard_update ON ar.audit_log;
CREATE TRIGGER audit_log_guard_update BEFORE UPDATE ON ar.audit_log
	FOR EACH ROW EXECUTE FUNCTION ar._audit_guard();
CREATE OR REPLACE FUNCTION ar._audit_hash() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'ar_audit_hash';
CREATE TRIGGER audit_log_hash BEFORE INSERT ON ar.audit_log
	FOR EACH ROW EXECUTE FUNCTION ar._audit_hash();


-- What is wrong with a sealed row's content, NULL when nothing: its hash
-- must cover its content, or, when an anonymisation redacted it (it kept
-- its row_hash, doc/gdpr.md), its content must be what its latest
-- ar.audit_redaction record says (redacted: that record's digest).
CREATE OR REPLACE FUNCTION ar._audit_row_problem(r ar.audit_log, redacted bytea) RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT CASE
		WHEN redacted IS NULL THEN
			CASE WHEN r.row_hash IS DISTINCT FROM ar.audit_row_hash(r, r.prev_hash) THEN 'row content does not match its hash' END
		WHEN r.table_name = 'gdpr_anonymisation' THEN 'a row of the anonymisation log is marked redacted'
		WHEN sha256(ar.audit_row_content(r, r.seq)) IS DISTINCT FROM redacted
			THEN 'redacted row content does not match its redaction record'
	END
$$;

-- One chain: chain 'legacy' (the rows sealed before 0.2.0, row by row from
-- ar.audit_genesis_hash() to the head recorded in ar.audit_legacy_chain) or
-- 'company' (the seals of company_id, NULL: of shared configuration, seal by
-- seal from ar.audit_genesis_hash(company_id), each against the rows it
-- sealed: their number, ids and the digest of their hashes, each row's
-- hash against its content).  For a company also: its rows of the legacy
-- chain each against its own hash when legacy_rows (their links are
-- checked with the legacy chain), the anonymisations of the company (their
-- redaction records against the manifest sealed in its chain), and its rows
-- no seal covers (outside the chain: a transaction seals its rows before it
-- commits; only the current transaction's rows are not sealed yet).
CREATE OR REPLACE FUNCTION ar._audit_verify(chain text, company_id bigint, legacy_rows boolean)
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	rec record;
	r ar.audit_log;
	s ar.audit_seal;
	m record;
	legacy bigint := ar._audit_legacy_seq();
	-- (NULL or 0: shared configuration's chain)
	company bigint := coalesce(_audit_verify.company_id, 0);
	expected_seq bigint;
	expected_prev bytea;
	linked boolean;
	unsealed record;
	me xid8;
	sealed_to bigint;
	g record;
	chained record;
	-- the rows of the legacy chain, or the company's legacy rows, in seq
	-- order with their latest redaction record
	rows_sql text := 'SELECT a AS arow, x.redacted_sha256 AS redacted
	                    FROM ar.audit_log a
	                    LEFT JOIN LATERAL (SELECT y.redacted_sha256 FROM ar.audit_redaction y
	                                        WHERE y.audit_id = a.id AND y.company_id = a.company_id
	                                        ORDER BY y.anonymisation_id DESC LIMIT 1) x ON true
	                   WHERE %s ORDER BY a.seq';
	-- the rows of one seal (its transaction's of the company, ids first_id
	-- to last_id): how many, their first and last id, the digest of their
	-- hashes in id order, and the first whose hash does not cover it
	-- (each row's problem computed once: OFFSET 0 keeps the subquery whole;
	-- the row passed as a ROW of its columns, not as the whole-row a,
	-- whose type on a shard of a distributed trail is the shard's)
	seal_rows_sql text :=
		'SELECT count(*) AS n, min(r.id) AS first_id, max(r.id) AS last_id,
		        sha256(string_agg(r.row_hash, ''''::bytea ORDER BY r.id)) AS digest,
		        min(r.id) FILTER (WHERE r.problem IS NOT NULL) AS bad_id,
		        (array_agg(r.problem ORDER BY r.id) FILTER (WHERE r.problem IS NOT NULL))[1] AS bad
		   FROM (SELECT a.id, a.row_hash,
		                CASE WHEN a.seq IS NOT NULL OR a.prev_hash IS NOT NULL
		                     THEN ''a sealed row carries a link of the legacy chain''
		                     ELSE ar._audit_row_problem(ROW(a.id, a.seq, a.logged_at, a.txid, a.actor, a.role, a.table_name,
		                                                    a.operation, a.row_id, a.old_row, a.new_row, a.prev_hash,
		                                                    a.row_hash, a.company_id)::ar.audit_log,
		                                                x.redacted_sha256) END AS problem
		           FROM ar.audit_log a
		           LEFT JOIN LATERAL (SELECT y.redacted_sha256 FROM ar.audit_redaction y
		                               WHERE y.audit_id = a.id AND y.company_id = a.company_id
		                               ORDER BY y.anonymisation_id DESC LIMIT 1) x ON true
		          WHERE a.txid = $1 AND a.company_id = $2 AND a.id BETWEEN $3 AND $4 OFFSET 0) r';
BEGIN
	rows_checked := 0;
	IF chain = 'legacy' THEN
		expected_seq := 1;
		expected_prev := ar.audit_genesis_hash();
	ELSE
		expected_seq := legacy + 1;
		expected_prev := ar.audit_genesis_hash(company);
	END IF;
	-- the legacy chain link by link, or the company's rows of it, each on
	-- its own
	FOREACH linked IN ARRAY CASE WHEN chain = 'legacy' THEN '{true}'::boolean[]
	                             WHEN legacy_rows AND legacy > 0 THEN '{false}'::boolean[]
	                             ELSE '{}'::boolean[] END LOOP
		FOR rec IN EXECUTE format(rows_sql, CASE WHEN linked THEN 'a.seq <= $1' ELSE 'a.company_id = $2 AND a.seq <= $1' END)
		             USING legacy, company LOOP
			r := rec.arow;
			rows_checked := rows_checked + 1;
			problem := CASE
				WHEN linked AND r.seq <> expected_seq THEN format('rows %s to %s are missing', expected_seq, r.seq - 1)
				WHEN linked AND r.prev_hash IS DISTINCT FROM expected_prev THEN 'prev_hash does not match the previous row'
				WHEN r.prev_hash IS NULL THEN 'a row of the legacy chain has no prev_hash'
				ELSE ar._audit_row_problem(r, rec.redacted)
			END;
			IF problem IS NOT NULL THEN
				valid := false; first_broken_seq := r.seq; first_broken_id := r.id;
				RETURN NEXT;
				RETURN;
			END IF;
			IF linked THEN
				expected_seq := r.seq + 1;
				expected_prev := r.row_hash;
			END IF;
		END LOOP;
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
	-- the company's seals, link by link, each with its rows
	FOR s IN SELECT a.* FROM ar.audit_seal a WHERE a.company_id = company ORDER BY a.seq LOOP
		problem := CASE
			WHEN s.seq <> expected_seq THEN format('seals %s to %s are missing', expected_seq, s.seq - 1)
			WHEN s.prev_hash IS DISTINCT FROM expected_prev THEN 'prev_hash does not match the previous seal'
			WHEN s.seal_hash IS DISTINCT FROM ar.audit_seal_hash(s, s.prev_hash) THEN 'seal does not match its hash'
		END;
		IF problem IS NULL THEN
			EXECUTE seal_rows_sql INTO m USING s.txid, company, s.first_id, s.last_id;
			rows_checked := rows_checked + m.n;
			IF m.bad IS NOT NULL THEN
				problem := m.bad;
				first_broken_id := m.bad_id;
			ELSIF m.n <> s.row_count OR m.first_id IS DISTINCT FROM s.first_id OR m.last_id IS DISTINCT FROM s.last_id
			      OR m.digest IS DISTINCT FROM s.rows_hash THEN
				problem := format('the rows of seal %s do not match it (%s rows found, %s sealed)', s.seq, m.n, s.row_count);
			END IF;
		END IF;
		IF problem IS NOT NULL THEN
			valid := false; first_broken_seq := s.seq; first_broken_id := coalesce(first_broken_id, s.first_id);
			RETURN NEXT;
			RETURN;
		END IF;
		expected_seq := s.seq + 1;
		expected_prev := s.seal_hash;
	END LOOP;
	-- (each row's seal joined here, as ar._audit_link(row) finds it: a
	-- function reading ar.audit_seal inside a query cannot be planned by
	-- Citus on a distributed trail; every table named with the company;
	-- z, not s: s is the seal variable above, which would stand for it)
	FOR g IN SELECT x.anonymisation_id AS id, max(coalesce(a.seq, z.seq)) AS last_seq,
	                min(coalesce(a.seq, z.seq)) AS first_seq, min(a.id) AS first_id
	           FROM ar.audit_redaction x JOIN ar.audit_log a ON a.id = x.audit_id AND a.company_id = x.company_id
	           JOIN ar.gdpr_anonymisation n ON n.id = x.anonymisation_id AND n.company_id = x.company_id
	           LEFT JOIN ar.audit_seal z ON z.txid = a.txid AND z.company_id = a.company_id AND a.id BETWEEN z.first_id AND z.last_id
	          WHERE x.company_id = company
	          GROUP BY x.anonymisation_id ORDER BY x.anonymisation_id LOOP
		SELECT coalesce(a.seq, z.seq) AS seq, a.id, a.new_row ->> 'manifest_sha256' AS manifest INTO chained
		  FROM ar.audit_log a
		  JOIN ar.audit_seal z ON z.txid = a.txid AND z.company_id = a.company_id AND a.id BETWEEN z.first_id AND z.last_id
		 WHERE a.company_id = company AND a.table_name = 'gdpr_anonymisation' AND a.row_id = g.id
		 ORDER BY 1 DESC, a.id DESC LIMIT 1;
		IF NOT FOUND OR chained.manifest IS NULL THEN
			CONTINUE WHEN EXISTS (SELECT 1 FROM ar.gdpr_anonymisation y
			                       WHERE y.id = g.id AND y.txid = pg_current_xact_id_if_assigned());
			problem := format('anonymisation %s redacted audit rows but its manifest is not in the chain', g.id);
			first_broken_seq := g.first_seq; first_broken_id := g.first_id;
		ELSIF chained.seq < g.last_seq THEN
			problem := format('the manifest of anonymisation %s is chained before rows it redacted', g.id);
			first_broken_seq := chained.seq; first_broken_id := chained.id;
		ELSIF chained.manifest::bytea IS DISTINCT FROM ar._gdpr_manifest(g.id) THEN
			problem := format('the redaction records of anonymisation %s do not match the manifest chained at seal %s',
			                  g.id, chained.seq);
			first_broken_seq := g.first_seq; first_broken_id := g.first_id;
		END IF;
		IF problem IS NOT NULL THEN
			valid := false;
			RETURN NEXT;
			RETURN;
		END IF;
	END LOOP;
	-- the current transaction's rows after those it sealed already are not
	-- sealed yet (none when it has no transaction id: nothing written)
	me := pg_current_xact_id_if_assigned();
	sealed_to := coalesce((SELECT max(x.last_id) FROM ar.audit_seal x WHERE x.txid = me), 0);
	SELECT a.id, a.txid, count(*) OVER () AS n INTO unsealed
	  FROM ar.audit_log a
	 WHERE a.seq IS NULL AND a.company_id = company
	   AND NOT (a.txid IS NOT DISTINCT FROM me AND a.id > sealed_to)
	   AND NOT EXISTS (SELECT 1 FROM ar.audit_seal x
	                    WHERE x.txid = a.txid AND x.company_id = a.company_id
	                      AND a.id BETWEEN x.first_id AND x.last_id)
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
-- configuration's (company 0, reported with company_id NULL), then each
-- company's in id order.  The
-- legacy chain is walked link by link by a caller who reads the whole trail
-- (row-level security does not apply to it); for another, whose legacy
-- chain has other companies' rows missing, each chain includes its rows of
-- the legacy chain, each checked against its own hash.
-- (The chains of this node: ar.verify_audit_chains() below.)
CREATE OR REPLACE FUNCTION ar._audit_chains_here()
RETURNS TABLE (chain text, company_id bigint, valid boolean, rows_checked bigint, first_broken_seq bigint,
               first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
DECLARE
	legacy bigint := ar._audit_legacy_seq();
	whole boolean := NOT row_security_active('ar.audit_log'::regclass);
	c bigint;
	v record;
BEGIN
	IF whole AND (legacy > 0 OR EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.seq IS NOT NULL AND a.seq <= legacy)) THEN
		SELECT * INTO v FROM ar._audit_verify('legacy', NULL, false);
		RETURN QUERY SELECT 'legacy'::text, NULL::bigint, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END IF;
	-- a chain: its seals, its rows no seal covers, or (for a caller who
	-- does not read the whole trail) its rows of the legacy chain
	IF EXISTS (SELECT 1 FROM ar.audit_seal x WHERE x.company_id = 0)
	   OR EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.company_id = 0 AND (a.seq IS NULL OR NOT whole)) THEN
		SELECT * INTO v FROM ar._audit_verify('company', 0, NOT whole);
		RETURN QUERY SELECT 'shared'::text, NULL::bigint, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END IF;
	FOR c IN SELECT x.company_id FROM ar.audit_seal x WHERE x.company_id <> 0
	         UNION
	         SELECT a.company_id FROM ar.audit_log a
	          WHERE a.company_id <> 0 AND (a.seq IS NULL OR NOT whole)
	          ORDER BY 1 LOOP
		SELECT * INTO v FROM ar._audit_verify('company', c, NOT whole);
		RETURN QUERY SELECT 'company'::text, c, v.valid, v.rows_checked, v.first_broken_seq, v.first_broken_id, v.problem;
	END LOOP;
END $$;

-- On a distributed ledger whose audit trail is not distributed with it
-- (ar._audit_trail_on_nodes()), each node holds the audit rows of the
-- shards it holds, chained there (doc/scale_out.md, blocker 8).  command,
-- a query returning one json array, runs on every node (Citus's
-- run_command_on_all_nodes, as the caller): one row per node, in node id
-- order, with its array (empty when the query returned NULL).  A node that
-- cannot be reached is an error, never a node with nothing.
CREATE OR REPLACE FUNCTION ar._audit_run_on_nodes(command text)
RETURNS TABLE (node text, ord bigint, result jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	nodes jsonb;
	failed record;
BEGIN
	-- (Citus's objects named in EXECUTE: ar_collect installs without Citus)
	EXECUTE 'SELECT jsonb_agg(jsonb_build_object(''node'', d.nodename || '':'' || d.nodeport, ''ok'', n.success,
	                                             ''result'', n.result) ORDER BY n.nodeid)
	           FROM run_command_on_all_nodes($1) n JOIN pg_dist_node d ON d.nodeid = n.nodeid'
	   INTO nodes USING command;
	SELECT x ->> 'node' AS node, x ->> 'result' AS result INTO failed
	  FROM jsonb_array_elements(nodes) x WHERE NOT (x ->> 'ok')::boolean LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'the audit chains could not be read on node %', failed.node
			USING ERRCODE = 'connection_failure', DETAIL = failed.result;
	END IF;
	RETURN QUERY
	SELECT n.x ->> 'node', n.ord, coalesce(nullif(n.x ->> 'result', ''), '[]')::jsonb
	  FROM jsonb_array_elements(nodes) WITH ORDINALITY n(x, ord);
END $$;

-- The verification of every node (command: the json_agg of rows of
-- ar._audit_chains_here()'s shape), combined per chain: valid when it is
-- valid on every node, rows_checked their sum, else the first broken link
-- of the first node where it is broken, that node named in problem.
CREATE OR REPLACE FUNCTION ar._audit_verify_on_nodes(command text)
RETURNS TABLE (chain text, company_id bigint, valid boolean, rows_checked bigint, first_broken_seq bigint,
               first_broken_id bigint, problem text)
LANGUAGE sql STABLE
AS $$
	SELECT r.chain, r.company_id, bool_and(r.valid), sum(r.rows_checked)::bigint,
	       (array_agg(r.first_broken_seq ORDER BY n.ord) FILTER (WHERE NOT r.valid))[1],
	       (array_agg(r.first_broken_id ORDER BY n.ord) FILTER (WHERE NOT r.valid))[1],
	       (array_agg(format('node %s: %s', n.node, r.problem) ORDER BY n.ord) FILTER (WHERE NOT r.valid))[1]
	  FROM ar._audit_run_on_nodes(command) n
	 CROSS JOIN LATERAL jsonb_to_recordset(n.result)
	       AS r(chain text, company_id bigint, valid boolean, rows_checked bigint, first_broken_seq bigint,
	            first_broken_id bigint, problem text)
	 GROUP BY r.chain, r.company_id
	 ORDER BY r.chain = 'company', r.chain = 'shared', r.company_id
$$;

-- Every chain the caller may read (ar._audit_chains_here() above), on a
-- distributed ledger whose trail is not distributed with it, every node's
-- (ar._audit_verify_on_nodes()).
CREATE OR REPLACE FUNCTION ar.verify_audit_chains()
RETURNS TABLE (chain text, company_id bigint, valid boolean, rows_checked bigint, first_broken_seq bigint,
               first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF ar._audit_trail_on_nodes() THEN
		RETURN QUERY SELECT * FROM ar._audit_verify_on_nodes('SELECT json_agg(v) FROM ar._audit_chains_here() v');
	ELSE
		RETURN QUERY SELECT * FROM ar._audit_chains_here();
	END IF;
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

-- One company's chain (NULL or 0: shared configuration's), with its rows of the
-- legacy chain each against its own hash; on a distributed ledger whose
-- trail is not distributed with it, on every node (ar._audit_verify_on_nodes()).
CREATE OR REPLACE FUNCTION ar.verify_audit_chain(company_id bigint)
RETURNS TABLE (valid boolean, rows_checked bigint, first_broken_seq bigint, first_broken_id bigint, problem text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
BEGIN
	IF ar._audit_trail_on_nodes() THEN
		RETURN QUERY
		SELECT o.valid, o.rows_checked, o.first_broken_seq, o.first_broken_id, o.problem
		  FROM ar._audit_verify_on_nodes(format('SELECT json_agg(v) FROM (SELECT ''company'' AS chain, %1$s::bigint AS company_id, *
		                                    FROM ar._audit_verify(''company'', %1$s, true)) v',
		                                 coalesce(verify_audit_chain.company_id::text, 'NULL'))) o;
	ELSE
		RETURN QUERY SELECT * FROM ar._audit_verify('company', verify_audit_chain.company_id, true);
	END IF;
END $$;

-- The head of every chain of this node the caller may read: the legacy
-- chain's (its recorded head), shared configuration's (company 0, reported
-- with company_id NULL), each company's: its last seal (seq, seal_hash).
-- (Each part its own statement; the companies' heads found by an index
-- skip scan on one node, by DISTINCT ON pushed down to the shards on a
-- distributed trail, where Citus plans no recursive query.)
CREATE OR REPLACE FUNCTION ar._audit_heads_here()
RETURNS TABLE (chain text, company_id bigint, seq bigint, row_hash bytea)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY SELECT 'legacy'::text, NULL::bigint, l.last_seq, l.last_hash FROM ar.audit_legacy_chain l;
	RETURN QUERY SELECT 'shared'::text, NULL::bigint, x.seq, x.seal_hash FROM ar.audit_seal x
	              WHERE x.company_id = 0 ORDER BY x.seq DESC LIMIT 1;
	IF ar._audit_trail_distributed() THEN
		RETURN QUERY
		SELECT 'company'::text, h.company_id, h.seq, h.seal_hash
		  FROM (SELECT DISTINCT ON (x.company_id) x.company_id, x.seq, x.seal_hash FROM ar.audit_seal x
		         WHERE x.company_id <> 0 ORDER BY x.company_id, x.seq DESC) h
		 ORDER BY h.company_id;
		RETURN;
	END IF;
	RETURN QUERY
	WITH RECURSIVE companies(id) AS (
		SELECT min(x.company_id) FROM ar.audit_seal x
		UNION ALL
		SELECT (SELECT min(x.company_id) FROM ar.audit_seal x WHERE x.company_id > c.id)
		  FROM companies c WHERE c.id IS NOT NULL)
	SELECT 'company'::text, c.id, h.seq, h.seal_hash
	  FROM companies c
	 CROSS JOIN LATERAL (SELECT x.seq, x.seal_hash FROM ar.audit_seal x
	                      WHERE x.company_id = c.id ORDER BY x.seq DESC LIMIT 1) h
	 WHERE c.id <> 0;
END $$;

-- The head of every chain the caller may read (ar._audit_heads_here());
-- on a distributed ledger whose audit trail is not distributed with it,
-- each chain's heads on every node combined: seq the links of every node
-- (the legacy chain's once, then each node's seals after it), row_hash the
-- sha256 of one line per node holding the chain, "node:seq:hash in hex",
-- in node order: one value that changes when any node's chain grows.
CREATE OR REPLACE FUNCTION ar.audit_chain_heads()
RETURNS TABLE (chain text, company_id bigint, seq bigint, row_hash bytea)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
#variable_conflict use_column
BEGIN
	IF NOT ar._audit_trail_on_nodes() THEN
		RETURN QUERY SELECT * FROM ar._audit_heads_here();
		RETURN;
	END IF;
	RETURN QUERY
	SELECT h.chain, h.company_id,
	       CASE WHEN h.chain = 'legacy' THEN max(h.seq)
	            ELSE ar._audit_legacy_seq() + sum(h.seq - ar._audit_legacy_seq())::bigint END,
	       sha256(convert_to(string_agg(format('%s:%s:%s', n.node, h.seq, substr(h.row_hash, 3)),
	                                    E'\n' ORDER BY n.ord), 'UTF8'))
	  FROM ar._audit_run_on_nodes('SELECT json_agg(h) FROM ar._audit_heads_here() h') n
	 -- (a bytea in json: '\x' and its hex digits)
	 CROSS JOIN LATERAL jsonb_to_recordset(n.result) AS h(chain text, company_id bigint, seq bigint, row_hash text)
	 GROUP BY h.chain, h.company_id
	 ORDER BY h.chain = 'company', h.chain = 'shared', h.company_id;
END $$;

-- The last seal of one company's chain (NULL or 0: of shared configuration's),
-- to anchor outside the database; on a distributed ledger whose trail is
-- not distributed with it, the chain's combined head (ar.audit_chain_heads()).
CREATE OR REPLACE FUNCTION ar.audit_chain_head(company_id bigint, OUT seq bigint, OUT row_hash bytea)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF ar._audit_trail_on_nodes() THEN
		SELECT h.seq, h.row_hash INTO seq, row_hash FROM ar.audit_chain_heads() h
		 WHERE h.chain = CASE WHEN coalesce(audit_chain_head.company_id, 0) = 0 THEN 'shared' ELSE 'company' END
		   AND h.company_id IS NOT DISTINCT FROM nullif(audit_chain_head.company_id, 0);
	ELSE
		SELECT x.seq, x.seal_hash INTO seq, row_hash FROM ar.audit_seal x
		 WHERE x.company_id = coalesce(audit_chain_head.company_id, 0)
		 ORDER BY x.seq DESC LIMIT 1;
	END IF;
END $$;

-- All the chains at once: seq the number of links (the legacy chain's
-- rows and every chain's seals after it), row_hash the sha256 of one line per
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
SELECT pg_catalog.pg_extension_config_dump('ar.audit_seal', '');

