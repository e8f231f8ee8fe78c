/*-------------------------------------------------------------------------
 *
 * match_text.c
 *		How people write invoice references and names on bank transfers,
 *		reduced to keys that can be compared: compact reference keys and
 *		their variants, edit distance 1, ISO 11649 detection, remittance
 *		tokens, payer name tokens and their similarity.
 *
 * SQL: ar.reference_key(text) (the compact key, also the expression of an
 * index on ar.invoice numbers) and ar.name_key(text) (the name tokens).
 *
 * Every function reads only the bytes it is given (lengths are explicit;
 * NUL bytes in the middle are plain separators) and never throws.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "identifier.h"
#include "match.h"

static inline bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Upper case, and the letter O read as the digit 0. */
static inline char
key_char(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		c = c - 'a' + 'A';
	return c == 'O' ? '0' : (char) c;
}

int
refkey_compact(const char *s, int len, char *out, int outmax)
{
	int			n = 0;

	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!is_alnum(c))
			continue;
		if (n < outmax)
			out[n] = key_char(c);
		n++;
	}
	out[Min(n, outmax)] = '\0';
	return n;
}

/* Appends a digit group without its leading zeros ("000" gives "0"). */
static int
put_digit_group(const char *g, int glen, char *out, int n, int outmax)
{
	int			k = 0;

	while (k < glen - 1 && g[k] == '0')
		k++;
	for (; k < glen; k++, n++)
		if (n < outmax)
			out[n] = g[k];
	return n;
}

int
refkey_grouped(const char *s, int len, char *out, int outmax)
{
	char		group[REFKEY_MAX];
	int			glen = 0;
	bool		gdigit = false;
	int			n = 0;
	bool		any = false;

	for (int i = 0; i <= len; i++)
	{
		unsigned char c = i < len ? (unsigned char) s[i] : ' ';
		char		k = is_alnum(c) ? key_char(c) : 0;
		bool		digit = k != 0 && is_digit((unsigned char) k);

		/* a separator, a change between letters and digits, or the end */
		if (glen > 0 && (k == 0 || digit != gdigit || glen == (int) sizeof(group)))
		{
			if (any)
			{
				if (n < outmax)
					out[n] = '|';
				n++;
			}
			if (gdigit)
				n = put_digit_group(group, glen, out, n, outmax);
			else
				for (int j = 0; j < glen; j++, n++)
					if (n < outmax)
						out[n] = group[j];
			any = true;
			glen = 0;
		}
		if (k != 0)
		{
			gdigit = digit;
			group[glen++] = k;
		}
	}
	out[Min(n, outmax)] = '\0';
	return n;
}

bool
refkey_digits(const char *s, int len, char *digits_out, char *grouped_out, int outmax)
{
	int			ndigits = 0;
	int			nletters = 0;
	int			g = 0;
	int			groups = 0;
	int			start = -1;

	for (int i = 0; i <= len; i++)
	{
		unsigned char c = i < len ? (unsigned char) s[i] : ' ';
		char		k = is_alnum(c) ? key_char(c) : 0;

		if (k != 0 && is_digit((unsigned char) k))
		{
			if (start < 0)
				start = ndigits;
			if (ndigits < outmax)
				digits_out[ndigits] = k;
			ndigits++;
			continue;
		}
		if (k != 0)
			nletters++;
		if (start >= 0)
		{
			/* a digit group ends: append it without leading zeros */
			if (groups > 0)
			{
				if (g < outmax)
					grouped_out[g] = '|';
				g++;
			}
			if (ndigits <= outmax)
				g = put_digit_group(digits_out + start, ndigits - start, grouped_out, g, outmax);
			groups++;
			start = -1;
		}
	}
	digits_out[Min(ndigits, outmax)] = '\0';
	grouped_out[Min(g, outmax)] = '\0';
	return nletters > 0 && ndigits >= 6 && ndigits <= outmax && g <= outmax;
}

bool
refkey_specific(const char *key, int len)
{
	int			digits = 0;

	for (int i = 0; i < len; i++)
		if (is_digit((unsigned char) key[i]))
			digits++;
	if (digits == len)
		return len >= 7;
	return digits > 0 && len >= 5;
}

