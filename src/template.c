/*-------------------------------------------------------------------------
 *
 * template.c
 *		ar.render_template(template text, names text[], vals text[]):
 *		fills the {{name}} placeholders of a dunning message template.
 *
 * ar.run_dunning renders every notice it queues at queue time, possibly a
 * hundred thousand of them in one run, so the renderer makes one pass over
 * the template instead of one replace() per placeholder.
 *
 * Rules:
 * - a placeholder is "{{", one to 63 characters from [a-z0-9_], "}}";
 * - a placeholder whose name is in names is replaced by the value at the
 *   same position of vals (a NULL value by the empty string);
 * - anything else, including an unknown name or an unclosed "{{", is copied
 *   as it is (templates are validated against the known names when they are
 *   stored, see ar.dunning_template);
 * - a NULL template gives NULL; names and vals must be one-dimensional
 *   arrays of the same length, names without NULLs.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define TEMPLATE_MAX_NAME	63

PG_FUNCTION_INFO_V1(ar_render_template);

/* One-dimensional text array as C strings (NULL for NULL elements). */
static int
text_array_to_cstrings(ArrayType *array, const char *what, char ***strings)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int			i;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array, not %d-dimensional", what, ARR_NDIM(array))));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
	*strings = palloc(sizeof(char *) * Max(count, 1));
	for (i = 0; i < count; i++)
		(*strings)[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return count;
}

/*
 * Length of the placeholder name starting at p (just after "{{") when it is
 * followed by "}}" before end, else -1.
 */
static int
placeholder_name_length(const char *p, const char *end)
{
	int			len = 0;

	while (p + len < end && len <= TEMPLATE_MAX_NAME)
	{
		char		c = p[len];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
		{
			len++;
			continue;
		}
		if (c == '}' && len > 0 && p + len + 1 < end && p[len + 1] == '}')
			return len;
		return -1;
	}
	return -1;
}

Datum
ar_render_template(PG_FUNCTION_ARGS)
{
	text	   *template;
	char	  **names;
	char	  **values;
	int			nnames;
	int			nvalues;
	int		   *name_lengths;
	const char *p;
	const char *end;
	StringInfoData out;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("placeholder names and values must not be NULL")));

	template = PG_GETARG_TEXT_PP(0);
	nnames = text_array_to_cstrings(PG_GETARG_ARRAYTYPE_P(1), "names", &names);
	nvalues = text_array_to_cstrings(PG_GETARG_ARRAYTYPE_P(2), "vals", &values);
	if (nnames != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d placeholder names but %d values", nnames, nvalues)));
	name_lengths = palloc(sizeof(int) * Max(nnames, 1));
	for (i = 0; i < nnames; i++)
	{
		if (names[i] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("placeholder name %d is NULL", i + 1)));
		name_lengths[i] = strlen(names[i]);
	}

	p = VARDATA_ANY(template);
	end = p + VARSIZE_ANY_EXHDR(template);
	initStringInfo(&out);
	while (p < end)
	{
		const char *open = NULL;
		const char *q;
		int			len;

		/* copy up to the next "{{" */
		for (q = p; q + 1 < end; q++)
		{
			if (q[0] == '{' && q[1] == '{')
			{
				open = q;
				break;
			}
		}
		if (open == NULL)
		{
			appendBinaryStringInfo(&out, p, end - p);
			break;
		}
		appendBinaryStringInfo(&out, p, open - p);
		len = placeholder_name_length(open + 2, end);
		if (len > 0)
		{
			for (i = 0; i < nnames; i++)
			{
				if (name_lengths[i] == len && memcmp(names[i], open + 2, len) == 0)
					break;
			}
			if (i < nnames)
			{
				if (values[i] != NULL)
					appendStringInfoString(&out, values[i]);
				p = open + 2 + len + 2;
				continue;
			}
		}
		/* not a known placeholder: keep one brace, look again after it */
		appendStringInfoChar(&out, '{');
		p = open + 1;
	}

	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
