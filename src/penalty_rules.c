/*-------------------------------------------------------------------------
 *
 * penalty_rules.c
 *		The rules cache of the penalty engine: the rate series, reference
 *		rates, regimes and fixed fees read once per backend through SPI,
 *		kept in TopMemoryContext and dropped by a relcache invalidation of
 *		any of the four rule tables (see penalty.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "penalty.h"

struct PenCache
{
	MemoryContext cxt;
	int			nseries;
	PenSeries  *series;
	int			nregimes;
	PenRegime  *regimes;
	Oid			relids[4];		/* the rule tables, for invalidation */
};

static PenCache *pen_cache = NULL;
static bool pen_cache_valid = false;
static uint64 pen_generation = 0;	/* bumped by every invalidation */
static bool pen_callback_registered = false;
static MemoryContext pen_loading_cxt = NULL;


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
			pen_rules_changed();
			return;
		}
}

/*
 * The rules changed (a relcache invalidation of a rule table, or their
 * statement trigger ar._penalty_rules_changed): load them again at the
 * next call.
 */
void
pen_rules_changed(void)
{
	pen_cache_valid = false;
	pen_generation++;
}

PenSeries *
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
PenCache *
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

const PenRegime *
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
