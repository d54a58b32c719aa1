/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  segstore.verify(collection), as amcheck does for indexes: read every
 *	  file of every flushed segment, check every checksum, and check that
 *	  the files and the catalog agree, reporting one row per problem.
 *
 * What is checked, per flushed segment:
 *	 - the catalog names one insert and one stats binlog;
 *	 - every file the catalog names exists and has the size it records;
 *	 - the insert binlog: header, footer and every block's checksum, its
 *	   kind, column types and dimension, its row count against the catalog,
 *	   primary keys strictly ascending, their first and last equal to the
 *	   segment's recorded key range;
 *	 - the stats binlog: its shape, that it describes the segment's range
 *	   and rows, its bloom filter readable and holding every key;
 *	 - each delta binlog: its shape, its row count against the catalog,
 *	   keys ascending, every key a key of the segment and deleted once;
 *	   pending deletes (catalog rows) likewise;
 *	 - each index file: all of it (SsIvfMap), and that it is built for the
 *	   collection's index definition over exactly the segment's rows: keys,
 *	   timestamps and (except COSINE, which stores unit vectors) vectors
 *	   equal to the insert binlog's.
 *
 * Each file is read in a subtransaction of its own, so that a reader's
 * error about damage (XX001, XX002, file access, a size that cannot be
 * read into memory) becomes a row and the next file is still read; any
 * other error (a cancel, out of memory) ends verify() as it would any
 * statement.  The catalog is read before any file, outside those
 * subtransactions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "data/index.h"
#include "data/segment.h"
#include "data/subxact.h"
#include "data/verify.h"
#include "format/files.h"
#include "format/ivffile.h"

/* What verify() knows while it checks one segment. */
typedef struct Verify
{
	SsCollection *coll;
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		has_index;
	SsIndexDef	def;
	SsSegment  *seg;
	/* The insert binlog's columns, once read without error. */
	bool		have_rows;
	int64		nkeys;
	int64	   *keys;
	int64	   *ts;
	float	   *vectors;
	/* Sorted keys of the segment's delta binlogs read so far. */
	int64	   *deleted;
	int64		ndeleted;
	/* The segment's problems, added to the result once it is checked. */
	List	   *problems;
} Verify;

/* One problem found. */
typedef struct Problem
{
	const char *kind;
	const char *path;
	const char *problem;
	const char *detail;
} Problem;

/* A check of one file, run by RunChecked. */
typedef void (*FileCheck) (Verify *v, SsBinlogRow *row);

/*
 * Note one problem.  Rows go into the result only outside the files'
 * subtransactions (FlushProblems): a tuplestore that spills to a temporary
 * file must not have it opened under a subtransaction that aborts.
 */
static void
Report(Verify *v, const char *kind, const char *path, const char *problem,
	   const char *detail)
{
	Problem    *p = palloc(sizeof(Problem));

	p->kind = kind;
	p->path = path;
	p->problem = problem;
	p->detail = detail;
	v->problems = lappend(v->problems, p);
}

/* Add the segment's problems to the result. */
static void
FlushProblems(Verify *v)
{
	ListCell   *lc;

	foreach(lc, v->problems)
	{
		Problem    *p = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int64GetDatum(v->seg->segment_id);
		values[1] = CStringGetTextDatum(p->kind);
		values[2] = p->path ? CStringGetTextDatum(p->path) : (Datum) 0;
		nulls[2] = p->path == NULL;
		values[3] = CStringGetTextDatum(p->problem);
		values[4] = CStringGetTextDatum(p->detail);
		tuplestore_putvalues(v->store, v->desc, values, nulls);
	}
	v->problems = NIL;
}

