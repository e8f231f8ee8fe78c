/*-------------------------------------------------------------------------
 *
 * reconcile_match.c
 *		The decisions of ar.reconcile(), in C and in memory: which invoices
 *		a bank line names, who paid it, which ways of settling it the
 *		amount allows, how sure each one is, and which one (if any) is
 *		applied without a human.
 *
 * For one credit line:
 *   1. Payer: the counterparty IBAN on file (ar.customer_bank_account),
 *      else seen on earlier payments of a customer, else a close name.
 *   2. References: every run of 1 to 4 tokens of the remittance text, the
 *      structured reference and the end-to-end id is reduced to keys
 *      (match_text.c) and looked up among the open invoices' numbers and
 *      payment references: exact modulo case, separators and O for 0;
 *      without leading zeros; without the letter prefix; an ISO 11649
 *      reference built on the number; and, when that is not conclusive,
 *      one character mistyped, swapped, missing or extra (deletion
 *      neighbourhood index).  "FA-2026-000123, 124 et 125" also names
 *      000124 and 000125.
 *   3. Hypotheses: the referenced invoice(s) paid exactly, short by a
 *      tolerated amount, partially or with an overpayment; the payer's one
 *      open invoice of exactly that amount; a combination of the payer's
 *      open invoices (bounded subset-sum, oldest first); the amount alone.
 *   4. Each hypothesis gets a score from a fixed table (reference class x
 *      payer agreement x amount rule, below).  The best is applied when its
 *      score reaches the company's auto_apply_min_score, no other
 *      hypothesis comes within ambiguity_margin of it, and it is not a kind
 *      that is only ever proposed; otherwise the best ones are proposed.
 *
 * Conservative by construction: a name alone, an amount alone, an amount
 * shared by several open invoices of the payer, a mistyped reference
 * without a confirmed payer, a combination that could be a coincidence,
 * are never applied.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "identifier.h"
#include "reconcile.h"

#define MAX_TOKENS			96
#define MAX_PAID_KEYS		16
#define SUBSET_BUDGET		200000
#define NAME_CANDIDATES		64

uint64
rc_id_key(int64 id)
{
	return match_hash('I', (const char *) &id, sizeof(id));
}

uint64
rc_amount_key(int64 company_id, const char *currency, Amount amount)
{
	char		buf[sizeof(int64) + 3 + sizeof(Amount)];

	memcpy(buf, &company_id, sizeof(int64));
	memcpy(buf + sizeof(int64), currency, 3);
	memcpy(buf + sizeof(int64) + 3, &amount, sizeof(Amount));
	return match_hash('A', buf, sizeof(buf));
}

/*
 * The bit of a key's length in run->reflens (keys longer than 62 share the
 * last one).  Every lookup in run->refs compares the key found with the
 * one looked up, length included: a window of a remittance text whose
 * length no indexed key of its kind has is answered here, without the
 * hash and the cache misses of the index (most windows are such).
 */
static inline uint64
reflen_bit(int len)
{
	return UINT64CONST(1) << Min(len, 63);
}

/* The hash of a key added to run->refs, its length noted. */
uint64
rc_ref_key(RcRun *run, char tag, const char *key, int len)
{
	Assert(tag >= 'A' && tag <= 'Z');
	run->reflens[tag - 'A'] |= reflen_bit(len);
	return match_hash(tag, key, len);
}

/* The first position of a key's list in run->refs, or -1 */
static inline int32
refs_first(RcRun *run, char tag, const char *key, int len)
{
	Assert(tag >= 'A' && tag <= 'Z');
	if (len < 0 || (run->reflens[tag - 'A'] & reflen_bit(len)) == 0)
		return -1;
	return kix_first(run->refs, match_hash(tag, key, len));
}

static inline RcConfig *
line_config(RcRun *run, RcLine *line)
{
	return &run->config[line->config];
}

static bool within_tolerance(RcConfig *cfg, Amount open, Amount shortfall);

/* ------------------------------------------------------------- indexes */

static bool
has_digit(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] >= '0' && s[i] <= '9')
			return true;
	return false;
}

static bool
all_digits(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

static void
note_key_length(RcRun *run, const char *key, int len)
{
	run->minkey = Min(run->minkey, len);
	run->maxkey = Max(run->maxkey, len);
	if (!has_digit(key, len))
		run->digitless_keys = true;
}

/* Keys and values gathered for kix_add_many(). */
typedef struct KeyBatch
{
	uint64	   *keys;
	int32	   *values;
	int32		n;
	int32		cap;
} KeyBatch;

static void
batch_init(KeyBatch *b, int32 cap)
{
	b->cap = Max(cap, 16);
	b->n = 0;
	b->keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * b->cap);
	b->values = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * b->cap);
}

static void
batch_add(KeyBatch *b, uint64 key, int32 value)
{
	if (b->n == b->cap)
	{
		b->cap *= 2;
		b->keys = repalloc_huge(b->keys, sizeof(uint64) * b->cap);
		b->values = repalloc_huge(b->values, sizeof(int32) * b->cap);
	}
	b->keys[b->n] = key;
	b->values[b->n++] = value;
}

/* Adds the batch to the index, in its order, and frees it. */
static void
batch_flush(KeyBatch *b, KeyIndex *ix)
{
	kix_add_many(ix, b->keys, b->values, b->n);
	pfree(b->keys);
	pfree(b->values);
	b->n = 0;
}

/* The tagged keys under which an invoice can be found (for run->refs). */
static void
index_invoice(RcRun *run, KeyBatch *refs, int32 i)
{
	RcInvoice  *inv = &run->inv[i];
	char		k2[REFKEY_MAX + 1];
	char		digits[REFKEY_MAX + 1];
	char		grouped[REFKEY_MAX + 1];
	int			numlen = strlen(inv->number);
	int			len;

	if (inv->keylen >= 4 && inv->keylen <= REFKEY_MAX)
	{
		batch_add(refs, rc_ref_key(run, 'K', inv->key, inv->keylen), i);
		note_key_length(run, inv->key, inv->keylen);
	}
	if (inv->refkey && inv->refkeylen >= 4 && inv->refkeylen <= REFKEY_MAX
		&& strcmp(inv->refkey, inv->key) != 0)
	{
		batch_add(refs, rc_ref_key(run, 'P', inv->refkey, inv->refkeylen), i);
		note_key_length(run, inv->refkey, inv->refkeylen);
	}
	/* without leading zeros: only numbers of several groups */
	len = refkey_grouped(inv->number, numlen, k2, REFKEY_MAX);
	if (len <= REFKEY_MAX && strchr(k2, '|') != NULL)
		batch_add(refs, rc_ref_key(run, 'Z', k2, len), i);
	/* without the letter prefix */
	if (refkey_digits(inv->number, numlen, digits, grouped, REFKEY_MAX))
	{
		batch_add(refs, rc_ref_key(run, 'D', digits, strlen(digits)), i);
		if (strchr(grouped, '|') != NULL)
			batch_add(refs, rc_ref_key(run, 'G', grouped, strlen(grouped)), i);
	}
}

static RcRun *sort_run;			/* for qsort of customer invoice lists */

