/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  Parsing of a collection's field list with PostgreSQL's own parser,
 *	  and the rules a collection's name and fields must follow.
 *
 * The field list is parsed as the column list of a CREATE TABLE, so every
 * spelling PostgreSQL accepts for a type ("bigint", "int8", "float4[128]",
 * "real[128]", "character varying(10)") works here too.  Errors the
 * parser reports with a position in that statement are moved onto the
 * user's own text, as PostgreSQL does for the body of a SQL function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/heap.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "parser/parser.h"

#include "metadata/schema.h"

/* The statement a field list is parsed in; the list starts after it. */
#define FIELDS_PREFIX "CREATE TABLE segstore_fields ("

/*
 * Most fields a collection may have: insert() and upsert() take the
 * collection's name and one argument per field, and a function takes at
 * most FUNC_MAX_ARGS arguments.
 */
#define SS_MAX_FIELDS (FUNC_MAX_ARGS - 1)

/* Is name a plain identifier: [a-z_][a-z0-9_]*, shorter than NAMEDATALEN? */
static bool
IsPlainIdentifier(const char *name, bool allow_upper)
{
	const char *p;

	if (name[0] == '\0' || strlen(name) >= NAMEDATALEN)
		return false;
	for (p = name; *p; p++)
	{
		char		c = *p;
		bool		ok = (c >= 'a' && c <= 'z') || c == '_' ||
			(allow_upper && c >= 'A' && c <= 'Z') ||
			(p != name && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

/* Reject a collection name that is not a plain lower-case identifier. */
void
SsSchemaCheckName(const char *name)
{
	if (!IsPlainIdentifier(name, false))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid collection name \"%s\"", name),
				 errdetail("A collection name must be a plain identifier: a lower-case letter or underscore, then lower-case letters, digits or underscores, at most %d characters.",
						   NAMEDATALEN - 1)));
}

/* Name of a field type as shown to users. */
const char *
SsFieldTypeName(SsFieldType type)
{
	switch (type)
	{
		case SS_TYPE_INT8:
			return "int8";
		case SS_TYPE_INT4:
			return "int4";
		case SS_TYPE_FLOAT4:
			return "float4";
		case SS_TYPE_FLOAT8:
			return "float8";
		case SS_TYPE_BOOL:
			return "bool";
		case SS_TYPE_TEXT:
			return "text";
		case SS_TYPE_VARCHAR:
			return "varchar";
		case SS_TYPE_JSONB:
			return "jsonb";
		case SS_TYPE_VECTOR:
			return "vector";
	}
	return "unknown";
}

/* Inverse of SsFieldTypeName, for reading the catalog. */
SsFieldType
SsFieldTypeFromName(const char *name)
{
	SsFieldType t;

	for (t = SS_TYPE_INT8; t <= SS_TYPE_VECTOR; t++)
		if (strcmp(SsFieldTypeName(t), name) == 0)
			return t;
	elog(ERROR, "unknown segstore field type \"%s\"", name);
	return SS_TYPE_INT8;		/* keep compiler quiet */
}

/* SQL type of a field's column in the growing table. */
char *
SsFieldSqlType(const SsField *field)
{
	switch (field->type)
	{
		case SS_TYPE_VARCHAR:
			return psprintf("varchar(%d)", field->typmod);
		case SS_TYPE_VECTOR:
			return pstrdup("float4[]");
		default:
			return pstrdup(SsFieldTypeName(field->type));
	}
}

/* Words of the expression language that cannot be field names. */
static bool
IsExpressionKeyword(const char *name)
{
	static const char *const words[] = {"and", "or", "not", "in", "like",
	"true", "false"};
	int			i;

	for (i = 0; i < lengthof(words); i++)
		if (pg_strcasecmp(name, words[i]) == 0)
			return true;
	return false;
}

/*
 * Error context of parsing a field list: a position in the statement it is
 * parsed in becomes a position in the field list, shown as the internal
 * query (psql prints it with a caret under the place), rather than a
 * position applied to the caller's query.
 */
static void
FieldListErrorCallback(void *arg)
{
	const char *fields = (const char *) arg;
	int			pos = geterrposition();
	int			len;

	if (pos <= 0)
		return;
	len = pg_mbstrlen(fields);
	pos -= (int) strlen(FIELDS_PREFIX);
	pos = Max(pos, 1);
	pos = Min(pos, len + 1);
	errposition(0);
	internalerrposition(pos);
	internalerrquery(fields);
}

