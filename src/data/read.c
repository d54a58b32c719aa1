/*-------------------------------------------------------------------------
 *
 * read.c
 *	  Reading a collection's live entities.  Sources are the growing table
 *	  and every flushed segment; a segment's row is live unless its key is
 *	  in one of the segment's delta binlogs or pending deletes.  Segments
 *	  whose key range cannot match the expression are not read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/sort_template.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"

#include "data/growing.h"
#include "data/read.h"
#include "data/segment.h"
#include "format/batch.h"

/* Rows of one source, with the keys deleted from it. */
typedef struct Source
{
	SsBatch    *batch;
	int64	   *deleted;
	int			ndeleted;
} Source;

/* A query result row waiting to be sorted by key. */
typedef struct ResultRow
{
	int64		key;
	Jsonb	   *json;
} ResultRow;

#define ST_SORT sort_result_rows
#define ST_ELEMENT_TYPE ResultRow
#define ST_COMPARE(a, b) ((a)->key < (b)->key ? -1 : (a)->key > (b)->key ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Live entities: flushed segments minus their deletes, plus growing rows. */
int64
SsReadNumEntities(SsCollection *coll)
{
	List	   *segments = SsCatalogSegments(coll->id, true);
	int64		total = SsGrowingCount(coll);
	ListCell   *lc;

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		total += seg->num_rows - seg->delta_rows - seg->pending_rows;
	}
	return total;
}

/*
 * Call fn for every source that may hold a match of expr (NULL: every
 * source), one at a time so that only one segment is in memory.  Every
 * source is read in one snapshot, the statement's: in a session that
 * writes (a delete by expression), each catalog statement would take a
 * snapshot of its own in READ COMMITTED, and a seal committing between
 * the list of segments and the read of the growing table would hide the
 * rows it moved.
 */
static void
ForEachSource(SsCollection *coll, SsExpr *expr, bool all_fields,
			  void (*fn) (Source *src, void *arg), void *arg)
{
	int64		lo = PG_INT64_MIN;
	int64		hi = PG_INT64_MAX;
	List	   *segments;
	ListCell   *lc;
	Source		src;
	Snapshot	snapshot;
	Snapshot	prev;
	MemoryContext cxt;
	MemoryContext old;

	if (expr)
		(void) SsExprBounds(expr, coll->pk, &lo, &hi);
	if (lo > hi)
		return;

	snapshot = RegisterSnapshot(GetActiveSnapshot());
	prev = SsCatalogSetSnapshot(snapshot);
	segments = SsCatalogSegments(coll->id, true);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore source",
								ALLOCSET_DEFAULT_SIZES);

	src.batch = SsGrowingRead(coll, all_fields);
	src.deleted = NULL;
	src.ndeleted = 0;
	fn(&src, arg);

	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		if (seg->pk_max < lo || seg->pk_min > hi)
			continue;
		old = MemoryContextSwitchTo(cxt);
		src.batch = SsSegmentRead(coll, seg, all_fields);
		src.deleted = SsSegmentDeletedKeys(seg, &src.ndeleted);
		MemoryContextSwitchTo(old);
		fn(&src, arg);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(cxt);
	(void) SsCatalogSetSnapshot(prev);
	UnregisterSnapshot(snapshot);
}

/* Does live row r of a source match the expression? */
static bool
RowMatches(Source *src, int64 r, int pk, SsExpr *expr, Bitmapset *fields, SsValue *row)
{
	int			f = -1;

	if (src->ndeleted > 0 &&
		SsSortedContains(src->deleted, src->ndeleted, SsBatchKey(src->batch, pk, r)))
		return false;
	if (expr == NULL)
		return true;
	while ((f = bms_next_member(fields, f)) >= 0)
		SsBatchValue(src->batch, f, r, &row[f]);
	return SsExprEval(expr, row);
}

/* State of SsReadMatchingKeys. */
typedef struct KeyCollector
{
	SsCollection *coll;
	SsExpr	   *expr;
	Bitmapset  *fields;
	SsValue    *row;
	int64	   *keys;
	int			nkeys;
	int			capacity;
} KeyCollector;

/* Collect matching keys of one source. */
static void
CollectKeys(Source *src, void *arg)
{
	KeyCollector *kc = arg;
	int64		r;

	for (r = 0; r < src->batch->nrows; r++)
	{
		if (!RowMatches(src, r, kc->coll->pk, kc->expr, kc->fields, kc->row))
			continue;
		if (kc->nkeys == kc->capacity)
		{
			kc->capacity *= 2;
			kc->keys = repalloc_huge(kc->keys, sizeof(int64) * kc->capacity);
		}
		kc->keys[kc->nkeys++] = SsBatchKey(src->batch, kc->coll->pk, r);
	}
}

