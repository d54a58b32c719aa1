/*-------------------------------------------------------------------------
 *
 * binlog.c
 *	  The segstore container file format ("binlogs"): its layout, and the
 *	  encoding helpers that the reader and the writer share.
 *
 * A binlog holds nrows rows in ncolumns columns.  It is written once, front
 * to back, under a temporary name, made durable and renamed into place, and
 * never modified afterwards.  Every byte of it is covered by a checksum or
 * by a consistency check, so damage is reported rather than returned as
 * data.
 *
 * Rows may be written in chunks, to all columns at once or to each column
 * on its own: each column's blocks are compressed and written as soon as
 * they fill, so that a writer holds about one block per column whatever the
 * size of the file.  A writer may also copy a block of another file as it
 * is, compressed, which spares compaction decompressing and recompressing
 * the blocks it keeps whole.  The header, whose row count is only known at
 * the end, is written first as a placeholder and rewritten last.
 *
 * The code is in three files.  This one holds the layout below, the
 * reference for both directions, and what both use: header encoding and
 * decoding, the byte shuffle, column widths and shapes, CRC32C.
 * binlog_reader.c opens, validates and reads files; binlog_writer.c writes
 * them, in one go or as a stream.  binlog_int.h declares what they share.
 *
 * FILE LAYOUT (format version 1)
 *
 * All integers are unsigned, little-endian and unaligned.  Column values
 * are stored in their in-memory representation, which is why a
 * little-endian host is required (see the #error below).  Offsets count
 * from the start of the file.
 *
 *	 +--------------------+  0
 *	 | header             |
 *	 +--------------------+  40
 *	 | block 0 of col 0   |  compressed blocks, back to back without gaps:
 *	 | block 0 of col 1   |  each column's blocks in row order, but blocks
 *	 | block 1 of col 0   |  of different columns interleaved in any order
 *	 | ...                |  (a streaming writer writes each block when it
 *	 |                    |  fills)
 *	 +--------------------+  footer offset
 *	 | footer             |
 *	 +--------------------+  file size - 20
 *	 | trailer            |
 *	 +--------------------+  file size
 *
 * Header (40 bytes):
 *	   0  4  magic "SSBL"
 *	   4  2  format version (1)
 *	   6  2  file kind: 1 insert, 2 delta, 3 stats (4 is reserved for index)
 *	   8  8  writer transaction id (a FullTransactionId value)
 *	  16  8  file id
 *	  24  8  number of rows (at most 2^63 - 1)
 *	  32  4  number of columns
 *	  36  4  CRC32C of bytes 0-35
 *
 * Block: one zstd frame, with its content size recorded in the frame
 * header, holding the block's raw payload.  The CRC32C of the compressed
 * bytes is kept in the footer.  Every block holds at least one row, so a
 * column without rows has no blocks.  The raw payload of a block of n rows:
 *
 *	  INT4, FLOAT4	   n x 4 bytes, byte-shuffled with element width 4
 *	  INT8, FLOAT8	   n x 8 bytes, byte-shuffled with element width 8
 *	  VECTOR		   n x dim x 4 bytes, byte-shuffled with element width 4
 *	  BOOL			   n x 1 byte (0 or 1), as is
 *	  VAR			   n x 4-byte row lengths, byte-shuffled with element
 *					   width 4, then the rows' bytes back to back
 *
 * Byte-shuffling m elements of width w puts byte b of element i at position
 * b * m + i.  Bytes of equal significance (float exponents, the high bytes
 * of small integers) then sit next to each other and compress far better
 * than the interleaved original.
 *
 * Writers cut blocks at about 1 MiB of raw payload, and give a VAR row that
 * would push a block past that size a block of its own.  A block copied
 * from another file keeps its size, and the rows pending before it become a
 * short block, so readers accept any block size.
 *
 * Footer (length given in the trailer):
 *	  for each column, 12 bytes:
 *		   0  4  column type (SsColType)
 *		   4  4  dim: 1 or more for VECTOR, otherwise 0
 *		   8  4  number of blocks
 *		  followed by, for each of its blocks, 44 bytes:
 *		   0  8  file offset of the block
 *		   8  8  compressed size
 *		  16  8  raw (uncompressed) size
 *		  24  8  first row
 *		  32  8  row count
 *		  40  4  CRC32C of the compressed bytes
 *	  then 4 bytes: CRC32C of all the preceding footer bytes
 *
 * Trailer (20 bytes, the end of the file):
 *	   0  8  footer offset
 *	   8  8  footer length, including its CRC
 *	  16  4  magic "SSBE"
 *
 * The trailer needs no checksum of its own: readers require the footer to
 * end exactly where the trailer begins.  Readers also require the blocks of
 * all columns, taken in file order, to cover the bytes from the end of the
 * header to the footer exactly, without gap or overlap; the blocks of each
 * column, in footer order, to cover its rows exactly once and in order; and
 * every block to have the raw size its row count implies.  There is no
 * padding anywhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* for ZSTD_customMem: the only way to choose where zstd allocates */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#include "format/binlog.h"
