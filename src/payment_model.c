/*-------------------------------------------------------------------------
 *
 * payment_model.c
 *		Late-payment prediction trained and run inside the database.
 *
 * Two SQL-callable functions, wrapped by src/sql/75_analytics.sql:
 *
 *	ar._payment_model_fit(as_of date, holdout_days integer) RETURNS record
 *		Reads the ledger through SPI, computes for every invoice issued
 *		before as_of the features known on its issue date, and fits
 *		  - two L2-regularised logistic regressions (Newton-Raphson): paid
 *		    after the due date (p_late), more than 30 days after (p_late_30);
 *		  - three linear quantile regressions (iteratively reweighted least
 *		    squares) of the delay in days after the due date: the 10th, 50th
 *		    and 90th percentiles.  The median is the expected payment date.
 *		    They are fitted on the features alone or around what the
 *		    customer's payment habits predict (an offset folded back into
 *		    the coefficients), whichever validates best on the last 91 days
 *		    of the training window.
 *		The payment habits are read from the customer's past payments: the
 *		calendar of its payment runs (one or two days of the month, a
 *		weekday, or any day), the lag after the due date at which it makes
 *		invoices payable, the extra wait of its large invoices, and the
 *		holidays it closes for (August, the turn of the year).
 *		Before the final fit on every outcome known on as_of, the same
 *		models are fitted on what was known holdout_days earlier and
 *		scored on the invoices settled since: the temporal holdout metrics.
 *
 *	ar._payment_scores(invoice_ids bigint[], feature_mean float8[], ...)
 *		Scores invoices with given coefficients (one stored model).
 *
 * No leakage: the features of an invoice issued on day t read only
 * invoices of the same customer issued before t, allocations dated before
 * t and dunning notices queued before t.  Labels of the training rows are
 * the outcomes known on the cutoff (settled before it, or already late on
 * it).  Everything is deterministic: same ledger, same model.
 *
 * Floats are for features and weights only; no amount of money computed
 * here is ever stored or returned.
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
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(payment_model_fit);
PG_FUNCTION_INFO_V1(payment_scores);

/* Features, in the order of the coefficient arrays (after the intercept). */
#define PM_NFEATURES	36
static const char *const pm_feature_names[PM_NFEATURES] = {
	"log1p_paid_invoices",
	"logit_share_late",
	"mean_delay_shrunk",
	"median_delay",
	"recent_mean_delay",
	"delay_trend",
	"logit_share_late_30",
	"log1p_overdue_open_items",
	"max_days_overdue",
	"log1p_open_exposure",
	"log1p_exposure_to_mean_amount",
	"log_amount",
	"log_amount_to_mean_amount",
	"terms_days",
	"issue_month_sin",
	"issue_month_cos",
	"share_disputed",
	"log1p_notices_365d",
	"max_notice_level_180d",
	"no_history",
	"share_paid_in_parts",
	"share_overdue_items",
	"delay_spread",
	"log1p_positive_mean_delay",
	"share_delay_over_10",
	"share_delay_over_45",
	"median_delay_over_15",
	"median_delay_over_45",
	"habit_delay",
	"habit_late",
	"habit_error",
	"habit_regularity",
	"habit_run_wait",
	"large_invoice",
	"large_invoice_extra_delay",
	"habit_delay_reliable"
};

#define PM_NCOEF		(PM_NFEATURES + 1)	/* intercept first */
#define PM_HABIT_DELAY	28		/* index of habit_delay */
#define PM_HABIT_RELIABLE 35	/* index of habit_delay_reliable */
#define PM_NQUANT		3
static const double pm_quantiles[PM_NQUANT] = {0.1, 0.5, 0.9};

#define PM_DELAY_MIN	(-60.0)
#define PM_DELAY_MAX	365.0
#define PM_RECENT		5
#define PM_HABIT_RECENT	24		/* payments the habitual lag is fitted on */
#define PM_CALENDAR_RECENT 24	/* payments the calendar is read from */
/*
 * Invoices of its customer an invoice's features read: the last ones issued
 * before it.  Features cost O(history) per invoice; the bound keeps a
 * customer with tens of thousands of invoices linear.
 */
#define PM_HISTORY_MAX	2000

typedef struct PmInvoice
{
	int64		id;
	int64		customer_id;
	DateADT		issue;
	DateADT		due;
	DateADT		cancelled;		/* DATEVAL_NOEND when not cancelled */
	DateADT		settled;		/* day the payments reached the amount, or NOEND */
	double		amount;
	bool		disputed;
	int			nalloc;
	int			alloc_off;		/* into PmData.alloc_* */
} PmInvoice;

typedef struct PmData
{
	int			n;
	PmInvoice  *inv;			/* by customer, issue date, id */
	DateADT    *alloc_date;
	double	   *alloc_amount;
	int			nnotice;
	int64	   *notice_customer;	/* by customer, date */
	DateADT    *notice_date;
	int		   *notice_level;
} PmData;

/* What one invoice's history tells, besides its features. */
typedef struct PmHistory
{
	double		baseline_delay; /* mean delay of the paid history, 0 if none */
	double		baseline_p_late;	/* (late + 1) / (paid + 2) */
} PmHistory;

/* A paid invoice of the customer's history, for the payment habits. */
typedef struct PmPaid
{
	DateADT		due;
	DateADT		settled;
	double		amount;
} PmPaid;

/* Work space of pm_features, room for one customer's invoices. */
typedef struct PmScratch
{
	double	   *delays;
	double	   *amounts;
	PmPaid	   *paid;
} PmScratch;

/*
 * When a customer pays: any day (working days only when it never paid on
 * a weekend), on one weekday, or on one or two days of the month (31: the
 * last day; a run falling on a weekend is made on the Friday before).
 */
typedef enum PmCalendarKind
{
	PM_CAL_DAILY,
	PM_CAL_WEEKLY,
	PM_CAL_MONTHLY
} PmCalendarKind;

typedef struct PmCalendar
{
	PmCalendarKind kind;
	bool		working_days;
	int			weekday;		/* 0 = Sunday, as j2day */
	int			ndays;
	int			days[2];
	double		regularity;		/* share of recent payments made on it */
} PmCalendar;

