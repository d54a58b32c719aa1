/*-------------------------------------------------------------------------
 *
 * expr_lex.c
 *	  Lexer of the expression language: tokens from the text.
 *
 * SsExprLexNext takes the text and a byte offset and gives the next token
 * after it: its kind, where it is, and for literals their value (integer
 * magnitude, float, decoded string).  The parser asks for one token at a
 * time, and may look ahead without moving; the lexer keeps no state.
 * Keywords are case-insensitive.
 *
 * Positions in errors are characters, not bytes, counted from 1, so that
 * they point at the right place in multibyte text.  The error functions
 * are here because the lexer reports malformed tokens itself; the parser
 * reports its syntax errors through them too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "mb/pg_wchar.h"

#include "expr/expr_int.h"


/* ---------- errors ---------- */

/* Report "invalid expression: what at character N" for byte offset. */
void
SsExprError(const char *text, int offset, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("invalid expression: %s at character %d",
					what, pg_mbstrlen_with_len(text, offset) + 1)));
}

/* Report a syntax error at the source text [start, start + len). */
void
SsExprSyntaxError(const char *text, int start, int len)
{
	if (len == 0)
		SsExprError(text, start, "unexpected end of expression");
	SsExprError(text, start,
				psprintf("syntax error at or near \"%.*s\"",
						 len, text + start));
}


/* ---------- lexer ---------- */

/* Whitespace allowed between tokens. */
static inline bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/* ASCII decimal digit. */
static inline bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

/* First character of an identifier. */
static inline bool
IsIdentStart(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Later character of an identifier. */
static inline bool
IsIdentChar(char c)
{
	return IsIdentStart(c) || IsDigit(c);
}

/* Keyword kind of identifier s[0..len), or TOK_IDENT. */
static TokKind
KeywordKind(const char *s, int len)
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
LexNumber(const char *text, Token *tok)
{
	int			p = tok->start;
	bool		isfloat = false;

	while (IsDigit(text[p]))
		p++;
	if (text[p] == '.')
	{
		isfloat = true;
		p++;
		while (IsDigit(text[p]))
			p++;
	}
	if ((text[p] == 'e' || text[p] == 'E') &&
		(IsDigit(text[p + 1]) ||
		 ((text[p + 1] == '+' || text[p + 1] == '-') && IsDigit(text[p + 2]))))
	{
		isfloat = true;
		p += 2;
		while (IsDigit(text[p]))
			p++;
	}
	if (IsIdentChar(text[p]) || text[p] == '.')
	{
		/* junk glued to the number, as in "12abc" or "1.2.3" */
		while (IsIdentChar(text[p]) || text[p] == '.')
			p++;
		SsExprSyntaxError(text, tok->start, p - tok->start);
	}
	tok->len = p - tok->start;

	if (isfloat)
	{
		char	   *buf = pnstrdup(text + tok->start, tok->len);

		tok->kind = TOK_FLOAT;
		errno = 0;
		tok->fval = strtod(buf, NULL);
		pfree(buf);
		/* like float8in: overflow, or underflow all the way to zero */
		if (isinf(tok->fval) || (errno == ERANGE && tok->fval == 0))
			SsExprError(text, tok->start, "float literal out of range");
	}
	else
	{
		tok->kind = TOK_INT;
		for (p = tok->start; p < tok->start + tok->len; p++)
		{
			int			d = text[p] - '0';

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
LexString(const char *text, Token *tok)
{
	char		quote = text[tok->start];
	int			begin = tok->start + 1;
	int			p = begin;
	char	   *buf;
	int			n = 0;

	for (;;)
	{
		if (text[p] == '\0' || (text[p] == '\\' && text[p + 1] == '\0'))
			SsExprError(text, tok->start, "unterminated string literal");
		if (text[p] == quote)
			break;
		p += (text[p] == '\\') ? 2 : 1;
	}
	tok->kind = TOK_STRING;
	tok->len = p + 1 - tok->start;

	buf = palloc(p - begin + 1);
	for (p = begin; text[p] != quote; p++)
	{
		if (text[p] != '\\')
		{
			buf[n++] = text[p];
			continue;
		}
		p++;
		switch (text[p])
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
				buf[n++] = text[p];
				break;
			default:
				buf[n++] = '\\';
				buf[n++] = text[p];
				break;
		}
	}
	buf[n] = '\0';
	tok->sval.data = buf;
	tok->sval.len = n;
}

/* Lex the token of text at or after byte offset into *tok. */
void
SsExprLexNext(const char *text, int offset, Token *tok)
{
	int			p = offset;
	char		c;

	while (IsSpace(text[p]))
		p++;
	memset(tok, 0, sizeof(Token));
	tok->start = p;
	tok->len = 1;
	c = text[p];

	if (c == '\0')
	{
		tok->kind = TOK_EOF;
		tok->len = 0;
		return;
	}
	if (IsIdentStart(c))
	{
		while (IsIdentChar(text[p + tok->len]))
			tok->len++;
		tok->kind = KeywordKind(text + p, tok->len);
		return;
	}
	if (IsDigit(c) || (c == '.' && IsDigit(text[p + 1])))
	{
		LexNumber(text, tok);
		return;
	}
	if (c == '"' || c == '\'')
	{
		LexString(text, tok);
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
			if (text[p + 1] == '=')
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
			if (text[p + 1] != c)
				SsExprSyntaxError(text, tok->start, tok->len);
			tok->kind = (c == '=') ? TOK_EQ : (c == '&') ? TOK_AND : TOK_OR;
			tok->len = 2;
			return;
		default:
			/* show the whole character, even if multibyte */
			tok->len = pg_mblen(text + p);
			SsExprSyntaxError(text, tok->start, tok->len);
	}
}
