/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw SCAFFOLD frames on the host interface.
 *
 * One AF_PACKET SOCK_RAW socket bound to the interface (ETH_P_IP), with a
 * classic BPF filter that keeps only SCAFFOLD frames (IPv4 with IHL 5,
 * UDP, SCAFFOLD version 1 at frame offset 42: the kernel's own UDP, IPv6
 * ND/MLD, ARP and the rest never reach user space),
 * PACKET_IGNORE_OUTGOING so we do not read our own frames back, and large
 * socket buffers.
 *
 * Receive (default): recvmmsg() batches of HA_RX_BATCH frames into
 * preallocated buffers, up to 16 batches per wakeup; the kernel wakes us
 * per frame when idle, so a lone frame waits for nothing, and a busy agent
 * finds many frames per call.  See HA_RX_DEFAULT_KIB for the measurements
 * that chose it.
 *
 * Receive with --rx-ring: a TPACKET_V3 ring (PACKET_MMAP) of 'blocks'
 * blocks of 'block_kib' KiB, shared with the kernel.  The kernel fills a
 * block with as many frames as fit and hands it over (TP_STATUS_USER) when
 * it is full or 'tov_ms' after its first frame; only then does the socket poll
 * readable, so one wakeup serves a whole block and no frame is copied
 * into user space.  On readable, every block handed over is walked frame
 * by frame, each checked with sfp_frame_decode() straight in the ring (a
 * malformed one is counted by its codec error and dropped) and fed to the
 * stack, which copies what it keeps; then the block goes back to the
 * kernel.  Frames the kernel had to drop because every block was ours are
 * read from PACKET_STATISTICS into the status counters.  When the ring
 * cannot be set up the agent falls back to recvmmsg().  The price of the
 * ring is latency: poll() reports it readable only when a block retires,
 * up to 'tov_ms' after a lone frame.
 *
 * Transmit: frames are encoded straight into a bounded queue of
 * HA_TX_QUEUE buffers (allocated once, their pages made resident only as
 * deep as bursts go: an empty queue starts again at its first buffer) and
 * written with sendmmsg() in batches of HA_TX_BATCH when a batch is full
 * or when the current loop callback ends (ha_agent_after).  When the kernel refuses with EAGAIN (socket
 * buffer or device queue full) the rest stays queued and the poll handle
 * also waits for writability; above HA_TX_HIGH_WATER queued frames the
 * agent stops reading IPC from applications (backpressure) until the
 * queue drains below HA_TX_LOW_WATER.  A frame that finds the queue full
 * is dropped and counted (tx_queue_drops); the connection's retransmission
 * timer recovers control packets.
 */
#include "hostagent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* Blocks walked per wakeup at most, so IPC and timers are served too. */
#define HA_RX_BLOCKS_PER_WAKEUP 16

static int netio_ring_open(struct ha_agent *);
static void netio_cb(uv_poll_t *, int status, int events);
static void netio_read_ring(struct ha_agent *);
static void netio_read_mmsg(struct ha_agent *);
static void netio_frame(struct ha_agent *, const uint8_t *, size_t len,
                        uint8_t pkttype, uint64_t now);
static void netio_update_poll(struct ha_agent *);
static void netio_ring_stats(struct ha_agent *);

