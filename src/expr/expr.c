/*-------------------------------------------------------------------------
 *
 * expr.c
 *	  Milvus-style boolean filter expressions.
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
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "expr/expr.h"
#include "metadata/schema.h"

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

/* One piece of a like segment: a run of literal bytes, or a run of "_". */
typedef struct LikePiece
{
	const char *lit;			/* NULL for a run of "_" */
	int			len;			/* bytes in lit, or number of "_" */
} LikePiece;

/* The part of a like pattern between two "%" wildcards. */
typedef struct LikeSeg
{
	LikePiece  *pieces;
	int			npieces;
	int			nchars;			/* characters it matches */
} LikeSeg;

/* How "_" finds the end of a character in the database encoding. */
typedef enum LikeEncoding
{
	LIKE_SINGLE_BYTE,			/* every character is one byte */
	LIKE_UTF8,					/* lengths from the lead byte; a lead byte
								 * never equals a continuation byte */
	LIKE_MULTIBYTE				/* other multibyte encodings: pg_mblen */
} LikeEncoding;

/* A compiled like pattern: the segments that "%" separated. */
typedef struct LikePattern
{
	LikeSeg    *segs;
	int			nsegs;
	LikeEncoding encoding;
} LikePattern;

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

/* Inclusive int64 range; lo > hi when empty. */
typedef struct KeyRange
{
	int64		lo;
	int64		hi;
} KeyRange;

static void expr_error(ExprParser *ps, int offset, const char *what)
			pg_attribute_noreturn();
static void syntax_error_at(ExprParser *ps, int start, int len)
			pg_attribute_noreturn();
static void token_error(ExprParser *ps, const Token *tok)
			pg_attribute_noreturn();
static void literal_mismatch(ExprParser *ps, int field, LitKind kind)
			pg_attribute_noreturn();
static ExprNode *parse_or(ExprParser *ps);


/* ---------- errors and names ---------- */

/* Report "invalid expression: what at character N" for byte offset. */
static void
expr_error(ExprParser *ps, int offset, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("invalid expression: %s at character %d",
					what, pg_mbstrlen_with_len(ps->text, offset) + 1)));
}

/* Report a syntax error at the source text [start, start + len). */
static void
syntax_error_at(ExprParser *ps, int start, int len)
{
	if (len == 0)
		expr_error(ps, start, "unexpected end of expression");
	expr_error(ps, start,
			   psprintf("syntax error at or near \"%.*s\"",
						len, ps->text + start));
}

/* Report a syntax error at token tok. */
static void
token_error(ExprParser *ps, const Token *tok)
{
	syntax_error_at(ps, tok->start, tok->len);
}

/* Name of a field type as users see it in SQL. */
static const char *
type_name(SsFieldType type)
{
	return type == SS_TYPE_VECTOR ? "float4[]" : SsFieldTypeName(type);
}

/* Description of a literal kind for error messages. */
static const char *
lit_desc(LitKind kind)
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
op_name(CmpOp op)
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
static void
literal_mismatch(ExprParser *ps, int field, LitKind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot compare field \"%s\" of type %s with %s",
					ps->fields[field].name,
					type_name(ps->fields[field].type), lit_desc(kind))));
}

/* True for int4 and int8 fields. */
static bool
is_int_type(SsFieldType type)
{
	return type == SS_TYPE_INT4 || type == SS_TYPE_INT8;
}

/* True for float4 and float8 fields. */
static bool
is_float_type(SsFieldType type)
{
	return type == SS_TYPE_FLOAT4 || type == SS_TYPE_FLOAT8;
}

/* True for text and varchar fields. */
static bool
is_str_type(SsFieldType type)
{
	return type == SS_TYPE_TEXT || type == SS_TYPE_VARCHAR;
}


/* ---------- lexer ---------- */

/* Whitespace allowed between tokens. */
static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/* ASCII decimal digit. */
static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* First character of an identifier. */
static inline bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Later character of an identifier. */
static inline bool
is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

/* Keyword kind of identifier s[0..len), or TOK_IDENT. */
static TokKind
keyword_kind(const char *s, int len)
{
	static const struct
	{
		const char *word;
		TokKind		kind;
	}			keywords[] =
	{
		{"and", TOK_AND},
		{"or", TOK_OR},
		{"not", TOK_NOT},
		{"in", TOK_IN},
		{"like", TOK_LIKE},
		{"true", TOK_TRUE},
		{"false", TOK_FALSE}
	};
	int			i;

	for (i = 0; i < lengthof(keywords); i++)
	{
		if ((int) strlen(keywords[i].word) == len &&
			pg_strncasecmp(s, keywords[i].word, len) == 0)
			return keywords[i].kind;
	}
	return TOK_IDENT;
}

