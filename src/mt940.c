/*
 * mt940.c
 *		SWIFT MT940 customer statements (and MT942 interim reports) as banks
 *		really write them.
 *
 * A file holds one or more messages, each optionally wrapped in SWIFT
 * blocks ({1:...}{2:...}{4: ... -}) or preceded by a bank's header lines
 * (":940:", "ABNANL2A", "0000 01INGBNL2AXXXX00001"), and each message one
 * statement: :20: reference, :25: account, :28C: number, :60F/M: opening
 * balance, :61: lines each followed by an optional :86: text, :62F/M:
 * closing balance, :64:/:65: available balances.  MT942 has :34F: floor
 * limits, :13D: a time stamp and :90D:/:90C: totals instead of balances.
 *
 * The :86: text comes in three common layouts, all understood:
 *   - German (DFU agreement): "166?00GUTSCHRIFT?20EREF+...?21...?30BIC
 *     ?31IBAN?32NAME", with SEPA keywords (EREF+, MREF+, CRED+, SVWZ+...)
 *     running across the ?20-?29 and ?60-?63 purpose subfields;
 *   - Dutch/SEPA slash keys: "/EREF/.../CNTP/iban/bic/name//REMI/USTD//text/";
 *   - free text over several lines.
 * Lines wrapped at 65 characters are joined without a space.
 *
 * Anything malformed is an error naming the line; nothing is guessed except
 * what banks are known to do: day 30 or 31 of a shorter month (German
 * banks date month-end interest "30 February") is the month's last day, and
 * the booking date (MMDD) takes the year that puts it closest to the value
 * date.
 */
#include "postgres.h"

#include <stdarg.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "statement.h"

/* A field: its tag, where it starts, its text (physical lines joined by \n). */
typedef struct Mt940Field
{
	char		tag[5];
	int			line;
	int			first_len;		/* length of the tag line, tag included */
	StringInfoData text;
	int			raw_start;		/* byte offsets of the field in the file */
	int			raw_end;
} Mt940Field;

typedef struct Mt940State
{
	const char *content;
	int			len;
	StmtSink   *sink;
	int			statement_no;
	MemoryContext outer;		/* what lives as long as the parse */
	MemoryContext linecxt;		/* the pending line's values, reset once
								 * the sink has it */

	/* the statement being read */
	bool		in_statement;
	StmtHeader	hdr;
	bool		opening_seen;
	bool		closing_seen;
	bool		mt942;
	int			line_count;
	char	   *ref20;
	char	   *seq28;

	/* the last :61: line, waiting for its :86: */
	StmtLine   *pending;
	int			pending_raw_start;
	int			pending_raw_end;
	char		prev_tag[5];
} Mt940State;

static const char *const known_tags[] = {
	"20", "21", "25", "25P", "28", "28C", "60F", "60M", "61", "86", "62F", "62M",
	"64", "65", "13", "13D", "34F", "90D", "90C", "NS",
};

static void mt940_error(Mt940State *st, int line, int offset, const char *fmt,...)
			pg_attribute_printf(4, 5);

