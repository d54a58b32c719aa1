/*-------------------------------------------------------------------------
 *
 * search_cache.c
 *	  The per-backend cache of what searches read: each collection's
 *	  flushed segments, their mapped index files (or decoded data), and
 *	  their decoded delta binlogs and pending deletes.
 *
 * The cache is keyed by the version (xmin and ctid) of the collection's
 * catalog row: everything that changes a collection's flushed segments,
 * their deletes or its index (flush, seals, deletes of flushed rows,
 * compaction's swap, index builds) takes its state lock, which updates
 * that row.  Inserts and deletes of growing rows do not, and searches read
 * those afresh.  A search thus costs one indexed catalog lookup; files are immutable, so a mapping
 * checked once stays valid.  When the version changed, the entry is
 * rebuilt from the catalog, keeping what was loaded of segments that did
 * not change; mappings of segments that left the collection are dropped
 * then, and entries of dropped collections too, so that garbage
 * collection's removals free their disk space.
 *
 * Everything is loaded on first use: a segment's data when a search first
 * probes it, its deletes when a search first needs them.  load() loads a
 * whole collection up front and release() forgets it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "data/collection.h"
#include "data/index.h"
#include "data/segment.h"
#include "metadata/catalog_search.h"
#include "search/search.h"
#include "search/search_int.h"

static MemoryContext cache_cxt = NULL;
static HTAB *collections = NULL;

/* The cache's memory and hash table, made on first use. */
static void
InitCache(void)
{
	HASHCTL		ctl;

	if (collections != NULL)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "segstore search cache",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SsCachedCollection);
	ctl.hcxt = cache_cxt;
	collections = hash_create("segstore search collections", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Free a segment entry: unmap its file, free its memory. */
static void
FreeSeg(SsCachedSegment *seg, bool drop_cache)
{
	if (seg->file != NULL)
		SsIvfUnmap(seg->file, drop_cache);
	MemoryContextDelete(seg->cxt);
}

/* Forget a collection's cached state. */
static void
FreeColl(SsCachedCollection *ce, bool drop_cache)
{
	int			i;

	for (i = 0; i < ce->nsegs; i++)
		if (ce->segs[i] != NULL)
			FreeSeg(ce->segs[i], drop_cache);
	MemoryContextDelete(ce->cxt);
	(void) hash_search(collections, &ce->collection_id, HASH_REMOVE, NULL);
}

/* A copy of a collection's description in cxt (SPI calls switch contexts). */
static SsCollection *
CopyCollection(const SsCollection *coll, MemoryContext cxt)
{
	SsCollection *copy = MemoryContextAlloc(cxt, sizeof(SsCollection));

	*copy = *coll;
	copy->name = MemoryContextStrdup(cxt, coll->name);
	copy->fields = MemoryContextAlloc(cxt, sizeof(SsField) * coll->nfields);
	memcpy(copy->fields, coll->fields, sizeof(SsField) * coll->nfields);
	return copy;
}

/*
 * Forget cached collections that no longer exist, so that their files'
 * disk space is not held by our mappings after a drop.  Run when some
 * collection changed, not on every search.
 */
static void
SweepDropped(void)
{
	HASH_SEQ_STATUS seq;
	SsCachedCollection *ce;
	List	   *gone = NIL;
	ListCell   *lc;

	hash_seq_init(&seq, collections);
	while ((ce = hash_seq_search(&seq)) != NULL)
		if (!SsCatalogCollectionExists(ce->collection_id, false))
			gone = lappend(gone, ce);
	foreach(lc, gone)
		FreeColl(lfirst(lc), false);
}

/*
 * Look up a collection, check the caller may read it and return its cached
 * state, rebuilt from the catalog if the collection changed.
 */
SsCachedCollection *
SsSearchCacheOpen(const char *name)
{
	SsCollectionVersion ver;
	SsCollection probe;
	SsCachedCollection *ce;
	SsCachedCollection fresh;
	bool		found;
	List	   *segments;
	List	   *binlogs;
	ListCell   *lc;
	MemoryContext old;
	int			i;

	SsCatalogCollectionVersion(name, &ver);
	memset(&probe, 0, sizeof(probe));
	probe.id = ver.id;
	probe.relid = ver.relid;
	probe.viewid = ver.viewid;
	probe.name = (char *) name;
	SsCollectionCheckPrivilege(&probe, ACL_SELECT);

	InitCache();
	ce = hash_search(collections, &probe.id, HASH_FIND, &found);
	if (found && ce->coll->relid != probe.relid)
	{
		/*
		 * The extension was dropped and created again: the id, and the ids
		 * of segments and files, now name different ones.
		 */
		FreeColl(ce, false);
		found = false;
	}
	if (found && strcmp(ce->version, ver.version) == 0)
		return ce;

	SweepDropped();
	ce = hash_search(collections, &probe.id, HASH_FIND, &found);

	/*
	 * Rebuild: read the catalog into a fresh entry in memory that an error
	 * frees with the query's, then move it into the cache.
	 */
	memset(&fresh, 0, sizeof(fresh));
	fresh.collection_id = probe.id;
	fresh.cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore search collection",
									  ALLOCSET_SMALL_SIZES);
	fresh.version = MemoryContextStrdup(fresh.cxt, ver.version);
	fresh.coll = CopyCollection(SsCatalogGetCollectionById(probe.id, false, false), fresh.cxt);
	fresh.has_index = SsIndexGetDef(fresh.coll, &fresh.def);
	segments = SsCatalogSegments(probe.id, true);
	binlogs = SsCatalogBinlogs(probe.id, 0, NULL);
	SsCatalogPendingDeletes(probe.id, &fresh.pending, fresh.cxt);
	fresh.nsegs = list_length(segments);
	fresh.segs = MemoryContextAllocZero(fresh.cxt,
										sizeof(SsCachedSegment *) * Max(fresh.nsegs, 1));
	i = 0;
	foreach(lc, segments)
	{
		SsSegment  *s = lfirst(lc);
		MemoryContext scxt = AllocSetContextCreate(fresh.cxt, "segstore search segment",
												   ALLOCSET_SMALL_SIZES);
		SsCachedSegment *seg = MemoryContextAllocZero(scxt, sizeof(SsCachedSegment));
		ListCell   *lb;

		seg->cxt = scxt;
		fresh.segs[i++] = seg;
		seg->segment_id = s->segment_id;
		seg->num_rows = s->num_rows;
		seg->pk_min = s->pk_min;
		seg->pk_max = s->pk_max;
		seg->purged_until = s->purged_until;
		seg->insert_path = MemoryContextStrdup(scxt, s->insert_path);
		foreach(lb, binlogs)
		{
			SsBinlogRow *row = lfirst(lb);

			if (row->segment_id != s->segment_id)
				continue;
			if (strcmp(row->kind, "index") == 0)
			{
				seg->index_file_id = row->file_id;
				seg->index_path = MemoryContextStrdup(scxt, row->path);
			}
			else if (strcmp(row->kind, "delta") == 0)
			{
				seg->delta_sig = seg->delta_sig * 1000003 + (uint64) row->file_id;
				old = MemoryContextSwitchTo(scxt);
				seg->delta_paths = lappend(seg->delta_paths, pstrdup(row->path));
				MemoryContextSwitchTo(old);
			}
		}
	}
	for (i = 0; i < fresh.nsegs; i++)
		MemoryContextSetParent(fresh.segs[i]->cxt, cache_cxt);
	MemoryContextSetParent(fresh.cxt, cache_cxt);

	/* Keep what the old state had loaded of segments that did not change. */
	if (found)
	{
		for (i = 0; i < fresh.nsegs; i++)
		{
			SsCachedSegment *seg = fresh.segs[i];
			int			j;

			for (j = 0; j < ce->nsegs; j++)
			{
				SsCachedSegment *prev = ce->segs[j];

				if (prev == NULL || prev->segment_id != seg->segment_id ||
					prev->index_file_id != seg->index_file_id ||
					prev->delta_sig != seg->delta_sig ||
					(fresh.has_index != ce->has_index) ||
					(fresh.has_index && fresh.def.index_id != ce->def.index_id))
					continue;
				MemoryContextDelete(seg->cxt);
				fresh.segs[i] = prev;
				ce->segs[j] = NULL;
				break;
			}
		}
		FreeColl(ce, false);
	}
	ce = hash_search(collections, &probe.id, HASH_ENTER, NULL);
	*ce = fresh;
	return ce;
}

