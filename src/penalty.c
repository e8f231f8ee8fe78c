/*-------------------------------------------------------------------------
 *
 * penalty.c
 *		The late-payment penalty engine: ar.late_penalty, the core of
 *		ar.invoice_penalty and ar.penalty_schedule, ar.reference_rate_at and
 *		ar.penalty_rate.
 *
 * The rules are data (src/sql/65_penalties.sql): ar.penalty_regime says,
 * for each legal regime, which reference-rate series it reads, on which date
 * (the late day itself, the first day of its half-year, or the last day of
 * the previous half-year), whether the rate is fixed at the first late day
 * for the whole delay, the margin added, the day basis, the rounding and
 * the lawful floor of a contractual rate; ar.penalty_regime_fee holds the
 * fixed fees; ar.reference_rate the rate histories.  This file only knows
 * those generic rules, so a new law is a new row, not new C.
 *
 * Arithmetic is exact: money is an int128 count of 10^-S units (S is the
 * largest display scale of the amount and its payments, at most 20), rates
 * an int64 count of 10^-6 percent.  Interest is
 *
 *		sum over late days d of outstanding(d) * rate(d) / 100 / day_basis
 *
 * accumulated as one exact integer numerator (the delay is split where the
 * outstanding amount or the rate changes, so the sum has one term per
 * period), divided and rounded once at the end.  Every multiplication and
 * addition is checked: out-of-range input is an error, never a wrong value.
 *
 * Reference data are read once per backend through SPI and kept in a cache
 * that a relcache invalidation of any of the four rule tables drops: the
 * tables carry a statement trigger (ar._penalty_rules_changed) that sends
 * that invalidation, so every backend sees committed changes, and the
 * changing transaction sees its own (and forgets them if it rolls back).
 *
 * A day whose rate is not known (before a series starts, after the last
 * date its history is confirmed, or on a row flagged unverified) is an
 * error naming the series and the date; the non-strict entry used by
 * reports returns the same message as text instead of raising it.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "decimal128.h"

/* Rates, margins and multipliers are integers of 10^-6 (percent). */
#define PEN_RATE_SCALE		6
#define PEN_RATE_UNIT		INT64CONST(1000000)
/* Largest display scale of an amount the engine accepts. */
#define PEN_MAX_MONEY_SCALE 20
/* A day after every date (DateADT is int32; late days are finite). */
#define PEN_NO_END			((int64) PG_INT32_MAX + 1)

/* On which date a regime reads its reference rate. */
typedef enum PenRateDate
{
	PEN_RATE_DAY,				/* the late day itself */
	PEN_RATE_HALF_YEAR_START,	/* 1 January / 1 July of its half-year */
	PEN_RATE_PREV_HALF_YEAR_END /* 31 December / 30 June before it */
} PenRateDate;

typedef enum PenRounding
{
	PEN_ROUND_HALF_AWAY,		/* half away from zero (numeric round()) */
	PEN_ROUND_HALF_EVEN,
	PEN_ROUND_TRUNCATE
} PenRounding;

/* One row of a rate history: the rate in force from "from" on. */
typedef struct PenRate
{
	DateADT		from;
	int64		rate;			/* 10^-6 percent */
	char		status;			/* p(ublished), d(erived), v (provisional), u(nverified) */
} PenRate;

typedef struct PenSeries
{
	char	   *code;
	DateADT		known_through;	/* last day the history is confirmed */
	int			nrates;
	PenRate    *rates;			/* by date */
} PenSeries;

/* A fixed-fee tier: fee when the late debt is at least min_amount. */
typedef struct PenFee
{
	char		currency[4];
	int128		min_amount;		/* 10^-6 units */
	int64		fee;			/* 10^-6 units */
} PenFee;

typedef struct PenRegime
{
	char	   *code;
	PenSeries  *series;			/* NULL: a contractual rate */
	PenRateDate rate_date;
	bool		fixed;			/* rate of the first late day for the whole delay */
	int64		margin;
	int32		day_basis;
	int32		round_scale;
	PenRounding round_mode;
	PenSeries  *floor_series;	/* lawful minimum of the rate, if any */
	int64		floor_multiplier;
	char		currency[4];	/* currency of ar.late_penalty's fee */
	int			out_scale;		/* display scale of interest, fee, total */
	int			nfees;
	PenFee	   *fees;			/* by currency, then min_amount */
} PenRegime;

typedef struct PenCache
{
	MemoryContext cxt;
	int			nseries;
	PenSeries  *series;
	int			nregimes;
	PenRegime  *regimes;
	Oid			relids[4];		/* the rule tables, for invalidation */
} PenCache;

