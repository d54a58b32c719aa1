/*-------------------------------------------------------------------------
 *
 * search.h
 *	  Vector search over a collection's sealed segments and growing
 *	  segment, and the per-backend cache of mapped segment files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_SEARCH_SEARCH_H
#define SEGSTORE_SEARCH_SEARCH_H

#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "vector/distance.h"

#define SS_MAX_TOPK 16384

/* What a search asks for, validated except against the collection. */
typedef struct SsSearchRequest
{
	const float *queries;		/* nqueries x dim, finite */
	int			nqueries;
	int			dim;
	int			k;				/* 1 .. SS_MAX_TOPK */
	int			nprobe;			/* 0: the default */
	bool		has_metric;		/* params named a metric */
	SsMetric	metric;
	const char *filter;			/* NULL: none */
	bool		has_as_of;
	TimestampTz as_of;
	bool		with_query_no;	/* batch form: rows are (query_no, id, distance) */
} SsSearchRequest;

extern void SsSearch(const char *collection, const SsSearchRequest *req,
					 Tuplestorestate *store, TupleDesc desc);
extern void SsSearchLoad(const char *collection);
extern void SsSearchRelease(const char *collection);

#endif							/* SEGSTORE_SEARCH_SEARCH_H */