static void
mt940_error(Mt940State *st, int line, int offset, const char *fmt,...)
{
	char		what[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed MT940 statement at line %d: %s", line, what),
			 offset >= 0 && offset < st->len ?
			 errdetail("Line %d reads \"%s\".", line,
					   stmt_excerpt(st->content + offset, st->len - offset)) : 0));
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool
is_alnum(char c)
{
	return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

/* A byte to drop at the ends of a physical line (CR, SOH, ETX, SUB...). */
static inline bool
is_edge_noise(unsigned char c)
{
	return c < ' ' && c != '\t';
}

/*
 * The tag of a line starting ":TAG:", if TAG is a field of MT940/MT942;
 * sets *content to what follows.  Returns NULL otherwise.
 */
static const char *
line_tag(const char *s, const char *e, const char **content)
{
	int			n;
	int			i;

	if (e - s < 4 || s[0] != ':')
		return NULL;
	for (n = 1; n < 5 && s + n < e && s[n] != ':'; n++)
		;
	if (s + n >= e || s[n] != ':' || n < 3)
		return NULL;
	for (i = 0; i < (int) lengthof(known_tags); i++)
		if ((int) strlen(known_tags[i]) == n - 1 &&
			memcmp(known_tags[i], s + 1, n - 1) == 0)
		{
			*content = s + n + 1;
			return known_tags[i];
		}
	return NULL;
}

/* ":XYZ:" that is not a field we know (outside a message: an error). */
static bool
looks_like_tag(const char *s, const char *e)
{
	int			n;

	if (e - s < 3 || s[0] != ':')
		return false;
	for (n = 1; s + n < e && n < 8 && is_alnum(s[n]); n++)
		;
	return n > 1 && s + n < e && s[n] == ':';
}

/* --- dates and amounts --- */

/*
 * YYMMDD: years 80-99 are 1980-1999, the others 2000-2079.  Day 30 or 31 of
 * a shorter month is its last day (German month-end postings).
 */
static bool
read_yymmdd(const char *s, StmtDate *d)
{
	int			yy = stmt_digits(s, 2);
	int			mm = stmt_digits(s + 2, 2);
	int			dd = stmt_digits(s + 4, 2);

	if (yy < 0 || mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return false;
	d->year = yy >= 80 ? 1900 + yy : 2000 + yy;
	d->month = mm;
	d->day = Min(dd, stmt_days_in_month(d->year, mm));
	return true;
}

/* MMDD in the year (before, of or after "near") closest to it. */
static bool
read_mmdd_near(const char *s, const StmtDate *near, StmtDate *d)
{
	int			mm = stmt_digits(s, 2);
	int			dd = stmt_digits(s + 2, 2);
	int			best = -1;
	int			y;

	if (mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return false;
	for (y = near->year - 1; y <= near->year + 1; y++)
	{
		/* distance in days, roughly: months and days are enough to choose */
		int			dist = abs((y - near->year) * 372 + (mm - near->month) * 31 +
							   (dd - near->day));

		if (best < 0 || dist < best)
		{
			best = dist;
			d->year = y;
		}
	}
	d->month = mm;
	d->day = Min(dd, stmt_days_in_month(d->year, mm));
	return true;
}

/* A balance ":60F:C160229EUR1200,00": mark, date, currency, amount. */
static void
read_balance(Mt940State *st, Mt940Field *f, StmtDate *date, char **amount,
			 char **currency)
{
	const char *s = f->text.data;
	int			n = f->text.len;
	StringInfoData buf;
	int			end;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	if (n < 11 || (s[0] != 'C' && s[0] != 'D'))
		mt940_error(st, f->line, f->raw_start,
					"balance :%s: must read mark (C or D), date (YYMMDD), currency and amount",
					f->tag);
	if (!read_yymmdd(s + 1, date))
		mt940_error(st, f->line, f->raw_start, "balance date \"%.6s\" is not a date (YYMMDD)",
					s + 1);
	if (!is_upper(s[7]) || !is_upper(s[8]) || !is_upper(s[9]))
		mt940_error(st, f->line, f->raw_start, "balance currency \"%.3s\" is not an ISO 4217 code",
					s + 7);
	*currency = pnstrdup(s + 7, 3);
	for (end = 10; end < n && s[end] != '\n'; end++)
		;
	initStringInfo(&buf);
	if (!stmt_parse_decimal(s + 10, end - 10, ",.", s[0] == 'D', &buf))
		mt940_error(st, f->line, f->raw_start, "balance amount \"%s\" is not an amount",
					stmt_excerpt(s + 10, end - 10));
	*amount = buf.data;
}

/* --- the :86: text --- */

/*
 * Physical lines joined: without a separator after a full line (65
 * characters, the tag included on the first), else with a space.
 */
static char *
join_free_text(Mt940Field *f)
{
	StringInfoData buf;
	const char *s = f->text.data;
	int			start = 0;
	int			prev_len = -1;

	initStringInfo(&buf);
	while (start <= f->text.len)
	{
		const char *eol = memchr(s + start, '\n', f->text.len - start);
		int			end = eol ? eol - s : f->text.len;

		if (prev_len >= 0 && prev_len < 65)
			appendStringInfoChar(&buf, ' ');
		appendBinaryStringInfo(&buf, s + start, end - start);
		prev_len = prev_len < 0 ? f->first_len : end - start;
		start = end + 1;
	}
	return buf.data;
}

/* The text with every line break removed. */
static char *
join_unwrapped(Mt940Field *f)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < f->text.len; i++)
		if (f->text.data[i] != '\n')
			appendStringInfoChar(&buf, f->text.data[i]);
	return buf.data;
}

static void
set_if_empty(char **field, char *value)
{
	if (*field == NULL && value != NULL)
		*field = value;
}

/* SEPA keywords of the German purpose text, in the order banks write them. */
static const char *const sepa_keys[] = {
	"EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "COAM+", "OAMT+", "SVWZ+",
	"ABWA+", "ABWE+", "IBAN+", "BIC+", "PURP+", "RTRN+",
};

/* Index of the keyword starting at p, or -1. */
static int
sepa_key_at(const char *p)
{
	int			i;

	for (i = 0; i < (int) lengthof(sepa_keys); i++)
		if (strncmp(p, sepa_keys[i], strlen(sepa_keys[i])) == 0)
			return i;
	return -1;
}

/*
 * Splits a purpose text on the SEPA keywords; fills the line.  Text before
 * the first keyword is free remittance text.  Returns false when the text
 * has no keyword at all.
 */
static bool
apply_sepa_keywords(const char *text, StmtLine *line)
{
	const char *p;
	const char *value_start = NULL;
	int			key = -1;
	char	   *prefix = NULL;
	char	   *svwz = NULL;
	bool		found = false;

	for (p = text;; p++)
	{
		int			k = *p ? sepa_key_at(p) : -1;

		if (*p != '\0' && k < 0)
			continue;
		/* the value of the previous keyword ends here */
		if (key >= 0)
		{
			char	   *v = stmt_trimmed(value_start, p - value_start);

			switch (key)
			{
				case 0:			/* EREF+ */
					if (v && strcmp(v, "NOTPROVIDED") != 0)
						set_if_empty(&line->end_to_end_id, v);
					break;
				case 1:			/* KREF+ */
					if (v && strcmp(v, "NOTPROVIDED") != 0)
						set_if_empty(&line->customer_reference, v);
					break;
				case 2:			/* MREF+ */
					set_if_empty(&line->mandate_id, v);
					break;
				case 3:			/* CRED+ */
					set_if_empty(&line->creditor_id, v);
					break;
				case 7:			/* SVWZ+ */
					svwz = v;
					break;
				case 10:		/* IBAN+ */
					set_if_empty(&line->counterparty_account, v);
					break;
				case 11:		/* BIC+ */
					set_if_empty(&line->counterparty_bic, v);
					break;
				case 13:		/* RTRN+ */
					if (v && stmt_is_return_reason(v, strlen(v)))
						set_if_empty(&line->return_reason, v);
					break;
				default:
					break;
			}
		}
		else if (k >= 0 || *p == '\0')
			prefix = stmt_trimmed(text, p - text);
		if (*p == '\0')
			break;
		found = true;
		key = k;
		p += strlen(sepa_keys[k]) - 1;
		value_start = p + 1;
	}
	if (!found)
		return false;
	/* SVWZ+ is the payer's text; without it, what precedes the keywords */
	line->remittance_info = svwz != NULL ? svwz : prefix;
	return true;
}

/*
 * German layout: "GVC?00text?10..?20..": the separator is the character
 * after the three-digit transaction code (usually '?').
 */
static bool
parse_german_86(const char *text, StmtLine *line)
{
	char		sep;
	const char *p;
	StringInfoData purpose;
	StringInfoData more;
	StringInfoData name;
	char	   *gvc = NULL;
	char	   *iban = NULL;
	bool		full = false;

	if (is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) &&
		text[3] != '\0' && !is_alnum(text[3]) && text[3] != ' ' &&
		is_digit(text[4]) && is_digit(text[5]))
	{
		sep = text[3];
		gvc = pnstrdup(text, 3);
		p = text + 3;
	}
	else if (text[0] == '?' && is_digit(text[1]) && is_digit(text[2]))
	{
		sep = '?';
		p = text;
	}
	else
		return false;

	initStringInfo(&purpose);
	initStringInfo(&more);
	initStringInfo(&name);
	while (*p == sep && is_digit(p[1]) && is_digit(p[2]))
	{
		int			code = (p[1] - '0') * 10 + (p[2] - '0');
		const char *v = p + 3;
		const char *e = v;

		while (*e && !(*e == sep && is_digit(e[1]) && is_digit(e[2])))
			e++;
		switch (code)
		{
			case 0:
				line->booking_text = stmt_trimmed(v, e - v);
				break;
			case 30:
				line->counterparty_bic = stmt_trimmed(v, e - v);
				break;
			case 31:
				line->counterparty_account = stmt_trimmed(v, e - v);
				break;
			case 32:
			case 33:
				appendBinaryStringInfo(&name, v, e - v);
				break;
			case 38:
				/* some banks put the IBAN here and the old account in ?31 */
				iban = stmt_iban_or_null(stmt_trimmed(v, e - v));
				break;
			case 29:
				full = true;
				/* FALLTHROUGH */
			default:
				if (code >= 20 && code <= 29)
					appendBinaryStringInfo(&purpose, v, e - v);
				else if (code >= 60 && code <= 63)
					appendBinaryStringInfo(&more, v, e - v);
				break;
		}
		p = e;
	}
	line->bank_tx_code_proprietary = gvc;
	line->counterparty_name = stmt_trimmed(name.data, name.len);
	if (iban != NULL)
		line->counterparty_account = iban;

	/*
	 * ?60-?63 continue the purpose when ?20-?29 are all used; otherwise
	 * they are a text of their own, read the same way.
	 */
	if (full)
	{
		appendBinaryStringInfo(&purpose, more.data, more.len);
		resetStringInfo(&more);
	}
	if (!apply_sepa_keywords(purpose.data, line))
		line->remittance_info = purpose.data;
	if (more.len > 0)
	{
		char	   *first = line->remittance_info;

		line->remittance_info = NULL;
		if (!apply_sepa_keywords(more.data, line))
			line->remittance_info = more.data;
		if (first != NULL)
			line->remittance_info = line->remittance_info ?
				psprintf("%s %s", first, line->remittance_info) : first;
	}
	line->remittance_info = stmt_squeeze(line->remittance_info);
	return true;
}