/* Outcome of an invoice as known on a cutoff day. */
typedef struct PmLabel
{
	bool		has_late;
	bool		late;
	bool		has_late_30;
	bool		late_30;
	bool		has_delay;		/* paid before the cutoff */
	double		delay;
} PmLabel;

typedef struct PmModel
{
	double		mean[PM_NFEATURES];
	double		scale[PM_NFEATURES];
	double		late[PM_NCOEF];
	double		late_30[PM_NCOEF];
	double		quant[PM_NQUANT][PM_NCOEF];
} PmModel;


/* ------------------------------------------------------------------------
 * Loading the ledger
 * ------------------------------------------------------------------------
 */

static void
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
static void
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
					 "       i.cancelled_on, a.dates, a.amounts"
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


/* ------------------------------------------------------------------------
 * Features known on the issue date
 * ------------------------------------------------------------------------
 */

static int
pm_cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
pm_clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static double
pm_logit(double p)
{
	return log(p / (1.0 - p));
}

/* ------------------------------------------------------------------------
 * Payment habits: calendar of payment runs and habitual lag
 *
 * Many firms pay on fixed days: one weekday a week, or one or two days of
 * the month.  An invoice becomes payable some days after (or before) its
 * due date, then leaves at the next run: its delay depends on where the
 * due date falls in the week or the month.  The calendar and the lag are
 * read from the customer's payments made before the issue date.
 * ------------------------------------------------------------------------
 */

static int
pm_dow(DateADT d)
{
	return j2day(d + POSTGRES_EPOCH_JDATE);
}

static void
pm_ymd(DateADT d, int *y, int *m, int *day)
{
	j2date(d + POSTGRES_EPOCH_JDATE, y, m, day);
}

static DateADT
pm_date(int y, int m, int day)
{
	return date2j(y, m, day) - POSTGRES_EPOCH_JDATE;
}

static int
pm_cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

/* The run of day k (31: the last day) in month m of year y. */
static DateADT
pm_run_day(int y, int m, int k)
{
	int			last = day_tab[isleap(y)][m - 1];
	DateADT		r = pm_date(y, m, Min(k, last));
	int			w = pm_dow(r);

	if (w == 6)
		r -= 1;
	else if (w == 0)
		r -= 2;
	return r;
}

/* The first run of calendar c on or after day x. */
static DateADT
pm_next_run(const PmCalendar *c, DateADT x)
{
	int			y,
				m,
				day;
	DateADT		best = DATEVAL_NOEND;

	switch (c->kind)
	{
		case PM_CAL_WEEKLY:
			return x + (c->weekday - pm_dow(x) + 7) % 7;
		case PM_CAL_MONTHLY:
			pm_ymd(x, &y, &m, &day);
			for (int i = 0; i < c->ndays; i++)
			{
				DateADT		r = pm_run_day(y, m, c->days[i]);

				if (r < x)
					r = (m == 12) ? pm_run_day(y + 1, 1, c->days[i]) : pm_run_day(y, m + 1, c->days[i]);
				best = Min(best, r);
			}
			return best;
		case PM_CAL_DAILY:
			break;
	}
	if (c->working_days)
	{
		int			w = pm_dow(x);

		if (w == 6)
			return x + 2;
		if (w == 0)
			return x + 1;
	}
	return x;
}

/* The last run of calendar c strictly before day x. */
static DateADT
pm_previous_run(const PmCalendar *c, DateADT x)
{
	int			y,
				m,
				day;
	DateADT		best = DATEVAL_NOBEGIN;

	switch (c->kind)
	{
		case PM_CAL_WEEKLY:
			return x - ((pm_dow(x) - c->weekday + 6) % 7 + 1);
		case PM_CAL_MONTHLY:
			pm_ymd(x, &y, &m, &day);
			for (int i = 0; i < c->ndays; i++)
			{
				DateADT		r = pm_run_day(y, m, c->days[i]);

				if (r >= x)
					r = (m == 1) ? pm_run_day(y - 1, 12, c->days[i]) : pm_run_day(y, m - 1, c->days[i]);
				best = Max(best, r);
			}
			return best;
		case PM_CAL_DAILY:
			break;
	}
	return x - 1;
}

/*
 * Read the calendar from the distinct days of the most recent payments
 * p[0 .. n-1] (up to PM_CALENDAR_RECENT days): a day of the month (or two)
 * on which 60% (70%) of them fell, else a weekday with 60% of them, else
 * any day; with 3 or 4 days, a day of the month or a weekday only when all
 * of them fit it.
 */
static void
pm_read_calendar(const PmPaid *p, int n, PmCalendar *c)
{
	int			dom[32] = {0};
	int			wd[7] = {0};
	uint32		mask[PM_CALENDAR_RECENT];
	int			weekend = 0;
	int			k1 = 0,
				k2 = 0,
				c1 = 0,
				c2 = 0,
				w1 = 0;

	DateADT		days[PM_CALENDAR_RECENT];
	int			scan = Min(n, 20 * PM_CALENDAR_RECENT);

	memset(c, 0, sizeof(*c));
	c->kind = PM_CAL_DAILY;
	/* distinct payment days: one run pays many invoices */
	n = 0;
	for (int j = 0; j < scan && n < PM_CALENDAR_RECENT; j++)
	{
		bool		seen = false;

		for (int i = 0; i < n && !seen; i++)
			seen = (days[i] == p[j].settled);
		if (!seen)
			days[n++] = p[j].settled;
	}
	for (int j = 0; j < n; j++)
	{
		int			y,
					m,
					day;
		int			w = pm_dow(days[j]);
		int			cand[4];

		pm_ymd(days[j], &y, &m, &day);
		wd[w]++;
		if (w == 0 || w == 6)
			weekend++;
		mask[j] = 0;
		cand[0] = day;
		cand[1] = day + 1;
		cand[2] = day + 2;
		cand[3] = 31;
		for (int i = 0; i < 4; i++)
			if (cand[i] <= 31 && !(mask[j] & (1u << cand[i])) && pm_run_day(y, m, cand[i]) == days[j])
			{
				mask[j] |= 1u << cand[i];
				dom[cand[i]]++;
			}
	}
	if (n < 3)
		return;
	for (int k = 1; k <= 31; k++)
		if (dom[k] > c1)
		{
			c1 = dom[k];
			k1 = k;
		}
	for (int k = 1; k <= 31; k++)
	{
		int			only = 0;

		if (abs(k - k1) < 5)
			continue;
		for (int j = 0; j < n; j++)
			if ((mask[j] & (1u << k)) && !(mask[j] & (1u << k1)))
				only++;
		if (only > c2)
		{
			c2 = only;
			k2 = k;
		}
	}
	for (int w = 1; w < 7; w++)
		if (wd[w] > wd[w1])
			w1 = w;

	/* few payments: a calendar only when every one of them fits it */
	if (n < 5 && c1 < n && wd[w1] < n)
	{
		c->working_days = (weekend == 0);
		return;
	}
	if (c1 >= 0.6 * n)
	{
		c->kind = PM_CAL_MONTHLY;
		c->ndays = 1;
		c->days[0] = k1;
		c->regularity = (double) c1 / n;
	}
	else if (c2 >= 2 && c1 + c2 >= 0.7 * n)
	{
		c->kind = PM_CAL_MONTHLY;
		c->ndays = 2;
		c->days[0] = k1;
		c->days[1] = k2;
		c->regularity = (double) (c1 + c2) / n;
	}
	else if (wd[w1] >= 0.6 * n)
	{
		c->kind = PM_CAL_WEEKLY;
		c->weekday = w1;
		c->regularity = (double) wd[w1] / n;
	}
	else
		c->working_days = (weekend == 0);
}

