/*-------------------------------------------------------------------------
 *
 * fault.c
 *	  A test hook that makes one read or write of segstore's files fail
 *	  with EIO, as a failing disk would.
 *
 * A full disk can be made for real (a small tmpfs under the data
 * directory); an I/O error cannot, so the developer setting
 * segstore.inject_io_error = '<read|write> <text> <n>' makes the n-th read
 * or write call, counted from when it was set, on a file whose path
 * contains text fail with EIO.  The count is per backend; setting the
 * value again restarts it.  Superuser only, as it changes what writes do.
 * Every file read and write of the format layer asks SsFaultInject
 * first: writes of binlogs, index files and WAL redo, reads of binlogs
 * and index files.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "format/fault.h"

static char *ss_inject_io_error = NULL;

/* The parsed setting, and how many matching calls have gone by. */
static bool fault_armed = false;
static SsFaultOp fault_op;
static char fault_text[MAXPGPATH];
static int	fault_nth;
static int	fault_seen;

/* Parse a setting into its parts; false if it is malformed. */
static bool
ParseFault(const char *value, SsFaultOp *op, char *text, int *nth)
{
	char		opname[8];
	char		rest;

	if (sscanf(value, "%7s %1023s %d %c", opname, text, nth, &rest) != 3 || *nth < 1)
		return false;
	if (strcmp(opname, "read") == 0)
		*op = SS_FAULT_READ;
	else if (strcmp(opname, "write") == 0)
		*op = SS_FAULT_WRITE;
	else
		return false;
	return true;
}

/* Check hook: empty, or "<read|write> <text> <n>" with n >= 1. */
static bool
CheckInjectIoError(char **newval, void **extra, GucSource source)
{
	SsFaultOp	op;
	char		text[MAXPGPATH];
	int			nth;

	if (**newval == '\0' || ParseFault(*newval, &op, text, &nth))
		return true;
	GUC_check_errdetail("The value must be empty or \"read|write <path text> <n>\", n at least 1.");
	return false;
}

/* Assign hook: arm the fault and restart the count. */
static void
AssignInjectIoError(const char *newval, void *extra)
{
	fault_armed = newval[0] != '\0' &&
		ParseFault(newval, &fault_op, fault_text, &fault_nth);
	fault_seen = 0;
}

/*
 * Should this read or write of path fail?  If so errno is EIO and the
 * caller fails the call as if the system call had.
 */
bool
SsFaultInject(SsFaultOp op, const char *path)
{
	if (!fault_armed || op != fault_op || strstr(path, fault_text) == NULL)
		return false;
	if (++fault_seen != fault_nth)
		return false;
	errno = EIO;
	return true;
}

/* Define the setting; called from _PG_init. */
void
SsFaultInit(void)
{
	DefineCustomStringVariable("segstore.inject_io_error",
							   "For tests: makes the n-th read or write of a segstore file whose path contains the text fail with EIO.",
							   "Format: \"read|write <path text> <n>\"; empty disables.",
							   &ss_inject_io_error, "",
							   PGC_SUSET, GUC_NOT_IN_SAMPLE,
							   CheckInjectIoError, AssignInjectIoError, NULL);
}
