/*-------------------------------------------------------------------------
 *
 * binlog.c
 *	  Writing and reading segstore container files ("binlogs").
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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "format/binlog.h"
#include "format/files.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#ifdef WORDS_BIGENDIAN
#error "the segstore file format stores values little-endian and needs a little-endian host"
#endif

#define BINLOG_MAGIC		"SSBL"
#define BINLOG_END_MAGIC	"SSBE"
#define BINLOG_VERSION		1
#define BINLOG_MAX_KIND		SS_BINLOG_STATS

#define BINLOG_HEADER_SIZE	40
#define BINLOG_TRAILER_SIZE 20
#define BINLOG_COLUMN_ENTRY_SIZE 12
#define BINLOG_BLOCK_ENTRY_SIZE 44
#define BINLOG_CRC_SIZE		4

/* Raw payload size at which writers cut blocks. */
#define BINLOG_BLOCK_TARGET ((Size) 1024 * 1024)

/*
 * Data buffer allocated up front when reading a variable-length column:
 * larger columns grow as blocks are read.
 */
#define BINLOG_VAR_PREALLOC ((Size) 64 * 1024 * 1024)

/* Largest vector dimension: one row must fit in an ordinary allocation. */
#define BINLOG_MAX_DIM		((uint32) (MaxAllocSize / sizeof(float4)))

/* Report a damaged file; the detail says what exactly is wrong. */
#define binlog_corrupt(path, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_DATA_CORRUPTED), \
			 errmsg("segstore file \"%s\" is corrupt", (path)), \
			 errdetail(__VA_ARGS__)))

/* Decoded header. */
typedef struct BinlogHeader
{
	uint16		version;
	uint16		kind;
	uint64		writer_xid;
	uint64		file_id;
	uint64		nrows;
	uint32		ncols;
} BinlogHeader;

/* Footer entry of one block, validated. */
typedef struct BinlogBlock
{
	uint64		offset;
	uint64		csize;
	uint64		rawsize;
	int64		first_row;
	int64		nrows;
	pg_crc32c	crc;
} BinlogBlock;

/* Footer entry of one column, validated. */
typedef struct BinlogColumn
{
	SsColType	type;
	int32		dim;
	uint32		nblocks;
	BinlogBlock *blocks;
} BinlogColumn;

/* An open file with its validated metadata. */
struct SsBinlogReader
{
	char	   *path;
	int			fd;
	BinlogHeader header;
	BinlogColumn *cols;
};

/* A reusable buffer that only grows. */
typedef struct Scratch
{
	char	   *buf;
	Size		cap;
} Scratch;

/* Where a block lies in the file, for checking how blocks tile it. */
typedef struct BlockExtent
{
	uint64		offset;
	uint64		csize;
	int			col;
	uint32		block;
} BlockExtent;

/* A column of a file being written. */
typedef struct WriterColumn
{
	SsColType	type;
	int32		dim;
	Scratch		pending;		/* rows not yet in a block: their values, or
								 * for VAR their bytes */
	Size		pending_len;	/* bytes of pending in use */
	Scratch		lens;			/* VAR only: the lengths of those rows */
	int64		pending_rows;
	int64		next_row;		/* first row of the pending block, so
								 * next_row + pending_rows rows so far */
	BinlogBlock *blocks;		/* footer entries of the blocks written */
	uint32		nblocks;
	uint32		maxblocks;
} WriterColumn;

/* A file being written; everything it allocates is in cxt. */
struct SsBinlogWriter
{
	MemoryContext cxt;
	MemoryContextCallback cleanup;	/* removes an abandoned temporary file */
	char	   *path;
	char	   *tmp_path;
	int			fd;				/* -1 once closed */
	bool		tmp_exists;		/* tmp_path is not yet renamed or removed */
	BinlogHeader header;		/* nrows counts the rows appended to all
								 * columns at once, the row count of a file
								 * without columns; SsBinlogWriterFinish sets
								 * it from the columns otherwise */
	int			level;
	uint64		offset;			/* bytes written so far */
	uint64		raw_bytes;		/* raw payload bytes appended so far */
	int			ncols;
	WriterColumn *cols;
	Scratch		raw;			/* a block's raw payload, assembled */
	Scratch		comp;			/* a block's compressed bytes */
};

