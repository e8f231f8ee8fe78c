/*-------------------------------------------------------------------------
 *
 * decimal128.h
 *		Exact decimals as int128 scaled integers (value * 10^-scale), read
 *		straight from the numeric on-disk format and written back as
 *		numerics or plain decimal text.
 *
 * Shared by the aggregates (aging.c, kpi.c) and the penalty engine
 * (penalty.c).  Every operation that can overflow takes the caller's
 * overflow function, which raises the caller's own error (its message names
 * the aggregate or engine concerned) and does not return.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_DECIMAL128_H
#define AR_DECIMAL128_H

#include "fmgr.h"

#ifndef HAVE_INT128
#error "ar_collect needs a compiler with a 128-bit integer type"
#endif

/* 10^38 < 2^127 < 10^39: the largest scale an int128 can carry. */
#define DEC128_MAX_SCALE	38

/* Longest plain decimal text: sign, "0.", 39 digits, NUL. */
#define DEC128_BUFLEN		48

/* Raises an out-of-range error; never returns. */
typedef void (*Dec128Overflow) (void);

/* What a numeric Datum holds. */
typedef enum Dec128Kind
{
	DEC128_FINITE,
	DEC128_NAN,
	DEC128_PINF,
	DEC128_NINF
} Dec128Kind;

/* A finite numeric's fields, read in place (digits are unaligned int16). */
typedef struct Dec128Unpacked
{
	const char *digits;			/* base-10000, most significant first */
	int			ndigits;
	int			weight;			/* the first digit is worth 10000^weight */
	int			dscale;			/* display scale */
	bool		negative;
} Dec128Unpacked;

/*
 * The numeric on-disk format (PostgreSQL 10 and later; infinities since 14).
 * After the varlena header comes a uint16 header word whose two high bits
 * select the layout:
 *   00, 01   long format: 14 bits of display scale, then an int16 weight;
 *            01 means negative;
 *   10       short format: sign bit, 6 bits of display scale, 7 bits of
 *            two's-complement weight, all in the header word;
 *   11       special value (the next two bits: NaN, +Infinity, -Infinity).
 * Then come base-10000 digits (int16), most significant first.  Leading and
 * trailing zero digits are not stored, so zero has no digit at all, and
 * digits below the display scale are zero.
 */
#define DEC128_NUM_FLAG_MASK		0xC000
#define DEC128_NUM_FLAG_NEG			0x4000
#define DEC128_NUM_FLAG_SHORT		0x8000
#define DEC128_NUM_FLAG_SPECIAL		0xC000
#define DEC128_NUM_SPECIAL_MASK		0xF000
#define DEC128_NUM_SPECIAL_PINF		0xD000
#define DEC128_NUM_SPECIAL_NINF		0xF000
#define DEC128_NUM_LONG_DSCALE		0x3FFF
#define DEC128_NUM_SHORT_NEG		0x2000
#define DEC128_NUM_SHORT_DSCALE		0x1F80
#define DEC128_NUM_SHORT_DSCALE_SHIFT 7
#define DEC128_NUM_SHORT_WEIGHT_NEG	0x0040
#define DEC128_NUM_SHORT_WEIGHT		0x003F
#define DEC128_NBASE				10000
#define DEC128_DEC_DIGITS			4

/* Powers of ten that fit in a uint64 (0..18), for the per-row fast path. */
extern const uint64 dec128_pow10_u64[19];
#define DEC128_POW10_U64_MAX		18

extern int128 dec128_pow10(int exponent);
extern int128 dec128_scale_up(int128 value, int exponent, Dec128Overflow overflow);
extern int128 dec128_digits_value_slow(const char *digits, int ndigits, int shift,
									   Dec128Overflow overflow);
extern const char *dec128_kind_name(Dec128Kind kind);
extern void dec128_corrupt(void) pg_attribute_noreturn();
extern void dec128_format(int128 value, int scale, char *buf);
extern bool dec128_parse(const char **p, int max_scale, int128 *value, int *scale,
						 Dec128Overflow overflow);
extern Datum dec128_to_numeric(int128 value, int scale);

static inline int128
dec128_add(int128 a, int128 b, Dec128Overflow overflow)
{
	int128		result;

	if (unlikely(__builtin_add_overflow(a, b, &result)))
		overflow();
	return result;
}

static inline int128
dec128_sub(int128 a, int128 b, Dec128Overflow overflow)
{
	int128		result;

	if (unlikely(__builtin_sub_overflow(a, b, &result)))
		overflow();
	return result;
}

static inline int128
dec128_mul(int128 a, int128 b, Dec128Overflow overflow)
{
	int128		result;

	if (unlikely(__builtin_mul_overflow(a, b, &result)))
		overflow();
	return result;
}