/* Lex an integer or float literal starting at tok->start. */
static void
lex_number(ExprParser *ps, Token *tok)
{
	const char *s = ps->text;
	int			p = tok->start;
	bool		isfloat = false;

	while (is_digit(s[p]))
		p++;
	if (s[p] == '.')
	{
		isfloat = true;
		p++;
		while (is_digit(s[p]))
			p++;
	}
	if ((s[p] == 'e' || s[p] == 'E') &&
		(is_digit(s[p + 1]) ||
		 ((s[p + 1] == '+' || s[p + 1] == '-') && is_digit(s[p + 2]))))
	{
		isfloat = true;
		p += 2;
		while (is_digit(s[p]))
			p++;
	}
	if (is_ident_char(s[p]) || s[p] == '.')
	{
		/* junk glued to the number, as in "12abc" or "1.2.3" */
		while (is_ident_char(s[p]) || s[p] == '.')
			p++;
		syntax_error_at(ps, tok->start, p - tok->start);
	}
	tok->len = p - tok->start;

	if (isfloat)
	{
		char	   *buf = pnstrdup(s + tok->start, tok->len);

		tok->kind = TOK_FLOAT;
		errno = 0;
		tok->fval = strtod(buf, NULL);
		pfree(buf);
		/* like float8in: overflow, or underflow all the way to zero */
		if (isinf(tok->fval) || (errno == ERANGE && tok->fval == 0))
			expr_error(ps, tok->start, "float literal out of range");
	}
	else
	{
		tok->kind = TOK_INT;
		for (p = tok->start; p < tok->start + tok->len; p++)
		{
			int			d = s[p] - '0';

			if (tok->mag > (PG_UINT64_MAX - d) / 10)
				tok->overflow = true;
			else
				tok->mag = tok->mag * 10 + d;
		}
	}
}

/*
 * Lex a string literal in single or double quotes.  \" \' \\ \n \t \r are
 * escapes; any other backslash is kept with the character after it, so that
 * "50\%" reaches like as 50\% (a literal percent sign).
 */
static void
lex_string(ExprParser *ps, Token *tok)
{
	const char *s = ps->text;
	char		quote = s[tok->start];
	int			begin = tok->start + 1;
	int			p = begin;
	char	   *buf;
	int			n = 0;

	for (;;)
	{
		if (s[p] == '\0' || (s[p] == '\\' && s[p + 1] == '\0'))
			expr_error(ps, tok->start, "unterminated string literal");
		if (s[p] == quote)
			break;
		p += (s[p] == '\\') ? 2 : 1;
	}
	tok->kind = TOK_STRING;
	tok->len = p + 1 - tok->start;

	buf = palloc(p - begin + 1);
	for (p = begin; s[p] != quote; p++)
	{
		if (s[p] != '\\')
		{
			buf[n++] = s[p];
			continue;
		}
		p++;
		switch (s[p])
		{
			case 'n':
				buf[n++] = '\n';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case '\\':
			case '\'':
			case '"':
				buf[n++] = s[p];
				break;
			default:
				buf[n++] = '\\';
				buf[n++] = s[p];
				break;
		}
	}
	buf[n] = '\0';
	tok->sval.data = buf;
	tok->sval.len = n;
}

/* Lex the token at or after byte offset into *tok. */
static void
lex_token(ExprParser *ps, int offset, Token *tok)
{
	const char *s = ps->text;
	int			p = offset;
	char		c;

	while (is_space(s[p]))
		p++;
	memset(tok, 0, sizeof(Token));
	tok->start = p;
	tok->len = 1;
	c = s[p];

	if (c == '\0')
	{
		tok->kind = TOK_EOF;
		tok->len = 0;
		return;
	}
	if (is_ident_start(c))
	{
		while (is_ident_char(s[p + tok->len]))
			tok->len++;
		tok->kind = keyword_kind(s + p, tok->len);
		return;
	}
	if (is_digit(c) || (c == '.' && is_digit(s[p + 1])))
	{
		lex_number(ps, tok);
		return;
	}
	if (c == '"' || c == '\'')
	{
		lex_string(ps, tok);
		return;
	}

	switch (c)
	{
		case '(':
			tok->kind = TOK_LPAREN;
			return;
		case ')':
			tok->kind = TOK_RPAREN;
			return;
		case '[':
			tok->kind = TOK_LBRACKET;
			return;
		case ']':
			tok->kind = TOK_RBRACKET;
			return;
		case ',':
			tok->kind = TOK_COMMA;
			return;
		case '+':
			tok->kind = TOK_PLUS;
			return;
		case '-':
			tok->kind = TOK_MINUS;
			return;
		case '<':
		case '>':
		case '!':
			/* "<", ">", "!" alone, or followed by "=" */
			if (s[p + 1] == '=')
			{
				tok->kind = (c == '<') ? TOK_LE : (c == '>') ? TOK_GE : TOK_NE;
				tok->len = 2;
			}
			else
				tok->kind = (c == '<') ? TOK_LT : (c == '>') ? TOK_GT : TOK_NOT;
			return;
		case '=':
		case '&':
		case '|':
			/* only doubled: "==", "&&", "||" */
			if (s[p + 1] != c)
				token_error(ps, tok);
			tok->kind = (c == '=') ? TOK_EQ : (c == '&') ? TOK_AND : TOK_OR;
			tok->len = 2;
			return;
		default:
			/* show the whole character, even if multibyte */
			tok->len = pg_mblen(s + p);
			token_error(ps, tok);
	}
}

/* Move to the next token. */
static void
advance(ExprParser *ps)
{
	lex_token(ps, ps->tok.start + ps->tok.len, &ps->tok);
}

/* Lex the token after tok into *next without moving. */
static void
peek_after(ExprParser *ps, const Token *tok, Token *next)
{
	lex_token(ps, tok->start + tok->len, next);
}