static PenCache *pen_cache = NULL;
static bool pen_cache_valid = false;
static uint64 pen_generation = 0;	/* bumped by every invalidation */
static bool pen_callback_registered = false;
static MemoryContext pen_loading_cxt = NULL;

/* A problem found while computing: raised, or returned as text. */
typedef struct PenError
{
	int			sqlstate;
	char	   *message;
	char	   *detail;
	char	   *hint;
} PenError;

/* What the engine is asked. */
typedef struct PenCase
{
	const PenRegime *regime;
	int128		amount;			/* 10^-money_scale units */
	int			money_scale;
	DateADT		due_date;
	DateADT		as_of;			/* last day that may be late */
	int			npayments;
	DateADT    *pay_dates;		/* ascending */
	int128	   *pay_amounts;	/* 10^-money_scale units, positive */
	bool		has_contract_rate;
	int64		contract_rate;
	const char *currency;		/* of the fixed fee */
} PenCase;

/* One period of constant outstanding amount and rate. */
typedef struct PenSegment
{
	DateADT		first;
	DateADT		last;
	int32		days;
	int128		outstanding;
	int64		rate;
	int128		numerator;		/* outstanding * rate * days */
	const PenSeries *series;	/* where the rate comes from; NULL: contract */
	DateADT		ref_date;
	int64		ref_rate;
	char		ref_status;
} PenSegment;

typedef struct PenResult
{
	int32		days_late;
	bool		settled;		/* fully paid on or before as_of */
	DateADT		settled_on;
	int128		numerator;
	int128		interest;		/* 10^-out_scale units */
	int128		fee;			/* 10^-out_scale units */
	int			nsegments;
	int			maxsegments;
	PenSegment *segments;		/* only when asked for */
} PenResult;

/* Per call site: the result row's descriptor. */
typedef struct PenCallCache
{
	TupleDesc	tupdesc;
} PenCallCache;

PG_FUNCTION_INFO_V1(penalty_late);
PG_FUNCTION_INFO_V1(penalty_late_contract);
PG_FUNCTION_INFO_V1(penalty_compute);
PG_FUNCTION_INFO_V1(penalty_schedule);
PG_FUNCTION_INFO_V1(penalty_reference_rate_at);
PG_FUNCTION_INFO_V1(penalty_rate);
PG_FUNCTION_INFO_V1(penalty_rate_floor);
PG_FUNCTION_INFO_V1(penalty_rules_changed);


/* ------------------------------------------------------------------------
 * Exact arithmetic
 * ------------------------------------------------------------------------
 */

static pg_noinline void
pen_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("late-payment penalty out of range"),
			 errdetail("The penalty engine computes exactly with 128-bit integers; amounts, rates and delays this large do not fit.")));
}

static inline int128
pen_mul(int128 a, int128 b)
{
	return dec128_mul(a, b, pen_out_of_range);
}

static inline int128
pen_add(int128 a, int128 b)
{
	return dec128_add(a, b, pen_out_of_range);
}

static inline int128
pen_scale_up(int128 value, int exponent)
{
	return dec128_scale_up(value, exponent, pen_out_of_range);
}

/* Floor division (toward minus infinity), for schedules. */
static int128
pen_floor_div(int128 a, int128 b, int128 *remainder)
{
	int128		q = a / b;
	int128		r = a % b;

	if (r != 0 && ((r < 0) != (b < 0)))
	{
		q -= 1;
		r += b;
	}
	*remainder = r;
	return q;
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
static void
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
static int64
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

/* value * 10^-scale as a numeric of display scale "scale". */
static Numeric
pen_make_numeric(int128 value, int scale)
{
	return DatumGetNumeric(dec128_to_numeric(value, scale));
}

/* A rate of 10^-6 percent as text, with 2 to 6 decimals: "12.15", "-0.88". */
static char *
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
static char *
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

/* A rate of 10^-6 percent as a numeric of 2 to 6 decimals. */
static Numeric
pen_rate_numeric(int64 rate)
{
	int			decimals = PEN_RATE_SCALE;

	while (decimals > 2 && rate % 10 == 0)
	{
		rate /= 10;
		decimals--;
	}
	return int64_div_fast_to_numeric(rate, decimals);
}


/* ------------------------------------------------------------------------
 * Dates
 * ------------------------------------------------------------------------
 */

/* ISO text of a date, whatever DateStyle says. */
static char *
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

static void
pen_require_finite(DateADT date, const char *what)
{
	if (DATE_NOT_FINITE(date))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite date, not %s", what, pen_date_text(date))));
}


/* ------------------------------------------------------------------------
 * The rule cache
 * ------------------------------------------------------------------------
 */

static void
pen_cache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	if (pen_cache == NULL)
		return;
	for (int i = 0; i < (int) lengthof(pen_cache->relids); i++)
		if (!OidIsValid(relid) || pen_cache->relids[i] == relid)
		{
			pen_cache_valid = false;
			pen_generation++;
			return;
		}
}

