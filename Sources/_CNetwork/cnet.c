// rtnetlink and network-namespace helpers; see include/cnet.h for why each is C.

#include "cnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

// MARK: - Threads in another namespace

struct cnet_ns_job {
    int netns_fd;          // namespace to enter (< 0: stay)
    int unshare_new;       // 1: create a new namespace instead
    const char *mount_on;  // bind the thread's namespace here (when unshare_new)
    const char *sysctl_path;
    const char *sysctl_value;
    int domain, type, protocol;  // the socket to open
    int result;
};

static void *cnet_ns_thread(void *arg) {
    struct cnet_ns_job *job = arg;
    if (job->unshare_new) {
        if (unshare(CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
        if (mount("/proc/thread-self/ns/net", job->mount_on, "none", MS_BIND, NULL) != 0) {
            job->result = -errno;
            return NULL;
        }
        job->result = 0;
        return NULL;
    }
    if (job->netns_fd >= 0 && setns(job->netns_fd, CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
    if (job->sysctl_path) {
        int fd = open(job->sysctl_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) { job->result = -errno; return NULL; }
        size_t len = strlen(job->sysctl_value);
        ssize_t n = write(fd, job->sysctl_value, len);
        job->result = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
        close(fd);
        return NULL;
    }
    int s = socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
    job->result = s < 0 ? -errno : s;
    return NULL;
}

static int cnet_run_in_thread(struct cnet_ns_job *job) {
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, cnet_ns_thread, job);
    if (rc != 0) return -rc;
    pthread_join(thread, NULL);
    return job->result;
}

int cnet_netns_create(const char *path) {
    struct cnet_ns_job job = {.netns_fd = -1, .unshare_new = 1, .mount_on = path};
    return cnet_run_in_thread(&job);
}

int cnet_route_socket(int netns_fd) {
    int s;
    if (netns_fd < 0) {
        s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s < 0) return -errno;
    } else {
        struct cnet_ns_job job = {.netns_fd = netns_fd, .domain = AF_NETLINK, .type = SOCK_RAW, .protocol = NETLINK_ROUTE};
        s = cnet_run_in_thread(&job);
        if (s < 0) return s;
    }
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(s, (struct sockaddr *)&local, sizeof local) != 0) {
        int e = errno;
        close(s);
        return -e;
    }
    return s;
}

int cnet_socket_in(int netns_fd, int domain, int type) {
    struct cnet_ns_job job = {.netns_fd = netns_fd, .domain = domain, .type = type};
    return cnet_run_in_thread(&job);
}

int cnet_sysctl_write(int netns_fd, const char *path, const char *value) {
    struct cnet_ns_job job = {.netns_fd = netns_fd, .sysctl_path = path, .sysctl_value = value};
    return cnet_run_in_thread(&job);
}

int cnet_is_namespace_file(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -errno;
    return fs.f_type == NSFS_MAGIC ? 1 : 0;
}

// MARK: - Message building

struct cnet_msg {
    union {
        struct nlmsghdr header;
        char bytes[4096];
    } u;
};

static struct nlmsghdr *cnet_msg_init(struct cnet_msg *m, uint16_t type, uint16_t flags, size_t payload) {
    memset(m, 0, sizeof *m);
    m->u.header.nlmsg_len = NLMSG_LENGTH(payload);
    m->u.header.nlmsg_type = type;
    m->u.header.nlmsg_flags = NLM_F_REQUEST | flags;
    return &m->u.header;
}

static void *cnet_payload(struct cnet_msg *m) { return NLMSG_DATA(&m->u.header); }

static struct rtattr *cnet_attr(struct cnet_msg *m, uint16_t type, const void *data, size_t len) {
    struct nlmsghdr *h = &m->u.header;
    size_t at = NLMSG_ALIGN(h->nlmsg_len);
    if (at + RTA_SPACE(len) > sizeof m->u.bytes) return NULL;
    struct rtattr *a = (struct rtattr *)(m->u.bytes + at);
    a->rta_type = type;
    a->rta_len = RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, len);
    h->nlmsg_len = at + RTA_ALIGN(a->rta_len);
    return a;
}

