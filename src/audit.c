/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trail's per-row work in C (src/sql/40_audit.sql,
 *		41_audit_chains.sql):
 *
 *		ar._audit_row()		the AFTER ROW trigger of ledger tables: skips
 *							updates that only move derived columns (the
 *							trigger's arguments, and updated_at) by comparing
 *							the two tuples' images, and writes one
 *							ar.audit_log row with to_jsonb of OLD and NEW and
 *							the row's company (ar_audit_company_row; 0.1.0's
 *							ar_audit_row without it); fired on a shard
 *							(Citus), through ar._audit_row_on_shard() into
 *							the company's audit shard.
 *		ar._audit_hash()	the BEFORE INSERT trigger of ar.audit_log (since
 *							0.2.0): each row's row_hash = sha256 of
 *							ar.audit_row_content(row, NULL), printed here;
 *							the seal of its transaction (ar.audit_seal,
 *							41_audit_chains.sql) chains the row hashes at
 *							commit.
 *		ar._audit_seal_rows(last_seq, last_hash)
 *							0.1.0's seal of its one chain, until the
 *							upgrade: row_hash = sha256(prev_hash ||
 *							ar.audit_row_content(row, seq)) chained in C,
 *							then written with one UPDATE per 10,000 rows.
 *
 * The hashed content is defined by SQL (ar.audit_row_content), which
 * ar.audit_row_hash and ar.verify_audit_chain use: the text printed here
 * is the same, byte for byte (test/pgtap/audit_write_path.sql).
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
#include "common/int.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "settings.h"
#include "xact_state.h"

PG_FUNCTION_INFO_V1(ar_audit_row);
PG_FUNCTION_INFO_V1(ar_audit_company_row);
PG_FUNCTION_INFO_V1(ar_audit_seal_rows);
PG_FUNCTION_INFO_V1(ar_logical_table_name);

/* rows fetched at a time while sealing */
#define SEAL_BATCH	10000

/* the INSERT of 0.1.0's trail (no company_id), and of 0.2.0's */
static SPIPlanPtr audit_insert_plan = NULL;
static SPIPlanPtr audit_company_insert_plan = NULL;

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

/*
 * The name of the table a relation stands for: its own, or on Citus the
 * name of the table a shard belongs to.  A ledger table's rows live there
 * in shards, relations of the table's schema named <table>_<shard id>, each
 * with the table's triggers: their rows are the table's, recorded by the
 * audit trail under its name (and with its company, row_company()), so that
 * a company's trail reads the same on every node and after its shard moves;
 * the triggers that act by table act as on the table.  A relation is taken
 * for a shard when its name is another relation's of its schema followed by
 * "_" and digits (no table of ar_collect is named so, and creating one in
 * its schema takes the schema owner's privilege).  Returned in the current
 * memory context.
 */
static char *
logical_table_name(const char *name, Oid namespace)
{
	int			len = strlen(name);
	int			digits = len;
	char	   *table;

	while (digits > 0 && name[digits - 1] >= '0' && name[digits - 1] <= '9')
		digits--;
	if (digits < len && digits >= 2 && name[digits - 1] == '_')
	{
		table = pnstrdup(name, digits - 1);
		if (OidIsValid(get_relname_relid(table, namespace)))
			return table;
		pfree(table);
	}
	return pstrdup(name);
}

/*
 * ar._logical_table_name(regclass): logical_table_name() for SQL callers
 * (the triggers that act by table).  Read from the catalog caches, the
 * relation neither opened nor locked: any role may call it, as any role
 * reads pg_class.
 */
Datum
ar_logical_table_name(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	PG_RETURN_TEXT_P(cstring_to_text(logical_table_name(name, get_rel_namespace(relid))));
}

/*
 * The company of the row a trigger fired for: a company's own id, else its
 * company_id column (bigint or integer); *null when the table has neither
 * (ar._audit_company() then finds it from the row's image).
 */
