/*-------------------------------------------------------------------------
 *
 * subxact.h
 *	  Running one step in a subtransaction, so that its error can be
 *	  recorded and the statement go on (verify(), index builds).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_SUBXACT_H
#define SEGSTORE_DATA_SUBXACT_H

extern ErrorData *SsSubxactRun(void (*fn) (void *arg), void *arg);

#endif							/* SEGSTORE_DATA_SUBXACT_H */
