/*-------------------------------------------------------------------------
 *
 * input.c
 *	  Validation and conversion of insert()'s arguments: one array per
 *	  field in field order, vectors as a two-dimensional n x dim array;
 *	  and of insert_from()'s rows, one column per field by name.
 *	  Everything is checked before anything is written, so bad input
 *	  changes nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "data/input.h"
#include "data/stamp.h"
#include "metadata/schema.h"

/* Name of the SQL type a field's argument should have. */
static const char *
ExpectedArrayType(const SsField *field)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
			return "int8[]";
		case SS_TYPE_INT4:
			return "int4[]";
		case SS_TYPE_FLOAT4:
			return "float4[]";
		case SS_TYPE_FLOAT8:
			return "float8[]";
		case SS_TYPE_BOOL:
			return "bool[]";
		case SS_TYPE_TEXT:
		case SS_TYPE_VARCHAR:
			return "text[]";
		case SS_TYPE_JSONB:
			return "jsonb[]";
		case SS_TYPE_VECTOR:
			return "float4[][]";
	}
	return "?";
}

/* Is an array element type acceptable for a field? */
static bool
AcceptsElementType(const SsField *field, Oid elem)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
		case SS_TYPE_INT4:
			return elem == INT8OID || elem == INT4OID || elem == INT2OID;
		case SS_TYPE_FLOAT4:
		case SS_TYPE_FLOAT8:
		case SS_TYPE_VECTOR:
			return elem == FLOAT4OID || elem == FLOAT8OID;
		case SS_TYPE_BOOL:
			return elem == BOOLOID;
		case SS_TYPE_TEXT:
		case SS_TYPE_VARCHAR:
			return elem == TEXTOID || elem == VARCHAROID;
		case SS_TYPE_JSONB:
			return elem == JSONBOID;
	}
	return false;
}

/* An element as double, for numeric element types. */
static double
ElementFloat(Datum d, Oid elem)
{
	switch (elem)
	{
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return (double) DatumGetInt64(d);
	}
}

/* An element as int64, for integer element types. */
static int64
ElementInt(Datum d, Oid elem)
{
	switch (elem)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* Fill a vector column from an n x dim array. */
static void
ConvertVector(const SsField *field, ArrayType *arr, Oid elem, int64 nrows, SsColumn *col)
{
	int			dim = field->typmod;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	float4	   *out;
	int			i;

	if (nrows > 0 && (ARR_NDIM(arr) != 2 || ARR_DIMS(arr)[0] != nrows))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vector field \"%s\" expects a two-dimensional array of " INT64_FORMAT " rows",
						field->name, nrows),
				 errhint("Pass the vectors as float4[][], one row per entity.")));
	if (nrows > 0 && ARR_DIMS(arr)[1] != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d, for vector field \"%s\"",
						dim, ARR_DIMS(arr)[1], field->name)));
	SsColumnAllocate(col, nrows, 0);
	out = (float4 *) col->values;

	/* The common case, float4 without nulls, is copied as it is. */
	if (elem == FLOAT4OID && !ARR_HASNULL(arr))
	{
		int64		total = nrows * dim;
		int64		j;

		memcpy(out, ARR_DATA_PTR(arr), sizeof(float4) * total);
		for (j = 0; j < total; j++)
			if (isnan(out[j]) || isinf(out[j]))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("vector of entity " INT64_FORMAT " has a non-finite component", j / dim + 1),
						 errdetail("NaN and infinity are not allowed in vectors.")));
		return;
	}
	deconstruct_array(arr, elem, elem == FLOAT4OID ? 4 : 8,
					  elem == FLOAT4OID ? true : FLOAT8PASSBYVAL,
					  elem == FLOAT4OID ? TYPALIGN_INT : TYPALIGN_DOUBLE,
					  &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		double		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("vector of entity %d has a null component", i / dim + 1)));
		v = ElementFloat(elems[i], elem);
		if (isnan(v) || isinf(v) || isinf((float4) v))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("vector of entity %d has a non-finite component", i / dim + 1),
					 errdetail("NaN and infinity are not allowed in vectors.")));
		out[i] = (float4) v;
	}
	pfree(elems);
	pfree(nulls);
}

