-- pgTAP: the dunning effectiveness summary (issue 17, doc/dashboards.md).
-- ar.dunning_effect_notice / ar.dunning_effect_summary follow every change
-- of the notices (queued at several levels and dates, back-dated; amounts
-- due at scales 0 to 3; some failed or cancelled, inserted so or marked
-- later; some claiming nothing) and of the allocations of their invoices
-- (payments inside and outside the 15 days after the notices, back-dated;
-- credit notes set off; write-offs, which do not count, and their reversal;
-- payments removed; one statement paying many invoices).  After each batch,
-- folded as at commit, the summary's rows equal the full computation's
-- (ar._dunning_effectiveness_full) for several dates and periods, every
-- column, as values and as text (the scale of every sum); while changes
-- wait to be folded ar.dunning_effectiveness takes the full computation.
-- Bypassed triggers show in ar.check_summaries(); ar.rebuild_summaries()
-- puts them right.  And ar.check_ledger() sees a broken derived date of
-- ar.invoice (last_allocated_on, last_write_off_on).
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(41);

-- The (date, period) pairs where the summary's rows and the full
-- computation's differ (every column IS NOT DISTINCT FROM, and as text).
CREATE TEMP TABLE eff_check (batch integer, as_of date, period_days integer, rows integer, same_values boolean, same_text boolean);
CREATE FUNCTION pg_temp.compare(batch integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO eff_check
	SELECT batch, d, p,
	       (SELECT count(*) FROM ar._dunning_effectiveness_full(d, p)),
	       ARRAY(SELECT s FROM ar._dunning_effectiveness_summary(d, p) s)
	         IS NOT DISTINCT FROM ARRAY(SELECT f FROM ar._dunning_effectiveness_full(d, p) f),
	       ARRAY(SELECT s::text FROM ar._dunning_effectiveness_summary(d, p) s)
	         IS NOT DISTINCT FROM ARRAY(SELECT f::text FROM ar._dunning_effectiveness_full(d, p) f)
	  FROM unnest(ARRAY[current_date + 30, current_date, current_date - 17, current_date - 45, current_date - 90]) d,
	       unnest(ARRAY[16, 30, 90, 400]) p;
	RETURN (SELECT count(*) FROM eff_check k WHERE k.batch = compare.batch AND NOT (k.same_values AND k.same_text));
END $$;

-- ------------------------------------------------------ a ledger with notices
INSERT INTO ar.customer (code, name) SELECT 'EF' || g, 'Effsum ' || g FROM generate_series(1, 8) g;
SELECT setseed(0.31);
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'EF-' || c.code || '-' || g, current_date - 200 + g * 3, current_date - 170 + g * 3,
       round((50 + random() * 900)::numeric, g % 3)
  FROM ar.customer c, generate_series(1, 50) g WHERE c.code LIKE 'EF%';
-- credit notes to set off
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'EFC-' || c.code, current_date - 150, current_date - 150, -300 FROM ar.customer c WHERE c.code LIKE 'EF%';

CREATE SEQUENCE pg_temp.cycle;
-- A batch of random changes: notices, payments, write-offs, removals.
CREATE FUNCTION pg_temp.batch(seed float8) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	inv ar.invoice;
	nt ar.dunning_notice;
	rw record;
	d date;
	a bigint;
	cn bigint;
BEGIN
	PERFORM setseed(seed);
	-- notices at levels 1 to 3, back-dated up to 150 days, listing 1 to 4
	-- invoices of their customer, claiming amounts at scales 0 to 3 (some
	-- nothing); some failed or cancelled from the start
	INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
	                               company_id, currency, policy_id, cycle, language)
	SELECT x.customer_id, x.level, 'level ' || x.level, 'email', 'body',
	       ARRAY(SELECT i.id FROM ar.invoice i WHERE i.customer_id = x.customer_id AND i.amount > 0
	              ORDER BY md5(i.id::text || x.g || seed) LIMIT x.k),
	       CASE WHEN x.g % 9 = 0 THEN 0 ELSE round((10 + random() * 1500)::numeric, x.g % 4) END,
	       CASE WHEN x.g % 11 = 0 THEN 'failed' WHEN x.g % 13 = 0 THEN 'cancelled' WHEN x.g % 2 = 0 THEN 'sent' ELSE 'queued' END,
	       x.as_of, ar.default_company(), 'EUR', (SELECT min(p.id) FROM ar.dunning_policy p), nextval('pg_temp.cycle'), 'en'
	  FROM (SELECT g, (SELECT c.id FROM ar.customer c WHERE c.code = 'EF' || (1 + g % 8)) AS customer_id,
	               1 + (random() * 2.99)::int AS level, 1 + (random() * 3.99)::int AS k,
	               current_date - (random() * 150)::int AS as_of
	          FROM generate_series(1, 12) g) x
	ON CONFLICT DO NOTHING;
	-- queued notices sent, failed, cancelled; sent ones failed
	FOR nt IN SELECT * FROM ar.dunning_notice x WHERE x.status IN ('queued', 'sent') ORDER BY random() LIMIT 4 LOOP
		PERFORM ar.mark_notice(nt.id, CASE WHEN nt.status = 'sent' OR random() < 0.3 THEN 'failed'
		                                  WHEN random() < 0.5 THEN 'cancelled' ELSE 'sent' END, NULL, 'random');
	END LOOP;
	-- payments and the rest on invoices of notices, mostly inside their
	-- windows, some on their date or just after the window
	FOR rw IN SELECT i.id, n.as_of + (random() * 18)::int AS d
	           FROM ar.dunning_notice n JOIN ar.invoice i ON i.id = ANY (n.invoice_ids)
	          ORDER BY random() LIMIT 25 LOOP
		SELECT * INTO inv FROM ar.invoice x WHERE x.id = rw.id;
		d := rw.d;
		CASE (random() * 6)::int
		WHEN 0, 1 THEN
			IF inv.open_amount > 0 THEN
				PERFORM ar.record_payment(inv.number, round(inv.open_amount * (0.1 + random() * 0.6)::numeric, (random() * 2)::int), d, 'transfer');
			END IF;
		WHEN 2 THEN
			IF inv.open_amount > 0 THEN PERFORM ar.record_payment(inv.number, inv.open_amount, d, 'transfer'); END IF;
		WHEN 3 THEN
			IF inv.open_amount > 0 THEN PERFORM ar.write_off_invoice(inv.id, 'random', d); END IF;
		WHEN 4 THEN
			SELECT x.id INTO cn FROM ar.invoice x WHERE x.customer_id = inv.customer_id AND x.open_amount < 0;
			IF FOUND AND inv.open_amount > 0 THEN
				PERFORM ar.apply_credit_note(cn, inv.id, least(inv.open_amount, 40), d);
			END IF;
		ELSE
			-- a payment removed, or a write-off reversed
			SELECT x.id INTO a FROM ar.allocation x
			 WHERE x.invoice_id = inv.id AND x.method NOT IN ('write_off', 'credit', 'credit_note', 'shortfall')
			 ORDER BY x.id LIMIT 1;
			IF FOUND THEN PERFORM ar.unallocate(a); END IF;
			-- (a credit note's set-off removed: both halves, ar.unallocate,
			-- since deleting one alone is what ar.check_ledger() reports)
			SELECT min(y.id) INTO a FROM ar.allocation y WHERE y.invoice_id = inv.id AND y.method = 'credit_note';
			IF a IS NOT NULL THEN PERFORM ar.unallocate(a); END IF;
			FOR a IN SELECT x.id FROM ar.allocation x WHERE x.invoice_id = inv.id AND x.method = 'write_off'
			           AND NOT EXISTS (SELECT FROM ar.write_off_reversal r WHERE r.allocation_id = x.id) LOOP
				PERFORM ar.reverse_write_off(a, 'random reversal');
			END LOOP;
		END CASE;
	END LOOP;
	-- one statement paying many invoices, back-dated (as ar.reconcile does)
	INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
	SELECT i.company_id, i.id, round(i.open_amount / 3, 2), current_date - (i.id % 140)::integer, 'manual'
	  FROM ar.invoice i WHERE i.open_amount > 1 AND i.number LIKE 'EF-%' AND random() < 0.2;
