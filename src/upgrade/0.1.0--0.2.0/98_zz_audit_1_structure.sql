-- One audit chain per company (issue 14, doc/audit.md; one seal per
-- transaction and company, issue 17), in three pieces: this one, the
-- structure of the trail; 98_zz_audit_2_chains.sql, the
-- chains' functions (src/sql/41_audit_chains.sql); 98_zz_audit_3_legacy.sql,
-- the rows 0.1.0 sealed kept as the legacy chain, each given its company.
ALTER TABLE ar.audit_log ADD COLUMN company_id bigint;
-- seq: unique per company (0.1.0's rows keep theirs, unique in the database)
ALTER TABLE ar.audit_log DROP CONSTRAINT audit_log_seq_key;
ALTER TABLE ar.audit_log ADD CONSTRAINT audit_log_company_seq UNIQUE (company_id, seq);
CREATE UNIQUE INDEX audit_log_shared_seq ON ar.audit_log (seq) WHERE company_id IS NULL;
-- the rows of a seal (a transaction's of one company, in id order)
DROP INDEX ar.audit_log_unsealed;
CREATE INDEX audit_log_txid ON ar.audit_log (txid, company_id, id);
-- (the update guard and each row's hash at insert: 98_zz_audit_2_chains.sql)

-- row-level security on company_id, forced
ALTER TABLE ar.audit_log FORCE ROW LEVEL SECURITY;
ALTER POLICY company_read ON ar.audit_log
	USING (company_id IS NULL OR ar._company_visible(company_id, 'admin'));
