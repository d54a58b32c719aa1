/*-------------------------------------------------------------------------
 *
 * shim.c
 *	  The least of a PostgreSQL backend that segstore's expression parser
 *	  and file readers need to run inside a libFuzzer process: memory
 *	  contexts, ereport/PG_TRY, transient files, interrupts, stack depth,
 *	  the UTF8 encoding, and the few List and Bitmapset functions used.
 *
 * Why a shim: the targets link the real segstore sources (src/expr,
 * src/format) unchanged, but those call into the backend, which cannot be
 * linked into another program.  Everything here behaves as the backend
 * does for what segstore uses, so that a crash found here is a crash in
 * the server:
 *	 - palloc and friends allocate with malloc, each chunk recorded in its
 *	   context, so that deleting or resetting a context frees what it holds
 *	   (and runs its reset callbacks), as at the end of a query or an
 *	   aborted transaction; requests over MaxAllocSize (MaxAllocHugeSize
 *	   for the huge variants) are refused with an error as mcxt.c refuses
 *	   them.  Each chunk is a separate malloc, so AddressSanitizer sees
 *	   every overrun and use after free.
 *	 - ereport(ERROR) formats its message and longjmps to the innermost
 *	   PG_TRY, as elog.c does; lower levels are dropped; FATAL and above,
 *	   or an ERROR outside any PG_TRY, abort (a finding).  The SQLSTATE of
 *	   the last error is kept for the target to judge.
 *	 - OpenTransientFile and CloseTransientFile are open() and close(),
 *	   with the open ones closed at ShimEnd as a transaction's abort closes
 *	   them.
 *	 - check_stack_depth() errors beyond 2MB of stack, as the default
 *	   max_stack_depth does.
 *	 - The database encoding is UTF8; pg_mblen and its kin are libpgcommon's.
 * libpgport and libpgcommon (PostgreSQL's own static libraries) supply
 * CRC-32C, qsort and case-insensitive comparison.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "nodes/memnodes.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "format/fault.h"
#include "shim.h"

/* A context: PostgreSQL's header, then the chunks it holds. */
typedef struct ShimContext
{
	MemoryContextData hdr;
	struct Chunk *chunks;
} ShimContext;

/*
 * Each chunk's header; the context pointer sits right before the payload,
 * where GetMemoryChunkContext() looks for it.
 */
typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	Size		size;
	MemoryContext cxt;
} Chunk;

#define CHUNK_HDR MAXALIGN(sizeof(Chunk))
#define CHUNK_OF(p) ((Chunk *) ((char *) (p) - CHUNK_HDR))

MemoryContext CurrentMemoryContext = NULL;
MemoryContext TopMemoryContext = NULL;
MemoryContext ErrorContext = NULL;

volatile sig_atomic_t InterruptPending = false;
sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

static uint32 wait_event_info;
uint32	   *my_wait_event_info = &wait_event_info;

/* The error being built or the last one thrown. */
static int	err_level;
static int	err_code;
static char err_message[1024];
static char err_detail[1024];

#define MAX_TRANSIENT 64
static int	transient[MAX_TRANSIENT];
static int	ntransient;

static char *stack_base;
static MemoryContext input_cxt;

/* Make a context under parent. */
static MemoryContext
ContextCreate(MemoryContext parent, const char *name)
{
	ShimContext *c = calloc(1, sizeof(ShimContext));

	if (c == NULL)
		abort();
	c->hdr.type = T_AllocSetContext;
	c->hdr.isReset = true;
	c->hdr.name = name;
	c->hdr.parent = parent;
	if (parent)
	{
		c->hdr.nextchild = parent->firstchild;
		if (parent->firstchild)
			parent->firstchild->prevchild = &c->hdr;
		parent->firstchild = &c->hdr;
	}
	return &c->hdr;
}

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	return ContextCreate(parent, name);
}

/* Free the chunks of cxt and delete its children, running callbacks. */
void
MemoryContextReset(MemoryContext cxt)
{
	ShimContext *c = (ShimContext *) cxt;

	while (cxt->firstchild)
		MemoryContextDelete(cxt->firstchild);
	while (cxt->reset_cbs)
	{
		MemoryContextCallback *cb = cxt->reset_cbs;

		cxt->reset_cbs = cb->next;
		cb->func(cb->arg);
	}
	while (c->chunks)
	{
		Chunk	   *ch = c->chunks;

		c->chunks = ch->next;
		free(ch);
	}
	cxt->mem_allocated = 0;
	cxt->isReset = true;
}

