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
 * What a search knows of the sealed segments comes from the per-backend
 * cache (search_cache.c): a search of a collection that did not change
 * since the last one costs one catalog lookup, and maps, checks or
 * decodes no file again.
 *
 * Deletes apply from delta binlogs and pending deletes alike; with as_of,
 * only those at or before it, and rows written after it are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "data/growing.h"
#include "data/segment.h"
#include "data/stamp.h"
#include "expr/expr.h"
#include "format/batch.h"
#include "format/binlog.h"
#include "search/search.h"
#include "search/search_int.h"

/* Entries whose distances are computed at a time. */
#define SS_SEARCH_BLOCK 1024

/* Default nprobe of IVF_FLAT searches, capped by nlist. */
#define SS_DEFAULT_NPROBE 10

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

#define ST_SORT SortListDists
#define ST_ELEMENT_TYPE ListDist
#define ST_COMPARE(a, b) (DistCmp((a)->dist, (b)->dist) != 0 ? DistCmp((a)->dist, (b)->dist) : \
						  (a)->list - (b)->list)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT SortHits
#define ST_ELEMENT_TYPE Hit
#define ST_COMPARE(a, b) (DistCmp((a)->dist, (b)->dist) != 0 ? DistCmp((a)->dist, (b)->dist) : \
						  (a)->id < (b)->id ? -1 : (a)->id > (b)->id ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* What one query needs to know of one segment. */
typedef struct SegPlan
{
	SsCachedSegment *seg;
	const uint8 *skip;			/* rows to skip, or NULL */
} SegPlan;

/* qsort order of segment plans: by centroid key, then segment id. */
static int
PlanCmp(const void *a, const void *b)
{
	const SsCachedSegment *x = ((const SegPlan *) a)->seg;
	const SsCachedSegment *y = ((const SegPlan *) b)->seg;

	if (x->centroid_key != y->centroid_key)
		return x->centroid_key < y->centroid_key ? -1 : 1;
	return x->segment_id < y->segment_id ? -1 : x->segment_id > y->segment_id;
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

/* Rows of a segment a filter passes, cached for the next query with it. */
static const uint8 *
FilterPass(SsCachedCollection *ce, SsCachedSegment *seg, const char *text, SsExpr *expr)
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
	reader = SsSegmentOpenInsert(coll, seg->insert_path, seg->segment_id, seg->num_rows);
	batch = SsBatchCreate(coll->fields, coll->nfields, seg->num_rows);
	while ((f = bms_next_member(fields, f)) >= 0)
		SsBinlogReadColumn(reader, f, &batch->cols[f]);
	SsBinlogClose(reader);
	row = palloc0(sizeof(SsValue) * coll->nfields);
	pass = MemoryContextAllocZero(seg->cxt, (seg->num_rows + 7) / 8);
	for (r = 0; r < seg->num_rows; r++)
	{
		f = -1;
		while ((f = bms_next_member(fields, f)) >= 0)
			SsBatchValue(batch, f, r, &row[f]);
		if (SsExprEval(expr, row))
			BitSet(pass, r);
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
 * Rows of a segment a query must skip: deleted (at or before as_of) or
 * failing the filter.  NULL when there are none.
 */
static const uint8 *
SkipRows(SsCachedCollection *ce, SsCachedSegment *seg, const SsSearchRequest *req,
		 SsExpr *expr)
{
	Size		bytes = (seg->num_rows + 7) / 8;
	const uint8 *pass = expr ? FilterPass(ce, seg, req->filter, expr) : NULL;
	const uint8 *deleted;
	uint8	   *skip;
	Size		i;

	if (req->has_as_of)
	{
		uint8	   *bits = palloc0(bytes);

		SsSearchCacheLoadDeletes(seg);
		SsSearchCacheMarkDeleted(ce, seg, true, req->as_of, bits);
		deleted = bits;
	}
	else
		deleted = SsSearchCacheDeleted(ce, seg);
	if (pass == NULL)
		return deleted;
	skip = palloc(bytes);
	for (i = 0; i < bytes; i++)
		skip[i] = (uint8) ~pass[i] | (deleted ? deleted[i] : 0);
	return skip;
}

/*
 * Search one segment's data for one query.  With same_centroids, lists
 * already holds the lists in order of their centroids' distance, from a
 * segment with the same centroids.
 */
static void
SearchSegment(const SsIvfData *d, const float *q, int nprobe, const uint8 *skip,
			  const SsSearchRequest *req, TopK *top, float *dist, ListDist *lists,
			  bool same_centroids)
{
	int			nlists = d->nlist;
	int			l;

	if (nprobe < d->nlist && same_centroids)
		nlists = nprobe;
	else if (nprobe < d->nlist)
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
		SortListDists(lists, d->nlist);
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
				if (skip != NULL && BitTest(skip, row))
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
SearchGrowing(SsCachedCollection *ce, const SsSearchRequest *req, SsMetric metric,
			  SsExpr *expr, const float *queries, TopK *tops)
{
	SsCollection *coll = ce->coll;
	Bitmapset  *fields = expr ? SsExprFields(expr) : NULL;
	SsBatch    *batch = SsGrowingScan(coll, bms_add_member(bms_copy(fields), coll->vec));
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
SearchMetric(SsCachedCollection *ce, const SsSearchRequest *req)
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
SearchNprobe(SsCachedCollection *ce, const SsSearchRequest *req)
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
 * Refuse an as_of the collection can no longer answer: outside its
 * retention window, measured from the statement's start (growing rows
 * deleted outright and compactions that keep only the window's deletes),
 * or before what a smaller window let go (history_from).
 */
static void
CheckAsOf(SsCachedCollection *ce, const SsSearchRequest *req)
{
	SsCollection *coll = ce->coll;
	TimestampTz oldest = GetCurrentStatementStartTimestamp() -
		(TimestampTz) coll->retention_s * USECS_PER_SEC;

	if (!req->has_as_of)
		return;
	SsStampCheckAsOf(coll->name, coll->id, req->as_of);
	if (req->as_of < oldest)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is outside the retention window of collection \"%s\"",
						pstrdup(timestamptz_to_str(req->as_of)), coll->name),
				 errdetail("Its retention is %d s, so the oldest time a search can see is %s.",
						   coll->retention_s, pstrdup(timestamptz_to_str(oldest))),
				 errhint("The collection's owner can widen it with segstore.alter_collection(..., retention => ...), for deletes from then on.")));
	if (req->as_of < coll->history_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is outside the retention window of collection \"%s\"",
						pstrdup(timestamptz_to_str(req->as_of)), coll->name),
				 errdetail("Its window was smaller before, so the oldest time a search can see is %s.",
						   pstrdup(timestamptz_to_str(coll->history_from)))));
}

