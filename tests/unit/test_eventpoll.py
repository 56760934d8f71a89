"""epoll's parts without a guest: exclusive wait entries, items that belong to the open file
description, EPOLLEXCLUSIVE's one wake-up, the ready list's order, and the anonymous files'
timer and counter."""

from __future__ import annotations

import pytest

from twaron.arch.x86_64.constants import (
    CLOCK_MONOTONIC,
    EPOLL_CTL_ADD,
    EPOLL_CTL_DEL,
    EPOLLET,
    EPOLLEXCLUSIVE,
    EPOLLIN,
    O_NONBLOCK,
)
from twaron.arch.x86_64.errno import EAGAIN, ENOENT
from twaron.errors import KernelError
from twaron.fs.anon_inodes import AnonInodeFs
from twaron.fs.eventfd import EventFdFile
from twaron.fs.eventpoll import EPOLL_EVENT, EventPollFile, do_epoll_ctl
from twaron.fs.pipe import make_pipe, new_pipefs
from twaron.fs.timerfd import NSEC, TimerFdFile
from twaron.process.sched import Scheduler
from twaron.wait import EVENT_IN, WaitQueue


def clock() -> int:
    return 0


@pytest.fixture
def anon() -> AnonInodeFs:
    return AnonInodeFs(clock)


def events(ep: EventPollFile, maxevents: int = 8) -> list[tuple[int, int]]:
    out: list[bytes] = []
    ep.send_events(maxevents, lambda i, rec: out.append(rec))
    return [EPOLL_EVENT.unpack(rec) for rec in out]


def test_exclusive_entries_take_turns() -> None:
    q = WaitQueue()
    seen: list[str] = []
    q.add(EVENT_IN, lambda m: seen.append("plain"))
    q.add(EVENT_IN, lambda m: seen.append("busy") or False, exclusive=True)
    q.add(EVENT_IN, lambda m: seen.append("first") or True, exclusive=True)
    q.add(EVENT_IN, lambda m: seen.append("second") or True, exclusive=True)
    q.add(EVENT_IN, lambda m: seen.append("plain after"))
    q.notify(EVENT_IN)
    assert seen == ["plain", "busy", "first", "plain after"]


def test_head_entries_run_first() -> None:
    q = WaitQueue()
    seen: list[str] = []
    q.add(EVENT_IN, lambda m: seen.append("task"))
    q.add(EVENT_IN, lambda m: seen.append("epoll 1"), head=True)
    q.add(EVENT_IN, lambda m: seen.append("epoll 2"), head=True)
    q.notify(EVENT_IN)
    assert seen == ["epoll 2", "epoll 1", "task"]


def test_item_belongs_to_the_description(anon: AnonInodeFs) -> None:
    ep = EventPollFile(anon, 0)
    r, w = make_pipe(new_pipefs(clock), 0)
    do_epoll_ctl(ep, EPOLL_CTL_ADD, r, 3, EPOLLIN, 42, True)
    queue = r.poll_queue()
    assert len(queue) == 1 and r.f_ep
    r.get()  # a dup
    r.put()  # one fd closed: the item stays
    w.write(b"x")
    assert events(ep) == [(EPOLLIN, 42)]
    r.put()  # the last one: the description goes, and its item with it
    assert not ep.items and not ep.ready and len(queue) == 0 and r.f_ep is None
    with pytest.raises(KernelError) as e:
        do_epoll_ctl(ep, EPOLL_CTL_DEL, r, 3, 0, 0, True)
    assert e.value.errno == ENOENT
    w.put()


def test_release_of_the_epoll_unregisters(anon: AnonInodeFs) -> None:
    ep = EventPollFile(anon, 0)
    r, w = make_pipe(new_pipefs(clock), 0)
    do_epoll_ctl(ep, EPOLL_CTL_ADD, r, 3, EPOLLIN, 1, True)
    ep.put()
    assert len(r.poll_queue()) == 0 and r.f_ep is None
    r.put()
    w.put()


def test_epollexclusive_wakes_one_epoll_with_a_waiter(anon: AnonInodeFs) -> None:
    r, w = make_pipe(new_pipefs(clock), 0)
    eps = [EventPollFile(anon, 0) for _ in range(3)]
    woken: list[int] = []
    for i, ep in enumerate(eps):
        do_epoll_ctl(ep, EPOLL_CTL_ADD, r, 3, EPOLLIN | EPOLLEXCLUSIVE, i, True)
        if i:  # epolls 1 and 2 have a sleeper in epoll_wait
            ep.wq.add(EVENT_IN, lambda m, i=i: woken.append(i))
    w.write(b"x")
    # epoll 0 has no waiter: it queues the item and passes the event on; epoll 1 takes it
    assert woken == [1]
    assert [bool(ep.ready) for ep in eps] == [True, True, False]


def test_ready_list_order_with_small_maxevents(anon: AnonInodeFs) -> None:
    ep = EventPollFile(anon, 0)
    pipes = [make_pipe(new_pipefs(clock), 0) for _ in range(3)]
    for i, (r, _) in enumerate(pipes):
        do_epoll_ctl(ep, EPOLL_CTL_ADD, r, 3, EPOLLIN, i, True)
    for i in (1, 0, 2):
        pipes[i][1].write(b"x")
    data = [[d for _, d in events(ep, n)] for n in (1, 1, 2, 8)]
    assert data == [[1], [0], [2, 1], [0, 2, 1]]


def test_edge_triggered_item_waits_for_its_next_callback(anon: AnonInodeFs) -> None:
    ep = EventPollFile(anon, 0)
    r, w = make_pipe(new_pipefs(clock), 0)
    do_epoll_ctl(ep, EPOLL_CTL_ADD, r, 3, EPOLLIN | EPOLLET, 5, True)
    w.write(b"x")
    assert events(ep) == [(EPOLLIN, 5)]
    assert events(ep) == []
    w.write(b"y")
    assert events(ep) == [(EPOLLIN, 5)]


def test_eventfd_counter(anon: AnonInodeFs) -> None:
    f = EventFdFile(anon, 0, O_NONBLOCK)
    with pytest.raises(KernelError) as e:
        f.read(8)
    assert e.value.errno == EAGAIN
    f.write((2).to_bytes(8, "little"))
    f.write((3).to_bytes(8, "little"))
    assert int.from_bytes(f.read(8), "little") == 5
    assert f.link_name(None) == b"anon_inode:[eventfd]"


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def monotonic(self) -> float:
        return self.t

    def monotonic_ns(self) -> int:
        return int(self.t * NSEC)

    def realtime_ns(self) -> int:
        return int(self.t * NSEC)


def test_timerfd_counts_missed_intervals(anon: AnonInodeFs) -> None:
    c = FakeClock()
    sched = Scheduler(c)  # type: ignore[arg-type]
    f = TimerFdFile(anon, CLOCK_MONOTONIC, O_NONBLOCK, sched, c)
    f.settime(0, NSEC // 10, NSEC // 10)  # 100 ms, every 100 ms
    c.t += 0.1
    sched.expire_timers(c.t)
    assert f.ticks == 1  # an expiry counts one tick; the read counts the rest
    c.t += 0.95
    assert int.from_bytes(f.read(8), "little") == 10  # expiries at 0.1, 0.2, ..., 1.0 s
    value, interval = f.gettime()
    assert interval == NSEC // 10 and 0 < value <= NSEC // 10
    with pytest.raises(KernelError):
        f.read(8)
    f.release()
    assert not any(t.active for _, _, t in sched.timers)
