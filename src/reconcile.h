/*-------------------------------------------------------------------------
 *
 * reconcile.h
 *		State of one ar.reconcile() run: what it loaded (bank lines, open
 *		invoices, customers, their IBANs and settings), the indexes built
 *		over it, and the decisions taken for each line.
 *
 * reconcile.c loads and writes through SPI; reconcile_match.c decides,
 * in C, without touching the database.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_RECONCILE_H
#define AR_RECONCILE_H

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/date.h"

#include "match.h"

/* Settings of one company (ar.reconcile_config). */
typedef struct RcConfig
{
	int64		company_id;
	float4		auto_min;		/* auto_apply_min_score */
	float4		propose_min;	/* propose_min_score */
	float4		margin;			/* ambiguity_margin */
	int			max_proposals;
	Amount		shortfall_abs;
	int64		shortfall_pct;	/* percent * 10^4 */
	bool		close_shortfall;
	Amount		write_off_limit;	/* largest shortfall written off by itself */
	int			max_combination;
	int			max_candidates;
	float4		name_min;		/* name_min_similarity */
	int			issue_grace;	/* days an invoice may be issued after the payment */
} RcConfig;

typedef struct RcCustomer
{
	int64		id;
	int64		company_id;
	char	   *code;
	char	   *name;
	char	  **tokens;			/* name_tokens() */
	int			ntokens;
	int32	   *inv;			/* its open invoices, oldest due date first */
	int			ninv;
} RcCustomer;

/*
 * What the search for a line's candidates reads of each invoice (company,
 * open amount, issue date, currency, paid) comes first, in 25 bytes: a
 * customer's invoices are read one after the other, each where it lies in
 * an array of hundreds of thousands, and these fields then share a cache
 * line more often than not.
 */
typedef struct RcInvoice
{
	int64		company_id;
	Amount		open;			/* as this run left it so far */
	DateADT		issue_date;
	char		currency[4];
	bool		paid;			/* loaded for duplicate detection, not open */
	bool		disputed;
	bool		touched;		/* written by an applied decision */
	int32		cust;			/* index in run->cust, -1 if unknown */
	int64		id;
	Amount		amount;
	Amount		loaded_open;	/* as loaded */
	DateADT		due_date;
	int			keylen;
	char	   *key;			/* refkey_compact(number) */
	char	   *number;
	char	   *payref;			/* payment_reference, or NULL */
	char	   *refkey;			/* refkey_compact(payref), or NULL */
	int			refkeylen;
} RcInvoice;

/* Reference hit classes, strongest first. */
typedef enum HitClass
{
	HIT_NONE = 0,
	HIT_FUZZY,					/* one character mistyped, swapped, missing, extra */
	HIT_PREFIX,					/* the number without its letter prefix */
	HIT_ZEROS,					/* without leading zeros */
	HIT_RF,						/* an ISO 11649 reference whose payload is the number */
	HIT_PAYREF,					/* the invoice's payment_reference */
	HIT_EXACT					/* the number, modulo case, separators and O for 0 */
} HitClass;

typedef struct RcHit
{
	int32		inv;
	HitClass	cls;
	int			diff;			/* REFDIFF_* */
	int			start;			/* span of the written reference in the text */
	int			end;
} RcHit;

/* How the payer was identified. */
typedef enum PayerBy
{
	PAYER_NONE = 0,
	PAYER_NAME_CLOSE,
	PAYER_NAME,
	PAYER_REFERENCE,			/* the customer of a referenced invoice */
	PAYER_IBAN_HISTORY,			/* IBAN seen on earlier payments of the customer */
	PAYER_IBAN					/* IBAN on file (ar.customer_bank_account) */
} PayerBy;

#define MAX_PAYERS			4
#define MAX_HYP_ALLOCS		16
#define MAX_HITS			64
#define MAX_HYPS			48

typedef struct RcPayer
{
	PayerBy		by;
	int			ncust;
	int32		cust[MAX_PAYERS];
	double		similarity;		/* for names */
	bool		iban_unknown;	/* the line has an IBAN that is on file for nobody */
} RcPayer;

/* Agreement between a hypothesis' customer and the payer. */
typedef enum PayerFit
{
	FIT_UNKNOWN,				/* nothing known about the payer */
	FIT_CONFLICT,				/* the IBAN is on file for another customer */
	FIT_NAME_CLOSE,
	FIT_NAME,
	FIT_IBAN					/* IBAN on file or from history */
} PayerFit;

typedef struct RcAlloc
{
	int32		inv;
	Amount		amount;
} RcAlloc;