/*
 * The habitual lag: the number of days after the due date at which
 * invoices become payable, that best explains (least absolute error) the
 * customer's recent payments on calendar c.  Payments p[0 .. n-1] are
 * ordered by due date, latest first; those due 35 days or less before day
 * t are left out when there are at least 3 others (the ones paid late are
 * not known yet: the early ones alone would pull the lag down).  Up to
 * PM_HABIT_RECENT distinct (due, payment) days are used, each weighted by
 * its invoices.  Candidates: the bounds of the lags consistent with each
 * payment; ties give their middle.  *error gets the mean absolute error in
 * days.
 */
static int
pm_habit_lag(const PmPaid *p, int n, DateADT t, const PmCalendar *c, double *error)
{
	DateADT		due[PM_HABIT_RECENT];
	DateADT		paid[PM_HABIT_RECENT];
	int			weight[PM_HABIT_RECENT];
	int			npairs = 0,
				total = 0,
				first = 0,
				older = 0;
	int			cand[2 * PM_HABIT_RECENT];
	int			ncand = 0;
	double		best = -1;
	int			lo = 0,
				hi = 0;

	for (int j = 0; j < n; j++)
		if (p[j].due < t - 35)
			older++;
	if (older >= 3)
		while (first < n && p[first].due >= t - 35)
			first++;
	for (int j = first; j < n; j++)
	{
		if (npairs > 0 && due[npairs - 1] == p[j].due && paid[npairs - 1] == p[j].settled)
		{
			weight[npairs - 1]++;
			total++;
			continue;
		}
		if (npairs == PM_HABIT_RECENT)
			break;
		due[npairs] = p[j].due;
		paid[npairs] = p[j].settled;
		weight[npairs++] = 1;
		total++;
	}
	for (int j = 0; j < npairs; j++)
	{
		cand[ncand++] = (int) pm_clamp(paid[j] - due[j], -90, 365);
		cand[ncand++] = (int) pm_clamp(pm_previous_run(c, paid[j]) + 1 - due[j], -90, 365);
	}
	qsort(cand, ncand, sizeof(int), pm_cmp_int);
	for (int i = 0; i < ncand; i++)
	{
		double		sum = 0;

		if (i > 0 && cand[i] == cand[i - 1])
			continue;
		for (int j = 0; j < npairs; j++)
			sum += weight[j] * fabs((double) (pm_next_run(c, due[j] + cand[i]) - paid[j]));
		if (best < 0 || sum < best - 1e-9)
		{
			best = sum;
			lo = hi = cand[i];
		}
		else if (fabs(sum - best) <= 1e-9)
		{
			lo = Min(lo, cand[i]);
			hi = Max(hi, cand[i]);
		}
	}
	*error = total > 0 ? best / total : 0;
	/* floor of the middle, the same on every platform */
	return lo + (hi - lo) / 2;
}

/*
 * Closed for holidays: in August (1-24) or at the turn of the year
 * (December 22 - January 3), when the customer paid nothing in that
 * window but at least 3 times in the weeks around it.
 */
static void
pm_read_holidays(const PmPaid *p, int n, bool *august, bool *christmas)
{
	int			aug_in = 0,
				aug_around = 0,
				xmas_in = 0,
				xmas_around = 0;

	for (int j = 0; j < n; j++)
	{
		int			y,
					m,
					day;

		pm_ymd(p[j].settled, &y, &m, &day);
		if (m == 8 && day <= 24)
			aug_in++;
		else if (m == 7 || m == 8 || m == 9)
			aug_around++;
		if ((m == 12 && day >= 22) || (m == 1 && day <= 3))
			xmas_in++;
		else if (m == 12 || (m == 1 && day <= 24))
			xmas_around++;
	}
	*august = (aug_in == 0 && aug_around >= 3);
	*christmas = (xmas_in == 0 && xmas_around >= 3);
}

/* Day x moved past the holidays a customer closes for. */
static DateADT
pm_after_holidays(DateADT x, bool august, bool christmas)
{
	int			y,
				m,
				day;

	pm_ymd(x, &y, &m, &day);
	if (august && m == 8 && day <= 24)
		return pm_date(y, 8, 25);
	if (christmas && m == 12 && day >= 22)
		return pm_date(y + 1, 1, 4);
	if (christmas && m == 1 && day <= 3)
		return pm_date(y, 1, 4);
	return x;
}

/*
 * Latest due date first: the habits are read from the invoices that fell
 * due last (ordering by payment day would favour the late payments of old
 * invoices).
 */
static int
pm_cmp_paid_recent(const void *a, const void *b)
{
	const PmPaid *x = (const PmPaid *) a;
	const PmPaid *y = (const PmPaid *) b;

	if (x->due != y->due)
		return (x->due < y->due) - (x->due > y->due);
	if (x->settled != y->settled)
		return (x->settled < y->settled) - (x->settled > y->settled);
	/* a total order: the same sums whatever qsort does with ties */
	return (x->amount < y->amount) - (x->amount > y->amount);
}


