/*-------------------------------------------------------------------------
 *
 * binlog_reader.c
 *	  Opening, validating and reading segstore container files ("binlogs").
 *
 * Opening a file reads and checks everything but its blocks: the header,
 * the trailer and the footer, down to how the blocks tile the file and
 * cover each column's rows (the rules are in the layout comment of
 * binlog.c).  Blocks are read, checked against their CRC and decompressed
 * only when a range of rows needs them, so that reading a few rows of a
 * large file costs a few blocks.  Damage is reported as
 * ERRCODE_DATA_CORRUPTED naming the file; the writer reuses this file's
 * block reading to copy blocks of a source file as they are.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "format/binlog.h"
#include "format/binlog_int.h"
#include "format/fault.h"

/*
 * Data buffer allocated up front when reading a variable-length column:
 * larger columns grow as blocks are read.
 */
#define BINLOG_VAR_PREALLOC ((Size) 64 * 1024 * 1024)

/* Where a block lies in the file, for checking how blocks tile it. */
typedef struct BlockExtent
{
	uint64		offset;
	uint64		csize;
	int			col;
	uint32		block;
} BlockExtent;

/*
 * Read up to len bytes at offset, retrying short reads.  Returns the number
 * of bytes read, which is less than len only at end of file.
 */
static Size
ReadAt(int fd, const char *path, char *buf, Size len, uint64 offset)
{
	Size		done = 0;

	while (done < len)
	{
		ssize_t		n;

		/* Linux transfers at most about 2 GB per call anyway. */
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		n = SsFaultInject(SS_FAULT_READ, path) ? -1 :
			pg_pread(fd, buf + done, Min(len - done, (Size) 1 << 30),
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
 * frame header against the footer's.  The writer copies blocks with it.
 */
void
SsBinlogReadCompressed(SsBinlogReader *r, int c, uint32 b, char *buf)
{
	const BinlogBlock *blk = &r->cols[c].blocks[b];

	if (ReadAt(r->fd, r->path, buf, blk->csize, blk->offset) != blk->csize)
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Unexpected end of file in block %u of column %d.",
										  b, c));
	if (SsCrc32c(buf, blk->csize) != blk->crc)
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Checksum mismatch in block %u of column %d.",
										  b, c));
	if (ZSTD_getFrameContentSize(buf, blk->csize) != blk->rawsize)
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Block %u of column %d has an invalid compressed frame header.",
										  b, c));
}

/* Metadata of column col of r; asking for a missing column is a bug. */
static const BinlogColumn *
ReaderColumn(SsBinlogReader *r, int col)
{
	if (col < 0 || col >= (int) r->header.ncols)
		elog(ERROR, "segstore file \"%s\" has no column %d", r->path, col);
	return &r->cols[col];
}

/*
 * Metadata of a block of r, for the reader and for copying the block;
 * asking for a missing block is a bug.
 */
const BinlogBlock *
SsBinlogReaderBlock(SsBinlogReader *r, int col, int block)
{
	const BinlogColumn *meta = ReaderColumn(r, col);

	if (block < 0 || (uint32) block >= meta->nblocks)
		elog(ERROR, "segstore file \"%s\" has no block %d in column %d",
			 r->path, block, col);
	return &meta->blocks[block];
}

/*
 * Whether rawsize is the raw size of a block of nrows rows of the column;
 * also bounds it so that the block can be decompressed into memory.
 */
static bool
RawSizeValid(const BinlogColumn *col, uint64 nrows, uint64 rawsize)
{
	if (rawsize > MaxAllocHugeSize)
		return false;
	if (col->type == SS_COL_VAR)
		return nrows <= rawsize / 4;
	else
	{
		Size		rw = SsBinlogRowWidth(col->type, col->dim);

		return nrows <= MaxAllocHugeSize / rw && rawsize == nrows * rw;
	}
}

