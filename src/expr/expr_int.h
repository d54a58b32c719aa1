/*-------------------------------------------------------------------------
 *
 * expr_int.h
 *	  Private to the expression language: the tokens and the tree that its
 *	  phase files pass between them, and the few functions they share.
 *
 * An expression such as
 *
 *		id in [1, 2, 3] and (name like "a%" or score >= 0.5)
 *
 * is parsed once against a collection's fields into a small tree whose
 * leaves already know their field index, the type of their literal and their
 * operator, because evaluation runs once per row over whole segments.  Int,
 * float and string lists are sorted for binary search, and like patterns are
 * split at their "%" wildcards into segments matched with memcmp.
 *
 * The phases, each in its own file:
 *
 *	expr_lex.c	  tokens from the text, and the errors that give a position
 *	expr_parse.c  the recursive-descent parser (SsExprParse, SsExprFields)
 *	expr_node.c	  tree nodes, the type rules and literal coercion that the
 *				  parser applies to each comparison
 *	expr_eval.c	  evaluation on a row (SsExprEval) and like patterns
 *	expr_bounds.c key ranges and key lists (SsExprBounds, SsExprKeyList)
 *
 * Semantics: an int field against an integer literal compares exactly as
 * int64; against a float literal it is rewritten at parse time into the
 * equivalent exact integer comparison (id < 2.5 becomes id < 3).  A float
 * field compares as double, with literals first rounded to float4 for float4
 * fields, as the stored values were; NaN follows IEEE rules (equal to
 * nothing, in no list).  Strings compare bytewise (memcmp, then the shorter
 * string first), not by collation, so that comparisons are cheap and the
 * same everywhere.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGSTORE_EXPR_EXPR_INT_H
#define SEGSTORE_EXPR_EXPR_INT_H

#include "nodes/pg_list.h"

#include "expr/expr.h"

/* Comparison operators; in a tree the (left) field is on the left. */
typedef enum CmpOp
{
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_LE,
	CMP_GT,
	CMP_GE
} CmpOp;

/* A string that is not NUL-terminated. */
typedef struct StrVal
{
	const char *data;
	int			len;
} StrVal;

/* A compiled like pattern; its layout is private to expr_eval.c. */
typedef struct LikePattern LikePattern;

/* Kinds of tree nodes. */
typedef enum ExprKind
{
	EXPR_CONST,					/* constant bval */
	EXPR_BOOL,					/* bool field == bval */
	EXPR_AND,					/* all of args */
	EXPR_OR,					/* any of args */
	EXPR_NOT,					/* not args[0] */
	EXPR_INT_CMP,				/* int field op ival */
	EXPR_FLOAT_CMP,				/* float field op fval */
	EXPR_STR_CMP,				/* string field op sval */
	EXPR_INT_INT,				/* int field op int field2 */
	EXPR_NUM_NUM,				/* numeric field op numeric field2, as double */
	EXPR_STR_STR,				/* string field op string field2 */
	EXPR_BOOL_BOOL,				/* bool field ==/!= bool field2 */
	EXPR_INT_IN,				/* int field [not] in ilist */
	EXPR_FLOAT_IN,				/* float field [not] in flist */
	EXPR_STR_IN,				/* string field [not] in slist */
	EXPR_LIKE					/* string field [not] like pattern */
} ExprKind;

/* A node of the parsed tree. */
typedef struct ExprNode
{
	ExprKind	kind;
	CmpOp		op;
	bool		negate;			/* lists and like: "not in", "not like" */
	bool		lfloat;			/* EXPR_NUM_NUM: field holds a float */
	bool		rfloat;			/* EXPR_NUM_NUM: field2 holds a float */
	int			field;			/* the (left) field */
	int			field2;			/* right field of a two-field comparison */
	int			nargs;			/* children of and/or/not; list length */
	union
	{
		bool		bval;
		int64		ival;
		double		fval;
		StrVal		sval;
		struct ExprNode **args;
		int64	   *ilist;
		double	   *flist;
		StrVal	   *slist;
		LikePattern *like;
	};
} ExprNode;

struct SsExpr
{
	ExprNode   *root;
	Bitmapset  *fields;			/* fields the expression names */
};

