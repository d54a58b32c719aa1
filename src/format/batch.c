/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  Operations on batches of rows held as columns, and on sorted key
 *	  arrays.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "format/batch.h"

/* Physical column type that stores a field. */
SsColType
SsFieldColType(const SsField *field)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
			return SS_COL_INT8;
		case SS_TYPE_INT4:
			return SS_COL_INT4;
		case SS_TYPE_FLOAT4:
			return SS_COL_FLOAT4;
		case SS_TYPE_FLOAT8:
			return SS_COL_FLOAT8;
		case SS_TYPE_BOOL:
			return SS_COL_BOOL;
		case SS_TYPE_VECTOR:
			return SS_COL_VECTOR;
		default:
			return SS_COL_VAR;
	}
}

/* Bytes per row of a fixed-width column; 0 for SS_COL_VAR. */
int
SsColWidth(const SsColumn *col)
{
	switch (col->type)
	{
		case SS_COL_INT4:
		case SS_COL_FLOAT4:
			return 4;
		case SS_COL_INT8:
		case SS_COL_FLOAT8:
			return 8;
		case SS_COL_BOOL:
			return 1;
		case SS_COL_VECTOR:
			return 4 * col->dim;
		case SS_COL_VAR:
			return 0;
	}
	return 0;
}

/* A batch with typed but unallocated columns for the fields and timestamps. */
SsBatch *
SsBatchCreate(const SsField *fields, int nfields, int64 nrows)
{
	SsBatch    *batch = palloc0(sizeof(SsBatch));
	int			i;

	batch->nrows = nrows;
	batch->ncols = nfields + 1;
	batch->cols = palloc0(sizeof(SsColumn) * batch->ncols);
	for (i = 0; i < nfields; i++)
	{
		batch->cols[i].type = SsFieldColType(&fields[i]);
		batch->cols[i].dim = fields[i].type == SS_TYPE_VECTOR ? fields[i].typmod : 0;
		batch->cols[i].nrows = nrows;
	}
	batch->cols[nfields].type = SS_COL_INT8;
	batch->cols[nfields].nrows = nrows;
	return batch;
}

/* Allocate a column's storage for nrows rows (and var_bytes of var data). */
void
SsColumnAllocate(SsColumn *col, int64 nrows, Size var_bytes)
{
	col->nrows = nrows;
	if (col->type == SS_COL_VAR)
	{
		col->values = palloc(1);	/* marks the column as present */
		col->offsets = MemoryContextAllocHuge(CurrentMemoryContext,
											  sizeof(uint64) * (nrows + 1));
		col->offsets[0] = 0;
		col->data = MemoryContextAllocHuge(CurrentMemoryContext, Max(var_bytes, 1));
	}
	else
		col->values = MemoryContextAllocHuge(CurrentMemoryContext,
											 Max((Size) SsColWidth(col) * nrows, 1));
}

/* Key of a row in an SS_COL_INT8 column. */
int64
SsBatchKey(const SsBatch *batch, int keycol, int64 row)
{
	return ((const int64 *) batch->cols[keycol].values)[row];
}

/* A palloc'd copy of a batch's keys. */
int64 *
SsBatchKeys(const SsBatch *batch, int keycol)
{
	int64	   *keys = MemoryContextAllocHuge(CurrentMemoryContext,
											  sizeof(int64) * Max(batch->nrows, 1));

	memcpy(keys, batch->cols[keycol].values, sizeof(int64) * batch->nrows);
	return keys;
}

/* Row of a batch with its key, for sorting. */
typedef struct KeyedRow
{
	int64		key;
	int64		row;
} KeyedRow;