/* Keys of the live entities an expression matches, sorted. */
int64 *
SsReadMatchingKeys(SsCollection *coll, SsExpr *expr, int *nkeys)
{
	KeyCollector kc;

	kc.coll = coll;
	kc.expr = expr;
	kc.fields = SsExprFields(expr);
	kc.row = palloc0(sizeof(SsValue) * coll->nfields);
	kc.capacity = 1024;
	kc.nkeys = 0;
	kc.keys = palloc(sizeof(int64) * kc.capacity);
	ForEachSource(coll, expr, false, CollectKeys, &kc);
	SsSortKeys(kc.keys, &kc.nkeys, false);
	*nkeys = kc.nkeys;
	return kc.keys;
}

/* A JSON number from a float, spelled as PostgreSQL's output function does. */
static void
FloatJsonValue(double v, bool is_float4, JsonbValue *jv)
{
	char	   *s = is_float4 ?
		DatumGetCString(DirectFunctionCall1(float4out, Float4GetDatum((float4) v))) :
		DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(v)));

	/* JSON has no NaN or infinity; to_jsonb() spells them as strings too. */
	if (isnan(v) || isinf(v))
	{
		jv->type = jbvString;
		jv->val.string.val = s;
		jv->val.string.len = strlen(s);
		return;
	}
	jv->type = jbvNumeric;
	jv->val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
														  ObjectIdGetDatum(InvalidOid),
														  Int32GetDatum(-1)));
}

/* Add one field's value of row r to the object being built. */
static void
PushField(JsonbParseState **state, const SsField *field, const SsColumn *col, int64 r)
{
	JsonbValue	jv;

	switch (field->type)
	{
		case SS_TYPE_INT8:
		case SS_TYPE_INT4:
			jv.type = jbvNumeric;
			jv.val.numeric = int64_to_numeric(field->type == SS_TYPE_INT8 ?
											  ((const int64 *) col->values)[r] :
											  ((const int32 *) col->values)[r]);
			break;
		case SS_TYPE_FLOAT4:
			FloatJsonValue(((const float4 *) col->values)[r], true, &jv);
			break;
		case SS_TYPE_FLOAT8:
			FloatJsonValue(((const float8 *) col->values)[r], false, &jv);
			break;
		case SS_TYPE_BOOL:
			jv.type = jbvBool;
			jv.val.boolean = col->values[r] != 0;
			break;
		case SS_TYPE_TEXT:
		case SS_TYPE_VARCHAR:
			jv.type = jbvString;
			jv.val.string.val = col->data + col->offsets[r];
			jv.val.string.len = (int) (col->offsets[r + 1] - col->offsets[r]);
			break;
		case SS_TYPE_JSONB:
			{
				Size		len = col->offsets[r + 1] - col->offsets[r];
				Jsonb	   *jb = palloc(VARHDRSZ + len);

				SET_VARSIZE(jb, VARHDRSZ + len);
				memcpy(VARDATA(jb), col->data + col->offsets[r], len);
				jv.type = jbvBinary;
				jv.val.binary.data = &jb->root;
				jv.val.binary.len = (int) len;
				break;
			}
		case SS_TYPE_VECTOR:
			{
				const float4 *v = (const float4 *) (col->values + (Size) 4 * col->dim * r);
				int			i;

				pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
				for (i = 0; i < col->dim; i++)
				{
					FloatJsonValue(v[i], true, &jv);
					pushJsonbValue(state, WJB_ELEM, &jv);
				}
				pushJsonbValue(state, WJB_END_ARRAY, NULL);
				return;
			}
	}
	pushJsonbValue(state, WJB_VALUE, &jv);
}

/* Rows of a query source decoded at a time: about this many bytes. */
#define SS_QUERY_CHUNK_BYTES ((int64) 1024 * 1024)
#define SS_QUERY_CHUNK_MIN_ROWS 4096
#define SS_QUERY_CHUNK_MAX_ROWS 65536

/* One source of a query: a flushed segment, or the growing table. */
typedef struct ReadSource
{
	SsSegment  *seg;			/* NULL: the growing table */
	int64		pk_min;
	int64		pk_max;
} ReadSource;

