-- One audit chain per company (issue 14, doc/audit.md): every audit row
-- carries the company of the row it records (NULL: shared configuration),
-- each row is hashed at insert (company_id in the hashed content) and each
-- transaction's rows of a company sealed by one seal in that company's
-- chain (seq from 1, the first seal after the company's genesis), each
-- chain is verified and anchored on its own and all of them together;
-- tampering with one company's chain is reported for that company and not
-- for another; an admin verifies the chains of its companies.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(41);

CREATE ROLE t_chain_adm_a IN ROLE ar_admin;
INSERT INTO ar.company (code, name, iban) VALUES ('CA', 'Company CA', 'FR7630006000011234567890189'),
                                                 ('CB', 'Company CB', 'DE89370400440532013000');
SELECT ar.grant_company_access('t_chain_adm_a', 'CA', 'admin');
INSERT INTO ar.customer (company_id, code, name)
SELECT c.id, 'K' || c.code || g, 'Customer ' || g || ' of ' || c.code
  FROM ar.company c, generate_series(1, 3) g WHERE c.code IN ('CA', 'CB');
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, 'N-' || cu.code, '2026-01-01', '2026-01-31', 100 FROM ar.customer cu;
-- a customer's dunning policy: its customer's company (its company_id)
INSERT INTO ar.customer_dunning_policy (customer_id, policy_id, company_id)
SELECT cu.id, (SELECT p.id FROM ar.dunning_policy p WHERE p.is_default), cu.company_id FROM ar.customer cu WHERE cu.code = 'KCA1';
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT id AS ca FROM ar.company WHERE code = 'CA' \gset
SELECT id AS cb FROM ar.company WHERE code = 'CB' \gset

-- ------------------------------------------------------------ the company
SELECT is((SELECT count(*) FROM ar.audit_log a JOIN ar.customer c ON c.id = a.row_id
            WHERE a.table_name = 'customer' AND a.company_id IS DISTINCT FROM c.company_id)::int, 0,
          'a customer''s audit rows carry its company');
SELECT is((SELECT company_id FROM ar.audit_log WHERE table_name = 'company' AND row_id = :ca), :'ca'::bigint,
          'a row of ar.company belongs to that company');
SELECT is((SELECT company_id FROM ar.audit_log WHERE table_name = 'customer_dunning_policy'), :'ca'::bigint,
          'a customer''s dunning policy belongs to its customer''s company');
SELECT is((SELECT count(*) FROM ar.audit_log WHERE table_name = 'dunning_template' AND company_id <> 0)::int, 0,
          'shared configuration (the shipped templates) belongs to no company: its chain, company 0');
SELECT is((SELECT count(*) FROM ar.audit_log
            WHERE company_id = 0 AND table_name IN ('company', 'customer', 'invoice', 'customer_dunning_policy'))::int, 0,
          'no company data is without its company');

-- ------------------------------------------------------------ the chains
SELECT is((SELECT count(*) FROM (SELECT company_id FROM ar.audit_seal GROUP BY company_id
                                  HAVING min(seq) <> 1 OR max(seq) <> count(*)) x)::int, 0,
          'each chain numbers its seals from 1 without a gap');
SELECT is((SELECT count(*) FROM ar.audit_seal WHERE company_id = :ca AND seq = 1), 1::bigint,
          'the same seq in several chains, once in each');
SELECT is((SELECT prev_hash FROM ar.audit_seal WHERE company_id = :ca AND seq = 1), ar.audit_genesis_hash(:ca),
          'a company''s first seal chains to its genesis');
SELECT is(ar.audit_genesis_hash(:ca),
          sha256(ar.audit_genesis_hash() || convert_to('company:' || :ca, 'UTF8')),
          'the genesis of a company: sha256 of the global genesis and ''company:'' || its id (no legacy chain)');
SELECT is((SELECT prev_hash FROM ar.audit_seal WHERE company_id = 0 AND seq = 1),
          sha256(ar.audit_genesis_hash() || convert_to('company:shared', 'UTF8')),
          'the chain of shared configuration starts from ''company:shared''');
SELECT isnt(ar.audit_genesis_hash(:ca), ar.audit_genesis_hash(:cb), 'two companies, two geneses');
SELECT is((SELECT count(*) FROM ar.audit_seal s JOIN ar.audit_seal p ON p.company_id = s.company_id AND p.seq = s.seq - 1
            WHERE s.company_id = :cb AND s.prev_hash IS DISTINCT FROM p.seal_hash)::int, 0,
          'each seal chains to the previous seal of its own company');
SELECT is((SELECT count(*) FROM ar.audit_seal s
            WHERE s.seal_hash IS DISTINCT FROM sha256(s.prev_hash || convert_to(jsonb_build_array(
                      s.seq, s.company_id, s.txid::text, s.first_id, s.last_id, s.row_count, encode(s.rows_hash, 'hex'),
                      (extract(epoch FROM s.sealed_at) * 1000000)::bigint)::text, 'UTF8'))
               OR s.seal_hash IS DISTINCT FROM ar.audit_seal_hash(s, s.prev_hash))::int, 0,
          'a seal''s hash: sha256(prev_hash || ar.audit_seal_content(seal)), as documented');
SELECT is((SELECT count(*) FROM ar.audit_seal s
            CROSS JOIN LATERAL (SELECT count(*) AS n, min(a.id) AS f, max(a.id) AS l,
                                       sha256(string_agg(a.row_hash, ''::bytea ORDER BY a.id)) AS d
                                  FROM ar.audit_log a
                                 WHERE a.txid = s.txid AND a.company_id IS NOT DISTINCT FROM s.company_id
                                   AND a.id BETWEEN s.first_id AND s.last_id) r
            WHERE (r.n, r.f, r.l, r.d) IS DISTINCT FROM (s.row_count, s.first_id, s.last_id, s.rows_hash))::int, 0,
          'each seal binds its transaction''s rows of its company: their number, ids and the digest of their hashes');
SELECT is((SELECT count(*) FROM ar.audit_seal WHERE company_id IS NOT DISTINCT FROM :ca AND txid = (SELECT txid FROM ar.audit_seal WHERE company_id = :cb AND seq = 1)),
          1::bigint, 'a transaction that wrote two companies has one seal in each chain');
SELECT is((SELECT convert_from(ar.audit_row_content(a, NULL), 'UTF8') ~ ('^\[null, .*, ' || :ca || '\]$')
             FROM ar.audit_log a WHERE a.company_id = :ca ORDER BY a.id LIMIT 1), true,
          'the hashed content starts with null (no seq) and ends with the company');
SELECT is((SELECT count(*) FROM ar.audit_log a
            WHERE a.row_hash IS DISTINCT FROM ar.audit_row_hash(a, NULL)
               OR a.row_hash IS DISTINCT FROM sha256(ar.audit_row_content(a, NULL))
               OR a.seq IS NOT NULL OR a.prev_hash IS NOT NULL)::int, 0,
          'each row''s hash, computed in C at insert, is sha256(ar.audit_row_content(row, NULL)), company included');

-- ---------------------------------------------------- verify, per chain
SELECT results_eq($$SELECT chain, company_id, valid, rows_checked FROM ar.verify_audit_chains()$$,
                  $$SELECT CASE WHEN company_id = 0 THEN 'shared' ELSE 'company' END, nullif(company_id, 0), true, count(*)
                      FROM ar.audit_log GROUP BY company_id ORDER BY company_id$$,
                  'ar.verify_audit_chains(): one valid row per chain, shared configuration first, each with its rows');
SELECT results_eq($$SELECT valid, rows_checked, problem FROM ar.verify_audit_chain()$$,
                  $$SELECT true, count(*), NULL::text FROM ar.audit_log$$,
                  'ar.verify_audit_chain(): valid, every row of every chain checked');
SELECT results_eq(format($$SELECT valid, rows_checked FROM ar.verify_audit_chain(%1$s)$$, :ca, :cb),
                  format($$SELECT true, count(*) FROM ar.audit_log WHERE company_id = %1$s$$, :ca, :cb),
                  'ar.verify_audit_chain(company): that company''s rows');
SELECT results_eq($$SELECT valid, rows_checked FROM ar.verify_audit_chain(NULL)$$,
                  $$SELECT true, count(*) FROM ar.audit_log WHERE company_id = 0$$,
                  'ar.verify_audit_chain(NULL): shared configuration''s');
SELECT results_eq($$SELECT * FROM ar.verify_audit_chain(0)$$, $$SELECT * FROM ar.verify_audit_chain(NULL)$$,
                  'ar.verify_audit_chain(0): shared configuration''s too');

-- ------------------------------------------------------------ tampering
SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_log SET new_row = jsonb_set(new_row, '{name}', '"Someone else"')
 WHERE company_id = :ca AND table_name = 'customer' AND new_row ->> 'code' = 'KCA2';
RESET session_replication_role;
SELECT results_eq(format($$SELECT company_id, valid, problem FROM ar.verify_audit_chains() WHERE chain = 'company' AND company_id IN (%1$s, %2$s)$$, :ca, :cb),
                  format($$VALUES (%1$s::bigint, false, 'row content does not match its hash'), (%2$s::bigint, true, NULL)$$, :ca, :cb),
                  'a changed row is reported in its company''s chain, not in the other''s');
SELECT results_eq(format($$SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain(%1$s)$$, :ca, :cb),
                  format($$SELECT false, ar._audit_link(a), 'row content does not match its hash' FROM ar.audit_log a
                     WHERE company_id = %1$s AND table_name = 'customer' AND new_row ->> 'code' = 'KCA2'$$, :ca, :cb),
                  'ar.verify_audit_chain(company) names its link');
SELECT results_eq(format($$SELECT valid FROM ar.verify_audit_chain(%2$s)$$, :ca, :cb), $$VALUES (true)$$, 'the other company''s chain verifies');
SELECT results_eq($$SELECT valid, problem FROM ar.verify_audit_chain()$$, $$VALUES (false, 'row content does not match its hash')$$,
                  'and the whole trail does not');
ROLLBACK TO SAVEPOINT tamper;
-- a row moved to another company's chain, its hash made to fit its new content
SET LOCAL session_replication_role = replica;
UPDATE ar.audit_log a SET company_id = :cb WHERE id = (SELECT max(id) FROM ar.audit_log WHERE company_id = :ca);
UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL)) WHERE id = (SELECT max(id) FROM ar.audit_log);
RESET session_replication_role;
SELECT results_eq(format($$SELECT company_id, valid FROM ar.verify_audit_chains() WHERE chain = 'company' AND company_id IN (%1$s, %2$s)$$, :ca, :cb),
                  format($$VALUES (%1$s::bigint, false), (%2$s::bigint, false)$$, :ca, :cb),
                  'a row moved to another company breaks both chains: its seal misses it, the other''s does not bind it');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