static int
cmp_invoice_age(const void *a, const void *b)
{
	const RcInvoice *x = &sort_run->inv[*(const int32 *) a];
	const RcInvoice *y = &sort_run->inv[*(const int32 *) b];

	if (x->due_date != y->due_date)
		return x->due_date < y->due_date ? -1 : 1;
	if (x->issue_date != y->issue_date)
		return x->issue_date < y->issue_date ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void
rc_build_indexes(RcRun *run)
{
	int32	   *count;
	KeyBatch	refs,
				by_amount;

	run->refs = kix_create(run->cxt, run->ninv * 4 + 16);
	memset(run->reflens, 0, sizeof(run->reflens));
	run->by_amount = kix_create(run->cxt, run->ninv + 16);
	run->minkey = REFKEY_MAX;
	run->maxkey = 0;
	batch_init(&refs, run->ninv * 4 + 16);
	batch_init(&by_amount, run->ninv + 16);
	for (int32 i = 0; i < run->ninv; i++)
	{
		RcInvoice  *inv = &run->inv[i];

		index_invoice(run, &refs, i);
		batch_add(&by_amount, rc_amount_key(inv->company_id, inv->currency, inv->open), i);
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	batch_flush(&refs, run->refs);
	batch_flush(&by_amount, run->by_amount);

	/* each customer's open invoices, oldest first */
	count = palloc0(sizeof(int32) * (run->ncust + 1));
	for (int32 i = 0; i < run->ninv; i++)
		if (run->inv[i].cust >= 0)
			count[run->inv[i].cust]++;
	for (int c = 0; c < run->ncust; c++)
	{
		run->cust[c].inv = count[c] > 0 ? palloc(sizeof(int32) * count[c]) : NULL;
		run->cust[c].ninv = 0;
	}
	for (int32 i = 0; i < run->ninv; i++)
	{
		RcCustomer *c;

		if (run->inv[i].cust < 0)
			continue;
		c = &run->cust[run->inv[i].cust];
		c->inv[c->ninv++] = i;
	}
	sort_run = run;
	for (int c = 0; c < run->ncust; c++)
		if (run->cust[c].ninv > 1)
			qsort(run->cust[c].inv, run->cust[c].ninv, sizeof(int32), cmp_invoice_age);
	sort_run = NULL;
	pfree(count);
}

/*
 * An open invoice's place in run->by_open: company, currency, amount as
 * loaded, then its index (a total order).  Sorted as plain values, with an
 * inlined comparison: half a million invoices were sorted through an index
 * into run->inv and a comparison function call per step.
 */
typedef struct ByOpen
{
	int64		company_id;
	Amount		open;			/* as loaded */
	Amount		now;			/* as this run left it so far (inv->open) */
	uint32		currency;		/* currency_key() */
	int32		inv;
} ByOpen;

/* The 3 bytes of a currency code, the first highest: ordered as memcmp() orders them. */
static inline uint32
currency_key(const char *currency)
{
	return ((uint32) (unsigned char) currency[0] << 16)
		| ((uint32) (unsigned char) currency[1] << 8) | (uint32) (unsigned char) currency[2];
}

static inline int
cmp_by_open(const ByOpen *x, const ByOpen *y)
{
	if (x->company_id != y->company_id)
		return x->company_id < y->company_id ? -1 : 1;
	if (x->currency != y->currency)
		return x->currency < y->currency ? -1 : 1;
	if (x->open != y->open)
		return x->open < y->open ? -1 : 1;
	return x->inv < y->inv ? -1 : x->inv > y->inv;
}

#define ST_SORT sort_by_open
#define ST_ELEMENT_TYPE ByOpen
#define ST_COMPARE(a, b) cmp_by_open(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Open invoices by company, currency and amount, for the candidates of a
 * mistyped reference: those the line pays within the shortfall tolerance.
 * The sort keys stay in the array: the search reads them there, not
 * through an index into run->inv at every step.
 */
static void
build_by_open(RcRun *run)
{
	int32		n = 0;
	ByOpen	   *sorted;

	if (run->by_open != NULL)
		return;
	sorted = MemoryContextAllocHuge(run->cxt, sizeof(ByOpen) * Max(run->ninv, 1));
	for (int32 i = 0; i < run->ninv; i++)
	{
		RcInvoice  *inv = &run->inv[i];

		if (inv->paid || inv->loaded_open <= 0)
			continue;
		sorted[n].company_id = inv->company_id;
		sorted[n].open = inv->loaded_open;
		sorted[n].now = inv->open;
		sorted[n].currency = currency_key(inv->currency);
		sorted[n].inv = i;
		n++;
	}
	sort_by_open(sorted, n);
	run->by_open = sorted;
	run->nby_open = n;
	run->by_open_pos = MemoryContextAllocHuge(run->cxt, sizeof(int32) * Max(run->ninv, 1));
	run->nby_open_pos = run->ninv;
	for (int32 i = 0; i < run->ninv; i++)
		run->by_open_pos[i] = -1;
	for (int32 k = 0; k < n; k++)
		run->by_open_pos[sorted[k].inv] = k;
}

/* An invoice's open amount changed in memory: its copy in by_open follows. */
static void
by_open_changed(RcRun *run, int32 i)
{
	if (run->by_open != NULL && i < run->nby_open_pos && run->by_open_pos[i] >= 0)
		run->by_open[run->by_open_pos[i]].now = run->inv[i].open;
}

/* -------------------------------------------------------------- payer */

static int
cmp_token(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Hash of a name's tokens in alphabetical order: word order does not matter. */
static uint64
name_key(char **tokens, int n)
{
	char	   *sorted[NAME_MAX_TOKENS];
	StringInfoData buf;
	uint64		h;

	memcpy(sorted, tokens, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), cmp_token);
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s ", sorted[i]);
	h = match_hash('N', buf.data, buf.len);
	pfree(buf.data);
	return h;
}

void
rc_index_customer_names(RcRun *run)
{
	run->cust_by_name = kix_create(run->cxt, run->ncust + 16);
	run->cust_by_token = kix_create(run->cxt, run->ncust * 3 + 16);
	for (int c = 0; c < run->ncust; c++)
	{
		RcCustomer *cu = &run->cust[c];

		if (cu->ntokens == 0)
			continue;
		kix_add(run->cust_by_name, name_key(cu->tokens, cu->ntokens), c);
		for (int t = 0; t < cu->ntokens; t++)
		{
			bool		seen = false;

			for (int u = 0; u < t; u++)
				if (strcmp(cu->tokens[u], cu->tokens[t]) == 0)
					seen = true;
			if (!seen)
				kix_add(run->cust_by_token, match_hash('T', cu->tokens[t], strlen(cu->tokens[t])), c);
		}
	}
}

static void
payer_add(RcPayer *p, int32 c)
{
	for (int i = 0; i < p->ncust; i++)
		if (p->cust[i] == c)
			return;
	if (p->ncust < MAX_PAYERS)
		p->cust[p->ncust++] = c;
}

/* Customers of the line's company on file (or seen) for this IBAN. */
static int
payer_by_iban(RcRun *run, RcLine *line, KeyIndex *ix, RcPayer *p)
{
	int			n = 0;

	if (ix == NULL)
		return 0;
	for (int32 pos = kix_first(ix, match_hash('B', line->iban, strlen(line->iban)));
		 pos >= 0; pos = kix_next(ix, pos))
	{
		int32		c = kix_value(ix, pos);

		if (run->cust[c].company_id != line->company_id)
			continue;
		n++;
		payer_add(p, c);
	}
	return n;
}

static void
identify_payer(RcRun *run, RcLine *line, char **ltok, int nltok)
{
	RcPayer    *p = &line->payer;
	RcConfig   *cfg = line_config(run, line);
	int			n;

	memset(p, 0, sizeof(*p));
	if (line->iban)
	{
		n = payer_by_iban(run, line, run->cust_by_iban, p);
		if (n > 0)
		{
			/* an account shared by many customers (a payment provider) says little */
			p->by = n <= MAX_PAYERS ? PAYER_IBAN : PAYER_NONE;
			if (p->by == PAYER_NONE)
				p->ncust = 0;
			return;
		}
		n = payer_by_iban(run, line, run->cust_by_iban_hist, p);
		if (n == 1)
		{
			p->by = PAYER_IBAN_HISTORY;
			return;
		}
		p->ncust = 0;
		p->iban_unknown = true;
	}
	if (nltok == 0)
		return;

	/* the same name, word for word */
	n = 0;
	for (int32 pos = kix_first(run->cust_by_name, name_key(ltok, nltok)); pos >= 0;
		 pos = kix_next(run->cust_by_name, pos))
	{
		int32		c = kix_value(run->cust_by_name, pos);

		if (run->cust[c].company_id != line->company_id)
			continue;
		n++;
		payer_add(p, c);
	}
	if (n == 1)
	{
		p->by = PAYER_NAME;
		p->similarity = 1.0;
		return;
	}
	if (n > 1)
	{
		/* homonyms: a weak lead, never enough to apply */
		p->by = PAYER_NAME_CLOSE;
		p->similarity = 1.0;
		return;
	}

	/* a close name: candidates share one of the two rarest tokens */
	{
		int32		cand[2 * NAME_CANDIDATES];
		int			ncand = 0;
		int			order[NAME_MAX_TOKENS];
		int32		cnt[NAME_MAX_TOKENS];
		double		best = 0,
					second = 0;
		int32		bestc = -1,
					secondc = -1;

		for (int t = 0; t < nltok; t++)
		{
			order[t] = t;
			cnt[t] = kix_count(run->cust_by_token, match_hash('T', ltok[t], strlen(ltok[t])), 100000);
		}
		/* rarest first (insertion sort: at most a dozen tokens) */
		for (int i = 1; i < nltok; i++)
			for (int j = i; j > 0 && cnt[order[j]] < cnt[order[j - 1]]; j--)
			{
				int			tmp = order[j];

				order[j] = order[j - 1];
				order[j - 1] = tmp;
			}
		for (int r = 0, used = 0; r < nltok && used < 2; r++)
		{
			int			t = order[r];
			int			taken = 0;

			if (cnt[t] == 0)
				continue;
			used++;
			for (int32 pos = kix_first(run->cust_by_token, match_hash('T', ltok[t], strlen(ltok[t])));
				 pos >= 0 && taken < NAME_CANDIDATES; pos = kix_next(run->cust_by_token, pos))
			{
				int32		c = kix_value(run->cust_by_token, pos);

				if (run->cust[c].company_id == line->company_id)
				{
					cand[ncand++] = c;
					taken++;
				}
			}
		}
		for (int i = 0; i < ncand; i++)
		{
			RcCustomer *cu = &run->cust[cand[i]];
			double		s;
			bool		dup = false;

			for (int j = 0; j < i; j++)
				if (cand[j] == cand[i])
					dup = true;
			if (dup)
				continue;
			s = name_similarity(ltok, nltok, cu->tokens, cu->ntokens);
			if (s > best)
			{
				second = best, secondc = bestc;
				best = s, bestc = cand[i];
			}
			else if (s > second)
				second = s, secondc = cand[i];
		}
		if (bestc >= 0 && best >= cfg->name_min)
		{
			p->similarity = best;
			payer_add(p, bestc);
			if (best >= 0.9 && (second < 0.75 || best - second >= 0.15))
				p->by = PAYER_NAME;
			else
			{
				p->by = PAYER_NAME_CLOSE;
				if (secondc >= 0 && second >= best - 0.05)
					payer_add(p, secondc);
			}
		}
	}
}

/* How well the customer of a hypothesis agrees with what we know of the payer. */
static PayerFit
payer_fit(RcRun *run, RcLine *line, int32 c, char **ltok, int nltok)
{
	RcPayer    *p = &line->payer;
	double		s;

	if (c < 0)
		return FIT_UNKNOWN;
	if (p->by == PAYER_IBAN || p->by == PAYER_IBAN_HISTORY)
	{
		for (int i = 0; i < p->ncust; i++)
			if (p->cust[i] == c)
				return FIT_IBAN;
		return FIT_CONFLICT;
	}
	if (nltok == 0)
		return FIT_UNKNOWN;
	s = name_similarity(ltok, nltok, run->cust[c].tokens, run->cust[c].ntokens);
	if (s >= 0.9)
		return FIT_NAME;
	if (s >= line_config(run, line)->name_min)
		return FIT_NAME_CLOSE;
	/* the name is, without doubt, another customer's */
	if (p->by == PAYER_NAME)
		return FIT_CONFLICT;
	return FIT_UNKNOWN;
}

/* ---------------------------------------------------------- references */

typedef struct Scan
{
	RcRun	   *run;
	RcLine	   *line;
	int			nhits;
	RcHit		hits[MAX_HITS];
	/* open invoices a mistyped reference may name: the amount fits them */
	int			ncand;
	int32	   *cand;
} Scan;

static void
add_hit(Scan *s, int32 inv, HitClass cls, int diff, int start, int end)
{
	RcInvoice  *in = &s->run->inv[inv];

	if (in->company_id != s->line->company_id || memcmp(in->currency, s->line->currency, 3) != 0)
		return;
	for (int i = 0; i < s->nhits; i++)
		if (s->hits[i].inv == inv)
		{
			if (cls > s->hits[i].cls)
			{
				s->hits[i].cls = cls;
				s->hits[i].diff = diff;
				s->hits[i].start = start;
				s->hits[i].end = end;
			}
			return;
		}
	if (s->nhits < MAX_HITS)
	{
		RcHit	   *h = &s->hits[s->nhits++];

		h->inv = inv;
		h->cls = cls;
		h->diff = diff;
		h->start = start;
		h->end = end;
	}
}

/* Does the text around the tokens i..j cross from one field to the next? */
static bool
crosses_field(const char *text, int from, int to)
{
	for (int k = from; k < to; k++)
		if (text[k] == '\x1f')
			return true;
	return false;
}

static void
lookup_window(Scan *s, const char *span, int spanlen, const char *k1, int k1len, int start, int end)
{
	RcRun	   *run = s->run;
	char		k2[REFKEY_MAX + 1];
	int			k2len;

	for (int32 pos = refs_first(run, 'K', k1, k1len); pos >= 0; pos = kix_next(run->refs, pos))
	{
		int32		i = kix_value(run->refs, pos);

		if (run->inv[i].keylen == k1len && memcmp(run->inv[i].key, k1, k1len) == 0)
			add_hit(s, i, HIT_EXACT, refkey_describe(span, spanlen, run->inv[i].number), start, end);
	}
	for (int32 pos = refs_first(run, 'P', k1, k1len); pos >= 0; pos = kix_next(run->refs, pos))
	{
		int32		i = kix_value(run->refs, pos);

		if (run->inv[i].refkey && run->inv[i].refkeylen == k1len && memcmp(run->inv[i].refkey, k1, k1len) == 0)
			add_hit(s, i, HIT_PAYREF, 0, start, end);
	}
	if (refkey_is_rf(k1, k1len))
	{
		for (int32 pos = refs_first(run, 'K', k1 + 4, k1len - 4); pos >= 0; pos = kix_next(run->refs, pos))
		{
			int32		i = kix_value(run->refs, pos);

			if (run->inv[i].keylen == k1len - 4 && memcmp(run->inv[i].key, k1 + 4, k1len - 4) == 0)
				add_hit(s, i, HIT_RF, 0, start, end);
		}
	}
	k2len = refkey_grouped(span, spanlen, k2, REFKEY_MAX);
	if (k2len <= REFKEY_MAX && strchr(k2, '|') != NULL)
	{
		for (int32 pos = refs_first(run, 'Z', k2, k2len); pos >= 0; pos = kix_next(run->refs, pos))
		{
			int32		i = kix_value(run->refs, pos);
			char		ik[REFKEY_MAX + 1];

			if (refkey_grouped(run->inv[i].number, strlen(run->inv[i].number), ik, REFKEY_MAX) == k2len
				&& memcmp(ik, k2, k2len) == 0)
				add_hit(s, i, HIT_ZEROS, REFDIFF_ZEROS | refkey_describe(span, spanlen, run->inv[i].number), start, end);
		}
	}
	if (all_digits(k1, k1len) && k1len >= 6)
	{
		for (int pass = 0; pass < 2; pass++)
		{
			const char *k = pass == 0 ? k1 : k2;
			int			klen = pass == 0 ? k1len : k2len;

			if (pass == 1 && (k2len > REFKEY_MAX || strchr(k2, '|') == NULL))
				break;
			for (int32 pos = refs_first(run, pass == 0 ? 'D' : 'G', k, klen); pos >= 0;
				 pos = kix_next(run->refs, pos))
			{
				int32		i = kix_value(run->refs, pos);
				char		d[REFKEY_MAX + 1],
							g[REFKEY_MAX + 1];

				if (!refkey_digits(run->inv[i].number, strlen(run->inv[i].number), d, g, REFKEY_MAX))
					continue;
				if (strcmp(pass == 0 ? d : g, k) == 0)
					add_hit(s, i, HIT_PREFIX, REFDIFF_PREFIX | (pass == 1 ? REFDIFF_ZEROS : 0), start, end);
			}
		}
	}
}

/*
 * A reference glued to a word without a space ("CMDa1b2c3", "a1b2c3LOT"):
 * the token less a run of at least two letters at its start or end, when
 * what is left has letters and digits (so that "FA2026000123" is never
 * read as the digits of another numbering) and names one open invoice
 * exactly.  Found as strong as a number without its prefix.
 */
static void
lookup_glued(Scan *s, const char *k1, int k1len, int start, int end)
{
	RcRun	   *run = s->run;
	const char *word = s->line->text + start;	/* one token: one character per key character */
	HitClass	cls = HIT_NONE;
	int32		found = -1;
	int			nfound = 0;

	if (k1len < 7 || k1len != end - start)
		return;
	for (int side = 0; side < 2; side++)
		for (int cut = 2; cut <= k1len - 5; cut++)
		{
			const char *rest = side == 0 ? k1 + cut : k1;
			int			rlen = k1len - cut;
			char		c = side == 0 ? word[cut - 1] : word[k1len - cut];
			bool		letters = false;

			/* the glued part: letters only (as written: LOT is not L0T) */
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
				break;
			for (int i = 0; i < rlen && !letters; i++)
				letters = rest[i] >= 'A' && rest[i] <= 'Z' && rest[i] != 'O';
			if (!letters || !has_digit(rest, rlen) || !refkey_specific(rest, rlen))
				continue;
			for (int tag = 0; tag < 2; tag++)
				for (int32 pos = refs_first(run, tag == 0 ? 'K' : 'P', rest, rlen); pos >= 0;
					 pos = kix_next(run->refs, pos))
				{
					int32		i = kix_value(run->refs, pos);
					RcInvoice  *inv = &run->inv[i];
					bool		same = tag == 0 ? inv->keylen == rlen && memcmp(inv->key, rest, rlen) == 0
						: inv->refkey != NULL && inv->refkeylen == rlen && memcmp(inv->refkey, rest, rlen) == 0;

					if (same && i != found)
					{
						found = i;
						nfound++;
						cls = tag == 0 ? HIT_PREFIX : HIT_PAYREF;
					}
				}
		}
	/* two readings of the same word: neither */
	if (nfound == 1)
		add_hit(s, found, cls, REFDIFF_NO_SEPARATORS, start, end);
}

/*
 * "FA-2026-000123, 124 et 125": a short group of digits after a
 * referenced number replaces the end of it.
 */
static void
lookup_continuations(Scan *s, RefTokens *tok, int *field)
{
	RcRun	   *run = s->run;
	const char *text = s->line->text;
	int			nbase = s->nhits;

	for (int h = 0; h < nbase; h++)
	{
		RcHit	   *base = &s->hits[h];
		RcInvoice  *inv = &run->inv[base->inv];
		int			tail = 0;
		int			t0 = -1;

		if (base->cls < HIT_ZEROS || inv->keylen > REFKEY_MAX)
			continue;
		/* the last group of digits of the number: 000141 in RC-2026-000141 */
		{
			int			nl = strlen(inv->number);

			while (tail < nl && inv->number[nl - 1 - tail] >= '0' && inv->number[nl - 1 - tail] <= '9')
				tail++;
		}
		if (tail < 2 || tail > inv->keylen)
			continue;
		for (int t = 0; t < tok->n; t++)
			if (tok->start[t] >= base->end)
			{
				t0 = t;
				break;
			}
		if (t0 < 0)
			continue;
		/* only a list of numbers: "124, 125 et 126"; any other word ends it */
		for (int t = t0; t < tok->n && t < t0 + 8 && field[t] == field[t0]; t++)
		{
			int			len = tok->end[t] - tok->start[t];
			char		cand[REFKEY_MAX + 1];
			int			clen = inv->keylen;

			if (!all_digits(text + tok->start[t], len))
			{
				if (len <= 3 && (pg_strncasecmp(text + tok->start[t], "ET", len) == 0
								 || pg_strncasecmp(text + tok->start[t], "AND", len) == 0
								 || pg_strncasecmp(text + tok->start[t], "UND", len) == 0))
					continue;
				break;
			}
			/* and only separated by list punctuation: not a date, not an amount */
			for (int k = (t == t0 ? base->end : tok->end[t - 1]); k < tok->start[t]; k++)
				if (strchr(" ,;/+&-", text[k]) == NULL)
					goto next_base;
			if (len > tail || len < 2)
				break;
			memcpy(cand, inv->key, clen);
			/* the group without its leading zeros, padded back: 124 -> 000124 */
			memset(cand + clen - tail, '0', tail - len);
			memcpy(cand + clen - len, text + tok->start[t], len);
			cand[clen] = '\0';
			if (strcmp(cand, inv->key) == 0)
				continue;
			for (int32 pos = refs_first(run, 'K', cand, clen); pos >= 0; pos = kix_next(run->refs, pos))
			{
				int32		i = kix_value(run->refs, pos);

				if (run->inv[i].keylen == clen && memcmp(run->inv[i].key, cand, clen) == 0
					&& run->inv[i].cust == inv->cust)
					add_hit(s, i, HIT_ZEROS, REFDIFF_PREFIX | REFDIFF_ZEROS, tok->start[t], tok->end[t]);
			}
		}
next_base:
		;
	}
}

/*
 * The written key against each candidate's number and payment reference.
 * When the words are themselves another invoice's number, only a reading
 * that settles the amount exactly competes with them.
 */
static void
fuzzy_window(Scan *s, const char *k1, int k1len, int start, int end, bool exact_only)
{
	for (int c = 0; c < s->ncand; c++)
	{
		RcInvoice  *inv = &s->run->inv[s->cand[c]];

		if (exact_only && inv->open != s->line->amount)
			continue;

		for (int which = 0; which < 2; which++)
		{
			const char *key = which == 0 ? inv->key : inv->refkey;
			int			klen = which == 0 ? inv->keylen : inv->refkeylen;
			int			d;

			if (key == NULL || klen < 6 || abs(klen - k1len) > 1)
				continue;
			d = refkey_edit1(k1, k1len, key, klen);
			if (d > 0)
				add_hit(s, s->cand[c], HIT_FUZZY, d, start, end);
		}
	}
}

/*
 * The invoices a mistyped reference may name: with dense numbering most
 * numbers have dozens of neighbours one character away, so only invoices
 * the line pays exactly, or within the shortfall tolerance, are compared
 * with what was written (at most FUZZY_CANDIDATES of them).
 */
#define FUZZY_CANDIDATES	256

static void
fuzzy_candidates(Scan *s)
{
	RcRun	   *run = s->run;
	RcLine	   *line = s->line;
	RcConfig   *cfg = line_config(run, line);
	int32		lo = 0,
				hi;
	uint32		cur;

	s->cand = palloc(sizeof(int32) * FUZZY_CANDIDATES);
	s->ncand = 0;
	build_by_open(run);
	hi = run->nby_open;
	cur = currency_key(line->currency);
	/* the first invoice of the line's company and currency owing at least the amount */
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		ByOpen	   *e = &run->by_open[mid];
		int			c = e->company_id != line->company_id ? (e->company_id < line->company_id ? -1 : 1)
			: e->currency != cur ? (e->currency < cur ? -1 : 1)
			: (e->open < line->amount ? -1 : 1);

		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int32 k = lo; k < run->nby_open && s->ncand < FUZZY_CANDIDATES; k++)
	{
		ByOpen	   *e = &run->by_open[k];

		if (e->company_id != line->company_id || e->currency != cur)
			break;
		/* the shortfall only grows faster than the tolerance: past it, done */
		if (e->open != line->amount
			&& !within_tolerance(cfg, e->open, e->open - line->amount))
			break;
		if (e->now == line->amount
			|| (e->now > line->amount && within_tolerance(cfg, e->now, e->now - line->amount)))
			s->cand[s->ncand++] = e->inv;
	}
}

#define RC_ALNUM(c)	(((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define RC_DIGIT(c)	((c) >= '0' && (c) <= '9')

/*
 * Does the longer exact hit g read the exact hit h (from the same word on)
 * plus a group of digits the payer wrote apart ("FA-2026-0001 2", "/2",
 * " (2)") as one number (FA-2026-00012)?  Only when g's number has no
 * separator at that place:
 * the payer's separator then cuts one of its digit groups, which is weaker
 * evidence than h written exactly as such.  A separator the number has
 * itself ("FA-2026-0001-2") is no cut.
 */
static bool
glues_group(Scan *s, RcHit *g, RcHit *h)
{
	const char *text = s->line->text;
	const char *num = s->run->inv[g->inv].number;
	int			k = h->end,
				m = 0,
				seen = 0;

	if (g->cls != HIT_EXACT || h->cls != HIT_EXACT || g->start != h->start || g->end <= h->end
		|| !RC_DIGIT(text[h->end - 1]))
		return false;
	while (k < g->end && !RC_ALNUM(text[k]))
		k++;
	if (k == h->end || k >= g->end || !RC_DIGIT(text[k]))
		return false;
	/* the key characters of g's text before the cut, then that place in g's number */
	for (int i = g->start; i < h->end; i++)
		m += RC_ALNUM(text[i]) ? 1 : 0;
	for (int i = 0; num[i] != '\0'; i++)
		if (RC_ALNUM(num[i]) && ++seen == m)
			return RC_DIGIT(num[i + 1]);
	return false;
}

/*
 * Drops hits explained better by a longer or stronger reference around
 * them, except that an exact reference wins over a longer one gluing a
 * group the payer wrote apart onto it (glues_group).
 */
static void
prune_hits(Scan *s)
{
	bool		drop[MAX_HITS];
	int			n = 0;

	for (int i = 0; i < s->nhits; i++)
	{
		RcHit	   *h = &s->hits[i];

		drop[i] = false;
		for (int j = 0; j < s->nhits && !drop[i]; j++)
		{
			RcHit	   *g = &s->hits[j];

			if (j == i || g->inv == h->inv)
				continue;
			if (glues_group(s, h, g))
			{
				drop[i] = true;
				continue;
			}
			/* the same text read two ways (a number, or another one mistyped) stays */
			if (g->start > h->start || g->end < h->end
				|| (g->start == h->start && g->end == h->end))
				continue;
			if (g->cls >= h->cls && !glues_group(s, g, h))
				drop[i] = true;
		}
	}
	for (int i = 0; i < s->nhits; i++)
		if (!drop[i])
			s->hits[n++] = s->hits[i];
	s->nhits = n;
}

/* The line's IBAN is on file (or was seen) for other customers than c. */
static bool
iban_conflict(RcLine *line, int32 c)
{
	if (line->payer.by != PAYER_IBAN && line->payer.by != PAYER_IBAN_HISTORY)
		return false;
	for (int i = 0; i < line->payer.ncust; i++)
		if (line->payer.cust[i] == c)
			return false;
	return true;
}

typedef enum ScanMode
{
	SCAN_EXACT,
	SCAN_FUZZY,
	SCAN_PAID_KEYS
} ScanMode;

static void
scan_text(Scan *s, ScanMode mode)
{
	RcRun	   *run = s->run;
	RcLine	   *line = s->line;
	int			starts[MAX_TOKENS],
				ends[MAX_TOKENS],
				field[MAX_TOKENS];
	RefTokens	tok = {0, starts, ends};
	int			nexact = s->nhits;

	if (line->text == NULL || line->textlen == 0)
		return;
	reftokens_split(line->text, line->textlen, &tok, MAX_TOKENS);
	for (int t = 0, f = 0, pos = 0; t < tok.n; t++)
	{
		for (; pos < tok.start[t]; pos++)
			if (line->text[pos] == '\x1f')
				f++;
		field[t] = f;
		pos = tok.end[t];
	}
	for (int i = 0; i < tok.n; i++)
	{
		for (int w = 1; w <= REF_WINDOW_TOKENS && i + w <= tok.n; w++)
		{
			int			start = tok.start[i],
						end = tok.end[i + w - 1];
			char		k1[REFKEY_MAX + 1];
			int			k1len;

			if (field[i + w - 1] != field[i] || crosses_field(line->text, start, end))
				break;
			k1len = refkey_compact(line->text + start, end - start, k1, REFKEY_MAX);
			if (k1len > REFKEY_MAX || k1len > Max(run->maxkey, CREDITOR_REF_MAX_LEN) + 1)
				break;
			if (mode == SCAN_EXACT)
			{
				if (k1len < Min(run->minkey, 4) || (!run->digitless_keys && !has_digit(k1, k1len)))
					continue;
				lookup_window(s, line->text + start, end - start, k1, k1len, start, end);
				if (w == 1)
					lookup_glued(s, k1, k1len, start, end);
			}
			else if (mode == SCAN_FUZZY)
			{
				bool		inside = false;
				bool		written_is_invoice;

				if (k1len < 5 || !has_digit(k1, k1len))
					continue;
				/* not inside a reference already found */
				for (int h = 0; h < nexact; h++)
					if (s->hits[h].start <= start && s->hits[h].end >= end
						&& s->hits[h].cls >= HIT_ZEROS
						&& !(s->hits[h].start == start && s->hits[h].end == end))
						inside = true;
				if (inside)
					continue;
				/* a mistyped reading only when the number as written does not fit the amount */
				written_is_invoice = false;
				for (int h = 0; h < nexact && !inside; h++)
				{
					RcInvoice  *inv = &run->inv[s->hits[h].inv];
					Amount		open = inv->open;

					if (s->hits[h].start != start || s->hits[h].end != end || s->hits[h].cls < HIT_PREFIX)
						continue;
					written_is_invoice = true;
					/* (an invoice of another customer than the IBAN's fits nothing) */
					if (iban_conflict(line, inv->cust))
						continue;
					if (open == line->amount || (inv->paid && inv->amount == line->amount)
						|| (open > line->amount && within_tolerance(line_config(run, line), open, open - line->amount)))
						inside = true;
				}
				if (inside)
					continue;
				fuzzy_window(s, k1, k1len, start, end, written_is_invoice);
			}
			else
			{
				/* keys worth looking up among paid invoices: specific, naming no open invoice */
				bool		open_hit = false;

				if (k1len < 5 || (!refkey_specific(k1, k1len) && !all_digits(k1, k1len))
					|| line->npaid_keys >= MAX_PAID_KEYS)
					continue;
				for (int32 pos = refs_first(run, 'K', k1, k1len); pos >= 0 && !open_hit;
					 pos = kix_next(run->refs, pos))
					open_hit = run->inv[kix_value(run->refs, pos)].keylen == k1len;
				if (!open_hit)
					line->paid_keys[line->npaid_keys++] = pnstrdup(k1, k1len);
			}
		}
	}
	if (mode == SCAN_EXACT)
		lookup_continuations(s, &tok, field);
}

/* ---------------------------------------------------------- hypotheses */

typedef struct HypSet
{
	int			n;
	RcHyp		h[MAX_HYPS];
} HypSet;

static RcHyp *
new_hyp(HypSet *hs, const char *method, int32 cust)
{
	RcHyp	   *h;

	if (hs->n >= MAX_HYPS)
		return NULL;
	h = &hs->h[hs->n++];
	memset(h, 0, sizeof(*h));
	h->method = method;
	h->cust = cust;
	h->credit_source = "overpayment";
	return h;
}

static void
hyp_alloc(RcHyp *h, int32 inv, Amount amount)
{
	if (h->nalloc < MAX_HYP_ALLOCS && amount != 0)
	{
		h->alloc[h->nalloc].inv = inv;
		h->alloc[h->nalloc].amount = amount;
		h->nalloc++;
	}
}

static bool
within_tolerance(RcConfig *cfg, Amount open, Amount shortfall)
{
	if (shortfall <= 0)
		return false;
	if (shortfall <= cfg->shortfall_abs)
		return true;
	/* shortfall <= open * pct / 100, with pct in 1/10000 of a percent */
	return (int128) shortfall * 1000000 <= (int128) open * cfg->shortfall_pct;
}

/*
 * A shortfall is written off by a run only when it is within the company's
 * write-off limit (0 by default: nothing is) and the payer does not say
 * the payment is a deposit or an instalment; otherwise the payment is
 * applied for what it is and the rest stays open on the invoice.
 */
static void
settle_shortfall(RcConfig *cfg, RcLine *line, RcHyp *h, int32 inv, Amount shortfall)
{
	if (cfg->close_shortfall && line->instalment == NULL && shortfall <= cfg->write_off_limit)
	{
		h->adj[0].inv = inv;
		h->adj[0].amount = shortfall;
		h->nadj = 1;
	}
	else
		h->left_open = shortfall;
}

/*
 * Scores of reference hypotheses.  Rows: how the reference was written;
 * columns: what the payer says.  Exact references that are specific
 * (letters and digits, or 7 digits and more) carry the match by
 * themselves when the amount agrees; the weaker the reference, the more
 * the payer must confirm it.
 */
typedef enum RefRule
{
	RULE_EXACT,					/* the amount is the open amount (or their sum) */
	RULE_SHORTFALL,
	RULE_PARTIAL,
	RULE_OVERPAYMENT
} RefRule;

/* How much a reference says by itself. */
#define SPEC_WEAK			0	/* short: could be any number in the text */
#define SPEC_DIGITS			1	/* 5 or 6 digits: says little alone, much with the payer */
#define SPEC_STRONG			2	/* letters and digits, or 7 digits and more */

static float4
ref_score(RefRule rule, HitClass cls, int spec, PayerFit fit)
{
	bool		confirmed = fit == FIT_IBAN || fit == FIT_NAME;
	bool		conflict = fit == FIT_CONFLICT;

	if (cls >= HIT_ZEROS)
	{
		if (spec == SPEC_STRONG)
			switch (rule)
			{
				case RULE_EXACT:
					return conflict ? 0.96 : 0.99;
				case RULE_SHORTFALL:
					return conflict ? 0.85 : 0.97;
				case RULE_PARTIAL:
					return conflict ? 0.80 : confirmed ? 0.97 : 0.96;
				case RULE_OVERPAYMENT:
					return conflict ? 0.75 : confirmed ? 0.96 : 0.95;
			}
		switch (rule)
		{
			case RULE_EXACT:
				/* a long number and its exact amount, from a group company's account */
				if (conflict)
					return spec == SPEC_DIGITS ? 0.95 : 0.85;
				return confirmed ? 0.98 : spec == SPEC_DIGITS ? 0.96 : 0.90;
			case RULE_SHORTFALL:
				return confirmed ? 0.96 : 0.85;
			case RULE_PARTIAL:
				return confirmed ? (spec == SPEC_DIGITS ? 0.96 : 0.90) : 0.60;
			case RULE_OVERPAYMENT:
				return confirmed ? (spec == SPEC_DIGITS ? 0.95 : 0.90) : 0.60;
		}
	}
	/* the number without its prefix: digits only were written */
	if (cls == HIT_PREFIX)
		switch (rule)
		{
			case RULE_EXACT:
				return conflict ? 0.88 : confirmed ? 0.98 : spec >= SPEC_DIGITS ? 0.96 : 0.88;
			case RULE_SHORTFALL:
				return conflict ? 0.80 : confirmed ? 0.96 : 0.85;
			default:
				return conflict ? 0.70 : confirmed ? 0.96 : 0.60;
		}
	/*
	 * One character wrong.  Letters and digits mistyped into another number
	 * that is open for exactly that amount: hardly a coincidence (and a
	 * rival reading of the same words, or two such neighbours, holds it
	 * back); a bare number needs the payer to confirm it.
	 */
	switch (rule)
	{
		case RULE_EXACT:
			if (conflict)
				return 0.75;
			if (confirmed)
				return 0.97;
			return spec == SPEC_STRONG ? (fit == FIT_NAME_CLOSE ? 0.96 : 0.95) : 0.90;
		case RULE_SHORTFALL:
			/* mistyped and short: two slips at once, for a person to confirm */
			return confirmed ? 0.90 : 0.80;
		default:
			/* a neighbouring number for another amount: hardly a lead */
			return confirmed ? 0.50 : 0.40;
	}
}

static int
key_spec(const char *key, int len)
{
	int			digits = 0;

	if (key == NULL)
		return SPEC_WEAK;
	if (refkey_specific(key, len))
		return SPEC_STRONG;
	for (int i = 0; i < len; i++)
		if (key[i] >= '0' && key[i] <= '9')
			digits++;
	return digits >= 5 ? SPEC_DIGITS : SPEC_WEAK;
}

/*
 * How much a hit says by itself: that of the key it matched, and never more
 * than a number when only digits were written (other organisations write
 * year-prefixed numbers, dates and file numbers too).
 */
static int
hit_spec(RcRun *run, RcLine *line, RcHit *hit)
{
	RcInvoice  *inv = &run->inv[hit->inv];
	int			spec = hit->cls == HIT_PAYREF ? key_spec(inv->refkey, inv->refkeylen)
		: key_spec(inv->key, inv->keylen);
	bool		letters = false;

	if (line->text == NULL || hit->end <= hit->start)
		return spec;
	for (int i = hit->start; i < hit->end && !letters; i++)
	{
		char		c = line->text[i];

		letters = ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) && c != 'O' && c != 'o';
	}
	return letters ? spec : Min(spec, SPEC_DIGITS);
}