END $$;

SELECT pg_temp.batch(0.1);
SELECT ok(NOT ar._dunning_effect_serves() AND EXISTS (SELECT FROM ar.dunning_effect_delta)
          AND NOT EXISTS (SELECT FROM ar.dunning_effect_notice),
	'this transaction''s changes wait in ar.dunning_effect_delta: the summary does not serve');
SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'ar.check_summaries() counts what waits as folded');
SELECT is((SELECT array_agg(d::text) FROM ar.dunning_effectiveness(current_date, 400) d),
          (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_full(current_date, 400) d),
	'meanwhile ar.dunning_effectiveness takes the full computation');
SELECT ok((SELECT array_agg(d::text) FROM ar._dunning_effectiveness_summary(current_date, 400) d)
          IS DISTINCT FROM (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_full(current_date, 400) d),
	'(which the summary alone would not give)');
SELECT ar._dunning_effect_fold();
SELECT ok(ar._dunning_effect_serves() AND EXISTS (SELECT FROM ar.dunning_effect_notice)
          AND EXISTS (SELECT FROM ar.dunning_effect_summary),
	'folded (as at commit): the summary serves');
SELECT is(pg_temp.compare(1), 0::bigint, 'batch 1: the summary gives the full computation''s rows');

-- seven batches, each folded (as at commit) after it
SELECT pg_temp.batch(0.2);
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(2), 0::bigint, 'batch 2: the same rows');
SELECT pg_temp.batch(0.3);
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(3), 0::bigint, 'batch 3: the same rows');
SELECT pg_temp.batch(0.4);
SELECT pg_temp.batch(0.5);
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(4), 0::bigint, 'batches 4 and 5, folded together: the same rows');
SELECT pg_temp.batch(0.6);
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(5), 0::bigint, 'batch 6: the same rows');
SELECT pg_temp.batch(0.7);
SELECT ar._dunning_effect_fold();
SELECT pg_temp.batch(0.8);
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(6), 0::bigint, 'batches 7 and 8: the same rows');
SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'the summary equals its recomputation from the ledger');
SELECT is((SELECT array_agg(d::text) FROM ar.dunning_effectiveness(current_date - 10, 120) d),
          (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_full(current_date - 10, 120) d),
	'ar.dunning_effectiveness answers from it: the full computation''s rows');