static PenSeries *
pen_find_series(PenCache *cache, const char *code)
{
	for (int i = 0; i < cache->nseries; i++)
		if (strcmp(cache->series[i].code, code) == 0)
			return &cache->series[i];
	return NULL;
}

static char *
pen_spi_text(int row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? NULL : TextDatumGetCString(d);
}

static void
pen_spi_run(const char *query)
{
	int			rc = SPI_execute(query, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "penalty rules query failed: %s", SPI_result_code_string(rc));
	/* SPI returns in its own procedure context: the cache lives in ours */
	MemoryContextSwitchTo(pen_loading_cxt);
}

static void
pen_load_series(PenCache *cache)
{
	bool		isnull;

	pen_spi_run("SELECT series FROM ar.rate_series ORDER BY series");
	cache->nseries = (int) SPI_processed;
	cache->series = palloc0(sizeof(PenSeries) * Max(cache->nseries, 1));
	for (int i = 0; i < cache->nseries; i++)
		cache->series[i].code = pen_spi_text(i, 1, &isnull);

	/* a row of the user's replaces a shipped row of the same date */
	pen_spi_run("SELECT DISTINCT ON (series, effective_from) series, effective_from, rate, status,"
				"       coalesce(confirmed_through, effective_from)"
				"  FROM ar.reference_rate ORDER BY series, effective_from, shipped");
	for (uint64 row = 0; row < SPI_processed;)
	{
		char	   *code = pen_spi_text((int) row, 1, &isnull);
		PenSeries  *series = pen_find_series(cache, code);
		uint64		end = row;

		while (end < SPI_processed &&
			   strcmp(pen_spi_text((int) end, 1, &isnull), code) == 0)
			end++;
		if (series == NULL)
			elog(ERROR, "reference rate of unknown series \"%s\"", code);
		series->nrates = (int) (end - row);
		series->rates = palloc(sizeof(PenRate) * series->nrates);
		series->known_through = DATEVAL_NOBEGIN;
		for (int i = 0; i < series->nrates; i++, row++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[row];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *status;
			DateADT		through;

			series->rates[i].from = DatumGetDateADT(SPI_getbinval(tuple, desc, 2, &isnull));
			series->rates[i].rate = pen_decode_rate(SPI_getbinval(tuple, desc, 3, &isnull), "reference rate");
			status = pen_spi_text((int) row, 4, &isnull);
			series->rates[i].status = strcmp(status, "unverified") == 0 ? 'u' :
				strcmp(status, "provisional") == 0 ? 'v' :
				strcmp(status, "derived") == 0 ? 'd' : 'p';
			through = DatumGetDateADT(SPI_getbinval(tuple, desc, 5, &isnull));
			if (through > series->known_through)
				series->known_through = through;
		}
	}
}

