/*-------------------------------------------------------------------------
 *
 * payment_model_sql.c
 *		The SQL face of the payment model: ar._payment_model_fit() and
 *		ar._payment_scores() (wrapped by src/sql/75_analytics.sql), their
 *		arguments checked and their results built here; loading, features
 *		and fitting are the other layers (see payment_model.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "payment_model.h"

PG_FUNCTION_INFO_V1(payment_model_fit);
PG_FUNCTION_INFO_V1(payment_scores);

static Datum
pm_float_array(const double *v, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/* A float8[] argument of exactly n elements, without NULLs. */
static void
pm_float_arg(FunctionCallInfo fcinfo, int argno, const char *name, double *out, int n)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			count;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("payment model %s must not be NULL", name)));
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("payment model %s must be a float8 array", name)));
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &count);
	if (count != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payment model %s has %d elements, expected %d", name, count, n),
				 errhint("The model was trained by another version of ar_collect: train it again.")));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i] || !isfinite(DatumGetFloat8(elems[i])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("payment model %s element %d is not a finite number", name, i + 1)));
		out[i] = DatumGetFloat8(elems[i]);
	}
}

static Datum
pm_nullable_float(double v, bool *isnull)
{
	*isnull = !isfinite(v);
	return Float8GetDatum(*isnull ? 0 : v);
}

/*
 * ar._payment_model_fit(as_of date, holdout_days integer) returns the model
 * fitted on every outcome known on as_of, with the metrics of the same
 * procedure run holdout_days earlier and scored on the invoices settled
 * since (a temporal split).
 */
Datum
payment_model_fit(PG_FUNCTION_ARGS)
{
	DateADT		as_of;
	int32		holdout_days;
	TupleDesc	tupdesc;
	MemoryContext work;
	MemoryContext old;
	PmData		data = {0};
	double	   *F;
	PmHistory  *H;
	PmModel		final_model,
				holdout_model;
	PmMetrics	metrics = {0};
	int			rows,
				paid,
				holdout_rows = 0,
				holdout_paid = 0;
	DateADT		holdout_from;
	DateADT		first_issue = DATEVAL_NOEND,
				last_issue = DATEVAL_NOBEGIN;
	Datum		values[22];
	bool		nulls[22];
	int			rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of and holdout_days must not be NULL")));
	as_of = PG_GETARG_DATEADT(0);
	holdout_days = PG_GETARG_INT32(1);
	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite date")));
	if (holdout_days < 0 || holdout_days > 3660)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holdout_days must be between 0 and 3660, not %d", holdout_days)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE || tupdesc->natts != 22)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("ar._payment_model_fit must return its 22 declared columns")));
	tupdesc = BlessTupleDesc(tupdesc);

	work = AllocSetContextCreate(CurrentMemoryContext, "payment model", ALLOCSET_DEFAULT_SIZES);
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		pm_spi_error("SPI_connect", rc);
	pm_load(&data, as_of, NULL, work);
	SPI_finish();

	old = MemoryContextSwitchTo(work);
	F = palloc(sizeof(double) * (size_t) Max(data.n, 1) * PM_NFEATURES);
	H = palloc(sizeof(PmHistory) * Max(data.n, 1));
	pm_all_features(&data, F, H);

	rows = pm_fit(&data, F, as_of, &final_model, &paid);
	if (rows < 10 || paid < 10)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("not enough outcomes to train a payment model on %s",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(as_of)))),
				 errdetail("%d invoices issued before it have a known outcome and %d of them were paid; at least 10 of each are needed.",
						   rows, paid)));
	for (int i = 0; i < data.n; i++)
		if (pm_label(&data.inv[i], as_of).has_late)
		{
			first_issue = Min(first_issue, data.inv[i].issue);
			last_issue = Max(last_issue, data.inv[i].issue);
		}

	holdout_from = as_of - holdout_days;
	if (holdout_days > 0)
	{
		holdout_rows = pm_fit(&data, F, holdout_from, &holdout_model, &holdout_paid);
		if (holdout_rows >= 10 && holdout_paid >= 10)
			pm_holdout(&data, F, H, &holdout_model, holdout_from, as_of, &metrics);
	}
	MemoryContextSwitchTo(old);

	memset(nulls, false, sizeof(nulls));
	{
		Datum	   *names = palloc(sizeof(Datum) * PM_NFEATURES);
		double		quant[PM_NQUANT][PM_NCOEF];

		for (int j = 0; j < PM_NFEATURES; j++)
			names[j] = CStringGetTextDatum(pm_feature_names[j]);
		values[0] = PointerGetDatum(construct_array(names, PM_NFEATURES, TEXTOID, -1, false, TYPALIGN_INT));
		values[1] = pm_float_array(final_model.mean, PM_NFEATURES);
		values[2] = pm_float_array(final_model.scale, PM_NFEATURES);
		values[3] = pm_float_array(final_model.late, PM_NCOEF);
		values[4] = pm_float_array(final_model.late_30, PM_NCOEF);
		memcpy(quant, final_model.quant, sizeof(quant));
		values[5] = pm_float_array(quant[0], PM_NCOEF);
		values[6] = pm_float_array(quant[1], PM_NCOEF);
		values[7] = pm_float_array(quant[2], PM_NCOEF);
	}
	values[8] = DateADTGetDatum(first_issue);
	values[9] = DateADTGetDatum(last_issue);
	values[10] = Int32GetDatum(rows);
	values[11] = Int32GetDatum(paid);
	values[12] = DateADTGetDatum(holdout_from);
	values[13] = Int32GetDatum(metrics.n);
	nulls[12] = (holdout_days == 0);
	values[14] = pm_nullable_float(metrics.n ? metrics.auc : NAN, &nulls[14]);
	values[15] = pm_nullable_float(metrics.n ? metrics.auc_late_30 : NAN, &nulls[15]);
	values[16] = pm_nullable_float(metrics.n ? metrics.accuracy : NAN, &nulls[16]);
	values[17] = pm_nullable_float(metrics.n ? metrics.brier : NAN, &nulls[17]);
	values[18] = pm_nullable_float(metrics.n ? metrics.mae : NAN, &nulls[18]);
	values[19] = pm_nullable_float(metrics.n ? metrics.baseline_auc : NAN, &nulls[19]);
	values[20] = pm_nullable_float(metrics.n ? metrics.baseline_mae : NAN, &nulls[20]);
	values[21] = pm_nullable_float(metrics.n ? metrics.baseline_brier : NAN, &nulls[21]);

	{
		HeapTuple	tuple = heap_form_tuple(tupdesc, values, nulls);

		MemoryContextDelete(work);
		PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
	}
}

