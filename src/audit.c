/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trail's per-row work in C (src/sql/40_audit.sql):
 *
 *		ar._audit_row()		the AFTER ROW trigger of ledger tables: skips
 *							updates that only move derived columns (the
 *							trigger's arguments, and updated_at) by comparing
 *							the two tuples' images, and writes one
 *							ar.audit_log row with to_jsonb of OLD and NEW.
 *		ar._audit_seal_rows(last_seq, last_hash)
 *							seals this transaction's unsealed rows in id
 *							order: row_hash = sha256(prev_hash ||
 *							ar.audit_row_content(row, seq)) chained in C, then
 *							written with one UPDATE.
 *
 * The hashed content is computed by SQL (ar.audit_row_content), the same
 * definition ar.audit_row_hash and ar.verify_audit_chain use.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "settings.h"
#include "xact_state.h"

PG_FUNCTION_INFO_V1(ar_audit_row);
PG_FUNCTION_INFO_V1(ar_audit_seal_rows);

/* rows fetched at a time while sealing */
#define SEAL_BATCH	10000

static SPIPlanPtr audit_insert_plan = NULL;

/* the same value (binary image) in both tuples */
static bool
column_equal(TupleDesc desc, int i, HeapTuple oldtup, HeapTuple newtup)
{
	Form_pg_attribute att = TupleDescAttr(desc, i);
	bool		n1,
				n2;
	Datum		v1 = heap_getattr(oldtup, i + 1, desc, &n1);
	Datum		v2 = heap_getattr(newtup, i + 1, desc, &n2);

	if (n1 || n2)
		return n1 == n2;
	return datum_image_eq(v1, v2, att->attbyval, att->attlen);
}

/*
 * How a column counts for the audit, from the trigger's arguments: "col"
 * is derived; "col:other" is derived when column "other" changed too (a
 * bank line's status that follows its allocated amount, while a client
 * setting it to 'ignored' is audited).  updated_at is always derived.
 */
static bool
is_derived(Trigger *tg, TupleDesc desc, const char *attname, HeapTuple oldtup, HeapTuple newtup)
{
	if (strcmp(attname, "updated_at") == 0)
		return true;
	for (int i = 0; i < tg->tgnargs; i++)
	{
		const char *arg = tg->tgargs[i];
		const char *colon = strchr(arg, ':');
		size_t		len = colon ? (size_t) (colon - arg) : strlen(arg);

		if (strlen(attname) != len || strncmp(arg, attname, len) != 0)
			continue;
		if (colon == NULL)
			return true;
		for (int k = 0; k < desc->natts; k++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, k);

			if (!att->attisdropped && strcmp(NameStr(att->attname), colon + 1) == 0)
				return !column_equal(desc, k, oldtup, newtup);
		}
		return false;
	}
	return false;
}

/* true when OLD and NEW differ in no column but the derived ones */
static bool
only_derived_changed(Trigger *tg, TupleDesc desc, HeapTuple oldtup, HeapTuple newtup)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || column_equal(desc, i, oldtup, newtup))
			continue;
		if (!is_derived(tg, desc, NameStr(att->attname), oldtup, newtup))
			return false;
	}
	return true;
}

static Oid
function_owner(Oid fn)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn);
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return owner;
}

static Datum
row_datum(HeapTuple tuple, TupleDesc desc, char *null)
{
	*null = tuple ? ' ' : 'n';
	return tuple ? heap_copy_tuple_as_datum(tuple, desc) : (Datum) 0;
}

