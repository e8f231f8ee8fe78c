/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *		ar.reconcile(auto_apply boolean DEFAULT true) and
 *		ar.reconcile_company(company_id bigint, auto_apply boolean): match
 *		every new unmatched bank line to open invoices, apply confident
 *		matches through ar.allocation, keep the rest as proposals.
 *
 * One run:
 *   1. Takes its lock (ar.lock_slot 'reconcile'), so runs never overlap:
 *      a second run waits for the first to commit, then sees its work.
 *   2. Locks the new lines (status unmatched, nothing allocated, never
 *      decided by an earlier run) with FOR UPDATE SKIP LOCKED: a line a
 *      person is allocating right now is left for the next run.  Every
 *      row lock names one company (company after company, in (company,
 *      id) order), which Citus routes to the company's shard.
 *   3. Loads, once, the open invoices, customers, their IBANs and settings
 *      into C memory and indexes them (reconcile_match.c).
 *   4. Decides each line in C, in booking order; an applied decision
 *      takes its money off the invoices in memory, so two lines never
 *      count on the same open amount.
 *   5. Locks the invoices it is about to allocate (SKIP LOCKED) and checks
 *      they have not changed since they were loaded; lines that need a
 *      busy or changed invoice are deferred to the next run.  Then writes
 *      everything with a handful of set-based statements: allocations
 *      (through the ledger's triggers and their checks), shortfalls,
 *      customer credits, proposals, line decisions.
 *   6. Hands direct-debit returns to ar._reconcile_returns() (SQL).
 *
 * A run is recorded per company (ar.reconcile_run, keyed (id, company_id):
 * issue 14, doc/ledger.md "Reconciliation runs"): its rows, one for each
 * company it loaded new lines of (ar.reconcile_company: its company, also
 * without a line), share the run id and are written before its decisions,
 * which name them, then completed with each company's counts.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/params.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "reconcile.h"

/* An amount as an exact count of 1/10000, or NULL if it has more decimals. */
#define AMOUNT4(x) \
	"CASE WHEN abs(" x ") < 1e14 AND " x " * 10000 = trunc(" x " * 10000) THEN (" x " * 10000)::int8 END"

/* ------------------------------------------------------------- helpers */

static void
spi_check(int rc, const char *what)
{
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("ar.reconcile could not %s: %s", what, SPI_result_code_string(rc))));
}

typedef void (*row_fn) (RcRun *run, HeapTuple tup, TupleDesc desc);

/* The row spi_each() is at, deformed once (not column by column). */
#define ROW_MAX_COLUMNS		16
static Datum row_values[ROW_MAX_COLUMNS];
static bool row_nulls[ROW_MAX_COLUMNS];

static inline Datum
row_datum(int col, bool *isnull)
{
	*isnull = row_nulls[col - 1];
	return row_values[col - 1];
}

static double
ms_since(TimestampTz t0)
{
	return (double) (GetCurrentTimestamp() - t0) / 1000.0;
}

/*
 * Rows of spi_each(): the executor hands each one to row_receive(), which
 * points row_values at the slot's own values (no copy of the row into an
 * SPI tuple table, no deforming of that copy) for the row function.
 */
typedef struct RowReceiver
{
	DestReceiver pub;
	RcRun	   *run;
	row_fn		fn;
	MemoryContext cxt;			/* where the row function allocates */
	uint64		rows;
} RowReceiver;

static bool
row_receive(TupleTableSlot *slot, DestReceiver *self)
{
	RowReceiver *r = (RowReceiver *) self;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	MemoryContext old;

	slot_getallattrs(slot);
	memcpy(row_values, slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(row_nulls, slot->tts_isnull, sizeof(bool) * desc->natts);
	old = MemoryContextSwitchTo(r->cxt);
	r->fn(r->run, NULL, desc);
	MemoryContextSwitchTo(old);
	r->rows++;
	return true;
}

static void
row_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	(void) self;
	(void) operation;
	if (desc->natts > ROW_MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("ar.reconcile read %d columns, at most %d are expected", desc->natts, ROW_MAX_COLUMNS)));
}

static void
row_shutdown(DestReceiver *self)
{
	(void) self;
}

static void
row_destroy(DestReceiver *self)
{
	(void) self;
}

/*
 * Runs a prepared query (sql: its text, for the log) and hands each of its
 * rows to fn (in the current memory context).
 */
static void
spi_each_plan(RcRun *run, SPIPlanPtr plan, const char *sql, int nargs, Oid *types, Datum *values,
			  const char *nulls, row_fn fn)
{
	TimestampTz t0 = GetCurrentTimestamp();
	RowReceiver receiver;
	SPIExecuteOptions options;
	ParamListInfo params = makeParamList(nargs);

	for (int i = 0; i < nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls != NULL && nulls[i] == 'n';
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = row_receive;
	receiver.pub.rStartup = row_startup;
	receiver.pub.rShutdown = row_shutdown;
	receiver.pub.rDestroy = row_destroy;
	receiver.pub.mydest = DestNone;
	receiver.run = run;
	receiver.fn = fn;
	receiver.cxt = CurrentMemoryContext;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = false;
	options.dest = (DestReceiver *) &receiver;
	spi_check(SPI_execute_plan_extended(plan, &options), "read its data");
	elog(DEBUG1, "ar.reconcile: %.0f ms, %lu rows read: %.60s", ms_since(t0), (unsigned long) receiver.rows, sql);
}

/* Runs a query and hands each of its rows to fn (in the current memory context). */
static void
spi_each(RcRun *run, const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, row_fn fn)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		spi_check(SPI_result, "prepare a query");
	spi_each_plan(run, plan, sql, nargs, types, values, nulls, fn);
	SPI_freeplan(plan);
}

