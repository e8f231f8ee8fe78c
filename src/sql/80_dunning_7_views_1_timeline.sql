-- ar.customer_timeline (one of the 80_dunning_* pieces), in a piece of its
-- own: src/upgrade/0.1.0--0.2.0/99_citus_4_customer_timeline.sql is this
-- piece (a symbolic link), so that the upgrade replaces the 0.1.0 view with
-- this text.  Its joins between company tables are on (x_id, company_id),
-- so that Citus runs it on each shard (doc/scale_out.md, blocker 2; it
-- joined on id alone).  CREATE OR REPLACE with its option: on an upgrade the
-- view exists, and replacing it without the option would drop it.

-- Who queued the notices of each run date: ar.dunning_run is read by the
-- roles acting for every company only (its counts and report cover them
-- all: 96_company_rls_2_run_records.sql); who ran a date is not company
-- data, and every reader's timeline names them.
CREATE OR REPLACE FUNCTION ar._dunning_run_actors() RETURNS TABLE (as_of date, run_by text, run_role text, via text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT r.as_of, r.run_by, r.run_role, r.via FROM ar.dunning_run r
$$;
REVOKE ALL ON FUNCTION ar._dunning_run_actors() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._dunning_run_actors() TO ar_reader;

-- One timeline per customer: the communications log, and each notice queued
-- (from the outbox itself: the notice row is the record of its queuing,
-- the run that queued it says by whom).
CREATE OR REPLACE VIEW ar.customer_timeline WITH (security_invoker = true) AS
SELECT m.id, m.customer_id, c.code AS customer_code, c.name AS customer_name, m.occurred_at, m.as_of, m.kind,
       m.direction, m.channel, m.summary, m.detail, m.proof_ref, m.invoice_id, i.number AS invoice_number,
       m.notice_id, n.level AS notice_level, m.dispute_id, m.promise_id, m.plan_id, m.block_id,
       m.actor, m.role, m.via, m.recorded_at
  FROM ar.communication m
  JOIN ar.customer c ON c.id = m.customer_id AND c.company_id = m.company_id
  LEFT JOIN ar.invoice i ON i.id = m.invoice_id AND i.company_id = m.company_id
  LEFT JOIN ar.dunning_notice n ON n.id = m.notice_id AND n.company_id = m.company_id
UNION ALL
SELECT NULL, n.customer_id, c.code, c.name, n.created_at, n.as_of, 'notice_queued',
       CASE WHEN n.channel = 'task' THEN 'internal' ELSE 'outbound' END, n.channel,
       'Level ' || n.level || ', ' || n.level_name || ', queued (' || n.channel || '): '
       || cardinality(n.invoice_ids) || ' invoice(s), ' || ar.format_money(n.amount_due, n.currency),
       n.subject, NULL, NULL, NULL, n.id, n.level, NULL, NULL, NULL, NULL,
       coalesce(r.run_by, 'unknown'), coalesce(r.run_role, 'none'), r.via, n.created_at
  FROM ar.dunning_notice n
  JOIN ar.customer c ON c.id = n.customer_id AND c.company_id = n.company_id
  LEFT JOIN ar._dunning_run_actors() r ON r.as_of = n.as_of;

COMMENT ON VIEW ar.customer_timeline IS
	'Everything that happened with a customer in collections, one row per event: notices and their delivery, disputes, promises, payment plans, blocks, policy changes, and calls, letters and e-mails recorded by collectors. Order by occurred_at, id.';
COMMENT ON COLUMN ar.customer_timeline.id IS 'ar.communication.id (entries are append-only); NULL for a queued notice (see notice_id).';
COMMENT ON COLUMN ar.customer_timeline.customer_id IS 'ar.customer.id';
COMMENT ON COLUMN ar.customer_timeline.customer_code IS 'Customer code.';
COMMENT ON COLUMN ar.customer_timeline.customer_name IS 'Customer name.';
COMMENT ON COLUMN ar.customer_timeline.occurred_at IS 'When it happened (for a recorded call: when the call took place).';
COMMENT ON COLUMN ar.customer_timeline.as_of IS 'Business date: run date of a notice, date given to a dispute, promise, plan or block.';
COMMENT ON COLUMN ar.customer_timeline.kind IS 'notice_queued, notice_sent, notice_failed, notice_cancelled, dispute_opened, dispute_resolved, promise, promise_kept, promise_broken, plan_created, plan_broken, plan_completed, plan_cancelled, block, block_lifted, policy, cycle_closed, or a manual kind (call, email, letter, registered_letter, sms, meeting, visit, note).';
COMMENT ON COLUMN ar.customer_timeline.direction IS 'inbound (from the customer), outbound (to the customer) or internal.';
COMMENT ON COLUMN ar.customer_timeline.channel IS 'email, sms, letter, registered_letter, task, call, meeting...';
COMMENT ON COLUMN ar.customer_timeline.summary IS 'One line saying what happened.';
COMMENT ON COLUMN ar.customer_timeline.detail IS 'More: subject of a queued notice, failure reason, invoices of a plan, notes of a call.';
COMMENT ON COLUMN ar.customer_timeline.proof_ref IS 'Proof reference: provider message id, registered letter number, document reference.';
COMMENT ON COLUMN ar.customer_timeline.invoice_id IS 'Invoice concerned, if one.';
COMMENT ON COLUMN ar.customer_timeline.invoice_number IS 'Its number.';
COMMENT ON COLUMN ar.customer_timeline.notice_id IS 'ar.dunning_notice.id, for notice events.';
COMMENT ON COLUMN ar.customer_timeline.notice_level IS 'Level of that notice.';
COMMENT ON COLUMN ar.customer_timeline.dispute_id IS 'ar.dispute.id, for dispute events.';
COMMENT ON COLUMN ar.customer_timeline.promise_id IS 'ar.payment_promise.id, for promise events.';
COMMENT ON COLUMN ar.customer_timeline.plan_id IS 'ar.payment_plan.id, for payment plan events.';
COMMENT ON COLUMN ar.customer_timeline.block_id IS 'ar.dunning_block.id, for block events.';
COMMENT ON COLUMN ar.customer_timeline.actor IS 'Database user who recorded it (session user).';
COMMENT ON COLUMN ar.customer_timeline.role IS 'Role in force (SET ROLE), none if none.';
COMMENT ON COLUMN ar.customer_timeline.via IS 'application_name of the session: "ar_collect worker" for the background worker.';
COMMENT ON COLUMN ar.customer_timeline.recorded_at IS 'When it was recorded.';