DELETE FROM ar.audit_log WHERE id = (SELECT min(id) FROM ar.audit_log WHERE company_id = :cb);
RESET session_replication_role;
SELECT results_eq(format($$SELECT valid, first_broken_seq, problem FROM ar.verify_audit_chain(%2$s)$$, :ca, :cb),
                  format($$SELECT false, 1::bigint, format('the rows of seal 1 do not match it (%%s rows found, %%s sealed)', row_count - 1, row_count)
                             FROM ar.audit_seal WHERE company_id = %2$s AND seq = 1$$, :ca, :cb),
                  'a deleted row is missing from its company''s seal');
ROLLBACK TO SAVEPOINT tamper;

-- ------------------------------------------------------------ the heads
SELECT results_eq(format($$SELECT * FROM ar.audit_chain_head(%1$s)$$, :ca, :cb),
                  format($$SELECT seq, seal_hash FROM ar.audit_seal WHERE company_id = %1$s ORDER BY seq DESC LIMIT 1$$, :ca, :cb),
                  'ar.audit_chain_head(company): its last seal');
SELECT results_eq($$SELECT chain, company_id, seq FROM ar.audit_chain_heads()$$,
                  $$SELECT CASE WHEN company_id = 0 THEN 'shared' ELSE 'company' END, nullif(company_id, 0), max(seq)
                      FROM ar.audit_seal GROUP BY company_id ORDER BY company_id$$,
                  'ar.audit_chain_heads(): every chain''s head');