/* Eligible open invoices of a customer for amount-based search, oldest first. */
static int
customer_open(RcRun *run, RcLine *line, int32 c, int32 *out, int max, bool positive_only)
{
	RcCustomer *cu = &run->cust[c];
	int			n = 0;
	DateADT		latest = line->booking_date + line_config(run, line)->issue_grace;

	for (int k = 0; k < cu->ninv && n < max; k++)
	{
		RcInvoice  *inv = &run->inv[cu->inv[k]];

		if (inv->open == 0 || inv->paid || memcmp(inv->currency, line->currency, 3) != 0
			|| inv->company_id != line->company_id || inv->issue_date > latest)
			continue;
		if (positive_only && inv->open < 0)
			continue;
		out[n++] = cu->inv[k];
	}
	return n;
}

/*
 * Combinations of a customer's open invoices summing to target: positive
 * invoices, oldest first, at most max_candidates of them; or the same
 * with one of its credit notes deducted.  Returns the number of
 * solutions (0, 1 or 2 meaning "several") and fills h.
 */
static int
find_combination(RcRun *run, RcLine *line, int32 c, Amount target, int32 exclude, int kmin, RcHyp *h)
{
	RcConfig   *cfg = line_config(run, line);
	int32		all[256];
	int32		pos[64];
	int32		neg[4];
	int			npos = 0,
				nneg = 0;
	int			nall = customer_open(run, line, c, all, lengthof(all), false);
	Amount		values[64];
	int			first[64];
	int			first_len = 0;
	bool		complete = true;
	int			nsol = 0;
	int			kmax = cfg->max_combination;

	for (int k = 0; k < nall; k++)
	{
		RcInvoice  *inv = &run->inv[all[k]];

		if (all[k] == exclude)
			continue;
		if (inv->open > 0 && npos < Min(cfg->max_candidates, (int) lengthof(pos)))
			pos[npos++] = all[k];
		else if (inv->open < 0 && nneg < (int) lengthof(neg))
			neg[nneg++] = all[k];
	}
	if (npos < kmin)
		return 0;
	for (int k = 0; k < npos; k++)
		values[k] = run->inv[pos[k]].open;

	for (int cn = -1; cn < nneg && nsol == 0; cn++)
	{
		Amount		t = target - (cn >= 0 ? run->inv[neg[cn]].open : 0);

		nsol = subset_sum(values, npos, t, kmin, kmax - (cn >= 0 ? 1 : 0), 2, SUBSET_BUDGET,
						  first, &first_len, &complete);
		if (nsol > 0)
		{
			h->solutions = nsol;
			h->complete = complete;
			h->chance = subset_chance(values, npos, t, kmin, kmax) * (cn >= 0 ? nneg : 1);
			h->oldest_first = true;
			for (int k = 0; k < first_len; k++)
			{
				if (first[k] != k)
					h->oldest_first = false;
				hyp_alloc(h, pos[first[k]], values[first[k]]);
			}
			if (cn >= 0)
			{
				hyp_alloc(h, neg[cn], run->inv[neg[cn]].open);
				h->oldest_first = false;
			}
		}
		else if (!complete)
			return 2;			/* too many to tell */
	}
	return nsol;
}

