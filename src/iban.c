/*
 * iban.c
 *		The ar.iban type: an IBAN (ISO 13616) checked against the SWIFT IBAN
 *		registry (country, length, BBAN character format) and mod 97.
 *
 * Input accepts spaces, '-' and '.' and lower case; the value is stored
 * and printed compact and upper case.  Output, send, comparison and hash
 * functions are shared with ar.creditor_ref (identifier.c).
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "identifier.h"

/*
 * One country of the SWIFT IBAN registry.  "bban" uses the registry's
 * notation: "5!n" = exactly 5 digits, "a" = upper-case letters,
 * "c" = letters or digits.  "length" is the whole IBAN: 4 + the BBAN.
 */
typedef struct IbanCountry
{
	char		code[3];
	int			length;
	const char *bban;
} IbanCountry;

/* Sorted by code, for bsearch. */
static const IbanCountry iban_countries[] = {
	{"AD", 24, "4!n4!n12!c"},	/* Andorra */
	{"AE", 23, "3!n16!n"},		/* United Arab Emirates */
	{"AL", 28, "8!n16!c"},		/* Albania */
	{"AT", 20, "5!n11!n"},		/* Austria */
	{"AZ", 28, "4!a20!c"},		/* Azerbaijan */
	{"BA", 20, "3!n3!n8!n2!n"}, /* Bosnia and Herzegovina */
	{"BE", 16, "3!n7!n2!n"},	/* Belgium */
	{"BG", 22, "4!a4!n2!n8!c"}, /* Bulgaria */
	{"BH", 22, "4!a14!c"},		/* Bahrain */
	{"BI", 27, "5!n5!n11!n2!n"},	/* Burundi */
	{"BR", 29, "8!n5!n10!n1!a1!c"}, /* Brazil */
	{"BY", 28, "4!c4!n16!c"},	/* Belarus */
	{"CH", 21, "5!n12!c"},		/* Switzerland */
	{"CR", 22, "4!n14!n"},		/* Costa Rica */
	{"CY", 28, "3!n5!n16!c"},	/* Cyprus */
	{"CZ", 24, "4!n6!n10!n"},	/* Czechia */
	{"DE", 22, "8!n10!n"},		/* Germany */
	{"DJ", 27, "5!n5!n11!n2!n"},	/* Djibouti */
	{"DK", 18, "4!n9!n1!n"},	/* Denmark */
	{"DO", 28, "4!c20!n"},		/* Dominican Republic */
	{"EE", 20, "2!n2!n11!n1!n"},	/* Estonia */
	{"EG", 29, "4!n4!n17!n"},	/* Egypt */
	{"ES", 24, "4!n4!n1!n1!n10!n"}, /* Spain */
	{"FI", 18, "3!n11!n"},		/* Finland */
	{"FK", 18, "2!a12!n"},		/* Falkland Islands */
	{"FO", 18, "4!n9!n1!n"},	/* Faroe Islands */
	{"FR", 27, "5!n5!n11!c2!n"},	/* France */
	{"GB", 22, "4!a6!n8!n"},	/* United Kingdom */
	{"GE", 22, "2!a16!n"},		/* Georgia */
	{"GI", 23, "4!a15!c"},		/* Gibraltar */
	{"GL", 18, "4!n9!n1!n"},	/* Greenland */
	{"GR", 27, "3!n4!n16!c"},	/* Greece */
	{"GT", 28, "4!c20!c"},		/* Guatemala */
	{"HN", 28, "4!a20!n"},		/* Honduras */
	{"HR", 21, "7!n10!n"},		/* Croatia */
	{"HU", 28, "3!n4!n1!n15!n1!n"}, /* Hungary */
	{"IE", 22, "4!a6!n8!n"},	/* Ireland */
	{"IL", 23, "3!n3!n13!n"},	/* Israel */
	{"IQ", 23, "4!a3!n12!n"},	/* Iraq */
	{"IS", 26, "4!n2!n6!n10!n"},	/* Iceland */
	{"IT", 27, "1!a5!n5!n12!c"},	/* Italy */
	{"JO", 30, "4!a4!n18!c"},	/* Jordan */
	{"KW", 30, "4!a22!c"},		/* Kuwait */
	{"KZ", 20, "3!n13!c"},		/* Kazakhstan */
	{"LB", 28, "4!n20!c"},		/* Lebanon */
	{"LC", 32, "4!a24!c"},		/* Saint Lucia */
	{"LI", 21, "5!n12!c"},		/* Liechtenstein */
	{"LT", 20, "5!n11!n"},		/* Lithuania */
	{"LU", 20, "3!n13!c"},		/* Luxembourg */
	{"LV", 21, "4!a13!c"},		/* Latvia */
	{"LY", 25, "3!n3!n15!n"},	/* Libya */
	{"MC", 27, "5!n5!n11!c2!n"},	/* Monaco */
	{"MD", 24, "2!c18!c"},		/* Moldova */
	{"ME", 22, "3!n13!n2!n"},	/* Montenegro */
	{"MK", 19, "3!n10!c2!n"},	/* North Macedonia */
	{"MN", 20, "4!n12!n"},		/* Mongolia */
	{"MR", 27, "5!n5!n11!n2!n"},	/* Mauritania */
	{"MT", 31, "4!a5!n18!c"},	/* Malta */
	{"MU", 30, "4!a2!n2!n12!n3!n3!a"},	/* Mauritius */
	{"NI", 28, "4!a20!n"},		/* Nicaragua */
	{"NL", 18, "4!a10!n"},		/* Netherlands */
	{"NO", 15, "4!n6!n1!n"},	/* Norway */
	{"OM", 23, "3!n16!c"},		/* Oman */
	{"PK", 24, "4!a16!c"},		/* Pakistan */
	{"PL", 28, "8!n16!n"},		/* Poland */
	{"PS", 29, "4!a21!c"},		/* Palestine */
	{"PT", 25, "4!n4!n11!n2!n"},	/* Portugal */
	{"QA", 29, "4!a21!c"},		/* Qatar */
	{"RO", 24, "4!a16!c"},		/* Romania */
	{"RS", 22, "3!n13!n2!n"},	/* Serbia */
	{"RU", 33, "9!n5!n15!c"},	/* Russia */
	{"SA", 24, "2!n18!c"},		/* Saudi Arabia */
	{"SC", 31, "4!a2!n2!n16!n3!a"}, /* Seychelles */
	{"SD", 18, "2!n12!n"},		/* Sudan */
	{"SE", 24, "3!n16!n1!n"},	/* Sweden */
	{"SI", 19, "5!n8!n2!n"},	/* Slovenia */
	{"SK", 24, "4!n6!n10!n"},	/* Slovakia */
	{"SM", 27, "1!a5!n5!n12!c"},	/* San Marino */
	{"SO", 23, "4!n3!n12!n"},	/* Somalia */
	{"ST", 25, "4!n4!n11!n2!n"},	/* Sao Tome and Principe */
	{"SV", 28, "4!a20!n"},		/* El Salvador */
	{"TL", 23, "3!n14!n2!n"},	/* Timor-Leste */
	{"TN", 24, "2!n3!n13!n2!n"},	/* Tunisia */
	{"TR", 26, "5!n1!n16!c"},	/* Turkiye */
	{"UA", 29, "6!n19!c"},		/* Ukraine */
	{"VA", 22, "3!n15!n"},		/* Vatican City State */
	{"VG", 24, "4!a16!n"},		/* British Virgin Islands */
	{"XK", 20, "4!n10!n2!n"},	/* Kosovo */
	{"YE", 30, "4!a4!n18!c"},	/* Yemen */
};

