#!/usr/bin/env bash
# pg_dump keeps collections: the user's dunning policies, levels and
# templates (not the shipped FR_STANDARD, which CREATE EXTENSION makes
# again), disputes, promises, payment plans, blocks, the outbox, the state of
# the dunning accounts, the run registry and the communications log.  A
# restored database goes on escalating exactly as the original one: the same
# notices on the next run dates, none twice.  Prints TAP; run by
# tools/test.sh against its throwaway cluster (PGHOST, PGPORT, PGUSER set;
# PG_BIN given).
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
src=ar_dun_dump_src dst=ar_dun_dump_dst dump=$(mktemp /tmp/ar_dun_dump.XXXXXX)
trap 'rm -f "$dump" /tmp/ar_dun_restore.err' EXIT

echo "1..9"
fresh_databases $src $dst
q $src "SET client_min_messages = warning; CREATE EXTENSION ar_collect" >/dev/null
setup_ok=0
# a policy of the user's with its own levels and templates, a template of
# the user's added to FR_STANDARD, and a few months of collections
q $src "
BEGIN;
INSERT INTO ar.dunning_policy (code, name, min_days_between, fallback_language) VALUES ('DD_FAST', 'fast', 5, 'fr');
INSERT INTO ar.dunning_level (policy_id, level, name, offset_days, channel, state_penalties, reply_days)
SELECT id, l, 'relance ' || l, 4 * l, 'email', l = 2, 8 FROM ar.dunning_policy, generate_series(1, 2) l WHERE code = 'DD_FAST';
INSERT INTO ar.dunning_template (policy_id, level, language, subject, body)
SELECT id, l, 'fr', 'Relance {{level}}', '{{customer_name}} : {{amount_due}} au {{as_of}}' || chr(10) || '{{invoice_table}}'
  FROM ar.dunning_policy, generate_series(1, 2) l WHERE code = 'DD_FAST';
COMMIT;
INSERT INTO ar.dunning_template (policy_id, level, language, segment, subject, body)
SELECT id, 2, 'fr', 'chronic_late', 'Nouveau rappel', 'Cher client {{customer_name}}, {{amount_due}} restent dus.'
  FROM ar.dunning_policy WHERE code = 'FR_STANDARD';
INSERT INTO ar.dunning_segment_policy (segment, policy_id) SELECT 'high_risk', id FROM ar.dunning_policy WHERE code = 'DD_FAST';
INSERT INTO ar.customer (code, name, email, language, segment)
SELECT 'DD' || g, 'Client ' || g, 'c' || g || '@example.fr', CASE WHEN g % 4 = 0 THEN 'en' ELSE 'fr' END,
       CASE g % 5 WHEN 0 THEN 'high_risk' WHEN 1 THEN 'chronic_late' END
  FROM generate_series(1, 20) g;
SELECT ar.set_dunning_policy(id, 'DD_FAST') FROM ar.customer WHERE code = 'DD7';
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, currency, disputed)
SELECT c.id, 'DD-' || g || '-' || k, date '2026-01-01' + (g * 3 + k * 11), date '2026-01-31' + (g * 3 + k * 11),
       100 * g + 7 * k, 'EUR', g = 3 AND k = 1
  FROM ar.customer c, generate_series(1, 20) g, generate_series(1, 3) k
 WHERE c.code = 'DD' || g;
SELECT ar.open_dispute(id, 'goods damaged', '2026-02-20') FROM ar.invoice WHERE number = 'DD-4-1';
SELECT ar.promise_to_pay(id, '2026-03-20', 150, '2026-02-25') FROM ar.invoice WHERE number = 'DD-5-1';
SELECT ar.create_payment_plan(c.id, array_agg(i.id ORDER BY i.id), ARRAY[date '2026-03-15', date '2026-04-15'],
                              NULL, '2026-03-01')
  FROM ar.customer c JOIN ar.invoice i ON i.customer_id = c.id WHERE c.code = 'DD6' GROUP BY c.id;
