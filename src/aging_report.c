/*-------------------------------------------------------------------------
 *
 * aging_report.c
 *		The two paths of ar.aging_report (60_reports.sql): the full
 *		computation ar._aging_report_full(as_of), from every item open on
 *		as_of, grouped and ordered here rather than by the executor; and
 *		ar._aging_report_summary(as_of), the rows of the dashboard
 *		summaries' query (86_dashboard_summary.sql) joined with the
 *		customers and ordered here.
 *
 * What it returns is what its former SQL definition returned, value for
 * value (scales included) and in its order:
 *
 *	SELECT c.id, c.code, c.name, buckets..., currency, c.company_id,
 *	       credit_notes, unapplied_credit, total - unapplied_credit
 *	  FROM (ar.aging and sum FILTER (amount < 0) over ar.open_items(as_of)
 *	        GROUP BY customer_id, currency) g
 *	  FULL JOIN (customer credit of ar.open_credits(as_of), summed) u
 *	  JOIN ar.customer c ON c.id = coalesce(g.customer_id, u.customer_id)
 *	 ORDER BY c.code, currency
 *
 * Three queries run through SPI as the caller (row-level security applies
 * as it did): the open items, streamed into a hash table of exact sums per
 * customer and currency (ar.aging's own accumulator, aging.c, so its values
 * and errors); the customer credit; then the customers in the order of
 * their codes, whose rows are written out as they come.  Where the time
 * went before (bench/README.md, analytics.sh): the executor's hash
 * aggregate over the open items, a hash join with every customer and a sort
 * of the wide joined rows by code in the database collation (strcoll() per
 * comparison); here the customers are read in the order of their unique
 * index on (company_id, code), companies merged by code, and the amounts
 * joined in memory.  The summary path shares that last part: its query
 * returns one row per customer and currency, amounts computed, and they
 * are written out in the customers' order.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "aging.h"

PG_FUNCTION_INFO_V1(aging_report_full);
PG_FUNCTION_INFO_V1(aging_report_summary);

/*
 * The open items on $1: the text of ar._open_items' query
 * (ar._open_items_query(), 61_open_items.sql), read as a subquery: on one
 * node the plan is the inlined function's (the planner keeps what is read;
 * ar.open_items, PL/pgSQL since issue 14, would store them all first); on
 * Citus the statement names the ledger tables, which Citus plans (a SQL
 * function over distributed tables called from a query is refused:
 * doc/scale_out.md, blocker 2).
 */
#define OPEN_ITEMS_SQL \
	"SELECT o.customer_id, o.currency, o.due_date, o.amount < 0, o.open_amount FROM (%s) o " \
	"(invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount, open_amount, " \
	"days_past_due)"
/* Unused customer credit on $1, per customer and currency: ar._open_credits' text likewise. */
#define CREDIT_SQL \
	"SELECT k.customer_id, k.currency, sum(k.available) FROM (%s) k " \
	"(kind, credit_id, company_id, customer_id, currency, number, credit_date, amount, available, note) " \
	"WHERE k.kind = 'customer_credit' GROUP BY 1, 2"
/* The texts of both queries, their as_of $1. */
#define QUERIES_SQL \
	"SELECT ar._open_items_query(), ar._open_credits_query()"
/*
 * The customers in code order per company: the order of the unique index
 * on (company_id, code), read without a sort (a sort of the codes in a
 * linguistic collation costs strcoll() per comparison); companies are
 * merged by code here.
 */
#define CUSTOMERS_SQL \
	"SELECT c.id, c.code, c.name, c.company_id FROM ar.customer c ORDER BY c.company_id, c.code"

#define REPORT_NATTS	14

/* One customer and currency: a row of the report. */
typedef struct ReportGroup
{
	struct ReportGroup *next;	/* the customer's other currencies */
	char		currency[3];	/* char(3), blank-padded */
	bool		has_items;		/* open items (else only customer credit) */
	bool		has_credit_notes;
	AgingState	buckets;		/* ar.aging's sums of the open amounts */
	AgingState	credit_notes;	/* sums[0]: the open credit notes */
	Datum		available;		/* numeric customer credit, or 0 if none */
	Datum	   *amounts;		/* or the row's nine amounts, computed (summaries) */
} ReportGroup;

