/*
 * statement.c
 *		Helpers shared by the bank-statement parsers: exact decimal amounts,
 *		calendar dates, identifiers found in free text (IBAN, ISO 11649
 *		creditor references, ISO 20022 return reasons), format detection.
 *
 * Everything here reads untrusted bytes with explicit lengths and never
 * throws on bad input: it returns false or NULL and lets the parser name the
 * offending line or element.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "identifier.h"
#include "statement.h"

/*
 * Integer and fractional digits an amount may have: the input bounds of
 * ar_collect (doc/input-bounds.md) are |amount| < 10^16 with at most 2
 * decimals; more fractional digits are accepted when they are zeros.
 */
#define STMT_MAX_INT_DIGITS		16
#define STMT_MAX_FRAC_DIGITS	10
#define STMT_MAX_CENT_DIGITS	2

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline unsigned char
to_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

bool
stmt_parse_decimal(const char *s, int len, const char *seps, bool negative,
				   StringInfo out)
{
	int			i = 0;
	int			int_start;
	int			int_end;
	int			frac_start = -1;
	int			frac_end = -1;
	bool		all_zero = true;
	int			k;

	int_start = i;
	while (i < len && is_digit(s[i]))
		i++;
	int_end = i;
	if (i < len && s[i] != '\0' && strchr(seps, s[i]) != NULL)
	{
		i++;
		frac_start = i;
		while (i < len && is_digit(s[i]))
			i++;
		frac_end = i;
	}
	if (i != len)
		return false;
	/* at least one digit somewhere */
	if (int_end == int_start && (frac_start < 0 || frac_end == frac_start))
		return false;
	/* leading zeros do not count */
	while (int_start < int_end - 1 && s[int_start] == '0')
		int_start++;
	if (int_end - int_start > STMT_MAX_INT_DIGITS)
		return false;
	if (frac_start >= 0 && frac_end - frac_start > STMT_MAX_FRAC_DIGITS)
		return false;
	if (frac_start >= 0)
		for (k = frac_start + STMT_MAX_CENT_DIGITS; k < frac_end; k++)
			if (s[k] != '0')
				return false;

	for (k = int_start; k < int_end; k++)
		if (s[k] != '0')
			all_zero = false;
	if (frac_start >= 0)
		for (k = frac_start; k < frac_end; k++)
			if (s[k] != '0')
				all_zero = false;

	if (negative && !all_zero)
		appendStringInfoChar(out, '-');
	if (int_end > int_start)
		appendBinaryStringInfo(out, s + int_start, int_end - int_start);
	else
		appendStringInfoChar(out, '0');
	if (frac_start >= 0 && frac_end > frac_start)
	{
		appendStringInfoChar(out, '.');
		appendBinaryStringInfo(out, s + frac_start, frac_end - frac_start);
	}
	return true;
}

int
stmt_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (month < 1 || month > 12)
		return 0;
	return days[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool
stmt_valid_date(int year, int month, int day)
{
	return year >= STMT_MIN_YEAR && year <= STMT_MAX_YEAR && month >= 1 && month <= 12 &&
		day >= 1 && day <= stmt_days_in_month(year, month);
}

int
stmt_digits(const char *s, int n)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool
stmt_parse_iso_date(const char *s, int len, StmtDate *out)
{
	if (len < 10 || s[4] != '-' || s[7] != '-')
		return false;
	out->year = stmt_digits(s, 4);
	out->month = stmt_digits(s + 5, 2);
	out->day = stmt_digits(s + 8, 2);
	return out->year >= 0 && out->month >= 0 && out->day >= 0 &&
		stmt_valid_date(out->year, out->month, out->day);
}

char *
stmt_trimmed(const char *s, int len)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
	{
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len <= 0)
		return NULL;
	return pnstrdup(s, len);
}

char *
stmt_squeeze(const char *s)
{
	StringInfoData buf;
	bool		space = false;

	if (s == NULL)
		return NULL;
	initStringInfo(&buf);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		{
			space = buf.len > 0;
			continue;
		}
		if (space)
			appendStringInfoChar(&buf, ' ');
		space = false;
		appendStringInfoChar(&buf, (char) c);
	}
	if (buf.len == 0)
	{
		pfree(buf.data);
		return NULL;
	}
	return buf.data;
}

void
stmt_append_sep(StringInfo buf, const char *sep, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	if (buf->len > 0)
		appendStringInfoString(buf, sep);
	appendStringInfoString(buf, s);
}

