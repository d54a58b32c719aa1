/*-------------------------------------------------------------------------
 *
 * binlog.h
 *	  The segstore container file format ("binlog"): immutable, checksummed
 *	  files holding a fixed number of rows in a set of zstd-compressed
 *	  columns.  The layout is documented at the top of binlog.c.
 *
 * This layer knows nothing of catalogs, SQL or collections: it writes and
 * reads columns at the paths it is given.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_BINLOG_H
#define SEGSTORE_FORMAT_BINLOG_H

#include "port/pg_crc32c.h"

#include "segstore.h"

/* File kinds recorded in the header; 4 is reserved for index files. */
#define SS_BINLOG_INSERT 1
#define SS_BINLOG_DELTA 2
#define SS_BINLOG_STATS 3

/* What SsBinlogWrite or SsBinlogWriterFinish produced. */
typedef struct SsBinlogInfo
{
	uint64		size_bytes;		/* bytes on disk */
	uint64		raw_bytes;		/* uncompressed payload bytes */
} SsBinlogInfo;

/* An open file being read, from SsBinlogOpen. */
typedef struct SsBinlogReader SsBinlogReader;

/*
 * Write a complete file durably: write to tmp_path, fsync it, rename to
 * path, fsync the directory.  ereport(ERROR) on failure, after removing the
 * temporary file.
 */
extern pg_crc32c SsCrc32c(const void *data, Size len);
extern void SsBinlogWrite(const char *path, const char *tmp_path, uint16 kind,
						  uint64 file_id, uint64 writer_xid,
						  const SsColumn *cols, int ncols, int64 nrows,
						  int level, SsBinlogInfo *info);

/*
 * A file written in a stream: rows are appended in chunks, and each column's
 * blocks are compressed and written as soon as they fill, so that the writer
 * holds about one block (1 MiB of raw payload) per column plus two blocks of
 * scratch space, whatever the size of the file.  All of that memory is in
 * the writer's own memory context, a child of the CurrentMemoryContext of
 * SsBinlogWriterBegin, so the caller can measure it there.
 *
 * A writer must be finished or abandoned within the (sub)transaction that
 * began it.  One left unfinished by an ERROR cleans up after itself: its
 * file descriptor is a transient file, closed by fd.c when that
 * (sub)transaction aborts, and a reset callback on its memory context
 * removes the temporary file when the context is reset or deleted, at the
 * latest with the memory of the failed (sub)transaction or query.  To remove
 * the file at once instead, call SsBinlogWriterAbort in a PG_CATCH block
 * before re-throwing.
 */
typedef struct SsBinlogWriter SsBinlogWriter;

/*
 * Start a file of ncols columns of the given types (dims: the dimension of
 * SS_COL_VECTOR columns, else 0) by creating tmp_path.  On failure nothing
 * is left behind.
 */
extern SsBinlogWriter *SsBinlogWriterBegin(const char *path,
										   const char *tmp_path, uint16 kind,
										   uint64 file_id, uint64 writer_xid,
										   const SsColType *types,
										   const int32 *dims, int ncols,
										   int level);

/*
 * Append rows [first, first + count) of cols, ncols columns of the declared
 * types, each with at least first + count rows.  Full blocks are compressed
 * and written at once.
 */
extern void SsBinlogWriterAppend(SsBinlogWriter *w, const SsColumn *cols,
								 int64 first, int64 count);

/*
 * Append rows [first, first + count) of column, of the declared type of
 * column col and with at least first + count rows, to column col only.
 * Columns may be fed independently and in any order, each with its rows in
 * order; SsBinlogWriterFinish checks that all end with the same row count.
 */
extern void SsBinlogWriterAppendColumn(SsBinlogWriter *w, int col,
									   const SsColumn *column, int64 first,
									   int64 count);