/* Consume a token of the given kind, or report a syntax error. */
static void
expect(ExprParser *ps, TokKind kind)
{
	if (ps->tok.kind != kind)
		token_error(ps, &ps->tok);
	advance(ps);
}

/* True for the six comparison tokens. */
static bool
is_cmp_token(TokKind kind)
{
	return kind >= TOK_EQ && kind <= TOK_GE;
}

/* Operator of a comparison token. */
static CmpOp
token_op(TokKind kind)
{
	return (CmpOp) (CMP_EQ + (kind - TOK_EQ));
}


/* ---------- tree construction ---------- */

/* A zeroed node of the given kind. */
static ExprNode *
make_node(ExprKind kind)
{
	ExprNode   *n = palloc0(sizeof(ExprNode));

	n->kind = kind;
	return n;
}

/* A constant true or false. */
static ExprNode *
make_const(bool value)
{
	ExprNode   *n = make_node(EXPR_CONST);

	n->bval = value;
	return n;
}

/* bool field == want. */
static ExprNode *
make_bool_test(int field, bool want)
{
	ExprNode   *n = make_node(EXPR_BOOL);

	n->field = field;
	n->bval = want;
	return n;
}

/* int field op value. */
static ExprNode *
make_int_cmp(int field, CmpOp op, int64 value)
{
	ExprNode   *n = make_node(EXPR_INT_CMP);

	n->field = field;
	n->op = op;
	n->ival = value;
	return n;
}

/* Negation of child; double negation and constants are folded. */
static ExprNode *
make_not(ExprNode *child)
{
	ExprNode   *n;

	if (child->kind == EXPR_NOT)
		return child->args[0];
	if (child->kind == EXPR_CONST)
		return make_const(!child->bval);
	n = make_node(EXPR_NOT);
	n->nargs = 1;
	n->args = palloc(sizeof(ExprNode *));
	n->args[0] = child;
	return n;
}

/* Append child to args of an and/or of the given kind, flattening nests. */
static List *
add_junction_arg(List *args, ExprKind kind, ExprNode *child)
{
	int			i;

	if (child->kind != kind)
		return lappend(args, child);
	for (i = 0; i < child->nargs; i++)
		args = lappend(args, child->args[i]);
	return args;
}

/* An and/or over args, or the only arg itself. */
static ExprNode *
make_junction(ExprKind kind, List *args)
{
	ExprNode   *n;
	ListCell   *lc;
	int			i = 0;

	if (list_length(args) == 1)
		return (ExprNode *) linitial(args);
	n = make_node(kind);
	n->nargs = list_length(args);
	n->args = palloc(sizeof(ExprNode *) * n->nargs);
	foreach(lc, args)
		n->args[i++] = (ExprNode *) lfirst(lc);
	list_free(args);
	return n;
}

/* Convert v to int64 if it is an integer within range. */
static bool
float_to_int64(double v, int64 *out)
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
int_cmp_float(int field, CmpOp op, double c)
{
	double		t = c;
	int64		v;

	switch (op)
	{
		case CMP_EQ:
		case CMP_NE:
			if (c != floor(c))
				return make_const(op == CMP_NE);
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
	if (float_to_int64(t, &v))
		return make_int_cmp(field, op, v);
	/* t is above or below every int64 */
	if (t > 0)
		return make_const(op == CMP_NE || op == CMP_LT || op == CMP_LE);
	return make_const(op == CMP_NE || op == CMP_GT || op == CMP_GE);
}

/*
 * A numeric literal as a float field compares with it: float4 fields round it
 * to float4 as the stored values were rounded, so that f == 0.1 finds 0.1.
 * Values that float4 cannot hold (overflow, or underflow to zero) are left
 * alone so that they compare as they are.
 */
static double
float_literal(SsFieldType type, LitKind kind, int64 ival, double fval)
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
check_bool_op(ExprParser *ps, int field, CmpOp op)
{
	if (op != CMP_EQ && op != CMP_NE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot compare field \"%s\" of type %s using operator \"%s\"",
						ps->fields[field].name,
						type_name(ps->fields[field].type), op_name(op))));
}

/* "field op literal", type-checked. */
static ExprNode *
compare_field_literal(ExprParser *ps, int field, CmpOp op, const Operand *lit)
{
	SsFieldType type = ps->fields[field].type;
	ExprNode   *n;

	if (is_int_type(type) && lit->kind == LIT_INT)
		return make_int_cmp(field, op, lit->ival);
	if (is_int_type(type) && lit->kind == LIT_FLOAT)
		return int_cmp_float(field, op, lit->fval);
	if (is_float_type(type) && (lit->kind == LIT_INT || lit->kind == LIT_FLOAT))
	{
		n = make_node(EXPR_FLOAT_CMP);
		n->field = field;
		n->op = op;
		n->fval = float_literal(type, lit->kind, lit->ival, lit->fval);
		return n;
	}
	if (is_str_type(type) && lit->kind == LIT_STRING)
	{
		n = make_node(EXPR_STR_CMP);
		n->field = field;
		n->op = op;
		n->sval = lit->sval;
		return n;
	}
	if (type == SS_TYPE_BOOL && lit->kind == LIT_BOOL)
	{
		check_bool_op(ps, field, op);
		/* flag == true and flag != false both want true */
		return make_bool_test(field, (op == CMP_EQ) == lit->bval);
	}
	literal_mismatch(ps, field, lit->kind);
}