/* Fill a vector column from one one-dimensional array per row. */
static void
ConvertVectorRows(const SsField *field, const Datum *vecs, Oid elem, int64 nrows, SsColumn *col)
{
	int			dim = field->typmod;
	int64		r;

	SsColumnAllocate(col, nrows, 0);
	for (r = 0; r < nrows; r++)
	{
		ArrayType  *arr = DatumGetArrayTypeP(vecs[r]);
		float4	   *out = (float4 *) col->values + (Size) r * dim;
		int			i;

		if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != dim)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected %d dimensions for vector field \"%s\" of entity " INT64_FORMAT,
							dim, field->name, r + 1),
					 errdetail("Each row's vector is a one-dimensional array.")));
		if (ARR_HASNULL(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("vector of entity " INT64_FORMAT " has a null component", r + 1)));
		for (i = 0; i < dim; i++)
		{
			double		v = elem == FLOAT4OID ? ((const float4 *) ARR_DATA_PTR(arr))[i] :
				((const float8 *) ARR_DATA_PTR(arr))[i];

			if (isnan(v) || isinf(v) || isinf((float4) v))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("vector of entity " INT64_FORMAT " has a non-finite component", r + 1),
						 errdetail("NaN and infinity are not allowed in vectors.")));
			out[i] = (float4) v;
		}
	}
}

/* Fill a scalar column from a one-dimensional array. */
static void
ConvertScalar(const SsField *field, Datum *elems, Oid elem, int64 nrows, SsColumn *col)
{
	int64		i;

	if (col->type == SS_COL_VAR)
	{
		Size		bytes = 0;

		for (i = 0; i < nrows; i++)
			bytes += VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i]));
		SsColumnAllocate(col, nrows, bytes);
		for (i = 0; i < nrows; i++)
		{
			struct varlena *v = (struct varlena *) DatumGetPointer(elems[i]);
			Size		len = VARSIZE_ANY_EXHDR(v);

			if (field->type == SS_TYPE_VARCHAR &&
				pg_mbstrlen_with_len(VARDATA_ANY(v), len) > field->typmod)
				ereport(ERROR,
						(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
						 errmsg("value too long for field \"%s\" of type varchar(%d)",
								field->name, field->typmod),
						 errdetail("Entity " INT64_FORMAT " has %d characters.", i + 1,
								   pg_mbstrlen_with_len(VARDATA_ANY(v), len))));
			memcpy(col->data + col->offsets[i], VARDATA_ANY(v), len);
			col->offsets[i + 1] = col->offsets[i] + len;
		}
		return;
	}

	SsColumnAllocate(col, nrows, 0);
	for (i = 0; i < nrows; i++)
	{
		switch (field->type)
		{
			case SS_TYPE_INT8:
				((int64 *) col->values)[i] = ElementInt(elems[i], elem);
				break;
			case SS_TYPE_INT4:
				{
					int64		v = ElementInt(elems[i], elem);

					if (v < PG_INT32_MIN || v > PG_INT32_MAX)
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value " INT64_FORMAT " is out of range for field \"%s\" of type int4",
										v, field->name)));
					((int32 *) col->values)[i] = (int32) v;
					break;
				}
			case SS_TYPE_FLOAT4:
				{
					double		v = ElementFloat(elems[i], elem);

					if (isinf((float4) v) && !isinf(v))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("value out of range for field \"%s\" of type float4",
										field->name)));
					((float4 *) col->values)[i] = (float4) v;
					break;
				}
			case SS_TYPE_FLOAT8:
				((float8 *) col->values)[i] = ElementFloat(elems[i], elem);
				break;
			case SS_TYPE_BOOL:
				col->values[i] = DatumGetBool(elems[i]) ? 1 : 0;
				break;
			default:
				elog(ERROR, "unexpected field type");
		}
	}
}

/*
 * Give every row of a batch its time stamp (SsStampForWrite), and refuse a
 * key that comes twice: as much a duplicate as a live one.
 */
static void
FinishBatch(SsCollection *coll, SsBatch *batch)
{
	TimestampTz now = SsStampForWrite(coll->id);
	int64	   *keys;
	int			nkeys = (int) batch->nrows;
	int64		i;

	SsColumnAllocate(&batch->cols[coll->nfields], batch->nrows, 0);
	for (i = 0; i < batch->nrows; i++)
		((int64 *) batch->cols[coll->nfields].values)[i] = now;
	keys = SsBatchKeys(batch, coll->pk);
	SsSortKeys(keys, &nkeys, false);
	for (i = 1; i < nkeys; i++)
		if (keys[i] == keys[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("duplicate primary key " INT64_FORMAT " in the inserted entities",
							keys[i])));
	pfree(keys);
}

/*
 * Build a batch from the arrays passed to insert()/upsert() from argument
 * firstarg on.  Rows get the statement's start time as their timestamp.
 */
