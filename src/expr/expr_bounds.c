/*-------------------------------------------------------------------------
 *
 * expr_bounds.c
 *	  What a parsed expression implies about an int key field: a range of
 *	  keys (SsExprBounds) or a finite list of them (SsExprKeyList).
 *
 * Reads and searches use the range to skip segments that cannot match, and
 * deletes use the list to find their rows without a scan.  Both walk the
 * tree once, conservatively: a part they do not understand (another field,
 * a float or string comparison, like) allows every key, so an answer may be
 * too wide but never too narrow.  Negation is pushed down by De Morgan
 * rather than given up on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "expr/expr_int.h"

/* Inclusive int64 range; lo > hi when empty. */
typedef struct KeyRange
{
	int64		lo;
	int64		hi;
} KeyRange;

/* ---------- key bounds and key lists ---------- */

/* The range of values v with "v op c". */
static KeyRange
OpRange(CmpOp op, int64 c)
{
	KeyRange	r = {PG_INT64_MIN, PG_INT64_MAX};
	KeyRange	empty = {PG_INT64_MAX, PG_INT64_MIN};

	switch (op)
	{
		case CMP_EQ:
			r.lo = r.hi = c;
			break;
		case CMP_NE:
			break;
		case CMP_LT:
			if (c == PG_INT64_MIN)
				return empty;
			r.hi = c - 1;
			break;
		case CMP_LE:
			r.hi = c;
			break;
		case CMP_GT:
			if (c == PG_INT64_MAX)
				return empty;
			r.lo = c + 1;
			break;
		case CMP_GE:
			r.lo = c;
			break;
	}
	return r;
}

/* Operator true exactly where op is false (over integers). */
static CmpOp
NegateOp(CmpOp op)
{
	switch (op)
	{
		case CMP_EQ:
			return CMP_NE;
		case CMP_NE:
			return CMP_EQ;
		case CMP_LT:
			return CMP_GE;
		case CMP_LE:
			return CMP_GT;
		case CMP_GT:
			return CMP_LE;
		case CMP_GE:
			return CMP_LT;
	}
	pg_unreachable();
}

/*
 * A range holding every value of field for which n (or, if negated, not n)
 * can be true.  Negation is pushed down by De Morgan so that not (id < 5)
 * still yields id >= 5.
 */
static KeyRange
NodeBounds(const ExprNode *n, int field, bool negated)
{
	KeyRange	r = {PG_INT64_MIN, PG_INT64_MAX};
	KeyRange	empty = {PG_INT64_MAX, PG_INT64_MIN};
	KeyRange	c;
	bool		conj;
	int			i;

	check_stack_depth();
	switch (n->kind)
	{
		case EXPR_CONST:
			return (n->bval != negated) ? r : empty;
		case EXPR_NOT:
			return NodeBounds(n->args[0], field, !negated);
		case EXPR_AND:
		case EXPR_OR:
			conj = (n->kind == EXPR_AND) != negated;
			for (i = 0; i < n->nargs; i++)
			{
				c = NodeBounds(n->args[i], field, negated);
				if (conj)
				{
					r.lo = Max(r.lo, c.lo);
					r.hi = Min(r.hi, c.hi);
				}
				else if (i == 0 || r.lo > r.hi)
					r = c;
				else if (c.lo <= c.hi)
				{
					r.lo = Min(r.lo, c.lo);
					r.hi = Max(r.hi, c.hi);
				}
			}
			return r;
		case EXPR_INT_CMP:
			if (n->field == field)
				return OpRange(negated ? NegateOp(n->op) : n->op, n->ival);
			return r;
		case EXPR_INT_IN:
			if (n->field != field || n->negate != negated)
				return r;
			if (n->nargs == 0)
				return empty;
			r.lo = n->ilist[0];
			r.hi = n->ilist[n->nargs - 1];
			return r;
		default:
			return r;
	}
}

/* Bounds on an int field; see expr.h. */
bool
SsExprBounds(const SsExpr *expr, int field, int64 *lo, int64 *hi)
{
	KeyRange	r = NodeBounds(expr->root, field, false);

	*lo = r.lo;
	*hi = r.hi;
	return r.lo != PG_INT64_MIN || r.hi != PG_INT64_MAX;
}

/* Keys in both sorted lists a and b; frees them. */
static int64 *
KeysIntersect(int64 *a, int na, int64 *b, int nb, int *n)
{
	int64	   *out = palloc(sizeof(int64) * Max(Min(na, nb), 1));
	int			i = 0;
	int			j = 0;

	*n = 0;
	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			out[(*n)++] = a[i];
			i++;
			j++;
		}
	}
	pfree(a);
	pfree(b);
	return out;
}

/* Keys in either sorted list a or b; frees them. */
static int64 *
KeysUnion(int64 *a, int na, int64 *b, int nb, int *n)
{
	int64	   *out = palloc(sizeof(int64) * Max(na + nb, 1));
	int			i = 0;
	int			j = 0;

	*n = 0;
	while (i < na || j < nb)
	{
		if (j >= nb || (i < na && a[i] < b[j]))
			out[(*n)++] = a[i++];
		else if (i >= na || b[j] < a[i])
			out[(*n)++] = b[j++];
		else
		{
			out[(*n)++] = a[i];
			i++;
			j++;
		}
	}
	pfree(a);
	pfree(b);
	return out;
}

/*
 * If n (or, if negated, not n) can only be true for a finite set of values
 * of field, return them sorted in a fresh palloc'd *keys.
 */
static bool
NodeKeys(const ExprNode *n, int field, bool negated, int64 **keys, int *nkeys)
{
	int64	   *ck;
	int			cn;
	bool		conj;
	bool		found = false;
	int			i;

	check_stack_depth();
	switch (n->kind)
	{
		case EXPR_CONST:
			if (n->bval != negated)
				return false;
			*keys = palloc(sizeof(int64));
			*nkeys = 0;
			return true;
		case EXPR_NOT:
			return NodeKeys(n->args[0], field, !negated, keys, nkeys);
		case EXPR_AND:
		case EXPR_OR:
			conj = (n->kind == EXPR_AND) != negated;
			for (i = 0; i < n->nargs; i++)
			{
				if (!NodeKeys(n->args[i], field, negated, &ck, &cn))
				{
					/* a disjunction is only finite if every branch is */
					if (!conj)
					{
						if (found)
							pfree(*keys);
						return false;
					}
					continue;
				}
				if (!found)
				{
					*keys = ck;
					*nkeys = cn;
					found = true;
				}
				else if (conj)
					*keys = KeysIntersect(*keys, *nkeys, ck, cn, nkeys);
				else
					*keys = KeysUnion(*keys, *nkeys, ck, cn, nkeys);
			}
			return found;
		case EXPR_INT_CMP:
			if (n->field != field || n->op != (negated ? CMP_NE : CMP_EQ))
				return false;
			*keys = palloc(sizeof(int64));
			(*keys)[0] = n->ival;
			*nkeys = 1;
			return true;
		case EXPR_INT_IN:
			if (n->field != field || n->negate != negated)
				return false;
			*keys = palloc(sizeof(int64) * Max(n->nargs, 1));
			if (n->nargs > 0)
				memcpy(*keys, n->ilist, sizeof(int64) * n->nargs);
			*nkeys = n->nargs;
			return true;
		default:
			return false;
	}
}

/* Finite key set of an int field; see expr.h. */
bool
SsExprKeyList(const SsExpr *expr, int field, int64 **keys, int *nkeys)
{
	return NodeKeys(expr->root, field, false, keys, nkeys);
}
