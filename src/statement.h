/*
 * statement.h
 *		What the bank-statement parsers share: the rows they produce, the
 *		sink that receives them, and the helpers that read amounts, dates
 *		and identifiers out of untrusted text.
 *
 * Each format has a parser of its own (mt940.c, camt.c, statement_csv.c).
 * A parser reads the whole file, reports every statement and every line to
 * a StmtSink, and throws an error naming the line (or the XML element) of
 * the first malformed thing it meets.  It streams: what it allocates for a
 * line lives in a memory context of its own that is reset once the sink
 * has the line, so that its memory does not grow with the number of lines
 * (a sink copies what it keeps); a header lives until the parse ends.  The parsers and these helpers use
 * palloc, StringInfo and ereport only, so the fuzz harness (fuzz/) links
 * them without a server; statement_sql.c turns the rows into SQL tuples.
 *
 * Amounts are passed as exact decimal text ("-1234.50"), never as floats;
 * dates as validated year, month and day.
 */
#ifndef AR_STATEMENT_H
#define AR_STATEMENT_H

#include "lib/stringinfo.h"

/* A calendar date; year == 0 means "absent". */
typedef struct StmtDate
{
	int			year;
	int			month;
	int			day;
} StmtDate;

/* One statement of a file: its header, known once it has been read. */
typedef struct StmtHeader
{
	int			source_line;	/* line of the file where it starts */
	const char *format;			/* "mt940", "mt942", "camt.053", ... */
	char	   *account;		/* account identification as written */
	char	   *statement_ref;	/* :20: + :28C:, camt Stmt/Id, csv column */
	char	   *sequence_no;	/* :28C:, ElctrncSeqNb or LglSeqNb */
	char	   *message_id;		/* camt GrpHdr/MsgId */
	char	   *currency;		/* ISO 4217 */
	StmtDate	opening_date;
	char	   *opening_balance;	/* signed decimal text, or NULL */
	StmtDate	closing_date;
	char	   *closing_balance;
	char	   *declared_credits;	/* totals the bank states (MT942 :90C:, */
	char	   *declared_debits;	/* camt TxsSummry), debits negative */
} StmtHeader;

/* One booked line of a statement. */
typedef struct StmtLine
{
	int			source_line;
	StmtDate	booking_date;
	StmtDate	value_date;
	char	   *amount;			/* signed decimal text: credit > 0 */
	char	   *currency;
	char	   *counterparty_name;
	char	   *counterparty_account;	/* as written (IBAN or not) */
	char	   *counterparty_bic;
	char	   *remittance_info;	/* unstructured remittance */
	char	   *structured_reference;	/* creditor reference (RF...) */
	char	   *end_to_end_id;
	char	   *bank_reference;
	char	   *customer_reference;
	char	   *mandate_id;
	char	   *creditor_id;
	char	   *bank_tx_code;	/* ISO domain-family-subfamily, or SWIFT */
	char	   *bank_tx_code_proprietary;	/* GVC, camt Prtry, ... */
	char	   *booking_text;
	char	   *return_reason;	/* ISO 20022 reason code (AM04, MD06...) */
	char	   *additional_info;
	bool		reversal;
	char	   *raw;			/* the source text of the line */
} StmtLine;

typedef struct StmtSink StmtSink;
struct StmtSink
{
	/* statement_no counts from 1 in the file; called after its lines */
	void		(*statement) (StmtSink *sink, int statement_no,
							  const StmtHeader *header);
	/* line_no counts from 1 in its statement */
	void		(*line) (StmtSink *sink, int statement_no, int line_no,
						 const StmtLine *line);
	void	   *arg;
};

/* The parsers: content need not be NUL-terminated. */
extern void mt940_parse(const char *content, int len, StmtSink *sink);
extern void camt_parse(const char *content, int len, StmtSink *sink);
extern void statement_csv_parse(const char *content, int len, StmtSink *sink);

