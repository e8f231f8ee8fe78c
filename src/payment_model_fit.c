/*-------------------------------------------------------------------------
 *
 * payment_model_fit.c
 *		The payment model's mathematics: the labels known on a cutoff, the
 *		L2-regularised logistic and linear quantile regressions, the choice
 *		of the delay model, scoring with given coefficients and the holdout
 *		metrics.  Works on features already computed (see payment_model.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/date.h"

#include "payment_model.h"

static const double pm_quantiles[PM_NQUANT] = {0.1, 0.5, 0.9};

/* ------------------------------------------------------------------------
 * Labels
 * ------------------------------------------------------------------------
 */

/*
 * The outcome of invoice inv as known on cutoff (issued before it).  An
 * invoice cancelled on or after cutoff was open then: its cancellation is
 * not known yet.
 */
PmLabel
pm_label(const PmInvoice *inv, DateADT cutoff)
{
	PmLabel		l = {0};

	if (inv->cancelled < cutoff || inv->issue >= cutoff)
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
		else if (inv->cancelled >= cutoff && inv->settled >= from && inv->settled < cutoff)
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
int
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

/* The scores of features f under model m. */
void
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

/* Holdout metrics of model m on invoices settled in [from, to). */
void
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

		if (inv->cancelled < to || inv->settled < from || inv->settled >= to)
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