static bool
amount_globally_unique(RcRun *run, RcLine *line, Amount amount)
{
	int			n = 0;

	for (int32 pos = kix_first(run->by_amount, rc_amount_key(line->company_id, line->currency, amount));
		 pos >= 0; pos = kix_next(run->by_amount, pos))
	{
		RcInvoice  *inv = &run->inv[kix_value(run->by_amount, pos)];

		if (inv->open == amount && !inv->paid && inv->company_id == line->company_id
			&& memcmp(inv->currency, line->currency, 3) == 0)
			n++;
		if (n > 1)
			return false;
	}
	return n == 1;
}

/* Hypotheses from the invoices the line refers to. */
static void
reference_hyps(RcRun *run, RcLine *line, Scan *s, HypSet *hs, char **ltok, int nltok)
{
	RcConfig   *cfg = line_config(run, line);
	Amount		amount = line->amount;
	int32		strong[MAX_HITS];
	int			nstrong = 0;
	HitClass	weakest = HIT_EXACT;
	Amount		sum = 0;
	int			spec_all = SPEC_STRONG;
	int32		cust0 = -1;
	bool		one_customer = true;
	int32		paid[4];
	int			npaid = 0;
	Amount		paid_sum = 0;

	for (int i = 0; i < s->nhits; i++)
	{
		RcHit	   *hit = &s->hits[i];
		RcInvoice  *inv = &run->inv[hit->inv];
		int			spec = hit_spec(run, line, hit);
		PayerFit	fit = payer_fit(run, line, inv->cust, ltok, nltok);
		RcHyp	   *h;
		Amount		open = inv->open;

		if (inv->paid || open == 0)
		{
			/* paid already: see duplicate_hyps(), and below */
			if (hit->cls >= HIT_PREFIX && inv->amount > 0 && npaid < (int) lengthof(paid))
			{
				paid[npaid++] = hit->inv;
				paid_sum += inv->amount;
			}
			continue;
		}
		if (hit->cls >= HIT_PREFIX && nstrong < MAX_HITS)
		{
			strong[nstrong++] = i;
			weakest = Min(weakest, hit->cls);
			sum += open;
			spec_all = Min(spec_all, spec);
			if (cust0 < 0)
				cust0 = inv->cust;
			else if (cust0 != inv->cust)
				one_customer = false;
		}
		if (open < 0)
			continue;			/* a credit note alone is not paid by a credit */
		if (open == amount)
		{
			if ((h = new_hyp(hs, "reference", inv->cust)) == NULL)
				continue;
			h->exact = true;
			h->rule = "exact";
			h->cls = hit->cls;
			h->fit = fit;
			h->score = ref_score(RULE_EXACT, hit->cls, spec, fit);
			hyp_alloc(h, hit->inv, amount);
		}
		else if (open > amount)
		{
			Amount		shortfall = open - amount;

			if (within_tolerance(cfg, open, shortfall) && line->instalment == NULL)
			{
				if ((h = new_hyp(hs, "reference_shortfall", inv->cust)) == NULL)
					return;
				h->exact = true;
				h->rule = "shortfall";
				h->score = ref_score(RULE_SHORTFALL, hit->cls, spec, fit);
				hyp_alloc(h, hit->inv, amount);
				settle_shortfall(cfg, line, h, hit->inv, shortfall);
			}
			else
			{
				if ((h = new_hyp(hs, "reference_partial", inv->cust)) == NULL)
					return;
				/* a deposit or an instalment is a partial payment, whatever its amount */
				h->rule = line->instalment ? "instalment" : "partial";
				h->score = ref_score(RULE_PARTIAL, hit->cls, spec, fit);
				hyp_alloc(h, hit->inv, amount);
			}
			h->cls = hit->cls;
			h->fit = fit;
		}
		else
		{
			Amount		extra = amount - open;
			RcHyp		comb;
			int			nsol = 0;

			/* the referenced invoice and other open invoices of the customer */
			if (inv->cust >= 0)
			{
				int32		list[256];
				int			n = customer_open(run, line, inv->cust, list, lengthof(list), true);
				int			nexact = 0;
				int32		exact_inv = -1;

				memset(&comb, 0, sizeof(comb));
				for (int k = 0; k < n; k++)
					if (list[k] != hit->inv && run->inv[list[k]].open == extra)
						nexact++, exact_inv = list[k];
				if (nexact == 1)
				{
					nsol = 1;
					comb.solutions = 1;
					comb.complete = true;
					comb.chance = 0;
					hyp_alloc(&comb, exact_inv, extra);
				}
				else if (nexact == 0)
					nsol = find_combination(run, line, inv->cust, extra, hit->inv, 2, &comb);
				else
					nsol = 2;
				if (nsol == 1 && comb.complete && hit->cls >= HIT_PREFIX)
				{
					if ((h = new_hyp(hs, "reference_combination", inv->cust)) == NULL)
						return;
					h->exact = true;
					h->rule = "reference_and_combination";
					h->cls = hit->cls;
					h->fit = fit;
					h->solutions = 1;
					h->complete = true;
					h->chance = comb.chance;
					hyp_alloc(h, hit->inv, open);
					for (int k = 0; k < comb.nalloc; k++)
						hyp_alloc(h, comb.alloc[k].inv, comb.alloc[k].amount);
					h->score = fit == FIT_CONFLICT ? 0.80
						: (fit == FIT_IBAN || fit == FIT_NAME) && comb.chance < 0.01 ? 0.96
						: comb.chance < 0.005 ? 0.95 : 0.85;
				}
			}
			if ((h = new_hyp(hs, "reference_overpayment", inv->cust)) == NULL)
				return;
			h->rule = "overpayment";
			h->cls = hit->cls;
			h->fit = fit;
			h->score = ref_score(RULE_OVERPAYMENT, hit->cls, spec, fit);
			if (nsol > 0)
				h->score = Min(h->score, 0.85);	/* the rest may pay other invoices */
			hyp_alloc(h, hit->inv, open);
			h->credit = extra;
		}
	}

	/*
	 * Open invoices named with others already paid, for exactly what they
	 * all cost: the open ones are paid, the rest is a second payment of the
	 * paid ones, kept as customer credit.
	 */
	if (nstrong >= 1 && npaid >= 1 && sum > 0 && sum + paid_sum == amount)
	{
		PayerFit	fit = payer_fit(run, line, cust0, ltok, nltok);
		bool		same = one_customer;
		RcHyp	   *h;

		for (int k = 0; k < npaid; k++)
			if (run->inv[paid[k]].cust != cust0)
				same = false;
		if (same && (h = new_hyp(hs, "reference_overpayment", cust0)) != NULL)
		{
			h->exact = true;
			h->rule = "open_invoices_and_a_second_payment_of_paid_ones";
			h->cls = weakest;
			h->fit = fit;
			h->score = ref_score(RULE_EXACT, weakest, spec_all, fit) - 0.03;
			for (int k = 0; k < nstrong; k++)
				hyp_alloc(h, s->hits[strong[k]].inv, run->inv[s->hits[strong[k]].inv].open);
			h->credit = paid_sum;
			h->ndup = npaid;
			memcpy(h->dup, paid, sizeof(int32) * npaid);
		}
	}

	/* several references: their sum, or a subset of them */
	if (nstrong >= 2)
	{
		PayerFit	fit = payer_fit(run, line, cust0, ltok, nltok);
		RcHyp	   *h;

		if (!one_customer)
			fit = Min(fit, FIT_UNKNOWN);
		if (sum == amount)
		{
			if ((h = new_hyp(hs, "reference", one_customer ? cust0 : -1)) == NULL)
				return;
			h->exact = true;
			h->rule = "sum";
			h->cls = weakest;
			h->fit = fit;
			h->score = ref_score(RULE_EXACT, weakest, spec_all, fit) - (one_customer ? 0 : 0.03);
			for (int k = 0; k < nstrong; k++)
				hyp_alloc(h, s->hits[strong[k]].inv, run->inv[s->hits[strong[k]].inv].open);
		}
		else if (sum > amount && within_tolerance(cfg, sum, sum - amount) && sum - amount < run->inv[s->hits[strong[nstrong - 1]].inv].open
				 && line->instalment == NULL)
		{
			Amount		left = amount;

			if ((h = new_hyp(hs, "reference_shortfall", one_customer ? cust0 : -1)) == NULL)
				return;
			h->exact = true;
			h->rule = "sum_shortfall";
			h->cls = weakest;
			h->fit = fit;
			h->score = ref_score(RULE_SHORTFALL, weakest, spec_all, fit) - (one_customer ? 0 : 0.03);
			for (int k = 0; k < nstrong; k++)
			{
				RcInvoice  *inv = &run->inv[s->hits[strong[k]].inv];
				Amount		take = k < nstrong - 1 ? inv->open : left;

				hyp_alloc(h, s->hits[strong[k]].inv, take);
				left -= take;
			}
			settle_shortfall(cfg, line, h, s->hits[strong[nstrong - 1]].inv, sum - amount);
		}
		else
		{
			/* a subset of the referenced invoices */
			Amount		values[MAX_HITS];
			int32		idx[MAX_HITS];
			int			n = 0;
			int			first[MAX_HITS];
			int			first_len;
			bool		complete;
			int			nsol;

			for (int k = 0; k < nstrong; k++)
				if (run->inv[s->hits[strong[k]].inv].open > 0)
				{
					idx[n] = s->hits[strong[k]].inv;
					values[n] = run->inv[idx[n]].open;
					n++;
				}
			nsol = subset_sum(values, n, amount, 2, n, 2, SUBSET_BUDGET, first, &first_len, &complete);
			if (nsol >= 1 && first_len < n)
			{
				if ((h = new_hyp(hs, "reference", one_customer ? cust0 : -1)) == NULL)
					return;
				h->exact = true;
				h->rule = "subset";
				h->cls = weakest;
				h->fit = fit;
				h->solutions = nsol;
				h->complete = complete;
				h->score = nsol == 1 && complete
					? ref_score(RULE_EXACT, weakest, spec_all, fit) - 0.02 : 0.80;
				for (int k = 0; k < first_len; k++)
					hyp_alloc(h, idx[first[k]], values[first[k]]);
			}
			else if (sum > amount)
			{
				/* part of what they name, oldest due first */
				Amount		left = amount;

				if ((h = new_hyp(hs, "reference_partial", one_customer ? cust0 : -1)) == NULL)
					return;
				h->rule = "partial_of_several";
				h->cls = weakest;
				h->fit = fit;
				h->score = 0.85;
				for (int k = 0; k < nstrong && left > 0; k++)
				{
					RcInvoice  *inv = &run->inv[s->hits[strong[k]].inv];
					Amount		take = Min(left, inv->open);

					if (take > 0)
					{
						hyp_alloc(h, s->hits[strong[k]].inv, take);
						left -= take;
					}
				}
			}
			else if (sum < amount && sum > 0)
			{
				if ((h = new_hyp(hs, "reference_overpayment", one_customer ? cust0 : -1)) == NULL)
					return;
				h->rule = "overpayment_of_several";
				h->cls = weakest;
				h->fit = fit;
				h->score = ref_score(RULE_OVERPAYMENT, weakest, spec_all, fit) - 0.01;
				if (!one_customer)
					h->score = Min(h->score, 0.85);
				for (int k = 0; k < nstrong; k++)
					hyp_alloc(h, s->hits[strong[k]].inv, run->inv[s->hits[strong[k]].inv].open);
				h->credit = amount - sum;
			}
		}
	}
}