int
ha_netio_config(struct ha_agent *a, const char *spec)
{
    unsigned int v[3] = { 0, HA_RX_RING_BLOCKS, HA_RX_RING_TOV_MS };
    unsigned int kib, blocks, tov;
    long page = sysconf(_SC_PAGESIZE);
    const char *p = spec;
    int n;

    /* 1 to 3 plain decimal fields (digits only: no sign, no space, no
     * "0x"), separated by ':', nothing after. */
    for (n = 0; n < 3; n++) {
        unsigned long x = 0;
        int digits = 0;

        while (*p >= '0' && *p <= '9' && digits < 10) {
            x = x * 10 + (unsigned long) (*p++ - '0');
            digits++;
        }
        if (!digits || x > UINT_MAX) {
            return -EINVAL;
        }
        v[n] = (unsigned int) x;
        if (*p != ':') {
            break;
        }
        p++;
    }
    if (n == 3 || *p) {
        return -EINVAL;
    }
    kib = v[0];
    blocks = v[1];
    tov = v[2];
    if (kib == 0) {
        a->net.cfg_block_kib = 0;           /* recvmmsg. */
        return 0;
    }
    if (page <= 0 || (kib * 1024u) % (unsigned long) page || kib > 65536
        || blocks < 2 || blocks > 4096 || (uint64_t) kib * blocks > 262144
        || tov < 1 || tov > 1000) {
        return -EINVAL;
    }
    a->net.cfg_block_kib = kib;
    a->net.cfg_blocks = blocks;
    a->net.cfg_tov_ms = tov;
    return 0;
}

int
ha_netio_open(struct ha_agent *a)
{
    /* SCAFFOLD frames only (fixed offsets: IHL 5 is the only IPv4 header
     * length a SCAFFOLD stack sends or accepts, docs/protocol.md 3), so
     * that the kernel's own UDP on the interface never reaches user
     * space: IPv4, version/IHL 0x45, protocol 17, and the SCAFFOLD
     * version 1 at offset 42 (the first UDP payload byte).  The rest of
     * the header is left to the codec, so that malformed SCAFFOLD frames
     * are still counted by their error.  A frame too short for a load is
     * dropped by the filter. */
    static struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),             /* EtherType */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 0, 7),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14),             /* Ver, IHL */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x45, 0, 5),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),             /* IP proto */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 3),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 42),             /* SFP ver */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SFP_VERSION, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    struct ha_netio *n = &a->net;
    struct sockaddr_ll sll;
    struct ifreq ifr;
    int one = 1, bufsize = 4 << 20, error;

    n->tx_buf = calloc(HA_TX_QUEUE, HA_FRAME_SIZE);
    n->tx_len = calloc(HA_TX_QUEUE, sizeof *n->tx_len);
    if (!n->tx_buf || !n->tx_len) {
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
    if (setsockopt(n->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize,
                   sizeof bufsize) < 0) {
        (void) setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
                          sizeof bufsize);
    }
    /* The ring goes in before bind, like the filter. */
    if (n->cfg_block_kib) {
        error = netio_ring_open(a);
        if (error) {
            ha_log(a, HA_LOG_WARN, "%s: no TPACKET_V3 ring (%s): using "
                   "recvmmsg", a->ifname, strerror(-error));
        }
    }
    if (!n->ring) {
        n->rx_buf = calloc(HA_RX_BATCH, HA_FRAME_SIZE);
        if (!n->rx_buf) {
            error = -ENOMEM;
            goto fail;
        }
        if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize,
                       sizeof bufsize) < 0) {
            (void) setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
                              sizeof bufsize);
        }
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
    n->poll_events = UV_READABLE;
    (void) ha_netio_max_payload(a);
    return uv_poll_start(&n->poll, UV_READABLE, netio_cb);

fail:
    if (n->ring) {
        munmap(n->ring, n->ring_len);
        n->ring = NULL;
    }
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
        if (n->ring) {
            munmap(n->ring, n->ring_len);
            n->ring = NULL;
        }
        close(n->fd);
        n->fd = -1;
    }
}

