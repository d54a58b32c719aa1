/*-------------------------------------------------------------------------
 *
 * search.c
 *	  Vector search: the k nearest live entities of a collection to a
 *	  query vector, from its sealed segments and its growing segment.
 *
 * Sealed segments are searched in their index files, mapped read-only:
 * IVF_FLAT files in the nprobe lists whose centroids are nearest to the
 * query, FLAT files whole.  A segment without a file (the collection has
 * no index, or its file is not built yet) is decoded once into backend
 * memory and searched whole.  The growing segment is read and searched
 * exactly.  Every candidate goes through one bounded max-heap ordered by
 * (distance, id), so results are deterministic even when distances tie.
 *
 * Per-query cost is kept small by a per-backend cache of each
 * collection's segments, their mappings and their decoded delta binlogs.
 * The cache is keyed by the version (xmin and ctid) of the collection's
 * catalog row: everything that changes a collection's flushed segments,
 * their deletes or its index (flush, delete, compaction's swap, index
 * builds) takes its write lock, which updates that row.  A search thus
 * costs one indexed catalog lookup; files
 * are immutable, so a mapping checked once stays valid.  Mappings of
 * segments that left the collection are dropped when the cache entry is
 * rebuilt, so garbage collection's removals free their disk space.
 *
 * Deletes apply from delta binlogs and pending deletes alike; with as_of,
 * only those at or before it, and rows written after it are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "data/collection.h"
#include "data/growing.h"
#include "data/index.h"
#include "data/segment.h"
#include "expr/expr.h"
#include "format/batch.h"
#include "format/binlog.h"
#include "metadata/catalog_search.h"
#include "search/search.h"

/* Entries whose distances are computed at a time. */
#define SS_SEARCH_BLOCK 1024

/* Default nprobe of IVF_FLAT searches, capped by nlist. */
#define SS_DEFAULT_NPROBE 10

/* A flushed segment as searches see it; lives in its own memory context. */
typedef struct SegEntry
{
	MemoryContext cxt;
	int64		segment_id;
	int64		num_rows;
	int64		pk_min;
	int64		pk_max;
	char	   *insert_path;
	int64		index_file_id;	/* 0: no index file */
	char	   *index_path;
	uint64		delta_sig;		/* identifies its set of delta binlogs */
	List	   *delta_paths;

	/* loaded on first use */
	SsIvfFile  *file;			/* the mapped index file */
	SsIvfData  *data;			/* what is searched: file->data or decoded */
	SsIvfData	decoded;		/* no index file: the insert binlog decoded */
	MemoryContext decoded_cxt;
	bool		deletes_loaded;
	int			ndel;			/* delta binlog deletes, as row numbers */
	int32	   *del_rows;
	TimestampTz *del_ts;
	uint8	   *dead;			/* bitmap of those rows, or NULL if none */
	uint8	   *dead_all;		/* with pending deletes too, for dead_version */
	char	   *dead_version;	/* collection version dead_all is of */
	char	   *filter_text;	/* filter whose result filter_pass holds */
	uint8	   *filter_pass;	/* bitmap of rows it passes */
} SegEntry;

/* A collection's cached state. */
typedef struct CollEntry
{
	int64		collection_id;	/* hash key */
	MemoryContext cxt;			/* holds everything but the segments */
	char	   *version;
	SsCollection *coll;
	bool		has_index;
	SsIndexDef	def;
	SsPendingDeletes pending;
	int			nsegs;
	SegEntry  **segs;
} CollEntry;

/* A result candidate. */
typedef struct Hit
{
	float		dist;
	int64		id;
} Hit;

/* The k best hits so far, as a max-heap: the worst is at the root. */
typedef struct TopK
{
	int			k;
	int			n;
	Hit		   *hits;
} TopK;

/* A centroid's distance, for choosing the lists to probe. */
typedef struct ListDist
{
	float		dist;
	int			list;
} ListDist;

/*
 * Order of two distances.  A distance that overflowed to NaN (vectors with
 * huge components) is farther than any other, as PostgreSQL orders floats;
 * plain comparisons would let it block nearer candidates from the heap.
 */