/* Store a 16-bit integer little-endian. */
static inline void
put_u16(char *p, uint16 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Store a 32-bit integer little-endian. */
static inline void
put_u32(char *p, uint32 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Store a 64-bit integer little-endian. */
static inline void
put_u64(char *p, uint64 v)
{
	memcpy(p, &v, sizeof(v));
}

/* Load a little-endian 16-bit integer. */
static inline uint16
get_u16(const char *p)
{
	uint16		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load a little-endian 32-bit integer. */
static inline uint32
get_u32(const char *p)
{
	uint32		v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load a little-endian 64-bit integer. */
static inline uint64
get_u64(const char *p)
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
static void
scratch_reserve(MemoryContext cxt, Scratch *s, Size size)
{
	if (s->cap >= size && s->buf != NULL)
		return;
	if (s->buf != NULL)
		pfree(s->buf);
	s->buf = MemoryContextAllocHuge(cxt, Max(size, 1));
	s->cap = size;
}

/* Release a scratch buffer. */
static void
scratch_free(Scratch *s)
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
static int
elem_width(SsColType type)
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
static Size
row_width(SsColType type, int32 dim)
{
	if (type == SS_COL_VECTOR)
		return (Size) dim * sizeof(float4);
	return (Size) elem_width(type);
}

/* Whether a type and dimension, as stored in a footer, make a valid column. */
static bool
column_shape_valid(uint32 type, uint32 dim)
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
shuffle_width(char *pg_restrict dst, const char *pg_restrict src, Size n,
			  int width)
{
	for (Size i = 0; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[b * n + i] = src[i * width + b];
}

/* Byte-shuffle n elements of width 4 or 8. */
static void
shuffle(char *dst, const char *src, Size n, int width)
{
	if (width == 4)
		shuffle_width(dst, src, n, 4);
	else
		shuffle_width(dst, src, n, 8);
}

/*
 * Undo the byte shuffle of a block of total elements for elements
 * [first, first + n) only, writing them to dst.
 */
static pg_attribute_always_inline void
unshuffle_width(char *pg_restrict dst, const char *pg_restrict src,
				Size total, Size first, Size n, int width)
{
	for (Size i = 0; i < n; i++)
		for (int b = 0; b < width; b++)
			dst[i * width + b] = src[b * total + first + i];
}

/* Undo the byte shuffle for some elements of width 4 or 8. */
static void
unshuffle(char *dst, const char *src, Size total, Size first, Size n,
		  int width)
{
	if (width == 4)
		unshuffle_width(dst, src, total, first, n, 4);
	else
		unshuffle_width(dst, src, total, first, n, 8);
}

/* Serialize a header, computing its CRC. */
static void
header_encode(char *buf, const BinlogHeader *h)
{
	memcpy(buf, BINLOG_MAGIC, 4);
	put_u16(buf + 4, h->version);
	put_u16(buf + 6, h->kind);
	put_u64(buf + 8, h->writer_xid);
	put_u64(buf + 16, h->file_id);
	put_u64(buf + 24, h->nrows);
	put_u32(buf + 32, h->ncols);
	put_u32(buf + 36, SsCrc32c(buf, 36));
}

/*
 * Decode and validate a header.  On a problem, report it as corruption of
 * path if report is true, else return false.
 */
static bool
header_decode(const char *buf, const char *path, bool report, BinlogHeader *h)
{
	if (memcmp(buf, BINLOG_MAGIC, 4) != 0)
	{
		if (report)
			binlog_corrupt(path, "Bad magic number.");
		return false;
	}

	/* Check the version before the CRC: other versions may lay out more. */
	h->version = get_u16(buf + 4);
	if (h->version != BINLOG_VERSION)
	{
		if (report)
			binlog_corrupt(path, "Unsupported format version %u.",
						   (unsigned) h->version);
		return false;
	}
	if (get_u32(buf + 36) != SsCrc32c(buf, 36))
	{
		if (report)
			binlog_corrupt(path, "Header checksum mismatch.");
		return false;
	}

	h->kind = get_u16(buf + 6);
	h->writer_xid = get_u64(buf + 8);
	h->file_id = get_u64(buf + 16);
	h->nrows = get_u64(buf + 24);
	h->ncols = get_u32(buf + 32);
	if (h->kind < 1 || h->kind > BINLOG_MAX_KIND)
	{
		if (report)
			binlog_corrupt(path, "Unknown file kind %u.", (unsigned) h->kind);
		return false;
	}
	if (h->nrows > (uint64) PG_INT64_MAX)
	{
		if (report)
			binlog_corrupt(path, "Row count %llu is out of range.",
						   (unsigned long long) h->nrows);
		return false;
	}
	if (h->ncols > (uint32) PG_INT32_MAX)
	{
		if (report)
			binlog_corrupt(path, "Column count %u is out of range.",
						   h->ncols);
		return false;
	}
	return true;
}

/*
 * Read up to len bytes at offset, retrying short reads.  Returns the number
 * of bytes read, which is less than len only at end of file.
 */
static Size
read_at(int fd, const char *path, char *buf, Size len, uint64 offset)
{
	Size		done = 0;

	while (done < len)
	{
		ssize_t		n;

		/* Linux transfers at most about 2 GB per call anyway. */
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		n = pg_pread(fd, buf + done, Min(len - done, (Size) 1 << 30),
					 (off_t) (offset + done));
		pgstat_report_wait_end();
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read segstore file \"%s\": %m",
							path)));
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/*
 * Read the compressed bytes of block b of column c of r into buf, which has
 * room for them, and check them: their checksum, and the raw size in their
 * frame header against the footer's.
 */
static void
read_compressed(SsBinlogReader *r, int c, uint32 b, char *buf)
{
	const BinlogBlock *blk = &r->cols[c].blocks[b];

	if (read_at(r->fd, r->path, buf, blk->csize, blk->offset) != blk->csize)
		binlog_corrupt(r->path, "Unexpected end of file in block %u of column %d.",
					   b, c);
	if (SsCrc32c(buf, blk->csize) != blk->crc)
		binlog_corrupt(r->path, "Checksum mismatch in block %u of column %d.",
					   b, c);
	if (ZSTD_getFrameContentSize(buf, blk->csize) != blk->rawsize)
		binlog_corrupt(r->path, "Block %u of column %d has an invalid compressed frame header.",
					   b, c);
}

/* Metadata of column col of r; asking for a missing column is a bug. */
static const BinlogColumn *
reader_column(SsBinlogReader *r, int col)
{
	if (col < 0 || col >= (int) r->header.ncols)
		elog(ERROR, "segstore file \"%s\" has no column %d", r->path, col);
	return &r->cols[col];
}

/* Metadata of a block of r; asking for a missing block is a bug. */
static const BinlogBlock *
reader_block(SsBinlogReader *r, int col, int block)
{
	const BinlogColumn *meta = reader_column(r, col);

	if (block < 0 || (uint32) block >= meta->nblocks)
		elog(ERROR, "segstore file \"%s\" has no block %d in column %d",
			 r->path, block, col);
	return &meta->blocks[block];
}

/* Append len bytes to the file being written. */
static void
write_all(SsBinlogWriter *w, const char *buf, Size len)
{
	while (len > 0)
	{
		ssize_t		n;

		errno = 0;
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_WRITE);
		n = write(w->fd, buf, Min(len, (Size) 1 << 30));
		pgstat_report_wait_end();
		if (n <= 0)
		{
			if (n < 0 && errno == EINTR)
				continue;
			/* A write that makes no progress means the disk is full. */
			if (errno == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write to segstore file \"%s\": %m",
							w->tmp_path)));
		}
		buf += n;
		len -= n;
		w->offset += n;
	}
}

/*
 * Write the csize compressed bytes in w->comp, whose CRC is crc, of a block
 * of nrows rows and rawsize bytes of raw payload as the next block of column
 * wc, and keep its footer entry.
 */
static void
emit_block(SsBinlogWriter *w, WriterColumn *wc, Size csize, pg_crc32c crc,
		   Size rawsize, int64 nrows)
{
	uint64		offset = w->offset;
	BinlogBlock *blk;

	write_all(w, w->comp.buf, csize);

	if (wc->nblocks == wc->maxblocks)
	{
		wc->maxblocks = Max(wc->maxblocks * 2, 16);
		if (wc->blocks == NULL)
			wc->blocks = MemoryContextAllocHuge(w->cxt,
												sizeof(BinlogBlock) * wc->maxblocks);
		else
			wc->blocks = repalloc_huge(wc->blocks,
									   sizeof(BinlogBlock) * wc->maxblocks);
	}
	blk = &wc->blocks[wc->nblocks++];
	blk->offset = offset;
	blk->csize = csize;
	blk->rawsize = rawsize;
	blk->first_row = wc->next_row;
	blk->nrows = nrows;
	blk->crc = crc;
	wc->next_row += nrows;

	/* Don't keep a long row's buffers for the ordinary blocks to come. */
	if (rawsize > BINLOG_BLOCK_TARGET)
	{
		scratch_free(&w->raw);
		scratch_free(&w->comp);
	}
}

/*
 * Compress a block of raw payload of column wc, write it and keep its footer
 * entry.
 */
static void
write_block(SsBinlogWriter *w, WriterColumn *wc, const char *raw,
			Size rawsize, int64 nrows)
{
	Size		bound = ZSTD_compressBound(rawsize);
	Size		csize;

	CHECK_FOR_INTERRUPTS();
	if (ZSTD_isError(bound))
		elog(ERROR, "segstore block of %zu bytes is too large to compress",
			 rawsize);
	scratch_reserve(w->cxt, &w->comp, bound);
	csize = ZSTD_compress(w->comp.buf, bound, raw, rawsize, w->level);
	if (ZSTD_isError(csize))
		ereport(ERROR,
				(errmsg("could not compress data for segstore file \"%s\": %s",
						w->tmp_path, ZSTD_getErrorName(csize))));
	emit_block(w, wc, csize, SsCrc32c(w->comp.buf, csize), rawsize, nrows);
}

/* Write n rows of values of a fixed-width column as one block. */
static void
write_fixed_block(SsBinlogWriter *w, WriterColumn *wc, const char *values,
				  int64 n)
{
	int			ew = elem_width(wc->type);
	Size		rawsize = (Size) n * row_width(wc->type, wc->dim);

	if (ew > 1)
	{
		scratch_reserve(w->cxt, &w->raw, rawsize);
		shuffle(w->raw.buf, values, rawsize / ew, ew);
		values = w->raw.buf;
	}
	write_block(w, wc, values, rawsize, n);
}

/* Write the pending rows of a variable-length column as one block. */
static void
write_var_block(SsBinlogWriter *w, WriterColumn *wc)
{
	Size		n = (Size) wc->pending_rows;
	Size		rawsize = n * 4 + wc->pending_len;

	scratch_reserve(w->cxt, &w->raw, rawsize);
	shuffle(w->raw.buf, wc->lens.buf, n, 4);
	if (wc->pending_len > 0)
		memcpy(w->raw.buf + n * 4, wc->pending.buf, wc->pending_len);
	write_block(w, wc, w->raw.buf, rawsize, (int64) n);
}

/* Write the pending rows of a column, if any, as one block. */
static void
flush_pending(SsBinlogWriter *w, WriterColumn *wc)
{
	if (wc->pending_rows == 0)
		return;
	if (wc->type == SS_COL_VAR)
		write_var_block(w, wc);
	else
		write_fixed_block(w, wc, wc->pending.buf, wc->pending_rows);
	wc->pending_rows = 0;
	wc->pending_len = 0;

	/* Only a long row takes the buffer past the target: don't keep it. */
	if (wc->pending.cap > BINLOG_BLOCK_TARGET)
		scratch_free(&wc->pending);
}

/*
 * Make sure a buffer of pending rows holds at least need bytes, keeping its
 * contents.  It doubles as it fills, but not beyond limit, what a full block
 * needs, unless need itself is larger.
 */
static void
pending_reserve(SsBinlogWriter *w, Scratch *s, Size need, Size limit)
{
	Size		cap;

	if (need <= s->cap)
		return;
	cap = Max(need, Min(s->cap * 2, limit));
	if (s->buf == NULL)
		s->buf = MemoryContextAllocHuge(w->cxt, cap);
	else
		s->buf = repalloc_huge(s->buf, cap);
	s->cap = cap;
}

/* Append rows [first, first + count) of a fixed-width column. */
static void
append_fixed(SsBinlogWriter *w, WriterColumn *wc, const SsColumn *col,
			 int64 first, int64 count)
{
	Size		rw = row_width(wc->type, wc->dim);
	int64		per_block = Max(1, (int64) (BINLOG_BLOCK_TARGET / rw));
	const char *src = col->values + (Size) first * rw;

	w->raw_bytes += (uint64) count * rw;
	while (count > 0)
	{
		int64		n;

		if (wc->pending_rows == 0 && count >= per_block)
		{
			/* A whole block in the caller's memory needs no copy. */
			n = per_block;
			write_fixed_block(w, wc, src, n);
		}
		else
		{
			n = Min(count, per_block - wc->pending_rows);
			pending_reserve(w, &wc->pending, wc->pending_len + (Size) n * rw,
							(Size) per_block * rw);
			memcpy(wc->pending.buf + wc->pending_len, src, (Size) n * rw);
			wc->pending_len += (Size) n * rw;
			wc->pending_rows += n;
			if (wc->pending_rows == per_block)
				flush_pending(w, wc);
		}
		src += (Size) n * rw;
		count -= n;
	}
}

/*
 * Length of row of a variable-length column being written, checking that
 * the caller's offsets make sense.
 */
static uint32
var_row_length(const SsColumn *col, int colno, int64 row)
{
	uint64		start = col->offsets[row];
	uint64		end = col->offsets[row + 1];

	if (end < start)
		elog(ERROR, "segstore column %d has decreasing offsets at row " INT64_FORMAT,
			 colno, row);
	if (end - start > PG_UINT32_MAX)
		elog(ERROR, "segstore column %d row " INT64_FORMAT " is too long",
			 colno, row);
	return (uint32) (end - start);
}

/* Append rows [first, first + count) of a variable-length column. */
static void
append_var(SsBinlogWriter *w, WriterColumn *wc, const SsColumn *col,
		   int colno, int64 first, int64 count)
{
	int64		end = first + count;
	int64		row = first;

	while (row < end)
	{
		int64		start = row;
		Size		nrows = (Size) wc->pending_rows;
		Size		size = nrows * 4 + wc->pending_len;
		bool		full = false;
		Size		bytes;
		uint32	   *lens;

		/*
		 * Take rows while the block stays within the target size, but at
		 * least one: a long row gets a block of its own, so that reading a
		 * neighbouring short row never requires decompressing it.  The
		 * block is full once not even an empty row would fit.
		 */
		while (row < end && !full)
		{
			uint32		len = var_row_length(col, colno, row);

			if (nrows > 0 && size + 4 + len > BINLOG_BLOCK_TARGET)
				full = true;
			else
			{
				size += 4 + (Size) len;
				nrows++;
				row++;
				full = size + 4 > BINLOG_BLOCK_TARGET;
			}
		}

		/* Rows [start, row) join the block: lengths, then bytes in one go. */
		pending_reserve(w, &wc->lens, nrows * 4, BINLOG_BLOCK_TARGET);
		lens = (uint32 *) wc->lens.buf;
		for (int64 r = start; r < row; r++)
			lens[wc->pending_rows++] = (uint32) (col->offsets[r + 1] -
												 col->offsets[r]);
		bytes = col->offsets[row] - col->offsets[start];
		if (bytes > 0)
		{
			pending_reserve(w, &wc->pending, wc->pending_len + bytes,
							BINLOG_BLOCK_TARGET);
			memcpy(wc->pending.buf + wc->pending_len,
				   col->data + col->offsets[start], bytes);
			wc->pending_len += bytes;
		}
		w->raw_bytes += (uint64) (row - start) * 4 + bytes;

		if (full)
			flush_pending(w, wc);
	}
}

/*
 * Reset callback of a writer's memory context: a writer left unfinished,
 * normally by an ERROR, removes its temporary file.  The descriptor is left
 * alone: if the transaction aborted, fd.c has closed it already and its
 * number may have been reused.
 */
static void
writer_cleanup(void *arg)
{
	SsBinlogWriter *w = (SsBinlogWriter *) arg;

	if (w->tmp_exists)
		unlink(w->tmp_path);
}

/*
 * Start a file of ncols columns of the given types by creating tmp_path and
 * writing a placeholder header.  On failure nothing is left behind.
 */
SsBinlogWriter *
SsBinlogWriterBegin(const char *path, const char *tmp_path, uint16 kind,
					uint64 file_id, uint64 writer_xid, const SsColType *types,
					const int32 *dims, int ncols, int level)
{
	MemoryContext cxt;
	SsBinlogWriter *w;
	char		hbuf[BINLOG_HEADER_SIZE];

	if (kind < 1 || kind > BINLOG_MAX_KIND)
		elog(ERROR, "invalid segstore file kind %u", (unsigned) kind);
	if (ncols < 0)
		elog(ERROR, "invalid segstore column count %d", ncols);
	for (int c = 0; c < ncols; c++)
	{
		if (!column_shape_valid((uint32) types[c], (uint32) dims[c]))
			elog(ERROR, "invalid segstore column %d: type %d, dim %d",
				 c, (int) types[c], dims[c]);
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore binlog writer",
								ALLOCSET_DEFAULT_SIZES);
	w = MemoryContextAllocZero(cxt, sizeof(SsBinlogWriter));
	w->cxt = cxt;
	w->path = MemoryContextStrdup(cxt, path);
	w->tmp_path = MemoryContextStrdup(cxt, tmp_path);
	w->header.version = BINLOG_VERSION;
	w->header.kind = kind;
	w->header.writer_xid = writer_xid;
	w->header.file_id = file_id;
	w->header.nrows = 0;
	w->header.ncols = (uint32) ncols;
	w->level = level;
	w->ncols = ncols;
	w->cols = MemoryContextAllocZero(cxt, sizeof(WriterColumn) * Max(ncols, 1));
	for (int c = 0; c < ncols; c++)
	{
		w->cols[c].type = types[c];
		w->cols[c].dim = dims[c];
	}

	w->fd = OpenTransientFile(tmp_path, O_CREAT | O_TRUNC | O_WRONLY | PG_BINARY);
	if (w->fd < 0)
	{
		int			save_errno = errno;

		MemoryContextDelete(cxt);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create segstore file \"%s\": %m",
						tmp_path)));
	}
	w->tmp_exists = true;
	w->cleanup.func = writer_cleanup;
	w->cleanup.arg = w;
	MemoryContextRegisterResetCallback(cxt, &w->cleanup);

	/* The row count is rewritten by SsBinlogWriterFinish. */
	header_encode(hbuf, &w->header);
	PG_TRY();
	{
		write_all(w, hbuf, sizeof(hbuf));
	}
	PG_CATCH();
	{
		SsBinlogWriterAbort(w);
		PG_RE_THROW();
	}
	PG_END_TRY();

	return w;
}

