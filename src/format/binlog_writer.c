/*-------------------------------------------------------------------------
 *
 * binlog_writer.c
 *	  Writing segstore container files ("binlogs"), in one go or as a
 *	  stream.
 *
 * A writer keeps, per column, the rows not yet in a block; a block is
 * byte-shuffled, compressed and written as soon as it reaches about 1 MiB
 * of raw payload, and only its footer entry is kept, so that the memory a
 * writer holds does not grow with the file.  Columns may be fed together
 * or each on its own, and a block of another file may be copied as it is,
 * compressed (compaction keeps whole blocks that way).  The header goes
 * out first as a placeholder, since the row count is known only at the
 * end; finishing writes the footer, the trailer and the final header and
 * puts the file in place durably (SsFilesInstall).  Every write is
 * WAL-logged as it goes out (SsFileWalWrite), so that standbys and
 * recovery rebuild the same file.  The layout is
 * documented at the top of binlog.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "format/binlog.h"
#include "format/binlog_int.h"
#include "format/files.h"

/* Raw payload size at which writers cut blocks. */
#define BINLOG_BLOCK_TARGET ((Size) 1024 * 1024)

/* A column of a file being written. */
typedef struct WriterColumn
{
	SsColType	type;
	int32		dim;
	BinlogScratch pending;		/* rows not yet in a block: their values, or
								 * for VAR their bytes */
	Size		pending_len;	/* bytes of pending in use */
	BinlogScratch lens;			/* VAR only: the lengths of those rows */
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
	BinlogScratch raw;			/* a block's raw payload, assembled */
	BinlogScratch comp;			/* a block's compressed bytes */
	ZSTD_CCtx  *cctx;			/* zstd's state, made at the first block, in
								 * a "segstore zstd" context below cxt */
	SsFileWal	wal;			/* the log of the bytes written */
};

/* Append len bytes to the file being written. */
static void
WriteAll(SsBinlogWriter *w, const char *buf, Size len)
{
	SsFilesWrite(w->fd, w->tmp_path, w->offset, buf, len, &w->wal, false);
	w->offset += len;
}

/*
 * Write the csize compressed bytes in w->comp, whose CRC is crc, of a block
 * of nrows rows and rawsize bytes of raw payload as the next block of column
 * wc, and keep its footer entry.
 */
static void
EmitBlock(SsBinlogWriter *w, WriterColumn *wc, Size csize, pg_crc32c crc,
		  Size rawsize, int64 nrows)
{
	uint64		offset = w->offset;
	BinlogBlock *blk;

	WriteAll(w, w->comp.buf, csize);

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
		SsBinlogScratchFree(&w->raw);
		SsBinlogScratchFree(&w->comp);
	}
}

/*
 * Compress a block of raw payload of column wc, write it and keep its footer
 * entry.
 */
static void
WriteBlock(SsBinlogWriter *w, WriterColumn *wc, const char *raw,
		   Size rawsize, int64 nrows)
{
	Size		bound = ZSTD_compressBound(rawsize);
	Size		csize;

	CHECK_FOR_INTERRUPTS();
	if (ZSTD_isError(bound))
		elog(ERROR, "segstore block of %zu bytes is too large to compress",
			 rawsize);
	SsBinlogScratchReserve(w->cxt, &w->comp, bound);
	if (w->cctx == NULL)
		w->cctx = SsBinlogZstdCompressor(AllocSetContextCreate(w->cxt, "segstore zstd",
															   ALLOCSET_DEFAULT_SIZES));
	csize = ZSTD_compressCCtx(w->cctx, w->comp.buf, bound, raw, rawsize, w->level);

	/*
	 * Into a buffer of the bound's size, compression fails only when zstd
	 * cannot allocate its working memory; anything else is a bug.
	 */
	if (ZSTD_isError(csize))
		ereport(ERROR,
				(errcode(ZSTD_getErrorCode(csize) == ZSTD_error_memory_allocation ?
						 ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compress data for segstore file \"%s\": %s",
						w->tmp_path, ZSTD_getErrorName(csize))));
	EmitBlock(w, wc, csize, SsCrc32c(w->comp.buf, csize), rawsize, nrows);
}

/* Write n rows of values of a fixed-width column as one block. */
static void
WriteFixedBlock(SsBinlogWriter *w, WriterColumn *wc, const char *values,
				int64 n)
{
	int			ew = SsBinlogElemWidth(wc->type);
	Size		rawsize = (Size) n * SsBinlogRowWidth(wc->type, wc->dim);

	if (ew > 1)
	{
		SsBinlogScratchReserve(w->cxt, &w->raw, rawsize);
		SsBinlogShuffle(w->raw.buf, values, rawsize / ew, ew);
		values = w->raw.buf;
	}
	WriteBlock(w, wc, values, rawsize, n);
}

