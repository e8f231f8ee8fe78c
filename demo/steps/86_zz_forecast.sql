-- Demo step 86_zz: promises and payment plans in the cash forecast.  Twenty
-- customers with overdue invoices have a record of promises (up to four of
-- their late payments of the last six months were promised a week before;
-- one promise in five was paid three days after its date: broken) and now
-- promise their oldest overdue invoice for the coming weeks; one more
-- customer pays its overdue invoices in three monthly instalments
-- (demo/report_86_zz_forecast.sql shows the forecast by source).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT as_of AS demo_as_of FROM ar_demo.generation ORDER BY id DESC LIMIT 1 \gset

CREATE TEMP TABLE fc_customer AS
SELECT x.customer_id, min(x.invoice_id) AS open_invoice
  FROM ar.open_items(:'demo_as_of') x
 WHERE x.days_past_due BETWEEN 1 AND 60 AND x.amount > 0 AND x.currency = 'EUR' AND x.open_amount = x.amount
   AND (SELECT i.open_amount FROM ar.invoice i WHERE i.id = x.invoice_id) = x.amount   -- nothing paid since (direct debits)
   AND NOT EXISTS (SELECT 1 FROM ar.dispute d WHERE d.invoice_id = x.invoice_id)
   AND NOT EXISTS (SELECT 1 FROM ar.payment_promise p JOIN ar.invoice i ON i.id = p.invoice_id
                    WHERE i.customer_id = x.customer_id)
   AND NOT EXISTS (SELECT 1 FROM ar.payment_plan p WHERE p.customer_id = x.customer_id)
 GROUP BY x.customer_id
 ORDER BY x.customer_id % 97, x.customer_id LIMIT 20;

-- the record: late payments of the last six months, each paid at once,
-- promised a week before it came
SELECT count(ar.promise_to_pay(h.invoice_id, h.paid_on - CASE WHEN h.invoice_id % 5 = 0 THEN 3 ELSE 0 END,
                               h.amount, h.paid_on - 7)) AS "past promises recorded",
       count(*) FILTER (WHERE h.invoice_id % 5 = 0) AS "of which paid late (broken)"
  FROM (SELECT i.id AS invoice_id, i.amount, a.paid_on,
               row_number() OVER (PARTITION BY i.customer_id ORDER BY a.paid_on DESC, i.id) AS n
          FROM fc_customer c
          JOIN ar.invoice i ON i.customer_id = c.customer_id
          JOIN (SELECT al.invoice_id, max(al.allocated_on) AS paid_on, count(*) AS payments
                  FROM ar.allocation al GROUP BY al.invoice_id) a ON a.invoice_id = i.id
         WHERE i.amount > 0 AND i.status = 'paid' AND a.payments = 1
           AND a.paid_on BETWEEN :'demo_as_of'::date - 180 AND :'demo_as_of'::date - 10
           AND a.paid_on >= i.due_date + 7) h
 WHERE h.n <= 4;

-- the open promises: the oldest overdue invoice, in the next one to five weeks
SELECT count(ar.promise_to_pay(c.open_invoice, :'demo_as_of'::date + 3 + (c.customer_id % 5)::integer * 7,
                               i.open_amount, :'demo_as_of'::date - 1)) AS "open promises recorded"
  FROM fc_customer c JOIN ar.invoice i ON i.id = c.open_invoice;

-- a payment plan: three monthly instalments from the middle of next month
SELECT ar.create_payment_plan(p.customer_id, p.invoice_ids,
                              ARRAY[:'demo_as_of'::date + 15, :'demo_as_of'::date + 45, :'demo_as_of'::date + 75],
                              starts_on => :'demo_as_of'::date, note => 'demo: three monthly instalments')
       IS NOT NULL AS "payment plan"
  FROM (SELECT x.customer_id, array_agg(x.invoice_id ORDER BY x.invoice_id) AS invoice_ids
          FROM ar.open_items(:'demo_as_of') x
         WHERE x.days_past_due > 20 AND x.amount > 0 AND x.currency = 'EUR' AND x.open_amount = x.amount
           AND (SELECT i.open_amount FROM ar.invoice i WHERE i.id = x.invoice_id) = x.amount   -- nothing paid since (direct debits)
           AND x.customer_id NOT IN (SELECT customer_id FROM fc_customer)
           AND NOT EXISTS (SELECT 1 FROM ar.dispute d WHERE d.invoice_id = x.invoice_id)
           AND NOT EXISTS (SELECT 1 FROM ar.payment_promise p JOIN ar.invoice i ON i.id = p.invoice_id
                            WHERE i.customer_id = x.customer_id)
           AND NOT EXISTS (SELECT 1 FROM ar.payment_plan p WHERE p.customer_id = x.customer_id)
         GROUP BY x.customer_id HAVING count(*) >= 2
         ORDER BY sum(x.open_amount) DESC, x.customer_id LIMIT 1) p;

-- the past promises as the daily dunning runs would have settled them
UPDATE ar.payment_promise pr
   SET status = CASE WHEN ar._open_on(pr.invoice_id, pr.promised_on) <= pr.open_at_promise - pr.amount
                     THEN 'kept' ELSE 'broken' END,
       settled_on = pr.promised_on + 1
 WHERE pr.status = 'pending' AND pr.promised_on < :'demo_as_of'::date - 7
   AND pr.customer_id IN (SELECT customer_id FROM fc_customer);
