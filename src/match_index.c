/*-------------------------------------------------------------------------
 *
 * match_index.c
 *		In-memory index of the matching engine: a multimap from hashed keys
 *		to values (invoice numbers and references, IBANs, amounts, name
 *		tokens -> invoices or customers).
 *
 * It lives in the memory context of one ar.reconcile() run.  Keys are
 * 64-bit hashes (hash_bytes_extended); callers that need certainty compare
 * the real keys of what they get back.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "match.h"

uint64
match_hash(char tag, const char *s, int len)
{
	uint64		seed = (uint64) (unsigned char) tag * UINT64CONST(0x9E3779B97F4A7C15);

	return hash_bytes_extended((const unsigned char *) s, len, seed);
}

/* ------------------------------------------------------------ multimap */

/*
 * The tables of a run's large indexes (64 MB for the keys of 500,000
 * invoices) are read at random: in 4 kB pages, nearly every lookup misses
 * the TLB (dearer still in a virtual machine) and every page costs a fault
 * when first written.  They are asked for in transparent huge pages where
 * the system has them (Linux, "madvise" mode); elsewhere nothing changes.
 */
#define KIX_HUGE_PAGE	((uintptr_t) 2 * 1024 * 1024)

static void *
kix_alloc(MemoryContext cxt, Size size, bool zero)
{
	char	   *p = MemoryContextAllocHuge(cxt, size);

#ifdef MADV_HUGEPAGE
	if (size >= 2 * KIX_HUGE_PAGE)
	{
		uintptr_t	start = TYPEALIGN(KIX_HUGE_PAGE, (uintptr_t) p);
		uintptr_t	end = TYPEALIGN_DOWN(KIX_HUGE_PAGE, (uintptr_t) p + size);

		if (end > start)
			(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
	}
#endif
	if (zero)
		memset(p, 0, size);
	return p;
}

/* The hash of a (hashed) key in the table: its bucket is this & sizemask. */
static inline uint32
kix_hash(uint64 key)
{
	return (uint32) (key ^ (key >> 32));
}

#define KIX_MAX_SIZE	(((uint64) PG_UINT32_MAX) + 1)

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
#define SH_HASH_KEY(tb, k)	kix_hash(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_USE_NONDEFAULT_ALLOCATOR
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static inline void *
keytab_allocate(keytab_hash *tb, Size size)
{
	return kix_alloc(tb->ctx, size, true);
}

static inline void
keytab_free(keytab_hash *tb, void *pointer)
{
	(void) tb;
	pfree(pointer);
}

/*
 * Most lookups are of keys that are not there (every window of a
 * remittance text is tried as a reference), and a miss in a table of
 * millions of keys is a cache miss.  A bit per (hashed) key in a filter of
 * about a byte per expected key (2 MB for the keys of 500,000 invoices,
 * which stays in the CPU caches) answers most of them: a clear bit means
 * the key was never added.  A set bit may be another key's: the table says.
 */
/*
 * A position of a list: its value and the next position side by side, so
 * that walking a list costs one cache miss per step rather than two.
 */
typedef struct KixLink
{
	int32		next;
	int32		value;
} KixLink;

struct KeyIndex
{
	MemoryContext cxt;
	keytab_hash *tab;
	KixLink    *link;			/* list links and values, by position */
	int32		n;
	int32		cap;
	uint64	   *filter;			/* a bit per key added, by kix_filter_bit() */
	uint32		filter_mask;	/* number of bits - 1 */
};

/* The filter bit of a key: bits the table's bucket does not depend on. */
static inline uint32
kix_filter_bit(const KeyIndex *ix, uint64 key)
{
	return (uint32) (key >> 37) & ix->filter_mask;
}

KeyIndex *
kix_create(MemoryContext cxt, uint32 expected)
{
	KeyIndex   *ix = MemoryContextAllocZero(cxt, sizeof(KeyIndex));
	uint64		bits = 512;

	ix->cxt = cxt;
	ix->tab = keytab_create(cxt, Max(expected, 16), NULL);
	ix->cap = Max(expected, 16);
	ix->link = kix_alloc(cxt, sizeof(KixLink) * ix->cap, false);
	while (bits < (uint64) expected * 8 && bits < (UINT64CONST(1) << 27))
		bits *= 2;
	ix->filter = kix_alloc(cxt, bits / 8, true);
	ix->filter_mask = (uint32) (bits - 1);
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
		ix->link = repalloc_huge(ix->link, sizeof(KixLink) * ix->cap);
	}
	ix->link[ix->n].next = e->head;
	ix->link[ix->n].value = value;
	e->head = ix->n++;
	ix->filter[kix_filter_bit(ix, key) / 64] |= UINT64CONST(1) << (kix_filter_bit(ix, key) % 64);
}

/*
 * Adds n keys and values as n calls of kix_add() in that order would, but
 * in the order of their buckets in the hash table: one pass over the table
 * rather than a cache miss per key (a table of millions of keys is many
 * times the CPU caches).  The order is a stable radix sort on the bucket,
 * so the values of one key keep their order in its list.
 */
void
kix_add_many(KeyIndex *ix, const uint64 *keys, const int32 *values, int32 n)
{
	int32	   *order,
			   *tmp;
	int32		count[257];
	int			bits = 0;

	if (n <= 0)
		return;
	/* the table as large as it will be: the buckets sorted on stay its own */
	while (ix->tab->members + (uint64) n >= ix->tab->grow_threshold && ix->tab->size < KIX_MAX_SIZE)
		keytab_grow(ix->tab, ix->tab->size * 2);
	while (bits < 32 && (ix->tab->sizemask >> bits) != 0)
		bits++;
	if (ix->n + n > ix->cap)
	{
		ix->cap = ix->n + n;
		ix->link = repalloc_huge(ix->link, sizeof(KixLink) * ix->cap);
	}
	order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * n);
	tmp = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * n);
	for (int32 i = 0; i < n; i++)
		order[i] = i;
	for (int shift = 0; shift < bits; shift += 8)
	{
		int32	   *swap;

		memset(count, 0, sizeof(count));
		for (int32 i = 0; i < n; i++)
			count[((kix_hash(keys[i]) & ix->tab->sizemask) >> shift & 0xFF) + 1]++;
		for (int d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (int32 i = 0; i < n; i++)
		{
			int32		j = order[i];

			tmp[count[(kix_hash(keys[j]) & ix->tab->sizemask) >> shift & 0xFF]++] = j;
		}
		swap = order;
		order = tmp;
		tmp = swap;
		CHECK_FOR_INTERRUPTS();
	}
	for (int32 i = 0; i < n; i++)
		kix_add(ix, keys[order[i]], values[order[i]]);
	pfree(order);
	pfree(tmp);
}

int32
kix_first(KeyIndex *ix, uint64 key)
{
	uint32		bit = kix_filter_bit(ix, key);
	KeyEntry   *e;

	if ((ix->filter[bit / 64] & (UINT64CONST(1) << (bit % 64))) == 0)
		return -1;
	e = keytab_lookup(ix->tab, key);

	return e ? e->head : -1;
}

int32
kix_next(KeyIndex *ix, int32 pos)
{
	return ix->link[pos].next;
}

int32
kix_value(KeyIndex *ix, int32 pos)
{
	return ix->link[pos].value;
}

int32
kix_count(KeyIndex *ix, uint64 key, int32 limit)
{
	int32		n = 0;

	for (int32 p = kix_first(ix, key); p >= 0 && n < limit; p = ix->link[p].next)
		n++;
	return n;
}