static inline int
DistCmp(float a, float b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	return isnan(b) ? -1 : 0;
}

#define ST_SORT sort_list_dists
#define ST_ELEMENT_TYPE ListDist
#define ST_COMPARE(a, b) (DistCmp((a)->dist, (b)->dist) != 0 ? DistCmp((a)->dist, (b)->dist) : \
						  (a)->list - (b)->list)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_hits
#define ST_ELEMENT_TYPE Hit
#define ST_COMPARE(a, b) (DistCmp((a)->dist, (b)->dist) != 0 ? DistCmp((a)->dist, (b)->dist) : \
						  (a)->id < (b)->id ? -1 : (a)->id > (b)->id ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* What one query needs to know of one segment. */
typedef struct SegPlan
{
	SegEntry   *seg;
	const uint8 *skip;			/* rows to skip, or NULL */
} SegPlan;

static MemoryContext cache_cxt = NULL;
static HTAB *collections = NULL;

static inline bool
bit_test(const uint8 *bits, int64 i)
{
	return (bits[i >> 3] >> (i & 7)) & 1;
}

static inline void
bit_set(uint8 *bits, int64 i)
{
	bits[i >> 3] |= (uint8) (1 << (i & 7));
}

/* Is (dist, id) better than hit h? */
static inline bool
Better(float dist, int64 id, const Hit *h)
{
	int			c = DistCmp(dist, h->dist);

	return c < 0 || (c == 0 && id < h->id);
}

/* Would a candidate at this distance enter the heap (ids aside)? */
static inline bool
MayEnter(const TopK *top, float dist)
{
	return top->n < top->k || dist <= top->hits[0].dist || isnan(top->hits[0].dist);
}

/* Offer a candidate to the heap. */
static void
Offer(TopK *top, float dist, int64 id)
{
	Hit		   *h = top->hits;
	Hit			nh = {dist, id};
	int			i;

	if (top->n < top->k)
	{
		/* sift up past parents that are better than the newcomer */
		i = top->n++;
		while (i > 0 && Better(h[(i - 1) / 2].dist, h[(i - 1) / 2].id, &nh))
		{
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = nh;
		return;
	}
	if (!Better(dist, id, &h[0]))
		return;
	/* replace the root and sift down past worse children */
	i = 0;
	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= top->n)
			break;
		if (c + 1 < top->n && Better(h[c].dist, h[c].id, &h[c + 1]))
			c++;
		if (!Better(dist, id, &h[c]))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = nh;
}

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
	ctl.entrysize = sizeof(CollEntry);
	ctl.hcxt = cache_cxt;
	collections = hash_create("segstore search collections", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Free a segment entry: unmap its file, free its memory. */
static void
FreeSeg(SegEntry *seg, bool drop_cache)
{
	if (seg->file != NULL)
		SsIvfUnmap(seg->file, drop_cache);
	MemoryContextDelete(seg->cxt);
}

/* Forget a collection's cached state. */
static void
FreeColl(CollEntry *ce, bool drop_cache)
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
	CollEntry  *ce;
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
static CollEntry *
OpenColl(const char *name)
{
	SsCollectionVersion ver;
	SsCollection probe;
	CollEntry  *ce;
	CollEntry	fresh;
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
	fresh.coll = CopyCollection(SsCatalogGetCollection(name, false, false), fresh.cxt);
	fresh.has_index = SsIndexGetDef(fresh.coll, &fresh.def);
	segments = SsCatalogSegments(probe.id, true);
	binlogs = SsCatalogBinlogs(probe.id, 0, NULL);
	SsCatalogPendingDeletes(probe.id, &fresh.pending, fresh.cxt);
	fresh.nsegs = list_length(segments);
	fresh.segs = MemoryContextAllocZero(fresh.cxt, sizeof(SegEntry *) * Max(fresh.nsegs, 1));
	i = 0;
	foreach(lc, segments)
	{
		SsSegment  *s = lfirst(lc);
		MemoryContext scxt = AllocSetContextCreate(fresh.cxt, "segstore search segment",
												   ALLOCSET_SMALL_SIZES);
		SegEntry   *seg = MemoryContextAllocZero(scxt, sizeof(SegEntry));
		ListCell   *lb;

		seg->cxt = scxt;
		fresh.segs[i++] = seg;
		seg->segment_id = s->segment_id;
		seg->num_rows = s->num_rows;
		seg->pk_min = s->pk_min;
		seg->pk_max = s->pk_max;
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
			SegEntry   *seg = fresh.segs[i];
			int			j;

			for (j = 0; j < ce->nsegs; j++)
			{
				SegEntry   *prev = ce->segs[j];

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
DecodeSegment(CollEntry *ce, SegEntry *seg, SsMetric metric)
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
	if (vec.type != SS_COL_VECTOR || vec.dim != coll->dim || keys.type != SS_COL_INT8)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("segstore file \"%s\" is corrupt", seg->insert_path),
				 errdetail("Its columns have the wrong types.")));
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

/* Make a segment's vectors searchable with this metric. */
static void
LoadData(CollEntry *ce, SegEntry *seg, SsMetric metric)
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
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", seg->index_path),
					 errdetail("The file does not match segment " INT64_FORMAT " of collection \"%s\" or its index.",
							   seg->segment_id, ce->coll->name)));
		}
		seg->file = file;
		seg->data = &file->data;
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
static void
LoadDeletes(SegEntry *seg)
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
			bit_set(seg->dead, seg->del_rows[i]);
	}
	seg->deletes_loaded = true;
}