SELECT results_eq($$SELECT * FROM ar.audit_chain_head()$$,
                  $$SELECT sum(seq)::bigint, sha256(convert_to(string_agg(format('%s:%s:%s:%s', chain, company_id, seq, encode(row_hash, 'hex')), E'\n'
                                                                  ORDER BY company_id NULLS FIRST), 'UTF8'))
                      FROM ar.audit_chain_heads()$$,
                  'ar.audit_chain_head(): the number of links and the digest of every head');
SELECT row_hash AS head_before FROM ar.audit_chain_head() \gset
SELECT row_hash AS head_a_before FROM ar.audit_chain_head(:ca) \gset
UPDATE ar.customer SET name = 'Renamed' WHERE code = 'KCB1';
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT isnt((SELECT row_hash FROM ar.audit_chain_head()), :'head_before'::bytea, 'a new link of one company moves the combined head');
SELECT is((SELECT row_hash FROM ar.audit_chain_head(:ca)), :'head_a_before'::bytea, 'and not another company''s head');

-- ------------------------------------------------------------ the locks
-- the seal of a transaction writing CA and CB takes both chains' locks
UPDATE ar.customer SET name = name || '.' WHERE code IN ('KCA3', 'KCB3');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT array_agg(s.key ORDER BY s.key) FROM ar.lock_slot s
            WHERE s.name = 'audit_chain' AND s.key IN (:ca, :cb)
              AND s.xmax::text::bigint = txid_current() % 4294967296),
          ARRAY[:ca, :cb]::bigint[], 'the seal locks the chain of each company it seals (ar.lock_slot)');

