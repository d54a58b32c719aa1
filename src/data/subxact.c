/*-------------------------------------------------------------------------
 *
 * subxact.c
 *	  Running one step in a subtransaction.  A step that fails is rolled
 *	  back alone, as a PL/pgSQL block with an exception handler is: what it
 *	  wrote to the catalog goes, its files opened are closed, and the
 *	  caller gets the error to record or re-throw.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "data/subxact.h"

/*
 * Run fn(arg) in a subtransaction, in the caller's memory context.
 * Returns NULL if it succeeded; else the subtransaction is rolled back and
 * the error it raised returned, copied into the caller's memory context.
 */
ErrorData *
SsSubxactRun(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return edata;
}