/* Rows of a segment a filter passes, cached for the next query with it. */
static const uint8 *
FilterPass(CollEntry *ce, SegEntry *seg, const char *text, SsExpr *expr)
{
	SsCollection *coll = ce->coll;
	Bitmapset  *fields;
	SsBinlogReader *reader;
	SsBatch    *batch;
	SsValue    *row;
	MemoryContext tmp;
	MemoryContext old;
	uint8	   *pass;
	int			f = -1;
	int64		r;

	if (seg->filter_text != NULL && strcmp(seg->filter_text, text) == 0)
		return seg->filter_pass;

	tmp = AllocSetContextCreate(CurrentMemoryContext, "segstore filter", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	fields = SsExprFields(expr);
	reader = SsBinlogOpen(seg->insert_path);
	batch = SsBatchCreate(coll->fields, coll->nfields, seg->num_rows);
	while ((f = bms_next_member(fields, f)) >= 0)
	{
		SsBinlogReadColumn(reader, f, &batch->cols[f]);
		if (batch->cols[f].type != SsFieldColType(&coll->fields[f]) ||
			batch->cols[f].nrows != seg->num_rows)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segstore file \"%s\" is corrupt", seg->insert_path),
					 errdetail("Column %d has the wrong type.", f)));
	}
	SsBinlogClose(reader);
	row = palloc0(sizeof(SsValue) * coll->nfields);
	pass = MemoryContextAllocZero(seg->cxt, (seg->num_rows + 7) / 8);
	for (r = 0; r < seg->num_rows; r++)
	{
		f = -1;
		while ((f = bms_next_member(fields, f)) >= 0)
			SsBatchValue(batch, f, r, &row[f]);
		if (SsExprEval(expr, row))
			bit_set(pass, r);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);

	if (seg->filter_pass != NULL)
		pfree(seg->filter_pass);
	if (seg->filter_text != NULL)
		pfree(seg->filter_text);
	seg->filter_pass = pass;
	seg->filter_text = MemoryContextStrdup(seg->cxt, text);
	return pass;
}

/*
 * Set the bits of a segment's rows deleted at or before as_of (any time
 * without it): by delta binlogs and by the collection's pending deletes.
 */
static void
MarkDeleted(CollEntry *ce, SegEntry *seg, bool has_as_of, TimestampTz as_of, uint8 *bits)
{
	const SsPendingDeletes *p = &ce->pending;
	int			i;

	for (i = 0; i < seg->ndel; i++)
		if (!has_as_of || seg->del_ts[i] <= as_of)
			bit_set(bits, seg->del_rows[i]);
	for (i = 0; i < p->n; i++)
	{
		int64		row;

		if (p->segment_ids[i] != seg->segment_id || (has_as_of && p->ts[i] > as_of))
			continue;
		row = RowOf(seg->data, p->keys[i]);
		if (row >= 0)
			bit_set(bits, row);
	}
}