/* Columns of the current row of spi_each() (tup and desc are those of the row). */
static char *
get_text(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = row_datum(col, &isnull);

	(void) tup;
	(void) desc;
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * The bytes of a text column, not copied (valid while the row is), and
 * their number; NULL when the column is.
 */
static const char *
get_text_ref(HeapTuple tup, TupleDesc desc, int col, int *len)
{
	bool		isnull;
	Datum		d = row_datum(col, &isnull);
	text	   *t;

	(void) tup;
	(void) desc;
	*len = 0;
	if (isnull)
		return NULL;
	t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	*len = VARSIZE_ANY_EXHDR(t);
	return VARDATA_ANY(t);
}

/*
 * A numeric column as an Amount (value * 10^4), read from the numeric's
 * stored digits (base 10000) rather than by numeric arithmetic: what
 * AMOUNT4() computes in SQL, four numeric operations per amount.  *isnull
 * is set when the column is NULL, not a finite number, not below 10^14 in
 * absolute value or has more than 4 decimals, as AMOUNT4() gives NULL.
 *
 * The layout is that of src/backend/utils/adt/numeric.c (it is on disk,
 * so pg_upgrade keeps it): a uint16 header, then for the long format an
 * int16 weight, then the digits.  The short header holds the sign
 * (0x2000) and a 7-bit weight; 0xC000 marks NaN and infinities.
 */
#define NUMERIC_HDR_SHORT		0x8000
#define NUMERIC_HDR_SPECIAL		0xC000
#define NUMERIC_HDR_NEG			0x4000
#define NUMERIC_HDR_SHORT_NEG	0x2000
#define NUMERIC_HDR_SHORT_WEIGHT_NEG	0x0040
#define NUMERIC_HDR_SHORT_WEIGHT	0x003F
#define AMOUNT_LIMIT			INT64CONST(1000000000000000000)	/* 10^14 * 10^4 */

static Amount
get_amount(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = row_datum(col, isnull);
	struct varlena *v;
	const char *p;
	int			len;
	uint16		header;
	int			weight;
	bool		negative;
	int			ndigits;
	uint64		acc = 0;

	(void) tup;
	(void) desc;
	if (*isnull)
		return 0;
	v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	*isnull = true;
	if (len < (int) sizeof(uint16))
		return 0;
	memcpy(&header, p, sizeof(uint16));
	if ((header & NUMERIC_HDR_SPECIAL) == NUMERIC_HDR_SPECIAL)
		return 0;				/* NaN, Infinity, -Infinity */
	if (header & NUMERIC_HDR_SHORT)
	{
		negative = (header & NUMERIC_HDR_SHORT_NEG) != 0;
		weight = (header & NUMERIC_HDR_SHORT_WEIGHT_NEG) ? (~NUMERIC_HDR_SHORT_WEIGHT | (header & NUMERIC_HDR_SHORT_WEIGHT))
			: (header & NUMERIC_HDR_SHORT_WEIGHT);
		p += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else
	{
		int16		w;

		if (len < (int) (sizeof(uint16) + sizeof(int16)))
			return 0;
		negative = (header & NUMERIC_HDR_NEG) != 0;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		p += sizeof(uint16) + sizeof(int16);
		len -= sizeof(uint16) + sizeof(int16);
	}
	ndigits = len / (int) sizeof(int16);
	/* digit i weighs 10000^(weight - i), so 10000^(weight + 1 - i) in the Amount */
	for (int i = Max(weight + 2, 0); i < ndigits; i++)
	{
		int16		digit;

		memcpy(&digit, p + i * sizeof(int16), sizeof(int16));
		if (digit != 0)
			return 0;			/* more than 4 decimals */
	}
	for (int i = 0; i <= weight + 1; i++)
	{
		int16		digit = 0;

		if (i < ndigits)
			memcpy(&digit, p + i * sizeof(int16), sizeof(int16));
		if (acc >= (uint64) (AMOUNT_LIMIT / 10000))
			return 0;			/* 10^14 or more */
		acc = acc * 10000 + (uint64) digit;
	}
	if (acc >= (uint64) AMOUNT_LIMIT)
		return 0;
	*isnull = false;
	return negative ? -(Amount) acc : (Amount) acc;
}

static int64
get_int8(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	Datum		d = row_datum(col, isnull);

	(void) tup;
	(void) desc;
	return *isnull ? 0 : DatumGetInt64(d);
}

static void
get_currency(HeapTuple tup, TupleDesc desc, int col, char *out)
{
	int			len;
	const char *c = get_text_ref(tup, desc, col, &len);

	memset(out, 0, 4);
	if (c)
		memcpy(out, c, Min(len, 3));
}

static Numeric
amount_numeric(Amount a)
{
	if (a % 100 == 0)
		return int64_div_fast_to_numeric(a / 100, 2);
	return int64_div_fast_to_numeric(a, MATCH_AMOUNT_SCALE);
}

/* Growing arrays of Datums, turned into SQL arrays for unnest(). */
typedef struct Col
{
	Oid			type;
	int16		len;
	bool		byval;
	char		align;
	Datum	   *v;
	bool	   *isnull;
	int			n;
	int			cap;
} Col;

static void
col_init(Col *c, Oid type)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	get_typlenbyvalalign(type, &c->len, &c->byval, &c->align);
	c->cap = 64;
	c->v = palloc(sizeof(Datum) * c->cap);
	c->isnull = palloc(sizeof(bool) * c->cap);
}

static void
col_push(Col *c, Datum d, bool isnull)
{
	if (c->n == c->cap)
	{
		c->cap *= 2;
		c->v = repalloc_huge(c->v, sizeof(Datum) * c->cap);
		c->isnull = repalloc_huge(c->isnull, sizeof(bool) * c->cap);
	}
	c->v[c->n] = d;
	c->isnull[c->n] = isnull;
	c->n++;
}

static void
col_text(Col *c, const char *s)
{
	col_push(c, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

static Datum
col_array(Col *c)
{
	int			dims[1] = {c->n};
	int			lbs[1] = {1};

	return PointerGetDatum(construct_md_array(c->v, c->isnull, 1, dims, lbs,
											  c->type, c->len, c->byval, c->align));
}

/* Runs a write statement whose parameters are the given columns (and run id first). */
static uint64
spi_write(RcRun *run, const char *sql, int ncols, Col *cols, bool with_run)
{
	Oid			types[32];
	Datum		values[32];
	int			n = 0;
	int			rc;

	Assert(ncols < 32);
	if (with_run)
	{
		types[n] = INT8OID;
		values[n++] = Int64GetDatum(run->run_id);
	}
	for (int i = 0; i < ncols; i++)
	{
		types[n] = get_array_type(cols[i].type);
		values[n++] = col_array(&cols[i]);
	}
	{
		TimestampTz t0 = GetCurrentTimestamp();

		rc = SPI_execute_with_args(sql, n, types, values, NULL, false, 0);
		elog(DEBUG1, "ar.reconcile: %.0f ms, %lu rows: %.60s", ms_since(t0), (unsigned long) SPI_processed, sql);
	}
	spi_check(rc, "write its results");
	return SPI_processed;
}

/*
 * spi_write() of the engine's own allocation statement: the stage its
 * allocation trigger claims (reconcile_write.c), set around that statement
 * only and reset whatever happens.
 */
static pg_noinline void
spi_engine_write(RcRun *run, const char *sql, int ncols, Col *cols, bool with_run)
{
	rc_engine_write_begin();
	PG_TRY();
	{
		spi_write(run, sql, ncols, cols, with_run);
	}
	PG_FINALLY();
	{
		rc_engine_write_end();
	}
	PG_END_TRY();
}

/* ------------------------------------------------------------- loading */

static void
load_config_row(RcRun *run, HeapTuple tup, TupleDesc desc)
{
	RcConfig   *c = &run->config[run->nconfig++];
	bool		isnull;

	c->company_id = get_int8(tup, desc, 1, &isnull);
	c->auto_min = DatumGetFloat4(row_datum(2, &isnull));
	c->propose_min = DatumGetFloat4(row_datum(3, &isnull));
	c->margin = DatumGetFloat4(row_datum(4, &isnull));
	c->max_proposals = DatumGetInt32(row_datum(5, &isnull));
	c->shortfall_abs = get_int8(tup, desc, 6, &isnull);
	if (isnull)
		c->shortfall_abs = 0;
	c->shortfall_pct = get_int8(tup, desc, 7, &isnull);
	c->close_shortfall = DatumGetBool(row_datum(8, &isnull));
	c->max_combination = DatumGetInt32(row_datum(9, &isnull));
	c->max_candidates = DatumGetInt32(row_datum(10, &isnull));
	c->name_min = DatumGetFloat4(row_datum(11, &isnull));
	c->issue_grace = DatumGetInt32(row_datum(12, &isnull));
	c->write_off_limit = get_int8(tup, desc, 13, &isnull);
	if (isnull)
		c->write_off_limit = 0;
}

static void
load_config(RcRun *run, Datum company, bool scoped)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {company};
	char		nulls[1] = {scoped ? ' ' : 'n'};
	int			rc;

	/*
	 * every company gets its settings row, with the defaults, on first use
	 * (the conflict alone skips those that have one: on Citus a subquery
	 * over the distributed settings, correlated with the reference table of
	 * companies, is refused)
	 */
	rc = SPI_execute_with_args("INSERT INTO ar.reconcile_config (company_id) "
							   "SELECT c.id FROM ar.company c "
							   " WHERE ($1::bigint IS NULL OR c.id = $1) "
							   "ON CONFLICT (company_id) DO NOTHING",
							   1, types, values, nulls, false, 0);
	spi_check(rc, "create its settings");
	rc = SPI_execute_with_args("SELECT count(*) FROM ar.reconcile_config WHERE $1::bigint IS NULL OR company_id = $1",
							   1, types, values, nulls, false, 0);
	spi_check(rc, "read its settings");
	{
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		run->config = palloc0(sizeof(RcConfig) * Max(n, 1));
	}
	spi_each(run,
			 "SELECT company_id, auto_apply_min_score, propose_min_score, ambiguity_margin, max_proposals, "
			 AMOUNT4("shortfall_abs") ", (shortfall_pct * 10000)::int8, close_shortfall, max_combination, "
			 "max_combination_candidates, name_min_similarity, issue_grace_days, "
	/* (a 0.1.0 database not yet updated has no write_off_limit: none) */
			 AMOUNT4("coalesce((to_jsonb(c) ->> 'write_off_limit')::numeric, 0)") " "
			 "FROM ar.reconcile_config c WHERE $1::bigint IS NULL OR company_id = $1 ORDER BY company_id",
			 1, types, values, nulls, load_config_row);
}

static int
config_index(RcRun *run, int64 company_id)
{
	for (int i = 0; i < run->nconfig; i++)
		if (run->config[i].company_id == company_id)
			return i;
	return -1;
}

static int	line_cap;

static void
load_line_row(RcRun *run, HeapTuple tup, TupleDesc desc)
{
	RcLine	   *l;
	bool		isnull;
	const char *remit,
			   *sref,
			   *e2e;
	int			remitlen,
				sreflen,
				e2elen,
				len;
	char	   *text;

	if (run->nline == line_cap)
	{
		line_cap *= 2;
		run->line = repalloc_huge(run->line, sizeof(RcLine) * line_cap);
	}
	l = &run->line[run->nline++];
	memset(l, 0, sizeof(*l));
	l->id = get_int8(tup, desc, 1, &isnull);
	l->company_id = get_int8(tup, desc, 2, &isnull);
	get_currency(tup, desc, 3, l->currency);
	l->amount = get_amount(tup, desc, 4, &isnull);
	l->amount_ok = !isnull && l->amount != 0;
	l->booking_date = DatumGetDateADT(row_datum(5, &isnull));
	l->name = get_text(tup, desc, 6);
	l->iban = get_text(tup, desc, 7);
	remit = get_text_ref(tup, desc, 8, &remitlen);
	sref = get_text_ref(tup, desc, 9, &sreflen);
	e2e = get_text_ref(tup, desc, 10, &e2elen);
	l->bank_tx_code = get_text(tup, desc, 11);
	l->return_reason = get_text(tup, desc, 12);
	if (l->return_reason && l->return_reason[strspn(l->return_reason, " ")] == '\0')
		l->return_reason = NULL;
	l->config = config_index(run, l->company_id);

	/*
	 * the fields people write references in, kept apart by a unit separator
	 * (allocated to size: a StringInfo per line was 1 kB, 100 MB for 100,000
	 * lines)
	 */
	if (e2e && e2elen == 11 && pg_strncasecmp(e2e, "NOTPROVIDED", 11) == 0)
		e2e = NULL;
	len = (remit ? remitlen : 0) + (sref ? sreflen + 1 : 0) + (e2e ? e2elen + 1 : 0);
	l->text = NULL;
	l->textlen = len;
	if (len == 0)
		return;
	/* NUL bytes cannot come from text, but the scanner never relies on it */
	text = palloc(len + 1);
	len = 0;
	if (remit)
	{
		memcpy(text, remit, remitlen);
		len = remitlen;
	}
	if (sref)
	{
		text[len++] = '\x1f';
		memcpy(text + len, sref, sreflen);
		len += sreflen;
	}
	if (e2e)
	{
		text[len++] = '\x1f';
		memcpy(text + len, e2e, e2elen);
		len += e2elen;
	}
	text[len] = '\0';
	l->text = text;
}

/*
 * Rows beyond the input bounds (doc/input-bounds.md) exist only when their
 * table's constraint was bypassed; when ar._batch_quarantine found some (and
 * reported them), the lines and invoices read leave them out.
 */
static bool skip_beyond_bounds = false;

#define LINE_IN_BOUNDS \
	"   AND ar.amount_in_bounds(t.amount) AND ar.date_in_bounds(t.booking_date) " \
	"   AND (t.value_date IS NULL OR ar.date_in_bounds(t.value_date)) "
#define INVOICE_IN_BOUNDS \
	"  AND ar.amount_in_bounds(i.amount) AND ar.date_in_bounds(i.issue_date) AND ar.date_in_bounds(i.due_date) "

/*
 * The bank lines no run has decided on yet, oldest first: of one company
 * ("t.company_id = $1") or of the companies in scope ("($1::bigint IS NULL
 * OR t.company_id = $1)").  A decision names its line with the line's
 * company (73_reconcile_references.sql): the pair keeps the query on the
 * company's shards on Citus, through the same unique index on one node.
 */
#define UNMATCHED_LINES(companies, bounds) \
	"SELECT t.id, t.company_id, t.currency, t.amount, t.booking_date, " \
	"       t.counterparty_name, t.counterparty_iban::text, t.remittance_info, t.structured_reference, " \
	"       t.end_to_end_id, t.bank_tx_code, coalesce(t.return_reason, CASE WHEN t.reversal THEN 'reversal' END) " \
	"  FROM ar.bank_transaction t " \
	" WHERE t.status = 'unmatched' AND t.allocated_amount = 0 " \
	"   AND " companies " " \
	"   AND NOT EXISTS (SELECT 1 FROM ar.reconcile_line r " \
	"                    WHERE r.bank_transaction_id = t.id AND r.company_id = t.company_id) " \
	bounds \
	" ORDER BY t.booking_date, t.id "
#define IN_SCOPE "($1::bigint IS NULL OR t.company_id = $1)"
#define OF_COMPANY "t.company_id = $1"
#define LOCK_LINES "   FOR UPDATE OF t SKIP LOCKED"

/* booking order, the order of one query over every company */
static int
line_cmp(const void *a, const void *b)
{
	const RcLine *x = a;
	const RcLine *y = b;

	if (x->booking_date != y->booking_date)
		return x->booking_date < y->booking_date ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

static void
load_lines(RcRun *run, Datum company, bool scoped, bool dry_run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {company};
	char		nulls[1] = {scoped ? ' ' : 'n'};
	const char *sql;
	SPIPlanPtr	plan;
	int			rc;
	uint64		ncompanies;
	SPITupleTable *companies;

	line_cap = 1024;
	run->line = palloc(sizeof(RcLine) * line_cap);
	run->nline = 0;
	if (dry_run)
	{
		/* nothing locked: one query over the companies in scope */
		spi_each(run, skip_beyond_bounds ? UNMATCHED_LINES(IN_SCOPE, LINE_IN_BOUNDS) : UNMATCHED_LINES(IN_SCOPE, ""),
				 1, types, values, nulls, load_line_row);
		return;
	}

	/*
	 * A real run locks the lines it takes (another run skips them), company
	 * after company in id order, each lock naming its company: on Citus a
	 * row lock runs only in a query routed to one shard (doc/scale_out.md,
	 * blocker 5).  The lines are then put back in booking order.
	 */
	rc = SPI_execute_with_args("SELECT c.id FROM ar.company c WHERE $1::bigint IS NULL OR c.id = $1 ORDER BY c.id",
							   1, types, values, nulls, false, 0);
	spi_check(rc, "list the companies");
	ncompanies = SPI_processed;
	companies = SPI_tuptable;
	if (ncompanies == 0)
		return;
	sql = skip_beyond_bounds ? UNMATCHED_LINES(OF_COMPANY, LINE_IN_BOUNDS) LOCK_LINES :
		UNMATCHED_LINES(OF_COMPANY, "") LOCK_LINES;
	plan = SPI_prepare(sql, 1, types);
	if (plan == NULL)
		spi_check(SPI_result, "prepare a query");
	for (uint64 c = 0; c < ncompanies; c++)
	{
		bool		isnull;
		Datum		one = SPI_getbinval(companies->vals[c], companies->tupdesc, 1, &isnull);

		spi_each_plan(run, plan, sql, 1, types, &one, NULL, load_line_row);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freeplan(plan);
	SPI_freetuptable(companies);
	if (ncompanies > 1 && run->nline > 1)
		qsort(run->line, run->nline, sizeof(RcLine), line_cmp);
}

static void
load_customer_row(RcRun *run, HeapTuple tup, TupleDesc desc)
{
	RcCustomer *c = &run->cust[run->ncust];
	bool		isnull;
	char	   *tokens[NAME_MAX_TOKENS];

	c->id = get_int8(tup, desc, 1, &isnull);
	c->company_id = get_int8(tup, desc, 2, &isnull);
	c->code = get_text(tup, desc, 3);
	c->name = get_text(tup, desc, 4);
	c->ntokens = c->name ? name_tokens(c->name, tokens, NAME_MAX_TOKENS) : 0;
	c->tokens = palloc(sizeof(char *) * Max(c->ntokens, 1));
	memcpy(c->tokens, tokens, sizeof(char *) * c->ntokens);
	kix_add(run->cust_by_id, rc_id_key(c->id), run->ncust);
	run->ncust++;
}

static int32
customer_index(RcRun *run, int64 id)
{
	if (run->cust_by_dense_id != NULL)
	{
		/* unsigned: an id below the smallest wraps beyond the span */
		uint64		k = (uint64) id - (uint64) run->cust_min_id;

		return k < (uint64) run->cust_id_span ? run->cust_by_dense_id[k] : -1;
	}
	for (int32 pos = kix_first(run->cust_by_id, rc_id_key(id)); pos >= 0; pos = kix_next(run->cust_by_id, pos))
		if (run->cust[kix_value(run->cust_by_id, pos)].id == id)
			return kix_value(run->cust_by_id, pos);
	return -1;
}

/*
 * Every invoice loaded looks up its customer: where the ids are dense (a
 * sequence's, as they mostly are) an array indexed by id answers with one
 * read of a table that stays in the CPU caches, rather than a hash lookup
 * that misses them.  Sparse ids keep the hash index alone.
 */
static void
index_customer_ids(RcRun *run)
{
	int64		lo,
				hi;

	run->cust_by_dense_id = NULL;
	if (run->ncust == 0)
		return;
	lo = hi = run->cust[0].id;
	for (int32 c = 1; c < run->ncust; c++)
	{
		lo = Min(lo, run->cust[c].id);
		hi = Max(hi, run->cust[c].id);
	}
	/* compared as unsigned: the span of ids of both signs does not overflow */
	if ((uint64) hi - (uint64) lo >= (uint64) run->ncust * 4 + 1024)
		return;
	run->cust_min_id = lo;
	run->cust_id_span = hi - lo + 1;
	run->cust_by_dense_id = MemoryContextAllocHuge(run->cxt, sizeof(int32) * run->cust_id_span);
	memset(run->cust_by_dense_id, -1, sizeof(int32) * run->cust_id_span);
	/* (an id is a customer's primary key: one customer each) */
	for (int32 c = 0; c < run->ncust; c++)
		run->cust_by_dense_id[run->cust[c].id - lo] = c;
}

static KeyIndex *iban_target;

static void
load_iban_row(RcRun *run, HeapTuple tup, TupleDesc desc)
{
	char	   *iban = get_text(tup, desc, 1);
	bool		isnull;
	int32		c = customer_index(run, get_int8(tup, desc, 2, &isnull));

	if (iban && c >= 0)
		kix_add(iban_target, match_hash('B', iban, strlen(iban)), c);
}

static void
load_customers(RcRun *run, Datum company, bool scoped)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {company};
	char		nulls[1] = {scoped ? ' ' : 'n'};
	int			rc;
	int64		n;
	bool		isnull;

	rc = SPI_execute_with_args("SELECT count(*) FROM ar.customer WHERE $1::bigint IS NULL OR company_id = $1",
							   1, types, values, nulls, false, 0);
	spi_check(rc, "count customers");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* a customer created meanwhile is simply not known to this run */
	run->cust = MemoryContextAllocHuge(run->cxt, sizeof(RcCustomer) * (n + 16));
	memset(run->cust, 0, sizeof(RcCustomer) * (n + 16));
	run->cust_by_id = kix_create(run->cxt, n + 16);
	run->ncust = 0;
	spi_each(run, "SELECT id, company_id, code, name FROM ar.customer "
			 "WHERE ($1::bigint IS NULL OR company_id = $1) ORDER BY id LIMIT $2",
			 2, (Oid[]) {INT8OID, INT8OID}, (Datum[]) {company, Int64GetDatum(n + 16)},
			 scoped ? "  " : "n ", load_customer_row);
	index_customer_ids(run);
	rc_index_customer_names(run);

	run->cust_by_iban = kix_create(run->cxt, run->ncust + 16);
	iban_target = run->cust_by_iban;
	spi_each(run, "SELECT a.iban::text, a.customer_id FROM ar.customer_bank_account a "
			 "WHERE $1::bigint IS NULL OR a.company_id = $1",
			 1, types, values, nulls, load_iban_row);

	/* accounts customers paid from before (two years of allocations) */
	run->cust_by_iban_hist = kix_create(run->cxt, run->ncust + 16);
	iban_target = run->cust_by_iban_hist;
	spi_each(run, "SELECT DISTINCT t.counterparty_iban::text, i.customer_id "
			 "  FROM ar.allocation a "
			 "  JOIN ar.bank_transaction t ON t.id = a.bank_transaction_id AND t.company_id = a.company_id "
			 "  JOIN ar.invoice i ON i.id = a.invoice_id AND i.company_id = a.company_id "
			 "  JOIN ar.reconcile_config rc ON rc.company_id = a.company_id AND rc.learn_ibans "
			 " WHERE t.counterparty_iban IS NOT NULL AND a.amount > 0 "
			 "   AND a.allocated_on >= current_date - 730 "
			 "   AND ($1::bigint IS NULL OR a.company_id = $1)",
			 1, types, values, nulls, load_iban_row);
	iban_target = NULL;
}

static bool loading_paid;

static void
load_invoice_row(RcRun *run, HeapTuple tup, TupleDesc desc)
{
	RcInvoice  *inv;
	bool		isnull,
				amount_null,
				open_null;
	Amount		amount,
				open;

	amount = get_amount(tup, desc, 5, &amount_null);
	open = get_amount(tup, desc, 6, &open_null);
	if (amount_null || open_null)
		return;					/* more than 4 decimals: left to people */
	if (run->ninv == run->invcap)
	{
		run->invcap *= 2;
		run->inv = repalloc_huge(run->inv, sizeof(RcInvoice) * run->invcap);
	}
	inv = &run->inv[run->ninv++];
	memset(inv, 0, sizeof(*inv));
	inv->id = get_int8(tup, desc, 1, &isnull);
	inv->company_id = get_int8(tup, desc, 2, &isnull);
	inv->cust = customer_index(run, get_int8(tup, desc, 3, &isnull));
	get_currency(tup, desc, 4, inv->currency);
	inv->amount = amount;
	inv->open = inv->loaded_open = open;
	inv->issue_date = DatumGetDateADT(row_datum(7, &isnull));
	inv->due_date = DatumGetDateADT(row_datum(8, &isnull));
	inv->disputed = DatumGetBool(row_datum(9, &isnull));
	inv->number = get_text(tup, desc, 10);
	inv->payref = get_text(tup, desc, 11);
	inv->paid = loading_paid;
	{
		int			len = strlen(inv->number);

		inv->key = palloc(len + 1);
		inv->keylen = refkey_compact(inv->number, len, inv->key, len);
	}
	if (inv->payref)
	{
		int			len = strlen(inv->payref);

		inv->refkey = palloc(len + 1);
		inv->refkeylen = refkey_compact(inv->payref, len, inv->refkey, len);
	}
}

#define INVOICE_COLUMNS \
	"i.id, i.company_id, i.customer_id, i.currency, i.amount, i.open_amount, " \
	"i.issue_date, i.due_date, i.disputed, i.number, i.payment_reference"

static void
load_invoices(RcRun *run, Datum company, bool scoped)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {company};
	char		nulls[1] = {scoped ? ' ' : 'n'};

	run->invcap = 4096;
	run->inv = MemoryContextAllocHuge(run->cxt, sizeof(RcInvoice) * run->invcap);
	run->ninv = 0;
	loading_paid = false;
	spi_each(run, skip_beyond_bounds ?
			 "SELECT " INVOICE_COLUMNS " FROM ar.invoice i "
			 "WHERE i.open_amount <> 0 AND i.cancelled_on IS NULL "
			 "  AND ($1::bigint IS NULL OR i.company_id = $1)" INVOICE_IN_BOUNDS :
			 "SELECT " INVOICE_COLUMNS " FROM ar.invoice i "
			 "WHERE i.open_amount <> 0 AND i.cancelled_on IS NULL "
			 "  AND ($1::bigint IS NULL OR i.company_id = $1)",
			 1, types, values, nulls, load_invoice_row);
}

/*
 * The keys as a joined set rather than "= ANY($1)": the planner estimates
 * "= ANY" element by element against the column's statistics, which took
 * longer than the query itself with tens of thousands of keys.  The keys
 * come distinct (paid_keys_add): a DISTINCT here was estimated at 200 rows
 * whatever their number, and its hash spilled to disk.  Ordered by id: the
 * paid invoices join the index in the same order whatever the plan.
 */
#define PAID_KEYS_JOIN \
	"unnest($1::text[]) keys(k) " \
	"JOIN ar.invoice i ON ar.reference_key(i.number) = keys.k "

/* Adds key to the keys looked up among paid invoices unless it is there. */
static void
paid_keys_add(Col *keys, KeyIndex *seen, const char *key)
{
	int			len = strlen(key);
	uint64		h = match_hash('X', key, len);

	for (int32 pos = kix_first(seen, h); pos >= 0; pos = kix_next(seen, pos))
	{
		text	   *t = DatumGetTextPP(keys->v[kix_value(seen, pos)]);

		if ((int) VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), key, len) == 0)
			return;
	}
	kix_add(seen, h, keys->n);
	col_text(keys, key);
}