#define ST_SORT SortKeyedRows
#define ST_ELEMENT_TYPE KeyedRow
#define ST_COMPARE(a, b) ((a)->key < (b)->key ? -1 : (a)->key > (b)->key ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT SortInt64
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE(a, b) (*(a) < *(b) ? -1 : *(a) > *(b) ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Reorder the rows of a column by perm, in place. */
static void
PermuteColumn(SsColumn *col, const KeyedRow *perm, int64 n)
{
	if (col->values == NULL)
		return;
	if (col->type == SS_COL_VAR)
	{
		uint64	   *offsets = MemoryContextAllocHuge(CurrentMemoryContext,
													 sizeof(uint64) * (n + 1));
		char	   *data = MemoryContextAllocHuge(CurrentMemoryContext,
												  Max(col->offsets[n], 1));
		int64		i;

		offsets[0] = 0;
		for (i = 0; i < n; i++)
		{
			int64		r = perm[i].row;
			uint64		len = col->offsets[r + 1] - col->offsets[r];

			memcpy(data + offsets[i], col->data + col->offsets[r], len);
			offsets[i + 1] = offsets[i] + len;
		}
		pfree(col->offsets);
		pfree(col->data);
		col->offsets = offsets;
		col->data = data;
	}
	else
	{
		int			w = SsColWidth(col);
		char	   *values = MemoryContextAllocHuge(CurrentMemoryContext, Max((Size) w * n, 1));
		int64		i;

		for (i = 0; i < n; i++)
			memcpy(values + (Size) w * i, col->values + (Size) w * perm[i].row, w);
		pfree(col->values);
		col->values = values;
	}
}

/* Sort a batch's rows by the int8 column keycol, unless already sorted. */
void
SsBatchSortByKey(SsBatch *batch, int keycol)
{
	const int64 *keys = (const int64 *) batch->cols[keycol].values;
	KeyedRow   *perm;
	int64		i;
	int			c;

	for (i = 1; i < batch->nrows; i++)
		if (keys[i - 1] > keys[i])
			break;
	if (i >= batch->nrows)
		return;

	perm = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(KeyedRow) * batch->nrows);
	for (i = 0; i < batch->nrows; i++)
	{
		perm[i].key = keys[i];
		perm[i].row = i;
	}
	SortKeyedRows(perm, batch->nrows);
	for (c = 0; c < batch->ncols; c++)
	{
		CHECK_FOR_INTERRUPTS();
		PermuteColumn(&batch->cols[c], perm, batch->nrows);
	}
	pfree(perm);
}

/* Uncompressed bytes of one row over the loaded columns. */
int64
SsBatchRowBytes(const SsBatch *batch, int64 row)
{
	int64		bytes = 0;
	int			c;

	for (c = 0; c < batch->ncols; c++)
	{
		const SsColumn *col = &batch->cols[c];

		if (col->values == NULL)
			continue;
		if (col->type == SS_COL_VAR)
			bytes += col->offsets[row + 1] - col->offsets[row] + 4;
		else
			bytes += SsColWidth(col);
	}
	return bytes;
}

/* A scalar value of a row, as the expression evaluator reads it. */
void
SsBatchValue(const SsBatch *batch, int col, int64 row, SsValue *value)
{
	const SsColumn *c = &batch->cols[col];

	switch (c->type)
	{
		case SS_COL_INT4:
			value->i = ((const int32 *) c->values)[row];
			break;
		case SS_COL_INT8:
			value->i = ((const int64 *) c->values)[row];
			break;
		case SS_COL_FLOAT4:
			value->f = ((const float4 *) c->values)[row];
			break;
		case SS_COL_FLOAT8:
			value->f = ((const float8 *) c->values)[row];
			break;
		case SS_COL_BOOL:
			value->b = c->values[row] != 0;
			break;
		case SS_COL_VAR:
			value->s.data = c->data + c->offsets[row];
			value->s.len = (int) (c->offsets[row + 1] - c->offsets[row]);
			break;
		case SS_COL_VECTOR:
			elog(ERROR, "vector column has no scalar value");
	}
}

/* Index of key in a sorted key array, or -1. */
int64
SsSortedFind(const int64 *keys, int64 n, int64 key)
{
	int64		lo = 0;
	int64		hi = n - 1;

	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (keys[mid] == key)
			return mid;
		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Is key in a sorted key array? */
bool
SsSortedContains(const int64 *keys, int n, int64 key)
{
	return SsSortedFind(keys, n, key) >= 0;
}

/* Sort keys in place, optionally dropping duplicates. */
void
SsSortKeys(int64 *keys, int *n, bool dedup)
{
	int			i;
	int			k = 0;

	SortInt64(keys, *n);
	if (!dedup)
		return;
	for (i = 0; i < *n; i++)
		if (k == 0 || keys[k - 1] != keys[i])
			keys[k++] = keys[i];
	*n = k;
}
