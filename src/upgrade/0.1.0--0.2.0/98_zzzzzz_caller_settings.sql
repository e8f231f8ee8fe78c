-- ---------------------------------------------------------------------------
-- The caller's standard_conforming_strings and DateStyle do not change what
-- a function does (doc/security.md, test/pgtap/caller_settings.sql): no
-- backslash in a plain '...' literal of a function body (re-parsed at run
-- time under the caller's setting), written E'...' instead; dates in
-- messages written ISO.  The install pieces of these functions are not
-- pieces of this upgrade: each definition as it stands, the old text
-- replaced by the new one (an old text not found is an error).
-- ---------------------------------------------------------------------------
DO $$
DECLARE
	f regprocedure;
	old_text text;
	new_text text;
BEGIN
	FOR f, old_text, new_text IN VALUES
		('ar.template_placeholders(text)',
		 $o$regexp_matches(template, '\{\{([a-z0-9_]{1,63})\}\}', 'g')$o$,
		 $n$regexp_matches(template, E'\\{\\{([a-z0-9_]{1,63})\\}\\}', 'g')$n$)
	LOOP
		PERFORM ar._upgrade_replace_in_function(f, old_text, new_text);
	END LOOP;
END $$;
