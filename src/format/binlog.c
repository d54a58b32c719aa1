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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
 * The byte shuffle is a transpose of an n x width byte matrix: element i's
 * byte b goes to plane b, position i.  With SSE2 (every x86-64) sixteen
 * elements at a time are transposed in registers by rounds of byte, word
 * and quadword interleaves, which is several times faster than the scalar
 * loop: compaction and flush spent a third of their time in it.  The scalar
 * loop does the rest, and everything on other hosts.
 */
#define SHUFFLE_LANES 16

/* Scalar byte shuffle of elements [from, n) of width into planes of n. */
static pg_attribute_always_inline void
ShuffleScalar(char *pg_restrict dst, const char *pg_restrict src, Size from,
			  Size n, int width)
{
	for (Size i = from; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[b * n + i] = src[i * width + b];
}

/* Scalar unshuffle of elements [first + from, first + n) of planes of total. */
static pg_attribute_always_inline void
UnshuffleScalar(char *pg_restrict dst, const char *pg_restrict src,
				Size total, Size first, Size from, Size n, int width)
{
	for (Size i = from; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[i * width + b] = src[b * total + first + i];
}

#ifdef __SSE2__

#define LO8(a, b) _mm_unpacklo_epi8((a), (b))
#define HI8(a, b) _mm_unpackhi_epi8((a), (b))

/* Shuffle 16 elements of width 4 at src into planes of n bytes at dst. */
static inline void
Shuffle4x16(char *dst, const char *src, Size n)
{
	__m128i		x0 = _mm_loadu_si128((const __m128i *) src);
	__m128i		x1 = _mm_loadu_si128((const __m128i *) (src + 16));
	__m128i		x2 = _mm_loadu_si128((const __m128i *) (src + 32));
	__m128i		x3 = _mm_loadu_si128((const __m128i *) (src + 48));

	/* each round halves the distance between bytes of one plane */
	__m128i		a = LO8(x0, x1),
				b = HI8(x0, x1),
				c = LO8(x2, x3),
				d = HI8(x2, x3);
	__m128i		e = LO8(a, b),
				f = HI8(a, b),
				g = LO8(c, d),
				h = HI8(c, d);
	__m128i		i = LO8(e, f),
				j = HI8(e, f),
				k = LO8(g, h),
				l = HI8(g, h);

	_mm_storeu_si128((__m128i *) dst, _mm_unpacklo_epi64(i, k));
	_mm_storeu_si128((__m128i *) (dst + n), _mm_unpackhi_epi64(i, k));
	_mm_storeu_si128((__m128i *) (dst + 2 * n), _mm_unpacklo_epi64(j, l));
	_mm_storeu_si128((__m128i *) (dst + 3 * n), _mm_unpackhi_epi64(j, l));
}

/* Shuffle 16 elements of width 8 at src into planes of n bytes at dst. */
static inline void
Shuffle8x16(char *dst, const char *src, Size n)
{
	__m128i		x[8];
	__m128i		a[8];

	for (int r = 0; r < 8; r++)
		x[r] = _mm_loadu_si128((const __m128i *) (src + 16 * r));
	/* four rounds of byte interleaves, pairing registers four apart, then two, ... */
	for (int r = 0; r < 4; r++)
	{
		a[2 * r] = LO8(x[r], x[r + 4]);
		a[2 * r + 1] = HI8(x[r], x[r + 4]);
	}
	for (int r = 0; r < 4; r++)
	{
		x[2 * r] = LO8(a[r], a[r + 4]);
		x[2 * r + 1] = HI8(a[r], a[r + 4]);
	}
	for (int r = 0; r < 4; r++)
	{
		a[2 * r] = LO8(x[r], x[r + 4]);
		a[2 * r + 1] = HI8(x[r], x[r + 4]);
	}
	for (int r = 0; r < 4; r++)
	{
		_mm_storeu_si128((__m128i *) (dst + 2 * r * n), LO8(a[r], a[r + 4]));
		_mm_storeu_si128((__m128i *) (dst + (2 * r + 1) * n), HI8(a[r], a[r + 4]));
	}
}

/* Unshuffle 16 elements of width 4 from planes of total bytes at src. */
static inline void
Unshuffle4x16(char *dst, const char *src, Size total)
{
	__m128i		p0 = _mm_loadu_si128((const __m128i *) src);
	__m128i		p1 = _mm_loadu_si128((const __m128i *) (src + total));
	__m128i		p2 = _mm_loadu_si128((const __m128i *) (src + 2 * total));
	__m128i		p3 = _mm_loadu_si128((const __m128i *) (src + 3 * total));
	__m128i		a = LO8(p0, p1),
				b = HI8(p0, p1),
				c = LO8(p2, p3),
				d = HI8(p2, p3);

	_mm_storeu_si128((__m128i *) dst, _mm_unpacklo_epi16(a, c));
	_mm_storeu_si128((__m128i *) (dst + 16), _mm_unpackhi_epi16(a, c));
	_mm_storeu_si128((__m128i *) (dst + 32), _mm_unpacklo_epi16(b, d));
	_mm_storeu_si128((__m128i *) (dst + 48), _mm_unpackhi_epi16(b, d));
}

/* Unshuffle 16 elements of width 8 from planes of total bytes at src. */
static inline void
Unshuffle8x16(char *dst, const char *src, Size total)
{
	__m128i		p[8];
	__m128i		a[8];
	__m128i		b[8];

	for (int r = 0; r < 8; r++)
		p[r] = _mm_loadu_si128((const __m128i *) (src + r * total));
	/* bytes pair up into words, words into double words, those into elements */
	for (int r = 0; r < 4; r++)
	{
		a[r] = LO8(p[2 * r], p[2 * r + 1]);
		a[r + 4] = HI8(p[2 * r], p[2 * r + 1]);
	}
	for (int h = 0; h < 2; h++)
		for (int r = 0; r < 2; r++)
		{
			b[4 * h + 2 * r] = _mm_unpacklo_epi16(a[4 * h + 2 * r], a[4 * h + 2 * r + 1]);
			b[4 * h + 2 * r + 1] = _mm_unpackhi_epi16(a[4 * h + 2 * r], a[4 * h + 2 * r + 1]);
		}
	for (int h = 0; h < 2; h++)
		for (int r = 0; r < 2; r++)
		{
			char	   *out = dst + 64 * h + 32 * r;

			_mm_storeu_si128((__m128i *) out,
							 _mm_unpacklo_epi32(b[4 * h + r], b[4 * h + r + 2]));
			_mm_storeu_si128((__m128i *) (out + 16),
							 _mm_unpackhi_epi32(b[4 * h + r], b[4 * h + r + 2]));
		}
}

#endif							/* __SSE2__ */

/* Byte-shuffle n elements of width 4 or 8. */
void
SsBinlogShuffle(char *dst, const char *src, Size n, int width)
{
	Size		done = 0;

#ifdef __SSE2__
	for (; done + SHUFFLE_LANES <= n; done += SHUFFLE_LANES)
	{
		if (width == 4)
			Shuffle4x16(dst + done, src + done * 4, n);
		else
			Shuffle8x16(dst + done, src + done * 8, n);
	}
#endif
	if (width == 4)
		ShuffleScalar(dst, src, done, n, 4);
	else
		ShuffleScalar(dst, src, done, n, 8);
}

/*
 * Undo the byte shuffle of a block of total elements for elements
 * [first, first + n) only, writing them to dst.
 */
void
SsBinlogUnshuffle(char *dst, const char *src, Size total, Size first, Size n,
				  int width)
{
	Size		done = 0;

#ifdef __SSE2__
	for (; done + SHUFFLE_LANES <= n; done += SHUFFLE_LANES)
	{
		if (width == 4)
			Unshuffle4x16(dst + done * 4, src + first + done, total);
		else
			Unshuffle8x16(dst + done * 8, src + first + done, total);
	}
#endif
	if (width == 4)
		UnshuffleScalar(dst, src, total, first, done, n, 4);
	else
		UnshuffleScalar(dst, src, total, first, done, n, 8);
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
