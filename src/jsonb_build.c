/*-------------------------------------------------------------------------
 *
 * jsonb_build.c
 *	  A jsonb value from JSON text the library wrote itself, without
 *	  jsonb_in's general lexer.
 *
 * ar.reconcile() explains each of its decisions as a JSON object it writes
 * (rc_explain): a hundred thousand of them went through jsonb_in (`::jsonb`
 * in the insert of the decisions), whose lexer copies each string character
 * by character through callbacks.  This reads the same text with a small
 * recursive descent and pushes the same sequence of values to
 * pushJsonbValue, the way jsonb_in does (numbers through numeric_in on the
 * same digits, keys made unique by pushJsonbValue, the last one kept): the
 * same jsonb, byte for byte.  It takes only what that output contains:
 * objects and arrays at the top, plain JSON numbers, strings whose escapes
 * are \" \\ \/ \b \f \n \r \t, true, false and null.  Anything else (a
 * \u escape, a scalar at the top, a syntax error, nesting deeper than
 * jsonb_in would take without a stack check) goes to jsonb_in itself, which
 * gives its result or its error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "reconcile.h"

#define FJ_MAX_DEPTH 64

typedef struct FastJson
{
	const char *p;
	JsonbParseState *state;
	JsonbValue *result;
} FastJson;

static bool fj_value(FastJson *fj, JsonbIteratorToken as, int depth);

static inline void
fj_space(FastJson *fj)
{
	while (*fj->p == ' ' || *fj->p == '\t' || *fj->p == '\n' || *fj->p == '\r')
		fj->p++;
}

/* A string at fj->p (its opening quote); false on anything unexpected. */
static bool
fj_string(FastJson *fj, JsonbValue *v)
{
	const char *s = fj->p + 1;
	const char *e = s;
	char	   *out;
	int			n = 0;

	while (*e != '"')
	{
		if (*e == '\0' || (unsigned char) *e < 0x20)
			return false;
		if (*e == '\\')
		{
			e++;
			if (*e == '\0')
				return false;
		}
		e++;
	}
	out = palloc(e - s + 1);
	for (const char *c = s; c < e; c++)
	{
		if (*c != '\\')
		{
			out[n++] = *c;
			continue;
		}
		switch (*++c)
		{
			case '"':
			case '\\':
			case '/':
				out[n++] = *c;
				break;
			case 'b':
				out[n++] = '\b';
				break;
			case 'f':
				out[n++] = '\f';
				break;
			case 'n':
				out[n++] = '\n';
				break;
			case 'r':
				out[n++] = '\r';
				break;
			case 't':
				out[n++] = '\t';
				break;
			default:			/* \u and anything else: jsonb_in */
				pfree(out);
				return false;
		}
	}
	out[n] = '\0';
	if (n > JENTRY_OFFLENMASK)
		return false;
	v->type = jbvString;
	v->val.string.val = out;
	v->val.string.len = n;
	fj->p = e + 1;
	return true;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
fj_number(FastJson *fj, JsonbValue *v)
{
	const char *s = fj->p;
	const char *c = s;
	char	   *token;

	if (*c == '-')
		c++;
	if (*c == '0')
		c++;
	else if (*c >= '1' && *c <= '9')
		while (*c >= '0' && *c <= '9')
			c++;
	else
		return false;
	if (*c == '.')
	{
		c++;
		if (!(*c >= '0' && *c <= '9'))
			return false;
		while (*c >= '0' && *c <= '9')
			c++;
	}
	if (*c == 'e' || *c == 'E')
	{
		c++;
		if (*c == '+' || *c == '-')
			c++;
		if (!(*c >= '0' && *c <= '9'))
			return false;
		while (*c >= '0' && *c <= '9')
			c++;
	}
	/* what follows a number in valid JSON */
	if (!(*c == ',' || *c == '}' || *c == ']' || *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r'))
		return false;
	token = pnstrdup(s, c - s);
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(token),
														 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	pfree(token);
	fj->p = c;
	return true;
}

static bool
fj_literal(FastJson *fj, const char *word, JsonbValue *v)
{
	size_t		len = strlen(word);
	char		next;

	if (strncmp(fj->p, word, len) != 0)
		return false;
	next = fj->p[len];
	if (!(next == ',' || next == '}' || next == ']' || next == ' ' || next == '\t' || next == '\n' || next == '\r'))
		return false;
	fj->p += len;
	if (word[0] == 'n')
		v->type = jbvNull;
	else
	{
		v->type = jbvBool;
		v->val.boolean = word[0] == 't';
	}
	return true;
}

/* One value, pushed as "as" (WJB_VALUE in an object, WJB_ELEM in an array). */
static bool
fj_value(FastJson *fj, JsonbIteratorToken as, int depth)
{
	JsonbValue	v;
	bool		ok;

	fj_space(fj);
	if (*fj->p == '{' || *fj->p == '[')
	{
		bool		object = *fj->p == '{';
		char		close = object ? '}' : ']';
		bool		first = true;

		if (depth >= FJ_MAX_DEPTH)
			return false;
		fj->result = pushJsonbValue(&fj->state, object ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, NULL);
		fj->p++;
		fj_space(fj);
		while (*fj->p != close)
		{
			if (!first)
			{
				if (*fj->p != ',')
					return false;
				fj->p++;
				fj_space(fj);
			}
			first = false;
			if (object)
			{
				JsonbValue	key;

				if (*fj->p != '"' || !fj_string(fj, &key))
					return false;
				fj->result = pushJsonbValue(&fj->state, WJB_KEY, &key);
				fj_space(fj);
				if (*fj->p != ':')
					return false;
				fj->p++;
			}
			if (!fj_value(fj, object ? WJB_VALUE : WJB_ELEM, depth + 1))
				return false;
			fj_space(fj);
		}
		fj->p++;
		fj->result = pushJsonbValue(&fj->state, object ? WJB_END_OBJECT : WJB_END_ARRAY, NULL);
		return true;
	}
	if (depth == 0)
		return false;			/* a scalar at the top: jsonb_in */
	switch (*fj->p)
	{
		case '"':
			ok = fj_string(fj, &v);
			break;
		case 't':
			ok = fj_literal(fj, "true", &v);
			break;
		case 'f':
			ok = fj_literal(fj, "false", &v);
			break;
		case 'n':
			ok = fj_literal(fj, "null", &v);
			break;
		default:
			ok = fj_number(fj, &v);
			break;
	}
	if (!ok)
		return false;
	fj->result = pushJsonbValue(&fj->state, as, &v);
	return true;
}

/* The jsonb of JSON text, as jsonb_in would make it. */
Datum
rc_jsonb_from_text(const char *text)
{
	FastJson	fj = {.p = text};

	if (fj_value(&fj, WJB_ELEM, 0))
	{
		fj_space(&fj);
		if (*fj.p == '\0' && fj.result != NULL)
			return JsonbPGetDatum(JsonbValueToJsonb(fj.result));
	}
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}
