/*-------------------------------------------------------------------------
 *
 * payment_model_features.c
 *		The payment model's features: what is known of an invoice on its
 *		issue date (its customer's history, exposure, notices) and the
 *		payment habits read from the customer's past payments (calendar of
 *		payment runs, habitual lag, holidays, large invoices).  Pure
 *		computation on a loaded PmData (see payment_model.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"

#include "payment_model.h"

/* Features, in the order of the coefficient arrays (after the intercept). */
const char *const pm_feature_names[PM_NFEATURES] = {
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

#define PM_RECENT		5
#define PM_HABIT_RECENT	24		/* payments the habitual lag is fitted on */
#define PM_CALENDAR_RECENT 24	/* payments the calendar is read from */
/*
 * Invoices of its customer an invoice's features read: the last ones issued
 * before it.  Features cost O(history) per invoice; the bound keeps a
 * customer with tens of thousands of invoices linear.
 */
#define PM_HISTORY_MAX	2000

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
 * their reliability.  paid[0 .. n_paid-1] and amounts[0 .. n_amounts-1]
 * hold the customer's history before the issue date (reordered here), the
 * amounts in the target's currency only (a paid invoice's amount is NaN in
 * another: no comparison with the median holds for it).
 */
static void
pm_habit_features(PmScratch *scratch, int n_paid, int n_amounts, const PmInvoice *target, double *f)
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
	if (n_amounts >= 3)
	{
		qsort(scratch->amounts, n_amounts, sizeof(double), pm_cmp_double);
		median_amount = (n_amounts % 2) ? scratch->amounts[n_amounts / 2]
			: (scratch->amounts[n_amounts / 2 - 1] + scratch->amounts[n_amounts / 2]) / 2.0;
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


/* ------------------------------------------------------------------------
 * Features known on the issue date
 * ------------------------------------------------------------------------
 */

/*
 * Features of invoice k, whose customer's invoices are d->inv[lo .. hi-1]
 * (by issue date), from what was known on its issue date t: the customer's
 * last PM_HISTORY_MAX invoices issued before t.  scratch has room for
 * hi - lo invoices.
 */
void
pm_features(const PmData *d, int lo, int hi, int k, double *f, PmHistory *h, PmScratch *scratch)
{
	const PmInvoice *target = &d->inv[k];
	DateADT		t = target->issue;
	int			n_hist = 0,
				n_amounts = 0,	/* of them, in the target's currency */
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
		bool		same_currency;

		if (inv->issue >= t)
			break;				/* sorted by issue date */
		if (inv->cancelled < t)
			continue;
		/* amounts of other currencies are never summed nor compared */
		same_currency = strcmp(inv->currency, target->currency) == 0;
		n_hist++;
		if (same_currency)
		{
			scratch->amounts[n_amounts++] = inv->amount;
			sum_amount += inv->amount;
		}
		if (inv->settled < t)
		{
			double		delay = pm_clamp((double) (inv->settled - inv->due), -30.0, 180.0);
			int			pos;

			scratch->paid[n_paid].due = inv->due;
			scratch->paid[n_paid].settled = inv->settled;
			scratch->paid[n_paid].amount = same_currency ? inv->amount : get_float8_nan();
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
			if (open > 0 && same_currency)
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
	f[10] = (n_amounts > 0 && sum_amount > 0) ? log1p(exposure / (sum_amount / n_amounts)) : 0.0;
	f[11] = log(Max(target->amount, 0.01));
	f[12] = (n_amounts > 0 && sum_amount > 0) ? log(Max(target->amount, 0.01) / (sum_amount / n_amounts)) : 0.0;
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

	pm_habit_features(scratch, n_paid, n_amounts, target, &f[28]);

	h->baseline_delay = (n_paid > 0) ? mean_raw : 0.0;
	h->baseline_p_late = (n_late + 1.0) / (n_paid + 2.0);
}

/* Features of every invoice of d (rows of F, PM_NFEATURES wide). */
void
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
