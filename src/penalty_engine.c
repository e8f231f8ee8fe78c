/*-------------------------------------------------------------------------
 *
 * penalty_engine.c
 *		The penalty engine proper: exact int128 arithmetic, the conversions
 *		between numerics and scaled integers, the rate in force on a late
 *		day (reference series, half-years, lawful floor) and the
 *		computation of a case.  No table access and no SQL arguments here:
 *		the rules come from penalty_rules.c, the cases from penalty_sql.c
 *		(see penalty.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

#include "penalty.h"


/* ------------------------------------------------------------------------
 * Exact arithmetic
 * ------------------------------------------------------------------------
 */

pg_noinline void
pen_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("late-payment penalty out of range"),
			 errdetail("The penalty engine computes exactly with 128-bit integers; amounts, rates and delays this large do not fit.")));
}

/* numerator / divisor rounded by mode (divisor > 0). */
static int128
pen_round_div(int128 numerator, int128 divisor, PenRounding mode)
{
	int128		q = numerator / divisor;
	int128		r = numerator % divisor;
	int128		twice = (r < 0 ? -r : r) * 2;
	int			sign = numerator < 0 ? -1 : 1;

	switch (mode)
	{
		case PEN_ROUND_HALF_AWAY:
			if (twice >= divisor)
				q += sign;
			break;
		case PEN_ROUND_HALF_EVEN:
			if (twice > divisor || (twice == divisor && (q % 2) != 0))
				q += sign;
			break;
		case PEN_ROUND_TRUNCATE:
			break;
	}
	return q;
}


/* ------------------------------------------------------------------------
 * Numeric <-> scaled integers
 * ------------------------------------------------------------------------
 */

/*
 * Decode a numeric into value * 10^-scale, exactly (scale = its display
 * scale).  NaN and infinities are errors naming "what".
 */
void
pen_decode_numeric(Datum datum, const char *what, int128 *value, int *scale)
{
	Dec128Unpacked n;
	Dec128Kind	kind = dec128_unpack(datum, &n);

	if (kind != DEC128_FINITE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be %s", what, dec128_kind_name(kind))));
	if (n.dscale > PEN_MAX_MONEY_SCALE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s has %d digits after the decimal point", what, n.dscale),
				 errdetail("The penalty engine accepts at most %d.", PEN_MAX_MONEY_SCALE)));
	*value = dec128_value(&n, n.dscale, pen_out_of_range);
	*scale = n.dscale;
}

/* A rate (percent) as an int64 of 10^-6, at most 6 decimals. */
int64
pen_decode_rate(Datum datum, const char *what)
{
	int128		value;
	int			scale;

	pen_decode_numeric(datum, what, &value, &scale);
	if (scale > PEN_RATE_SCALE)
	{
		int128		unit = dec128_pow10(scale - PEN_RATE_SCALE);

		if (value % unit != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has more than %d decimal places", what, PEN_RATE_SCALE)));
		value /= unit;
	}
	else
		value = pen_scale_up(value, PEN_RATE_SCALE - scale);
	if (value > PG_INT64_MAX / 1000 || value < -(PG_INT64_MAX / 1000))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
	return (int64) value;
}

/* A rate of 10^-6 percent as text, with 2 to 6 decimals: "12.15", "-0.88". */
char *
pen_rate_text(int64 rate)
{
	int			decimals = PEN_RATE_SCALE;
	int64		shown = rate;
	uint64		magnitude;
	uint64		unit = 1;
	char		frac[16];

	while (decimals > 2 && shown % 10 == 0)
	{
		shown /= 10;
		decimals--;
	}
	for (int i = 0; i < decimals; i++)
		unit *= 10;
	magnitude = shown < 0 ? -(uint64) shown : (uint64) shown;
	snprintf(frac, sizeof(frac), "%0*llu", decimals, (unsigned long long) (magnitude % unit));
	return psprintf("%s%llu.%s", shown < 0 ? "-" : "",
					(unsigned long long) (magnitude / unit), frac);
}

/* A value of 10^-6 units without useless decimals: "10", "3", "7.5". */
char *
pen_number_text(int64 value)
{
	char	   *text = pen_rate_text(value);
	int			len = strlen(text);

	while (len > 0 && text[len - 1] == '0')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '.')
		text[--len] = '\0';
	return text;
}


/* ------------------------------------------------------------------------
 * Dates
 * ------------------------------------------------------------------------
 */

