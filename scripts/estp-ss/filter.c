// SPDX-License-Identifier: GPL-2.0
/*
 * ss's filter expressions, compiled to the inet_diag bytecode that the
 * kernel runs on each socket (and checks first with inet_diag_bc_audit()).
 *
 *   expr := '(' list ')' | not expr | (src|dst) [=] HOST
 *         | (sport|dport) [OP] PORT
 *   list := expr { [and|or] expr }      (left to right, as in ss)
 *   OP   := = == eq != ne neq < lt <= le > gt >= ge
 *   HOST := ADDR[/PLEN][:PORT] | *[:PORT]      PORT := [:]N | [:]NAME | *
 *
 * The bytecode is a sequence of inet_diag_bc_op: a condition goes on by
 * "yes" bytes when it holds and jumps by "no" bytes when it does not.  A
 * socket matches when the walk ends exactly at the end of the program, and
 * is rejected when it jumps 4 bytes beyond it.  Each compiled fragment
 * keeps that shape: success falls through its end, failure jumps to end+4,
 * which is what lets fragments be joined:
 *   a and b:  a b, with a's jumps to its end+4 moved on by b's length
 *   a or b:   a JMP(past b) b, a's failures landing on b
 *   not a:    a JMP(end+4), a's failures landing on the end
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "estp-ss.h"

enum { F_SCOND, F_DCOND, F_S_GE, F_S_LE, F_D_GE, F_D_LE, F_AND, F_OR, F_NOT };

struct ss_filter {
	int type;
	struct ss_filter *a, *b;
	int family;		/* AF_UNSPEC: any address */
	int prefix_len;
	int port;		/* -1: any port */
	struct in_addr addr;
};

static char **toks;
static int ntoks, pos;

static void __attribute__((noreturn)) syntax(const char *what, const char *tok)
{
	fprintf(stderr, "estp-ss: filter: %s%s%s%s\n", what, tok ? " \"" : "",
		tok ? tok : "", tok ? "\"" : "");
	exit(1);
}

static struct ss_filter *node(int type, struct ss_filter *a, struct ss_filter *b)
{
	struct ss_filter *n = calloc(1, sizeof(*n));

	if (!n) {
		perror("estp-ss");
		exit(1);
	}
	n->type = type;
	n->a = a;
	n->b = b;
	n->port = -1;
	return n;
}

static const char *peek(void)
{
	return pos < ntoks ? toks[pos] : NULL;
}

static int is(const char *tok, const char *const *words)
{
	for (; tok && *words; words++)
		if (!strcmp(tok, *words))
			return 1;
	return 0;
}

static const char *const w_and[] = { "&", "&&", "and", NULL };
static const char *const w_or[] = { "|", "||", "or", NULL };
static const char *const w_not[] = { "!", "not", NULL };
static const char *const w_eq[] = { "=", "==", "eq", NULL };
static const char *const w_ne[] = { "!=", "ne", "neq", NULL };
static const char *const w_lt[] = { "<", "lt", NULL };
static const char *const w_le[] = { "<=", "le", "leq", NULL };
static const char *const w_gt[] = { ">", "gt", NULL };
static const char *const w_ge[] = { ">=", "ge", "geq", NULL };

static int parse_port(const char *s)
{
	struct servent *se;
	char *end;
	long v;

	if (*s == ':')
		s++;
	if (!*s || !strcmp(s, "*"))
		return -1;
	v = strtol(s, &end, 0);
	if (!*end) {
		if (v < 0 || v > 65535)
			syntax("port out of range:", s);
		return (int)v;
	}
	se = getservbyname(s, "tcp");
	if (!se)
		syntax("not a port:", s);
	return ntohs(se->s_port);
}

/* A host condition: ADDR[/PLEN][:PORT], *[:PORT], or for ports only PORT. */
static struct ss_filter *parse_host(int type, const char *arg, int port_only)
{
	struct ss_filter *n = node(type, NULL, NULL);
	char buf[128], *colon, *slash;

