/*-------------------------------------------------------------------------
 *
 * payment_model_data.c
 *		The payment model's data layer: the invoices, their allocations and
 *		the dunning notices read from the ledger through SPI into a PmData,
 *		the only part of the model that touches tables (see payment_model.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "payment_model.h"

void
pm_spi_error(const char *what, int rc)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("payment model: %s failed: %s", what, SPI_result_code_string(rc))));
}

static DateADT
pm_get_date(HeapTuple tuple, TupleDesc desc, int col, DateADT ifnull)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, col, &isnull);

	return isnull ? ifnull : DatumGetDateADT(d);
}

/*
 * Load invoices (amount > 0, issued before cutoff) with their allocations
 * other than write-offs dated before cutoff, and dunning notices queued
 * before cutoff when ar.dunning_notice exists.  customers_of, when not
 * NULL, restricts to the customers of those invoice ids.  The data is
 * allocated in cxt.
 */
void
pm_load(PmData *d, DateADT cutoff, ArrayType *customers_of, MemoryContext cxt)
{
	Oid			argtypes[2] = {DATEOID, INT8ARRAYOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	int			rc;
	uint64		nrows;
	int			total_alloc = 0;
	MemoryContext old;
	const char *restrict_clause = customers_of ? " AND i.customer_id IN (SELECT customer_id FROM ar.invoice WHERE id = ANY($2))" : "";
	StringInfoData q;

	args[0] = DateADTGetDatum(cutoff);
	args[1] = customers_of ? PointerGetDatum(customers_of) : (Datum) 0;
	if (!customers_of)
		nulls[1] = 'n';

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT i.id, i.customer_id, i.issue_date, i.due_date, i.amount::float8, i.disputed,"
					 "       i.cancelled_on, a.dates, a.amounts, i.currency::text"
					 "  FROM ar.invoice i"
					 "  LEFT JOIN (SELECT invoice_id, array_agg(allocated_on ORDER BY allocated_on, id) AS dates,"
					 "                    array_agg(amount::float8 ORDER BY allocated_on, id) AS amounts"
					 "               FROM ar.allocation"
					 "              WHERE method <> 'write_off' AND allocated_on < $1"
					 "              GROUP BY invoice_id) a ON a.invoice_id = i.id"
					 " WHERE i.amount > 0 AND i.issue_date < $1 %s"
					 " ORDER BY i.customer_id, i.issue_date, i.id",
					 restrict_clause);
	rc = SPI_execute_with_args(q.data, 2, argtypes, args, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		pm_spi_error("reading invoices", rc);
	nrows = SPI_processed;
	if (nrows > (uint64) (MaxAllocSize / sizeof(PmInvoice)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("payment model: too many invoices (" UINT64_FORMAT ")", nrows)));

	/* first pass: count allocations */
	for (uint64 r = 0; r < nrows; r++)
	{
		bool		isnull;
		Datum		a = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 8, &isnull);

		if (!isnull)
			total_alloc += ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(a)), ARR_DIMS(DatumGetArrayTypeP(a)));
	}

	old = MemoryContextSwitchTo(cxt);
	d->n = (int) nrows;
	d->inv = palloc0(sizeof(PmInvoice) * Max(nrows, 1));
	d->alloc_date = palloc(sizeof(DateADT) * Max(total_alloc, 1));
	d->alloc_amount = palloc(sizeof(double) * Max(total_alloc, 1));
	MemoryContextSwitchTo(old);

	total_alloc = 0;
	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		PmInvoice  *inv = &d->inv[r];
		bool		isnull;
		Datum		dates;
		Datum		amounts;
		double		paid = 0;

		inv->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		inv->customer_id = DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull));
		inv->issue = pm_get_date(tuple, desc, 3, 0);
		inv->due = pm_get_date(tuple, desc, 4, 0);
		inv->amount = DatumGetFloat8(SPI_getbinval(tuple, desc, 5, &isnull));
		inv->disputed = DatumGetBool(SPI_getbinval(tuple, desc, 6, &isnull));
		inv->cancelled = pm_get_date(tuple, desc, 7, DATEVAL_NOEND);
		{
			Datum		cur = SPI_getbinval(tuple, desc, 10, &isnull);

			if (isnull)
				inv->currency[0] = '\0';
			else
				text_to_cstring_buffer(DatumGetTextPP(cur), inv->currency, sizeof(inv->currency));
		}
		inv->settled = DATEVAL_NOEND;
		inv->alloc_off = total_alloc;
		inv->nalloc = 0;
		dates = SPI_getbinval(tuple, desc, 8, &isnull);
		if (!isnull)
		{
			Datum	   *de,
					   *ae;
			bool	   *dn,
					   *an;
			int			nd,
						na;

			amounts = SPI_getbinval(tuple, desc, 9, &isnull);
			deconstruct_array(DatumGetArrayTypeP(dates), DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
							  &de, &dn, &nd);
			deconstruct_array(DatumGetArrayTypeP(amounts), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE, &ae, &an, &na);
			for (int k = 0; k < nd && k < na; k++)
			{
				d->alloc_date[total_alloc] = DatumGetDateADT(de[k]);
				d->alloc_amount[total_alloc] = DatumGetFloat8(ae[k]);
				paid += d->alloc_amount[total_alloc];
				/* the day cumulated payments reach the amount (to the cent) */
				if (inv->settled == DATEVAL_NOEND && paid >= inv->amount - 0.005)
					inv->settled = d->alloc_date[total_alloc];
				total_alloc++;
				inv->nalloc++;
			}
		}
		if (r % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* dunning notices, where dunning has landed */
	d->nnotice = 0;
	rc = SPI_execute("SELECT to_regclass('ar.dunning_notice') IS NOT NULL", true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		bool		exists = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		if (exists)
		{
			resetStringInfo(&q);
			appendStringInfo(&q,
							 "SELECT n.customer_id, n.as_of, n.level FROM ar.dunning_notice n"
							 " WHERE n.as_of < $1 AND coalesce(n.status, '') NOT IN ('failed', 'cancelled')%s"
							 " ORDER BY n.customer_id, n.as_of",
							 customers_of ? " AND n.customer_id IN (SELECT customer_id FROM ar.invoice WHERE id = ANY($2))" : "");
			rc = SPI_execute_with_args(q.data, 2, argtypes, args, nulls, true, 0);
			if (rc != SPI_OK_SELECT)
				pm_spi_error("reading dunning notices", rc);
			old = MemoryContextSwitchTo(cxt);
			d->nnotice = (int) SPI_processed;
			d->notice_customer = palloc(sizeof(int64) * Max(d->nnotice, 1));
			d->notice_date = palloc(sizeof(DateADT) * Max(d->nnotice, 1));
			d->notice_level = palloc(sizeof(int) * Max(d->nnotice, 1));
			MemoryContextSwitchTo(old);
			for (int r = 0; r < d->nnotice; r++)
			{
				HeapTuple	tuple = SPI_tuptable->vals[r];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				Datum		level;

				d->notice_customer[r] = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
				d->notice_date[r] = pm_get_date(tuple, desc, 2, DATEVAL_NOEND);
				level = SPI_getbinval(tuple, desc, 3, &isnull);
				d->notice_level[r] = isnull ? 0 : DatumGetInt32(level);
			}
		}
	}
	pfree(q.data);
}