/* The amounts of a row: the buckets and total, credit notes, unapplied credit, net balance. */
#define REPORT_NAMOUNTS	9

typedef struct ReportCustomer
{
	int64		id;				/* hash key */
	char		status;			/* simplehash's */
	ReportGroup *groups;
} ReportCustomer;

/* the customers' ids mixed (splitmix64's finalizer) */
static inline uint32
report_hash_id(int64 id)
{
	uint64		h = (uint64) id;

	h ^= h >> 30;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 31;
	return (uint32) h;
}

#define SH_PREFIX		custhash
#define SH_ELEMENT_TYPE	ReportCustomer
#define SH_KEY_TYPE		int64
#define SH_KEY			id
#define SH_HASH_KEY(tb, key)	report_hash_id(key)
#define SH_EQUAL(tb, a, b)		((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* A customer with rows, as read (in company and code order). */
typedef struct ReportRow
{
	ReportGroup *groups;
	int64		id;
	text	   *code;
	Datum		name;
	bool		name_null;
	int64		company_id;
} ReportRow;

/* A row of the report waiting in the run of its code. */
typedef struct RunRow
{
	ReportGroup *group;
	ReportRow  *row;
} RunRow;

typedef struct ReportState
{
	custhash_hash *customers;
	ReportGroup *last;			/* the group of the previous row */
	int64		last_customer;
	DateADT		as_of;
	bool		as_of_null;
	DateADT		aged;			/* the summaries' aging date (summary path) */
	bool		aged_null;
	int64		company;		/* the company of a routed summary query */
	MemoryContext cxt;			/* the groups and rows */
	/* the customers with rows, read in company and code order */
	ReportRow  *rows;
	int			nrows;
	int			rows_size;
	int		   *segments;		/* where each company's rows begin */
	int			nsegments;
	int			segments_size;
	/* the rows sharing one code, written out when the code changes */
	Tuplestorestate *out;
	TupleDesc	desc;
	MemoryContext run_cxt;		/* the values written out */
	text	   *run_code;
	RunRow	   *run;
	int			nrun;
	int			run_size;
} ReportState;

typedef void (*row_fn) (ReportState *state, Datum *values, bool *nulls);

typedef struct ReportReceiver
{
	DestReceiver pub;
	ReportState *state;
	row_fn		fn;
} ReportReceiver;

