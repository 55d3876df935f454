/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ESTP: Experimental Stream Transport Protocol, user-space API.
 *
 * socket(AF_INET, SOCK_STREAM, IPPROTO_ESTP) gives a stream socket that
 * behaves like TCP's.  IPPROTO_ESTP is the default protocol number; a module
 * loaded with ipproto=N answers to N instead.
 */
#ifndef _UAPI_LINUX_ESTP_H
#define _UAPI_LINUX_ESTP_H

/* RFC 3692 number for experimentation and testing. */
#define IPPROTO_ESTP		253

/*
 * Socket option level; SOL_TCP is accepted too where the meaning is TCP's,
 * and the numbers are TCP's.
 */
#define SOL_ESTP		IPPROTO_ESTP

#define ESTP_NODELAY		1	/* no Nagle: send small segments at once */
#define ESTP_MAXSEG		2	/* current MSS; a clamp when set */
#define ESTP_CORK		3	/* hold partial segments until uncorked */
#define ESTP_KEEPIDLE		4	/* idle seconds before keepalives */
#define ESTP_KEEPINTVL		5	/* seconds between keepalives */
#define ESTP_KEEPCNT		6	/* keepalives before ETIMEDOUT */
#define ESTP_SYNCNT		7	/* SYN retransmits before ETIMEDOUT */
#define ESTP_LINGER2		8	/* FIN_WAIT2 lifetime of an orphan */
#define ESTP_DEFER_ACCEPT	9	/* seconds a listener waits for data */
#define ESTP_WINDOW_CLAMP	10	/* the most the receive window offers */
#define ESTP_INFO		11	/* struct tcp_info, TCP's meaning */
#define ESTP_QUICKACK		12	/* ACK every segment at once for now */
#define ESTP_CONGESTION		13	/* congestion control algorithm, by name */
#define ESTP_USER_TIMEOUT	18	/* ms unacknowledged before ETIMEDOUT */
#define ESTP_FASTOPEN		23	/* a listener's queue of Fast Open children */
#define ESTP_CC_INFO		26	/* union tcp_cc_info of the algorithm */
#define ESTP_NOTSENT_LOWAT	25	/* writable while fewer bytes are unsent */
#define ESTP_FASTOPEN_CONNECT	30	/* connect() returns; the first write's SYN carries it */
#define ESTP_FASTOPEN_KEY	33	/* the socket's Fast Open key(s), 16 or 32 bytes */
#define ESTP_FASTOPEN_NO_COOKIE	34	/* Fast Open without a cookie */
#define ESTP_INQ		36	/* recvmsg() gives an ESTP_CM_INQ cmsg */
#define ESTP_CM_INQ		ESTP_INQ /* cmsg: bytes left to read (int) */

#endif /* _UAPI_LINUX_ESTP_H */