/* "field op field2", type-checked. */
static ExprNode *
compare_fields(ExprParser *ps, int field, CmpOp op, int field2)
{
	SsFieldType lt = ps->fields[field].type;
	SsFieldType rt = ps->fields[field2].type;
	ExprNode   *n = make_node(EXPR_INT_INT);

	n->field = field;
	n->field2 = field2;
	n->op = op;
	if (is_int_type(lt) && is_int_type(rt))
		return n;
	if ((is_int_type(lt) || is_float_type(lt)) &&
		(is_int_type(rt) || is_float_type(rt)))
	{
		n->kind = EXPR_NUM_NUM;
		n->lfloat = is_float_type(lt);
		n->rfloat = is_float_type(rt);
		return n;
	}
	if (is_str_type(lt) && is_str_type(rt))
	{
		n->kind = EXPR_STR_STR;
		return n;
	}
	if (lt == SS_TYPE_BOOL && rt == SS_TYPE_BOOL)
	{
		check_bool_op(ps, field, op);
		n->kind = EXPR_BOOL_BOOL;
		return n;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("cannot compare field \"%s\" of type %s with field \"%s\" of type %s",
					ps->fields[field].name, type_name(lt),
					ps->fields[field2].name, type_name(rt))));
	return NULL;				/* keep compiler quiet */
}

/* Operator with its operands swapped: 5 > id is id < 5. */
static CmpOp
flip_op(CmpOp op)
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
static ExprNode *
make_comparison(ExprParser *ps, const Operand *a, CmpOp op, const Operand *b,
				int oppos)
{
	if (!a->is_field && !b->is_field)
		expr_error(ps, oppos, "comparison between two literals");
	if (!a->is_field)
		return compare_field_literal(ps, b->field, flip_op(op), a);
	if (!b->is_field)
		return compare_field_literal(ps, a->field, op, b);
	return compare_fields(ps, a->field, op, b->field);
}


/* ---------- like patterns ---------- */

/*
 * Compile a like pattern: "%" matches any run of characters, "_" exactly one,
 * and a backslash makes the next character literal.
 */
static LikePattern *
compile_like(ExprParser *ps, const StrVal *pat, int pos)
{
	LikePattern *lp = palloc0(sizeof(LikePattern));
	LikePiece  *pieces = palloc(sizeof(LikePiece) * (pat->len + 1));
	char	   *buf = palloc(pat->len + 1);
	int			npieces = 0;
	int			nbuf = 0;
	LikeSeg    *seg;
	int			i;

	if (GetDatabaseEncoding() == PG_UTF8)
		lp->encoding = LIKE_UTF8;
	else if (pg_database_encoding_max_length() > 1)
		lp->encoding = LIKE_MULTIBYTE;
	else
		lp->encoding = LIKE_SINGLE_BYTE;
	lp->segs = palloc0(sizeof(LikeSeg) * (pat->len + 1));
	seg = &lp->segs[0];
	seg->pieces = pieces;

	for (i = 0; i < pat->len; i++)
	{
		char		c = pat->data[i];
		LikePiece  *last = (seg->npieces > 0) ? &seg->pieces[seg->npieces - 1] : NULL;

		if (c == '%')
		{
			/* "%%" is "%": never leave an empty segment in the middle */
			if (seg->npieces == 0 && lp->nsegs > 0)
				continue;
			lp->nsegs++;
			seg = &lp->segs[lp->nsegs];
			seg->pieces = pieces + npieces;
			continue;
		}
		if (c == '_')
		{
			seg->nchars++;
			if (last != NULL && last->lit == NULL)
				last->len++;
			else
			{
				pieces[npieces].lit = NULL;
				pieces[npieces].len = 1;
				npieces++;
				seg->npieces++;
			}
			continue;
		}
		if (c == '\\')
		{
			if (i + 1 >= pat->len)
				expr_error(ps, pos,
						   "like pattern must not end with escape character");
			c = pat->data[++i];
		}
		/* literal bytes are appended to buf in order, so runs stay whole */
		if (last != NULL && last->lit != NULL)
			last->len++;
		else
		{
			pieces[npieces].lit = buf + nbuf;
			pieces[npieces].len = 1;
			npieces++;
			seg->npieces++;
		}
		buf[nbuf++] = c;
		if (lp->encoding != LIKE_UTF8 || (c & 0xc0) != 0x80)
			seg->nchars++;
	}
	lp->nsegs++;
	return lp;
}

/* Bytes of the character at s for "_", never past the end. */
static inline int
like_char_len(const LikePattern *lp, const char *s, int remaining)
{
	unsigned char c = (unsigned char) *s;
	int			len;

	if (lp->encoding == LIKE_SINGLE_BYTE || c < 0x80)
		return 1;
	if (lp->encoding == LIKE_UTF8)
		len = ((c & 0xe0) == 0xc0) ? 2 : ((c & 0xf0) == 0xe0) ? 3 :
			((c & 0xf8) == 0xf0) ? 4 : 1;
	else
		len = pg_mblen(s);
	return Min(len, remaining);
}