SELECT is((SELECT k.dunning_effectiveness_pct FROM ar.kpis(current_date, 90) k),
          (SELECT round(100 * sum(d.paid_within_15_days) / nullif(sum(d.amount_due), 0), 2)
             FROM ar._dunning_effectiveness_full(current_date, 90) d),
	'and so does ar.kpis');

-- the comparisons are not of empty or trivial rows
SELECT ok((SELECT count(*) FROM eff_check WHERE rows >= 3) >= 20
          AND (SELECT count(DISTINCT (s.due_scale, s.paid_scale)) FROM ar.dunning_effect_summary s) >= 6
          AND (SELECT count(*) FROM ar.dunning_effect_notice WHERE paid > 0) >= 10
          AND (SELECT count(*) FROM ar.dunning_effect_notice WHERE paid = amount_due) >= 2
          AND (SELECT count(*) FROM ar.dunning_effect_notice WHERE paid > 0 AND paid < amount_due) >= 5
          AND (SELECT count(*) FROM ar.dunning_notice WHERE status IN ('failed', 'cancelled')) >= 5
          AND (SELECT count(*) FROM ar.dunning_notice WHERE amount_due = 0) >= 3
          AND (SELECT count(*) FROM ar.write_off_reversal) >= 1
          AND EXISTS (SELECT FROM ar.dunning_notice n JOIN ar.allocation a ON a.invoice_id = ANY (n.invoice_ids)
                       WHERE a.method = 'write_off' AND a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
                         AND n.status NOT IN ('failed', 'cancelled')),
	'the rows compared: three levels, several scales, notices paid in part and in full, failed and cancelled, claiming nothing, write-offs in windows');

