// SPDX-License-Identifier: GPL-2.0
/*
 * Column output with ss's layout, so that estp-ss's lines read (and diff)
 * like ss's: every field of every line is buffered as a token, then each
 * column is as wide as its longest token and the line is printed with
 * ss's alignment and delimiters.  On a terminal the spare width is spread
 * over the columns, and columns wrap, as ss does; otherwise the output is
 * compact.  ss's quirks are kept where they show in the output: the last
 * line's final token does not count towards its column's width, and a
 * left-aligned column is padded on the right even at the end of a line.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "estp-ss.h"

enum { ALIGN_LEFT, ALIGN_RIGHT };

struct column {
	int align;
	const char *header;
	const char *ldelim;
	int disabled;
	int width;
	int max_len;
};

static struct column columns[COL_MAX] = {
	[COL_STATE] = { ALIGN_LEFT, "State", " ", 0, 0, 0 },
	[COL_RECVQ] = { ALIGN_LEFT, "Recv-Q", " ", 0, 0, 0 },
	[COL_SENDQ] = { ALIGN_LEFT, "Send-Q", " ", 0, 0, 0 },
	[COL_ADDR] = { ALIGN_RIGHT, "Local Address:", " ", 0, 0, 0 },
	[COL_SERV] = { ALIGN_LEFT, "Port", "", 0, 0, 0 },
	[COL_RADDR] = { ALIGN_RIGHT, "Peer Address:", " ", 0, 0, 0 },
	[COL_RSERV] = { ALIGN_LEFT, "Port", "", 0, 0, 0 },
	[COL_EXT] = { ALIGN_LEFT, "Process", "", 0, 0, 0 },
	[COL_PROC] = { ALIGN_LEFT, "", "", 0, 0, 0 },
};

struct token {
	enum ss_col col;
	size_t len;
	char *data;
};

static struct token *tokens;
static size_t ntokens, tokens_cap;
static enum ss_col cur;		/* the column being written */
static char *cur_buf;		/* its text so far */
static size_t cur_len, cur_cap;
static int written;		/* anything at all: else render() prints nothing */

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("estp-ss");
		exit(1);
	}
	return p;
}

void render_disable(enum ss_col col)
{
	columns[col].disabled = 1;
}

/* Append to the current column's token (nothing for a disabled column). */
void out(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (columns[cur].disabled)
		return;
	written = 1;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if (cur_len + (size_t)n + 1 > cur_cap) {
		cur_cap = (cur_len + (size_t)n + 1) * 2;
		cur_buf = xrealloc(cur_buf, cur_cap);
	}
	va_start(ap, fmt);
	vsnprintf(cur_buf + cur_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	cur_len += (size_t)n;
}

static void push_token(void)
{
	if (ntokens == tokens_cap) {
		tokens_cap = tokens_cap ? 2 * tokens_cap : 256;
		tokens = xrealloc(tokens, tokens_cap * sizeof(*tokens));
	}
	tokens[ntokens].col = cur;
	tokens[ntokens].len = cur_len;
	tokens[ntokens].data = xrealloc(NULL, cur_len + 1);
	memcpy(tokens[ntokens].data, cur_buf ? cur_buf : "", cur_len);
	ntokens++;
	cur_len = 0;
}

/* Close the current column's token and move to the next column. */
void field_next(void)
{
	if (!columns[cur].disabled) {
		if (cur_len > (size_t)columns[cur].max_len)
			columns[cur].max_len = (int)cur_len;
		push_token();
	}
	cur = cur == COL_PROC ? COL_STATE : cur + 1;
}

/* Close columns until @col is the current one (wrapping to a new line). */
void field_set(enum ss_col col)
{
	while (cur != col)
		field_next();
}

void render_header(void)
{
	while (cur != COL_PROC) {
		out("%s", columns[cur].header);
		field_next();
	}
}

static int screen_width(void)
{
	struct winsize w;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) != -1 &&
	    w.ws_col > 0)
		return w.ws_col;
	return -1;
}

static void calc_width(void)
{
	int scr = screen_width(), first = 1, len = 0, linecols = 0, eol = -1;
	int c, t;

	for (c = 0; c < COL_MAX; c++) {
		struct column *f = &columns[c];

		if (f->disabled)
			continue;
		if (!first && f->max_len)
			f->width = f->max_len + (int)strlen(f->ldelim);
		else
			f->width = f->max_len;
		if (scr > 0 && f->width > scr)
			f->width = scr;
		if (f->width)
			first = 0;
	}
	if (scr <= 0)
		return;

	/* A terminal: break lines and spread the spare width, as ss does. */
	for (c = 0; c < COL_MAX; c++) {
		int pad, spacing, rem, last = 1;

		if (!columns[c].width)
			continue;
		linecols++;
		len += columns[c].width;
		for (t = c + 1; t < COL_MAX; t++) {
			if (columns[t].width) {
				last = 0;
				break;
			}
		}
		if (!last && len < scr)
			continue;
		if (len != scr) {
			if (len > scr) {
				len -= columns[c].width;
				c--;
				linecols--;
			}
			pad = scr - len;
			spacing = linecols ? pad / linecols : 0;
			rem = linecols ? pad % linecols : 0;
			for (t = c; t > eol; t--) {
				if (!columns[t].width)
					continue;
				columns[t].width += spacing;
				if (rem) {
					columns[t].width++;
					rem--;
				}
			}
		}
		eol = c;
		len = 0;
		linecols = 0;
	}
}

/* Print every buffered line and forget them. */
void render(void)
{
	int line_started = 0;
	size_t i;

	if (!written)
		return;
	/* The token being written counts for output, not for widths. */
	if (!columns[cur].disabled)
		push_token();
	calc_width();
	for (i = 0; i < ntokens; i++) {
		const struct token *tk = &tokens[i];
		const struct column *f = &columns[tk->col];
		int printed = 0, s;

		if (line_started++)
			printed = printf("%s", f->ldelim);
		if (f->width && f->align == ALIGN_RIGHT) {
			s = f->width - (int)tk->len - printed;
			if (s > 0)
				printed += printf("%*c", s, ' ');
		}
		printed += (int)fwrite(tk->data, 1, tk->len, stdout);
		if (f->width && f->align == ALIGN_LEFT) {
			s = f->width - printed;
			if (s > 0)
				printf("%*c", s, ' ');
		}
		if (tk->col == COL_PROC) {
			putchar('\n');
			line_started = 0;
		}
		free(tk->data);
	}
	if (line_started)
		putchar('\n');
	ntokens = 0;
	written = 0;
	cur = COL_STATE;
}
