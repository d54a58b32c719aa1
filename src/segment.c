/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  Sealed segments.  A segment is an insert binlog (every field and the
 *	  row timestamps, rows sorted by primary key), a stats binlog (key range
 *	  and bloom filter) and zero or more delta binlogs (deleted keys and
 *	  when).  Files are written and fsynced before the catalog rows that
 *	  reference them are inserted, in the caller's transaction: the segment
 *	  appears exactly when that transaction commits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"

#include "binlog.h"
#include "files.h"
#include "segment.h"

#define SS_BLOOM_FPR 0.01

/* Write one file durably and register it in the catalog. */
static void
WriteBinlog(SsCollection *coll, int64 segment_id, const char *kind, uint16 format_kind,
			const SsColumn *cols, int ncols, int64 nrows, TimestampTz ts_min,
			TimestampTz ts_max, bool ts_null)
{
	uint64		xid = U64FromFullTransactionId(GetTopFullTransactionId());
	SsBinlogRow row;
	SsBinlogInfo info;

	row.segment_id = segment_id;
	row.file_id = SsCatalogNextId("file_id_seq");
	row.kind = (char *) kind;
	row.path = SsFilesPath(coll->id, segment_id, row.file_id, kind);
	SsFilesEnsureDir(coll->id);
	SsBinlogWrite(row.path, SsFilesTempPath(row.path, xid), format_kind,
				  (uint64) row.file_id, xid, cols, ncols, nrows,
				  ss_compression_level, &info);
	row.rows = nrows;
	row.size_bytes = (int64) info.size_bytes;
	row.raw_bytes = (int64) info.raw_bytes;
	row.ts_min = ts_min;
	row.ts_max = ts_max;
	row.ts_null = ts_null;
	SsCatalogInsertBinlog(&row, coll->id);
}

/* Write a sorted, non-empty batch as one segment. */
static void
WriteSegment(SsCollection *coll, int64 segment_id, SsBatch *batch)
{
	int			tscol = coll->nfields;
	const int64 *keys = (const int64 *) batch->cols[coll->pk].values;
	const int64 *ts = (const int64 *) batch->cols[tscol].values;
	TimestampTz ts_min = ts[0];
	TimestampTz ts_max = ts[0];
	SsBloom    *bloom;
	SsColumn	stats[4];
	int64		pk_min = keys[0];
	int64		pk_max = keys[batch->nrows - 1];
	int64		nrows = batch->nrows;
	char	   *bloom_data;
	Size		bloom_len;
	int64		i;

	for (i = 1; i < batch->nrows; i++)
	{
		ts_min = Min(ts_min, ts[i]);
		ts_max = Max(ts_max, ts[i]);
	}
	SsCatalogInsertSegment(coll->id, segment_id, batch->nrows, pk_min, pk_max,
						   ts_min, ts_max);
	WriteBinlog(coll, segment_id, "insert", SS_BINLOG_INSERT, batch->cols,
				batch->ncols, batch->nrows, ts_min, ts_max, false);

	/* The stats binlog is one row: key range, row count, bloom filter. */
	bloom = SsBloomBuild(keys, batch->nrows, SS_BLOOM_FPR);
	SsBloomSerialize(bloom, &bloom_data, &bloom_len);
	memset(stats, 0, sizeof(stats));
	for (i = 0; i < 3; i++)
	{
		stats[i].type = SS_COL_INT8;
		stats[i].nrows = 1;
	}
	stats[0].values = (char *) &pk_min;
	stats[1].values = (char *) &pk_max;
	stats[2].values = (char *) &nrows;
	stats[3].type = SS_COL_VAR;
	stats[3].nrows = 1;
	stats[3].values = bloom_data;
	stats[3].data = bloom_data;
	stats[3].offsets = palloc(sizeof(uint64) * 2);
	stats[3].offsets[0] = 0;
	stats[3].offsets[1] = bloom_len;
	WriteBinlog(coll, segment_id, "stats", SS_BINLOG_STATS, stats, 4, 1,
				0, 0, true);
}

/*
 * Write a batch sorted by primary key as sealed segments no larger than
 * segstore.max_segment_size each.  The first gets first_segment_id when it
 * is positive (the growing segment keeps its id when sealed), the others
 * new ids.  Returns the number of segments written.
 */
int
SsSegmentWriteBatch(SsCollection *coll, int64 first_segment_id, SsBatch *batch)
{
	int64		limit = (int64) ss_max_segment_size_mb * 1024 * 1024;
	int64		start = 0;
	int			nsegments = 0;

	while (start < batch->nrows)
	{
		int64		bytes = 0;
		int64		end = start;
		int64		segment_id;

		while (end < batch->nrows)
		{
			int64		row_bytes = SsBatchRowBytes(batch, end);

			if (end > start && bytes + row_bytes > limit)
				break;
			bytes += row_bytes;
			end++;
		}
		segment_id = (nsegments == 0 && first_segment_id > 0) ? first_segment_id
			: SsCatalogNextId("segment_id_seq");
		WriteSegment(coll, segment_id, SsBatchSlice(batch, start, end - start));
		nsegments++;
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	return nsegments;
}

/*
 * Read a segment's insert binlog.  Without all_fields the vector column is
 * skipped.  The timestamp column is always read.
 */
SsBatch *
SsSegmentRead(SsCollection *coll, SsSegment *seg, bool all_fields)
{
	SsBinlogReader *reader;
	SsBatch    *batch;
	int			c;

	if (seg->insert_path == NULL)
		elog(ERROR, "segment " INT64_FORMAT " has no insert binlog", seg->segment_id);
	reader = SsBinlogOpen(seg->insert_path);
	if (SsBinlogKind(reader) != SS_BINLOG_INSERT ||
		SsBinlogNumColumns(reader) != coll->nfields + 1 ||
		SsBinlogNumRows(reader) != seg->num_rows)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", seg->insert_path),
				 errdetail("The file does not match segment " INT64_FORMAT " of collection \"%s\".",
						   seg->segment_id, coll->name)));
	batch = SsBatchCreate(coll->fields, coll->nfields, seg->num_rows);
	for (c = 0; c < batch->ncols; c++)
	{
		if (!all_fields && c == coll->vec)
			continue;
		SsBinlogReadColumn(reader, c, &batch->cols[c]);
		if (batch->cols[c].type != (c < coll->nfields ? SsFieldColType(&coll->fields[c]) : SS_COL_INT8) ||
			batch->cols[c].nrows != seg->num_rows)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", seg->insert_path),
					 errdetail("Column %d has the wrong type.", c)));
	}
	SsBinlogClose(reader);
	return batch;
}