static struct rtattr *cnet_nest_begin(struct cnet_msg *m, uint16_t type) { return cnet_attr(m, type, NULL, 0); }

static void cnet_nest_end(struct cnet_msg *m, struct rtattr *nest) {
    nest->rta_len = (unsigned short)((char *)m->u.bytes + m->u.header.nlmsg_len - (char *)nest);
}

static uint32_t cnet_seq;

static int cnet_send(int sock, struct cnet_msg *m) {
    m->u.header.nlmsg_seq = __atomic_add_fetch(&cnet_seq, 1, __ATOMIC_RELAXED);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    do {
        n = sendto(sock, m->u.bytes, m->u.header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/// Sends a request with NLM_F_ACK and waits for the kernel's answer to it.
static int cnet_transact(int sock, struct cnet_msg *m) {
    m->u.header.nlmsg_flags |= NLM_F_ACK;
    int rc = cnet_send(sock, m);
    if (rc < 0) return rc;
    uint32_t seq = m->u.header.nlmsg_seq;
    char buf[8192];
    for (;;) {
        ssize_t n;
        do { n = recv(sock, buf, sizeof buf, 0); } while (n < 0 && errno == EINTR);
        if (n < 0) return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error;
            }
        }
    }
}

// MARK: - Links

int cnet_link_add_bridge(int sock, const char *name, uint32_t mtu) {
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    if (!cnet_attr(&m, IFLA_IFNAME, name, strlen(name) + 1)) return -ENAMETOOLONG;
    if (mtu) cnet_attr(&m, IFLA_MTU, &mtu, sizeof mtu);
    struct rtattr *info = cnet_nest_begin(&m, IFLA_LINKINFO);
    cnet_attr(&m, IFLA_INFO_KIND, "bridge", 6);
    cnet_nest_end(&m, info);
    return cnet_transact(sock, &m);
}

int cnet_link_add_veth(int sock, const char *name, const char *peer, int peer_netns_fd, uint32_t mtu,
                       int master_index) {
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    if (!cnet_attr(&m, IFLA_IFNAME, name, strlen(name) + 1)) return -ENAMETOOLONG;
    if (mtu) cnet_attr(&m, IFLA_MTU, &mtu, sizeof mtu);
    if (master_index > 0) {
        uint32_t master = (uint32_t)master_index;
        cnet_attr(&m, IFLA_MASTER, &master, sizeof master);
    }
    struct rtattr *info = cnet_nest_begin(&m, IFLA_LINKINFO);
    cnet_attr(&m, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = cnet_nest_begin(&m, IFLA_INFO_DATA);
    struct rtattr *peer_info = cnet_nest_begin(&m, VETH_INFO_PEER);
    // The peer's attributes follow its own ifinfomsg header inside VETH_INFO_PEER.
    struct ifinfomsg peer_header = {.ifi_family = AF_UNSPEC};
    size_t at = NLMSG_ALIGN(m.u.header.nlmsg_len);
    if (at + sizeof peer_header > sizeof m.u.bytes) return -ENOSPC;
    memcpy(m.u.bytes + at, &peer_header, sizeof peer_header);
    m.u.header.nlmsg_len = at + NLMSG_ALIGN(sizeof peer_header);
    if (!cnet_attr(&m, IFLA_IFNAME, peer, strlen(peer) + 1)) return -ENAMETOOLONG;
    if (mtu) cnet_attr(&m, IFLA_MTU, &mtu, sizeof mtu);
    if (peer_netns_fd >= 0) {
        uint32_t fd = (uint32_t)peer_netns_fd;
        cnet_attr(&m, IFLA_NET_NS_FD, &fd, sizeof fd);
    }
    cnet_nest_end(&m, peer_info);
    cnet_nest_end(&m, data);
    cnet_nest_end(&m, info);
    return cnet_transact(sock, &m);
}

int cnet_link_index(int sock, const char *name) {
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
    if (!cnet_attr(&m, IFLA_IFNAME, name, strlen(name) + 1)) return -ENAMETOOLONG;
    int rc = cnet_send(sock, &m);
    if (rc < 0) return rc;
    uint32_t seq = m.u.header.nlmsg_seq;
    char buf[16384];
    for (;;) {
        ssize_t n;
        do { n = recv(sock, buf, sizeof buf, 0); } while (n < 0 && errno == EINTR);
        if (n < 0) return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error ? e->error : -ENODEV;
            }
            if (h->nlmsg_type == RTM_NEWLINK) {
                struct ifinfomsg *ifi = NLMSG_DATA(h);
                return ifi->ifi_index;
            }
        }
    }
}

