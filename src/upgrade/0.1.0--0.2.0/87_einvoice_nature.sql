-- 0.2.0 (issue 16, item 10): the invoice's nature, the last column of
-- ar.invoice (src/sql/30_ledger.sql), before 87_einvoicing.sql (a link to
-- src/sql/86_einvoicing.sql) that uses it.
ALTER TABLE ar.invoice ADD COLUMN nature text
	CONSTRAINT invoice_nature_known CHECK (nature IN ('goods', 'services', 'mixed'));