char *
stmt_iban_or_null(const char *text)
{
	char		buf[IBAN_MAX_LEN + 1];
	const char *why;

	if (text == NULL || strlen(text) > 64)
		return NULL;
	if (!iban_parse(text, buf, &why))
		return NULL;
	return pstrdup(buf);
}

char *
stmt_account_iban(const char *account)
{
	char	   *iban;
	int			n;
	const char *slash;

	if (account == NULL)
		return NULL;
	if ((iban = stmt_iban_or_null(account)) != NULL)
		return iban;
	n = strlen(account);
	/* a currency code after the IBAN */
	if (n > 3 && to_upper(account[n - 1]) >= 'A' && to_upper(account[n - 1]) <= 'Z' &&
		to_upper(account[n - 2]) >= 'A' && to_upper(account[n - 2]) <= 'Z' &&
		to_upper(account[n - 3]) >= 'A' && to_upper(account[n - 3]) <= 'Z')
	{
		int			k = n - 3;

		while (k > 0 && (account[k - 1] == ' ' || account[k - 1] == '/'))
			k--;
		if ((iban = stmt_iban_or_null(pnstrdup(account, k))) != NULL)
			return iban;
	}
	/* BIC/IBAN or IBAN/currency */
	if ((slash = strchr(account, '/')) != NULL)
	{
		if ((iban = stmt_iban_or_null(pnstrdup(account, slash - account))) != NULL)
			return iban;
		if ((iban = stmt_iban_or_null(strrchr(account, '/') + 1)) != NULL)
			return iban;
	}
	return NULL;
}

/*
 * ISO 11649 in free text: "RF" and two check digits, then letters and
 * digits, either compact ("RF18539007547034") or in the paper format of
 * groups of four separated by one space ("RF18 5390 0754 7034").  The whole
 * run must be a valid reference: a prefix of a longer token never counts,
 * so that a random "RF.." string has no second chance.
 */
char *
stmt_find_creditor_ref(const char *text)
{
	const char *p;

	if (text == NULL)
		return NULL;
	for (p = text; *p; p++)
	{
		char		cand[CREDITOR_REF_MAX_LEN + 8];
		char		out[CREDITOR_REF_MAX_LEN + 1];
		const char *why;
		const char *q;
		int			n = 0;
		int			group;
		bool		too_long = false;

		if (to_upper(p[0]) != 'R' || to_upper(p[1]) != 'F' ||
			!is_digit(p[2]) || !is_digit(p[3]))
			continue;
		if (p > text && is_alnum(p[-1]))
			continue;

		/* the first token: RF, the check digits and what sticks to them */
		q = p;
		group = 0;
		while (is_alnum(*q))
		{
			if (n < CREDITOR_REF_MAX_LEN)
				cand[n++] = to_upper(*q);
			else
				too_long = true;
			group++;
			q++;
		}
		/* further groups of the paper format */
		while (group == 4 && q[0] == ' ' && is_alnum(q[1]) && !too_long)
		{
			const char *g = q + 1;
			int			glen = 0;

			while (is_alnum(g[glen]))
				glen++;
			if (glen > 4 || n + glen > CREDITOR_REF_MAX_LEN)
				break;
			for (int i = 0; i < glen; i++)
				cand[n++] = to_upper(g[i]);
			group = glen;
			q = g + glen;
		}
		if (too_long)
		{
			p = q - 1;
			continue;
		}
		cand[n] = '\0';
		if (creditor_ref_parse(cand, out, &why))
			return pstrdup(out);
	}
	return NULL;
}

char *
stmt_structured_reference(char *given, const char *remittance)
{
	char	   *rf;

	if (given == NULL)
		return stmt_find_creditor_ref(remittance);
	rf = stmt_find_creditor_ref(given);
	return rf != NULL ? rf : given;
}

/* ISO 20022 ExternalReturnReason1Code values seen on SEPA returns. */
static const char *const return_reasons[] = {
	"AC01", "AC02", "AC03", "AC04", "AC05", "AC06", "AC13", "AG01", "AG02",
	"AM01", "AM02", "AM03", "AM04", "AM05", "AM06", "AM07", "AM09", "BE01",
	"BE04", "BE05", "BE06", "BE07", "CNOR", "CURR", "CUST", "DNOR", "DT01",
	"DUPL", "ED01", "ED03", "ED05", "EMVL", "ERIN", "FF01", "FF05", "FOCR",
	"FRAD", "ID01", "MD01", "MD02", "MD05", "MD06", "MD07", "MS02", "MS03",
	"NARR", "NOAS", "NOOR", "PINL", "RC01", "RF01", "RR01", "RR02", "RR03",
	"RR04", "RUTA", "SL01", "SP01", "SP02", "SVNR", "TECH", "TM01", "UPAY",
};