/*
 * Is the shortfall an early-payment discount of a usual rate, computed to
 * the cent (half up), within the company's percentage?
 */
static bool
computed_discount(RcConfig *cfg, Amount open, Amount shortfall)
{
	static const int rates[] = {50, 100, 150, 200, 250, 300, 400, 500};	/* percent * 100 */

	for (int i = 0; i < (int) lengthof(rates); i++)
	{
		int128		d;

		if ((int64) rates[i] * 100 > cfg->shortfall_pct)
			break;
		/* open * rate / 10000, rounded half up to the cent (100 units) */
		d = ((int128) open * rates[i] + 500000) / 1000000 * 100;
		if (d == shortfall)
			return true;
	}
	return false;
}

/* Hypotheses from the payer's open invoices and the amount. */
static void
payer_hyps(RcRun *run, RcLine *line, int32 c, PayerBy by, HypSet *hs)
{
	RcConfig   *cfg = line_config(run, line);
	Amount		amount = line->amount;
	int32		list[256];
	int			n = customer_open(run, line, c, list, lengthof(list), false);
	int			nexact = 0,
				ntol = 0;
	int32		exact[3],
				tol = -1;
	bool		iban = by == PAYER_IBAN || by == PAYER_IBAN_HISTORY;
	bool		learned = by == PAYER_IBAN_HISTORY;	/* seen paying before, not on file */
	PayerFit	fit = iban ? FIT_IBAN : by == PAYER_NAME ? FIT_NAME : by == PAYER_NAME_CLOSE ? FIT_NAME_CLOSE : FIT_UNKNOWN;
	int			before = hs->n;
	RcHyp	   *h;
	Amount		total = 0;
	int			npositive = 0;

	for (int k = 0; k < n; k++)
	{
		RcInvoice  *inv = &run->inv[list[k]];

		total += inv->open;
		if (inv->open > 0)
			npositive++;
		if (inv->open == amount)
		{
			if (nexact < 3)
				exact[nexact] = list[k];
			nexact++;
		}
		else if (inv->open > amount && within_tolerance(cfg, inv->open, inv->open - amount))
		{
			ntol++;
			tol = list[k];
		}
	}

	if (nexact == 1)
	{
		bool		unique = amount_globally_unique(run, line, amount);

		if ((h = new_hyp(hs, "amount", c)) == NULL)
			return;
		h->exact = true;
		h->rule = "one_open_invoice_of_that_amount";
		h->fit = fit;
		h->globally_unique = unique;
		h->score = learned ? (unique ? 0.95 : 0.90)
			: iban ? (unique ? 0.97 : 0.96)
			: by == PAYER_NAME ? (unique ? 0.95 : 0.88)
			: by == PAYER_REFERENCE ? 0.93 : 0.80;
		hyp_alloc(h, exact[0], amount);
	}
	else if (nexact > 1)
	{
		/* the same amount several times: oldest first, never applied */
		for (int k = 0; k < Min(nexact, 3); k++)
		{
			if ((h = new_hyp(hs, "amount", c)) == NULL)
				return;
			h->exact = true;
			h->propose_only = true;
			h->rule = "several_open_invoices_of_that_amount";
			h->fit = fit;
			h->solutions = nexact;
			h->score = (iban ? 0.80 : by == PAYER_REFERENCE ? 0.75 : by == PAYER_NAME ? 0.70 : 0.60) - 0.01 * k;
			hyp_alloc(h, exact[k], amount);
		}
	}
	if (nexact <= 1)
	{
		RcHyp		comb;
		int			nsol;

		memset(&comb, 0, sizeof(comb));
		nsol = find_combination(run, line, c, amount, -1, 2, &comb);
		if (nsol >= 1 && comb.nalloc > 0)
		{
			if ((h = new_hyp(hs, "combination", c)) == NULL)
				return;
			*h = comb;
			h->method = "combination";
			h->cust = c;
			h->credit_source = "overpayment";
			h->exact = true;
			h->rule = "subset_sum";
			h->fit = fit;
			if (nsol == 1 && comb.complete && iban)
				h->score = learned ? 0.85
					: (comb.oldest_first && comb.chance < 0.05) ? 0.96 : comb.chance < 0.005 ? 0.95 : 0.85;
			else if (nsol == 1 && comb.complete)
				h->score = by == PAYER_NAME || by == PAYER_REFERENCE ? 0.85 : 0.70;
			else
			{
				h->score = 0.70;
				h->propose_only = true;
			}
			/*
			 * One open invoice of exactly that amount comes first: a
			 * combination of others that happens to sum to it stays a clear
			 * second (as peers rank them).  With two readings of the amount,
			 * a person chooses.
			 */
			if (nexact == 1)
			{
				h->score = Min(h->score, hs->h[before].score - 0.10);
				hs->h[before].propose_only = true;
			}
		}
		else if (total == amount && npositive >= 2 && nexact == 0)
		{
			/* the whole balance, more invoices than a combination looks at */
			if ((h = new_hyp(hs, "combination", c)) == NULL)
				return;
			h->exact = true;
			h->rule = "whole_balance";
			h->fit = fit;
			h->solutions = 1;
			h->complete = true;
			h->score = iban && !learned ? 0.96 : iban || by == PAYER_NAME || by == PAYER_REFERENCE ? 0.88 : 0.70;
			for (int k = 0; k < n && h->nalloc < MAX_HYP_ALLOCS; k++)
				hyp_alloc(h, list[k], run->inv[list[k]].open);
			if (h->nalloc < n)
				hs->n--;		/* too many invoices for one decision */
		}
		if (ntol == 1 && nexact == 0)
		{
			RcInvoice  *inv = &run->inv[tol];
			Amount		shortfall = inv->open - amount;

			if ((h = new_hyp(hs, "amount_shortfall", c)) == NULL)
				return;
			h->exact = true;
			h->rule = "shortfall";
			h->fit = fit;
			/*
			 * Without a reference, only a discount computed to the cent says
			 * the payment is this invoice's; an arbitrary shortfall within the
			 * tolerance could be anything (a deposit, another invoice).
			 */
			h->score = iban && !learned && computed_discount(cfg, inv->open, shortfall) ? 0.95
				: iban && !learned ? 0.90
				: iban || by == PAYER_NAME || by == PAYER_REFERENCE ? 0.85 : 0.70;
			h->rule = computed_discount(cfg, inv->open, shortfall) ? "discount" : "shortfall";
			hyp_alloc(h, tol, amount);
			settle_shortfall(cfg, line, h, tol, shortfall);
		}
	}

	if (hs->n == before && by != PAYER_REFERENCE)
	{
		/* nothing fits: the oldest invoice partly paid, or money on account */
		int32		oldest = -1;

		for (int k = 0; k < n && oldest < 0; k++)
			if (run->inv[list[k]].open > amount)
				oldest = list[k];
		if (oldest >= 0 && (h = new_hyp(hs, "partial", c)) != NULL)
		{
			h->rule = "oldest_invoice_partly";
			h->fit = fit;
			h->propose_only = true;
			h->score = iban ? 0.45 : 0.35;
			hyp_alloc(h, oldest, amount);
		}
		if (iban && (h = new_hyp(hs, "on_account", c)) != NULL)
		{
			h->rule = "customer_credit";
			h->fit = fit;
			h->propose_only = true;
			h->score = 0.30;
			h->credit = amount;
			h->credit_source = "unapplied_payment";
		}
	}
}