/* Rows appended so far to a column of a file being written. */
static inline int64
column_rows(const WriterColumn *wc)
{
	return wc->next_row + wc->pending_rows;
}

/* Check that column c of w can take count more rows. */
static void
check_room(SsBinlogWriter *w, int c, int64 count)
{
	if (count > PG_INT64_MAX - column_rows(&w->cols[c]))
		elog(ERROR, "segstore column %d of file \"%s\" cannot take " INT64_FORMAT " more rows",
			 c, w->tmp_path, count);
}

/*
 * Check that rows [first, first + count) of col, a range already known to
 * be valid, can be appended to column c of w.  Errors are caller bugs.
 */
static void
check_column(SsBinlogWriter *w, int c, const SsColumn *col, int64 first,
			 int64 count)
{
	const WriterColumn *wc = &w->cols[c];

	if (col->type != wc->type ||
		(wc->type == SS_COL_VECTOR && col->dim != wc->dim))
		elog(ERROR, "segstore column %d has type %d, dim %d, expected type %d, dim %d",
			 c, (int) col->type, col->dim, (int) wc->type, wc->dim);
	if (col->nrows < first + count)
		elog(ERROR, "segstore column %d has " INT64_FORMAT " rows, fewer than " INT64_FORMAT,
			 c, col->nrows, first + count);
	check_room(w, c, count);
}

