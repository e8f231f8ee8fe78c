-- The shared configuration against an ar_admin of one company
-- (doc/security.md, "Companies as tenants"; 96_company_rls_1_shared_config.sql):
-- the dunning templates, levels and policies, the penalty regimes and rates,
-- the letters' texts are read by every company's dunning, letters and
-- penalties.  Before 0.2.0's fix an admin of company A changed them for
-- company B too (a template's text in B's letters, a level's fee, a
-- reference rate in B's penalties).  Each write is refused now unless the
-- role acts as admin for every company; nothing changes.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(12);

CREATE ROLE sc_adm_a LOGIN IN ROLE ar_admin;
CREATE ROLE sc_adm_all LOGIN IN ROLE ar_admin;
CREATE ROLE sc_lone LOGIN IN ROLE ar_admin;   -- no membership at all

-- the single-company install: a role without membership is the admin of
-- the only company, and so of every company
SET LOCAL ROLE sc_lone;
SELECT lives_ok($$UPDATE ar.dunning_level SET fee = fee WHERE level = 1$$,
	'one company: its admin (no setup) changes the shared configuration');
RESET ROLE;

INSERT INTO ar.company (code, name) VALUES ('A', 'Company A'), ('B', 'Company B');
SELECT ar.grant_company_access('sc_adm_a', 'A', 'admin');
SELECT ar.grant_company_access('sc_adm_all', c.code, 'admin') FROM ar.company c;

-- the shared configuration as it is
CREATE FUNCTION pg_temp.sc_state() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(t::text, ';' ORDER BY t.id) FROM ar.dunning_template t),
		(SELECT string_agg(l::text, ';' ORDER BY l.policy_id, l.level) FROM ar.dunning_level l),
		(SELECT string_agg(p::text, ';' ORDER BY p.id) FROM ar.dunning_policy p),
		(SELECT string_agg(r::text, ';' ORDER BY r.regime) FROM ar.penalty_regime r),
		(SELECT string_agg(r::text, ';' ORDER BY r.id) FROM ar.reference_rate r),
		(SELECT string_agg(x::text, ';' ORDER BY x.key, x.language) FROM ar.letter_text x)))
$$;
CREATE TEMP TABLE sc_before AS SELECT pg_temp.sc_state() AS s;

SET LOCAL ROLE sc_adm_a;
SELECT is((SELECT array_agg(code) FROM ar.my_companies), '{A}', 'the attacker is an admin of A only');
SELECT throws_ok($$UPDATE ar.dunning_template SET body = 'Pay to FR7630006000019999999999999 instead'
                    WHERE id = (SELECT min(id) FROM ar.dunning_template)$$, '42501', NULL,
	'an admin of A cannot rewrite the dunning letters of every company');
SELECT throws_ok($$INSERT INTO ar.dunning_template (policy_id, level, language, channel, subject, body)
                   SELECT policy_id, level, 'de', channel, subject, 'x' FROM ar.dunning_template LIMIT 1$$, '42501', NULL,
	'nor add one');
SELECT throws_ok($$UPDATE ar.dunning_level SET fee = 500 WHERE level = 1$$, '42501', NULL,
	'nor set the fee every company''s customers are charged');
SELECT throws_ok($$DELETE FROM ar.dunning_policy$$, '42501', NULL, 'nor delete the dunning policies');
SELECT throws_ok($$SELECT ar.add_reference_rate('ECB_MRO', '2026-07-01', 9.99, 'attacker')$$, '42501', NULL,
	'nor add a reference rate to every company''s penalties');
SELECT throws_ok($$UPDATE ar.letter_text SET text = 'x' WHERE key = 'word.and'$$, '42501', NULL,
	'nor the letters'' texts');
RESET ROLE;
SELECT is(pg_temp.sc_state(), (SELECT s FROM sc_before), 'the shared configuration is unchanged');

-- an admin of every company (and the superuser) changes it
SET LOCAL ROLE sc_adm_all;
SELECT lives_ok($$UPDATE ar.dunning_level SET fee = 7 WHERE level = 1$$,
	'an admin of every company changes the shared configuration');
RESET ROLE;
SELECT is((SELECT min(fee) FROM ar.dunning_level WHERE level = 1), 7::numeric, 'the fee changed');
SELECT lives_ok($$UPDATE ar.dunning_level SET fee = 8 WHERE level = 1$$, 'and the superuser');

SELECT * FROM finish();
ROLLBACK;
