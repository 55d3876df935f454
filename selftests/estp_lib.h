/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the ESTP selftests: /proc readers and module loading.
 */
#ifndef ESTP_LIB_H
#define ESTP_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/estp.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Fields of ESTP's line in /proc/net/protocols: "ESTP <size> <sockets> ...".
 * Returns 0 when the line is there, -1 when it is not.
 */
static inline int estp_proto_line(const char *name, long *size, long *sockets)
{
	char line[512], n[64];
	int found = -1;
	FILE *f;

	f = fopen("/proc/net/protocols", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long s, k;

		if (sscanf(line, "%63s %ld %ld", n, &s, &k) == 3 && !strcmp(n, name)) {
			if (size)
				*size = s;
			if (sockets)
				*sockets = k;
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/*
 * Closes *@fd with a RST (SO_LINGER 0) and sets it to -1: no FIN exchange,
 * no TIME_WAIT left behind.
 */
static inline void estp_close_abort(int *fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(*fd);
	*fd = -1;
}

/* A sysctl's value, newline stripped, in @buf: 0 or errno. */
static inline int estp_sysctl_get(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY), err = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		err = errno;
	} else {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	close(fd);
	return err;
}

/* Writes @val to a sysctl: 0 or errno. */
static inline int estp_sysctl_set(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * One counter of a /proc file of "Prefix: names" / "Prefix: values" line
 * pairs (/proc/net/netstat, /proc/net/snmp, /proc/net/estp_stat): the value
 * of @field in the pair of @prefix, or -1.
 */
static inline long estp_proc_counter(const char *path, const char *prefix, const char *field)
{
	char *names = NULL, *values = NULL, *np, *vp, *n, *v;
	size_t nlen = 0, vlen = 0, plen = strlen(prefix);
	long ret = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (ret < 0 && getline(&names, &nlen, f) > 0 && getline(&values, &vlen, f) > 0) {
		if (strncmp(names, prefix, plen) || names[plen] != ':')
			continue;
		n = strtok_r(names + plen + 1, " \n", &np);
		v = strtok_r(values + plen + 1, " \n", &vp);
		for (; n && v; n = strtok_r(NULL, " \n", &np), v = strtok_r(NULL, " \n", &vp))
			if (!strcmp(n, field))
				ret = atol(v);
	}
	free(names);
	free(values);
	fclose(f);
	return ret;
}

/* One counter of /proc/net/estp_stat ("Estp: names" / "Estp: values"), or -1. */
static inline long estp_stat(const char *field)
{
	return estp_proc_counter("/proc/net/estp_stat", "Estp", field);
}

/*
 * The counter @name (ESTP's name) of @proto: estp_stat() for ESTP; for TCP
 * the TcpExt counter of /proc/net/netstat that counts the same thing, whose
 * name has a "TCP" prefix for some ("TCPAbortOnLinger").  -1 when none.
 */
static inline long estp_counter(int proto, const char *name)
{
	static const char *const tcp_prefixed[] = {
		"ChallengeACK", "AbortOnMemory", "AbortOnTimeout",
		"AbortOnLinger", "AbortOnClose", "AbortOnData",
	};
	char tcp_name[64];
	size_t i;

	if (proto != IPPROTO_TCP)
		return estp_stat(name);
	for (i = 0; i < ARRAY_SIZE(tcp_prefixed); i++) {
		if (!strcmp(name, tcp_prefixed[i])) {
			snprintf(tcp_name, sizeof(tcp_name), "TCP%s", name);
			return estp_proc_counter("/proc/net/netstat", "TcpExt", tcp_name);
		}
	}
	return estp_proc_counter("/proc/net/netstat", "TcpExt", name);
}

/*
 * The state (hex column 4) of the first socket of @proto in
 * /proc/net/{tcp,estp} with local port @lport and remote port @rport, a
 * negative port matching any: -1 when there is none, -2 when the file
 * cannot be read (so that it is not taken for a socket gone).
 */
static inline int estp_proc_state(int proto, int lport, int rport)
{
	const char *path = proto == IPPROTO_TCP ? "/proc/net/tcp" : "/proc/net/estp";
	unsigned int lp, rp, st;
	char line[256];
	int state = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -2;
	while (state < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 &&
		    (lport < 0 || (int)lp == lport) && (rport < 0 || (int)rp == rport))
			state = st;
	fclose(f);
	return state;
}

/* An IPv4 socket address from a dotted quad and a port. */
static inline struct sockaddr_in estp_sin4(const char *ip, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
	};

	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* An int socket option, or -1. */
static inline int estp_getsockopt_int(int fd, int level, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, opt, &val, &len))
		return -1;
	return val;
}

/* The socket's pending error (SO_ERROR, which reading clears), or -1. */
static inline int estp_so_error(int fd)
{
	return estp_getsockopt_int(fd, SOL_SOCKET, SO_ERROR);
}

/* The socket's local IPv4 port, or -1. */
static inline int estp_local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) || sin.sin_family != AF_INET)
		return -1;
	return ntohs(sin.sin_port);
}

/* Whether a module is loaded, from /proc/modules. */
static inline int estp_module_loaded(const char *name)
{
	char line[512];
	size_t len = strlen(name);
	int found = 0;
	FILE *f;

	f = fopen("/proc/modules", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ')
			found = 1;
	fclose(f);
	return found;
}

/* finit_module() of $ESTP_KO with @params: 0 or -errno. */
static inline int estp_load(const char *params)
{
	const char *ko = getenv("ESTP_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

/* delete_module("estp"): 0 or -errno. */
static inline int estp_unload(void)
{
	return syscall(SYS_delete_module, "estp", O_NONBLOCK) ? -errno : 0;
}

#ifdef FIXTURE_VARIANT
/*
 * The tcp and estp variants of a fixture whose behaviour TCP specifies:
 * tests read variant->proto.
 */
#define FIXTURE_VARIANTS_TCP_ESTP(fixture)				\
	FIXTURE_VARIANT(fixture) { int proto; };			\
	FIXTURE_VARIANT_ADD(fixture, tcp) { .proto = IPPROTO_TCP };	\
	FIXTURE_VARIANT_ADD(fixture, estp) { .proto = IPPROTO_ESTP }
#endif

#endif /* ESTP_LIB_H */
