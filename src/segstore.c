/*-------------------------------------------------------------------------
 *
 * segstore.c
 *	  Module entry point: each module's settings, the launcher and shared
 *	  memory and the WAL resource manager when preloaded, and the utility
 *	  hook that tells the launcher about new databases and extensions,
 *	  refuses to copy a database that holds segstore files, and removes a
 *	  dropped database's files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"

#include "compaction/compaction.h"
#include "data/collection.h"
#include "data/index.h"
#include "data/segment.h"
#include "data/write.h"
#include "format/fault.h"
#include "format/filewal.h"
#include "format/files.h"
#include "segstore.h"
#include "status/status.h"
#include "workers/workers.h"

PG_MODULE_MAGIC;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

void		_PG_init(void);

/*
 * CREATE DATABASE copies the template's directory, not its segstore files,
 * while the copied catalog still names the template's files: the clone
 * would read, and its garbage collection try to remove, another database's
 * data.  A template with segstore files is refused; collections move
 * between databases with segstore.dump().
 */
static void
RefuseTemplateWithFiles(CreatedbStmt *stmt)
{
	const char *template = "template1";
	ListCell   *lc;
	Oid			dboid;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst(lc);

		if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
			template = defGetString(opt);
	}
	dboid = get_database_oid(template, true);
	if (!OidIsValid(dboid))
		return;
	if (SsFilesDatabaseHasFiles(dboid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot copy database \"%s\" because it holds segstore collections",
						template),
				 errdetail("Sealed segments live in files under segstore/, which CREATE DATABASE does not copy."),
				 errhint("Create the database from another template, then move the collections with segstore.dump().")));

	/*
	 * The template's maintenance worker would make the copy fail as a
	 * connected session does; a role that may drop the template may pause
	 * it (the launcher starts it again after the commit).
	 */
	if (pg_database_ownercheck(dboid, GetUserId()))
		SsLauncherStopWorkers(dboid, true);
}

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
	else if (IsA(stmt, CreatedbStmt))
	{
		RefuseTemplateWithFiles((CreatedbStmt *) stmt);
		SsLauncherRescanAtCommit();
	}
	else if ((IsA(stmt, CreateExtensionStmt) &&
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
	SsFaultInit();
	SsFileWalInit();
	SsSegmentInit();
	SsCollectionInit();
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
