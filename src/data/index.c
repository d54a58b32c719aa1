/*-------------------------------------------------------------------------
 *
 * index.c
 *	  Vector indexes.  A collection has at most one index, on its vector
 *	  field; with one, every sealed segment gets an index file
 *	  (ivffile.c): IVF_FLAT when the index is IVF_FLAT and the segment has
 *	  at least segstore.min_index_rows rows, FLAT (one list: the segment's
 *	  uncompressed vector cache) otherwise.
 *
 * A file is built from the segment's insert binlog a chunk of rows at a
 * time, so that memory stays bounded whatever the segment's size: the
 * centroids are trained on a sample (or, for a segment smaller than a
 * full sample, taken from the collection's largest indexed segment, so
 * that sealing a few thousand growing rows runs no k-means), every row is
 * assigned to its nearest
 * centroid, and the rows are then handed to the file's writer, which
 * buffers each list within a budget and writes it out with pwrite
 * (ivffile.c).  No k-means runs under the collection's state lock, which
 * would block writers for the length of a training: a writer that made a
 * segment builds its file only if it can borrow centroids (or the file is
 * FLAT); the maintenance worker, build_index() and create_index() build
 * the others without the lock and register them under it, after checking
 * that their segment is still flushed and the index still the one they
 * were built for.  A segment whose build fails is recorded
 * (catalog_index.c), not raised, so that it holds up no other write or
 * build; create_index() alone fails, as CREATE INDEX does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "storage/lockdefs.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "data/collection.h"
#include "data/index.h"
#include "data/segment.h"
#include "data/subxact.h"
#include "format/binlog.h"
#include "format/files.h"
#include "vector/kmeans.h"

/* Defaults of this module's settings (see SsIndexInit). */
#define MIN_INDEX_ROWS_DEFAULT 1024

int			ss_min_index_rows = MIN_INDEX_ROWS_DEFAULT;

/*
 * Vectors decoded at a time while building, and held as the k-means
 * sample: at most 64 MiB each, less within a memory budget.
 */
#define SS_BUILD_CHUNK_BYTES ((int64) 64 * 1024 * 1024)
#define SS_BUILD_MIN_CHUNK_BYTES ((int64) 1024 * 1024)

/* k-means: training rows per list, and Lloyd iterations. */
#define SS_KMEANS_SAMPLE_PER_LIST 128
#define SS_KMEANS_ITERATIONS 10

/* The collection's index definition, if it has one. */
bool
SsIndexGetDef(SsCollection *coll, SsIndexDef *def)
{
	return SsCatalogGetIndex(coll->id, def);
}

/* State of one file build. */
typedef struct Build
{
	SsCollection *coll;
	const char *insert_path;
	SsBinlogReader *reader;
	SsMetric	metric;
	int			dim;
	int64		nrows;
	int64		chunk_bytes;
	int64		chunk_rows;
	int64		chunk_first;	/* rows held in chunk, or -1 */
	int64		chunk_count;
	float	   *chunk;
	MemoryContext chunk_cxt;
	MemoryContext cxt;			/* everything of the build */
	int64		peak_memory;
} Build;

/*
 * Vectors of rows [first, first + count), unit length for COSINE.  The
 * last chunk read is kept, so that a segment that fits in one chunk is
 * decoded only once.
 */
static float *
VectorChunk(Build *b, int64 first, int64 count)
{
	SsColumn	col;
	MemoryContext old;
	int64		i;

	if (b->chunk_first == first && b->chunk_count == count)
		return b->chunk;
	MemoryContextReset(b->chunk_cxt);
	old = MemoryContextSwitchTo(b->chunk_cxt);
	SsBinlogReadRange(b->reader, b->coll->vec, first, count, &col);
	MemoryContextSwitchTo(old);
	if (col.type != SS_COL_VECTOR || col.dim != b->dim || col.nrows != count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", b->insert_path),
				 errdetail("The vector column has the wrong shape.")));
	b->chunk = (float *) col.values;
	if (b->metric == SS_METRIC_COSINE)
		for (i = 0; i < count; i++)
			(void) SsNormalize(b->chunk + i * b->dim, b->dim);
	b->chunk_first = first;
	b->chunk_count = count;
	return b->chunk;
}

