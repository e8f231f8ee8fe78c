-- The write path of ar.reconcile() built in C (issue 17) gives exactly what
-- the SQL it replaces gave: ar._row_jsonb(row) is to_jsonb(row) (the
-- allocations' audit rows), each row's hashed content printed in C at
-- insert is ar.audit_row_content() (the chain verifies), and the decisions'
-- explanations are the jsonb of their text, escapes included.
BEGIN;
CREATE EXTENSION ar_collect;
SELECT plan(15);

-- ------------------------------------------------------------ _row_jsonb
CREATE TEMP TABLE rj (
	id bigint, i2 smallint, i4 integer, f4 real, f8 double precision, n numeric,
	d date, ts timestamp, tz timestamptz, b boolean, t text, v varchar(8), c char(4),
	"a key" text, gone text, "K" text, k text);
INSERT INTO rj VALUES
	(1, 2, 3, 1.5, 2.25, 12.340, '2026-02-01', '2026-02-01 10:11:12.5', '2026-02-01 10:11:12.123456+01', true,
	 'plain', 'v', 'ab', 'x', 'y', 'K', 'k'),
	(-9223372036854775808, -32768, -2147483648, 1.5e-7, -1e300, -0.000, 'infinity', '-infinity', 'infinity', false,
	 E'quote " backslash \\ slash / newline \n tab \t bell \x07 é € 𝄞', '', '', '', NULL, '', ''),
	(3, 0, 0, 'NaN', 'Infinity', 'NaN', '-infinity', 'infinity', '-infinity', NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, NULL, NULL, '-Infinity', '-0', '-Infinity', NULL, NULL, NULL, true,
	 '{"a": 1}', '[1]', 'null', 'true', '1', '0', 'x'),
	(5, 1, 1, 3.4028235e38, 1.7976931348623157e308, 'Infinity', '4713-01-01 BC', '294276-12-31 23:59:59.999999',
	 '1999-12-31 23:59:59.999999+00', true, repeat('long ', 500), 'abcdefgh', 'abcd', 'é', NULL, NULL, NULL);
SELECT is((SELECT count(*) FROM rj r WHERE ar._row_jsonb(r)::text IS DISTINCT FROM to_jsonb(r)::text
                                        OR ar._row_jsonb(r) IS DISTINCT FROM to_jsonb(r))::int, 0,
          'ar._row_jsonb gives to_jsonb''s value and text for every kind of column it builds itself');
SET LOCAL TimeZone = 'America/New_York';
SET LOCAL DateStyle = 'SQL, DMY';
SET LOCAL extra_float_digits = 0;
SELECT is((SELECT count(*) FROM rj r WHERE ar._row_jsonb(r)::text IS DISTINCT FROM to_jsonb(r)::text)::int, 0,
          'and under another time zone, date style and float precision, as to_jsonb');
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
ALTER TABLE rj DROP COLUMN gone;
SELECT is((SELECT count(*) FROM rj r WHERE ar._row_jsonb(r)::text IS DISTINCT FROM to_jsonb(r)::text)::int, 0,
          'a dropped column is left out, as to_jsonb does');
SELECT is((SELECT ar._row_jsonb(r) ? 'gone' FROM rj r WHERE id = 1), false, 'the dropped column is not a key');
-- columns it leaves to to_jsonb: json, jsonb, arrays, composites, the extension's types
CREATE TEMP TABLE rj_other (id bigint, j jsonb, js json, a int[], iban ar.iban, r rj, ai bigint[]);
INSERT INTO rj_other
SELECT 1, '{"b": [1, "x"], "a": null}', '{"z": 1, "a": 2}', '{1,2}', 'FR7630006000011234567890189', r, '{}'
  FROM rj r WHERE r.id = 1;
INSERT INTO rj_other VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT is((SELECT count(*) FROM rj_other r WHERE ar._row_jsonb(r)::text IS DISTINCT FROM to_jsonb(r)::text)::int, 0,
          'a row with other kinds of columns is to_jsonb''s');
SELECT is(ar._row_jsonb(NULL::rj), NULL, 'NULL gives NULL');
SELECT is((SELECT count(*) FROM (SELECT ar._row_jsonb(r) AS j, to_jsonb(r) AS t FROM rj r
                                   UNION ALL SELECT ar._row_jsonb(r), to_jsonb(r) FROM rj_other r) x
            WHERE x.j::text <> x.t::text)::int, 0, 'the same through a query that calls it for two row types');

-- --------------------------------------------------------------- sealing
-- rows whose images hold what the printed content must escape exactly
INSERT INTO ar.customer (code, name, email)
VALUES (E'AW-"q"', E'Name with " and \\ and / and é € 𝄞', NULL),
       ('AW-2', repeat('x', 200), 'a@b.example');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, 'AW-INV-1', DATE '2026-01-01', DATE '2026-01-31', 120.00 FROM ar.customer WHERE code = E'AW-"q"';
INSERT INTO ar.allocation (invoice_id, amount, allocated_on, method, note)
SELECT id, 20.00, DATE '2026-02-01', 'manual', E'note "with" \\ escapes / and é € 𝄞' FROM ar.invoice WHERE number = 'AW-INV-1';
DELETE FROM ar.customer WHERE code = 'AW-2';
-- written under a role whose name must be escaped, in a session whose time
-- zone, date style and float precision the content must not depend on
CREATE ROLE "aw ""role"" \ é" IN ROLE ar_admin;
SET LOCAL ROLE "aw ""role"" \ é";
SET LOCAL TimeZone = 'Asia/Kathmandu';
SET LOCAL DateStyle = 'German, DMY';
SET LOCAL extra_float_digits = -3;
UPDATE ar.customer SET name = E'tab "renamed" \\ ü' WHERE code = E'AW-"q"';
RESET ROLE;
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
SELECT is((SELECT count(*) FROM ar.audit_log WHERE role = 'aw "role" \ é')::int, 1, 'a row written under that role');
SELECT is((SELECT count(*) FROM ar.audit_log a
            WHERE a.row_hash IS NULL OR a.row_hash IS DISTINCT FROM sha256(ar.audit_row_content(a, NULL)))::int, 0,
          'each row''s hash, computed in C at insert, is sha256(ar.audit_row_content(row, NULL)): the content printed in C is the same, escapes, roles and NULL images included');
SET CONSTRAINTS ar.audit_log_seal IMMEDIATE;
SET CONSTRAINTS ar.audit_log_seal DEFERRED;
SELECT is((SELECT count(*) FROM ar.audit_log a WHERE ar._audit_link(a) IS NULL)::int, 0, 'the rows of the transaction are sealed');
SELECT results_eq('SELECT valid FROM ar.verify_audit_chain()', 'VALUES (true)', 'the chain verifies');
SELECT is((SELECT new_row FROM ar.audit_log WHERE table_name = 'allocation' AND operation = 'INSERT' ORDER BY id DESC LIMIT 1)
          - 'created_at',
          (SELECT to_jsonb(a) - 'created_at' FROM ar.allocation a ORDER BY id DESC LIMIT 1),
          'an allocation''s audit row holds to_jsonb of the allocation');

-- ------------------------------------------------------------ explanations
-- customer codes that the explanation must escape (\" and \\) or not
-- (UTF-8), paid by IBAN and reference
INSERT INTO ar.customer (code, name) VALUES (E'AW-\\"x"', 'Escaped Code SARL'), ('AW-é€𝄞', 'Control Code SARL');
INSERT INTO ar.customer_bank_account (customer_id, iban)
SELECT id, CASE code WHEN E'AW-\\"x"' THEN 'FR7630006000011234567890189' ELSE 'DE89370400440532013000' END
  FROM ar.customer WHERE code IN (E'AW-\\"x"', 'AW-é€𝄞');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount)
SELECT id, CASE code WHEN E'AW-\\"x"' THEN 'AWX-2026-001' ELSE 'AWX-2026-002' END, DATE '2026-01-01', DATE '2026-01-31', 250.00
  FROM ar.customer WHERE code IN (E'AW-\\"x"', 'AW-é€𝄞');
INSERT INTO ar.bank_transaction (booking_date, amount, counterparty_name, counterparty_iban, remittance_info)
VALUES ('2026-02-03', 250.00, 'Escaped Code SARL', 'FR7630006000011234567890189', 'Invoice AWX-2026-001'),
       ('2026-02-03', 250.00, 'Control Code SARL', 'DE89370400440532013000', 'Invoice AWX-2026-002');
SELECT is((SELECT count(*) FROM ar.reconcile() WHERE applied)::int, 2, 'both lines are applied');
SELECT is((SELECT array_agg(l.explanation -> 'payer' ->> 'customer_code' ORDER BY l.bank_transaction_id)
             FROM ar.reconcile_line l JOIN ar.bank_transaction t ON t.id = l.bank_transaction_id
            WHERE t.remittance_info LIKE 'Invoice AWX-%'),
          ARRAY[E'AW-\\"x"', 'AW-é€𝄞'], 'the explanations hold the customer codes, escaped and unescaped right');
SELECT is((SELECT count(*) FROM ar.reconcile_line l
            WHERE l.explanation IS DISTINCT FROM (l.explanation::text)::jsonb)::int, 0,
          'every explanation is the jsonb of its own text');

SELECT * FROM finish();
ROLLBACK;
