/*-------------------------------------------------------------------------
 *
 * upgrade.h
 *	  Moving the collections of a segstore 0.1 installation to 0.2's
 *	  objects, inside ALTER EXTENSION segstore UPDATE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_DATA_UPGRADE_H
#define SEGSTORE_DATA_UPGRADE_H

extern void SsUpgradeFrom01(void);

#endif							/* SEGSTORE_DATA_UPGRADE_H */