SsBatch *
SsInputBatch(SsCollection *coll, FunctionCallInfo fcinfo, int firstarg)
{
	int			nargs = PG_NARGS() - firstarg;
	int64		nrows = -1;
	SsBatch    *batch;
	int			f;
	int64		i;

	if (get_fn_expr_variadic(fcinfo->flinfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("insert does not accept a VARIADIC array"),
				 errhint("Pass one array argument per field.")));
	if (nargs != coll->nfields)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("collection \"%s\" has %d fields, but %d arrays were given",
						coll->name, coll->nfields, nargs),
				 errhint("Pass one array per field, in field order.")));

	/* Types, nulls and row counts first, so errors name the first problem. */
	for (f = 0; f < nargs; f++)
	{
		const SsField *field = &coll->fields[f];
		Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, firstarg + f);
		Oid			elem = get_element_type(argtype);
		ArrayType  *arr;
		int64		n;

		if (PG_ARGISNULL(firstarg + f))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("array for field \"%s\" is null", field->name)));
		if (!OidIsValid(elem) || !AcceptsElementType(field, elem))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("field \"%s\" expects %s, not %s",
							field->name, ExpectedArrayType(field),
							argtype == UNKNOWNOID ? "an untyped literal" : format_type_be(argtype)),
					 argtype == UNKNOWNOID ? errhint("Add a cast, for example '{...}'::%s.",
													 ExpectedArrayType(field)) : 0));
		arr = PG_GETARG_ARRAYTYPE_P(firstarg + f);
		if (field->type == SS_TYPE_VECTOR)
			n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
		else
		{
			if (ARR_NDIM(arr) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("array for field \"%s\" must be one-dimensional", field->name)));
			n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
		}
		if (nrows >= 0 && n != nrows)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("arrays have different lengths: field \"%s\" has " INT64_FORMAT " entities, \"%s\" has " INT64_FORMAT,
							coll->fields[0].name, nrows, field->name, n)));
		nrows = n;
	}

	batch = SsBatchCreate(coll->fields, coll->nfields, nrows);
	for (f = 0; f < nargs; f++)
	{
		const SsField *field = &coll->fields[f];
		Oid			elem = get_element_type(get_fn_expr_argtype(fcinfo->flinfo, firstarg + f));
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(firstarg + f);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		if (field->type == SS_TYPE_VECTOR)
		{
			ConvertVector(field, arr, elem, nrows, &batch->cols[f]);
			continue;
		}
		get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, elem, typlen, typbyval, typalign, &elems, &nulls, &nelems);
		for (i = 0; i < nelems; i++)
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("null value in field \"%s\" of entity " INT64_FORMAT,
								field->name, i + 1),
						 errdetail("Fields of a collection cannot be null.")));
		ConvertScalar(field, elems, elem, nrows, &batch->cols[f]);
	}

	FinishBatch(coll, batch);
	return batch;
}

/*
 * Build a batch from rows of a query whose columns are the collection's
 * fields, by name, in any order: a scalar field's column of a type its
 * array argument could have elements of, the vector's float4[] or
 * float8[], one per row.  Rows get the statement's start time.
 */
SsBatch *
SsInputBatchFromRows(SsCollection *coll, TupleDesc desc, HeapTuple *rows, int64 nrows)
{
	SsBatch    *batch;
	Datum	   *values = palloc(sizeof(Datum) * Max(nrows, 1));
	int			f;

	if (desc->natts != coll->nfields)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("collection \"%s\" has %d fields, but the query returns %d columns",
						coll->name, coll->nfields, desc->natts),
				 errhint("Return one column per field, named as the field.")));
	batch = SsBatchCreate(coll->fields, coll->nfields, nrows);
	for (f = 0; f < coll->nfields; f++)
	{
		const SsField *field = &coll->fields[f];
		int			a;
		Oid			type;
		Oid			elem;
		int64		r;

		for (a = 0; a < desc->natts; a++)
			if (strcmp(NameStr(TupleDescAttr(desc, a)->attname), field->name) == 0)
				break;
		if (a == desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the query returns no column \"%s\" for field \"%s\"",
							field->name, field->name)));
		type = TupleDescAttr(desc, a)->atttypid;
		elem = field->type == SS_TYPE_VECTOR ? get_element_type(type) : type;
		if (!OidIsValid(elem) || !AcceptsElementType(field, elem) ||
			(field->type != SS_TYPE_VECTOR && OidIsValid(get_element_type(type))))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("field \"%s\" expects a column of the type of the elements of %s, not %s",
							field->name, ExpectedArrayType(field), format_type_be(type))));
		for (r = 0; r < nrows; r++)
		{
			bool		isnull;

			values[r] = heap_getattr(rows[r], a + 1, desc, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("null value in field \"%s\" of entity " INT64_FORMAT,
								field->name, r + 1),
						 errdetail("Fields of a collection cannot be null.")));
			if (!TupleDescAttr(desc, a)->attbyval && TupleDescAttr(desc, a)->attlen == -1)
				values[r] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[r]));
		}
		if (field->type == SS_TYPE_VECTOR)
			ConvertVectorRows(field, values, elem, nrows, &batch->cols[f]);
		else
			ConvertScalar(field, values, elem, nrows, &batch->cols[f]);
		CHECK_FOR_INTERRUPTS();
	}
	FinishBatch(coll, batch);
	return batch;
}
