-- For this upgrade's own use (dropped by 99_zzz_drop_upgrade_helpers.sql):
-- in the definition of function f as it stands, old_text replaced by
-- new_text, the function re-created.  An old text not found is an error,
-- never a silent skip (test/t/upgrade.sh compares the result with a fresh
-- install).  Used where a function's install piece is not a piece of this
-- upgrade and only a few of its lines changed.
CREATE FUNCTION ar._upgrade_replace_in_function(f regprocedure, old_text text, new_text text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	def constant text := pg_catalog.pg_get_functiondef(f);
BEGIN
	IF pg_catalog.strpos(def, old_text) = 0 THEN
		RAISE EXCEPTION 'upgrade: % does not contain the text it replaces', f;
	END IF;
	EXECUTE pg_catalog.replace(def, old_text, new_text);
END $$;
