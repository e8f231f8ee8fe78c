-- pgTAP: a shortfall is a write-off in the KPIs (doc/analytics.md).  The
-- small remainder of a payment ar.reconcile writes off (an allocation of
-- method shortfall, doc/reconcile.md) counts in written_off_amount; ar.kpis
-- (full computation and summaries), invoice.last_write_off_on and
-- ar.dunning_effectiveness (full computation and summary) treat it as a
-- write-off too: never money collected or paid.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(10);

INSERT INTO ar.customer (code, name) VALUES ('SF1', 'Shortfall');
-- three invoices of 1000 falling due in the period (2026-01-01, 2026-03-31]
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT c.id, v.number, date '2026-01-15', date '2026-02-14', 1000 FROM ar.customer c,
       (VALUES ('SF-A'), ('SF-B'), ('SF-C')) v (number) WHERE c.code = 'SF1';
-- A: 600 paid, 400 written off as a shortfall (as ar.reconcile writes it,
-- one statement); B: 600 paid, 400 written off by ar.write_off_invoice
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT i.company_id, i.id, v.amount, date '2026-02-24', v.method
  FROM ar.invoice i, (VALUES (600, 'transfer'), (400, 'shortfall')) v (amount, method) WHERE i.number = 'SF-A';
SELECT ar.record_payment('SF-B', 600, '2026-02-24', 'transfer');
SELECT ar.write_off_invoice(id, 'uncollectable', '2026-02-24') FROM ar.invoice WHERE number = 'SF-B';
-- C: dunned on 2026-02-20 for 1000; paid 997 five days later, the 3 left
-- written off as a shortfall
INSERT INTO ar.dunning_notice (customer_id, level, level_name, channel, body, invoice_ids, amount_due, status, as_of,
                               company_id, currency, policy_id, cycle, language)
SELECT i.customer_id, 1, 'level 1', 'email', 'body', ARRAY[i.id], 1000, 'sent', date '2026-02-20',
       i.company_id, 'EUR', (SELECT min(p.id) FROM ar.dunning_policy p), 1, 'en'
  FROM ar.invoice i WHERE i.number = 'SF-C';
INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method)
SELECT i.company_id, i.id, v.amount, date '2026-02-25', v.method
  FROM ar.invoice i, (VALUES (997, 'transfer'), (3, 'shortfall')) v (amount, method) WHERE i.number = 'SF-C';

SELECT is((SELECT array_agg(format('%s %s %s %s', number, status, written_off_amount, last_write_off_on) ORDER BY number)
             FROM ar.invoice WHERE number LIKE 'SF-%'),
          ARRAY['SF-A written_off 400 2026-02-24', 'SF-B written_off 400 2026-02-24', 'SF-C written_off 3 2026-02-25'],
	'the ledger: a shortfall is written off, and dates the latest write-off (last_write_off_on)');
SELECT is((SELECT count(*) FROM ar.check_ledger()), 0::bigint, 'ar.check_ledger agrees');

-- the full computation: collected 600 + 600 + 997 (write-offs excluded);
-- no invoice fully paid without a write-off: no days to pay
SELECT is((SELECT format('%s %s %s', f.amount_due, f.amount_collected, f.average_days_to_pay)
             FROM ar._kpi_figures_full('2026-03-31', 90) f),
          '3000 2197 ', 'ar.kpis (full computation): the shortfalls are not collected, nor an invoice paid');
SELECT is((SELECT format('%s %s', f.collection_rate_pct, f.average_days_to_pay) FROM ar._kpi_figures_full('2026-03-31', 90) f),
          (SELECT format('%s %s', k.collection_rate_pct, k.average_days_to_pay) FROM ar.kpis('2026-03-31', 90) k),
	'ar.kpis gives the same');
SELECT ok(ar._kpi_summary_serves('2026-03-31'), 'a date the KPI summaries serve');
SELECT is(ar._kpi_figures_summary('2026-03-31', 90)::text, ar._kpi_figures_full('2026-03-31', 90)::text,
	'the KPI summaries give the full computation''s figures');

-- the notice was answered by a payment: 997 of the 1000 claimed
SELECT is((SELECT format('%s %s %s', d.amount_due, d.paid_within_15_days, d.effectiveness_pct)
             FROM ar._dunning_effectiveness_full('2026-03-31', 90) d),
          '1000 997 99.70', 'ar.dunning_effectiveness (full computation): what was paid, not the shortfall');
SELECT ar._dunning_effect_fold();
SELECT ok(ar._dunning_effect_serves(), 'folded: the effectiveness summary serves');
SELECT is((SELECT format('%s %s %s', d.amount_due, d.paid_within_15_days, d.effectiveness_pct)
             FROM ar.dunning_effectiveness('2026-03-31', 90) d),
          '1000 997 99.70', 'the summary: the same');
SELECT is((SELECT k.dunning_effectiveness_pct FROM ar.kpis('2026-03-31', 90) k), 99.70, 'and ar.kpis reports it');

SELECT * FROM finish();
ROLLBACK;