/*
 * Decode a segment without an index file into a FLAT in-memory layout.  The
 * decoding happens in memory that an error frees with the query's, and
 * moves into the segment's once it succeeded.
 */
static void
DecodeSegment(SsCachedCollection *ce, SsCachedSegment *seg, SsMetric metric)
{
	SsCollection *coll = ce->coll;
	SsIvfData	decoded;
	SsIvfData  *d = &decoded;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore decoded segment",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	SsBinlogReader *reader = SsSegmentOpenInsert(coll, seg->insert_path, seg->segment_id,
												 seg->num_rows);
	SsColumn	vec;
	SsColumn	keys;
	SsColumn	ts;
	int64		i;

	SsBinlogReadColumn(reader, coll->vec, &vec);
	SsBinlogReadColumn(reader, coll->pk, &keys);
	SsBinlogReadColumn(reader, coll->nfields, &ts);
	SsBinlogClose(reader);
	SsSegmentCheckKeys(seg->insert_path, seg->pk_min, seg->pk_max, (const int64 *) keys.values,
					   0, keys.nrows, 0);
	memset(d, 0, sizeof(*d));
	d->type = SS_INDEX_FLAT;
	d->metric = metric;
	d->dim = coll->dim;
	d->nlist = 1;
	d->nrows = seg->num_rows;
	d->list_offsets = palloc(sizeof(uint64) * 2);
	d->list_offsets[0] = 0;
	d->list_offsets[1] = (uint64) seg->num_rows;
	d->vectors = (float *) vec.values;
	d->rows = palloc_extended(sizeof(int32) * seg->num_rows, MCXT_ALLOC_HUGE);
	for (i = 0; i < seg->num_rows; i++)
	{
		d->rows[i] = (int32) i;
		if (metric == SS_METRIC_COSINE)
			(void) SsNormalize(d->vectors + i * d->dim, d->dim);
	}
	d->keys = (int64 *) keys.values;
	d->timestamps = (int64 *) ts.values;
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, seg->cxt);
	if (seg->decoded_cxt != NULL)
		MemoryContextDelete(seg->decoded_cxt);
	seg->decoded_cxt = cxt;
	seg->decoded = decoded;
	seg->data = &seg->decoded;
}

