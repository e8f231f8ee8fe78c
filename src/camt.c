/*
 * camt.c
 *		ISO 20022 bank-to-customer cash management messages: camt.053
 *		statements (versions 001.02 to 001.08 and the later ones of the same
 *		shape), camt.054 debit/credit notifications and camt.052 account
 *		reports, read with libxml2.
 *
 * The input is hostile until proven otherwise: no DTD is accepted (a
 * DOCTYPE or ENTITY declaration is refused before parsing, which rules out
 * entity expansion bombs and external entities), the network is off
 * (XML_PARSE_NONET), libxml2's default limits on depth and text size stay
 * on (no XML_PARSE_HUGE), and every value is validated before use.  Errors
 * name the element by its path, e.g.
 *   /Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt (line 57).
 *
 * One bank line is written per booked entry (Sts BOOK; pending and
 * information-only entries are not bookings and are skipped).  An entry
 * that batches several transactions (several TxDtls whose amounts add up to
 * the entry's) becomes one line per transaction, so that each payment can
 * be matched on its own; the lines still sum to the entry.
 */
#include "postgres.h"

#include <stdarg.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/int.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "statement.h"

typedef struct CamtState
{
	StmtSink   *sink;
	const char *format;			/* camt.052, camt.053 or camt.054 */
	char	   *message_id;
	int			statement_no;
	xmlNodePtr	msg_created;	/* GrpHdr/CreDtTm */
	xmlNodePtr	stmt_created;	/* Stmt, Ntfctn or Rpt /CreDtTm */
	MemoryContext outer;		/* what lives as long as the parse */
	MemoryContext entrycxt;		/* one entry's values, reset after it */
} CamtState;

/* What an entry (Ntry) gives every line made from it. */
typedef struct CamtEntry
{
	xmlNodePtr	node;
	bool		credit;
	bool		reversal;
	char	   *currency;
	StmtDate	booking_date;
	StmtDate	value_date;
	char	   *bank_reference;
	char	   *bank_tx_code;
	char	   *bank_tx_code_proprietary;
	char	   *additional_info;
	char	   *date_note;		/* how the entry was dated, when it had no date */
} CamtEntry;

/* --- element access --- */

static bool
name_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
		strcmp((const char *) n->name, name) == 0;
}

static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
	xmlNodePtr	c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

/* Follows "A/B/C" from n; NULL when a step is missing. */
static xmlNodePtr
path(xmlNodePtr n, const char *steps)
{
	char		step[64];

	while (n != NULL && *steps)
	{
		const char *slash = strchr(steps, '/');
		size_t		len = slash ? (size_t) (slash - steps) : strlen(steps);

		Assert(len < sizeof(step));
		memcpy(step, steps, len);
		step[len] = '\0';
		n = child(n, step);
		steps += len + (slash ? 1 : 0);
	}
	return n;
}

/* The element's own text (text and CDATA children), trimmed; NULL if none. */
static char *
text_of(xmlNodePtr n)
{
	StringInfoData buf;
	xmlNodePtr	c;
	int			s = 0;
	int			e;

	if (n == NULL)
		return NULL;
	initStringInfo(&buf);
	for (c = n->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
			c->content != NULL)
		{
			appendStringInfoString(&buf, (const char *) c->content);
			if (buf.len > STMT_MAX_FIELD)
				break;
		}
	e = buf.len;
	while (s < e && (buf.data[s] == ' ' || buf.data[s] == '\t' || buf.data[s] == '\n' ||
					 buf.data[s] == '\r'))
		s++;
	while (e > s && (buf.data[e - 1] == ' ' || buf.data[e - 1] == '\t' ||
					 buf.data[e - 1] == '\n' || buf.data[e - 1] == '\r'))
		e--;
	if (e == s)
		return NULL;
	return pnstrdup(buf.data + s, e - s);
}

static char *
text_at(xmlNodePtr n, const char *steps)
{
	return text_of(path(n, steps));
}

