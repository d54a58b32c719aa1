/*-------------------------------------------------------------------------
 *
 * expr_node.c
 *	  Building the expression tree: node constructors, and the type rules
 *	  that turn a comparison into a node of the right kind.
 *
 * The parser (expr_parse.c) calls these as it recognises each construct,
 * so that a type error is reported where it occurs in the text, before any
 * later syntax error.  SsExprMakeComparison takes two operands (fields or
 * literals, see Operand) and an operator and gives a node that evaluation
 * can run without looking at types again: the field is always on the left,
 * a float literal against an int field becomes the exact integer
 * comparison, and a literal against a float4 field is rounded as stored
 * values were.  Constant results are folded into EXPR_CONST; and/or nests
 * are flattened and double negations dropped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "expr/expr_int.h"
#include "metadata/schema.h"


/* ---------- names for error messages ---------- */

/* Name of a field type as users see it in SQL. */
const char *
SsExprTypeName(SsFieldType type)
{
	return type == SS_TYPE_VECTOR ? "float4[]" : SsFieldTypeName(type);
}

/* Description of a literal kind for error messages. */
const char *
SsExprLitDesc(LitKind kind)
{
	switch (kind)
	{
		case LIT_INT:
			return "an integer literal";
		case LIT_FLOAT:
			return "a float literal";
		case LIT_STRING:
			return "a string literal";
		case LIT_BOOL:
			return "a boolean literal";
	}
	return "a literal";
}

/* Source spelling of a comparison operator. */
static const char *
OpName(CmpOp op)
{
	switch (op)
	{
		case CMP_EQ:
			return "==";
		case CMP_NE:
			return "!=";
		case CMP_LT:
			return "<";
		case CMP_LE:
			return "<=";
		case CMP_GT:
			return ">";
		case CMP_GE:
			return ">=";
	}
	return "?";
}

/* Report a field compared with a literal of an incompatible kind. */
void
SsExprLiteralMismatch(ExprParser *ps, int field, LitKind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot compare field \"%s\" of type %s with %s",
					ps->fields[field].name,
					SsExprTypeName(ps->fields[field].type),
					SsExprLitDesc(kind))));
}


/* ---------- tree construction ---------- */

/* A zeroed node of the given kind. */
ExprNode *
SsExprMakeNode(ExprKind kind)
{
	ExprNode   *n = palloc0(sizeof(ExprNode));

	n->kind = kind;
	return n;
}

/* A constant true or false. */
ExprNode *
SsExprMakeConst(bool value)
{
	ExprNode   *n = SsExprMakeNode(EXPR_CONST);

	n->bval = value;
	return n;
}

/* bool field == want. */
ExprNode *
SsExprMakeBoolTest(int field, bool want)
{
	ExprNode   *n = SsExprMakeNode(EXPR_BOOL);

	n->field = field;
	n->bval = want;
	return n;
}

/* int field op value. */
static ExprNode *
MakeIntCmp(int field, CmpOp op, int64 value)
{
	ExprNode   *n = SsExprMakeNode(EXPR_INT_CMP);

	n->field = field;
	n->op = op;
	n->ival = value;
	return n;
}

/* Negation of child; double negation and constants are folded. */
ExprNode *
SsExprMakeNot(ExprNode *child)
{
	ExprNode   *n;

	if (child->kind == EXPR_NOT)
		return child->args[0];
	if (child->kind == EXPR_CONST)
		return SsExprMakeConst(!child->bval);
	n = SsExprMakeNode(EXPR_NOT);
	n->nargs = 1;
	n->args = palloc(sizeof(ExprNode *));
	n->args[0] = child;
	return n;
}

/* Append child to args of an and/or of the given kind, flattening nests. */
List *
SsExprAddJunctionArg(List *args, ExprKind kind, ExprNode *child)
{
	int			i;

	if (child->kind != kind)
		return lappend(args, child);
	for (i = 0; i < child->nargs; i++)
		args = lappend(args, child->args[i]);
	return args;
}

/* An and/or over args, or the only arg itself. */
ExprNode *
SsExprMakeJunction(ExprKind kind, List *args)
{
	ExprNode   *n;
	ListCell   *lc;
	int			i = 0;

	if (list_length(args) == 1)
		return (ExprNode *) linitial(args);
	n = SsExprMakeNode(kind);
	n->nargs = list_length(args);
	n->args = palloc(sizeof(ExprNode *) * n->nargs);
	foreach(lc, args)
		n->args[i++] = (ExprNode *) lfirst(lc);
	list_free(args);
	return n;
}

/* Convert v to int64 if it is an integer within range. */
bool
SsExprFloatToInt64(double v, int64 *out)
{
	if (v != floor(v) || v < -9223372036854775808.0 ||
		v >= 9223372036854775808.0)
		return false;
	*out = (int64) v;
	return true;
}

/*
 * "int field op c" for a float literal c, rewritten into the exact integer
 * comparison (or constant) it is equivalent to: id < 2.5 is id < 3, id <= 2.5
 * is id <= 2, and id == 2.5 is false.  Precision is not lost for big ints and
 * the result still narrows key bounds.
 */