static Datum
row_company(Relation rel, const char *table, HeapTuple tup, char *null)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			col = SPI_fnumber(desc, strcmp(table, "company") == 0 ? "id" : "company_id");
	bool		isnull;
	Datum		d;
	Oid			type;

	*null = 'n';
	if (col <= 0)
		return (Datum) 0;
	type = TupleDescAttr(desc, col - 1)->atttypid;
	d = heap_getattr(tup, col, desc, &isnull);
	if (isnull)
		return (Datum) 0;
	if (type == INT8OID)
	{
		*null = ' ';
		return d;
	}
	if (type == INT4OID)
	{
		*null = ' ';
		return Int64GetDatum((int64) DatumGetInt32(d));
	}
	return (Datum) 0;
}

static Datum audit_row(FunctionCallInfo fcinfo, bool with_company);
static void audit_row_on_shard(TriggerData *td, const char *table, const char *op, HeapTuple oldtup,
							   HeapTuple newtup);
static void audit_row_insert(TriggerData *td, const char *table, const char *op, HeapTuple oldtup,
							 HeapTuple newtup, bool with_company, SPIPlanPtr *planp);

/* 0.1.0's ar._audit_row(): a trail without company_id (until the upgrade) */
Datum
ar_audit_row(PG_FUNCTION_ARGS)
{
	return audit_row(fcinfo, false);
}

/* ar._audit_row() since 0.2.0: each audit row with its company */
Datum
ar_audit_company_row(PG_FUNCTION_ARGS)
{
	return audit_row(fcinfo, true);
}

static Datum
audit_row(FunctionCallInfo fcinfo, bool with_company)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup = NULL,
				newtup = NULL;
	const char *op;
	char	   *table;
	Oid			save_user;
	int			save_sec;
	SPIPlanPtr *planp = with_company ? &audit_company_insert_plan : &audit_insert_plan;

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
	table = logical_table_name(RelationGetRelationName(td->tg_relation),
							   RelationGetNamespace(td->tg_relation));
	if (with_company && strcmp(table, RelationGetRelationName(td->tg_relation)) != 0)
		audit_row_on_shard(td, table, op, oldtup, newtup);
	else
		audit_row_insert(td, table, op, oldtup, newtup, with_company, planp);
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
	return PointerGetDatum(NULL);
}

/*
 * The audit row of a trigger firing on a shard (Citus): written by
 * ar._audit_row_on_shard() into the audit shard of the row's company
 * (41_audit_chains_1_shards.sql), which asks for the seal itself.
 */
static void
audit_row_on_shard(TriggerData *td, const char *table, const char *op, HeapTuple oldtup, HeapTuple newtup)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Oid			types[6] = {OIDOID, TEXTOID, TEXTOID, RECORDOID, RECORDOID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	values[0] = ObjectIdGetDatum(RelationGetRelid(td->tg_relation));
	values[1] = CStringGetTextDatum(table);
	values[2] = CStringGetTextDatum(op);
	values[3] = row_datum(oldtup, desc, &nulls[3]);
	values[4] = row_datum(newtup, desc, &nulls[4]);
	values[5] = row_company(td->tg_relation, table, newtup ? newtup : oldtup, &nulls[5]);
	rc = SPI_execute_with_args("SELECT ar._audit_row_on_shard($1::pg_catalog.regclass, $2, $3, "
							   "pg_catalog.to_jsonb($4), pg_catalog.to_jsonb($5), $6)",
							   6, types, values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "ar._audit_row_on_shard() failed: %s", SPI_result_code_string(rc));
}

/*
 * The audit row of a trigger firing on its table: one prepared INSERT, and
 * the seal at commit asked for.
 */