/* Append rows [first, first + count) of col, checked, to column c of w. */
static void
append_column(SsBinlogWriter *w, int c, const SsColumn *col, int64 first,
			  int64 count)
{
	if (w->cols[c].type == SS_COL_VAR)
		append_var(w, &w->cols[c], col, c, first, count);
	else
		append_fixed(w, &w->cols[c], col, first, count);
}

/*
 * Append rows [first, first + count) of cols, writing the blocks that fill.
 * Errors about the arguments are caller bugs.
 */
void
SsBinlogWriterAppend(SsBinlogWriter *w, const SsColumn *cols, int64 first,
					 int64 count)
{
	if (first < 0 || count < 0 || count > PG_INT64_MAX - first ||
		(uint64) count > (uint64) PG_INT64_MAX - w->header.nrows)
		elog(ERROR, "invalid rows to append to segstore file \"%s\": first " INT64_FORMAT ", count " INT64_FORMAT,
			 w->tmp_path, first, count);

	/*
	 * Check every column before appending to any, so that a chunk of the
	 * wrong shape is rejected whole.
	 */
	for (int c = 0; c < w->ncols; c++)
		check_column(w, c, &cols[c], first, count);

	/* A column without rows may have no values at all. */
	if (count == 0)
		return;
	for (int c = 0; c < w->ncols; c++)
		append_column(w, c, &cols[c], first, count);
	w->header.nrows += (uint64) count;
}

/*
 * Append rows [first, first + count) of column, to column col of w only.
 * Errors about the arguments are caller bugs.
 */
void
SsBinlogWriterAppendColumn(SsBinlogWriter *w, int col, const SsColumn *column,
						   int64 first, int64 count)
{
	if (col < 0 || col >= w->ncols)
		elog(ERROR, "segstore file \"%s\" has no column %d", w->tmp_path, col);
	if (first < 0 || count < 0 || count > PG_INT64_MAX - first)
		elog(ERROR, "invalid rows to append to segstore file \"%s\": first " INT64_FORMAT ", count " INT64_FORMAT,
			 w->tmp_path, first, count);
	check_column(w, col, column, first, count);

	/* A column without rows may have no values at all. */
	if (count > 0)
		append_column(w, col, column, first, count);
}