static void
pen_load_regimes(PenCache *cache)
{
	bool		isnull;

	pen_spi_run("SELECT regime, rate_series, rate_date, rate_fixed, margin, day_basis, rounding_scale,"
				"       rounding_mode, floor_series, floor_multiplier, currency"
				"  FROM ar.penalty_regime ORDER BY regime");
	cache->nregimes = (int) SPI_processed;
	cache->regimes = palloc0(sizeof(PenRegime) * Max(cache->nregimes, 1));
	for (int i = 0; i < cache->nregimes; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		PenRegime  *regime = &cache->regimes[i];
		char	   *text;
		Datum		d;

		regime->code = pen_spi_text(i, 1, &isnull);
		text = pen_spi_text(i, 2, &isnull);
		regime->series = isnull ? NULL : pen_find_series(cache, text);
		text = pen_spi_text(i, 3, &isnull);
		regime->rate_date = isnull ? PEN_RATE_DAY :
			strcmp(text, "half_year_start") == 0 ? PEN_RATE_HALF_YEAR_START :
			strcmp(text, "previous_half_year_end") == 0 ? PEN_RATE_PREV_HALF_YEAR_END : PEN_RATE_DAY;
		regime->fixed = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
		regime->margin = pen_decode_rate(SPI_getbinval(tuple, desc, 5, &isnull), "margin");
		regime->day_basis = DatumGetInt32(SPI_getbinval(tuple, desc, 6, &isnull));
		regime->round_scale = DatumGetInt32(SPI_getbinval(tuple, desc, 7, &isnull));
		text = pen_spi_text(i, 8, &isnull);
		regime->round_mode = strcmp(text, "half_even") == 0 ? PEN_ROUND_HALF_EVEN :
			strcmp(text, "truncate") == 0 ? PEN_ROUND_TRUNCATE : PEN_ROUND_HALF_AWAY;
		text = pen_spi_text(i, 9, &isnull);
		regime->floor_series = isnull ? NULL : pen_find_series(cache, text);
		d = SPI_getbinval(tuple, desc, 10, &isnull);
		regime->floor_multiplier = isnull ? 0 : pen_decode_rate(d, "floor multiplier");
		text = pen_spi_text(i, 11, &isnull);
		strlcpy(regime->currency, text, sizeof(regime->currency));
		regime->out_scale = regime->round_scale;
	}

	pen_spi_run("SELECT regime, currency, min_amount, fee FROM ar.penalty_regime_fee"
				" ORDER BY regime, currency, min_amount");
	for (uint64 row = 0; row < SPI_processed;)
	{
		char	   *code = pen_spi_text((int) row, 1, &isnull);
		PenRegime  *regime = NULL;
		uint64		end = row;

		for (int i = 0; i < cache->nregimes; i++)
			if (strcmp(cache->regimes[i].code, code) == 0)
				regime = &cache->regimes[i];
		while (end < SPI_processed &&
			   strcmp(pen_spi_text((int) end, 1, &isnull), code) == 0)
			end++;
		if (regime == NULL)
			elog(ERROR, "fixed fee of unknown regime \"%s\"", code);
		regime->nfees = (int) (end - row);
		regime->fees = palloc(sizeof(PenFee) * regime->nfees);
		for (int i = 0; i < regime->nfees; i++, row++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[row];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			PenFee	   *fee = &regime->fees[i];
			int128		value;
			int			scale;

			strlcpy(fee->currency, pen_spi_text((int) row, 2, &isnull), sizeof(fee->currency));
			fee->min_amount = pen_decode_rate(SPI_getbinval(tuple, desc, 3, &isnull), "fee threshold");
			pen_decode_numeric(SPI_getbinval(tuple, desc, 4, &isnull), "fixed fee", &value, &scale);
			fee->fee = pen_decode_rate(SPI_getbinval(tuple, desc, 4, &isnull), "fixed fee");
			/* interest, fee and total all print at the larger scale */
			regime->out_scale = Max(regime->out_scale, Min(scale, PEN_RATE_SCALE));
		}
	}
}

/* The rules, loaded when they changed since the last call. */
static PenCache *
pen_get_cache(void)
{
	PenCache   *cache;
	MemoryContext oldcxt;
	Oid			nsp;
	uint64		generation = pen_generation;

	if (pen_cache_valid && pen_cache != NULL)
		return pen_cache;

	if (!pen_callback_registered)
	{
		CacheRegisterRelcacheCallback(pen_cache_callback, (Datum) 0);
		pen_callback_registered = true;
	}
	/* a load that failed half-way left its context behind */
	if (pen_loading_cxt != NULL)
		MemoryContextDelete(pen_loading_cxt);
	pen_loading_cxt = AllocSetContextCreate(TopMemoryContext, "ar_collect penalty rules",
											ALLOCSET_SMALL_SIZES);

	oldcxt = MemoryContextSwitchTo(pen_loading_cxt);
	cache = palloc0(sizeof(PenCache));
	cache->cxt = pen_loading_cxt;
	nsp = get_namespace_oid("ar", false);
	cache->relids[0] = get_relname_relid("rate_series", nsp);
	cache->relids[1] = get_relname_relid("reference_rate", nsp);
	cache->relids[2] = get_relname_relid("penalty_regime", nsp);
	cache->relids[3] = get_relname_relid("penalty_regime_fee", nsp);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pen_load_series(cache);
	pen_load_regimes(cache);
	SPI_finish();
	MemoryContextSwitchTo(oldcxt);

	if (pen_cache != NULL)
		MemoryContextDelete(pen_cache->cxt);
	pen_cache = cache;
	pen_loading_cxt = NULL;
	/* an invalidation that arrived while loading means: load again next time */
	pen_cache_valid = (generation == pen_generation);
	return pen_cache;
}