/* Sample the build's memory: its peak is reported with the file. */
static void
TrackBuildMemory(Build *b)
{
	b->peak_memory = Max(b->peak_memory, (int64) MemoryContextMemAllocated(b->cxt, true));
}

/* Rows [first, first + count) of int8 column col into dst. */
static void
CopyKeyColumn(Build *b, int col, int64 first, int64 count, int64 *dst)
{
	MemoryContext old = MemoryContextSwitchTo(b->chunk_cxt);
	SsColumn	c;

	SsBinlogReadRange(b->reader, col, first, count, &c);
	MemoryContextSwitchTo(old);
	if (c.type != SS_COL_INT8 || c.nrows != count)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", b->insert_path),
				 errdetail("Column %d has the wrong type.", col)));
	memcpy(dst, c.values, sizeof(int64) * count);
	TrackBuildMemory(b);
	pfree(c.values);
}

/* Train nlist centroids on an evenly spaced sample of the segment's rows. */
static void
TrainCentroids(Build *b, int nlist, uint64 seed, float *centroids)
{
	int64		max_sample = Min((int64) nlist * SS_KMEANS_SAMPLE_PER_LIST,
								 Max(b->chunk_bytes / ((int64) b->dim * 4), nlist));
	int64		m = Min(b->nrows, max_sample);
	float	   *sample = palloc_extended(sizeof(float) * m * b->dim, MCXT_ALLOC_HUGE);
	int64		s = 0;
	int64		first;

	for (first = 0; first < b->nrows && s < m; first += b->chunk_rows)
	{
		int64		count = Min(b->chunk_rows, b->nrows - first);
		float	   *v = NULL;

		/* sample row s is row s * nrows / m */
		while (s < m && s * b->nrows / m < first + count)
		{
			if (v == NULL)
				v = VectorChunk(b, first, count);
			memcpy(sample + s * b->dim, v + (s * b->nrows / m - first) * b->dim,
				   sizeof(float) * b->dim);
			s++;
		}
		CHECK_FOR_INTERRUPTS();
	}
	SsKMeansTrain(sample, m, b->dim, nlist, b->metric, SS_KMEANS_ITERATIONS, m, seed,
				  centroids);
	TrackBuildMemory(b);
	pfree(sample);
}

/*
 * The index file of the collection's largest segment, if it has more rows
 * than nrows: a segment too small to sample well (one sealed from a few
 * thousand growing rows) takes its centroids instead of training its own,
 * which keeps k-means out of the writers that seal such segments and gives
 * the small segment the centroids of the data it joins.
 */
static char *
CentroidDonor(SsCollection *coll, int64 nrows)
{
	List	   *files = SsCatalogBinlogs(coll->id, 0, "index");
	SsBinlogRow *best = NULL;
	ListCell   *lc;

	foreach(lc, files)
	{
		SsBinlogRow *row = lfirst(lc);

		if (row->rows > nrows && (best == NULL || row->rows > best->rows))
			best = row;
	}
	return best ? pstrdup(best->path) : NULL;
}

/*
 * Write the index file of one segment; nothing is registered.  Without
 * may_train, a file that would need k-means (no centroids to borrow) is
 * not built and NULL returned: the caller holds a lock writers need.  Memory:
 * 4 bytes per row (each row's list), a chunk of vectors, 64 MiB or a
 * quarter of memory_budget if that is smaller (0: no budget), its keys and
 * timestamps, and the writer's list buffers, a quarter of a chunk (plus a
 * row per list); the file's contents are written out, not held.
 */