void
MemoryContextDelete(MemoryContext cxt)
{
	MemoryContextReset(cxt);
	if (cxt->parent)
	{
		if (cxt->prevchild)
			cxt->prevchild->nextchild = cxt->nextchild;
		else
			cxt->parent->firstchild = cxt->nextchild;
		if (cxt->nextchild)
			cxt->nextchild->prevchild = cxt->prevchild;
	}
	if (CurrentMemoryContext == cxt)
		CurrentMemoryContext = cxt->parent;
	free(cxt);
}

void
MemoryContextRegisterResetCallback(MemoryContext cxt, MemoryContextCallback *cb)
{
	cb->next = cxt->reset_cbs;
	cxt->reset_cbs = cb;
	cxt->isReset = false;
}

/*
 * Allocate size bytes in cxt, refused over limit as mcxt.c refuses it; out
 * of memory is an error, or NULL with no_oom.
 */
static void *
ChunkAllocFlags(MemoryContext cxt, Size size, Size limit, bool zero, bool no_oom)
{
	ShimContext *c = (ShimContext *) cxt;
	Chunk	   *ch;

	if (size > limit)
		elog(ERROR, "invalid memory alloc request size %zu", size);
	ch = zero ? calloc(1, CHUNK_HDR + size) : malloc(CHUNK_HDR + size);
	if (ch == NULL && no_oom)
		return NULL;
	if (ch == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	ch->size = size;
	ch->cxt = cxt;
	ch->prev = NULL;
	ch->next = c->chunks;
	if (c->chunks)
		c->chunks->prev = ch;
	c->chunks = ch;
	cxt->mem_allocated += size;
	cxt->isReset = false;
	return (char *) ch + CHUNK_HDR;
}

/* An allocation that fails with an error. */
static void *
ChunkAlloc(MemoryContext cxt, Size size, Size limit, bool zero)
{
	return ChunkAllocFlags(cxt, size, limit, zero, false);
}

void *
MemoryContextAllocExtended(MemoryContext cxt, Size size, int flags)
{
	return ChunkAllocFlags(cxt, size,
						   (flags & MCXT_ALLOC_HUGE) ? MaxAllocHugeSize : MaxAllocSize,
						   (flags & MCXT_ALLOC_ZERO) != 0, (flags & MCXT_ALLOC_NO_OOM) != 0);
}

void *
MemoryContextAlloc(MemoryContext cxt, Size size)
{
	return ChunkAlloc(cxt, size, MaxAllocSize, false);
}

void *
MemoryContextAllocZero(MemoryContext cxt, Size size)
{
	return ChunkAlloc(cxt, size, MaxAllocSize, true);
}

void *
MemoryContextAllocHuge(MemoryContext cxt, Size size)
{
	return ChunkAlloc(cxt, size, MaxAllocHugeSize, false);
}

void *
palloc(Size size)
{
	return ChunkAlloc(CurrentMemoryContext, size, MaxAllocSize, false);
}

void *
palloc0(Size size)
{
	return ChunkAlloc(CurrentMemoryContext, size, MaxAllocSize, true);
}

void
pfree(void *pointer)
{
	Chunk	   *ch = CHUNK_OF(pointer);
	ShimContext *c = (ShimContext *) ch->cxt;

	if (ch->prev)
		ch->prev->next = ch->next;
	else
		c->chunks = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	c->hdr.mem_allocated -= ch->size;
	free(ch);
}

/* Reallocate within the chunk's own context. */
static void *
ChunkRealloc(void *pointer, Size size, Size limit)
{
	Chunk	   *old = CHUNK_OF(pointer);
	void	   *p = ChunkAlloc(old->cxt, size, limit, false);

	memcpy(p, pointer, Min(size, old->size));
	pfree(pointer);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	return ChunkRealloc(pointer, size, MaxAllocSize);
}

void *
repalloc_huge(void *pointer, Size size)
{
	return ChunkRealloc(pointer, size, MaxAllocHugeSize);
}

char *
MemoryContextStrdup(MemoryContext cxt, const char *string)
{
	Size		len = strlen(string) + 1;
	char	   *p = MemoryContextAlloc(cxt, len);

	memcpy(p, string, len);
	return p;
}

char *
pstrdup(const char *in)
{
	return MemoryContextStrdup(CurrentMemoryContext, in);
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *p;

	len = strnlen(in, len);
	p = palloc(len + 1);
	memcpy(p, in, len);
	p[len] = '\0';
	return p;
}

char *
psprintf(const char *fmt,...)
{
	va_list		args;
	int			len;
	char	   *p;

	va_start(args, fmt);
	len = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	p = palloc(len + 1);
	va_start(args, fmt);
	vsnprintf(p, len + 1, fmt, args);
	va_end(args);
	return p;
}

/*
 * As common/psprintf.c's, which libpgcommon's own objects call: defined
 * here so that its psprintf (malloc-based in frontend builds) stays out.
 */
size_t
pvsnprintf(char *buf, size_t len, const char *fmt, va_list args)
{
	int			n = vsnprintf(buf, len, fmt, args);

	if (n < 0)
		elog(ERROR, "vsnprintf failed: %m");
	return (size_t) n < len ? (size_t) n : (size_t) n + 1;
}

/* Errors */

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	err_level = elevel;
	err_code = ERRCODE_INTERNAL_ERROR;
	err_message[0] = '\0';
	err_detail[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (err_level > ERROR || PG_exception_stack == NULL)
	{
		fprintf(stderr, "shim: uncaught error at %s:%d: %s (%s)\n",
				filename, lineno, err_message, err_detail);
		abort();
	}
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
	err_code = sqlerrcode;
	return 0;
}

int
errcode_for_file_access(void)
{
	err_code = errno == ENOENT ? ERRCODE_UNDEFINED_FILE : ERRCODE_IO_ERROR;
	return 0;
}

/* Format into buf as the message functions do. */
#define FORMAT_INTO(buf, fmt) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		vsnprintf(buf, sizeof(buf), fmt, args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	FORMAT_INTO(err_message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	FORMAT_INTO(err_message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	FORMAT_INTO(err_detail, fmt);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	FORMAT_INTO(err_detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	char		hint[1024];

	FORMAT_INTO(hint, fmt);
	return 0;
}