/*
 * Paid invoices named by lines where no open invoice has that number: one
 * indexed query (ar.reference_key(number) is the expression of an index);
 * they join the index as paid, so that a line naming one is seen as a
 * possible duplicate payment when it is decided.
 */
static void
load_paid(RcRun *run, Datum company, bool scoped)
{
	Col			keys;
	int			first_paid = run->ninv;
	int			nkeys = 0;
	KeyIndex   *seen;

	for (int i = 0; i < run->nline; i++)
		nkeys += run->line[i].npaid_keys;
	if (nkeys == 0)
		return;
	col_init(&keys, TEXTOID);
	seen = kix_create(CurrentMemoryContext, nkeys);
	for (int i = 0; i < run->nline; i++)
	{
		for (int k = 0; k < run->line[i].npaid_keys; k++)
			paid_keys_add(&keys, seen, run->line[i].paid_keys[k]);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	loading_paid = true;
	spi_each(run, skip_beyond_bounds ?
			 "SELECT " INVOICE_COLUMNS " FROM " PAID_KEYS_JOIN
			 "WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND ($2::bigint IS NULL OR i.company_id = $2)"
			 INVOICE_IN_BOUNDS "ORDER BY i.id" :
			 "SELECT " INVOICE_COLUMNS " FROM " PAID_KEYS_JOIN
			 "WHERE i.open_amount = 0 AND i.cancelled_on IS NULL AND ($2::bigint IS NULL OR i.company_id = $2) "
			 "ORDER BY i.id",
			 2, (Oid[]) {TEXTARRAYOID, INT8OID}, (Datum[]) {col_array(&keys), company},
			 scoped ? "  " : " n", load_invoice_row);
	loading_paid = false;
	if (run->ninv == first_paid)
		return;
	for (int32 i = first_paid; i < run->ninv; i++)
		kix_add(run->refs, rc_ref_key(run, 'K', run->inv[i].key, run->inv[i].keylen), i);
}

/* ------------------------------------------------------------- writing */

/* (company, id) order */
static int
invoice_key_cmp(const void *a, const void *b)
{
	const int64 *x = a;
	const int64 *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
}

/*
 * Which invoices changed or are locked since they were loaded.  Locked
 * company after company, in (company, id) order, each lock naming its
 * company (routed to the company's shard on Citus: doc/scale_out.md,
 * blocker 5).
 */
static void
lock_invoices(RcRun *run, bool *unsafe)
{
	KeyIndex   *by_id;
	int64	   *keys;			/* (company, id) pairs */
	int			nkeys = 0;
	SPIPlanPtr	plan = NULL;

	keys = palloc(sizeof(int64) * 2 * Max(run->ninv, 1));
	by_id = kix_create(run->cxt, 1024);
	for (int32 i = 0; i < run->ninv; i++)
		if (run->inv[i].touched)
		{
			keys[2 * nkeys] = run->inv[i].company_id;
			keys[2 * nkeys + 1] = run->inv[i].id;
			nkeys++;
			kix_add(by_id, rc_id_key(run->inv[i].id), i);
			unsafe[i] = true;	/* until the lock proves otherwise */
		}
	if (nkeys == 0)
		return;
	qsort(keys, nkeys, sizeof(int64) * 2, invoice_key_cmp);
	for (int first = 0, last; first < nkeys; first = last)
	{
		Col			ids;
		int			rc;

		col_init(&ids, INT8OID);
		for (last = first; last < nkeys && keys[2 * last] == keys[2 * first]; last++)
			col_push(&ids, Int64GetDatum(keys[2 * last + 1]), false);
		if (plan == NULL)
		{
			plan = SPI_prepare("SELECT i.id, " AMOUNT4("i.open_amount") " FROM ar.invoice i "
							   "WHERE i.company_id = $1 AND i.id = ANY($2) ORDER BY i.id FOR UPDATE SKIP LOCKED",
							   2, (Oid[]) {INT8OID, INT8ARRAYOID});
			if (plan == NULL)
				spi_check(SPI_result, "prepare a query");
		}
		rc = SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(keys[2 * first]), col_array(&ids)}, NULL, false, 0);
		spi_check(rc, "lock invoices");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull,
						open_null;
			int64		id;
			Amount		open;

			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, row_values, row_nulls);
			id = get_int8(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
			open = get_int8(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &open_null);

			for (int32 pos = kix_first(by_id, rc_id_key(id)); pos >= 0; pos = kix_next(by_id, pos))
			{
				int32		i = kix_value(by_id, pos);

				if (run->inv[i].id == id && !open_null && open == run->inv[i].loaded_open)
					unsafe[i] = false;
			}
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freeplan(plan);
	pfree(keys);
}

