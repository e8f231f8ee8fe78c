#!/usr/bin/env bash
# Upgrades: a database created with the shipped 0.1.0 (releases/) and
# written through the 0.1.0 API is upgraded with ALTER EXTENSION ar_collect
# UPDATE; then (a) its catalog equals a fresh install's (test/t/catalog.sql:
# tables, columns in order, constraints, indexes, triggers, policies,
# functions with their bodies, owners, grants, comments, what pg_dump
# keeps), (b) its data and audit chain survive and verify, and the current
# API goes on working on them, (c) pg_dump/pg_restore round-trips it.
# Prints TAP; run by tools/test.sh against its throwaway cluster.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../tools/tap.sh"
old=ar_upgrade_old new=ar_upgrade_new restored=ar_upgrade_restored
work=$(mktemp -d /tmp/ar_upgrade.XXXXXX)
trap 'rm -rf "$work"' EXIT
# verdict DESCRIPTION COMMAND...: like check, quiet, and returns the
# command's status so that a failure can show its evidence.
verdict() {
	local what=$1; shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then echo "ok $n - $what"; else echo "not ok $n - $what"; return 1; fi
}
catalog() { $PG_BIN/psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -f "$here/catalog.sql" >"$2"; }

# Every table the extension keeps user data in (pg_dump's configuration
# tables), as (table, md5 of its rows over the given columns).  Shipped
# reference data (rates, regimes, policies, levels, templates, settings) may
# be updated by an upgrade and is left out; so are the times a restore
# sets anew (updated_at, and the default company CREATE EXTENSION makes).
columns_query="SELECT c.relname || ' ' || string_agg(quote_ident(a.attname), ',' ORDER BY a.attnum)
  FROM pg_extension e, unnest(e.extconfig) cfg(rel) JOIN pg_class c ON c.oid = cfg.rel
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE e.extname = 'ar_collect' AND c.relkind = 'r'
   AND c.relname !~ '(rate|regime|policy|level|template|config|threshold|model)'
   AND a.attname <> 'updated_at' AND NOT (c.relname = 'company' AND a.attname = 'created_at')
   AND c.relname <> 'reconcile_run'  -- recorded per company since 0.2.0: checked on its own below
 GROUP BY c.relname ORDER BY c.relname"
snapshot() {	# snapshot DB COLUMNS_FILE: one line per table
	local table cols
	while read -r table cols; do
		printf '%s %s\n' "$table" "$(q "$1" "SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '')
		                                     FROM (SELECT $cols FROM ar.$table) r")"
	done <"$2"
}

# the runs as 0.2.0 records them, per company: each run of 0.1.0 with the
# companies it decided lines for, their lines, who, when (and the run's
# phases, summed over its companies)
runs_query="SELECT string_agg(x, ' ' ORDER BY x) FROM (
  SELECT format('%s:%s:%s:%s:%s:%s', l.run_id, l.company_id, count(*), r.auto_apply, r.run_by, r.started_at) AS x
    FROM ar.reconcile_line l JOIN ar.reconcile_run r ON r.id = l.run_id AND (r.company_id IS NULL OR r.company_id = l.company_id)
   GROUP BY l.run_id, l.company_id, r.auto_apply, r.run_by, r.started_at) y"
phases_query="SELECT string_agg(format('%s:%s', id, round((load_ms + match_ms + write_ms)::numeric, 6)), ' ' ORDER BY id)
  FROM (SELECT id, sum(load_ms) AS load_ms, sum(match_ms) AS match_ms, sum(write_ms) AS write_ms FROM ar.reconcile_run GROUP BY id) r"

