/*-------------------------------------------------------------------------
 *
 * expr_parse.c
 *	  Parser of the expression language: the node tree from the text.
 *
 * SsExprParse takes the text and a collection's fields and gives the tree
 * (see expr_int.h) with the set of fields it reads.  It is a recursive-
 * descent parser over the lexer's tokens (expr_lex.c), one token of
 * lookahead plus a peek to tell "field in"/"field like" from a comparison.
 * Names are resolved to field indexes as they are read, and each
 * comparison is type-checked and built (expr_node.c) as soon as it is
 * complete, so that the first problem in the text is the one reported,
 * with its position.
 *
 * Grammar (keywords are case-insensitive; "not" binds tighter than "and",
 * which binds tighter than "or"; comparisons bind tighter than all three):
 *
 *	expr	  := and_expr { ("or" | "||") and_expr }
 *	and_expr  := not_expr { ("and" | "&&") not_expr }
 *	not_expr  := ("not" | "!") not_expr | predicate
 *	predicate := "(" expr ")"
 *			   | field ["not"] "in" "[" [literal { "," literal } [","]] "]"
 *			   | field ["not"] "like" string
 *			   | literal ("<" | "<=") field ("<" | "<=") literal
 *			   | literal (">" | ">=") field (">" | ">=") literal
 *			   | operand cmpop operand
 *			   | operand
 *	operand   := field | literal
 *	literal   := ["+" | "-"] (integer | float) | string | "true" | "false"
 *	cmpop	  := "==" | "!=" | "<" | "<=" | ">" | ">="
 *
 * A bare operand must be a bool field or a bool literal.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "expr/expr_int.h"

static void TokenError(ExprParser *ps, const Token *tok)
			pg_attribute_noreturn();
static ExprNode *ParseOr(ExprParser *ps);


/* ---------- tokens ---------- */

/* Report a syntax error at token tok. */
static void
TokenError(ExprParser *ps, const Token *tok)
{
	SsExprSyntaxError(ps->text, tok->start, tok->len);
}

/* Move to the next token. */
static void
Advance(ExprParser *ps)
{
	SsExprLexNext(ps->text, ps->tok.start + ps->tok.len, &ps->tok);
}

/* Lex the token after tok into *next without moving. */
static void
PeekAfter(ExprParser *ps, const Token *tok, Token *next)
{
	SsExprLexNext(ps->text, tok->start + tok->len, next);
}

/* Consume a token of the given kind, or report a syntax error. */
static void
Expect(ExprParser *ps, TokKind kind)
{
	if (ps->tok.kind != kind)
		TokenError(ps, &ps->tok);
	Advance(ps);
}

/* True for the six comparison tokens. */
static bool
IsCmpToken(TokKind kind)
{
	return kind >= TOK_EQ && kind <= TOK_GE;
}

/* Operator of a comparison token. */
static CmpOp
TokenOp(TokKind kind)
{
	return (CmpOp) (CMP_EQ + (kind - TOK_EQ));
}


/* ---------- lists ---------- */

/* qsort comparator for int64. */
static int
Int64Cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* qsort comparator for doubles (no NaN can occur in literals). */
static int
DoubleCmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* qsort comparator for StrVal. */
static int
StrValCmp(const void *a, const void *b)
{
	const StrVal *x = (const StrVal *) a;
	const StrVal *y = (const StrVal *) b;

	return SsExprStrCmp(x->data, x->len, y->data, y->len);
}

/* Sort n elements and drop duplicates; return the new count. */
static int
SortUnique(void *base, int n, Size size, int (*cmp) (const void *, const void *))
{
	char	   *arr = base;
	int			out = 0;
	int			i;

	if (n <= 1)
		return n;
	qsort(arr, n, size, cmp);
	for (i = 1; i < n; i++)
	{
		if (cmp(arr + out * size, arr + i * size) != 0)
		{
			out++;
			if (out != i)
				memcpy(arr + out * size, arr + i * size, size);
		}
	}
	return out + 1;
}

/* Make room for one more element of size bytes in *arr. */
static void *
GrowList(ExprParser *ps, void *arr, int n, int *cap, Size size)
{
	if (n < *cap)
		return arr;
	if ((Size) *cap * 2 > MaxAllocSize / size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid expression: too many elements in list at character %d",
						pg_mbstrlen_with_len(ps->text, ps->tok.start) + 1)));
	*cap *= 2;
	return repalloc(arr, *cap * size);
}