static bool
hyp_unsafe(RcHyp *h, bool *unsafe)
{
	for (int i = 0; i < h->nalloc; i++)
		if (unsafe[h->alloc[i].inv])
			return true;
	for (int i = 0; i < h->nadj; i++)
		if (unsafe[h->adj[i].inv])
			return true;
	return false;
}

static const char *
payment_means(RcLine *line)
{
	const char *c = line->bank_tx_code;

	if (c == NULL)
		return "transfer";
	if (strstr(c, "DD") || strstr(c, "DDT") || strstr(c, "SDD") || pg_strncasecmp(c, "N1", 2) == 0)
		return "direct_debit";
	if (strstr(c, "CCRD") || strstr(c, "CARD") || strstr(c, "CRD"))
		return "card";
	return "transfer";
}

static const char *
outcome_name(Outcome o)
{
	switch (o)
	{
		case OUT_APPLIED:
			return "applied";
		case OUT_PROPOSED:
			return "proposed";
		case OUT_IGNORED:
			return "ignored";
		default:
			return "unmatched";
	}
}

static char *
flags_text(int flags)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	if (flags & LINEFLAG_UNKNOWN_PAYER)
		appendStringInfoString(&b, "unknown_payer,");
	if (flags & LINEFLAG_DUPLICATE)
		appendStringInfoString(&b, "duplicate_payment,");
	if (flags & LINEFLAG_AMOUNT_MISMATCH)
		appendStringInfoString(&b, "amount_mismatch,");
	if (flags & LINEFLAG_OVERPAYMENT)
		appendStringInfoString(&b, "overpayment,");
	if (b.len > 1)
		b.data[--b.len] = '\0';
	appendStringInfoChar(&b, '}');
	return b.data;
}

static char *
ids_text(RcRun *run, RcHyp *h)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	for (int i = 0; i < h->nalloc; i++)
		appendStringInfo(&b, "%s" INT64_FORMAT, i ? "," : "", run->inv[h->alloc[i].inv].id);
	appendStringInfoChar(&b, '}');
	return b.data;
}

