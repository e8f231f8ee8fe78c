/*
 * identifier.c
 *		What ar.iban and ar.creditor_ref share: input normalisation, the
 *		ISO 7064 mod 97-10 check, and one set of output, binary send,
 *		comparison and hash functions.
 *
 * Both types are a varlena holding the compact upper-case identifier (ASCII
 * letters and digits only), so plain byte order is their sort order and the
 * SQL declares e.g. ar.iban_eq and ar.creditor_ref_eq on the same C symbol.
 */
#include "postgres.h"

#include <stdarg.h>

#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "identifier.h"

/* Longest raw value quoted in an error message, in bytes. */
#define IDENT_DISPLAY_MAX	64

static char ident_why_buf[256];

const char *
ident_why(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(ident_why_buf, sizeof(ident_why_buf), fmt, args);
	va_end(args);
	return ident_why_buf;
}

/*
 * The raw input for an error message.  A pasted document must not end up
 * whole in the server log, so long values are clipped on a character
 * boundary.
 */
const char *
ident_display(const char *raw)
{
	int			len = strlen(raw);
	int			clip;

	if (len <= IDENT_DISPLAY_MAX)
		return raw;
	clip = pg_mbcliplen(raw, len, IDENT_DISPLAY_MAX);
	return psprintf("%.*s...", clip, raw);
}

static inline bool
ident_is_separator(unsigned char c)
{
	return c == ' ' || c == '-' || c == '.';
}

/* ASCII only, whatever the locale: identifiers are never localised. */
static inline bool
ident_is_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * Says which input character is not allowed.  Every byte before it was
 * ASCII, so pos + 1 is also its character position.  A non-ASCII character
 * is quoted whole (never a lone byte of it); control characters are named.
 */
static const char *
ident_bad_char(const char *in, int pos)
{
	const char *p = in + pos;
	int			nbytes = 1;

	if ((unsigned char) *p < ' ' || *p == 0x7f)
		return ident_why("Character %d (a control character) is not a letter, a digit or a separator (space, \"-\", \".\").",
						 pos + 1);
	if (IS_HIGHBIT_SET(*p))
	{
		/* Trust the encoding for the length, but never step over the end. */
		int			mblen = pg_mblen(p);

		while (nbytes < mblen && p[nbytes] != '\0')
			nbytes++;
	}
	return ident_why("Character %d (\"%.*s\") is not a letter, a digit or a separator (space, \"-\", \".\").",
					 pos + 1, nbytes, p);
}

int
ident_normalise(const char *in, char *out, int maxlen, const char **why)
{
	int			n = 0;
	int			pos;

	for (pos = 0; in[pos] != '\0'; pos++)
	{
		unsigned char c = (unsigned char) in[pos];

		if (ident_is_separator(c))
			continue;
		if (c >= 'a' && c <= 'z')
			c = c - 'a' + 'A';
		if (!ident_is_alnum(c))
		{
			*why = ident_bad_char(in, pos);
			return -1;
		}
		/* Count everything, copy only what fits. */
		if (n < maxlen)
			out[n] = (char) c;
		n++;
	}
	out[Min(n, maxlen)] = '\0';
	return n;
}

/*
 * Digits shift the remainder by 10, letters (two digits, 10..35) by 100;
 * the remainder stays below 97, so an int never overflows.
 */
int
ident_mod97(int remainder, const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		Assert(ident_is_alnum(c));
		if (c <= '9')
			remainder = (remainder * 10 + (c - '0')) % 97;
		else
			remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
	}
	return remainder;
}