bool
stmt_is_return_reason(const char *s, int len)
{
	int			i;

	if (len != 4)
		return false;
	for (i = 0; i < (int) lengthof(return_reasons); i++)
		if (to_upper(s[0]) == return_reasons[i][0] &&
			to_upper(s[1]) == return_reasons[i][1] &&
			to_upper(s[2]) == return_reasons[i][2] &&
			to_upper(s[3]) == return_reasons[i][3])
			return true;
	return false;
}

/* Case-insensitive (ASCII) search of needle in haystack. */
static const char *
find_ci(const char *haystack, const char *needle)
{
	size_t		n = strlen(needle);
	const char *p;

	for (p = haystack; *p; p++)
	{
		size_t		i;

		for (i = 0; i < n && p[i]; i++)
			if (to_upper(p[i]) != to_upper(needle[i]))
				break;
		if (i == n)
			return p;
	}
	return NULL;
}

/* A known code of 4 characters at p, standing alone as a word. */
static bool
code_at(const char *text, const char *p, bool letters_digits_only)
{
	int			len = 0;

	if (p > text && is_alnum(p[-1]))
		return false;
	while (is_alnum(p[len]))
		len++;
	if (len != 4 || !stmt_is_return_reason(p, 4))
		return false;
	/* a reason code standing alone in prose must look like one: AM04 */
	if (letters_digits_only &&
		!(!is_digit(p[0]) && !is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3])))
		return false;
	return true;
}

char *
stmt_find_return_reason(const char *text, bool return_hint)
{
	static const char *const labels[] = {
		"RTRN", "REASON", "RUECKGABEGRUND", "RUCKGABEGRUND", "GRUND", "REDEN",
		"MOTIF", "CODE RETOUR",
	};
	const char *p;
	int			i;

	if (text == NULL)
		return NULL;
	for (i = 0; i < (int) lengthof(labels); i++)
	{
		const char *from = text;

		while ((p = find_ci(from, labels[i])) != NULL)
		{
			const char *q = p + strlen(labels[i]);

			/* "RTRN/MD06", "Reason: AM04", "Grund MD06", "reason code AC04" */
			if (find_ci(q, " CODE") == q)
				q += 5;
			while (*q == ' ' || *q == ':' || *q == '/' || *q == '+' || *q == '=' ||
				   *q == '-')
				q++;
			if (code_at(text, q, false))
				return pnstrdup(q, 4);
			from = p + 1;
		}
	}
	if (!return_hint)
		return NULL;
	for (p = text; *p; p++)
		if (code_at(text, p, true))
			return pnstrdup(p, 4);
	return NULL;
}

bool
stmt_mentions_return(const char *text)
{
	static const char *const words[] = {
		"RETOUR", "RUECKGABE", "RUCKGABE", "R\xC3\x9C" "CKGABE", "R\xC3\xBC" "CKGABE",
		"RUECKLASTSCHRIFT", "R\xC3\x9C" "CKLASTSCHRIFT", "R\xC3\xBC" "CKLASTSCHRIFT",
		"STORNO", "RETURN", "REVERSAL", "REJECT", "IMPAYE", "REJET", "UNPAID",
	};
	int			i;

	if (text == NULL)
		return false;
	for (i = 0; i < (int) lengthof(words); i++)
		if (find_ci(text, words[i]) != NULL)
			return true;
	return false;
}

const char *
stmt_excerpt(const char *s, int len)
{
	int			n = 0;
	int			clip;
	char	   *copy;
	int			i;

	while (n < len && s[n] != '\n' && s[n] != '\r' && s[n] != '\0')
		n++;
	clip = pg_mbcliplen(s, n, 60);
	copy = pnstrdup(s, clip);
	for (i = 0; i < clip; i++)
		if ((unsigned char) copy[i] < ' ' || copy[i] == 0x7f)
			copy[i] = '?';
	if (clip < n)
		return psprintf("%s...", copy);
	return copy;
}

/* --- format detection --- */

