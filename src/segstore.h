/*-------------------------------------------------------------------------
 *
 * segstore.h
 *	  Types shared by every layer of segstore: field types, in-memory
 *	  columns and scalar values, and the GUC variables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_H
#define SEGSTORE_H

#include "postgres.h"

/* Largest dimension of a vector field. */
#define SS_MAX_DIM 32768

/* Types a collection field can have. */
typedef enum SsFieldType
{
	SS_TYPE_INT8,
	SS_TYPE_INT4,
	SS_TYPE_FLOAT4,
	SS_TYPE_FLOAT8,
	SS_TYPE_BOOL,
	SS_TYPE_TEXT,
	SS_TYPE_VARCHAR,
	SS_TYPE_JSONB,
	SS_TYPE_VECTOR
} SsFieldType;

/* One field of a collection's schema. */
typedef struct SsField
{
	char		name[NAMEDATALEN];
	SsFieldType type;
	int32		typmod;			/* varchar: max length in characters; vector:
								 * dimension; otherwise -1 */
	bool		is_primary;
} SsField;

/*
 * A scalar value as the expression evaluator sees it: int4/int8 in i,
 * float4/float8 in f, bool in b, text/varchar in s (not NUL-terminated).
 */
typedef struct SsValue
{
	union
	{
		int64		i;
		double		f;
		bool		b;
		struct
		{
			const char *data;
			int			len;
		}			s;
	};
} SsValue;

/* Physical column types of the file format. */
typedef enum SsColType
{
	SS_COL_INT4 = 1,
	SS_COL_INT8 = 2,
	SS_COL_FLOAT4 = 3,
	SS_COL_FLOAT8 = 4,
	SS_COL_BOOL = 5,			/* one byte per row, 0 or 1 */
	SS_COL_VAR = 6,				/* variable-length bytes (text, jsonb, raw) */
	SS_COL_VECTOR = 7			/* dim float4 per row */
} SsColType;

/*
 * A column held in memory.  Fixed-width types keep nrows values back to back
 * in values; SS_COL_VAR keeps nrows + 1 offsets into data.
 */
typedef struct SsColumn
{
	SsColType	type;
	int32		dim;			/* SS_COL_VECTOR only, else 0 */
	int64		nrows;
	char	   *values;
	uint64	   *offsets;
	char	   *data;
} SsColumn;

#endif							/* SEGSTORE_H */
