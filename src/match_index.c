/*-------------------------------------------------------------------------
 *
 * match_index.c
 *		In-memory indexes of the matching engine: a multimap from hashed
 *		keys to values (invoice numbers and references, IBANs, amounts,
 *		name tokens -> invoices or customers), and a deletion-neighbourhood
 *		index for edit-distance-1 lookups of references.
 *
 * Both live in the memory context of one ar.reconcile() run.  Keys are
 * 64-bit hashes (hash_bytes_extended); callers that need certainty compare
 * the real keys of what they get back.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/memutils.h"

#include "match.h"

uint64
match_hash(char tag, const char *s, int len)
{
	uint64		seed = (uint64) (unsigned char) tag * UINT64CONST(0x9E3779B97F4A7C15);

	return hash_bytes_extended((const unsigned char *) s, len, seed);
}

/* ------------------------------------------------------------ multimap */

typedef struct KeyEntry
{
	uint64		key;
	int32		head;			/* first position of its list */
	char		status;			/* used by simplehash */
} KeyEntry;

#define SH_PREFIX		keytab
#define SH_ELEMENT_TYPE	KeyEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	((uint32) ((k) ^ ((k) >> 32)))
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct KeyIndex
{
	MemoryContext cxt;
	keytab_hash *tab;
	int32	   *next;			/* list links, by position */
	int32	   *value;			/* values, by position */
	int32		n;
	int32		cap;
};

KeyIndex *
kix_create(MemoryContext cxt, uint32 expected)
{
	KeyIndex   *ix = MemoryContextAllocZero(cxt, sizeof(KeyIndex));

	ix->cxt = cxt;
	ix->tab = keytab_create(cxt, Max(expected, 16), NULL);
	ix->cap = Max(expected, 16);
	ix->next = MemoryContextAllocHuge(cxt, sizeof(int32) * ix->cap);
	ix->value = MemoryContextAllocHuge(cxt, sizeof(int32) * ix->cap);
	return ix;
}

void
kix_add(KeyIndex *ix, uint64 key, int32 value)
{
	bool		found;
	KeyEntry   *e = keytab_insert(ix->tab, key, &found);

	if (!found)
		e->head = -1;
	if (ix->n == ix->cap)
	{
		ix->cap *= 2;
		ix->next = repalloc_huge(ix->next, sizeof(int32) * ix->cap);
		ix->value = repalloc_huge(ix->value, sizeof(int32) * ix->cap);
	}
	ix->next[ix->n] = e->head;
	ix->value[ix->n] = value;
	e->head = ix->n++;
}

int32
kix_first(KeyIndex *ix, uint64 key)
{
	KeyEntry   *e = keytab_lookup(ix->tab, key);

	return e ? e->head : -1;
}

int32
kix_next(KeyIndex *ix, int32 pos)
{
	return ix->next[pos];
}

int32
kix_value(KeyIndex *ix, int32 pos)
{
	return ix->value[pos];
}

int32
kix_count(KeyIndex *ix, uint64 key, int32 limit)
{
	int32		n = 0;

	for (int32 p = kix_first(ix, key); p >= 0 && n < limit; p = ix->next[p])
		n++;
	return n;
}

/* ------------------------------------------------ deletion neighbourhood */

/*
 * Entries are (32-bit fingerprint << 32 | value), grouped into buckets by
 * the top bits of the variant's hash (a counting sort: two passes over the
 * keys, no temporary copy).
 */
struct DelIndex
{
	int			bits;
	uint32	   *offsets;		/* bucket b spans entries[offsets[b] .. offsets[b + 1]) */
	uint64	   *entries;
	int64		n;
};

/* Calls fn on the hash of the key and of each deletion of one character. */
typedef void (*variant_fn) (void *arg, uint64 hash);

