# Shared by test/citus.sh and bench/citus_scale.sh: a Citus cluster of three
# nodes on localhost, and the ledger distributed by company as far as it can
# be today (doc/scale_out.md, "Distributing the ledger on Citus").  Source it
# after tools/lib.sh; it defines functions only.

# citus_cluster_start WORK BASE [extra settings...]: a coordinator
# (WORK/node0, port BASE) and two workers (node1, node2: BASE + 1, + 2),
# citus and ar_collect preloaded, the workers added to the coordinator.
citus_cluster_start() {
	local work=$1 base=$2 i; shift 2
	for i in 0 1 2; do
		cluster_start "$work/node$i" $((base + i)) "listen_addresses = 'localhost'" \
			"shared_preload_libraries = 'citus,ar_collect'" "max_connections = 60" "$@" \
			|| { cat "$work/node$i/server.log" >&2; return 1; }
		citus_sql $base $i "CREATE EXTENSION citus" >/dev/null || return 1
	done
	citus_sql $base 0 "SELECT citus_set_coordinator_host('localhost', $base);
		SELECT citus_add_node('localhost', $((base + 1))); SELECT citus_add_node('localhost', $((base + 2)))" >/dev/null
}

# citus_sql BASE NODE SQL: runs SQL on node NODE (0: coordinator) of the
# cluster at BASE, database postgres, as postgres.
citus_sql() {
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $(($1 + $2)) -U postgres -d postgres -c "$3"
}

