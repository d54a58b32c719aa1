/*-------------------------------------------------------------------------
 *
 * fault.h
 *	  Injected I/O errors for tests (segstore.inject_io_error).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_FORMAT_FAULT_H
#define SEGSTORE_FORMAT_FAULT_H

/* The kind of call an injected fault hits. */
typedef enum SsFaultOp
{
	SS_FAULT_WRITE,
	SS_FAULT_READ
} SsFaultOp;

extern bool SsFaultInject(SsFaultOp op, const char *path);
extern void SsFaultInit(void);

#endif							/* SEGSTORE_FORMAT_FAULT_H */
