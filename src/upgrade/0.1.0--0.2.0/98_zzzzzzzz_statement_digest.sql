-- ---------------------------------------------------------------------------
-- A camt statement downloaded again under another message id (GrpHdr/MsgId,
-- which banks renumber at each download) is the same statement: its
-- statement digest (the content digest less the message id) is kept with
-- it and recognised by ar.import_statement (src/sql/70_statements.sql).
-- The statements imported before keep no statement digest (NULL): the
-- lines are not kept as parsed, so it cannot be computed again; they are
-- still recognised by their content digest, as in 0.1.0.
-- ---------------------------------------------------------------------------
ALTER TABLE ar.bank_statement ADD COLUMN statement_digest bytea,
	ADD CONSTRAINT bank_statement_digest_once UNIQUE (company_id, account_id, statement_ref, statement_digest);
COMMENT ON COLUMN ar.bank_statement.statement_digest IS 'SHA-256 of the parsed statement less its message id (the envelope a bank renumbers at each download): with account and statement_ref, what recognises a statement downloaded again; NULL for statements imported before 0.2.0.';
