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
 * Writers look keys up in segments' bloom filters on every statement; a
 * segment's files never change, so each backend keeps the filters it read
 * (CachedBloom), keyed by the collection's growing table (a collection of
 * an extension dropped and created again has another) and segment id, and
 * checked with a stat() to still be the file read: a file replaced on disk
 * (damaged, or put there by hand) is read again and its checks run again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/transam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "data/segment.h"
#include "format/binlog.h"
#include "format/files.h"

/* Defaults of this module's settings (see SsSegmentInit). */
#define MAX_SEGMENT_SIZE_DEFAULT 512
#define COMPRESSION_LEVEL_DEFAULT 1

int			ss_max_segment_size_mb = MAX_SEGMENT_SIZE_DEFAULT;
int			ss_compression_level = COMPRESSION_LEVEL_DEFAULT;

#define SS_BLOOM_FPR 0.01

/* Register a file written for a segment. */
static void
RegisterBinlog(SsCollection *coll, int64 segment_id, const char *kind, int64 file_id,
			   const char *path, int64 nrows, const SsBinlogInfo *info,
			   TimestampTz ts_min, TimestampTz ts_max, bool ts_null)
{
	SsBinlogRow row;

	row.segment_id = segment_id;
	row.file_id = file_id;
	row.kind = (char *) kind;
	row.path = (char *) path;
	row.rows = nrows;
	row.size_bytes = (int64) info->size_bytes;
	row.raw_bytes = (int64) info->raw_bytes;
	row.ts_min = ts_min;
	row.ts_max = ts_max;
	row.ts_null = ts_null;
	SsCatalogInsertBinlog(&row, coll->id);
}

/* Write one whole file durably; its id and path go to *file_id and *path. */
static void
WriteFile(SsCollection *coll, int64 segment_id, const char *kind, uint16 format_kind,
		  const SsColumn *cols, int ncols, int64 nrows, int64 *file_id, char **path,
		  SsBinlogInfo *info)
{
	uint64		xid = SsFilesWriterXid();

	*file_id = SsCatalogNextId("file_id_seq");
	*path = SsFilesPath(coll->id, segment_id, *file_id, kind);
	SsFilesEnsureDir(coll->id);
	SsBinlogWrite(*path, SsFilesTempPath(*path, xid), format_kind, (uint64) *file_id, xid,
				  cols, ncols, nrows, ss_compression_level, info);
}

/* A segment being written row chunk by row chunk, in primary key order. */
struct SsSegmentWriter
{
	SsCollection *coll;
	int64		segment_id;
	int64		file_id;
	char	   *path;
	SsBinlogWriter *writer;
	int64	   *keys;			/* every key written, for the stats binlog */
	int64		nkeys;
	int64		capacity;
	TimestampTz ts_min;
	TimestampTz ts_max;
	SsBinlogInfo insert_info;	/* set by SsSegmentWriterClose */
	int64		stats_file_id;
	char	   *stats_path;
	SsBinlogInfo stats_info;
};

/* Start writing segment segment_id of a collection. */
SsSegmentWriter *
SsSegmentWriterBegin(SsCollection *coll, int64 segment_id)
{
	SsSegmentWriter *w = palloc0(sizeof(SsSegmentWriter));
	uint64		xid = SsFilesWriterXid();
	SsColType  *types = palloc(sizeof(SsColType) * (coll->nfields + 1));
	int32	   *dims = palloc0(sizeof(int32) * (coll->nfields + 1));
	int			f;

	for (f = 0; f < coll->nfields; f++)
	{
		types[f] = SsFieldColType(&coll->fields[f]);
		if (types[f] == SS_COL_VECTOR)
			dims[f] = coll->fields[f].typmod;
	}
	types[coll->nfields] = SS_COL_INT8;

	w->coll = coll;
	w->segment_id = segment_id;
	w->file_id = SsCatalogNextId("file_id_seq");
	w->path = SsFilesPath(coll->id, segment_id, w->file_id, "insert");
	w->capacity = 1024;
	w->keys = palloc(sizeof(int64) * w->capacity);
	SsFilesEnsureDir(coll->id);
	w->writer = SsBinlogWriterBegin(w->path, SsFilesTempPath(w->path, xid), SS_BINLOG_INSERT,
									(uint64) w->file_id, xid, types, dims, coll->nfields + 1,
									ss_compression_level);
	return w;
}

