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
 * which 0.2.0 no longer reads.  State a caller must not change lives in the
 * backend instead (xact_state.c).
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
}

/* ar._restoring() RETURNS boolean: ar_collect.restoring, the library loaded */
Datum
ar_restoring(PG_FUNCTION_ARGS pg_attribute_unused())
{
	PG_RETURN_BOOL(ar_restoring_on);
}