static void
audit_row_insert(TriggerData *td, const char *table, const char *op, HeapTuple oldtup, HeapTuple newtup,
				 bool with_company, SPIPlanPtr *planp)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', 'n'};
	int			rc;

	if (*planp == NULL)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, RECORDOID, RECORDOID, INT8OID};
		SPIPlanPtr	plan;

		if (with_company)
			plan = SPI_prepare("INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row, company_id) "
							   "SELECT $1, $2, (coalesce(j.n, j.o) OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8, j.o, j.n, "
							   "       coalesce($5, ar._audit_company($1, coalesce(j.n, j.o))) "
							   "  FROM (SELECT pg_catalog.to_jsonb($3) AS o, pg_catalog.to_jsonb($4) AS n) j",
							   5, types);
		else
			plan = SPI_prepare("INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row) "
							   "SELECT $1, $2, (coalesce(j.n, j.o) OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8, j.o, j.n "
							   "  FROM (SELECT pg_catalog.to_jsonb($3) AS o, pg_catalog.to_jsonb($4) AS n) j",
							   4, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*planp = plan;
	}
	values[0] = CStringGetTextDatum(table);
	values[1] = CStringGetTextDatum(op);
	values[2] = row_datum(oldtup, desc, &nulls[2]);
	values[3] = row_datum(newtup, desc, &nulls[3]);
	if (with_company)
		values[4] = row_company(td->tg_relation, table, newtup ? newtup : oldtup, &nulls[4]);
	rc = SPI_execute_plan(*planp, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
	/* once per transaction (the flag is undone with a rolled-back subtransaction) */
	if (!ar_audit_seal_is_pending())
	{
		rc = SPI_execute("SELECT ar._audit_request_seal()", false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "ar._audit_request_seal() failed: %s", SPI_result_code_string(rc));
	}
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
sha256_of(pg_cryptohash_ctx *ctx, const uint8 *prev, int prevlen, const char *content, int len, uint8 *out)
{
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, prev, prevlen) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) content, len) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

/*
 * Column col of tup as jsonb_build_array prints it: a bigint as its digits
 * (INT8OID), text escaped as jsonb escapes strings (TEXTOID), an xid8 as
 * the string of its digits (XID8OID: r.txid::text), a jsonb as its own
 * output (JSONBOID), NULL as null.
 */
static void
content_column(StringInfo b, HeapTuple tup, TupleDesc desc, int col, Oid type)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, col, desc, &isnull);
	Jsonb	   *jb;

	if (isnull)
		appendStringInfoString(b, "null");
	else if (type == INT8OID)
		appendStringInfo(b, INT64_FORMAT, DatumGetInt64(d));
	else if (type == TEXTOID)
		escape_json(b, TextDatumGetCString(d));
	else if (type == XID8OID)
		appendStringInfo(b, "\"" UINT64_FORMAT "\"", U64FromFullTransactionId(DatumGetFullTransactionId(d)));
	else
	{
		jb = DatumGetJsonbP(d);
		(void) JsonbToCString(b, &jb->root, VARSIZE(jb));
		if ((Pointer) jb != DatumGetPointer(d))
			pfree(jb);
	}
}

/* where the content's columns are in a tuple: see audit_content() */
typedef struct ContentColumns
{
	int			att[11];		/* id, logged_at, txid, actor, role, table_name,
								 * operation, row_id, old_row, new_row,
								 * company_id (0: not in the content) */
	Oid			txid_type;		/* TEXTOID (txid::text) or XID8OID */
} ContentColumns;

/*
 * What the hash of an audit row covers: the text of
 * ar.audit_row_content(row, seq) (41_audit_chains.sql), built here without
 * the jsonb it goes through there (jsonb_build_array copies the row's
 * images into a new jsonb before printing it).  seq NULL: the content of a
 * row hashed at insert (since 0.2.0, sealed by the seal of its transaction:
 * its first element is null); else a row of 0.1.0's chain at that seq.
 * The columns: id, logged_at, txid, actor, role, table_name, operation,
 * row_id, old_row, new_row, and company_id (the last element, when cols
 * names it; not in the legacy chain's, as 0.1.0 sealed it).  The text is
 * jsonb's output of the array: elements separated by ", ", bigints as their
 * digits, text escaped as jsonb escapes strings, each image as its own
 * jsonb output (nested or not, jsonb prints a value the same way).  The
 * verification recomputes it in SQL: the two agree or
 * ar.verify_audit_chain() reports the row.
 */
