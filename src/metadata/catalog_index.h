/*-------------------------------------------------------------------------
 *
 * catalog_index.h
 *	  The catalog of index definitions (segstore.index): at most one per
 *	  collection, on its vector field.
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

#endif							/* SEGSTORE_METADATA_CATALOG_INDEX_H */