/* Refuse an as_of before the deletes a compaction purged from a segment. */
static void
CheckAsOfSegment(SsCachedCollection *ce, SsCachedSegment *seg, const SsSearchRequest *req)
{
	if (req->has_as_of && req->as_of < seg->purged_until)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of %s is outside the retention window of collection \"%s\"",
						pstrdup(timestamptz_to_str(req->as_of)), ce->coll->name),
				 errdetail("A compaction purged rows of segment " INT64_FORMAT " deleted up to %s, so that is the oldest time a search can see.",
						   seg->segment_id, pstrdup(timestamptz_to_str(seg->purged_until)))));
}

/*
 * Search a collection for the k nearest live entities to each query; rows
 * go to store sorted by distance, then id.
 */
void
SsSearch(const char *collection, const SsSearchRequest *req, Tuplestorestate *store,
		 TupleDesc desc)
{
	SsCachedCollection *ce = SsSearchCacheOpen(collection);
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
	CheckAsOf(ce, req);
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
		SsCachedSegment *seg = ce->segs[i];

		if (seg->pk_max < lo || seg->pk_min > hi)
			continue;
		CheckAsOfSegment(ce, seg, req);
		SsSearchCacheLoadData(ce, seg, metric);
		plans[nplans].seg = seg;
		plans[nplans].skip = SkipRows(ce, seg, req, expr);
		max_nlist = Max(max_nlist, seg->data->nlist);
		nplans++;
		CHECK_FOR_INTERRUPTS();
	}
	dist = palloc(sizeof(float) * SS_SEARCH_BLOCK);
	lists = palloc(sizeof(ListDist) * max_nlist);
	/* segments that share centroids next to each other */
	qsort(plans, nplans, sizeof(SegPlan), PlanCmp);
	for (qi = 0; qi < req->nqueries; qi++)
	{
		for (i = 0; i < nplans; i++)
		{
			uint64		key = plans[i].seg->centroid_key;

			SearchSegment(plans[i].seg->data, queries + (Size) qi * coll->dim, nprobe,
						  plans[i].skip, req, &tops[qi], dist, lists,
						  i > 0 && key != 0 && key == plans[i - 1].seg->centroid_key);
		}
		CHECK_FOR_INTERRUPTS();
	}

	SearchGrowing(ce, req, metric, expr, queries, tops);

	for (qi = 0; qi < req->nqueries; qi++)
	{
		TopK	   *top = &tops[qi];

		SortHits(top->hits, top->n);
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
