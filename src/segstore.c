/*-------------------------------------------------------------------------
 *
 * segstore.c
 *	  Module entry point: GUC variables, the launcher and shared memory when
 *	  preloaded, and the utility hook that tells the launcher about new
 *	  databases and extensions and removes a dropped database's files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"

#include "format/files.h"
#include "segstore.h"
#include "status/status.h"
#include "workers/workers.h"

PG_MODULE_MAGIC;

int			ss_insert_direct_threshold = 4096;
int			ss_max_segment_size_mb = 512;
double		ss_seal_proportion = 0.25;
int			ss_compression_level = 1;
bool		ss_enable_compaction = true;
double		ss_delete_ratio_threshold = 0.2;
int			ss_delta_size_threshold_kb = 10 * 1024;
int			ss_merge_min_segments = 10;
double		ss_small_segment_proportion = 0.5;
int			ss_max_compaction_workers = 2;
int			ss_compaction_memory_limit_kb = 256 * 1024;
int			ss_compaction_timeout_s = 3600;
int			ss_retention_duration_s = 0;
int			ss_compaction_interval_s = 60;
int			ss_seal_idle_time_s = 600;
int			ss_pending_delete_threshold = 10000;
int			ss_history_retention_s = 7 * 24 * 3600;
int			ss_log_min_duration_ms = 0;
int			ss_min_index_rows = 1024;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

void		_PG_init(void);

/*
 * Wake the launcher when a database or segstore is created; before DROP
 * DATABASE, stop segstore's workers in it (they would make it fail), and
 * after it remove its files.
 */
static void
SegstoreProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			dropped = InvalidOid;

	if (IsA(stmt, DropdbStmt))
	{
		dropped = get_database_oid(((DropdbStmt *) stmt)->dbname, true);
		/* only for a role that may drop it: others must not stop workers */
		if (OidIsValid(dropped) && pg_database_ownercheck(dropped, GetUserId()))
		{
			SsLauncherStopWorkers(dropped, true);
			SsLauncherRescanAtCommit();
		}
	}
	else if (IsA(stmt, CreatedbStmt) ||
			 (IsA(stmt, CreateExtensionStmt) &&
			  strcmp(((CreateExtensionStmt *) stmt)->extname, "segstore") == 0))
		SsLauncherRescanAtCommit();

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (OidIsValid(dropped))
		SsFilesRemoveAtCommit(SsFilesDatabaseDir(dropped));
}

/* Define GUCs and install hooks. */
void
_PG_init(void)
{
	DefineCustomIntVariable("segstore.insert_direct_threshold",
							"Inserts of at least this many rows are written straight into a new sealed segment.",
							NULL, &ss_insert_direct_threshold, 4096, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.max_segment_size",
							"Largest size of a sealed segment's data.",
							NULL, &ss_max_segment_size_mb, 512, 1, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.seal_proportion",
							 "A growing segment is sealed when its data reaches this fraction of segstore.max_segment_size.",
							 NULL, &ss_seal_proportion, 0.25, 0.0001, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compression_level",
							"zstd compression level of new binlog files.",
							NULL, &ss_compression_level, 1, -7, 19,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("segstore.enable_compaction",
							 "Lets the automatic trigger rules queue compactions.",
							 "Manual segstore.compact() works either way.",
							 &ss_enable_compaction, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.delete_ratio_threshold",
							 "A segment whose deleted rows reach this fraction of its rows gets a delete compaction.",
							 NULL, &ss_delete_ratio_threshold, 0.2, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.delta_size_threshold",
							"A segment whose delta binlogs reach this size gets a delete compaction.",
							NULL, &ss_delta_size_threshold_kb, 10 * 1024, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.merge_min_segments",
							"Small segments are merged when there are more of them than this.",
							NULL, &ss_merge_min_segments, 10, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("segstore.small_segment_proportion",
							 "A segment smaller than this fraction of segstore.max_segment_size is small.",
							 NULL, &ss_small_segment_proportion, 0.5, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.max_compaction_workers",
							"Most compaction plans running at once in a database.",
							NULL, &ss_max_compaction_workers, 2, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compaction_memory_limit",
							"Memory one compaction plan may use, whatever the segment sizes.",
							NULL, &ss_compaction_memory_limit_kb, 256 * 1024, 32 * 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compaction_timeout",
							"A compaction plan running longer than this fails with state timeout; 0 disables.",
							NULL, &ss_compaction_timeout_s, 3600, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.retention_duration",
							"Deletes younger than this are kept by compaction, for time travel.",
							NULL, &ss_retention_duration_s, 0, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.compaction_interval",
							"Time between runs of the maintenance worker in each database.",
							NULL, &ss_compaction_interval_s, 60, 1, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.seal_idle_time",
							"The maintenance worker seals a growing segment not written for this long.",
							NULL, &ss_seal_idle_time_s, 600, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.pending_delete_threshold",
							"The maintenance worker writes a collection's pending deletes out once there are this many.",
							NULL, &ss_pending_delete_threshold, 10000, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.history_retention",
							"Finished compactions older than this are pruned from the history; 0 keeps them.",
							NULL, &ss_history_retention_s, 7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.log_min_duration",
							"Compactions that take at least this long are logged; -1 disables, 0 logs all.",
							NULL, &ss_log_min_duration_ms, 0, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("segstore.min_index_rows",
							"Sealed segments with fewer rows get a FLAT index file instead of IVF_FLAT.",
							NULL, &ss_min_index_rows, 1024, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("segstore");

	if (process_shared_preload_libraries_in_progress)
	{
		SsShmemInstallHooks();
		SsLauncherRegister();
	}

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = SegstoreProcessUtility;
}
