/*-------------------------------------------------------------------------
 *
 * expr.h
 *	  Milvus-style boolean filter expressions: parsing against a collection's
 *	  fields, evaluation on rows, and primary-key pruning helpers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_EXPR_EXPR_H
#define SEGSTORE_EXPR_EXPR_H

#include "nodes/bitmapset.h"
#include "segstore.h"

/* A parsed expression; opaque outside src/expr/ (see expr_int.h). */
typedef struct SsExpr SsExpr;

/*
 * Parse text against fields[0..nfields-1].  The result is palloc'd in
 * CurrentMemoryContext; any problem is reported with ereport(ERROR).
 */
extern SsExpr *SsExprParse(const char *text, const SsField *fields,
						   int nfields);

/* Set of field indexes (0-based into fields[]) the expression reads. */
extern Bitmapset *SsExprFields(const SsExpr *expr);

/*
 * Evaluate on one row: row[i] holds the value of field i (only the fields in
 * SsExprFields need be filled).
 */
extern bool SsExprEval(const SsExpr *expr, const SsValue *row);

/*
 * Conservative inclusive bounds on int4/int8 field "field" implied by the
 * expression being true.  Sets *lo and *hi and returns true if they are
 * narrower than the whole int64 range; *lo > *hi means nothing can match.
 */
extern bool SsExprBounds(const SsExpr *expr, int field, int64 *lo, int64 *hi);

/*
 * If the expression restricts int4/int8 field "field" to a finite set of
 * keys (field == c, field in [...], possibly ANDed with other terms), return
 * that set sorted and deduplicated in a palloc'd *keys / *nkeys; else false.
 */
extern bool SsExprKeyList(const SsExpr *expr, int field, int64 **keys,
						  int *nkeys);

#endif							/* SEGSTORE_EXPR_EXPR_H */
