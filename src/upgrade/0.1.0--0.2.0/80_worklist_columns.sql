-- 0.2.0 (issue 16, items 1 and 2): who collects each account and how a
-- dispute is classified (src/sql/86_worklist.sql uses them; a fresh install
-- defines them with their tables, last).
ALTER TABLE ar.customer
	ADD COLUMN collector name CONSTRAINT customer_collector_valid CHECK (ar._check_header_text('customer.collector', collector, 63));
ALTER TABLE ar.dispute
	ADD COLUMN category text CONSTRAINT dispute_category_known
		CHECK (category IN ('price', 'quantity', 'quality', 'delivery', 'not_received', 'other')),
	ADD COLUMN owner name CONSTRAINT dispute_owner_valid CHECK (ar._check_header_text('dispute.owner', owner, 63)),
	ADD COLUMN due_on date CONSTRAINT dispute_due_on_valid CHECK (ar._check_date('dispute.due_on', due_on));