/* Match seg at byte pos of s; return the offset just past it, or -1. */
static int
like_seg_at(const LikePattern *lp, const LikeSeg *seg, const char *s,
			int slen, int pos)
{
	int			i;
	int			k;

	for (i = 0; i < seg->npieces; i++)
	{
		const LikePiece *pc = &seg->pieces[i];

		if (pc->lit != NULL)
		{
			if (slen - pos < pc->len || memcmp(s + pos, pc->lit, pc->len) != 0)
				return -1;
			pos += pc->len;
			continue;
		}
		for (k = 0; k < pc->len; k++)
		{
			if (pos >= slen)
				return -1;
			pos += like_char_len(lp, s + pos, slen - pos);
		}
	}
	return pos;
}

/*
 * Find the leftmost match of seg at or after pos; return the offset just past
 * it, or -1.  Leftmost is always best for a segment between two "%".
 */
static int
like_seg_find(const LikePattern *lp, const LikeSeg *seg, const char *s,
			  int slen, int pos)
{
	int			end;

	/* a literal's first byte can then only match at a character start */
	if (lp->encoding != LIKE_MULTIBYTE && seg->pieces[0].lit != NULL)
	{
		char		first = seg->pieces[0].lit[0];

		while (pos < slen)
		{
			const char *hit = memchr(s + pos, first, slen - pos);

			if (hit == NULL)
				return -1;
			pos = (int) (hit - s);
			end = like_seg_at(lp, seg, s, slen, pos);
			if (end >= 0)
				return end;
			pos++;
		}
		return -1;
	}
	for (;;)
	{
		end = like_seg_at(lp, seg, s, slen, pos);
		if (end >= 0)
			return end;
		if (pos >= slen)
			return -1;
		pos += like_char_len(lp, s + pos, slen - pos);
	}
}

/*
 * Byte offset where the last nchars characters of s start, or -1 if s is
 * shorter; single-byte and UTF-8 encodings only.
 */
static int
like_chars_back(const LikePattern *lp, const char *s, int slen, int nchars)
{
	int			p = slen;

	if (lp->encoding == LIKE_SINGLE_BYTE)
		return slen - nchars;
	while (nchars-- > 0)
	{
		if (p == 0)
			return -1;
		/* step back over continuation bytes to the lead byte */
		do
			p--;
		while (p > 0 && (s[p] & 0xc0) == 0x80);
	}
	return p;
}

/* Does s[0..slen) match the compiled like pattern? */
static bool
like_match(const LikePattern *lp, const char *s, int slen)
{
	const LikeSeg *last;
	int			pos;
	int			i;

	pos = like_seg_at(lp, &lp->segs[0], s, slen, 0);
	if (pos < 0)
		return false;
	if (lp->nsegs == 1)
		return pos == slen;
	for (i = 1; i < lp->nsegs - 1; i++)
	{
		pos = like_seg_find(lp, &lp->segs[i], s, slen, pos);
		if (pos < 0)
			return false;
	}

	/* the last segment must end exactly at the end of s */
	last = &lp->segs[lp->nsegs - 1];
	if (lp->encoding != LIKE_MULTIBYTE)
	{
		int			start = like_chars_back(lp, s, slen, last->nchars);

		return start >= pos && like_seg_at(lp, last, s, slen, start) == slen;
	}
	for (;;)
	{
		if (like_seg_at(lp, last, s, slen, pos) == slen)
			return true;
		if (pos >= slen)
			return false;
		pos += like_char_len(lp, s + pos, slen - pos);
	}
}


/* ---------- lists ---------- */