/* Map one column definition to a field, or raise an error. */
static void
ParseColumn(ParseState *pstate, ColumnDef *col, SsField *field)
{
	Oid			typid;
	int32		typmod;
	ListCell   *lc;

	if (!IsPlainIdentifier(col->colname, true) || IsExpressionKeyword(col->colname))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid field name \"%s\"", col->colname),
				 errdetail("A field name must be a plain identifier and not one of and, or, not, in, like, true, false."),
				 parser_errposition(pstate, col->location)));
	if (SystemAttributeByName(col->colname) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("field name \"%s\" conflicts with a system column name", col->colname),
				 parser_errposition(pstate, col->location)));
	strlcpy(field->name, col->colname, NAMEDATALEN);
	field->typmod = -1;
	field->is_primary = false;

	typenameTypeIdAndMod(pstate, col->typeName, &typid, &typmod);
	switch (typid)
	{
		case INT8OID:
			field->type = SS_TYPE_INT8;
			break;
		case INT4OID:
			field->type = SS_TYPE_INT4;
			break;
		case FLOAT4OID:
			field->type = SS_TYPE_FLOAT4;
			break;
		case FLOAT8OID:
			field->type = SS_TYPE_FLOAT8;
			break;
		case BOOLOID:
			field->type = SS_TYPE_BOOL;
			break;
		case TEXTOID:
			field->type = SS_TYPE_TEXT;
			break;
		case JSONBOID:
			field->type = SS_TYPE_JSONB;
			break;
		case VARCHAROID:
			if (typmod < (int32) VARHDRSZ)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
						 errmsg("field \"%s\" of type varchar needs a maximum length", field->name),
						 errhint("Write varchar(n)."),
						 parser_errposition(pstate, col->typeName->location)));
			field->type = SS_TYPE_VARCHAR;
			field->typmod = typmod - VARHDRSZ;
			break;
		case FLOAT4ARRAYOID:
			{
				List	   *bounds = col->typeName->arrayBounds;
				int			dim;

				if (list_length(bounds) != 1 || intVal(linitial(bounds)) < 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
							 errmsg("vector field \"%s\" needs its dimension", field->name),
							 errhint("Write float4[dim], for example float4[128]."),
							 parser_errposition(pstate, col->typeName->location)));
				dim = intVal(linitial(bounds));
				if (dim < 1 || dim > SS_MAX_DIM)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("dimension of vector field \"%s\" must be between 1 and %d, not %d",
									field->name, SS_MAX_DIM, dim),
							 parser_errposition(pstate, col->typeName->location)));
				field->type = SS_TYPE_VECTOR;
				field->typmod = dim;
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("field \"%s\" has unsupported type %s",
							field->name, TypeNameToString(col->typeName)),
					 errhint("Supported types are int8, int4, float4, float8, bool, text, varchar(n), jsonb and float4[dim] for the vector."),
					 parser_errposition(pstate, col->typeName->location)));
	}

	if (col->collClause)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("field \"%s\" cannot have a collation", field->name)));

	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_PRIMARY)
			field->is_primary = true;
		else if (con->contype != CONSTR_NOTNULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("field \"%s\" has an unsupported constraint", field->name),
					 errdetail("Only PRIMARY KEY and NOT NULL are accepted; every field is NOT NULL."),
					 parser_errposition(pstate, con->location)));
	}
}

/*
 * Parse a field list such as 'id int8 PRIMARY KEY, vector float4[128]' into
 * an array of fields, checking the collection rules: exactly one int8
 * primary key, exactly one vector, unique names.
 */
SsField *
SsSchemaParse(const char *fields, int *nfields)
{
	StringInfoData sql;
	ErrorContextCallback errcb;
	ParseState *pstate;
	List	   *parsed;
	CreateStmt *stmt;
	SsField    *result;
	int			n = 0;
	int			npk = 0;
	int			nvec = 0;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, FIELDS_PREFIX "%s)", fields);
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql.data;
	errcb.callback = FieldListErrorCallback;
	errcb.arg = (void *) fields;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	parsed = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	if (list_length(parsed) != 1 ||
		!IsA(linitial_node(RawStmt, parsed)->stmt, CreateStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("invalid field list \"%s\"", fields)));
	stmt = (CreateStmt *) linitial_node(RawStmt, parsed)->stmt;
	if (stmt->inhRelations || stmt->partspec || stmt->options || stmt->oncommit)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("invalid field list \"%s\"", fields)));

	if (list_length(stmt->tableElts) > SS_MAX_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_COLUMNS),
				 errmsg("a collection can have at most %d fields, not %d",
						SS_MAX_FIELDS, list_length(stmt->tableElts)),
				 errdetail("insert() takes the collection's name and one array per field, and a function takes at most %d arguments.",
						   FUNC_MAX_ARGS)));

	result = palloc0(sizeof(SsField) * Max(list_length(stmt->tableElts), 1));
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);
		int			i;

		if (!IsA(elt, ColumnDef))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("field list may contain only field definitions")));
		ParseColumn(pstate, (ColumnDef *) elt, &result[n]);
		for (i = 0; i < n; i++)
			if (strcmp(result[i].name, result[n].name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("field \"%s\" is defined more than once", result[n].name),
						 parser_errposition(pstate, ((ColumnDef *) elt)->location)));
		if (result[n].is_primary)
		{
			if (result[n].type != SS_TYPE_INT8)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
						 errmsg("primary key field \"%s\" must be of type int8", result[n].name)));
			npk++;
		}
		if (result[n].type == SS_TYPE_VECTOR)
			nvec++;
		n++;
	}
	if (npk != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("a collection needs exactly one int8 PRIMARY KEY field, not %d", npk)));
	if (nvec != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("a collection needs exactly one float4[dim] vector field, not %d", nvec)));
	error_context_stack = errcb.previous;
	free_parsestate(pstate);
	*nfields = n;
	return result;
}
