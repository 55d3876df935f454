// SPDX-License-Identifier: GPL-2.0
/*
 * estpize-bpf: the loader of estpize.bpf.c (libbpf, bpftool's skeleton).
 *
 *   estpize-bpf check                 is the hook there?  0 yes, 2 no (why on stderr;
 *                                     run and cgroup exit 2 too, then)
 *   estpize-bpf run CMD [ARG...]      CMD and its children in a new cgroup,
 *                                     their TCP sockets ESTP; detached at exit
 *   estpize-bpf cgroup PATH           every task in cgroup v2 PATH, from now on:
 *                                     link pinned in /sys/fs/bpf/estpize/CGID
 *   estpize-bpf uncgroup PATH         remove that pin (and so the program)
 *
 * ESTP_PROTO sets the protocol (default 253); ESTPIZE_CGROUP_ROOT the
 * cgroup v2 mount (default /sys/fs/cgroup); ESTPIZE_BPFFS the bpffs mount
 * (default /sys/fs/bpf).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "estpize.skel.h"

#define HOOK "update_socket_protocol"
#define EXIT_UNSUPPORTED 2

/* set when a load failed for want of BTF or of the hook */
static int unsupported;

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("ESTPIZE_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* 0 if the running kernel has BTF and the fmod_ret hook, else a message */
static int check_hook(void)
{
	struct btf *btf;
	int id;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr,
			"estpize: no kernel BTF (/sys/kernel/btf/vmlinux): --bpf needs CONFIG_DEBUG_INFO_BTF\n");
		return -1;
	}
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		fprintf(stderr, "estpize: cannot read kernel BTF: %s\n",
			strerror(errno));
		return -1;
	}
	id = btf__find_by_name_kind(btf, HOOK, BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0) {
		fprintf(stderr,
			"estpize: this kernel has no %s() hook (Linux 6.6 or later has it): use \"estpize run\" (LD_PRELOAD)\n",
			HOOK);
		return -1;
	}
	return 0;
}

static int cgroup_id(const char *path, unsigned long long *id)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "estpize: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "estpize: %s: not a cgroup directory\n", path);
		return -1;
	}
	/* a cgroup v2 directory's inode number is its id */
	*id = (unsigned long long)st.st_ino;
	return 0;
}

static int proto_from_env(void)
{
	const char *p = getenv("ESTP_PROTO");
	long v;
	char *end;

	if (!p || !*p)
		return 253;
	v = strtol(p, &end, 0);
	if (*end || v <= 0 || v > 255) {
		fprintf(stderr, "estpize: bad ESTP_PROTO %s\n", p);
		exit(1);
	}
	return (int)v;
}

static struct estpize_bpf *load_attach(unsigned long long cgid)
{
	struct estpize_bpf *skel;
	int err;

	skel = estpize_bpf__open();
	if (!skel) {
		fprintf(stderr, "estpize: cannot open the BPF object: %s\n",
			strerror(errno));
		return NULL;
	}
	skel->rodata->estpize_cgid = cgid;
	skel->rodata->estpize_proto = proto_from_env();
	err = estpize_bpf__load(skel);
	if (err) {
		/* why, only now: reading the kernel's BTF is slow under TCG */
		if (check_hook() != 0)
			unsupported = 1;
		else
			fprintf(stderr,
				"estpize: cannot load the BPF program: %s\n",
				strerror(-err));
		goto fail;
	}
	err = estpize_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "estpize: cannot attach to %s(): %s\n", HOOK,
			strerror(-err));
		goto fail;
	}
	return skel;