/* "/Document/BkToCstmrStmt/Stmt[2]/Ntry[5]/Amt": [n] where names repeat. */
static char *
node_path(xmlNodePtr n)
{
	xmlNodePtr	chain[300];
	int			depth = 0;
	StringInfoData buf;

	while (n != NULL && n->type == XML_ELEMENT_NODE && depth < (int) lengthof(chain))
	{
		chain[depth++] = n;
		n = n->parent;
	}
	initStringInfo(&buf);
	while (depth-- > 0)
	{
		xmlNodePtr	e = chain[depth];
		xmlNodePtr	s;
		int			index = 0;
		int			count = 0;

		if (e->parent != NULL && e->parent->type == XML_ELEMENT_NODE)
			for (s = e->parent->children; s != NULL; s = s->next)
				if (name_is(s, (const char *) e->name))
				{
					count++;
					if (s == e)
						index = count;
				}
		appendStringInfo(&buf, "/%s", (const char *) e->name);
		if (count > 1)
			appendStringInfo(&buf, "[%d]", index);
	}
	return buf.data;
}

static void camt_error(CamtState *st, xmlNodePtr n, const char *fmt,...)
			pg_attribute_printf(3, 4);

static void
camt_error(CamtState *st, xmlNodePtr n, const char *fmt,...)
{
	char		what[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("malformed %s message at %s (line %ld): %s",
					st->format ? st->format : "camt", node_path(n), xmlGetLineNo(n), what)));
}

/* --- values --- */

static bool
valid_currency(const char *c)
{
	return c != NULL && strlen(c) == 3 &&
		c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z';
}

/* <Amt Ccy="EUR">12.50</Amt>: the signed decimal text and the currency. */
static char *
read_amount(CamtState *st, xmlNodePtr amt, bool negative, char **currency)
{
	char	   *text = text_of(amt);
	xmlChar    *ccy;
	StringInfoData buf;

	if (text == NULL)
		camt_error(st, amt, "the amount is empty");
	initStringInfo(&buf);
	if (!stmt_parse_decimal(text, strlen(text), ".", negative, &buf))
		camt_error(st, amt, "\"%s\" is not an amount", stmt_excerpt(text, strlen(text)));
	ccy = xmlGetProp(amt, (const xmlChar *) "Ccy");
	if (ccy == NULL)
		camt_error(st, amt, "the amount has no currency (attribute Ccy)");
	*currency = pstrdup((const char *) ccy);
	xmlFree(ccy);
	if (!valid_currency(*currency))
		camt_error(st, amt, "currency \"%s\" is not an ISO 4217 code",
				   stmt_excerpt(*currency, strlen(*currency)));
	return buf.data;
}

/* CdtDbtInd of n: true for CRDT, false for DBIT, an error otherwise. */
static bool
read_credit(CamtState *st, xmlNodePtr n)
{
	xmlNodePtr	ind = child(n, "CdtDbtInd");
	char	   *v = text_of(ind);

	if (v != NULL && strcmp(v, "CRDT") == 0)
		return true;
	if (v != NULL && strcmp(v, "DBIT") == 0)
		return false;
	if (ind == NULL)
		camt_error(st, n, "CdtDbtInd (CRDT or DBIT) is missing");
	camt_error(st, ind, "\"%s\" is neither CRDT nor DBIT", v ? stmt_excerpt(v, strlen(v)) : "");
	return false;				/* not reached */
}

/* A date element holding Dt (YYYY-MM-DD) or DtTm (its date part). */
static void
read_date(CamtState *st, xmlNodePtr n, StmtDate *d)
{
	xmlNodePtr	v = child(n, "Dt");
	char	   *text;

	if (v == NULL)
		v = child(n, "DtTm");
	text = text_of(v);
	if (v == NULL || text == NULL)
		camt_error(st, n, "the date (Dt or DtTm) is missing");
	if (!stmt_parse_iso_date(text, strlen(text), d) ||
		!(text[10] == '\0' || text[10] == 'T' || text[10] == 'Z' || text[10] == '+' ||
		  text[10] == '-'))
		camt_error(st, v, "\"%s\" is not a date (YYYY-MM-DD)", stmt_excerpt(text, strlen(text)));
}

/* <CreDtTm>2026-11-20T10:15:00+01:00</CreDtTm>: its date, as written. */
static void
read_created(CamtState *st, xmlNodePtr n, StmtDate *d)
{
	char	   *text = text_of(n);

	if (text == NULL || !stmt_parse_iso_date(text, strlen(text), d) ||
		!(text[10] == '\0' || text[10] == 'T'))
		camt_error(st, n, "\"%s\" is not a date and time (YYYY-MM-DDThh:mm:ss)",
				   text ? stmt_excerpt(text, strlen(text)) : "");
}

