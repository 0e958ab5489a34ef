# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled core: zip directory, parallel inflate + CRC + SHA-256 + write, links, mkdir.

Every per-file loop runs in one ``with nogil:`` block on a pool of pthreads that
take tasks from a shared atomic counter; the first failure is recorded in a
shared struct and raised as ``CoreFailure`` once the GIL is back. Behaviour and
errors match ``_core_py``, its pure-Python twin, exactly.

This file holds what every job shares (I/O helpers, the worker pool, failure
kinds) and includes one file per job: ``_core_zip.pxi`` (the central directory),
``_core_extract.pxi`` (inflate, CRC, SHA-256 and write of members),
``_core_link.pxi`` (directories, links, clones and copies) and ``_core_hash.pxi``
(SHA-256 of files). C declarations are in ``_core.pxd``, C helpers in
``_core_helpers.h``.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.errno cimport (
    EEXIST, EINTR, EINVAL, EIO, ENOMEM, ENOSYS, EOPNOTSUPP, EXDEV, errno,
)
from libc.stdint cimport INT64_MAX, int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memchr, memcmp, memcpy, memset
from posix.fcntl cimport O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, open
from posix.ioctl cimport ioctl
from posix.stat cimport S_ISDIR, fstat, mkdir, stat, struct_stat
from posix.unistd cimport close, geteuid, pread, read, sysconf, unlink, write

import os

from ._errors import CoreFailure, CorruptArchive, MemberFailure

cdef extern from "Python.h":
    bytes PyUnicode_EncodeFSDefault(object unicode)


LINK_CLONE = 0
LINK_HARDLINK = 1
LINK_COPY = 2

#: which inflater this build uses for whole members ("libdeflate" or "zlib")
INFLATER = FI_INFLATER.decode()
#: and which for members streamed in pieces ("isa-l" or "zlib")
STREAMER = FI_STREAMER.decode()


# Failure kinds; _KIND_NAMES has their names, as CoreFailure.kind gives them.
cdef enum:
    K_OK = 0
    K_METHOD
    K_HEADER
    K_INFLATE
    K_SIZE
    K_CRC
    K_RECORD_SIZE
    K_SHA256
    K_IO
    K_NAME
    K_OVERLAP
    K_PUT_ASIDE = 100   # not a failure: the task waits for memory (see _next_task)

_KIND_NAMES = ("", "method", "header", "inflate", "size", "crc", "record-size", "sha256", "io",
               "name", "overlap")

cdef enum:
    CHUNK = 1 << 20
    MAX_IO = 0x40000000   # per read/write call; Linux moves at most ~2 GiB at once


# --- small I/O helpers (nogil, errno-based) -------------------------------------------


cdef int64_t _pread_full(int fd, unsigned char* buf, int64_t n, int64_t offset) noexcept nogil:
    """Read up to ``n`` bytes at ``offset``; the count read (short at EOF), or -1 (errno)."""
    cdef int64_t done = 0
    cdef ssize_t r
    while done < n:
        r = pread(fd, buf + done, <size_t>(n - done if n - done < MAX_IO else MAX_IO),
                  offset + done)
        if r < 0:
            if errno == EINTR:
                continue
            return -1
        if r == 0:
            break
        done += r
    return done


cdef int _write_full(int fd, const unsigned char* buf, int64_t n) noexcept nogil:
    """Write all ``n`` bytes; 0, or -1 (errno)."""
    cdef ssize_t r
    while n > 0:
        r = write(fd, buf, <size_t>(n if n < MAX_IO else MAX_IO))
        if r <= 0:
            if r < 0 and errno == EINTR:
                continue
            if r == 0:
                fi_set_errno(EIO)
            return -1
        buf += r
        n -= r
    return 0


cdef int _close(int fd) noexcept nogil:
    # Linux closes the descriptor even when close() reports EINTR: never retry.
    return close(fd)


cdef int _open_new(const char* path, int mode) noexcept nogil:
    """Create ``path``, which must not exist yet, for writing; the fd or -1 (errno)."""
    cdef int fd
    while True:
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd >= 0 or errno != EINTR:
            return fd


cdef long _cpu_count() noexcept nogil:
    cdef long n = sysconf(_SC_NPROCESSORS_ONLN)
    return n if n > 0 else 1


cdef int _n_threads(int threads, size_t work) except -1:
    if threads < 0:
        raise ValueError("threads must be >= 0")
    cdef size_t n = <size_t>threads if threads else <size_t>_cpu_count()
    if n > work:
        n = work
    return <int>n if n > 0 else 1


cdef bytes _fs(object path):
    """``path`` encoded for the C calls (as ``os.fsencode``); NUL bytes are refused."""
    if not isinstance(path, str):
        raise TypeError(f"paths must be str, not {type(path).__name__}")
    cdef bytes b = PyUnicode_EncodeFSDefault(path)
    if memchr(PyBytes_AS_STRING(b), 0, <size_t>PyBytes_GET_SIZE(b)) != NULL:
        raise ValueError("embedded null byte")
    return b


# --- the worker pool -------------------------------------------------------------------


cdef unsigned char* _reserve(unsigned char** buf, size_t* cap, size_t n) noexcept nogil:
    """``*buf`` with room for ``n`` bytes (at least 1), grown, never shrunk; NULL: no memory."""
    if n == 0:
        n = 1
    if n <= cap[0]:
        return buf[0]
    free(buf[0])
    buf[0] = <unsigned char*>malloc(n)
    cap[0] = n if buf[0] != NULL else 0
    return buf[0]


cdef void _fail(Shared* sh, int kind, int job, int index, int err, int on_source) noexcept nogil:
    """Record the first failure of the call; later ones are dropped."""
    fi_set(&sh.stop)
    if fi_claim(&sh.failed):
        sh.fail_kind = kind
        sh.fail_job = job
        sh.fail_index = index
        sh.fail_errno = err
        sh.fail_on_source = on_source


cdef void _run_pool(Shared* sh, Worker* workers, int n,
                    void* (*fn)(void*) noexcept nogil) noexcept nogil:
    """Run ``fn`` on ``n`` workers: this thread is worker 0, the others are pthreads
    (if a thread cannot be started, the others do its share)."""
    cdef int k
    for k in range(n):
        workers[k].sh = sh
    for k in range(1, n):
        workers[k].started = pthread_create(&workers[k].thread, NULL, fn, &workers[k]) == 0
    fn(&workers[0])
    for k in range(1, n):
        if workers[k].started:
            pthread_join(workers[k].thread, NULL)


include "_core_zip.pxi"
include "_core_extract.pxi"
include "_core_link.pxi"
include "_core_hash.pxi"