int
refkey_describe(const char *written, int wlen, const char *reference)
{
	int			rlen = strlen(reference);
	int			flags = 0;
	int			i = 0,
				j = 0;
	int			wseps = 0,
				rseps = 0;

	if (wlen == rlen && memcmp(written, reference, rlen) == 0)
		return 0;
	/* walk the letters and digits of both; separators are compared apart */
	while (i < wlen || j < rlen)
	{
		unsigned char a,
					b;

		while (i < wlen && !is_alnum((unsigned char) written[i]))
			i++, wseps++;
		while (j < rlen && !is_alnum((unsigned char) reference[j]))
			j++, rseps++;
		if (i >= wlen || j >= rlen)
			break;
		a = (unsigned char) written[i++];
		b = (unsigned char) reference[j++];
		if (a == b)
			continue;
		if ((a == 'O' || a == 'o') && b == '0')
			flags |= REFDIFF_O_FOR_0;
		else if (key_char(a) == key_char(b))
			flags |= REFDIFF_CASE;
	}
	if (wseps == 0 && rseps > 0)
		flags |= REFDIFF_NO_SEPARATORS;
	else if (wseps != rseps)
		flags |= REFDIFF_SEPARATORS;
	else
	{
		/* same number of separators: are they the same characters, at the same places? */
		char		wk[REFKEY_MAX + 1],
					rk[REFKEY_MAX + 1];

		if (refkey_grouped(written, wlen, wk, REFKEY_MAX) != refkey_grouped(reference, rlen, rk, REFKEY_MAX)
			|| strcmp(wk, rk) != 0)
			flags |= REFDIFF_SEPARATORS;
		else
		{
			for (i = 0, j = 0; i < wlen && j < rlen;)
			{
				bool		sa = !is_alnum((unsigned char) written[i]);
				bool		sb = !is_alnum((unsigned char) reference[j]);

				if (sa && sb && written[i] != reference[j])
				{
					flags |= REFDIFF_SEPARATORS;
					break;
				}
				if (sa == sb)
					i++, j++;
				else if (sa)
					i++;
				else
					j++;
			}
		}
	}
	return flags;
}

int
refkey_edit1(const char *a, int la, const char *b, int lb)
{
	int			i = 0;

	if (la == lb)
	{
		while (i < la && a[i] == b[i])
			i++;
		if (i == la)
			return 0;
		if (memcmp(a + i + 1, b + i + 1, la - i - 1) == 0)
			return REFDIFF_SUBSTITUTE;
		if (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i]
			&& memcmp(a + i + 2, b + i + 2, la - i - 2) == 0)
			return REFDIFF_TRANSPOSE;
		return -1;
	}
	if (la == lb + 1)
	{
		while (i < lb && a[i] == b[i])
			i++;
		return memcmp(a + i + 1, b + i, lb - i) == 0 ? REFDIFF_INSERT : -1;
	}
	if (lb == la + 1)
	{
		while (i < la && a[i] == b[i])
			i++;
		return memcmp(a + i, b + i + 1, la - i) == 0 ? REFDIFF_DELETE : -1;
	}
	return -1;
}

bool
refkey_is_rf(const char *key, int len)
{
	int			remainder;

	if (len < 5 || len > CREDITOR_REF_MAX_LEN || key[0] != 'R' || key[1] != 'F'
		|| !is_digit((unsigned char) key[2]) || !is_digit((unsigned char) key[3]))
		return false;
	remainder = ident_mod97(0, key + 4, len - 4);
	remainder = ident_mod97(remainder, key, 4);
	return remainder == 1;
}

void
reftokens_split(const char *text, int len, RefTokens *tokens, int maxtokens)
{
	int			i = 0;

	tokens->n = 0;
	while (i < len && tokens->n < maxtokens)
	{
		while (i < len && !is_alnum((unsigned char) text[i]))
			i++;
		if (i >= len)
			break;
		tokens->start[tokens->n] = i;
		while (i < len && is_alnum((unsigned char) text[i]))
			i++;
		tokens->end[tokens->n] = i;
		tokens->n++;
	}
}

/* ------------------------------------------------------------ instalments */

/*
 * Words that announce a deposit or an instalment, as a token or the start
 * of one (ACOMPTES, PARTIELLE, ABSCHLAGSZAHLUNG), upper case.
 */
static const char *const instalment_words[] = {
	"ACOMPTE", "AVANCE", "PARTIEL", "PARTIAL", "DEPOSIT", "INSTALMENT", "INSTALLMENT",
	"ANZAHLUNG", "TEILZAHLUNG", "TEILBETRAG", "ABSCHLAG", "ACCONTO", "ANTICIPO"
};

