/*-------------------------------------------------------------------------
 *
 * catalog_search.h
 *	  The catalog reads of a search: the version of a collection's catalog
 *	  row, which keys search's per-backend cache, and a collection's
 *	  pending deletes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_CATALOG_SEARCH_H
#define SEGSTORE_METADATA_CATALOG_SEARCH_H

#include "metadata/catalog.h"

/* A collection's catalog row as a search first looks it up. */
typedef struct SsCollectionVersion
{
	int64		id;
	Oid			relid;			/* growing heap table */
	Oid			viewid;			/* the view whose ACL is the collection's */
	char	   *version;		/* the row's xmin and ctid */
} SsCollectionVersion;

/* A collection's pending deletes, ordered by segment. */
typedef struct SsPendingDeletes
{
	int64	   *segment_ids;
	int64	   *keys;
	TimestampTz *ts;
	int			n;
} SsPendingDeletes;

extern void SsCatalogCollectionVersion(const char *name, SsCollectionVersion *out);
extern void SsCatalogPendingDeletes(int64 collection_id, SsPendingDeletes *out,
									MemoryContext cxt);

#endif							/* SEGSTORE_METADATA_CATALOG_SEARCH_H */