static const PenRegime *
pen_find_regime(PenCache *cache, text *code)
{
	const char *data = VARDATA_ANY(code);
	int			len = VARSIZE_ANY_EXHDR(code);

	for (int i = 0; i < cache->nregimes; i++)
	{
		const char *name = cache->regimes[i].code;

		if ((int) strlen(name) == len && memcmp(name, data, len) == 0)
			return &cache->regimes[i];
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown penalty regime \"%s\"", text_to_cstring(code)),
			 errhint("The regimes are the rows of ar.penalty_regime.")));
	return NULL;				/* keep the compiler quiet */
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
static int
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
static bool
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
static bool
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

static pg_noinline void
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
static bool
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


/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------
 */

static void
pen_require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/* The amount, due date and as-of date of a case, checked. */
static void
pen_case_basics(FunctionCallInfo fcinfo, PenCase *c, int amount_arg, int due_arg, int asof_arg,
				const char *asof_name, bool allow_negative)
{
	int128		amount;
	int			scale;

	pen_require_arg(fcinfo, amount_arg, "amount");
	pen_require_arg(fcinfo, due_arg, "due_date");
	pen_require_arg(fcinfo, asof_arg, asof_name);
	pen_decode_numeric(PG_GETARG_DATUM(amount_arg), "amount", &amount, &scale);
	if (amount < 0 && !allow_negative)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must not be negative, not %s",
						DatumGetCString(DirectFunctionCall1(numeric_out, PG_GETARG_DATUM(amount_arg)))),
				 errdetail("Late-payment penalties are owed on debts; a credit note bears none.")));
	c->amount = amount;
	c->money_scale = scale;
	c->due_date = PG_GETARG_DATEADT(due_arg);
	c->as_of = PG_GETARG_DATEADT(asof_arg);
	pen_require_finite(c->due_date, "due_date");
	pen_require_finite(c->as_of, asof_name);
}

static void
pen_case_contract_rate(FunctionCallInfo fcinfo, PenCase *c, int argno)
{
	c->has_contract_rate = !PG_ARGISNULL(argno);
	if (c->has_contract_rate)
	{
		c->contract_rate = pen_decode_rate(PG_GETARG_DATUM(argno), "contract_rate");
		if (c->contract_rate <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("contract_rate must be positive, not %s", pen_rate_text(c->contract_rate))));
	}
}

typedef struct PenPayment
{
	DateADT		date;
	int			scale;
	int128		amount;			/* 10^-scale units */
} PenPayment;

static int
pen_payment_cmp(const void *a, const void *b)
{
	DateADT		da = ((const PenPayment *) a)->date;
	DateADT		db = ((const PenPayment *) b)->date;

	return da < db ? -1 : da > db ? 1 : 0;
}

/*
 * Payments from two parallel arrays (dates, amounts), sorted by date; the
 * amount and every payment are brought to one scale.
 */
static void
pen_case_payments(FunctionCallInfo fcinfo, PenCase *c, int dates_arg, int amounts_arg)
{
	ArrayType  *dates_array;
	ArrayType  *amounts_array;
	Datum	   *dates;
	Datum	   *amounts;
	bool	   *dates_null;
	bool	   *amounts_null;
	int			ndates;
	int			namounts;
	PenPayment *payments;
	int			scale = c->money_scale;

	c->npayments = 0;
	if (PG_ARGISNULL(dates_arg) && PG_ARGISNULL(amounts_arg))
		return;
	if (PG_ARGISNULL(dates_arg) || PG_ARGISNULL(amounts_arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payment dates and payment amounts must both be given or both be NULL")));
	dates_array = PG_GETARG_ARRAYTYPE_P(dates_arg);
	amounts_array = PG_GETARG_ARRAYTYPE_P(amounts_arg);
	if (ARR_NDIM(dates_array) > 1 || ARR_NDIM(amounts_array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("payment arrays must be one-dimensional")));
	deconstruct_array(dates_array, DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
					  &dates, &dates_null, &ndates);
	deconstruct_array(amounts_array, NUMERICOID, -1, false, TYPALIGN_INT,
					  &amounts, &amounts_null, &namounts);
	if (ndates != namounts)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d payment dates but %d payment amounts", ndates, namounts)));

	payments = palloc(sizeof(PenPayment) * Max(ndates, 1));
	for (int i = 0; i < ndates; i++)
	{
		if (dates_null[i] || amounts_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("payment %d has a NULL date or amount", i + 1)));
		payments[i].date = DatumGetDateADT(dates[i]);
		pen_require_finite(payments[i].date, "a payment date");
		pen_decode_numeric(amounts[i], "payment amount", &payments[i].amount, &payments[i].scale);
		if (payments[i].amount <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("payment %d must be a positive amount, not %s", i + 1,
							DatumGetCString(DirectFunctionCall1(numeric_out, amounts[i])))));
		scale = Max(scale, payments[i].scale);
	}
	qsort(payments, ndates, sizeof(PenPayment), pen_payment_cmp);

	c->amount = pen_scale_up(c->amount, scale - c->money_scale);
	c->money_scale = scale;
	c->npayments = ndates;
	c->pay_dates = palloc(sizeof(DateADT) * Max(ndates, 1));
	c->pay_amounts = palloc(sizeof(int128) * Max(ndates, 1));
	for (int i = 0; i < ndates; i++)
	{
		c->pay_dates[i] = payments[i].date;
		c->pay_amounts[i] = pen_scale_up(payments[i].amount, scale - payments[i].scale);
	}
	pfree(payments);
}