-- ------------------------------------------------ changes after the fold
-- a notice marked cancelled, one payment removed: ar.dunning_effectiveness
-- takes the full computation until the fold
SELECT ar.mark_notice((SELECT min(n.notice_id) FROM ar.dunning_effect_notice n WHERE n.paid > 0), 'cancelled');
SELECT ar.unallocate((SELECT min(a.id) FROM ar.allocation a JOIN ar.dunning_effect_notice e ON e.paid > 0
                        JOIN ar.dunning_notice n ON n.id = e.notice_id AND a.invoice_id = ANY (n.invoice_ids)
                       WHERE a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
                         AND a.method NOT IN ('write_off', 'credit', 'credit_note', 'shortfall')));
SELECT ok(NOT ar._dunning_effect_serves()
          AND (SELECT array_agg(d::text) FROM ar.dunning_effectiveness(current_date, 400) d)
              = (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_full(current_date, 400) d)
          AND (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_summary(current_date, 400) d)
              <> (SELECT array_agg(d::text) FROM ar._dunning_effectiveness_full(current_date, 400) d),
	'a cancellation and a removed payment waiting: the fallback, where the summary would be wrong');
SELECT ar._dunning_effect_fold();
SELECT is(pg_temp.compare(7), 0::bigint, 'folded: the summary''s rows again');

-- ------------------------------------------------ bypassed triggers show
CREATE ROLE ef_admin IN ROLE ar_admin;
SET LOCAL ROLE ef_admin;
SELECT throws_ok($$INSERT INTO ar.dunning_effect_summary VALUES (ar.default_company(), current_date, 1, 2, 2, 1, 1, 1)$$,
	'42501', NULL, 'no role writes the summary but its triggers');
SELECT throws_ok($$DELETE FROM ar.dunning_effect_delta$$, '42501', NULL, 'nor what waits for the fold');
RESET ROLE;
ALTER TABLE ar.allocation DISABLE TRIGGER allocation_effect_insert;
SELECT ar.record_payment(i.number, i.open_amount, n.as_of + 1, 'transfer')
  FROM ar.dunning_effect_notice e JOIN ar.dunning_notice n ON n.id = e.notice_id
  JOIN ar.invoice i ON i.id = n.invoice_ids[1]
 WHERE i.open_amount > 0 AND e.paid < e.amount_due
 ORDER BY e.notice_id LIMIT 1;
ALTER TABLE ar.allocation ENABLE TRIGGER allocation_effect_insert;
SELECT ok((SELECT count(*) FROM ar.check_summaries() WHERE summary LIKE 'dunning_effect_notice %') > 0,
	'without the allocation trigger, ar.check_summaries() tells');
SELECT ok(ar.rebuild_summaries() > 0, 'ar.rebuild_summaries() recomputes the summary');
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0 AND NOT EXISTS (SELECT FROM ar.dunning_effect_delta)
          AND pg_temp.compare(8) = 0,
	'and puts it right');

-- ------------------------------------------------ check_ledger's derived dates
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'ar.check_ledger(): the ledger is consistent');
ALTER TABLE ar.invoice DISABLE TRIGGER USER;
UPDATE ar.invoice SET last_allocated_on = last_allocated_on - 3
 WHERE id = (SELECT min(invoice_id) FROM ar.allocation);
