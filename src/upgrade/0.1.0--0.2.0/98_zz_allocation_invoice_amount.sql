-- allocation_invoice covers the allocations' amounts (issue 17): the pass of
-- ar.run_dunning reads the payments made by x of each invoice partly paid
-- on x, and ar._open_on those of an invoice up to a date, from the index alone
-- (src/sql/30_ledger.sql creates it so).
DROP INDEX ar.allocation_invoice;
CREATE INDEX allocation_invoice ON ar.allocation (invoice_id, allocated_on) INCLUDE (amount);