static TupleDesc
pen_result_desc(FunctionCallInfo fcinfo)
{
	PenCallCache *cc = (PenCallCache *) fcinfo->flinfo->fn_extra;

	if (cc == NULL)
	{
		TupleDesc	desc;
		MemoryContext oldcxt;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("function returning a penalty row called in a context that cannot accept it")));
		oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cc = palloc(sizeof(PenCallCache));
		cc->tupdesc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(oldcxt);
		fcinfo->flinfo->fn_extra = cc;
	}
	return cc->tupdesc;
}

/* The row (days_late, interest, fixed_fee, total[, settled_on, problem]). */
static Datum
pen_result_datum(FunctionCallInfo fcinfo, const PenCase *c, const PenResult *r, const PenError *problem)
{
	TupleDesc	desc = pen_result_desc(fcinfo);
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, true, true};
	int			scale = c->regime->out_scale;

	values[0] = Int32GetDatum(r->days_late);
	if (problem != NULL)
	{
		nulls[1] = nulls[2] = nulls[3] = true;
		values[1] = values[2] = values[3] = (Datum) 0;
	}
	else
	{
		values[1] = NumericGetDatum(pen_make_numeric(r->interest, scale));
		values[2] = NumericGetDatum(pen_make_numeric(r->fee, scale));
		values[3] = NumericGetDatum(pen_make_numeric(pen_add(r->interest, r->fee), scale));
	}
	if (desc->natts >= 6)
	{
		nulls[4] = !r->settled;
		values[4] = DateADTGetDatum(r->settled_on);
		nulls[5] = problem == NULL;
		values[5] = problem ? CStringGetTextDatum(problem->message) : (Datum) 0;
	}
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}


/* ------------------------------------------------------------------------
 * SQL-callable functions
 * ------------------------------------------------------------------------
 */

/* Shared body of the two ar.late_penalty forms. */
static Datum
pen_late(FunctionCallInfo fcinfo, bool with_contract_rate)
{
	PenCache   *cache;
	PenCase		c;
	PenResult	r;
	PenError	err;

	memset(&c, 0, sizeof(c));
	pen_case_basics(fcinfo, &c, 0, 1, 2, "paid_on", false);
	pen_require_arg(fcinfo, 3, "regime");
	cache = pen_get_cache();
	c.regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(3));
	c.currency = c.regime->currency;
	if (with_contract_rate)
		pen_case_contract_rate(fcinfo, &c, 4);
	if (!pen_compute(&c, &r, false, &err))
		pen_raise(&err);
	return pen_result_datum(fcinfo, &c, &r, NULL);
}

/*
 * ar.late_penalty(amount numeric, due_date date, paid_on date,
 *                 regime text DEFAULT 'FR_LME') RETURNS ar.penalty
 */
Datum
penalty_late(PG_FUNCTION_ARGS)
{
	return pen_late(fcinfo, false);
}

/*
 * ar.late_penalty(amount numeric, due_date date, paid_on date, regime text,
 *                 contract_rate numeric) RETURNS ar.penalty
 */
Datum
penalty_late_contract(PG_FUNCTION_ARGS)
{
	return pen_late(fcinfo, true);
}

/* The case of ar._penalty_compute and ar._penalty_schedule. */
static void
pen_case_full(FunctionCallInfo fcinfo, PenCase *c)
{
	PenCache   *cache;

	memset(c, 0, sizeof(*c));
	pen_require_arg(fcinfo, 0, "regime");
	pen_case_basics(fcinfo, c, 1, 2, 3, "as_of", false);
	cache = pen_get_cache();
	c->regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(0));
	pen_case_payments(fcinfo, c, 4, 5);
	pen_case_contract_rate(fcinfo, c, 6);
	c->currency = PG_ARGISNULL(7) ? c->regime->currency : text_to_cstring(PG_GETARG_TEXT_PP(7));
}