# citus_distribute_ledger BASE SHARDS: after CREATE EXTENSION ar_collect on
# the coordinator, distributes what can be distributed today:
# - the foreign keys between ar tables dropped on every node (CREATE
#   EXTENSION made the tables on the workers too, and Citus keeps a worker's
#   own copy as its shell table, keys included), their definitions kept in
#   public.ar_foreign_keys;
# - the aging summaries (ar.open_item_summary, ar.aging_summary and their
#   delta table ar.summary_delta) and the KPI summary (ar.kpi_summary,
#   ar.kpi_summary_delta) distributed with the ledger, co-located,
#   ar.summary_state a reference table: their triggers on ar.invoice and
#   ar.allocation stay on and write the co-located shards on the worker
#   (blocker 6);
# - ar._access() allowed to read the reference tables inside a shard query
#   (the policies run on the workers);
# - the company, rule and e-invoicing status tables as reference tables,
#   customers, invoices and allocations distributed by company_id,
#   co-located (the rows already there copied with their triggers off);
# - the reconciliation runs (ar.reconcile_run, a row per company since
#   issue 14) distributed co-located, so that a run's row is on the shard of
#   the decisions naming it;
# - the foreign keys whose two ends are Citus tables added back (created on
#   every shard);
# - each worker's identity sequences moved to its own range, from its group
#   id times 2^48 (the rule Citus applies to sequences it distributes
#   itself), so that rows inserted through different nodes get distinct ids.
# Prints what went wrong and returns 1 on the first failure.
citus_distribute_ledger() {
	local base=$1 shards=$2 i try
	citus_sql $base 0 "CREATE TABLE public.ar_foreign_keys AS
		SELECT conrelid::regclass::text AS tbl, confrelid::regclass::text AS ref, conname, pg_get_constraintdef(oid) AS def
		  FROM pg_constraint WHERE contype = 'f' AND connamespace = 'ar'::regnamespace" >/dev/null || return 1
	for i in 0 1 2; do
		# the background worker's first cycle may hold a lock the other way round: try again
		for try in 1 2 3; do
			citus_sql $base $i "
SET citus.enable_ddl_propagation = off;
DO \$\$ DECLARE r record; BEGIN
	FOR r IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'ar'::regnamespace LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
	END LOOP; END \$\$;
ALTER FUNCTION ar._access() SET citus.allow_nested_distributed_execution = on;" >/dev/null && break
			[ $try = 3 ] && return 1
			sleep 1
		done
	done
	# the rows already there are copied into the shards as they are, their
	# triggers off: what the triggers derive (open amounts, audit rows) is in
	# the rows (with them on, the copy resets each invoice's open amount and
	# fails on the allocations' row locks); each step its own transaction
	# (in one, with rows in the tables, a worker fails: "cannot insert
	# multiple commands into a prepared statement"); the triggers that were
	# on are turned on again, one statement each
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $base -U postgres -d postgres -f - >/dev/null <<<"
SET citus.enable_unsafe_triggers = on;
CREATE TABLE public.ar_copy_triggers AS
SELECT tgrelid::regclass::text AS tbl, tgname FROM pg_trigger
 WHERE tgrelid IN ('ar.customer'::regclass, 'ar.invoice'::regclass, 'ar.allocation'::regclass)
   AND NOT tgisinternal AND tgenabled <> 'D';
ALTER TABLE ar.customer DISABLE TRIGGER USER;
ALTER TABLE ar.invoice DISABLE TRIGGER USER;
ALTER TABLE ar.allocation DISABLE TRIGGER USER;
SELECT create_reference_table('ar.company');
SELECT create_reference_table('ar.company_member');
SELECT create_reference_table('ar.rate_series');
SELECT create_reference_table('ar.reference_rate');
SELECT create_reference_table('ar.penalty_regime');
SELECT create_reference_table('ar.penalty_regime_fee');
SELECT create_reference_table('ar.einvoice_status_code');
SELECT create_distributed_table('ar.customer', 'company_id', shard_count => $shards);
SELECT create_distributed_table('ar.invoice', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.allocation', 'company_id', colocate_with => 'ar.customer');
SELECT create_reference_table('ar.summary_state');
SELECT create_distributed_table('ar.open_item_summary', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.aging_summary', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.summary_delta', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.kpi_summary', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.kpi_summary_delta', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.reconcile_run', 'company_id', colocate_with => 'ar.customer');
SELECT format('ALTER TABLE %s ENABLE TRIGGER %I', tbl, tgname) FROM public.ar_copy_triggers \\gexec" || return 1
	citus_sql $base 0 "DO \$\$ DECLARE f record; BEGIN
	FOR f IN SELECT * FROM public.ar_foreign_keys k
	          WHERE k.tbl::regclass IN (SELECT logicalrelid FROM pg_dist_partition)
	            AND k.ref::regclass IN (SELECT logicalrelid FROM pg_dist_partition) ORDER BY k.tbl, k.conname LOOP
		EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', f.tbl, f.conname, f.def);
	END LOOP; END \$\$" >/dev/null || return 1
	# (bigint sequences: ar.input_bound's integer one numbers the rows of a
	# shared table, not company data)
	local failed
	failed=$(citus_sql $base 0 "SELECT string_agg(nodeport || ': ' || result, '; ') FROM run_command_on_workers(\$cmd\$
	SELECT count(setval(s.seq, greatest(s.last, g.groupid::bigint << 48), s.last >= g.groupid::bigint << 48))
	  FROM (SELECT q.seq, coalesce(p.last_value, 0) AS last
	          FROM (SELECT pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass AS seq
	                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	                 WHERE c.relnamespace = 'ar'::regnamespace AND a.attidentity <> '' AND NOT a.attisdropped
	                   AND a.atttypid = 'bigint'::regtype) q
	          JOIN pg_sequences p ON format('%I.%I', p.schemaname, p.sequencename)::regclass = q.seq) s,
	       pg_dist_local_group g\$cmd\$) WHERE NOT success") || return 1
	[ -z "$failed" ] || { echo "identity ranges: $failed" >&2; return 1; }
}

# citus_distribute_audit_trail BASE: after citus_distribute_ledger, the audit
# trail distributed with the ledger (doc/scale_out.md, blocker 8):
# ar.audit_log, ar.audit_seal and the GDPR records that name audit rows
# (ar.gdpr_anonymisation, ar.audit_redaction) by company_id, co-located with
# ar.customer; the coordinator's trail copied into their shards as it is
# (the trail's own triggers off during the copy: its guard refuses any
# insert but the audit triggers', and each row keeps its hash); their
# foreign keys added back.  From then on an audit trigger firing on a shard
# writes the company's audit shard on that node, and the seal at that
# node's commit chains it there (src/sql/41_audit_chains_1_shards.sql).
# (Each worker keeps in its own table the rows its CREATE EXTENSION
# audited, which Citus no longer reads there.)
citus_distribute_audit_trail() {
	local base=$1
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $base -U postgres -d postgres -f - >/dev/null <<<"
SET citus.enable_unsafe_triggers = on;
ALTER TABLE ar.audit_log DISABLE TRIGGER USER;
ALTER TABLE ar.audit_seal DISABLE TRIGGER USER;
SELECT create_distributed_table('ar.audit_log', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.audit_seal', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.gdpr_anonymisation', 'company_id', colocate_with => 'ar.customer');
SELECT create_distributed_table('ar.audit_redaction', 'company_id', colocate_with => 'ar.customer');
ALTER TABLE ar.audit_log ENABLE TRIGGER USER;
ALTER TABLE ar.audit_seal ENABLE TRIGGER USER;
SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.tbl, k.conname, k.def)
  FROM public.ar_foreign_keys k
 WHERE k.tbl IN ('ar.gdpr_anonymisation', 'ar.audit_redaction') ORDER BY k.tbl, k.conname \\gexec" || return 1
}

# citus_distribute_dunning BASE: what ar.run_dunning reads besides the
# tables distributed above (test/citus.sh distributes the disputes,
# promises, plans, blocks, notices and communications with the read
# functions): the rule and template tables as reference tables, the
# customers' policies, the dunning accounts and the plans' instalments and
# invoices distributed with the ledger (co-located), those not distributed
# already.  The run then goes company after company
# (80_dunning_5_run_0_distributed.sql).
citus_distribute_dunning() {
	$PG_BIN/psql -X -q -t -A -v ON_ERROR_STOP=1 -h localhost -p $1 -U postgres -d postgres -f - >/dev/null <<<"
SET citus.enable_unsafe_triggers = on;
SET client_min_messages = warning;
SELECT create_reference_table(t) FROM unnest(ARRAY['ar.dunning_policy', 'ar.dunning_level', 'ar.dunning_template',
	'ar.letter_text', 'ar.penalty_wording', 'ar.dunning_segment_policy']) t
 WHERE NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t::regclass);
SELECT create_distributed_table(t, 'company_id', colocate_with => 'ar.customer')
  FROM unnest(ARRAY['ar.customer_dunning_policy', 'ar.dunning_account', 'ar.payment_plan_instalment',
	'ar.payment_plan_invoice']) t
 WHERE NOT EXISTS (SELECT FROM pg_dist_partition p WHERE p.logicalrelid = t::regclass);
-- the run's per-company work delegated to the company's node, as ar.distribute does
SELECT create_distributed_function('ar._run_dunning_company(bigint, bigint[], date, boolean, boolean, jsonb)', 'company',
	colocate_with => 'ar.customer');"
}

