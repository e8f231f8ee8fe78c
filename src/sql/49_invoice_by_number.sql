-- Its own piece (issue 14), so that the upgrade installs the same text:
-- src/upgrade/0.1.0--0.2.0 links it.

-- The invoice of that number among the companies the caller collects for,
-- locked; the number must name one invoice there.  A number found only in
-- other companies is refused naming the company (42501).  Found by a plain
-- read, then locked by its company and id (routed to one shard on Citus).
CREATE OR REPLACE FUNCTION ar._invoice_by_number(invoice_number text) RETURNS ar.invoice
LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	found_count integer;
	company bigint;
	found_id bigint;
	mine constant bigint[] := ar._company_ids('collector');
BEGIN
	SELECT count(*), min(company_id), min(id) INTO found_count, company, found_id
	  FROM ar.invoice WHERE number = invoice_number AND company_id = ANY (mine);
	IF found_count = 0 THEN
		SELECT * INTO inv FROM ar.invoice WHERE number = invoice_number ORDER BY company_id LIMIT 1;
		IF FOUND THEN
			PERFORM ar._require_company(inv.company_id, 'collector');
		END IF;
		RAISE EXCEPTION 'invoice "%" does not exist', invoice_number USING ERRCODE = 'no_data_found';
	ELSIF found_count > 1 THEN
		RAISE EXCEPTION 'invoice number "%" exists in % companies', invoice_number, found_count
			USING ERRCODE = 'cardinality_violation',
			      HINT = 'Insert into ar.allocation with the invoice id instead.';
	END IF;
	SELECT * INTO inv FROM ar.invoice WHERE company_id = company AND id = found_id FOR UPDATE;
	IF NOT FOUND OR inv.number IS DISTINCT FROM invoice_number THEN  -- deleted or renumbered meanwhile
		RAISE EXCEPTION 'invoice "%" does not exist', invoice_number USING ERRCODE = 'no_data_found';
	END IF;
	PERFORM ar._require_company(inv.company_id, 'collector');
	RETURN inv;
END $$;