/* One way of settling a line, with its score and its reasons. */
typedef struct RcHyp
{
	const char *method;
	float4		score;
	bool		exact;			/* the amount is fully explained */
	bool		propose_only;	/* never applied, whatever its score */
	int			nalloc;
	RcAlloc		alloc[MAX_HYP_ALLOCS];
	int			nadj;			/* shortfalls written off (method 'shortfall') */
	RcAlloc		adj[2];
	Amount		left_open;		/* a shortfall left open on the invoice */
	Amount		credit;			/* to customer credit */
	const char *credit_source;	/* 'overpayment' or 'unapplied_payment' */
	int32		cust;			/* the customer it concerns, -1 if none */
	PayerFit	fit;
	HitClass	cls;			/* weakest reference class used, HIT_NONE if none */
	const char *rule;			/* amount rule, for the explanation */
	int			solutions;		/* combinations: solutions found (up to 2) */
	bool		complete;
	double		chance;
	bool		oldest_first;
	bool		globally_unique;	/* the amount names one open invoice in the company */
	int32		named_inv;		/* duplicate: the paid invoice it names */
	int			ndup;			/* paid invoices the credit pays a second time */
	int32		dup[4];
} RcHyp;

typedef enum Outcome
{
	OUT_NONE = 0,
	OUT_APPLIED,
	OUT_PROPOSED,
	OUT_UNMATCHED,
	OUT_IGNORED,				/* a debit that is not a direct-debit return */
	OUT_RETURN,					/* handed to ar._reconcile_returns() */
	OUT_DEFERRED				/* an invoice it needs is busy: next run */
} Outcome;

typedef struct RcLine
{
	int64		id;
	int64		company_id;
	char		currency[4];
	Amount		amount;
	bool		amount_ok;		/* at most 4 decimals and in range */
	DateADT		booking_date;
	char	   *name;
	char	   *iban;
	char	   *text;			/* remittance, structured reference, end-to-end id */
	int			textlen;
	char	   *bank_tx_code;
	char	   *return_reason;
	int			config;			/* index in run->config */
	const char *instalment;		/* the word announcing a deposit or instalment */

	/* decision */
	Outcome		outcome;
	RcPayer		payer;
	int			nhits;
	RcHit	   *hits;
	int			nhyps;
	RcHyp	   *hyps;			/* sorted, best first */
	bool		ambiguous;
	const char *held;			/* why the best is only proposed, or NULL */
	int			flags;			/* LINEFLAG_* */
	char	   *why;			/* why nothing was found, or NULL */
	char	  **paid_keys;		/* reference keys to look up among paid invoices */
	int			npaid_keys;
} RcLine;

#define LINEFLAG_UNKNOWN_PAYER		0x01
#define LINEFLAG_DUPLICATE			0x02
#define LINEFLAG_AMOUNT_MISMATCH	0x04
#define LINEFLAG_OVERPAYMENT		0x08

typedef struct RcRun
{
	MemoryContext cxt;
	int64		run_id;
	bool		auto_apply;

	int			nconfig;
	RcConfig   *config;

	int			nline;
	RcLine	   *line;

	int			ncust;
	RcCustomer *cust;
	KeyIndex   *cust_by_id;		/* hash of id -> customer index */
	int32	   *cust_by_dense_id;	/* id - cust_min_id -> customer index or -1 (dense ids) */
	int64		cust_min_id;
	int64		cust_id_span;	/* entries of cust_by_dense_id */
	KeyIndex   *cust_by_iban;	/* IBAN -> customer index (on file) */
	KeyIndex   *cust_by_iban_hist;	/* IBAN -> customer index (history) */
	KeyIndex   *cust_by_name;	/* all name tokens joined -> customer */
	KeyIndex   *cust_by_token;	/* one name token -> customer */

	int			ninv;
	int			invcap;
	RcInvoice  *inv;
	KeyIndex   *refs;			/* tagged reference keys -> invoice index */
	KeyIndex   *by_amount;		/* (company, currency, open amount) -> invoice */
	struct ByOpen *by_open;		/* open invoices by company, currency, amount (on first need) */
	int32		nby_open;
	int32	   *by_open_pos;	/* invoice index -> its place in by_open, or -1 */
	int32		nby_open_pos;
	int			minkey;			/* shortest and longest indexed key */
	int			maxkey;
	bool		digitless_keys;	/* some indexed key has no digit */
	uint64		reflens[26];	/* by tag - 'A': a bit per length of key in refs */
} RcRun;

/* reconcile_match.c */
extern void rc_build_indexes(RcRun *run);
extern void rc_match_line(RcRun *run, RcLine *line);
extern void rc_prescan(RcRun *run, RcLine *line);
extern void rc_apply_in_memory(RcRun *run, RcLine *line);
extern char *rc_explain(RcRun *run, RcLine *line, RcHyp *h, int rank);

/* jsonb_build.c */
extern Datum rc_jsonb_from_text(const char *text);
extern uint64 rc_id_key(int64 id);
extern uint64 rc_ref_key(RcRun *run, char tag, const char *key, int len);
extern uint64 rc_amount_key(int64 company_id, const char *currency, Amount amount);
extern void rc_index_customer_names(RcRun *run);
extern const char *rc_payer_name(PayerBy by);

/* reconcile_write.c: around the engine's own allocation statement */
extern void rc_engine_write_begin(void);
extern void rc_engine_write_end(void);

#endif							/* AR_RECONCILE_H */