int
errposition(int cursorpos)
{
	return 0;
}

/* Interrupts never arrive here. */
void
ProcessInterrupts(void)
{
	abort();
}

void
check_stack_depth(void)
{
	char		here;

	if (stack_base - &here > 2 * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("stack depth limit exceeded")));
}

/* Files */

int
OpenTransientFile(const char *fileName, int fileFlags)
{
	int			fd;

	if (ntransient >= MAX_TRANSIENT)
		abort();
	fd = open(fileName, fileFlags, 0600);
	if (fd >= 0)
		transient[ntransient++] = fd;
	return fd;
}

int
CloseTransientFile(int fd)
{
	for (int i = 0; i < ntransient; i++)
		if (transient[i] == fd)
		{
			transient[i] = transient[--ntransient];
			return close(fd);
		}
	abort();
}

/* The test-only I/O fault hook (segstore.inject_io_error) is never armed here. */
bool
SsFaultInject(SsFaultOp op, const char *path)
{
	return false;
}

/* Encoding: UTF8, as a server database would be. */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

int
pg_database_encoding_max_length(void)
{
	return pg_encoding_max_length(PG_UTF8);
}

int
pg_mblen(const char *mbstr)
{
	return pg_encoding_mblen(PG_UTF8, mbstr);
}

int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			len = 0;

	while (limit > 0 && *mbstr)
	{
		int			l = pg_mblen(mbstr);

		limit -= l;
		mbstr += l;
		len++;
	}
	return len;
}

/* Lists: elements always in a separate, growable array. */

static List *
NewList(NodeTag type, int length)
{
	List	   *list = palloc(offsetof(List, initial_elements));

	list->type = type;
	list->length = length;
	list->max_length = Max(length, 4);
	list->elements = palloc(sizeof(ListCell) * list->max_length);
	return list;
}