	if (strlen(arg) >= sizeof(buf))
		syntax("too long:", arg);
	strcpy(buf, arg);
	if (port_only) {
		n->port = parse_port(buf);
		return n;
	}
	slash = strchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = 0;
		n->port = parse_port(colon + 1);
	}
	if (!*buf || !strcmp(buf, "*"))
		return n;
	n->prefix_len = 32;
	if (slash) {
		char *end;

		*slash = 0;
		n->prefix_len = (int)strtol(slash + 1, &end, 10);
		if (*end || n->prefix_len < 0 || n->prefix_len > 32)
			syntax("bad prefix length in", arg);
	}
	if (inet_pton(AF_INET, buf, &n->addr) != 1)
		syntax("an IPv4 address or prefix is expected, not", arg);
	n->family = AF_INET;
	return n;
}

static struct ss_filter *parse_list(void);

static const char *next_arg(const char *after)
{
	if (pos >= ntoks)
		syntax("missing an argument after", after);
	return toks[pos++];
}

static struct ss_filter *parse_expr(void)
{
	const char *t = peek(), *op;
	int src, cond;

	if (!t)
		syntax("unexpected end", NULL);
	pos++;
	if (!strcmp(t, "(")) {
		struct ss_filter *n = parse_list();

		if (!peek() || strcmp(peek(), ")"))
			syntax("missing", ")");
		pos++;
		return n;
	}
	if (is(t, w_not))
		return node(F_NOT, parse_expr(), NULL);
	if (!strcmp(t, "src") || !strcmp(t, "dst")) {
		int neg = 0;

		cond = !strcmp(t, "src") ? F_SCOND : F_DCOND;
		if (is(peek(), w_eq)) {
			pos++;
		} else if (is(peek(), w_ne)) {
			pos++;
			neg = 1;
		}
		op = next_arg(t);
		if (neg)
			return node(F_NOT, parse_host(cond, op, 0), NULL);
		return parse_host(cond, op, 0);
	}
	if (strcmp(t, "sport") && strcmp(t, "dport"))
		syntax("unknown word", t);
	src = !strcmp(t, "sport");
	cond = src ? F_SCOND : F_DCOND;
	op = peek();
	if (is(op, w_eq) || is(op, w_ne) || is(op, w_lt) || is(op, w_le) ||
	    is(op, w_gt) || is(op, w_ge))
		pos++;
	else
		op = "=";
	{
		struct ss_filter *h = parse_host(cond, next_arg(t), 1);
		int ge = src ? F_S_GE : F_D_GE, le = src ? F_S_LE : F_D_LE;

		if (!is(op, w_eq) && !is(op, w_ne) && h->port < 0)
			syntax("a port comparison needs a port, not", toks[pos - 1]);
		if (is(op, w_eq))
			return h;
		if (is(op, w_ne))
			return node(F_NOT, h, NULL);
		if (is(op, w_ge))
			h->type = ge;
		else if (is(op, w_le))
			h->type = le;
		else if (is(op, w_gt))
			return h->type = le, node(F_NOT, h, NULL);
		else
			return h->type = ge, node(F_NOT, h, NULL);
		return h;
	}
}

static struct ss_filter *parse_list(void)
{
	struct ss_filter *n = parse_expr();
	const char *t;

	while ((t = peek()) && strcmp(t, ")")) {
		int type = F_AND;

		if (is(t, w_or)) {
			type = F_OR;
			pos++;
		} else if (is(t, w_and)) {
			pos++;
		}
		n = node(type, n, parse_expr());
	}
	return n;
}

struct ss_filter *ss_filter_parse(int argc, char **argv)
{
	struct ss_filter *f;
	int i;