fail:
	estpize_bpf__destroy(skel);
	return NULL;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int cmd_run(char **argv)
{
	const char *root = env_or("ESTPIZE_CGROUP_ROOT", "/sys/fs/cgroup");
	char cg[4096], procs[4200];
	unsigned long long cgid;
	struct estpize_bpf *skel;
	int status, ret = 1;
	pid_t pid;

	snprintf(cg, sizeof(cg), "%s/estpize.%d", root, (int)getpid());
	if (mkdir(cg, 0755) != 0) {
		fprintf(stderr,
			"estpize: cannot make cgroup %s: %s (is cgroup2 mounted there? ESTPIZE_CGROUP_ROOT)\n",
			cg, strerror(errno));
		return 1;
	}
	if (cgroup_id(cg, &cgid) != 0)
		goto out_rmdir;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	skel = load_attach(cgid);
	if (!skel) {
		ret = unsupported ? EXIT_UNSUPPORTED : 1;
		goto out_rmdir;
	}

	pid = fork();
	if (pid < 0) {
		perror("estpize: fork");
		goto out_destroy;
	}
	if (pid == 0) {
		if (write_str(procs, "0") != 0) {
			fprintf(stderr, "estpize: cannot join %s: %s\n", cg,
				strerror(errno));
			_exit(126);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "estpize: %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("estpize: waitpid");
			goto out_destroy;
		}
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else
		ret = 128 + WTERMSIG(status);
	if (getenv("ESTPIZE_DEBUG"))
		fprintf(stderr, "estpize: %llu sockets made ESTP\n",
			(unsigned long long)skel->bss->estpize_hits);
out_destroy:
	estpize_bpf__destroy(skel);
out_rmdir:
	/* fails while a daemonised child still lives there: left behind */
	if (rmdir(cg) != 0 && errno != ENOENT)
		fprintf(stderr, "estpize: cgroup %s left behind: %s\n", cg,
			strerror(errno));
	return ret;
}

static int pin_path(char *buf, size_t len, const char *path,
		    unsigned long long *cgid)
{
	const char *fs = env_or("ESTPIZE_BPFFS", "/sys/fs/bpf");

	if (cgroup_id(path, cgid) != 0)
		return -1;
	snprintf(buf, len, "%s/estpize", fs);
	if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr,
			"estpize: cannot make %s: %s (is bpffs mounted on %s?)\n",
			buf, strerror(errno), fs);
		return -1;
	}
	snprintf(buf, len, "%s/estpize/%llu", fs, *cgid);
	return 0;
}

static int cmd_cgroup(const char *path)
{
	unsigned long long cgid;
	struct estpize_bpf *skel;
	char pin[4096];
	int err;

	if (pin_path(pin, sizeof(pin), path, &cgid) != 0)
		return 1;
	if (access(pin, F_OK) == 0) {
		fprintf(stderr, "estpize: %s is already estpized (%s)\n", path,
			pin);
		return 0;
	}
	skel = load_attach(cgid);
	if (!skel)
		return unsupported ? EXIT_UNSUPPORTED : 1;
	err = bpf_link__pin(skel->links.estpize, pin);
	if (err) {
		fprintf(stderr, "estpize: cannot pin the link at %s: %s\n", pin,
			strerror(-err));
		estpize_bpf__destroy(skel);
		return 1;
	}
	printf("estpize: cgroup %s (id %llu): TCP sockets are ESTP; link %s\n",
	       path, cgid, pin);
	estpize_bpf__destroy(skel);	/* the pin keeps the link */
	return 0;
}

static int cmd_uncgroup(const char *path)
{
	unsigned long long cgid;
	char pin[4096];

	if (pin_path(pin, sizeof(pin), path, &cgid) != 0)
		return 1;
	if (unlink(pin) != 0) {
		fprintf(stderr, "estpize: %s: %s\n", pin, strerror(errno));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"estpize-bpf check | run CMD [ARG...] | cgroup PATH | uncgroup PATH\n");
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	libbpf_set_print(libbpf_quiet);
	if (!strcmp(argv[1], "check") && argc == 2)
		return check_hook() != 0 ? EXIT_UNSUPPORTED : 0;
	if (!strcmp(argv[1], "run") && argc >= 3)
		return cmd_run(argv + 2);
	if (!strcmp(argv[1], "cgroup") && argc == 3)
		return cmd_cgroup(argv[2]);
	if (!strcmp(argv[1], "uncgroup") && argc == 3)
		return cmd_uncgroup(argv[2]);
	usage();
	return 1;
}
