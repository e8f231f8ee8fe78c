-- The error of the guards of derived columns (30_ledger.sql), callable by
-- every role as in a fresh install (90_roles.sql): 0.1.0 revoked it with
-- every function, and a role writing a derived column was told
-- "permission denied for function _derived_column_error".
-- (ar_definer's own grant, made by an earlier piece's ar._grant_definer(),
-- goes: a fresh install gives it none, PUBLIC's suffices)
GRANT EXECUTE ON FUNCTION ar._derived_column_error(text, text) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION ar._derived_column_error(text, text) FROM ar_definer;