/*
 * Give a newly mapped segment the centroid key of a loaded segment of the
 * collection whose centroids are byte for byte the same, or a new one.
 * Segments sealed from growing rows take the centroids of the largest
 * segment (index.c), so a search computes each distinct set's distances
 * once per query, not once per segment.
 */
static void
SetCentroidKey(SsCachedCollection *ce, SsCachedSegment *seg)
{
	static uint64 next_key = 0;
	const SsIvfData *d = seg->data;
	Size		bytes = sizeof(float) * (Size) d->nlist * d->dim;
	int			i;

	seg->centroid_key = 0;
	if (d->type != SS_INDEX_IVF_FLAT)
		return;
	for (i = 0; i < ce->nsegs; i++)
	{
		const SsCachedSegment *other = ce->segs[i];

		if (other == NULL || other == seg || other->centroid_key == 0 ||
			other->data->nlist != d->nlist || other->data->dim != d->dim ||
			memcmp(other->data->centroids, d->centroids, bytes) != 0)
			continue;
		seg->centroid_key = other->centroid_key;
		return;
	}
	seg->centroid_key = ++next_key;
}

/* Make a segment's vectors searchable with this metric. */
void
SsSearchCacheLoadData(SsCachedCollection *ce, SsCachedSegment *seg, SsMetric metric)
{
	if (seg->index_path == NULL)
	{
		if (seg->data == NULL || seg->data->metric != metric)
			DecodeSegment(ce, seg, metric);
		return;
	}
	if (seg->file == NULL)
	{
		SsIvfFile  *file = SsIvfMap(seg->index_path, seg->cxt);

		if (file->data.nrows != seg->num_rows || file->data.dim != ce->coll->dim ||
			!ce->has_index || file->data.index_id != ce->def.index_id ||
			file->data.metric != ce->def.metric ||
			file->data.keys[0] != seg->pk_min ||
			file->data.keys[file->data.nrows - 1] != seg->pk_max)
		{
			SsIvfUnmap(file, false);
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", seg->index_path),
					 errdetail("The file does not match segment " INT64_FORMAT " of collection \"%s\" or its index.",
							   seg->segment_id, ce->coll->name)));
		}
		seg->file = file;
		seg->data = &file->data;
		SetCentroidKey(ce, seg);
	}
}

/* Row number of a key in a segment, or -1. */
static int64
RowOf(const SsIvfData *d, int64 key)
{
	return SsSortedFind(d->keys, d->nrows, key);
}

/*
 * Decode a segment's delta binlogs into row numbers and a bitmap.  The
 * files are read in the query's memory, which an error frees.
 */