static int
iban_country_cmp(const void *key, const void *entry)
{
	return strncmp((const char *) key,
				   ((const IbanCountry *) entry)->code, 2);
}

static const IbanCountry *
iban_country_lookup(const char *code)
{
	return bsearch(code, iban_countries, lengthof(iban_countries),
				   sizeof(IbanCountry), iban_country_cmp);
}

/*
 * Checks each BBAN character against the country's format.  The caller has
 * checked the length, and every character is already a letter or a digit,
 * so only 'n' and 'a' can fail.
 */
static bool
iban_bban_ok(const IbanCountry *country, const char *iban, const char **why)
{
	const char *f = country->bban;
	int			pos = 4;

	while (*f != '\0')
	{
		int			count = 0;
		char		cls;

		while (*f >= '0' && *f <= '9')
			count = count * 10 + (*f++ - '0');
		Assert(*f == '!');
		f++;
		cls = *f++;

		/* Bounded by the length too, should the table ever be wrong. */
		for (; count > 0 && pos < country->length; count--, pos++)
		{
			char		c = iban[pos];

			if (cls == 'n' && !(c >= '0' && c <= '9'))
			{
				*why = ident_why("Character %d (\"%c\") must be a digit in %s IBANs.",
								 pos + 1, c, country->code);
				return false;
			}
			if (cls == 'a' && !(c >= 'A' && c <= 'Z'))
			{
				*why = ident_why("Character %d (\"%c\") must be a letter in %s IBANs.",
								 pos + 1, c, country->code);
				return false;
			}
		}
	}
	Assert(pos == country->length);
	return true;
}

bool
iban_parse(const char *in, char *out, const char **why)
{
	int			len = ident_normalise(in, out, IBAN_MAX_LEN, why);
	const IbanCountry *country;

	if (len < 0)
		return false;
	if (len == 0)
	{
		*why = "The value is empty.";
		return false;
	}
	if (len < 2 || out[0] < 'A' || out[0] > 'Z' || out[1] < 'A' || out[1] > 'Z')
	{
		*why = "An IBAN starts with a two-letter country code.";
		return false;
	}
	country = iban_country_lookup(out);
	if (country == NULL)
	{
		*why = ident_why("Country code \"%.2s\" is not in the IBAN registry.",
						 out);
		return false;
	}
	/* Also catches input too long to have been copied whole. */
	if (len != country->length)
	{
		*why = ident_why("%s IBANs have %d characters, not %d.",
						 country->code, country->length, len);
		return false;
	}
	if (!iban_bban_ok(country, out, why))
		return false;
	return ident_check_digits_ok(out, len, why);
}

PG_FUNCTION_INFO_V1(ar_iban_in);
Datum
ar_iban_in(PG_FUNCTION_ARGS)
{
	return ident_input(PG_GETARG_CSTRING(0), iban_parse, "IBAN");
}

PG_FUNCTION_INFO_V1(ar_iban_recv);
Datum
ar_iban_recv(PG_FUNCTION_ARGS)
{
	return ident_recv((StringInfo) PG_GETARG_POINTER(0), iban_parse, "IBAN");
}

PG_FUNCTION_INFO_V1(ar_iban_country);
Datum
ar_iban_country(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(VARDATA_ANY(v), 2));
}

PG_FUNCTION_INFO_V1(ar_is_valid_iban);
Datum
ar_is_valid_iban(PG_FUNCTION_ARGS)
{
	char	   *raw = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		buf[IBAN_MAX_LEN + 1];
	const char *why;

	PG_RETURN_BOOL(iban_parse(raw, buf, &why));
}
