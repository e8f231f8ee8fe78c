-- Dunning, what the sender reports (one of the 80_dunning_* pieces).

-- ---------------------------------------------------------------- delivery

-- ar._dunning_notice_guard and ar.mark_notice: 80_dunning_6_0_outbox_claim.sql.

CREATE TRIGGER dunning_notice_guard BEFORE UPDATE OR DELETE ON ar.dunning_notice
	FOR EACH ROW EXECUTE FUNCTION ar._dunning_notice_guard();
CREATE TRIGGER dunning_notice_no_truncate BEFORE TRUNCATE ON ar.dunning_notice
	FOR EACH STATEMENT EXECUTE FUNCTION ar._refuse_truncate();

-- A status change is logged; a failed or cancelled notice no longer counts
-- as escalation (the level is tried again at the next run).
CREATE FUNCTION ar._dunning_notice_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	INSERT INTO ar.communication (company_id, customer_id, as_of, kind, direction, channel, summary, detail,
	                              proof_ref, notice_id)
	VALUES (NEW.company_id, NEW.customer_id, NEW.as_of, 'notice_' || NEW.status,
	        CASE WHEN NEW.channel = 'task' THEN 'internal' ELSE 'outbound' END, NEW.channel,
	        format('Level %s, %s, %s (%s)', NEW.level, NEW.level_name,
	               CASE NEW.status WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'not delivered' ELSE 'cancelled' END,
	               NEW.channel),
	        NEW.status_detail, NEW.provider_ref, NEW.id);
	IF NEW.status IN ('failed', 'cancelled') THEN
		PERFORM ar._dunning_account_refresh(NEW.company_id, NEW.customer_id, NEW.currency);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER dunning_notice_status_changed AFTER UPDATE OF status ON ar.dunning_notice
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION ar._dunning_notice_status_changed();