/*
 * Rows of a segment deleted now, or NULL if none.  Cached for the
 * collection's version, which pending deletes are part of.
 */
static const uint8 *
Deleted(CollEntry *ce, SegEntry *seg)
{
	bool		pending = false;
	int			i;

	LoadDeletes(seg);
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
		MarkDeleted(ce, seg, false, 0, seg->dead_all);
		seg->dead_version = MemoryContextStrdup(seg->cxt, ce->version);
	}
	return seg->dead_all;
}

/*
 * Rows of a segment a query must skip: deleted (at or before as_of) or
 * failing the filter.  NULL when there are none.
 */
static const uint8 *
SkipRows(CollEntry *ce, SegEntry *seg, const SsSearchRequest *req, SsExpr *expr)
{
	Size		bytes = (seg->num_rows + 7) / 8;
	const uint8 *pass = expr ? FilterPass(ce, seg, req->filter, expr) : NULL;
	const uint8 *deleted;
	uint8	   *skip;
	Size		i;

	if (req->has_as_of)
	{
		uint8	   *bits = palloc0(bytes);

		LoadDeletes(seg);
		MarkDeleted(ce, seg, true, req->as_of, bits);
		deleted = bits;
	}
	else
		deleted = Deleted(ce, seg);
	if (pass == NULL)
		return deleted;
	skip = palloc(bytes);
	for (i = 0; i < bytes; i++)
		skip[i] = (uint8) ~pass[i] | (deleted ? deleted[i] : 0);
	return skip;
}

/* Search one segment's data for one query. */
static void
SearchSegment(const SsIvfData *d, const float *q, int nprobe, const uint8 *skip,
			  const SsSearchRequest *req, TopK *top, float *dist, ListDist *lists)
{
	int			nlists = d->nlist;
	int			l;

	if (nprobe < d->nlist)
	{
		float	   *cdist = dist;

		/* the block buffer holds the centroid distances first */
		for (l = 0; l < d->nlist; l += SS_SEARCH_BLOCK)
		{
			int			n = Min(SS_SEARCH_BLOCK, d->nlist - l);
			int			j;

			SsDistanceBatch(d->metric, q, d->centroids + (Size) l * d->dim, n, d->dim, cdist);
			for (j = 0; j < n; j++)
			{
				lists[l + j].dist = cdist[j];
				lists[l + j].list = l + j;
			}
		}
		sort_list_dists(lists, d->nlist);
		nlists = nprobe;
	}
	else
		for (l = 0; l < d->nlist; l++)
			lists[l].list = l;

	for (l = 0; l < nlists; l++)
	{
		int			list = lists[l].list;
		uint64		start = d->list_offsets[list];
		uint64		end = d->list_offsets[list + 1];
		uint64		b;

		for (b = start; b < end; b += SS_SEARCH_BLOCK)
		{
			int			n = (int) Min(SS_SEARCH_BLOCK, end - b);
			int			j;

			SsDistanceBatch(d->metric, q, d->vectors + b * d->dim, n, d->dim, dist);
			for (j = 0; j < n; j++)
			{
				int32		row;

				if (!MayEnter(top, dist[j]))
					continue;
				row = d->rows[b + j];
				if (skip != NULL && bit_test(skip, row))
					continue;
				if (req->has_as_of && d->timestamps[row] > req->as_of)
					continue;
				Offer(top, dist[j], d->keys[row]);
			}
		}
	}
}

