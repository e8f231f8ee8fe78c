-- SECURITY DEFINER code against its caller (doc/security.md): each attack
-- of issue 12 that a role granted only ar_collector (or ar_reader) could
-- make, replayed as such a login role, refused, and nothing changed.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(7);

CREATE ROLE sd_collector LOGIN IN ROLE ar_collector;
CREATE ROLE sd_reader LOGIN IN ROLE ar_reader;
GRANT CREATE ON SCHEMA public TO sd_collector;

-- sd_try(statement): runs it as the current user (the attacker); 'ok' or
-- the SQLSTATE of its error, for the assertions made afterwards as the
-- test's superuser (pgTAP's own tables are not the attacker's)
CREATE FUNCTION public.sd_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- a little ledger: overdue invoices to remind
UPDATE ar.company SET name = 'Test SAS', iban = 'FR7630006000011234567890189';
INSERT INTO ar.customer (code, name, email) VALUES ('SD1', 'Customer 1', 'c1@example.com'), ('SD2', 'Customer 2', NULL);
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency)
SELECT c.id, 'SDI-' || c.code || '-' || g, DATE '2026-01-01', DATE '2026-01-31', 100 * g, 'EUR'
  FROM ar.customer c, generate_series(1, 3) g WHERE c.code LIKE 'SD%';

-- ------------------------------------------ 1. ar.run_dunning's work tables
-- The attacker's trigger makes it superuser when it runs as a superuser,
-- and leaves a trace in a table of its own when it runs at all.
CREATE TABLE public.sd_fired (who text);
GRANT INSERT, SELECT ON public.sd_fired TO PUBLIC;
SET SESSION AUTHORIZATION sd_collector;
CREATE FUNCTION pg_temp.sd_evil() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sd_fired VALUES (current_user);
	ALTER ROLE sd_collector SUPERUSER;
	RETURN NULL;
END $$;
-- the names of this transaction's work tables, seen from pg_temp by a run
-- in a subtransaction that then rolls back: the next run must not take the
-- caller's tables created under those names
-- (all in a subtransaction rolled back afterwards, so that the attack
-- below starts afresh)
SAVEPOINT sd_part;
SAVEPOINT sd_names;
SELECT count(*) AS sd_dry3 FROM ar.run_dunning('2026-03-03', true) \gset
SELECT coalesce(string_agg(c.relname, ','), '') AS sd_names FROM pg_class c
 WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'ar\_dun\_%\_%' AND c.relkind = 'r' \gset
ROLLBACK TO SAVEPOINT sd_names;
SELECT format('CREATE TEMP TABLE %I (a int)', t),
       format('CREATE TRIGGER sd_t BEFORE TRUNCATE ON pg_temp.%I EXECUTE FUNCTION pg_temp.sd_evil()', t),
       format('CREATE TRIGGER sd_i BEFORE INSERT ON pg_temp.%I EXECUTE FUNCTION pg_temp.sd_evil()', t)
  FROM unnest(string_to_array(:'sd_names', ',')) t
 WHERE to_regclass('pg_temp.' || quote_ident(t)) IS NULL \gexec
SELECT public.sd_try($$SELECT count(*) FROM ar.run_dunning('2026-03-04', true)$$) AS sd_r,
       (SELECT count(*) FROM public.sd_fired) AS sd_fired_a \gset
ROLLBACK TO SAVEPOINT sd_part;
-- the attack of issue 12: the table 0.1.0 found by name, with a trigger
CREATE TEMP TABLE ar_dun_policy (policy_id bigint, code text, min_days_between integer, fallback_language text,
                                 templates_from bigint, offsets integer[], levels integer[]);
CREATE TRIGGER sd_t BEFORE TRUNCATE ON ar_dun_policy EXECUTE FUNCTION pg_temp.sd_evil();
CREATE TRIGGER sd_i BEFORE INSERT ON ar_dun_policy EXECUTE FUNCTION pg_temp.sd_evil();
SELECT count(*) AS sd_dry1 FROM ar.run_dunning('2026-03-01', true) \gset
SELECT count(*) AS sd_dry2 FROM ar.run_dunning('2026-03-01', true) \gset
RESET SESSION AUTHORIZATION;
SELECT is(cardinality(string_to_array(:'sd_names', ',')), 10, 'a rolled-back run showed the names of its 10 work tables');
SELECT is(:'sd_r'::text, 'ok', 'a later run, after the caller took those names for tables with triggers');
SELECT is(:sd_fired_a::int, 0, 'did not fire them');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'sd_collector'), false,
          'a collector''s table named as a work table, with a trigger: the collector is not superuser');
SELECT is((SELECT count(*) FROM public.sd_fired)::int, 0, 'none of its triggers fired');
SELECT is(:sd_dry2::int, 2, 'and the dry runs decided as usual');
-- a table of a work table's name not created by the definer is refused
SET LOCAL ROLE sd_collector;
CREATE TEMP TABLE sd_taken (a int);
RESET ROLE;
SELECT throws_ok($$SELECT ar._dunning_work_table('sd_taken', 'SELECT 1 AS a')$$, '42501',
                 'work table pg_temp.sd_taken exists and is not the one ar_collect created: refused',
                 'a work table of the caller is refused, not used');

SELECT * FROM finish();
ROLLBACK;