/*
 * Append block block of column col of r to column col of w as it is,
 * compressed, after checking its CRC.  The rows pending in that column are
 * written first, as a short block, to keep the rows in order.
 */
void
SsBinlogWriterCopyBlock(SsBinlogWriter *w, int col, SsBinlogReader *r,
						int block)
{
	const BinlogBlock *blk = reader_block(r, col, block);
	const BinlogColumn *rc = &r->cols[col];
	WriterColumn *wc;

	if (col >= w->ncols)
		elog(ERROR, "segstore file \"%s\" has no column %d", w->tmp_path, col);
	wc = &w->cols[col];
	if (rc->type != wc->type || rc->dim != wc->dim)
		elog(ERROR, "column %d of segstore file \"%s\" has type %d, dim %d, expected type %d, dim %d",
			 col, r->path, (int) rc->type, rc->dim, (int) wc->type, wc->dim);
	check_room(w, col, blk->nrows);

	CHECK_FOR_INTERRUPTS();

	/* Flushing uses w->comp, so it must come before the read into it. */
	flush_pending(w, wc);
	scratch_reserve(w->cxt, &w->comp, blk->csize);
	read_compressed(r, col, (uint32) block, w->comp.buf);
	emit_block(w, wc, blk->csize, blk->crc, blk->rawsize, blk->nrows);
	w->raw_bytes += blk->rawsize;
}

/* Write the footer: each column's entry and its blocks' entries, and a CRC. */
static uint64
write_footer(SsBinlogWriter *w)
{
	Size		len = BINLOG_CRC_SIZE;
	char	   *footer;
	char	   *p;

	for (int c = 0; c < w->ncols; c++)
		len += BINLOG_COLUMN_ENTRY_SIZE +
			(Size) w->cols[c].nblocks * BINLOG_BLOCK_ENTRY_SIZE;
	footer = MemoryContextAlloc(w->cxt, len);

	p = footer;
	for (int c = 0; c < w->ncols; c++)
	{
		const WriterColumn *wc = &w->cols[c];

		put_u32(p, (uint32) wc->type);
		put_u32(p + 4, (uint32) wc->dim);
		put_u32(p + 8, wc->nblocks);
		p += BINLOG_COLUMN_ENTRY_SIZE;
		for (uint32 b = 0; b < wc->nblocks; b++)
		{
			const BinlogBlock *blk = &wc->blocks[b];

			put_u64(p, blk->offset);
			put_u64(p + 8, blk->csize);
			put_u64(p + 16, blk->rawsize);
			put_u64(p + 24, (uint64) blk->first_row);
			put_u64(p + 32, (uint64) blk->nrows);
			put_u32(p + 40, blk->crc);
			p += BINLOG_BLOCK_ENTRY_SIZE;
		}
	}
	put_u32(p, SsCrc32c(footer, len - BINLOG_CRC_SIZE));
	write_all(w, footer, len);
	pfree(footer);
	return (uint64) len;
}

/*
 * Complete the file: the partial blocks, the footer, the trailer and the
 * final header; then make it durable under its final name and free the
 * writer.
 */
void
SsBinlogWriterFinish(SsBinlogWriter *w, SsBinlogInfo *info)
{
	char		hbuf[BINLOG_HEADER_SIZE];
	char		tbuf[BINLOG_TRAILER_SIZE];
	uint64		footer_offset;
	uint64		footer_len;
	ssize_t		n;

	/* Columns fed one by one must have come out the same length. */
	if (w->ncols > 0)
	{
		w->header.nrows = (uint64) column_rows(&w->cols[0]);
		for (int c = 1; c < w->ncols; c++)
		{
			if (column_rows(&w->cols[c]) != (int64) w->header.nrows)
				elog(ERROR, "segstore file \"%s\" has " INT64_FORMAT " rows in column %d but " UINT64_FORMAT " in column 0",
					 w->tmp_path, column_rows(&w->cols[c]), c,
					 w->header.nrows);
		}
	}

	for (int c = 0; c < w->ncols; c++)
		flush_pending(w, &w->cols[c]);

	footer_offset = w->offset;
	footer_len = write_footer(w);
	put_u64(tbuf, footer_offset);
	put_u64(tbuf + 8, footer_len);
	memcpy(tbuf + 16, BINLOG_END_MAGIC, 4);
	write_all(w, tbuf, sizeof(tbuf));

	header_encode(hbuf, &w->header);
	pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_WRITE);
	n = pg_pwrite(w->fd, hbuf, sizeof(hbuf), 0);
	pgstat_report_wait_end();
	if (n != sizeof(hbuf))
	{
		/* A short write means the disk is full. */
		if (n >= 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write to segstore file \"%s\": %m",
						w->tmp_path)));
	}

	SsFilesInstall(&w->fd, &w->tmp_exists, w->tmp_path, w->path);

	if (info != NULL)
	{
		info->size_bytes = w->offset;
		info->raw_bytes = w->raw_bytes;
	}
	MemoryContextDelete(w->cxt);
}

/* Abandon a file: close and remove the temporary file, free the writer. */
void
SsBinlogWriterAbort(SsBinlogWriter *w)
{
	if (w->fd >= 0)
		CloseTransientFile(w->fd);
	if (w->tmp_exists)
		unlink(w->tmp_path);
	w->tmp_exists = false;
	MemoryContextDelete(w->cxt);
}

/* Raw payload bytes appended so far. */
uint64
SsBinlogWriterRawBytes(SsBinlogWriter *w)
{
	return w->raw_bytes;
}

/*
 * Write a complete file durably in one go: a writer that is given all rows
 * at once.  Any error removes the temporary file first.
 */
