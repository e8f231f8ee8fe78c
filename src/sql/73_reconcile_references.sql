-- ---------------------------------------------------------------------------
-- What a decision names: its bank line, the run that took it, the return
-- that undid it, checked set-wise.
--
-- ar.reconcile() inserts a decision per line, a hundred thousand in one
-- statement: foreign keys checked each of them three times with a query of
-- its own (more than a second and a half in all, the largest part of its
-- writes that the ledger does not share; doc/ledger.md).  One statement
-- trigger locks what the statement's decisions name, as a foreign key would
-- (KEY SHARE, in id order), and refuses one that does not exist; what the
-- foreign keys did on the other side is done below: deleting a bank line
-- deletes its decision (ON DELETE CASCADE before), and a bank line named as
-- the return of a decision, or a run that took decisions, cannot be
-- deleted nor re-keyed.  The lines ar.reconcile() decides on are locked FOR
-- UPDATE since it loaded them.  Like the foreign keys of company data
-- (97_distribution_keys.sql), what a decision names is the pair
-- (id, company_id): a bank line of another company than the decision's is
-- refused, and the checks below look for the pair.  So is a run: it is
-- recorded per company (ar.reconcile_run, keyed (id, company_id)), and a
-- decision names its run's row of the decision's company.
-- ---------------------------------------------------------------------------

