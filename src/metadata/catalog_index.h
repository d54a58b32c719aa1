/*-------------------------------------------------------------------------
 *
 * catalog_index.h
 *	  The catalog of index definitions (segstore.index): at most one per
 *	  collection, on its vector field; and of the index files that could
 *	  not be built (segstore.index_failure).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_CATALOG_INDEX_H
#define SEGSTORE_METADATA_CATALOG_INDEX_H

#include "format/ivffile.h"
#include "metadata/catalog.h"

/* A collection's index definition. */
typedef struct SsIndexDef
{
	int64		index_id;
	char		field[NAMEDATALEN];
	SsIndexType type;
	SsMetric	metric;
	int			nlist;			/* 1 for FLAT */
} SsIndexDef;

extern bool SsCatalogGetIndex(int64 collection_id, SsIndexDef *def);
extern void SsCatalogInsertIndex(int64 collection_id, const SsIndexDef *def);
extern List *SsCatalogDeleteIndex(int64 collection_id);

/* A segment whose index file could not be built. */
typedef struct SsIndexFailure
{
	int64		segment_id;
	char	   *error;
	int			attempts;
	bool		retry_due;		/* its back-off has passed */
} SsIndexFailure;

extern List *SsCatalogIndexFailures(int64 collection_id);
extern SsIndexFailure *SsCatalogFindIndexFailure(List *failures, int64 segment_id);
extern void SsCatalogRecordIndexFailure(int64 collection_id, int64 segment_id,
										const char *error);
extern void SsCatalogClearIndexFailures(int64 collection_id, int64 segment_id);

#endif							/* SEGSTORE_METADATA_CATALOG_INDEX_H */
