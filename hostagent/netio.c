/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw SCAFFOLD frames on the host interface.
 *
 * One AF_PACKET SOCK_RAW socket bound to the interface (ETH_P_IP), with a
 * classic BPF filter that keeps only IPv4/UDP frames (IPv6 ND/MLD, ARP and
 * the rest never reach user space), PACKET_IGNORE_OUTGOING so we do not
 * read our own frames back, and large socket buffers.
 *
 * Receive: on readable, recvmmsg() batches of HA_RX_BATCH frames into
 * preallocated buffers; each frame is checked with sfp_frame_decode() (a
 * malformed one is counted by its codec error and dropped) and fed to the
 * stack.  Transmit: frames are encoded straight into a batch of
 * preallocated buffers and written with one sendmmsg() when the batch is
 * full or when the current loop callback ends (ha_agent_after).
 */
#include "hostagent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static void netio_readable(uv_poll_t *, int status, int events);

int
ha_netio_open(struct ha_agent *a)
{
    static struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),             /* EtherType */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 3),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),             /* IP proto */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    struct ha_netio *n = &a->net;
    struct sockaddr_ll sll;
    struct ifreq ifr;
    int one = 1, bufsize = 4 << 20, error;

    n->tx_buf = calloc(HA_TX_BATCH, HA_FRAME_SIZE);
    n->rx_buf = calloc(HA_RX_BATCH, HA_FRAME_SIZE);
    if (!n->tx_buf || !n->rx_buf) {
        return -ENOMEM;
    }
    n->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   htons(ETH_P_IP));
    if (n->fd < 0) {
        return -errno;
    }
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, a->ifname, sizeof a->ifname);
    if (ioctl(n->fd, SIOCGIFINDEX, &ifr) < 0) {
        error = -errno;
        goto fail;
    }
    n->ifindex = ifr.ifr_ifindex;
    if (ioctl(n->fd, SIOCGIFHWADDR, &ifr) < 0) {
        error = -errno;
        goto fail;
    }
    memcpy(a->if_mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(n->fd, SIOCGIFFLAGS, &ifr) == 0) {
        a->link_up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
    }
    /* Filter before bind so that no unfiltered frame is queued. */
    if (setsockopt(n->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                   sizeof prog) < 0) {
        error = -errno;
        goto fail;
    }
    (void) setsockopt(n->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
                      sizeof one);
    if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize,
                   sizeof bufsize) < 0) {
        (void) setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
                          sizeof bufsize);
    }
    if (setsockopt(n->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize,
                   sizeof bufsize) < 0) {
        (void) setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
                          sizeof bufsize);
    }
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_IP);
    sll.sll_ifindex = n->ifindex;
    if (bind(n->fd, (struct sockaddr *) &sll, sizeof sll) < 0) {
        error = -errno;
        goto fail;
    }
    error = uv_poll_init(a->loop, &n->poll, n->fd);
    if (error) {
        goto fail;
    }
    n->poll.data = a;
    return uv_poll_start(&n->poll, UV_READABLE, netio_readable);

fail:
    close(n->fd);
    n->fd = -1;
    return error;
}

void
ha_netio_close(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;

    if (n->fd >= 0) {
        ha_netio_flush(a);
        uv_poll_stop(&n->poll);
        uv_close((uv_handle_t *) &n->poll, NULL);
        close(n->fd);
        n->fd = -1;
    }
}

void
ha_netio_send(struct ha_agent *a, const struct sfp_frame *f)
{
    struct ha_netio *n = &a->net;
    size_t len;

    if (n->fd < 0) {
        return;
    }
    if (n->n_tx == HA_TX_BATCH) {
        ha_netio_flush(a);
    }
    len = sfp_frame_encode(f, n->tx_buf[n->n_tx], HA_FRAME_SIZE);
    if (!len) {
        a->stats.tx_too_big++;
        return;
    }
    if (len < SFP_ETH_MIN_FRAME) {
        memset(n->tx_buf[n->n_tx] + len, 0, SFP_ETH_MIN_FRAME - len);
        len = SFP_ETH_MIN_FRAME;
    }
    n->tx_len[n->n_tx++] = len;
}