/*
 * ar._penalty_compute(regime text, amount numeric, due_date date, as_of date,
 *                     payment_dates date[], payment_amounts numeric[],
 *                     contract_rate numeric, currency text, strict boolean)
 * RETURNS ar._penalty_computed (days_late, interest, fixed_fee, total,
 *                                settled_on, problem)
 *
 * Late days run from due_date + 1 to the day the payments (dated up to
 * as_of) cover the amount, or to as_of.  Not strict: a rate that is not
 * known or not lawful gives NULL amounts and the message in "problem".
 */
Datum
penalty_compute(PG_FUNCTION_ARGS)
{
	PenCase		c;
	PenResult	r;
	PenError	err;
	bool		strict = PG_ARGISNULL(8) || PG_GETARG_BOOL(8);

	pen_case_full(fcinfo, &c);
	if (!pen_compute(&c, &r, false, &err))
	{
		if (strict)
			pen_raise(&err);
		return pen_result_datum(fcinfo, &c, &r, &err);
	}
	return pen_result_datum(fcinfo, &c, &r, NULL);
}

/* Text of where a segment's rate comes from: "ECB_MRO on 2025-01-01: 3.15 + 10". */
static char *
pen_rate_basis(const PenRegime *regime, const PenSegment *seg)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (seg->series == NULL)
		appendStringInfo(&buf, "contractual rate %s", pen_rate_text(seg->ref_rate));
	else
		appendStringInfo(&buf, "%s on %s: %s", seg->series->code, pen_date_text(seg->ref_date),
						 pen_rate_text(seg->ref_rate));
	if (regime->margin != 0)
		appendStringInfo(&buf, " %c %s", regime->margin < 0 ? '-' : '+',
						 pen_number_text(regime->margin < 0 ? -regime->margin : regime->margin));
	if (seg->series != NULL && seg->ref_status == 'v')
		appendStringInfoString(&buf, " (provisional rate)");
	return buf.data;
}

/*
 * ar._penalty_schedule(same arguments as ar._penalty_compute but strict)
 * RETURNS TABLE (line int, period_start date, period_end date, days int,
 *                outstanding numeric, rate numeric, interest numeric,
 *                rate_basis text)
 *
 * One row per period of constant outstanding amount and rate.  Each line's
 * interest is its exact share rounded so that the lines add up to the
 * interest rounded once (largest remainders get the spare units).
 */