static void
audit_content(StringInfo b, const int64 *seq, HeapTuple tup, TupleDesc desc, const ContentColumns *cols)
{
	bool		isnull;
	Datum		at = heap_getattr(tup, cols->att[1], desc, &isnull);

	if (seq)
		appendStringInfo(b, "[" INT64_FORMAT ", ", *seq);
	else
		appendStringInfoString(b, "[null, ");
	content_column(b, tup, desc, cols->att[0], INT8OID);
	appendStringInfoString(b, ", ");
	if (isnull)
		appendStringInfoString(b, "null");
	else
	{
		TimestampTz ts = DatumGetTimestampTz(at);
		int64		epoch_us;

		/* (extract(epoch FROM logged_at) * 1000000)::bigint */
		if (TIMESTAMP_NOT_FINITE(ts))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot convert infinity to bigint")));
		if (pg_add_s64_overflow(ts, (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY, &epoch_us))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("bigint out of range")));
		appendStringInfo(b, INT64_FORMAT, epoch_us);
	}
	appendStringInfoString(b, ", ");
	content_column(b, tup, desc, cols->att[2], cols->txid_type);
	for (int k = 3; k <= 6; k++)
	{
		appendStringInfoString(b, ", ");
		content_column(b, tup, desc, cols->att[k], TEXTOID);
	}
	appendStringInfoString(b, ", ");
	content_column(b, tup, desc, cols->att[7], INT8OID);
	appendStringInfoString(b, ", ");
	content_column(b, tup, desc, cols->att[8], JSONBOID);
	appendStringInfoString(b, ", ");
	content_column(b, tup, desc, cols->att[9], JSONBOID);
	if (cols->att[10] > 0)
	{
		appendStringInfoString(b, ", ");
		content_column(b, tup, desc, cols->att[10], INT8OID);
	}
	appendStringInfoChar(b, ']');
}

/* sha256 of the content in UTF-8 (convert_to(..., 'UTF8')), after prev */
static void
content_sha256(pg_cryptohash_ctx *ctx, const uint8 *prev, int prevlen, StringInfo content, uint8 *out)
{
	char	   *utf8 = pg_server_to_any(content->data, content->len, PG_UTF8);

	sha256_of(ctx, prev, prevlen, utf8, utf8 == content->data ? content->len : (int) strlen(utf8), out);
	if (utf8 != content->data)
		pfree(utf8);
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
 * ar._audit_seal() under the chain's lock (ar.lock_slot).
 *
 * The rows are read SEAL_BATCH at a time and each batch is sealed before
 * the next is read, in memory of its own: a transaction that wrote a
 * million audit rows (a large statement import) seals them in bounded
 * memory.  The cursor keeps the snapshot it was opened with, so it goes on
 * reading the rows as they were, unsealed, while batches are updated.
 */
static int64 seal_rows(int64 last_seq, bytea *last_hash);

/* 0.1.0's ar._audit_seal_rows(last_seq, last_hash): the one chain (until the upgrade) */
Datum
ar_audit_seal_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(seal_rows(PG_GETARG_INT64(0), PG_GETARG_BYTEA_PP(1)));
}