/*
 * State of SsReadQuery.  Rows reach the result in one of three ways: with
 * a limit, a max-heap by key keeps the limit's smallest keys (a row whose
 * key cannot make it is never turned into jsonb); without one, rows go
 * straight into the result when the sources' key ranges do not overlap
 * (read in key order, they are in key order), else through a tuplesort.
 * Both the tuplesort and the result's tuplestore keep work_mem in memory
 * and spill the rest to temporary files.
 */
typedef struct QueryState
{
	SsCollection *coll;
	SsExpr	   *expr;
	Bitmapset  *fields;
	bool	   *output;			/* per field: in the output? */
	bool	   *wanted;			/* per column: to be read? */
	SsValue    *row;
	int64		lo;				/* keys the expression can match */
	int64		hi;
	int64		limit;			/* negative: none */
	ResultRow  *heap;			/* with a limit: max-heap by key */
	int64		nheap;
	int64		heap_capacity;
	Tuplesortstate *sort;		/* without a limit, overlapping sources */
	TupleDesc	sort_desc;		/* (key int8, row jsonb) */
	TupleTableSlot *sort_slot;
	Tuplestorestate *store;
	TupleDesc	desc;
	MemoryContext heap_cxt;		/* the heap's jsonb */
	MemoryContext row_cxt;		/* one row being built */
	MemoryContext chunk_cxt;	/* one chunk of one source */
} QueryState;

/* Is the heap full, so that only keys below its top can enter? */
static inline bool
HeapFull(const QueryState *qs)
{
	return qs->limit >= 0 && qs->nheap == qs->limit;
}

/* Restore the max-heap property from position i downwards. */
static void
HeapSiftDown(ResultRow *heap, int64 n, int64 i)
{
	for (;;)
	{
		int64		l = 2 * i + 1;
		int64		big = i;
		ResultRow	tmp;

		if (l < n && heap[l].key > heap[big].key)
			big = l;
		if (l + 1 < n && heap[l + 1].key > heap[big].key)
			big = l + 1;
		if (big == i)
			return;
		tmp = heap[i];
		heap[i] = heap[big];
		heap[big] = tmp;
		i = big;
	}
}

/* Restore the max-heap property from position i upwards. */
static void
HeapSiftUp(ResultRow *heap, int64 i)
{
	while (i > 0)
	{
		int64		parent = (i - 1) / 2;
		ResultRow	tmp;

		if (heap[parent].key >= heap[i].key)
			return;
		tmp = heap[i];
		heap[i] = heap[parent];
		heap[parent] = tmp;
		i = parent;
	}
}