const char *
text_instalment_word(const char *text, int len)
{
	int			starts[64],
				ends[64];
	RefTokens	tok = {0, starts, ends};

	if (text == NULL || len <= 0)
		return NULL;
	reftokens_split(text, len, &tok, lengthof(starts));
	for (int t = 0; t < tok.n; t++)
	{
		int			tlen = tok.end[t] - tok.start[t];

		for (int w = 0; w < (int) lengthof(instalment_words); w++)
		{
			int			wlen = strlen(instalment_words[w]);

			if (tlen >= wlen && pg_strncasecmp(text + tok.start[t], instalment_words[w], wlen) == 0)
				return instalment_words[w];
		}
	}

	/* "1/3", "2/4": a part of a whole, not a date (1/3/2026) nor a number (2026/3) */
	for (int i = 0; i < len; i++)
	{
		int			a = i,
					b,
					num = 0,
					den = 0;

		if (text[i] != '/')
			continue;
		while (a > 0 && is_digit((unsigned char) text[a - 1]) && i - a < 3)
			a--;
		b = i + 1;
		while (b < len && is_digit((unsigned char) text[b]) && b - i - 1 < 3)
			b++;
		if (a == i || b == i + 1 || i - a > 2 || b - i - 1 > 2 || text[a] == '0' || text[i + 1] == '0')
			continue;
		if ((a > 0 && (is_alnum((unsigned char) text[a - 1]) || strchr("/.-", text[a - 1]) != NULL))
			|| (b < len && (is_alnum((unsigned char) text[b]) || strchr("/.-", text[b]) != NULL)))
			continue;
		for (int k = a; k < i; k++)
			num = num * 10 + (text[k] - '0');
		for (int k = i + 1; k < b; k++)
			den = den * 10 + (text[k] - '0');
		if (den >= 2 && den <= 12 && num >= 1 && num <= den)
			return "n/m";
	}
	return NULL;
}

/* ---------------------------------------------------------------- names */

/*
 * ASCII letters for U+00C0..U+017F; '*' marks the two-letter ones (AE,
 * SS, OE), ' ' the signs.
 */
static const char latin_fold[] =
	"AAAAAA*CEEEEIIII" "DNOOOOO OUUUUYT*" "AAAAAA*CEEEEIIII" "DNOOOOO OUUUUYTY"
	"AAAAAACCCCCCCCDD" "DDEEEEEEEEEEGGGG" "GGGGHHHHIIIIIIII" "IIIIJJKKKLLLLLLL"
	"LLLNNNNNNNNNOOOO" "OO**RRRRRRSSSSSS" "SSTTTTTTUUUUUUUU" "UUUUWWYYYZZZZZZS";

/* Upper-case ASCII of a UTF-8 name; other characters become spaces. */
static char *
name_fold(const char *s, int *outlen)
{
	int			len = strlen(s);
	char	   *out = palloc(len * 2 + 1);
	int			n = 0;

	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x80)
		{
			if (c >= 'a' && c <= 'z')
				c = c - 'a' + 'A';
			out[n++] = is_alnum(c) ? (char) c : ' ';
			continue;
		}
		if ((c == 0xC3 || c == 0xC4 || c == 0xC5) && i + 1 < len
			&& ((unsigned char) s[i + 1] & 0xC0) == 0x80)
		{
			int			cp = ((c & 0x1F) << 6) | ((unsigned char) s[i + 1] & 0x3F);

			i++;
			if (cp >= 0xC0 && cp <= 0x17F)
			{
				char		f = latin_fold[cp - 0xC0];

				if (f != '*')
					out[n++] = f;
				else if (cp == 0xC6 || cp == 0xE6)
					out[n++] = 'A', out[n++] = 'E';
				else if (cp == 0xDF)
					out[n++] = 'S', out[n++] = 'S';
				else
					out[n++] = 'O', out[n++] = 'E';
				continue;
			}
			out[n++] = ' ';
			continue;
		}
		/* any other character: skip its continuation bytes */
		out[n++] = ' ';
		while (i + 1 < len && ((unsigned char) s[i + 1] & 0xC0) == 0x80)
			i++;
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* Legal forms, titles and small words: they say nothing about who pays. */
static const char *const name_noise[] = {
	"AB", "AG", "AN", "AND", "APS", "AS", "ASBL", "AU", "AUX", "BV", "BVBA",
	"CIE", "CO", "COMPAGNIE", "CORP", "CV", "CVBA", "DA", "DE", "DEI", "DEL",
	"DELLA", "DEN", "DER", "DES", "DI", "DIE", "DR", "DU", "EG", "EIRL", "EK",
	"EL", "EN", "ET", "ETABLISSEMENT", "ETABLISSEMENTS", "ETS", "EURL", "EV",
	"FRAU", "GBR", "GMBH", "GROUPE", "HERR", "HET", "INC", "KFT", "KG",
	"KGAA", "LA", "LAS", "LDA", "LE", "LES", "LIMITED", "LLC", "LLP", "LOS",
	"LTD", "MADAME", "MLLE", "MM", "MME", "MONSIEUR", "MR", "MRS", "MS", "NV",
	"OF", "OHG", "OY", "PLC", "SA", "SAPA", "SARL", "SAS", "SASU", "SAU", "SC",
	"SCA", "SCI", "SCM", "SCOP", "SCP", "SCRL", "SCS", "SE", "SELARL", "SL",
	"SLU", "SNC", "SOCIETE", "SP", "SPA", "SPRL", "SRL", "SRLS", "SRO", "STE",
	"THE", "UG", "UND", "VAN", "VOF", "VON", "VZW", "ZOO"
};

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool
name_is_noise(const char *token)
{
	return bsearch(&token, name_noise, lengthof(name_noise), sizeof(char *), cmp_cstring) != NULL;
}

