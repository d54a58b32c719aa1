/*-------------------------------------------------------------------------
 *
 * binlog_int.h
 *	  What the three parts of the binlog code share: the layout constants,
 *	  the decoded metadata structs and the encoding helpers of binlog.c,
 *	  used by the reader (binlog_reader.c) and the writer (binlog_writer.c).
 *
 * Private to src/format/binlog*.c; everyone else uses binlog.h.  The
 * writer sees the reader's struct because copying a block
 * (SsBinlogWriterCopyBlock) reads the source file's footer entries and its
 * compressed bytes as they are.  This header names that struct by its tag
 * rather than including binlog.h, whose module (binlog.c) includes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_BINLOG_INT_H
#define SEGSTORE_FORMAT_BINLOG_INT_H

#include "port/pg_crc32c.h"
#include "utils/palloc.h"

#include "segstore.h"

/* Layout constants; binlog.c documents what they mean. */
#define BINLOG_END_MAGIC	"SSBE"
#define BINLOG_VERSION		1
#define BINLOG_MAX_KIND		SS_BINLOG_STATS	/* binlog.h */

#define BINLOG_HEADER_SIZE	40
#define BINLOG_TRAILER_SIZE 20
#define BINLOG_COLUMN_ENTRY_SIZE 12
#define BINLOG_BLOCK_ENTRY_SIZE 44
#define BINLOG_CRC_SIZE		4

/*
 * Report a damaged file.  detail is errdetail(...) when it says in words
 * what is wrong, or errdetail_internal(...) when it gives offsets, sizes
 * and positions that only help whoever debugs the file.
 */
#define BINLOG_CORRUPT(path, detail) \
	ereport(ERROR, \
			(errcode(ERRCODE_DATA_CORRUPTED), \
			 errmsg("segstore file \"%s\" is corrupt", (path)), \
			 detail))

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

/*
 * An open file with its validated metadata.  dctx is zstd's decompression
 * state, made at the first block read, in zstd_cxt, a context below the
 * one the reader was allocated in.
 */
struct SsBinlogReader
{
	char	   *path;
	int			fd;
	BinlogHeader header;
	BinlogColumn *cols;
	MemoryContext zstd_cxt;
	struct ZSTD_DCtx_s *dctx;
};

/* A reusable buffer that only grows. */
typedef struct BinlogScratch
{
	char	   *buf;
	Size		cap;
} BinlogScratch;

/*
 * zstd's working memory, allocated in a memory context of ours (binlog.c),
 * so that it is counted where its owner's memory is and freed with it
 * (zstd would otherwise malloc() it unseen on every call).
 */
extern struct ZSTD_CCtx_s *SsBinlogZstdCompressor(MemoryContext cxt);
extern struct ZSTD_DCtx_s *SsBinlogZstdDecompressor(MemoryContext cxt);

/* Little-endian integers at unaligned positions (binlog.c). */
extern void SsBinlogPutU16(char *p, uint16 v);
extern void SsBinlogPutU32(char *p, uint32 v);
extern void SsBinlogPutU64(char *p, uint64 v);
extern uint16 SsBinlogGetU16(const char *p);
extern uint32 SsBinlogGetU32(const char *p);
extern uint64 SsBinlogGetU64(const char *p);

/* Scratch buffers (binlog.c). */
extern void SsBinlogScratchReserve(MemoryContext cxt, BinlogScratch *s,
								   Size size);
extern void SsBinlogScratchFree(BinlogScratch *s);

/* Shapes of columns and their rows (binlog.c). */
extern int	SsBinlogElemWidth(SsColType type);
extern Size SsBinlogRowWidth(SsColType type, int32 dim);
extern bool SsBinlogColumnShapeValid(uint32 type, uint32 dim);

/* The byte shuffle of blocks of fixed-width values (binlog.c). */
extern void SsBinlogShuffle(char *dst, const char *src, Size n, int width);
extern void SsBinlogUnshuffle(char *dst, const char *src, Size total,
							  Size first, Size n, int width);

/* The header (binlog.c). */
extern void SsBinlogHeaderEncode(char *buf, const BinlogHeader *h);
extern bool SsBinlogHeaderDecode(const char *buf, const char *path,
								 bool report, BinlogHeader *h);

/* Blocks of an open file, for the reader and for copying (binlog_reader.c). */
extern const BinlogBlock *SsBinlogReaderBlock(struct SsBinlogReader *r,
											  int col, int block);
extern void SsBinlogReadCompressed(struct SsBinlogReader *r, int c, uint32 b,
								   char *buf);

#endif							/* SEGSTORE_FORMAT_BINLOG_INT_H */
