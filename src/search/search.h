/*-------------------------------------------------------------------------
 *
 * search.h
 *	  Vector search over a collection's sealed segments and growing
 *	  segment (search.c), and the per-backend cache of what it reads
 *	  (search_cache.c).
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

/* search.c */
extern void SsSearch(const char *collection, const SsSearchRequest *req,
					 Tuplestorestate *store, TupleDesc desc);

/* search_cache.c */
extern void SsSearchCacheLoad(const char *collection);
extern void SsSearchCacheRelease(const char *collection);

#endif							/* SEGSTORE_SEARCH_SEARCH_H */
