-- Last: every SECURITY DEFINER function and table the pieces above created
-- or re-created is handed to ar_definer with the privileges it needs, as
-- src/sql/99_definer.sql does at the end of a fresh install.
SELECT ar._grant_definer();
