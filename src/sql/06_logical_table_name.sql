-- The table a relation stands for: its own name, or on Citus the name of
-- the table a shard (<table>_<shard id>) belongs to (src/audit.c).  The
-- triggers that record or act by table name call it with TG_RELID rather
-- than read TG_TABLE_NAME, which on a shard is the shard's: the audit trail
-- names the table, a trigger shared by two tables takes the branch of its
-- table (doc/scale_out.md).
CREATE OR REPLACE FUNCTION ar._logical_table_name(rel regclass) RETURNS text
LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'ar_logical_table_name';
-- the triggers of every role call it (90_roles.sql gives it back after
-- taking EXECUTE away from PUBLIC on the whole schema)
GRANT EXECUTE ON FUNCTION ar._logical_table_name(regclass) TO PUBLIC;