static int
pm_cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * ar._payment_scores(invoice_ids bigint[], feature_mean float8[],
 *		feature_scale float8[], coef_late float8[], coef_late_30 float8[],
 *		coef_delay_q10 float8[], coef_delay_q50 float8[], coef_delay_q90 float8[])
 * RETURNS TABLE (invoice_id, due_date, p_late, p_late_30, delay_q10,
 *		delay_q50, delay_q90, baseline_delay, baseline_p_late, settled_on)
 * One row per invoice of the list that exists and has a positive amount.
 */
Datum
payment_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *ids_array;
	Datum	   *id_elems;
	bool	   *id_nulls;
	int			nids;
	int64	   *ids;
	int			nwanted = 0;
	PmModel		m;
	PmData		data = {0};
	MemoryContext work;
	MemoryContext old;
	PmScratch	scratch;
	int			rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	InitMaterializedSRF(fcinfo, 0);

	pm_float_arg(fcinfo, 1, "feature_mean", m.mean, PM_NFEATURES);
	pm_float_arg(fcinfo, 2, "feature_scale", m.scale, PM_NFEATURES);
	pm_float_arg(fcinfo, 3, "coef_late", m.late, PM_NCOEF);
	pm_float_arg(fcinfo, 4, "coef_late_30", m.late_30, PM_NCOEF);
	for (int q = 0; q < PM_NQUANT; q++)
		pm_float_arg(fcinfo, 5 + q, q == 0 ? "coef_delay_q10" : q == 1 ? "coef_delay_q50" : "coef_delay_q90",
					 m.quant[q], PM_NCOEF);
	for (int j = 0; j < PM_NFEATURES; j++)
		if (m.scale[j] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("payment model feature_scale element %d is zero", j + 1)));

	ids_array = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_ELEMTYPE(ids_array) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("invoice_ids must be a bigint array")));
	deconstruct_array(ids_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &id_elems, &id_nulls, &nids);
	ids = palloc(sizeof(int64) * Max(nids, 1));
	for (int i = 0; i < nids; i++)
		if (!id_nulls[i])
			ids[nwanted++] = DatumGetInt64(id_elems[i]);
	if (nwanted == 0)
		PG_RETURN_NULL();
	qsort(ids, nwanted, sizeof(int64), pm_cmp_int64);

	work = AllocSetContextCreate(CurrentMemoryContext, "payment scores", ALLOCSET_DEFAULT_SIZES);
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		pm_spi_error("SPI_connect", rc);
	pm_load(&data, DATEVAL_NOEND, ids_array, work);
	SPI_finish();

	old = MemoryContextSwitchTo(work);
	scratch.delays = palloc(sizeof(double) * Max(data.n, 1));
	scratch.amounts = palloc(sizeof(double) * Max(data.n, 1));
	scratch.paid = palloc(sizeof(PmPaid) * Max(data.n, 1));
	MemoryContextSwitchTo(old);
	for (int lo = 0; lo < data.n;)
	{
		int			hi = lo;

		while (hi < data.n && data.inv[hi].customer_id == data.inv[lo].customer_id)
			hi++;
		for (int k = lo; k < hi; k++)
		{
			const PmInvoice *inv = &data.inv[k];
			double		f[PM_NFEATURES];
			PmHistory	h;
			PmScore		s;
			Datum		values[10];
			bool		nulls[10] = {0};

			if (!bsearch(&inv->id, ids, nwanted, sizeof(int64), pm_cmp_int64))
				continue;
			pm_features(&data, lo, hi, k, f, &h, &scratch);
			pm_score(&m, f, &s);
			values[0] = Int64GetDatum(inv->id);
			values[1] = DateADTGetDatum(inv->due);
			values[2] = Float8GetDatum(s.p_late);
			values[3] = Float8GetDatum(s.p_late_30);
			values[4] = Float8GetDatum(s.quant[0]);
			values[5] = Float8GetDatum(s.quant[1]);
			values[6] = Float8GetDatum(s.quant[2]);
			values[7] = Float8GetDatum(h.baseline_delay);
			values[8] = Float8GetDatum(h.baseline_p_late);
			values[9] = DateADTGetDatum(inv->settled);
			nulls[9] = (inv->settled == DATEVAL_NOEND);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		CHECK_FOR_INTERRUPTS();
		lo = hi;
	}
	MemoryContextDelete(work);
	return (Datum) 0;
}
