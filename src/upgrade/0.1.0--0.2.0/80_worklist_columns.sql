-- 0.2.0 (issue 16, items 1 and 2): who collects each account and how a
-- dispute is classified (src/sql/86_worklist.sql uses them; a fresh install
-- defines them with their tables, last; their input bounds are declared,
-- and the two tables' constraints rebuilt, by 81_worklist.sql).
ALTER TABLE ar.customer ADD COLUMN collector name;
ALTER TABLE ar.dispute
	ADD COLUMN category text CONSTRAINT dispute_category_known
		CHECK (category IN ('price', 'quantity', 'quality', 'delivery', 'not_received', 'other')),
	ADD COLUMN owner name,
	ADD COLUMN due_on date;
