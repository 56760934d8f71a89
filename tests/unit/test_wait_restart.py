"""wait4 sleeps without a context of its own (wait.wait_restartable): the call runs again
from its start when a child's exit wakes it; epoll_wait too (wait.wait_tail), where the
scan is what runs again. Its results are the contract tests'
(wait_sleeps_again, sa_restart, blocking_eintr, blocking_stop_cont, clone_fixes); here, that
the mechanism is the one used."""

from __future__ import annotations

from typing import Any

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


Sleeps = list[tuple[str, Any]]


def _run_noting_sleeps(build_source, name: str, source: str) -> tuple[Any, bytes, Sleeps]:
    """Run a program on Unicorn: the kernel, what it printed, and at each sleep the kind of
    the task's context (TaskContext or RestartSleep) and what it held."""
    binary = build_source(name, source)
    out = bytearray()
    config = Config(argv=[f"/{name}"], platform="unicorn", seed=1,
                    add_files=[(str(binary), f"/{name}")])  # fmt: skip
    kernel = api.boot(config, Console(lambda n: b"", out.extend, out.extend))
    assert api.start(kernel, config) is None
    contexts = []
    sleep = type(kernel.sched).sleep

    def noting(sched, task, deadline):
        ctx = task.context
        contexts.append((type(ctx).__name__, getattr(ctx, "hold", None)))
        return sleep(sched, task, deadline)

    kernel.sched.sleep = noting.__get__(kernel.sched)
    assert kernel.run() == 0
    assert not kernel.oopses
    return kernel, bytes(out), contexts


def test_wait4_sleeps_without_a_context(build_source) -> None:
    kernel, out, contexts = _run_noting_sleeps(build_source, "fork_wait", FORK_WAIT_C)
    assert out == b"1 7\n1 8\n1 9\n"
    assert [kind for kind, _ in contexts] == ["RestartSleep"] * 3  # wait4's sleeps
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
    kernel, out, contexts = _run_noting_sleeps(build_source, "epoll_wait_tail", EPOLL_WAIT_C)
    assert out == b"0\n1 5\n1 5\n"
    assert [kind for kind, _ in contexts] == ["RestartSleep"] * 3
    held = {id(hold): hold for _, hold in contexts}
    assert len(held) == 1  # the one epoll file, held by each sleep...
    (f,) = held.values()
    assert f.refs == 0  # ...and let go: the process has exited, so no other reference
    assert kernel.contexts.made == []