/* Nothing is known of the payer: open invoices of exactly that amount. */
static void
amount_only_hyps(RcRun *run, RcLine *line, HypSet *hs)
{
	int32		found[4];
	int			n = 0;
	DateADT		latest = line->booking_date + line_config(run, line)->issue_grace;

	for (int32 pos = kix_first(run->by_amount, rc_amount_key(line->company_id, line->currency, line->amount));
		 pos >= 0 && n < 4; pos = kix_next(run->by_amount, pos))
	{
		int32		i = kix_value(run->by_amount, pos);
		RcInvoice  *inv = &run->inv[i];

		if (inv->open != line->amount || inv->paid || inv->company_id != line->company_id
			|| memcmp(inv->currency, line->currency, 3) != 0 || inv->issue_date > latest)
			continue;
		found[n++] = i;
	}
	sort_run = run;
	qsort(found, n, sizeof(int32), cmp_invoice_age);
	sort_run = NULL;
	for (int k = 0; k < Min(n, 3); k++)
	{
		RcHyp	   *h = new_hyp(hs, "amount_only", run->inv[found[k]].cust);

		if (h == NULL)
			return;
		h->exact = true;
		h->propose_only = true;
		h->rule = n == 1 ? "one_open_invoice_of_that_amount" : "several_open_invoices_of_that_amount";
		h->solutions = n;
		h->score = (n == 1 ? 0.60 : 0.45) - 0.01 * k;
		hyp_alloc(h, found[k], line->amount);
	}
}

/* A reference to an invoice already paid: the line may pay it twice. */
static void
duplicate_hyps(RcRun *run, RcLine *line, Scan *s, HypSet *hs)
{
	for (int i = 0; i < s->nhits; i++)
	{
		RcInvoice  *inv = &run->inv[s->hits[i].inv];
		RcHyp	   *h;
		bool		seen = false;

		if (!(inv->paid || inv->open == 0) || inv->cust < 0 || inv->amount <= 0 || s->hits[i].cls < HIT_PREFIX)
			continue;
		for (int k = 0; k < hs->n; k++)
			if (strcmp(hs->h[k].method, "duplicate") == 0 && hs->h[k].cust == inv->cust)
				seen = true;
		if (seen)
			continue;
		if ((h = new_hyp(hs, "duplicate", inv->cust)) == NULL)
			return;
		h->rule = line->amount == inv->amount ? "paid_twice" : "reference_to_a_paid_invoice";
		h->cls = s->hits[i].cls;
		h->propose_only = true;
		h->score = line->amount == inv->amount ? 0.60 : 0.35;
		h->credit = line->amount;
		h->credit_source = "overpayment";
		h->named_inv = s->hits[i].inv;
	}
}