/* Keys of the Dutch/SEPA slash layout. */
static const char *const slash_keys[] = {
	"ACCW", "ADDR", "BBAN", "BENM", "BIC", "BUSP", "CDTRREFTP", "CDTRREF", "CHGS", "CNTP",
	"CSID", "EREF", "EXCH", "IBAN", "ID", "ISDT", "KREF", "MARF", "NAME", "OCMT",
	"ORDP", "PREF", "PURP", "REMI", "RTRN", "RTYP", "SVCL", "TRTP", "ULTB", "ULTC",
	"ULTD",
};

/* Length of the "/KEY/" at p when KEY is a slash key, else 0. */
static int
slash_key_at(const char *p, int *which)
{
	int			i;

	if (p[0] != '/')
		return 0;
	for (i = 0; i < (int) lengthof(slash_keys); i++)
	{
		int			n = strlen(slash_keys[i]);

		if (strncmp(p + 1, slash_keys[i], n) == 0 && p[n + 1] == '/')
		{
			*which = i;
			return n + 2;
		}
	}
	return 0;
}

/* The n-th '/'-separated part of v (0-based), trimmed; NULL if empty. */
static char *
slash_part(const char *v, int n)
{
	const char *s = v;
	const char *e;

	while (n-- > 0)
	{
		s = strchr(s, '/');
		if (s == NULL)
			return NULL;
		s++;
	}
	e = strchr(s, '/');
	return stmt_trimmed(s, e ? e - s : (int) strlen(s));
}