static SsIndexBuilt *
BuildFile(SsCollection *coll, const SsIndexDef *def, int64 segment_id,
		  const char *insert_path, int64 nrows, int64 memory_budget, bool may_train)
{
	bool		ivf = def->type == SS_INDEX_IVF_FLAT && nrows >= ss_min_index_rows;
	/* SPI calls first: they end in SPI's own memory context */
	char	   *donor = ivf && nrows < (int64) def->nlist * SS_KMEANS_SAMPLE_PER_LIST ?
		CentroidDonor(coll, nrows) : NULL;
	int64		file_id;
	MemoryContext cxt;
	MemoryContext old;
	SsIndexBuilt *built;
	SsIvfWriter *w;
	SsIvfData	shape;
	SsIvfData	data;
	Build		b;
	int32	   *assign;
	int64	   *keys;
	int64	   *timestamps;
	int64		last_key = 0;
	uint64		xid;
	int64		first;
	int64		i;
	float	   *borrowed = NULL;

	memset(&shape, 0, sizeof(shape));
	shape.type = ivf ? SS_INDEX_IVF_FLAT : SS_INDEX_FLAT;
	shape.metric = def->metric;
	shape.dim = coll->dim;
	shape.nlist = ivf ? (int) Min(def->nlist, nrows) : 1;
	shape.nrows = nrows;
	shape.index_id = def->index_id;
	if (donor != NULL && shape.nlist == def->nlist)
	{
		borrowed = palloc(sizeof(float) * shape.nlist * shape.dim);
		if (!SsIvfReadCentroids(donor, &shape, borrowed))
			borrowed = NULL;
	}
	if (ivf && borrowed == NULL && !may_train)
		return NULL;

	file_id = SsCatalogNextId("file_id_seq");
	xid = SsFilesWriterXid();
	/* in a failed subtransaction, its deletion removes the temporary file */
	cxt = AllocSetContextCreate(CurTransactionContext, "segstore index build",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	memset(&b, 0, sizeof(b));
	b.coll = coll;
	b.insert_path = insert_path;
	b.metric = def->metric;
	b.dim = coll->dim;
	b.nrows = nrows;
	b.chunk_bytes = SS_BUILD_CHUNK_BYTES;
	if (memory_budget > 0)
		b.chunk_bytes = Max(Min(b.chunk_bytes, memory_budget / 4), SS_BUILD_MIN_CHUNK_BYTES);
	b.chunk_rows = Max(b.chunk_bytes / ((int64) b.dim * 4), 1);
	b.chunk_first = -1;
	b.cxt = cxt;
	b.chunk_cxt = AllocSetContextCreate(cxt, "segstore index chunk", ALLOCSET_DEFAULT_SIZES);
	b.reader = SsSegmentOpenInsert(coll, insert_path, segment_id, nrows);

	built = palloc0(sizeof(SsIndexBuilt));
	built->index_id = def->index_id;
	built->segment_id = segment_id;
	built->rows = nrows;
	built->file_id = file_id;
	built->path = SsFilesPath(coll->id, segment_id, built->file_id, "index");
	SsFilesEnsureDir(coll->id);
	w = SsIvfWriterBegin(built->path, SsFilesTempPath(built->path, xid),
						 (uint64) built->file_id, xid, &shape, &data, b.chunk_bytes / 4);

	/* Lists: centroids, then each row's list and the lists' offsets. */
	assign = palloc_extended(sizeof(int32) * nrows, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	if (shape.type == SS_INDEX_IVF_FLAT)
	{
		if (borrowed != NULL)
			memcpy(data.centroids, borrowed, sizeof(float) * shape.nlist * shape.dim);
		else
			TrainCentroids(&b, shape.nlist, (uint64) segment_id, data.centroids);
		for (first = 0; first < nrows; first += b.chunk_rows)
		{
			int64		count = Min(b.chunk_rows, nrows - first);

			SsKMeansAssign(data.centroids, shape.nlist, VectorChunk(&b, first, count), count,
						   b.dim, b.metric, assign + first);
			CHECK_FOR_INTERRUPTS();
		}
	}
	for (i = 0; i < nrows; i++)
	{
		if (assign[i] < 0 || assign[i] >= shape.nlist)
			elog(ERROR, "k-means assigned row " INT64_FORMAT " to list %d of %d",
				 i, assign[i], shape.nlist);
		data.list_offsets[assign[i] + 1]++;
	}
	for (i = 0; i < shape.nlist; i++)
		data.list_offsets[i + 1] += data.list_offsets[i];

	/* Rows into their lists, in row order within a list; keys and times. */
	SsIvfWriterBeginLists(w);
	keys = palloc_extended(sizeof(int64) * Min(b.chunk_rows, nrows), MCXT_ALLOC_HUGE);
	timestamps = palloc_extended(sizeof(int64) * Min(b.chunk_rows, nrows), MCXT_ALLOC_HUGE);
	for (first = 0; first < nrows; first += b.chunk_rows)
	{
		int64		count = Min(b.chunk_rows, nrows - first);

		SsIvfWriterAddRows(w, assign + first, first, count, VectorChunk(&b, first, count));
		CopyKeyColumn(&b, coll->pk, first, count, keys);
		SsSegmentCheckKeys(insert_path, PG_INT64_MIN, PG_INT64_MAX, keys,
						   first, count, last_key);
		last_key = keys[count - 1];
		CopyKeyColumn(&b, coll->nfields, first, count, timestamps);
		SsIvfWriterAddKeys(w, first, count, keys, timestamps);
		TrackBuildMemory(&b);
		CHECK_FOR_INTERRUPTS();
	}
	SsBinlogClose(b.reader);
	built->size_bytes = SsIvfWriterFinish(w);

	MemoryContextSwitchTo(old);
	built = memcpy(palloc(sizeof(SsIndexBuilt)), built, sizeof(SsIndexBuilt));
	built->path = pstrdup(built->path);
	built->peak_memory = b.peak_memory;
	MemoryContextDelete(cxt);
	return built;
}

/* Flushed segments of a collection that have no index file. */
static List *
MissingSegments(SsCollection *coll)
{
	List	   *segments = SsCatalogSegments(coll->id, true);
	List	   *files = SsCatalogBinlogs(coll->id, 0, "index");
	List	   *missing = NIL;
	ListCell   *lc;

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);
		ListCell   *lf;
		bool		found = false;

		foreach(lf, files)
			found |= ((SsBinlogRow *) lfirst(lf))->segment_id == seg->segment_id;
		if (!found)
			missing = lappend(missing, seg);
	}
	return missing;
}

