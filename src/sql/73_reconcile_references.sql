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
-- refused, and the checks below look for the pair.  A run is named by its
-- id: it may span every company (company_id NULL, a record of the
-- database, like ar.dunning_run); one limited to a company takes decisions
-- of that company only.
-- ---------------------------------------------------------------------------

-- Locks the bank lines and runs named (KEY SHARE, in id order) and refuses
-- the first, in id order, that does not exist, or belongs to (a run: is
-- limited to) another company than the decision naming it (line_companies
-- and run_companies: the company of the decision naming each).  The lines
-- are locked company after company, in (company, id) order, each lock
-- naming its company (routed to the company's shard on Citus,
-- doc/scale_out.md blocker 5); a line not found in its decision's company
-- is told apart from a missing one by a plain read, on that error only.
-- A run is locked by its id alone: it may span every company.
CREATE FUNCTION ar._refuse_missing_decision_references(line_ids bigint[], line_companies bigint[],
                                                       run_ids bigint[], run_companies bigint[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp SET jit = off AS $$
DECLARE
	bad record;
	company bigint;
	ids bigint[];
	locked bigint;
	first_bad bigint;
BEGIN
	FOR company, ids IN SELECT u.company_id, array_agg(DISTINCT u.id ORDER BY u.id)
	                      FROM unnest(line_ids, line_companies) u(id, company_id) WHERE u.id IS NOT NULL
	                     GROUP BY u.company_id ORDER BY u.company_id LOOP
		SELECT count(*) INTO locked
		  FROM (SELECT 1 FROM ar.bank_transaction t JOIN unnest(ids) x(id) ON x.id = t.id
		         WHERE t.company_id = company ORDER BY t.id FOR KEY SHARE OF t) l;
		IF locked < cardinality(ids) THEN
			first_bad := least(first_bad, (SELECT min(x.id) FROM unnest(ids) x(id)
			                                WHERE NOT EXISTS (SELECT FROM ar.bank_transaction t
			                                                   WHERE t.company_id IS NOT DISTINCT FROM company AND t.id = x.id)));
		END IF;
	END LOOP;
	IF first_bad IS NOT NULL THEN
		RAISE EXCEPTION 'bank transaction % %', first_bad,
			CASE WHEN NOT EXISTS (SELECT FROM ar.bank_transaction t WHERE t.id = first_bad) THEN 'does not exist'
			     ELSE 'belongs to another company than the decision' END
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	SELECT n.id, l.id IS NULL AS missing INTO bad
	  FROM (SELECT DISTINCT u.id, u.company_id FROM unnest(run_ids, run_companies) u(id, company_id) WHERE u.id IS NOT NULL) n
	  LEFT JOIN (SELECT r.id, r.company_id FROM ar.reconcile_run r JOIN (SELECT DISTINCT unnest(run_ids) AS id) x ON x.id = r.id
	              ORDER BY r.id FOR KEY SHARE OF r) l ON l.id = n.id
	 WHERE l.id IS NULL OR l.company_id <> n.company_id
	 ORDER BY n.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'reconcile run % %', bad.id,
			CASE WHEN bad.missing THEN 'does not exist' ELSE 'is limited to another company than the decision' END
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
	 WHERE EXISTS (SELECT FROM ar.reconcile_line r WHERE r.run_id = g.id) ORDER BY g.id LIMIT 1;
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
	        WHEN 'reconcile_run' THEN NEW.id IS DISTINCT FROM OLD.id AND EXISTS (SELECT FROM ar.reconcile_line r WHERE r.run_id = OLD.id)
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
CREATE TRIGGER reconcile_run_decided_rekey BEFORE UPDATE OF id ON ar.reconcile_run
	FOR EACH ROW EXECUTE FUNCTION ar._refuse_decided_rekey();

REVOKE ALL ON FUNCTION ar._refuse_missing_decision_references(bigint[], bigint[], bigint[], bigint[]), ar._reconcile_line_added(),
                       ar._reconcile_line_renamed(), ar._bank_transaction_decisions_deleted(),
                       ar._reconcile_run_deleted(), ar._refuse_decided_rekey()
	FROM PUBLIC;