void
ha_netio_send(struct ha_agent *a, const struct sfp_frame *f)
{
    struct ha_netio *n = &a->net;
    unsigned int slot;
    uint8_t *buf;
    size_t len;

    if (n->fd < 0) {
        return;
    }
    if (n->tx_count == HA_TX_QUEUE) {
        /* Try to make room first; if the kernel still refuses, drop. */
        ha_netio_flush(a);
        if (n->tx_count == HA_TX_QUEUE) {
            a->stats.tx_queue_drops++;
            return;
        }
    }
    slot = (n->tx_head + n->tx_count) % HA_TX_QUEUE;
    buf = n->tx_buf[slot];
    len = sfp_frame_encode(f, buf, HA_FRAME_SIZE);
    if (!len) {
        a->stats.tx_too_big++;
        return;
    }
    if (len < SFP_ETH_MIN_FRAME) {
        memset(buf + len, 0, SFP_ETH_MIN_FRAME - len);
        len = SFP_ETH_MIN_FRAME;
    }
    n->tx_len[slot] = (uint16_t) len;
    n->tx_count++;
    if (n->tx_count >= HA_TX_BATCH && !n->tx_blocked) {
        ha_netio_flush(a);
    } else if (n->tx_count >= HA_TX_HIGH_WATER && !a->ipc_paused) {
        ha_ipc_pause(a, true);      /* Blocked: stop reading apps now. */
    }
}

/* Writes queued frames until the queue is empty or the kernel says
 * EAGAIN; then waits for writability (netio_cb) and, when the queue is
 * above the high-water mark, pauses IPC reads. */
