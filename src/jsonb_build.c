/*-------------------------------------------------------------------------
 *
 * jsonb_build.c
 *	  A jsonb value from JSON text the library wrote itself, without
 *	  jsonb_in's general lexer.
 *
 * ar.reconcile() explains each of its decisions as a JSON object it writes
 * (rc_explain): a hundred thousand of them went through jsonb_in (`::jsonb`
 * in the insert of the decisions), whose lexer copies each string character
 * by character through callbacks, then pushJsonbValue sorts each object's
 * keys with qsort.  This reads the same text with a small recursive descent
 * into the tree that pushJsonbValue would have built (numbers through
 * numeric_in on the same digits, each object's keys in jsonb's order) and
 * hands it to JsonbValueToJsonb: the same jsonb, byte for byte.  It takes
 * only what that output contains: objects and arrays at the top, plain
 * JSON numbers, strings whose escapes are \" \\ \/ \b \f \n \r \t, true,
 * false and null.  Anything else (a
 * \u escape, a key twice in an object, a scalar at the top, a syntax
 * error, deep nesting) goes to jsonb_in itself, which gives its result or
 * its error.
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
} FastJson;

static JsonbValue *fj_value(FastJson *fj, int depth);

static inline void
fj_space(FastJson *fj)
{
	while (*fj->p == ' ' || *fj->p == '\t' || *fj->p == '\n' || *fj->p == '\r')
		fj->p++;
}

/*
 * A string at fj->p (its opening quote); false on anything unexpected.  A
 * string without escapes points into the text (which outlives the jsonb
 * built from it): a jsonb string has a length, no terminator.
 */
static bool
fj_string(FastJson *fj, JsonbValue *v)
{
	const char *s = fj->p + 1;
	const char *e = s;
	bool		escaped = false;
	char	   *out;
	int			n = 0;

	while (*e != '"')
	{
		if (*e == '\0' || (unsigned char) *e < 0x20)
			return false;
		if (*e == '\\')
		{
			escaped = true;
			e++;
			if (*e == '\0')
				return false;
		}
		e++;
	}
	if (e - s > JENTRY_OFFLENMASK)
		return false;
	v->type = jbvString;
	fj->p = e + 1;
	if (!escaped)
	{
		v->val.string.val = (char *) s;
		v->val.string.len = e - s;
		return true;
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
	v->val.string.val = out;
	v->val.string.len = n;
	return true;
}

static inline bool
fj_after_scalar(char c)
{
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
fj_number(FastJson *fj, JsonbValue *v)
{
	const char *s = fj->p;
	const char *c = s;
	char		token[64];

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
	if (!fj_after_scalar(*c) || c - s >= (int) sizeof(token))
		return false;
	memcpy(token, s, c - s);
	token[c - s] = '\0';
	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(token),
														 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	fj->p = c;
	return true;
}

static bool
fj_literal(FastJson *fj, const char *word, JsonbValue *v)
{
	size_t		len = strlen(word);

	if (strncmp(fj->p, word, len) != 0 || !fj_after_scalar(fj->p[len]))
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

/* jsonb's order of keys (lengthCompareJsonbStringValue): length, then bytes */
static inline int
fj_key_cmp(const JsonbValue *a, const JsonbValue *b)
{
	if (a->val.string.len != b->val.string.len)
		return a->val.string.len > b->val.string.len ? 1 : -1;
	return memcmp(a->val.string.val, b->val.string.val, a->val.string.len);
}

/*
 * An object or array at fj->p, as the in-memory tree JsonbValueToJsonb
 * takes (what pushJsonbValue builds): an object's pairs sorted in jsonb's
 * key order, here by insertion (a dozen keys), instead of pushJsonbValue's
 * qsort; a key twice goes to jsonb_in (which keeps the last).
 */
static JsonbValue *
fj_container(FastJson *fj, int depth)
{
	bool		object = *fj->p == '{';
	char		close = object ? '}' : ']';
	JsonbValue *res = palloc(sizeof(JsonbValue));
	int			cap = 8;
	int			n = 0;
	JsonbPair  *pairs = NULL;
	JsonbValue *elems = NULL;

	if (depth >= FJ_MAX_DEPTH)
		return NULL;
	if (object)
		pairs = palloc(sizeof(JsonbPair) * cap);
	else
		elems = palloc(sizeof(JsonbValue) * cap);
	fj->p++;
	fj_space(fj);
	while (*fj->p != close)
	{
		JsonbValue *v;

		if (n > 0)
		{
			if (*fj->p != ',')
				return NULL;
			fj->p++;
			fj_space(fj);
		}
		if (n == cap)
		{
			cap *= 2;
			if (object)
				pairs = repalloc(pairs, sizeof(JsonbPair) * cap);
			else
				elems = repalloc(elems, sizeof(JsonbValue) * cap);
		}
		if (object)
		{
			JsonbPair	pair;
			int			k;

			if (*fj->p != '"' || !fj_string(fj, &pair.key))
				return NULL;
			fj_space(fj);
			if (*fj->p != ':')
				return NULL;
			fj->p++;
			if ((v = fj_value(fj, depth + 1)) == NULL)
				return NULL;
			pair.value = *v;
			pair.order = n;
			for (k = n; k > 0; k--)
			{
				int			cmp = fj_key_cmp(&pairs[k - 1].key, &pair.key);

				if (cmp == 0)
					return NULL;
				if (cmp < 0)
					break;
				pairs[k] = pairs[k - 1];
			}
			pairs[k] = pair;
		}
		else
		{
			if ((v = fj_value(fj, depth + 1)) == NULL)
				return NULL;
			elems[n] = *v;
		}
		n++;
		fj_space(fj);
	}
	fj->p++;
	if (object)
	{
		res->type = jbvObject;
		res->val.object.nPairs = n;
		res->val.object.pairs = pairs;
	}
	else
	{
		res->type = jbvArray;
		res->val.array.nElems = n;
		res->val.array.elems = elems;
		res->val.array.rawScalar = false;
	}
	return res;
}

/* One value at fj->p, or NULL on anything unexpected. */
static JsonbValue *
fj_value(FastJson *fj, int depth)
{
	JsonbValue *v;
	bool		ok;

	fj_space(fj);
	if (*fj->p == '{' || *fj->p == '[')
		return fj_container(fj, depth);
	if (depth == 0)
		return NULL;			/* a scalar at the top: jsonb_in */
	v = palloc(sizeof(JsonbValue));
	switch (*fj->p)
	{
		case '"':
			ok = fj_string(fj, v);
			break;
		case 't':
			ok = fj_literal(fj, "true", v);
			break;
		case 'f':
			ok = fj_literal(fj, "false", v);
			break;
		case 'n':
			ok = fj_literal(fj, "null", v);
			break;
		default:
			ok = fj_number(fj, v);
			break;
	}
	return ok ? v : NULL;
}

/* The jsonb of JSON text, as jsonb_in would make it. */
Datum
rc_jsonb_from_text(const char *text)
{
	FastJson	fj = {.p = text};
	JsonbValue *root = fj_value(&fj, 0);

	if (root != NULL)
	{
		fj_space(&fj);
		if (*fj.p == '\0')
			return JsonbPGetDatum(JsonbValueToJsonb(root));
	}
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}