UPDATE ar.invoice SET last_write_off_on = current_date + 1
 WHERE id = (SELECT min(i.id) FROM ar.invoice i WHERE i.last_allocated_on IS NULL);
ALTER TABLE ar.invoice ENABLE TRIGGER USER;
SELECT is((SELECT array_agg(c.table_name || ' ' || (c.stored IS NOT NULL) || ' ' || (c.expected IS NOT NULL) ORDER BY c.table_name)
             FROM ar.check_ledger() c),
          ARRAY['invoice.last_allocated_on true true', 'invoice.last_write_off_on true false'],
	'a last_allocated_on moved and a last_write_off_on without a write-off (triggers off): ar.check_ledger() reports both');

-- ------------------------------------------------ notices inserted, outside a run
-- The notices inserted are named by a row trigger (company and id, kept in
-- the backend) and written per company by the statement trigger: no
-- transition table of whole notices.  Plain INSERTs of notices: several
-- rows and statements, rows that do not count, a row skipped by ON
-- CONFLICT, a statement rolled back in a subtransaction.
SELECT ok(NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = 'ar.dunning_notice'::regclass AND t.tgnewtable IS NOT NULL
                       AND t.tgtype & 4 <> 0),
	'no insert trigger of ar.dunning_notice captures the inserted notices whole (transition table)');
SELECT ar.rebuild_summaries();
CREATE FUNCTION pg_temp.notice(customer_code text, amount numeric, status text, as_of date) RETURNS text
LANGUAGE sql AS $$
	SELECT format('(%s, 1, ''level 1'', ''email'', ''body'', ARRAY[%s]::bigint[], %s, %L, %L, ar.default_company(), ''EUR'', %s, %s, ''en'')',
	              c.id, (SELECT min(i.id) FROM ar.invoice i WHERE i.customer_id = c.id AND i.amount > 0), amount, status, as_of,
	              (SELECT min(p.id) FROM ar.dunning_policy p), nextval('pg_temp.cycle'))
	  FROM ar.customer c WHERE c.code = customer_code
$$;
CREATE FUNCTION pg_temp.insert_notices(rows text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
	                                        company_id, currency, policy_id, cycle, language) VALUES '
	        || array_to_string(rows, ', ') || ' ON CONFLICT DO NOTHING';
END $$;
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF1', 120.00, 'queued', current_date + 40),
                                    pg_temp.notice('EF2', 80.5, 'sent', current_date + 40),
                                    pg_temp.notice('EF3', 0, 'queued', current_date + 40),
                                    pg_temp.notice('EF4', 99, 'failed', current_date + 40)]);
-- (the same account and date again: skipped by ON CONFLICT)
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF1', 7, 'queued', current_date + 40),
                                    pg_temp.notice('EF5', 33.3, 'queued', current_date + 40)]);
DO $$
BEGIN
	PERFORM pg_temp.insert_notices(ARRAY[pg_temp.notice('EF6', 44, 'queued', current_date + 40)]);
	RAISE EXCEPTION 'rolled back';
EXCEPTION WHEN raise_exception THEN
	NULL;
END $$;
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF7', 55, 'queued', current_date + 41)]);
SELECT is((SELECT array_agg(u ORDER BY u) FROM ar.dunning_effect_delta d, unnest(d.notice_ids) u),
          (SELECT array_agg(n.id ORDER BY n.id) FROM ar.dunning_notice n
            WHERE n.as_of > current_date + 30 AND n.amount_due > 0 AND n.status NOT IN ('failed', 'cancelled')),
	'the notices inserted that count, and only they, wait in ar.dunning_effect_delta (one skipped, one rolled back)');
SELECT ar._dunning_effect_fold();
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0
          AND (SELECT count(*) FROM ar.dunning_effect_notice e WHERE e.as_of > current_date + 30) = 4,
	'folded: their rows, equal to the recomputation');