/*
 * Remove a built file that is not registered: no snapshot can reference
 * it, and the removal is logged so that standbys lose it too.
 */
static void
Discard(SsIndexBuilt *built)
{
	(void) SsFilesRemoveNow(built->path, MyDatabaseId);
}

/* Register a built file. */
static void
Register(SsCollection *coll, SsIndexBuilt *built)
{
	SsBinlogRow row;

	memset(&row, 0, sizeof(row));
	row.segment_id = built->segment_id;
	row.file_id = built->file_id;
	row.kind = "index";
	row.path = built->path;
	row.rows = built->rows;
	row.size_bytes = built->size_bytes;
	row.raw_bytes = built->size_bytes;
	row.ts_null = true;
	SsCatalogInsertBinlog(&row, coll->id);
}

/*
 * Under the collection's state lock: register the built files that still
 * fit (same index, segment still flushed and without a file) and remove
 * the others.  Segments still without a file are left to the maintenance
 * worker (SsIndexBuildMissing).  Returns how many were registered.
 */
int
SsIndexAttach(SsCollection *coll, List *built)
{
	SsIndexDef	def;
	bool		has_index = built != NIL && SsIndexGetDef(coll, &def);
	List	   *missing = has_index ? MissingSegments(coll) : NIL;
	int			registered = 0;
	ListCell   *lc;

	foreach(lc, built)
	{
		SsIndexBuilt *b = lfirst(lc);
		ListCell   *lm;
		bool		fits = false;

		foreach(lm, missing)
		{
			SsSegment  *seg = lfirst(lm);

			if (seg->segment_id == b->segment_id && b->index_id == def.index_id)
			{
				fits = true;
				missing = foreach_delete_current(missing, lm);
				break;
			}
		}
		if (fits)
		{
			Register(coll, b);
			registered++;
		}
		else
			Discard(b);
	}
	return registered;
}