static bool
parse_slash_86(const char *text, StmtLine *line)
{
	const char *p = text;
	int			which;
	int			klen;

	while (*p == ' ')
		p++;
	if ((klen = slash_key_at(p, &which)) == 0)
		return false;
	while (*p)
	{
		const char *v = p + klen;
		const char *e = v;
		int			next_which = -1;
		int			next_len = 0;
		char	   *value;
		int			vlen;
		const char *key = slash_keys[which];

		while (*e && (next_len = slash_key_at(e, &next_which)) == 0)
			e++;
		/* values end with the '/' that precedes the next key */
		vlen = e - v;
		if (vlen > 0 && v[vlen - 1] == '/')
			vlen--;
		value = stmt_trimmed(v, vlen);

		if (value == NULL)
			;
		else if (strcmp(key, "EREF") == 0)
		{
			if (strcmp(value, "NOTPROVIDED") != 0)
				set_if_empty(&line->end_to_end_id, value);
		}
		else if (strcmp(key, "REMI") == 0)
		{
			if (strncmp(value, "USTD//", 6) == 0)
				line->remittance_info = stmt_trimmed(value + 6, strlen(value + 6));
			else if (strncmp(value, "STRD/", 5) == 0 && strchr(value + 5, '/') != NULL)
				line->structured_reference = stmt_trimmed(strchr(value + 5, '/') + 1,
														  strlen(strchr(value + 5, '/') + 1));
			else
				line->remittance_info = value;
		}
		else if (strcmp(key, "CNTP") == 0)
		{
			set_if_empty(&line->counterparty_account, slash_part(value, 0));
			set_if_empty(&line->counterparty_bic, slash_part(value, 1));
			set_if_empty(&line->counterparty_name, slash_part(value, 2));
		}
		else if (strcmp(key, "NAME") == 0)
			set_if_empty(&line->counterparty_name, value);
		else if (strcmp(key, "IBAN") == 0 || strcmp(key, "BBAN") == 0)
			set_if_empty(&line->counterparty_account, value);
		else if (strcmp(key, "BIC") == 0)
			set_if_empty(&line->counterparty_bic, value);
		else if (strcmp(key, "MARF") == 0)
			set_if_empty(&line->mandate_id, value);
		else if (strcmp(key, "CSID") == 0)
			set_if_empty(&line->creditor_id, value);
		else if (strcmp(key, "RTRN") == 0)
		{
			char	   *code = slash_part(value, 0);

			if (code && stmt_is_return_reason(code, strlen(code)))
				line->return_reason = code;
		}
		else if (strcmp(key, "PREF") == 0 || strcmp(key, "KREF") == 0)
			line->customer_reference = value;	/* :61: only said "PREF" */
		else if (strcmp(key, "TRTP") == 0)
			set_if_empty(&line->booking_text, value);

		p = e;
		which = next_which;
		klen = next_len;
		if (*p == '\0')
			break;
	}
	if (line->remittance_info)
		line->remittance_info = stmt_squeeze(line->remittance_info);
	return true;
}

/*
 * Labels in free text (Knab and other Dutch banks): "REK: NL52RABO...",
 * "NAAM: SOME NAME" up to the end of its line, "IBAN: ..." .
 */
static void
apply_labels(Mt940Field *f, StmtLine *line)
{
	const char *text = f->text.data;
	const char *p;

	if ((p = strstr(text, "REK: ")) != NULL || (p = strstr(text, "IBAN: ")) != NULL)
	{
		const char *v = strchr(p, ' ') + 1;
		const char *e = v;

		while (*e && *e != '/' && *e != ' ' && *e != '\n')
			e++;
		set_if_empty(&line->counterparty_account, stmt_trimmed(v, e - v));
	}
	if ((p = strstr(text, "NAAM: ")) != NULL)
	{
		const char *v = p + 6;
		const char *e = v;

		while (*e && *e != '\n')
			e++;
		set_if_empty(&line->counterparty_name, stmt_trimmed(v, e - v));
	}
}

/* Reads the :86: text into the line it follows. */
static void
apply_86(Mt940Field *f, StmtLine *line)
{
	char	   *flat = join_unwrapped(f);
	const char *p = flat;

	while (*p == ' ')
		p++;
	if (!parse_german_86(p, line) && !parse_slash_86(p, line))
	{
		char	   *text = join_free_text(f);

		/* free text that still uses SEPA keywords (EREF+, SVWZ+...) */
		if (!apply_sepa_keywords(text, line))
			line->remittance_info = stmt_squeeze(text);
		else if (line->remittance_info)
			line->remittance_info = stmt_squeeze(line->remittance_info);
		apply_labels(f, line);
	}
	line->additional_info = stmt_squeeze(join_free_text(f));
}