/* Amount text to an integer of 1e-5 units; false when it does not fit. */
static bool
scaled(const char *amount, int64 *out)
{
	int64		v = 0;
	int			frac = -1;
	bool		neg = false;
	const char *p = amount;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	for (; *p; p++)
	{
		if (*p == '.')
		{
			frac = 0;
			continue;
		}
		if (frac >= 5 || pg_mul_s64_overflow(v, 10, &v) || pg_add_s64_overflow(v, *p - '0', &v))
			return false;
		if (frac >= 0)
			frac++;
	}
	for (frac = Max(frac, 0); frac < 5; frac++)
		if (pg_mul_s64_overflow(v, 10, &v))
			return false;
	*out = neg ? -v : v;
	return true;
}

/*
 * Free-text pieces (Ustrd: up to 140 characters each) joined with a space,
 * but without one after a full piece: banks cut long texts at 140.
 */
static void
append_piece(StringInfo buf, const char *piece, int *prev_chars)
{
	const char *p;
	int			chars = 0;

	if (piece == NULL)
		return;
	if (buf->len > 0 && *prev_chars != 140)
		appendStringInfoChar(buf, ' ');
	appendStringInfoString(buf, piece);
	for (p = piece; *p; p++)
		if (((unsigned char) *p & 0xC0) != 0x80)
			chars++;
	*prev_chars = chars;
}

/* --- parties, references, remittance --- */

static char *
party_name(xmlNodePtr party)
{
	char	   *name = text_at(party, "Nm");

	/* version 08 wraps the party: Dbtr/Pty/Nm */
	if (name == NULL)
		name = text_at(party, "Pty/Nm");
	return name;
}

static char *
account_id(xmlNodePtr acct)
{
	char	   *id = text_at(acct, "Id/IBAN");

	if (id == NULL)
		id = text_at(acct, "Id/Othr/Id");
	return id;
}

static char *
agent_bic(xmlNodePtr agent)
{
	char	   *bic = text_at(agent, "FinInstnId/BICFI");

	if (bic == NULL)
		bic = text_at(agent, "FinInstnId/BIC");
	return bic;
}

/*
 * The other party of the transaction: the debtor of a credit, the creditor
 * of a debit; a reversal keeps the roles of the transaction it undoes.
 * When the expected side is missing, whichever side the bank gave.
 */
static void
read_parties(xmlNodePtr tx, bool credit, bool reversal, StmtLine *line)
{
	xmlNodePtr	rp = child(tx, "RltdPties");
	xmlNodePtr	ra = child(tx, "RltdAgts");
	bool		debtor = credit != reversal;
	const char *side[2] = {debtor ? "Dbtr" : "Cdtr", debtor ? "Cdtr" : "Dbtr"};
	int			i;

	for (i = 0; i < 2 && rp != NULL; i++)
	{
		char		acct[16];
		char		ultimate[16];
		char		agent[16];
		xmlNodePtr	party = child(rp, side[i]);

		snprintf(acct, sizeof(acct), "%sAcct", side[i]);
		snprintf(ultimate, sizeof(ultimate), "Ultmt%s", side[i]);
		snprintf(agent, sizeof(agent), "%sAgt", side[i]);
		if (party == NULL && child(rp, acct) == NULL)
			continue;
		line->counterparty_name = party_name(party);
		if (line->counterparty_name == NULL)
			line->counterparty_name = party_name(child(rp, ultimate));
		line->counterparty_account = account_id(child(rp, acct));
		line->counterparty_bic = agent_bic(child(ra, agent));
		break;
	}
}

static void
read_remittance(xmlNodePtr tx, StmtLine *line)
{
	xmlNodePtr	rmt = child(tx, "RmtInf");
	xmlNodePtr	c;
	StringInfoData buf;
	int			prev = 0;

	initStringInfo(&buf);
	if (rmt != NULL)
		for (c = rmt->children; c != NULL; c = c->next)
		{
			if (name_is(c, "Ustrd"))
				append_piece(&buf, text_of(c), &prev);
			else if (name_is(c, "Strd"))
			{
				xmlNodePtr	s;

				for (s = c->children; s != NULL; s = s->next)
				{
					if (name_is(s, "CdtrRefInf") && line->structured_reference == NULL)
						line->structured_reference = text_at(s, "Ref");
					else if (name_is(s, "RfrdDocInf"))
						append_piece(&buf, text_at(s, "Nb"), &prev);
					else if (name_is(s, "AddtlRmtInf"))
						append_piece(&buf, text_of(s), &prev);
				}
			}
		}
	line->remittance_info = stmt_squeeze(buf.data);
}

