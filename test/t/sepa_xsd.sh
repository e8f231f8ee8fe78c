#!/usr/bin/env bash
# The pain.008 documents of ar.collect_direct_debits validated with xmllint
# against the official ISO 20022 schema when AR_PAIN008_XSD names it
# (pain.008.001.02.xsd or pain.008.001.08.xsd: the version is read from its
# target namespace); skipped otherwise.  The document covers FRST and RCUR
# blocks, CORE and B2B, a debtor with and without BIC, an amendment with
# the original reference and account, one with SMNDA, unstructured and RF
# remittance.  A document with its MsgId removed must fail (the check can
# fail).  Prints TAP; run by tools/test.sh on its cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../tools/tap.sh"
xsd=${AR_PAIN008_XSD:-}
if [ -z "$xsd" ] || [ ! -r "$xsd" ]; then
	echo "1..0 # SKIP AR_PAIN008_XSD does not name a readable pain.008 schema"
	exit 0
fi
if ! command -v xmllint >/dev/null; then
	echo "1..0 # SKIP xmllint is not installed"
	exit 0
fi
version=$(grep -o 'urn:iso:std:iso:20022:tech:xsd:pain\.008\.001\.0[0-9]*' "$xsd" | head -1 | sed 's/.*xsd://')
work=$(mktemp -d /tmp/ar_sepa_xsd.XXXXXX)
trap 'rm -rf "$work"' EXIT
db=ar_sepa_xsd
echo "1..3"
fresh_databases $db 2>/dev/null || exit 1
$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -d $db >"$work/doc.xml" 2>"$work/psql.err" <<SQL
CREATE EXTENSION ar_collect;
SELECT count(*) FROM ar.set_sepa_creditor('DEFAULT', 'Fournitures Dupont SAS', 'FR72ZZZ123456', 'FR7630006000011234567890189', 'AGRIFRPP');
INSERT INTO ar.customer (code, name) VALUES ('X1', 'Boulangerie Martin'), ('X2', 'Müller GmbH'), ('X3', 'Café Œuvre');
INSERT INTO ar.invoice (customer_id, number, issue_date, due_date, amount, payment_reference)
SELECT c.id, v.number, '2026-01-10', '2026-02-09', v.amount, v.ref
  FROM (VALUES ('X1', 'FA-1', 1250.00, NULL), ('X1', 'FA-2', 480.50, NULL), ('X2', 'FA-3', 99.90, 'RF18539007547034'),
               ('X3', 'FA-4', 12.34, NULL)) v(code, number, amount, ref)
  JOIN ar.customer c ON c.code = v.code;
SELECT count(*) FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'X1'), 'BM-1', '2025-11-20', 'Boulangerie Martin & Fils', 'FR1420041010050500013M02606');
SELECT count(*) FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'X2'), 'MU-7', '2024-06-01', 'Müller GmbH', 'DE89370400440532013000', 'COBADEFFXXX', 'B2B');
SELECT count(*) FROM ar.create_sepa_mandate((SELECT id FROM ar.customer WHERE code = 'X3'), 'CO-1', '2024-06-01', 'Café Œuvre', 'DE89370400440532013000');
UPDATE ar.sepa_mandate SET sequence_state = 'RCUR' WHERE umr IN ('MU-7', 'CO-1');
SELECT count(*) FROM ar.amend_sepa_mandate((SELECT id FROM ar.sepa_mandate WHERE umr = 'MU-7'), umr => 'MU-7-A', debtor_iban => 'DE35370400440532013099');
SELECT count(*) FROM ar.amend_sepa_mandate((SELECT id FROM ar.sepa_mandate WHERE umr = 'CO-1'), debtor_iban => 'FR1420041010050500013M02606');
\o $work/doc.xml
SELECT ar.collect_direct_debits('2026-02-28', NULL, NULL, '$version', 'XSD-1', '2026-03-02 09:30:00+00');
SQL
check "ar.collect_direct_debits writes a $version document" grep -q "<MsgId>XSD-1</MsgId>" "$work/doc.xml"
xmllint --noout --schema "$xsd" "$work/doc.xml" >"$work/lint.out" 2>&1
rc=$?
check "it validates against $(basename "$xsd")" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$work/lint.out" "$work/psql.err"
sed 's|<MsgId>XSD-1</MsgId>||' "$work/doc.xml" >"$work/bad.xml"
check "a document without its MsgId does not" bash -c "! xmllint --noout --schema '$xsd' '$work/bad.xml' 2>/dev/null"
$PG_BIN/dropdb --if-exists $db 2>/dev/null
