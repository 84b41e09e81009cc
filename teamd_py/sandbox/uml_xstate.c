/*
 * Preloaded into linux.uml on x86-64 hosts whose XSAVE area is larger than the one UML 6.1 keeps.
 *
 * UML saves a guest task's FPU state with PTRACE_GETREGSET(NT_X86_XSTATE) into a fixed buffer
 * (legacy area, header and the AVX upper halves) and restores it with PTRACE_SETREGSET. The host
 * kernel accepts a SETREGSET only with its whole XSAVE size, which AVX-512 and AMX make larger than
 * that buffer; the restore then fails with EFAULT and the guest's init is killed. Here a restore
 * reads the task's whole current state, lays UML's part over the front of it and writes it back at
 * full size, so the components UML does not know about keep their current values.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);

long ptrace(enum __ptrace_request request, ...)
{
	static ptrace_fn real;
	static unsigned char whole_state[65536] __attribute__((aligned(64)));
	va_list ap;

	va_start(ap, request);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE) {
		struct iovec *part = data;
		struct iovec whole = { whole_state, sizeof(whole_state) };

		if (real(PTRACE_GETREGSET, pid, addr, &whole) < 0)
			return -1;
		if (part->iov_len < whole.iov_len) {
			memcpy(whole_state, part->iov_base, part->iov_len);
			return real(PTRACE_SETREGSET, pid, addr, &whole);
		}
	}
	return real(request, pid, addr, data);
}
