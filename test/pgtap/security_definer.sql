-- SECURITY DEFINER code against its caller (doc/security.md): each attack
-- of issue 12 that a role granted only ar_collector (or ar_reader) could
-- make, replayed as such a login role, refused, and nothing changed; then
-- the catalog: every SECURITY DEFINER function owned by ar_definer (no
-- superuser, no login), its search_path pinned with pg_temp last, no
-- object of pg_temp named in its body, every ar_collect.* setting read
-- registered.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(39);

CREATE ROLE sd_collector LOGIN IN ROLE ar_collector;
CREATE ROLE sd_reader LOGIN IN ROLE ar_reader;
CREATE ROLE sd_admin LOGIN IN ROLE ar_admin;
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
SELECT is(cardinality(string_to_array(:'sd_names', ',')), 11, 'a rolled-back run showed the names of its 11 work tables');
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
                 'work table sd_taken of pg_temp exists and is not the one ar_collect created: refused',
                 'a work table of the caller is refused, not used');


-- -------------------------------- 2. ar_collect.restoring switched the audit off
-- the rows written so far sealed; the count to compare with
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT count(*) AS sd_audit0 FROM ar.audit_log \gset
SET SESSION AUTHORIZATION sd_collector;
SELECT public.sd_try($$SET ar_collect.restoring = on$$) AS sd_set,
       public.sd_try($$SET LOCAL ar_collect.restoring = on$$) AS sd_set_local,
       public.sd_try($$SELECT set_config('ar_collect.restoring', 'on', true)$$) AS sd_set_config \gset
SELECT ar.record_payment('SDI-SD1-1', 40.00, '2026-02-10') AS sd_alloc \gset
RESET SESSION AUTHORIZATION;
SELECT is(left(:'sd_set', 5), '42501', 'a collector cannot SET ar_collect.restoring');
SELECT is(left(:'sd_set_local', 5), '42501', 'nor SET LOCAL it');
SELECT is(left(:'sd_set_config', 5), '42501', 'nor set_config it');
SET SESSION AUTHORIZATION sd_reader;
SELECT public.sd_try($$SET ar_collect.restoring = on$$) AS sd_set_reader \gset
RESET SESSION AUTHORIZATION;
SELECT is(left(:'sd_set_reader', 5), '42501', 'nor can a reader');
SELECT is((SELECT count(*) FROM ar.audit_log)::int, :sd_audit0 + 1, 'the collector''s payment was audited (one allocation row)');
SELECT is((SELECT setting FROM pg_settings WHERE name = 'ar_collect.restoring'), 'off', 'ar_collect.restoring stayed off');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ar_collect.restoring'), 'superuser',
          'ar_collect.restoring is registered, superuser only (or GRANT SET ON PARAMETER)');

-- ---------------------- 3. ar_collect.audit_seal_requested kept rows out of the chain
RESET ar_collect.restoring;   -- (were the attack above to have worked)
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT count(*) AS sd_audit1 FROM ar.audit_log \gset
SET SESSION AUTHORIZATION sd_collector;
SELECT public.sd_try($$SET ar_collect.audit_seal_requested = on$$) AS sd_seal \gset
SELECT ar.record_payment('SDI-SD1-2', 50.00, '2026-02-11') AS sd_alloc2 \gset
RESET SESSION AUTHORIZATION;
SELECT is(:'sd_seal'::text, 'ok', 'a collector may still SET ar_collect.audit_seal_requested (an unknown placeholder: nothing reads it)');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_link(a) IS NULL)::int, 0, 'the collector''s rows were sealed into the chain');
SELECT is((SELECT count(*) FROM ar.audit_log)::int, :sd_audit1 + 1, 'and audited');

-- --------------------------------------- 4. ar_admin verifies the chain
SET SESSION AUTHORIZATION sd_admin;
SELECT public.sd_try($$SELECT * FROM ar.verify_audit_chain()$$) AS sd_verify_admin,
       public.sd_try($q$DO $d$ BEGIN
                         IF NOT (SELECT valid FROM ar.verify_audit_chain()) THEN
                             RAISE EXCEPTION 'the chain is not valid' USING ERRCODE = 'data_corrupted';
                         END IF;
                       END $d$$q$) AS sd_valid_admin,
       public.sd_try($$SELECT * FROM ar.audit_chain_head()$$) AS sd_head_admin \gset
RESET SESSION AUTHORIZATION;
SELECT is(:'sd_verify_admin'::text, 'ok', 'an admin may run ar.verify_audit_chain()');
SELECT is(:'sd_valid_admin'::text, 'ok', 'and finds the chain valid');
SELECT is(:'sd_head_admin'::text, 'ok', 'and read its head');
SET SESSION AUTHORIZATION sd_collector;
SELECT public.sd_try($$SELECT * FROM ar.verify_audit_chain()$$) AS sd_verify_collector \gset
RESET SESSION AUTHORIZATION;
SELECT is(left(:'sd_verify_collector', 5), '42501', 'a collector may not (it cannot read the trail)');

-- an unsealed row of an earlier transaction (written here under
-- ar_collect.restoring by the superuser, as a broken seal would leave it)
SAVEPOINT sd_unsealed;
SET LOCAL ar_collect.restoring = on;
INSERT INTO ar.audit_log (txid, table_name, operation, row_id, new_row, company_id)
VALUES ('3'::xid8, 'invoice', 'UPDATE', 1, '{}', 0);
RESET ar_collect.restoring;
SELECT valid AS sd_unsealed_valid, coalesce(problem, '') AS sd_unsealed_problem FROM ar.verify_audit_chain() \gset
ROLLBACK TO SAVEPOINT sd_unsealed;
SELECT is(:'sd_unsealed_valid'::boolean, false, 'a row of an earlier transaction left unsealed breaks the chain');
SELECT matches(:'sd_unsealed_problem'::text, 'never sealed', 'and is reported as never sealed');