/* Parse a literal (with an optional sign on numbers) into *lit. */
static void
ParseLiteral(ExprParser *ps, Operand *lit)
{
	bool		neg = false;

	memset(lit, 0, sizeof(Operand));
	lit->start = ps->tok.start;
	if (ps->tok.kind == TOK_PLUS || ps->tok.kind == TOK_MINUS)
	{
		neg = (ps->tok.kind == TOK_MINUS);
		Advance(ps);
		if (ps->tok.kind != TOK_INT && ps->tok.kind != TOK_FLOAT)
			TokenError(ps, &ps->tok);
	}
	switch (ps->tok.kind)
	{
		case TOK_INT:
			if (ps->tok.overflow ||
				ps->tok.mag > (uint64) PG_INT64_MAX + (neg ? 1 : 0))
				SsExprError(ps->text, lit->start,
							"integer literal out of range");
			lit->kind = LIT_INT;
			/* negate in uint64 so that -9223372036854775808 works */
			lit->ival = neg ? (int64) (0 - ps->tok.mag) : (int64) ps->tok.mag;
			break;
		case TOK_FLOAT:
			lit->kind = LIT_FLOAT;
			lit->fval = neg ? -ps->tok.fval : ps->tok.fval;
			break;
		case TOK_STRING:
			lit->kind = LIT_STRING;
			lit->sval = ps->tok.sval;
			break;
		case TOK_TRUE:
		case TOK_FALSE:
			lit->kind = LIT_BOOL;
			lit->bval = (ps->tok.kind == TOK_TRUE);
			break;
		default:
			TokenError(ps, &ps->tok);
	}
	lit->len = ps->tok.start + ps->tok.len - lit->start;
	Advance(ps);
}

/*
 * Parse "[lit, ...]" after "field [not] in".  Numbers match int and float
 * fields alike: a float that is not an integer can never equal an int field,
 * so it is dropped from an int list.
 */
static ExprNode *
ParseInList(ExprParser *ps, int field, bool negate)
{
	SsFieldType type = ps->fields[field].type;
	ExprNode   *n;
	Size		size = SsExprIsIntType(type) ? sizeof(int64) :
		SsExprIsFloatType(type) ? sizeof(double) : sizeof(StrVal);
	int			cap = 16;
	int			count = 0;
	void	   *arr = palloc(cap * size);
	bool		has_true = false;
	bool		has_false = false;
	Operand		lit;
	int64		v;

	Expect(ps, TOK_LBRACKET);
	while (ps->tok.kind != TOK_RBRACKET)
	{
		ParseLiteral(ps, &lit);
		arr = GrowList(ps, arr, count, &cap, size);
		if (SsExprIsIntType(type) && lit.kind == LIT_INT)
			((int64 *) arr)[count++] = lit.ival;
		else if (SsExprIsIntType(type) && lit.kind == LIT_FLOAT)
		{
			if (SsExprFloatToInt64(lit.fval, &v))
				((int64 *) arr)[count++] = v;
		}
		else if (SsExprIsFloatType(type) &&
				 (lit.kind == LIT_INT || lit.kind == LIT_FLOAT))
			((double *) arr)[count++] =
				SsExprFloatLiteral(type, lit.kind, lit.ival, lit.fval);
		else if (SsExprIsStrType(type) && lit.kind == LIT_STRING)
			((StrVal *) arr)[count++] = lit.sval;
		else if (type == SS_TYPE_BOOL && lit.kind == LIT_BOOL)
		{
			if (lit.bval)
				has_true = true;
			else
				has_false = true;
		}
		else
			SsExprLiteralMismatch(ps, field, lit.kind);

		if (ps->tok.kind == TOK_COMMA)
			Advance(ps);
		else if (ps->tok.kind != TOK_RBRACKET)
			TokenError(ps, &ps->tok);
	}
	Advance(ps);

	if (type == SS_TYPE_BOOL)
	{
		pfree(arr);
		if (has_true && has_false)
			return SsExprMakeConst(!negate);
		if (has_true || has_false)
			return SsExprMakeBoolTest(field, has_true != negate);
		return SsExprMakeConst(negate);
	}

	n = SsExprMakeNode(EXPR_INT_IN);
	n->field = field;
	n->negate = negate;
	if (SsExprIsIntType(type))
	{
		n->nargs = SortUnique(arr, count, size, Int64Cmp);
		n->ilist = arr;
	}
	else if (SsExprIsFloatType(type))
	{
		n->kind = EXPR_FLOAT_IN;
		n->nargs = SortUnique(arr, count, size, DoubleCmp);
		n->flist = arr;
	}
	else
	{
		n->kind = EXPR_STR_IN;
		n->nargs = SortUnique(arr, count, size, StrValCmp);
		n->slist = arr;
	}
	return n;
}