/*
 * Refuse a key that does not follow the last one written: readers rely on
 * strictly ascending keys, so a caller's mistake must fail its statement
 * rather than leave a file that every later reader reports as corrupt.
 */
static void
CheckNextKey(SsSegmentWriter *w, int64 key)
{
	if (w->nkeys > 0 && key <= w->keys[w->nkeys - 1])
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("segment " INT64_FORMAT " of collection \"%s\" would hold key " INT64_FORMAT " after key " INT64_FORMAT,
						w->segment_id, w->coll->name, key, w->keys[w->nkeys - 1]),
				 errdetail("Keys of a segment must be strictly ascending.")));
}

/* Append rows [first, first + count) of a batch; keys must keep ascending. */
void
SsSegmentWriterAppend(SsSegmentWriter *w, const SsBatch *batch, int64 first, int64 count)
{
	const int64 *keys = (const int64 *) batch->cols[w->coll->pk].values;
	const int64 *ts = (const int64 *) batch->cols[w->coll->nfields].values;
	int64		i;

	if (count <= 0)
		return;
	if (w->nkeys + count > w->capacity)
	{
		while (w->nkeys + count > w->capacity)
			w->capacity *= 2;
		w->keys = repalloc_huge(w->keys, sizeof(int64) * w->capacity);
	}
	for (i = first; i < first + count; i++)
	{
		if (w->nkeys == 0)
			w->ts_min = w->ts_max = ts[i];
		w->ts_min = Min(w->ts_min, ts[i]);
		w->ts_max = Max(w->ts_max, ts[i]);
		CheckNextKey(w, keys[i]);
		w->keys[w->nkeys++] = keys[i];
	}
	SsBinlogWriterAppend(w->writer, batch->cols, first, count);
}

/*
 * Column-wise writing, for a target that keeps a source's row order: the
 * caller gives every key and the time range up front, then feeds each
 * column by row ranges or whole copied blocks.
 */
void
SsSegmentWriterSetKeys(SsSegmentWriter *w, const int64 *keys, int64 n,
					   TimestampTz ts_min, TimestampTz ts_max)
{
	if (n > w->capacity)
	{
		w->capacity = n;
		w->keys = repalloc_huge(w->keys, sizeof(int64) * w->capacity);
	}
	w->nkeys = 0;
	for (int64 i = 0; i < n; i++)
	{
		CheckNextKey(w, keys[i]);
		w->keys[w->nkeys++] = keys[i];
	}
	w->ts_min = ts_min;
	w->ts_max = ts_max;
}

/* Append rows [first, first + count) of one column. */
void
SsSegmentWriterAppendColumn(SsSegmentWriter *w, int col, const SsColumn *column,
							int64 first, int64 count)
{
	SsBinlogWriterAppendColumn(w->writer, col, column, first, count);
}

/* Append a block of a source's column as it is on disk. */
void
SsSegmentWriterCopyBlock(SsSegmentWriter *w, int col, SsBinlogReader *source, int block)
{
	SsBinlogWriterCopyBlock(w->writer, col, source, block);
}

/* Id of the segment being written. */
int64
SsSegmentWriterSegmentId(SsSegmentWriter *w)
{
	return w->segment_id;
}

/* Path of the segment's insert binlog. */
const char *
SsSegmentWriterPath(SsSegmentWriter *w)
{
	return w->path;
}

