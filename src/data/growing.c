/*-------------------------------------------------------------------------
 *
 * growing.c
 *	  The growing segment of a collection: an ordinary heap table
 *	  segstore_internal.growing_<collection id>, with one column per field
 *	  and the row timestamp in column "$ts".  Being a heap table, it is
 *	  WAL-logged, MVCC and crash-safe.
 *
 * The table belongs to the extension's owner, in a schema on which no
 * other role has any privilege, and is recorded as a member of the
 * extension, so that DROP EXTENSION drops it.  No role but a superuser can
 * read it, write it, or attach anything to it (a trigger, rule, policy,
 * default, constraint or index), so the statements below, which run as
 * the extension's owner, reach no code another role wrote.  Who may act
 * on the collection is decided by its view (view.c), not by this table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "data/growing.h"
#include "metadata/schema.h"

#define SS_TS_COLUMN "\"$ts\""

/* Schema-qualified, quoted name of a collection's growing table. */
static char *
TableName(SsCollection *coll)
{
	char	   *rel = get_rel_name(coll->relid);

	if (rel == NULL)
		elog(ERROR, "growing table of collection \"%s\" is missing", coll->name);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(coll->relid)), rel);
}

/* Comma-separated quoted field names, in field order. */
static char *
ColumnList(const SsField *fields, int nfields)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < nfields; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", quote_identifier(fields[i].name));
	return buf.data;
}

/*
 * Create a growing table schema.name as the catalog session's role (the
 * extension's owner), a member of the extension.  Created while an
 * extension script runs (updating from 0.1), it would be recorded as a
 * member of that extension: the membership is set to segstore's here.
 */
static Oid
CreateTable(const char *schema, const char *name, const SsField *fields, int nfields)
{
	StringInfoData sql;
	Oid			relid;
	ObjectAddress table;
	ObjectAddress ext;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", quote_qualified_identifier(schema, name));
	for (i = 0; i < nfields; i++)
		appendStringInfo(&sql, "%s %s NOT NULL%s, ", quote_identifier(fields[i].name),
						 SsFieldSqlType(&fields[i]),
						 fields[i].is_primary ? " PRIMARY KEY" : "");
	appendStringInfoString(&sql, SS_TS_COLUMN " timestamptz NOT NULL)");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create growing table %s.%s", schema, name);

	relid = get_relname_relid(name, get_namespace_oid(schema, false));
	if (!OidIsValid(relid))
		elog(ERROR, "growing table %s.%s was not created", schema, name);

	(void) deleteDependencyRecordsForClass(RelationRelationId, relid, ExtensionRelationId,
										   DEPENDENCY_EXTENSION);
	table.classId = RelationRelationId;
	table.objectId = relid;
	table.objectSubId = 0;
	ext.classId = ExtensionRelationId;
	ext.objectId = get_extension_oid("segstore", false);
	ext.objectSubId = 0;
	recordDependencyOn(&table, &ext, DEPENDENCY_EXTENSION);
	CommandCounterIncrement();
	return relid;
}

/* Create the growing table of a new collection, the extension's. */
Oid
SsGrowingCreate(int64 collection_id, const SsField *fields, int nfields)
{
	return CreateTable(SS_GROWING_SCHEMA, psprintf(SS_GROWING_PREFIX INT64_FORMAT, collection_id),
					   fields, nfields);
}

/*
 * Create the growing table of a new collection as segstore 0.1 did, for an
 * installation not yet updated: segstore_data.<name>, owned by owner,
 * whose ACL is the collection's.
 */
Oid
SsGrowingCreateLegacy(const char *name, const SsField *fields, int nfields, Oid owner)
{
	Oid			relid = CreateTable("segstore_data", name, fields, nfields);
	char	   *sql = psprintf("ALTER TABLE %s OWNER TO %s",
							   quote_qualified_identifier("segstore_data", name),
							   quote_identifier(GetUserNameFromId(owner, false)));

	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not set owner of collection \"%s\"", name);
	return relid;
}

/*
 * Drop a growing table (a collection's, or 0.1's table being replaced):
 * it leaves the extension first, as a member cannot be dropped on its own.
 */
