/*-------------------------------------------------------------------------
 *
 * dunning_lines.h
 *		ar._dunning_lines: the invoices a notice lists, as the letter prints
 *		them (amounts in cents), in one flat value.  Built per account by
 *		the aggregate of the same name (dunning_lines.c); read by the
 *		invoice table and the invoice ids of a notice (letter.c).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_DUNNING_LINES_H
#define AR_DUNNING_LINES_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/date.h"

/* DunLine.flags */
#define DUN_LINE_INTEREST	0x0001	/* interest is known */
#define DUN_LINE_FEE		0x0002	/* fixed_fee is known */
#define DUN_LINE_FLAGS		0x0003

/* The longest invoice number a line carries, in bytes. */
#define DUN_LINE_MAX_NUMBER	PG_UINT16_MAX

/* One line; number_len bytes of invoice number follow, then padding. */
typedef struct DunLine
{
	int64		invoice_id;
	int64		amount;			/* cents, rounded half away from zero */
	int64		open_amount;	/* cents */
	int64		interest;		/* cents, when DUN_LINE_INTEREST */
	int64		fixed_fee;		/* cents, when DUN_LINE_FEE */
	DateADT		due_date;
	int32		days_late;
	int32		level;
	uint16		flags;
	uint16		number_len;
} DunLine;

/*
 * The value: a varlena header (its size may exceed the bytes used: an
 * aggregate state keeps room to grow), the count, the bytes of lines used,
 * then the lines, each MAXALIGNed.
 */
typedef struct DunLines
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		nlines;
	int32		used;
	int32		pad;
} DunLines;

#define DUN_LINES_DATA(lines)	((char *) (lines) + sizeof(DunLines))
#define DUN_LINE_SIZE(number_len)	MAXALIGN(sizeof(DunLine) + (number_len))
#define DUN_LINE_NUMBER(line)	((const char *) (line) + sizeof(DunLine))

/* dunning_lines.c, for the dunning pass (dunning_pass.c) too */
extern DunLines *dl_new(int capacity);
extern DunLines *dl_append(DunLines *lines, const DunLine *line, const char *number);
extern int64 dl_cents(Datum amount, const char *what);
extern void dl_line_from_args(FunctionCallInfo fcinfo, int first, DunLine *line, text **number);
extern DunLines *dl_listing(const DunLines *state);
extern void dl_check(const DunLines *lines);
extern bool dl_scan_quoted(const char **p, StringInfo buf);
extern Datum dunning_lines_in(PG_FUNCTION_ARGS);
extern Datum dunning_lines_out(PG_FUNCTION_ARGS);

/* Argument argno, detoasted and checked (never modified). */
extern DunLines *dun_lines_arg(FunctionCallInfo fcinfo, int argno);

/* The next line at *offset of checked lines, advancing *offset. */
static inline const DunLine *
dun_lines_next(const DunLines *lines, int *offset)
{
	const DunLine *line = (const DunLine *) (DUN_LINES_DATA(lines) + *offset);

	*offset += DUN_LINE_SIZE(line->number_len);
	return line;
}

#endif							/* AR_DUNNING_LINES_H */
