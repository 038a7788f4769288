/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Link monitoring for controller mode: an rtnetlink socket subscribed to
 * link events (RTMGRP_LINK), polled on the libuv loop.  When the host
 * interface stops running (carrier lost, set down, moved to another
 * switch port) the join client stops; when it runs again the agent joins
 * again, and the controller decides whether that was a move.
 *
 * Plain netlink, no library: one socket, NLMSG_* walking of what it reads
 * (the agent links statically, see module.mk).
 */
#include "hostagent/agent.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void link_readable(uv_poll_t *, int status, int events);
static void link_msg(struct ha_agent *, const struct nlmsghdr *);
static void link_set(struct ha_agent *, bool up);

int
ha_link_open(struct ha_agent *a)
{
    struct sockaddr_nl sa;
    int fd, error;

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                NETLINK_ROUTE);
    if (fd < 0) {
        return -errno;
    }
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK;
    if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
        error = -errno;
        close(fd);
        return error;
    }
    a->nl_fd = fd;
    error = uv_poll_init(a->loop, &a->nl_poll, fd);
    if (error) {
        close(fd);
        a->nl_fd = -1;
        return error;
    }
    a->nl_poll.data = a;
    return uv_poll_start(&a->nl_poll, UV_READABLE, link_readable);
}

void
ha_link_close(struct ha_agent *a)
{
    if (a->nl_fd >= 0) {
        uv_poll_stop(&a->nl_poll);
        uv_close((uv_handle_t *) &a->nl_poll, NULL);
        close(a->nl_fd);
        a->nl_fd = -1;
    }
}

static void
link_readable(uv_poll_t *p, int status, int events)
{
    struct ha_agent *a = p->data;
    /* Aligned for struct nlmsghdr; 8 KiB as the kernel's NLMSG_GOODSIZE. */
    static uint32_t buf[8192 / sizeof(uint32_t)];
    ssize_t n;

    (void) events;
    if (status < 0) {
        return;
    }
    for (;;) {
        n = recv(a->nl_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        /* 'n' stays signed: NLMSG_NEXT() past a last message whose
         * length is not a multiple of 4 takes it below 0, which ends the
         * walk (unsigned, it would wrap and walk on past the data). */
        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
             NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
            link_msg(a, nlh);
        }
    }
    ha_agent_after(a);
}

static void
link_msg(struct ha_agent *a, const struct nlmsghdr *nlh)
{
    const struct ifinfomsg *ifi;

    if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
        || nlh->nlmsg_len < NLMSG_LENGTH(sizeof *ifi)) {
        return;
    }
    ifi = NLMSG_DATA(nlh);
    if (ifi->ifi_index != a->net.ifindex) {
        return;
    }
    link_set(a, nlh->nlmsg_type == RTM_NEWLINK
                && (ifi->ifi_flags & IFF_UP)
                && (ifi->ifi_flags & IFF_RUNNING));
}

static void
link_set(struct ha_agent *a, bool up)
{
    if (up == a->link_up) {
        return;
    }
    a->link_up = up;
    a->stats.link_changes++;
    ha_log(a, HA_LOG_INFO, "%s: link %s", a->ifname, up ? "up" : "down");
    /* Connections hold their datagrams until the link works again: at
     * once in static mode, after the re-join with a controller
     * (ha_agent_set_address). */
    if (!up || !a->controller_mode) {
        ha_stack_set_link(a->stack, up, ha_agent_now(a));
    }
    if (!a->controller_mode) {
        return;
    }
    if (up) {
        ha_join_start(&a->join, ha_agent_now(a));
    } else {
        ha_join_link_down(&a->join);
    }
}