void
SsGrowingDropRelation(Oid relid)
{
	ObjectAddress table;

	(void) deleteDependencyRecordsForClass(RelationRelationId, relid, ExtensionRelationId,
										   DEPENDENCY_EXTENSION);
	CommandCounterIncrement();
	table.classId = RelationRelationId;
	table.objectId = relid;
	table.objectSubId = 0;
	performDeletion(&table, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
}

/* Drop a collection's growing table. */
void
SsGrowingDrop(SsCollection *coll)
{
	SsGrowingDropRelation(coll->relid);
}

/* Store one SQL value of a field into row `row` of a fixed-width column. */
static void
StoreFixed(SsColumn *col, const SsField *field, int64 row, Datum d)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
			((int64 *) col->values)[row] = DatumGetInt64(d);
			break;
		case SS_TYPE_INT4:
			((int32 *) col->values)[row] = DatumGetInt32(d);
			break;
		case SS_TYPE_FLOAT4:
			((float4 *) col->values)[row] = DatumGetFloat4(d);
			break;
		case SS_TYPE_FLOAT8:
			((float8 *) col->values)[row] = DatumGetFloat8(d);
			break;
		case SS_TYPE_BOOL:
			col->values[row] = DatumGetBool(d) ? 1 : 0;
			break;
		case SS_TYPE_VECTOR:
			{
				ArrayType  *arr = DatumGetArrayTypeP(d);

				if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != field->typmod ||
					ARR_HASNULL(arr))
					elog(ERROR, "growing table holds a malformed vector");
				memcpy(col->values + (Size) 4 * field->typmod * row,
					   ARR_DATA_PTR(arr), (Size) 4 * field->typmod);
				break;
			}
		default:
			elog(ERROR, "not a fixed-width field");
	}
}

/*
 * Read all rows of the growing table, sorted by primary key, into a batch.
 * Without all_fields only the primary key and scalar fields are read: the
 * vector is what costs.
 */
SsBatch *
SsGrowingRead(SsCollection *coll, bool all_fields)
{
	return SsGrowingReadRange(coll, all_fields, false, 0, 0);
}

/*
 * Read rows of the growing table sorted by primary key, in the snapshot
 * of the catalog session's statements: with after_set only keys above
 * after, with max_rows > 0 at most that many, so that a reader can go
 * through the table a chunk at a time (the primary key's index serves
 * both).
 */