/* qsort comparator of BlockExtents by file offset. */
static int
ExtentCmp(const void *a, const void *b)
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
CheckBlockTiling(SsBinlogReader *r, uint64 nblocks, uint64 footer_offset)
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
	qsort(extents, nblocks, sizeof(BlockExtent), ExtentCmp);

	for (i = 0; i < nblocks; i++)
	{
		if (extents[i].offset != expect_offset)
			BINLOG_CORRUPT(r->path,
						   errdetail_internal("Block %u of column %d is at offset %llu, expected %llu.",
											  extents[i].block,
											  extents[i].col,
											  (unsigned long long) extents[i].offset,
											  (unsigned long long) expect_offset));
		expect_offset += extents[i].csize;
	}
	if (expect_offset != footer_offset)
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Blocks end at offset %llu, but the footer starts at %llu.",
										  (unsigned long long) expect_offset,
										  (unsigned long long) footer_offset));
	pfree(extents);
}

/*
 * Parse and validate the footer of r, whose blocks must fill the bytes from
 * the header to footer_offset.  The footer's CRC has already been checked.
 */
static void
ParseFooter(SsBinlogReader *r, const char *footer, Size len,
			uint64 footer_offset)
{
	const char *path = r->path;
	const char *p = footer;
	const char *end = footer + len - BINLOG_CRC_SIZE;
	uint64		nrows = r->header.nrows;
	uint32		ncols = r->header.ncols;
	uint64		nblocks = 0;

	if (ncols > (len - BINLOG_CRC_SIZE) / BINLOG_COLUMN_ENTRY_SIZE)
		BINLOG_CORRUPT(path,
					   errdetail_internal("Footer is too short for %u columns.",
										  ncols));
	r->cols = palloc0(sizeof(BinlogColumn) * Max(ncols, 1));

	for (int c = 0; c < (int) ncols; c++)
	{
		BinlogColumn *col = &r->cols[c];
		uint32		type;
		uint32		dim;
		uint64		next_row = 0;

		if (end - p < BINLOG_COLUMN_ENTRY_SIZE)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Footer is too short for column %d.",
											  c));
		type = SsBinlogGetU32(p);
		dim = SsBinlogGetU32(p + 4);
		col->nblocks = SsBinlogGetU32(p + 8);
		p += BINLOG_COLUMN_ENTRY_SIZE;

		if (!SsBinlogColumnShapeValid(type, dim))
			BINLOG_CORRUPT(path,
						   errdetail_internal("Column %d has invalid type %u or dimension %u.",
											  c, type, dim));
		col->type = (SsColType) type;
		col->dim = (int32) dim;
		if (col->nblocks > (Size) (end - p) / BINLOG_BLOCK_ENTRY_SIZE)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Footer is too short for the %u blocks of column %d.",
											  col->nblocks, c));
		col->blocks = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(BinlogBlock) * Max(col->nblocks, 1));

		for (uint32 b = 0; b < col->nblocks; b++)
		{
			BinlogBlock *blk = &col->blocks[b];
			uint64		first_row;
			uint64		count;

			blk->offset = SsBinlogGetU64(p);
			blk->csize = SsBinlogGetU64(p + 8);
			blk->rawsize = SsBinlogGetU64(p + 16);
			first_row = SsBinlogGetU64(p + 24);
			count = SsBinlogGetU64(p + 32);
			blk->crc = SsBinlogGetU32(p + 40);
			p += BINLOG_BLOCK_ENTRY_SIZE;

			if (blk->offset < BINLOG_HEADER_SIZE || blk->offset >= footer_offset)
				BINLOG_CORRUPT(path,
							   errdetail_internal("Block %u of column %d is at offset %llu, outside the blocks' region.",
												  b, c,
												  (unsigned long long) blk->offset));
			if (blk->csize == 0 || blk->csize > footer_offset - blk->offset ||
				blk->csize > MaxAllocHugeSize)
				BINLOG_CORRUPT(path,
							   errdetail_internal("Block %u of column %d has invalid compressed size %llu.",
												  b, c,
												  (unsigned long long) blk->csize));
			if (first_row != next_row)
				BINLOG_CORRUPT(path,
							   errdetail_internal("Block %u of column %d starts at row %llu, expected %llu.",
												  b, c,
												  (unsigned long long) first_row,
												  (unsigned long long) next_row));
			if (count == 0 || count > nrows - next_row)
				BINLOG_CORRUPT(path,
							   errdetail_internal("Block %u of column %d has invalid row count %llu.",
												  b, c,
												  (unsigned long long) count));
			if (!RawSizeValid(col, count, blk->rawsize))
				BINLOG_CORRUPT(path,
							   errdetail_internal("Block %u of column %d has invalid raw size %llu for %llu rows.",
												  b, c,
												  (unsigned long long) blk->rawsize,
												  (unsigned long long) count));

			blk->first_row = (int64) first_row;
			blk->nrows = (int64) count;
			next_row += count;
		}
		if (next_row != nrows)
			BINLOG_CORRUPT(path,
						   errdetail_internal("Column %d has %llu rows, expected %llu.",
											  c,
											  (unsigned long long) next_row,
											  (unsigned long long) nrows));
		nblocks += col->nblocks;
	}

	if (p != end)
		BINLOG_CORRUPT(path,
					   errdetail_internal("Footer has %zu bytes beyond its last column.",
										  (Size) (end - p)));
	CheckBlockTiling(r, nblocks, footer_offset);
}