/*
 * Features of the payment habits (f[0 .. 7] here): the delay the habits
 * predict for the target invoice (payable at the habitual lag after its due
 * date, later when it is large for the customer and large invoices waited
 * before, after the holidays the customer closes for, then paid at its next
 * run), whether that is late, how well the habits explain the recent
 * payments (mean error, share on the calendar), the wait for the run, the
 * large invoice flag and extra delay, and the habits' delay weighted by
 * their reliability.  paid[0 .. n_paid-1] and amounts[0 .. n_hist-1] hold
 * the customer's history before the issue date (reordered here).
 */
static void
pm_habit_features(PmScratch *scratch, int n_paid, int n_hist, const PmInvoice *target, double *f)
{
	PmPaid	   *paid = scratch->paid;
	PmCalendar	cal;
	double		error = 0;
	int			lag;
	double		median_amount = 0;
	bool		large = false;
	double		extra = 0;
	int			n_large = 0;
	bool		august,
				christmas;
	DateADT		payable,
				after_holidays,
				run;
	double		delay;

	for (int j = 0; j < 8; j++)
		f[j] = 0;

	/*
	 * Calendar arithmetic on years 1 to 9999 only: no overflow near the ends
	 * of the date range.
	 */
	{
		DateADT		lo = pm_date(1, 1, 1) + 400;
		DateADT		hi = pm_date(9999, 1, 1) - 400;
		int			kept = 0;

		if (target->due < lo || target->due > hi)
			return;
		for (int j = 0; j < n_paid; j++)
			if (paid[j].due >= lo && paid[j].due <= hi && paid[j].settled >= lo && paid[j].settled <= hi)
				paid[kept++] = paid[j];
		n_paid = kept;
	}
	if (n_paid == 0)
		return;

	qsort(paid, n_paid, sizeof(PmPaid), pm_cmp_paid_recent);
	pm_read_calendar(paid, n_paid, &cal);
	lag = pm_habit_lag(paid, n_paid, target->issue, &cal, &error);
	pm_read_holidays(paid, n_paid, &august, &christmas);

	/* large invoices: over 2.5 times the customer's median amount */
	if (n_hist >= 3)
	{
		qsort(scratch->amounts, n_hist, sizeof(double), pm_cmp_double);
		median_amount = (n_hist % 2) ? scratch->amounts[n_hist / 2]
			: (scratch->amounts[n_hist / 2 - 1] + scratch->amounts[n_hist / 2]) / 2.0;
		large = target->amount > 2.5 * median_amount;
		for (int j = 0; j < n_paid; j++)
			if (paid[j].amount > 2.5 * median_amount)
			{
				/* days paid after what the habits predict */
				extra += (double) (paid[j].settled - pm_next_run(&cal, paid[j].due + lag));
				n_large++;
			}
		extra /= (n_large + 1.0);
	}

	payable = target->due + lag;
	if (large && extra > 0)
		payable += (int) rint(Min(extra, 180.0));
	/* no payment run while the customer is closed: the first one after it */
	run = pm_next_run(&cal, payable);
	after_holidays = pm_after_holidays(run, august, christmas);
	if (after_holidays != run)
		run = pm_next_run(&cal, after_holidays);
	else
		after_holidays = payable;
	delay = pm_clamp((double) (run - target->due), -30.0, 180.0);

	f[0] = delay / 30.0;
	f[1] = (run > target->due) ? 1.0 : 0.0;
	f[2] = Min(error, 60.0) / 30.0;
	f[3] = cal.regularity;
	f[4] = (double) (run - after_holidays) / 30.0;
	f[5] = large ? 1.0 : 0.0;
	f[6] = large ? pm_clamp(extra, -30.0, 90.0) / 30.0 : 0.0;
	f[7] = delay / 30.0 * Max(0.0, 1.0 - error / 10.0);
}

/*
 * Features of invoice k, whose customer's invoices are d->inv[lo .. hi-1]
 * (by issue date), from what was known on its issue date t: the customer's
 * last PM_HISTORY_MAX invoices issued before t.  scratch has room for
 * hi - lo invoices.
 */