	/* ss takes "(" and ")" as words; let them stick to their neighbours too. */
	toks = calloc((size_t)argc * 3 + 1, sizeof(*toks));
	if (!toks) {
		perror("estp-ss");
		exit(1);
	}
	for (i = 0; i < argc; i++) {
		char *s = argv[i];
		size_t n;

		while (*s == '(' && s[1]) {
			toks[ntoks++] = "(";
			s++;
		}
		n = strlen(s);
		if (n > 1 && s[n - 1] == ')') {
			int close = 0;

			while (n > 1 && s[n - 1] == ')') {
				n--;
				close++;
			}
			toks[ntoks++] = strndup(s, n);
			while (close--)
				toks[ntoks++] = ")";
			continue;
		}
		toks[ntoks++] = s;
	}
	if (!ntoks)
		return NULL;
	f = parse_list();
	if (pos != ntoks)
		syntax("unexpected", toks[pos]);
	return f;
}

struct prog {
	unsigned char *p;
	size_t len;
};

static void grow(struct prog *pg, const void *data, size_t n)
{
	pg->p = realloc(pg->p, pg->len + n);
	if (!pg->p) {
		perror("estp-ss");
		exit(1);
	}
	memcpy(pg->p + pg->len, data, n);
	pg->len += n;
}

static void put_op(struct prog *pg, int code, size_t yes, size_t no)
{
	struct inet_diag_bc_op op = {
		.code = (unsigned char)code,
		.yes = (unsigned char)yes,
		.no = (unsigned short)no,
	};

	grow(pg, &op, sizeof(op));
}

/* Move a fragment's failure exits (its end+4) on by @by bytes. */
static void relocate_failures(struct prog *pg, size_t by)
{
	size_t off = 0;

	while (off < pg->len) {
		struct inet_diag_bc_op *op = (void *)(pg->p + off);

		if (op->no == pg->len - off + 4)
			op->no = (unsigned short)(op->no + by);
		off += op->yes;
	}
}

static struct prog compile(const struct ss_filter *f)
{
	struct prog pg = { NULL, 0 }, b;

	switch (f->type) {
	case F_SCOND:
	case F_DCOND: {
		struct inet_diag_hostcond hc = {
			.family = (unsigned char)f->family,
			.prefix_len = (unsigned char)f->prefix_len,
			.port = f->port,
		};
		size_t alen = f->family == AF_INET ? 4 : 0;
		size_t len = sizeof(struct inet_diag_bc_op) + sizeof(hc) + alen;

		put_op(&pg, f->type == F_SCOND ? INET_DIAG_BC_S_COND : INET_DIAG_BC_D_COND,
		       len, len + 4);
		grow(&pg, &hc, sizeof(hc));
		if (alen)
			grow(&pg, &f->addr, alen);
		break;
	}
	case F_S_GE:
	case F_S_LE:
	case F_D_GE:
	case F_D_LE: {
		static const int code[] = {
			[F_S_GE] = INET_DIAG_BC_S_GE, [F_S_LE] = INET_DIAG_BC_S_LE,
			[F_D_GE] = INET_DIAG_BC_D_GE, [F_D_LE] = INET_DIAG_BC_D_LE,
		};

		put_op(&pg, code[f->type], 8, 12);
		put_op(&pg, 0, 0, (size_t)f->port);
		break;
	}
	case F_AND:
		pg = compile(f->a);
		b = compile(f->b);
		relocate_failures(&pg, b.len);
		grow(&pg, b.p, b.len);
		free(b.p);
		break;
	case F_OR:
		pg = compile(f->a);
		b = compile(f->b);
		put_op(&pg, INET_DIAG_BC_JMP, 4, b.len + 4);
		grow(&pg, b.p, b.len);
		free(b.p);
		break;
	case F_NOT:
		pg = compile(f->a);
		put_op(&pg, INET_DIAG_BC_JMP, 4, 8);
		break;
	}
	return pg;
}

size_t ss_filter_compile(const struct ss_filter *f, unsigned char **bc)
{
	struct prog pg = compile(f);

	*bc = pg.p;
	return pg.len;
}