static void
read_references(xmlNodePtr tx, StmtLine *line)
{
	xmlNodePtr	refs = child(tx, "Refs");
	char	   *e2e = text_at(refs, "EndToEndId");

	if (e2e != NULL && strcmp(e2e, "NOTPROVIDED") != 0)
		line->end_to_end_id = e2e;
	line->customer_reference = text_at(refs, "InstrId");
	if (line->customer_reference == NULL)
		line->customer_reference = text_at(refs, "PmtInfId");
	line->mandate_id = text_at(refs, "MndtId");
	if (text_at(refs, "AcctSvcrRef") != NULL)
		line->bank_reference = text_at(refs, "AcctSvcrRef");
	line->creditor_id = text_at(tx, "RltdPties/Cdtr/Id/PrvtId/Othr/Id");
	line->return_reason = text_at(tx, "RtrInf/Rsn/Cd");
	if (line->return_reason == NULL)
		line->return_reason = text_at(tx, "RtrInf/Rsn/Prtry");
}

/* "PMNT-RCDT-ESCT" from Domn, and the proprietary code. */
static void
read_tx_code(xmlNodePtr n, char **iso, char **proprietary)
{
	xmlNodePtr	code = child(n, "BkTxCd");
	char	   *domain = text_at(code, "Domn/Cd");

	if (domain != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, domain);
		stmt_append_sep(&buf, "-", text_at(code, "Domn/Fmly/Cd"));
		stmt_append_sep(&buf, "-", text_at(code, "Domn/Fmly/SubFmlyCd"));
		*iso = buf.data;
	}
	*proprietary = text_at(code, "Prtry/Cd");
}