/* Rows written so far. */
int64
SsSegmentWriterRows(SsSegmentWriter *w)
{
	return w->nkeys;
}

/* Uncompressed bytes written so far. */
int64
SsSegmentWriterRawBytes(SsSegmentWriter *w)
{
	return (int64) SsBinlogWriterRawBytes(w->writer);
}

/* The keys written, ascending (valid after finishing too). */
const int64 *
SsSegmentWriterKeys(SsSegmentWriter *w, int64 *n)
{
	*n = w->nkeys;
	return w->keys;
}

/*
 * Finish a non-empty segment's files: close its insert binlog and write
 * its stats binlog (key range, row count, bloom filter).  Nothing is
 * registered yet, so no catalog lock is held.
 */
void
SsSegmentWriterClose(SsSegmentWriter *w)
{
	SsColumn	stats[4];
	SsBloom    *bloom;
	int64		pk_min = w->keys[0];
	int64		pk_max = w->keys[w->nkeys - 1];
	int64		nrows = w->nkeys;
	char	   *bloom_data;
	Size		bloom_len;
	int			i;

	SsBinlogWriterFinish(w->writer, &w->insert_info);
	bloom = SsBloomBuild(w->keys, w->nkeys, SS_BLOOM_FPR);
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
	WriteFile(w->coll, w->segment_id, "stats", SS_BINLOG_STATS, stats, 4, 1,
			  &w->stats_file_id, &w->stats_path, &w->stats_info);
}

/*
 * Register a closed segment and its two files, with the segments it was
 * compacted from, if any: it becomes visible when the transaction commits.
 */
void
SsSegmentWriterRegister(SsSegmentWriter *w, const int64 *compacted_from, int nfrom)
{
	SsCatalogInsertSegment(w->coll->id, w->segment_id, w->nkeys, w->keys[0],
						   w->keys[w->nkeys - 1], w->ts_min, w->ts_max,
						   compacted_from, nfrom);
	RegisterBinlog(w->coll, w->segment_id, "insert", w->file_id, w->path, w->nkeys,
				   &w->insert_info, w->ts_min, w->ts_max, false);
	RegisterBinlog(w->coll, w->segment_id, "stats", w->stats_file_id, w->stats_path, 1,
				   &w->stats_info, 0, 0, true);
}

/* Close and register a segment in one go. */
void
SsSegmentWriterFinish(SsSegmentWriter *w, const int64 *compacted_from, int nfrom)
{
	SsSegmentWriterClose(w);
	SsSegmentWriterRegister(w, compacted_from, nfrom);
}

/* Abandon a segment being written; its temporary file goes. */
void
SsSegmentWriterAbort(SsSegmentWriter *w)
{
	SsBinlogWriterAbort(w->writer);
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
		SsSegmentWriter *w;

		while (end < batch->nrows)
		{
			int64		row_bytes = SsBatchRowBytes(batch, end);

			if (end > start && bytes + row_bytes > limit)
				break;
			bytes += row_bytes;
			end++;
		}
		w = SsSegmentWriterBegin(coll, (nsegments == 0 && first_segment_id > 0) ?
								 first_segment_id : SsCatalogNextId("segment_id_seq"));
		SsSegmentWriterAppend(w, batch, start, end - start);
		SsSegmentWriterFinish(w, NULL, 0);
		nsegments++;
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	return nsegments;
}

/* "segment N of collection "c"", for messages about its files. */
static char *
SegmentWhat(SsCollection *coll, int64 segment_id)
{
	return psprintf("segment " INT64_FORMAT " of collection \"%s\"", segment_id, coll->name);
}

/*
 * Open a segment's insert binlog, checking that it is one and that it
 * matches the segment as the catalog describes it: one column per field of
 * the field's type (the vector's of the collection's dimension) and the
 * timestamps, and the segment's number of rows.  A mismatch is damage,
 * reported as such before any column is read.
 */