Datum
penalty_schedule(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PenCase		c;
	PenResult	r;
	PenError	err;
	int128		divisor;
	int128		total_units;
	int128		sum_floor = 0;
	int128	   *units;
	int128	   *remainders;
	bool	   *bumped;
	int			out_shift;

	pen_case_full(fcinfo, &c);
	InitMaterializedSRF(fcinfo, 0);
	if (!pen_compute(&c, &r, true, &err))
		pen_raise(&err);
	if (r.nsegments == 0)
		return (Datum) 0;

	divisor = pen_mul(c.regime->day_basis,
					  dec128_pow10(2 + PEN_RATE_SCALE + c.money_scale - c.regime->round_scale));
	out_shift = c.regime->out_scale - c.regime->round_scale;
	total_units = r.interest / dec128_pow10(out_shift);
	units = palloc(sizeof(int128) * r.nsegments);
	remainders = palloc(sizeof(int128) * r.nsegments);
	bumped = palloc0(sizeof(bool) * r.nsegments);
	for (int i = 0; i < r.nsegments; i++)
	{
		units[i] = pen_floor_div(r.segments[i].numerator, divisor, &remainders[i]);
		sum_floor += units[i];
	}
	/* total_units - sum_floor is between 0 and the number of lines */
	for (int128 spare = total_units - sum_floor; spare > 0; spare--)
	{
		int			best = -1;

		for (int i = 0; i < r.nsegments; i++)
			if (!bumped[i] && (best < 0 || remainders[i] > remainders[best]))
				best = i;
		if (best < 0)
			break;
		bumped[best] = true;
		units[best] += 1;
	}

	for (int i = 0; i < r.nsegments; i++)
	{
		const PenSegment *seg = &r.segments[i];
		Datum		values[8];
		bool		nulls[8] = {false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = DateADTGetDatum(seg->first);
		values[2] = DateADTGetDatum(seg->last);
		values[3] = Int32GetDatum(seg->days);
		values[4] = NumericGetDatum(pen_make_numeric(seg->outstanding, c.money_scale));
		values[5] = NumericGetDatum(pen_rate_numeric(seg->rate));
		values[6] = NumericGetDatum(pen_make_numeric(pen_scale_up(units[i], out_shift),
													 c.regime->out_scale));
		values[7] = CStringGetTextDatum(pen_rate_basis(c.regime, seg));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ar.reference_rate_at(series text, on_date date) RETURNS numeric */
Datum
penalty_reference_rate_at(PG_FUNCTION_ARGS)
{
	PenCache   *cache;
	PenSeries  *series;
	PenError	err;
	char	   *code;
	DateADT		on_date;
	int			index;

	pen_require_arg(fcinfo, 0, "series");
	pen_require_arg(fcinfo, 1, "on_date");
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	on_date = PG_GETARG_DATEADT(1);
	pen_require_finite(on_date, "on_date");
	cache = pen_get_cache();
	series = pen_find_series(cache, code);
	if (series == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rate series \"%s\"", code),
				 errhint("The series are the rows of ar.rate_series.")));
	index = pen_series_lookup(series, on_date, &err);
	if (index < 0)
		pen_raise(&err);
	PG_RETURN_NUMERIC(pen_rate_numeric(series->rates[index].rate));
}

/*
 * ar.penalty_rate(regime text, late_day date, first_late_day date DEFAULT NULL,
 *                 contract_rate numeric DEFAULT NULL) RETURNS numeric
 *
 * The yearly rate (percent) the regime applies on late_day of a delay that
 * started on first_late_day (default: late_day itself).
 */
Datum
penalty_rate(PG_FUNCTION_ARGS)
{
	PenCache   *cache;
	PenCase		c;
	PenSegment	seg;
	PenError	err;
	DateADT		day;
	DateADT		first_late;
	int64		next;

	memset(&c, 0, sizeof(c));
	pen_require_arg(fcinfo, 0, "regime");
	pen_require_arg(fcinfo, 1, "late_day");
	day = PG_GETARG_DATEADT(1);
	first_late = PG_ARGISNULL(2) ? day : PG_GETARG_DATEADT(2);
	pen_require_finite(day, "late_day");
	pen_require_finite(first_late, "first_late_day");
	if (first_late > day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_late_day %s is after late_day %s",
						pen_date_text(first_late), pen_date_text(day))));
	cache = pen_get_cache();
	c.regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(0));
	pen_case_contract_rate(fcinfo, &c, 3);
	if (!pen_rate_on(&c, day, first_late, &seg, &next, &err) ||
		!pen_check_floor(&c, day, seg.rate, &next, &err))
		pen_raise(&err);
	PG_RETURN_NUMERIC(pen_rate_numeric(seg.rate));
}

/*
 * ar.penalty_rate_floor(regime text, on_date date) RETURNS numeric
 *
 * The lowest lawful rate of the regime on that date (its floor series times
 * its multiplier, e.g. 3 x the French legal interest rate), or NULL when the
 * regime has no floor.
 */
Datum
penalty_rate_floor(PG_FUNCTION_ARGS)
{
	PenCache   *cache;
	const PenRegime *regime;
	PenError	err;
	DateADT		on_date;
	int			index;
	int128		floor_scaled;
	int128		floor_rate;

	pen_require_arg(fcinfo, 0, "regime");
	pen_require_arg(fcinfo, 1, "on_date");
	on_date = PG_GETARG_DATEADT(1);
	pen_require_finite(on_date, "on_date");
	cache = pen_get_cache();
	regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(0));
	if (regime->floor_series == NULL)
		PG_RETURN_NULL();
	index = pen_series_lookup(regime->floor_series, on_date, &err);
	if (index < 0)
		pen_raise(&err);
	floor_scaled = (int128) regime->floor_series->rates[index].rate * regime->floor_multiplier;
	/* rounded up to 10^-6: a rate below this is below the floor */
	floor_rate = floor_scaled / PEN_RATE_UNIT + (floor_scaled % PEN_RATE_UNIT > 0 ? 1 : 0);
	PG_RETURN_NUMERIC(pen_rate_numeric((int64) floor_rate));
}

/*
 * Statement trigger of the rule tables: every backend (this one included,
 * and this one again if the transaction rolls back) reloads the rules.
 */
Datum
penalty_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._penalty_rules_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	pen_cache_valid = false;
	pen_generation++;
	return PointerGetDatum(NULL);
}