void
ha_netio_flush(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    struct mmsghdr msgs[HA_TX_BATCH];
    struct iovec iov[HA_TX_BATCH];

    if (n->fd < 0 || n->tx_blocked) {
        return;                 /* netio_cb flushes when writable. */
    }
    while (n->tx_count) {
        unsigned int i, batch = n->tx_count < HA_TX_BATCH ? n->tx_count
                                                           : HA_TX_BATCH;
        int r;

        /* A batch never wraps around the end of the queue. */
        if (n->tx_head + batch > HA_TX_QUEUE) {
            batch = HA_TX_QUEUE - n->tx_head;
        }
        memset(msgs, 0, sizeof msgs[0] * batch);
        for (i = 0; i < batch; i++) {
            iov[i].iov_base = n->tx_buf[n->tx_head + i];
            iov[i].iov_len = n->tx_len[n->tx_head + i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        r = sendmmsg(n->fd, msgs, batch, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && errno == EAGAIN) {
            if (!n->tx_blocked) {
                n->tx_blocked = true;
                a->stats.tx_waits++;
            }
            break;
        }
        if (r <= 0) {
            /* Skip the frame the kernel refuses (EMSGSIZE over the MTU,
             * ENETDOWN, ENOBUFS from a full qdisc...) and carry on with
             * the rest. */
            a->stats.tx_errors++;
            ha_log(a, HA_LOG_WARN, "%s: send: %s", a->ifname,
                   strerror(r < 0 ? errno : EIO));
            r = 1;
        } else {
            a->stats.tx_frames += (unsigned int) r;
        }
        n->tx_head = (n->tx_head + (unsigned int) r) % HA_TX_QUEUE;
        n->tx_count -= (unsigned int) r;
        n->tx_blocked = false;
    }
    if (!n->tx_count) {
        /* Start the next burst at the first buffer again: the queue's
         * pages are touched only as deep as bursts go (a 2 MiB queue
         * walked round by a trickle of frames would all become resident)
         * and the buffers in use stay warm in the cache. */
        n->tx_head = 0;
    }
    netio_update_poll(a);
}

size_t
ha_netio_max_payload(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    size_t cap = HA_FRAME_SIZE - SFP_FRAME_HDR_LEN, max;
    struct ifreq ifr;
    int mtu = 1500;

    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, a->ifname, sizeof ifr.ifr_name - 1);
    if (n->fd >= 0 && ioctl(n->fd, SIOCGIFMTU, &ifr) == 0) {
        mtu = ifr.ifr_mtu;
    }
    max = mtu > SFP_IPV4_LEN + SFP_UDP_LEN + SFP_HDR_LEN
          ? (size_t) mtu - SFP_IPV4_LEN - SFP_UDP_LEN - SFP_HDR_LEN : 0;
    n->max_payload = max < cap ? max : cap;
    return n->max_payload;
}

size_t
ha_netio_status(const struct ha_agent *a, char *buf, size_t size)
{
    const struct ha_netio *n = &a->net;
    int len;

    if (n->ring) {
        len = snprintf(buf, size, "netio rx=ring block_kib=%u blocks=%u "
                       "tov_ms=%u", n->block_size / 1024, n->block_nr,
                       n->cfg_tov_ms);
    } else {
        len = snprintf(buf, size, "netio rx=recvmmsg batch=%d",
                       HA_RX_BATCH);
    }
    return len < 0 ? 0 : (size_t) len;
}

/* ---- static functions ------------------------------------------------ */

static int
netio_ring_open(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    int version = TPACKET_V3;
    struct tpacket_req3 req;
    void *ring;

    if (setsockopt(n->fd, SOL_PACKET, PACKET_VERSION, &version,
                   sizeof version) < 0) {
        return -errno;
    }
    memset(&req, 0, sizeof req);
    req.tp_block_size = n->cfg_block_kib * 1024u;
    req.tp_block_nr = n->cfg_blocks;
    req.tp_frame_size = HA_FRAME_SIZE;
    req.tp_frame_nr = req.tp_block_size / req.tp_frame_size
                      * req.tp_block_nr;
    req.tp_retire_blk_tov = n->cfg_tov_ms;
    req.tp_feature_req_word = 0;
    if (setsockopt(n->fd, SOL_PACKET, PACKET_RX_RING, &req,
                   sizeof req) < 0) {
        return -errno;
    }
    ring = mmap(NULL, (size_t) req.tp_block_size * req.tp_block_nr,
                PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, n->fd, 0);
    if (ring == MAP_FAILED) {
        /* MAP_LOCKED may exceed RLIMIT_MEMLOCK: try without. */
        ring = mmap(NULL, (size_t) req.tp_block_size * req.tp_block_nr,
                    PROT_READ | PROT_WRITE, MAP_SHARED, n->fd, 0);
    }
    if (ring == MAP_FAILED) {
        int error = -errno;

        /* Unset the ring so the socket can fall back to recvmmsg. */
        req.tp_block_nr = req.tp_frame_nr = 0;
        (void) setsockopt(n->fd, SOL_PACKET, PACKET_RX_RING, &req,
                          sizeof req);
        return error;
    }
    n->ring = ring;
    n->ring_len = (size_t) req.tp_block_size * req.tp_block_nr;
    n->block_size = req.tp_block_size;
    n->block_nr = req.tp_block_nr;
    n->block_idx = 0;
    return 0;
}

static void
netio_cb(uv_poll_t *p, int status, int events)
{
    struct ha_agent *a = p->data;
    struct ha_netio *n = &a->net;

    if (status < 0) {
        /* The interface went down (ENETDOWN queued on the socket): clear
         * the error, keep polling; frames flow again when it comes up. */
        int err = 0;
        socklen_t len = sizeof err;

        (void) getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ha_log(a, HA_LOG_DBG, "%s: socket error: %s", a->ifname,
               strerror(err));
        uv_poll_start(&n->poll, n->poll_events, netio_cb);
        events = UV_READABLE;
    }
    if (events & UV_WRITABLE) {
        n->tx_blocked = false;
        ha_netio_flush(a);
    }
    if (events & UV_READABLE) {
        if (n->ring) {
            netio_read_ring(a);
        } else {
            netio_read_mmsg(a);
        }
    }
    ha_agent_after(a);
}

/* Walks every block the kernel handed over (at most
 * HA_RX_BLOCKS_PER_WAKEUP), then gives each back. */
static void
netio_read_ring(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    int blocks;

    for (blocks = 0; blocks < HA_RX_BLOCKS_PER_WAKEUP; blocks++) {
        struct tpacket_block_desc *bd = (struct tpacket_block_desc *)
            (n->ring + (size_t) n->block_idx * n->block_size);
        const struct tpacket3_hdr *h;
        uint32_t i, num;
        uint64_t now;

        if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE)
              & TP_STATUS_USER)) {
            break;
        }
        now = ha_agent_now(a);
        num = bd->hdr.bh1.num_pkts;
        h = (const struct tpacket3_hdr *)
            ((const uint8_t *) bd + bd->hdr.bh1.offset_to_first_pkt);
        for (i = 0; i < num; i++) {
            const struct sockaddr_ll *sll = (const struct sockaddr_ll *)
                ((const uint8_t *) h
                 + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));

            netio_frame(a, (const uint8_t *) h + h->tp_mac, h->tp_snaplen,
                        sll->sll_pkttype, now);
            h = (const struct tpacket3_hdr *)
                ((const uint8_t *) h + h->tp_next_offset);
        }
        a->stats.rx_blocks++;
        __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
                         __ATOMIC_RELEASE);
        n->block_idx = (n->block_idx + 1) % n->block_nr;
    }
    netio_ring_stats(a);
}

