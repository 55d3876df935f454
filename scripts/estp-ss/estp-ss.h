/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estp-ss: ss -tanoeim for ESTP (or, for comparison, TCP) over
 * NETLINK_SOCK_DIAG.  Shared declarations of its three parts: the filter
 * compiler (filter.c), the column renderer (render.c) and the program
 * (estp-ss.c).
 */
#ifndef ESTP_SS_H
#define ESTP_SS_H

#include <stddef.h>

/* Filter: ss's expression syntax compiled to inet_diag bytecode. */
struct ss_filter;

/*
 * ss_filter_parse() - parse argv (after the options and the state words)
 * Returns the tree, NULL for an empty expression; exits on a syntax error.
 */
struct ss_filter *ss_filter_parse(int argc, char **argv);
/* ss_filter_compile() - the bytecode of @f in a malloc()ed buffer; its length. */
size_t ss_filter_compile(const struct ss_filter *f, unsigned char **bc);

/* Output columns, in ss's order (without its Netid column). */
enum ss_col {
	COL_STATE, COL_RECVQ, COL_SENDQ, COL_ADDR, COL_SERV, COL_RADDR,
	COL_RSERV, COL_EXT, COL_PROC, COL_MAX
};

void render_disable(enum ss_col col);
void render_header(void);
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void field_next(void);
void field_set(enum ss_col col);
void render(void);

#endif