/* Read and validate everything but the blocks of the file open in r. */
static void
LoadMetadata(SsBinlogReader *r)
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
		BINLOG_CORRUPT(path,
					   errdetail_internal("File is too short (%llu bytes).",
										  (unsigned long long) size));

	if (ReadAt(r->fd, path, hbuf, sizeof(hbuf), 0) != sizeof(hbuf))
		BINLOG_CORRUPT(path, errdetail("Unexpected end of file in header."));
	SsBinlogHeaderDecode(hbuf, path, true, &r->header);

	if (ReadAt(r->fd, path, tbuf, sizeof(tbuf), size - sizeof(tbuf)) != sizeof(tbuf))
		BINLOG_CORRUPT(path, errdetail("Unexpected end of file in trailer."));
	if (memcmp(tbuf + 16, BINLOG_END_MAGIC, 4) != 0)
		BINLOG_CORRUPT(path, errdetail("Bad magic number at end of file."));
	footer_offset = SsBinlogGetU64(tbuf);
	footer_len = SsBinlogGetU64(tbuf + 8);
	if (footer_offset < BINLOG_HEADER_SIZE ||
		footer_offset > size - BINLOG_TRAILER_SIZE ||
		footer_len != size - BINLOG_TRAILER_SIZE - footer_offset ||
		footer_len < BINLOG_CRC_SIZE)
		BINLOG_CORRUPT(path,
					   errdetail_internal("Footer offset %llu and length %llu do not fit file size %llu.",
										  (unsigned long long) footer_offset,
										  (unsigned long long) footer_len,
										  (unsigned long long) size));
	if (footer_len > MaxAllocSize)
		BINLOG_CORRUPT(path,
					   errdetail_internal("Footer length %llu is too large.",
										  (unsigned long long) footer_len));

	footer = palloc(footer_len);
	if (ReadAt(r->fd, path, footer, footer_len, footer_offset) != footer_len)
		BINLOG_CORRUPT(path, errdetail("Unexpected end of file in footer."));
	if (SsBinlogGetU32(footer + footer_len - BINLOG_CRC_SIZE) !=
		SsCrc32c(footer, footer_len - BINLOG_CRC_SIZE))
		BINLOG_CORRUPT(path, errdetail("Footer checksum mismatch."));
	ParseFooter(r, footer, footer_len, footer_offset);
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
		LoadMetadata(r);
	}
	PG_CATCH();
	{
		CloseTransientFile(fd);
		PG_RE_THROW();
	}
	PG_END_TRY();

	return r;
}

/* Name of a file kind, for messages. */
static const char *
KindName(uint16 kind)
{
	switch (kind)
	{
		case SS_BINLOG_INSERT:
			return "an insert binlog";
		case SS_BINLOG_DELTA:
			return "a delta binlog";
		case SS_BINLOG_STATS:
			return "a stats binlog";
	}
	return "an unknown binlog";
}

/* Name of a column's type, for messages. */
static const char *
ColTypeName(SsColType type, int32 dim)
{
	switch (type)
	{
		case SS_COL_INT4:
			return "int4";
		case SS_COL_INT8:
			return "int8";
		case SS_COL_FLOAT4:
			return "float4";
		case SS_COL_FLOAT8:
			return "float8";
		case SS_COL_BOOL:
			return "bool";
		case SS_COL_VAR:
			return "variable-length";
		case SS_COL_VECTOR:
			return psprintf("float4[%d]", dim);
	}
	return "unknown";
}