echo "1..18"
fresh_databases $old $new $restored
q $old "SET client_min_messages = warning; CREATE EXTENSION ar_collect VERSION '0.1.0'" >/dev/null
verdict "0.1.0 installs from its shipped script" test "$(q $old "SELECT extversion FROM pg_extension WHERE extname = 'ar_collect'")" = 0.1.0
$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -d $old -f "$here/upgrade_data_0.1.0.sql" >"$work/load.log" 2>&1
verdict "a ledger is written with the 0.1.0 API" test $? -eq 0 || tail -n 20 "$work/load.log" | sed 's/^/# /'
q $old "$columns_query" >"$work/columns"
snapshot $old "$work/columns" >"$work/before"
runs_before=$(q $old "$runs_query"); phases_before=$(q $old "$phases_query")
run_over_all=$(q $old "SELECT max(r.id) FROM ar.reconcile_run r WHERE r.company_id IS NULL
                        AND (SELECT count(DISTINCT l.company_id) FROM ar.reconcile_line l WHERE l.run_id = r.id) = 2")
chain_before=$(q $old "SELECT rows_checked FROM ar.verify_audit_chain() WHERE valid")

q $old "SET client_min_messages = warning; ALTER EXTENSION ar_collect UPDATE" >"$work/update.log" 2>&1
verdict "ALTER EXTENSION ar_collect UPDATE reaches the default version" \
	test "$(q $old "SELECT installed_version = default_version FROM pg_available_extensions WHERE name = 'ar_collect'")" = t ||
	sed 's/^/# /' "$work/update.log"

q $new "SET client_min_messages = warning; CREATE EXTENSION ar_collect" >/dev/null
catalog $old "$work/catalog_upgraded"; catalog $new "$work/catalog_fresh"
verdict "the upgraded catalog equals a fresh install's" diff -q "$work/catalog_upgraded" "$work/catalog_fresh" ||
	diff "$work/catalog_fresh" "$work/catalog_upgraded" | head -60 | sed 's/^/# /'

snapshot $old "$work/columns" >"$work/after"
verdict "every row of user data survives the upgrade ($(wc -l <"$work/columns") tables)" diff -q "$work/before" "$work/after" ||
	diff "$work/before" "$work/after" | sed 's/^/# /'
verdict "a 0.1.0 run over every company is recorded per company: one row for each company it decided lines for, with its lines, the run's id, who and when, and the run's phases summed over them" \
	q $old "SELECT 1 / ('$run_over_all' <> '' AND \$\$$runs_before\$\$ = ($runs_query) AND \$\$$phases_before\$\$ = ($phases_query)
	                    AND (SELECT count(*) = 2 AND sum(lines) = 3 FROM ar.reconcile_run WHERE id = ${run_over_all:-0})
	                    AND NOT EXISTS (SELECT FROM ar.reconcile_run WHERE company_id IS NULL))::int" ||
	echo "# before: $runs_before / $phases_before; after: $(q $old "$runs_query") / $(q $old "$phases_query")"
verdict "the audit chain still verifies, every 0.1.0 row included" \
	q $old "SELECT 1 / (valid AND rows_checked >= ${chain_before:-0} AND ${chain_before:-0} > 0)::int FROM ar.verify_audit_chain()"
verdict "the current API works on the upgraded ledger and it agrees with itself" \
	q $old "SELECT ar.record_payment('U10-5', 20, date '2026-05-02');
	        SELECT count(*) FROM ar.run_dunning(date '2026-05-04');
	        SELECT 1 / (count(*) = 0)::int FROM ar.check_ledger()"
# one chain per company (doc/audit.md): the 0.1.0 rows stay the legacy
# chain, each given its company; the rows written since are chained per
# company after it, each chain from a genesis bound to the legacy head
verdict "the 0.1.0 rows are the legacy chain, its head recorded, every row of company data with its company" \
	q $old "SELECT 1 / (l.last_seq = ${chain_before:-0}
	                    AND l.last_hash = (SELECT a.row_hash FROM ar.audit_log a WHERE a.seq = l.last_seq AND a.seq <= l.last_seq
	                                        ORDER BY a.id LIMIT 1)
	                    AND NOT EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.company_id = 0
	                                     AND a.table_name IN ('company', 'customer', 'invoice', 'allocation', 'bank_transaction')))::int
	        FROM ar.audit_legacy_chain l"
verdict "the rows written since (the upgrade's own, then new transactions) are sealed per company after the legacy chain, from geneses bound to its head, and verify" \
	q $old "SELECT 1 / (count(*) > 0 AND bool_and(f.seq = l.last_seq + 1
	                    AND f.prev_hash = sha256(ar.audit_genesis_hash() || l.last_hash || convert_to('company:' || f.company_id, 'UTF8'))
	                    AND (SELECT v.valid FROM ar.verify_audit_chain(f.company_id) v))
	                AND NOT EXISTS (SELECT 1 FROM ar.audit_log a WHERE ar._audit_link(a) IS NULL)
	                AND NOT EXISTS (SELECT 1 FROM ar.audit_log a WHERE a.seq > (SELECT y.last_seq FROM ar.audit_legacy_chain y)))::int
	        FROM ar.audit_legacy_chain l
	        CROSS JOIN LATERAL (SELECT DISTINCT ON (x.company_id) x.company_id, x.seq, x.prev_hash FROM ar.audit_seal x
	                             WHERE x.company_id IS NOT NULL ORDER BY x.company_id, x.seq) f"