/* ------------------------------------------------------------ decision */

static bool
same_allocation(RcHyp *a, RcHyp *b)
{
	if (a->nalloc != b->nalloc || a->credit != b->credit)
		return false;
	for (int i = 0; i < a->nalloc; i++)
	{
		bool		found = false;

		for (int j = 0; j < b->nalloc; j++)
			if (a->alloc[i].inv == b->alloc[j].inv && a->alloc[i].amount == b->alloc[j].amount)
				found = true;
		if (!found)
			return false;
	}
	return true;
}

static RcRun *cmp_run;

static int
cmp_hyp(const void *a, const void *b)
{
	const RcHyp *x = a,
			   *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->exact != y->exact)
		return x->exact ? -1 : 1;
	if (x->nalloc > 0 && y->nalloc > 0)
	{
		RcInvoice  *ix = &cmp_run->inv[x->alloc[0].inv];
		RcInvoice  *iy = &cmp_run->inv[y->alloc[0].inv];

		if (ix->due_date != iy->due_date)
			return ix->due_date < iy->due_date ? -1 : 1;
		if (ix->id != iy->id)
			return ix->id < iy->id ? -1 : 1;
	}
	return x->nalloc - y->nalloc;
}

static bool
hyp_uses_inv(RcHyp *h, int32 inv)
{
	for (int i = 0; i < h->nalloc; i++)
		if (h->alloc[i].inv == inv)
			return true;
	return false;
}

static bool
spans_overlap(RcHit *a, RcHit *b)
{
	return a->start < b->end && b->start < a->end;
}

/*
 * Does the hypothesis leave out an invoice the payer names (a reference
 * that says something by itself), other than by reading the same words as
 * another number it does use?
 */
static int
names_other(RcRun *run, RcLine *line, RcHit *hits, int nhits, RcHyp *h)
{
	for (int i = 0; i < nhits; i++)
	{
		RcHit	   *e = &hits[i];
		bool		other_reading = false;

		if (e->cls < HIT_PREFIX || hyp_uses_inv(h, e->inv) || hit_spec(run, line, e) == SPEC_WEAK)
			continue;
		if (strcmp(h->method, "duplicate") == 0 && h->named_inv == e->inv)
			continue;
		for (int k = 0; k < h->ndup && !other_reading; k++)
			if (h->dup[k] == e->inv)
				other_reading = true;	/* paid twice: what the credit is for */
		if (other_reading)
			continue;
		for (int j = 0; j < nhits && !other_reading; j++)
			if (j != i && hyp_uses_inv(h, hits[j].inv) && spans_overlap(e, &hits[j]))
				other_reading = true;
		if (!other_reading)
			return i;
	}
	return -1;
}

/*
 * Reasons never to apply the best hypothesis by itself, whatever its
 * score: the payer names an invoice it does not settle, or a mistyped
 * reference is read as another number when the number as written is a
 * real invoice of that very amount.
 */
static const char *
held_back(RcRun *run, RcLine *line, RcHyp *best)
{
	for (int i = 0; i < line->nhits; i++)
	{
		RcHit	   *u = &line->hits[i];

		if (u->cls != HIT_FUZZY || !hyp_uses_inv(best, u->inv))
			continue;
		for (int j = 0; j < line->nhits; j++)
		{
			RcHit	   *e = &line->hits[j];
			RcInvoice  *inv = &run->inv[e->inv];

			if (e->cls >= HIT_PREFIX && e->inv != u->inv && spans_overlap(e, u)
				&& (inv->amount == line->amount || inv->loaded_open == line->amount))
				return "the reference as written is another invoice of that amount";
		}
	}
	{
		int			i = names_other(run, line, line->hits, line->nhits, best);

		if (i >= 0)
			return run->inv[line->hits[i].inv].paid || run->inv[line->hits[i].inv].open == 0
				? "the payer names an invoice already paid"
				: "the payer names an invoice this match does not settle";
	}
	return NULL;
}

static void
decide(RcRun *run, RcLine *line, HypSet *hs, bool may_apply)
{
	RcConfig   *cfg = line_config(run, line);
	int			n = 0;

	/* scores are read by people: two decimals, whatever float arithmetic did */
	for (int i = 0; i < hs->n; i++)
		hs->h[i].score = rintf(hs->h[i].score * 100) / 100;
	cmp_run = run;
	qsort(hs->h, hs->n, sizeof(RcHyp), cmp_hyp);
	cmp_run = NULL;
	/* the same settlement reached two ways counts once, at its best score */
	for (int i = 0; i < hs->n; i++)
	{
		bool		dup = false;

		for (int j = 0; j < n && !dup; j++)
			if (same_allocation(&hs->h[i], &hs->h[j]) && strcmp(hs->h[i].method, "duplicate") != 0
				&& strcmp(hs->h[j].method, "duplicate") != 0)
				dup = true;
		if (!dup)
			hs->h[n++] = hs->h[i];
	}
	hs->n = n;

	line->ambiguous = false;
	for (int i = 1; i < n; i++)
	{
		RcHyp	   *best = &hs->h[0];
		RcHyp	   *next = &hs->h[i];
		/* an exact settlement outweighs one that leaves money unexplained */
		float4		rival = next->score - (best->exact && !next->exact ? 0.10 : 0);

		if (rival >= best->score - cfg->margin || (!best->exact && next->exact && next->score >= 0.85))
			line->ambiguous = true;
	}
	line->held = n > 0 ? held_back(run, line, &hs->h[0]) : NULL;

	line->nhyps = 0;
	line->hyps = NULL;
	if (n > 0 && hs->h[0].score >= cfg->propose_min)
	{
		RcHyp	   *best = &hs->h[0];
		int			keep = 0;

		if (may_apply && run->auto_apply && !line->ambiguous && !best->propose_only
			&& best->score >= cfg->auto_min && line->held == NULL)
		{
			line->outcome = OUT_APPLIED;
			keep = 1;
		}
		else
		{
			line->outcome = OUT_PROPOSED;
			for (int i = 0; i < n && keep < cfg->max_proposals; i++)
				if (hs->h[i].score >= cfg->propose_min)
					keep++;
		}
		line->hyps = MemoryContextAlloc(run->cxt, sizeof(RcHyp) * keep);
		memcpy(line->hyps, hs->h, sizeof(RcHyp) * keep);
		line->nhyps = keep;
		if (strncmp(best->method, "reference_partial", 17) == 0
			|| strncmp(best->method, "reference_overpayment", 21) == 0
			|| best->left_open > 0)
			line->flags |= LINEFLAG_AMOUNT_MISMATCH;
		if (best->credit > 0 && strcmp(best->credit_source, "overpayment") == 0
			&& strcmp(best->method, "duplicate") != 0)
			line->flags |= LINEFLAG_OVERPAYMENT;
	}
	else
	{
		line->outcome = OUT_UNMATCHED;
		if (line->why == NULL)
			line->why = hs->n == 0 ? "no reference, payer or amount points to an open invoice"
				: "every candidate scored below propose_min_score";
	}
}

static void
keep_hits(RcRun *run, RcLine *line, Scan *s)
{
	line->nhits = s->nhits;
	line->hits = MemoryContextAlloc(run->cxt, sizeof(RcHit) * Max(s->nhits, 1));
	memcpy(line->hits, s->hits, sizeof(RcHit) * s->nhits);
}

void
rc_match_line(RcRun *run, RcLine *line)
{
	Scan	   *s;
	HypSet	   *hs;
	char	   *ltok[NAME_MAX_TOKENS];
	int			nltok = 0;
	bool		conclusive = false;
	int32		refcust[MAX_PAYERS];
	int			nrefcust = 0;

	line->outcome = OUT_NONE;
	line->instalment = NULL;
	if (!line->amount_ok)
	{
		line->outcome = OUT_UNMATCHED;
		line->why = "the amount has more than 4 decimals or is out of range";
		return;
	}
	if (line->amount < 0)
	{
		line->outcome = line->return_reason ? OUT_RETURN : OUT_IGNORED;
		return;
	}

	s = palloc0(sizeof(Scan));
	hs = palloc(sizeof(HypSet));
	hs->n = 0;
	s->run = run;
	s->line = line;
	if (line->name)
		nltok = name_tokens(line->name, ltok, NAME_MAX_TOKENS);
	line->instalment = text_instalment_word(line->text, line->textlen);
	identify_payer(run, line, ltok, nltok);

	/* exact references first; mistyped ones only when they are not conclusive */
	scan_text(s, SCAN_EXACT);
	prune_hits(s);
	reference_hyps(run, line, s, hs, ltok, nltok);
	for (int i = 0; i < hs->n; i++)
		if (strcmp(hs->h[i].method, "reference") == 0 && hs->h[i].cls >= HIT_PREFIX
			&& hs->h[i].fit != FIT_CONFLICT && hs->h[i].score >= line_config(run, line)->auto_min)
			conclusive = true;	/* the amount is exactly what a reference names, and the payer agrees */
	if (!conclusive && line->text)
	{
		fuzzy_candidates(s);
		if (s->ncand > 0)
			scan_text(s, SCAN_FUZZY);
		prune_hits(s);
		hs->n = 0;
		reference_hyps(run, line, s, hs, ltok, nltok);
	}

	/* the payer: known by IBAN or name, else the customer of a strong reference */
	if (line->payer.by != PAYER_NONE)
		for (int i = 0; i < line->payer.ncust; i++)
			payer_hyps(run, line, line->payer.cust[i], line->payer.by, hs);
	else
	{
		for (int i = 0; i < s->nhits; i++)
		{
			RcInvoice  *inv = &run->inv[s->hits[i].inv];
			bool		seen = false;

			if (s->hits[i].cls < HIT_PREFIX || inv->cust < 0)
				continue;
			for (int k = 0; k < nrefcust; k++)
				if (refcust[k] == inv->cust)
					seen = true;
			if (!seen && nrefcust < MAX_PAYERS)
				refcust[nrefcust++] = inv->cust;
		}
		for (int k = 0; k < nrefcust; k++)
			payer_hyps(run, line, refcust[k], PAYER_REFERENCE, hs);
		if (hs->n == 0)
			amount_only_hyps(run, line, hs);
	}
	/* what the payer did not say is worth less than what it said */
	for (int i = 0; i < hs->n; i++)
		if (names_other(run, line, s->hits, s->nhits, &hs->h[i]) >= 0)
			hs->h[i].score = Min(hs->h[i].score, 0.80);
	duplicate_hyps(run, line, s, hs);
	if (line->payer.by == PAYER_NONE && nrefcust == 0)
		line->flags |= LINEFLAG_UNKNOWN_PAYER;

	keep_hits(run, line, s);
	decide(run, line, hs, true);
	if (line->nhyps > 0 && line->hyps[0].ndup > 0)
		line->flags |= LINEFLAG_DUPLICATE;
	/* a duplicate payment when nothing better was applied */
	if (line->outcome != OUT_APPLIED)
		for (int i = 0; i < line->nhyps; i++)
			if (strcmp(line->hyps[i].method, "duplicate") == 0)
				line->flags |= LINEFLAG_DUPLICATE;

	pfree(s);
	pfree(hs);
}

/*
 * Before matching: the reference keys of a line that name no open invoice,
 * to look up among paid ones (duplicate payments) in one query.
 */