SsBatch *
SsGrowingReadRange(SsCollection *coll, bool all_fields, bool after_set, int64 after,
				   int64 max_rows)
{
	const char *pk = quote_identifier(coll->fields[coll->pk].name);
	char	   *sql;
	SsBatch    *batch;
	uint64		n;
	int			f;

	sql = psprintf("SELECT %s, " SS_TS_COLUMN " FROM %s%s ORDER BY %s%s",
				   ColumnList(coll->fields, coll->nfields), TableName(coll),
				   after_set ? psprintf(" WHERE %s > " INT64_FORMAT, pk, after) : "",
				   pk, max_rows > 0 ? psprintf(" LIMIT " INT64_FORMAT, max_rows) : "");
	if (SsCatalogSelect(sql) != SPI_OK_SELECT)
		elog(ERROR, "could not read growing table of collection \"%s\"", coll->name);
	n = SPI_processed;
	batch = SsBatchCreate(coll->fields, coll->nfields, n);

	for (f = 0; f <= coll->nfields; f++)
	{
		SsColumn   *col = &batch->cols[f];
		const SsField *field = f < coll->nfields ? &coll->fields[f] : NULL;
		uint64		i;

		if (field && field->type == SS_TYPE_VECTOR && !all_fields)
			continue;
		if (col->type == SS_COL_VAR)
		{
			struct varlena **vals = palloc(sizeof(struct varlena *) * Max(n, 1));
			Size		bytes = 0;

			/* Detoast first: a compressed datum's size is not its length. */
			for (i = 0; i < n; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, f + 1, &isnull);

				vals[i] = PG_DETOAST_DATUM_PACKED(d);
				bytes += VARSIZE_ANY_EXHDR(vals[i]);
			}
			SsColumnAllocate(col, n, bytes);
			for (i = 0; i < n; i++)
			{
				Size		len = VARSIZE_ANY_EXHDR(vals[i]);

				memcpy(col->data + col->offsets[i], VARDATA_ANY(vals[i]), len);
				col->offsets[i + 1] = col->offsets[i] + len;
			}
			pfree(vals);
		}
		else
		{
			SsColumnAllocate(col, n, 0);
			for (i = 0; i < n; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, f + 1, &isnull);

				if (field)
					StoreFixed(col, field, i, d);
				else
					((int64 *) col->values)[i] = DatumGetTimestampTz(d);
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(SPI_tuptable);
	return batch;
}

/* SQL value of row `row` of column `col` holding field `field`. */
static Datum
ColumnDatum(const SsColumn *col, const SsField *field, int64 row)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
			return Int64GetDatum(((const int64 *) col->values)[row]);
		case SS_TYPE_INT4:
			return Int32GetDatum(((const int32 *) col->values)[row]);
		case SS_TYPE_FLOAT4:
			return Float4GetDatum(((const float4 *) col->values)[row]);
		case SS_TYPE_FLOAT8:
			return Float8GetDatum(((const float8 *) col->values)[row]);
		case SS_TYPE_BOOL:
			return BoolGetDatum(col->values[row] != 0);
		case SS_TYPE_VECTOR:
			{
				const float4 *v = (const float4 *) (col->values + (Size) 4 * field->typmod * row);
				Datum	   *elems = palloc(sizeof(Datum) * field->typmod);
				int			i;

				for (i = 0; i < field->typmod; i++)
					elems[i] = Float4GetDatum(v[i]);
				return PointerGetDatum(construct_array(elems, field->typmod, FLOAT4OID,
													   4, true, TYPALIGN_INT));
			}
		default:
			{
				Size		len = col->offsets[row + 1] - col->offsets[row];
				struct varlena *v = palloc(VARHDRSZ + len);

				SET_VARSIZE(v, VARHDRSZ + len);
				memcpy(VARDATA(v), col->data + col->offsets[row], len);
				return PointerGetDatum(v);
			}
	}
}

/* SQL type of a field's growing-table column. */
static Oid
FieldTypeOid(const SsField *field)
{
	switch (field->type)
	{
		case SS_TYPE_INT8:
			return INT8OID;
		case SS_TYPE_INT4:
			return INT4OID;
		case SS_TYPE_FLOAT4:
			return FLOAT4OID;
		case SS_TYPE_FLOAT8:
			return FLOAT8OID;
		case SS_TYPE_BOOL:
			return BOOLOID;
		case SS_TYPE_TEXT:
			return TEXTOID;
		case SS_TYPE_VARCHAR:
			return VARCHAROID;
		case SS_TYPE_JSONB:
			return JSONBOID;
		case SS_TYPE_VECTOR:
			return FLOAT4ARRAYOID;
	}
	return InvalidOid;
}

/*
 * Attribute number of field f's column (f = nfields: "$ts") in the growing
 * table, checked to have the type segstore gave it.
 */
static AttrNumber
ColumnAttnum(SsCollection *coll, TupleDesc desc, int f)
{
	const SsField *field = f < coll->nfields ? &coll->fields[f] : NULL;
	const char *name = field ? field->name : "$ts";
	Oid			type = field ? FieldTypeOid(field) : TIMESTAMPTZOID;
	AttrNumber	a = get_attnum(coll->relid, name);

	if (a <= 0 || a > desc->natts || TupleDescAttr(desc, a - 1)->atttypid != type)
		elog(ERROR, "growing table of collection \"%s\" lacks column \"%s\" of its type",
			 coll->name, name);
	return a;
}

