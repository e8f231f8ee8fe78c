/*
 * pg_shim.c
 *		Just enough of the PostgreSQL backend for the statement parsers and
 *		the identifier input functions to run outside a server, under
 *		libFuzzer with AddressSanitizer and UndefinedBehaviorSanitizer.
 *
 * palloc allocates from the C heap and remembers every block, so that
 * shim_free_all() releases what one run allocated (an ERROR jumps out of
 * the parser as it would in a server, leaving its memory behind); ereport
 * records the message and, at ERROR, longjmps to the innermost PG_TRY.
 * Everything the linked code references but the fuzzed paths never reach
 * aborts, so a path that does reach it is found at once.
 */
#include "postgres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/memnodes.h"
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pg_shim.h"

/* --- memory: every block on a list, freed after each run --- */

typedef struct ShimBlock
{
	struct ShimBlock *next;
	struct ShimBlock *prev;
	size_t		size;
	max_align_t align[];
} ShimBlock;

static ShimBlock shim_blocks = {&shim_blocks, &shim_blocks, 0};

/* A run may not allocate more than this: a parser that does is a bug. */
#define SHIM_MAX_ALLOC	((size_t) 256 * 1024 * 1024)
static size_t shim_allocated;

static void *
shim_alloc(size_t size, bool zero)
{
	ShimBlock  *b;

	if (size > MaxAllocSize || shim_allocated + size > SHIM_MAX_ALLOC)
	{
		fprintf(stderr, "pg_shim: allocation of %zu bytes (%zu in use)\n", size, shim_allocated);
		abort();
	}
	b = zero ? calloc(1, sizeof(ShimBlock) + size) : malloc(sizeof(ShimBlock) + size);
	if (b == NULL)
		abort();
	b->size = size;
	b->next = shim_blocks.next;
	b->prev = &shim_blocks;
	shim_blocks.next->prev = b;
	shim_blocks.next = b;
	shim_allocated += size;
	return b->align;
}

static ShimBlock *
shim_block(void *p)
{
	return (ShimBlock *) ((char *) p - offsetof(ShimBlock, align));
}

void *
palloc(Size size)
{
	return shim_alloc(size, false);
}

void *
palloc0(Size size)
{
	return shim_alloc(size, true);
}

void *
palloc_extended(Size size, int flags)
{
	return shim_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void
pfree(void *p)
{
	ShimBlock  *b = shim_block(p);

	b->prev->next = b->next;
	b->next->prev = b->prev;
	shim_allocated -= b->size;
	free(b);
}

void *
repalloc(void *p, Size size)
{
	void	   *n = shim_alloc(size, false);
	ShimBlock  *b = shim_block(p);

	memcpy(n, p, Min(b->size, size));
	pfree(p);
	return n;
}

/*
 * Memory contexts: the parsers keep a line's values in a context of their
 * own, reset after each line.  Here every context is the one list of
 * blocks, freed at the end of the run.
 */
MemoryContext CurrentMemoryContext = NULL;
static MemoryContextData shim_context;

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name, Size minContextSize,
							  Size initBlockSize, Size maxBlockSize)
{
	(void) parent;
	(void) name;
	(void) minContextSize;
	(void) initBlockSize;
	(void) maxBlockSize;
	return &shim_context;
}

void
MemoryContextReset(MemoryContext context)
{
	(void) context;
}

void
MemoryContextDelete(MemoryContext context)
{
	(void) context;
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	(void) context;
	return shim_alloc(size, true);
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	(void) context;
	return pstrdup(string);
}

void
shim_free_all(void)
{
	while (shim_blocks.next != &shim_blocks)
		pfree(shim_blocks.next->align);
}

char *
pstrdup(const char *in)
{
	size_t		n = strlen(in);
	char	   *out = palloc(n + 1);

	memcpy(out, in, n + 1);
	return out;
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
psprintf(const char *fmt,...)
{
	va_list		args;
	char	   *buf;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	buf = palloc(n + 1);
	va_start(args, fmt);
	vsnprintf(buf, n + 1, fmt, args);
	va_end(args);
	return buf;
}

/* --- StringInfo --- */

void
initStringInfo(StringInfo str)
{
	str->maxlen = 1024;
	str->data = palloc(str->maxlen);
	resetStringInfo(str);
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0 || ((Size) needed) >= (MaxAllocSize - (Size) str->len))
		abort();
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, strlen(s));
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	enlargeStringInfo(str, 1);
	str->data[str->len++] = ch;
	str->data[str->len] = '\0';
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	enlargeStringInfo(str, n);
	va_start(args, fmt);
	vsnprintf(str->data + str->len, n + 1, fmt, args);
	va_end(args);
	str->len += n;
}