/* Problem name for a reader's error, or NULL if it is not about the file. */
static const char *
ErrorProblem(int sqlerrcode)
{
	if (sqlerrcode == ERRCODE_DATA_CORRUPTED || sqlerrcode == ERRCODE_INDEX_CORRUPTED)
		return "corrupt";
	if (sqlerrcode == ERRCODE_UNDEFINED_FILE)
		return "missing";
	if (ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_SYSTEM_ERROR ||
		sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		return "unreadable";
	return NULL;
}

/* One file check, as SsSubxactRun runs it. */
typedef struct CheckStep
{
	Verify	   *v;
	SsBinlogRow *row;
	FileCheck	check;
} CheckStep;

/* Run a CheckStep. */
static void
RunCheckStep(void *arg)
{
	CheckStep  *step = arg;

	step->check(step->v, step->row);
}

/*
 * Run check on one file in a subtransaction; an error about the file
 * becomes a problem row, any other error is re-thrown.
 */
static void
RunChecked(Verify *v, SsBinlogRow *row, FileCheck check)
{
	CheckStep	step = {v, row, check};
	ErrorData  *edata = SsSubxactRun(RunCheckStep, &step);
	const char *problem;

	if (edata == NULL)
		return;
	problem = ErrorProblem(edata->sqlerrcode);
	if (problem == NULL)
		ReThrowError(edata);
	Report(v, row->kind, row->path, problem,
		   edata->detail ? psprintf("%s: %s", edata->message, edata->detail) :
		   pstrdup(edata->message));
	FreeErrorData(edata);
}

/* The first key out of order and the range of the keys, as problems. */
static void
CheckKeyOrder(Verify *v, SsBinlogRow *row, const int64 *keys, int64 n)
{
	SsSegment  *seg = v->seg;

	for (int64 i = 1; i < n; i++)
		if (keys[i] <= keys[i - 1])
		{
			Report(v, row->kind, row->path, "key_order",
				   psprintf("Primary key " INT64_FORMAT " of row " INT64_FORMAT " does not follow " INT64_FORMAT ".",
							keys[i], i, keys[i - 1]));
			break;
		}
	if (n > 0 && (keys[0] != seg->pk_min || keys[n - 1] != seg->pk_max))
		Report(v, row->kind, row->path, "key_range",
			   psprintf("The file holds keys " INT64_FORMAT " to " INT64_FORMAT ", the catalog records " INT64_FORMAT " to " INT64_FORMAT ".",
						keys[0], keys[n - 1], seg->pk_min, seg->pk_max));
}

/* Read every column of the insert binlog, keeping what later checks need. */
static void
CheckInsert(Verify *v, SsBinlogRow *row)
{
	SsCollection *coll = v->coll;
	SsBinlogReader *reader;
	int64		nrows;

	reader = SsSegmentOpenInsert(coll, row->path, v->seg->segment_id, -1);
	nrows = SsBinlogNumRows(reader);
	if (nrows != v->seg->num_rows || nrows != row->rows)
		Report(v, row->kind, row->path, "rows",
			   psprintf("The file has " INT64_FORMAT " rows, the catalog records " INT64_FORMAT " for the segment and " INT64_FORMAT " for the file.",
						nrows, v->seg->num_rows, row->rows));
	for (int c = 0; c <= coll->nfields; c++)
	{
		SsColumn	col;

		CHECK_FOR_INTERRUPTS();
		SsBinlogReadColumn(reader, c, &col);
		if (c == coll->pk)
			v->keys = (int64 *) col.values;
		else if (c == coll->nfields)
			v->ts = (int64 *) col.values;
		else if (c == coll->vec && v->has_index)
			v->vectors = (float *) col.values;
		else
		{
			if (col.values)
				pfree(col.values);
			if (col.offsets)
				pfree(col.offsets);
			if (col.data)
				pfree(col.data);
		}
	}
	SsBinlogClose(reader);
	v->nkeys = nrows;
	v->have_rows = true;
	CheckKeyOrder(v, row, v->keys, nrows);
}

/* Read the stats binlog and probe its bloom filter with every key. */
static void
CheckStats(Verify *v, SsBinlogRow *row)
{
	SsSegment	seg = *v->seg;
	SsBloom    *bloom;

	seg.stats_path = row->path;
	bloom = SsSegmentBloom(&seg);
	if (!v->have_rows)
		return;
	for (int64 i = 0; i < v->nkeys; i++)
		if (!SsBloomMightContain(bloom, v->keys[i]))
		{
			Report(v, row->kind, row->path, "bloom",
				   psprintf("The bloom filter rules out key " INT64_FORMAT ", which the segment holds.",
							v->keys[i]));
			break;
		}
}

/*
 * Check deleted keys against the segment's: each must be one of its keys
 * and deleted once over all its deletes.  what names the deletes' source.
 */
static void
CheckDeletedKeys(Verify *v, const char *kind, const char *path, const int64 *keys, int64 n)
{
	int64	   *merged = palloc(sizeof(int64) * Max(v->ndeleted + n, 1));
	int64		i = 0;
	int64		j = 0;
	int64		m = 0;
	int64		outside = 0;
	int64		twice = 0;
	int64		first_outside = 0;
	int64		first_twice = 0;

	for (int64 k = 0; k < n; k++)
	{
		bool		inside;

		if (v->have_rows)
			inside = SsSortedFind(v->keys, v->nkeys, keys[k]) >= 0;
		else
			inside = keys[k] >= v->seg->pk_min && keys[k] <= v->seg->pk_max;
		if (!inside && outside++ == 0)
			first_outside = keys[k];
	}
	while (i < v->ndeleted || j < n)
	{
		if (j >= n || (i < v->ndeleted && v->deleted[i] < keys[j]))
			merged[m++] = v->deleted[i++];
		else if (i >= v->ndeleted || keys[j] < v->deleted[i])
			merged[m++] = keys[j++];
		else
		{
			if (twice++ == 0)
				first_twice = keys[j];
			merged[m++] = keys[j++];
			i++;
		}
	}
	v->deleted = merged;
	v->ndeleted = m;
	if (outside > 0)
		Report(v, kind, path, "delta_key",
			   psprintf(INT64_FORMAT " deleted keys are not keys of the segment, the first " INT64_FORMAT ".",
						outside, first_outside));
	if (twice > 0)
		Report(v, kind, path, "delta_key",
			   psprintf(INT64_FORMAT " keys are deleted more than once, the first " INT64_FORMAT ".",
						twice, first_twice));
}

/* Read a delta binlog and check its keys against the segment's. */
static void
CheckDelta(Verify *v, SsBinlogRow *row)
{
	int64	   *keys;
	TimestampTz *ts;
	int			n;

	SsSegmentReadDelta(row->path, &keys, &ts, &n);
	if (n != row->rows)
		Report(v, row->kind, row->path, "rows",
			   psprintf("The file has %d deleted keys, the catalog records " INT64_FORMAT ".",
						n, row->rows));
	CheckDeletedKeys(v, row->kind, row->path, keys, n);
}

/* Compare a mapped index file with its definition and the insert binlog. */
static void
CompareIndex(Verify *v, SsBinlogRow *row, const SsIvfData *d)
{
	SsSegment  *seg = v->seg;
	int			dim = v->coll->dim;

	/* A segment below segstore.min_index_rows gets FLAT; nlist is capped by rows. */
	if (!v->has_index || d->index_id != v->def.index_id || d->metric != v->def.metric ||
		d->dim != dim || d->nlist > v->def.nlist ||
		(d->type == SS_INDEX_IVF_FLAT && v->def.type != SS_INDEX_IVF_FLAT))
	{
		Report(v, row->kind, row->path, "index_mismatch",
			   psprintf("The file is a %s index (%s, nlist %d, dim %d) of definition " INT64_FORMAT ", not of the collection's index.",
						SsIndexTypeName(d->type), SsMetricName(d->metric), d->nlist,
						d->dim, d->index_id));
		return;
	}
	if (d->nrows != seg->num_rows || d->nrows != row->rows)
	{
		Report(v, row->kind, row->path, "rows",
			   psprintf("The file has " INT64_FORMAT " rows, the catalog records " INT64_FORMAT " for the segment and " INT64_FORMAT " for the file.",
						d->nrows, seg->num_rows, row->rows));
		return;
	}
	if (!v->have_rows || v->nkeys != d->nrows)
		return;
	for (int64 r = 0; r < d->nrows; r++)
		if (d->keys[r] != v->keys[r] || d->timestamps[r] != v->ts[r])
		{
			Report(v, row->kind, row->path, "index_mismatch",
				   psprintf("Row " INT64_FORMAT " has key " INT64_FORMAT " in the index file and " INT64_FORMAT " in the insert binlog, or another timestamp.",
							r, d->keys[r], v->keys[r]));
			return;
		}
	if (d->metric == SS_METRIC_COSINE)
		return;
	for (int64 e = 0; e < d->nrows; e++)
		if (memcmp(d->vectors + e * dim, v->vectors + (int64) d->rows[e] * dim,
				   sizeof(float) * dim) != 0)
		{
			Report(v, row->kind, row->path, "index_mismatch",
				   psprintf("The vector of row %d differs from the insert binlog's.",
							d->rows[e]));
			return;
		}
}

/* Map and check an index file, then compare it. */
static void
CheckIndex(Verify *v, SsBinlogRow *row)
{
	SsIvfFile  *file = SsIvfMap(row->path, CurrentMemoryContext);

	PG_TRY();
	{
		CompareIndex(v, row, &file->data);
	}
	PG_FINALLY();
	{
		SsIvfUnmap(file, false);
	}
	PG_END_TRY();
}

/* Check one flushed segment and its files. */
static void
VerifySegment(Verify *v, SsSegment *seg, List *binlogs)
{
	SsBinlogRow *insert = NULL;
	SsBinlogRow *stats = NULL;
	int			ninsert = 0;
	int			nstats = 0;
	int64	   *pending;
	TimestampTz *pending_ts;
	int			npending;
	ListCell   *lc;

	v->seg = seg;
	v->have_rows = false;
	v->keys = v->ts = NULL;
	v->vectors = NULL;
	v->nkeys = v->ndeleted = 0;
	v->deleted = NULL;
	v->problems = NIL;

	foreach(lc, binlogs)
	{
		SsBinlogRow *row = lfirst(lc);
		int64		size;

		if (row->segment_id != seg->segment_id)
			continue;
		if (strcmp(row->kind, "insert") == 0 && ninsert++ == 0)
			insert = row;
		else if (strcmp(row->kind, "stats") == 0 && nstats++ == 0)
			stats = row;
		size = SsFilesSize(row->path);
		if (size >= 0 && size != row->size_bytes)
			Report(v, row->kind, row->path, "size",
				   psprintf("The file is " INT64_FORMAT " bytes long, the catalog records " INT64_FORMAT ".",
							size, row->size_bytes));
	}
	if (ninsert != 1)
		Report(v, "insert", NULL, "catalog",
			   psprintf("The catalog records %d insert binlogs for the segment, not one.", ninsert));
	if (nstats != 1)
		Report(v, "stats", NULL, "catalog",
			   psprintf("The catalog records %d stats binlogs for the segment, not one.", nstats));

	/* The insert binlog first: the other checks compare with its keys. */
	if (insert)
		RunChecked(v, insert, CheckInsert);
	if (stats)
		RunChecked(v, stats, CheckStats);
	foreach(lc, binlogs)
	{
		SsBinlogRow *row = lfirst(lc);

		if (row->segment_id != seg->segment_id)
			continue;
		if (strcmp(row->kind, "delta") == 0)
			RunChecked(v, row, CheckDelta);
		else if (strcmp(row->kind, "index") == 0)
			RunChecked(v, row, CheckIndex);
	}
	SsCatalogPendingForSegment(seg->segment_id, &pending, &pending_ts, &npending);
	CheckDeletedKeys(v, "pending", NULL, pending, npending);
	FlushProblems(v);
}

/* verify(collection) */
void
SsVerifyCollection(SsCollection *coll, Tuplestorestate *store, TupleDesc desc)
{
	List	   *segments = SsCatalogSegments(coll->id, true);
	List	   *binlogs = SsCatalogBinlogs(coll->id, 0, NULL);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore verify",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Verify		v;
	ListCell   *lc;

	memset(&v, 0, sizeof(v));
	v.coll = coll;
	v.store = store;
	v.desc = desc;
	v.has_index = SsIndexGetDef(coll, &v.def);
	foreach(lc, segments)
	{
		CHECK_FOR_INTERRUPTS();
		VerifySegment(&v, lfirst(lc), binlogs);
		MemoryContextReset(cxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
