"""Worker threads named for the OS too, so `top -H`, py-spy and the benchmark's per-thread CPU can
tell the sink from the stage evaluator from the engine's own pools (Python 3.11 names a thread for
Python only)."""
from __future__ import annotations

import ctypes
import ctypes.util
from concurrent.futures import ThreadPoolExecutor

_PR_SET_NAME = 15
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def name_this_thread(name: str) -> None:
    # the kernel keeps 15 bytes of a thread's name
    _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def executor(name: str, threads: int = 1) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix=name, initializer=name_this_thread, initargs=(name,))
