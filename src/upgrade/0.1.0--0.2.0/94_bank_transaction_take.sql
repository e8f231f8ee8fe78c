-- ar._bank_transaction_take names the company of the credit taking the
-- line's money (its lock routed per company, doc/scale_out.md blocker 5):
-- the 0.1.0 form, without the company, goes; the new one is the install
-- piece (94_bank_transaction_take_new.sql).
DROP FUNCTION ar._bank_transaction_take(bigint, numeric, char(3), text);
