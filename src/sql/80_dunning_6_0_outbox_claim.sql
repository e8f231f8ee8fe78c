-- Dunning, the outbox's consumers (one of the 80_dunning_* pieces; also a
-- piece of the upgrade to 0.2.0, after the columns claimed_until and
-- claimed_by are added there: every definition here is CREATE OR REPLACE).
-- The triggers calling the guard: 80_dunning_6_delivery.sql.

-- Only the delivery columns of a notice change, along the allowed paths:
-- queued -> sent | failed | cancelled, sent -> failed (bounced, returned);
-- and the claim of a queued notice (ar.claim_notices).
CREATE OR REPLACE FUNCTION ar._dunning_notice_guard() RETURNS trigger
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
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail,claimed_until,claimed_by}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail,claimed_until,claimed_by}'::text[]) THEN
		RAISE EXCEPTION 'dunning notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_notice(), and its claim, through ar.claim_notices().';
	END IF;
	-- a claim is taken on a queued notice only: the record of who took a
	-- notice that went on stays as it was
	IF (NEW.claimed_until, NEW.claimed_by) IS DISTINCT FROM (OLD.claimed_until, OLD.claimed_by)
	   AND (OLD.status <> 'queued' OR NEW.status <> 'queued') THEN
		RAISE EXCEPTION 'dunning notice % is %: it cannot be claimed', OLD.id, OLD.status
			USING ERRCODE = 'object_not_in_prerequisite_state';
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

-- A status reported again for a notice of an outbox (ar.mark_notice,
-- ar.mark_statement_notice): with the same or no proof and reason it
-- changes nothing; with another it is refused (55000): the first report is
-- in the timeline (ar.communication), which the row must not contradict.
CREATE OR REPLACE FUNCTION ar._check_report_again(what text, id bigint, status text, proof text, new_proof text,
                                                  detail text, new_detail text, hint text)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF new_proof IS DISTINCT FROM proof AND new_proof IS NOT NULL THEN
		RAISE EXCEPTION '% % is already % with proof %, not %', what, id, status,
			coalesce('"' || proof || '"', 'none'), '"' || new_proof || '"'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'A second report of the same status with another proof would contradict the first, in the timeline.',
			      HINT = hint;
	END IF;
	IF new_detail IS DISTINCT FROM detail AND new_detail IS NOT NULL THEN
		RAISE EXCEPTION '% % is already % with detail %, not %', what, id, status,
			coalesce('"' || detail || '"', 'none'), '"' || new_detail || '"'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'A second report of the same status with another reason would contradict the first, in the timeline.';
	END IF;
END $$;
REVOKE ALL ON FUNCTION ar._check_report_again(text, bigint, text, text, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ar._check_report_again(text, bigint, text, text, text, text, text, text) IS
	'Internal to ar.mark_notice and ar.mark_statement_notice: refuses (55000) a status reported again with another proof or reason than the first report''s.';

-- What the external sender reports: sent (with its reference: message id,
-- registered letter number), failed (with the reason), or cancelled.
-- Marking a notice again with the status it has changes nothing; with
-- another proof or reason it is refused: the first report is in the
-- timeline (ar.communication), which the row must not contradict.  A
-- claimed notice is marked as any other (the claim is a lease, not a lock).
CREATE OR REPLACE FUNCTION ar.mark_notice(notice_id bigint, status text, provider_ref text DEFAULT NULL, detail text DEFAULT NULL)
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
	IF n.status = mark_notice.status THEN
		PERFORM ar._check_report_again('dunning notice', n.id, n.status, n.provider_ref, mark_notice.provider_ref,
		                               n.status_detail, mark_notice.detail,
		                               'Two senders delivered it? Take notices with ar.claim_notices(), one sender each.');
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

-- Hands queued notices to one sender at a time: each notice returned is
-- claimed for the lease (claimed_until, claimed_by), skipped by every other
-- claim until the lease ends (a sender that crashed: its notices come back)
-- or the notice is marked.  SKIP LOCKED: concurrent claimers neither wait
-- for nor take each other's rows.  The companies the caller is a collector
-- of, one after the other, each statement naming its company (routed to its
-- shard on Citus); within a company, oldest first.
CREATE OR REPLACE FUNCTION ar.claim_notices(max_notices integer DEFAULT 100, lease interval DEFAULT '5 minutes',
                                            channel text DEFAULT NULL)
RETURNS SETOF ar.dunning_notice
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	company bigint;
	remaining integer := max_notices;
	taken integer;
	claimer constant text := format('%s (pid %s)', ar._caller(), pg_backend_pid());
	-- the time read once, a parameter of the statements (Citus refuses a
	-- volatile function in an UPDATE of a distributed table)
	claimed_at constant timestamptz := clock_timestamp();
	until timestamptz;
BEGIN
	IF max_notices IS NULL OR max_notices < 1 THEN
		RAISE EXCEPTION 'max_notices must be at least 1, not %', coalesce(max_notices::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease <= interval '0' THEN
		RAISE EXCEPTION 'a lease must be longer than zero, not %', coalesce(lease::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF channel IS NOT NULL AND channel NOT IN ('email', 'sms', 'letter', 'registered_letter', 'task') THEN
		RAISE EXCEPTION 'unknown channel "%"', channel
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'email, sms, letter, registered_letter, task, or NULL for every channel.';
	END IF;
	until := claimed_at + lease;
	FOREACH company IN ARRAY ar._company_ids('collector') LOOP
		EXIT WHEN remaining <= 0;
		RETURN QUERY
		WITH free AS (
			SELECT d.id FROM ar.dunning_notice d
			 WHERE d.company_id = company AND d.status = 'queued'
			   AND (d.claimed_until IS NULL OR d.claimed_until <= claimed_at)
			   AND (claim_notices.channel IS NULL OR d.channel = claim_notices.channel)
			 ORDER BY d.id
			 LIMIT remaining
			   FOR UPDATE SKIP LOCKED)
		UPDATE ar.dunning_notice d
		   SET claimed_until = until, claimed_by = claimer
		  FROM free
		 WHERE d.company_id = company AND d.id = free.id
		RETURNING d.*;
		GET DIAGNOSTICS taken = ROW_COUNT;
		remaining := remaining - taken;
	END LOOP;
END $$;
COMMENT ON FUNCTION ar.claim_notices(integer, interval, text) IS
	'Claims up to max_notices queued notices of the companies the caller is a collector of (of one channel, or every channel when NULL), not claimed by another sender whose lease still runs, oldest first, for the lease (claimed_until, claimed_by = the calling role and its backend pid); concurrent claimers never get the same notice (FOR UPDATE SKIP LOCKED). Report each with ar.mark_notice(); those not marked when the lease ends are claimable again.';
REVOKE ALL ON FUNCTION ar.claim_notices(integer, interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar.claim_notices(integer, interval, text) TO ar_collector;