/* Amounts (or shortfalls, by invoice of the allocations) as an array literal. */
static char *
amounts_text(RcHyp *h, bool shortfalls)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	for (int i = 0; i < h->nalloc; i++)
	{
		Amount		a = h->alloc[i].amount;

		if (shortfalls)
		{
			a = 0;
			for (int j = 0; j < h->nadj; j++)
				if (h->adj[j].inv == h->alloc[i].inv)
					a = h->adj[j].amount;
		}
		if (i)
			appendStringInfoChar(&b, ',');
		amount_format(&b, a);
	}
	appendStringInfoChar(&b, '}');
	return b.data;
}

static char *
unmatched_explanation(RcLine *line)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, "{\"method\":\"none\",\"applied\":false,\"summary\":");
	json_string(&b, line->why ? line->why : "nothing found");
	appendStringInfoString(&b, ",\"payer\":{\"identified_by\":\"");
	appendStringInfoString(&b, line->payer.by == PAYER_NONE ? "none" : "some");
	appendStringInfoString(&b, "\"}}");
	return b.data;
}

/*
 * A line paying invoices net of a credit note: the credit note is set
 * against the invoices first (allocations of method credit_note, as
 * ar.apply_credit_note makes them), and the line pays what is left, so
 * that its allocations never go below zero or above its amount.  Fills
 * net[] with what the line allocates to each invoice of the hypothesis
 * (0 for the credit notes) and pushes the credit-note pairs to cn[].
 */
static void
net_credit_notes(RcRun *run, RcLine *line, RcHyp *h, Amount *net, Col *cn)
{
	for (int i = 0; i < h->nalloc; i++)
		net[i] = Max(h->alloc[i].amount, 0);
	for (int i = 0; i < h->nalloc; i++)
	{
		Amount		left = -h->alloc[i].amount;
		RcInvoice  *note = &run->inv[h->alloc[i].inv];

		while (left > 0)
		{
			int			big = -1;
			Amount		take;

			for (int j = 0; j < h->nalloc; j++)
				if (net[j] > 0 && (big < 0 || net[j] > net[big]))
					big = j;
			if (big < 0)
				break;			/* cannot happen: the line's amount is positive */
			take = Min(left, net[big]);
			for (int k = 0; k < 2; k++)
			{
				RcInvoice  *inv = k == 0 ? &run->inv[h->alloc[big].inv] : note;

				col_push(&cn[0], Int64GetDatum(inv->company_id), false);
				col_push(&cn[1], Int64GetDatum(inv->id), false);
				col_push(&cn[2], NumericGetDatum(amount_numeric(k == 0 ? take : -take)), false);
				col_push(&cn[3], DateADTGetDatum(line->booking_date), false);
				col_text(&cn[4], psprintf("%s %s (bank transaction " INT64_FORMAT ", ar.reconcile run " INT64_FORMAT ")",
										  k == 0 ? "credit note" : "invoice",
										  k == 0 ? note->number : run->inv[h->alloc[big].inv].number,
										  line->id, run->run_id));
			}
			net[big] -= take;
			left -= take;
		}
	}
}

typedef struct Counts
{
	int			applied,
				proposed,
				unmatched,
				ignored,
				returns,
				deferred;
} Counts;

/*
 * A company a run records a row of ar.reconcile_run for, with what the run
 * did there: the companies of the lines it looked at, in id order, or the
 * one company of ar.reconcile_company (or, in a 0.1.0 database, the run's
 * one row, company NULL for every company).
 */
typedef struct RunCompany
{
	int64		id;
	bool		isnull;
	int			lines;
	Counts		counts;
} RunCompany;

