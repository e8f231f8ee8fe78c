/*
 * fuzz_statement.c
 *		libFuzzer target for one statement parser, chosen at build time:
 *		-DFUZZ_PARSER=mt940_parse, camt_parse or statement_csv_parse.
 *
 * Every input must end in rows or in a clean ERROR (ereport), never in a
 * crash, an out-of-bounds access (AddressSanitizer) or undefined behaviour
 * (UndefinedBehaviorSanitizer).  The sink checks what ar.parse_statement
 * relies on: amounts are decimal text, dates real calendar dates, every
 * string terminated inside its block.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "statement.h"
#include "pg_shim.h"

#ifndef FUZZ_PARSER
#error "define FUZZ_PARSER"
#endif

static void
check(bool ok, const char *what)
{
	if (!ok)
	{
		fprintf(stderr, "fuzz_statement: broken invariant: %s\n", what);
		abort();
	}
}

/* strlen reads every byte: AddressSanitizer sees any overrun */
static void
touch(const char *s)
{
	if (s != NULL)
		check(strlen(s) <= (size_t) 64 * 1024 * 1024, "string length");
}

static void
check_decimal(const char *s, const char *what)
{
	const char *p = s;
	int			dots = 0;

	if (s == NULL)
		return;
	if (*p == '-')
		p++;
	check(*p != '\0', what);
	for (; *p; p++)
	{
		if (*p == '.')
			dots++;
		else
			check(*p >= '0' && *p <= '9', what);
	}
	check(dots <= 1, what);
}

static void
check_date(const StmtDate *d, const char *what)
{
	check(d->year == 0 || stmt_valid_date(d->year, d->month, d->day), what);
}

static void
sink_statement(StmtSink *sink, int statement_no, const StmtHeader *h)
{
	(void) sink;
	check(statement_no > 0, "statement number");
	touch(h->format);
	touch(h->account);
	touch(h->statement_ref);
	touch(h->sequence_no);
	touch(h->message_id);
	touch(h->currency);
	check(h->currency == NULL || strlen(h->currency) == 3, "currency code");
	check_decimal(h->opening_balance, "opening balance");
	check_decimal(h->closing_balance, "closing balance");
	check_decimal(h->declared_credits, "declared credits");
	check_decimal(h->declared_debits, "declared debits");
	check_date(&h->opening_date, "opening date");
	check_date(&h->closing_date, "closing date");
	touch(stmt_account_iban(h->account));
}

static void
sink_line(StmtSink *sink, int statement_no, int line_no, const StmtLine *l)
{
	(void) sink;
	check(statement_no > 0 && line_no > 0, "line number");
	check(l->amount != NULL, "line amount");
	check_decimal(l->amount, "line amount");
	check(l->booking_date.year != 0, "booking date");
	check_date(&l->booking_date, "booking date");
	check_date(&l->value_date, "value date");
	touch(l->currency);
	touch(l->counterparty_name);
	touch(l->counterparty_account);
	touch(stmt_iban_or_null(l->counterparty_account));
	touch(l->counterparty_bic);
	touch(l->remittance_info);
	touch(l->structured_reference);
	touch(l->end_to_end_id);
	touch(l->bank_reference);
	touch(l->customer_reference);
	touch(l->mandate_id);
	touch(l->creditor_id);
	touch(l->bank_tx_code);
	touch(l->bank_tx_code_proprietary);
	touch(l->booking_text);
	touch(l->return_reason);
	touch(l->additional_info);
	touch(l->raw);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	StmtSink	sink = {sink_statement, sink_line, NULL};
	/* a copy of exactly size bytes: any read past it is caught */
	char	   *copy = malloc(size ? size : 1);

	if (size > 1024 * 1024)
	{
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	PG_TRY();
	{
		(void) statement_detect_format(copy, size);
		FUZZ_PARSER(copy, size, &sink);
	}
	PG_CATCH();
	{
		/* a clean error: what malformed input must get */
	}
	PG_END_TRY();
	shim_free_all();
	free(copy);
	return 0;
}
