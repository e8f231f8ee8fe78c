/*-------------------------------------------------------------------------
 *
 * match.h
 *		Building blocks of the matching engine behind ar.reconcile():
 *		reference keys and their variants (match_text.c), payer names
 *		(match_text.c), a hash multimap (match_index.c) and the bounded
 *		subset-sum (match_amount.c).
 *
 * Everything here works on plain C strings and integers, never throws on
 * hostile input, and reads no byte outside the buffers it is given.
 * Amounts are exact integers in units of 1/10000 of the currency
 * (MATCH_AMOUNT_SCALE decimals); money never goes through floating point.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#ifndef AR_MATCH_H
#define AR_MATCH_H

#include "lib/stringinfo.h"
#include "utils/palloc.h"

/* Amounts: value * 10^4, so 2- and 3-decimal currencies are exact. */
typedef int64 Amount;
#define MATCH_AMOUNT_SCALE	4
#define MATCH_AMOUNT_ONE	INT64CONST(10000)

/*
 * A remittance text that announces a deposit or an instalment ("acompte",
 * "avance", "partiel", "deposit", "instalment", "Anzahlung",
 * "Teilzahlung", "1/3"...): the word found (upper case, or "n/m" for a
 * fraction), else NULL.  Such a payment is never closed by a tolerance.
 */
extern const char *text_instalment_word(const char *text, int len);

/* Longest reference key considered (an ISO 11649 reference has 25). */
#define REFKEY_MAX			40

/* Longest run of text tokens read as one reference ("FA 2026 000123"). */
#define REF_WINDOW_TOKENS	4

/* ---------------------------------------------------------------- text */

/*
 * The compact key of a reference: its ASCII letters and digits, upper
 * case, with the letter O read as the digit 0.  "fa-2O26/000123" and
 * "FA2026000123" have the same key.  Writes at most outmax characters and
 * a NUL; returns the full length (callers compare it with outmax).
 */
extern int	refkey_compact(const char *s, int len, char *out, int outmax);

/*
 * The key without leading zeros: the compact key cut into groups of
 * letters and groups of digits (also at every separator of the source),
 * leading zeros dropped from each digit group, groups joined by '|':
 * "FA-2026-000123" and "fa 2026 123" both give "FA|2026|123".
 */
extern int	refkey_grouped(const char *s, int len, char *out, int outmax);

/*
 * The digits of a reference that starts with letters, for payers who drop
 * the prefix: "FA-2026-000123" gives "2026000123" (digits_out) and
 * "2026|123" (grouped_out, leading zeros dropped).  Returns false when the
 * reference has no letter or fewer than 6 digits.
 */
extern bool refkey_digits(const char *s, int len, char *digits_out,
						  char *grouped_out, int outmax);

/* True when the key is specific enough to name one document by itself. */
extern bool refkey_specific(const char *key, int len);

/* Kinds of difference between what was written and the reference. */
#define REFDIFF_CASE		0x01
#define REFDIFF_SEPARATORS	0x02
#define REFDIFF_O_FOR_0		0x04
#define REFDIFF_ZEROS		0x08
#define REFDIFF_PREFIX		0x10
#define REFDIFF_SUBSTITUTE	0x20
#define REFDIFF_TRANSPOSE	0x40
#define REFDIFF_INSERT		0x80
#define REFDIFF_DELETE		0x100
#define REFDIFF_NO_SEPARATORS	0x200

/* How "written" differs from "reference" when their keys are equal. */
extern int	refkey_describe(const char *written, int wlen, const char *reference);

/*
 * Optimal string alignment distance of two keys when it is at most 1:
 * returns 0 (equal), one of REFDIFF_SUBSTITUTE, _TRANSPOSE, _INSERT (a has
 * one character more), _DELETE (a has one character less), or -1.
 */
extern int	refkey_edit1(const char *a, int la, const char *b, int lb);

/* A valid ISO 11649 reference (mod 97) among the compact characters. */
extern bool refkey_is_rf(const char *key, int len);

/*
 * Tokens of a remittance text: runs of ASCII letters and digits.  The
 * token i spans text[start[i] .. end[i]).  Non-ASCII bytes separate
 * tokens.  At most maxtokens are returned.
 */
typedef struct RefTokens
{
	int			n;
	int		   *start;
	int		   *end;
} RefTokens;

extern void reftokens_split(const char *text, int len, RefTokens *tokens,
							int maxtokens);

/*
 * Payer names: accents folded (Latin-1 and Latin Extended-A), upper case,
 * legal forms ("SARL", "GmbH", ...), titles and small words dropped.
 * Returns the number of tokens written to tokens[] (each palloc'd in the
 * current memory context).
 */
#define NAME_MAX_TOKENS		12
extern int	name_tokens(const char *name, char **tokens, int maxtokens);

/*
 * Similarity of two token lists in [0, 1]: Dice coefficient where two
 * tokens are equal, one is a prefix of the other of at least 4 letters
 * (bank names are cut at 35 or 70 characters), or they are 6 letters or
 * more and one edit apart.
 */
extern double name_similarity(char **a, int na, char **b, int nb);

/* Appends "s" as a JSON string (quoted, escaped) to buf. */
extern void json_string(StringInfo buf, const char *s);

/* Prints an amount with 2 decimals, or up to 4 when it has them. */
extern void amount_format(StringInfo buf, Amount a);

/* --------------------------------------------------------------- index */

/* 64-bit hash of a key, with a tag that keeps kinds of keys apart. */
extern uint64 match_hash(char tag, const char *s, int len);

/*
 * A multimap from 64-bit hashed keys to int32 values: a hash table of
 * list heads, and the lists in two growing arrays.
 */
typedef struct KeyIndex KeyIndex;

extern KeyIndex *kix_create(MemoryContext cxt, uint32 expected);
extern void kix_add(KeyIndex *ix, uint64 key, int32 value);
/* n kix_add() calls in that order, faster on large indexes */
extern void kix_add_many(KeyIndex *ix, const uint64 *keys, const int32 *values, int32 n);
/* Position of the first value of key, or -1; then kix_next() until -1. */
extern int32 kix_first(KeyIndex *ix, uint64 key);
extern int32 kix_next(KeyIndex *ix, int32 pos);
extern int32 kix_value(KeyIndex *ix, int32 pos);
extern int32 kix_count(KeyIndex *ix, uint64 key, int32 limit);

/* -------------------------------------------------------------- amount */

/*
 * Bounded subset-sum: subsets of between kmin and kmax of the n positive
 * values, taken in the order given (oldest first), that sum to target.
 * Counts solutions up to maxsol and stops; the first one found (the one
 * with the oldest items, lexicographically) is stored as indexes in
 * first[] with its size in *first_len.  Gives up after "budget" search
 * nodes: *complete then says whether the count is exact.
 */
extern int	subset_sum(const Amount *values, int n, Amount target,
					   int kmin, int kmax, int maxsol, int64 budget,
					   int *first, int *first_len, bool *complete);

/*
 * Expected number of subsets of kmin..kmax of the n values that would sum
 * to the target, to the cent, by chance: for each size k, C(n, k) times
 * the density at the target of the sum of k values (normal approximation).
 * Used to tell a telling combination from a coincidence.
 */
extern double subset_chance(const Amount *values, int n, Amount target,
							int kmin, int kmax);

#endif							/* AR_MATCH_H */