/* Search the growing segment exactly for every query. */
static void
SearchGrowing(CollEntry *ce, const SsSearchRequest *req, SsMetric metric, SsExpr *expr,
			  const float *queries, TopK *tops)
{
	SsCollection *coll = ce->coll;
	SsBatch    *batch = SsGrowingRead(coll, true);
	Bitmapset  *fields = expr ? SsExprFields(expr) : NULL;
	SsValue    *row = palloc0(sizeof(SsValue) * coll->nfields);
	float	   *vectors = (float *) batch->cols[coll->vec].values;
	const int64 *ts = (const int64 *) batch->cols[coll->nfields].values;
	bool	   *skip = palloc0(sizeof(bool) * Max(batch->nrows, 1));
	float	   *dist = palloc(sizeof(float) * Max(batch->nrows, 1));
	int64		r;
	int			qi;

	if (batch->nrows == 0)
		return;
	for (r = 0; r < batch->nrows; r++)
	{
		if (metric == SS_METRIC_COSINE)
			(void) SsNormalize(vectors + r * coll->dim, coll->dim);
		if (req->has_as_of && ts[r] > req->as_of)
			skip[r] = true;
		else if (expr != NULL)
		{
			int			f = -1;

			while ((f = bms_next_member(fields, f)) >= 0)
				SsBatchValue(batch, f, r, &row[f]);
			skip[r] = !SsExprEval(expr, row);
		}
	}
	for (qi = 0; qi < req->nqueries; qi++)
	{
		SsDistanceBatch(metric, queries + (Size) qi * coll->dim, vectors, batch->nrows,
						coll->dim, dist);
		for (r = 0; r < batch->nrows; r++)
			if (!skip[r])
				Offer(&tops[qi], dist[r], SsBatchKey(batch, coll->pk, r));
	}
}

/* The metric a search uses: the index's, or the requested one without index. */
static SsMetric
SearchMetric(CollEntry *ce, const SsSearchRequest *req)
{
	if (!ce->has_index)
		return req->has_metric ? req->metric : SS_METRIC_L2;
	if (req->has_metric && req->metric != ce->def.metric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric_type %s does not match the index of collection \"%s\", which uses %s",
						SsMetricName(req->metric), ce->coll->name, SsMetricName(ce->def.metric))));
	return ce->def.metric;
}

/* nprobe of a search, checked against the index. */
static int
SearchNprobe(CollEntry *ce, const SsSearchRequest *req)
{
	int			nlist = ce->has_index ? ce->def.nlist : 1;

	if (req->nprobe == 0)
		return Min(SS_DEFAULT_NPROBE, nlist);
	if (ce->has_index && ce->def.type == SS_INDEX_IVF_FLAT &&
		(req->nprobe < 1 || req->nprobe > nlist))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nprobe must be between 1 and %d (the index's nlist), not %d",
						nlist, req->nprobe)));
	return req->nprobe;
}

/*
 * Check the as_of time lies inside the retention window, measured from the
 * statement's start: a compaction that committed since the transaction
 * started, and which this statement sees, kept only the deletes younger
 * than the window at its own start.
 */
static void
CheckAsOf(const SsSearchRequest *req)
{
	TimestampTz oldest = GetCurrentStatementStartTimestamp() -
		(TimestampTz) ss_retention_duration_s * USECS_PER_SEC;

	if (req->has_as_of && req->as_of < oldest)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is outside the retention window",
						pstrdup(timestamptz_to_str(req->as_of))),
				 errdetail("segstore.retention_duration is %d s, so the oldest time a search can see is %s.",
						   ss_retention_duration_s, pstrdup(timestamptz_to_str(oldest))),
				 errhint("Raise segstore.retention_duration to keep deletes longer.")));
}

/*
 * Search a collection for the k nearest live entities to each query; rows
 * go to store sorted by distance, then id.
 */
