/*-------------------------------------------------------------------------
 *
 * fuzz_binlog.c
 *	  libFuzzer target: the binlog reader (src/format/binlog_reader.c).
 *	  The input, its checksums made right (reseal.h), is written as a file
 *	  and read as segstore's readers read one: open (header, footer,
 *	  trailer), every column whole, a range of rows, the blocks' row
 *	  ranges, and the header alone as garbage collection reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "format/binlog.h"

#include "reseal.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* Read everything a reader can read of an open file. */
static void
ReadAll(SsBinlogReader *r)
{
	int64		nrows = SsBinlogNumRows(r);

	(void) SsBinlogKind(r);
	for (int c = 0; c < SsBinlogNumColumns(r); c++)
	{
		SsColumn	col;
		int			nblocks = SsBinlogNumBlocks(r, c);

		for (int b = 0; b < nblocks; b++)
		{
			int64		first;
			int64		count;

			SsBinlogBlockRows(r, c, b, &first, &count);
		}
		SsBinlogReadColumn(r, c, &col);
		if (nrows > 2)
			SsBinlogReadRange(r, c, nrows / 3, nrows / 3, &col);
	}
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	uint8	   *file = malloc(Max(size, 1));
	const char *path;

	memcpy(file, data, size);
	ResealBinlog(file, size);
	path = ShimWriteFile(file, size);
	free(file);
	ShimBegin();
	PG_TRY();
	{
		uint16		kind;
		uint64		xid;
		bool		missing;

		(void) SsBinlogPeekHeader(path, &kind, &xid, &missing);
		{
			SsBinlogReader *r = SsBinlogOpen(path);

			ReadAll(r);
			SsBinlogClose(r);
		}
	}
	PG_CATCH();
	{
		ShimCheckError(true);
	}
	PG_END_TRY();
	ShimEnd();
	return 0;
}