/* Unaligned reads: a short-varlena numeric starts at an odd address. */
static inline uint16
dec128_read_uint16(const char *p)
{
	uint16		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline int16
dec128_read_int16(const char *p)
{
	int16		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Read the fields of a numeric Datum in place (packed short-header varlenas
 * included; only compressed or out-of-line values are detoasted), without
 * allocating.  Fills *n when the value is finite.  A numeric too short for
 * its header is corrupt data, an error.
 */
static inline Dec128Kind
dec128_unpack(Datum datum, Dec128Unpacked *n)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(datum);
	const char *data;
	int			len;
	uint16		header;
	int			hdrlen;

	if (unlikely(VARATT_IS_EXTERNAL(raw) || VARATT_IS_COMPRESSED(raw)))
		raw = PG_DETOAST_DATUM_PACKED(datum);
	data = VARDATA_ANY(raw);
	len = VARSIZE_ANY_EXHDR(raw);
	if (unlikely(len < (int) sizeof(uint16)))
		dec128_corrupt();
	header = dec128_read_uint16(data);
	if (unlikely((header & DEC128_NUM_FLAG_MASK) == DEC128_NUM_FLAG_SPECIAL))
	{
		switch (header & DEC128_NUM_SPECIAL_MASK)
		{
			case DEC128_NUM_SPECIAL_PINF:
				return DEC128_PINF;
			case DEC128_NUM_SPECIAL_NINF:
				return DEC128_NINF;
			default:
				return DEC128_NAN;
		}
	}
	if (header & DEC128_NUM_FLAG_SHORT)
	{
		hdrlen = sizeof(uint16);
		n->negative = (header & DEC128_NUM_SHORT_NEG) != 0;
		n->dscale = (header & DEC128_NUM_SHORT_DSCALE) >> DEC128_NUM_SHORT_DSCALE_SHIFT;
		n->weight = header & DEC128_NUM_SHORT_WEIGHT;
		if (header & DEC128_NUM_SHORT_WEIGHT_NEG)
			n->weight -= DEC128_NUM_SHORT_WEIGHT + 1;
	}
	else
	{
		hdrlen = sizeof(uint16) + sizeof(int16);
		if (unlikely(len < hdrlen))
			dec128_corrupt();
		n->negative = (header & DEC128_NUM_FLAG_MASK) == DEC128_NUM_FLAG_NEG;
		n->dscale = header & DEC128_NUM_LONG_DSCALE;
		n->weight = dec128_read_int16(data + sizeof(uint16));
	}
	n->digits = data + hdrlen;
	n->ndigits = (len - hdrlen) / (int) sizeof(int16);
	return DEC128_FINITE;
}

/*
 * The unpacked value times 10^scale, exactly (scale >= 0; digits below
 * scale, which PostgreSQL stores as zeros when scale >= dscale, are
 * dropped).  Amounts of up to 16 significant digits take the fast path: a
 * uint64 Horner loop and one 64x64->128 bit multiplication, no overflow
 * possible.
 */
static inline int128
dec128_value(const Dec128Unpacked *n, int scale, Dec128Overflow overflow)
{
	/*
	 * Digit i covers decimal places 4*(weight-i) .. 4*(weight-i)+3, so the
	 * last one reaching the scale is weight + (scale+3)/4.  The integer the
	 * digits form is the value times 10^(4*(used-1-weight)); shift brings it
	 * to 10^scale and is >= -3.
	 */
	int			ndigits = Min(n->ndigits, n->weight + (scale + 3) / DEC128_DEC_DIGITS + 1);
	int			shift;
	uint64		acc = 0;
	int128		value;

	if (ndigits <= 0)
		return 0;
	shift = scale - DEC128_DEC_DIGITS * (ndigits - 1 - n->weight);
	if (unlikely(ndigits > 4 || shift > DEC128_POW10_U64_MAX))
		value = dec128_digits_value_slow(n->digits, ndigits, shift, overflow);
	else
	{
		for (int i = 0; i < ndigits; i++)
			acc = acc * DEC128_NBASE + (uint16) dec128_read_int16(n->digits + i * sizeof(int16));
		/* constant divisors compile to multiplications */
		switch (shift)
		{
			case -3:
				value = (int128) (acc / 1000);
				break;
			case -2:
				value = (int128) (acc / 100);
				break;
			case -1:
				value = (int128) (acc / 10);
				break;
			default:
				value = (int128) ((uint128) acc * dec128_pow10_u64[shift]);
				break;
		}
	}
	return n->negative ? -value : value;
}

/*
 * A numeric Datum in cents, rounded half away from zero as round(x, 2) does
 * (it looks at the third decimal only), when it is finite and below 10^32
 * in magnitude; false otherwise.
 */
extern bool dec128_round_cents(Datum numeric, int128 *cents);

#endif							/* AR_DECIMAL128_H */