/* Row r of a batch as a jsonb object of the output fields, in row_cxt. */
static Jsonb *
RowJson(QueryState *qs, SsBatch *batch, int64 r)
{
	SsCollection *coll = qs->coll;
	JsonbParseState *state = NULL;
	JsonbValue *result;
	MemoryContext old = MemoryContextSwitchTo(qs->row_cxt);
	Jsonb	   *json;
	int			f;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (f = 0; f < coll->nfields; f++)
	{
		JsonbValue	key;

		if (!qs->output[f])
			continue;
		key.type = jbvString;
		key.val.string.val = coll->fields[f].name;
		key.val.string.len = strlen(coll->fields[f].name);
		pushJsonbValue(&state, WJB_KEY, &key);
		PushField(&state, &coll->fields[f], &batch->cols[f], r);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	json = JsonbValueToJsonb(result);
	MemoryContextSwitchTo(old);
	return json;
}

/* Hand a matching row to the result. */
static void
EmitRow(QueryState *qs, SsBatch *batch, int64 r, int64 key)
{
	Jsonb	   *json = RowJson(qs, batch, r);

	if (qs->limit >= 0)
	{
		Jsonb	   *copy = MemoryContextAlloc(qs->heap_cxt, VARSIZE(json));

		memcpy(copy, json, VARSIZE(json));
		if (HeapFull(qs))
		{
			pfree(qs->heap[0].json);
			qs->heap[0].key = key;
			qs->heap[0].json = copy;
			HeapSiftDown(qs->heap, qs->nheap, 0);
		}
		else
		{
			if (qs->nheap == qs->heap_capacity)
			{
				qs->heap_capacity = Min(qs->heap_capacity * 2, qs->limit);
				qs->heap = repalloc_huge(qs->heap, sizeof(ResultRow) * qs->heap_capacity);
			}
			qs->heap[qs->nheap].key = key;
			qs->heap[qs->nheap].json = copy;
			HeapSiftUp(qs->heap, qs->nheap++);
		}
	}
	else if (qs->sort)
	{
		ExecClearTuple(qs->sort_slot);
		qs->sort_slot->tts_values[0] = Int64GetDatum(key);
		qs->sort_slot->tts_values[1] = JsonbPGetDatum(json);
		qs->sort_slot->tts_isnull[0] = false;
		qs->sort_slot->tts_isnull[1] = false;
		ExecStoreVirtualTuple(qs->sort_slot);
		tuplesort_puttupleslot(qs->sort, qs->sort_slot);
	}
	else
	{
		Datum		value = JsonbPGetDatum(json);
		bool		isnull = false;

		tuplestore_putvalues(qs->store, qs->desc, &value, &isnull);
	}
	MemoryContextReset(qs->row_cxt);
}

/*
 * Emit the matching rows of a chunk of a source, in key order; false once
 * a key above the expression's bounds or, with a full heap, above its top
 * is reached, since the rest of the source is larger still.
 */
static bool
ChunkRows(QueryState *qs, Source *src)
{
	int			pk = qs->coll->pk;
	int64		r;

	for (r = 0; r < src->batch->nrows; r++)
	{
		int64		key = SsBatchKey(src->batch, pk, r);

		if (key > qs->hi || (HeapFull(qs) && key >= qs->heap[0].key))
			return false;
		if (RowMatches(src, r, pk, qs->expr, qs->fields, qs->row))
			EmitRow(qs, src->batch, r, key);
	}
	return true;
}

/*
 * The rows of [first, first + count) of a segment whose keys are within
 * the expression's key bounds and, with a full heap, below its top: the
 * key column is read first, the others only for those rows.  *past tells
 * that the rest of the segment is out of bounds too.
 */
static SsBatch *
SegmentChunk(QueryState *qs, SsSegment *seg, SsBinlogReader *reader, int64 first,
			 int64 count, bool *past)
{
	SsCollection *coll = qs->coll;
	bool	   *only_key = palloc0(sizeof(bool) * (coll->nfields + 1));
	SsBatch    *keys;
	SsBatch    *batch;
	const int64 *k;
	int64		start = 0;
	int64		end = 0;
	int			c;

	only_key[coll->pk] = true;
	keys = SsSegmentReadRange(coll, seg, reader, only_key, first, count);
	k = (const int64 *) keys->cols[coll->pk].values;
	while (start < count && k[start] < qs->lo)
		start++;
	end = start;
	while (end < count && k[end] <= qs->hi && !(HeapFull(qs) && k[end] >= qs->heap[0].key))
		end++;
	*past = end < count;

	qs->wanted[coll->pk] = false;
	batch = SsSegmentReadRange(coll, seg, reader, qs->wanted, first + start, end - start);
	qs->wanted[coll->pk] = true;
	batch->cols[coll->pk] = keys->cols[coll->pk];
	batch->cols[coll->pk].values += sizeof(int64) * start;
	for (c = 0; c < batch->ncols; c++)
		batch->cols[c].nrows = end - start;
	return batch;
}

/* Emit the matching rows of one source, a chunk at a time. */
static void
SourceRows(QueryState *qs, ReadSource *qsrc)
{
	SsCollection *coll = qs->coll;
	int64		row_bytes = 64;
	int64		chunk_rows;
	Source		src;
	MemoryContext old;

	memset(&src, 0, sizeof(src));
	if (qsrc->seg && qsrc->seg->num_rows > 0)
		row_bytes = Max(qsrc->seg->insert_raw_bytes / qsrc->seg->num_rows, 1);
	else if (qs->wanted[coll->vec])
		row_bytes = (int64) coll->dim * sizeof(float4);
	chunk_rows = Min(Max(SS_QUERY_CHUNK_BYTES / row_bytes, SS_QUERY_CHUNK_MIN_ROWS),
					 SS_QUERY_CHUNK_MAX_ROWS);

	if (qsrc->seg == NULL)
	{
		/* the primary key's index finds the first key within bounds */
		bool		after_set = qs->lo > PG_INT64_MIN;
		int64		after = after_set ? qs->lo - 1 : 0;

		for (;;)
		{
			bool		more;

			old = MemoryContextSwitchTo(qs->chunk_cxt);
			src.batch = SsGrowingReadRange(coll, qs->wanted[coll->vec], after_set, after,
										   chunk_rows);
			MemoryContextSwitchTo(old);
			if (src.batch->nrows == 0)
				break;
			after_set = true;
			after = SsBatchKey(src.batch, coll->pk, src.batch->nrows - 1);
			more = ChunkRows(qs, &src) && src.batch->nrows == chunk_rows;
			MemoryContextReset(qs->chunk_cxt);
			CHECK_FOR_INTERRUPTS();
			if (!more)
				break;
		}
		MemoryContextReset(qs->chunk_cxt);
		return;
	}
	else
	{
		SsSegment  *seg = qsrc->seg;
		MemoryContext source_cxt = AllocSetContextCreate(CurrentMemoryContext,
														 "segstore query source",
														 ALLOCSET_SMALL_SIZES);
		SsBinlogReader *reader;
		int64		first;

		if (seg->insert_path == NULL)
			elog(ERROR, "segment " INT64_FORMAT " has no insert binlog", seg->segment_id);
		old = MemoryContextSwitchTo(source_cxt);
		reader = SsSegmentOpenInsert(coll, seg->insert_path, seg->segment_id, seg->num_rows);
		src.deleted = SsSegmentDeletedKeys(seg, &src.ndeleted);
		MemoryContextSwitchTo(old);
		for (first = 0; first < seg->num_rows; first += chunk_rows)
		{
			bool		past;
			bool		more;

			old = MemoryContextSwitchTo(qs->chunk_cxt);
			src.batch = SegmentChunk(qs, seg, reader, first,
									 Min(chunk_rows, seg->num_rows - first), &past);
			MemoryContextSwitchTo(old);
			more = ChunkRows(qs, &src) && !past;
			MemoryContextReset(qs->chunk_cxt);
			CHECK_FOR_INTERRUPTS();
			if (!more)
				break;
		}
		SsBinlogClose(reader);
		MemoryContextDelete(source_cxt);
	}
}

/* Order of query sources by their smallest key. */
static int
ReadSourceByMinKey(const void *a, const void *b)
{
	const ReadSource *x = a;
	const ReadSource *y = b;

	return x->pk_min < y->pk_min ? -1 : x->pk_min > y->pk_min ? 1 : 0;
}

/*
 * Sources that may hold a match of the expression, sorted by their
 * smallest key; *disjoint tells whether their key ranges overlap.
 */
static ReadSource *
ReadSources(QueryState *qs, int *nsources, bool *disjoint)
{
	int64		lo = qs->lo;
	int64		hi = qs->hi;
	List	   *segments = SsCatalogSegments(qs->coll->id, true);
	ReadSource *sources = palloc(sizeof(ReadSource) * (list_length(segments) + 1));
	int			n = 0;
	int			i;
	ListCell   *lc;

	*nsources = 0;
	*disjoint = true;
	if (lo > hi)
		return sources;
	if (SsGrowingKeyRange(qs->coll, &sources[n].pk_min, &sources[n].pk_max) &&
		sources[n].pk_max >= lo && sources[n].pk_min <= hi)
		sources[n++].seg = NULL;
	foreach(lc, segments)
	{
		SsSegment  *seg = lfirst(lc);

		if (seg->num_rows == 0 || seg->pk_max < lo || seg->pk_min > hi)
			continue;
		sources[n].seg = seg;
		sources[n].pk_min = seg->pk_min;
		sources[n++].pk_max = seg->pk_max;
	}
	qsort(sources, n, sizeof(ReadSource), ReadSourceByMinKey);
	for (i = 1; i < n; i++)
		if (sources[i - 1].pk_max >= sources[i].pk_min)
			*disjoint = false;
	*nsources = n;
	return sources;
}

/* Start the tuplesort that orders rows of overlapping sources by key. */
static void
BeginSort(QueryState *qs)
{
	AttrNumber	attno = 1;
	Oid			op = Int8LessOperator;
	Oid			collation = InvalidOid;
	bool		nulls_first = false;

	qs->sort_desc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(qs->sort_desc, 1, "key", INT8OID, -1, 0);
	TupleDescInitEntry(qs->sort_desc, 2, "row", JSONBOID, -1, 0);
	qs->sort_slot = MakeSingleTupleTableSlot(qs->sort_desc, &TTSOpsVirtual);
	qs->sort = tuplesort_begin_heap(qs->sort_desc, 1, &attno, &op, &collation,
									&nulls_first, work_mem, NULL, TUPLESORT_NONE);
}

/* Move the sorted rows into the result. */
static void
EndSort(QueryState *qs)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(qs->sort_desc, &TTSOpsMinimalTuple);

	tuplesort_performsort(qs->sort);
	while (tuplesort_gettupleslot(qs->sort, true, false, slot, NULL))
	{
		bool		isnull;
		Datum		value = slot_getattr(slot, 2, &isnull);

		tuplestore_putvalues(qs->store, qs->desc, &value, &isnull);
		CHECK_FOR_INTERRUPTS();
	}
	tuplesort_end(qs->sort);
	ExecDropSingleTupleTableSlot(slot);
	ExecDropSingleTupleTableSlot(qs->sort_slot);
}

