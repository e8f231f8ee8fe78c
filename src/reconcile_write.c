/*-------------------------------------------------------------------------
 *
 * reconcile_write.c
 *		Which write is ar.reconcile()'s own: a backend-local stage, set and
 *		cleared (PG_FINALLY) by the engine around its one statement that
 *		inserts the allocations of a run, read by the ledger's triggers.
 *
 * The engine has locked every invoice it pays (FOR UPDATE, open amount
 * unchanged since it was loaded) and every bank line it allocates (FOR
 * UPDATE SKIP LOCKED at load), and decided amounts that fit them.  The
 * allocation trigger (ar._allocation_apply_rows, 30_ledger_1_allocation_apply.sql)
 * claims that statement and applies it set-wise without locking and
 * checking again; the row triggers of ar.invoice and ar.bank_transaction
 * (maintenance and audit, 97_reconcile_write.sql) skip the rows of that
 * apply, which computes their derived columns itself (an update of derived
 * columns only writes no audit row anyway).  CHECK constraints still refuse
 * an over-allocation.
 *
 * Why it cannot be forged or leak: the stage lives in this backend's C
 * memory (no setting, table or search_path a caller owns reaches it); only
 * the engine sets it, for its fixed statement; the claim succeeds once, by
 * a statement trigger fired by that statement itself (trigger depth one
 * more than the engine's), so the triggers of nested statements (user
 * triggers, deeper than that) keep every check; it is reset on error.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"

#include "reconcile.h"

typedef enum EngineStage
{
	ENGINE_IDLE,				/* no engine statement running */
	ENGINE_INSERTING,			/* the engine's allocations being inserted */
	ENGINE_APPLYING,			/* their statement trigger applying them */
	ENGINE_APPLIED				/* applied: nothing more to skip */
} EngineStage;

static EngineStage stage = ENGINE_IDLE;
static int	engine_depth = 0;	/* trigger depth of the engine's statement */

static int
trigger_depth(void)
{
	LOCAL_FCINFO(fc, 0);

	InitFunctionCallInfoData(*fc, NULL, 0, InvalidOid, NULL, NULL);
	return DatumGetInt32(pg_trigger_depth(fc));
}

void
rc_engine_write_begin(void)
{
	engine_depth = trigger_depth();
	stage = ENGINE_INSERTING;
}

void
rc_engine_write_end(void)
{
	stage = ENGINE_IDLE;
}

/*
 * ar._reconcile_apply_claim(): true once, for the statement trigger fired
 * by the engine's own statement; the stage moves to applying.
 */
PG_FUNCTION_INFO_V1(ar_reconcile_apply_claim);
Datum
ar_reconcile_apply_claim(PG_FUNCTION_ARGS)
{
	if (stage != ENGINE_INSERTING || trigger_depth() != engine_depth + 1)
		PG_RETURN_BOOL(false);
	stage = ENGINE_APPLYING;
	PG_RETURN_BOOL(true);
}

/* ar._reconcile_apply_done(): the claimed apply is over. */
PG_FUNCTION_INFO_V1(ar_reconcile_apply_done);
Datum
ar_reconcile_apply_done(PG_FUNCTION_ARGS)
{
	if (stage == ENGINE_APPLYING)
		stage = ENGINE_APPLIED;
	PG_RETURN_VOID();
}

/*
 * ar._reconcile_applying(): whether a row is written by the claimed apply's
 * own statements (the WHEN of the row triggers it skips): the trigger
 * depth of the apply's statements, not of anything nested in them.
 */
PG_FUNCTION_INFO_V1(ar_reconcile_applying);
Datum
ar_reconcile_applying(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(stage == ENGINE_APPLYING && trigger_depth() == engine_depth + 1);
}