static void
pm_features(const PmData *d, int lo, int hi, int k, double *f, PmHistory *h, PmScratch *scratch)
{
	const PmInvoice *target = &d->inv[k];
	DateADT		t = target->issue;
	int			n_hist = 0,
				n_paid = 0,
				n_late = 0,
				n_late_30 = 0,
				n_disputed = 0,
				n_parts = 0,
				n_overdue = 0,
				n_over_10 = 0,
				n_over_45 = 0;
	double		sum_delay = 0,
				sum_delay2 = 0,
				sum_amount = 0,
				exposure = 0;
	int			max_overdue = 0;
	DateADT		recent_date[PM_RECENT];
	double		recent_delay[PM_RECENT];
	int			n_recent = 0;
	double		median = 0,
				mean_shrunk,
				recent_mean = 0,
				mean_raw = 0;
	int			n_notices = 0,
				max_level = 0;
	int			month,
				year,
				day;

	for (int j = Max(lo, k - PM_HISTORY_MAX); j < hi; j++)
	{
		const PmInvoice *inv = &d->inv[j];

		if (inv->issue >= t)
			break;				/* sorted by issue date */
		if (inv->cancelled < t)
			continue;
		scratch->amounts[n_hist++] = inv->amount;
		sum_amount += inv->amount;
		if (inv->settled < t)
		{
			double		delay = pm_clamp((double) (inv->settled - inv->due), -30.0, 180.0);
			int			pos;

			scratch->paid[n_paid].due = inv->due;
			scratch->paid[n_paid].settled = inv->settled;
			scratch->paid[n_paid].amount = inv->amount;
			scratch->delays[n_paid++] = delay;
			sum_delay += delay;
			sum_delay2 += delay * delay;
			if (inv->settled > inv->due)
				n_late++;
			if (inv->settled > inv->due + 30)
				n_late_30++;
			if (delay > 10)
				n_over_10++;
			if (delay > 45)
				n_over_45++;
			if (inv->disputed)
				n_disputed++;
			if (inv->nalloc > 1)
				n_parts++;
			/* keep the PM_RECENT latest settlements, latest first */
			pos = n_recent < PM_RECENT ? n_recent++ : PM_RECENT;
			while (pos > 0 && recent_date[pos - 1] <= inv->settled)
			{
				if (pos < PM_RECENT)
				{
					recent_date[pos] = recent_date[pos - 1];
					recent_delay[pos] = recent_delay[pos - 1];
				}
				pos--;
			}
			if (pos < PM_RECENT)
			{
				recent_date[pos] = inv->settled;
				recent_delay[pos] = delay;
			}
		}
		else
		{
			double		open = inv->amount;

			for (int a = 0; a < inv->nalloc; a++)
				if (d->alloc_date[inv->alloc_off + a] < t)
					open -= d->alloc_amount[inv->alloc_off + a];
			if (open > 0)
				exposure += open;
			if (inv->due < t)
			{
				n_overdue++;
				max_overdue = Max(max_overdue, t - inv->due);
			}
		}
	}

	if (n_paid > 0)
	{
		qsort(scratch->delays, n_paid, sizeof(double), pm_cmp_double);
		median = (n_paid % 2) ? scratch->delays[n_paid / 2]
			: (scratch->delays[n_paid / 2 - 1] + scratch->delays[n_paid / 2]) / 2.0;
		mean_raw = sum_delay / n_paid;
		for (int r = 0; r < n_recent; r++)
			recent_mean += recent_delay[r];
		recent_mean /= (n_recent + 1);	/* shrunk towards 0 */
	}
	mean_shrunk = sum_delay / (n_paid + 2);

	/* dunning notices of the customer queued before t */
	if (d->nnotice > 0)
	{
		int			a = 0,
					b = d->nnotice;

		while (a < b)
		{
			int			m = (a + b) / 2;

			if (d->notice_customer[m] < target->customer_id)
				a = m + 1;
			else
				b = m;
		}
		for (; a < d->nnotice && d->notice_customer[a] == target->customer_id; a++)
		{
			DateADT		on = d->notice_date[a];

			if (on >= t)
				break;
			if (on >= t - 365)
				n_notices++;
			if (on >= t - 180)
				max_level = Max(max_level, d->notice_level[a]);
		}
	}

	j2date(t + POSTGRES_EPOCH_JDATE, &year, &month, &day);

	f[0] = log1p((double) n_paid);
	f[1] = pm_logit((n_late + 1.0) / (n_paid + 2.0));
	f[2] = mean_shrunk / 30.0;
	f[3] = median / 30.0;
	f[4] = recent_mean / 30.0;
	f[5] = (n_paid >= PM_RECENT) ? (recent_mean * (n_recent + 1) / n_recent - mean_raw) / 30.0 : 0.0;
	f[6] = pm_logit((n_late_30 + 0.5) / (n_paid + 2.0));
	f[7] = log1p((double) n_overdue);
	f[8] = Min(max_overdue, 360) / 30.0;
	f[9] = log1p(exposure);
	f[10] = (n_hist > 0 && sum_amount > 0) ? log1p(exposure / (sum_amount / n_hist)) : 0.0;
	f[11] = log(Max(target->amount, 0.01));
	f[12] = (n_hist > 0 && sum_amount > 0) ? log(Max(target->amount, 0.01) / (sum_amount / n_hist)) : 0.0;
	f[13] = (target->due - target->issue) / 30.0;
	f[14] = sin(2.0 * M_PI * (month - 1) / 12.0);
	f[15] = cos(2.0 * M_PI * (month - 1) / 12.0);
	f[16] = n_disputed / (n_paid + 2.0);
	f[17] = log1p((double) n_notices);
	f[18] = max_level;
	f[19] = (n_hist == 0) ? 1.0 : 0.0;
	f[20] = n_parts / (n_paid + 2.0);
	f[21] = n_overdue / (n_paid + n_overdue + 1.0);
	f[22] = (n_paid >= 2) ? sqrt(Max(sum_delay2 / n_paid - mean_raw * mean_raw, 0.0)) / 30.0 : 0.0;
	f[23] = log1p(Max(mean_shrunk, 0.0));
	f[24] = (n_over_10 + 0.2) / (n_paid + 1.0);
	f[25] = (n_over_45 + 0.1) / (n_paid + 1.0);
	f[26] = (n_paid > 0 && median > 15) ? 1.0 : 0.0;
	f[27] = (n_paid > 0 && median > 45) ? 1.0 : 0.0;

	pm_habit_features(scratch, n_paid, n_hist, target, &f[28]);

	h->baseline_delay = (n_paid > 0) ? mean_raw : 0.0;
	h->baseline_p_late = (n_late + 1.0) / (n_paid + 2.0);
}

/* Features of every invoice of d (rows of F, PM_NFEATURES wide). */
static void
pm_all_features(const PmData *d, double *F, PmHistory *H)
{
	PmScratch	scratch;
	int			lo = 0;

	scratch.delays = palloc(sizeof(double) * Max(d->n, 1));
	scratch.amounts = palloc(sizeof(double) * Max(d->n, 1));
	scratch.paid = palloc(sizeof(PmPaid) * Max(d->n, 1));

	while (lo < d->n)
	{
		int			hi = lo;

		while (hi < d->n && d->inv[hi].customer_id == d->inv[lo].customer_id)
			hi++;
		for (int k = lo; k < hi; k++)
		{
			pm_features(d, lo, hi, k, &F[(size_t) k * PM_NFEATURES], &H[k], &scratch);
			CHECK_FOR_INTERRUPTS();
		}
		lo = hi;
	}
	pfree(scratch.delays);
	pfree(scratch.amounts);
	pfree(scratch.paid);
}

/* The outcome of invoice inv as known on cutoff (issued before it). */
static PmLabel
pm_label(const PmInvoice *inv, DateADT cutoff)
{
	PmLabel		l = {0};

	if (inv->cancelled != DATEVAL_NOEND || inv->issue >= cutoff)
		return l;
	if (inv->settled < cutoff)
	{
		l.has_late = l.has_late_30 = l.has_delay = true;
		l.late = inv->settled > inv->due;
		l.late_30 = inv->settled > inv->due + 30;
		l.delay = pm_clamp((double) (inv->settled - inv->due), PM_DELAY_MIN, PM_DELAY_MAX);
		return l;
	}
	/* not paid on the cutoff: late for sure once the due date has passed */
	if (inv->due < cutoff)
		l.has_late = l.late = true;
	if (inv->due + 30 < cutoff)
		l.has_late_30 = l.late_30 = true;
	return l;
}