/* ---------- parser ---------- */

/* Resolve the identifier token tok to a field index. */
static int
ResolveField(ExprParser *ps, const Token *tok)
{
	const char *name = ps->text + tok->start;
	int			len = tok->len;
	int			hint = -1;
	int			i;

	for (i = 0; i < ps->nfields; i++)
	{
		if (len < NAMEDATALEN &&
			strncmp(ps->fields[i].name, name, len) == 0 &&
			ps->fields[i].name[len] == '\0')
			break;
	}
	if (i == ps->nfields)
	{
		for (i = 0; i < ps->nfields && hint < 0; i++)
		{
			if (len < NAMEDATALEN &&
				pg_strncasecmp(ps->fields[i].name, name, len) == 0 &&
				ps->fields[i].name[len] == '\0')
				hint = i;
		}
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("field \"%s\" does not exist", pnstrdup(name, len)),
				 hint >= 0 ? errhint("Field names are case-sensitive; did you mean \"%s\"?",
									 ps->fields[hint].name) : 0));
	}
	if (ps->fields[i].type == SS_TYPE_JSONB ||
		ps->fields[i].type == SS_TYPE_VECTOR)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot use field \"%s\" of type %s in an expression",
						ps->fields[i].name,
						SsExprTypeName(ps->fields[i].type))));
	ps->used = bms_add_member(ps->used, i);
	return i;
}

/* Parse a field name or a literal. */
static void
ParseOperand(ExprParser *ps, Operand *op)
{
	if (ps->tok.kind != TOK_IDENT)
	{
		ParseLiteral(ps, op);
		return;
	}
	memset(op, 0, sizeof(Operand));
	op->is_field = true;
	op->field = ResolveField(ps, &ps->tok);
	op->start = ps->tok.start;
	op->len = ps->tok.len;
	Advance(ps);
}

/* Parse "field [not] in [...]" or "field [not] like pattern". */
static ExprNode *
ParseInOrLike(ExprParser *ps)
{
	int			field = ResolveField(ps, &ps->tok);
	bool		negate = false;
	ExprNode   *n;
	SsFieldType type;

	Advance(ps);
	if (ps->tok.kind == TOK_NOT)
	{
		negate = true;
		Advance(ps);
	}
	if (ps->tok.kind == TOK_IN)
	{
		Advance(ps);
		return ParseInList(ps, field, negate);
	}

	Expect(ps, TOK_LIKE);
	if (ps->tok.kind != TOK_STRING)
		TokenError(ps, &ps->tok);
	type = ps->fields[field].type;
	if (!SsExprIsStrType(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot use like on field \"%s\" of type %s",
						ps->fields[field].name, SsExprTypeName(type))));
	n = SsExprMakeNode(EXPR_LIKE);
	n->field = field;
	n->negate = negate;
	n->like = SsExprLikeCompile(ps->text, &ps->tok.sval, ps->tok.start);
	Advance(ps);
	return n;
}

/* A lone operand used as a condition: a bool field or a bool literal. */
static ExprNode *
BareCondition(ExprParser *ps, const Operand *op)
{
	/* "x 5" is a syntax error at "5" before it is a type error at "x" */
	if (ps->tok.kind != TOK_AND && ps->tok.kind != TOK_OR &&
		ps->tok.kind != TOK_RPAREN && ps->tok.kind != TOK_EOF)
		TokenError(ps, &ps->tok);
	if (op->is_field)
	{
		const SsField *f = &ps->fields[op->field];

		if (f->type != SS_TYPE_BOOL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot use field \"%s\" of type %s as a boolean condition",
							f->name, SsExprTypeName(f->type))));
		return SsExprMakeBoolTest(op->field, true);
	}
	if (op->kind != LIT_BOOL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot use %s as a boolean condition",
						SsExprLitDesc(op->kind))));
	return SsExprMakeConst(op->bval);
}

/*
 * Parse a predicate: a parenthesized expression, an in list, a like, a
 * comparison, a chained range "lit < field < lit", or a lone operand.
 */