/* qsort comparator for int64. */
static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* qsort comparator for doubles (no NaN can occur in literals). */
static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Bytewise string order: memcmp, then the shorter string first. */
static inline int
str_cmp(const char *a, int alen, const char *b, int blen)
{
	int			minlen = Min(alen, blen);
	int			r = (minlen > 0) ? memcmp(a, b, minlen) : 0;

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

/* qsort comparator for StrVal. */
static int
strval_cmp(const void *a, const void *b)
{
	const StrVal *x = (const StrVal *) a;
	const StrVal *y = (const StrVal *) b;

	return str_cmp(x->data, x->len, y->data, y->len);
}

/* Sort n elements and drop duplicates; return the new count. */
static int
sort_unique(void *base, int n, Size size, int (*cmp) (const void *, const void *))
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
grow_list(ExprParser *ps, void *arr, int n, int *cap, Size size)
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
parse_literal(ExprParser *ps, Operand *lit)
{
	bool		neg = false;

	memset(lit, 0, sizeof(Operand));
	lit->start = ps->tok.start;
	if (ps->tok.kind == TOK_PLUS || ps->tok.kind == TOK_MINUS)
	{
		neg = (ps->tok.kind == TOK_MINUS);
		advance(ps);
		if (ps->tok.kind != TOK_INT && ps->tok.kind != TOK_FLOAT)
			token_error(ps, &ps->tok);
	}
	switch (ps->tok.kind)
	{
		case TOK_INT:
			if (ps->tok.overflow ||
				ps->tok.mag > (uint64) PG_INT64_MAX + (neg ? 1 : 0))
				expr_error(ps, lit->start, "integer literal out of range");
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
			token_error(ps, &ps->tok);
	}
	lit->len = ps->tok.start + ps->tok.len - lit->start;
	advance(ps);
}

/*
 * Parse "[lit, ...]" after "field [not] in".  Numbers match int and float
 * fields alike: a float that is not an integer can never equal an int field,
 * so it is dropped from an int list.
 */
static ExprNode *
parse_in_list(ExprParser *ps, int field, bool negate)
{
	SsFieldType type = ps->fields[field].type;
	ExprNode   *n;
	Size		size = is_int_type(type) ? sizeof(int64) :
		is_float_type(type) ? sizeof(double) : sizeof(StrVal);
	int			cap = 16;
	int			count = 0;
	void	   *arr = palloc(cap * size);
	bool		has_true = false;
	bool		has_false = false;
	Operand		lit;
	int64		v;

	expect(ps, TOK_LBRACKET);
	while (ps->tok.kind != TOK_RBRACKET)
	{
		parse_literal(ps, &lit);
		arr = grow_list(ps, arr, count, &cap, size);
		if (is_int_type(type) && lit.kind == LIT_INT)
			((int64 *) arr)[count++] = lit.ival;
		else if (is_int_type(type) && lit.kind == LIT_FLOAT)
		{
			if (float_to_int64(lit.fval, &v))
				((int64 *) arr)[count++] = v;
		}
		else if (is_float_type(type) &&
				 (lit.kind == LIT_INT || lit.kind == LIT_FLOAT))
			((double *) arr)[count++] =
				float_literal(type, lit.kind, lit.ival, lit.fval);
		else if (is_str_type(type) && lit.kind == LIT_STRING)
			((StrVal *) arr)[count++] = lit.sval;
		else if (type == SS_TYPE_BOOL && lit.kind == LIT_BOOL)
		{
			if (lit.bval)
				has_true = true;
			else
				has_false = true;
		}
		else
			literal_mismatch(ps, field, lit.kind);

		if (ps->tok.kind == TOK_COMMA)
			advance(ps);
		else if (ps->tok.kind != TOK_RBRACKET)
			token_error(ps, &ps->tok);
	}
	advance(ps);

	if (type == SS_TYPE_BOOL)
	{
		pfree(arr);
		if (has_true && has_false)
			return make_const(!negate);
		if (has_true || has_false)
			return make_bool_test(field, has_true != negate);
		return make_const(negate);
	}

	n = make_node(EXPR_INT_IN);
	n->field = field;
	n->negate = negate;
	if (is_int_type(type))
	{
		n->nargs = sort_unique(arr, count, size, int64_cmp);
		n->ilist = arr;
	}
	else if (is_float_type(type))
	{
		n->kind = EXPR_FLOAT_IN;
		n->nargs = sort_unique(arr, count, size, double_cmp);
		n->flist = arr;
	}
	else
	{
		n->kind = EXPR_STR_IN;
		n->nargs = sort_unique(arr, count, size, strval_cmp);
		n->slist = arr;
	}
	return n;
}


/* ---------- parser ---------- */

/* Resolve the identifier token tok to a field index. */
static int
resolve_field(ExprParser *ps, const Token *tok)
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
						ps->fields[i].name, type_name(ps->fields[i].type))));
	ps->used = bms_add_member(ps->used, i);
	return i;
}

/* Parse a field name or a literal. */
static void
parse_operand(ExprParser *ps, Operand *op)
{
	if (ps->tok.kind != TOK_IDENT)
	{
		parse_literal(ps, op);
		return;
	}
	memset(op, 0, sizeof(Operand));
	op->is_field = true;
	op->field = resolve_field(ps, &ps->tok);
	op->start = ps->tok.start;
	op->len = ps->tok.len;
	advance(ps);
}

/* Parse "field [not] in [...]" or "field [not] like pattern". */
static ExprNode *
parse_in_or_like(ExprParser *ps)
{
	int			field = resolve_field(ps, &ps->tok);
	bool		negate = false;
	ExprNode   *n;
	SsFieldType type;

	advance(ps);
	if (ps->tok.kind == TOK_NOT)
	{
		negate = true;
		advance(ps);
	}
	if (ps->tok.kind == TOK_IN)
	{
		advance(ps);
		return parse_in_list(ps, field, negate);
	}

	expect(ps, TOK_LIKE);
	if (ps->tok.kind != TOK_STRING)
		token_error(ps, &ps->tok);
	type = ps->fields[field].type;
	if (!is_str_type(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot use like on field \"%s\" of type %s",
						ps->fields[field].name, type_name(type))));
	n = make_node(EXPR_LIKE);
	n->field = field;
	n->negate = negate;
	n->like = compile_like(ps, &ps->tok.sval, ps->tok.start);
	advance(ps);
	return n;
}

/* A lone operand used as a condition: a bool field or a bool literal. */
static ExprNode *
bare_condition(ExprParser *ps, const Operand *op)
{
	/* "x 5" is a syntax error at "5" before it is a type error at "x" */
	if (ps->tok.kind != TOK_AND && ps->tok.kind != TOK_OR &&
		ps->tok.kind != TOK_RPAREN && ps->tok.kind != TOK_EOF)
		token_error(ps, &ps->tok);
	if (op->is_field)
	{
		const SsField *f = &ps->fields[op->field];

		if (f->type != SS_TYPE_BOOL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot use field \"%s\" of type %s as a boolean condition",
							f->name, type_name(f->type))));
		return make_bool_test(op->field, true);
	}
	if (op->kind != LIT_BOOL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot use %s as a boolean condition",
						lit_desc(op->kind))));
	return make_const(op->bval);
}

