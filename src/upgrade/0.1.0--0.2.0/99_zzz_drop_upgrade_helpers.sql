-- The upgrade's own helpers (00_replace_in_function.sql): not part of 0.2.0.
DROP FUNCTION ar._upgrade_replace_in_function(regprocedure, text, text);