void
ha_netio_flush(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    struct mmsghdr msgs[HA_TX_BATCH];
    struct iovec iov[HA_TX_BATCH];
    unsigned int i, done = 0;

    if (!n->n_tx || n->fd < 0) {
        return;
    }
    memset(msgs, 0, sizeof msgs[0] * n->n_tx);
    for (i = 0; i < n->n_tx; i++) {
        iov[i].iov_base = n->tx_buf[i];
        iov[i].iov_len = n->tx_len[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (done < n->n_tx) {
        int r = sendmmsg(n->fd, msgs + done, n->n_tx - done, 0);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            /* The device queue is full: yield briefly rather than drop
             * control packets; data is the app's to pace. */
            struct timespec ts = { 0, 50000 };
            nanosleep(&ts, NULL);
            continue;
        }
        if (r <= 0) {
            /* Skip the frame the kernel refuses (EMSGSIZE over the MTU...)
             * and carry on with the rest. */
            a->stats.tx_errors++;
            ha_log(a, HA_LOG_WARN, "%s: send: %s", a->ifname,
                   strerror(r < 0 ? errno : EIO));
            done++;
            continue;
        }
        done += (unsigned int) r;
        a->stats.tx_frames += (unsigned int) r;
    }
    n->n_tx = 0;
}

static void
netio_readable(uv_poll_t *p, int status, int events)
{
    struct ha_agent *a = p->data;
    struct ha_netio *n = &a->net;
    struct mmsghdr msgs[HA_RX_BATCH];
    struct iovec iov[HA_RX_BATCH];
    struct sockaddr_ll from[HA_RX_BATCH];
    int rounds, i, r;

    (void) events;
    if (status < 0) {
        /* The interface went down (ENETDOWN queued on the socket): clear
         * the error, keep polling; frames flow again when it comes up. */
        int err = 0;
        socklen_t len = sizeof err;

        (void) getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ha_log(a, HA_LOG_DBG, "%s: socket error: %s", a->ifname,
               strerror(err));
        uv_poll_start(&n->poll, UV_READABLE, netio_readable);
    }
    /* Bounded work per wakeup so that IPC and timers are served too. */
    for (rounds = 0; rounds < 16; rounds++) {
        uint64_t now = ha_agent_now(a);

        for (i = 0; i < HA_RX_BATCH; i++) {
            iov[i].iov_base = n->rx_buf[i];
            iov[i].iov_len = HA_FRAME_SIZE;
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        r = recvmmsg(n->fd, msgs, HA_RX_BATCH, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ENETDOWN) {
                ha_log(a, HA_LOG_WARN, "%s: recv: %s", a->ifname,
                       strerror(errno));
            }
            break;
        }
        for (i = 0; i < r; i++) {
            struct sfp_frame f;
            enum sfp_error e;

            a->stats.rx_frames++;
            if (from[i].sll_pkttype == PACKET_OUTGOING) {
                a->stats.rx_outgoing++;
                continue;
            }
            e = sfp_frame_decode(n->rx_buf[i], msgs[i].msg_len, &f);
            if (e != SFP_OK) {
                a->stats.rx_bad[e]++;
                if (a->verbose > 1) {
                    ha_log(a, HA_LOG_DBG, "%s: dropped frame: %s", a->ifname,
                           sfp_strerror(e));
                }
                continue;
            }
            if (f.dst_obj == SFP_OBJ_CONTROL && f.src_obj == SFP_OBJ_CONTROL
                && sfp_hdr_is_datagram(&f.hdr)) {
                /* In-band control from the controller, to an agent socket
                 * (sockID 0): ours, or the new address a JoinReply
                 * assigns (or 0.0.0).  The join client matches the
                 * request id. */
                a->stats.rx_control++;
                if (!a->controller_mode || sfp_flowid_sock(f.dst_flow)
                    || ha_join_input(&a->join, &f, now)) {
                    a->stats.rx_control_ignored++;
                }
                continue;
            }
            ha_stack_input(a->stack, &f, now);
        }
        if (r < HA_RX_BATCH) {
            break;
        }
    }
    ha_agent_after(a);
}
