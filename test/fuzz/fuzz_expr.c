/*-------------------------------------------------------------------------
 *
 * fuzz_expr.c
 *	  libFuzzer target: the Milvus expression language (src/expr), as
 *	  delete(), query() and search filters run it.  The input is the
 *	  expression's text; like a SQL text argument it is valid UTF8 without
 *	  NUL bytes (others are skipped).  An expression that parses is also
 *	  asked for its fields, its key bounds and key list, and evaluated on
 *	  a few rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "expr/expr.h"

#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* A collection with a field of every type. */
static const SsField fields[] = {
	{"id", SS_TYPE_INT8, -1, true},
	{"vec", SS_TYPE_VECTOR, 4, false},
	{"n", SS_TYPE_INT4, -1, false},
	{"m", SS_TYPE_INT8, -1, false},
	{"f", SS_TYPE_FLOAT4, -1, false},
	{"d", SS_TYPE_FLOAT8, -1, false},
	{"b", SS_TYPE_BOOL, -1, false},
	{"s", SS_TYPE_TEXT, -1, false},
	{"v", SS_TYPE_VARCHAR, 10, false},
	{"j", SS_TYPE_JSONB, -1, false},
};
#define NFIELDS ((int) lengthof(fields))

/* Rows to evaluate on: ordinary, extreme, empty. */
static SsValue rows[3][NFIELDS];

/* Fill the rows once. */
static void
InitRows(void)
{
	static const char *const texts[3] = {"doc12", "\xc3\xa9t\xc3\xa9%_", ""};
	static const int64 ints[3] = {12, PG_INT64_MAX, PG_INT64_MIN};
	static const double floats[3] = {0.5, -1e308, 0};

	for (int r = 0; r < 3; r++)
		for (int f = 0; f < NFIELDS; f++)
		{
			switch (fields[f].type)
			{
				case SS_TYPE_INT8:
					rows[r][f].i = ints[r];
					break;
				case SS_TYPE_INT4:
					rows[r][f].i = (int32) ints[r];
					break;
				case SS_TYPE_FLOAT4:
				case SS_TYPE_FLOAT8:
					rows[r][f].f = floats[r];
					break;
				case SS_TYPE_BOOL:
					rows[r][f].b = r == 0;
					break;
				default:
					rows[r][f].s.data = texts[r];
					rows[r][f].s.len = (int) strlen(texts[r]);
					break;
			}
		}
}

/* One input: parse, then ask everything of what parsed. */
int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	char	   *text;

	if (size > 65536 || memchr(data, 0, size) != NULL ||
		pg_encoding_verifymbstr(PG_UTF8, (const char *) data, (int) size) != (int) size)
		return 0;
	if (rows[0][0].i == 0)
		InitRows();
	ShimBegin();
	text = palloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	PG_TRY();
	{
		SsExpr	   *expr = SsExprParse(text, fields, NFIELDS);
		int64		lo;
		int64		hi;
		int64	   *keys;
		int			nkeys;

		(void) SsExprFields(expr);
		(void) SsExprBounds(expr, 0, &lo, &hi);
		(void) SsExprKeyList(expr, 0, &keys, &nkeys);
		for (int r = 0; r < 3; r++)
			(void) SsExprEval(expr, rows[r]);
	}
	PG_CATCH();
	{
		ShimCheckError(false);
	}
	PG_END_TRY();
	ShimEnd();
	return 0;
}