/* ------------------------------------------------------------------------
 * Linear algebra and fitting
 * ------------------------------------------------------------------------
 */

/*
 * Solve A x = b for a symmetric positive definite p x p matrix A (Cholesky,
 * A overwritten).  Returns false when A is not positive definite.
 */
static bool
pm_cholesky_solve(double *A, double *b, double *x, int p)
{
	for (int j = 0; j < p; j++)
	{
		double		s = A[j * p + j];

		for (int k = 0; k < j; k++)
			s -= A[j * p + k] * A[j * p + k];
		if (!(s > 1e-12))
			return false;
		A[j * p + j] = sqrt(s);
		for (int i = j + 1; i < p; i++)
		{
			double		t = A[i * p + j];

			for (int k = 0; k < j; k++)
				t -= A[i * p + k] * A[j * p + k];
			A[i * p + j] = t / A[j * p + j];
		}
	}
	for (int i = 0; i < p; i++)
	{
		double		t = b[i];

		for (int k = 0; k < i; k++)
			t -= A[i * p + k] * x[k];
		x[i] = t / A[i * p + i];
	}
	for (int i = p - 1; i >= 0; i--)
	{
		double		t = x[i];

		for (int k = i + 1; k < p; k++)
			t -= A[k * p + i] * x[k];
		x[i] = t / A[i * p + i];
	}
	return true;
}

/* One row of the design matrix: intercept, then standardized features. */
static void
pm_design_row(const PmModel *m, const double *f, double *x)
{
	x[0] = 1.0;
	for (int j = 0; j < PM_NFEATURES; j++)
		x[j + 1] = (f[j] - m->mean[j]) / m->scale[j];
}

static double
pm_dot(const double *beta, const double *x)
{
	double		z = 0;

	for (int j = 0; j < PM_NCOEF; j++)
		z += beta[j] * x[j];
	return z;
}

static double
pm_sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	return exp(z) / (1.0 + exp(z));
}

/*
 * Weighted ridge step: solve (X'WX + lambda I') beta = X'Wz over the rows
 * of X (n x PM_NCOEF); the intercept gets a tiny penalty only.
 */
static bool
pm_weighted_solve(const double *X, const double *w, const double *z, int n, double lambda, double *beta)
{
	double		A[PM_NCOEF * PM_NCOEF];
	double		b[PM_NCOEF];

	memset(A, 0, sizeof(A));
	memset(b, 0, sizeof(b));
	for (int i = 0; i < n; i++)
	{
		const double *x = &X[(size_t) i * PM_NCOEF];
		double		wi = w[i];

		if (wi == 0)
			continue;
		for (int r = 0; r < PM_NCOEF; r++)
		{
			double		wx = wi * x[r];

			b[r] += wx * z[i];
			for (int c = 0; c <= r; c++)
				A[r * PM_NCOEF + c] += wx * x[c];
		}
	}
	for (int r = 0; r < PM_NCOEF; r++)
	{
		for (int c = r + 1; c < PM_NCOEF; c++)
			A[r * PM_NCOEF + c] = A[c * PM_NCOEF + r];
		A[r * PM_NCOEF + r] += (r == 0) ? 1e-6 : lambda;
	}
	return pm_cholesky_solve(A, b, beta, PM_NCOEF);
}

/* L2-regularised logistic regression by Newton-Raphson (IRLS). */
static void
pm_fit_logistic(const double *X, const bool *y, int n, double lambda, double *beta)
{
	double	   *w = palloc(sizeof(double) * Max(n, 1));
	double	   *z = palloc(sizeof(double) * Max(n, 1));
	double		next[PM_NCOEF];
	int			positives = 0;

	for (int i = 0; i < n; i++)
		positives += y[i];
	memset(beta, 0, sizeof(double) * PM_NCOEF);
	/* start from the base rate, bounded */
	beta[0] = pm_logit(pm_clamp((positives + 0.5) / (n + 1.0), 1e-4, 1 - 1e-4));

	for (int iter = 0; iter < 50; iter++)
	{
		double		change = 0;

		for (int i = 0; i < n; i++)
		{
			const double *x = &X[(size_t) i * PM_NCOEF];
			double		eta = pm_dot(beta, x);
			double		p = pm_sigmoid(eta);
			double		v = Max(p * (1 - p), 1e-6);

			w[i] = v;
			z[i] = eta + ((y[i] ? 1.0 : 0.0) - p) / v;
		}
		if (!pm_weighted_solve(X, w, z, n, lambda, next))
			break;
		for (int j = 0; j < PM_NCOEF; j++)
		{
			change = Max(change, fabs(next[j] - beta[j]));
			beta[j] = pm_clamp(next[j], -50, 50);
		}
		CHECK_FOR_INTERRUPTS();
		if (change < 1e-8)
			break;
	}
	pfree(w);
	pfree(z);
}

/*
 * Linear quantile regression (check loss at tau) by iteratively
 * reweighted least squares, from the ridge least-squares fit.
 */
static void
pm_fit_quantile(const double *X, const double *y, int n, double tau, double lambda, double *beta)
{
	double	   *w = palloc(sizeof(double) * Max(n, 1));
	double		next[PM_NCOEF];

	for (int i = 0; i < n; i++)
		w[i] = 1.0;
	memset(beta, 0, sizeof(double) * PM_NCOEF);
	if (!pm_weighted_solve(X, w, y, n, lambda, beta))
	{
		pfree(w);
		return;
	}
	for (int iter = 0; iter < 40; iter++)
	{
		double		change = 0;

		for (int i = 0; i < n; i++)
		{
			double		r = y[i] - pm_dot(beta, &X[(size_t) i * PM_NCOEF]);

			w[i] = (r > 0 ? tau : 1.0 - tau) / Max(fabs(r), 0.5);
		}
		if (!pm_weighted_solve(X, w, y, n, lambda, next))
			break;
		for (int j = 0; j < PM_NCOEF; j++)
		{
			change = Max(change, fabs(next[j] - beta[j]));
			beta[j] = next[j];
		}
		CHECK_FOR_INTERRUPTS();
		if (change < 1e-6)
			break;
	}
	pfree(w);
}

