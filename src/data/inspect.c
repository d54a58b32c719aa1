/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  Rows of segments(), binlogs() and collection_stats().  Sizes are read
 *	  from the files as they are on disk, not from the catalog, so that
 *	  what is reported is what is really used.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "data/growing.h"
#include "data/index.h"
#include "data/inspect.h"
#include "format/files.h"

/* Bytes of the regular files directly in dir (0 if it does not exist). */
int64
SsInspectDirectoryBytes(const char *dir, int *nfiles)
{
	DIR		   *d = AllocateDir(dir);
	struct dirent *de;
	int64		total = 0;

	*nfiles = 0;
	if (d == NULL && errno == ENOENT)
		return 0;
	while ((de = ReadDir(d, dir)) != NULL)
	{
		char	   *path;
		int64		size;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = psprintf("%s/%s", dir, de->d_name);
		size = SsFilesSize(path);
		if (size >= 0)
		{
			total += size;
			(*nfiles)++;
		}
		pfree(path);
	}
	FreeDir(d);
	return total;
}

/*
 * index_state of a segment: its index file's type, or why the file could
 * not be built, or "none".
 */
static const char *
IndexState(SsSegment *seg, const char *index_path, List *failures)
{
	SsIndexFailure *f = SsCatalogFindIndexFailure(failures, seg->segment_id);

	if (index_path == NULL && f != NULL)
		return psprintf("failed: %s", f->error);
	return SsIndexFileState(index_path);
}

/* One row per segment: sealed ones in id order, then the growing one. */
void
SsInspectSegments(SsCollection *coll, Tuplestorestate *store, TupleDesc desc)
{
	List	   *segments = SsCatalogSegments(coll->id, false);
	List	   *binlogs = SsCatalogBinlogs(coll->id, 0, NULL);
	int64		growing = SsGrowingCount(coll);
	List	   *failures = SsCatalogIndexFailures(coll->id);
	ListCell   *lc;
	Datum		values[11];
	bool		nulls[11];

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		int64		deleted = seg->delta_rows + seg->pending_rows;
		int64		size = 0;
		int			ninsert = 0;
		const char *index_path = NULL;
		ListCell   *lb;

		foreach(lb, binlogs)
		{
			SsBinlogRow *row = lfirst(lb);
			int64		fsize;

			if (row->segment_id != seg->segment_id)
				continue;
			fsize = SsFilesSize(row->path);
			size += fsize > 0 ? fsize : 0;
			if (strcmp(row->kind, "insert") == 0)
				ninsert++;
			else if (strcmp(row->kind, "index") == 0)
				index_path = row->path;
		}
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(seg->segment_id);
		values[1] = CStringGetTextDatum(seg->state);
		values[2] = Int64GetDatum(seg->num_rows);
		values[3] = Int64GetDatum(deleted);
		/* a compacted or dropped segment's rows live on in its targets */
		values[4] = Int64GetDatum(strcmp(seg->state, "flushed") == 0 ?
								  seg->num_rows - deleted : 0);
		values[5] = Int32GetDatum(ninsert);
		values[6] = Int32GetDatum(seg->delta_binlogs);
		values[7] = Int64GetDatum(size);
		values[8] = CStringGetTextDatum(IndexState(seg, index_path, failures));
		values[9] = seg->compacted_from;
		nulls[9] = seg->compacted_from == (Datum) 0;
		values[10] = TimestampTzGetDatum(seg->created_at);
		tuplestore_putvalues(store, desc, values, nulls);
	}

	if (growing > 0)
	{
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(coll->growing_segment_id);
		values[1] = CStringGetTextDatum("growing");
		values[2] = Int64GetDatum(growing);
		values[3] = Int64GetDatum(0);
		values[4] = Int64GetDatum(growing);
		values[5] = Int32GetDatum(0);
		values[6] = Int32GetDatum(0);
		values[7] = Int64GetDatum(SsGrowingRelationSize(coll));
		values[8] = CStringGetTextDatum("none");
		nulls[9] = true;
		nulls[10] = true;
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

/* One row per binlog file. */
void
SsInspectBinlogs(SsCollection *coll, Tuplestorestate *store, TupleDesc desc)
{
	List	   *binlogs = SsCatalogBinlogs(coll->id, 0, NULL);
	ListCell   *lc;

	foreach(lc, binlogs)
	{
		SsBinlogRow *row = lfirst(lc);
		Datum		values[9];
		bool		nulls[9];
		int64		size = SsFilesSize(row->path);

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(row->segment_id);
		values[1] = CStringGetTextDatum(row->kind);
		values[2] = CStringGetTextDatum(row->path);
		values[3] = Int64GetDatum(row->rows);
		values[4] = Int64GetDatum(size);
		nulls[4] = size < 0;
		values[5] = Int64GetDatum(row->raw_bytes);
		values[6] = TimestampTzGetDatum(row->ts_min);
		values[7] = TimestampTzGetDatum(row->ts_max);
		nulls[6] = nulls[7] = row->ts_null;
		values[8] = TimestampTzGetDatum(row->created_at);
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

/* The collection_stats() row. */
HeapTuple
SsInspectStats(SsCollection *coll, TupleDesc desc)
{
	List	   *segments = SsCatalogSegments(coll->id, false);
	int64		growing = SsGrowingCount(coll);
	int64		rows = growing;
	int64		deleted = 0;
	int64		pending = 0;
	int			nstate[3] = {0, 0, 0};
	int			nfiles;
	int64		disk;
	ListCell   *lc;
	Datum		values[12];
	bool		nulls[12];

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		if (strcmp(seg->state, "flushed") == 0)
		{
			nstate[0]++;
			rows += seg->num_rows;
			deleted += seg->delta_rows + seg->pending_rows;
			pending += seg->pending_rows;
		}
		else if (strcmp(seg->state, "compacted") == 0)
			nstate[1]++;
		else
			nstate[2]++;
	}
	disk = SsInspectDirectoryBytes(SsFilesCollectionDir(MyDatabaseId, coll->id), &nfiles);

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(rows);
	values[1] = Int64GetDatum(rows - deleted);
	values[2] = Int64GetDatum(deleted);
	values[3] = Int64GetDatum(pending);
	values[4] = Int64GetDatum(growing);
	values[5] = Int32GetDatum(growing > 0 ? 1 : 0);
	values[6] = Int32GetDatum(nstate[0]);
	values[7] = Int32GetDatum(nstate[1]);
	values[8] = Int32GetDatum(nstate[2]);
	values[9] = Int32GetDatum(nfiles);
	values[10] = Int64GetDatum(disk);
	values[11] = Int64GetDatum(SsGrowingRelationSize(coll));
	/* Copied out of SPI memory, which ends with the catalog session. */
	return SPI_copytuple(heap_form_tuple(desc, values, nulls));
}