/*
 * Check that an open file is what its reader takes it for: its kind, its
 * number of columns, each column's type (and dimension), and its number of
 * rows unless nrows is negative.  The header and footer are the file's own
 * word on these; a valid file of another kind, collection or segment put in
 * this one's place passes its checksums, and its columns read as the wrong
 * types would be garbage, so a mismatch is damage, reported with what was
 * expected and what was found.  what names the file's owner ("segment 7 of
 * collection \"c\"").
 */
void
SsBinlogExpect(SsBinlogReader *r, uint16 kind, int ncols, const SsColType *types,
			   const int32 *dims, int64 nrows, const char *what)
{
	if (r->header.kind != kind)
		BINLOG_CORRUPT(r->path,
					   errdetail("The file is %s, expected %s for %s.",
								 KindName(r->header.kind), KindName(kind), what));
	if (r->header.ncols != (uint32) ncols)
		BINLOG_CORRUPT(r->path,
					   errdetail("The file has %u columns, expected %d for %s.",
								 r->header.ncols, ncols, what));
	if (nrows >= 0 && r->header.nrows != (uint64) nrows)
		BINLOG_CORRUPT(r->path,
					   errdetail("The file has %llu rows, expected " INT64_FORMAT " for %s.",
								 (unsigned long long) r->header.nrows, nrows, what));
	for (int c = 0; c < ncols; c++)
	{
		const BinlogColumn *col = &r->cols[c];
		int32		dim = types[c] == SS_COL_VECTOR ? dims[c] : 0;

		if (col->type != types[c] || col->dim != dim)
			BINLOG_CORRUPT(r->path,
						   errdetail("Column %d is %s, expected %s for %s.",
									 c, ColTypeName(col->type, col->dim),
									 ColTypeName(types[c], dim), what));
	}
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
	return (int) ReaderColumn(r, col)->nblocks;
}

/* Rows [*first, *first + *count) are those of block block of column col. */
void
SsBinlogBlockRows(SsBinlogReader *r, int col, int block, int64 *first,
				  int64 *count)
{
	const BinlogBlock *blk = SsBinlogReaderBlock(r, col, block);

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
ReadBlock(SsBinlogReader *r, int c, uint32 b, BinlogScratch *comp,
		  BinlogScratch *raw, char *dst)
{
	const BinlogBlock *blk = &r->cols[c].blocks[b];
	Size		n;

	SsBinlogScratchReserve(CurrentMemoryContext, comp, blk->csize);
	SsBinlogReadCompressed(r, c, b, comp->buf);
	if (dst == NULL)
	{
		SsBinlogScratchReserve(CurrentMemoryContext, raw, blk->rawsize);
		dst = raw->buf;
	}
	if (r->dctx == NULL)
	{
		r->zstd_cxt = AllocSetContextCreate(GetMemoryChunkContext(r), "segstore zstd",
											ALLOCSET_DEFAULT_SIZES);
		r->dctx = SsBinlogZstdDecompressor(r->zstd_cxt);
	}
	n = ZSTD_decompressDCtx(r->dctx, dst, blk->rawsize, comp->buf, blk->csize);
	if (ZSTD_isError(n))
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Could not decompress block %u of column %d: %s.",
										  b, c, ZSTD_getErrorName(n)));
	if (n != blk->rawsize)
		BINLOG_CORRUPT(r->path,
					   errdetail_internal("Block %u of column %d decompressed to %zu bytes, expected %llu.",
										  b, c, n,
										  (unsigned long long) blk->rawsize));
	return dst;
}

/* Index of the block of column col holding row. */
static uint32
FindBlock(const BinlogColumn *col, int64 row)
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
AllocArray(Size n, Size size, const char *path)
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
ReadFixedRange(SsBinlogReader *r, int c, int64 first, int64 count,
			   SsColumn *out)
{
	const BinlogColumn *col = &r->cols[c];
	int			ew = SsBinlogElemWidth(col->type);
	Size		rw = SsBinlogRowWidth(col->type, col->dim);
	int64		end = first + count;
	BinlogScratch comp = {0};
	BinlogScratch raw = {0};

	out->values = AllocArray((Size) count, rw, r->path);
	if (count == 0)
		return;

	for (uint32 b = FindBlock(col, first); b < col->nblocks; b++)
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
			ReadBlock(r, c, b, &comp, NULL, dst);
		else
		{
			char	   *src = ReadBlock(r, c, b, &comp, &raw, NULL);

			if (ew == 1)
				memcpy(dst, src + lo, hi - lo);
			else
				SsBinlogUnshuffle(dst, src, blk->rawsize / ew,
								  (Size) lo * (rw / ew),
								  (Size) (hi - lo) * (rw / ew), ew);
		}
	}
	SsBinlogScratchFree(&comp);
	SsBinlogScratchFree(&raw);
}