void
SsSearchCacheLoadDeletes(SsCachedSegment *seg)
{
	ListCell   *lc;
	int			cap = 0;

	if (seg->deletes_loaded)
		return;
	seg->ndel = 0;
	foreach(lc, seg->delta_paths)
	{
		int64	   *keys;
		TimestampTz *ts;
		int			n;
		int			i;

		SsSegmentReadDelta(lfirst(lc), &keys, &ts, &n);
		if (seg->ndel + n > cap)
		{
			cap = Max(cap * 2, seg->ndel + n);
			seg->del_rows = seg->del_rows ? repalloc(seg->del_rows, sizeof(int32) * cap) :
				MemoryContextAlloc(seg->cxt, sizeof(int32) * cap);
			seg->del_ts = seg->del_ts ? repalloc(seg->del_ts, sizeof(TimestampTz) * cap) :
				MemoryContextAlloc(seg->cxt, sizeof(TimestampTz) * cap);
		}
		for (i = 0; i < n; i++)
		{
			int64		row = RowOf(seg->data, keys[i]);

			if (row < 0)
				continue;
			seg->del_rows[seg->ndel] = (int32) row;
			seg->del_ts[seg->ndel++] = ts[i];
		}
		pfree(keys);
		pfree(ts);
	}
	if (seg->ndel > 0)
	{
		int			i;

		seg->dead = MemoryContextAllocZero(seg->cxt, (seg->num_rows + 7) / 8);
		for (i = 0; i < seg->ndel; i++)
			BitSet(seg->dead, seg->del_rows[i]);
	}
	seg->deletes_loaded = true;
}

/*
 * Set the bits of a segment's rows deleted at or before as_of (any time
 * without it): by delta binlogs and by the collection's pending deletes.
 */
void
SsSearchCacheMarkDeleted(SsCachedCollection *ce, SsCachedSegment *seg, bool has_as_of,
						 TimestampTz as_of, uint8 *bits)
{
	const SsPendingDeletes *p = &ce->pending;
	int			i;

	for (i = 0; i < seg->ndel; i++)
		if (!has_as_of || seg->del_ts[i] <= as_of)
			BitSet(bits, seg->del_rows[i]);
	for (i = 0; i < p->n; i++)
	{
		int64		row;

		if (p->segment_ids[i] != seg->segment_id || (has_as_of && p->ts[i] > as_of))
			continue;
		row = RowOf(seg->data, p->keys[i]);
		if (row >= 0)
			BitSet(bits, row);
	}
}

/*
 * Rows of a segment deleted now, or NULL if none.  Cached for the
 * collection's version, which pending deletes are part of.
 */
const uint8 *
SsSearchCacheDeleted(SsCachedCollection *ce, SsCachedSegment *seg)
{
	bool		pending = false;
	int			i;

	SsSearchCacheLoadDeletes(seg);
	for (i = 0; i < ce->pending.n && !pending; i++)
		pending = ce->pending.segment_ids[i] == seg->segment_id;
	if (!pending)
		return seg->dead;
	if (seg->dead_version == NULL || strcmp(seg->dead_version, ce->version) != 0)
	{
		if (seg->dead_version != NULL)
		{
			pfree(seg->dead_version);
			pfree(seg->dead_all);
		}
		seg->dead_version = NULL;
		seg->dead_all = MemoryContextAllocZero(seg->cxt, (seg->num_rows + 7) / 8);
		SsSearchCacheMarkDeleted(ce, seg, false, 0, seg->dead_all);
		seg->dead_version = MemoryContextStrdup(seg->cxt, ce->version);
	}
	return seg->dead_all;
}

/* Map (or decode) every segment of a collection and read its pages ahead. */
void
SsSearchCacheLoad(const char *collection)
{
	SsCachedCollection *ce = SsSearchCacheOpen(collection);
	SsMetric	metric = ce->has_index ? ce->def.metric : SS_METRIC_L2;
	int			i;

	for (i = 0; i < ce->nsegs; i++)
	{
		SsSearchCacheLoadData(ce, ce->segs[i], metric);
		if (ce->segs[i]->file != NULL)
			SsIvfWillNeed(ce->segs[i]->file);
		SsSearchCacheLoadDeletes(ce->segs[i]);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Drop this backend's mappings and memory of a collection. */
void
SsSearchCacheRelease(const char *collection)
{
	SsCachedCollection *ce = SsSearchCacheOpen(collection);

	FreeColl(ce, true);
}