int cnet_link_set_up(int sock, int index) {
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = cnet_payload(&m);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return cnet_transact(sock, &m);
}

int cnet_link_delete(int sock, const char *name) {
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
    if (!cnet_attr(&m, IFLA_IFNAME, name, strlen(name) + 1)) return -ENAMETOOLONG;
    return cnet_transact(sock, &m);
}

// MARK: - Addresses and routes

int cnet_addr_add(int sock, int index, int family, const void *addr, int prefix_len, int nodad) {
    size_t len = family == AF_INET ? 4 : 16;
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
    struct ifaddrmsg *ifa = cnet_payload(&m);
    ifa->ifa_family = (unsigned char)family;
    ifa->ifa_prefixlen = (unsigned char)prefix_len;
    ifa->ifa_index = (unsigned)index;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    if (nodad) ifa->ifa_flags = IFA_F_NODAD;
    cnet_attr(&m, IFA_LOCAL, addr, len);
    cnet_attr(&m, IFA_ADDRESS, addr, len);
    if (family == AF_INET) {
        // The broadcast address of the subnet, as `ip addr add ... brd +` computes it.
        uint32_t a;
        memcpy(&a, addr, 4);
        uint32_t mask = prefix_len == 0 ? 0 : htonl(~0u << (32 - prefix_len));
        uint32_t brd = (a & mask) | ~mask;
        if (prefix_len < 31) cnet_attr(&m, IFA_BROADCAST, &brd, 4);
    }
    if (nodad) {
        uint32_t flags = IFA_F_NODAD;
        cnet_attr(&m, IFA_FLAGS, &flags, sizeof flags);
    }
    return cnet_transact(sock, &m);
}

int cnet_route_add_default(int sock, int family, const void *gateway, int index) {
    size_t len = family == AF_INET ? 4 : 16;
    struct cnet_msg m;
    cnet_msg_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
    struct rtmsg *rt = cnet_payload(&m);
    rt->rtm_family = (unsigned char)family;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    cnet_attr(&m, RTA_GATEWAY, gateway, len);
    uint32_t oif = (uint32_t)index;
    cnet_attr(&m, RTA_OIF, &oif, sizeof oif);
    return cnet_transact(sock, &m);
}

// MARK: - Dumps

typedef int (*cnet_line_fn)(struct nlmsghdr *h, char *out, size_t room);

static int cnet_dump(int sock, uint16_t type, size_t header_len, cnet_line_fn line, char *buffer, size_t size) {
    struct cnet_msg m;
    cnet_msg_init(&m, type, NLM_F_DUMP, header_len);
    int rc = cnet_send(sock, &m);
    if (rc < 0) return rc;
    uint32_t seq = m.u.header.nlmsg_seq;
    size_t used = 0;
    int overflow = 0;
    if (size) buffer[0] = 0;
    char buf[32768];
    for (;;) {
        ssize_t n;
        do { n = recv(sock, buf, sizeof buf, 0); } while (n < 0 && errno == EINTR);
        if (n < 0) return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) return overflow ? -ENOSPC : (int)used;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error) return e->error;
                continue;
            }
            if (overflow) continue;  // drain the dump so the socket stays usable
            int w = line(h, buffer + used, size - used);
            if (w < 0 || (size_t)w >= size - used) {
                overflow = 1;
                if (size) buffer[used] = 0;
            } else {
                used += (size_t)w;
            }
        }
    }
}

