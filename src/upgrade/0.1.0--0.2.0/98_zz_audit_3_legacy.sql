-- The rows 0.1.0 sealed stay the chain they are, the legacy chain: its
-- head recorded (the company chains start after it), each row given its
-- company from the row it records (not in its hashed content).  The rows
-- the upgrade's own pieces audited, not sealed yet, get theirs too, and
-- their hash, and are sealed at its commit into their companies' chains.
ALTER TABLE ar.audit_legacy_chain DISABLE TRIGGER audit_legacy_chain_guard;
INSERT INTO ar.audit_legacy_chain (last_seq, last_hash)
SELECT a.seq, a.row_hash FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
ALTER TABLE ar.audit_legacy_chain ENABLE TRIGGER audit_legacy_chain_guard;
ALTER TABLE ar.audit_log DISABLE TRIGGER audit_log_guard_update;
UPDATE ar.audit_log a SET company_id = ar._audit_company(a.table_name, coalesce(a.new_row, a.old_row));
ALTER TABLE ar.audit_log ALTER COLUMN company_id SET NOT NULL;
-- the upgrade's own rows, hashed as 0.2.0 hashes a row when it is written
-- (their company is in the content), to be sealed at its commit
UPDATE ar.audit_log a SET row_hash = sha256(ar.audit_row_content(a, NULL))
 WHERE a.seq IS NULL AND a.txid = pg_current_xact_id();
ALTER TABLE ar.audit_log ENABLE TRIGGER audit_log_guard_update;

-- the seals, read under row-level security as the trail (src/sql/95_tenancy.sql)
ALTER TABLE ar.audit_seal ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY company_read ON ar.audit_seal FOR SELECT
	USING (company_id = 0 OR ar._company_visible(company_id, 'admin'));

-- the row trigger writes each row's company (0.1.0's entry point stays in
-- the library for 0.1.0's trail, which has no company_id); the seal is
-- per company
CREATE OR REPLACE FUNCTION ar._audit_row() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'ar_audit_company_row';
DROP FUNCTION ar._audit_seal_rows(bigint, bytea);

-- grants as a new install's (src/sql/90_roles.sql: nothing but immutable
-- functions for PUBLIC)
REVOKE ALL ON FUNCTION ar.audit_genesis_hash(bigint), ar._audit_legacy_seq(), ar._audit_company(text, jsonb),
                       ar.audit_row_hash(ar.audit_log, bytea), ar._audit_hash(),
                       ar.audit_seal_content(ar.audit_seal), ar.audit_seal_hash(ar.audit_seal, bytea),
                       ar._audit_unsealed(ar.audit_log), ar._audit_link(ar.audit_log), ar._audit_chain_guard(),
                       ar._audit_row_problem(ar.audit_log, bytea),
                       ar._audit_verify(text, bigint, boolean), ar.verify_audit_chains(),
                       ar._audit_chains_here(), ar._audit_heads_here(), ar._audit_trail_on_nodes(),
                       ar._audit_run_on_nodes(text), ar._audit_verify_on_nodes(text),
                       ar.verify_audit_chain(bigint), ar.audit_chain_heads(), ar.audit_chain_head(bigint)
	FROM PUBLIC;
GRANT SELECT ON ar.audit_legacy_chain, ar.audit_seal TO ar_admin;
GRANT EXECUTE ON FUNCTION ar.verify_audit_chain(bigint), ar.verify_audit_chains(), ar.audit_chain_head(bigint),
                          ar.audit_chain_heads(), ar.audit_genesis_hash(bigint), ar._audit_legacy_seq(),
                          ar._audit_verify(text, bigint, boolean), ar._audit_row_problem(ar.audit_log, bytea),
                          ar._audit_chains_here(), ar._audit_heads_here(), ar._audit_trail_on_nodes(),
                          ar._audit_trail_distributed(),
                          ar._audit_run_on_nodes(text), ar._audit_verify_on_nodes(text),
                          ar.audit_row_hash(ar.audit_log, bytea),
                          ar.audit_seal_content(ar.audit_seal), ar.audit_seal_hash(ar.audit_seal, bytea),
                          ar._audit_link(ar.audit_log),
                          ar._gdpr_manifest(bigint)  -- the chained manifests the verification checks
	TO ar_admin;