/* Write the pending rows of a variable-length column as one block. */
static void
WriteVarBlock(SsBinlogWriter *w, WriterColumn *wc)
{
	Size		n = (Size) wc->pending_rows;
	Size		rawsize = n * 4 + wc->pending_len;

	SsBinlogScratchReserve(w->cxt, &w->raw, rawsize);
	SsBinlogShuffle(w->raw.buf, wc->lens.buf, n, 4);
	if (wc->pending_len > 0)
		memcpy(w->raw.buf + n * 4, wc->pending.buf, wc->pending_len);
	WriteBlock(w, wc, w->raw.buf, rawsize, (int64) n);
}

/* Write the pending rows of a column, if any, as one block. */
static void
FlushPending(SsBinlogWriter *w, WriterColumn *wc)
{
	if (wc->pending_rows == 0)
		return;
	if (wc->type == SS_COL_VAR)
		WriteVarBlock(w, wc);
	else
		WriteFixedBlock(w, wc, wc->pending.buf, wc->pending_rows);
	wc->pending_rows = 0;
	wc->pending_len = 0;

	/* Only a long row takes the buffer past the target: don't keep it. */
	if (wc->pending.cap > BINLOG_BLOCK_TARGET)
		SsBinlogScratchFree(&wc->pending);
}

/*
 * Make sure a buffer of pending rows holds at least need bytes, keeping its
 * contents.  It doubles as it fills, but not beyond limit, what a full block
 * needs, unless need itself is larger.
 */
static void
PendingReserve(SsBinlogWriter *w, BinlogScratch *s, Size need, Size limit)
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
AppendFixed(SsBinlogWriter *w, WriterColumn *wc, const SsColumn *col,
			int64 first, int64 count)
{
	Size		rw = SsBinlogRowWidth(wc->type, wc->dim);
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
			WriteFixedBlock(w, wc, src, n);
		}
		else
		{
			n = Min(count, per_block - wc->pending_rows);
			PendingReserve(w, &wc->pending, wc->pending_len + (Size) n * rw,
						   (Size) per_block * rw);
			memcpy(wc->pending.buf + wc->pending_len, src, (Size) n * rw);
			wc->pending_len += (Size) n * rw;
			wc->pending_rows += n;
			if (wc->pending_rows == per_block)
				FlushPending(w, wc);
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
VarRowLength(const SsColumn *col, int colno, int64 row)
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
AppendVar(SsBinlogWriter *w, WriterColumn *wc, const SsColumn *col,
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
			uint32		len = VarRowLength(col, colno, row);

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
		PendingReserve(w, &wc->lens, nrows * 4, BINLOG_BLOCK_TARGET);
		lens = (uint32 *) wc->lens.buf;
		for (int64 r = start; r < row; r++)
			lens[wc->pending_rows++] = (uint32) (col->offsets[r + 1] -
												 col->offsets[r]);
		bytes = col->offsets[row] - col->offsets[start];
		if (bytes > 0)
		{
			PendingReserve(w, &wc->pending, wc->pending_len + bytes,
						   BINLOG_BLOCK_TARGET);
			memcpy(wc->pending.buf + wc->pending_len,
				   col->data + col->offsets[start], bytes);
			wc->pending_len += bytes;
		}
		w->raw_bytes += (uint64) (row - start) * 4 + bytes;

		if (full)
			FlushPending(w, wc);
	}
}

/*
 * Reset callback of a writer's memory context: a writer left unfinished,
 * normally by an ERROR, removes its temporary file.  The descriptor is left
 * alone: if the transaction aborted, fd.c has closed it already and its
 * number may have been reused.
 */
