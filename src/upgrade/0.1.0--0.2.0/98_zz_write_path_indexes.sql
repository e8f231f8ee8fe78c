-- Two indexes fewer on the rows a payment rewrites (issue 17): paying an
-- invoice or a bank line is a non-HOT update, which writes an entry in every
-- index of the row.  The invoice's unique number key starts with the number,
-- which serves the lookups by number alone that invoice_number served; a bank
-- line's statement is found through its key bank_transaction_statement_line,
-- which starts with statement_id (src/sql/30_ledger.sql creates both so).
ALTER TABLE ar.invoice DROP CONSTRAINT invoice_company_id_number_key,
	ADD CONSTRAINT invoice_company_id_number_key UNIQUE (number, company_id);
DROP INDEX ar.invoice_number;
DROP INDEX ar.bank_transaction_statement;
