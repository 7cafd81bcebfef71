/*
 * The enter-sandbox sequence (docs/security.md lists the same steps in the same
 * order; test/integration/enter.test.ts checks that the two lists match).
 *
 * Process layout. The caller (the hearth-enter helper, or a Node process forked
 * from a zygote) is root in the host's namespaces. It creates the sandbox's
 * first process and then stays as its *supervisor*: it moves the child into its
 * cgroups, writes the child's uid/gid maps, forwards signals, and exits with
 * the child's status, so the agent keeps an ordinary child process to watch.
 *
 *   caller (root, host ns)  --fork-->  child: pid 1 of a new pid namespace
 *   = supervisor                         unshares mnt/ipc/uts/net/cgroup as host root,
 *                                        builds the mount tree as host root, then
 *                                        unshares the user namespace last
 *
 * The user namespace is created last on purpose: every other namespace is then
 * owned by the host's user namespace, so the sandbox's root-in-userns (even
 * before it drops its capabilities, and whatever a kernel bug might let it keep)
 * holds no capability over its own mounts, hostname or network.
 *
 * Between the fork and exec the code allocates nothing, changes credentials with
 * raw syscalls (glibc's set*id wrappers signal every thread of the process), and
 * reports any failure as one JSON line {"step","errno","message"} on the plan's
 * status fd before _exit(127): tenant code never runs half-sandboxed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include "enter.h"

#define MAX_TIMINGS 64

struct seq {
	const struct hearth_plan *plan;
	const struct hearth_enter_hooks *hooks;
	const char *step;
	char detail[768];
	int supervisor;  /* 1 in the parent after the fork */
	pid_t child;     /* the sandbox's first process, as the supervisor sees it */
	pid_t ppid;      /* the caller's parent, for the parent-death check */
	int sync_fd;     /* our end of the supervisor<->child socketpair */
	int peer_fd;     /* the other end until the fork */
	int placeholder_fd; /* every inherited fd is replaced by this memfd before the fork */
	dev_t placeholder_dev;
	ino_t placeholder_ino;
	int max_replaced_fd;
	int cgroup_fds[HEARTH_MAX_CGROUPS];
	int cgroup_v2[HEARTH_MAX_CGROUPS];
	int cgroup2_dir_fd;
	int joined_cgroup2;
	int keep[HEARTH_MAX_FDS]; /* the plan's kept fds that are open at the start */
	size_t n_keep;
	struct timespec t0;
	struct {
		const char *name;
		long long ns;
	} timings[MAX_TIMINGS];
	size_t n_timings;
};

static void step_failed(struct seq *s) __attribute__((noreturn));
static void supervise(struct seq *s) __attribute__((noreturn));
static void record(struct seq *s);

/* Runs one step; the name is what a failure reports and what docs/security.md lists. */
#define STEP(s, name, call)                  \
	do {                                 \
		(s)->step = (name);          \
		(s)->detail[0] = '\0';       \
		if ((call) < 0)              \
			step_failed(s);      \
		record(s);                   \
	} while (0)

/* ---- reporting -------------------------------------------------------------- */

const char *hearth_errno_name(int err)
{
	return strerrorname_np(err);
}

struct jbuf {
	char b[1536];
	size_t n;
};

static void j_raw(struct jbuf *j, const char *s)
{
	while (*s && j->n < sizeof(j->b) - 2)
		j->b[j->n++] = *s++;
}

static void j_str(struct jbuf *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	j_raw(j, "\"");
	for (; *s && j->n < sizeof(j->b) - 10; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			j->b[j->n++] = '\\';
			j->b[j->n++] = (char)c;
		} else if (c < 0x20) {
			char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			j_raw(j, e);
		} else {
			j->b[j->n++] = (char)c;
		}
	}
	j_raw(j, "\"");
}