/* --- the :61: line --- */

static void
skip_breaks(const char *s, int n, int *i)
{
	while (*i < n && (s[*i] == '\n' || s[*i] == ' '))
		(*i)++;
}

/*
 * :61: value date, [entry date], mark, [funds code], amount, type, customer
 * reference [//bank reference] [newline supplementary details].  Banks
 * that wrap the line early are allowed to: line breaks between the
 * mandatory subfields are skipped.
 */
static StmtLine *
parse_61(Mt940State *st, Mt940Field *f)
{
	const char *s = f->text.data;
	int			n = f->text.len;
	int			i = 0;
	StmtLine   *line = palloc0(sizeof(StmtLine));
	bool		negative;
	int			amount_start;
	StringInfoData amount;
	int			ref_start;
	char	   *extra = NULL;

	line->source_line = f->line;
	if (n < 6 || !read_yymmdd(s, &line->value_date))
		mt940_error(st, f->line, f->raw_start,
					"statement line :61: must start with its value date (YYMMDD)");
	i = 6;
	if (n - i >= 4 && is_digit(s[i]) && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
		is_digit(s[i + 3]))
	{
		if (!read_mmdd_near(s + i, &line->value_date, &line->booking_date))
			mt940_error(st, f->line, f->raw_start,
						"entry date \"%.4s\" of :61: is not a date (MMDD)", s + i);
		i += 4;
	}
	else
		line->booking_date = line->value_date;
	skip_breaks(s, n, &i);

	/* debit/credit mark: C, D, RC (reversal of credit), RD, EC/ED (MT942) */
	if (i < n && (s[i] == 'R' || s[i] == 'E') && i + 1 < n && (s[i + 1] == 'C' || s[i + 1] == 'D'))
	{
		line->reversal = s[i] == 'R';
		negative = (s[i + 1] == 'D') != line->reversal;
		i += 2;
	}
	else if (i < n && (s[i] == 'C' || s[i] == 'D'))
	{
		negative = s[i] == 'D';
		i++;
	}
	else
		mt940_error(st, f->line, f->raw_start,
					"debit/credit mark of :61: must be C, D, RC or RD, not \"%s\"",
					i < n ? stmt_excerpt(s + i, Min(2, n - i)) : "");
	/* funds code: the third letter of the currency code, sometimes */
	if (i < n && is_upper(s[i]))
		i++;
	skip_breaks(s, n, &i);

	amount_start = i;
	while (i < n && (is_digit(s[i]) || s[i] == ',' || s[i] == '.'))
		i++;
	initStringInfo(&amount);
	if (!stmt_parse_decimal(s + amount_start, i - amount_start, ",.", negative, &amount))
		mt940_error(st, f->line, f->raw_start, "amount \"%s\" of :61: is not an amount",
					stmt_excerpt(s + amount_start, i - amount_start + 1));
	line->amount = amount.data;
	skip_breaks(s, n, &i);

	/*
	 * Transaction type: a letter and three letters or digits (NTRF, N062);
	 * some banks write fewer characters padded with spaces (NOV, S), a few
	 * none at all.
	 */
	if (i < n && is_upper(s[i]))
	{
		int			t = i + 1;

		while (t < n && t < i + 4 && (is_alnum(s[t]) || s[t] == ' '))
			t++;
		line->bank_tx_code = stmt_trimmed(s + i, t - i);
		i = t;
	}

	/* customer reference (16x) up to "//" or the end of the line */
	ref_start = i;
	while (i < n && s[i] != '\n' &&
		   !(s[i] == '/' && i + 1 < n && s[i + 1] == '/' && !(i + 2 < n && s[i + 2] == '/')))
		i++;
	line->customer_reference = stmt_trimmed(s + ref_start, Min(i - ref_start, 16));
	/* what some banks add after it (Rabobank: the counterparty's name) */
	if (i - ref_start > 16)
		extra = stmt_trimmed(s + ref_start + 16, i - ref_start - 16);
	if (line->customer_reference && strcmp(line->customer_reference, "NONREF") == 0)
		line->customer_reference = NULL;
	if (i + 1 < n && s[i] == '/' && s[i + 1] == '/')
	{
		int			b = i + 2;

		i = b;
		while (i < n && s[i] != '\n')
			i++;
		line->bank_reference = stmt_trimmed(s + b, i - b);
	}
	/* supplementary details: the following lines */
	if (i < n && s[i] == '\n')
	{
		StringInfoData details;

		initStringInfo(&details);
		for (i++; i < n; i++)
			if (s[i] != '\n')
				appendStringInfoChar(&details, s[i]);
		line->additional_info = stmt_trimmed(details.data, details.len);
	}
	/* Rabobank puts the counterparty's IBAN there */
	if (line->additional_info != NULL && strchr(line->additional_info, ' ') == NULL)
		line->counterparty_account = stmt_iban_or_null(line->additional_info);
	if (extra != NULL)
		line->additional_info = line->additional_info ?
			psprintf("%s %s", extra, line->additional_info) : extra;
	return line;
}