-- ------------------------------------------------------------- the catalog
SELECT is((SELECT row(rolsuper, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls)::text
             FROM pg_roles WHERE rolname = 'ar_definer'),
          '(f,f,f,f,f,t)', 'ar_definer: no superuser, no login, no role or database creation, no replication; BYPASSRLS');
SELECT is((SELECT count(*) FROM pg_auth_members m WHERE m.roleid = 'ar_definer'::regrole OR m.member = 'ar_definer'::regrole)::int,
          0, 'no role is a member of ar_definer, nor ar_definer of any');
SELECT is((SELECT count(*) FROM pg_class c WHERE c.relowner = 'ar_definer'::regrole AND c.relpersistence <> 't')::int, 0,
          'ar_definer owns no table');
SELECT cmp_ok((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'ar'::regnamespace AND p.prosecdef)::int, '>=', 40,
              'the SECURITY DEFINER functions of ar');
SELECT is_empty($$SELECT p.oid::regprocedure, p.proowner::regrole FROM pg_proc p
                   WHERE p.pronamespace = 'ar'::regnamespace AND (p.prosecdef OR p.oid = 'ar._audit_row()'::regprocedure)
                     AND p.proowner <> 'ar_definer'::regrole$$,
                'every one (and the audit trigger, which writes as its owner) is owned by ar_definer');
SELECT is_empty($$SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p
                   WHERE p.pronamespace = 'ar'::regnamespace AND p.prosecdef
                     AND NOT 'search_path=pg_catalog, ar, pg_temp' = ANY (coalesce(p.proconfig, '{}'))$$,
                'every one pins search_path = pg_catalog, ar, pg_temp (pg_temp last)');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                   WHERE p.pronamespace = 'ar'::regnamespace AND p.prolang <> (SELECT l.oid FROM pg_language l WHERE l.lanname = 'c')
                     AND regexp_replace(p.prosrc, 'pg_temp\.%([0-9]+\$)?I', '', 'g') ~* 'pg_temp\.|to_regclass\(''pg_temp|TEMP(ORARY)? TABLE [a-z]'$$,
                'no function of ar names an object of pg_temp (only tables named with the transaction''s token, %I)');
SELECT is_empty($$SELECT p.oid::regprocedure, m[2] FROM pg_proc p,
                          regexp_matches(p.prosrc, '(current_setting|set_config)\(\s*''(ar_collect[a-z_]*\.[a-z_]+)''', 'g') m
                   WHERE p.pronamespace = 'ar'::regnamespace AND p.prolang <> (SELECT l.oid FROM pg_language l WHERE l.lanname = 'c')
                     AND m[2] NOT IN (SELECT name FROM pg_settings)$$,
                'every ar_collect setting a function reads or sets is registered');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                   WHERE p.pronamespace = 'ar'::regnamespace AND p.prosecdef AND p.provolatile = 'v'
                     AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
                'no volatile SECURITY DEFINER function is executable by PUBLIC (the read-only access checks of the row-level security policies are)');
SELECT is((SELECT context FROM pg_settings WHERE name = 'ar_collect.dunning_return_rows'), 'user',
          'ar_collect.dunning_return_rows is registered (it only changes what the caller''s own run returns)');
SELECT is(has_table_privilege('ar_definer', 'ar.audit_log', 'DELETE') OR has_table_privilege('ar_definer', 'ar.audit_log', 'TRUNCATE'),
          false, 'ar_definer cannot delete or truncate the audit trail');

-- ---------------------- the shards a transaction wrote on a Citus node: in the backend, not in settings
-- (test/citus_audit.sh checks 15-16 play the attack on a worker: a session
-- clearing ar_collect.audit_shards before COMMIT left its audit rows unsealed)
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                   WHERE p.pronamespace = 'ar'::regnamespace AND p.prosrc ~ 'ar_collect\.(audit|summary)_shards'$$,
                'no function reads or sets ar_collect.audit_shards or ar_collect.summary_shards any more');
SELECT is(has_function_privilege('public', 'ar._audit_shards_written()', 'EXECUTE') OR has_function_privilege('public', 'ar._audit_shard_written(regclass)', 'EXECUTE')
          OR has_function_privilege('public', 'ar._summary_shards_written()', 'EXECUTE') OR has_function_privilege('public', 'ar._summary_shard_written(regclass)', 'EXECUTE'),
          false, 'the record of the shards written is not executable by PUBLIC');
SELECT is(ar._summary_shards_written(), '{}'::regclass[], 'no summary shard written yet in this transaction');
SELECT ar._summary_shard_written('ar.summary_delta');
SAVEPOINT sd_shards;
SELECT ar._summary_shard_written('ar.kpi_summary_delta');
SELECT ar._summary_shard_written('ar.summary_delta');
SELECT ar._audit_shard_written('ar.audit_log');
ROLLBACK TO SAVEPOINT sd_shards;
SELECT set_config('ar_collect.summary_shards', '', true), set_config('ar_collect.audit_shards', '', true);
SELECT is(ar._summary_shards_written(), '{ar.summary_delta,ar.kpi_summary_delta}'::regclass[],
          'the summary shards written: each once, in order, kept past a rolled-back savepoint (a fold rolled back with it fires again at commit) and past a cleared setting');
SELECT is(ar._audit_shards_written(), '{ar.audit_log}'::regclass[], 'the audit shards written, kept apart from the summary shards');

SELECT * FROM finish();
ROLLBACK;
