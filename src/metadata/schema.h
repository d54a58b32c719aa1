/*-------------------------------------------------------------------------
 *
 * schema.h
 *	  Parsing and validation of a collection's field list and name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_METADATA_SCHEMA_H
#define SEGSTORE_METADATA_SCHEMA_H

#include "segstore.h"

extern void SsSchemaCheckName(const char *name);
extern SsField *SsSchemaParse(const char *fields, int *nfields);
extern const char *SsFieldTypeName(SsFieldType type);
extern SsFieldType SsFieldTypeFromName(const char *name);
extern char *SsFieldSqlType(const SsField *field);

#endif							/* SEGSTORE_METADATA_SCHEMA_H */