static int64
seal_rows(int64 last_seq, bytea *last_hash)
{
	SealRows	rows = {0};
	Portal		portal;
	pg_cryptohash_ctx *ctx;
	uint8		prev[PG_SHA256_DIGEST_LENGTH];
	const uint8 *prevp = (const uint8 *) VARDATA_ANY(last_hash);
	int			prevlen = VARSIZE_ANY_EXHDR(last_hash);
	int64		sealed = 0;
	MemoryContext batchcxt;
	StringInfoData content;
	static const ContentColumns cols = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}, TEXTOID};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "audit seal batch",
									 ALLOCSET_DEFAULT_SIZES);

	initStringInfo(&content);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT a.id, a.logged_at, a.txid::text, a.actor, a.role, a.table_name, a.operation, "
									   "       a.row_id, a.old_row, a.new_row, a.ctid "
									   "  FROM ar.audit_log a "
									   " WHERE a.seq IS NULL AND a.txid = pg_current_xact_id() "
									   " ORDER BY a.id",
									   0, NULL, NULL, NULL, true, 0);
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
			int64		seq = last_seq + sealed + (int64) i + 1;
			uint8		hash[PG_SHA256_DIGEST_LENGTH];

			resetStringInfo(&content);
			audit_content(&content, &seq, tup, SPI_tuptable->tupdesc, &cols);
			content_sha256(ctx, prevp, prevlen, &content, hash);
			seal_push(&rows, id,
					  (ItemPointer) DatumGetPointer(SPI_getbinval(tup, SPI_tuptable->tupdesc, 11, &isnull)), hash);
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
	return sealed;
}

/* -------------------------------------------------- the hash at insert */

/*
 * ar._audit_hash(): BEFORE INSERT ... FOR EACH ROW on ar.audit_log (since
 * 0.2.0): the row's row_hash = sha256(ar.audit_row_content(row, NULL)), the
 * content of the row as it is stored (its defaults filled in: id,
 * logged_at, txid, actor, role), printed in C; seq and prev_hash NULL (the
 * row's place in its company's chain is the seal of its transaction,
 * ar.audit_seal, written at commit).  A row reloaded by pg_restore
 * (ar_collect.restoring) is kept as it was dumped.
 */
PG_FUNCTION_INFO_V1(ar_audit_hash);

typedef struct HashColumns
{
	Oid			relid;
	ContentColumns cols;
	int			seq;
	int			prev_hash;
	int			row_hash;
} HashColumns;

Datum
ar_audit_hash(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HashColumns *hc;
	StringInfoData content;
	pg_cryptohash_ctx *ctx;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	bytea	   *h;
	int			attnums[3];
	Datum		values[3];
	bool		nulls[3] = {true, true, false};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._audit_hash() must be a BEFORE INSERT ... FOR EACH ROW trigger")));
	if (ar_restoring_on)
		return PointerGetDatum(td->tg_trigtuple);
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	hc = (HashColumns *) fcinfo->flinfo->fn_extra;
	if (hc == NULL || hc->relid != RelationGetRelid(rel))
	{
		static const char *const names[11] = {"id", "logged_at", "txid", "actor", "role", "table_name",
		"operation", "row_id", "old_row", "new_row", "company_id"};

		hc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(HashColumns));
		hc->relid = RelationGetRelid(rel);
		for (int k = 0; k < 11; k++)
		{
			hc->cols.att[k] = SPI_fnumber(desc, names[k]);
			if (hc->cols.att[k] <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("ar._audit_hash() needs the column \"%s\" of ar.audit_log", names[k])));
		}
		hc->cols.txid_type = XID8OID;
		hc->seq = SPI_fnumber(desc, "seq");
		hc->prev_hash = SPI_fnumber(desc, "prev_hash");
		hc->row_hash = SPI_fnumber(desc, "row_hash");
		if (hc->seq <= 0 || hc->prev_hash <= 0 || hc->row_hash <= 0 ||
			TupleDescAttr(desc, hc->cols.att[2] - 1)->atttypid != XID8OID)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("ar._audit_hash() fires on ar.audit_log only")));
		fcinfo->flinfo->fn_extra = hc;
	}

	initStringInfo(&content);
	audit_content(&content, NULL, td->tg_trigtuple, desc, &hc->cols);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL)
		elog(ERROR, "out of memory");
	content_sha256(ctx, NULL, 0, &content, hash);
	pg_cryptohash_free(ctx);
	pfree(content.data);

	h = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	SET_VARSIZE(h, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(h), hash, PG_SHA256_DIGEST_LENGTH);
	attnums[0] = hc->seq;
	attnums[1] = hc->prev_hash;
	attnums[2] = hc->row_hash;
	values[0] = values[1] = (Datum) 0;
	values[2] = PointerGetDatum(h);
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, desc, 3, attnums, values, nulls));
}