/* --- statements --- */

static void
emit_pending(Mt940State *st)
{
	StmtLine   *line = st->pending;
	char	   *text;
	MemoryContext old;

	if (line == NULL)
		return;
	st->pending = NULL;
	old = MemoryContextSwitchTo(st->linecxt);
	line->currency = st->hdr.currency;
	line->raw = pnstrdup(st->content + st->pending_raw_start,
						 st->pending_raw_end - st->pending_raw_start);

	text = line->remittance_info;
	if (line->structured_reference == NULL)
		line->structured_reference = stmt_find_creditor_ref(text);
	if (line->structured_reference == NULL)
		line->structured_reference = stmt_find_creditor_ref(line->end_to_end_id);
	if (line->return_reason == NULL)
	{
		bool		hint = line->amount[0] == '-' &&
			(line->reversal || stmt_mentions_return(line->booking_text) ||
			 stmt_mentions_return(line->additional_info));

		line->return_reason = stmt_find_return_reason(line->additional_info, hint);
	}
	st->line_count++;
	st->sink->line(st->sink, st->statement_no, st->line_count, line);
	MemoryContextSwitchTo(old);
	/* nothing of the line is needed any more (no line is pending) */
	MemoryContextReset(st->linecxt);
}

static void
begin_statement(Mt940State *st, int line, int offset)
{
	st->statement_no++;
	st->in_statement = true;
	memset(&st->hdr, 0, sizeof(st->hdr));
	st->hdr.source_line = line;
	st->hdr.format = "mt940";
	st->opening_seen = st->closing_seen = st->mt942 = false;
	st->line_count = 0;
	st->ref20 = st->seq28 = NULL;
	st->pending = NULL;
	st->prev_tag[0] = '\0';
	(void) offset;
}

/*
 * A statement ends.  What it lacks (an account, balances, a currency) is
 * left NULL: ar.parse_statement shows fragments as they are, and
 * ar.import_statement refuses to store an incomplete statement.
 */
static void
end_statement(Mt940State *st)
{
	StringInfoData ref;

	if (!st->in_statement)
		return;
	emit_pending(st);
	st->in_statement = false;
	if (st->mt942 && !st->opening_seen)
		st->hdr.format = "mt942";
	initStringInfo(&ref);
	stmt_append_sep(&ref, "/", st->ref20 ? st->ref20 : "");
	stmt_append_sep(&ref, "/", st->seq28);
	st->hdr.statement_ref = ref.data;
	st->hdr.sequence_no = st->seq28;
	st->sink->statement(st->sink, st->statement_no, &st->hdr);
}

static void
set_currency(Mt940State *st, Mt940Field *f, char *currency)
{
	if (st->hdr.currency == NULL)
		st->hdr.currency = currency;
	else if (strcmp(st->hdr.currency, currency) != 0)
		mt940_error(st, f->line, f->raw_start,
					"currency %s differs from the statement's currency %s",
					currency, st->hdr.currency);
}

/* :90D:/:90C: "number currency amount" (MT942 totals). */
static void
read_total(Mt940State *st, Mt940Field *f, char **sum)
{
	const char *s = f->text.data;
	int			n = f->text.len;
	int			i = 0;
	StringInfoData buf;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	while (i < n && is_digit(s[i]))
		i++;
	if (n - i < 4 || !is_upper(s[i]) || !is_upper(s[i + 1]) || !is_upper(s[i + 2]))
		mt940_error(st, f->line, f->raw_start,
					"total :%s: must read number of entries, currency and amount", f->tag);
	set_currency(st, f, pnstrdup(s + i, 3));
	initStringInfo(&buf);
	if (!stmt_parse_decimal(s + i + 3, n - i - 3, ",.", strcmp(f->tag, "90D") == 0, &buf))
		mt940_error(st, f->line, f->raw_start, "total amount \"%s\" is not an amount",
					stmt_excerpt(s + i + 3, n - i - 3));
	*sum = buf.data;
}