static void
WriterCleanup(void *arg)
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
		if (!SsBinlogColumnShapeValid((uint32) types[c], (uint32) dims[c]))
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
	SsFileWalBegin(&w->wal, BINLOG_HEADER_SIZE);
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
	w->cleanup.func = WriterCleanup;
	w->cleanup.arg = w;
	MemoryContextRegisterResetCallback(cxt, &w->cleanup);

	/* The row count is rewritten by SsBinlogWriterFinish. */
	SsBinlogHeaderEncode(hbuf, &w->header);
	PG_TRY();
	{
		WriteAll(w, hbuf, sizeof(hbuf));
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
ColumnRows(const WriterColumn *wc)
{
	return wc->next_row + wc->pending_rows;
}

/* Check that column c of w can take count more rows. */
static void
CheckRoom(SsBinlogWriter *w, int c, int64 count)
{
	if (count > PG_INT64_MAX - ColumnRows(&w->cols[c]))
		elog(ERROR, "segstore column %d of file \"%s\" cannot take " INT64_FORMAT " more rows",
			 c, w->tmp_path, count);
}

/*
 * Check that rows [first, first + count) of col, a range already known to
 * be valid, can be appended to column c of w.  Errors are caller bugs.
 */
static void
CheckColumn(SsBinlogWriter *w, int c, const SsColumn *col, int64 first,
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
	CheckRoom(w, c, count);
}

/* Append rows [first, first + count) of col, checked, to column c of w. */
static void
AppendColumn(SsBinlogWriter *w, int c, const SsColumn *col, int64 first,
			 int64 count)
{
	if (w->cols[c].type == SS_COL_VAR)
		AppendVar(w, &w->cols[c], col, c, first, count);
	else
		AppendFixed(w, &w->cols[c], col, first, count);
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
		CheckColumn(w, c, &cols[c], first, count);

	/* A column without rows may have no values at all. */
	if (count == 0)
		return;
	for (int c = 0; c < w->ncols; c++)
		AppendColumn(w, c, &cols[c], first, count);
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
	CheckColumn(w, col, column, first, count);

	/* A column without rows may have no values at all. */
	if (count > 0)
		AppendColumn(w, col, column, first, count);
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
	const BinlogBlock *blk = SsBinlogReaderBlock(r, col, block);
	const BinlogColumn *rc = &r->cols[col];
	WriterColumn *wc;

	if (col >= w->ncols)
		elog(ERROR, "segstore file \"%s\" has no column %d", w->tmp_path, col);
	wc = &w->cols[col];
	if (rc->type != wc->type || rc->dim != wc->dim)
		elog(ERROR, "column %d of segstore file \"%s\" has type %d, dim %d, expected type %d, dim %d",
			 col, r->path, (int) rc->type, rc->dim, (int) wc->type, wc->dim);
	CheckRoom(w, col, blk->nrows);

	CHECK_FOR_INTERRUPTS();

	/* Flushing uses w->comp, so it must come before the read into it. */
	FlushPending(w, wc);
	SsBinlogScratchReserve(w->cxt, &w->comp, blk->csize);
	SsBinlogReadCompressed(r, col, (uint32) block, w->comp.buf);
	EmitBlock(w, wc, blk->csize, blk->crc, blk->rawsize, blk->nrows);
	w->raw_bytes += blk->rawsize;
}

/* Write the footer: each column's entry and its blocks' entries, and a CRC. */
static uint64
WriteFooter(SsBinlogWriter *w)
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

		SsBinlogPutU32(p, (uint32) wc->type);
		SsBinlogPutU32(p + 4, (uint32) wc->dim);
		SsBinlogPutU32(p + 8, wc->nblocks);
		p += BINLOG_COLUMN_ENTRY_SIZE;
		for (uint32 b = 0; b < wc->nblocks; b++)
		{
			const BinlogBlock *blk = &wc->blocks[b];

			SsBinlogPutU64(p, blk->offset);
			SsBinlogPutU64(p + 8, blk->csize);
			SsBinlogPutU64(p + 16, blk->rawsize);
			SsBinlogPutU64(p + 24, (uint64) blk->first_row);
			SsBinlogPutU64(p + 32, (uint64) blk->nrows);
			SsBinlogPutU32(p + 40, blk->crc);
			p += BINLOG_BLOCK_ENTRY_SIZE;
		}
	}
	SsBinlogPutU32(p, SsCrc32c(footer, len - BINLOG_CRC_SIZE));
	WriteAll(w, footer, len);
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

	/* Columns fed one by one must have come out the same length. */
	if (w->ncols > 0)
	{
		w->header.nrows = (uint64) ColumnRows(&w->cols[0]);
		for (int c = 1; c < w->ncols; c++)
		{
			if (ColumnRows(&w->cols[c]) != (int64) w->header.nrows)
				elog(ERROR, "segstore file \"%s\" has " INT64_FORMAT " rows in column %d but " UINT64_FORMAT " in column 0",
					 w->tmp_path, ColumnRows(&w->cols[c]), c,
					 w->header.nrows);
		}
	}

	for (int c = 0; c < w->ncols; c++)
		FlushPending(w, &w->cols[c]);

	footer_offset = w->offset;
	footer_len = WriteFooter(w);
	SsBinlogPutU64(tbuf, footer_offset);
	SsBinlogPutU64(tbuf + 8, footer_len);
	memcpy(tbuf + 16, BINLOG_END_MAGIC, 4);
	WriteAll(w, tbuf, sizeof(tbuf));

	SsBinlogHeaderEncode(hbuf, &w->header);
	SsFilesWrite(w->fd, w->tmp_path, 0, hbuf, sizeof(hbuf), &w->wal, false);

	SsFilesInstall(&w->fd, &w->tmp_exists, w->tmp_path, w->path, &w->wal);

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