static char *
dump_node(xmlNodePtr n)
{
	xmlBufferPtr b = xmlBufferCreate();
	char	   *result = NULL;

	if (b == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (xmlNodeDump(b, n->doc, n, 0, 0) >= 0)
		result = pnstrdup((const char *) xmlBufferContent(b), xmlBufferLength(b));
	xmlBufferFree(b);
	return result;
}

/* --- entries and statements --- */

static void
emit_line(CamtState *st, const CamtEntry *entry, xmlNodePtr tx, xmlNodePtr source,
		  char *amount, bool credit, int line_no)
{
	StmtLine	line;
	char	   *tx_iso = NULL;
	char	   *tx_prop = NULL;
	StringInfoData info;
	bool		hint;

	memset(&line, 0, sizeof(line));
	line.source_line = xmlGetLineNo(source);
	line.booking_date = entry->booking_date;
	line.value_date = entry->value_date;
	line.amount = amount;
	line.currency = entry->currency;
	line.reversal = entry->reversal;
	line.bank_reference = entry->bank_reference;
	line.bank_tx_code = entry->bank_tx_code;
	line.bank_tx_code_proprietary = entry->bank_tx_code_proprietary;

	initStringInfo(&info);
	if (tx != NULL)
	{
		read_references(tx, &line);
		read_parties(tx, credit, entry->reversal, &line);
		read_remittance(tx, &line);
		read_tx_code(tx, &tx_iso, &tx_prop);
		if (line.bank_tx_code == NULL)
			line.bank_tx_code = tx_iso;
		if (line.bank_tx_code_proprietary == NULL)
			line.bank_tx_code_proprietary = tx_prop;
		stmt_append_sep(&info, " ", text_at(tx, "AddtlTxInf"));
		stmt_append_sep(&info, " ", text_at(tx, "RtrInf/AddtlInf"));
	}
	stmt_append_sep(&info, " ", entry->additional_info);
	line.additional_info = stmt_squeeze(info.data);
	/* no remittance from the payer: what the bank wrote about the entry */
	if (line.remittance_info == NULL && line.structured_reference == NULL)
		line.remittance_info = line.additional_info;

	/* an ISO 11649 reference is kept compact, also when found in text */
	line.structured_reference = stmt_structured_reference(line.structured_reference, line.remittance_info);

	hint = entry->reversal || stmt_mentions_return(line.additional_info) ||
		(line.bank_tx_code != NULL &&
		 (strstr(line.bank_tx_code, "UPDD") || strstr(line.bank_tx_code, "RRTN") ||
		  strstr(line.bank_tx_code, "ARET") || strstr(line.bank_tx_code, "RPCR")));
	if (line.return_reason == NULL)
		line.return_reason = stmt_find_return_reason(line.additional_info, hint && !credit);
	if (entry->date_note != NULL)
	{
		StringInfoData with_note;

		initStringInfo(&with_note);
		stmt_append_sep(&with_note, " ", line.additional_info);
		stmt_append_sep(&with_note, " ", entry->date_note);
		line.additional_info = with_note.data;
	}
	line.raw = dump_node(source);
	st->sink->line(st->sink, st->statement_no, line_no, &line);
}

/* The transactions of an entry, in order, across its NtryDtls. */
static int
entry_transactions(xmlNodePtr ntry, xmlNodePtr *out, int max)
{
	xmlNodePtr	d;
	int			n = 0;

	for (d = ntry->children; d != NULL; d = d->next)
	{
		xmlNodePtr	t;

		if (!name_is(d, "NtryDtls"))
			continue;
		for (t = d->children; t != NULL; t = t->next)
			if (name_is(t, "TxDtls"))
			{
				if (n < max)
					out[n] = t;
				n++;
			}
	}
	return n;
}

/* The amount of a transaction, in the entry's currency, or NULL. */
static xmlNodePtr
tx_amount_node(xmlNodePtr tx)
{
	xmlNodePtr	a = child(tx, "Amt");

	if (a == NULL)
		a = path(tx, "AmtDtls/TxAmt/Amt");
	return a;
}

static int
read_entry(CamtState *st, xmlNodePtr ntry, StmtHeader *hdr, int line_no)
{
	CamtEntry	entry;
	xmlNodePtr	amt = child(ntry, "Amt");
	char	   *amount;
	char	   *status;
	xmlNodePtr	sts = child(ntry, "Sts");
	xmlNodePtr	date;
	xmlNodePtr *txs;
	int			ntx;
	int			i;
	bool		split = false;
	char	  **amounts;
	bool	   *credits;

	memset(&entry, 0, sizeof(entry));
	entry.node = ntry;

	/* only booked entries are bookings (BOOK; version 09 and later: Sts/Cd) */
	status = child(sts, "Cd") ? text_at(sts, "Cd") : text_of(sts);
	if (sts != NULL && status == NULL)
		camt_error(st, sts, "the entry status is empty");
	if (status != NULL && strcmp(status, "BOOK") != 0)
	{
		if (strcmp(status, "PDNG") != 0 && strcmp(status, "INFO") != 0 &&
			strcmp(status, "FUTR") != 0)
			camt_error(st, sts, "unknown entry status \"%s\" (BOOK, PDNG or INFO)",
					   stmt_excerpt(status, strlen(status)));
		return line_no;
	}

	if (amt == NULL)
		camt_error(st, ntry, "the entry has no amount (Amt)");
	entry.credit = read_credit(st, ntry);
	amount = read_amount(st, amt, !entry.credit, &entry.currency);
	if (hdr->currency == NULL)
		hdr->currency = MemoryContextStrdup(st->outer, entry.currency);
	else if (strcmp(hdr->currency, entry.currency) != 0)
		camt_error(st, amt, "the entry is in %s, the statement in %s",
				   entry.currency, hdr->currency);
	{
		char	   *rv = text_at(ntry, "RvslInd");

		entry.reversal = rv != NULL && (strcmp(rv, "true") == 0 || strcmp(rv, "1") == 0);
	}
	if ((date = child(ntry, "BookgDt")) != NULL)
		read_date(st, date, &entry.booking_date);
	if ((date = child(ntry, "ValDt")) != NULL)
		read_date(st, date, &entry.value_date);
	if (entry.booking_date.year == 0 && entry.value_date.year != 0)
		entry.booking_date = entry.value_date;
	else if (entry.booking_date.year == 0)
	{
		/*
		 * Both are optional in a notification (camt.054) or a report
		 * (camt.052): the entry is dated by the message's creation date,
		 * and the line says so.  A statement's entries must be dated.
		 */
		xmlNodePtr	created = st->stmt_created ? st->stmt_created : st->msg_created;
		const char *what = strcmp(st->format, "camt.054") == 0 ? "notification" : "report";

		if (strcmp(st->format, "camt.053") == 0)
			camt_error(st, ntry, "the entry has neither a booking date (BookgDt) nor a value date (ValDt)");
		if (created == NULL)
			camt_error(st, ntry, "the entry has neither a booking date (BookgDt) nor a value date (ValDt), and the %s no creation date (CreDtTm)",
					   what);
		read_created(st, created, &entry.booking_date);
		entry.date_note = psprintf("No booking or value date in the entry: dated %04d-%02d-%02d, the creation date of the %s (CreDtTm).",
								   entry.booking_date.year, entry.booking_date.month, entry.booking_date.day, what);
	}
	entry.bank_reference = text_at(ntry, "AcctSvcrRef");
	read_tx_code(ntry, &entry.bank_tx_code, &entry.bank_tx_code_proprietary);
	entry.additional_info = text_at(ntry, "AddtlNtryInf");

	ntx = entry_transactions(ntry, NULL, 0);
	txs = palloc0(sizeof(xmlNodePtr) * Max(ntx, 1));
	entry_transactions(ntry, txs, ntx);
	amounts = palloc0(sizeof(char *) * Max(ntx, 1));
	credits = palloc0(sizeof(bool) * Max(ntx, 1));

	/* a batch whose transactions add up to the entry: one line each */
	if (ntx >= 2)
	{
		int64		total;
		int64		sum = 0;

		split = scaled(amount, &total);
		for (i = 0; i < ntx && split; i++)
		{
			xmlNodePtr	a = tx_amount_node(txs[i]);
			char	   *ccy;
			int64		v;

			if (a == NULL)
			{
				split = false;
				break;
			}
			credits[i] = child(txs[i], "CdtDbtInd") ? read_credit(st, txs[i]) : entry.credit;
			amounts[i] = read_amount(st, a, !credits[i], &ccy);
			if (strcmp(ccy, entry.currency) != 0 || !scaled(amounts[i], &v) ||
				pg_add_s64_overflow(sum, v, &sum))
				split = false;
		}
		if (split && sum != total)
			split = false;
	}

	if (split)
	{
		for (i = 0; i < ntx; i++)
			emit_line(st, &entry, txs[i], txs[i], amounts[i], credits[i], ++line_no);
	}
	else if (ntx == 1)
		emit_line(st, &entry, txs[0], ntry, amount, entry.credit, ++line_no);
	else
	{
		/* no details, or details that cannot be told apart: the entry */
		emit_line(st, &entry, NULL, ntry, amount, entry.credit, ++line_no);
	}
	return line_no;
}

static void
read_balance(CamtState *st, xmlNodePtr bal, StmtHeader *hdr, bool *have_opbd)
{
	xmlNodePtr	tp = path(bal, "Tp/CdOrPrtry");
	char	   *code = text_at(tp, "Cd");
	char	   *amount;
	char	   *currency;
	StmtDate	date;
	xmlNodePtr	amt = child(bal, "Amt");
	bool		opening;

	if (code == NULL)
		code = text_at(tp, "Prtry");
	if (code == NULL)
		camt_error(st, bal, "the balance has no type (Tp/CdOrPrtry/Cd)");
	opening = strcmp(code, "OPBD") == 0 || strcmp(code, "PRCD") == 0;
	if (!opening && strcmp(code, "CLBD") != 0)
		return;
	/* OPBD wins over PRCD; the first of each kind counts */
	if (opening && (*have_opbd || (hdr->opening_balance != NULL && strcmp(code, "PRCD") == 0)))
		return;
	if (!opening && hdr->closing_balance != NULL)
		return;
	if (amt == NULL)
		camt_error(st, bal, "the balance has no amount (Amt)");
	amount = read_amount(st, amt, !read_credit(st, bal), &currency);
	memset(&date, 0, sizeof(date));
	if (child(bal, "Dt") != NULL)
		read_date(st, child(bal, "Dt"), &date);
	if (hdr->currency == NULL)
		hdr->currency = currency;
	else if (strcmp(hdr->currency, currency) != 0)
		return;					/* not a balance of the account: as if absent */
	if (opening)
	{
		hdr->opening_balance = amount;
		hdr->opening_date = date;
		*have_opbd = strcmp(code, "OPBD") == 0;
	}
	else
	{
		hdr->closing_balance = amount;
		hdr->closing_date = date;
	}
}

static void
read_statement(CamtState *st, xmlNodePtr stmt)
{
	StmtHeader	hdr;
	xmlNodePtr	c;
	xmlNodePtr	acct = child(stmt, "Acct");
	bool		have_opbd = false;
	int			line_no = 0;
	char	   *ccy;
	xmlNodePtr	summary = child(stmt, "TxsSummry");

	memset(&hdr, 0, sizeof(hdr));
	st->statement_no++;
	st->stmt_created = child(stmt, "CreDtTm");
	hdr.source_line = xmlGetLineNo(stmt);
	hdr.format = st->format;
	hdr.message_id = st->message_id;
	hdr.statement_ref = text_at(stmt, "Id");
	if (hdr.statement_ref == NULL)
		camt_error(st, stmt, "the statement has no Id");
	hdr.sequence_no = text_at(stmt, "ElctrncSeqNb");
	if (hdr.sequence_no == NULL)
		hdr.sequence_no = text_at(stmt, "LglSeqNb");
	if (acct == NULL)
		camt_error(st, stmt, "the statement has no account (Acct)");
	hdr.account = account_id(acct);
	if (hdr.account == NULL)
		camt_error(st, acct, "the account has no identification (Id/IBAN or Id/Othr/Id)");
	ccy = text_at(acct, "Ccy");
	if (ccy != NULL)
	{
		if (!valid_currency(ccy))
			camt_error(st, child(acct, "Ccy"), "\"%s\" is not an ISO 4217 code",
					   stmt_excerpt(ccy, strlen(ccy)));
		hdr.currency = ccy;
	}

	for (c = stmt->children; c != NULL; c = c->next)
		if (name_is(c, "Bal"))
			read_balance(st, c, &hdr, &have_opbd);
	/*
	 * A camt.053 statement without both balances (in the account's
	 * currency) is refused by ar.import_statement, or stored flagged with
	 * strict => false: the parser reports what it found.
	 */
	if (summary != NULL)
	{
		char	   *sum;
		StringInfoData buf;

		if ((sum = text_at(summary, "TtlCdtNtries/Sum")) != NULL)
		{
			initStringInfo(&buf);
			if (!stmt_parse_decimal(sum, strlen(sum), ".", false, &buf))
				camt_error(st, path(summary, "TtlCdtNtries/Sum"), "\"%s\" is not an amount",
						   stmt_excerpt(sum, strlen(sum)));
			hdr.declared_credits = buf.data;
		}
		if ((sum = text_at(summary, "TtlDbtNtries/Sum")) != NULL)
		{
			initStringInfo(&buf);
			if (!stmt_parse_decimal(sum, strlen(sum), ".", true, &buf))
				camt_error(st, path(summary, "TtlDbtNtries/Sum"), "\"%s\" is not an amount",
						   stmt_excerpt(sum, strlen(sum)));
			hdr.declared_debits = buf.data;
		}
	}

	for (c = stmt->children; c != NULL; c = c->next)
	{
		CHECK_FOR_INTERRUPTS();
		if (name_is(c, "Ntry"))
		{
			/* an entry's values go once the sink has its lines */
			MemoryContext old = MemoryContextSwitchTo(st->entrycxt);

			line_no = read_entry(st, c, &hdr, line_no);
			MemoryContextSwitchTo(old);
			MemoryContextReset(st->entrycxt);
		}
	}
	if (hdr.currency == NULL)
		camt_error(st, stmt, "the statement states no currency (Acct/Ccy, Bal/Amt or Ntry/Amt)");
	st->sink->statement(st->sink, st->statement_no, &hdr);
}

/*
 * The message kind and version from the namespace
 * urn:iso:std:iso:20022:tech:xsd:camt.053.001.08; NULL namespace: from the
 * element under Document.
 */
static void
read_namespace(CamtState *st, xmlNodePtr root, xmlNodePtr msg)
{
	const char *expected = NULL;

	if (name_is(msg, "BkToCstmrStmt"))
		expected = "camt.053";
	else if (name_is(msg, "BkToCstmrDbtCdtNtfctn"))
		expected = "camt.054";
	else if (name_is(msg, "BkToCstmrAcctRpt"))
		expected = "camt.052";
	else
		camt_error(st, msg ? msg : root,
				   "expected BkToCstmrStmt (camt.053), BkToCstmrDbtCdtNtfctn (camt.054) or BkToCstmrAcctRpt (camt.052)");
	st->format = expected;
	if (root->ns != NULL && root->ns->href != NULL)
	{
		const char *href = (const char *) root->ns->href;
		const char *prefix = "urn:iso:std:iso:20022:tech:xsd:";
		size_t		n = strlen(prefix);
		int			version;

		if (strncmp(href, prefix, n) != 0 || strncmp(href + n, expected, 8) != 0 ||
			strncmp(href + n + 8, ".001.", 5) != 0 || strlen(href + n + 13) != 2 ||
			(version = stmt_digits(href + n + 13, 2)) < 0)
			camt_error(st, root, "namespace \"%s\" is not that of a %s message",
					   stmt_excerpt(href, strlen(href)), expected);
		if (version < 2 || version > 13)
			camt_error(st, root, "version %s.001.%02d is not supported (001.02 to 001.13)",
					   expected, version);
	}
}

static void
walk_document(CamtState *st, xmlDocPtr doc)
{
	xmlNodePtr	root = xmlDocGetRootElement(doc);
	xmlNodePtr	msg;
	xmlNodePtr	c;
	const char *unit;

	if (!name_is(root, "Document"))
		camt_error(st, root, "the root element must be Document");
	for (msg = root->children; msg != NULL && msg->type != XML_ELEMENT_NODE; msg = msg->next)
		;
	read_namespace(st, root, msg);
	st->message_id = text_at(msg, "GrpHdr/MsgId");
	st->msg_created = path(msg, "GrpHdr/CreDtTm");
	unit = strcmp(st->format, "camt.053") == 0 ? "Stmt" :
		strcmp(st->format, "camt.054") == 0 ? "Ntfctn" : "Rpt";
	for (c = msg->children; c != NULL; c = c->next)
		if (name_is(c, unit))
			read_statement(st, c);
	if (st->statement_no == 0)
		camt_error(st, msg, "the message has no %s", unit);
}

/* Line number of byte offset "at". */
static int
line_of(const char *content, int at)
{
	int			line = 1;
	int			i;

	for (i = 0; i < at; i++)
		if (content[i] == '\n')
			line++;
	return line;
}

/*
 * Refuses document type declarations before libxml2 sees them: bank
 * messages never have one, and they are the door to entity expansion and
 * external entities.
 */
static void
refuse_dtd(const char *content, int len)
{
	static const char *const markers[] = {"<!DOCTYPE", "<!ENTITY"};
	int			m;
	int			i;

	for (m = 0; m < (int) lengthof(markers); m++)
	{
		int			n = strlen(markers[m]);

		for (i = 0; i + n <= len; i++)
			if (content[i] == '<' && memcmp(content + i, markers[m], n) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("malformed camt message at line %d: document type declarations are not accepted",
								line_of(content, i)),
						 errdetail("ISO 20022 messages have no DOCTYPE or ENTITY declaration.")));
	}
}