/*
 * Append block block of column col of r, an open file, to column col of w
 * as it is on disk, without decompressing it: after the rows of that column
 * still pending, which become a block of their own, so that the blocks of a
 * file may have any size.  The block's checksum is verified first, and a
 * mismatch is reported as corruption of r's file.  Both columns must have
 * the same type and dimension.  The block's raw size counts towards
 * SsBinlogWriterRawBytes.
 */
extern void SsBinlogWriterCopyBlock(SsBinlogWriter *w, int col,
									SsBinlogReader *r, int block);

/*
 * Check that every column has the same number of rows, write the partial
 * blocks, the footer and trailer and the final header, fsync the file,
 * rename it to path and fsync the directory; fills *info if it is not NULL
 * and frees the writer.  After an ERROR the writer is left to
 * SsBinlogWriterAbort or to its cleanup.
 */
extern void SsBinlogWriterFinish(SsBinlogWriter *w, SsBinlogInfo *info);

/*
 * Abandon a file: close and remove the temporary file and free the writer.
 * Only while the (sub)transaction that began it is still running, since its
 * abort closes the descriptor.
 */
extern void SsBinlogWriterAbort(SsBinlogWriter *w);

/*
 * Memory zstd needs to compress blocks of block_bytes at level, and to
 * decompress, for callers that budget memory: a writer holds one
 * compression state, a reader one decompression state, each in a
 * "segstore zstd" memory context below the writer's or reader's.
 */
extern Size SsBinlogCompressMemory(int level, Size block_bytes);
extern Size SsBinlogDecompressMemory(void);

/* Raw payload bytes appended so far, for callers that cut files at a size. */
extern uint64 SsBinlogWriterRawBytes(SsBinlogWriter *w);

/*
 * Open a file and validate its header, trailer and footer (magic numbers,
 * version, checksums, offsets within the file size).  The reader holds a
 * transient file descriptor (a limited resource, about max_safe_fds / 3 per
 * backend) that is released by SsBinlogClose or at transaction end, so a
 * reader must not outlive its transaction.
 */
extern SsBinlogReader *SsBinlogOpen(const char *path);

/*
 * Report the file as corrupt unless it is of this kind, with exactly these
 * column types (dims: dimensions of SS_COL_VECTOR columns) and, unless
 * nrows is negative, this many rows.  Readers check this before they read
 * any column; what names the file's owner for the message.
 */
extern void SsBinlogExpect(SsBinlogReader *r, uint16 kind, int ncols,
						   const SsColType *types, const int32 *dims,
						   int64 nrows, const char *what);
extern uint16 SsBinlogKind(SsBinlogReader *r);
extern int64 SsBinlogNumRows(SsBinlogReader *r);
extern int	SsBinlogNumColumns(SsBinlogReader *r);

/* Blocks of column col, and the rows [*first, *first + *count) of one. */
extern int	SsBinlogNumBlocks(SsBinlogReader *r, int col);
extern void SsBinlogBlockRows(SsBinlogReader *r, int col, int block,
							  int64 *first, int64 *count);

/*
 * Read rows [first, first + count) of column col into *out, allocated in
 * CurrentMemoryContext.  Only the blocks needed are decompressed, and each
 * block's checksum is verified.
 */
extern void SsBinlogReadRange(SsBinlogReader *r, int col, int64 first,
							  int64 count, SsColumn *out);

/* Read a whole column. */
extern void SsBinlogReadColumn(SsBinlogReader *r, int col, SsColumn *out);

/* Close the file and free the reader. */
extern void SsBinlogClose(SsBinlogReader *r);

/*
 * Read only the header of a file (for garbage collection).  Returns false if
 * the file is too short or its header is invalid, or, with missing given,
 * if the file does not exist (setting *missing); other I/O errors, and a
 * missing file without missing, are reported with ereport(ERROR).
 */
extern bool SsBinlogPeekHeader(const char *path, uint16 *kind,
							   uint64 *writer_xid, bool *missing);

#endif							/* SEGSTORE_FORMAT_BINLOG_H */