/*
 * The delay models: linear quantile regressions of the delay, either on
 * the features alone, or of the delay minus what the payment habits
 * predict (habit_delay) with a light or a strong ridge (the strong one
 * stays close to the habits), or minus that prediction weighted by its
 * reliability (habit_delay_reliable: taken as given for customers whose
 * habits explain their payments, not for the others).  The offset is folded back into the
 * coefficients: every stored model is plain linear.
 */
typedef struct PmDelayModel
{
	int			feature;		/* offset: this feature x 30 days taken as given */
	double		offset;			/* its weight */
	double		lambda_per_row; /* ridge, times the number of rows */
} PmDelayModel;

static const PmDelayModel pm_delay_models[] = {
	{PM_HABIT_DELAY, 0.0, 0.0},
	{PM_HABIT_DELAY, 1.0, 0.0},
	{PM_HABIT_DELAY, 1.0, 1.0},
	{PM_HABIT_RELIABLE, 1.0, 0.0}
};

#define PM_NDELAY_MODELS	lengthof(pm_delay_models)

static void
pm_fit_delay(const PmModel *m, const double *X, const double *y, const double *F, const int *rows, int n,
			 double tau, const PmDelayModel *dm, double *beta)
{
	double	   *z = palloc(sizeof(double) * Max(n, 1));

	for (int i = 0; i < n; i++)
		z[i] = y[i] - dm->offset * 30.0 * F[(size_t) rows[i] * PM_NFEATURES + dm->feature];
	pm_fit_quantile(X, z, n, tau, Max(1.0, dm->lambda_per_row * n), beta);
	beta[0] += dm->offset * 30.0 * m->mean[dm->feature];
	beta[dm->feature + 1] += dm->offset * 30.0 * m->scale[dm->feature];
	pfree(z);
}

/*
 * Choose the median model by a temporal validation inside the training
 * window: fit each on the outcomes known 91 days before cutoff, score the
 * invoices paid since; the lowest mean absolute error wins, but the plain
 * model is kept unless another is at least 2% better (and when there are
 * fewer than 10 rows on either side).
 */
static int
pm_choose_delay_model(const PmData *d, const double *F, DateADT cutoff, const PmModel *m)
{
	DateADT		from = cutoff - 91;
	int			n = d->n;
	double	   *X = palloc(sizeof(double) * (size_t) Max(n, 1) * PM_NCOEF);
	double	   *V = palloc(sizeof(double) * (size_t) Max(n, 1) * PM_NCOEF);
	double	   *y = palloc(sizeof(double) * Max(n, 1));
	int		   *rows = palloc(sizeof(int) * Max(n, 1));
	double	   *vy = palloc(sizeof(double) * Max(n, 1));
	int			r = 0,
				v = 0,
				best = 0;
	double		best_mae = -1;

	for (int i = 0; i < n; i++)
	{
		const PmInvoice *inv = &d->inv[i];
		PmLabel		l = pm_label(inv, from);

		if (l.has_delay)
		{
			pm_design_row(m, &F[(size_t) i * PM_NFEATURES], &X[(size_t) r * PM_NCOEF]);
			y[r] = l.delay;
			rows[r++] = i;
		}
		else if (inv->cancelled == DATEVAL_NOEND && inv->settled >= from && inv->settled < cutoff)
		{
			pm_design_row(m, &F[(size_t) i * PM_NFEATURES], &V[(size_t) v * PM_NCOEF]);
			vy[v++] = inv->settled - inv->due;
		}
	}
	if (r >= 10 && v >= 10)
		for (int c = 0; c < (int) PM_NDELAY_MODELS; c++)
		{
			double		beta[PM_NCOEF];
			double		mae = 0;

			pm_fit_delay(m, X, y, F, rows, r, 0.5, &pm_delay_models[c], beta);
			for (int i = 0; i < v; i++)
				mae += fabs(vy[i] - rint(pm_clamp(pm_dot(beta, &V[(size_t) i * PM_NCOEF]), PM_DELAY_MIN, PM_DELAY_MAX)));
			/* the plain model, unless another is at least 2% better */
			if (best_mae < 0 || mae < best_mae * (best == 0 ? 0.98 : 1.0) - 1e-9)
			{
				best_mae = mae;
				best = c;
			}
		}
	pfree(X);
	pfree(V);
	pfree(y);
	pfree(rows);
	pfree(vy);
	return best;
}

/*
 * Fit every model on the invoices whose outcome is known on cutoff.
 * Returns the number of rows with a late / not late label; *npaid gets
 * the rows with a known delay.
 */
