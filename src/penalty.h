/*-------------------------------------------------------------------------
 *
 * penalty.h
 *		The late-payment penalty engine (ar.late_penalty, the core of
 *		ar.invoice_penalty and ar.penalty_schedule, ar.reference_rate_at and
 *		ar.penalty_rate): what crosses the files of its layers.
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
 * The layers, one file each:
 *	penalty_rules.c		the rules cache: the rule tables read through SPI,
 *						dropped when they change
 *	penalty_engine.c	exact arithmetic, rate lookups and the computation
 *	penalty_sql.c		the SQL-callable functions: arguments and results
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_PENALTY_H
#define AR_PENALTY_H

#include "fmgr.h"
#include "utils/date.h"

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

/* The rules, as loaded by penalty_rules.c (opaque elsewhere). */
typedef struct PenCache PenCache;

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
	bool		fee_known;		/* fee computed (it needs no rate) */
	int			nsegments;
	int			maxsegments;
	PenSegment *segments;		/* only when asked for */
} PenResult;


/* penalty_engine.c: exact arithmetic, every operation checked */
extern pg_noinline void pen_out_of_range(void);

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
/* penalty_engine.c: numerics, text and dates */
extern void pen_decode_numeric(Datum datum, const char *what, int128 *value, int *scale);
extern int64 pen_decode_rate(Datum datum, const char *what);
extern char *pen_rate_text(int64 rate);
extern char *pen_number_text(int64 value);
extern char *pen_date_text(DateADT date);

/* penalty_engine.c: rate lookups and the computation */
extern int	pen_series_lookup(const PenSeries *series, DateADT date, PenError *err);
extern bool pen_rate_on(const PenCase *c, DateADT day, DateADT first_late, PenSegment *seg,
						int64 *next, PenError *err);
extern bool pen_check_floor(const PenCase *c, DateADT day, int64 rate, int64 *next, PenError *err);
extern pg_noinline void pen_raise(const PenError *err);
extern bool pen_compute(const PenCase *c, PenResult *r, bool want_segments, PenError *err);

/* penalty_rules.c: the rules cache */
extern PenCache *pen_get_cache(void);
extern PenSeries *pen_find_series(PenCache *cache, const char *code);
extern const PenRegime *pen_find_regime(PenCache *cache, text *code);
extern void pen_rules_changed(void);

/*
 * What a dunning listing takes of an ar._penalty_computed row: its interest,
 * fixed fee, total and problem when the penalty is claimable, else 0.00,
 * 0.00, 0.00 and no problem (penalty_sql.c: pen_claimed_parts).
 */
typedef struct PenClaimed
{
	Datum		interest;
	Datum		fixed_fee;
	Datum		total;
	bool		interest_null;
	bool		fee_null;
	bool		total_null;
	bool		has_problem;
} PenClaimed;

/* penalty_sql.c: a case from ar._penalty_compute's eight arguments at first */
extern void pen_case_from_args(FunctionCallInfo fcinfo, int first, PenCase *c);

extern void pen_claimed_parts(FunctionCallInfo fcinfo, int pen_argno, int claimable_argno, PenClaimed *parts);

#endif							/* AR_PENALTY_H */