static bool
starts_with(const char *p, const char *end, const char *prefix)
{
	size_t		n = strlen(prefix);

	return (size_t) (end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* Does any line (after spaces) start with one of the SWIFT tags? */
static const char *
detect_swift(const char *p, const char *end)
{
	bool		swift = false;
	bool		balances = false;
	bool		mt942 = false;

	while (p < end)
	{
		const char *eol = memchr(p, '\n', end - p);
		const char *q = p;

		if (eol == NULL)
			eol = end;
		while (q < eol && (*q == ' ' || *q == '\t' || (unsigned char) *q < ' '))
			q++;
		if (starts_with(q, eol, ":20:") || starts_with(q, eol, ":25:") ||
			starts_with(q, eol, ":61:") || starts_with(q, eol, ":28C:") ||
			starts_with(q, eol, "{1:") || starts_with(q, eol, "{4:"))
			swift = true;
		if (starts_with(q, eol, ":60F:") || starts_with(q, eol, ":60M:") ||
			starts_with(q, eol, ":62F:"))
			balances = true;
		if (starts_with(q, eol, ":34F:") || starts_with(q, eol, ":13D:"))
			mt942 = true;
		p = eol + 1;
	}
	if (!swift)
		return NULL;
	return (mt942 && !balances) ? "mt942" : "mt940";
}

static const char *
detect_xml(const char *p, const char *end)
{
	static const struct
	{
		const char *marker;
		const char *format;
	}			markers[] = {
		{"camt.053", "camt.053"},
		{"camt.054", "camt.054"},
		{"camt.052", "camt.052"},
		{"BkToCstmrStmt", "camt.053"},
		{"BkToCstmrDbtCdtNtfctn", "camt.054"},
		{"BkToCstmrAcctRpt", "camt.052"},
	};
	/* the root element and its namespace come first */
	const char *limit = p + Min(end - p, 8192);
	int			i;

	for (i = 0; i < (int) lengthof(markers); i++)
	{
		size_t		n = strlen(markers[i].marker);
		const char *q;

		for (q = p; q + n <= limit; q++)
			if (memcmp(q, markers[i].marker, n) == 0)
				return markers[i].format;
	}
	return NULL;
}

/* A CSV header names at least an amount and a booking date. */
static const char *
detect_csv(const char *p, const char *end)
{
	const char *eol = memchr(p, '\n', end - p);
	char	   *header;

	if (eol == NULL)
		eol = end;
	header = pnstrdup(p, eol - p);
	if (find_ci(header, "amount") != NULL &&
		(find_ci(header, "booking_date") != NULL || find_ci(header, "date") != NULL))
		return "csv";
	return NULL;
}

const char *
statement_detect_format(const char *content, int len)
{
	const char *p = content;
	const char *end = content + len;

	if (starts_with(p, end, "\xEF\xBB\xBF"))
		p += 3;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' ||
					   ((unsigned char) *p < ' ' && *p != '\0')))
		p++;
	if (p >= end)
		return NULL;
	if (*p == '<')
		return detect_xml(p, end);
	return detect_swift(p, end) ? detect_swift(p, end) : detect_csv(p, end);
}

const char *
statement_format_name(const char *given)
{
	static const struct
	{
		const char *name;
		const char *canonical;
	}			names[] = {
		{"camt.053", "camt.053"}, {"camt053", "camt.053"}, {"camt.054", "camt.054"},
		{"camt054", "camt.054"}, {"camt.052", "camt.052"}, {"camt052", "camt.052"},
		{"camt", "camt"}, {"mt940", "mt940"}, {"mt942", "mt942"}, {"swift", "mt940"},
		{"csv", "csv"},
	};
	char		buf[16];
	int			n = 0;
	const char *p;
	int			i;

	for (p = given; *p && n < (int) sizeof(buf) - 1; p++)
	{
		if (*p == ' ' || *p == '-' || *p == '_')
			continue;
		buf[n++] = (*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p;
	}
	if (*p)
		return NULL;
	buf[n] = '\0';
	for (i = 0; i < (int) lengthof(names); i++)
		if (strcmp(buf, names[i].name) == 0)
			return names[i].canonical;
	/* full message names such as camt.053.001.08 */
	if (strncmp(buf, "camt.05", 7) == 0 && (buf[7] == '2' || buf[7] == '3' || buf[7] == '4') &&
		buf[8] == '.')
		return statement_format_name(pnstrdup(buf, 8));
	return NULL;
}