static int
pm_fit(const PmData *d, const double *F, DateADT cutoff, PmModel *m, int *npaid)
{
	int			n = d->n;
	double	   *X = palloc(sizeof(double) * (size_t) Max(n, 1) * PM_NCOEF);
	bool	   *y = palloc(sizeof(bool) * Max(n, 1));
	double	   *yd = palloc(sizeof(double) * Max(n, 1));
	int		   *drows = palloc(sizeof(int) * Max(n, 1));
	PmLabel    *labels = palloc(sizeof(PmLabel) * Max(n, 1));
	int			rows = 0,
				r,
				choice;

	/* standardization over the rows with a label */
	for (int j = 0; j < PM_NFEATURES; j++)
	{
		double		s = 0,
					s2 = 0;
		int			c = 0;

		for (int i = 0; i < n; i++)
		{
			if (j == 0)
				labels[i] = pm_label(&d->inv[i], cutoff);
			if (!labels[i].has_late)
				continue;
			s += F[(size_t) i * PM_NFEATURES + j];
			s2 += F[(size_t) i * PM_NFEATURES + j] * F[(size_t) i * PM_NFEATURES + j];
			c++;
		}
		m->mean[j] = c ? s / c : 0;
		m->scale[j] = c ? sqrt(Max(s2 / c - m->mean[j] * m->mean[j], 0)) : 1;
		if (!(m->scale[j] > 1e-9))
			m->scale[j] = 1;
	}

	/* p_late */
	r = 0;
	for (int i = 0; i < n; i++)
		if (labels[i].has_late)
		{
			pm_design_row(m, &F[(size_t) i * PM_NFEATURES], &X[(size_t) r * PM_NCOEF]);
			y[r++] = labels[i].late;
		}
	rows = r;
	pm_fit_logistic(X, y, r, 1.0, m->late);

	/* p_late_30 */
	r = 0;
	for (int i = 0; i < n; i++)
		if (labels[i].has_late_30)
		{
			pm_design_row(m, &F[(size_t) i * PM_NFEATURES], &X[(size_t) r * PM_NCOEF]);
			y[r++] = labels[i].late_30;
		}
	pm_fit_logistic(X, y, r, 1.0, m->late_30);

	/* delay quantiles, on the median model that validates best */
	r = 0;
	for (int i = 0; i < n; i++)
		if (labels[i].has_delay)
		{
			pm_design_row(m, &F[(size_t) i * PM_NFEATURES], &X[(size_t) r * PM_NCOEF]);
			yd[r] = labels[i].delay;
			drows[r++] = i;
		}
	*npaid = r;
	choice = pm_choose_delay_model(d, F, cutoff, m);
	for (int q = 0; q < PM_NQUANT; q++)
		pm_fit_delay(m, X, yd, F, drows, r, pm_quantiles[q], &pm_delay_models[choice], m->quant[q]);

	pfree(X);
	pfree(y);
	pfree(yd);
	pfree(drows);
	pfree(labels);
	return rows;
}

typedef struct PmScore
{
	double		p_late;
	double		p_late_30;
	double		quant[PM_NQUANT];
} PmScore;

static void
pm_score(const PmModel *m, const double *f, PmScore *s)
{
	double		x[PM_NCOEF];
	double		prev = PM_DELAY_MIN;

	pm_design_row(m, f, x);
	s->p_late = pm_sigmoid(pm_dot(m->late, x));
	s->p_late_30 = Min(pm_sigmoid(pm_dot(m->late_30, x)), s->p_late);
	for (int q = 0; q < PM_NQUANT; q++)
	{
		/* quantiles never cross */
		s->quant[q] = pm_clamp(pm_dot(m->quant[q], x), prev, PM_DELAY_MAX);
		prev = s->quant[q];
	}
}


/* ------------------------------------------------------------------------
 * Metrics
 * ------------------------------------------------------------------------
 */

typedef struct PmRanked
{
	double		score;
	bool		y;
} PmRanked;

static int
pm_cmp_ranked(const void *a, const void *b)
{
	return pm_cmp_double(&((const PmRanked *) a)->score, &((const PmRanked *) b)->score);
}

/* Area under the ROC curve (Mann-Whitney, ties counted half); NaN if one class. */
static double
pm_auc(PmRanked *r, int n)
{
	double		rank_sum = 0;
	double		pos = 0;

	qsort(r, n, sizeof(PmRanked), pm_cmp_ranked);
	for (int i = 0; i < n;)
	{
		int			j = i;
		double		avg;

		while (j < n && r[j].score == r[i].score)
			j++;
		avg = (i + 1 + j) / 2.0;	/* ranks i+1 .. j */
		for (int k = i; k < j; k++)
			if (r[k].y)
			{
				rank_sum += avg;
				pos++;
			}
		i = j;
	}
	if (pos == 0 || pos == n)
		return NAN;
	return (rank_sum - pos * (pos + 1) / 2.0) / (pos * (n - pos));
}

typedef struct PmMetrics
{
	int			n;
	double		auc,
				auc_late_30,
				accuracy,
				brier,
				mae,
				baseline_auc,
				baseline_accuracy,
				baseline_brier,
				baseline_mae;
} PmMetrics;

/* Holdout metrics of model m on invoices settled in [from, to). */
static void
pm_holdout(const PmData *d, const double *F, const PmHistory *H, const PmModel *m,
		   DateADT from, DateADT to, PmMetrics *out)
{
	PmRanked   *r = palloc(sizeof(PmRanked) * Max(d->n, 1));
	PmRanked   *r30 = palloc(sizeof(PmRanked) * Max(d->n, 1));
	PmRanked   *rb = palloc(sizeof(PmRanked) * Max(d->n, 1));
	int			n = 0;
	double		correct = 0,
				brier = 0,
				mae = 0,
				bcorrect = 0,
				bbrier = 0,
				bmae = 0;

	for (int i = 0; i < d->n; i++)
	{
		const PmInvoice *inv = &d->inv[i];
		PmScore		s;
		bool		late;
		int			delay;

		if (inv->cancelled != DATEVAL_NOEND || inv->settled < from || inv->settled >= to)
			continue;
		pm_score(m, &F[(size_t) i * PM_NFEATURES], &s);
		late = inv->settled > inv->due;
		delay = inv->settled - inv->due;
		r[n].score = s.p_late;
		r[n].y = late;
		r30[n].score = s.p_late_30;
		r30[n].y = inv->settled > inv->due + 30;
		rb[n].score = H[i].baseline_delay;
		rb[n].y = late;
		correct += ((s.p_late >= 0.5) == late);
		brier += (s.p_late - late) * (s.p_late - late);
		mae += fabs(delay - rint(s.quant[1]));
		bcorrect += ((H[i].baseline_delay > 0) == late);
		bbrier += (H[i].baseline_p_late - late) * (H[i].baseline_p_late - late);
		bmae += fabs(delay - rint(H[i].baseline_delay));
		n++;
	}
	out->n = n;
	if (n > 0)
	{
		out->auc = pm_auc(r, n);
		out->auc_late_30 = pm_auc(r30, n);
		out->baseline_auc = pm_auc(rb, n);
		out->accuracy = correct / n;
		out->brier = brier / n;
		out->mae = mae / n;
		out->baseline_accuracy = bcorrect / n;
		out->baseline_brier = bbrier / n;
		out->baseline_mae = bmae / n;
	}
	pfree(r);
	pfree(r30);
	pfree(rb);
}


/* ------------------------------------------------------------------------
 * SQL interface
 * ------------------------------------------------------------------------
 */

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