/* One segment's build, as SsSubxactRun runs it. */
typedef struct BuildStep
{
	SsCollection *coll;
	const SsIndexDef *def;
	SsSegment  *seg;
	bool		may_train;
	SsIndexBuilt *built;		/* out */
} BuildStep;

/* Run a BuildStep. */
static void
RunBuildStep(void *arg)
{
	BuildStep  *step = arg;

	step->built = BuildFile(step->coll, step->def, step->seg->segment_id, step->seg->insert_path,
							step->seg->num_rows, 0, step->may_train);
}

/*
 * BuildFile in a subtransaction, so that a segment whose file cannot be
 * built (a damaged insert binlog, say) fails neither the statement nor the
 * other segments' builds: the error is recorded against the segment
 * (segstore.index_failure) and reported at elevel, and NULL returned.
 * What is not the segment's fault still fails the statement: a cancel or
 * shutdown, a full disk or exhausted memory, an I/O error.
 */
static SsIndexBuilt *
TryBuild(SsCollection *coll, const SsIndexDef *def, SsSegment *seg, bool may_train, int elevel)
{
	BuildStep	step = {coll, def, seg, may_train, NULL};
	ErrorData  *edata = SsSubxactRun(RunBuildStep, &step);

	if (edata == NULL)
		return step.built;

	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES ||
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_SYSTEM_ERROR)
		ReThrowError(edata);
	SsCatalogRecordIndexFailure(coll->id, seg->segment_id, edata->message);
	ereport(elevel,
			(errcode(edata->sqlerrcode),
			 errmsg("could not build the index file of segment " INT64_FORMAT " of collection \"%s\": %s",
					seg->segment_id, coll->name, edata->message),
			 errhint("segments() shows it as failed; the maintenance worker tries again later.")));
	return NULL;
}

/*
 * A writer that made segments, under the state lock: build the missing
 * index files that need no k-means (the centroids of an indexed segment
 * are borrowed, or the file is FLAT) and register them.  The others, and
 * segments whose build failed before, are left to the maintenance worker.
 */
void
SsIndexBuildCheap(SsCollection *coll)
{
	SsIndexDef	def;
	List	   *missing;
	List	   *failures;
	ListCell   *lc;

	if (!SsIndexGetDef(coll, &def))
		return;
	/* most seals leave nothing missing: no need to read the failures */
	missing = MissingSegments(coll);
	if (missing == NIL)
		return;
	failures = SsCatalogIndexFailures(coll->id);
	foreach(lc, missing)
	{
		SsSegment  *seg = lfirst(lc);
		SsIndexBuilt *built;

		if (SsCatalogFindIndexFailure(failures, seg->segment_id) != NULL)
			continue;
		built = TryBuild(coll, &def, seg, false, WARNING);
		if (built != NULL)
			Register(coll, built);
	}
}

/*
 * The maintenance worker's part, or build_index(): build the files the
 * collection's flushed segments lack, without the state lock (k-means may
 * run), each on its own (TryBuild), then register them under the lock.
 * With retry_all, segments whose last build failed are tried whatever
 * their back-off.  Returns how many files were registered.
 */