static void j_num(struct jbuf *j, long long v)
{
	char tmp[24], out[24];
	size_t n = 0, i = 0;
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		out[i++] = '-';
	while (n)
		out[i++] = tmp[--n];
	out[i] = '\0';
	j_raw(j, out);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void hearth_report(int fd, const char *step, int err, const char *message)
{
	struct jbuf j = { .n = 0 };
	const char *name = hearth_errno_name(err);

	j_raw(&j, "{\"step\":");
	j_str(&j, step);
	j_raw(&j, ",\"errno\":");
	j_str(&j, name ? name : "EUNKNOWN");
	j_raw(&j, ",\"message\":");
	j_str(&j, message);
	j_raw(&j, "}\n");
	if (fd < 0 || write_all(fd, j.b, j.n) < 0)
		(void)write_all(STDERR_FILENO, j.b, j.n);
}

static void step_failed(struct seq *s)
{
	int err = errno;
	char message[1024];
	size_t n = strlen(s->detail);

	memcpy(message, s->detail, n);
	if (n > 0 && n < sizeof(message) - 2) {
		message[n++] = ':';
		message[n++] = ' ';
	}
	message[n] = '\0';
	strncat(message, strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error", sizeof(message) - n - 1);
	hearth_report(s->plan->status_fd, s->step, err, message);
	if (s->supervisor && s->child > 0) {
		/* A failure in the supervisor must not leave a half-built sandbox behind. */
		kill(s->child, SIGKILL);
		while (waitpid(s->child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	_exit(127);
}

/* Sets the failure message: the strings, concatenated (NULL-terminated list). */
static void detail(struct seq *s, ...)
{
	va_list ap;
	const char *part;
	size_t n = 0;

	va_start(ap, s);
	while ((part = va_arg(ap, const char *)) != NULL)
		while (*part && n < sizeof(s->detail) - 1)
			s->detail[n++] = *part++;
	va_end(ap);
	s->detail[n] = '\0';
}

static long long now_ns(const struct seq *s)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - s->t0.tv_sec) * 1000000000LL + (t.tv_nsec - s->t0.tv_nsec);
}

static void record(struct seq *s)
{
	if (s->n_timings < MAX_TIMINGS) {
		s->timings[s->n_timings].name = s->step;
		s->timings[s->n_timings].ns = now_ns(s);
		s->n_timings++;
	}
}

static void write_timings(struct seq *s)
{
	struct jbuf j = { .n = 0 };
	size_t i;

	if (s->plan->timings_fd < 0)
		return;
	j_raw(&j, "{\"steps\":[");
	for (i = 0; i < s->n_timings; i++) {
		j_raw(&j, i ? ",[" : "[");
		j_str(&j, s->timings[i].name);
		j_raw(&j, ",");
		j_num(&j, s->timings[i].ns);
		j_raw(&j, "]");
	}
	j_raw(&j, "]}\n");
	(void)write_all(s->plan->timings_fd, j.b, j.n);
}

/* ---- small helpers (each returns -1 with errno set) ------------------------- */

static int in_root(struct seq *s, char *out, const char *target)
{
	size_t r = strlen(s->plan->rootfs), t = strlen(target);

	if (r + t + 1 > PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, s->plan->rootfs, r);
	memcpy(out + r, target, t + 1);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

static int mkdir_parent(const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	slash = strrchr(buf, '/');
	if (slash == NULL || slash == buf)
		return 0;
	*slash = '\0';
	return mkdir_p(buf, 0755);
}

static int touch(const char *path, mode_t mode)
{
	int fd;

	if (mkdir_parent(path) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* Creates a mount point in the new root shaped like the source (directory or file). */
static int mount_point_for(const char *source, const char *dest)
{
	struct stat st;

	if (stat(source, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return mkdir_p(dest, 0755);
	return touch(dest, 0644);
}

/* Bind-mounts source on dest (a path in the new root) and applies flags. */
static int bind_into_root(struct seq *s, const char *source, const char *target, unsigned long flags)
{
	char dest[PATH_MAX];

	detail(s, "bind ", source, " on ", target, NULL);
	if (in_root(s, dest, target) < 0 || mount_point_for(source, dest) < 0)
		return -1;
	if (mount(source, dest, NULL, MS_BIND, NULL) < 0)
		return -1;
	/* A bind mount ignores flags on creation; they take effect on the remount. */
	return mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | flags, NULL);
}

static int send_byte(int fd, char c)
{
	ssize_t n;

	do
		n = send(fd, &c, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* 1 and the byte, 0 on EOF (the other side exited), -1 on error. */
static int recv_byte(int fd, char *c)
{
	ssize_t n;

	do
		n = recv(fd, c, 1, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (int)n;
}

static int expect_from_supervisor(struct seq *s, char want)
{
	char c;
	int r = recv_byte(s->sync_fd, &c);

	if (r < 0)
		return -1;
	if (r == 0) {
		detail(s, "the supervisor exited", NULL);
		errno = ESRCH;
		return -1;
	}
	if (c != want) {
		detail(s, "unexpected message from the supervisor", NULL);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int is_sequence_fd(const struct seq *s, int fd)
{
	const struct hearth_plan *p = s->plan;
	size_t i;

	if (fd == p->status_fd || fd == p->timings_fd || fd == s->sync_fd || fd == s->peer_fd ||
	    fd == s->placeholder_fd || fd == s->cgroup2_dir_fd)
		return 1;
	for (i = 0; i < p->n_cgroup_procs; i++)
		if (fd == s->cgroup_fds[i])
			return 1;
	for (i = 0; i < s->n_keep; i++)
		if (fd == s->keep[i])
			return 1;
	return 0;
}

static int close_quietly(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return 0;
}

/* ---- steps in the caller (root, host namespaces) ----------------------------- */

static int set_pdeathsig(struct seq *s)
{
	s->ppid = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -1;
	/* The parent may have died before the prctl: then we were already reparented. */
	if (getppid() != s->ppid) {
		detail(s, "the parent exited before PR_SET_PDEATHSIG", NULL);
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* The status and timings fds close at exec: EOF without a line means the exec happened. */
static int status_cloexec(struct seq *s)
{
	if (fcntl(s->plan->status_fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return s->plan->timings_fd >= 0 ? fcntl(s->plan->timings_fd, F_SETFD, FD_CLOEXEC) : 0;
}

/*
 * A kept fd that is not open is not kept: its number is free, and the sequence's
 * own fds (the sync socket) may take it. Only the open ones count from here on.
 */
static int check_kept_fds(struct seq *s)
{
	size_t i;

	for (i = 0; i < s->plan->n_keep_fds; i++) {
		int fd = s->plan->keep_fds[i];
		if (fcntl(fd, F_GETFD) >= 0) {
			s->keep[s->n_keep++] = fd;
			continue;
		}
		if (errno != EBADF)
			return -1;
		if (fd <= STDERR_FILENO) {
			/* A missing 0/1/2 would be taken by the next open(): refuse rather than guess. */
			detail(s, "stdin, stdout or stderr is closed", NULL);
			return -1;
		}
	}
	return 0;
}

/* Before the user namespace exists: joining a netns owned by the host needs host root. */
static int join_netns(struct seq *s)
{
	int fd;

	if (s->plan->netns == NULL)
		return 0;
	detail(s, "setns ", s->plan->netns, NULL);
	fd = open(s->plan->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (setns(fd, CLONE_NEWNET) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* Opened now, as host root; the supervisor writes the child's pid into them after the fork. */
static int open_cgroups(struct seq *s)
{
	const struct hearth_plan *p = s->plan;
	struct statfs sf;
	size_t i;

	for (i = 0; i < p->n_cgroup_procs; i++) {
		detail(s, "open ", p->cgroup_procs[i], NULL);
		s->cgroup_fds[i] = open(p->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
		if (s->cgroup_fds[i] < 0 || fstatfs(s->cgroup_fds[i], &sf) < 0)
			return -1;
		s->cgroup_v2[i] = sf.f_type == CGROUP2_SUPER_MAGIC;
	}
	if (p->cgroup2_dir != NULL) {
		detail(s, "open ", p->cgroup2_dir, NULL);
		s->cgroup2_dir_fd = open(p->cgroup2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->cgroup2_dir_fd < 0 || fstatfs(s->cgroup2_dir_fd, &sf) < 0)
			return -1;
		if (sf.f_type != CGROUP2_SUPER_MAGIC) {
			detail(s, p->cgroup2_dir, " is not on a cgroup2 file system", NULL);
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

static int sync_channel(struct seq *s)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	s->sync_fd = sv[0];
	s->peer_fd = sv[1];
	return 0;
}

/*
 * Every inherited fd that the plan does not keep is released now, before the
 * fork, because after it a Node child recreates its event loop's fds and no
 * longer knows which numbers are whose. The fds are not closed but replaced
 * by one memfd: the numbers stay taken, so libuv's fork handlers (which close
 * the old loop fds by number) cannot close a reused number; the child closes
 * the placeholders in its close-fds step.
 */
static int replace_inherited_fds(struct seq *s)
{
	char buf[4096] __attribute__((aligned(8)));
	struct stat st;
	int dir;

	s->placeholder_fd = memfd_create("hearth-closed-fd", MFD_CLOEXEC);
	if (s->placeholder_fd < 0 || fstat(s->placeholder_fd, &st) < 0)
		return -1;
	s->placeholder_dev = st.st_dev;
	s->placeholder_ino = st.st_ino;

	detail(s, "/proc/self/fd", NULL);
	dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	for (;;) {
		ssize_t n = getdents64(dir, buf, sizeof(buf)), off = 0;
		if (n < 0) {
			int err = errno;
			close(dir);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		while (off < n) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			char *end;
			long fd = strtol(d->d_name, &end, 10);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9' || *end != '\0')
				continue;
			if (fd == dir || is_sequence_fd(s, (int)fd))
				continue;
			if (dup2(s->placeholder_fd, (int)fd) < 0) {
				int err = errno;
				close(dir);
				errno = err;
				return -1;
			}
			if (fd > s->max_replaced_fd)
				s->max_replaced_fd = (int)fd;
		}
	}
	return close(dir);
}

static int fork_child(struct seq *s)
{
	int joined = 0;
	pid_t pid = s->hooks->spawn(s->hooks->ctx, s->cgroup2_dir_fd, &joined);

	if (pid < 0)
		return -1;
	if (pid > 0) {
		s->child = pid;
		s->joined_cgroup2 = joined;
		close_quietly(&s->peer_fd);
		supervise(s);
	}
	close_quietly(&s->sync_fd);
	s->sync_fd = s->peer_fd;
	s->peer_fd = -1;
	return 0;
}

/* ---- steps in the child (pid 1 of the new pid namespace, still host root) ---- */

static int wait_cgroups(struct seq *s)
{
	size_t i;

	for (i = 0; i < s->plan->n_cgroup_procs; i++)
		close_quietly(&s->cgroup_fds[i]);
	close_quietly(&s->cgroup2_dir_fd);
	return expect_from_supervisor(s, 'C');
}

static int unshare_namespaces(struct seq *s)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

	if (s->plan->netns == NULL)
		flags |= CLONE_NEWNET;
	return unshare(flags);
}

/* A new network namespace has only a loopback device, and it is down. */
static int loopback_up(struct seq *s)
{
	if (s->plan->netns != NULL)
		return 0;
	return hearth_loopback_up();
}

/* lo up in the current network namespace (needs CAP_NET_ADMIN over it). */
int hearth_loopback_up(void)
{
	struct ifreq ifr;
	int fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
			return close(fd);
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int mount_root(struct seq *s)
{
	char options[64];

	snprintf(options, sizeof(options), "mode=0755,size=%llu", s->plan->root_size);
	detail(s, "tmpfs on ", s->plan->rootfs, NULL);
	return mount("tmpfs", s->plan->rootfs, "tmpfs", MS_NOSUID | MS_NODEV, options);
}

static int bind_base(struct seq *s)
{
	size_t i;

	for (i = 0; i < s->plan->n_binds; i++)
		if (bind_into_root(s, s->plan->binds[i].source, s->plan->binds[i].target, MS_RDONLY | MS_NOSUID | MS_NODEV) < 0)
			return -1;
	return 0;
}

static int write_files(struct seq *s)
{
	char dest[PATH_MAX];
	size_t i;

	for (i = 0; i < s->plan->n_files; i++) {
		const struct hearth_file *f = &s->plan->files[i];
		int fd;

		detail(s, "write ", f->path, NULL);
		if (in_root(s, dest, f->path) < 0 || mkdir_parent(dest) < 0)
			return -1;
		fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		if (write_all(fd, f->content, strlen(f->content)) < 0) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (close(fd) < 0)
			return -1;
	}
	return 0;
}

static int bind_code(struct seq *s)
{
	return bind_into_root(s, s->plan->code.source, s->plan->code.target, MS_RDONLY | MS_NOSUID | MS_NODEV);
}

static int bind_runtime(struct seq *s)
{
	if (s->plan->runtime.source == NULL)
		return 0;
	return bind_into_root(s, s->plan->runtime.source, s->plan->runtime.target, MS_RDONLY | MS_NOSUID | MS_NODEV);
}

static int mount_tmp(struct seq *s)
{
	char dest[PATH_MAX], options[64];

	if (s->plan->tmp_dir != NULL)
		return bind_into_root(s, s->plan->tmp_dir, "/tmp", MS_NOSUID | MS_NODEV);
	detail(s, "tmpfs on /tmp", NULL);
	snprintf(options, sizeof(options), "mode=1777,size=%llu", s->plan->tmp_size);
	if (in_root(s, dest, "/tmp") < 0 || mkdir_p(dest, 0755) < 0)
		return -1;
	return mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV, options);
}

/* Needs the new pid namespace: procfs shows the pid namespace of the process that mounts it. */
static int mount_proc(struct seq *s)
{
	char dest[PATH_MAX];

	detail(s, "proc on /proc", NULL);
	if (in_root(s, dest, "/proc") < 0 || mkdir_p(dest, 0555) < 0)
		return -1;
	return mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/*
 * Hides `path` (an empty read-only tmpfs over a directory, /dev/null over a file),
 * or with read_only makes it read-only. Paths that do not exist on this kernel are
 * skipped, as runc does. Also used by instance.c for an instance's own /proc.
 */
int hearth_mask_path(const char *path, int read_only)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (read_only)
		return mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		       mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? -1 : 0;
	if (S_ISDIR(st.st_mode))
		return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555");
	/* Not nodev: reading the masked file must open /dev/null and read nothing. */
	return mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 ||
	       mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0 ? -1 : 0;
}

static int mask_paths(struct seq *s)
{
	char dest[PATH_MAX];
	size_t i;

	for (i = 0; i < s->plan->n_masked; i++) {
		detail(s, "mask ", s->plan->masked[i], NULL);
		if (in_root(s, dest, s->plan->masked[i]) < 0 || hearth_mask_path(dest, 0) < 0)
			return -1;
	}
	for (i = 0; i < s->plan->n_readonly; i++) {
		detail(s, "read-only ", s->plan->readonly[i], NULL);
		if (in_root(s, dest, s->plan->readonly[i]) < 0 || hearth_mask_path(dest, 1) < 0)
			return -1;
	}
	return 0;
}

/*
 * Template mode: a second, pid-only procfs at /.hearth/proc. Linux lets a process
 * in a user namespace mount a procfs only where one is already fully visible (no
 * mount over anything in it), which the masked /proc is not; this one is, and
 * carries no kernel files to mask. It lets each instance mount its own /proc
 * (instance.c), which then hides it.
 */
static int mount_visible_proc(struct seq *s)
{
	char dest[PATH_MAX];

	if (!s->plan->template_caps)
		return 0;
	detail(s, "proc (subset=pid) on /.hearth/proc", NULL);
	if (in_root(s, dest, HEARTH_VISIBLE_PROC) < 0 || mkdir_p(dest, 0555) < 0)
		return -1;
	return mount("proc", dest, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid");
}

/* tmpfs /dev with only the listed host devices bind-mounted, /dev/shm and the fd links. */
static int mount_dev(struct seq *s)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
	};
	char dev[PATH_MAX], dest[PATH_MAX], source[PATH_MAX], options[64];
	size_t i;

	detail(s, "tmpfs on /dev", NULL);
	if (in_root(s, dev, "/dev") < 0 || mkdir_p(dev, 0755) < 0)
		return -1;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return -1;
	for (i = 0; i < s->plan->n_devices; i++) {
		/* The same path on the host (source) and in the new root (target). */
		if (snprintf(source, sizeof(source), "/dev/%s", s->plan->devices[i]) >= (int)sizeof(source)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		detail(s, "bind ", source, NULL);
		if (in_root(s, dest, source) < 0 || touch(dest, 0666) < 0 || mount(source, dest, NULL, MS_BIND, NULL) < 0 ||
		    mount(NULL, dest, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL) < 0)
			return -1;
	}
	detail(s, "tmpfs on /dev/shm", NULL);
	snprintf(options, sizeof(options), "mode=1777,size=%llu", s->plan->dev_shm_size);
	if (in_root(s, dest, "/dev/shm") < 0 || mkdir(dest, 0755) < 0 || mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) < 0)
		return -1;
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		detail(s, "symlink ", links[i][1], NULL);
		if (in_root(s, dest, links[i][1]) < 0 || symlink(links[i][0], dest) < 0)
			return -1;
	}
	detail(s, "remount /dev read-only", NULL);
	return mount(NULL, dev, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL);
}

/* Last in the tree: nothing above resolves a path through a link while the host is still /. */
static int make_symlinks(struct seq *s)
{
	char dest[PATH_MAX];
	size_t i;

	for (i = 0; i < s->plan->n_links; i++) {
		detail(s, "symlink ", s->plan->links[i].path, " -> ", s->plan->links[i].target, NULL);
		if (in_root(s, dest, s->plan->links[i].path) < 0 || mkdir_parent(dest) < 0 ||
		    symlink(s->plan->links[i].target, dest) < 0)
			return -1;
	}
	return 0;
}

/* pivot_root(".", "."): the old root ends up stacked on the new one, no put_old dir needed. */
static int pivot(struct seq *s)
{
	detail(s, s->plan->rootfs, NULL);
	if (chdir(s->plan->rootfs) < 0)
		return -1;
	return (int)syscall(SYS_pivot_root, ".", ".");
}

static int detach_old_root(struct seq *s)
{
	(void)s;
	if (umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

static int remount_root_ro(struct seq *s)
{
	(void)s;
	return mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static int set_rlimits(struct seq *s)
{
	size_t i;

	for (i = 0; i < s->plan->n_rlimits; i++) {
		struct rlimit rl = { s->plan->rlimits[i].soft, s->plan->rlimits[i].hard };
		if (setrlimit(s->plan->rlimits[i].resource, &rl) < 0)
			return -1;
	}
	return 0;
}

/* The supervisor (outside, host root) writes the maps: only it may map a whole range. */
static int enter_userns(struct seq *s)
{
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	if (send_byte(s->sync_fd, 'U') < 0)
		return -1;
	return expect_from_supervisor(s, 'M');
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int close_fds(struct seq *s)
{
	const struct hearth_plan *p = s->plan;
	int keep[HEARTH_MAX_FDS + 3], fd, lo = 0;
	size_t n = 0, i;
	struct stat st;

	for (fd = 0; fd <= s->max_replaced_fd; fd++)
		if (fd != s->placeholder_fd && fstat(fd, &st) == 0 && st.st_dev == s->placeholder_dev &&
		    st.st_ino == s->placeholder_ino && close(fd) < 0)
			return -1;
	close_quietly(&s->placeholder_fd);
	/*
	 * Before exec, nothing but the kept fds (and the CLOEXEC status/timings/sync
	 * fds) may remain. A Node child that returns to JavaScript keeps the fds its
	 * event loop created after the fork, so there only the placeholders go.
	 */
	if (p->argv == NULL)
		return 0;
	for (i = 0; i < s->n_keep; i++)
		keep[n++] = s->keep[i];
	keep[n++] = p->status_fd;
	keep[n++] = s->sync_fd;
	if (p->timings_fd >= 0)
		keep[n++] = p->timings_fd;
	qsort(keep, n, sizeof(keep[0]), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] > lo && syscall(SYS_close_range, lo, keep[i] - 1, 0) < 0)
			return -1;
		lo = keep[i] + 1;
	}
	return (int)syscall(SYS_close_range, lo, ~0U, 0);
}

/* Bounding, ambient and inheritable sets now; permitted/effective after the uid switch needs them. */
static int drop_bounding_caps(struct seq *s)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (s->plan->template_caps && (HEARTH_TEMPLATE_CAPS >> cap) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return -1;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -1;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	data[0].inheritable = data[1].inheritable = 0;
	return (int)syscall(SYS_capset, &hdr, data);
}

static int clear_caps(struct seq *s)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	const unsigned long long keep = s->plan->template_caps ? HEARTH_TEMPLATE_CAPS : 0;
	unsigned long long have;

	/* A template keeps them permitted, not effective: an instance raises them for its own setup. */
	memset(data, 0, sizeof(data));
	data[0].permitted = (uint32_t)keep;
	data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	if (s->plan->template_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -1;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	have = data[0].effective | data[0].permitted | ((unsigned long long)(data[1].effective | data[1].permitted) << 32);
	if (have != keep || data[0].inheritable || data[1].inheritable ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != (s->plan->template_caps ? 1 : 0)) {
		detail(s, "capabilities other than the plan's remain after capset", NULL);
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* A uid change clears PR_SET_PDEATHSIG; set it again and check that the supervisor is alive. */
static int rearm_pdeathsig(struct seq *s)
{
	char c;
	ssize_t n;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -1;
	n = recv(s->sync_fd, &c, 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		return -1;
	detail(s, "the supervisor exited", NULL);
	errno = ESRCH;
	return -1;
}

static int change_dir(struct seq *s)
{
	detail(s, s->plan->cwd, NULL);
	return chdir(s->plan->cwd);
}

static int install_seccomp(struct seq *s)
{
	return hearth_seccomp_install(s->plan->seccomp, s->plan->n_seccomp);
}

static int exec_command(struct seq *s)
{
	extern char **environ;

	write_timings(s);
	detail(s, "execve ", s->plan->argv[0], NULL);
	return execve(s->plan->argv[0], s->plan->argv, environ);
}

/* The addon's way out: the sandbox is complete, the caller's JavaScript goes on. */
static int handoff(struct seq *s)
{
	write_timings(s);
	close_quietly(&s->sync_fd);
	if (s->plan->timings_fd >= 0)
		close(s->plan->timings_fd);
	return close(s->plan->status_fd);
}

/* ---- the sequence ----------------------------------------------------------- */

int hearth_enter_sandbox(const struct hearth_plan *plan, const struct hearth_enter_hooks *hooks)
{
	struct seq seq = { .plan = plan, .hooks = hooks, .sync_fd = -1, .peer_fd = -1, .placeholder_fd = -1, .cgroup2_dir_fd = -1 };
	struct seq *s = &seq;
	size_t i;

	for (i = 0; i < HEARTH_MAX_CGROUPS; i++)
		s->cgroup_fds[i] = -1;
	clock_gettime(CLOCK_MONOTONIC, &s->t0);

	/* In the caller: root in the host's namespaces. */
	STEP(s, "pdeathsig", set_pdeathsig(s));
	STEP(s, "status-cloexec", status_cloexec(s));
	STEP(s, "check-kept-fds", check_kept_fds(s));
	STEP(s, "join-netns", join_netns(s));
	STEP(s, "open-cgroups", open_cgroups(s));
	STEP(s, "sync-channel", sync_channel(s));
	STEP(s, "close-inherited-fds", replace_inherited_fds(s));
	STEP(s, "unshare-pid", unshare(CLONE_NEWPID));
	STEP(s, "fork", fork_child(s)); /* the parent continues in supervise() */

	/* In the child: pid 1 of the new pid namespace, host root until "userns". */
	STEP(s, "child-pdeathsig", prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0));
	STEP(s, "wait-cgroups", wait_cgroups(s)); /* charged to the instance's cgroups from here on */
	STEP(s, "unshare-namespaces", unshare_namespaces(s));
	STEP(s, "unshare-cgroupns", unshare(CLONE_NEWCGROUP)); /* after the join: our cgroup becomes "/" */
	STEP(s, "hostname", sethostname(plan->hostname, strlen(plan->hostname)));
	STEP(s, "loopback-up", loopback_up(s));
	STEP(s, "mount-private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)); /* nothing propagates to the host */
	STEP(s, "mount-root", mount_root(s));
	STEP(s, "bind-base", bind_base(s));
	STEP(s, "write-files", write_files(s));
	STEP(s, "bind-code", bind_code(s));
	STEP(s, "bind-runtime", bind_runtime(s));
	STEP(s, "mount-tmp", mount_tmp(s));
	STEP(s, "mount-proc", mount_proc(s));
	STEP(s, "mask-paths", mask_paths(s)); /* after /proc exists, before /dev/null is gone */
	STEP(s, "mount-visible-proc", mount_visible_proc(s));
	STEP(s, "mount-dev", mount_dev(s));
	STEP(s, "symlinks", make_symlinks(s));
	STEP(s, "pivot-root", pivot(s));
	STEP(s, "detach-old-root", detach_old_root(s));
	STEP(s, "remount-root-ro", remount_root_ro(s));
	STEP(s, "rlimits", set_rlimits(s)); /* as host root: may raise hard limits */
	STEP(s, "userns", enter_userns(s)); /* from here on: no capability outside the new user ns */
	STEP(s, "close-fds", close_fds(s));
	STEP(s, "no-new-privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	STEP(s, "drop-bounding-caps", drop_bounding_caps(s));
	STEP(s, "setgroups", (int)syscall(SYS_setgroups, 0, NULL));
	STEP(s, "setresgid", (int)syscall(SYS_setresgid, plan->gid, plan->gid, plan->gid));
	if (plan->template_caps) /* the uid change below would clear the permitted set */
		STEP(s, "keep-caps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	STEP(s, "setresuid", (int)syscall(SYS_setresuid, plan->uid, plan->uid, plan->uid));
	STEP(s, "clear-caps", clear_caps(s)); /* after set*id, which needs CAP_SETUID/CAP_SETGID */
	STEP(s, "rearm-pdeathsig", rearm_pdeathsig(s));
	STEP(s, "chdir", change_dir(s)); /* as the final uid: a cwd it may not enter fails here */
	STEP(s, "seccomp", install_seccomp(s)); /* last: the steps above use mount, unshare, ... */
	if (plan->argv != NULL)
		STEP(s, "exec", exec_command(s));
	STEP(s, "handoff", handoff(s));
	return 0;
}

/* ---- the supervisor (the caller after the fork; host root, host namespaces) -- */

static int join_cgroups(struct seq *s)
{
	char pid[24];
	size_t i;
	int len = snprintf(pid, sizeof(pid), "%d", s->child);

	for (i = 0; i < s->plan->n_cgroup_procs; i++) {
		if (s->cgroup_v2[i] && s->joined_cgroup2)
			continue; /* clone3(CLONE_INTO_CGROUP) put the child there atomically */
		detail(s, "write ", pid, " to ", s->plan->cgroup_procs[i], NULL);
		if (write(s->cgroup_fds[i], pid, (size_t)len) != len)
			return -1;
		close_quietly(&s->cgroup_fds[i]);
	}
	return close_quietly(&s->cgroup2_dir_fd);
}

static int announce_child(struct seq *s)
{
	struct jbuf j = { .n = 0 };

	j_raw(&j, "{\"pid\":");
	j_num(&j, s->child);
	j_raw(&j, "}\n");
	return write_all(s->plan->status_fd, j.b, j.n);
}

/* 1: the child asked for its maps; 0: it exited first (it reported its own failure). */
static int wait_userns(struct seq *s, int *asked)
{
	char c;
	int r = recv_byte(s->sync_fd, &c);

	if (r < 0)
		return -1;
	*asked = r == 1;
	if (r == 1 && c != 'U') {
		detail(s, "unexpected message from the child", NULL);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int write_map(struct seq *s, const char *file, unsigned long base)
{
	char path[64], map[96];
	int fd, len;

	snprintf(path, sizeof(path), "/proc/%d/%s", s->child, file);
	len = snprintf(map, sizeof(map), "0 %lu %lu\n", base, s->plan->id_count);
	detail(s, "write ", path, NULL);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, map, (size_t)len) != len) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT };

/* Closes what the supervisor no longer needs and blocks the signals it forwards. */
static int prepare_supervision(struct seq *s)
{
	struct sigaction dfl;
	sigset_t set;
	size_t i;

	for (i = 0; i < s->n_keep; i++)
		if (s->keep[i] > STDERR_FILENO)
			close(s->keep[i]);
	close_quietly(&s->placeholder_fd);
	if (s->plan->timings_fd >= 0)
		close(s->plan->timings_fd);
	if (close(s->plan->status_fd) < 0)
		return -1;

	/* SIG_IGN on SIGCHLD would reap the child behind our back (a forked Node may have handlers). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (sigaction(SIGCHLD, &dfl, NULL) < 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* 1 when the child catches or ignores sig (then forwarding it is what it expects). */
static int child_handles(struct seq *s, int sig)
{
	char path[64], buf[2048];
	unsigned long long caught = 0, ignored = 0;
	const char *line;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", s->child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	if ((line = strstr(buf, "SigIgn:")) != NULL)
		ignored = strtoull(line + 7, NULL, 16);
	if ((line = strstr(buf, "SigCgt:")) != NULL)
		caught = strtoull(line + 7, NULL, 16);
	return ((caught | ignored) >> (sig - 1)) & 1;
}

static int terminates_by_default(int sig)
{
	return sig != SIGWINCH && sig != SIGCONT && sig != SIGCHLD;
}

static void exit_like_child(int status, int forwarded_sig)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl;
	sigset_t set;
	int sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	/* The child (pid 1 of its namespace) cannot die of an unhandled SIGTERM; we killed it for it. */
	if (sig == SIGKILL && forwarded_sig != 0)
		sig = forwarded_sig;
	setrlimit(RLIMIT_CORE, &no_core);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

static void supervise(struct seq *s)
{
	int asked = 0, status = 0, forwarded_sig = 0;
	sigset_t set;

	s->supervisor = 1;
	STEP(s, "join-cgroups", join_cgroups(s));
	STEP(s, "announce-child", announce_child(s));
	STEP(s, "release-child", send_byte(s->sync_fd, 'C'));
	STEP(s, "wait-userns", wait_userns(s, &asked));
	if (asked) {
		STEP(s, "uid-map", write_map(s, "uid_map", s->plan->uid_base));
		STEP(s, "gid-map", write_map(s, "gid_map", s->plan->gid_base));
		STEP(s, "release-userns", send_byte(s->sync_fd, 'M'));
	}
	STEP(s, "supervise", prepare_supervision(s));

	/* The sync fd stays open: the child checks it to know that we are alive. */
	for (;;) {
		siginfo_t info;
		pid_t r = waitpid(s->child, &status, WNOHANG);
		int sig;

		if (r == s->child)
			exit_like_child(status, forwarded_sig);
		if (r < 0 && errno != EINTR)
			_exit(127);
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			sigaddset(&set, forwarded[i]);
		sig = sigwaitinfo(&set, &info);
		if (sig <= 0 || sig == SIGCHLD)
			continue;
		if (child_handles(s, sig) || !terminates_by_default(sig)) {
			kill(s->child, sig);
		} else {
			forwarded_sig = sig;
			kill(s->child, SIGKILL);
		}
	}
}