-- ------------------------------------------------ an admin of one company
SET LOCAL ROLE t_chain_adm_a;
SELECT results_eq($$SELECT coalesce(company_id, 0), valid FROM ar.verify_audit_chains()$$,
                  format($$VALUES (0::bigint, true), (%1$s::bigint, true)$$, :ca, :cb),
                  'an admin of CA verifies the chains it may read: shared configuration''s and CA''s');
SELECT results_eq(format($$SELECT valid FROM ar.verify_audit_chain(%1$s)$$, :ca, :cb), $$VALUES (true)$$, 'and CA''s on its own');
RESET ROLE;

-- --------------------------------------------------------- a new install
SELECT is((SELECT count(*) FROM ar.audit_legacy_chain)::int, 0, 'a new install has no legacy chain');
SELECT throws_ok($$INSERT INTO ar.audit_legacy_chain (last_seq, last_hash) VALUES (1, '\x00')$$, '42501', NULL,
                 'and none can be made up');

-- ---------------------------------------- the shared chain's key, company 0
SELECT throws_ok($$INSERT INTO ar.company (id, code, name) VALUES (0, 'ZERO', 'Company zero')$$, '23514', NULL,
                 'no company may take id 0, the key of shared configuration''s chain');
SELECT col_not_null('ar', 'audit_log', 'company_id', 'every audit row names its chain (so that the trail distributes by company)');
SELECT col_not_null('ar', 'audit_seal', 'company_id', 'every seal names its chain');

SELECT * FROM finish();
ROLLBACK;