SsBinlogReader *
SsSegmentOpenInsert(SsCollection *coll, const char *path, int64 segment_id, int64 nrows)
{
	SsBinlogReader *reader = SsBinlogOpen(path);
	SsColType  *types = palloc(sizeof(SsColType) * (coll->nfields + 1));
	int32	   *dims = palloc0(sizeof(int32) * (coll->nfields + 1));

	for (int c = 0; c < coll->nfields; c++)
	{
		types[c] = SsFieldColType(&coll->fields[c]);
		if (coll->fields[c].type == SS_TYPE_VECTOR)
			dims[c] = coll->fields[c].typmod;
	}
	types[coll->nfields] = SS_COL_INT8;
	SsBinlogExpect(reader, SS_BINLOG_INSERT, coll->nfields + 1, types, dims, nrows,
				   SegmentWhat(coll, segment_id));
	pfree(types);
	pfree(dims);
	return reader;
}

/*
 * Check the primary keys of rows [first, first + n) of a segment's insert
 * binlog at path, as read from it: strictly ascending (after prev, the key
 * of row first - 1, when first > 0) and within the segment's key range as
 * the catalog records it.  Readers search and merge them as sorted.
 */
void
SsSegmentCheckKeys(const char *path, int64 pk_min, int64 pk_max, const int64 *keys,
				   int64 first, int64 n, int64 prev)
{
	for (int64 i = 0; i < n; i++)
	{
		int64		key = keys[i];

		if ((i > 0 || first > 0) && key <= (i > 0 ? keys[i - 1] : prev))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", path),
					 errdetail("Primary key " INT64_FORMAT " of row " INT64_FORMAT " does not follow " INT64_FORMAT ": keys must be strictly ascending.",
							   key, first + i, i > 0 ? keys[i - 1] : prev)));
		if (key < pk_min || key > pk_max)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", path),
					 errdetail("Primary key " INT64_FORMAT " of row " INT64_FORMAT " is outside the segment's key range " INT64_FORMAT " to " INT64_FORMAT ".",
							   key, first + i, pk_min, pk_max)));
	}
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
	bool	   *wanted = palloc(sizeof(bool) * (coll->nfields + 1));
	int			c;

	if (seg->insert_path == NULL)
		elog(ERROR, "segment " INT64_FORMAT " has no insert binlog", seg->segment_id);
	for (c = 0; c <= coll->nfields; c++)
		wanted[c] = all_fields || c != coll->vec;
	reader = SsSegmentOpenInsert(coll, seg->insert_path, seg->segment_id, seg->num_rows);
	batch = SsSegmentReadRange(coll, seg, reader, wanted, 0, seg->num_rows);
	SsBinlogClose(reader);
	pfree(wanted);
	return batch;
}

/*
 * Rows [first, first + count) of the columns wanted (per field, then the
 * timestamp) of a segment whose insert binlog reader is open, checking
 * each column's type.
 */
SsBatch *
SsSegmentReadRange(SsCollection *coll, SsSegment *seg, SsBinlogReader *reader,
				   const bool *wanted, int64 first, int64 count)
{
	SsBatch    *batch = SsBatchCreate(coll->fields, coll->nfields, count);
	int			c;

	for (c = 0; c < batch->ncols; c++)
	{
		SsColType	expect = c < coll->nfields ? SsFieldColType(&coll->fields[c]) : SS_COL_INT8;

		if (!wanted[c])
			continue;
		SsBinlogReadRange(reader, c, first, count, &batch->cols[c]);
		if (batch->cols[c].type != expect ||
			(c == coll->vec && batch->cols[c].dim != coll->dim) ||
			batch->cols[c].nrows != count)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", seg->insert_path),
					 errdetail("Column %d has the wrong type.", c)));
	}
	/* keys in order and in range within the chunk; across chunks the caller checks */
	if (wanted[coll->pk] && count > 0)
		SsSegmentCheckKeys(seg->insert_path, seg->pk_min, seg->pk_max,
						   (const int64 *) batch->cols[coll->pk].values, first, count,
						   PG_INT64_MIN);
	return batch;
}

