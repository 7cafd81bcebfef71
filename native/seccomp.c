/*
 * The seccomp filter: a deny list (src/sandbox/seccomp-profile.json, passed in
 * the plan as "--seccomp NAME:ERRNO[:ARG:MASK]" or "--seccomp NAME:kill")
 * compiled to classic BPF. Everything not denied is allowed: the runtimes
 * (Node.js, CPython and the native modules functions bring) need a wide,
 * changing set of syscalls, while the dangerous ones are few and well known.
 *
 * Program layout:
 *   arch != this build's AUDIT_ARCH  -> KILL_PROCESS (no syscall-number confusion)
 *   x86_64: nr has __X32_SYSCALL_BIT -> KILL_PROCESS (x32 ABI numbers bypass the list)
 *   for each rule: nr == rule.nr [&& args[arg] & mask] -> ERRNO(rule.err) or KILL_PROCESS
 *   ALLOW
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "enter.h"

#if defined(__x86_64__)
#define HEARTH_AUDIT_ARCH AUDIT_ARCH_X86_64
#define HEARTH_X32_BIT 0x40000000U
#elif defined(__aarch64__)
#define HEARTH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "hearth's seccomp filter knows x86_64 and aarch64"
#endif

/* Syscalls a profile may name. Unknown names are an error, never ignored. */
#define SC(name) { #name, __NR_##name }
#define ABSENT(name) { #name, -2 } /* known, but not on this architecture: skipped */
static const struct {
	const char *name;
	int nr;
} syscalls[] = {
	SC(acct), SC(add_key), SC(bpf), SC(chroot), SC(clock_adjtime), SC(clock_settime),
	SC(clone), SC(clone3), SC(delete_module), SC(fanotify_init), SC(finit_module),
	SC(fsconfig), SC(fsmount), SC(fsopen), SC(fspick), SC(init_module),
	SC(io_uring_enter), SC(io_uring_register), SC(io_uring_setup), SC(kcmp),
	SC(kexec_file_load), SC(kexec_load), SC(keyctl), SC(lookup_dcookie),
	SC(mount), SC(mount_setattr), SC(move_mount), SC(name_to_handle_at),
	SC(nfsservctl), SC(open_by_handle_at), SC(open_tree), SC(perf_event_open),
	SC(personality), SC(pivot_root), SC(process_madvise), SC(process_vm_readv),
	SC(process_vm_writev), SC(ptrace), SC(quotactl), SC(quotactl_fd), SC(reboot),
	SC(request_key), SC(setdomainname), SC(sethostname), SC(setns), SC(settimeofday),
	SC(adjtimex), SC(swapoff), SC(swapon), SC(syslog), SC(umount2), SC(unshare),
	SC(userfaultfd), SC(vhangup), SC(pidfd_getfd), SC(landlock_create_ruleset),
#ifdef __NR_iopl
	SC(iopl),
#else
	ABSENT(iopl),
#endif
#ifdef __NR_ioperm
	SC(ioperm),
#else
	ABSENT(ioperm),
#endif
#ifdef __NR_uselib
	SC(uselib),
#else
	ABSENT(uselib),
#endif
#ifdef __NR_create_module
	SC(create_module),
#else
	ABSENT(create_module),
#endif
#ifdef __NR_get_kernel_syms
	SC(get_kernel_syms),
#else
	ABSENT(get_kernel_syms),
#endif
#ifdef __NR_query_module
	SC(query_module),
#else
	ABSENT(query_module),
#endif
#ifdef __NR__sysctl
	SC(_sysctl),
#else
	ABSENT(_sysctl),
#endif
#ifdef __NR_ustat
	SC(ustat),
#else
	ABSENT(ustat),
#endif
#ifdef __NR_sysfs
	SC(sysfs),
#else
	ABSENT(sysfs),
#endif
};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM }, { "ENOSYS", ENOSYS }, { "EACCES", EACCES }, { "EINVAL", EINVAL },
};