/* Token kinds of the lexer. */
typedef enum TokKind
{
	TOK_EOF,
	TOK_IDENT,
	TOK_INT,
	TOK_FLOAT,
	TOK_STRING,
	TOK_TRUE,
	TOK_FALSE,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_IN,
	TOK_LIKE,
	TOK_EQ,
	TOK_NE,
	TOK_LT,
	TOK_LE,
	TOK_GT,
	TOK_GE,
	TOK_LPAREN,
	TOK_RPAREN,
	TOK_LBRACKET,
	TOK_RBRACKET,
	TOK_COMMA,
	TOK_PLUS,
	TOK_MINUS
} TokKind;

/* A token: where it is in the text and, for literals, its value. */
typedef struct Token
{
	TokKind		kind;
	int			start;			/* byte offset in the text */
	int			len;			/* bytes of source text */
	uint64		mag;			/* TOK_INT: magnitude */
	bool		overflow;		/* TOK_INT: magnitude does not fit uint64 */
	double		fval;			/* TOK_FLOAT */
	StrVal		sval;			/* TOK_STRING: decoded contents */
} Token;

/* Kinds of literals. */
typedef enum LitKind
{
	LIT_INT,
	LIT_FLOAT,
	LIT_STRING,
	LIT_BOOL
} LitKind;

/* A parsed operand of a comparison: a field or a literal. */
typedef struct Operand
{
	bool		is_field;
	int			field;
	int			start;			/* byte offset of its text */
	int			len;			/* bytes of its text, sign included */
	LitKind		kind;
	int64		ival;
	double		fval;
	StrVal		sval;
	bool		bval;
} Operand;

/* State of a parse. */
typedef struct ExprParser
{
	const char *text;
	const SsField *fields;
	int			nfields;
	Token		tok;			/* current token */
	Bitmapset  *used;
} ExprParser;

/* True for int4 and int8 fields. */
static inline bool
SsExprIsIntType(SsFieldType type)
{
	return type == SS_TYPE_INT4 || type == SS_TYPE_INT8;
}

/* True for float4 and float8 fields. */
static inline bool
SsExprIsFloatType(SsFieldType type)
{
	return type == SS_TYPE_FLOAT4 || type == SS_TYPE_FLOAT8;
}

/* True for text and varchar fields. */
static inline bool
SsExprIsStrType(SsFieldType type)
{
	return type == SS_TYPE_TEXT || type == SS_TYPE_VARCHAR;
}

/*
 * Bytewise string order: memcmp, then the shorter string first.  Inline
 * because evaluation calls it per row; the parser sorts lists with it.
 */
static inline int
SsExprStrCmp(const char *a, int alen, const char *b, int blen)
{
	int			minlen = Min(alen, blen);
	int			r = (minlen > 0) ? memcmp(a, b, minlen) : 0;

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

/* expr_lex.c */
extern void SsExprLexNext(const char *text, int offset, Token *tok);
extern void SsExprError(const char *text, int offset, const char *what)
			pg_attribute_noreturn();
extern void SsExprSyntaxError(const char *text, int start, int len)
			pg_attribute_noreturn();

/* expr_node.c */
extern const char *SsExprTypeName(SsFieldType type);
extern const char *SsExprLitDesc(LitKind kind);
extern void SsExprLiteralMismatch(ExprParser *ps, int field, LitKind kind)
			pg_attribute_noreturn();
extern ExprNode *SsExprMakeNode(ExprKind kind);
extern ExprNode *SsExprMakeConst(bool value);
extern ExprNode *SsExprMakeBoolTest(int field, bool want);
extern ExprNode *SsExprMakeNot(ExprNode *child);
extern List *SsExprAddJunctionArg(List *args, ExprKind kind, ExprNode *child);
extern ExprNode *SsExprMakeJunction(ExprKind kind, List *args);
extern bool SsExprFloatToInt64(double v, int64 *out);
extern double SsExprFloatLiteral(SsFieldType type, LitKind kind, int64 ival,
								 double fval);
extern ExprNode *SsExprMakeComparison(ExprParser *ps, const Operand *a,
									  CmpOp op, const Operand *b, int oppos);

/* expr_eval.c */
extern LikePattern *SsExprLikeCompile(const char *text, const StrVal *pat,
									  int pos);

#endif							/* SEGSTORE_EXPR_EXPR_INT_H */