-- Locks the bank lines and runs named (KEY SHARE, in id order) and refuses
-- the first, in id order, that does not exist, or belongs to (a run: has
-- no row of) another company than the decision naming it (line_companies
-- and run_companies: the company of the decision naming each).  Both are
-- locked company after company, in (company, id) order, each lock naming
-- its company (routed to the company's shard on Citus, doc/scale_out.md
-- blocker 5); one not found in its decision's company is told apart from
-- a missing one by a plain read, on that error only.
CREATE FUNCTION ar._refuse_missing_decision_references(line_ids bigint[], line_companies bigint[],
                                                       run_ids bigint[], run_companies bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	kind text;
	company bigint;
	ids bigint[];
	found bigint[];
	bad_line bigint;
	bad_run bigint;
BEGIN
	FOR kind, company, ids IN SELECT k.kind, u.company_id, array_agg(DISTINCT u.id ORDER BY u.id)
	                            FROM (VALUES ('line', line_ids, line_companies), ('run', run_ids, run_companies)) k(kind, i, c),
	                                 unnest(k.i, k.c) u(id, company_id)
	                           WHERE u.id IS NOT NULL GROUP BY k.kind, u.company_id ORDER BY k.kind, u.company_id LOOP
		IF kind = 'line' THEN
			SELECT array_agg(l.id) INTO found
			  FROM (SELECT t.id FROM ar.bank_transaction t JOIN unnest(ids) x(id) ON x.id = t.id
			         WHERE t.company_id = company ORDER BY t.id FOR KEY SHARE OF t) l;
		ELSE
			SELECT array_agg(l.id) INTO found
			  FROM (SELECT r.id FROM ar.reconcile_run r JOIN unnest(ids) x(id) ON x.id = r.id
			         WHERE r.company_id = company ORDER BY r.id FOR KEY SHARE OF r) l;
		END IF;
		IF coalesce(cardinality(found), 0) < cardinality(ids) THEN
			IF kind = 'line' THEN
				bad_line := least(bad_line, (SELECT min(x.id) FROM unnest(ids) x(id) WHERE x.id <> ALL (coalesce(found, '{}'))));
			ELSE
				bad_run := least(bad_run, (SELECT min(x.id) FROM unnest(ids) x(id) WHERE x.id <> ALL (coalesce(found, '{}'))));
			END IF;
		END IF;
	END LOOP;
	IF bad_line IS NOT NULL THEN
		RAISE EXCEPTION 'bank transaction % %', bad_line,
			CASE WHEN NOT EXISTS (SELECT FROM ar.bank_transaction t WHERE t.id = bad_line) THEN 'does not exist'
			     ELSE 'belongs to another company than the decision' END
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF bad_run IS NOT NULL THEN
		RAISE EXCEPTION 'reconcile run % %', bad_run,
			CASE WHEN NOT EXISTS (SELECT FROM ar.reconcile_run r WHERE r.id = bad_run) THEN 'does not exist'
			     ELSE 'has no row of the decision''s company' END
			USING ERRCODE = 'foreign_key_violation';
	END IF;
END $$;

-- AFTER INSERT ... FOR EACH STATEMENT on ar.reconcile_line ("added").
CREATE FUNCTION ar._reconcile_line_added() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
BEGIN
	PERFORM ar._refuse_missing_decision_references(l.ids, l.companies, r.ids, r.companies)
	   FROM (SELECT array_agg(x.id) AS ids, array_agg(x.company_id) AS companies
	           FROM (SELECT a.bank_transaction_id AS id, a.company_id FROM added a UNION ALL
	                 SELECT a.returned_by, a.company_id FROM added a WHERE a.returned_by IS NOT NULL) x) l,
	        (SELECT array_agg(x.run_id) AS ids, array_agg(x.company_id) AS companies
	           FROM (SELECT DISTINCT a.run_id, a.company_id FROM added a WHERE a.run_id IS NOT NULL) x) r;
	RETURN NULL;
END $$;

-- BEFORE UPDATE OF bank_transaction_id, run_id, returned_by, company_id ...
-- FOR EACH ROW on ar.reconcile_line: fires only for a statement that sets
-- one of them.
CREATE FUNCTION ar._reconcile_line_renamed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	PERFORM ar._refuse_missing_decision_references(ARRAY[NEW.bank_transaction_id, NEW.returned_by],
	                                               ARRAY[NEW.company_id, NEW.company_id],
	                                               ARRAY[NEW.run_id], ARRAY[NEW.company_id]);
	RETURN NEW;
END $$;

-- AFTER DELETE ... FOR EACH STATEMENT on ar.bank_transaction ("gone"): the
-- decisions on the lines go with them; a line named as the return that
-- undid another line's decision stays.
CREATE FUNCTION ar._bank_transaction_decisions_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	named bigint;
BEGIN
	DELETE FROM ar.reconcile_line r WHERE (r.bank_transaction_id, r.company_id) IN (SELECT g.id, g.company_id FROM gone g);
	SELECT r.returned_by INTO named FROM ar.reconcile_line r
	 WHERE (r.returned_by, r.company_id) IN (SELECT g.id, g.company_id FROM gone g) ORDER BY r.returned_by LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'bank transaction % cannot be deleted: it is the return of another line''s decision', named
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END $$;

-- AFTER DELETE ... FOR EACH STATEMENT on ar.reconcile_run ("gone").
CREATE FUNCTION ar._reconcile_run_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	named bigint;
BEGIN
	SELECT g.id INTO named FROM gone g
	 WHERE EXISTS (SELECT FROM ar.reconcile_line r WHERE r.run_id = g.id AND r.company_id = g.company_id) ORDER BY g.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'reconcile run % cannot be deleted: its decisions name it', named
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END $$;

-- BEFORE UPDATE OF id, company_id ... FOR EACH ROW on ar.bank_transaction
-- and ar.reconcile_run: a decision keeps naming what it named.
CREATE FUNCTION ar._refuse_decided_rekey() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF (NEW.id, NEW.company_id) IS DISTINCT FROM (OLD.id, OLD.company_id)
	   AND (CASE ar._logical_table_name(TG_RELID)  -- a shard's is its table's
	        WHEN 'reconcile_run' THEN EXISTS (SELECT FROM ar.reconcile_line r WHERE r.run_id = OLD.id AND r.company_id = OLD.company_id)
	        ELSE EXISTS (SELECT FROM ar.reconcile_line r WHERE r.bank_transaction_id = OLD.id AND r.company_id = OLD.company_id)
	             OR EXISTS (SELECT FROM ar.reconcile_line r WHERE r.returned_by = OLD.id AND r.company_id = OLD.company_id) END) THEN
		RAISE EXCEPTION 'the % of % % cannot change: decisions of ar.reconcile name it',
			CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' ELSE 'company' END, replace(ar._logical_table_name(TG_RELID), '_', ' '), OLD.id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER reconcile_line_added AFTER INSERT ON ar.reconcile_line
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION ar._reconcile_line_added();
CREATE TRIGGER reconcile_line_renamed BEFORE UPDATE OF bank_transaction_id, run_id, returned_by, company_id ON ar.reconcile_line
	FOR EACH ROW EXECUTE FUNCTION ar._reconcile_line_renamed();
CREATE TRIGGER bank_transaction_decisions_delete AFTER DELETE ON ar.bank_transaction
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION ar._bank_transaction_decisions_deleted();
CREATE TRIGGER reconcile_run_decided_delete AFTER DELETE ON ar.reconcile_run
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION ar._reconcile_run_deleted();
CREATE TRIGGER bank_transaction_decided_rekey BEFORE UPDATE OF id, company_id ON ar.bank_transaction
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_decided_rekey();
CREATE TRIGGER reconcile_run_decided_rekey BEFORE UPDATE OF id, company_id ON ar.reconcile_run
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_decided_rekey();

REVOKE ALL ON FUNCTION ar._refuse_missing_decision_references(bigint[], bigint[], bigint[], bigint[]), ar._reconcile_line_added(),
                       ar._reconcile_line_renamed(), ar._bank_transaction_decisions_deleted(),
                       ar._reconcile_run_deleted(), ar._refuse_decided_rekey()
	FROM PUBLIC;