/* Make room for at least need rows (and var_need bytes of a SS_COL_VAR column). */
static void
ScanColumnGrow(SsColumn *col, int64 *cap, int64 need, Size *var_cap, Size var_need)
{
	if (need > *cap)
	{
		int64		cap2 = Max(*cap * 2, need);

		if (col->type == SS_COL_VAR)
			col->offsets = repalloc_huge(col->offsets, sizeof(uint64) * (cap2 + 1));
		else
			col->values = repalloc_huge(col->values, (Size) SsColWidth(col) * cap2);
		*cap = cap2;
	}
	if (col->type == SS_COL_VAR && var_need > *var_cap)
	{
		Size		cap2 = Max(*var_cap * 2, var_need);

		col->data = repalloc_huge(col->data, cap2);
		*var_cap = cap2;
	}
}

/*
 * Read growing rows in heap order straight from the table: the primary
 * key, the row timestamps and the fields in `fields` (field numbers; all
 * with all_fields), the other columns left unread.  Each column is checked
 * to have the type segstore gave it.  Without take, the rows the active
 * snapshot sees; with take, the rows of the latest snapshot that can be
 * deleted without waiting, which are deleted as they are read: rows that
 * a writer still in progress deletes stay, for that writer to act on.
 */
static SsBatch *
ScanRows(SsCollection *coll, const Bitmapset *fields, bool all_fields, bool take)
{
	SsBatch    *batch = SsBatchCreate(coll->fields, coll->nfields, 0);
	int			ncols = coll->nfields + 1;
	AttrNumber *attnos = palloc0(sizeof(AttrNumber) * ncols);
	int64	   *caps = palloc0(sizeof(int64) * ncols);
	Size	   *var_caps = palloc0(sizeof(Size) * ncols);
	AttrNumber	last = 0;
	int64		expect;
	LOCKMODE	lockmode = take ? RowExclusiveLock : AccessShareLock;
	Snapshot	snapshot;
	CommandId	cid = GetCurrentCommandId(take);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "segstore growing scan",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Relation	rel;
	TupleDesc	desc;
	TableScanDesc scan;
	TupleTableSlot *slot;
	int64		n = 0;
	int			f;

	rel = table_open(coll->relid, lockmode);
	desc = RelationGetDescr(rel);
	/* sized for the rows the table could hold, so that columns rarely grow */
	expect = (int64) RelationGetNumberOfBlocks(rel) * BLCKSZ / ((int64) coll->dim * 4 + 16) + 64;
	for (f = 0; f < ncols; f++)
	{
		const SsField *field = f < coll->nfields ? &coll->fields[f] : NULL;
		SsColumn   *col = &batch->cols[f];
		AttrNumber	a;

		if (field && f != coll->pk && !all_fields && !bms_is_member(f, fields))
			continue;
		a = ColumnAttnum(coll, desc, f);
		attnos[f] = a;
		last = Max(last, a);
		caps[f] = expect;
		var_caps[f] = expect * 16;
		SsColumnAllocate(col, caps[f], var_caps[f]);
	}

	snapshot = RegisterSnapshot(take ? GetLatestSnapshot() : GetActiveSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if (take)
		{
			TM_FailureData tmfd;

			if (table_tuple_delete(rel, &slot->tts_tid, cid, snapshot, InvalidSnapshot,
								   false, &tmfd, false) != TM_Ok)
				continue;
		}
		slot_getsomeattrs(slot, last);
		old = MemoryContextSwitchTo(row_cxt);
		for (f = 0; f < ncols; f++)
		{
			SsColumn   *col = &batch->cols[f];
			const SsField *field = f < coll->nfields ? &coll->fields[f] : NULL;
			Datum		d;

			if (attnos[f] == 0)
				continue;
			if (slot->tts_isnull[attnos[f] - 1])
				elog(ERROR, "growing table of collection \"%s\" holds a NULL", coll->name);
			d = slot->tts_values[attnos[f] - 1];
			if (col->type == SS_COL_VAR)
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
				Size		len = VARSIZE_ANY_EXHDR(v);
				Size		at = col->offsets[n];

				ScanColumnGrow(col, &caps[f], n + 1, &var_caps[f], at + len);
				memcpy(col->data + at, VARDATA_ANY(v), len);
				col->offsets[n + 1] = at + len;
			}
			else
			{
				ScanColumnGrow(col, &caps[f], n + 1, NULL, 0);
				if (field)
					StoreFixed(col, field, n, d);
				else
					((int64 *) col->values)[n] = DatumGetTimestampTz(d);
			}
		}
		MemoryContextSwitchTo(old);
		n++;
		if (n % 1024 == 0)
		{
			MemoryContextReset(row_cxt);
			CHECK_FOR_INTERRUPTS();
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	table_close(rel, lockmode);
	MemoryContextDelete(row_cxt);
	if (take)
		CommandCounterIncrement();

	batch->nrows = n;
	for (f = 0; f < ncols; f++)
		if (attnos[f] != 0)
			batch->cols[f].nrows = n;
	return batch;
}

/*
 * Read the growing rows that the active snapshot sees (ScanRows): how a
 * search reads them, without SPI's per-row cost or a sort.
 */
SsBatch *
SsGrowingScan(SsCollection *coll, const Bitmapset *fields)
{
	return ScanRows(coll, fields, false, false);
}

/*
 * Take the growing rows a seal moves into a segment: every committed row
 * no writer in progress deletes, deleted here (ScanRows), sorted by key.
 */
SsBatch *
SsGrowingTake(SsCollection *coll)
{
	SsBatch    *batch = ScanRows(coll, NULL, true, true);

	SsBatchSortByKey(batch, coll->pk);
	return batch;
}

/* The prepared INSERT of one row (fields, then "$ts") into the growing table. */
static SPIPlanPtr
PrepareInsert(SsCollection *coll)
{
	StringInfoData sql;
	Oid		   *types = palloc(sizeof(Oid) * (coll->nfields + 1));
	SPIPlanPtr	plan;
	int			f;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (%s, " SS_TS_COLUMN ") VALUES (",
					 TableName(coll), ColumnList(coll->fields, coll->nfields));
	for (f = 0; f <= coll->nfields; f++)
	{
		appendStringInfo(&sql, "%s$%d", f ? ", " : "", f + 1);
		types[f] = f < coll->nfields ? FieldTypeOid(&coll->fields[f]) : TIMESTAMPTZOID;
	}
	appendStringInfoChar(&sql, ')');
	plan = SsCatalogStatementPlan(sql.data, coll->nfields + 1, types);
	if (plan == NULL)
		plan = SPI_prepare(sql.data, coll->nfields + 1, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare insert into growing table: %s",
			 SPI_result_code_string(SPI_result));
	return plan;
}

/* Insert one row with a prepared INSERT. */
static void
InsertRow(SsCollection *coll, SPIPlanPtr plan, Datum *values)
{
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into growing table of collection \"%s\"",
			 coll->name);
}