-- one statement inserting the notices of two companies, interleaved: one
-- delta row per company, in company order, each with its notices pairwise
-- in the order inserted (grouped by ar._dunning_effect_notices_taken)
INSERT INTO ar.company (code, name) VALUES ('EFB', 'Effsum B');
INSERT INTO ar.customer (company_id, code, name) SELECT id, 'EFB1', 'Effsum B 1' FROM ar.company WHERE code = 'EFB';
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
                               company_id, currency, policy_id, cycle, language)
SELECT c.id, v.level, 'level', 'email', 'body', '{}', v.due, 'queued', current_date + v.days, c.company_id, 'EUR',
       (SELECT min(p.id) FROM ar.dunning_policy p), nextval('pg_temp.cycle'), 'en'
  FROM (VALUES (1, 'EF1', 1, 10.5, 35), (2, 'EFB1', 2, 20, 36), (3, 'EF2', 3, 30.25, 37), (4, 'EFB1', 1, 40, 38))
       v (ord, code, level, due, days)
  JOIN ar.customer c ON c.code = v.code
 ORDER BY v.ord;
SELECT is((SELECT array_agg(format('%s %s %s %s %s', d.company = ar.default_company(), d.notice_ids, d.notice_levels,
                                   d.notice_as_of = ARRAY(SELECT current_date + x FROM unnest(d.offsets) x), d.notice_amounts_due)
                            ORDER BY d.id)
             FROM (SELECT e.*, e.company_id AS company,
                          ARRAY(SELECT n.as_of - current_date FROM unnest(e.notice_ids) WITH ORDINALITY u (id, o)
                                  JOIN ar.dunning_notice n ON n.id = u.id ORDER BY u.o) AS offsets
                     FROM ar.dunning_effect_delta e WHERE e.notice_ids IS NOT NULL) d),
          (SELECT array_agg(format('%s %s %s %s %s', k.company_id = ar.default_company(), k.ids, k.levels, true, k.dues)
                            ORDER BY k.company_id = ar.default_company() DESC)
             FROM (SELECT n.company_id, array_agg(n.id ORDER BY n.id) AS ids, array_agg(n.level ORDER BY n.id) AS levels,
                          array_agg(n.amount_due ORDER BY n.id) AS dues
                     FROM ar.dunning_notice n WHERE n.as_of BETWEEN current_date + 35 AND current_date + 38 GROUP BY n.company_id) k),
	'notices of two companies in one statement: one delta row per company, its notices in the order inserted');
SELECT ar._dunning_effect_fold();
SELECT is((SELECT count(*) FROM ar.check_summaries()), 0::bigint, 'folded: both companies'' rows equal the recomputation');

-- ------------------------------------------------ the fold from the delta's figures
-- The delta rows of notices inserted carry their level, date and amount
-- due; when only such rows wait and no allocation is dated in the notices'
-- windows, the fold adds the notices from them without reading them back.
-- Whatever else waits (a status changed, an allocation), it reads them.
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF1', 12.345, 'queued', current_date + 50),
                                    pg_temp.notice('EF2', 7, 'sent', current_date + 51),
                                    pg_temp.notice('EF3', 0, 'queued', current_date + 51)]);
SELECT is((SELECT array_agg(format('%s %s %s %s', u.id, u.level, u.as_of, u.due) ORDER BY u.id)
             FROM ar.dunning_effect_delta d, unnest(d.notice_ids, d.notice_levels, d.notice_as_of, d.notice_amounts_due) u (id, level, as_of, due)),
          (SELECT array_agg(format('%s %s %s %s', n.id, n.level, n.as_of, n.amount_due) ORDER BY n.id) FROM ar.dunning_notice n
            WHERE n.as_of > current_date + 45 AND n.amount_due > 0),
	'the delta of the notices inserted carries their level, date and amount due (scale kept), pairwise with their ids');
