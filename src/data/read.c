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

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/sort_template.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

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
 * source), one at a time so that only one segment is in memory.
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
	MemoryContext cxt;
	MemoryContext old;

	if (expr)
		(void) SsExprBounds(expr, coll->pk, &lo, &hi);
	if (lo > hi)
		return;

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

/* State of SsReadQuery. */
typedef struct QueryState
{
	SsCollection *coll;
	SsExpr	   *expr;
	Bitmapset  *fields;
	bool	   *output;			/* per field: in the output? */
	SsValue    *row;
	int64		limit;
	ResultRow  *rows;
	int64		nrows;
	int64		capacity;
	MemoryContext cxt;			/* where results live */
} QueryState;

/* Add the matching rows of one source to the results. */
static void
CollectQueryRows(Source *src, void *arg)
{
	QueryState *qs = arg;
	SsCollection *coll = qs->coll;
	int64		r;

	for (r = 0; r < src->batch->nrows; r++)
	{
		JsonbParseState *state = NULL;
		JsonbValue *result;
		MemoryContext old;
		int			f;

		if (!RowMatches(src, r, coll->pk, qs->expr, qs->fields, qs->row))
			continue;

		old = MemoryContextSwitchTo(qs->cxt);
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
			PushField(&state, &coll->fields[f], &src->batch->cols[f], r);
		}
		result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		if (qs->nrows == qs->capacity)
		{
			qs->capacity *= 2;
			qs->rows = repalloc_huge(qs->rows, sizeof(ResultRow) * qs->capacity);
		}
		qs->rows[qs->nrows].key = SsBatchKey(src->batch, coll->pk, r);
		qs->rows[qs->nrows].json = JsonbValueToJsonb(result);
		qs->nrows++;
		MemoryContextSwitchTo(old);
	}

	/* With a limit, only the smallest keys so far can survive. */
	if (qs->limit >= 0 && qs->nrows > qs->limit)
	{
		sort_result_rows(qs->rows, qs->nrows);
		qs->nrows = qs->limit;
	}
}

/*
 * Live entities matching expr (NULL: all) as jsonb objects of the output
 * fields (NIL: all; the primary key always), in primary key order, at most
 * limit of them (negative: no limit).
 */
void
SsReadQuery(SsCollection *coll, const char *text, List *output_fields,
			int64 limit, Tuplestorestate *store, TupleDesc desc)
{
	QueryState	qs;
	ListCell   *lc;
	bool		need_vector;
	int64		i;

	qs.coll = coll;
	qs.expr = text ? SsExprParse(text, coll->fields, coll->nfields) : NULL;
	qs.fields = qs.expr ? SsExprFields(qs.expr) : NULL;
	qs.output = palloc0(sizeof(bool) * coll->nfields);
	qs.row = palloc0(sizeof(SsValue) * coll->nfields);
	qs.limit = limit;
	qs.capacity = 256;
	qs.nrows = 0;
	qs.rows = palloc(sizeof(ResultRow) * qs.capacity);
	qs.cxt = CurrentMemoryContext;

	qs.output[coll->pk] = true;
	foreach(lc, output_fields)
	{
		char	   *name = lfirst(lc);
		int			f;

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
		for (i = 0; i < coll->nfields; i++)
			qs.output[i] = true;
	need_vector = qs.output[coll->vec];

	if (limit != 0)
		ForEachSource(coll, qs.expr, need_vector, CollectQueryRows, &qs);
	sort_result_rows(qs.rows, qs.nrows);
	if (limit >= 0 && qs.nrows > limit)
		qs.nrows = limit;
	for (i = 0; i < qs.nrows; i++)
	{
		Datum		value = JsonbPGetDatum(qs.rows[i].json);
		bool		isnull = false;

		tuplestore_putvalues(store, desc, &value, &isnull);
	}
}
