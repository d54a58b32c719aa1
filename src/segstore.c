/*-------------------------------------------------------------------------
 *
 * segstore.c
 *	  Module entry point: GUC variables and the utility hook that removes a
 *	  dropped database's files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "files.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "segstore.h"

PG_MODULE_MAGIC;

int			ss_insert_direct_threshold = 4096;
int			ss_max_segment_size_mb = 512;
double		ss_seal_proportion = 0.25;
int			ss_compression_level = 1;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

void		_PG_init(void);

/* Remove segstore files of a database that DROP DATABASE removed. */
static void
SegstoreProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Oid			dropped = InvalidOid;

	if (IsA(pstmt->utilityStmt, DropdbStmt))
		dropped = get_database_oid(((DropdbStmt *) pstmt->utilityStmt)->dbname,
								   true);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (OidIsValid(dropped))
		SsFilesRemoveAtCommit(dropped, 0);
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
	MarkGUCPrefixReserved("segstore");

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = SegstoreProcessUtility;
}