static ExprNode *
ParsePredicate(ExprParser *ps)
{
	Operand		a,
				b,
				c;
	Token		next;
	CmpOp		op1,
				op2;
	int			op1pos,
				op2pos;
	bool		up1,
				up2;
	List	   *args;

	if (ps->tok.kind == TOK_LPAREN)
	{
		ExprNode   *n;

		Advance(ps);
		n = ParseOr(ps);
		Expect(ps, TOK_RPAREN);
		return n;
	}
	if (ps->tok.kind == TOK_IDENT)
	{
		PeekAfter(ps, &ps->tok, &next);
		if (next.kind == TOK_IN || next.kind == TOK_LIKE)
			return ParseInOrLike(ps);
		if (next.kind == TOK_NOT)
		{
			Token		next2;

			PeekAfter(ps, &next, &next2);
			if (next2.kind == TOK_IN || next2.kind == TOK_LIKE)
				return ParseInOrLike(ps);
		}
	}

	ParseOperand(ps, &a);
	if (!IsCmpToken(ps->tok.kind))
		return BareCondition(ps, &a);
	op1 = TokenOp(ps->tok.kind);
	op1pos = ps->tok.start;
	Advance(ps);
	ParseOperand(ps, &b);
	if (!IsCmpToken(ps->tok.kind))
		return SsExprMakeComparison(ps, &a, op1, &b, op1pos);

	/* a chained range: literal, field, literal, both operators one way */
	op2 = TokenOp(ps->tok.kind);
	op2pos = ps->tok.start;
	up1 = (op1 == CMP_LT || op1 == CMP_LE);
	up2 = (op2 == CMP_LT || op2 == CMP_LE);
	if (a.is_field || !b.is_field || op1 == CMP_EQ || op1 == CMP_NE ||
		op2 == CMP_EQ || op2 == CMP_NE || up1 != up2)
		TokenError(ps, &ps->tok);
	Advance(ps);
	ParseOperand(ps, &c);
	if (c.is_field)
		SsExprSyntaxError(ps->text, c.start, c.len);
	args = list_make2(SsExprMakeComparison(ps, &a, op1, &b, op1pos),
					  SsExprMakeComparison(ps, &b, op2, &c, op2pos));
	return SsExprMakeJunction(EXPR_AND, args);
}

/* Parse "not" / "!" prefixes, then a predicate. */
static ExprNode *
ParseNot(ExprParser *ps)
{
	bool		negate = false;
	ExprNode   *n;

	/* every level of parenthesis nesting passes through here */
	check_stack_depth();
	while (ps->tok.kind == TOK_NOT)
	{
		negate = !negate;
		Advance(ps);
	}
	n = ParsePredicate(ps);
	return negate ? SsExprMakeNot(n) : n;
}

/* Parse terms joined by "and" / "&&". */
static ExprNode *
ParseAnd(ExprParser *ps)
{
	List	   *args = SsExprAddJunctionArg(NIL, EXPR_AND, ParseNot(ps));

	while (ps->tok.kind == TOK_AND)
	{
		Advance(ps);
		args = SsExprAddJunctionArg(args, EXPR_AND, ParseNot(ps));
	}
	return SsExprMakeJunction(EXPR_AND, args);
}

/* Parse terms joined by "or" / "||". */
static ExprNode *
ParseOr(ExprParser *ps)
{
	List	   *args = SsExprAddJunctionArg(NIL, EXPR_OR, ParseAnd(ps));

	while (ps->tok.kind == TOK_OR)
	{
		Advance(ps);
		args = SsExprAddJunctionArg(args, EXPR_OR, ParseAnd(ps));
	}
	return SsExprMakeJunction(EXPR_OR, args);
}

/* Parse text against fields[0..nfields-1]; see expr.h. */
SsExpr *
SsExprParse(const char *text, const SsField *fields, int nfields)
{
	ExprParser	ps;
	SsExpr	   *expr;
	ExprNode   *root;

	ps.text = text;
	ps.fields = fields;
	ps.nfields = nfields;
	ps.used = NULL;
	SsExprLexNext(text, 0, &ps.tok);
	if (ps.tok.kind == TOK_EOF)
		SsExprError(text, 0, "empty expression");
	root = ParseOr(&ps);
	if (ps.tok.kind != TOK_EOF)
		TokenError(&ps, &ps.tok);

	expr = palloc(sizeof(SsExpr));
	expr->root = root;
	expr->fields = ps.used;
	return expr;
}

/* Fields the expression reads; see expr.h. */
Bitmapset *
SsExprFields(const SsExpr *expr)
{
	return bms_copy(expr->fields);
}