static int cnet_link_line(struct nlmsghdr *h, char *out, size_t room) {
    if (h->nlmsg_type != RTM_NEWLINK) return 0;
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    const char *name = "";
    const char *kind = "";
    uint32_t master = 0;
    int len = (int)IFLA_PAYLOAD(h);
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_IFNAME) name = RTA_DATA(a);
        else if (a->rta_type == IFLA_MASTER) memcpy(&master, RTA_DATA(a), 4);
        else if (a->rta_type == IFLA_LINKINFO) {
            int nlen = (int)RTA_PAYLOAD(a);
            for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, nlen); b = RTA_NEXT(b, nlen))
                if (b->rta_type == IFLA_INFO_KIND) kind = RTA_DATA(b);
        }
    }
    return snprintf(out, room, "%d\t%s\t%u\t%s\n", ifi->ifi_index, name, master, kind);
}

int cnet_link_list(int sock, char *buffer, size_t size) {
    return cnet_dump(sock, RTM_GETLINK, sizeof(struct ifinfomsg), cnet_link_line, buffer, size);
}

static int cnet_addr_line(struct nlmsghdr *h, char *out, size_t room) {
    if (h->nlmsg_type != RTM_NEWADDR) return 0;
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    char text[INET6_ADDRSTRLEN] = "";
    int len = (int)IFA_PAYLOAD(h);
    const void *address = NULL;
    for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFA_LOCAL) address = RTA_DATA(a);
        else if (a->rta_type == IFA_ADDRESS && !address) address = RTA_DATA(a);
    }
    if (!address) return 0;
    inet_ntop(ifa->ifa_family, address, text, sizeof text);
    return snprintf(out, room, "%u\t%d\t%s/%u\n", ifa->ifa_index, ifa->ifa_family, text, ifa->ifa_prefixlen);
}

int cnet_addr_list(int sock, char *buffer, size_t size) {
    return cnet_dump(sock, RTM_GETADDR, sizeof(struct ifaddrmsg), cnet_addr_line, buffer, size);
}

// MARK: - Plugin processes

int cnet_memfd(const char *name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cnet_spawn(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
               int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    pid_t pid = -1;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return -rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -rc;
    }
    // dup2 clears close-on-exec on the copies; closefrom keeps every other descriptor of
    // this (multi-threaded, library-hosting) process out of the plugin.
    if ((rc = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2)) == 0 &&
        (rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3)) == 0) {
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        if ((rc = posix_spawnattr_setsigdefault(&attributes, &all)) == 0 &&
            (rc = posix_spawnattr_setsigmask(&attributes, &none)) == 0 &&
            (rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) == 0) {
            rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
        }
    }
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -rc;
}

int cnet_pidfd_open(int pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int cnet_owning_user_namespace(int ns_fd) {
    int fd = ioctl(ns_fd, NS_GET_USERNS);
    return fd < 0 ? -errno : fd;  // the kernel opens it close-on-exec
}

int cnet_spawn_session(const char *path, char *const argv[], char *const envp[], const int *fds, int count) {
    if (count < 0 || count > 16) return -EINVAL;
    // Copies above every target number first, so that no dup2 overwrites a source that a
    // later one still needs.
    int copies[16];
    int made = 0, rc = 0;
    for (; made < count; made++) {
        copies[made] = fcntl(fds[made], F_DUPFD_CLOEXEC, count > 3 ? count : 3);
        if (copies[made] < 0) {
            rc = errno;
            break;
        }
    }
    pid_t pid = -1;
    if (rc == 0) {
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attributes;
        if ((rc = posix_spawn_file_actions_init(&actions)) == 0) {
            if ((rc = posix_spawnattr_init(&attributes)) == 0) {
                for (int i = 0; i < count && rc == 0; i++) rc = posix_spawn_file_actions_adddup2(&actions, copies[i], i);
                if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, count);
                sigset_t all, none;
                sigfillset(&all);
                sigemptyset(&none);
                if (rc == 0 && (rc = posix_spawnattr_setsigdefault(&attributes, &all)) == 0 &&
                    (rc = posix_spawnattr_setsigmask(&attributes, &none)) == 0 &&
                    (rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                                                    POSIX_SPAWN_SETSID)) == 0) {
                    rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
                }
                posix_spawnattr_destroy(&attributes);
            }
            posix_spawn_file_actions_destroy(&actions);
        }
    }
    for (int i = 0; i < made; i++) close(copies[i]);
    return rc == 0 ? pid : -rc;
}

int cnet_pidfd_send_signal(int pidfd, int sig) {
    long rc = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return rc < 0 ? -errno : 0;
}