void
SsBinlogWrite(const char *path, const char *tmp_path, uint16 kind,
			  uint64 file_id, uint64 writer_xid,
			  const SsColumn *cols, int ncols, int64 nrows,
			  int level, SsBinlogInfo *info)
{
	SsColType  *types;
	int32	   *dims;
	SsBinlogWriter *w;

	if (ncols < 0 || nrows < 0)
		elog(ERROR, "invalid segstore file shape: %d columns, " INT64_FORMAT " rows",
			 ncols, nrows);
	types = palloc(sizeof(SsColType) * Max(ncols, 1));
	dims = palloc(sizeof(int32) * Max(ncols, 1));
	for (int c = 0; c < ncols; c++)
	{
		if (cols[c].nrows != nrows)
			elog(ERROR, "segstore column %d has " INT64_FORMAT " rows, expected " INT64_FORMAT,
				 c, cols[c].nrows, nrows);
		types[c] = cols[c].type;
		dims[c] = cols[c].type == SS_COL_VECTOR ? cols[c].dim : 0;
	}

	w = SsBinlogWriterBegin(path, tmp_path, kind, file_id, writer_xid,
							types, dims, ncols, level);
	pfree(types);
	pfree(dims);

	PG_TRY();
	{
		SsBinlogWriterAppend(w, cols, 0, nrows);
		SsBinlogWriterFinish(w, info);
	}
	PG_CATCH();
	{
		SsBinlogWriterAbort(w);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Whether rawsize is the raw size of a block of nrows rows of the column;
 * also bounds it so that the block can be decompressed into memory.
 */
static bool
raw_size_valid(const BinlogColumn *col, uint64 nrows, uint64 rawsize)
{
	if (rawsize > MaxAllocHugeSize)
		return false;
	if (col->type == SS_COL_VAR)
		return nrows <= rawsize / 4;
	else
	{
		Size		rw = row_width(col->type, col->dim);

		return nrows <= MaxAllocHugeSize / rw && rawsize == nrows * rw;
	}
}

/* qsort comparator of BlockExtents by file offset. */
static int
extent_cmp(const void *a, const void *b)
{
	uint64		x = ((const BlockExtent *) a)->offset;
	uint64		y = ((const BlockExtent *) b)->offset;

	if (x < y)
		return -1;
	if (x > y)
		return 1;
	return 0;
}

/*
 * Check that the blocks of r, nblocks in all, taken in file order, cover the
 * bytes from the end of the header to footer_offset exactly.
 */
static void
check_block_tiling(SsBinlogReader *r, uint64 nblocks, uint64 footer_offset)
{
	BlockExtent *extents;
	uint64		expect_offset = BINLOG_HEADER_SIZE;
	uint64		i = 0;

	/* nblocks is bounded by the footer's length, itself below 1 GB. */
	extents = palloc(sizeof(BlockExtent) * Max(nblocks, 1));
	for (int c = 0; c < (int) r->header.ncols; c++)
	{
		for (uint32 b = 0; b < r->cols[c].nblocks; b++)
		{
			extents[i].offset = r->cols[c].blocks[b].offset;
			extents[i].csize = r->cols[c].blocks[b].csize;
			extents[i].col = c;
			extents[i].block = b;
			i++;
		}
	}
	qsort(extents, nblocks, sizeof(BlockExtent), extent_cmp);

	for (i = 0; i < nblocks; i++)
	{
		if (extents[i].offset != expect_offset)
			binlog_corrupt(r->path, "Block %u of column %d is at offset %llu, expected %llu.",
						   extents[i].block, extents[i].col,
						   (unsigned long long) extents[i].offset,
						   (unsigned long long) expect_offset);
		expect_offset += extents[i].csize;
	}
	if (expect_offset != footer_offset)
		binlog_corrupt(r->path, "Blocks end at offset %llu, but the footer starts at %llu.",
					   (unsigned long long) expect_offset,
					   (unsigned long long) footer_offset);
	pfree(extents);
}

/*
 * Parse and validate the footer of r, whose blocks must fill the bytes from
 * the header to footer_offset.  The footer's CRC has already been checked.
 */
static void
parse_footer(SsBinlogReader *r, const char *footer, Size len,
			 uint64 footer_offset)
{
	const char *path = r->path;
	const char *p = footer;
	const char *end = footer + len - BINLOG_CRC_SIZE;
	uint64		nrows = r->header.nrows;
	uint32		ncols = r->header.ncols;
	uint64		nblocks = 0;

	if (ncols > (len - BINLOG_CRC_SIZE) / BINLOG_COLUMN_ENTRY_SIZE)
		binlog_corrupt(path, "Footer is too short for %u columns.", ncols);
	r->cols = palloc0(sizeof(BinlogColumn) * Max(ncols, 1));

	for (int c = 0; c < (int) ncols; c++)
	{
		BinlogColumn *col = &r->cols[c];
		uint32		type;
		uint32		dim;
		uint64		next_row = 0;

		if (end - p < BINLOG_COLUMN_ENTRY_SIZE)
			binlog_corrupt(path, "Footer is too short for column %d.", c);
		type = get_u32(p);
		dim = get_u32(p + 4);
		col->nblocks = get_u32(p + 8);
		p += BINLOG_COLUMN_ENTRY_SIZE;

		if (!column_shape_valid(type, dim))
			binlog_corrupt(path, "Column %d has invalid type %u or dimension %u.",
						   c, type, dim);
		col->type = (SsColType) type;
		col->dim = (int32) dim;
		if (col->nblocks > (Size) (end - p) / BINLOG_BLOCK_ENTRY_SIZE)
			binlog_corrupt(path, "Footer is too short for the %u blocks of column %d.",
						   col->nblocks, c);
		col->blocks = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(BinlogBlock) * Max(col->nblocks, 1));

		for (uint32 b = 0; b < col->nblocks; b++)
		{
			BinlogBlock *blk = &col->blocks[b];
			uint64		first_row;
			uint64		count;

			blk->offset = get_u64(p);
			blk->csize = get_u64(p + 8);
			blk->rawsize = get_u64(p + 16);
			first_row = get_u64(p + 24);
			count = get_u64(p + 32);
			blk->crc = get_u32(p + 40);
			p += BINLOG_BLOCK_ENTRY_SIZE;

			if (blk->offset < BINLOG_HEADER_SIZE || blk->offset >= footer_offset)
				binlog_corrupt(path, "Block %u of column %d is at offset %llu, outside the blocks' region.",
							   b, c, (unsigned long long) blk->offset);
			if (blk->csize == 0 || blk->csize > footer_offset - blk->offset ||
				blk->csize > MaxAllocHugeSize)
				binlog_corrupt(path, "Block %u of column %d has invalid compressed size %llu.",
							   b, c, (unsigned long long) blk->csize);
			if (first_row != next_row)
				binlog_corrupt(path, "Block %u of column %d starts at row %llu, expected %llu.",
							   b, c, (unsigned long long) first_row,
							   (unsigned long long) next_row);
			if (count == 0 || count > nrows - next_row)
				binlog_corrupt(path, "Block %u of column %d has invalid row count %llu.",
							   b, c, (unsigned long long) count);
			if (!raw_size_valid(col, count, blk->rawsize))
				binlog_corrupt(path, "Block %u of column %d has invalid raw size %llu for %llu rows.",
							   b, c, (unsigned long long) blk->rawsize,
							   (unsigned long long) count);

			blk->first_row = (int64) first_row;
			blk->nrows = (int64) count;
			next_row += count;
		}
		if (next_row != nrows)
			binlog_corrupt(path, "Column %d has %llu rows, expected %llu.",
						   c, (unsigned long long) next_row,
						   (unsigned long long) nrows);
		nblocks += col->nblocks;
	}

	if (p != end)
		binlog_corrupt(path, "Footer has %zu bytes beyond its last column.",
					   (Size) (end - p));
	check_block_tiling(r, nblocks, footer_offset);
}

/* Read and validate everything but the blocks of the file open in r. */
static void
load_metadata(SsBinlogReader *r)
{
	const char *path = r->path;
	struct stat st;
	uint64		size;
	char		hbuf[BINLOG_HEADER_SIZE];
	char		tbuf[BINLOG_TRAILER_SIZE];
	uint64		footer_offset;
	uint64		footer_len;
	char	   *footer;

	if (fstat(r->fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat segstore file \"%s\": %m", path)));
	size = (uint64) st.st_size;
	if (size < BINLOG_HEADER_SIZE + BINLOG_TRAILER_SIZE + BINLOG_CRC_SIZE)
		binlog_corrupt(path, "File is too short (%llu bytes).",
					   (unsigned long long) size);

	if (read_at(r->fd, path, hbuf, sizeof(hbuf), 0) != sizeof(hbuf))
		binlog_corrupt(path, "Unexpected end of file in header.");
	header_decode(hbuf, path, true, &r->header);

	if (read_at(r->fd, path, tbuf, sizeof(tbuf), size - sizeof(tbuf)) != sizeof(tbuf))
		binlog_corrupt(path, "Unexpected end of file in trailer.");
	if (memcmp(tbuf + 16, BINLOG_END_MAGIC, 4) != 0)
		binlog_corrupt(path, "Bad magic number at end of file.");
	footer_offset = get_u64(tbuf);
	footer_len = get_u64(tbuf + 8);
	if (footer_offset < BINLOG_HEADER_SIZE ||
		footer_offset > size - BINLOG_TRAILER_SIZE ||
		footer_len != size - BINLOG_TRAILER_SIZE - footer_offset ||
		footer_len < BINLOG_CRC_SIZE)
		binlog_corrupt(path, "Footer offset %llu and length %llu do not fit file size %llu.",
					   (unsigned long long) footer_offset,
					   (unsigned long long) footer_len,
					   (unsigned long long) size);
	if (footer_len > MaxAllocSize)
		binlog_corrupt(path, "Footer length %llu is too large.",
					   (unsigned long long) footer_len);

	footer = palloc(footer_len);
	if (read_at(r->fd, path, footer, footer_len, footer_offset) != footer_len)
		binlog_corrupt(path, "Unexpected end of file in footer.");
	if (get_u32(footer + footer_len - BINLOG_CRC_SIZE) !=
		SsCrc32c(footer, footer_len - BINLOG_CRC_SIZE))
		binlog_corrupt(path, "Footer checksum mismatch.");
	parse_footer(r, footer, footer_len, footer_offset);
	pfree(footer);
}