/*
 * Keys recorded in one delta binlog with their times, sorted by key: the
 * file must be a delta binlog of two int8 columns whose keys are strictly
 * ascending (a key is deleted from a segment once), as readers merge and
 * search them as sorted.
 */
void
SsSegmentReadDelta(const char *path, int64 **keys, TimestampTz **ts, int *n)
{
	static const SsColType types[2] = {SS_COL_INT8, SS_COL_INT8};
	static const int32 dims[2] = {0, 0};
	SsBinlogReader *reader = SsBinlogOpen(path);
	SsColumn	kcol;
	SsColumn	tcol;
	const int64 *k;

	SsBinlogExpect(reader, SS_BINLOG_DELTA, 2, types, dims, -1, "the deletes of a segment");
	if (SsBinlogNumRows(reader) > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", path),
				 errdetail("The delta binlog claims " INT64_FORMAT " deletes, more than a segment can have.",
						   SsBinlogNumRows(reader))));
	SsBinlogReadColumn(reader, 0, &kcol);
	SsBinlogReadColumn(reader, 1, &tcol);
	SsBinlogClose(reader);
	k = (const int64 *) kcol.values;
	for (int64 i = 1; i < kcol.nrows; i++)
		if (k[i] <= k[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", path),
					 errdetail("Deleted key " INT64_FORMAT " at row " INT64_FORMAT " does not follow " INT64_FORMAT ": keys must be strictly ascending.",
							   k[i], i, k[i - 1])));
	*n = (int) kcol.nrows;
	*keys = (int64 *) kcol.values;
	*ts = (TimestampTz *) tcol.values;
}

/*
 * Deletes of a segment, from its delta binlogs and pending deletes, with
 * their times, sorted by key, each key once.
 *
 * A session that is not read-only reads each statement in a new snapshot,
 * and a compaction plan reads its sources' deletes without the
 * collection's lock, so a flush may commit between the two reads and move
 * pending deletes into a new delta binlog: pending deletes are read first
 * and the delta binlogs then, whatever seg (read earlier still) says of
 * them, so that a moved delete is found in one place or both, never lost.
 */
void
SsSegmentDeletes(SsSegment *seg, int64 **keys, TimestampTz **ts, int *n)
{
	int64	   *k;
	TimestampTz *t;
	int			nk;
	List	   *deltas = NIL;
	ListCell   *lc;

	SsCatalogPendingForSegment(seg->segment_id, &k, &t, &nk);
	if (seg->delta_binlogs > 0 || !SsCatalogReadOnly())
		deltas = SsCatalogBinlogs(0, seg->segment_id, "delta");
	foreach(lc, deltas)
	{
		SsBinlogRow *row = lfirst(lc);
		int64	   *dk;
		TimestampTz *dt;
		int			nd;
		int64	   *mk;
		TimestampTz *mt;
		int			i = 0;
		int			j = 0;
		int			m = 0;

		SsSegmentReadDelta(row->path, &dk, &dt, &nd);
		mk = palloc(sizeof(int64) * Max(nk + nd, 1));
		mt = palloc(sizeof(TimestampTz) * Max(nk + nd, 1));
		while (i < nk || j < nd)
		{
			if (j >= nd || (i < nk && k[i] < dk[j]))
			{
				mk[m] = k[i];
				mt[m++] = t[i++];
			}
			else
			{
				/* a delete moved by a flush between the two reads counts once */
				if (i < nk && k[i] == dk[j])
					i++;
				mk[m] = dk[j];
				mt[m++] = dt[j++];
			}
		}
		k = mk;
		t = mt;
		nk = m;
	}
	*keys = k;
	*ts = t;
	*n = nk;
}