bool
ident_check_digits_ok(const char *s, int len, const char **why)
{
	int			check;
	int			remainder;

	Assert(len > 4);
	if (s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9')
	{
		*why = ident_why("Characters 3 and 4 (\"%.2s\") are the check digits and must be digits.",
						 s + 2);
		return false;
	}

	/*
	 * 98 - (n mod 97) is always in 02..98; 00, 01 and 99 would pass the mod
	 * 97 test as aliases of 97, 98 and 02 but are never issued.
	 */
	check = (s[2] - '0') * 10 + (s[3] - '0');
	if (check < 2 || check > 98)
	{
		*why = ident_why("Check digits \"%.2s\" are impossible: they are always between 02 and 98.",
						 s + 2);
		return false;
	}

	/* Move the first four characters to the end, as ISO 7064 wants. */
	remainder = ident_mod97(0, s + 4, len - 4);
	remainder = ident_mod97(remainder, s, 4);
	if (remainder != 1)
	{
		*why = ident_why("Check digits \"%.2s\" do not match the rest (mod 97 check failed).",
						 s + 2);
		return false;
	}
	return true;
}

struct varlena *
ident_make(const char *s, int len)
{
	struct varlena *result = (struct varlena *) palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), s, len);
	return result;
}

Datum
ident_input(const char *raw, ident_parser parse, const char *what)
{
	char		buf[IDENT_MAX_LEN + 1];
	const char *why;

	if (!parse(raw, buf, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %s: \"%s\"", what, ident_display(raw)),
				 errdetail("%s", why)));
	return PointerGetDatum(ident_make(buf, strlen(buf)));
}

Datum
ident_recv(StringInfo buf, ident_parser parse, const char *what)
{
	int			nbytes;

	/* Converts to the server encoding and rejects bytes such as NUL. */
	return ident_input(pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes),
					   parse, what);
}

/*
 * Output and binary send, shared by both types.  The binary form is the
 * compact text itself; receive functions validate it like text input.
 */
PG_FUNCTION_INFO_V1(ar_ident_out);
Datum
ar_ident_out(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_CSTRING(pnstrdup(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)));
}

PG_FUNCTION_INFO_V1(ar_ident_send);
Datum
ar_ident_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendtext(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Paper format: groups of four characters separated by a space. */
PG_FUNCTION_INFO_V1(ar_ident_format);
Datum
ar_ident_format(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	const char *s = VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	char	   *buf = palloc(len + len / 4 + 1);
	int			n = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		if (i > 0 && i % 4 == 0)
			buf[n++] = ' ';
		buf[n++] = s[i];
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, n));
}

/* Byte order: the values are upper-case ASCII, no collation applies. */
static int
ident_compare(FunctionCallInfo fcinfo)
{
	struct varlena *a = PG_GETARG_VARLENA_PP(0);
	struct varlena *b = PG_GETARG_VARLENA_PP(1);
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			result;

	result = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));
	if (result == 0)
		result = la - lb;

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return result;
}

PG_FUNCTION_INFO_V1(ar_ident_eq);
Datum
ar_ident_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) == 0);
}

PG_FUNCTION_INFO_V1(ar_ident_ne);
Datum
ar_ident_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) != 0);
}

PG_FUNCTION_INFO_V1(ar_ident_lt);
Datum
ar_ident_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(ar_ident_le);
Datum
ar_ident_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(ar_ident_gt);
Datum
ar_ident_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) > 0);
}

PG_FUNCTION_INFO_V1(ar_ident_ge);
Datum
ar_ident_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ident_compare(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(ar_ident_cmp);
Datum
ar_ident_cmp(PG_FUNCTION_ARGS)
{
	int			result = ident_compare(fcinfo);

	PG_RETURN_INT32((result > 0) - (result < 0));
}

/* Equal values are byte-identical, so hashing the bytes is consistent. */
PG_FUNCTION_INFO_V1(ar_ident_hash);
Datum
ar_ident_hash(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	Datum		result;

	result = hash_any((const unsigned char *) VARDATA_ANY(v),
					  VARSIZE_ANY_EXHDR(v));
	PG_FREE_IF_COPY(v, 0);
	return result;
}

PG_FUNCTION_INFO_V1(ar_ident_hash_extended);
Datum
ar_ident_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	Datum		result;

	result = hash_any_extended((const unsigned char *) VARDATA_ANY(v),
							   VARSIZE_ANY_EXHDR(v),
							   PG_GETARG_INT64(1));
	PG_FREE_IF_COPY(v, 0);
	return result;
}