/*
 * Open a file and validate its header, trailer and footer.  Blocks are
 * checked as they are read.
 */
SsBinlogReader *
SsBinlogOpen(const char *path)
{
	SsBinlogReader *r;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));

	r = palloc0(sizeof(SsBinlogReader));
	r->path = pstrdup(path);
	r->fd = fd;

	/* Don't leak the descriptor to callers that catch the error. */
	PG_TRY();
	{
		load_metadata(r);
	}
	PG_CATCH();
	{
		CloseTransientFile(fd);
		PG_RE_THROW();
	}
	PG_END_TRY();

	return r;
}

/* File kind from the header. */
uint16
SsBinlogKind(SsBinlogReader *r)
{
	return r->header.kind;
}

/* Number of rows of every column. */
int64
SsBinlogNumRows(SsBinlogReader *r)
{
	return (int64) r->header.nrows;
}

/* Number of columns. */
int
SsBinlogNumColumns(SsBinlogReader *r)
{
	return (int) r->header.ncols;
}

/* Number of blocks of column col. */
int
SsBinlogNumBlocks(SsBinlogReader *r, int col)
{
	return (int) reader_column(r, col)->nblocks;
}

/* Rows [*first, *first + *count) are those of block block of column col. */
void
SsBinlogBlockRows(SsBinlogReader *r, int col, int block, int64 *first,
				  int64 *count)
{
	const BinlogBlock *blk = reader_block(r, col, block);

	*first = blk->first_row;
	*count = blk->nrows;
}

/*
 * Read block b of column c, check it and decompress it.  The raw bytes go to
 * dst if that is not NULL (it must have room for the raw size), else to raw,
 * which is only enlarged once the frame header has confirmed the raw size.
 * comp is scratch space for the compressed bytes.  Returns the raw bytes.
 */
static char *
read_block(SsBinlogReader *r, int c, uint32 b, Scratch *comp, Scratch *raw,
		   char *dst)
{
	const BinlogBlock *blk = &r->cols[c].blocks[b];
	Size		n;

	scratch_reserve(CurrentMemoryContext, comp, blk->csize);
	read_compressed(r, c, b, comp->buf);
	if (dst == NULL)
	{
		scratch_reserve(CurrentMemoryContext, raw, blk->rawsize);
		dst = raw->buf;
	}
	n = ZSTD_decompress(dst, blk->rawsize, comp->buf, blk->csize);
	if (ZSTD_isError(n))
		binlog_corrupt(r->path, "Could not decompress block %u of column %d: %s.",
					   b, c, ZSTD_getErrorName(n));
	if (n != blk->rawsize)
		binlog_corrupt(r->path, "Block %u of column %d decompressed to %zu bytes, expected %llu.",
					   b, c, n, (unsigned long long) blk->rawsize);
	return dst;
}

/* Index of the block of column col holding row. */
static uint32
find_block(const BinlogColumn *col, int64 row)
{
	uint32		lo = 0;
	uint32		hi = col->nblocks - 1;

	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo + 1) / 2;

		if (col->blocks[mid].first_row <= row)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Allocate n items of size bytes, failing cleanly if that is too much. */
static void *
alloc_array(Size n, Size size, const char *path)
{
	if (size != 0 && n > MaxAllocHugeSize / size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segstore file \"%s\" has a column too large to read into memory",
						path)));
	return MemoryContextAllocHuge(CurrentMemoryContext, Max(n * size, 1));
}