int
SsIndexBuildMissing(SsCollection *coll, bool retry_all, int elevel)
{
	SsIndexDef	def;
	List	   *failures;
	List	   *built = NIL;
	List	   *rebuilt = NIL;
	ListCell   *lc;
	int			registered;

	if (!SsIndexGetDef(coll, &def))
		return 0;
	failures = SsCatalogIndexFailures(coll->id);
	foreach(lc, MissingSegments(coll))
	{
		SsSegment  *seg = lfirst(lc);
		SsIndexFailure *failed = SsCatalogFindIndexFailure(failures, seg->segment_id);
		SsIndexBuilt *b;

		if (failed != NULL && !failed->retry_due && !retry_all)
			continue;
		b = TryBuild(coll, &def, seg, true, elevel);
		if (b != NULL)
		{
			built = lappend(built, b);
			if (failed != NULL)
				rebuilt = lappend(rebuilt, failed);
		}
		CHECK_FOR_INTERRUPTS();
	}
	if (built == NIL)
		return 0;
	coll = SsCatalogGetCollectionById(coll->id, false, true);
	registered = SsIndexAttach(coll, built);
	foreach(lc, rebuilt)
		SsCatalogClearIndexFailures(coll->id, ((SsIndexFailure *) lfirst(lc))->segment_id);
	return registered;
}

/*
 * Build the file of a compaction target for the collection's index def,
 * within memory_budget bytes as far as the rows allow (BuildFile).
 */
SsIndexBuilt *
SsIndexPrepare(SsCollection *coll, const SsIndexDef *def, int64 segment_id,
			   const char *insert_path, int64 nrows, int64 memory_budget)
{
	return BuildFile(coll, def, segment_id, insert_path, nrows, memory_budget, true);
}

/* Refuse an index definition that cannot be created on coll. */
static void
CheckDefinition(SsCollection *coll, const char *field, SsIndexType type, int nlist)
{
	int			f;

	for (f = 0; f < coll->nfields; f++)
		if (strcmp(coll->fields[f].name, field) == 0)
			break;
	if (f == coll->nfields)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("field \"%s\" does not exist in collection \"%s\"", field, coll->name)));
	if (f != coll->vec)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("field \"%s\" of collection \"%s\" is not a vector field", field,
						coll->name),
				 errhint("Indexes are built on the vector field \"%s\".",
						 coll->fields[coll->vec].name)));
	if (type == SS_INDEX_IVF_FLAT && (nlist < 1 || nlist > SS_MAX_NLIST))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nlist must be between 1 and %d, not %d", SS_MAX_NLIST, nlist)));
	if (type == SS_INDEX_IVF_FLAT &&
		(int64) nlist * coll->dim * sizeof(float) > MaxAllocHugeSize / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("nlist %d is too large for dimension %d", nlist, coll->dim)));
}

/* Refuse a second index on coll, first removing the files built for it. */
static void
CheckNoIndex(SsCollection *coll, List *built)
{
	SsIndexDef	def;
	ListCell   *lc;

	if (!SsIndexGetDef(coll, &def))
		return;
	foreach(lc, built)
		Discard(lfirst(lc));
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("collection \"%s\" already has an index on field \"%s\"",
					coll->name, def.field),
			 errhint("Drop it first with segstore.drop_index().")));
}

/* Whether a file for segment_id is among built. */
static bool
IsBuilt(List *built, int64 segment_id)
{
	ListCell   *lc;

	foreach(lc, built)
		if (((SsIndexBuilt *) lfirst(lc))->segment_id == segment_id)
			return true;
	return false;
}

/*
 * Rounds of building without the state lock: a compaction that swaps
 * while the files are built makes targets the next round builds; past
 * these, what keeps arriving is left to the lock-held part.
 */
#define SS_CREATE_BUILD_ROUNDS 3

/*
 * Create the index of a collection resolved (not locked) as coll, which the
 * caller owns, and build the files of its segments.  The files are built
 * first, k-means included, holding only the collection lock in
 * AccessShareLock, which keeps a drop out and no writer: the segments are
 * read as they now are, again after each round, so that the targets of a
 * compaction that swapped meanwhile are built too.  Then, under the state
 * lock, the definition is inserted, the files that still fit are
 * registered (SsIndexAttach) and the few segments sealed since get theirs
 * if they need no k-means (borrowed centroids, FLAT); any other is left to
 * the maintenance worker, with a notice.  A segment that cannot be built
 * fails the statement, as a row that cannot be indexed fails CREATE INDEX.
 */
