/*-------------------------------------------------------------------------
 *
 * segstore.c
 *	  Module entry point: each module's settings, the launcher and shared
 *	  memory when preloaded, and the utility hook that tells the launcher about new
 *	  databases and extensions and removes a dropped database's files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"

#include "compaction/compaction.h"
#include "data/index.h"
#include "data/segment.h"
#include "data/write.h"
#include "format/filewal.h"
#include "format/files.h"
#include "segstore.h"
#include "status/status.h"
#include "workers/workers.h"

PG_MODULE_MAGIC;

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
		SsFilesRemoveDatabaseAtCommit(dropped);
}

/* Define GUCs and install hooks. */
void
_PG_init(void)
{
	SsFileWalInit();
	SsSegmentInit();
	SsWriteInit();
	SsIndexInit();
	SsCompactionInit();
	SsWorkerInit();
	SsCompactionWorkerInit();
	MarkGUCPrefixReserved("segstore");

	if (process_shared_preload_libraries_in_progress)
	{
		SsShmemInstallHooks();
		SsLauncherRegister();
	}

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = SegstoreProcessUtility;
}
