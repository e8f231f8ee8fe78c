-- The rule of the dates of allocations (a piece of its own: the upgrade to
-- 0.2.0 links it, src/upgrade/0.1.0--0.2.0/98_zzzzzzzzz_backdated_0_issued_by.sql).

-- An allocation is dated on or after the issue date of its document: one
-- dated before it would change what the ledger showed on days the document
-- did not exist yet (aging, statements).  on_date NULL: allocation's own
-- NOT NULL check.
CREATE FUNCTION ar._require_issued_by(doc ar.invoice, on_date date, what text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF on_date < doc.issue_date THEN
		RAISE EXCEPTION '% % was issued on %: it cannot be % on %',
		                CASE WHEN doc.amount < 0 THEN 'credit note' ELSE 'invoice' END, doc.number,
		                to_char(doc.issue_date, 'YYYY-MM-DD'), what, to_char(on_date, 'YYYY-MM-DD')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END $$;
COMMENT ON FUNCTION ar._require_issued_by(ar.invoice, date, text) IS
	'Error (22023) when on_date, the date of an allocation on document doc (set off, written off), is before doc''s issue date.';
REVOKE ALL ON FUNCTION ar._require_issued_by(ar.invoice, date, text) FROM PUBLIC;