/*
 * Parse a predicate: a parenthesized expression, an in list, a like, a
 * comparison, a chained range "lit < field < lit", or a lone operand.
 */
static ExprNode *
parse_predicate(ExprParser *ps)
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

		advance(ps);
		n = parse_or(ps);
		expect(ps, TOK_RPAREN);
		return n;
	}
	if (ps->tok.kind == TOK_IDENT)
	{
		peek_after(ps, &ps->tok, &next);
		if (next.kind == TOK_IN || next.kind == TOK_LIKE)
			return parse_in_or_like(ps);
		if (next.kind == TOK_NOT)
		{
			Token		next2;

			peek_after(ps, &next, &next2);
			if (next2.kind == TOK_IN || next2.kind == TOK_LIKE)
				return parse_in_or_like(ps);
		}
	}

	parse_operand(ps, &a);
	if (!is_cmp_token(ps->tok.kind))
		return bare_condition(ps, &a);
	op1 = token_op(ps->tok.kind);
	op1pos = ps->tok.start;
	advance(ps);
	parse_operand(ps, &b);
	if (!is_cmp_token(ps->tok.kind))
		return make_comparison(ps, &a, op1, &b, op1pos);

	/* a chained range: literal, field, literal, both operators one way */
	op2 = token_op(ps->tok.kind);
	op2pos = ps->tok.start;
	up1 = (op1 == CMP_LT || op1 == CMP_LE);
	up2 = (op2 == CMP_LT || op2 == CMP_LE);
	if (a.is_field || !b.is_field || op1 == CMP_EQ || op1 == CMP_NE ||
		op2 == CMP_EQ || op2 == CMP_NE || up1 != up2)
		token_error(ps, &ps->tok);
	advance(ps);
	parse_operand(ps, &c);
	if (c.is_field)
		syntax_error_at(ps, c.start, c.len);
	args = list_make2(make_comparison(ps, &a, op1, &b, op1pos),
					  make_comparison(ps, &b, op2, &c, op2pos));
	return make_junction(EXPR_AND, args);
}

/* Parse "not" / "!" prefixes, then a predicate. */
static ExprNode *
parse_not(ExprParser *ps)
{
	bool		negate = false;
	ExprNode   *n;

	/* every level of parenthesis nesting passes through here */
	check_stack_depth();
	while (ps->tok.kind == TOK_NOT)
	{
		negate = !negate;
		advance(ps);
	}
	n = parse_predicate(ps);
	return negate ? make_not(n) : n;
}

/* Parse terms joined by "and" / "&&". */
static ExprNode *
parse_and(ExprParser *ps)
{
	List	   *args = add_junction_arg(NIL, EXPR_AND, parse_not(ps));

	while (ps->tok.kind == TOK_AND)
	{
		advance(ps);
		args = add_junction_arg(args, EXPR_AND, parse_not(ps));
	}
	return make_junction(EXPR_AND, args);
}

/* Parse terms joined by "or" / "||". */
static ExprNode *
parse_or(ExprParser *ps)
{
	List	   *args = add_junction_arg(NIL, EXPR_OR, parse_and(ps));

	while (ps->tok.kind == TOK_OR)
	{
		advance(ps);
		args = add_junction_arg(args, EXPR_OR, parse_and(ps));
	}
	return make_junction(EXPR_OR, args);
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
	lex_token(&ps, 0, &ps.tok);
	if (ps.tok.kind == TOK_EOF)
		expr_error(&ps, 0, "empty expression");
	root = parse_or(&ps);
	if (ps.tok.kind != TOK_EOF)
		token_error(&ps, &ps.tok);

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


/* ---------- evaluation ---------- */

/* a op b for int64. */
static inline bool
int_op(int64 a, CmpOp op, int64 b)
{
	switch (op)
	{
		case CMP_EQ:
			return a == b;
		case CMP_NE:
			return a != b;
		case CMP_LT:
			return a < b;
		case CMP_LE:
			return a <= b;
		case CMP_GT:
			return a > b;
		case CMP_GE:
			return a >= b;
	}
	pg_unreachable();
}

/* a op b for doubles, with IEEE semantics for NaN. */
static inline bool
float_op(double a, CmpOp op, double b)
{
	switch (op)
	{
		case CMP_EQ:
			return a == b;
		case CMP_NE:
			return a != b;
		case CMP_LT:
			return a < b;
		case CMP_LE:
			return a <= b;
		case CMP_GT:
			return a > b;
		case CMP_GE:
			return a >= b;
	}
	pg_unreachable();
}

/* a op b for strings, bytewise. */
static inline bool
str_op(const char *a, int alen, CmpOp op, const char *b, int blen)
{
	int			c;

	if (op == CMP_EQ || op == CMP_NE)
		return (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) ==
			(op == CMP_EQ);
	c = str_cmp(a, alen, b, blen);
	switch (op)
	{
		case CMP_LT:
			return c < 0;
		case CMP_LE:
			return c <= 0;
		case CMP_GT:
			return c > 0;
		default:
			return c >= 0;
	}
}

/* Binary search of a sorted int64 list. */
static inline bool
int_in_list(const int64 *list, int n, int64 x)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (list[mid] < x)
			lo = mid + 1;
		else if (list[mid] > x)
			hi = mid - 1;
		else
			return true;
	}
	return false;
}

