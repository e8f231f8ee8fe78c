-- 0.2.0 (issue 13): camt.054 entries without a booking or value date are
-- dated by the notification's creation date (src/camt.c, no schema
-- change); a camt.053 statement without both balances in the account's
-- currency is refused when strict, else stored flagged with the reason.
ALTER TABLE ar.bank_statement ADD COLUMN unbalanced_reason text;
COMMENT ON COLUMN ar.bank_statement.unbalanced_reason IS 'Why balanced is false (a statement imported with strict => false): the difference, the totals that disagree, or a balance missing or in another currency than the account.';

-- ar.import_statement, which fills unbalanced_reason: its final form is
-- re-created by piece 72.
