/*-------------------------------------------------------------------------
 *
 * match_amount.c
 *		Amount logic of the matching engine: the bounded subset-sum that
 *		finds which open invoices of a customer a payment settles, and the
 *		estimate of how likely such a combination is to be a coincidence.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "match.h"

typedef struct SubsetSearch
{
	const Amount *values;
	int			n;
	Amount		target;
	int			kmin;
	int			kmax;
	int			maxsol;
	int64		budget;
	int64		nodes;
	Amount	   *suffix;			/* suffix[i] = sum of values[i..n) */
	int		   *stack;
	int			depth;
	int			nsol;
	int		   *first;
	int		   *first_len;
	bool		aborted;
} SubsetSearch;

/*
 * Depth-first, taking each value before leaving it out: with the values
 * oldest first, the first solution found is the one made of the oldest
 * invoices.  All values are positive, so a partial sum above the target,
 * or one that the remaining values cannot lift to it, is a dead end.
 */
static void
subset_search(SubsetSearch *s, int i, Amount sum)
{
	if (s->nsol >= s->maxsol || s->aborted)
		return;
	if (++s->nodes > s->budget)
	{
		s->aborted = true;
		return;
	}
	if (sum == s->target)
	{
		if (s->depth >= s->kmin)
		{
			if (s->nsol == 0)
			{
				memcpy(s->first, s->stack, sizeof(int) * s->depth);
				*s->first_len = s->depth;
			}
			s->nsol++;
		}
		return;
	}
	if (i >= s->n || s->depth >= s->kmax || sum + s->suffix[i] < s->target)
		return;
	if (sum + s->values[i] <= s->target)
	{
		s->stack[s->depth++] = i;
		subset_search(s, i + 1, sum + s->values[i]);
		s->depth--;
	}
	subset_search(s, i + 1, sum);
}

int
subset_sum(const Amount *values, int n, Amount target, int kmin, int kmax,
		   int maxsol, int64 budget, int *first, int *first_len, bool *complete)
{
	SubsetSearch s;

	*first_len = 0;
	*complete = true;
	if (n <= 0 || target <= 0 || kmax < kmin)
		return 0;
	for (int i = 0; i < n; i++)
		if (values[i] <= 0)
			return 0;			/* callers pass positive values only */
	memset(&s, 0, sizeof(s));
	s.values = values;
	s.n = n;
	s.target = target;
	s.kmin = kmin;
	s.kmax = kmax;
	s.maxsol = maxsol;
	s.budget = budget;
	s.first = first;
	s.first_len = first_len;
	s.suffix = palloc(sizeof(Amount) * (n + 1));
	s.stack = palloc(sizeof(int) * (n + 1));
	s.suffix[n] = 0;
	for (int i = n - 1; i >= 0; i--)
		s.suffix[i] = s.suffix[i + 1] + values[i];
	subset_search(&s, 0, 0);
	*complete = !s.aborted;
	pfree(s.suffix);
	pfree(s.stack);
	return s.nsol;
}

double
subset_chance(const Amount *values, int n, Amount target, int kmin, int kmax)
{
	double		mean = 0,
				var = 0,
				t = (double) target / 100.0;	/* in cents */
	double		expected = 0;

	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		mean += (double) values[i] / 100.0;
	mean /= n;
	for (int i = 0; i < n; i++)
	{
		double		d = (double) values[i] / 100.0 - mean;

		var += d * d;
	}
	var /= n;
	for (int k = Max(kmin, 1); k <= Min(kmax, n); k++)
	{
		double		combinations = 1;
		double		sd = sqrt(var * k);
		double		z;

		for (int j = 0; j < k; j++)
			combinations = combinations * (n - j) / (j + 1);
		if (sd < 0.5)
		{
			/* equal amounts: every k of them sum to the same figure */
			if (fabs(t - mean * k) < 0.5)
				expected += combinations;
			continue;
		}
		z = (t - mean * k) / sd;
		expected += combinations * exp(-0.5 * z * z) / (sd * sqrt(2 * M_PI));
	}
	return expected;
}