-- a statement that failed after the row events of its notices, before its
-- statement event, in a subtransaction rolled back: its notices are gone,
-- and so is what the row trigger kept of them (else the fold would add a
-- notice that does not exist)
CREATE FUNCTION pg_temp.refuse_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.amount_due = 44.44 THEN
		RAISE EXCEPTION 'refused notice';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_refuse_notice AFTER INSERT ON ar.dunning_notice FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_notice();
DO $$
BEGIN
	PERFORM pg_temp.insert_notices(ARRAY[pg_temp.notice('EF6', 44.44, 'queued', current_date + 52)]);
EXCEPTION WHEN raise_exception THEN
	NULL;
END $$;
DROP TRIGGER zz_refuse_notice ON ar.dunning_notice;
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF6', 5.5, 'queued', current_date + 53)]);
SELECT is((SELECT array_agg(u ORDER BY u) FROM ar.dunning_effect_delta d, unnest(d.notice_ids) u),
          (SELECT array_agg(n.id ORDER BY n.id) FROM ar.dunning_notice n WHERE n.as_of > current_date + 45 AND n.amount_due > 0),
	'a statement rolled back between its row and statement events leaves no notice in the delta');
-- one notice folded already (a fold whose later statement saw it
-- committed after its first took the delta rows): its delta row again
CREATE TEMP TABLE delta_copy AS SELECT * FROM ar.dunning_effect_delta;
SELECT ar._dunning_effect_fold();
INSERT INTO ar.dunning_effect_delta (company_id, notice_ids, invoice_ids, allocated_on, notice_levels, notice_as_of, notice_amounts_due)
SELECT company_id, notice_ids, invoice_ids, allocated_on, notice_levels, notice_as_of, notice_amounts_due FROM delta_copy;
SELECT ar._dunning_effect_fold();
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0
          AND (SELECT count(*) FROM ar.dunning_effect_notice e WHERE e.as_of > current_date + 45) = 3
          AND (SELECT sum(s.notices) FROM ar.dunning_effect_summary s WHERE s.as_of > current_date + 45) = 3,
	'folded from their figures, once, even when a notice''s delta row comes again: equal to the recomputation');
-- in one transaction: notices inserted (a dunning run's and others), one
-- of them then cancelled, another paid in its window, a run rolled back
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, 'EFR-' || c.code, current_date - 100, current_date - 70, 250 FROM ar.customer c WHERE c.code IN ('EF1', 'EF2', 'EF3');
SELECT ar._dunning_effect_fold();
DO $$
BEGIN
	PERFORM count(*) FROM ar.run_dunning(current_date + 60);
	RAISE EXCEPTION 'rolled back';
EXCEPTION WHEN raise_exception THEN
	NULL;
END $$;
SELECT ok(NOT EXISTS (SELECT FROM ar.dunning_effect_delta) AND NOT EXISTS (SELECT FROM ar.dunning_notice n WHERE n.as_of = current_date + 60),
	'a run rolled back leaves nothing to fold');
SELECT ok((SELECT count(*) FROM ar.run_dunning(current_date + 60)) > 1,
	'a run queues notices');
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF7', 66, 'queued', current_date + 61),
                                    pg_temp.notice('EF8', 67.5, 'queued', current_date + 61)]);
SELECT ar._dunning_effect_fold();
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0 AND pg_temp.compare(101) = 0
          AND (SELECT count(*) FROM ar.dunning_effect_notice e WHERE e.as_of >= current_date + 60)
              = (SELECT count(*) FROM ar.dunning_notice n WHERE n.as_of >= current_date + 60 AND n.amount_due > 0),
	'a run''s notices and others inserted in the same transaction folded from their figures: equal to the recomputation');
SELECT pg_temp.insert_notices(ARRAY[pg_temp.notice('EF7', 70, 'queued', current_date + 62),
                                    pg_temp.notice('EF8', 71, 'queued', current_date + 62)]);