/* ISO text of a date, whatever DateStyle says. */
char *
pen_date_text(DateADT date)
{
	int			year,
				month,
				day;

	if (DATE_IS_NOBEGIN(date))
		return pstrdup("-infinity");
	if (DATE_IS_NOEND(date))
		return pstrdup("infinity");
	j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (year <= 0)
		return psprintf("%04d-%02d-%02d BC", -year + 1, month, day);
	return psprintf("%04d-%02d-%02d", year, month, day);
}

/* 1 January or 1 July of the half-year of date. */
static DateADT
pen_half_year_start(DateADT date)
{
	int			year,
				month,
				day;

	j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	return date2j(year, month <= 6 ? 1 : 7, 1) - POSTGRES_EPOCH_JDATE;
}

/* First day of the half-year after the one of date. */
static int64
pen_next_half_year_start(DateADT date)
{
	int			year,
				month,
				day;

	j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (month <= 6)
		return (int64) date2j(year, 7, 1) - POSTGRES_EPOCH_JDATE;
	return (int64) date2j(year + 1, 1, 1) - POSTGRES_EPOCH_JDATE;
}


/* ------------------------------------------------------------------------
 * Rate lookups
 * ------------------------------------------------------------------------
 */

static pg_noinline void
pen_error_no_rate(PenError *err, const PenSeries *series, DateADT date, const char *detail)
{
	err->sqlstate = ERRCODE_NO_DATA_FOUND;
	err->message = psprintf("no known rate for series %s on %s", series->code, pen_date_text(date));
	err->detail = pstrdup(detail);
	err->hint = psprintf("Insert the official rate: INSERT INTO ar.reference_rate (series, effective_from, rate, source, confirmed_through) VALUES ('%s', ...); "
						 "a rate known to be unchanged is confirmed by a row of the same rate with a later confirmed_through.",
						 series->code);
}

/*
 * Index of the row of series in force on date, or -1 with err filled when
 * no rate is known that day.
 */
int
pen_series_lookup(const PenSeries *series, DateADT date, PenError *err)
{
	int			lo = 0,
				hi = series->nrates - 1;

	if (series->nrates == 0)
	{
		pen_error_no_rate(err, series, date, "The series has no rate yet.");
		return -1;
	}
	if (date < series->rates[0].from)
	{
		pen_error_no_rate(err, series, date,
						  psprintf("Its history starts on %s.", pen_date_text(series->rates[0].from)));
		return -1;
	}
	if (date > series->known_through)
	{
		pen_error_no_rate(err, series, date,
						  psprintf("Its history is known through %s.", pen_date_text(series->known_through)));
		return -1;
	}
	/* the last row starting on or before date */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo + 1) / 2;

		if (series->rates[mid].from <= date)
			lo = mid;
		else
			hi = mid - 1;
	}
	if (series->rates[lo].status == 'u')
	{
		err->sqlstate = ERRCODE_NO_DATA_FOUND;
		err->message = psprintf("the rate of series %s on %s is not verified",
								series->code, pen_date_text(date));
		err->detail = psprintf("The value %s in force from %s comes from an unverified source.",
							   pen_rate_text(series->rates[lo].rate),
							   pen_date_text(series->rates[lo].from));
		err->hint = psprintf("Check it against the official publication, then insert it as published: "
							 "INSERT INTO ar.reference_rate (series, effective_from, rate, source) VALUES ('%s', '%s', ...).",
							 series->code, pen_date_text(series->rates[lo].from));
		return -1;
	}
	return lo;
}

/* First day after date on which the series' rate may change. */
static int64
pen_series_next_change(const PenSeries *series, int index)
{
	int64		next = (int64) series->known_through + 1;

	if (index + 1 < series->nrates && series->rates[index + 1].from < next)
		next = series->rates[index + 1].from;
	return next;
}

/*
 * The rate of the regime on late day "day" of a delay whose first late day
 * is first_late: fills seg's rate and its origin, and *next with the first
 * day on which it may change.  False with err filled when it is not known.
 */