Datum
ar_audit_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup = NULL,
				newtup = NULL;
	const char *op;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			rc;
	Oid			save_user;
	int			save_sec;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._audit_row() must be an AFTER ... FOR EACH ROW trigger")));
	if (ar_restoring_on)
		return PointerGetDatum(NULL);

	desc = RelationGetDescr(td->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = "INSERT";
		newtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		op = "DELETE";
		oldtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		op = "UPDATE";
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
		if (only_derived_changed(td->tg_trigger, desc, oldtup, newtup))
			return PointerGetDatum(NULL);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._audit_row() fires on INSERT, UPDATE or DELETE only")));

	/*
	 * Write as the function's owner (the extension's owner): clients have no
	 * INSERT on ar.audit_log.  Not SECURITY DEFINER in SQL, whose per-call
	 * GUC nesting for search_path costs more than the rest of a call that
	 * only finds a derived-column update.
	 */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(function_owner(fcinfo->flinfo->fn_oid), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (audit_insert_plan == NULL)
	{
		Oid			types[4] = {TEXTOID, TEXTOID, RECORDOID, RECORDOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row) "
						   "SELECT $1, $2, (coalesce(j.n, j.o) OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8, j.o, j.n "
						   "  FROM (SELECT pg_catalog.to_jsonb($3) AS o, pg_catalog.to_jsonb($4) AS n) j",
						   4, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		audit_insert_plan = plan;
	}
	values[0] = CStringGetTextDatum(RelationGetRelationName(td->tg_relation));
	values[1] = CStringGetTextDatum(op);
	values[2] = row_datum(oldtup, desc, &nulls[2]);
	values[3] = row_datum(newtup, desc, &nulls[3]);
	rc = SPI_execute_plan(audit_insert_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
	/* once per transaction (the flag is undone with a rolled-back subtransaction) */
	if (!ar_audit_seal_is_pending())
	{
		rc = SPI_execute("SELECT ar._audit_request_seal()", false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "ar._audit_request_seal() failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------- sealing */

typedef struct SealRows
{
	int			n;
	int			cap;
	int64	   *id;
	ItemPointerData *tid;		/* where each row is, as the cursor read it */
	uint8	   *hash;			/* n * PG_SHA256_DIGEST_LENGTH */
} SealRows;

static void
seal_push(SealRows *s, int64 id, ItemPointer tid, const uint8 *hash)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->id = s->id ? repalloc_huge(s->id, sizeof(int64) * s->cap) : palloc(sizeof(int64) * s->cap);
		s->tid = s->tid ? repalloc_huge(s->tid, sizeof(ItemPointerData) * s->cap)
			: palloc(sizeof(ItemPointerData) * s->cap);
		s->hash = s->hash ? repalloc_huge(s->hash, (Size) PG_SHA256_DIGEST_LENGTH * s->cap)
			: palloc((Size) PG_SHA256_DIGEST_LENGTH * s->cap);
	}
	s->id[s->n] = id;
	ItemPointerCopy(tid, &s->tid[s->n]);
	memcpy(s->hash + (Size) PG_SHA256_DIGEST_LENGTH * s->n, hash, PG_SHA256_DIGEST_LENGTH);
	s->n++;
}

static void
sha256_of(pg_cryptohash_ctx *ctx, const uint8 *prev, int prevlen, bytea *content, uint8 *out)
{
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, prev, prevlen) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content)) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

static Datum
seal_hash_array(SealRows *s, int first, int count, bytea *before)
{
	Datum	   *v = palloc(sizeof(Datum) * Max(count, 1));

	for (int i = 0; i < count; i++)
	{
		int			k = first + i;
		bytea	   *b;

		if (k < 0)
		{
			v[i] = PointerGetDatum(before);
			continue;
		}
		b = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		SET_VARSIZE(b, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		memcpy(VARDATA(b), s->hash + (Size) PG_SHA256_DIGEST_LENGTH * k, PG_SHA256_DIGEST_LENGTH);
		v[i] = PointerGetDatum(b);
	}
	return PointerGetDatum(construct_array(v, count, BYTEAOID, -1, false, TYPALIGN_INT));
}

/*
 * Seals one batch: rows.id[i] gets seq = base_seq + i + 1, the hash before
 * it (first_prev for the first) and its own hash, with one UPDATE.
 *
 * Each row is found by where the cursor read it (a TID scan per row: the
 * rows of this transaction, unsealed, cannot have moved since: nothing but
 * this function updates them while the chain's lock is held), its id
 * checked too.  Not "seq IS NULL" as an index condition: with most of the
 * trail sealed the planner estimates one such row and hashed every unsealed
 * row of the transaction for each batch (quadratic in a large
 * transaction).  A sealed row is refused all the same: the UPDATE skips it
 * (and the count below fails), and audit_log_guard_update refuses to
 * change a sealed row whatever the statement.
 */
static void
seal_update(SealRows *rows, int64 base_seq, bytea *first_prev)
{
	Oid			utypes[5] = {INT8ARRAYOID, INT8OID, BYTEAARRAYOID, BYTEAARRAYOID, TIDARRAYOID};
	Datum		uargs[5];
	int			rc;
	Datum	   *ids = palloc(sizeof(Datum) * rows->n);
	Datum	   *tids = palloc(sizeof(Datum) * rows->n);
	static const char *const off[] = {"enable_seqscan", "enable_indexscan", "enable_bitmapscan",
	"enable_hashjoin", "enable_mergejoin", "enable_material"};
	int			nestlevel;

	for (int i = 0; i < rows->n; i++)
	{
		ids[i] = Int64GetDatum(rows->id[i]);
		tids[i] = PointerGetDatum(&rows->tid[i]);
	}
	uargs[0] = PointerGetDatum(construct_array(ids, rows->n, INT8OID, 8, FLOAT8PASSBYVAL,
											   TYPALIGN_DOUBLE));
	uargs[1] = Int64GetDatum(base_seq);
	uargs[2] = seal_hash_array(rows, -1, rows->n, first_prev);
	uargs[3] = seal_hash_array(rows, 0, rows->n, NULL);
	uargs[4] = PointerGetDatum(construct_array(tids, rows->n, TIDOID, sizeof(ItemPointerData), false,
											   TYPALIGN_SHORT));
	/*
	 * The TID scan is the plan, whatever the estimates (the planner prefers
	 * hashing the whole table when it is small): the other paths are
	 * disabled for this statement only, as a function's SET clause would.
	 */
	nestlevel = NewGUCNestLevel();
	for (int i = 0; i < (int) lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_with_args("UPDATE ar.audit_log a "
							   "   SET seq = $2 + u.n, prev_hash = u.prev, row_hash = u.hash "
							   "  FROM unnest($5, $1, $3, $4) WITH ORDINALITY AS u(tid, id, prev, hash, n) "
							   " WHERE a.ctid = u.tid AND a.id = u.id AND coalesce(a.seq, 0) = 0",
							   5, utypes, uargs, NULL, false, 0);
	AtEOXact_GUC(true, nestlevel);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "sealing the audit trail failed: %s", SPI_result_code_string(rc));
	if (SPI_processed != (uint64) rows->n)
		elog(ERROR, "sealed " UINT64_FORMAT " audit rows of %d", SPI_processed, rows->n);
}

/*
 * ar._audit_seal_rows(last_seq bigint, last_hash bytea) RETURNS bigint:
 * chains this transaction's unsealed audit rows after (last_seq,
 * last_hash), in id order, and returns how many it sealed.  Called by
 * ar._audit_seal() under the chain's advisory lock.
 *
 * The rows are read SEAL_BATCH at a time and each batch is sealed before
 * the next is read, in memory of its own: a transaction that wrote a
 * million audit rows (a large statement import) seals them in bounded
 * memory.  The cursor keeps the snapshot it was opened with, so it goes on
 * reading the rows as they were, unsealed, while batches are updated.
 */
Datum
ar_audit_seal_rows(PG_FUNCTION_ARGS)
{
	int64		last_seq = PG_GETARG_INT64(0);
	bytea	   *last_hash = PG_GETARG_BYTEA_PP(1);
	SealRows	rows = {0};
	Oid			types[1] = {INT8OID};
	Datum		args[1];
	Portal		portal;
	pg_cryptohash_ctx *ctx;
	uint8		prev[PG_SHA256_DIGEST_LENGTH];
	const uint8 *prevp = (const uint8 *) VARDATA_ANY(last_hash);
	int			prevlen = VARSIZE_ANY_EXHDR(last_hash);
	int64		sealed = 0;
	MemoryContext batchcxt;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "audit seal batch",
									 ALLOCSET_DEFAULT_SIZES);

	args[0] = Int64GetDatum(last_seq);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT a.id, ar.audit_row_content(a, $1 + row_number() OVER (ORDER BY a.id)), a.ctid "
									   "  FROM ar.audit_log a "
									   " WHERE a.seq IS NULL AND a.txid = pg_current_xact_id() "
									   " ORDER BY a.id",
									   1, types, args, NULL, true, 0);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL)
		elog(ERROR, "out of memory");
	for (;;)
	{
		MemoryContext old;
		bytea	   *first_prev;

		SPI_cursor_fetch(portal, true, SEAL_BATCH);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batchcxt);
		/* the hash the batch's first row chains to */
		first_prev = (bytea *) palloc(VARHDRSZ + prevlen);
		SET_VARSIZE(first_prev, VARHDRSZ + prevlen);
		memcpy(VARDATA(first_prev), prevp, prevlen);
		rows.n = 0;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			Datum		content = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
			bytea	   *c;
			uint8		hash[PG_SHA256_DIGEST_LENGTH];

			if (isnull)
				elog(ERROR, "audit row " INT64_FORMAT " has no content", id);
			c = DatumGetByteaPP(content);
			sha256_of(ctx, prevp, prevlen, c, hash);
			if ((Pointer) c != DatumGetPointer(content))
				pfree(c);
			seal_push(&rows, id,
					  (ItemPointer) DatumGetPointer(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull)), hash);
			memcpy(prev, hash, sizeof(prev));
			prevp = prev;
			prevlen = PG_SHA256_DIGEST_LENGTH;
			CHECK_FOR_INTERRUPTS();
		}
		SPI_freetuptable(SPI_tuptable);
		seal_update(&rows, last_seq + sealed, first_prev);
		sealed += rows.n;
		MemoryContextSwitchTo(old);
		MemoryContextReset(batchcxt);
		/* the arrays lived in batchcxt */
		rows.id = NULL;
		rows.tid = NULL;
		rows.hash = NULL;
		rows.cap = 0;
	}
	SPI_cursor_close(portal);
	pg_cryptohash_free(ctx);
	SPI_finish();
	PG_RETURN_INT64(sealed);
}