/*
 * Insert a batch of already validated rows into the growing table, straight
 * through the table and its primary key index as CatalogTupleInsert does,
 * without an SPI statement per row.  The table has no other index and, as
 * no role but a superuser can change it (file header), no trigger, rule,
 * policy, default or constraint besides its NOT NULLs, which the rows
 * meet.  The index still checks the keys' uniqueness.
 */
void
SsGrowingInsert(SsCollection *coll, SsBatch *batch)
{
	int			ncols = coll->nfields + 1;
	AttrNumber *attnos = palloc(sizeof(AttrNumber) * ncols);
	CommandId	cid = GetCurrentCommandId(true);
	MemoryContext rowcxt;
	MemoryContext old;
	Relation	rel;
	Relation	index;
	IndexInfo  *info;
	TupleDesc	desc;
	TupleTableSlot *slot;
	List	   *indexes;
	int64		r;
	int			f;

	rel = table_open(coll->relid, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	indexes = RelationGetIndexList(rel);
	if (list_length(indexes) != 1 || linitial_oid(indexes) != RelationGetPrimaryKeyIndex(rel))
		elog(ERROR, "growing table of collection \"%s\" must have its primary key as only index",
			 coll->name);
	for (f = 0; f < ncols; f++)
		attnos[f] = ColumnAttnum(coll, desc, f);
	index = index_open(linitial_oid(indexes), RowExclusiveLock);
	info = BuildIndexInfo(index);
	if (info->ii_NumIndexAttrs != 1 || info->ii_IndexAttrNumbers[0] != attnos[coll->pk])
		elog(ERROR, "growing table of collection \"%s\" has a wrong primary key", coll->name);

	slot = table_slot_create(rel, NULL);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "segstore growing insert",
								   ALLOCSET_DEFAULT_SIZES);
	for (r = 0; r < batch->nrows; r++)
	{
		Datum		key;
		bool		key_null = false;

		ExecClearTuple(slot);
		memset(slot->tts_isnull, true, sizeof(bool) * desc->natts);
		old = MemoryContextSwitchTo(rowcxt);
		for (f = 0; f < ncols; f++)
		{
			slot->tts_values[attnos[f] - 1] = f < coll->nfields ?
				ColumnDatum(&batch->cols[f], &coll->fields[f], r) :
				TimestampTzGetDatum(SsBatchKey(batch, coll->nfields, r));
			slot->tts_isnull[attnos[f] - 1] = false;
		}
		MemoryContextSwitchTo(old);
		ExecStoreVirtualTuple(slot);
		table_tuple_insert(rel, slot, cid, 0, NULL);
		key = slot->tts_values[attnos[coll->pk] - 1];
		(void) index_insert(index, &key, &key_null, &slot->tts_tid, rel,
							UNIQUE_CHECK_YES, false, info);
		MemoryContextReset(rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(rowcxt);
	index_close(index, RowExclusiveLock);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * Insert rows given as datums of the growing table's column types, each
 * row the fields in field order and then its timestamp: the rows of a 0.1
 * growing table being carried over, which keep their times.
 */
void
SsGrowingInsertDatums(SsCollection *coll, Datum *rows, int64 nrows)
{
	SPIPlanPtr	plan = PrepareInsert(coll);
	int64		r;

	for (r = 0; r < nrows; r++)
	{
		InsertRow(coll, plan, rows + r * (coll->nfields + 1));
		CHECK_FOR_INTERRUPTS();
	}
}

/* Past this many keys, ProbeKeys scans the table instead of probing its index. */
#define PROBE_SCAN_KEYS 256

/*
 * Look the given sorted keys up in the growing table's primary key index
 * in snapshot in (NULL: the latest); with delete, delete the rows found
 * (in the latest snapshot), waiting for a seal in progress that moves one
 * (a row a seal moved is not there), and list in *seen the keys whose
 * deleted row snapshot check (if not NULL) sees too.  The caller holds
 * the keys' locks (SsLockKey) or the collection's in
 * ShareRowExclusiveLock, so no other writer changes these keys meanwhile.
 * Returns the keys found (and deleted), sorted.
 */
static int64 *
ProbeKeys(SsCollection *coll, const int64 *keys, int nkeys, Snapshot in, bool delete,
		  Snapshot check, int *nout, int64 **seen, int *nseen)
{
	LOCKMODE	lockmode = delete ? RowExclusiveLock : AccessShareLock;
	int64	   *out = palloc(sizeof(int64) * Max(nkeys, 1));
	CommandId	cid = GetCurrentCommandId(delete);
	Snapshot	snapshot;
	Relation	rel;
	Relation	index;
	IndexScanDesc scan = NULL;
	TableScanDesc heapscan = NULL;
	AttrNumber	pk = InvalidAttrNumber;
	bool		many;
	TupleTableSlot *slot;
	int			i;

	*nout = 0;
	if (seen != NULL)
	{
		*seen = palloc(sizeof(int64) * Max(nkeys, 1));
		*nseen = 0;
	}
	if (nkeys == 0)
		return out;
	rel = table_open(coll->relid, lockmode);
	if (!OidIsValid(RelationGetPrimaryKeyIndex(rel)))
		elog(ERROR, "growing table of collection \"%s\" has no primary key", coll->name);
	index = index_open(RelationGetPrimaryKeyIndex(rel), lockmode);
	snapshot = RegisterSnapshot(in != NULL ? in : GetLatestSnapshot());
	slot = table_slot_create(rel, NULL);

	/*
	 * Many keys are looked up in one pass over the table, which a seal
	 * keeps small, rather than one index probe each.
	 */
	many = nkeys > PROBE_SCAN_KEYS;
	if (many)
	{
		pk = ColumnAttnum(coll, RelationGetDescr(rel), coll->pk);
		heapscan = table_beginscan(rel, snapshot, 0, NULL);
	}
	else
		scan = index_beginscan(rel, index, snapshot, 1, 0);
	for (i = 0; many || i < nkeys; i++)
	{
		int64		k;

		if (many)
		{
			bool		isnull;

			if (!table_scan_getnextslot(heapscan, ForwardScanDirection, slot))
				break;
			k = DatumGetInt64(slot_getattr(slot, pk, &isnull));
			if (isnull || !SsSortedContains(keys, nkeys, k))
				continue;
		}
		else
		{
			ScanKeyData key;

			k = keys[i];
			ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(k));
			index_rescan(scan, &key, 1, NULL, 0);
			if (!index_getnext_slot(scan, ForwardScanDirection, slot))
				continue;
		}
		if (delete)
		{
			TM_FailureData tmfd;
			bool		in_check = check != NULL &&
				table_tuple_satisfies_snapshot(rel, slot, check);
			TM_Result	res = table_tuple_delete(rel, &slot->tts_tid, cid, snapshot,
												 InvalidSnapshot, true, &tmfd, false);

			/* rows are only ever inserted and deleted: not Ok, a seal took it */
			if (res == TM_Invisible)
				elog(ERROR, "growing row of key " INT64_FORMAT " of collection \"%s\" is invisible",
					 k, coll->name);
			if (res != TM_Ok)
				continue;
			if (in_check)
				(*seen)[(*nseen)++] = k;
		}
		out[(*nout)++] = k;
		CHECK_FOR_INTERRUPTS();
	}
	if (many)
	{
		table_endscan(heapscan);
		SsSortKeys(out, nout, false);
		if (seen != NULL)
			SsSortKeys(*seen, nseen, false);
	}
	else
		index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(index, lockmode);
	table_close(rel, lockmode);
	if (delete)
		CommandCounterIncrement();
	return out;
}

/*
 * Delete rows with the given sorted keys; returns the keys that were
 * there.  With snapshot, *seen lists the keys whose deleted row that
 * snapshot sees too (ProbeKeys).
 */
int64 *
SsGrowingDelete(SsCollection *coll, const int64 *keys, int nkeys, Snapshot snapshot,
				int *ndeleted, int64 **seen, int *nseen)
{
	return ProbeKeys(coll, keys, nkeys, NULL, true, snapshot, ndeleted, seen, nseen);
}

/* Which of the given sorted keys the growing table holds in snapshot (NULL: now). */
int64 *
SsGrowingFind(SsCollection *coll, const int64 *keys, int nkeys, Snapshot snapshot, int *nfound)
{
	return ProbeKeys(coll, keys, nkeys, snapshot, false, NULL, nfound, NULL, NULL);
}

/* Number of rows in the growing table. */
int64
SsGrowingCount(SsCollection *coll)
{
	bool		isnull;

	if (SsCatalogSelect(psprintf("SELECT pg_catalog.count(*) FROM %s",
								 TableName(coll))) != SPI_OK_SELECT)
		elog(ERROR, "could not count growing table of collection \"%s\"", coll->name);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Bytes the growing table and its index take on disk. */
int64
SsGrowingRelationSize(SsCollection *coll)
{
	bool		isnull;
	char	   *sql = psprintf("SELECT pg_catalog.pg_total_relation_size(%u)", coll->relid);

	if (SPI_execute(sql, SsCatalogReadOnly(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not size growing table of collection \"%s\"", coll->name);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Smallest and largest key of the growing table; false if it is empty. */
bool
SsGrowingKeyRange(SsCollection *coll, int64 *min, int64 *max)
{
	const char *pk = quote_identifier(coll->fields[coll->pk].name);
	bool		isnull;

	if (SsCatalogSelect(psprintf("SELECT pg_catalog.min(%s), pg_catalog.max(%s) FROM %s",
								 pk, pk, TableName(coll))) != SPI_OK_SELECT)
		elog(ERROR, "could not read growing table of collection \"%s\"", coll->name);
	*min = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		return false;
	*max = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}