bool
pen_rate_on(const PenCase *c, DateADT day, DateADT first_late, PenSegment *seg,
			int64 *next, PenError *err)
{
	const PenRegime *regime = c->regime;
	DateADT		basis_day = regime->fixed ? first_late : day;
	DateADT		ref;
	int			index;

	if (regime->series == NULL)
	{
		if (!c->has_contract_rate)
		{
			err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			err->message = psprintf("regime %s needs a contractual rate", regime->code);
			err->detail = NULL;
			err->hint = pstrdup("Set penalty_rate on the invoice or its customer, or pass contract_rate to ar.late_penalty.");
			return false;
		}
		seg->series = NULL;
		seg->ref_rate = c->contract_rate;
		seg->rate = c->contract_rate + regime->margin;
		*next = PEN_NO_END;
		return true;
	}

	switch (regime->rate_date)
	{
		case PEN_RATE_HALF_YEAR_START:
			ref = pen_half_year_start(basis_day);
			break;
		case PEN_RATE_PREV_HALF_YEAR_END:
			ref = pen_half_year_start(basis_day) - 1;
			break;
		default:
			ref = basis_day;
			break;
	}
	index = pen_series_lookup(regime->series, ref, err);
	if (index < 0)
		return false;
	seg->series = regime->series;
	seg->ref_date = ref;
	seg->ref_rate = regime->series->rates[index].rate;
	seg->ref_status = regime->series->rates[index].status;
	seg->rate = seg->ref_rate + regime->margin;
	if (regime->fixed)
		*next = PEN_NO_END;
	else if (regime->rate_date == PEN_RATE_DAY)
		*next = pen_series_next_change(regime->series, index);
	else
		*next = pen_next_half_year_start(day);
	return true;
}

/*
 * The lawful floor of the rate on day: false with err filled when the rate
 * is below it or the floor is not known; *next is when it may change.
 */
bool
pen_check_floor(const PenCase *c, DateADT day, int64 rate, int64 *next, PenError *err)
{
	const PenRegime *regime = c->regime;
	int			index;
	int128		floor_scaled;

	*next = PEN_NO_END;
	if (regime->floor_series == NULL)
		return true;
	index = pen_series_lookup(regime->floor_series, day, err);
	if (index < 0)
		return false;
	*next = pen_series_next_change(regime->floor_series, index);
	/* rate >= floor rate * multiplier, compared exactly at 10^-12 */
	floor_scaled = (int128) regime->floor_series->rates[index].rate * regime->floor_multiplier;
	if ((int128) rate * PEN_RATE_UNIT < floor_scaled)
	{
		int128		floor_rate = floor_scaled / PEN_RATE_UNIT + (floor_scaled % PEN_RATE_UNIT > 0 ? 1 : 0);

		err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
		err->message = psprintf("penalty rate %s is below the lawful minimum of %s on %s",
								pen_rate_text(rate), pen_rate_text((int64) floor_rate), pen_date_text(day));
		err->detail = psprintf("Regime %s: the rate may not be below %s times %s, which is %s on that day.",
							   regime->code, pen_number_text(regime->floor_multiplier),
							   regime->floor_series->code,
							   pen_rate_text(regime->floor_series->rates[index].rate));
		err->hint = pstrdup("Agree a higher contractual rate, or use the statutory regime (FR_LME).");
		return false;
	}
	return true;
}