/* ------------------------------------------------------ a row as jsonb */

/*
 * ar._row_jsonb(record) RETURNS jsonb: to_jsonb(row), the same value, for
 * the audit rows ar._audit_rows() writes by the ten thousand.  to_jsonb
 * looks up each column's type category and output function again for
 * every row (syscache and fmgr lookups) and reads the columns one by one;
 * this caches both for the query (fn_extra) and deforms each row once,
 * then does per column what to_jsonb does (datum_to_jsonb, PostgreSQL 15):
 * numbers printed by their output function and read back by numeric_in
 * (a string when that output has an 'N' or 'n': NaN, Infinity), dates and
 * times by JsonEncodeDateTime, booleans as booleans, text, varchar and
 * char as strings of their output.  A row with a column of any other type
 * (json, jsonb, arrays, composites, domains, types of the extension, which
 * may have a cast to json) goes to to_jsonb whole.
 */
PG_FUNCTION_INFO_V1(ar_row_jsonb);

typedef enum RowJsonbKind
{
	RJ_NUMBER,
	RJ_DATETIME,
	RJ_BOOL,
	RJ_STRING
} RowJsonbKind;

typedef struct RowJsonbCache
{
	Oid			type;
	int32		typmod;
	bool		fallback;		/* a column to_jsonb must handle */
	int			natts;
	RowJsonbKind *kind;
	Oid		   *typid;
	FmgrInfo   *out;
	char	  **name;
	int		   *namelen;
	bool	   *dropped;
	int			nkeys;
	int		   *order;			/* the columns in jsonb's key order */
} RowJsonbCache;

static RowJsonbCache *
row_jsonb_cache(FunctionCallInfo fcinfo, Oid type, int32 typmod)
{
	RowJsonbCache *c = (RowJsonbCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	TupleDesc	desc;

	if (c != NULL && c->type == type && c->typmod == typmod)
		return c;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c = palloc0(sizeof(RowJsonbCache));
	c->type = type;
	c->typmod = typmod;
	desc = lookup_rowtype_tupdesc(type, typmod);
	c->natts = desc->natts;
	c->kind = palloc0(sizeof(RowJsonbKind) * Max(desc->natts, 1));
	c->typid = palloc0(sizeof(Oid) * Max(desc->natts, 1));
	c->out = palloc0(sizeof(FmgrInfo) * Max(desc->natts, 1));
	c->name = palloc0(sizeof(char *) * Max(desc->natts, 1));
	c->namelen = palloc0(sizeof(int) * Max(desc->natts, 1));
	c->dropped = palloc0(sizeof(bool) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Oid			outfn;
		bool		varlena;

		c->dropped[i] = att->attisdropped;
		if (att->attisdropped)
			continue;
		c->name[i] = pstrdup(NameStr(att->attname));
		c->namelen[i] = strlen(c->name[i]);
		c->typid[i] = att->atttypid;
		switch (att->atttypid)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
				c->kind[i] = RJ_NUMBER;
				break;
			case DATEOID:
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
				c->kind[i] = RJ_DATETIME;
				break;
			case BOOLOID:
				c->kind[i] = RJ_BOOL;
				break;
			case TEXTOID:
			case VARCHAROID:
			case BPCHAROID:
				c->kind[i] = RJ_STRING;
				break;
			default:
				c->fallback = true;
				break;
		}
		if (c->fallback)
			break;
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info_cxt(outfn, &c->out[i], fcinfo->flinfo->fn_mcxt);
	}
	ReleaseTupleDesc(desc);
	/* jsonb's key order (length, then bytes): no sort per row */
	c->order = palloc(sizeof(int) * Max(c->natts, 1));
	for (int i = 0; i < c->natts; i++)
	{
		int			k;

		if (c->dropped[i])
			continue;
		for (k = c->nkeys; k > 0; k--)
		{
			int			j = c->order[k - 1];

			if (c->namelen[j] < c->namelen[i] ||
				(c->namelen[j] == c->namelen[i] && memcmp(c->name[j], c->name[i], c->namelen[i]) < 0))
				break;
			c->order[k] = j;
		}
		c->order[k] = i;
		c->nkeys++;
	}
	MemoryContextSwitchTo(old);
	if (fcinfo->flinfo->fn_extra)
		pfree(fcinfo->flinfo->fn_extra);
	fcinfo->flinfo->fn_extra = c;
	return c;
}