void
SsSearch(const char *collection, const SsSearchRequest *req, Tuplestorestate *store,
		 TupleDesc desc)
{
	CollEntry  *ce = OpenColl(collection);
	SsCollection *coll = ce->coll;
	SsMetric	metric;
	int			nprobe;
	SsExpr	   *expr = NULL;
	int64		lo = PG_INT64_MIN;
	int64		hi = PG_INT64_MAX;
	SegPlan    *plans;
	int			nplans = 0;
	TopK	   *tops;
	float	   *queries;
	float	   *dist;
	ListDist   *lists;
	int			max_nlist = 1;
	int			qi;
	int			i;

	if (req->dim != coll->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d, for the query vector of collection \"%s\"",
						coll->dim, req->dim, coll->name)));
	metric = SearchMetric(ce, req);
	nprobe = SearchNprobe(ce, req);
	CheckAsOf(req);
	if (req->filter != NULL)
	{
		expr = SsExprParse(req->filter, coll->fields, coll->nfields);
		(void) SsExprBounds(expr, coll->pk, &lo, &hi);
	}

	queries = palloc(sizeof(float) * req->nqueries * coll->dim);
	memcpy(queries, req->queries, sizeof(float) * req->nqueries * coll->dim);
	if (metric == SS_METRIC_COSINE)
		for (qi = 0; qi < req->nqueries; qi++)
			(void) SsNormalize(queries + (Size) qi * coll->dim, coll->dim);
	/* Every query's top k is held until the end: bounded as a sort is. */
	if ((double) req->nqueries * req->k * sizeof(Hit) > (double) work_mem * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%d queries with k %d need %.0f kB for their results, more than work_mem (%d kB)",
						req->nqueries, req->k,
						(double) req->nqueries * req->k * sizeof(Hit) / 1024, work_mem),
				 errhint("Raise work_mem or search in smaller batches.")));
	tops = palloc(sizeof(TopK) * req->nqueries);
	for (qi = 0; qi < req->nqueries; qi++)
	{
		tops[qi].k = req->k;
		tops[qi].n = 0;
		tops[qi].hits = palloc(sizeof(Hit) * req->k);
	}

	/* Sealed segments: what each query skips is the same for all queries. */
	plans = palloc(sizeof(SegPlan) * Max(ce->nsegs, 1));
	for (i = 0; i < ce->nsegs; i++)
	{
		SegEntry   *seg = ce->segs[i];

		if (seg->pk_max < lo || seg->pk_min > hi)
			continue;
		LoadData(ce, seg, metric);
		plans[nplans].seg = seg;
		plans[nplans].skip = SkipRows(ce, seg, req, expr);
		max_nlist = Max(max_nlist, seg->data->nlist);
		nplans++;
		CHECK_FOR_INTERRUPTS();
	}
	dist = palloc(sizeof(float) * SS_SEARCH_BLOCK);
	lists = palloc(sizeof(ListDist) * max_nlist);
	for (qi = 0; qi < req->nqueries; qi++)
	{
		for (i = 0; i < nplans; i++)
			SearchSegment(plans[i].seg->data, queries + (Size) qi * coll->dim, nprobe,
						  plans[i].skip, req, &tops[qi], dist, lists);
		CHECK_FOR_INTERRUPTS();
	}

	if (coll->growing_bytes > 0)
		SearchGrowing(ce, req, metric, expr, queries, tops);

	for (qi = 0; qi < req->nqueries; qi++)
	{
		TopK	   *top = &tops[qi];

		sort_hits(top->hits, top->n);
		for (i = 0; i < top->n; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};
			int			c = 0;

			if (req->with_query_no)
				values[c++] = Int32GetDatum(qi + 1);
			values[c++] = Int64GetDatum(top->hits[i].id);
			values[c++] = Float4GetDatum(top->hits[i].dist);
			tuplestore_putvalues(store, desc, values, nulls);
		}
	}
}

/* Map (or decode) every segment of a collection and read its pages ahead. */
void
SsSearchLoad(const char *collection)
{
	CollEntry  *ce = OpenColl(collection);
	SsMetric	metric = ce->has_index ? ce->def.metric : SS_METRIC_L2;
	int			i;

	for (i = 0; i < ce->nsegs; i++)
	{
		LoadData(ce, ce->segs[i], metric);
		if (ce->segs[i]->file != NULL)
			SsIvfWillNeed(ce->segs[i]->file);
		LoadDeletes(ce->segs[i]);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Drop this backend's mappings and memory of a collection. */
void
SsSearchRelease(const char *collection)
{
	CollEntry  *ce = OpenColl(collection);

	FreeColl(ce, true);
}
