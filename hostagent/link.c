/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Link monitoring for controller mode: an rtnetlink socket (libmnl)
 * subscribed to link events, polled on the libuv loop.  When the host
 * interface stops running (carrier lost, set down, moved to another
 * switch port) the join client stops; when it runs again the agent joins
 * again, and the controller decides whether that was a move.
 */
#include "hostagent/agent.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

static void link_readable(uv_poll_t *, int status, int events);
static int link_msg_cb(const struct nlmsghdr *, void *aux);
static void link_set(struct ha_agent *, bool up);

int
ha_link_open(struct ha_agent *a)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    int error;

    if (!nl) {
        return -errno;
    }
    if (mnl_socket_bind(nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
        error = -errno;
        mnl_socket_close(nl);
        return error;
    }
    a->nl = nl;
    error = uv_poll_init(a->loop, &a->nl_poll, mnl_socket_get_fd(nl));
    if (error) {
        mnl_socket_close(nl);
        a->nl = NULL;
        return error;
    }
    a->nl_poll.data = a;
    return uv_poll_start(&a->nl_poll, UV_READABLE, link_readable);
}

void
ha_link_close(struct ha_agent *a)
{
    if (a->nl) {
        uv_poll_stop(&a->nl_poll);
        uv_close((uv_handle_t *) &a->nl_poll, NULL);
        mnl_socket_close(a->nl);
        a->nl = NULL;
    }
}

static void
link_readable(uv_poll_t *p, int status, int events)
{
    struct ha_agent *a = p->data;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    ssize_t n;

    (void) events;
    if (status < 0) {
        return;
    }
    for (;;) {
        n = recv(mnl_socket_get_fd(a->nl), buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        mnl_cb_run(buf, (size_t) n, 0, 0, link_msg_cb, a);
    }
    ha_agent_after(a);
}

static int
link_msg_cb(const struct nlmsghdr *nlh, void *aux)
{
    struct ha_agent *a = aux;
    const struct ifinfomsg *ifi;

    if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) {
        return MNL_CB_OK;
    }
    ifi = mnl_nlmsg_get_payload(nlh);
    if (ifi->ifi_index != a->net.ifindex) {
        return MNL_CB_OK;
    }
    link_set(a, nlh->nlmsg_type == RTM_NEWLINK
                && (ifi->ifi_flags & IFF_UP)
                && (ifi->ifi_flags & IFF_RUNNING));
    return MNL_CB_OK;
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
    if (!a->controller_mode) {
        return;
    }
    if (up) {
        ha_join_start(&a->join, ha_agent_now(a));
    } else {
        ha_join_link_down(&a->join);
    }
}
