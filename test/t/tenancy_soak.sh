#!/usr/bin/env bash
# Companies as tenants under concurrency: two companies whose invoices share
# their numbers, two collectors of each (login roles with a membership of
# their company only), all four working at once, each step its own
# transaction: a payment by invoice number, customer credit spent now and
# then, and an attack on the other company (a payment on a number only the
# other company has, its customer's credit).  Bounded: a fixed number of
# steps per session and a statement timeout; no sleeps.  Then: every attack
# was refused (42501), no row of the other company was touched (allocations
# and credits by who made them, the audit trail by actor), each company's
# ledger holds exactly what its own collectors paid, ar.check_ledger() is
# clean and the audit chain verifies.  Prints TAP.
set -uo pipefail
source "$(dirname "$0")/../../tools/tap.sh"
DB=ar_tenancy_soak
STEPS=${AR_SOAK_STEPS:-150}
work=$(mktemp -d /tmp/ar_tenancy_soak.XXXXXX)
roles="soak_coll_a1 soak_coll_a2 soak_coll_b1 soak_coll_b2"
cleanup() {
	$PG_BIN/dropdb --if-exists "$DB" 2>/dev/null
	for r in $roles; do q postgres "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT

echo "1..8"
cleanup 2>/dev/null; mkdir -p "$work"
fresh_databases "$DB" 2>/dev/null
q "$DB" "SET client_min_messages = warning; CREATE EXTENSION ar_collect" >/dev/null
for r in $roles; do q postgres "CREATE ROLE $r LOGIN IN ROLE ar_collector" >/dev/null; done
q "$DB" "
INSERT INTO ar.company (code, name) VALUES ('SA', 'Soak A'), ('SB', 'Soak B');
SELECT ar.grant_company_access(r, c, 'collector')
  FROM (VALUES ('soak_coll_a1', 'SA'), ('soak_coll_a2', 'SA'), ('soak_coll_b1', 'SB'), ('soak_coll_b2', 'SB')) g(r, c);
INSERT INTO ar.customer (company_id, code, name)
SELECT co.id, 'C' || g, co.code || ' customer ' || g FROM ar.company co, generate_series(1, 20) g WHERE co.code IN ('SA', 'SB');
-- the same 200 numbers in both companies, and 20 numbers in each that the other lacks
INSERT INTO ar.invoice (company_id, customer_id, number, issue_date, due_date, amount)
SELECT cu.company_id, cu.id, n.number, DATE '2026-01-01' + g % 60, DATE '2026-02-01' + g % 60, 100 + g % 400
  FROM ar.company co
  CROSS JOIN generate_series(1, 220) g
  CROSS JOIN LATERAL (SELECT CASE WHEN g <= 200 THEN 'INV-' || g ELSE 'ONLY-' || co.code || '-' || g END AS number) n
  JOIN ar.customer cu ON cu.company_id = co.id AND cu.code = 'C' || (g % 20 + 1)
 WHERE co.code IN ('SA', 'SB');" >/dev/null
SA=$(q "$DB" "SELECT id FROM ar.company WHERE code = 'SA'")
SB=$(q "$DB" "SELECT id FROM ar.company WHERE code = 'SB'")

# one session: STEPS statements, each its own transaction; prints "paid refused"
session() {	# session ROLE OWN OTHER SEED
	local role=$1 own=$2 other=$3 seed=$4 i
	local other_customer
	other_customer=$(q "$DB" "SELECT min(cu.id) FROM ar.customer cu JOIN ar.company co ON co.id = cu.company_id WHERE co.code = '$other'")
	{
		echo "SET statement_timeout = '120s';"
		echo "CREATE TEMP TABLE tally (paid numeric NOT NULL DEFAULT 0, refused integer NOT NULL DEFAULT 0, leaked integer NOT NULL DEFAULT 0);"
		echo "INSERT INTO tally DEFAULT VALUES;"
		cat <<EOF
CREATE FUNCTION pg_temp.step(i integer) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
	amount numeric := (i * 13 + $seed) % 150 + 0.5;
BEGIN
	PERFORM ar.record_payment('INV-' || ((i * 37 + $seed) % 200 + 1), amount, DATE '2026-02-01' + i % 90);
	UPDATE tally SET paid = paid + amount;
	IF i % 10 = 0 THEN
		PERFORM ar.apply_customer_credit(c.id, DATE '2026-05-01') FROM ar.customer c WHERE c.code = 'C' || (i % 20 + 1);
	END IF;
	BEGIN
		PERFORM ar.record_payment('ONLY-$other-' || (201 + i % 20), 1, DATE '2026-02-01');
		UPDATE tally SET leaked = leaked + 1;
	EXCEPTION WHEN insufficient_privilege THEN
		UPDATE tally SET refused = refused + 1;
	END;
	IF i % 10 = 5 THEN
		BEGIN
			PERFORM ar.apply_customer_credit($other_customer);
			UPDATE tally SET leaked = leaked + 1;
		EXCEPTION WHEN insufficient_privilege THEN
			UPDATE tally SET refused = refused + 1;
		END;
	END IF;
END \$\$;
EOF
		for ((i = 1; i <= STEPS; i++)); do echo "SELECT pg_temp.step($i);"; done
		echo "SELECT paid || ' ' || refused || ' ' || leaked FROM tally;"
	} >"$work/$role.sql"
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -U "$role" -d "$DB" -f "$work/$role.sql" >"$work/$role.out" 2>"$work/$role.err"
	echo $? >"$work/$role.rc"
}
session soak_coll_a1 SA SB 1 &
session soak_coll_a2 SA SB 7 &
session soak_coll_b1 SB SA 3 &
session soak_coll_b2 SB SA 11 &
wait

failed=0
for r in $roles; do [ "$(cat "$work/$r.rc")" = 0 ] || { failed=1; sed "s/^/# $r: /" "$work/$r.err" | head -5; }; done
check "four collectors of two companies ran $STEPS steps each at once, without error" test $failed = 0
refused=0 leaked=0
for r in $roles; do
	read -r p f l <<<"$(tail -n 1 "$work/$r.out")"
	refused=$((refused + ${f:-0})); leaked=$((leaked + ${l:-1}))
done
attacks=$((4 * (STEPS + (STEPS + 5) / 10)))
check "every attack on the other company was refused with 42501 ($refused of $attacks)" \
	test "$refused" = $attacks -a "$leaked" = 0
check "0 cross-company allocations or credits" test "$(q "$DB" "
	SELECT count(*) FROM ar.allocation a
	 WHERE (a.created_by LIKE 'soak_coll_a%' AND a.company_id <> $SA) OR (a.created_by LIKE 'soak_coll_b%' AND a.company_id <> $SB)")" = 0
check "0 audit rows of one company written by the other's collectors" test "$(q "$DB" "
	SELECT count(*) FROM ar.audit_log l
	 WHERE (coalesce(l.new_row, l.old_row) ->> 'company_id')::bigint <> CASE WHEN l.actor LIKE 'soak_coll_a%' THEN $SA ELSE $SB END
	   AND l.actor LIKE 'soak_coll_%'")" = 0
paid_sa=0 paid_sb=0
for r in soak_coll_a1 soak_coll_a2; do read -r p _ <<<"$(tail -n 1 "$work/$r.out")"; paid_sa="$paid_sa + ${p:-0}"; done
for r in soak_coll_b1 soak_coll_b2; do read -r p _ <<<"$(tail -n 1 "$work/$r.out")"; paid_sb="$paid_sb + ${p:-0}"; done
check "each company's ledger holds exactly what its own collectors paid" test "$(q "$DB" "
	SELECT bool_and(held = paid) FROM (
	  SELECT co.id, (SELECT coalesce(sum(a.amount), 0) FROM ar.allocation a WHERE a.company_id = co.id AND a.method = 'manual')
	              + (SELECT coalesce(sum(c.amount), 0) FROM ar.customer_credit c WHERE c.company_id = co.id) AS held,
	         CASE co.id WHEN $SA THEN $paid_sa ELSE $paid_sb END AS paid
	    FROM ar.company co WHERE co.id IN ($SA, $SB)) x")" = t
check "customer credit was spent by the collectors (allocations of method credit exist)" \
	test "$(q "$DB" "SELECT count(*) > 0 FROM ar.allocation WHERE method = 'credit'")" = t
check "ar.check_ledger() finds nothing" test "$(q "$DB" "SELECT count(*) FROM ar.check_ledger()")" = 0
check "the audit chain verifies" test "$(q "$DB" "SELECT valid FROM ar.verify_audit_chain()")" = t