static void
handle_field(Mt940State *st, Mt940Field *f)
{
	const char *tag = f->tag;

	CHECK_FOR_INTERRUPTS();
	if (strcmp(tag, "20") == 0)
	{
		if (st->in_statement)
			end_statement(st);
		begin_statement(st, f->line, f->raw_start);
		st->ref20 = stmt_trimmed(f->text.data, f->text.len);
		if (st->ref20)
			st->ref20 = stmt_squeeze(st->ref20);
		strlcpy(st->prev_tag, tag, sizeof(st->prev_tag));
		return;
	}
	/* a fragment without :20: is a statement all the same */
	if (!st->in_statement)
		begin_statement(st, f->line, f->raw_start);

	if (strcmp(tag, "25") == 0 || strcmp(tag, "25P") == 0)
	{
		if (st->hdr.account != NULL)
			mt940_error(st, f->line, f->raw_start, "the statement has a second account identification");
		st->hdr.account = stmt_squeeze(join_unwrapped(f));
		if (st->hdr.account == NULL)
			mt940_error(st, f->line, f->raw_start, "account identification :25: is empty");
	}
	else if (strcmp(tag, "28") == 0 || strcmp(tag, "28C") == 0)
		st->seq28 = stmt_squeeze(join_unwrapped(f));
	else if (strcmp(tag, "60F") == 0 || strcmp(tag, "60M") == 0)
	{
		char	   *currency;

		if (st->opening_seen)
			mt940_error(st, f->line, f->raw_start, "the statement has a second opening balance");
		if (st->line_count > 0 || st->pending != NULL)
			mt940_error(st, f->line, f->raw_start, "the opening balance comes after statement lines");
		read_balance(st, f, &st->hdr.opening_date, &st->hdr.opening_balance, &currency);
		set_currency(st, f, currency);
		st->opening_seen = true;
	}
	else if (strcmp(tag, "61") == 0)
	{
		MemoryContext old;

		if (st->closing_seen)
			mt940_error(st, f->line, f->raw_start, "statement line :61: after the closing balance");
		emit_pending(st);
		/* the line lives in linecxt until emit_pending has given it away */
		old = MemoryContextSwitchTo(st->linecxt);
		st->pending = parse_61(st, f);
		MemoryContextSwitchTo(old);
		st->pending_raw_start = f->raw_start;
		st->pending_raw_end = f->raw_end;
	}
	else if (strcmp(tag, "86") == 0)
	{
		/* after a :61: it describes that line, elsewhere the statement */
		if (st->pending != NULL && strcmp(st->prev_tag, "61") == 0)
		{
			char	   *details = st->pending->additional_info;
			MemoryContext old = MemoryContextSwitchTo(st->linecxt);

			apply_86(f, st->pending);
			/* keep the :61: supplementary details in front */
			if (details != NULL)
				st->pending->additional_info =
					psprintf("%s %s", details,
							 st->pending->additional_info ? st->pending->additional_info : "");
			MemoryContextSwitchTo(old);
			st->pending_raw_end = f->raw_end;
		}
	}
	else if (strcmp(tag, "62F") == 0 || strcmp(tag, "62M") == 0)
	{
		char	   *currency;

		if (st->closing_seen)
			mt940_error(st, f->line, f->raw_start, "the statement has a second closing balance");
		emit_pending(st);
		read_balance(st, f, &st->hdr.closing_date, &st->hdr.closing_balance, &currency);
		set_currency(st, f, currency);
		st->closing_seen = true;
	}
	else if (strcmp(tag, "34F") == 0)
	{
		const char *s = f->text.data;

		if (f->text.len < 4 || !is_upper(s[0]) || !is_upper(s[1]) || !is_upper(s[2]))
			mt940_error(st, f->line, f->raw_start, "floor limit :34F: must start with a currency code");
		set_currency(st, f, pnstrdup(s, 3));
		st->mt942 = true;
	}
	else if (strcmp(tag, "13") == 0 || strcmp(tag, "13D") == 0)
		st->mt942 = true;
	else if (strcmp(tag, "90D") == 0)
	{
		emit_pending(st);
		read_total(st, f, &st->hdr.declared_debits);
		st->mt942 = true;
	}
	else if (strcmp(tag, "90C") == 0)
	{
		emit_pending(st);
		read_total(st, f, &st->hdr.declared_credits);
		st->mt942 = true;
	}
	/* :21:, :64:, :65:, :NS: carry nothing the ledger needs */
	strlcpy(st->prev_tag, tag, sizeof(st->prev_tag));
}

/* --- physical lines --- */

typedef struct PhysLine
{
	int			start;			/* offsets of the trimmed line */
	int			end;
	int			next;			/* offset of the following line */
} PhysLine;

static void
read_line(const char *c, int len, int pos, PhysLine *pl)
{
	int			s = pos;
	int			e;

	while (pos < len && c[pos] != '\n' && c[pos] != '\r')
		pos++;
	e = pos;
	if (pos < len && c[pos] == '\r' && pos + 1 < len && c[pos + 1] == '\n')
		pos += 2;
	else if (pos < len)
		pos++;
	while (s < e && is_edge_noise((unsigned char) c[s]))
		s++;
	while (e > s && is_edge_noise((unsigned char) c[e - 1]))
		e--;
	pl->start = s;
	pl->end = e;
	pl->next = pos;
}

static bool
is_blank(const char *c, const PhysLine *pl)
{
	int			i;

	for (i = pl->start; i < pl->end; i++)
		if (c[i] != ' ' && c[i] != '\t')
			return false;
	return true;
}

/* Without the spaces around it, is the line exactly "txt"? */
static bool
line_is(const char *c, const PhysLine *pl, const char *txt)
{
	int			s = pl->start;
	int			e = pl->end;
	int			n = strlen(txt);

	while (s < e && c[s] == ' ')
		s++;
	while (e > s && c[e - 1] == ' ')
		e--;
	return e - s == n && memcmp(c + s, txt, n) == 0;
}

/* Does the next non-blank line after pos end the field (or the file)? */
static bool
next_is_structural(const char *c, int len, int pos)
{
	PhysLine	pl;
	const char *content;

	while (pos < len)
	{
		read_line(c, len, pos, &pl);
		if (!is_blank(c, &pl))
			return c[pl.start] == '{' || c[pl.start] == '-' || c[pl.start] == '}' ||
				line_tag(c + pl.start, c + pl.end, &content) != NULL;
		pos = pl.next;
	}
	return true;
}