List *
lappend(List *list, void *datum)
{
	if (list == NIL)
		list = NewList(T_List, 0);
	if (list->length == list->max_length)
	{
		list->max_length *= 2;
		list->elements = repalloc(list->elements, sizeof(ListCell) * list->max_length);
	}
	list->elements[list->length++].ptr_value = datum;
	return list;
}

List *
list_make2_impl(NodeTag t, ListCell datum1, ListCell datum2)
{
	List	   *list = NewList(t, 2);

	list->elements[0] = datum1;
	list->elements[1] = datum2;
	return list;
}

void
list_free(List *list)
{
	if (list == NIL)
		return;
	pfree(list->elements);
	pfree(list);
}

/* Bitmapsets */

Bitmapset *
bms_copy(const Bitmapset *a)
{
	Bitmapset  *result;
	Size		size;

	if (a == NULL)
		return NULL;
	size = offsetof(Bitmapset, words) + a->nwords * sizeof(bitmapword);
	result = palloc(size);
	memcpy(result, a, size);
	return result;
}

Bitmapset *
bms_add_member(Bitmapset *a, int x)
{
	int			wordnum = x / BITS_PER_BITMAPWORD;

	if (x < 0)
		elog(ERROR, "negative bitmapset member not allowed");
	if (a == NULL || wordnum >= a->nwords)
	{
		int			nwords = wordnum + 1;
		Bitmapset  *b = palloc0(offsetof(Bitmapset, words) + nwords * sizeof(bitmapword));

		b->nwords = nwords;
		if (a)
		{
			memcpy(b->words, a->words, a->nwords * sizeof(bitmapword));
			pfree(a);
		}
		a = b;
	}
	a->words[wordnum] |= (bitmapword) 1 << (x % BITS_PER_BITMAPWORD);
	return a;
}

/* The harness */

void
ShimBegin(void)
{
	char		here;

	if (TopMemoryContext == NULL)
	{
		TopMemoryContext = ContextCreate(NULL, "TopMemoryContext");
		ErrorContext = ContextCreate(TopMemoryContext, "ErrorContext");
	}
	if (stack_base == NULL)
		stack_base = &here;
	input_cxt = ContextCreate(TopMemoryContext, "fuzz input");
	CurrentMemoryContext = input_cxt;
	err_code = 0;
}

int
ShimErrorCode(void)
{
	return err_code;
}

const char *
ShimErrorMessage(void)
{
	return err_message;
}

void
ShimCheckError(bool file_reader)
{
	bool		ok;

	if (getenv("SEGSTORE_FUZZ_VERBOSE"))
		fprintf(stderr, "shim: error: %s (%s)\n", err_message, err_detail);

	if (file_reader)
		ok = err_code == ERRCODE_DATA_CORRUPTED || err_code == ERRCODE_INDEX_CORRUPTED ||
			err_code == ERRCODE_PROGRAM_LIMIT_EXCEEDED || err_code == ERRCODE_OUT_OF_MEMORY;
	else
		ok = err_code != ERRCODE_INTERNAL_ERROR;
	if (!ok)
	{
		fprintf(stderr, "shim: unexpected error %c%c%c%c%c: %s (%s)\n",
				PGUNSIXBIT(err_code), PGUNSIXBIT(err_code >> 6),
				PGUNSIXBIT(err_code >> 12), PGUNSIXBIT(err_code >> 18),
				PGUNSIXBIT(err_code >> 24), err_message, err_detail);
		abort();
	}
}

void
ShimEnd(void)
{
	while (ntransient > 0)
		close(transient[--ntransient]);
	PG_exception_stack = NULL;
	error_context_stack = NULL;
	MemoryContextDelete(input_cxt);
	CurrentMemoryContext = NULL;
}

static char input_path[MAXPGPATH];

/* Remove the input file when the process exits. */
static void
RemoveInputFile(void)
{
	unlink(input_path);
}

/* Write data as this process's input file (on /dev/shm when there is one). */
const char *
ShimWriteFile(const uint8 *data, size_t size)
{
	char	   *path = input_path;
	int			fd;

	if (path[0] == '\0')
	{
		const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		snprintf(path, MAXPGPATH, "%s/segstore-fuzz-%d", dir, (int) getpid());
		atexit(RemoveInputFile);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t) size || close(fd) != 0)
	{
		perror(path);
		abort();
	}
	return path;
}
