/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for hostagent/link.c: the agent's rtnetlink socket fed with
 * hand-made link messages on a private libuv loop (static mode: a link
 * change goes straight to the stack).  A privileged process may send the
 * agent's netlink port anything, so a malformed message must be ignored
 * without touching bytes beyond it.  Needs CAP_NET_ADMIN to send to a
 * netlink port (root in the test environment); without it the tests pass
 * vacuously and say so.
 */
/* The tests build with OVS's include path, whose linux/netlink.h wrapper
 * would define this struct again. */
#define HAVE_NLA_BITFIELD32 1
#include <CUnit/CUnit.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "hostagent/agent.h"
#include "hostagent/stack.h"
#include "tests/unit/harness.h"

/* The agent's interface: no such interface needs to exist. */
#define LT_IFINDEX 4242

static uv_loop_t loop;
static struct ha_agent agent;
static int sender = -1;
static struct sockaddr_nl agent_addr;

static void
lt_start(void)
{
    socklen_t len = sizeof agent_addr;

    CU_ASSERT_FATAL(uv_loop_init(&loop) == 0);
    ha_agent_init(&agent, &loop);
    uv_timer_init(&loop, &agent.timer);
    agent.stack = ha_stack_create(&agent.stack_ops, &agent, 0x01020000u);
    CU_ASSERT_FATAL(agent.stack != NULL);
    agent.net.ifindex = LT_IFINDEX;
    CU_ASSERT_FATAL(ha_link_open(&agent) == 0);
    CU_ASSERT_FATAL(getsockname(agent.nl_fd, (struct sockaddr *) &agent_addr,
                                &len) == 0);
    sender = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    CU_ASSERT_FATAL(sender >= 0);
}

static void
lt_stop(void)
{
    close(sender);
    sender = -1;
    ha_link_close(&agent);
    uv_close((uv_handle_t *) &agent.timer, NULL);
    ha_stack_destroy(agent.stack);
    agent.stack = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    CU_ASSERT(uv_loop_close(&loop) == 0);
}

/* Writes a link message (header 'nlmsg_len', 'type', interface 'ifindex'
 * with 'flags') at 'p'. */
static void
lt_msg(uint8_t *p, uint32_t nlmsg_len, uint16_t type, int ifindex,
       unsigned int flags)
{
    struct nlmsghdr nlh;
    struct ifinfomsg ifi;

    memset(&nlh, 0, sizeof nlh);
    nlh.nlmsg_len = nlmsg_len;
    nlh.nlmsg_type = type;
    memset(&ifi, 0, sizeof ifi);
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    ifi.ifi_flags = flags;
    memcpy(p, &nlh, sizeof nlh);
    memcpy(p + NLMSG_HDRLEN, &ifi, sizeof ifi);
}

/* Sends 'len' bytes to the agent's port and lets the agent read them.
 * Returns false when this process may not send to a netlink port. */
static bool
lt_send(const void *buf, size_t len)
{
    if (sendto(sender, buf, len, 0, (const struct sockaddr *) &agent_addr,
               sizeof agent_addr) < 0) {
        CU_ASSERT_EQUAL(errno, EPERM);
        return false;
    }
    uv_run(&loop, UV_RUN_ONCE);
    return true;
}

/* A message whose length is not a multiple of 4 ends the walk: what lies
 * after it in the receive buffer (here: the stale second message of the
 * previous datagram, "link up") is not read as another message. */
static void
test_unaligned_last_message(void)
{
    const uint32_t up_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    uint8_t one[36 + 32], two[33];

    lt_start();
    memset(one, 0, sizeof one);
    lt_msg(one, 36, RTM_NEWLINK, LT_IFINDEX + 1, IFF_UP | IFF_RUNNING);
    lt_msg(one + 36, up_len, RTM_NEWLINK, LT_IFINDEX, IFF_UP | IFF_RUNNING);
    if (!lt_send(one, sizeof one)) {
        printf("(no permission to send to a netlink port: skipped) ");
        lt_stop();
        return;
    }
    CU_ASSERT(agent.link_up);
    CU_ASSERT_EQUAL(agent.stats.link_changes, 1);

    memset(two, 0, sizeof two);
    lt_msg(two, sizeof two, RTM_DELLINK, LT_IFINDEX, 0);
    CU_ASSERT_FATAL(lt_send(two, sizeof two));
    CU_ASSERT(!agent.link_up);
    CU_ASSERT_EQUAL(agent.stats.link_changes, 2);
    lt_stop();
}

/* Short and oversized messages are ignored; the next datagram counts. */
static void
test_malformed_ignored(void)
{
    uint8_t buf[64];

    lt_start();
    memset(buf, 0, sizeof buf);
    lt_msg(buf, NLMSG_HDRLEN + 4, RTM_NEWLINK, LT_IFINDEX,
           IFF_UP | IFF_RUNNING);
    if (!lt_send(buf, sizeof buf)) {
        printf("(no permission to send to a netlink port: skipped) ");
        lt_stop();
        return;
    }
    CU_ASSERT(!agent.link_up);
    lt_msg(buf, 1000, RTM_NEWLINK, LT_IFINDEX, IFF_UP | IFF_RUNNING);
    CU_ASSERT_FATAL(lt_send(buf, sizeof buf));
    CU_ASSERT(!agent.link_up);
    lt_msg(buf, NLMSG_LENGTH(sizeof(struct ifinfomsg)), RTM_NEWLINK,
           LT_IFINDEX, IFF_UP | IFF_RUNNING);
    CU_ASSERT_FATAL(lt_send(buf, NLMSG_LENGTH(sizeof(struct ifinfomsg))));
    CU_ASSERT(agent.link_up);
    CU_ASSERT_EQUAL(agent.stats.link_changes, 1);
    lt_stop();
}

static CU_TestInfo link_tests[] = {
    { "unaligned last message ends the walk", test_unaligned_last_message },
    { "short and oversized messages ignored", test_malformed_ignored },
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    { "link", NULL, NULL, NULL, NULL, link_tests },
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    return sft_run("ha_link", suites);
}