/*
 * Format detection from the first bytes: "camt.052", "camt.053",
 * "camt.054", "mt940", "mt942", "csv", or NULL when nothing fits.
 */
extern const char *statement_detect_format(const char *content, int len);

/* The canonical name of a format the caller gives, or NULL if unknown. */
extern const char *statement_format_name(const char *given);

/* --- helpers shared by the parsers --- */

/*
 * Reads a decimal amount "digits[sep digits]" (sep is one of the chars in
 * "seps") into "out" as "[-]digits[.digits]" without leading zeros.
 * Returns false when the text is not such a number or lies beyond the input
 * bounds (doc/input-bounds.md): more than 16 integer digits, more than 10
 * fractional digits, or a non-zero digit after the second decimal.
 */
extern bool stmt_parse_decimal(const char *s, int len, const char *seps,
							   bool negative, StringInfo out);

/* The years of the input bounds (doc/input-bounds.md): 1900-01-01 to 2200-12-31. */
#define STMT_MIN_YEAR	1900
#define STMT_MAX_YEAR	2200

/* Is y-m-d a real calendar date within the bounds (years 1900 to 2200)? */
extern bool stmt_valid_date(int year, int month, int day);

/* Days in a month of a year (Gregorian). */
extern int	stmt_days_in_month(int year, int month);

/* Reads n ASCII digits at s; -1 if any is not a digit. */
extern int	stmt_digits(const char *s, int n);

/* "YYYY-MM-DD" at the start of s (len bytes); false if not a date. */
extern bool stmt_parse_iso_date(const char *s, int len, StmtDate *out);

/* A palloc'd copy of s[0..len) with spaces trimmed at both ends, or NULL
 * when nothing is left. */
extern char *stmt_trimmed(const char *s, int len);

/* Collapses runs of white space to one space and trims; NULL if empty. */
extern char *stmt_squeeze(const char *s);

/* Appends s to buf with a separator when both are non-empty. */
extern void stmt_append_sep(StringInfo buf, const char *sep, const char *s);

/*
 * The IBAN in an account identification as banks write it: "NL34RABO0142623393",
 * "NL34RABO0142623393 EUR", "NL77INGB0574908765EUR", "INGBNL2A/NL77...".
 * NULL when there is none.
 */
extern char *stmt_account_iban(const char *account);

/* An ISO 11649 reference found in free text (compact), or NULL. */
extern char *stmt_find_creditor_ref(const char *text);

/*
 * The structured reference a line keeps: the one given, compacted when it is
 * an ISO 11649 reference; without one, an ISO 11649 reference found in the
 * remittance text, or NULL.
 */
extern char *stmt_structured_reference(char *given, const char *remittance);

/* The compact IBAN of text when it is one, else NULL (never throws). */
extern char *stmt_iban_or_null(const char *text);

/* A known ISO 20022 return reason code (AC04, MD06, ...)? */
extern bool stmt_is_return_reason(const char *s, int len);

/*
 * The return reason named in free text: "/RTRN/MD06/", "reason: AM04",
 * "Rueckgabegrund MD06"... or, when "return_hint" is set (the line says it
 * is a return), a known reason code standing alone.  NULL if none.
 */
extern char *stmt_find_return_reason(const char *text, bool return_hint);

/* Does the text announce a return or reversal (RETOUR, RUECKGABE...)? */
extern bool stmt_mentions_return(const char *text);

/* Text quoted in error messages: at most 60 bytes of one line. */
extern const char *stmt_excerpt(const char *s, int len);

/* Longest text of a single field the parsers accept, in bytes. */
#define STMT_MAX_FIELD		(64 * 1024)

/*
 * Largest statement file ar.parse_statement and ar.import_statement accept,
 * in bytes (256 MB: about 1.5 million CSV lines): the file is in memory
 * once, the parse and the import in bounded memory beyond it.
 */
#define STMT_MAX_INPUT		(256 * 1024 * 1024)

#endif							/* AR_STATEMENT_H */
