-- One audit chain per company (issue 14, doc/audit.md; one seal per
-- transaction and company, issue 17), in three pieces: this one, the
-- structure of the trail; 98_zz_audit_2_chains.sql, the
-- chains' functions (src/sql/41_audit_chains.sql); 98_zz_audit_3_legacy.sql,
-- the rows 0.1.0 sealed kept as the legacy chain, each given its company.
ALTER TABLE ar.audit_log ADD COLUMN company_id bigint;
-- seq: unique per company (0.1.0's rows keep theirs, unique in the database)
ALTER TABLE ar.audit_log DROP CONSTRAINT audit_log_seq_key;
-- (of the legacy chain's rows only: those written since 0.2.0 have none;
-- src/sql/40_audit.sql)
CREATE UNIQUE INDEX audit_log_company_seq ON ar.audit_log (company_id, seq) WHERE seq IS NOT NULL;
-- 0 is the shared configuration's chain (company_id NOT NULL once each row
-- has its company, 98_zz_audit_3_legacy.sql), never a company's
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM ar.company WHERE id = 0) THEN
		RAISE EXCEPTION 'cannot upgrade ar_collect: company % has id 0', (SELECT code FROM ar.company WHERE id = 0)
			USING ERRCODE = 'check_violation',
			      DETAIL = 'Since 0.2.0 the id 0 names the audit chain of shared configuration.',
			      HINT = 'Give the company and its rows another id, then upgrade.';
	END IF;
END $$;
ALTER TABLE ar.company ADD CONSTRAINT company_id_not_shared_chain CHECK (id <> 0);
-- the rows of a seal (a transaction's of one company, in id order)
DROP INDEX ar.audit_log_unsealed;
CREATE INDEX audit_log_txid ON ar.audit_log (txid, company_id, id);
-- (the update guard and each row's hash at insert: 98_zz_audit_2_chains.sql)

-- row-level security on company_id, forced
ALTER TABLE ar.audit_log FORCE ROW LEVEL SECURITY;
ALTER POLICY company_read ON ar.audit_log
	USING (company_id = 0 OR ar._company_visible(company_id, 'admin'));
