/*-------------------------------------------------------------------------
 *
 * payment_model.h
 *		Late-payment prediction trained and run inside the database: what
 *		crosses the files of its layers.
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
 * The layers, one file each:
 *	payment_model_data.c		loading the ledger through SPI
 *	payment_model_features.c	the features known on an invoice's issue date
 *								(payment habits included)
 *	payment_model_fit.c			labels, the regressions, scoring, metrics
 *	payment_model_sql.c			the SQL-callable functions
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_PAYMENT_MODEL_H
#define AR_PAYMENT_MODEL_H

#include <math.h>

#include "utils/array.h"
#include "utils/date.h"

/* Features, in the order of the coefficient arrays (after the intercept). */
#define PM_NFEATURES	36
extern const char *const pm_feature_names[PM_NFEATURES];

#define PM_NCOEF		(PM_NFEATURES + 1)	/* intercept first */
#define PM_HABIT_DELAY	28		/* index of habit_delay */
#define PM_HABIT_RELIABLE 35	/* index of habit_delay_reliable */
#define PM_NQUANT		3

#define PM_DELAY_MIN	(-60.0)
#define PM_DELAY_MAX	365.0

typedef struct PmInvoice
{
	int64		id;
	int64		customer_id;
	DateADT		issue;
	DateADT		due;
	DateADT		cancelled;		/* DATEVAL_NOEND when not cancelled */
	DateADT		settled;		/* day the payments reached the amount, or NOEND */
	double		amount;
	char		currency[4];	/* ISO 4217, NUL-terminated */
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
	double		amount;			/* NaN in another currency than the target's */
} PmPaid;

/* Work space of pm_features, room for one customer's invoices. */
typedef struct PmScratch
{
	double	   *delays;
	double	   *amounts;
	PmPaid	   *paid;
} PmScratch;

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


typedef struct PmScore
{
	double		p_late;
	double		p_late_30;
	double		quant[PM_NQUANT];
} PmScore;

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


/* Small helpers of both the features and the fitting. */
static inline int
pm_cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static inline double
pm_clamp(double x, double lo, double hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static inline double
pm_logit(double p)
{
	return log(p / (1.0 - p));
}

/* payment_model_data.c */
extern void pm_spi_error(const char *what, int rc);
extern void pm_load(PmData *d, DateADT cutoff, ArrayType *customers_of, MemoryContext cxt);

/* payment_model_features.c */
extern void pm_features(const PmData *d, int lo, int hi, int k, double *f, PmHistory *h,
						PmScratch *scratch);
extern void pm_all_features(const PmData *d, double *F, PmHistory *H);

/* payment_model_fit.c */
extern PmLabel pm_label(const PmInvoice *inv, DateADT cutoff);
extern int	pm_fit(const PmData *d, const double *F, DateADT cutoff, PmModel *m, int *npaid);
extern void pm_score(const PmModel *m, const double *f, PmScore *s);
extern void pm_holdout(const PmData *d, const double *F, const PmHistory *H, const PmModel *m,
					   DateADT from, DateADT to, PmMetrics *out);

#endif							/* AR_PAYMENT_MODEL_H */