verdict "a changed 0.1.0 row is reported by its company's verification, the whole trail's and the legacy chain's" \
	q $old "BEGIN; SET LOCAL session_replication_role = replica;
	        UPDATE ar.audit_log SET actor = 'someone else'
	         WHERE id = (SELECT min(a.id) FROM ar.audit_log a, ar.audit_legacy_chain l WHERE a.seq <= l.last_seq AND a.company_id IS NOT NULL
	                       AND a.table_name = 'invoice');
	        SELECT 1 / (count(*) = 1 AND bool_and(NOT (SELECT v.valid FROM ar.verify_audit_chain(a.company_id) v))
	                    AND NOT (SELECT v.valid FROM ar.verify_audit_chain() v)
	                    AND (SELECT NOT v.valid FROM ar.verify_audit_chains() v WHERE v.chain = 'legacy'))::int
	          FROM ar.audit_log a WHERE a.actor = 'someone else';
	        ROLLBACK"
verdict "an admin of one company verifies the chains it reads, that company's 0.1.0 rows included" \
	q $old "BEGIN; CREATE ROLE ar_upgrade_chain_admin IN ROLE ar_admin;
	        SELECT ar.revoke_company_access(m.member::regrole::text, c.code)
	          FROM ar.company c JOIN ar.company_member m ON m.company_id = c.id WHERE c.id <> 1;
	        SET LOCAL ROLE ar_upgrade_chain_admin;
	        SELECT 1 / ((SELECT v.valid AND v.rows_checked = (SELECT count(*) FROM ar.audit_log) FROM ar.verify_audit_chain() v)
	                    AND (SELECT count(*) FROM ar.audit_log) < (SELECT l.last_seq FROM ar.audit_legacy_chain l)
	                    AND NOT EXISTS (SELECT 1 FROM ar.verify_audit_chains() v WHERE v.chain = 'legacy' OR v.company_id <> 1))::int;
	        ROLLBACK"
summaries_agree="SELECT 1 / ((SELECT count(*) FROM ar.check_summaries()) = 0 AND (SELECT count(*) FROM ar.open_item_summary) > 0
                  AND NOT EXISTS (SELECT FROM ar.summary_delta)
                  AND NOT EXISTS (SELECT r::text FROM ar.aging_report() r EXCEPT ALL SELECT f::text FROM ar._aging_report_full(current_date) f)
                  AND NOT EXISTS (SELECT f::text FROM ar._aging_report_full(current_date) f EXCEPT ALL SELECT r::text FROM ar.aging_report() r))::int"
verdict "the dashboard summaries filled by the upgrade and kept since (folded at each commit) equal a recomputation; the report equals the full computation" \
	q $old "$summaries_agree"

# a customer of 0.1.0, with 0.1.0 audit rows, is anonymised: its values
# leave the row images, and the chain (redacted rows, their records, the
# chained manifest) verifies, here and after the restore below
q $old "SELECT ar.anonymise_customer(id, 'upgrade test') FROM ar.customer WHERE code = 'UOLD'" >"$work/gdpr.log" 2>&1
verdict "a customer of 0.1.0 is anonymised and the audit chain still verifies" \
	q $old "SELECT 1 / (valid AND NOT EXISTS (SELECT 1 FROM ar.audit_log a
	                                          WHERE concat(a.old_row::text, a.new_row::text) ~ 'Ancienne Cliente|ancienne@|Titulaire Ancienne')
	                    AND (SELECT count(*) FROM ar.audit_redaction) > 0)::int
	        FROM ar.verify_audit_chain()" || sed 's/^/# /' "$work/gdpr.log"

$PG_BIN/pg_dump -Fc -d $old -f "$work/dump" 2>"$work/dump.err"
PGOPTIONS='-c ar_collect.restoring=on' $PG_BIN/pg_restore -d $restored "$work/dump" 2>"$work/restore.err"
verdict "pg_dump and pg_restore of the upgraded database succeed" test $? -eq 0 || sed 's/^/# /' "$work/dump.err" "$work/restore.err"
q $old "$columns_query" >"$work/columns_now"
snapshot $old "$work/columns_now" >"$work/upgraded_rows"
snapshot $restored "$work/columns_now" >"$work/restored_rows"
verdict "the restored database holds the same rows" diff -q "$work/upgraded_rows" "$work/restored_rows" ||
	diff "$work/upgraded_rows" "$work/restored_rows" | sed 's/^/# /'
verdict "the restored audit chain verifies" test "$(q $restored 'SELECT valid FROM ar.verify_audit_chain()')" = t
verdict "the restored database rebuilt its dashboard summaries while reloading the ledger" q $restored "$summaries_agree"

[ -n "${AR_KEEP_DBS:-}" ] || for db in $old $new $restored; do $PG_BIN/dropdb "$db"; done