pg_noinline void
pen_raise(const PenError *err)
{
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg_internal("%s", err->message),
			 err->detail ? errdetail_internal("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0));
}


/* ------------------------------------------------------------------------
 * The engine
 * ------------------------------------------------------------------------
 */

/* Fixed fee for a late debt of "base" (10^-money_scale units). */
static bool
pen_fixed_fee(const PenCase *c, int128 base, int128 *fee, PenError *err)
{
	const PenRegime *regime = c->regime;
	const PenFee *chosen = NULL;
	bool		currency_known = false;
	int128		base6;

	*fee = 0;
	if (regime->nfees == 0)
		return true;
	/* compare at 10^-(money_scale + 6) */
	base6 = pen_mul(base, PEN_RATE_UNIT);
	for (int i = 0; i < regime->nfees; i++)
	{
		const PenFee *f = &regime->fees[i];

		if (strcmp(f->currency, c->currency) != 0)
			continue;
		currency_known = true;
		if (pen_scale_up(f->min_amount, c->money_scale) <= base6)
			chosen = f;
	}
	if (!currency_known)
	{
		err->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
		err->message = psprintf("regime %s states no fixed fee in %s", regime->code, c->currency);
		err->detail = psprintf("Its fixed fee is stated in %s; ar_collect does not convert currencies.",
							   regime->fees[0].currency);
		err->hint = psprintf("INSERT INTO ar.penalty_regime_fee (regime, currency, min_amount, fee) VALUES ('%s', '%s', 0, ...).",
							 regime->code, c->currency);
		return false;
	}
	if (chosen != NULL)
	{
		int128		fee6 = chosen->fee;

		/* fees have at most out_scale decimals: exact */
		if (regime->out_scale >= PEN_RATE_SCALE)
			*fee = pen_scale_up(fee6, regime->out_scale - PEN_RATE_SCALE);
		else
			*fee = fee6 / dec128_pow10(PEN_RATE_SCALE - regime->out_scale);
	}
	return true;
}

static void
pen_add_segment(PenResult *r, const PenSegment *seg)
{
	if (r->nsegments == r->maxsegments)
	{
		r->maxsegments = Max(8, r->maxsegments * 2);
		r->segments = r->segments == NULL ? palloc(sizeof(PenSegment) * r->maxsegments)
			: repalloc(r->segments, sizeof(PenSegment) * r->maxsegments);
	}
	r->segments[r->nsegments++] = *seg;
}

/*
 * Compute the penalty of case c into r (segments too when want_segments).
 * False with err filled when a rate is not known or not lawful.
 */
bool
pen_compute(const PenCase *c, PenResult *r, bool want_segments, PenError *err)
{
	const PenRegime *regime = c->regime;
	int64		first_late = (int64) c->due_date + 1;
	int64		end = c->as_of;
	int64		day;
	int128		outstanding = c->amount;
	int128		paid = 0;
	int			pi = 0;
	int			exponent;
	int128		divisor;

	memset(r, 0, sizeof(*r));

	/* the day the amount was fully paid, if it was by as_of */
	for (int i = 0; i < c->npayments && c->pay_dates[i] <= c->as_of; i++)
	{
		paid = pen_add(paid, c->pay_amounts[i]);
		if (paid >= c->amount)
		{
			r->settled = true;
			r->settled_on = c->pay_dates[i];
			end = Min(end, (int64) c->pay_dates[i]);
			break;
		}
	}
	if (end < first_late || c->amount <= 0)
	{
		r->days_late = c->amount <= 0 ? (int32) Max(end - (int64) c->due_date, 0) : 0;
		return true;
	}
	r->days_late = (int32) (end - c->due_date);

	/* payments made on or before the due date reduce the late debt */
	while (pi < c->npayments && c->pay_dates[pi] < first_late)
		outstanding -= c->pay_amounts[pi++];

	if (!pen_fixed_fee(c, outstanding, &r->fee, err))
		return false;
	r->fee_known = true;

	for (day = first_late; day <= end;)
	{
		PenSegment	seg;
		int64		next = end + 1;
		int64		rate_next;
		int64		floor_next;

		CHECK_FOR_INTERRUPTS();
		while (pi < c->npayments && c->pay_dates[pi] < day)
			outstanding -= c->pay_amounts[pi++];
		/* a payment made on day p counts from p + 1 */
		if (pi < c->npayments && (int64) c->pay_dates[pi] + 1 < next)
			next = (int64) c->pay_dates[pi] + 1;
		if (!pen_rate_on(c, (DateADT) day, (DateADT) first_late, &seg, &rate_next, err))
			return false;
		if (!pen_check_floor(c, (DateADT) day, seg.rate, &floor_next, err))
			return false;
		next = Min(next, Min(rate_next, floor_next));

		seg.first = (DateADT) day;
		seg.last = (DateADT) (next - 1);
		seg.days = (int32) (next - day);
		seg.outstanding = outstanding;
		seg.numerator = pen_mul(pen_mul(outstanding, seg.rate), seg.days);
		r->numerator = pen_add(r->numerator, seg.numerator);
		if (want_segments)
			pen_add_segment(r, &seg);
		day = next;
	}

	/*
	 * interest = numerator / (100 * 10^6 * basis * 10^S); at 10^-rs that is
	 * numerator / (basis * 10^(8 + S - rs)), and 8 + S - rs >= 2.
	 */
	exponent = 2 + PEN_RATE_SCALE + c->money_scale - regime->round_scale;
	divisor = pen_mul(regime->day_basis, dec128_pow10(exponent));
	r->interest = pen_round_div(r->numerator, divisor, regime->round_mode);
	r->interest = pen_scale_up(r->interest, regime->out_scale - regime->round_scale);
	return true;
}