/* Binary search of a sorted double list; NaN is in no list. */
static inline bool
float_in_list(const double *list, int n, double x)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (list[mid] < x)
			lo = mid + 1;
		else if (list[mid] > x)
			hi = mid - 1;
		else
			return list[mid] == x;
	}
	return false;
}

/* Binary search of a sorted string list. */
static inline bool
str_in_list(const StrVal *list, int n, const char *s, int len)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = str_cmp(list[mid].data, list[mid].len, s, len);

		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid - 1;
		else
			return true;
	}
	return false;
}

/* Value of a numeric field as double. */
static inline double
num_value(const SsValue *v, bool isfloat)
{
	return isfloat ? v->f : (double) v->i;
}

/* Evaluate node n on row. */
static bool
eval_node(const ExprNode *n, const SsValue *row)
{
	const SsValue *v = &row[n->field];
	const SsValue *w = &row[n->field2];
	int			i;

	switch (n->kind)
	{
		case EXPR_CONST:
			return n->bval;
		case EXPR_BOOL:
			return v->b == n->bval;
		case EXPR_AND:
			check_stack_depth();
			for (i = 0; i < n->nargs; i++)
				if (!eval_node(n->args[i], row))
					return false;
			return true;
		case EXPR_OR:
			check_stack_depth();
			for (i = 0; i < n->nargs; i++)
				if (eval_node(n->args[i], row))
					return true;
			return false;
		case EXPR_NOT:
			check_stack_depth();
			return !eval_node(n->args[0], row);
		case EXPR_INT_CMP:
			return int_op(v->i, n->op, n->ival);
		case EXPR_FLOAT_CMP:
			return float_op(v->f, n->op, n->fval);
		case EXPR_STR_CMP:
			return str_op(v->s.data, v->s.len, n->op,
						  n->sval.data, n->sval.len);
		case EXPR_INT_INT:
			return int_op(v->i, n->op, w->i);
		case EXPR_NUM_NUM:
			return float_op(num_value(v, n->lfloat), n->op,
							num_value(w, n->rfloat));
		case EXPR_STR_STR:
			return str_op(v->s.data, v->s.len, n->op, w->s.data, w->s.len);
		case EXPR_BOOL_BOOL:
			return (v->b == w->b) == (n->op == CMP_EQ);
		case EXPR_INT_IN:
			return int_in_list(n->ilist, n->nargs, v->i) != n->negate;
		case EXPR_FLOAT_IN:
			return float_in_list(n->flist, n->nargs, v->f) != n->negate;
		case EXPR_STR_IN:
			return str_in_list(n->slist, n->nargs, v->s.data, v->s.len) !=
				n->negate;
		case EXPR_LIKE:
			return like_match(n->like, v->s.data, v->s.len) != n->negate;
	}
	elog(ERROR, "unrecognized expression node kind: %d", (int) n->kind);
	return false;				/* keep compiler quiet */
}

/* Evaluate on one row; see expr.h. */
bool
SsExprEval(const SsExpr *expr, const SsValue *row)
{
	return eval_node(expr->root, row);
}


/* ---------- key bounds and key lists ---------- */

/* The range of values v with "v op c". */
static KeyRange
op_range(CmpOp op, int64 c)
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
negate_op(CmpOp op)
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
node_bounds(const ExprNode *n, int field, bool negated)
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
			return node_bounds(n->args[0], field, !negated);
		case EXPR_AND:
		case EXPR_OR:
			conj = (n->kind == EXPR_AND) != negated;
			for (i = 0; i < n->nargs; i++)
			{
				c = node_bounds(n->args[i], field, negated);
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
				return op_range(negated ? negate_op(n->op) : n->op, n->ival);
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
	KeyRange	r = node_bounds(expr->root, field, false);

	*lo = r.lo;
	*hi = r.hi;
	return r.lo != PG_INT64_MIN || r.hi != PG_INT64_MAX;
}

/* Keys in both sorted lists a and b; frees them. */
static int64 *
keys_intersect(int64 *a, int na, int64 *b, int nb, int *n)
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
keys_union(int64 *a, int na, int64 *b, int nb, int *n)
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
node_keys(const ExprNode *n, int field, bool negated, int64 **keys, int *nkeys)
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
			return node_keys(n->args[0], field, !negated, keys, nkeys);
		case EXPR_AND:
		case EXPR_OR:
			conj = (n->kind == EXPR_AND) != negated;
			for (i = 0; i < n->nargs; i++)
			{
				if (!node_keys(n->args[i], field, negated, &ck, &cn))
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
					*keys = keys_intersect(*keys, *nkeys, ck, cn, nkeys);
				else
					*keys = keys_union(*keys, *nkeys, ck, cn, nkeys);
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
	return node_keys(expr->root, field, false, keys, nkeys);
}
