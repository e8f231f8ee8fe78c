-- Dunning on the demo ledger: the notices queued on the generation's date
-- by level, six weeks of deliveries, one mise en demeure as it is sent, and
-- final reminders (level 3) to a German, a British and an English-speaking
-- customer: each states its own law, rates and indemnity.
-- Amounts are never summed across currencies.
\set ON_ERROR_STOP on
\pset numericlocale on
\pset footer off
SELECT as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

\echo
\echo '=== Dunning notices queued on' :as_of '(FR_STANDARD)'
\echo
SELECT n.level AS "level", n.level_name AS "name", n.channel AS "channel", n.currency AS "cur",
       count(*) AS "notices", sum(cardinality(n.invoice_ids)) AS "invoices",
       sum(n.amount_due)::numeric(16,2) AS "amount due",
       sum(n.penalties)::numeric(16,2) AS "penalties stated",
       count(*) FILTER (WHERE n.penalties IS NULL) AS "penalties unknown"
  FROM ar.dunning_notice n
 WHERE n.as_of = :'as_of'
 GROUP BY n.level, n.level_name, n.channel, n.currency
 ORDER BY n.level, n.channel, n.currency;

\echo '=== The last six weeks: notices by level and delivery'
\echo
SELECT n.level AS "level", n.level_name AS "name",
       count(*) FILTER (WHERE n.status = 'sent') AS "sent",
       count(*) FILTER (WHERE n.status = 'failed') AS "bounced (sent again)",
       count(*) FILTER (WHERE n.status = 'queued') AS "queued today",
       count(DISTINCT n.customer_id) AS "customers"
  FROM ar.dunning_notice n
 GROUP BY n.level, n.level_name
 ORDER BY n.level;

SELECT count(*) FILTER (WHERE kind = 'dispute_opened') AS "disputes opened",
       count(*) FILTER (WHERE kind = 'promise') AS "promises to pay",
       count(*) FILTER (WHERE kind = 'cycle_closed') AS "cycles closed (all paid)",
       count(*) FILTER (WHERE kind = 'notice_failed') AS "deliveries failed"
  FROM ar.communication;

-- the most recent formal notice, in French when there is one
SELECT n.id AS notice_id, c.code AS customer_code FROM ar.dunning_notice n JOIN ar.customer c ON c.id = n.customer_id
 WHERE n.level = 4 ORDER BY n.language = 'fr' DESC, n.as_of DESC, n.amount_due DESC LIMIT 1 \gset
\echo '=== A formal notice (mise en demeure), as queued for the sender: customer' :customer_code
\echo
\pset format unaligned
\pset tuples_only on
SELECT 'To: ' || n.channel || ' | ' || n.language || ' | queued on ' || n.as_of || ' | reply by ' || n.reply_by
       || E'\nSubject: ' || n.subject || E'\n\n' || n.body || E'\n'
  FROM ar.dunning_notice n WHERE n.id = :notice_id;
\pset tuples_only off
\pset format aligned

\echo '=== Its customer''s timeline'
\echo
SELECT t.as_of AS "date", t.kind AS "event", t.summary AS "what", coalesce(t.proof_ref, '') AS "proof"
  FROM ar.customer_timeline t
 WHERE t.customer_code = :'customer_code'
 ORDER BY t.as_of, t.notice_id NULLS FIRST, t.kind <> 'notice_queued', t.id;

-- final reminders abroad: the law of each customer's regime, in its language
\echo '=== Final reminders (level 3) to a German, a British and an English-speaking customer'
\echo
\pset format unaligned
\pset tuples_only on
SELECT E'----- ' || x.who || ' | ' || x.channel || ' | ' || x.language || ' | queued on ' || x.as_of
       || E'\nSubject: ' || x.subject || E'\n\n' || x.body || E'\n'
  FROM (SELECT DISTINCT ON (w.who) w.who, n.channel, n.language, n.as_of, n.subject, n.body
          FROM ar.dunning_notice n
          JOIN ar.customer c ON c.id = n.customer_id
         CROSS JOIN LATERAL (SELECT CASE WHEN c.country = 'DE' AND n.language = 'de' THEN 'DE customer (DE_B2B)'
                                         WHEN c.country = 'GB' THEN 'UK customer (UK_LPA)'
                                         WHEN n.language = 'en' AND c.country NOT IN ('GB', 'US') THEN 'EN customer (' || coalesce(c.penalty_regime, 'FR_LME') || ')'
                                    END AS who) w
         WHERE n.level = 3 AND w.who IS NOT NULL
         ORDER BY w.who, n.as_of DESC, n.amount_due DESC, n.id) x
 ORDER BY x.who;
\pset tuples_only off
\pset format aligned

\echo '=== Reference rates the letters miss (add them with ar.add_reference_rate)'
\echo
SELECT series, known_through, needed_from, needed_through, array_to_string(regimes, ', ') AS regimes
  FROM ar.missing_reference_rates(:'as_of');
