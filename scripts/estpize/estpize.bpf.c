// SPDX-License-Identifier: GPL-2.0
/*
 * estpize.bpf.c: the kernel side of "estpize --bpf".  An fmod_ret program on
 * update_socket_protocol(family, type, protocol) (net/socket.c, kernel 6.6
 * and later), which every socket(2) passes through, static binaries
 * included: for a task in the chosen cgroup (v2 id set by the loader in
 * .rodata before load) an AF_INET/AF_INET6 SOCK_STREAM socket asked with
 * protocol 0 or IPPROTO_TCP gets the ESTP protocol instead.  The hook's
 * arguments are ints, so no vmlinux.h is needed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define ESTPIZE_AF_INET		2
#define ESTPIZE_AF_INET6	10
#define ESTPIZE_SOCK_STREAM	1
#define ESTPIZE_SOCK_TYPE_MASK	0xf
#define ESTPIZE_IPPROTO_TCP	6

/* set before load; const volatile as libbpf's .rodata convention asks */
const volatile __u64 estpize_cgid;		/* 0: every task */
const volatile int estpize_proto = 253;

__u64 estpize_hits;

SEC("fmod_ret/update_socket_protocol")
int BPF_PROG(estpize, int family, int type, int protocol)
{
	if (family != ESTPIZE_AF_INET && family != ESTPIZE_AF_INET6)
		return protocol;
	if ((type & ESTPIZE_SOCK_TYPE_MASK) != ESTPIZE_SOCK_STREAM)
		return protocol;
	if (protocol != 0 && protocol != ESTPIZE_IPPROTO_TCP)
		return protocol;
	if (estpize_cgid && bpf_get_current_cgroup_id() != estpize_cgid)
		return protocol;
	__sync_fetch_and_add(&estpize_hits, 1);
	return estpize_proto;
}

char LICENSE[] SEC("license") = "GPL";