#include "format/binlog_int.h"

#ifdef WORDS_BIGENDIAN
#error "the segstore file format stores values little-endian and needs a little-endian host"
#endif

#define BINLOG_MAGIC		"SSBL"

/* Largest vector dimension: one row must fit in an ordinary allocation. */
#define BINLOG_MAX_DIM		((uint32) (MaxAllocSize / sizeof(float4)))

/* zstd's allocation function: NULL on failure, which zstd reports as such. */
static void *
ZstdAlloc(void *opaque, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) opaque, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

/* zstd's free function. */
static void
ZstdFree(void *opaque, void *address)
{
	if (address != NULL)
		pfree(address);
}

/* zstd allocating in cxt. */
static ZSTD_customMem
ZstdMemory(MemoryContext cxt)
{
	ZSTD_customMem mem;

	mem.customAlloc = ZstdAlloc;
	mem.customFree = ZstdFree;
	mem.opaque = cxt;
	return mem;
}

/*
 * A compression state whose memory is in cxt (callers give it a context
 * named "segstore zstd"); it goes when cxt is reset or deleted.
 */
struct ZSTD_CCtx_s *
SsBinlogZstdCompressor(MemoryContext cxt)
{
	ZSTD_CCtx  *cctx = ZSTD_createCCtx_advanced(ZstdMemory(cxt));

	if (cctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not create a zstd compression context.")));
	return cctx;
}

/* A decompression state, likewise. */
struct ZSTD_DCtx_s *
SsBinlogZstdDecompressor(MemoryContext cxt)
{
	ZSTD_DCtx  *dctx = ZSTD_createDCtx_advanced(ZstdMemory(cxt));

	if (dctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not create a zstd decompression context.")));
	return dctx;
}

/*
 * Working memory of a compression state for blocks of block_bytes at
 * level, and of a decompression state, for callers that budget memory.
 */
Size
SsBinlogCompressMemory(int level, Size block_bytes)
{
	return ZSTD_estimateCCtxSize_usingCParams(ZSTD_getCParams(level, block_bytes, 0));
}

/* See SsBinlogCompressMemory. */
Size
SsBinlogDecompressMemory(void)
{
	return ZSTD_estimateDCtxSize();
}

/* Store a 16-bit integer little-endian. */
void
SsBinlogPutU16(char *p, uint16 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Store a 32-bit integer little-endian. */
void
SsBinlogPutU32(char *p, uint32 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Store a 64-bit integer little-endian. */
void
SsBinlogPutU64(char *p, uint64 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Load a little-endian 16-bit integer. */
uint16
SsBinlogGetU16(const char *p)
{
	uint16		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load a little-endian 32-bit integer. */
uint32
SsBinlogGetU32(const char *p)
{
	uint32		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load a little-endian 64-bit integer. */
uint64
SsBinlogGetU64(const char *p)
{
	uint64		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* CRC32C of a buffer; index files (ivffile.c) use it too. */
pg_crc32c
SsCrc32c(const void *data, Size len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

/*
 * Make sure a scratch buffer holds at least size bytes, allocating in cxt;
 * contents are lost.
 */
void
SsBinlogScratchReserve(MemoryContext cxt, BinlogScratch *s, Size size)
{
	if (s->cap >= size && s->buf != NULL)
		return;
	if (s->buf != NULL)
		pfree(s->buf);
	s->buf = MemoryContextAllocHuge(cxt, Max(size, 1));
	s->cap = size;
}

/* Release a scratch buffer. */
void
SsBinlogScratchFree(BinlogScratch *s)
{
	if (s->buf != NULL)
		pfree(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/*
 * Size of the elements a column type is made of: the unit of the byte
 * shuffle, 1 for bool (not shuffled) and 0 for variable-length columns.
 */
int
SsBinlogElemWidth(SsColType type)
{
	switch (type)
	{
		case SS_COL_INT4:
		case SS_COL_FLOAT4:
		case SS_COL_VECTOR:
			return 4;
		case SS_COL_INT8:
		case SS_COL_FLOAT8:
			return 8;
		case SS_COL_BOOL:
			return 1;
		case SS_COL_VAR:
			return 0;
	}
	return 0;
}

/* Bytes per row of a fixed-width column. */
Size
SsBinlogRowWidth(SsColType type, int32 dim)
{
	if (type == SS_COL_VECTOR)
		return (Size) dim * sizeof(float4);
	return (Size) SsBinlogElemWidth(type);
}

/* Whether a type and dimension, as stored in a footer, make a valid column. */
bool
SsBinlogColumnShapeValid(uint32 type, uint32 dim)
{
	if (type < SS_COL_INT4 || type > SS_COL_VECTOR)
		return false;
	if (type == SS_COL_VECTOR)
		return dim >= 1 && dim <= BINLOG_MAX_DIM;
	return dim == 0;
}

/*
 * Byte-shuffle n elements of the given width from src into dst.  Inlined
 * with a constant width so that the inner loop is unrolled.
 */
static pg_attribute_always_inline void
ShuffleWidth(char *pg_restrict dst, const char *pg_restrict src, Size n,
			 int width)
{
	for (Size i = 0; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[b * n + i] = src[i * width + b];
}

/* Byte-shuffle n elements of width 4 or 8. */
void
SsBinlogShuffle(char *dst, const char *src, Size n, int width)
{
	if (width == 4)
		ShuffleWidth(dst, src, n, 4);
	else
		ShuffleWidth(dst, src, n, 8);
}

/*
 * Undo the byte shuffle of a block of total elements for elements
 * [first, first + n) only, writing them to dst.
 */
static pg_attribute_always_inline void
UnshuffleWidth(char *pg_restrict dst, const char *pg_restrict src,
			   Size total, Size first, Size n, int width)
{
	for (Size i = 0; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[i * width + b] = src[b * total + first + i];
}

/* Undo the byte shuffle for some elements of width 4 or 8. */
void
SsBinlogUnshuffle(char *dst, const char *src, Size total, Size first, Size n,
				  int width)
{
	if (width == 4)
		UnshuffleWidth(dst, src, total, first, n, 4);
	else
		UnshuffleWidth(dst, src, total, first, n, 8);
}

/* Serialize a header, computing its CRC. */
void
SsBinlogHeaderEncode(char *buf, const BinlogHeader *h)
{
	memcpy(buf, BINLOG_MAGIC, 4);
	SsBinlogPutU16(buf + 4, h->version);
	SsBinlogPutU16(buf + 6, h->kind);
	SsBinlogPutU64(buf + 8, h->writer_xid);
	SsBinlogPutU64(buf + 16, h->file_id);
	SsBinlogPutU64(buf + 24, h->nrows);
	SsBinlogPutU32(buf + 32, h->ncols);
	SsBinlogPutU32(buf + 36, SsCrc32c(buf, 36));
}

/*
 * Decode and validate a header.  On a problem, report it as corruption of
 * path if report is true, else return false.
 */
bool
SsBinlogHeaderDecode(const char *buf, const char *path, bool report,
					 BinlogHeader *h)
{
	if (memcmp(buf, BINLOG_MAGIC, 4) != 0)
	{
		if (report)
			BINLOG_CORRUPT(path, errdetail("Bad magic number."));
		return false;
	}

	/* Check the version before the CRC: other versions may lay out more. */
	h->version = SsBinlogGetU16(buf + 4);
	if (h->version != BINLOG_VERSION)
	{
		if (report)
			BINLOG_CORRUPT(path,
						   errdetail("Unsupported format version %u.",
									 (unsigned) h->version));
		return false;
	}
	if (SsBinlogGetU32(buf + 36) != SsCrc32c(buf, 36))
	{
		if (report)
			BINLOG_CORRUPT(path, errdetail("Header checksum mismatch."));
		return false;
	}

	h->kind = SsBinlogGetU16(buf + 6);
	h->writer_xid = SsBinlogGetU64(buf + 8);
	h->file_id = SsBinlogGetU64(buf + 16);
	h->nrows = SsBinlogGetU64(buf + 24);
	h->ncols = SsBinlogGetU32(buf + 32);
	if (h->kind < 1 || h->kind > BINLOG_MAX_KIND)
	{
		if (report)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Unknown file kind %u.",
											  (unsigned) h->kind));
		return false;
	}
	if (h->nrows > (uint64) PG_INT64_MAX)
	{
		if (report)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Row count %llu is out of range.",
											  (unsigned long long) h->nrows));
		return false;
	}
	if (h->ncols > (uint32) PG_INT32_MAX)
	{
		if (report)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Column count %u is out of range.",
											  h->ncols));
		return false;
	}
	return true;
}