SELECT ar.mark_notice((SELECT max(n.id) FROM ar.dunning_notice n), 'cancelled', NULL, 'test');
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT i.company_id, i.id, 20, current_date + 63, 'manual'
  FROM ar.invoice i WHERE i.id = (SELECT n.invoice_ids[1] FROM ar.dunning_notice n WHERE n.as_of = current_date + 62 ORDER BY n.id LIMIT 1);
SELECT ar._dunning_effect_fold();
SELECT ok((SELECT count(*) FROM ar.check_summaries()) = 0 AND pg_temp.compare(102) = 0
          AND (SELECT e.paid FROM ar.dunning_effect_notice e WHERE e.as_of = current_date + 62) = 20,
	'notices inserted, one cancelled and one paid in its window before the fold: read back, equal to the recomputation');

-- ------------------------------------------------ a company deleted
-- ar.dunning_effect_notice has no foreign key to ar.company (checked once
-- per statement and company): its rows name existing companies, go with a
-- company deleted and keep its id.
SELECT ok(NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conrelid = 'ar.dunning_effect_notice'::regclass AND c.contype = 'f'),
	'ar.dunning_effect_notice has no foreign key (no check per row)');
SELECT throws_ok($$INSERT INTO ar.dunning_effect_notice VALUES (ar.default_company(), -1, 1, current_date, 1, 0),
                                                          (-42, -2, 1, current_date, 1, 0)$$,
	'23503', 'company -42 of the dunning effectiveness summary does not exist',
	'a row naming a company that does not exist is refused, as by the key');
INSERT INTO ar.company (code, name) VALUES ('EFX', 'Effsum deleted');
INSERT INTO ar.customer (company_id, code, name) SELECT c.id, 'EFX1', 'Effsum X' FROM ar.company c WHERE c.code = 'EFX';
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
                               company_id, currency, policy_id, cycle, language)
SELECT u.id, 1, 'level 1', 'email', 'body', '{}', 10 * g, 'queued', current_date - g, c.id, 'EUR',
       (SELECT min(p.id) FROM ar.dunning_policy p), 1000 + g, 'en'
  FROM ar.company c JOIN ar.customer u ON u.company_id = c.id, generate_series(1, 3) g WHERE c.code = 'EFX';
SELECT ar._dunning_effect_fold();
SELECT is((SELECT count(*) FROM ar.dunning_effect_notice e JOIN ar.company c ON c.id = e.company_id WHERE c.code = 'EFX'),
          3::bigint, 'a second company''s notices folded');
DELETE FROM ar.customer WHERE code = 'EFX1';
SELECT throws_ok($$UPDATE ar.company SET id = id + 1000000 WHERE code = 'EFX'$$,
	'23503', 'the id of company EFX cannot change: the dunning effectiveness summary names it',
	'its id does not change under its rows');
CREATE TEMP TABLE eff_before AS SELECT * FROM ar.dunning_effect_notice WHERE company_id <> (SELECT c.id FROM ar.company c WHERE c.code = 'EFX');
DELETE FROM ar.company WHERE code = 'EFX';
SELECT ok(NOT EXISTS (SELECT FROM ar.dunning_effect_notice e WHERE NOT EXISTS (SELECT FROM ar.company c WHERE c.id = e.company_id))
          AND NOT EXISTS (SELECT FROM ar.dunning_effect_summary e WHERE NOT EXISTS (SELECT FROM ar.company c WHERE c.id = e.company_id))
          AND ARRAY(SELECT e::text FROM ar.dunning_effect_notice e ORDER BY e.company_id, e.notice_id)
              = ARRAY(SELECT e::text FROM eff_before e ORDER BY e.company_id, e.notice_id),
	'the company deleted took its rows with it, and only its rows');

SELECT * FROM finish();
ROLLBACK;