int
name_tokens(const char *name, char **tokens, int maxtokens)
{
	int			len;
	char	   *folded = name_fold(name, &len);
	int			n = 0;
	int			i = 0;

	while (i < len && n < maxtokens)
	{
		int			start;
		char	   *token;

		while (i < len && folded[i] == ' ')
			i++;
		start = i;
		while (i < len && folded[i] != ' ')
			i++;
		if (i - start < 2)
			continue;
		token = pnstrdup(folded + start, i - start);
		if (name_is_noise(token))
		{
			pfree(token);
			continue;
		}
		tokens[n++] = token;
	}
	pfree(folded);
	return n;
}

/* 1 for equal tokens, 0.9 for a cut or mistyped one, else 0. */
static double
token_likeness(const char *a, const char *b)
{
	int			la = strlen(a),
				lb = strlen(b);

	if (la == lb && memcmp(a, b, la) == 0)
		return 1.0;
	if (Min(la, lb) >= 4 && strncmp(a, b, Min(la, lb)) == 0)
		return 0.9;
	if (Min(la, lb) >= 6 && refkey_edit1(a, la, b, lb) > 0)
		return 0.9;
	return 0.0;
}

double
name_similarity(char **a, int na, char **b, int nb)
{
	bool		used[NAME_MAX_TOKENS] = {false};
	double		matched = 0;

	if (na == 0 || nb == 0)
		return 0.0;
	nb = Min(nb, NAME_MAX_TOKENS);
	for (int i = 0; i < na; i++)
	{
		double		best = 0;
		int			bestj = -1;

		for (int j = 0; j < nb; j++)
		{
			double		l;

			if (used[j])
				continue;
			l = token_likeness(a[i], b[j]);
			if (l > best)
				best = l, bestj = j;
			if (best == 1.0)
				break;
		}
		if (bestj >= 0)
		{
			used[bestj] = true;
			matched += best;
		}
	}
	return 2 * matched / (na + nb);
}

void
json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s ? s : "");
}

void
amount_format(StringInfo buf, Amount a)
{
	uint64		abs = a < 0 ? -(uint64) a : (uint64) a;
	uint64		units = abs / MATCH_AMOUNT_ONE;
	int			frac = (int) (abs % MATCH_AMOUNT_ONE);

	appendStringInfo(buf, "%s" UINT64_FORMAT, a < 0 ? "-" : "", units);
	if (frac % 100 == 0)
		appendStringInfo(buf, ".%02d", frac / 100);
	else if (frac % 10 == 0)
		appendStringInfo(buf, ".%03d", frac / 10);
	else
		appendStringInfo(buf, ".%04d", frac);
}

/* ------------------------------------------------------------------ SQL */

PG_FUNCTION_INFO_V1(ar_reference_key);
Datum
ar_reference_key(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *out = palloc(len + 1);
	int			n = refkey_compact(VARDATA_ANY(t), len, out, len);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, n));
}

PG_FUNCTION_INFO_V1(ar_name_key);
Datum
ar_name_key(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *tokens[NAME_MAX_TOKENS];
	int			n = name_tokens(name, tokens, NAME_MAX_TOKENS);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? " " : "", tokens[i]);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
