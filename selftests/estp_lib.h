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

/* One counter of /proc/net/estp_stat ("Estp: names" / "Estp: values"), or -1. */
static inline long estp_stat(const char *field)
{
	char names[1024], values[1024], *np, *vp, *n, *v;
	long ret = -1;
	FILE *f;

	f = fopen("/proc/net/estp_stat", "r");
	if (!f)
		return -1;
	if (fgets(names, sizeof(names), f) && fgets(values, sizeof(values), f)) {
		n = strtok_r(names, " \n", &np);
		v = strtok_r(values, " \n", &vp);
		while (n && v) {
			if (!strcmp(n, field))
				ret = atol(v);
			n = strtok_r(NULL, " \n", &np);
			v = strtok_r(NULL, " \n", &vp);
		}
	}
	fclose(f);
	return ret;
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