void
SsIndexCreate(SsCollection *coll, const char *field, SsIndexType type, SsMetric metric,
			  int nlist)
{
	SsIndexDef	def;
	List	   *built = NIL;
	ListCell   *lc;
	int			round;
	int			deferred = 0;

	CheckDefinition(coll, field, type, nlist);
	if (SsCatalogLockCollection(coll->id, AccessShareLock) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("collection \"%s\" does not exist", coll->name),
				 errdetail("It was dropped while this transaction waited for it.")));
	CheckNoIndex(coll, NIL);

	memset(&def, 0, sizeof(def));
	def.index_id = SsCatalogNextId("index_id_seq");
	strlcpy(def.field, field, NAMEDATALEN);
	def.type = type;
	def.metric = metric;
	def.nlist = type == SS_INDEX_IVF_FLAT ? nlist : 1;
	for (round = 0; round < SS_CREATE_BUILD_ROUNDS; round++)
	{
		bool		any = false;

		foreach(lc, MissingSegments(coll))
		{
			SsSegment  *seg = lfirst(lc);

			if (IsBuilt(built, seg->segment_id))
				continue;
			built = lappend(built, BuildFile(coll, &def, seg->segment_id, seg->insert_path,
											 seg->num_rows, 0, true));
			any = true;
			CHECK_FOR_INTERRUPTS();
		}
		if (!any)
			break;
	}

	coll = SsCollectionRecheck(coll, SsCatalogGetCollectionById(coll->id, true, true),
							   SS_OWNER, false);
	CheckNoIndex(coll, built);
	SsCatalogInsertIndex(coll->id, &def);
	SsCatalogClearIndexFailures(coll->id, 0);
	(void) SsIndexAttach(coll, built);
	foreach(lc, MissingSegments(coll))
	{
		SsSegment  *seg = lfirst(lc);
		SsIndexBuilt *b = BuildFile(coll, &def, seg->segment_id, seg->insert_path,
									seg->num_rows, 0, false);

		if (b != NULL)
			Register(coll, b);
		else
			deferred++;
	}
	if (deferred > 0)
		ereport(NOTICE,
				(errmsg_plural("%d segment of collection \"%s\" sealed while its index was built is left to the maintenance worker",
							   "%d segments of collection \"%s\" sealed while its index was built are left to the maintenance worker",
							   deferred, deferred, coll->name),
				 errhint("Run segstore.build_index() to build their files now.")));
}

/* Drop a collection's index; its files go when the transaction commits. */
void
SsIndexDrop(SsCollection *coll, const char *field, bool if_exists)
{
	SsIndexDef	def;
	ListCell   *lc;

	if (!SsIndexGetDef(coll, &def) || strcmp(def.field, field) != 0)
	{
		if (if_exists)
		{
			ereport(NOTICE,
					(errmsg("collection \"%s\" has no index on field \"%s\", skipping",
							coll->name, field)));
			return;
		}
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("collection \"%s\" has no index on field \"%s\"", coll->name, field)));
	}
	foreach(lc, SsCatalogDeleteIndex(coll->id))
		SsFilesRemoveAtCommit(lfirst(lc));
	SsCatalogClearIndexFailures(coll->id, 0);
}

/* index_state of a segment: the type of its index file, or "none". */
const char *
SsIndexFileState(const char *path)
{
	uint64		xid;
	SsIndexType type;
	bool		missing = false;

	if (path == NULL)
		return "none";

	/*
	 * One open, no stat first: garbage collection may remove the file of a
	 * compacted segment at any moment, which is "missing", not an error.
	 */
	if (!SsIvfPeekHeader(path, &xid, &type, &missing))
		return missing ? "missing" : "corrupt";
	return SsIndexTypeName(type);
}

/* Define this module's settings; called from _PG_init. */
void
SsIndexInit(void)
{
	/* Superuser-only: it decides which index every reader of a segment searches. */
	DefineCustomIntVariable("segstore.min_index_rows",
							"Sealed segments with fewer rows get a FLAT index file instead of IVF_FLAT.",
							NULL, &ss_min_index_rows, MIN_INDEX_ROWS_DEFAULT, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
}