# citus_test_begin OFFSET NAME: what a Citus shell test starts with (after
# sourcing tools/lib.sh, this file and tools/tap.sh): "1..0 # SKIP" and exit
# without citus; else BASE (AR_CITUS_PORT + OFFSET, default 55710 + OFFSET)
# and WORK (a fresh /tmp/ar_NAME.XXXXXX), the three nodes stopped and WORK
# removed on exit (kept with AR_KEEP=1, to look into a failure).
citus_test_begin() {
	if [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
		echo "1..0 # SKIP citus is not installed"
		exit 0
	fi
	BASE=$((${AR_CITUS_PORT:-55710} + $1))
	WORK=$(mktemp -d "/tmp/ar_$2.XXXXXX")
	chmod 755 "$WORK"
	[ -n "${AR_KEEP:-}" ] || trap 'for i in 0 1 2; do cluster_stop "$WORK/node$i"; done; rm -rf "$WORK"' EXIT
}

# citus_sample_ledger: the SQL of a ledger written on one node (test/citus.sh,
# test/citus_distribute.sh): companies M and N (21, 22), six customers each,
# sixty invoices each (credit notes among them), allocations paid on time,
# late, partly and written off (allocations after the dates read too), a
# cancelled invoice.
citus_sample_ledger() {
	echo "
INSERT INTO ar.company (id, code, name) OVERRIDING SYSTEM VALUE VALUES (21, 'M', 'Company M'), (22, 'N', 'Company N');
INSERT INTO ar.customer (id, company_id, code, name) OVERRIDING SYSTEM VALUE
SELECT co * 100 + k, co, 'C' || k, 'Customer ' || k FROM generate_series(21, 22) co, generate_series(1, 6) k;
INSERT INTO ar.invoice (id, company_id, customer_id, number, issue_date, due_date, amount) OVERRIDING SYSTEM VALUE
SELECT co * 10000 + k, co, co * 100 + 1 + k % 6, 'P-' || k, DATE '2025-10-01' + 2 * k, DATE '2025-10-31' + 2 * k,
       CASE WHEN k % 17 = 0 THEN -(50 + k) ELSE 100 + k * (co - 20) END
  FROM generate_series(21, 22) co, generate_series(1, 60) k;
INSERT INTO ar.allocation (id, company_id, invoice_id, amount, allocated_on, method) OVERRIDING SYSTEM VALUE
SELECT i.id, i.company_id, i.id, CASE WHEN i.id % 4 = 2 THEN round(i.amount / 3, 2) ELSE i.amount END,
       i.due_date + (ARRAY[-5, 40, 10, 70])[i.id % 4 + 1], CASE WHEN i.id % 4 = 3 THEN 'write_off' ELSE 'manual' END
  FROM ar.invoice i WHERE i.company_id IN (21, 22) AND i.amount > 0 AND i.id % 5 <> 0;
SELECT ar.cancel_invoice(210050, DATE '2026-02-25');"
}
