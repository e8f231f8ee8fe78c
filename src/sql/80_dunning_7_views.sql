-- Dunning, the views (one of the 80_dunning_* pieces).

-- ------------------------------------------------------------------- views

-- (ar.customer_timeline: 80_dunning_7_views_1_timeline.sql)

CREATE VIEW ar.dunning_summary AS
SELECT n.as_of, n.level, n.level_name, n.channel, n.status, n.currency,
       count(*) AS notices, count(DISTINCT n.customer_id) AS customers, sum(n.amount_due) AS amount_due,
       sum(n.penalties) AS penalties
  FROM ar.dunning_notice n
 GROUP BY n.as_of, n.level, n.level_name, n.channel, n.status, n.currency;

COMMENT ON VIEW ar.dunning_summary IS 'Notices per run date, level, channel, status and currency.';
COMMENT ON COLUMN ar.dunning_summary.as_of IS 'Run date that queued them.';
COMMENT ON COLUMN ar.dunning_summary.level IS 'Dunning level (0 courtesy reminder ... 5 legal handoff in FR_STANDARD).';
COMMENT ON COLUMN ar.dunning_summary.level_name IS 'Name of the level.';
COMMENT ON COLUMN ar.dunning_summary.channel IS 'email, sms, letter, registered_letter or task.';
COMMENT ON COLUMN ar.dunning_summary.status IS 'queued, sent, failed or cancelled.';
COMMENT ON COLUMN ar.dunning_summary.currency IS 'Currency of the amounts (never summed across currencies).';
COMMENT ON COLUMN ar.dunning_summary.notices IS 'Number of notices.';
COMMENT ON COLUMN ar.dunning_summary.customers IS 'Number of customers they went to.';
COMMENT ON COLUMN ar.dunning_summary.amount_due IS 'Sum of what they claimed: the open amounts they listed, less the credits set off.';
COMMENT ON COLUMN ar.dunning_summary.penalties IS 'Sum of the penalties accrued on the run date that they listed.';