/* The recvmmsg fallback: up to 16 batches of HA_RX_BATCH per wakeup. */
static void
netio_read_mmsg(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    struct mmsghdr msgs[HA_RX_BATCH];
    struct iovec iov[HA_RX_BATCH];
    struct sockaddr_ll from[HA_RX_BATCH];
    int rounds, i, r;

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
            netio_frame(a, n->rx_buf[i], msgs[i].msg_len,
                        from[i].sll_pkttype, now);
        }
        if (r < HA_RX_BATCH) {
            break;
        }
    }
}

/* One received frame of 'len' bytes at 'p' (valid during the call only:
 * the stack copies what it keeps). */
static void
netio_frame(struct ha_agent *a, const uint8_t *p, size_t len,
            uint8_t pkttype, uint64_t now)
{
    struct sfp_frame f;
    enum sfp_error e;

    a->stats.rx_frames++;
    if (pkttype == PACKET_OUTGOING) {
        a->stats.rx_outgoing++;
        return;
    }
    e = sfp_frame_decode(p, len, &f);
    if (e != SFP_OK) {
        a->stats.rx_bad[e]++;
        if (a->verbose > 1) {
            ha_log(a, HA_LOG_DBG, "%s: dropped frame: %s", a->ifname,
                   sfp_strerror(e));
        }
        return;
    }
    if (f.dst_obj == SFP_OBJ_CONTROL && f.src_obj == SFP_OBJ_CONTROL
        && sfp_hdr_is_datagram(&f.hdr)) {
        /* In-band control from the controller, to an agent socket
         * (sockID 0): ours, or the new address a JoinReply assigns (or
         * 0.0.0).  The join client matches the request id. */
        a->stats.rx_control++;
        if (!a->controller_mode || sfp_flowid_sock(f.dst_flow)
            || ha_join_input(&a->join, &f, now)) {
            a->stats.rx_control_ignored++;
        }
        return;
    }
    ha_stack_input(a->stack, &f, now);
}

/* Readable always; writable while frames wait for the kernel.  IPC reads
 * pause above the high-water mark and resume below the low one. */
static void
netio_update_poll(struct ha_agent *a)
{
    struct ha_netio *n = &a->net;
    int want = UV_READABLE | (n->tx_count ? UV_WRITABLE : 0);

    if (want != n->poll_events && !a->stopping) {
        n->poll_events = want;
        uv_poll_start(&n->poll, want, netio_cb);
    }
    if (!a->ipc_paused && n->tx_count >= HA_TX_HIGH_WATER) {
        ha_ipc_pause(a, true);
    } else if (a->ipc_paused && n->tx_count <= HA_TX_LOW_WATER) {
        ha_ipc_pause(a, false);
    }
}

/* Adds the kernel's ring drop count (reset on every read) to ours. */
static void
netio_ring_stats(struct ha_agent *a)
{
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;

    if (getsockopt(a->net.fd, SOL_PACKET, PACKET_STATISTICS, &st,
                   &len) == 0) {
        a->stats.rx_kernel_drops += st.tp_drops;
    }
}