/*
 * Live entities matching expr (NULL: all) as jsonb objects of the output
 * fields (NIL: all; the primary key always), in primary key order, at most
 * limit of them (negative: no limit).  Sources are read a chunk at a time,
 * only the columns needed, so memory stays bounded: with a limit by the
 * limit's rows, without one by work_mem.
 */
void
SsReadQuery(SsCollection *coll, const char *text, List *output_fields,
			int64 limit, Tuplestorestate *store, TupleDesc desc)
{
	QueryState	qs;
	ReadSource *sources;
	int			nsources;
	bool		disjoint;
	ListCell   *lc;
	int			f;
	int			i;

	memset(&qs, 0, sizeof(qs));
	qs.coll = coll;
	qs.expr = text ? SsExprParse(text, coll->fields, coll->nfields) : NULL;
	qs.fields = qs.expr ? SsExprFields(qs.expr) : NULL;
	qs.output = palloc0(sizeof(bool) * coll->nfields);
	qs.wanted = palloc0(sizeof(bool) * (coll->nfields + 1));
	qs.row = palloc0(sizeof(SsValue) * coll->nfields);
	qs.limit = limit;
	qs.lo = PG_INT64_MIN;
	qs.hi = PG_INT64_MAX;
	if (qs.expr)
		(void) SsExprBounds(qs.expr, coll->pk, &qs.lo, &qs.hi);
	qs.store = store;
	qs.desc = desc;

	qs.output[coll->pk] = true;
	foreach(lc, output_fields)
	{
		char	   *name = lfirst(lc);

		if (strcmp(name, "*") == 0)
		{
			for (f = 0; f < coll->nfields; f++)
				qs.output[f] = true;
			continue;
		}
		for (f = 0; f < coll->nfields; f++)
			if (strcmp(coll->fields[f].name, name) == 0)
				break;
		if (f == coll->nfields)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("field \"%s\" does not exist in collection \"%s\"",
							name, coll->name)));
		qs.output[f] = true;
	}
	if (output_fields == NIL)
		for (f = 0; f < coll->nfields; f++)
			qs.output[f] = true;
	for (f = 0; f < coll->nfields; f++)
		qs.wanted[f] = qs.output[f] || bms_is_member(f, qs.fields);
	if (limit == 0)
		return;

	qs.heap_cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore query results",
										ALLOCSET_DEFAULT_SIZES);
	qs.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore query row",
									   ALLOCSET_DEFAULT_SIZES);
	qs.chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore query chunk",
										 ALLOCSET_DEFAULT_SIZES);
	if (limit > 0)
	{
		qs.heap_capacity = Min(limit, 1024);
		qs.heap = MemoryContextAlloc(qs.heap_cxt, sizeof(ResultRow) * qs.heap_capacity);
	}

	sources = ReadSources(&qs, &nsources, &disjoint);
	if (limit < 0 && !disjoint)
		BeginSort(&qs);
	for (i = 0; i < nsources; i++)
	{
		/* sorted by smallest key: no later source can enter a full heap */
		if (HeapFull(&qs) && sources[i].pk_min >= qs.heap[0].key)
			break;
		SourceRows(&qs, &sources[i]);
	}

	if (qs.sort)
		EndSort(&qs);
	if (limit > 0)
	{
		sort_result_rows(qs.heap, qs.nheap);
		for (i = 0; i < qs.nheap; i++)
		{
			Datum		value = JsonbPGetDatum(qs.heap[i].json);
			bool		isnull = false;

			tuplestore_putvalues(store, desc, &value, &isnull);
		}
	}
	MemoryContextDelete(qs.chunk_cxt);
	MemoryContextDelete(qs.row_cxt);
	MemoryContextDelete(qs.heap_cxt);
}