static ExprNode *
IntCmpFloat(int field, CmpOp op, double c)
{
	double		t = c;
	int64		v;

	switch (op)
	{
		case CMP_EQ:
		case CMP_NE:
			if (c != floor(c))
				return SsExprMakeConst(op == CMP_NE);
			break;
		case CMP_LT:
		case CMP_GE:
			t = ceil(c);
			break;
		case CMP_LE:
		case CMP_GT:
			t = floor(c);
			break;
	}
	if (SsExprFloatToInt64(t, &v))
		return MakeIntCmp(field, op, v);
	/* t is above or below every int64 */
	if (t > 0)
		return SsExprMakeConst(op == CMP_NE || op == CMP_LT || op == CMP_LE);
	return SsExprMakeConst(op == CMP_NE || op == CMP_GT || op == CMP_GE);
}

/*
 * A numeric literal as a float field compares with it: float4 fields round it
 * to float4 as the stored values were rounded, so that f == 0.1 finds 0.1.
 * Values that float4 cannot hold (overflow, or underflow to zero) are left
 * alone so that they compare as they are.
 */
double
SsExprFloatLiteral(SsFieldType type, LitKind kind, int64 ival, double fval)
{
	double		v = (kind == LIT_INT) ? (double) ival : fval;
	float		r;

	if (type != SS_TYPE_FLOAT4 || fabs(v) > FLT_MAX)
		return v;
	r = (float) v;
	if (r == 0 && v != 0)
		return v;
	return r;
}

/* Bool fields only support equality; report anything else. */
static void
CheckBoolOp(ExprParser *ps, int field, CmpOp op)
{
	if (op != CMP_EQ && op != CMP_NE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot compare field \"%s\" of type %s using operator \"%s\"",
						ps->fields[field].name,
						SsExprTypeName(ps->fields[field].type), OpName(op))));
}

/* "field op literal", type-checked. */
static ExprNode *
CompareFieldLiteral(ExprParser *ps, int field, CmpOp op, const Operand *lit)
{
	SsFieldType type = ps->fields[field].type;
	ExprNode   *n;

	if (SsExprIsIntType(type) && lit->kind == LIT_INT)
		return MakeIntCmp(field, op, lit->ival);
	if (SsExprIsIntType(type) && lit->kind == LIT_FLOAT)
		return IntCmpFloat(field, op, lit->fval);
	if (SsExprIsFloatType(type) &&
		(lit->kind == LIT_INT || lit->kind == LIT_FLOAT))
	{
		n = SsExprMakeNode(EXPR_FLOAT_CMP);
		n->field = field;
		n->op = op;
		n->fval = SsExprFloatLiteral(type, lit->kind, lit->ival, lit->fval);
		return n;
	}
	if (SsExprIsStrType(type) && lit->kind == LIT_STRING)
	{
		n = SsExprMakeNode(EXPR_STR_CMP);
		n->field = field;
		n->op = op;
		n->sval = lit->sval;
		return n;
	}
	if (type == SS_TYPE_BOOL && lit->kind == LIT_BOOL)
	{
		CheckBoolOp(ps, field, op);
		/* flag == true and flag != false both want true */
		return SsExprMakeBoolTest(field, (op == CMP_EQ) == lit->bval);
	}
	SsExprLiteralMismatch(ps, field, lit->kind);
}

/* "field op field2", type-checked. */
static ExprNode *
CompareFields(ExprParser *ps, int field, CmpOp op, int field2)
{
	SsFieldType lt = ps->fields[field].type;
	SsFieldType rt = ps->fields[field2].type;
	ExprNode   *n = SsExprMakeNode(EXPR_INT_INT);

	n->field = field;
	n->field2 = field2;
	n->op = op;
	if (SsExprIsIntType(lt) && SsExprIsIntType(rt))
		return n;
	if ((SsExprIsIntType(lt) || SsExprIsFloatType(lt)) &&
		(SsExprIsIntType(rt) || SsExprIsFloatType(rt)))
	{
		n->kind = EXPR_NUM_NUM;
		n->lfloat = SsExprIsFloatType(lt);
		n->rfloat = SsExprIsFloatType(rt);
		return n;
	}
	if (SsExprIsStrType(lt) && SsExprIsStrType(rt))
	{
		n->kind = EXPR_STR_STR;
		return n;
	}
	if (lt == SS_TYPE_BOOL && rt == SS_TYPE_BOOL)
	{
		CheckBoolOp(ps, field, op);
		n->kind = EXPR_BOOL_BOOL;
		return n;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot compare field \"%s\" of type %s with field \"%s\" of type %s",
					ps->fields[field].name, SsExprTypeName(lt),
					ps->fields[field2].name, SsExprTypeName(rt))));
	return NULL;				/* keep compiler quiet */
}

/* Operator with its operands swapped: 5 > id is id < 5. */
static CmpOp
FlipOp(CmpOp op)
{
	switch (op)
	{
		case CMP_LT:
			return CMP_GT;
		case CMP_LE:
			return CMP_GE;
		case CMP_GT:
			return CMP_LT;
		case CMP_GE:
			return CMP_LE;
		default:
			return op;
	}
}

/* "a op b" for two operands, at least one a field. */
ExprNode *
SsExprMakeComparison(ExprParser *ps, const Operand *a, CmpOp op,
					 const Operand *b, int oppos)
{
	if (!a->is_field && !b->is_field)
		SsExprError(ps->text, oppos, "comparison between two literals");
	if (!a->is_field)
		return CompareFieldLiteral(ps, b->field, FlipOp(op), a);
	if (!b->is_field)
		return CompareFieldLiteral(ps, a->field, op, b);
	return CompareFields(ps, a->field, op, b->field);
}