/* The row of a line's company (a binary search: the companies are sorted). */
static int
run_company_slot(const RunCompany *rcs, int nrc, int64 company_id)
{
	int			lo = 0,
				hi = nrc - 1;

	if (nrc == 1)
		return 0;
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (rcs[mid].id == company_id)
			return mid;
		if (rcs[mid].id < company_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	elog(ERROR, "ar.reconcile: company " INT64_FORMAT " of a line has no run row", company_id);
	return 0;					/* keep the compiler quiet */
}

/*
 * An explanation as jsonb, without jsonb_in's lexer (jsonb_build.c).  The
 * tree it is built from lives in a scratch context, reset at each call:
 * only the jsonb is kept (a hundred thousand trees would otherwise stay
 * until the writes are done).
 */
static Datum
explanation_jsonb(char *text)
{
	static MemoryContext scratch = NULL;
	MemoryContext old;
	Datum		d;

	if (scratch == NULL)
		scratch = AllocSetContextCreate(TopMemoryContext, "ar.reconcile explanation",
										ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(scratch);
	d = rc_jsonb_from_text(text);
	MemoryContextSwitchTo(old);
	d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
	MemoryContextReset(scratch);
	pfree(text);
	return d;
}

static void
write_results(RcRun *run, RunCompany *rcs, int nrc, Datum *return_ids, int *nreturn)
{
	bool	   *unsafe = palloc0(sizeof(bool) * Max(run->ninv, 1));
	Col			ln[10];			/* reconcile_line */
	Col			al[9];			/* allocations */
	Col			sf[6];			/* shortfalls */
	Col			cr[8];			/* customer credits */
	Col			pr[13];			/* proposals */
	Col			cn[5];			/* credit notes set against invoices */
	Col			proposed_ids,
				ignored_ids,
				rets;

	lock_invoices(run, unsafe);

	col_init(&ln[0], INT8OID);
	col_init(&ln[1], INT8OID);
	col_init(&ln[2], TEXTOID);
	col_init(&ln[3], TEXTOID);
	col_init(&ln[4], FLOAT4OID);
	col_init(&ln[5], INT8OID);
	col_init(&ln[6], TEXTOID);
	col_init(&ln[7], TEXTOID);
	col_init(&ln[8], TEXTOID);
	col_init(&ln[9], JSONBOID);
	col_init(&al[0], INT8OID);
	col_init(&al[1], INT8OID);
	col_init(&al[2], INT8OID);
	col_init(&al[3], NUMERICOID);
	col_init(&al[4], DATEOID);
	col_init(&al[5], TEXTOID);
	col_init(&al[6], TEXTOID);
	col_init(&al[7], FLOAT4OID);
	col_init(&al[8], TEXTOID);
	col_init(&sf[0], INT8OID);
	col_init(&sf[1], INT8OID);
	col_init(&sf[2], INT8OID);
	col_init(&sf[3], NUMERICOID);
	col_init(&sf[4], DATEOID);
	col_init(&sf[5], TEXTOID);
	col_init(&cr[0], INT8OID);
	col_init(&cr[1], INT8OID);
	col_init(&cr[2], TEXTOID);
	col_init(&cr[3], NUMERICOID);
	col_init(&cr[4], TEXTOID);
	col_init(&cr[5], INT8OID);
	col_init(&cr[6], INT8OID);
	col_init(&cr[7], DATEOID);
	for (int k = 0; k < 13; k++)
		col_init(&pr[k], (Oid[]) {INT8OID, INT8OID, INT4OID, FLOAT4OID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
			TEXTOID, NUMERICOID, TEXTOID, JSONBOID, TEXTOID}[k]);
	col_init(&cn[0], INT8OID);
	col_init(&cn[1], INT8OID);
	col_init(&cn[2], NUMERICOID);
	col_init(&cn[3], DATEOID);
	col_init(&cn[4], TEXTOID);
	col_init(&proposed_ids, INT8OID);
	col_init(&ignored_ids, INT8OID);
	col_init(&rets, INT8OID);

	for (int i = 0; i < run->nline; i++)
	{
		RcLine	   *line = &run->line[i];
		RcHyp	   *best = line->nhyps > 0 ? &line->hyps[0] : NULL;
		Datum		explanation;
		bool		busy = false;
		Counts	   *counts = &rcs[run_company_slot(rcs, nrc, line->company_id)].counts;

		if (line->outcome == OUT_RETURN)
		{
			col_push(&rets, Int64GetDatum(line->id), false);
			continue;
		}
		for (int k = 0; k < line->nhyps && !busy; k++)
			busy = hyp_unsafe(&line->hyps[k], unsafe);
		if (busy)
		{
			line->outcome = OUT_DEFERRED;
			counts->deferred++;
			continue;
		}
		switch (line->outcome)
		{
			case OUT_APPLIED:
				counts->applied++;
				break;
			case OUT_PROPOSED:
				counts->proposed++;
				col_push(&proposed_ids, Int64GetDatum(line->id), false);
				break;
			case OUT_IGNORED:
				counts->ignored++;
				col_push(&ignored_ids, Int64GetDatum(line->id), false);
				break;
			default:
				counts->unmatched++;
				break;
		}

		explanation = explanation_jsonb(best ? rc_explain(run, line, best, 1) : unmatched_explanation(line));
		col_push(&ln[0], Int64GetDatum(line->id), false);
		col_push(&ln[1], Int64GetDatum(line->company_id), false);
		col_text(&ln[2], outcome_name(line->outcome));
		col_text(&ln[3], best ? best->method : NULL);
		col_push(&ln[4], Float4GetDatum(best ? best->score : 0), best == NULL);
		col_push(&ln[5], Int64GetDatum(best && best->cust >= 0 ? run->cust[best->cust].id : 0),
				 best == NULL || best->cust < 0);
		col_text(&ln[6], line->outcome == OUT_IGNORED ? NULL : rc_payer_name(line->payer.by));
		col_text(&ln[7], flags_text(line->flags));
		col_text(&ln[8], best ? ids_text(run, best) : "{}");
		col_push(&ln[9], explanation, false);

		if (line->outcome == OUT_APPLIED)
		{
			char	   *note = psprintf("ar.reconcile run " INT64_FORMAT, run->run_id);
			const char *means = payment_means(line);
			Amount		net[MAX_HYP_ALLOCS];

			net_credit_notes(run, line, best, net, cn);
			for (int k = 0; k < best->nalloc; k++)
			{
				RcInvoice  *inv = &run->inv[best->alloc[k].inv];

				if (net[k] <= 0)
					continue;
				col_push(&al[0], Int64GetDatum(inv->company_id), false);
				col_push(&al[1], Int64GetDatum(inv->id), false);
				col_push(&al[2], Int64GetDatum(line->id), false);
				col_push(&al[3], NumericGetDatum(amount_numeric(net[k])), false);
				col_push(&al[4], DateADTGetDatum(line->booking_date), false);
				col_text(&al[5], best->method);
				col_text(&al[6], means);
				col_push(&al[7], Float4GetDatum(best->score), false);
				col_text(&al[8], note);
			}
			for (int k = 0; k < best->nadj; k++)
			{
				RcInvoice  *inv = &run->inv[best->adj[k].inv];
				StringInfoData why;

				col_push(&sf[0], Int64GetDatum(inv->company_id), false);
				col_push(&sf[1], Int64GetDatum(inv->id), false);
				col_push(&sf[2], Int64GetDatum(line->id), false);
				col_push(&sf[3], NumericGetDatum(amount_numeric(best->adj[k].amount)), false);
				col_push(&sf[4], DateADTGetDatum(line->booking_date), false);
				initStringInfo(&why);
				appendStringInfoString(&why, "shortfall of ");
				amount_format(&why, best->adj[k].amount);
				appendStringInfo(&why, " on bank transaction " INT64_FORMAT " written off: within the write-off limit of ",
								 line->id);
				amount_format(&why, run->config[line->config].write_off_limit);
				appendStringInfo(&why, " (ar.reconcile run " INT64_FORMAT ")", run->run_id);
				col_text(&sf[5], why.data);
			}
			if (best->credit > 0 && best->cust >= 0)
			{
				col_push(&cr[0], Int64GetDatum(line->company_id), false);
				col_push(&cr[1], Int64GetDatum(run->cust[best->cust].id), false);
				col_text(&cr[2], line->currency);
				col_push(&cr[3], NumericGetDatum(amount_numeric(best->credit)), false);
				col_text(&cr[4], best->credit_source);
				col_push(&cr[5], Int64GetDatum(line->id), false);
				col_push(&cr[6], Int64GetDatum(best->nalloc > 0 ? run->inv[best->alloc[0].inv].id : 0),
						 best->nalloc == 0);
				col_push(&cr[7], DateADTGetDatum(line->booking_date), false);
			}
		}
		else if (line->outcome == OUT_PROPOSED)
		{
			for (int k = 0; k < line->nhyps; k++)
			{
				RcHyp	   *h = &line->hyps[k];

				col_push(&pr[0], Int64GetDatum(line->company_id), false);
				col_push(&pr[1], Int64GetDatum(line->id), false);
				col_push(&pr[2], Int32GetDatum(k + 1), false);
				col_push(&pr[3], Float4GetDatum(h->score), false);
				col_text(&pr[4], h->method);
				col_push(&pr[5], Int64GetDatum(h->cust >= 0 ? run->cust[h->cust].id : 0), h->cust < 0);
				col_text(&pr[6], ids_text(run, h));
				col_text(&pr[7], amounts_text(h, false));
				col_text(&pr[8], h->nadj > 0 ? amounts_text(h, true) : NULL);
				col_push(&pr[9], NumericGetDatum(amount_numeric(h->credit)), false);
				col_text(&pr[10], h->credit > 0 ? h->credit_source : NULL);
				col_push(&pr[11], k == 0 ? explanation : explanation_jsonb(rc_explain(run, line, h, k + 1)), false);
				col_text(&pr[12], payment_means(line));
			}
		}
	}

	/*
	 * Credit notes first, then the allocations and the decisions in one
	 * statement: each decision is inserted with the ids of the allocations
	 * made from its line (rather than updated afterwards, which rewrote
	 * every row and checked its foreign keys again).
	 */
	if (cn[0].n > 0)
		spi_write(run,
				  "INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note) "
				  "SELECT u.company_id, u.invoice_id, u.amount, u.d, 'credit_note', u.note "
				  "  FROM unnest($1, $2, $3, $4, $5) AS u(company_id, invoice_id, amount, d, note)",
				  5, cn, false);
	if (ln[0].n > 0 || al[0].n > 0)
	{
		Col			lnal[19];

		memcpy(lnal, ln, sizeof(ln));
		memcpy(lnal + 10, al, sizeof(al));
		/*
		 * The engine's own statement: its allocation trigger applies them
		 * without locking and checking again what lock_invoices and the
		 * load locked and checked (reconcile_write.c).
		 */
		spi_engine_write(run,
						 "WITH ins AS ("
						 "  INSERT INTO ar.allocation (company_id, invoice_id, bank_transaction_id, amount, allocated_on, "
						 "                             method, payment_means, score, note) "
						 "  SELECT * FROM unnest($12, $13, $14, $15, $16, $17, $18, $19, $20) "
						 "  RETURNING id, bank_transaction_id), "
						 "g AS (SELECT bank_transaction_id, array_agg(id ORDER BY id) AS ids FROM ins GROUP BY 1) "
						 "INSERT INTO ar.reconcile_line (bank_transaction_id, company_id, run_id, outcome, method, score, "
						 "                               customer_id, payer, flags, invoice_ids, explanation, allocation_ids) "
						 "SELECT u.id, u.company_id, $1, u.outcome, u.method, u.score, u.customer_id, u.payer, "
						 "       u.flags::text[], u.invoice_ids::bigint[], u.explanation, g.ids "
						 "  FROM unnest($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WITH ORDINALITY "
						 "       AS u(id, company_id, outcome, method, score, customer_id, payer, flags, invoice_ids, explanation, k) "
						 "  LEFT JOIN g ON g.bank_transaction_id = u.id "
						 " ORDER BY u.k",
						 19, lnal, true);
	}
	if (sf[0].n > 0)
		spi_write(run,
				  "WITH src AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6) "
				  "                     AS s(company_id, invoice_id, line_id, amount, allocated_on, note)), "
				  "ins AS (INSERT INTO ar.allocation (company_id, invoice_id, amount, allocated_on, method, note) "
				  "        SELECT company_id, invoice_id, amount, allocated_on, 'shortfall', note FROM src "
				  "        RETURNING id, invoice_id) "
				  "INSERT INTO ar.reconcile_adjustment (allocation_id, bank_transaction_id, invoice_id, kind, company_id) "
				  "SELECT ins.id, src.line_id, src.invoice_id, 'shortfall', src.company_id FROM ins JOIN src USING (invoice_id)",
				  6, sf, false);
	if (cr[0].n > 0)
		spi_write(run,
				  "INSERT INTO ar.customer_credit (company_id, customer_id, currency, amount, source, "
				  "                                bank_transaction_id, invoice_id, created_on, note) "
				  "SELECT u.company_id, u.customer_id, u.currency, u.amount, u.source, u.line_id, u.invoice_id, u.d, "
				  "       format('%s of bank transaction %s (ar.reconcile run %s)', u.source, u.line_id, $1) "
				  "  FROM unnest($2, $3, $4, $5, $6, $7, $8, $9) "
				  "       AS u(company_id, customer_id, currency, amount, source, line_id, invoice_id, d)",
				  8, cr, true);
	if (pr[0].n > 0)
		spi_write(run,
				  "INSERT INTO ar.match_proposal (company_id, run_id, bank_transaction_id, rank, score, method, "
				  "       customer_id, invoice_ids, amounts, shortfalls, credit_amount, credit_source, explanation, payment_means) "
				  "SELECT u.company_id, $1, u.line_id, u.rank, u.score, u.method, u.customer_id, u.ids::bigint[], "
				  "       u.amounts::numeric[], u.shortfalls::numeric[], u.credit, u.source, u.explanation, u.means "
				  "  FROM unnest($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
				  "       AS u(company_id, line_id, rank, score, method, customer_id, ids, amounts, shortfalls, credit, "
				  "            source, explanation, means)",
				  13, pr, true);
	if (proposed_ids.n > 0)
		spi_write(run, "UPDATE ar.bank_transaction SET status = 'proposed' "
				  "WHERE id = ANY($1) AND status = 'unmatched' AND allocated_amount = 0",
				  1, &proposed_ids, false);
	if (ignored_ids.n > 0)
		spi_write(run, "UPDATE ar.bank_transaction SET status = 'ignored' "
				  "WHERE id = ANY($1) AND status = 'unmatched' AND allocated_amount = 0",
				  1, &ignored_ids, false);
	*nreturn = rets.n;
	for (int k = 0; k < rets.n; k++)
		return_ids[k] = rets.v[k];
	pfree(unsafe);
}

/* --------------------------------------------------------------- output */

static Datum
ids_array(RcRun *run, RcHyp *h)
{
	Datum	   *v = palloc(sizeof(Datum) * Max(h ? h->nalloc : 0, 1));
	int			n = h ? h->nalloc : 0;

	for (int i = 0; i < n; i++)
		v[i] = Int64GetDatum(run->inv[h->alloc[i].inv].id);
	return PointerGetDatum(construct_array(v, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
amounts_array(RcHyp *h)
{
	Datum	   *v = palloc(sizeof(Datum) * Max(h ? h->nalloc : 0, 1));
	int			n = h ? h->nalloc : 0;

	for (int i = 0; i < n; i++)
		v[i] = NumericGetDatum(amount_numeric(h->alloc[i].amount));
	return PointerGetDatum(construct_array(v, n, NUMERICOID, -1, false, TYPALIGN_INT));
}

static void
emit_rows(RcRun *run, ReturnSetInfo *rsinfo)
{
	for (int i = 0; i < run->nline; i++)
	{
		RcLine	   *line = &run->line[i];
		RcHyp	   *best = line->nhyps > 0 ? &line->hyps[0] : NULL;
		Datum		values[6];
		bool		nulls[6] = {false};
		const char *method;

		if (line->outcome == OUT_IGNORED || line->outcome == OUT_RETURN)
			continue;
		if (line->outcome == OUT_DEFERRED)
			best = NULL;
		method = line->outcome == OUT_DEFERRED ? "deferred" : best ? best->method : "none";
		values[0] = Int64GetDatum(line->id);
		values[1] = ids_array(run, best);
		values[2] = amounts_array(best);
		values[3] = Float4GetDatum(best ? best->score : 0);
		nulls[3] = best == NULL;
		values[4] = CStringGetTextDatum(method);
		values[5] = BoolGetDatum(line->outcome == OUT_APPLIED);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* ------------------------------------------------------------------ run */

/*
 * Whether the company access functions exist: not in a 0.1.0 database that
 * this library serves before ALTER EXTENSION ar_collect UPDATE (there every
 * run is over all companies, as in 0.1.0).
 */
static bool
tenancy_installed(void)
{
	bool		isnull;
	int			rc = SPI_execute("SELECT pg_catalog.to_regprocedure('ar._require_company(bigint,text)') IS NOT NULL",
								 true, 0);

	spi_check(rc, "look for the company access functions");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The reconciliation's lock, until the end of the transaction: its row of
 * ar.lock_slot, which no caller can take (doc/security.md); in a 0.1.0
 * database this library serves before ALTER EXTENSION ar_collect UPDATE,
 * 0.1.0's advisory lock ("ar_recon" in ASCII).
 */
static void
take_run_lock(void)
{
	bool		isnull;
	int			rc = SPI_execute("SELECT pg_catalog.to_regprocedure('ar._take_lock(text,bigint,boolean)') IS NOT NULL",
								 true, 0);

	spi_check(rc, "look for the lock function");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		rc = SPI_execute("SELECT ar._take_lock('reconcile')", false, 0);
	else
		rc = SPI_execute("SELECT pg_catalog.pg_advisory_xact_lock(7021789479296921454)", false, 0);
	spi_check(rc, "take its lock");
}

/*
 * A new run id, from the sequence of ar.reconcile_run: the rows of the
 * run, one per company, are written with it once its companies are known.
 */
static int64
new_run_id(void)
{
	bool		isnull;
	int			rc = SPI_execute("SELECT pg_catalog.nextval(pg_catalog.pg_get_serial_sequence('ar.reconcile_run', 'id'))",
								 false, 0);

	spi_check(rc, "draw a run id");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Whether ar.reconcile_run is the 0.1.0 table (company_id NULL for a run
 * over every company, keyed by id alone): a 0.1.0 database this library
 * serves before ALTER EXTENSION ar_collect UPDATE gets one row per call.
 */
static bool
runs_per_database(void)
{
	bool		isnull;
	int			rc = SPI_execute("SELECT NOT a.attnotnull FROM pg_catalog.pg_attribute a "
								 "WHERE a.attrelid = 'ar.reconcile_run'::pg_catalog.regclass AND a.attname = 'company_id'",
								 true, 0);

	spi_check(rc, "look at the run table");
	return SPI_processed > 0 && DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The companies the run records a row for: ar.reconcile_company's one
 * company (a row even without a new line), else the companies of the lines
 * loaded, in id order (none without a new line).
 */
static RunCompany *
run_companies(RcRun *run, bool one_row, bool company_null, int64 company_id, int *nrc)
{
	RunCompany *rcs;
	int64	   *ids;
	int			n = 0;

	if (one_row)
	{
		rcs = palloc0(sizeof(RunCompany));
		rcs[0].id = company_id;
		rcs[0].isnull = company_null;
		rcs[0].lines = run->nline;
		*nrc = 1;
		return rcs;
	}
	ids = palloc(sizeof(int64) * Max(run->nline, 1));
	for (int i = 0; i < run->nline; i++)
		ids[i] = run->line[i].company_id;
	if (run->nline > 1)
		qsort(ids, run->nline, sizeof(int64), int64_cmp);
	rcs = palloc0(sizeof(RunCompany) * Max(run->nline, 1));
	for (int i = 0; i < run->nline; i++)
		if (n == 0 || rcs[n - 1].id != ids[i])
			rcs[n++].id = ids[i];
	for (int i = 0; i < run->nline; i++)
		rcs[run_company_slot(rcs, n, run->line[i].company_id)].lines++;
	pfree(ids);
	*nrc = n;
	return rcs;
}

/*
 * The run's rows, written before its decisions (which name them, checked
 * set-wise: 73_reconcile_references.sql); one company: one row named by
 * the pair, which Citus routes to the company's shard.
 */
static void
record_run(RcRun *run, RunCompany *rcs, int nrc, TimestampTz started)
{
	int			rc;

	if (nrc == 1)
		rc = SPI_execute_with_args("INSERT INTO ar.reconcile_run (id, company_id, auto_apply, started_at) "
								   "VALUES ($1, $2, $3, $4)",
								   4, (Oid[]) {INT8OID, INT8OID, BOOLOID, TIMESTAMPTZOID},
								   (Datum[]) {Int64GetDatum(run->run_id), Int64GetDatum(rcs[0].id),
									   BoolGetDatum(run->auto_apply), TimestampTzGetDatum(started)},
								   rcs[0].isnull ? " n  " : NULL, false, 0);
	else
	{
		Col			ids;

		col_init(&ids, INT8OID);
		for (int i = 0; i < nrc; i++)
			col_push(&ids, Int64GetDatum(rcs[i].id), false);
		rc = SPI_execute_with_args("INSERT INTO ar.reconcile_run (id, company_id, auto_apply, started_at) "
								   "SELECT $1, u.company_id, $3, $4 FROM unnest($2) AS u(company_id)",
								   4, (Oid[]) {INT8OID, INT8ARRAYOID, BOOLOID, TIMESTAMPTZOID},
								   (Datum[]) {Int64GetDatum(run->run_id), col_array(&ids),
									   BoolGetDatum(run->auto_apply), TimestampTzGetDatum(started)},
								   NULL, false, 0);
	}
	spi_check(rc, "record the run");
}

/*
 * What the run did, per company; its phases are timed once for all the
 * companies and shared out by their number of lines, so that the rows of
 * a run add up to the run.
 */
static void
finish_run(RcRun *run, RunCompany *rcs, int nrc, double load_ms, double match_ms, double write_ms)
{
	Col			c[11];
	Oid			types[13];
	Datum		values[13];
	int			rc;

	for (int k = 0; k < 11; k++)
		col_init(&c[k], k == 0 ? INT8OID : k < 8 ? INT4OID : FLOAT8OID);
	for (int i = 0; i < nrc; i++)
	{
		RunCompany *r = &rcs[i];
		double		share = run->nline > 0 ? (double) r->lines / run->nline : 1.0 / nrc;

		col_push(&c[0], Int64GetDatum(r->id), r->isnull);
		col_push(&c[1], Int32GetDatum(r->lines), false);
		col_push(&c[2], Int32GetDatum(r->counts.applied), false);
		col_push(&c[3], Int32GetDatum(r->counts.proposed), false);
		col_push(&c[4], Int32GetDatum(r->counts.unmatched), false);
		col_push(&c[5], Int32GetDatum(r->counts.ignored), false);
		col_push(&c[6], Int32GetDatum(r->counts.returns), false);
		col_push(&c[7], Int32GetDatum(r->counts.deferred), false);
		col_push(&c[8], Float8GetDatum(load_ms * share), false);
		col_push(&c[9], Float8GetDatum(match_ms * share), false);
		col_push(&c[10], Float8GetDatum(write_ms * share), false);
	}
	types[0] = INT8OID;
	values[0] = Int64GetDatum(run->run_id);
	/* the time as a value: Citus refuses a volatile function in an UPDATE of a distributed table */
	types[1] = TIMESTAMPTZOID;
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	for (int k = 0; k < 11; k++)
	{
		/* one company: plain values, the row named by its pair (routed on Citus) */
		types[k + 2] = nrc == 1 ? c[k].type : get_array_type(c[k].type);
		values[k + 2] = nrc == 1 ? c[k].v[0] : col_array(&c[k]);
	}
	if (nrc == 1)
		rc = SPI_execute_with_args(rcs[0].isnull ?
								   "UPDATE ar.reconcile_run r SET finished_at = $2, lines = $4, applied = $5, proposed = $6, "
								   "       unmatched = $7, ignored = $8, returns = $9, deferred = $10, load_ms = $11, "
								   "       match_ms = $12, write_ms = $13 "
								   " WHERE r.id = $1 AND $3::bigint IS NULL" :
								   "UPDATE ar.reconcile_run r SET finished_at = $2, lines = $4, applied = $5, proposed = $6, "
								   "       unmatched = $7, ignored = $8, returns = $9, deferred = $10, load_ms = $11, "
								   "       match_ms = $12, write_ms = $13 "
								   " WHERE r.id = $1 AND r.company_id = $3",
								   13, types, values, rcs[0].isnull ? "  n          " : NULL, false, 0);
	else
		rc = SPI_execute_with_args("UPDATE ar.reconcile_run r SET finished_at = $2, lines = u.lines, "
								   "       applied = u.applied, proposed = u.proposed, unmatched = u.unmatched, ignored = u.ignored, "
								   "       returns = u.returns, deferred = u.deferred, load_ms = u.load_ms, match_ms = u.match_ms, "
								   "       write_ms = u.write_ms "
								   "  FROM unnest($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
								   "       AS u(company_id, lines, applied, proposed, unmatched, ignored, returns, deferred, "
								   "            load_ms, match_ms, write_ms) "
								   " WHERE r.id = $1 AND r.company_id = u.company_id",
								   13, types, values, NULL, false, 0);
	spi_check(rc, "finish the run");
}

/* The direct-debit returns of a run, by line id: their companies. */
typedef struct ReturnLine
{
	int64		id;
	int64		company_id;
} ReturnLine;

static int
return_line_cmp(const void *a, const void *b)
{
	return int64_cmp(&((const ReturnLine *) a)->id, &((const ReturnLine *) b)->id);
}

static ReturnLine *
return_lines(RcRun *run, int *n)
{
	ReturnLine *r = palloc(sizeof(ReturnLine) * Max(run->nline, 1));

	*n = 0;
	for (int i = 0; i < run->nline; i++)
		if (run->line[i].outcome == OUT_RETURN)
		{
			r[*n].id = run->line[i].id;
			r[(*n)++].company_id = run->line[i].company_id;
		}
	qsort(r, *n, sizeof(ReturnLine), return_line_cmp);
	return r;
}

/* The company of a return the run handed to ar._reconcile_returns. */
static int64
return_company(const ReturnLine *r, int n, int64 line_id)
{
	ReturnLine	key = {line_id, 0};
	ReturnLine *found = bsearch(&key, r, n, sizeof(ReturnLine), return_line_cmp);

	if (found == NULL)
		elog(ERROR, "ar.reconcile: line " INT64_FORMAT " was not loaded by the run", line_id);
	return found->company_id;
}

static void
reconcile_run(ReturnSetInfo *rsinfo, bool auto_apply, bool scoped, int64 company_id, bool dry_run, int64 run_id)
{
	MemoryContext cxt,
				old;
	RcRun	   *run;
	Datum		company = Int64GetDatum(company_id);
	TimestampTz t0,
				t1,
				t2;
	RunCompany *rcs = NULL;
	int			nrc = 0;
	bool		one_row = false;
	ReturnLine *rets = NULL;
	int			nrets = 0;
	Datum	   *return_ids;
	int			nreturn = 0;
	int			rc;
	bool		isnull;
	int			guc_level;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ar.reconcile", ALLOCSET_DEFAULT_SIZES);
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ar.reconcile could not connect to SPI")));
	old = MemoryContextSwitchTo(cxt);
	run = palloc0(sizeof(RcRun));
	run->cxt = cxt;
	run->auto_apply = auto_apply;
	t0 = GetCurrentTimestamp();

	if (scoped)
	{
		rc = SPI_execute_with_args("SELECT 1 FROM ar.company WHERE id = $1", 1, (Oid[]) {INT8OID},
								   &company, NULL, false, 0);
		spi_check(rc, "find the company");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("company " INT64_FORMAT " does not exist", company_id)));
		/* the caller must act for the company (SECURITY DEFINER: no row-level security here) */
		if (tenancy_installed())
			rc = SPI_execute_with_args("SELECT ar._require_company($1, $2)", 2, (Oid[]) {INT8OID, TEXTOID},
								   (Datum[]) {company, CStringGetTextDatum(dry_run ? "reader" : "collector")},
									   NULL, false, 0);
		spi_check(rc, "check the caller's access to the company");
	}

	/* one run at a time: the second waits, then sees what the first did */
	if (!dry_run)
		take_run_lock();

	load_config(run, company, scoped);
	if (!dry_run)
	{
		/*
		 * A 0.1.0 database: one row per call, as 0.1.0 wrote it; else one
		 * row for ar.reconcile_company, one per company with new lines for
		 * a run of ar.reconcile() (run_id given: its companies share it).
		 */
		one_row = runs_per_database() || (scoped && run_id == 0);
		run->run_id = run_id != 0 ? run_id : new_run_id();
	}

	/*
	 * skipped and reported: the rows beyond the input bounds (a database
	 * still at 0.1.0, before ALTER EXTENSION ... UPDATE, has no bounds)
	 */
	rc = SPI_execute("SELECT pg_catalog.to_regprocedure('ar._batch_quarantine(text,text[],bigint,date,boolean)') IS NOT NULL",
					 true, 1);
	spi_check(rc, "look for the input bounds");
	skip_beyond_bounds = false;
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		rc = SPI_execute_with_args("SELECT count(*) FROM ar._batch_quarantine('reconcile', "
								   "ARRAY['bank_transaction', 'invoice'], $1, current_date, $2)",
								   2, (Oid[]) {INT8OID, BOOLOID}, (Datum[]) {company, BoolGetDatum(!dry_run)},
								   scoped ? "  " : "n ", false, 0);
		spi_check(rc, "find the rows beyond the input bounds");
		skip_beyond_bounds =
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0;
	}

	/*
	 * The reads sort the lines and join the keys of paid invoices, the
	 * writes join and sort one row per line (the decisions with the ids of
	 * their allocations): with the default work_mem they spill to disk from
	 * some ten thousand lines on.
	 */
	guc_level = NewGUCNestLevel();
	if (work_mem < 65536)
		(void) set_config_option("work_mem", "65536", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	load_lines(run, company, scoped, dry_run);
	if (!dry_run)
	{
		rcs = run_companies(run, one_row, !scoped, company_id, &nrc);
		if (nrc > 0)
			record_run(run, rcs, nrc, t0);
	}
	if (run->nline > 0)
	{
		TimestampTz ti;

		load_customers(run, company, scoped);
		load_invoices(run, company, scoped);
		ti = GetCurrentTimestamp();
		rc_build_indexes(run);
		elog(DEBUG1, "ar.reconcile: %.0f ms to index the invoices", ms_since(ti));
	}
	t1 = GetCurrentTimestamp();
	elog(DEBUG1, "ar.reconcile: load %.0f ms (%d lines, %d customers, %d invoices)",
		 ms_since(t0), run->nline, run->ncust, run->ninv);

	for (int i = 0; i < run->nline; i++)
		rc_prescan(run, &run->line[i]);
	elog(DEBUG1, "ar.reconcile: prescan %.0f ms", ms_since(t1));
	if (run->nline > 0)
		load_paid(run, company, scoped);
	for (int i = 0; i < run->nline; i++)
	{
		RcLine	   *line = &run->line[i];

		if (line->config < 0)
		{
			line->outcome = OUT_DEFERRED;	/* a company created during the run */
			continue;
		}
		rc_match_line(run, line);
		if (line->outcome == OUT_APPLIED)
			rc_apply_in_memory(run, line);
		if ((i & 255) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	t2 = GetCurrentTimestamp();
	elog(DEBUG1, "ar.reconcile: match %.0f ms (prescan and paid invoices included)", ms_since(t1));

	return_ids = palloc(sizeof(Datum) * Max(run->nline, 1));
	if (dry_run)
	{
		/* what a run would do now: nothing written, no row locked */
		emit_rows(run, rsinfo);
		AtEOXact_GUC(true, guc_level);
		MemoryContextSwitchTo(old);
		SPI_finish();
		MemoryContextDelete(cxt);
		return;
	}
	if (run->nline > 0)
		write_results(run, rcs, nrc, return_ids, &nreturn);
	AtEOXact_GUC(true, guc_level);
	emit_rows(run, rsinfo);

	if (nreturn > 0)
	{
		int			dims[1] = {nreturn};
		int			lbs[1] = {1};
		Datum		ids = PointerGetDatum(construct_md_array(return_ids, NULL, 1, dims, lbs, INT8OID, 8,
															 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

		rc = SPI_execute_with_args("SELECT * FROM ar._reconcile_returns($1, $2, $3)", 3,
								   (Oid[]) {INT8OID, INT8ARRAYOID, BOOLOID},
								   (Datum[]) {Int64GetDatum(run->run_id), ids, BoolGetDatum(auto_apply)},
								   NULL, false, 0);
		spi_check(rc, "handle direct-debit returns");
		if (nrc > 1)
			rets = return_lines(run, &nrets);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			Datum		values[6];
			bool		nulls[6];

			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			rcs[nrc == 1 ? 0 : run_company_slot(rcs, nrc, return_company(rets, nrets, DatumGetInt64(values[0])))].counts.returns++;
		}
	}

	if (nrc > 0)
		finish_run(run, rcs, nrc, (double) (t1 - t0) / 1000.0, (double) (t2 - t1) / 1000.0, ms_since(t2));

	MemoryContextSwitchTo(old);
	SPI_finish();
	MemoryContextDelete(cxt);
}

/*
 * A run over one company, or over all: a caller that acts for every company
 * (superuser, the extension's owner) gets one run over all of them, any
 * other one run per company it acts for (as collector; as reader for a
 * preview), in company order, into the same result.
 */
static void
reconcile(FunctionCallInfo fcinfo, bool auto_apply, bool scoped, int64 company_id, bool dry_run)
{
	ReturnSetInfo *rsinfo;
	MemoryContext outer = CurrentMemoryContext;
	bool		all;
	bool		isnull;
	Datum	   *ids = NULL;
	int			nids = 0;
	int64		run_id = 0;
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	if (scoped)
	{
		reconcile_run(rsinfo, auto_apply, true, company_id, dry_run, 0);
		return;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("ar.reconcile could not connect to SPI")));
	all = !tenancy_installed();
	if (!all)
	{
		rc = SPI_execute_with_args("SELECT ar._acts_for_all(), ar._company_ids($1)", 1, (Oid[]) {TEXTOID},
								   (Datum[]) {CStringGetTextDatum(dry_run ? "reader" : "collector")}, NULL, false, 0);
		spi_check(rc, "find the companies the caller acts for");
		all = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (!all)
	{
		Datum		arr = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(outer);

		deconstruct_array(DatumGetArrayTypePCopy(arr), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &ids, NULL, &nids);
		MemoryContextSwitchTo(spi);
	}
	/* one run id for the call: its companies' rows share it */
	if (!all && !dry_run && nids > 0)
		run_id = new_run_id();
	SPI_finish();

	if (all)
		reconcile_run(rsinfo, auto_apply, false, 0, dry_run, 0);
	else
		for (int i = 0; i < nids; i++)
			reconcile_run(rsinfo, auto_apply, true, DatumGetInt64(ids[i]), dry_run, run_id);
}

PG_FUNCTION_INFO_V1(ar_reconcile);
Datum
ar_reconcile(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("auto_apply must be true or false, not NULL")));
	reconcile(fcinfo, PG_GETARG_BOOL(0), false, 0, false);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ar_reconcile_company);
Datum
ar_reconcile_company(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("company_id and auto_apply must not be NULL")));
	reconcile(fcinfo, PG_GETARG_BOOL(1), true, PG_GETARG_INT64(0), false);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ar_reconcile_preview);
Datum
ar_reconcile_preview(PG_FUNCTION_ARGS)
{
	reconcile(fcinfo, true, !PG_ARGISNULL(0), PG_ARGISNULL(0) ? 0 : PG_GETARG_INT64(0), true);
	return (Datum) 0;
}

