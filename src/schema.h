/*-------------------------------------------------------------------------
 *
 * schema.h
 *	  Parsing and validation of a collection's field list and name.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_SCHEMA_H
#define SEGSTORE_SCHEMA_H

#include "segstore.h"

#define SS_MAX_DIM 32768

extern void SsSchemaCheckName(const char *name);
extern SsField *SsSchemaParse(const char *fields, int *nfields);
extern const char *SsFieldTypeName(SsFieldType type);
extern SsFieldType SsFieldTypeFromName(const char *name);
extern char *SsFieldSqlType(const SsField *field);

#endif