static bool
report_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ReportReceiver *r = (ReportReceiver *) self;

	slot_getallattrs(slot);
	r->fn(r->state, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
report_startup(DestReceiver *self, int operation, TupleDesc desc)
{
	(void) self;
	(void) operation;
	(void) desc;
}

static void
report_nothing(DestReceiver *self)
{
	(void) self;
}

/*
 * Runs sql with $1 = as_of (and $2 = the summaries' aging date when
 * nargs >= 2, $3 = the company when nargs = 3), planned for their values,
 * and hands each row to fn as the executor makes it.
 */
static void
report_each(ReportState *state, const char *sql, int nargs, row_fn fn)
{
	Oid			types[3] = {DATEOID, DATEOID, INT8OID};
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);
	ParamListInfo params = makeParamList(nargs);
	ReportReceiver receiver;
	SPIExecuteOptions options;
	int			rc;

	if (plan == NULL)
		elog(ERROR, "ar.aging_report: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	for (int i = 0; i < nargs; i++)
	{
		if (i == 2)
			params->params[i].value = Int64GetDatum(state->company);
		else
			params->params[i].value = DateADTGetDatum(i == 0 ? state->as_of : state->aged);
		params->params[i].isnull = i == 0 ? state->as_of_null : i == 1 ? state->aged_null : false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = report_receive;
	receiver.pub.rStartup = report_startup;
	receiver.pub.rShutdown = report_nothing;
	receiver.pub.rDestroy = report_nothing;
	receiver.pub.mydest = DestNone;
	receiver.state = state;
	receiver.fn = fn;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) &receiver;
	rc = SPI_execute_plan_extended(plan, &options);
	if (rc < 0)
		elog(ERROR, "ar.aging_report: SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
	SPI_freeplan(plan);
}

/* The group of (customer, currency), created when absent. */
static ReportGroup *
report_group(ReportState *state, int64 customer_id, Datum currency)
{
	ReportCustomer *c;
	ReportGroup *g;
	bool		found;
	char		cur[3] = {' ', ' ', ' '};
	text	   *t = DatumGetTextPP(currency);
	int			len = VARSIZE_ANY_EXHDR(t);

	/* char(3): three characters, blank-padded (codes are [A-Z]{3}) */
	memcpy(cur, VARDATA_ANY(t), Min(len, 3));
	for (int i = len; i > 3; i--)
		if (VARDATA_ANY(t)[i - 1] != ' ')
			elog(ERROR, "ar.aging_report: currency longer than 3 characters");

	/* the rows of a customer mostly come together (indexes in customer order) */
	if (state->last != NULL && state->last_customer == customer_id && memcmp(state->last->currency, cur, 3) == 0)
		return state->last;
	c = custhash_insert(state->customers, customer_id, &found);
	if (!found)
		c->groups = NULL;
	state->last_customer = customer_id;
	for (g = c->groups; g != NULL; g = g->next)
		if (memcmp(g->currency, cur, 3) == 0)
			return state->last = g;
	g = MemoryContextAllocZero(state->cxt, sizeof(ReportGroup));
	memcpy(g->currency, cur, 3);
	g->available = (Datum) 0;
	g->next = c->groups;
	c->groups = g;
	return state->last = g;
}

/* An open item: customer_id, currency, due_date, amount < 0, open_amount. */
static void
report_open_item(ReportState *state, Datum *values, bool *nulls)
{
	ReportGroup *g;

	if (nulls[0] || nulls[1])
		return;					/* not null in the ledger */
	g = report_group(state, DatumGetInt64(values[0]), values[1]);
	g->has_items = true;
	/* ar.aging skips a row with a null input */
	if (!nulls[4] && !nulls[2] && !state->as_of_null)
		aging_add_row(&g->buckets, values[4], DatumGetDateADT(values[2]), state->as_of);
	/* sum(open_amount) FILTER (WHERE amount < 0) */
	if (!nulls[3] && DatumGetBool(values[3]) && !nulls[4])
	{
		g->has_credit_notes = true;
		aging_add_row(&g->credit_notes, values[4], 0, 0);
	}
}

/* Customer credit: customer_id, currency, available. */
static void
report_credit(ReportState *state, Datum *values, bool *nulls)
{
	ReportGroup *g;
	MemoryContext old;

	if (nulls[0] || nulls[1] || nulls[2])
		return;
	g = report_group(state, DatumGetInt64(values[0]), values[1]);
	old = MemoryContextSwitchTo(state->cxt);
	g->available = datumCopy(values[2], false, -1);
	MemoryContextSwitchTo(old);
}

/*
 * A row of the summaries' query: customer_id, currency, the nine amounts
 * (not null: the query coalesces them).
 */
static void
report_summary_row(ReportState *state, Datum *values, bool *nulls)
{
	ReportGroup *g;
	MemoryContext old;

	if (nulls[0] || nulls[1])
		return;
	g = report_group(state, DatumGetInt64(values[0]), values[1]);
	old = MemoryContextSwitchTo(state->cxt);
	g->amounts = palloc(sizeof(Datum) * REPORT_NAMOUNTS);
	for (int i = 0; i < REPORT_NAMOUNTS; i++)
	{
		if (nulls[2 + i])
			elog(ERROR, "ar._aging_report_summary: null amount in its query's row");
		g->amounts[i] = datumCopy(values[2 + i], false, -1);
	}
	MemoryContextSwitchTo(old);
}

static int
report_run_cmp(const void *a, const void *b)
{
	const RunRow *x = a;
	const RunRow *y = b;

	int			c;

	/* ORDER BY ..., currency: bpchar in the default collation */
	c = varstr_cmp(x->group->currency, 3, y->group->currency, 3, DEFAULT_COLLATION_OID);
	if (c != 0)
		return c;
	/* customers of different companies sharing code and currency: by id (either path, one order) */
	return (x->row->id > y->row->id) - (x->row->id < y->row->id);
}

/* Writes the run of rows sharing one code, in currency order. */
static void
report_flush(ReportState *state)
{
	Datum		values[REPORT_NATTS];
	bool		nulls[REPORT_NATTS] = {0};
	MemoryContext old = MemoryContextSwitchTo(state->run_cxt);
	Datum		zero = NumericGetDatum(int64_to_numeric(0));

	if (state->nrun > 1)
		qsort(state->run, state->nrun, sizeof(RunRow), report_run_cmp);
	for (int i = 0; i < state->nrun; i++)
	{
		ReportRow  *r = state->run[i].row;
		ReportGroup *g = state->run[i].group;
		Datum		unapplied = g->available != (Datum) 0 ? g->available : zero;

		values[0] = Int64GetDatum(r->id);
		values[1] = PointerGetDatum(r->code);
		values[2] = r->name;
		nulls[2] = r->name_null;
		values[9] = PointerGetDatum(cstring_to_text_with_len(g->currency, 3));
		values[10] = Int64GetDatum(r->company_id);
		if (g->amounts != NULL)
		{
			/* the summaries' query computed them */
			for (int b = 0; b < AGING_NRESULT; b++)
				values[3 + b] = g->amounts[b];
			values[11] = g->amounts[6];
			values[12] = g->amounts[7];
			values[13] = g->amounts[8];
			tuplestore_putvalues(state->out, state->desc, values, nulls);
			continue;
		}
		if (g->has_items)
			aging_values(&g->buckets, &values[3]);
		else
			for (int b = 0; b < AGING_NRESULT; b++)
				values[3 + b] = zero;
		if (g->has_credit_notes)
		{
			Datum		sums[AGING_NRESULT];

			aging_values(&g->credit_notes, sums);
			values[11] = sums[0];
		}
		else
			values[11] = zero;
		values[12] = unapplied;
		values[13] = DirectFunctionCall2(numeric_sub, values[8], unapplied);
		tuplestore_putvalues(state->out, state->desc, values, nulls);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(state->run_cxt);
	state->nrun = 0;
	state->run_code = NULL;
}

/* The next customer in the report's order: its rows join the run of its code. */
static void
report_emit(ReportState *state, ReportRow *r)
{
	CHECK_FOR_INTERRUPTS();
	/* a new code ends the run (equal codes are equal bytes: a deterministic collation) */
	if (state->run_code != NULL
		&& (VARSIZE_ANY_EXHDR(r->code) != VARSIZE_ANY_EXHDR(state->run_code)
			|| memcmp(VARDATA_ANY(r->code), VARDATA_ANY(state->run_code), VARSIZE_ANY_EXHDR(r->code)) != 0))
		report_flush(state);
	state->run_code = r->code;
	for (ReportGroup *g = r->groups; g != NULL; g = g->next)
	{
		if (state->nrun == state->run_size)
		{
			state->run_size *= 2;
			state->run = repalloc(state->run, sizeof(RunRow) * state->run_size);
		}
		state->run[state->nrun].group = g;
		state->run[state->nrun].row = r;
		state->nrun++;
	}
}

/* A customer, in company and code order: id, code, name, company_id. */
static void
report_customer(ReportState *state, Datum *values, bool *nulls)
{
	int64		id;
	int64		company_id;
	ReportCustomer *c;
	ReportRow  *r;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	if (nulls[0] || nulls[1] || nulls[3])
		return;					/* not null in the ledger */
	id = DatumGetInt64(values[0]);
	c = custhash_lookup(state->customers, id);
	if (c == NULL)
		return;
	company_id = DatumGetInt64(values[3]);
	old = MemoryContextSwitchTo(state->cxt);
	if (state->nrows == 0 || state->rows[state->nrows - 1].company_id != company_id)
	{
		if (state->nsegments == state->segments_size)
		{
			state->segments_size *= 2;
			state->segments = repalloc(state->segments, sizeof(int) * state->segments_size);
		}
		state->segments[state->nsegments++] = state->nrows;
	}
	if (state->nrows == state->rows_size)
	{
		state->rows_size *= 2;
		state->rows = repalloc_huge(state->rows, sizeof(ReportRow) * state->rows_size);
	}
	r = &state->rows[state->nrows++];
	r->groups = c->groups;
	r->id = id;
	r->code = DatumGetTextPCopy(values[1]);
	r->name_null = nulls[2];
	r->name = nulls[2] ? (Datum) 0 : datumCopy(values[2], false, -1);
	r->company_id = company_id;
	MemoryContextSwitchTo(old);
}

/* binaryheap of companies by the code of their next row (the smallest on top) */
typedef struct MergeArg
{
	ReportState *state;
	int		   *next;			/* per company: its next row */
} MergeArg;

static int
report_merge_cmp(Datum a, Datum b, void *arg)
{
	MergeArg   *m = arg;
	text	   *x = m->state->rows[m->next[DatumGetInt32(a)]].code;
	text	   *y = m->state->rows[m->next[DatumGetInt32(b)]].code;

	/* ORDER BY c.code: text in the default collation; binaryheap keeps the largest on top */
	return -varstr_cmp(VARDATA_ANY(x), VARSIZE_ANY_EXHDR(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(y),
					   DEFAULT_COLLATION_OID);
}

/*
 * Writes the rows in the order of the customers' codes: each company's
 * customers came in code order (the unique index on (company_id, code));
 * several companies are merged by code.
 */
static void
report_write(ReportState *state)
{
	MergeArg	m;
	binaryheap *heap;

	if (state->nsegments <= 1)
	{
		for (int i = 0; i < state->nrows; i++)
			report_emit(state, &state->rows[i]);
		report_flush(state);
		return;
	}
	m.state = state;
	m.next = palloc(sizeof(int) * state->nsegments);
	heap = binaryheap_allocate(state->nsegments, report_merge_cmp, &m);
	for (int s = 0; s < state->nsegments; s++)
	{
		m.next[s] = state->segments[s];
		binaryheap_add_unordered(heap, Int32GetDatum(s));
	}
	binaryheap_build(heap);
	while (!binaryheap_empty(heap))
	{
		int			s = DatumGetInt32(binaryheap_first(heap));
		int			end = s + 1 < state->nsegments ? state->segments[s + 1] : state->nrows;

		report_emit(state, &state->rows[m.next[s]]);
		if (++m.next[s] < end)
			binaryheap_replace_first(heap, Int32GetDatum(s));
		else
			binaryheap_remove_first(heap);
	}
	report_flush(state);
	binaryheap_free(heap);
	pfree(m.next);
}

/* Sets up the state and the result of a report function. */
static void
report_begin(FunctionCallInfo fcinfo, ReportState *state)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != REPORT_NATTS)
		elog(ERROR, "ar.aging_report: %d result columns, %d expected", rsinfo->setDesc->natts, REPORT_NATTS);
	memset(state, 0, sizeof(*state));
	state->as_of_null = PG_ARGISNULL(0);
	state->as_of = state->as_of_null ? 0 : PG_GETARG_DATEADT(0);
	state->aged_null = true;
	state->out = rsinfo->setResult;
	state->desc = rsinfo->setDesc;
	state->cxt = AllocSetContextCreate(CurrentMemoryContext, "ar aging report", ALLOCSET_DEFAULT_SIZES);
	state->run_cxt = AllocSetContextCreate(state->cxt, "ar aging report run", ALLOCSET_DEFAULT_SIZES);
	state->customers = custhash_create(state->cxt, 1024, NULL);
}

/* Joins the customers with rows, in the report's order, and writes the rows out. */
static void
report_end(ReportState *state)
{
	if (state->customers->members > 0)
	{
		state->rows_size = 1024;
		state->rows = MemoryContextAlloc(state->cxt, sizeof(ReportRow) * state->rows_size);
		state->segments_size = 8;
		state->segments = MemoryContextAlloc(state->cxt, sizeof(int) * state->segments_size);
		state->run_size = 8;
		state->run = MemoryContextAlloc(state->cxt, sizeof(RunRow) * state->run_size);
		report_each(state, CUSTOMERS_SQL, 1, report_customer);
		report_write(state);
	}
	MemoryContextDelete(state->cxt);
}

Datum
aging_report_full(PG_FUNCTION_ARGS)
{
	ReportState state;

	char	   *open_items;
	char	   *credits;
	int			rc;

	report_begin(fcinfo, &state);
	SPI_connect();
	rc = SPI_execute(QUERIES_SQL, true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ar._aging_report_full: its queries could not be read");
	open_items = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	credits = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (open_items == NULL || credits == NULL)
		elog(ERROR, "ar._aging_report_full: its queries are null");
	report_each(&state, psprintf(OPEN_ITEMS_SQL, open_items), 1, report_open_item);
	report_each(&state, psprintf(CREDIT_SQL, credits), 1, report_credit);
	report_end(&state);
	SPI_finish();
	return (Datum) 0;
}

/*
 * ar._aging_report_summary(as_of): the rows of ar._aging_report_summary_query()
 * (86_dashboard_summary.sql) on as_of and the summaries' aging date, joined
 * with the customers and ordered as the full computation's.  On a
 * distributed ledger (Citus) the query is run once per company the caller
 * sees, every table filtered on it, so that Citus routes it whole to the
 * company's shards (doc/scale_out.md, blocker 6); the customers' ids are
 * unique across companies, so the rows gather as on one node.
 */
Datum
aging_report_summary(PG_FUNCTION_ARGS)
{
	ReportState state;
	char	   *sql;
	bool		isnull;
	bool		routed;
	int			rc;

	report_begin(fcinfo, &state);
	SPI_connect();
	rc = SPI_execute("SELECT s.aged_on FROM ar.summary_state s", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "ar._aging_report_summary: SPI_execute failed: %s", SPI_result_code_string(rc));
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		state.aged_null = isnull;
		state.aged = isnull ? 0 : DatumGetDateADT(d);
	}
	rc = SPI_execute("SELECT ar._ledger_distributed()", true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ar._aging_report_summary: SPI_execute failed: %s", SPI_result_code_string(rc));
	routed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	rc = SPI_execute(routed ? "SELECT ar._aging_report_summary_query(true)" : "SELECT ar._aging_report_summary_query()",
					 true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "ar._aging_report_summary: its query could not be read");
	sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (sql == NULL)
		elog(ERROR, "ar._aging_report_summary: its query is null");
	if (!routed)
		report_each(&state, sql, 2, report_summary_row);
	else
	{
		/* the companies the caller sees (row-level security), in id order */
		SPITupleTable *companies;
		uint64		ncompanies;

		rc = SPI_execute("SELECT c.id FROM ar.company c ORDER BY c.id", true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "ar._aging_report_summary: SPI_execute failed: %s", SPI_result_code_string(rc));
		companies = SPI_tuptable;
		ncompanies = SPI_processed;
		for (uint64 i = 0; i < ncompanies; i++)
		{
			CHECK_FOR_INTERRUPTS();
			state.company = DatumGetInt64(SPI_getbinval(companies->vals[i], companies->tupdesc, 1, &isnull));
			if (!isnull)
				report_each(&state, sql, 3, report_summary_row);
		}
	}
	report_end(&state);
	SPI_finish();
	return (Datum) 0;
}