void
camt_parse(const char *content, int len, StmtSink *sink)
{
	CamtState	st;
	xmlParserCtxtPtr volatile ctxt = NULL;
	xmlDocPtr volatile doc = NULL;

	memset(&st, 0, sizeof(st));
	st.sink = sink;
	st.outer = CurrentMemoryContext;
	st.entrycxt = AllocSetContextCreate(CurrentMemoryContext, "camt entry",
										ALLOCSET_DEFAULT_SIZES);
	refuse_dtd(content, len);

	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	PG_TRY();
	{
		doc = xmlCtxtReadMemory(ctxt, content, len, NULL, "UTF-8",
								XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
								XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
		if (doc == NULL || !ctxt->wellFormed)
		{
			const char *msg = ctxt->lastError.message ? ctxt->lastError.message : "not well-formed XML";
			int			n = strlen(msg);

			while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				n--;
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed camt message at line %d: %.*s",
							ctxt->lastError.line, n, msg)));
		}
		if (doc->intSubset != NULL || doc->extSubset != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("malformed camt message: document type declarations are not accepted")));
		walk_document(&st, doc);
	}
	PG_FINALLY();
	{
		if (doc != NULL)
			xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
	}
	PG_END_TRY();
	MemoryContextDelete(st.entrycxt);
}
