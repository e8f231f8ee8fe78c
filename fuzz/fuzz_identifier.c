/*
 * fuzz_identifier.c
 *		libFuzzer target for the input functions of ar.iban and
 *		ar.creditor_ref (ar_iban_in, ar_creditor_ref_in, as the server calls
 *		them), the non-throwing parsers behind them and
 *		creditor_ref_make (ar.make_creditor_ref).
 *
 * Accepted values must come back compact, upper case, of a legal length,
 * and be accepted again (idempotent); everything else must be a clean
 * ERROR.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"

#include "identifier.h"
#include "pg_shim.h"

extern Datum ar_iban_in(PG_FUNCTION_ARGS);
extern Datum ar_creditor_ref_in(PG_FUNCTION_ARGS);

static void
check(bool ok, const char *what)
{
	if (!ok)
	{
		fprintf(stderr, "fuzz_identifier: broken invariant: %s\n", what);
		abort();
	}
}

static void
check_compact(const char *s, int maxlen, bool (*parse) (const char *, char *, const char **))
{
	char		again[IDENT_MAX_LEN + 1];
	const char *why;
	int			n = strlen(s);
	int			i;

	check(n >= 5 && n <= maxlen, "length");
	for (i = 0; i < n; i++)
		check((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'), "compact form");
	check(parse(s, again, &why) && strcmp(again, s) == 0, "idempotent");
}

/* Calls a type input function like the server does; true when accepted. */
static bool
call_input(PGFunction fn, const char *in)
{
	LOCAL_FCINFO(fcinfo, 1);
	volatile bool ok = false;

	fcinfo->flinfo = NULL;
	fcinfo->context = NULL;
	fcinfo->resultinfo = NULL;
	fcinfo->fncollation = InvalidOid;
	fcinfo->isnull = false;
	fcinfo->nargs = 1;
	fcinfo->args[0].value = CStringGetDatum(in);
	fcinfo->args[0].isnull = false;
	PG_TRY();
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(fn(fcinfo));

		check(VARSIZE(v) - VARHDRSZ <= IDENT_MAX_LEN, "datum length");
		ok = true;
	}
	PG_CATCH();
	{
	}
	PG_END_TRY();
	return ok;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in;
	char		out[IDENT_MAX_LEN + 1];
	const char *why;
	bool		iban_ok;
	bool		ref_ok;

	if (size > 4096)
		return 0;
	/* a C string, as the server passes text input: no NUL inside */
	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';

	iban_ok = iban_parse(in, out, &why);
	if (iban_ok)
		check_compact(out, IBAN_MAX_LEN, iban_parse);
	check(call_input(ar_iban_in, in) == iban_ok, "ar_iban_in agrees with iban_parse");

	ref_ok = creditor_ref_parse(in, out, &why);
	if (ref_ok)
		check_compact(out, CREDITOR_REF_MAX_LEN, creditor_ref_parse);
	check(call_input(ar_creditor_ref_in, in) == ref_ok, "ar_creditor_ref_in agrees");

	if (creditor_ref_make(in, out, &why))
		check_compact(out, CREDITOR_REF_MAX_LEN, creditor_ref_parse);

	shim_free_all();
	free(in);
	return 0;
}