/* Read rows [first, first + count) of a fixed-width column into out. */
static void
read_fixed_range(SsBinlogReader *r, int c, int64 first, int64 count,
				 SsColumn *out)
{
	const BinlogColumn *col = &r->cols[c];
	int			ew = elem_width(col->type);
	Size		rw = row_width(col->type, col->dim);
	int64		end = first + count;
	Scratch		comp = {0};
	Scratch		raw = {0};

	out->values = alloc_array((Size) count, rw, r->path);
	if (count == 0)
		return;

	for (uint32 b = find_block(col, first); b < col->nblocks; b++)
	{
		const BinlogBlock *blk = &col->blocks[b];
		int64		lo;
		int64		hi;
		char	   *dst;

		if (blk->first_row >= end)
			break;
		CHECK_FOR_INTERRUPTS();

		/* The rows of this block that are wanted, relative to the block. */
		lo = Max(first, blk->first_row) - blk->first_row;
		hi = Min(end, blk->first_row + blk->nrows) - blk->first_row;
		dst = out->values + (Size) (blk->first_row + lo - first) * rw;

		if (ew == 1 && lo == 0 && hi == blk->nrows)
			read_block(r, c, b, &comp, NULL, dst);
		else
		{
			char	   *src = read_block(r, c, b, &comp, &raw, NULL);

			if (ew == 1)
				memcpy(dst, src + lo, hi - lo);
			else
				unshuffle(dst, src, blk->rawsize / ew,
						  (Size) lo * (rw / ew), (Size) (hi - lo) * (rw / ew),
						  ew);
		}
	}
	scratch_free(&comp);
	scratch_free(&raw);
}

/* Read rows [first, first + count) of a variable-length column into out. */
static void
read_var_range(SsBinlogReader *r, int c, int64 first, int64 count,
			   SsColumn *out)
{
	const BinlogColumn *col = &r->cols[c];
	int64		end = first + count;
	uint32		first_block;
	Size		bound = 0;
	Size		capacity;
	Size		pos = 0;
	Scratch		comp = {0};
	Scratch		raw = {0};
	Scratch		lens = {0};

	out->offsets = alloc_array((Size) count + 1, sizeof(uint64), r->path);
	out->offsets[0] = 0;
	if (count == 0)
	{
		out->data = palloc(1);
		return;
	}

	/*
	 * The row bytes of the blocks involved bound the data size, wasting
	 * little since blocks are small.  The footer is not proof of what the
	 * blocks hold, though, so beyond BINLOG_VAR_PREALLOC the buffer only
	 * grows as validated blocks need it.
	 */
	first_block = find_block(col, first);
	for (uint32 b = first_block;
		 b < col->nblocks && col->blocks[b].first_row < end; b++)
	{
		const BinlogBlock *blk = &col->blocks[b];

		bound += blk->rawsize - (Size) blk->nrows * 4;
		if (bound > MaxAllocHugeSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("segstore file \"%s\" has a column too large to read into memory",
							r->path)));
	}
	capacity = Min(bound, BINLOG_VAR_PREALLOC);
	out->data = MemoryContextAllocHuge(CurrentMemoryContext, Max(capacity, 1));

	for (uint32 b = first_block;
		 b < col->nblocks && col->blocks[b].first_row < end; b++)
	{
		const BinlogBlock *blk = &col->blocks[b];
		Size		n = (Size) blk->nrows;
		Size		avail = blk->rawsize - n * 4;
		Size		total = 0;
		Size		skip = 0;
		Size		need;
		int64		lo;
		int64		hi;
		char	   *src;
		uint32	   *len;

		CHECK_FOR_INTERRUPTS();
		src = read_block(r, c, b, &comp, &raw, NULL);

		scratch_reserve(CurrentMemoryContext, &lens, n * 4);
		unshuffle(lens.buf, src, n, 0, n, 4);
		len = (uint32 *) lens.buf;

		lo = Max(first, blk->first_row) - blk->first_row;
		hi = Min(end, blk->first_row + blk->nrows) - blk->first_row;

		/* The lengths must account for exactly the bytes that follow. */
		for (Size j = 0; j < n; j++)
		{
			if (len[j] > avail - total)
				binlog_corrupt(r->path, "Row lengths of block %u of column %d exceed its size.",
							   b, c);
			if (j == (Size) lo)
				skip = total;
			total += len[j];
		}
		if (total != avail)
			binlog_corrupt(r->path, "Row lengths of block %u of column %d do not match its size.",
						   b, c);

		for (int64 j = lo; j < hi; j++)
		{
			int64		outrow = blk->first_row + j - first;

			out->offsets[outrow + 1] = out->offsets[outrow] + len[j];
		}

		/* need <= bound, as each block's share is at most its avail. */
		need = out->offsets[blk->first_row + hi - first];
		if (need > capacity)
		{
			capacity = Min(Max(need, capacity * 2), bound);
			out->data = repalloc_huge(out->data, capacity);
		}
		memcpy(out->data + pos, src + n * 4 + skip, need - pos);
		pos = need;
	}
	scratch_free(&comp);
	scratch_free(&raw);
	scratch_free(&lens);
}

/*
 * Read rows [first, first + count) of column col into *out, allocated in
 * CurrentMemoryContext, decompressing only the blocks involved.
 */
void
SsBinlogReadRange(SsBinlogReader *r, int col, int64 first, int64 count,
				  SsColumn *out)
{
	const BinlogColumn *meta = reader_column(r, col);

	if (first < 0 || count < 0 || count > (int64) r->header.nrows ||
		first > (int64) r->header.nrows - count)
		elog(ERROR, "rows " INT64_FORMAT " to " INT64_FORMAT " are out of range for segstore file \"%s\"",
			 first, first + count, r->path);

	memset(out, 0, sizeof(SsColumn));
	out->type = meta->type;
	out->dim = meta->dim;
	out->nrows = count;
	if (meta->type == SS_COL_VAR)
		read_var_range(r, col, first, count, out);
	else
		read_fixed_range(r, col, first, count, out);
}

/* Read a whole column. */
void
SsBinlogReadColumn(SsBinlogReader *r, int col, SsColumn *out)
{
	SsBinlogReadRange(r, col, 0, (int64) r->header.nrows, out);
}

/* Close the file and free the reader. */
void
SsBinlogClose(SsBinlogReader *r)
{
	if (CloseTransientFile(r->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close segstore file \"%s\": %m", r->path)));
	for (uint32 c = 0; c < r->header.ncols; c++)
		pfree(r->cols[c].blocks);
	pfree(r->cols);
	pfree(r->path);
	pfree(r);
}

/*
 * Read and validate only the header of a file, for garbage collection.
 * Returns false if the file is too short or its header is invalid.
 */
bool
SsBinlogPeekHeader(const char *path, uint16 *kind, uint64 *writer_xid)
{
	char		hbuf[BINLOG_HEADER_SIZE];
	BinlogHeader h;
	Size		n;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	n = read_at(fd, path, hbuf, sizeof(hbuf), 0);
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close segstore file \"%s\": %m", path)));

	if (n != sizeof(hbuf) || !header_decode(hbuf, path, false, &h))
		return false;
	*kind = h.kind;
	*writer_xid = h.writer_xid;
	return true;
}
