-- The <table>_input_bounds constraints of the tables the pieces after
-- 30_input_bounds.sql created (each declared its bounded columns in
-- ar.input_bound), as src/sql/88_input_bounds.sql does at the end of a fresh
-- install; those of ar.customer and ar.dispute built anew with the columns
-- 80_worklist_columns.sql added (collector; owner, due_on).
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ar._create_input_bounds_constraints(ARRAY['customer', 'dispute']);
SET CONSTRAINTS ALL DEFERRED;