SELECT ar.block_dunning(id, '2026-04-30', 'insolvency proceedings', '2026-03-10') FROM ar.customer WHERE code = 'DD8';
SELECT ar.log_interaction(id, 'call', 'promised to call back', 'outbound') FROM ar.customer WHERE code = 'DD9';
SELECT count(*) FROM generate_series(date '2026-01-20', date '2026-04-10', interval '1 day') d, ar.run_dunning(d::date);
SELECT ar.mark_notice(min(id), 'sent', 'provider-1') FROM ar.dunning_notice;
SELECT ar.mark_notice(max(id), 'failed', NULL, 'mailbox unknown') FROM ar.dunning_notice;
SELECT ar.resolve_dispute(id, 'credit note promised', '2026-03-25') FROM ar.invoice WHERE number = 'DD-4-1';
" >/dev/null && setup_ok=1
snapshot="SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
	SELECT concat_ws('|', code, name, min_days_between, fallback_language, is_default, shipped) AS x FROM ar.dunning_policy
	UNION ALL SELECT concat_ws('|', policy_id, level, name, offset_days, channel, state_penalties, shipped) FROM ar.dunning_level
	UNION ALL SELECT concat_ws('|', id, policy_id, level, language, segment, subject, md5(body), shipped) FROM ar.dunning_template
	UNION ALL SELECT concat_ws('|', segment, policy_id) FROM ar.dunning_segment_policy
	UNION ALL SELECT concat_ws('|', customer_id, policy_id) FROM ar.customer_dunning_policy
	UNION ALL SELECT concat_ws('|', id, invoice_id, reason, opened_on, resolution, resolved_on) FROM ar.dispute
	UNION ALL SELECT concat_ws('|', id, invoice_id, promised_on, amount, status, settled_on) FROM ar.payment_promise
	UNION ALL SELECT concat_ws('|', id, customer_id, total, status, status_on) FROM ar.payment_plan
	UNION ALL SELECT concat_ws('|', plan_id, invoice_id) FROM ar.payment_plan_invoice
	UNION ALL SELECT concat_ws('|', plan_id, seq, due_on, amount) FROM ar.payment_plan_instalment
	UNION ALL SELECT concat_ws('|', id, customer_id, from_on, until, lifted_on) FROM ar.dunning_block
	UNION ALL SELECT concat_ws('|', id, customer_id, level, cycle, as_of, status, invoice_ids, amount_due, penalties, md5(body)) FROM ar.dunning_notice
	UNION ALL SELECT concat_ws('|', customer_id, currency, cycle, level, last_notice_id, last_notice_on, changed_on) FROM ar.dunning_account
	UNION ALL SELECT concat_ws('|', as_of, accounts, notices, cycles_closed) FROM ar.dunning_run
	UNION ALL SELECT concat_ws('|', id, customer_id, kind, summary, as_of, notice_id, dispute_id) FROM ar.communication
	UNION ALL SELECT concat_ws('|', number, disputed) FROM ar.invoice) s"
check "the collections to dump are set up" test $setup_ok = 1
before=$(q $src "$snapshot")

$PG_BIN/pg_dump -Fc -d $src -f "$dump" 2>/tmp/ar_dun_restore.err || cat /tmp/ar_dun_restore.err >&2
PGOPTIONS='-c ar_collect.restoring=on' $PG_BIN/pg_restore -d $dst "$dump" 2>/tmp/ar_dun_restore.err
check "pg_restore succeeds" test $? -eq 0 || cat /tmp/ar_dun_restore.err >&2
check "policies, templates, disputes, promises, plans, blocks, notices, accounts, runs and the log are restored identically" \
	test "$before" = "$(q $dst "$snapshot")"
check "the shipped FR_STANDARD is not duplicated" \
	test "$(q $dst "SELECT count(*) FROM ar.dunning_template WHERE shipped")" = "$(q $src "SELECT count(*) FROM ar.dunning_template WHERE shipped")"
check "an invoice flagged as disputed gets no second dispute" \
	test "$(q $dst "SELECT count(*) FROM ar.dispute d JOIN ar.invoice i ON i.id = d.invoice_id WHERE i.number = 'DD-3-1'")" = 1
check "a run date already run queues nothing in the restored database" \
	test "$(q $dst "SELECT count(*) FROM ar.run_dunning('2026-04-10')")" = 0
next="SELECT string_agg(concat_ws(' ', n.id, c.code, n.level, n.cycle, n.amount_due, md5(n.body)), ', ' ORDER BY n.id)
        FROM generate_series(date '2026-04-11', date '2026-05-31', interval '1 day') d, ar.run_dunning(d::date) n
        JOIN ar.customer c ON c.id = n.customer_id"
after_src=$(q $src "$next")
after_dst=$(q $dst "$next")
check "the restored database goes on with the same notices, numbered after the restored ones" \
	test -n "$after_src" -a "$after_src" = "$after_dst"
check "a policy of the user's can still be changed after restore" \
	q $dst "UPDATE ar.dunning_level SET offset_days = 5 WHERE level = 1 AND policy_id = (SELECT id FROM ar.dunning_policy WHERE code = 'DD_FAST')"
check "and is still validated" \
	bash -c "! $PG_BIN/psql -X -q -d $dst -c \"DELETE FROM ar.dunning_template WHERE level = 2 AND policy_id = (SELECT id FROM ar.dunning_policy WHERE code = 'DD_FAST')\" 2>/dev/null"
$PG_BIN/dropdb $src; $PG_BIN/dropdb $dst