void
rc_prescan(RcRun *run, RcLine *line)
{
	Scan	   *s;
	MemoryContext old;

	line->npaid_keys = 0;
	if (!line->amount_ok || line->amount < 0 || line->text == NULL)
		return;
	s = palloc0(sizeof(Scan));
	s->run = run;
	s->line = line;
	old = MemoryContextSwitchTo(run->cxt);
	line->paid_keys = palloc(sizeof(char *) * MAX_PAID_KEYS);
	scan_text(s, SCAN_PAID_KEYS);
	MemoryContextSwitchTo(old);
	pfree(s);
}

void
rc_apply_in_memory(RcRun *run, RcLine *line)
{
	RcHyp	   *h = &line->hyps[0];

	for (int i = 0; i < h->nalloc; i++)
	{
		run->inv[h->alloc[i].inv].open -= h->alloc[i].amount;
		run->inv[h->alloc[i].inv].touched = true;
		by_open_changed(run, h->alloc[i].inv);
	}
	for (int i = 0; i < h->nadj; i++)
	{
		run->inv[h->adj[i].inv].open -= h->adj[i].amount;
		run->inv[h->adj[i].inv].touched = true;
		by_open_changed(run, h->adj[i].inv);
	}
}

/* --------------------------------------------------------- explanation */

static const char *
class_name(HitClass c)
{
	switch (c)
	{
		case HIT_EXACT:
			return "number";
		case HIT_PAYREF:
			return "payment_reference";
		case HIT_RF:
			return "creditor_reference";
		case HIT_ZEROS:
			return "number_without_leading_zeros";
		case HIT_PREFIX:
			return "number_without_prefix";
		case HIT_FUZZY:
			return "number_one_character_off";
		default:
			return "none";
	}
}

/* How the payer was identified, as explanations and ar.reconcile_line say it. */
const char *
rc_payer_name(PayerBy by)
{
	switch (by)
	{
		case PAYER_IBAN:
			return "iban";
		case PAYER_IBAN_HISTORY:
			return "iban_history";
		case PAYER_NAME:
			return "name";
		case PAYER_NAME_CLOSE:
			return "close_name";
		case PAYER_REFERENCE:
			return "reference";
		default:
			return "none";
	}
}

static const char *
fit_name(PayerFit f)
{
	switch (f)
	{
		case FIT_IBAN:
			return "iban";
		case FIT_NAME:
			return "name";
		case FIT_NAME_CLOSE:
			return "close_name";
		case FIT_CONFLICT:
			return "iban_of_another_customer";
		default:
			return "unknown";
	}
}

static void
append_diffs(StringInfo b, int diff)
{
	static const struct
	{
		int			flag;
		const char *name;
	}			names[] = {
		{REFDIFF_CASE, "lower_case"}, {REFDIFF_NO_SEPARATORS, "without_separators"},
		{REFDIFF_SEPARATORS, "other_separators"},
		{REFDIFF_O_FOR_0, "o_for_0"}, {REFDIFF_ZEROS, "without_leading_zeros"},
		{REFDIFF_PREFIX, "without_prefix"}, {REFDIFF_SUBSTITUTE, "one_character_mistyped"},
		{REFDIFF_TRANSPOSE, "two_characters_swapped"}, {REFDIFF_INSERT, "one_character_extra"},
		{REFDIFF_DELETE, "one_character_missing"}
	};
	bool		first = true;

	appendStringInfoChar(b, '[');
	for (int i = 0; i < (int) lengthof(names); i++)
		if (diff & names[i].flag)
		{
			appendStringInfo(b, "%s\"%s\"", first ? "" : ",", names[i].name);
			first = false;
		}
	appendStringInfoChar(b, ']');
}

static bool
hyp_names_dup(RcHyp *h, int32 inv)
{
	for (int k = 0; k < h->ndup; k++)
		if (h->dup[k] == inv)
			return true;
	return false;
}

static bool
hyp_uses(RcHyp *h, int32 inv)
{
	for (int i = 0; i < h->nalloc; i++)
		if (h->alloc[i].inv == inv)
			return true;
	return strcmp(h->method, "duplicate") == 0 && h->named_inv == inv;
}

char *
rc_explain(RcRun *run, RcLine *line, RcHyp *h, int rank)
{
	StringInfoData b;
	StringInfoData summary;
	Amount		open = 0;
	bool		first = true;
	const char *sep = "";

	initStringInfo(&b);
	initStringInfo(&summary);
	appendStringInfo(&b, "{\"method\":\"%s\",\"score\":%.2f,\"rank\":%d,\"applied\":%s",
					 h->method, h->score, rank, line->outcome == OUT_APPLIED && rank == 1 ? "true" : "false");

	/* payer */
	appendStringInfo(&b, ",\"payer\":{\"identified_by\":\"%s\"", rc_payer_name(line->payer.by));
	if (line->payer.ncust > 0)
	{
		appendStringInfoString(&b, ",\"customers\":[");
		for (int i = 0; i < line->payer.ncust; i++)
			appendStringInfo(&b, "%s" INT64_FORMAT, i ? "," : "", run->cust[line->payer.cust[i]].id);
		appendStringInfoChar(&b, ']');
	}
	if (line->payer.by == PAYER_NAME || line->payer.by == PAYER_NAME_CLOSE)
		appendStringInfo(&b, ",\"name_similarity\":%.2f", line->payer.similarity);
	if (line->payer.iban_unknown)
		appendStringInfoString(&b, ",\"iban_on_file\":false");
	if (h->cust >= 0)
	{
		appendStringInfo(&b, ",\"customer_id\":" INT64_FORMAT ",\"customer_code\":", run->cust[h->cust].id);
		json_string(&b, run->cust[h->cust].code);
	}
	appendStringInfo(&b, ",\"agreement\":\"%s\"}", fit_name(h->fit));

	/* references quoted that this hypothesis uses */
	appendStringInfoString(&b, ",\"references\":[");
	for (int i = 0; i < line->nhits; i++)
	{
		RcHit	   *hit = &line->hits[i];
		RcInvoice  *inv = &run->inv[hit->inv];

		if (!hyp_uses(h, hit->inv) && !hyp_names_dup(h, hit->inv))
			continue;
		appendStringInfo(&b, "%s{\"invoice_id\":" INT64_FORMAT ",\"number\":", first ? "" : ",", inv->id);
		json_string(&b, inv->number);
		if (hit->end > hit->start && line->text)
		{
			char	   *written = pnstrdup(line->text + hit->start, hit->end - hit->start);

			appendStringInfoString(&b, ",\"written\":");
			json_string(&b, written);
			appendStringInfo(&summary, "%s%s quoted as \"%s\"", sep, inv->number, written);
			pfree(written);
		}
		else
			appendStringInfo(&summary, "%s%s quoted", sep, inv->number);
		sep = ", ";
		appendStringInfo(&b, ",\"matched_on\":\"%s\",\"differences\":", class_name(hit->cls));
		append_diffs(&b, hit->diff);
		if (inv->paid || inv->open == 0)
			appendStringInfoString(&b, ",\"already_paid\":true");
		appendStringInfoChar(&b, '}');
		first = false;
	}
	appendStringInfoChar(&b, ']');

	/* amounts */
	appendStringInfoString(&b, ",\"amount\":{\"paid\":\"");
	amount_format(&b, line->amount);
	appendStringInfo(&b, "\",\"currency\":\"%s\",\"rule\":\"%s\"", line->currency, h->rule ? h->rule : "");
	appendStringInfoString(&b, ",\"allocations\":[");
	for (int i = 0; i < h->nalloc; i++)
	{
		RcInvoice  *inv = &run->inv[h->alloc[i].inv];
		Amount		was = inv->loaded_open;

		appendStringInfo(&b, "%s{\"invoice_id\":" INT64_FORMAT ",\"number\":", i ? "," : "", inv->id);
		json_string(&b, inv->number);
		appendStringInfoString(&b, ",\"open\":\"");
		amount_format(&b, was);
		appendStringInfoString(&b, "\",\"allocated\":\"");
		amount_format(&b, h->alloc[i].amount);
		{
			int			y,
						m,
						d;

			/* ISO 8601 whatever the session's DateStyle */
			j2date(inv->due_date + POSTGRES_EPOCH_JDATE, &y, &m, &d);
			appendStringInfo(&b, "\",\"due_date\":\"%04d-%02d-%02d\"}", y, m, d);
		}
		open += was;
	}
	appendStringInfoChar(&b, ']');
	if (h->nadj > 0)
	{
		appendStringInfoString(&b, ",\"shortfall_closed\":\"");
		amount_format(&b, h->adj[0].amount);
		appendStringInfoChar(&b, '"');
	}
	if (h->left_open > 0)
	{
		appendStringInfoString(&b, ",\"shortfall_left_open\":\"");
		amount_format(&b, h->left_open);
		appendStringInfoChar(&b, '"');
	}
	if (h->credit > 0)
	{
		appendStringInfoString(&b, ",\"customer_credit\":\"");
		amount_format(&b, h->credit);
		appendStringInfo(&b, "\",\"credit_source\":\"%s\"", h->credit_source);
	}
	appendStringInfoChar(&b, '}');
	if (strcmp(h->method, "combination") == 0 || strcmp(h->method, "reference_combination") == 0
		|| (h->rule && strcmp(h->rule, "subset") == 0))
		appendStringInfo(&b, ",\"combination\":{\"solutions\":%d,\"search_complete\":%s,\"chance\":%.6f,\"oldest_first\":%s}",
						 h->solutions, h->complete ? "true" : "false", h->chance,
						 h->oldest_first ? "true" : "false");
	if (strcmp(h->method, "amount") == 0 || strcmp(h->method, "amount_only") == 0)
		appendStringInfo(&b, ",\"open_invoices_of_that_amount\":%d", Max(h->solutions, 1));
	if (line->instalment)
	{
		appendStringInfoString(&b, ",\"instalment_announced\":");
		json_string(&b, line->instalment);
	}
	appendStringInfo(&b, ",\"ambiguous\":%s,\"alternatives\":%d",
					 line->ambiguous ? "true" : "false", Max(line->nhyps - 1, 0));
	if (line->held && rank == 1)
	{
		appendStringInfoString(&b, ",\"held_back\":");
		json_string(&b, line->held);
	}

	/* one sentence for people */
	if (summary.len == 0)
		appendStringInfoString(&summary, "no reference");
	appendStringInfo(&summary, "; payer %s", rc_payer_name(line->payer.by));
	if (h->cust >= 0)
		appendStringInfo(&summary, " (%s)", run->cust[h->cust].code);
	appendStringInfoString(&summary, "; paid ");
	amount_format(&summary, line->amount);
	if (h->nalloc > 0)
	{
		appendStringInfoString(&summary, ", open ");
		amount_format(&summary, open);
	}
	appendStringInfo(&summary, " (%s)", h->rule ? h->rule : h->method);
	if (h->nadj > 0)
	{
		appendStringInfoString(&summary, "; shortfall ");
		amount_format(&summary, h->adj[0].amount);
		appendStringInfoString(&summary, " written off");
	}
	if (h->left_open > 0)
	{
		appendStringInfoString(&summary, "; ");
		amount_format(&summary, h->left_open);
		appendStringInfoString(&summary, " left open");
	}
	if (line->ambiguous)
		appendStringInfoString(&summary, "; ambiguous");
	if (line->held && rank == 1)
		appendStringInfo(&summary, "; held back: %s", line->held);
	appendStringInfoString(&b, ",\"summary\":");
	json_string(&b, summary.data);
	appendStringInfoChar(&b, '}');
	pfree(summary.data);
	return b.data;
}
