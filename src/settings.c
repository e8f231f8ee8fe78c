/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The ar_collect.* settings read by the SQL side of the extension
 *		(the worker's own are in worker.c), defined whenever the library is
 *		loaded, so that PostgreSQL checks who may set them (doc/security.md):
 *
 *		ar_collect.restoring	(superuser, or GRANT SET ON PARAMETER)
 *							on while pg_restore reloads a dump: the audit
 *							triggers keep the dumped trail instead of
 *							auditing again, and the checks that a dump
 *							replays in another order wait.  It switches the
 *							audit off: PGC_SUSET.  Read through
 *							ar._restoring(), which loads the library first:
 *							a value a role without that privilege set before
 *							the library was loaded (a placeholder) is refused
 *							when it is, never read.
 *		ar_collect.dunning_return_rows	(anyone)
 *							off: ar.run_dunning queues without returning
 *							the notices it queued (the worker's daily run).
 *							It changes nothing but the caller's own result.
 *
 * The prefix ar_collect is not reserved: a database still on the 0.1.0
 * SQL (before ALTER EXTENSION UPDATE) sets ar_collect.audit_seal_requested,
 * which 0.2.0 no longer reads.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "settings.h"

PG_FUNCTION_INFO_V1(ar_restoring);

bool		ar_restoring_on = false;
static bool dunning_return_rows = true;
static char *summary_shards = NULL;
static char *audit_shards = NULL;

void
ar_define_settings(void)
{
	DefineCustomBoolVariable("ar_collect.restoring",
							 "Keeps the dumped audit trail while pg_restore reloads a dump (audit triggers off).",
							 "Superuser only, or a role granted SET ON PARAMETER ar_collect.restoring.",
							 &ar_restoring_on,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("ar_collect.dunning_return_rows",
							 "Whether ar.run_dunning returns the notices it queues.",
							 "Off for the worker's daily run, which does not read them.",
							 &dunning_return_rows,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Set by the aging summaries' trigger on a Citus shard, for the rest of
	 * the transaction (86_dashboard_summary.sql, ar._summary_delta_add): the
	 * shards of ar.summary_delta the fold at commit folds.  A caller setting
	 * it only makes its own commit fold those shards, or fail: the fold
	 * takes shards of ar.summary_delta only, and on one node none.
	 */
	DefineCustomStringVariable("ar_collect.summary_shards",
							   "The shards of ar.summary_delta the transaction wrote (internal).",
							   "Set by the summary trigger on a Citus worker; read by the fold at commit.",
							   &summary_shards,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);

	/*
	 * Set by the audit triggers on a Citus shard when the audit trail is
	 * distributed, for the rest of the transaction
	 * (41_audit_chains_1_shards.sql): the shards of ar.audit_log the seal at
	 * commit seals.  A caller setting it only makes its own commit seal its
	 * own rows of those shards (the seal takes the transaction's rows, and
	 * shards of ar.audit_log only, else fails), or skip sealing the rows it
	 * wrote, which its own verification then reports as outside the chain;
	 * on one node it is not read.
	 */
	DefineCustomStringVariable("ar_collect.audit_shards",
							   "The shards of ar.audit_log the transaction wrote (internal).",
							   "Set by the audit triggers on a Citus worker; read by the seal at commit.",
							   &audit_shards,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
}

/* ar._restoring() RETURNS boolean: ar_collect.restoring, the library loaded */
Datum
ar_restoring(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_BOOL(ar_restoring_on);
}