static int fail(char *err, size_t errlen, const char *what, const char *value)
{
	snprintf(err, errlen, "--seccomp: %s: %s", what, value);
	errno = EINVAL;
	return -1;
}

/* "name:ERRNO", "name:ERRNO:ARG:MASK" or "name:kill" (MASK in any strtoul base). */
int hearth_seccomp_parse_rule(struct hearth_seccomp_rule *rule, char *spec, char *err, size_t errlen)
{
	char *fields[4] = { NULL, NULL, NULL, NULL };
	size_t i, n = 0;
	char *p = spec;

	while (n < 4) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL || (n != 2 && n != 4))
		return fail(err, errlen, "expected NAME:ERRNO[:ARG:MASK] or NAME:kill", spec);

	memset(rule, 0, sizeof(*rule));
	rule->name = fields[0];
	rule->nr = -1;
	rule->arg = -1;
	for (i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (strcmp(syscalls[i].name, fields[0]) == 0)
			rule->nr = syscalls[i].nr;
	if (rule->nr == -1)
		return fail(err, errlen, "syscall not known to hearth's filter", fields[0]);

	if (strcmp(fields[1], "kill") == 0) {
		rule->kill = 1;
	} else {
		rule->err = -1;
		for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
			if (strcmp(errnos[i].name, fields[1]) == 0)
				rule->err = errnos[i].err;
		if (rule->err < 0)
			return fail(err, errlen, "unsupported errno", fields[1]);
	}

	if (n == 4) {
		char *end;
		unsigned long arg = strtoul(fields[2], &end, 10), mask;
		if (*fields[2] == '\0' || *end != '\0' || arg > 5)
			return fail(err, errlen, "argument index must be 0..5", fields[2]);
		errno = 0;
		mask = strtoul(fields[3], &end, 0);
		if (*fields[3] == '\0' || *end != '\0' || errno != 0 || mask == 0 || mask > 0xffffffffUL)
			return fail(err, errlen, "mask must be a non-zero 32-bit number", fields[3]);
		rule->arg = (int)arg;
		rule->mask = (uint32_t)mask;
	}
	return 0;
}

/* Low 32 bits of syscall argument i (little-endian: the low word comes first). */
#define ARG_LO(i) ((uint32_t)offsetof(struct seccomp_data, args[(i)]))

int hearth_seccomp_install(const struct hearth_seccomp_rule *rules, size_t n)
{
	/* 5 header + at most 5 per rule + 1 trailer; no allocation. */
	struct sock_filter filter[8 + 5 * HEARTH_MAX_SECCOMP];
	struct sock_fprog prog;
	size_t len = 0, i;

	if (n > HEARTH_MAX_SECCOMP) {
		errno = E2BIG;
		return -1;
	}
#define EMIT(...) (filter[len++] = (struct sock_filter)__VA_ARGS__)
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HEARTH_AUDIT_ARCH, 1, 0));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef HEARTH_X32_BIT
	EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, HEARTH_X32_BIT, 0, 1));
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (i = 0; i < n; i++) {
		const struct hearth_seccomp_rule *r = &rules[i];
		if (r->nr < 0)
			continue; /* not a syscall on this architecture */
		uint32_t action = r->kill ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | ((uint32_t)r->err & SECCOMP_RET_DATA);

		if (r->arg < 0) {
			EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1));
			EMIT(BPF_STMT(BPF_RET | BPF_K, action));
		} else {
			/* nr matches: test the argument, then decide; the syscall has no other rule. */
			EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4));
			EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg)));
			EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, r->mask, 0, 1));
			EMIT(BPF_STMT(BPF_RET | BPF_K, action));
			EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		}
	}
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef EMIT

	prog.len = (unsigned short)len;
	prog.filter = filter;
	/* Raw syscall: glibc has no wrapper for seccomp(2) on older versions. No TSYNC:
	 * the caller is single-threaded and threads created later inherit the filter. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