Datum
ar_row_jsonb(PG_FUNCTION_ARGS)
{
	HeapTupleHeader td = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			type = HeapTupleHeaderGetTypeId(td);
	int32		typmod = HeapTupleHeaderGetTypMod(td);
	RowJsonbCache *c = row_jsonb_cache(fcinfo, type, typmod);
	TupleDesc	desc;
	HeapTupleData tuple;
	Datum	   *values;
	bool	   *nulls;
	JsonbValue	obj;
	JsonbPair  *pairs;

	if (c->fallback)
		return to_jsonb(fcinfo);	/* the argument's type from our call */

	desc = lookup_rowtype_tupdesc(type, typmod);
	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;
	values = palloc(sizeof(Datum) * Max(c->natts, 1));
	nulls = palloc(sizeof(bool) * Max(c->natts, 1));
	heap_deform_tuple(&tuple, desc, values, nulls);
	ReleaseTupleDesc(desc);

	/*
	 * The object as pushJsonbValue would build it (its pairs in jsonb's key
	 * order, column names being unique), handed to JsonbValueToJsonb.
	 */
	pairs = palloc(sizeof(JsonbPair) * Max(c->nkeys, 1));
	for (int k = 0; k < c->nkeys; k++)
	{
		int			i = c->order[k];
		JsonbValue *v = &pairs[k].value;

		pairs[k].key.type = jbvString;
		pairs[k].key.val.string.val = c->name[i];
		pairs[k].key.val.string.len = c->namelen[i];
		pairs[k].order = k;
		if (nulls[i])
			v->type = jbvNull;
		else
			switch (c->kind[i])
			{
				case RJ_NUMBER:
					{
						char	   *s = OutputFunctionCall(&c->out[i], values[i]);

						if (strchr(s, 'N') == NULL && strchr(s, 'n') == NULL)
						{
							v->type = jbvNumeric;
							v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
																				 ObjectIdGetDatum(InvalidOid),
																				 Int32GetDatum(-1)));
							pfree(s);
						}
						else
						{
							v->type = jbvString;
							v->val.string.val = s;
							v->val.string.len = strlen(s);
						}
						break;
					}
				case RJ_DATETIME:
					v->type = jbvString;
					v->val.string.val = JsonEncodeDateTime(NULL, values[i], c->typid[i], NULL);
					v->val.string.len = strlen(v->val.string.val);
					break;
				case RJ_BOOL:
					v->type = jbvBool;
					v->val.boolean = DatumGetBool(values[i]);
					break;
				case RJ_STRING:
					v->type = jbvString;
					v->val.string.val = OutputFunctionCall(&c->out[i], values[i]);
					v->val.string.len = strlen(v->val.string.val);
					break;
			}
	}
	obj.type = jbvObject;
	obj.val.object.nPairs = c->nkeys;
	obj.val.object.pairs = pairs;
	PG_RETURN_POINTER(JsonbValueToJsonb(&obj));
}
