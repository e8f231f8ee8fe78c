/*
 * creditor_ref.c
 *		The ar.creditor_ref type: an ISO 11649 structured creditor reference
 *		("RF" + 2 check digits + 1 to 21 letters or digits, mod 97), and
 *		ar.make_creditor_ref() that builds one from a payload such as an
 *		invoice number.
 *
 * Same input rules and storage as ar.iban; output, send, comparison and
 * hash functions are shared (identifier.c).
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "identifier.h"

bool
creditor_ref_parse(const char *in, char *out, const char **why)
{
	int			len = ident_normalise(in, out, CREDITOR_REF_MAX_LEN, why);

	if (len < 0)
		return false;
	if (len == 0)
	{
		*why = "The value is empty.";
		return false;
	}
	if (len < 2 || out[0] != 'R' || out[1] != 'F')
	{
		*why = "A creditor reference starts with \"RF\".";
		return false;
	}
	if (len < 5 || len > CREDITOR_REF_MAX_LEN)
	{
		*why = ident_why("A creditor reference has 5 to %d characters, not %d.",
						 CREDITOR_REF_MAX_LEN, len);
		return false;
	}
	return ident_check_digits_ok(out, len, why);
}

bool
creditor_ref_make(const char *payload, char *out, const char **why)
{
	char		compact[CREDITOR_REF_PAYLOAD_MAX + 1];
	int			len;
	int			remainder;

	len = ident_normalise(payload, compact, CREDITOR_REF_PAYLOAD_MAX, why);
	if (len < 0)
		return false;
	if (len == 0)
	{
		*why = "The payload is empty.";
		return false;
	}
	if (len > CREDITOR_REF_PAYLOAD_MAX)
	{
		*why = ident_why("A payload has at most %d letters or digits, not %d.",
						 CREDITOR_REF_PAYLOAD_MAX, len);
		return false;
	}

	/* Check digits = 98 - (payload || "RF00" mod 97), ISO 11649. */
	remainder = ident_mod97(0, compact, len);
	remainder = ident_mod97(remainder, "RF00", 4);
	snprintf(out, CREDITOR_REF_MAX_LEN + 1, "RF%02d%s", 98 - remainder, compact);
	return true;
}

PG_FUNCTION_INFO_V1(ar_creditor_ref_in);
Datum
ar_creditor_ref_in(PG_FUNCTION_ARGS)
{
	return ident_input(PG_GETARG_CSTRING(0), creditor_ref_parse, "creditor reference");
}

PG_FUNCTION_INFO_V1(ar_creditor_ref_recv);
Datum
ar_creditor_ref_recv(PG_FUNCTION_ARGS)
{
	return ident_recv((StringInfo) PG_GETARG_POINTER(0), creditor_ref_parse, "creditor reference");
}

PG_FUNCTION_INFO_V1(ar_make_creditor_ref);
Datum
ar_make_creditor_ref(PG_FUNCTION_ARGS)
{
	char	   *payload = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		buf[CREDITOR_REF_MAX_LEN + 1];
	const char *why;

	if (!creditor_ref_make(payload, buf, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid creditor reference payload: \"%s\"",
						ident_display(payload)),
				 errdetail("%s", why)));
	PG_RETURN_POINTER(ident_make(buf, strlen(buf)));
}

PG_FUNCTION_INFO_V1(ar_is_valid_creditor_ref);
Datum
ar_is_valid_creditor_ref(PG_FUNCTION_ARGS)
{
	char	   *raw = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		buf[CREDITOR_REF_MAX_LEN + 1];
	const char *why;

	PG_RETURN_BOOL(creditor_ref_parse(raw, buf, &why));
}