/* Read rows [first, first + count) of a variable-length column into out. */
static void
ReadVarRange(SsBinlogReader *r, int c, int64 first, int64 count,
			 SsColumn *out)
{
	const BinlogColumn *col = &r->cols[c];
	int64		end = first + count;
	uint32		first_block;
	Size		bound = 0;
	Size		capacity;
	Size		pos = 0;
	BinlogScratch comp = {0};
	BinlogScratch raw = {0};
	BinlogScratch lens = {0};

	out->offsets = AllocArray((Size) count + 1, sizeof(uint64), r->path);
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
	first_block = FindBlock(col, first);
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
		src = ReadBlock(r, c, b, &comp, &raw, NULL);

		SsBinlogScratchReserve(CurrentMemoryContext, &lens, n * 4);
		SsBinlogUnshuffle(lens.buf, src, n, 0, n, 4);
		len = (uint32 *) lens.buf;

		lo = Max(first, blk->first_row) - blk->first_row;
		hi = Min(end, blk->first_row + blk->nrows) - blk->first_row;

		/* The lengths must account for exactly the bytes that follow. */
		for (Size j = 0; j < n; j++)
		{
			if (len[j] > avail - total)
				BINLOG_CORRUPT(r->path,
							   errdetail_internal("Row lengths of block %u of column %d exceed its size.",
												  b, c));
			if (j == (Size) lo)
				skip = total;
			total += len[j];
		}
		if (total != avail)
			BINLOG_CORRUPT(r->path,
						   errdetail_internal("Row lengths of block %u of column %d do not match its size.",
											  b, c));

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
	SsBinlogScratchFree(&comp);
	SsBinlogScratchFree(&raw);
	SsBinlogScratchFree(&lens);
}

/*
 * Read rows [first, first + count) of column col into *out, allocated in
 * CurrentMemoryContext, decompressing only the blocks involved.
 */
void
SsBinlogReadRange(SsBinlogReader *r, int col, int64 first, int64 count,
				  SsColumn *out)
{
	const BinlogColumn *meta = ReaderColumn(r, col);

	if (first < 0 || count < 0 || count > (int64) r->header.nrows ||
		first > (int64) r->header.nrows - count)
		elog(ERROR, "rows " INT64_FORMAT " to " INT64_FORMAT " are out of range for segstore file \"%s\"",
			 first, first + count, r->path);

	memset(out, 0, sizeof(SsColumn));
	out->type = meta->type;
	out->dim = meta->dim;
	out->nrows = count;
	if (meta->type == SS_COL_VAR)
		ReadVarRange(r, col, first, count, out);
	else
		ReadFixedRange(r, col, first, count, out);
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
	if (r->zstd_cxt != NULL)
		MemoryContextDelete(r->zstd_cxt);
	pfree(r->path);
	pfree(r);
}

/*
 * Read and validate only the header of a file, for garbage collection.
 * Returns false if the file is too short or its header is invalid.
 */
bool
SsBinlogPeekHeader(const char *path, uint16 *kind, uint64 *writer_xid,
				   bool *missing)
{
	char		hbuf[BINLOG_HEADER_SIZE];
	BinlogHeader h;
	Size		n;
	int			fd;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 && errno == ENOENT && missing != NULL)
	{
		*missing = true;
		return false;
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open segstore file \"%s\": %m", path)));
	n = ReadAt(fd, path, hbuf, sizeof(hbuf), 0);
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close segstore file \"%s\": %m", path)));

	if (n != sizeof(hbuf) || !SsBinlogHeaderDecode(hbuf, path, false, &h))
		return false;
	*kind = h.kind;
	*writer_xid = h.writer_xid;
	return true;
}
