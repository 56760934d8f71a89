"""wait4 sleeps without a context of its own (wait.wait_restartable): the call runs again
from its start when a child's exit wakes it. Its results are the contract tests'
(wait_sleeps_again, sa_restart, blocking_eintr, blocking_stop_cont, clone_fixes); here, that
the mechanism is the one used."""

from __future__ import annotations

from twaron import api
from twaron.config import Config
from twaron.fs.console import Console

FORK_WAIT_C = r"""
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(7 + i);
        int st = 0;
        pid_t got = waitpid(pid, &st, 0); /* the child has not run yet: this sleeps */
        printf("%d %d\n", got == pid, WEXITSTATUS(st));
    }
    return 0;
}
"""


def test_wait4_sleeps_without_a_context(build_source) -> None:
    binary = build_source("fork_wait", FORK_WAIT_C)
    out = bytearray()
    config = Config(argv=["/fork_wait"], platform="unicorn", seed=1,
                    add_files=[(str(binary), "/fork_wait")])  # fmt: skip
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    slept = []
    wake = type(kernel.sched).sleep

    def sleep(sched, task, deadline):  # the parent's three sleeps in wait4
        slept.append(type(task.context).__name__)
        return wake(sched, task, deadline)

    kernel.sched.sleep = sleep.__get__(kernel.sched)
    assert kernel.run() == 0
    assert not kernel.oopses
    assert out == b"1 7\n1 8\n1 9\n"
    assert slept == ["RestartSleep"] * 3
    assert kernel.contexts.made == []  # no greenlet was ever needed


EPOLL_WAIT_C = r"""
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>
int main(void)
{
    int p[2], ep = epoll_create1(0);
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 5};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    printf("%d\n", epoll_wait(ep, &ev, 1, 20)); /* sleeps until its timeout */
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            write(p[1], "x", 1);
            _exit(0);
        }
        int n = epoll_wait(ep, &ev, 1, -1); /* the child has not run yet: this sleeps */
        char c;
        read(p[0], &c, 1);
        printf("%d %llu\n", n, (unsigned long long)ev.data.u64);
    }
    return 0;
}
"""


def test_epoll_wait_sleeps_without_a_context(build_source) -> None:
    """epoll_wait without a signal mask sleeps as wait.wait_tail does; the epoll file it
    holds while asleep is let go when the call ends (contract: epoll_sleeps_again)."""
    binary = build_source("epoll_wait_tail", EPOLL_WAIT_C)
    out = bytearray()
    config = Config(argv=["/epoll_wait_tail"], platform="unicorn", seed=1,
                    add_files=[(str(binary), "/epoll_wait_tail")])  # fmt: skip
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    slept = []
    wake = type(kernel.sched).sleep

    def sleep(sched, task, deadline):
        ctx = task.context
        slept.append((type(ctx).__name__, getattr(ctx, "hold", None)))
        return wake(sched, task, deadline)

    kernel.sched.sleep = sleep.__get__(kernel.sched)
    assert kernel.run() == 0
    assert not kernel.oopses
    assert out == b"0\n1 5\n1 5\n"
    assert [name for name, _ in slept] == ["RestartSleep"] * 3
    held = {id(f): f for _, f in slept}
    assert len(held) == 1  # the one epoll file, held by each sleep...
    (f,) = held.values()
    assert f.refs == 0  # ...and let go: the process has exited, so no other reference
    assert kernel.contexts.made == []