static void
flush_field(Mt940State *st, Mt940Field *f, bool *have)
{
	if (*have)
		handle_field(st, f);
	*have = false;
}

void
mt940_parse(const char *content, int len, StmtSink *sink)
{
	Mt940State	st;
	Mt940Field	f;
	bool		have = false;
	int			pos = 0;
	int			lineno = 0;

	memset(&st, 0, sizeof(st));
	st.content = content;
	st.len = len;
	st.sink = sink;
	st.outer = CurrentMemoryContext;
	st.linecxt = AllocSetContextCreate(CurrentMemoryContext, "MT940 statement line",
									   ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&f.text);

	/* a UTF-8 byte order mark */
	if (len >= 3 && memcmp(content, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;

	while (pos < len)
	{
		PhysLine	pl;
		const char *s;
		const char *e;
		const char *tag;
		const char *rest;

		CHECK_FOR_INTERRUPTS();
		read_line(content, len, pos, &pl);
		lineno++;
		pos = pl.next;
		s = content + pl.start;
		e = content + pl.end;
		if (is_blank(content, &pl))
			continue;

		/* SWIFT blocks: {1:...}{2:...}{4: opens the text block */
		if (*s == '{')
		{
			const char *b4 = NULL;
			const char *q;

			flush_field(&st, &f, &have);
			end_statement(&st);
			for (q = s; q + 3 <= e; q++)
				if (memcmp(q, "{4:", 3) == 0)
					b4 = q + 3;
			if (b4 == NULL || b4 == e)
				continue;
			s = b4;
			pl.start = s - content;
		}

		/* end of a message: "-", "-}", "}" ... unless a wrapped value */
		if (*s == '-' || *s == '}')
		{
			if (line_is(content, &pl, "-") && have &&
				(strcmp(f.tag, "86") == 0 || strcmp(f.tag, "61") == 0) &&
				!next_is_structural(content, len, pos))
			{
				appendStringInfoChar(&f.text, '\n');
				appendBinaryStringInfo(&f.text, s, e - s);
				f.raw_end = pl.end;
				continue;
			}
			if (line_is(content, &pl, "-") || (e - s >= 2 && memcmp(s, "-}", 2) == 0) ||
				line_is(content, &pl, "}"))
			{
				flush_field(&st, &f, &have);
				end_statement(&st);
				continue;
			}
		}

		/* ":" alone, the tag on the next line (a wrapped tag) */
		if (line_is(content, &pl, ":") && pos < len)
		{
			PhysLine	nl;
			char		probe[8];
			int			k;

			read_line(content, len, pos, &nl);
			probe[0] = ':';
			for (k = 0; k < 6 && nl.start + k < nl.end; k++)
				probe[k + 1] = content[nl.start + k];
			if (line_tag(probe, probe + k + 1, &rest) != NULL)
			{
				tag = line_tag(probe, probe + k + 1, &rest);
				flush_field(&st, &f, &have);
				lineno++;
				pos = nl.next;
				strlcpy(f.tag, tag, sizeof(f.tag));
				f.line = lineno - 1;
				resetStringInfo(&f.text);
				rest = content + nl.start + strlen(tag) + 1;
				appendBinaryStringInfo(&f.text, rest, content + nl.end - rest);
				f.first_len = nl.end - nl.start + 1;
				f.raw_start = pl.start;
				f.raw_end = nl.end;
				have = true;
				continue;
			}
		}

		tag = line_tag(s, e, &rest);
		if (tag != NULL)
		{
			flush_field(&st, &f, &have);
			strlcpy(f.tag, tag, sizeof(f.tag));
			f.line = lineno;
			resetStringInfo(&f.text);
			appendBinaryStringInfo(&f.text, rest, e - rest);
			f.first_len = e - s;
			f.raw_start = s - content;
			f.raw_end = pl.end;
			have = true;
			if (f.text.len > STMT_MAX_FIELD)
				mt940_error(&st, lineno, f.raw_start, "field :%s: is longer than %d bytes",
							tag, STMT_MAX_FIELD);
			continue;
		}
		if (have)
		{
			/* a continuation line of the current field */
			appendStringInfoChar(&f.text, '\n');
			appendBinaryStringInfo(&f.text, s, e - s);
			f.raw_end = pl.end;
			if (f.text.len > STMT_MAX_FIELD)
				mt940_error(&st, f.line, f.raw_start, "field :%s: is longer than %d bytes",
							f.tag, STMT_MAX_FIELD);
			continue;
		}
		/* between messages: bank header lines, but no unknown field */
		if (looks_like_tag(s, e) && !(e - s >= 5 && memcmp(s, ":940:", 5) == 0))
			mt940_error(&st, lineno, s - content, "unknown field \"%s\"",
						stmt_excerpt(s, Min(e - s, 8)));
	}
	flush_field(&st, &f, &have);
	end_statement(&st);
	MemoryContextDelete(st.linecxt);
	if (st.statement_no == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("malformed MT940 statement: no statement found"),
				 errdetail("An MT940 statement starts with a :20: field; the input has %d lines.",
						   lineno)));
}