/* Sorted keys deleted from a segment: its delta binlogs and pending deletes. */
int64 *
SsSegmentDeletedKeys(SsSegment *seg, int *n)
{
	int64	   *keys;
	TimestampTz *ts;

	SsSegmentDeletes(seg, &keys, &ts, n);
	return keys;
}

/*
 * Open a segment's stats binlog, checking its shape: one row of key min,
 * key max, row count (int8) and the serialized bloom filter.
 */
SsBinlogReader *
SsSegmentOpenStats(const char *path, int64 segment_id)
{
	static const SsColType types[4] = {SS_COL_INT8, SS_COL_INT8, SS_COL_INT8, SS_COL_VAR};
	static const int32 dims[4] = {0, 0, 0, 0};
	SsBinlogReader *reader = SsBinlogOpen(path);

	SsBinlogExpect(reader, SS_BINLOG_STATS, 4, types, dims, 1,
				   psprintf("segment " INT64_FORMAT, segment_id));
	return reader;
}

/*
 * A segment's bloom filter over its primary keys, from a stats binlog that
 * must describe the segment as the catalog does: a filter of another
 * segment would pass its checksum and rule out keys the segment has.
 */
SsBloom *
SsSegmentBloom(SsSegment *seg)
{
	SsBinlogReader *reader;
	SsColumn	col;
	int64		stats[3];
	SsBloom    *bloom;

	if (seg->stats_path == NULL)
		elog(ERROR, "segment " INT64_FORMAT " has no stats binlog", seg->segment_id);
	reader = SsSegmentOpenStats(seg->stats_path, seg->segment_id);
	for (int c = 0; c < 3; c++)
	{
		SsBinlogReadColumn(reader, c, &col);
		stats[c] = *(const int64 *) col.values;
	}
	if (stats[0] != seg->pk_min || stats[1] != seg->pk_max || stats[2] != seg->num_rows)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", seg->stats_path),
				 errdetail("The file describes keys " INT64_FORMAT " to " INT64_FORMAT " in " INT64_FORMAT " rows, but segment " INT64_FORMAT " has keys " INT64_FORMAT " to " INT64_FORMAT " in " INT64_FORMAT " rows.",
						   stats[0], stats[1], stats[2], seg->segment_id,
						   seg->pk_min, seg->pk_max, seg->num_rows)));
	SsBinlogReadColumn(reader, 3, &col);
	SsBinlogClose(reader);
	bloom = SsBloomDeserialize(col.data, col.offsets[1], seg->stats_path);
	return bloom;
}

/* Bytes of filters a backend keeps before it starts again from none. */
#define BLOOM_CACHE_BYTES (32 * 1024 * 1024)

typedef struct BloomKey
{
	Oid			relid;			/* the collection's growing table */
	int64		segment_id;
} BloomKey;

typedef struct BloomEntry
{
	BloomKey	key;
	SsBloom    *bloom;
	ino_t		ino;			/* the stats file as it was read */
	off_t		size;
	struct timespec mtime;
} BloomEntry;

static MemoryContext bloom_cxt = NULL;
static HTAB *bloom_cache = NULL;
static Size bloom_bytes = 0;

