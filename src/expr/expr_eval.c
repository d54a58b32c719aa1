/*-------------------------------------------------------------------------
 *
 * expr_eval.c
 *	  Evaluation of a parsed expression on one row, and like patterns.
 *
 * SsExprEval takes the tree that SsExprParse built and one row (row[i] the
 * value of field i) and says whether the expression is true for it.  It
 * runs once per row over whole segments, so the tree's leaves already know
 * their field, operator and literal type, and lists are sorted for binary
 * search (see expr_int.h).
 *
 * Like patterns are compiled here too, at parse time (SsExprLikeCompile),
 * into the layout only the matcher needs: the segments between "%"
 * wildcards, each a run of literal bytes matched with memcmp or a run of
 * "_".  "_" steps over one character of the database encoding.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "expr/expr_int.h"


/* ---------- like patterns ---------- */

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
struct LikePattern
{
	LikeSeg    *segs;
	int			nsegs;
	LikeEncoding encoding;
};

/*
 * Compile a like pattern: "%" matches any run of characters, "_" exactly one,
 * and a backslash makes the next character literal.  text and pos, where the
 * pattern starts in it, are for errors.
 */
LikePattern *
SsExprLikeCompile(const char *text, const StrVal *pat, int pos)
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
				SsExprError(text, pos,
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
LikeCharLen(const LikePattern *lp, const char *s, int remaining)
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
LikeSegAt(const LikePattern *lp, const LikeSeg *seg, const char *s,
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
			pos += LikeCharLen(lp, s + pos, slen - pos);
		}
	}
	return pos;
}

/*
 * Find the leftmost match of seg at or after pos; return the offset just past
 * it, or -1.  Leftmost is always best for a segment between two "%".
 */
static int
LikeSegFind(const LikePattern *lp, const LikeSeg *seg, const char *s,
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
			end = LikeSegAt(lp, seg, s, slen, pos);
			if (end >= 0)
				return end;
			pos++;
		}
		return -1;
	}
	for (;;)
	{
		end = LikeSegAt(lp, seg, s, slen, pos);
		if (end >= 0)
			return end;
		if (pos >= slen)
			return -1;
		pos += LikeCharLen(lp, s + pos, slen - pos);
	}
}

/*
 * Byte offset where the last nchars characters of s start, or -1 if s is
 * shorter; single-byte and UTF-8 encodings only.
 */
static int
LikeCharsBack(const LikePattern *lp, const char *s, int slen, int nchars)
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
LikeMatch(const LikePattern *lp, const char *s, int slen)
{
	const LikeSeg *last;
	int			pos;
	int			i;

	pos = LikeSegAt(lp, &lp->segs[0], s, slen, 0);
	if (pos < 0)
		return false;
	if (lp->nsegs == 1)
		return pos == slen;
	for (i = 1; i < lp->nsegs - 1; i++)
	{
		pos = LikeSegFind(lp, &lp->segs[i], s, slen, pos);
		if (pos < 0)
			return false;
	}

	/* the last segment must end exactly at the end of s */
	last = &lp->segs[lp->nsegs - 1];
	if (lp->encoding != LIKE_MULTIBYTE)
	{
		int			start = LikeCharsBack(lp, s, slen, last->nchars);

		return start >= pos && LikeSegAt(lp, last, s, slen, start) == slen;
	}
	for (;;)
	{
		if (LikeSegAt(lp, last, s, slen, pos) == slen)
			return true;
		if (pos >= slen)
			return false;
		pos += LikeCharLen(lp, s + pos, slen - pos);
	}
}


/* ---------- evaluation ---------- */

/* a op b for int64. */
static inline bool
IntOp(int64 a, CmpOp op, int64 b)
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
FloatOp(double a, CmpOp op, double b)
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
StrOp(const char *a, int alen, CmpOp op, const char *b, int blen)
{
	int			c;

	if (op == CMP_EQ || op == CMP_NE)
		return (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) ==
			(op == CMP_EQ);
	c = SsExprStrCmp(a, alen, b, blen);
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
IntInList(const int64 *list, int n, int64 x)
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
FloatInList(const double *list, int n, double x)
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
StrInList(const StrVal *list, int n, const char *s, int len)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = SsExprStrCmp(list[mid].data, list[mid].len, s, len);

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
NumValue(const SsValue *v, bool isfloat)
{
	return isfloat ? v->f : (double) v->i;
}

/* Evaluate node n on row. */
static bool
EvalNode(const ExprNode *n, const SsValue *row)
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
				if (!EvalNode(n->args[i], row))
					return false;
			return true;
		case EXPR_OR:
			check_stack_depth();
			for (i = 0; i < n->nargs; i++)
				if (EvalNode(n->args[i], row))
					return true;
			return false;
		case EXPR_NOT:
			check_stack_depth();
			return !EvalNode(n->args[0], row);
		case EXPR_INT_CMP:
			return IntOp(v->i, n->op, n->ival);
		case EXPR_FLOAT_CMP:
			return FloatOp(v->f, n->op, n->fval);
		case EXPR_STR_CMP:
			return StrOp(v->s.data, v->s.len, n->op,
						 n->sval.data, n->sval.len);
		case EXPR_INT_INT:
			return IntOp(v->i, n->op, w->i);
		case EXPR_NUM_NUM:
			return FloatOp(NumValue(v, n->lfloat), n->op,
						   NumValue(w, n->rfloat));
		case EXPR_STR_STR:
			return StrOp(v->s.data, v->s.len, n->op, w->s.data, w->s.len);
		case EXPR_BOOL_BOOL:
			return (v->b == w->b) == (n->op == CMP_EQ);
		case EXPR_INT_IN:
			return IntInList(n->ilist, n->nargs, v->i) != n->negate;
		case EXPR_FLOAT_IN:
			return FloatInList(n->flist, n->nargs, v->f) != n->negate;
		case EXPR_STR_IN:
			return StrInList(n->slist, n->nargs, v->s.data, v->s.len) !=
				n->negate;
		case EXPR_LIKE:
			return LikeMatch(n->like, v->s.data, v->s.len) != n->negate;
	}
	elog(ERROR, "unrecognized expression node kind: %d", (int) n->kind);
	return false;				/* keep compiler quiet */
}

/* Evaluate on one row; see expr.h. */
bool
SsExprEval(const SsExpr *expr, const SsValue *row)
{
	return EvalNode(expr->root, row);
}
