/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Access to segstore's catalog tables: collections, fields, segments,
 *	  binlog files and pending deletes.
 *
 * Every function here runs inside a catalog session opened with
 * SsCatalogOpen(), which connects SPI, switches to the extension's owner as
 * a security-restricted operation and pins search_path, so callers'
 * privileges have been checked before.
 *
 * The layers hold to one rule.  The file format (src/format/) knows nothing
 * of catalogs.  The catalog layer (src/metadata/) knows nothing of SQL
 * argument parsing: the SQL-callable functions (src/api.c) are thin
 * wrappers that parse and check their arguments and call down.  And all
 * catalog SQL lives in the catalog layer: every statement against
 * segstore's catalog tables and sequences is a function of src/metadata/
 * that takes and returns C values, and the helpers that run statements
 * are private to the layer (catalog_int.h).  Nor does this layer read GUC
 * variables: callers pass the settings in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_CATALOG_H
#define SEGSTORE_METADATA_CATALOG_H

#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "storage/lockdefs.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

#include "segstore.h"

typedef struct SsCollection
{
	int64		id;
	char	   *name;
	Oid			relid;			/* growing heap table, segstore_internal.growing_<id> */
	Oid			viewid;			/* segstore_data.<name>: owner and ACL */
	int			dim;
	int64		growing_segment_id;
	bool		auto_compaction;
	int			nfields;
	SsField    *fields;
	int			pk;				/* index of the primary key field */
	int			vec;			/* index of the vector field */
	int			retention_s;	/* time travel's window */
	TimestampTz history_from;	/* as_of before it is refused; DT_NOBEGIN if none */
} SsCollection;

typedef struct SsSegment
{
	int64		segment_id;
	char	   *state;
	int64		num_rows;
	int64		pk_min;
	int64		pk_max;
	TimestampTz created_at;
	char	   *insert_path;
	char	   *stats_path;
	int			delta_binlogs;
	int64		delta_rows;
	int64		pending_rows;
	int64		size_bytes;
	int64		insert_raw_bytes;	/* uncompressed data, the segment's size */
	int64		delta_bytes;
	Datum		compacted_from; /* int8[] or 0 */
	TimestampTz purged_until;	/* latest delete purged; DT_NOBEGIN if none */
} SsSegment;

/* A binlog file's catalog row. */
typedef struct SsBinlogRow
{
	int64		segment_id;
	int64		file_id;
	char	   *kind;
	char	   *path;
	int64		rows;
	int64		size_bytes;
	int64		raw_bytes;
	TimestampTz ts_min;
	TimestampTz ts_max;
	bool		ts_null;
	TimestampTz created_at;
} SsBinlogRow;

/* What the maintenance worker needs to know of a collection. */
typedef struct SsCollectionActivity
{
	int64		id;
	char	   *name;
	bool		idle;			/* flushed state unchanged for segstore.seal_idle_time */
	int64		pending_deletes;
} SsCollectionActivity;

typedef struct SsCatalogSession
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Oid			save_caller;	/* of an enclosing session, if any */
	bool		save_read_only;
	bool		save_latest;
	Snapshot	save_snapshot;
} SsCatalogSession;

extern void SsCatalogOpen(SsCatalogSession *session, bool read_only);
extern void SsCatalogClose(SsCatalogSession *session);
extern void SsCatalogUseLatest(void);
extern Snapshot SsCatalogSetSnapshot(Snapshot snapshot);
extern int	SsCatalogSelect(const char *sql);
extern void SsCatalogLockForWorker(void);
extern void SsCatalogLockAllForDrop(void);
extern bool SsCatalogReadOnly(void);
extern bool SsCatalogLegacy(void);
extern Oid	SsCatalogCaller(void);
extern Datum SsCatalogInt8Array(const int64 *values, int n);

extern SsCollection *SsCatalogGetCollection(const char *name, bool missing_ok, bool lock);
extern SsCollection *SsCatalogGetCollectionById(int64 collection_id, bool missing_ok, bool lock);
extern SsCollection *SsCatalogLockCollection(int64 collection_id, LOCKMODE mode);
extern SsCollection *SsCatalogCollectionByView(Oid viewid);
extern List *SsCatalogCollectionIds(void);
extern char *SsCatalogCollectionName(int64 collection_id);
extern bool SsCatalogCollectionExists(int64 collection_id, bool latest);
extern void SsCatalogInsertCollection(SsCollection *coll, const char *description);
extern void SsCatalogDeleteCollection(int64 id);
extern void SsCatalogAlterCollection(int64 id, int auto_compaction, const char *description,
									 int retention_s);
extern void SsCatalogRenameCollection(int64 id, const char *name);
extern void SsCatalogSetCollectionRelations(int64 id, Oid relid, Oid viewid);
extern List *SsCatalogDroppedViews(void);
extern List *SsCatalogAlteredRelations(void);
extern void SsCatalogSetGrowing(SsCollection *coll, int64 segment_id);
extern int64 SsCatalogNextId(const char *sequence);
extern void SsCatalogReserveIds(const char *sequence, int n);
extern void SsCatalogReleaseIds(void);
extern Oid	SsCatalogExtensionOwner(void);
extern List *SsCatalogCollectionActivity(int idle_s);

extern List *SsCatalogSegments(int64 collection_id, bool flushed_only);
extern List *SsCatalogGrowingRelids(void);
extern SPIPlanPtr SsCatalogStatementPlan(const char *sql, int nargs, Oid *types);
extern List *SsCatalogSegmentsOverlapping(int64 collection_id, int64 lo, int64 hi);
extern void SsCatalogInsertSegment(int64 collection_id, int64 segment_id, int64 num_rows,
								   int64 pk_min, int64 pk_max, TimestampTz ts_min, TimestampTz ts_max,
								   const int64 *compacted_from, int nfrom);
extern void SsCatalogInsertBinlog(const SsBinlogRow *row, int64 collection_id);
extern List *SsCatalogBinlogs(int64 collection_id, int64 segment_id, const char *kind);
extern List *SsCatalogAllPaths(bool latest);

extern void SsCatalogInsertPendingDeletes(int64 collection_id, int64 segment_id,
										  const int64 *pks, const TimestampTz *ts, int n);
extern List *SsCatalogPendingSegments(int64 collection_id);
extern void SsCatalogPendingForSegment(int64 segment_id, int64 **pks, TimestampTz **ts, int *n);
extern void SsCatalogClearPendingDeletes(int64 collection_id);

#endif							/* SEGSTORE_METADATA_CATALOG_H */