/* A segment's bloom filter, read once per backend (see the file header). */
static const SsBloom *
CachedBloom(SsCollection *coll, SsSegment *seg)
{
	BloomKey	key;
	BloomEntry *entry;
	bool		found;
	SsBloom    *bloom;
	struct stat st;
	MemoryContext old;

	if (bloom_cache == NULL || bloom_bytes > BLOOM_CACHE_BYTES)
	{
		HASHCTL		ctl;

		if (bloom_cxt == NULL)
			bloom_cxt = AllocSetContextCreate(TopMemoryContext, "segstore bloom filters",
											  ALLOCSET_DEFAULT_SIZES);
		else
			MemoryContextReset(bloom_cxt);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(BloomKey);
		ctl.entrysize = sizeof(BloomEntry);
		ctl.hcxt = bloom_cxt;
		bloom_cache = hash_create("segstore bloom filters", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		bloom_bytes = 0;
	}
	memset(&key, 0, sizeof(key));
	key.relid = coll->relid;
	key.segment_id = seg->segment_id;
	entry = hash_search(bloom_cache, &key, HASH_FIND, NULL);
	if (seg->stats_path == NULL || stat(seg->stats_path, &st) != 0)
		memset(&st, 0, sizeof(st));
	if (entry != NULL && entry->ino == st.st_ino && entry->size == st.st_size &&
		entry->mtime.tv_sec == st.st_mtim.tv_sec && entry->mtime.tv_nsec == st.st_mtim.tv_nsec)
		return entry->bloom;

	bloom = SsSegmentBloom(seg);
	old = MemoryContextSwitchTo(bloom_cxt);
	entry = hash_search(bloom_cache, &key, HASH_ENTER, &found);
	entry->ino = st.st_ino;
	entry->size = st.st_size;
	entry->mtime = st.st_mtim;
	entry->bloom = palloc(sizeof(SsBloom));
	entry->bloom->nbits = bloom->nbits;
	entry->bloom->nhashes = bloom->nhashes;
	entry->bloom->bits = palloc((bloom->nbits + 7) / 8);
	memcpy(entry->bloom->bits, bloom->bits, (bloom->nbits + 7) / 8);
	MemoryContextSwitchTo(old);
	bloom_bytes += (bloom->nbits + 7) / 8;
	return entry->bloom;
}

/*
 * Which of the sorted keys are live rows of a segment, sorted.  The key
 * range and the bloom filter rule out most segments without reading data.
 */
int64 *
SsSegmentLiveKeys(SsCollection *coll, SsSegment *seg, const int64 *keys, int nkeys,
				  int *nfound)
{
	const SsBloom *bloom = NULL;
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
			bloom = CachedBloom(coll, seg);
		if (SsBloomMightContain(bloom, keys[i]))
			candidates[ncand++] = keys[i];
	}
	if (ncand == 0)
		return candidates;

	reader = SsSegmentOpenInsert(coll, seg->insert_path, seg->segment_id, seg->num_rows);
	SsBinlogReadColumn(reader, coll->pk, &pkcol);
	SsBinlogClose(reader);
	SsSegmentCheckKeys(seg->insert_path, seg->pk_min, seg->pk_max,
					   (const int64 *) pkcol.values, 0, pkcol.nrows, 0);
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

/* Write deletes of a segment as a delta binlog and register it; pks sorted. */
void
SsSegmentWriteDelta(SsCollection *coll, int64 segment_id, const int64 *pks,
					const TimestampTz *ts, int n)
{
	SsColumn	cols[2];
	TimestampTz ts_min = ts[0];
	TimestampTz ts_max = ts[0];
	SsBinlogInfo info;
	int64		file_id;
	char	   *path;
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
	WriteFile(coll, segment_id, "delta", SS_BINLOG_DELTA, cols, 2, n, &file_id, &path, &info);
	RegisterBinlog(coll, segment_id, "delta", file_id, path, n, &info, ts_min, ts_max, false);
}

/* Define this module's settings; called from _PG_init. */
void
SsSegmentInit(void)
{
	DefineCustomIntVariable("segstore.max_segment_size",
							"Largest size of a sealed segment's data.",
							NULL, &ss_max_segment_size_mb, MAX_SEGMENT_SIZE_DEFAULT, 1, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	/* Superuser-only: it decides what every reader of the files decompresses. */
	DefineCustomIntVariable("segstore.compression_level",
							"zstd compression level of new binlog files.",
							NULL, &ss_compression_level, COMPRESSION_LEVEL_DEFAULT, -7, 19,
							PGC_SUSET, 0, NULL, NULL, NULL);
}
