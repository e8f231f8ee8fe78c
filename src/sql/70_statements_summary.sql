-- ---------------------------------------------------------------------------
-- What a credit manager checks after an import: one row per bank statement.
-- Its own piece, also the upgrade's (src/upgrade/0.1.0--0.2.0/
-- 95_zz_statement_summary.sql): since 0.2.0 it no longer groups by the
-- statement's primary key, which gets company_id (97_distribution_keys.sql).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE VIEW ar.bank_statement_summary AS
SELECT s.id AS statement_id,
       s.company_id,
       s.format,
       s.account_id,
       s.statement_ref,
       s.sequence_no,
       s.currency,
       s.opening_date,
       s.opening_balance,
       s.movements,
       s.closing_date,
       s.closing_balance,
       s.balanced,
       s.balance_difference,
       t.lines,
       t.credit_lines,
       t.credits,
       t.debit_lines,
       t.debits,
       t.open_lines,
       s.imported_at,
       s.imported_by
  FROM ar.bank_statement s
  -- the lines of each statement (not a GROUP BY of the statement, which
  -- would lean on its primary key: 97_distribution_keys.sql changes it)
  CROSS JOIN LATERAL (
	SELECT count(t.id) AS lines,
	       count(t.id) FILTER (WHERE t.amount > 0) AS credit_lines,
	       coalesce(sum(t.amount) FILTER (WHERE t.amount > 0), 0) AS credits,
	       count(t.id) FILTER (WHERE t.amount < 0) AS debit_lines,
	       coalesce(sum(t.amount) FILTER (WHERE t.amount < 0), 0) AS debits,
	       count(t.id) FILTER (WHERE t.status IN ('unmatched', 'proposed')) AS open_lines
	  FROM ar.bank_transaction t
	 WHERE t.statement_id = s.id AND t.company_id = s.company_id) t;
COMMENT ON VIEW ar.bank_statement_summary IS 'One row per imported bank statement: balances, whether they agree with the lines, lines by direction and how many still wait for reconciliation.';
COMMENT ON COLUMN ar.bank_statement_summary.statement_id IS 'ar.bank_statement.id';
COMMENT ON COLUMN ar.bank_statement_summary.company_id IS 'Company whose account it is.';
COMMENT ON COLUMN ar.bank_statement_summary.format IS 'camt.052, camt.053, camt.054, mt940, mt942 or csv.';
COMMENT ON COLUMN ar.bank_statement_summary.account_id IS 'The account: compact IBAN, else as the bank wrote it.';
COMMENT ON COLUMN ar.bank_statement_summary.statement_ref IS 'The bank''s statement reference.';
COMMENT ON COLUMN ar.bank_statement_summary.sequence_no IS 'Statement number (MT940 :28C:, camt ElctrncSeqNb).';
COMMENT ON COLUMN ar.bank_statement_summary.currency IS 'Currency of the account (ISO 4217).';
COMMENT ON COLUMN ar.bank_statement_summary.opening_date IS 'Date of the opening balance.';
COMMENT ON COLUMN ar.bank_statement_summary.opening_balance IS 'Opening balance (negative: overdrawn).';
COMMENT ON COLUMN ar.bank_statement_summary.movements IS 'Sum of the lines (credits positive).';
COMMENT ON COLUMN ar.bank_statement_summary.closing_date IS 'Date of the closing balance.';
COMMENT ON COLUMN ar.bank_statement_summary.closing_balance IS 'Closing balance.';
COMMENT ON COLUMN ar.bank_statement_summary.balanced IS 'Opening + movements = closing; false: imported with strict => false although it does not balance; NULL: no balances.';
COMMENT ON COLUMN ar.bank_statement_summary.balance_difference IS 'Closing balance less (opening balance + movements).';
COMMENT ON COLUMN ar.bank_statement_summary.lines IS 'Lines stored.';
COMMENT ON COLUMN ar.bank_statement_summary.credit_lines IS 'Lines that brought money in.';
COMMENT ON COLUMN ar.bank_statement_summary.credits IS 'Their total.';
COMMENT ON COLUMN ar.bank_statement_summary.debit_lines IS 'Lines that took money out.';
COMMENT ON COLUMN ar.bank_statement_summary.debits IS 'Their total (negative).';
COMMENT ON COLUMN ar.bank_statement_summary.open_lines IS 'Lines still unmatched or only proposed.';
COMMENT ON COLUMN ar.bank_statement_summary.imported_at IS 'When the statement was imported.';
COMMENT ON COLUMN ar.bank_statement_summary.imported_by IS 'Who imported it.';

GRANT SELECT ON ar.bank_statement_summary TO ar_reader;
-- (an upgrade's CREATE OR REPLACE resets the view's options)
ALTER VIEW ar.bank_statement_summary SET (security_invoker = true);
