-- Dunning, what the sender reports (one of the 80_dunning_* pieces).

-- ---------------------------------------------------------------- delivery

-- Only the delivery columns of a notice change, along the allowed paths:
-- queued -> sent | failed | cancelled, sent -> failed (bounced, returned).
CREATE FUNCTION ar._dunning_notice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'dunning notice % cannot be deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Notices are part of the customer''s history: mark it cancelled with ar.mark_notice().';
	END IF;
	IF NEW.status IS NOT DISTINCT FROM OLD.status AND ar._gdpr_redacting(TG_RELID) THEN
		RETURN NEW;  -- ar.anonymise_customer (doc/gdpr.md)
	END IF;
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail}'::text[]) THEN
		RAISE EXCEPTION 'dunning notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_notice().';
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		IF (OLD.status, NEW.status) NOT IN (('queued', 'sent'), ('queued', 'failed'), ('queued', 'cancelled'),
		                                    ('sent', 'failed')) THEN
			RAISE EXCEPTION 'dunning notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'queued -> sent, failed or cancelled; sent -> failed.';
		END IF;
		NEW.status_at := now();
	END IF;
	RETURN NEW;
END $$;

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

-- What the external sender reports: sent (with its reference: message id,
-- registered letter number), failed (with the reason), or cancelled.
-- Marking a notice again with the status it has changes nothing.
CREATE FUNCTION ar.mark_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL, detail text DEFAULT NULL)
RETURNS ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	n ar.dunning_notice;
	company bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('sent', 'failed', 'cancelled') THEN
		RAISE EXCEPTION 'a notice is marked sent, failed or cancelled, not %', coalesce('"' || status || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF status = 'failed' AND coalesce(btrim(detail), '') = '' THEN
		RAISE EXCEPTION 'a failed delivery needs its reason in detail' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the company read first, the lock naming it (routed to its shard on
	-- Citus, doc/scale_out.md blocker 5)
	SELECT d.company_id INTO company FROM ar.dunning_notice d WHERE d.id = mark_notice.notice_id;
	IF FOUND THEN
		PERFORM ar._require_company(company, 'collector');
	END IF;
	SELECT * INTO n FROM ar.dunning_notice d WHERE d.company_id = company AND d.id = mark_notice.notice_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dunning notice % does not exist', coalesce(notice_id::text, 'NULL') USING ERRCODE = 'no_data_found';
	END IF;
	IF n.status = mark_notice.status
	   AND (mark_notice.provider_ref IS NULL OR mark_notice.provider_ref IS NOT DISTINCT FROM n.provider_ref)
	   AND (mark_notice.detail IS NULL OR mark_notice.detail IS NOT DISTINCT FROM n.status_detail) THEN
		RETURN n;
	END IF;
	UPDATE ar.dunning_notice d
	   SET status = mark_notice.status,
	       provider_ref = coalesce(mark_notice.provider_ref, d.provider_ref),
	       status_detail = coalesce(mark_notice.detail, d.status_detail)
	 WHERE d.company_id = n.company_id AND d.id = n.id
	RETURNING * INTO n;
	RETURN n;
END $$;
