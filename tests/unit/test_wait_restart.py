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
