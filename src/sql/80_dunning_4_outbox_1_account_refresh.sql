-- Dunning: the refresh of an account from its notices (one of the 80_dunning_*
-- pieces; also a piece of the upgrade to 0.2.0, where it replaces 0.1.0's
-- form without the company: src/upgrade/0.1.0--0.2.0/98_zzzzz_routed_writes.sql
-- drops that one first).

-- Level C and last notice of an account, recomputed from its notices (after
-- a notice is marked failed or cancelled); every table read and written
-- with the company named (routed to its shard on Citus).
CREATE FUNCTION ar._dunning_account_refresh(company bigint, customer_id bigint, currency char(3)) RETURNS void
LANGUAGE sql AS $$
	UPDATE ar.dunning_account a
	   SET level = (SELECT n.level FROM ar.dunning_notice n
	                 WHERE n.company_id = a.company_id AND n.customer_id = a.customer_id AND n.currency = a.currency
	                   AND n.cycle = a.cycle AND n.status IN ('queued', 'sent')
	                 ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       (last_notice_id, last_notice_on) =
	           (SELECT n.id, n.as_of FROM ar.dunning_notice n
	             WHERE n.company_id = a.company_id AND n.customer_id = a.customer_id AND n.currency = a.currency
	               AND n.status IN ('queued', 'sent')
	             ORDER BY n.as_of DESC, n.id DESC LIMIT 1),
	       updated_at = now()
	 WHERE a.company_id = _dunning_account_refresh.company AND a.customer_id = _dunning_account_refresh.customer_id
	   AND a.currency = _dunning_account_refresh.currency
$$;
COMMENT ON FUNCTION ar._dunning_account_refresh(bigint, bigint, char(3)) IS
'Recomputes the level and last notice of a customer''s dunning account (company, customer, currency) from its notices queued or sent: the trigger of a notice marked failed or cancelled calls it.';
REVOKE ALL ON FUNCTION ar._dunning_account_refresh(bigint, bigint, char(3)) FROM PUBLIC;
