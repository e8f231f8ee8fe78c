/*-------------------------------------------------------------------------
 *
 * decimal128.c
 *		Exact int128 decimals: powers of ten, scaling, the slow path of
 *		numeric decoding, plain decimal text and numerics (see decimal128.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "decimal128.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

const uint64 dec128_pow10_u64[19] = {
	UINT64CONST(1), UINT64CONST(10), UINT64CONST(100), UINT64CONST(1000),
	UINT64CONST(10000), UINT64CONST(100000), UINT64CONST(1000000),
	UINT64CONST(10000000), UINT64CONST(100000000),
	UINT64CONST(1000000000), UINT64CONST(10000000000),
	UINT64CONST(100000000000), UINT64CONST(1000000000000),
	UINT64CONST(10000000000000), UINT64CONST(100000000000000),
	UINT64CONST(1000000000000000), UINT64CONST(10000000000000000),
	UINT64CONST(100000000000000000), UINT64CONST(1000000000000000000)
};

/* 10^exponent, for 0 <= exponent <= DEC128_MAX_SCALE. */
int128
dec128_pow10(int exponent)
{
	int128		result = 1;

	Assert(exponent >= 0 && exponent <= DEC128_MAX_SCALE);
	while (exponent > DEC128_POW10_U64_MAX)
	{
		result *= (int128) dec128_pow10_u64[DEC128_POW10_U64_MAX];
		exponent -= DEC128_POW10_U64_MAX;
	}
	return result * (int128) dec128_pow10_u64[exponent];
}

/* value * 10^exponent (exponent >= 0), or overflow(). */
int128
dec128_scale_up(int128 value, int exponent, Dec128Overflow overflow)
{
	if (value == 0 || exponent == 0)
		return value;
	if (exponent > DEC128_MAX_SCALE)
		overflow();
	return dec128_mul(value, dec128_pow10(exponent), overflow);
}

/*
 * Slow path of dec128_value: many digits or a large shift; every step is
 * checked.  A negative shift drops the low decimals of the last digit
 * before it is added: padding them first would overflow on values that fit
 * (a 38-digit value at a scale not a multiple of 4).
 */
int128
dec128_digits_value_slow(const char *digits, int ndigits, int shift, Dec128Overflow overflow)
{
	int128		acc = 0;
	int			last = ndigits - 1;

	Assert(ndigits > 0 && shift >= -(DEC128_DEC_DIGITS - 1));
	for (int i = 0; i < last; i++)
		acc = dec128_add(dec128_mul(acc, DEC128_NBASE, overflow),
						 (uint16) dec128_read_int16(digits + i * sizeof(int16)), overflow);
	if (shift < 0)
		return dec128_add(dec128_mul(acc, (int128) dec128_pow10_u64[DEC128_DEC_DIGITS + shift], overflow),
						  (uint16) dec128_read_int16(digits + last * sizeof(int16)) /
						  (int) dec128_pow10_u64[-shift],
						  overflow);
	acc = dec128_add(dec128_mul(acc, DEC128_NBASE, overflow),
					 (uint16) dec128_read_int16(digits + last * sizeof(int16)), overflow);
	return dec128_scale_up(acc, shift, overflow);
}

/* The SQL spelling of a special numeric, for error messages. */
const char *
dec128_kind_name(Dec128Kind kind)
{
	switch (kind)
	{
		case DEC128_PINF:
			return "Infinity";
		case DEC128_NINF:
			return "-Infinity";
		default:
			return "NaN";
	}
}

void
dec128_corrupt(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid numeric value: too short for its header")));
}

static void
dec128_cents_overflow(void)
{
	/* unreachable: dec128_round_cents reads values below 10^32 only */
	dec128_corrupt();
}

bool
dec128_round_cents(Datum numeric, int128 *cents)
{
	Dec128Unpacked n;
	int128		mills;

	if (dec128_unpack(numeric, &n) != DEC128_FINITE || n.weight >= 8)
		return false;
	mills = dec128_value(&n, 3, dec128_cents_overflow);
	*cents = (mills < 0 ? mills - 5 : mills + 5) / 10;
	return true;
}

/* Write value / 10^scale as a plain decimal into buf (DEC128_BUFLEN bytes). */
void
dec128_format(int128 value, int scale, char *buf)
{
	char		digits[DEC128_BUFLEN];
	int			ndigits = 0;
	uint128		magnitude = value < 0 ? -(uint128) value : (uint128) value;
	char	   *out = buf;

	Assert(scale >= 0 && scale <= DEC128_MAX_SCALE);
	/*
	 * least significant digit first; at least one digit before the point.
	 * 64-bit division while the value fits: a 128-bit one is a library call.
	 */
	while (magnitude > PG_UINT64_MAX)
	{
		digits[ndigits++] = '0' + (char) (magnitude % 10);
		magnitude /= 10;
	}
	for (uint64 small = (uint64) magnitude; small != 0 || ndigits <= scale; small /= 10)
		digits[ndigits++] = '0' + (char) (small % 10);
	if (value < 0)
		*out++ = '-';
	while (ndigits > 0)
	{
		if (ndigits == scale)
			*out++ = '.';
		*out++ = digits[--ndigits];
	}
	*out = '\0';
}

/*
 * Parse one plain decimal -?[0-9]+(\.[0-9]+)? at *p into its unscaled
 * integer and its scale, and advance *p.  Returns false on bad syntax
 * (*p unchanged); a value outside the int128 range or a scale beyond
 * max_scale calls overflow().  The digits are accumulated as a negative
 * number so that -2^127, which the checked sums can reach and
 * dec128_format prints, reads back.
 */
bool
dec128_parse(const char **p, int max_scale, int128 *value, int *scale, Dec128Overflow overflow)
{
	const char *s = *p;
	bool		negative = (*s == '-');
	int128		acc = 0;
	int			nfraction = -1;

	if (negative)
		s++;
	for (;; s++)
	{
		if (*s >= '0' && *s <= '9')
		{
			acc = dec128_add(dec128_mul(acc, 10, overflow), -(*s - '0'), overflow);
			if (nfraction >= 0)
				nfraction++;
		}
		else if (*s == '.' && nfraction < 0 && s > *p + negative)
			nfraction = 0;
		else
			break;
	}
	if (s == *p + negative || nfraction == 0)
		return false;
	*scale = Max(nfraction, 0);
	if (*scale > max_scale)
		overflow();
	*value = negative ? acc : dec128_mul(acc, -1, overflow);
	*p = s;
	return true;
}

/* value / 10^scale as a numeric of display scale "scale". */
Datum
dec128_to_numeric(int128 value, int scale)
{
	char		buf[DEC128_BUFLEN];

	if (value >= PG_INT64_MIN && value <= PG_INT64_MAX)
		return NumericGetDatum(int64_div_fast_to_numeric((int64) value, scale));
	dec128_format(value, scale, buf);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}