/* Keys recorded in one delta binlog, sorted. */
static int64 *
ReadDelta(const char *path, int *n)
{
	SsBinlogReader *reader = SsBinlogOpen(path);
	SsColumn	col;

	if (SsBinlogKind(reader) != SS_BINLOG_DELTA || SsBinlogNumColumns(reader) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", path),
				 errdetail("The file is not a delta binlog.")));
	SsBinlogReadColumn(reader, 0, &col);
	SsBinlogClose(reader);
	*n = (int) col.nrows;
	return (int64 *) col.values;
}

/* Sorted keys deleted from a segment: its delta binlogs and pending deletes. */
int64 *
SsSegmentDeletedKeys(SsSegment *seg, int *n)
{
	int64	   *keys;
	int			nkeys;
	ListCell   *lc;
	List	   *deltas;

	keys = SsCatalogPendingDeletes(seg->segment_id, &nkeys);
	if (seg->delta_binlogs == 0)
	{
		*n = nkeys;
		return keys;
	}
	deltas = SsCatalogBinlogs(0, seg->segment_id, "delta");
	foreach(lc, deltas)
	{
		SsBinlogRow *row = lfirst(lc);
		int			nd;
		int64	   *d = ReadDelta(row->path, &nd);

		keys = SsSortedUnion(keys, nkeys, d, nd, &nkeys);
	}
	*n = nkeys;
	return keys;
}

/* A segment's bloom filter over its primary keys. */
SsBloom *
SsSegmentBloom(SsSegment *seg)
{
	SsBinlogReader *reader;
	SsColumn	col;
	SsBloom    *bloom;

	if (seg->stats_path == NULL)
		elog(ERROR, "segment " INT64_FORMAT " has no stats binlog", seg->segment_id);
	reader = SsBinlogOpen(seg->stats_path);
	if (SsBinlogKind(reader) != SS_BINLOG_STATS || SsBinlogNumColumns(reader) != 4 ||
		SsBinlogNumRows(reader) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", seg->stats_path),
				 errdetail("The file is not a stats binlog.")));
	SsBinlogReadColumn(reader, 3, &col);
	SsBinlogClose(reader);
	bloom = SsBloomDeserialize(col.data, col.offsets[1]);
	return bloom;
}

/*
 * Which of the sorted keys are live rows of a segment, sorted.  The key
 * range and the bloom filter rule out most segments without reading data.
 */
int64 *
SsSegmentLiveKeys(SsCollection *coll, SsSegment *seg, const int64 *keys, int nkeys,
				  int *nfound)
{
	SsBloom    *bloom = NULL;
	int64	   *candidates = palloc(sizeof(int64) * Max(nkeys, 1));
	int64	   *found;
	int64	   *deleted;
	int			ndeleted;
	int			ncand = 0;
	int			i;
	SsBinlogReader *reader;
	SsColumn	pkcol;

	*nfound = 0;
	for (i = 0; i < nkeys; i++)
	{
		if (keys[i] < seg->pk_min || keys[i] > seg->pk_max)
			continue;
		if (bloom == NULL)
			bloom = SsSegmentBloom(seg);
		if (SsBloomMightContain(bloom, keys[i]))
			candidates[ncand++] = keys[i];
	}
	if (ncand == 0)
		return candidates;

	reader = SsBinlogOpen(seg->insert_path);
	SsBinlogReadColumn(reader, coll->pk, &pkcol);
	SsBinlogClose(reader);
	deleted = SsSegmentDeletedKeys(seg, &ndeleted);
	found = candidates;
	for (i = 0; i < ncand; i++)
	{
		if (SsSortedContains((int64 *) pkcol.values, (int) pkcol.nrows, candidates[i]) &&
			!SsSortedContains(deleted, ndeleted, candidates[i]))
			found[(*nfound)++] = candidates[i];
	}
	return found;
}

/* Write deletes of a segment as a delta binlog; pks sorted, ts matching. */
void
SsSegmentWriteDelta(SsCollection *coll, int64 segment_id, const int64 *pks,
					const TimestampTz *ts, int n)
{
	SsColumn	cols[2];
	TimestampTz ts_min = ts[0];
	TimestampTz ts_max = ts[0];
	int			i;

	for (i = 1; i < n; i++)
	{
		ts_min = Min(ts_min, ts[i]);
		ts_max = Max(ts_max, ts[i]);
	}
	memset(cols, 0, sizeof(cols));
	cols[0].type = SS_COL_INT8;
	cols[0].nrows = n;
	cols[0].values = (char *) pks;
	cols[1].type = SS_COL_INT8;
	cols[1].nrows = n;
	cols[1].values = (char *) ts;
	WriteBinlog(coll, segment_id, "delta", SS_BINLOG_DELTA, cols, 2, n,
				ts_min, ts_max, false);
}