static void
for_each_variant(const char *key, int len, variant_fn fn, void *arg)
{
	char		buf[REFKEY_MAX];

	fn(arg, match_hash('X', key, len));
	for (int i = 0; i < len; i++)
	{
		/* deleting any character of a run gives the same string */
		if (i > 0 && key[i] == key[i - 1])
			continue;
		memcpy(buf, key, i);
		memcpy(buf + i, key + i + 1, len - i - 1);
		fn(arg, match_hash('X', buf, len - 1));
	}
}

typedef struct BuildState
{
	DelIndex   *ix;
	int32		value;
	bool		placing;
	uint32	   *fill;
} BuildState;

static void
build_variant(void *arg, uint64 hash)
{
	BuildState *st = arg;
	uint32		b = (uint32) (hash >> (64 - st->ix->bits));

	if (!st->placing)
		st->ix->offsets[b + 1]++;
	else
		st->ix->entries[st->fill[b]++] = ((uint64) (uint32) hash << 32) | (uint32) st->value;
}

DelIndex *
delix_build(MemoryContext cxt, int32 nvalues, delix_key_fn keyfn, void *arg, int minlen)
{
	DelIndex   *ix = MemoryContextAllocZero(cxt, sizeof(DelIndex));
	BuildState	st = {ix, 0, false, NULL};
	int64		estimate = 0;
	int			len;
	uint32		nbuckets;

	for (int32 v = 0; v < nvalues; v++)
	{
		const char *key = keyfn(arg, v, &len);

		if (key && len >= minlen && len <= REFKEY_MAX)
			estimate += len + 1;
	}
	ix->bits = Max(8, Min(24, pg_leftmost_one_pos64(Max(estimate / 4, 1)) + 1));
	nbuckets = (uint32) 1 << ix->bits;
	ix->offsets = MemoryContextAllocHuge(cxt, sizeof(uint32) * (nbuckets + 1));
	memset(ix->offsets, 0, sizeof(uint32) * (nbuckets + 1));

	/* pass 1: count per bucket */
	for (int32 v = 0; v < nvalues; v++)
	{
		const char *key = keyfn(arg, v, &len);

		if (!key || len < minlen || len > REFKEY_MAX)
			continue;
		st.value = v;
		for_each_variant(key, len, build_variant, &st);
		if ((v & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (uint32 b = 0; b < nbuckets; b++)
		ix->offsets[b + 1] += ix->offsets[b];
	ix->n = ix->offsets[nbuckets];
	ix->entries = MemoryContextAllocHuge(cxt, sizeof(uint64) * Max(ix->n, 1));

	/* pass 2: place */
	st.placing = true;
	st.fill = MemoryContextAllocHuge(cxt, sizeof(uint32) * nbuckets);
	memcpy(st.fill, ix->offsets, sizeof(uint32) * nbuckets);
	for (int32 v = 0; v < nvalues; v++)
	{
		const char *key = keyfn(arg, v, &len);

		if (!key || len < minlen || len > REFKEY_MAX)
			continue;
		st.value = v;
		for_each_variant(key, len, build_variant, &st);
		if ((v & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(st.fill);
	return ix;
}

typedef struct LookupState
{
	DelIndex   *ix;
	delix_found_fn found;
	void	   *arg;
	int			calls;
} LookupState;

static void
lookup_variant(void *arg, uint64 hash)
{
	LookupState *st = arg;
	uint32		b = (uint32) (hash >> (64 - st->ix->bits));
	uint32		fp = (uint32) hash;

	for (uint32 p = st->ix->offsets[b]; p < st->ix->offsets[b + 1]; p++)
	{
		uint64		e = st->ix->entries[p];

		if ((uint32) (e >> 32) == fp)
		{
			st->found(st->arg, (int32) (uint32) e);
			st->calls++;
		}
	}
}

int
delix_lookup(DelIndex *ix, const char *key, int len, delix_found_fn found, void *arg)
{
	LookupState st = {ix, found, arg, 0};

	if (len <= 0 || len > REFKEY_MAX)
		return 0;
	for_each_variant(key, len, lookup_variant, &st);
	return st.calls;
}