/* --- errors --- */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;
volatile sig_atomic_t InterruptPending = false;

static int	shim_elevel;
static char shim_message[1024];
int			shim_errors;

void
ProcessInterrupts(void)
{
}

bool
errstart(int elevel, const char *domain)
{
	(void) domain;
	shim_elevel = elevel;
	shim_message[0] = '\0';
	return elevel >= ERROR;		/* notices and debug messages: ignored */
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	(void) filename;
	(void) lineno;
	(void) funcname;
	shim_errors++;
	if (getenv("SHIM_VERBOSE"))
		fprintf(stderr, "ERROR: %s\n", shim_message);
	if (PG_exception_stack == NULL)
		abort();
	siglongjmp(*PG_exception_stack, 1);
}

void
pg_re_throw(void)
{
	if (PG_exception_stack == NULL)
		abort();
	siglongjmp(*PG_exception_stack, 1);
}

int
errcode(int sqlerrcode)
{
	(void) sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(shim_message, sizeof(shim_message), fmt, args);
	va_end(args);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	(void) fmt;
	return 0;
}

int
errhint(const char *fmt,...)
{
	(void) fmt;
	return 0;
}

const char *
shim_last_message(void)
{
	return shim_message;
}

/* --- encodings: the fuzzed text is taken as UTF-8 --- */

int
pg_mblen(const char *mbstr)
{
	unsigned char c = (unsigned char) *mbstr;

	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		return 2;
	if ((c & 0xF0) == 0xE0)
		return 3;
	if ((c & 0xF8) == 0xF0)
		return 4;
	return 1;
}

int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			clen = 0;

	while (len > 0 && *mbstr)
	{
		int			l = pg_mblen(mbstr);

		if (clen + l > limit || l > len)
			break;
		clen += l;
		mbstr += l;
		len -= l;
	}
	return clen;
}

/* --- what the identifier functions' SQL wrappers use --- */

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	return datum;
}

text *
cstring_to_text_with_len(const char *s, int len)
{
	text	   *t = palloc(len + VARHDRSZ);

	SET_VARSIZE(t, len + VARHDRSZ);
	memcpy(VARDATA(t), s, len);
	return t;
}

text *
cstring_to_text(const char *s)
{
	return cstring_to_text_with_len(s, strlen(s));
}

char *
text_to_cstring(const text *t)
{
	text	   *tunpacked = pg_detoast_datum_packed(unconstify(text *, t));

	return pnstrdup(VARDATA_ANY(tunpacked), VARSIZE_ANY_EXHDR(tunpacked));
}

/* Reached only by the binary I/O and hash functions, never fuzzed here. */
#define SHIM_UNREACHED(name) \
	do { fprintf(stderr, "pg_shim: %s reached\n", name); abort(); } while (0)

char *
pq_getmsgtext(StringInfo msg, int rawbytes, int *nbytes)
{
	(void) msg;
	(void) rawbytes;
	(void) nbytes;
	SHIM_UNREACHED("pq_getmsgtext");
}

void
pq_begintypsend(StringInfo buf)
{
	(void) buf;
	SHIM_UNREACHED("pq_begintypsend");
}

bytea *
pq_endtypsend(StringInfo buf)
{
	(void) buf;
	SHIM_UNREACHED("pq_endtypsend");
}

void
pq_sendtext(StringInfo buf, const char *str, int slen)
{
	(void) buf;
	(void) str;
	(void) slen;
	SHIM_UNREACHED("pq_sendtext");
}

uint32
hash_bytes(const unsigned char *k, int keylen)
{
	(void) k;
	(void) keylen;
	SHIM_UNREACHED("hash_bytes");
}

uint64
hash_bytes_extended(const unsigned char *k, int keylen, uint64 seed)
{
	(void) k;
	(void) keylen;
	(void) seed;
	SHIM_UNREACHED("hash_bytes_extended");
}
